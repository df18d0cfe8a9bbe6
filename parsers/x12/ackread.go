package x12

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"legacybridge"
)

// ReceivedAck is one acknowledgement read from a partner's input: a 997 or
// 999 transaction set (one functional group acknowledged), or a TA1 (one
// interchange acknowledged).
type ReceivedAck struct {
	Type string // "997", "999" or "TA1"
	// Envelope is the acknowledgement's own envelope (its ISA, GS and ST):
	// its sender is the partner that received the original.
	Envelope Envelope

	// TA1: the acknowledged interchange.
	InterchangeControl string // TA101: ISA13 of the original
	InterchangeDate    string // TA102
	InterchangeTime    string // TA103
	InterchangeStatus  string // TA104: "A", "E", "R"
	Note               string // TA105

	// 997/999: the acknowledged group (its ISA13 is not in a 997: match it
	// by partner and GS06).
	FunctionalID       string   // AK101: GS01 of the original
	GroupControlNumber string   // AK102: GS06 of the original
	GroupVersion       string   // AK103 (999)
	GroupStatus        string   // AK901: "A", "E", "P", "R"
	Included           int      // AK902
	Received           int      // AK903
	Accepted           int      // AK904
	GroupCodes         []string // AK905..AK909
	Sets               []ReceivedSet
}

// ReceivedSet is one AK2 loop: a transaction set's outcome.
type ReceivedSet struct {
	ID            string   // AK201
	ControlNumber string   // AK202: ST02 of the original
	Status        string   // AK501/IK501
	Codes         []string // AK502../IK502..
	Segments      []SegmentError
}

// ReadAcks reads the 997, 999 and TA1 acknowledgements in r (other
// transaction sets are skipped). Any problem of the input is returned,
// with the acknowledgements read before and after it: the caller decides
// whether a damaged acknowledgement counts.
func ReadAcks(r io.Reader, name string) ([]ReceivedAck, error) {
	var out []ReceivedAck
	var errs []error
	d := NewDecoderName(r, name)
	d.envSeg = func(seg *legacybridge.Segment) {
		if seg.Tag != "TA1" {
			return
		}
		v := func(i int) string { return seg.Element(i).Value() }
		env := d.env
		out = append(out, ReceivedAck{Type: "TA1", Envelope: env, InterchangeControl: v(1), InterchangeDate: v(2),
			InterchangeTime: v(3), InterchangeStatus: v(4), Note: v(5)})
	}
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
		}
		if tx == nil || (tx.Envelope.SetID != "997" && tx.Envelope.SetID != "999") {
			continue
		}
		ack, err := readAckSet(tx)
		if err != nil {
			errs = append(errs, fmt.Errorf("x12: %s: %s %q at segment %d: %w", name, tx.Envelope.SetID,
				tx.Envelope.SetControlNumber, tx.Pos.Segment, err))
		}
		out = append(out, ack)
	}
	return out, errors.Join(errs...)
}

func readAckSet(tx *Transaction) (ReceivedAck, error) {
	ack := ReceivedAck{Type: tx.Envelope.SetID, Envelope: tx.Envelope}
	var set *ReceivedSet
	var seg *SegmentError
	seenAK9 := false
	for _, s := range tx.Segments {
		v := func(i int) string { return s.Element(i).Value() }
		rest := func(from int) []string {
			var c []string
			for i := from; i <= len(s.Elements); i++ {
				if x := v(i); x != "" {
					c = append(c, x)
				}
			}
			return c
		}
		num := func(i int) int {
			n, _ := strconv.Atoi(v(i))
			return n
		}
		switch s.Tag {
		case "AK1":
			ack.FunctionalID, ack.GroupControlNumber, ack.GroupVersion = v(1), v(2), v(3)
		case "AK2":
			ack.Sets = append(ack.Sets, ReceivedSet{ID: v(1), ControlNumber: v(2)})
			set, seg = &ack.Sets[len(ack.Sets)-1], nil
		case "AK3", "IK3":
			if set == nil {
				return ack, fmt.Errorf("%s at segment %d outside an AK2 loop", s.Tag, s.Number)
			}
			set.Segments = append(set.Segments, SegmentError{Tag: v(1), Position: num(2), Loop: v(3), Code: v(4)})
			seg = &set.Segments[len(set.Segments)-1]
		case "AK4", "IK4":
			if seg == nil {
				return ack, fmt.Errorf("%s at segment %d outside an AK3/IK3", s.Tag, s.Number)
			}
			p := s.Element(1)
			pos, _ := strconv.Atoi(p.Component(1))
			comp, _ := strconv.Atoi(p.Component(2))
			seg.Elements = append(seg.Elements, ElementError{Position: pos, Component: comp, Ref: v(2), Code: v(3), Bad: v(4)})
		case "AK5", "IK5":
			if set == nil {
				return ack, fmt.Errorf("%s at segment %d outside an AK2 loop", s.Tag, s.Number)
			}
			set.Status, set.Codes = v(1), rest(2)
		case "AK9":
			seenAK9 = true
			ack.GroupStatus, ack.Included, ack.Received, ack.Accepted = v(1), num(2), num(3), num(4)
			ack.GroupCodes = rest(5)
		}
	}
	if ack.GroupControlNumber == "" {
		return ack, errors.New("no AK1 (the acknowledged group is unknown)")
	}
	if !seenAK9 {
		return ack, errors.New("no AK9 (the group's status is unknown)")
	}
	for _, s := range ack.Sets {
		if s.Status == "" {
			return ack, fmt.Errorf("AK2 %s %q has no AK5/IK5 (its status is unknown)", s.ID, s.ControlNumber)
		}
	}
	return ack, nil
}
