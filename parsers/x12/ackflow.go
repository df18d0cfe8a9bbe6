package x12

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"legacybridge"
)

// AckProfile is what a partner wants acknowledged, and how.
type AckProfile struct {
	// Type is the functional acknowledgement: "997" (the default), "999"
	// or "none".
	Type string
	// TA1 is when an interchange acknowledgement is sent: "requested" (the
	// default: when ISA14 asks for one, or when the interchange header or
	// trailer has a problem, which only a TA1 reports), "always" or
	// "never".
	TA1 string
	// ErrorsOnly lists only rejected transaction sets (AckOptions.ErrorsOnly).
	ErrorsOnly bool
	// Delimiters and Suffix of the acknowledgements. Default: those of the
	// acknowledged interchange, no suffix.
	Delimiters *Delimiters
	Suffix     string
}

// FlowAcks acknowledges whole X12 files for a flow: it implements
// legacybridge.Acknowledger with Acknowledge, one 997/999 document (and a
// TA1 document when one is due) per interchange, to the interchange's
// sender. Functional groups that are themselves acknowledgements (GS01
// "FA": 997, 999) are never acknowledged, so two bridges never send
// acknowledgements back and forth.
type FlowAcks struct {
	// Profile returns the preferences for one sender; ok false means
	// Default applies. nil: Default for everyone.
	Profile func(sender legacybridge.Party) (AckProfile, bool)
	Default AckProfile
	// Controls returns the control numbers of the acknowledgements sent
	// from (us: the receiver of the acknowledged interchange) to (the
	// partner), stable per key (the same numbers every time for the same
	// key). Required.
	Controls func(from, to legacybridge.Party, key string) (ControlNumbers, error)
	// Options are the base options of Acknowledge (Charset, and rule
	// checks); their control numbers, delimiters and time are set per
	// document.
	Options AckOptions
}

var _ legacybridge.Acknowledger = (*FlowAcks)(nil)

// recording wraps control numbers and remembers the interchange number
// handed out last.
type recording struct {
	ControlNumbers
	isa uint64
}

func (r *recording) Next(level ControlLevel) (uint64, error) {
	n, err := r.ControlNumbers.Next(level)
	if err == nil && level == ControlInterchange {
		r.isa = n
	}
	return n, err
}

