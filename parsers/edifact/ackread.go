package edifact

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ReceivedCONTRL is one CONTRL message read from a partner: which of our
// interchanges, groups and messages it acknowledges or rejects.
type ReceivedCONTRL struct {
	// Envelope is the CONTRL's own envelope: its sender is the partner
	// that received the original.
	Envelope Envelope

	InterchangeRef string // UCI 0020: UNB 0020 of the original
	Sender         string // UCI S002 0004: the original's sender (us)
	Recipient      string // UCI S003 0010: the original's recipient
	Action         string // UCI 0083: "4" rejected, "7" acknowledged, "8" received
	Fault          *Fault
	Groups         []ReceivedGroup
	Messages       []ReceivedMessage // UCMs outside a UCF
}

// ReceivedGroup is one UCF and its UCMs.
type ReceivedGroup struct {
	Ref      string // UCF 0048
	Action   string
	Fault    *Fault
	Messages []ReceivedMessage
}

// ReceivedMessage is one UCM and its UCS/UCD.
type ReceivedMessage struct {
	Ref      string // UCM 0062: UNH 0062 of the original
	ID       MessageID
	Action   string
	Fault    *Fault
	Segments []SegmentError
}

// ReadCONTRL reads the CONTRL messages in r (other messages are skipped).
// Any problem of the input is returned, with the CONTRLs read before and
// after it: the caller decides whether a damaged one counts.
func ReadCONTRL(r io.Reader, name string) ([]ReceivedCONTRL, error) {
	var out []ReceivedCONTRL
	var errs []error
	d := NewDecoderName(r, name)
	for {
		msg, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
		}
		if msg == nil || msg.Envelope.MessageType != "CONTRL" {
			continue
		}
		c, err := readCONTRL(msg)
		if err != nil {
			errs = append(errs, fmt.Errorf("edifact: %s: CONTRL %q at segment %d: %w", name, msg.Envelope.MessageRef, msg.Pos.Segment, err))
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

func readCONTRL(msg *Message) (ReceivedCONTRL, error) {
	c := ReceivedCONTRL{Envelope: msg.Envelope}
	var msgs *[]ReceivedMessage = &c.Messages
	var cur *ReceivedMessage
	var seg *SegmentError
	seenUCI := false
	for _, s := range msg.Segments {
		v := func(i, comp int) string { return s.Element(i).Component(comp) }
		num := func(i, comp int) int {
			n, _ := strconv.Atoi(v(i, comp))
			return n
		}
		faultAt := func(i int) *Fault {
			if v(i, 1) == "" {
				return nil
			}
			return &Fault{Code: Code(num(i, 1)), Tag: v(i+1, 1), Element: num(i+2, 1), Component: num(i+2, 2)}
		}
		switch s.Tag {
		case "UCI":
			seenUCI = true
			c.InterchangeRef, c.Sender, c.Recipient, c.Action = v(1, 1), v(2, 1), v(3, 1), v(4, 1)
			c.Fault = faultAt(5)
		case "UCF":
			c.Groups = append(c.Groups, ReceivedGroup{Ref: v(1, 1), Action: v(4, 1), Fault: faultAt(5)})
			msgs, cur, seg = &c.Groups[len(c.Groups)-1].Messages, nil, nil
		case "UCM":
			*msgs = append(*msgs, ReceivedMessage{Ref: v(1, 1), Action: v(3, 1), Fault: faultAt(4),
				ID: MessageID{Type: v(2, 1), Version: v(2, 2), Release: v(2, 3), Agency: v(2, 4), Association: v(2, 5)}})
			cur, seg = &(*msgs)[len(*msgs)-1], nil
		case "UCS":
			if cur == nil {
				return c, fmt.Errorf("UCS at segment %d outside a UCM", s.Number)
			}
			cur.Segments = append(cur.Segments, SegmentError{Position: num(1, 1), Code: Code(num(2, 1))})
			seg = &cur.Segments[len(cur.Segments)-1]
		case "UCD":
			if seg == nil {
				return c, fmt.Errorf("UCD at segment %d outside a UCS", s.Number)
			}
			seg.Elements = append(seg.Elements, ElementError{Code: Code(num(1, 1)), Position: num(2, 1), Component: num(2, 2)})
		}
	}
	if !seenUCI {
		return c, errors.New("no UCI (the acknowledged interchange is unknown)")
	}
	if c.Action == "" {
		return c, errors.New("UCI without action (0083)")
	}
	return c, nil
}