// Acknowledge reads r and reports what is accepted, with the
// acknowledgement documents. An interchange the envelope itself rejects
// (IEA count or control number, no IEA) gets a TA1 only, whatever the
// profile says of TA1s: only a TA1 can report it, and a 997 would list its
// sets as accepted though none is posted. An interchange holding only TA1
// segments (an acknowledgement itself) gets nothing.
func (fa *FlowAcks) Acknowledge(ctx context.Context, r io.Reader, req legacybridge.AckRequest) (*legacybridge.AckReport, error) {
	name, key, at := req.Name, req.Key, req.At
	if fa.Controls == nil {
		return nil, fmt.Errorf("x12: acknowledging %s: no control numbers (FlowAcks.Controls)", name)
	}
	opts := fa.Options
	opts.Time = at
	a, err := Acknowledge(r, name, opts)
	if err != nil {
		return nil, err
	}
	rep := &legacybridge.AckReport{Rejected: map[int]string{}}
	for _, ic := range a.Interchanges {
		for _, g := range ic.Groups {
			for _, s := range g.Sets {
				rep.Sets++
				if why := setRejected(ic, g, s); why != "" {
					rep.Rejected[s.Index] = why
				} else {
					rep.Accepted++
				}
			}
		}
	}
	controls := map[legacybridge.Party]*recording{}
	for _, ic := range a.Interchanges {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		env := ic.Envelope
		partner := legacybridge.Party{Qualifier: strings.TrimSpace(env.SenderQualifier), ID: strings.TrimSpace(env.SenderID)}
		acked := legacybridge.Interchange{Standard: "x12", SenderQualifier: partner.Qualifier, Sender: partner.ID,
			ReceiverQualifier: strings.TrimSpace(env.ReceiverQualifier), Receiver: strings.TrimSpace(env.ReceiverID),
			Control: strings.TrimSpace(env.ControlNumber)}
		if req.Skip != nil && req.Skip(acked, env.InterchangeSegment) {
			continue
		}
		if len(ic.Groups) == 0 && len(ic.TA1) > 0 {
			continue // an interchange acknowledgement itself
		}
		prof := fa.Default
		if fa.Profile != nil {
			if p, ok := fa.Profile(partner); ok {
				prof = p
			}
		}
		ctl := controls[partner]
		if ctl == nil {
			us := legacybridge.Party{Qualifier: strings.TrimSpace(env.ReceiverQualifier), ID: strings.TrimSpace(env.ReceiverID)}
			cn, err := fa.Controls(us, partner, key)
			if err != nil {
				return nil, fmt.Errorf("x12: acknowledging %s: control numbers for %s: %w", name, partner.ID, err)
			}
			ctl = &recording{ControlNumbers: cn}
			controls[partner] = ctl
		}
		one := &Ack{Name: a.Name, Interchanges: []*InterchangeAck{ic}, opts: opts}
		one.opts.Controls, one.opts.Delimiters, one.opts.Suffix, one.opts.ErrorsOnly = ctl, prof.Delimiters, prof.Suffix, prof.ErrorsOnly
		doc := func(kind string) error {
			var buf bytes.Buffer
			if err := one.write(&buf, kind); err != nil {
				return err
			}
			if buf.Len() == 0 {
				return nil
			}
			d := legacybridge.AckDocument{Standard: "x12", Type: kind, Partner: partner, Acknowledged: acked,
				ControlNumber: fmt.Sprintf("%09d", ctl.isa), Content: buf.Bytes()}
			if kind == "TA1" {
				d.Status, d.Note = statusName(ic.Status), ic.Note
			} else {
				d.Status, d.Groups = groupsOutcome(one.Interchanges[0].Groups, prof.ErrorsOnly)
			}
			rep.Documents = append(rep.Documents, d)
			return nil
		}
		rejected := ic.Status == "R"
		ta1 := rejected || prof.TA1 == "always" || prof.TA1 != "never" && ic.needsTA1()
		if ta1 {
			cp := *ic
			cp.Envelope.AckRequested = "1" // "always" writes one whatever ISA14 says
			one.Interchanges = []*InterchangeAck{&cp}
			if err := doc("TA1"); err != nil {
				return nil, err
			}
		}
		// Groups that are acknowledgements themselves are not acknowledged.
		var groups []*GroupAck
		for _, g := range ic.Groups {
			if g.FunctionalID != "FA" {
				groups = append(groups, g)
			}
		}
		kind := prof.Type
		if kind == "" {
			kind = "997"
		}
		if kind != "none" && len(groups) > 0 && !rejected {
			cp := *ic
			cp.Groups = groups
			one.Interchanges = []*InterchangeAck{&cp}
			if err := doc(kind); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

// setRejected says why a set is not posted, or "" when it is accepted.
func setRejected(ic *InterchangeAck, g *GroupAck, s *SetAck) string {
	switch {
	case s.Status == "R":
		var why []string
		for _, e := range s.Errors {
			why = append(why, e.Error())
		}
		for _, se := range s.Segments {
			why = append(why, describeSegmentError(se))
		}
		if len(why) == 0 {
			why = append(why, "AK5 codes "+strings.Join(s.Codes, ","))
		}
		return fmt.Sprintf("transaction set %s %s rejected (AK5 R %s): %s", s.ID, s.ControlNumber, strings.Join(s.Codes, ","), strings.Join(why, "; "))
	case g.Status == "R":
		return fmt.Sprintf("functional group %s %s rejected (AK9 R %s)%s", g.FunctionalID, g.ControlNumber, strings.Join(g.Codes, ","), firstError(g.Errors))
	case ic.Status == "R":
		return fmt.Sprintf("interchange %s rejected (TA1 R, note %s)%s", ic.Envelope.ControlNumber, ic.Note, firstError(ic.Errors))
	}
	return ""
}

func firstError(errs []*ParseError) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + errs[0].Error()
}

func describeSegmentError(se SegmentError) string {
	s := fmt.Sprintf("%s at position %d (AK3 code %s)", se.Tag, se.Position, se.Code)
	for _, e := range se.Elements {
		s += fmt.Sprintf(", element %d", e.Position)
		if e.Component > 0 {
			s += fmt.Sprintf("-%d", e.Component)
		}
		s += " (AK4 code " + e.Code + ")"
		if e.Bad != "" {
			s += fmt.Sprintf(" %q", e.Bad)
		}
	}
	return s
}

// statusName turns an X12 status code into the event's status.
func statusName(code string) string {
	switch code {
	case "A":
		return "accepted"
	case "E":
		return "accepted_with_errors"
	case "P":
		return "partially_accepted"
	}
	return "rejected"
}

// groupsOutcome is the status of a 997/999 over its groups, and the groups
// (with errorsOnly, listing only the sets not accepted, as the 997 does).
func groupsOutcome(groups []*GroupAck, errorsOnly bool) (string, []legacybridge.AckGroup) {
	var out []legacybridge.AckGroup
	acc, rej, errs := 0, 0, 0
	for _, g := range groups {
		ag := legacybridge.AckGroup{FunctionalID: g.FunctionalID, ControlNumber: g.ControlNumber, Status: statusName(g.Status),
			Codes: g.Codes, Included: g.Included, Received: g.Received, Accepted: g.Accepted}
		for _, s := range g.Sets {
			as := legacybridge.AckSet{ID: s.ID, ControlNumber: s.ControlNumber, Status: statusName(s.Status), Codes: s.Codes}
			if g.Status == "R" {
				as.Status = "rejected" // with its group, whatever AK5 says of the set alone
			}
			if errorsOnly && as.Status == "accepted" {
				continue
			}
			for _, e := range s.Errors {
				as.Errors = append(as.Errors, e.Error())
			}
			for _, se := range s.Segments {
				as.Errors = append(as.Errors, describeSegmentError(se))
			}
			ag.Sets = append(ag.Sets, as)
		}
		out = append(out, ag)
		switch g.Status {
		case "A":
			acc++
		case "E":
			errs++
		case "R":
			rej++
		}
	}
	switch {
	case acc == len(groups):
		return "accepted", out
	case acc+errs == len(groups):
		return "accepted_with_errors", out
	case rej == len(groups):
		return "rejected", out
	}
	return "partially_accepted", out
}

// ReceivedAckOf reads a 997 or 999 transaction set a partner sent (a
// record of this package's Parser) as the acknowledgement it is.
func ReceivedAckOf(rec legacybridge.Record) (ReceivedAck, error) {
	if rec.Format != "x12" || rec.Type != "997" && rec.Type != "999" {
		return ReceivedAck{}, fmt.Errorf("x12: %s %s is not a 997 or 999", rec.Format, rec.Type)
	}
	e := rec.Envelope
	tx := &Transaction{Segments: rec.Segments, Pos: rec.Pos, Envelope: Envelope{
		SenderQualifier: e["isa05"], SenderID: e["isa06"], ReceiverQualifier: e["isa07"], ReceiverID: e["isa08"],
		ControlNumber: e["isa13"], FunctionalID: e["gs01"], AppSender: e["gs02"], AppReceiver: e["gs03"],
		GroupControlNumber: e["gs06"], GroupVersion: e["gs08"], SetID: rec.Type, SetControlNumber: e["st02"],
		ImplementationRef: e["st03"]}}
	return readAckSet(tx)
}
