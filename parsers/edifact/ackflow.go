package edifact

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"legacybridge"
)

// AckProfile is what a partner wants acknowledged, and how.
type AckProfile struct {
	// Type is "contrl" (the default) or "none".
	Type string
	// When is "always" (the default: every interchange gets a CONTRL) or
	// "requested" (only interchanges asking for one in UNB 0031, and those
	// with something rejected).
	When string
	// ReceiptOnly sends UCI 0083 = 8 (received) without message detail
	// for interchanges without errors (AckOptions.ReceiptOnly).
	ReceiptOnly bool
	// Delimiters and Suffix of the CONTRL. Default: those of the
	// acknowledged interchange, no suffix.
	Delimiters *Delimiters
	Suffix     string
}

// FlowAcks acknowledges whole EDIFACT files for a flow: it implements
// legacybridge.Acknowledger with Acknowledge, one CONTRL interchange per
// acknowledged interchange, to its sender. Interchanges holding only
// CONTRL messages are never acknowledged, so two bridges never send
// acknowledgements back and forth.
type FlowAcks struct {
	// Profile returns the preferences for one sender; ok false means
	// Default applies. nil: Default for everyone.
	Profile func(sender legacybridge.Party) (AckProfile, bool)
	Default AckProfile
	// Controls returns the references of the CONTRLs sent from (us: the
	// recipient of the acknowledged interchange) to (the partner), stable
	// per key (the same references every time for the same key).
	// Required.
	Controls func(from, to legacybridge.Party, key string) (ControlRefs, error)
	// Options are the base options of Acknowledge (Charset, StrictCharset,
	// rule checks); references, delimiters and time are set per document.
	Options AckOptions
}

var _ legacybridge.Acknowledger = (*FlowAcks)(nil)

// recording wraps control references and remembers the interchange
// reference handed out last.
type recording struct {
	ControlRefs
	unb uint64
}

func (r *recording) Next(level Level) (uint64, error) {
	n, err := r.ControlRefs.Next(level)
	if err == nil && level == LevelInterchange {
		r.unb = n
	}
	return n, err
}

// Acknowledge reads r and reports what is accepted, with the CONTRL
// documents.
func (fa *FlowAcks) Acknowledge(ctx context.Context, r io.Reader, req legacybridge.AckRequest) (*legacybridge.AckReport, error) {
	name, key, at := req.Name, req.Key, req.At
	if fa.Controls == nil {
		return nil, fmt.Errorf("edifact: acknowledging %s: no control references (FlowAcks.Controls)", name)
	}
	opts := fa.Options
	opts.Time = at
	a, err := Acknowledge(r, name, opts)
	if err != nil {
		return nil, err
	}
	rep := &legacybridge.AckReport{Rejected: map[int]string{}}
	count := func(ic *InterchangeAck, g *GroupAck, ms []*MessageAck) {
		for _, m := range ms {
			rep.Sets++
			if why := messageRejected(ic, g, m); why != "" {
				rep.Rejected[m.Index] = why
			} else {
				rep.Accepted++
			}
		}
	}
	for _, ic := range a.Interchanges {
		count(ic, nil, ic.Messages)
		for _, g := range ic.Groups {
			count(ic, g, g.Messages)
		}
	}
	controls := map[legacybridge.Party]*recording{}
	for _, ic := range a.Interchanges {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if onlyCONTRL(ic) {
			continue
		}
		env := ic.Envelope
		partner := legacybridge.Party{Qualifier: strings.TrimSpace(env.SenderQualifier), ID: strings.TrimSpace(env.Sender)}
		acked := legacybridge.Interchange{Standard: "edifact", SenderQualifier: partner.Qualifier, Sender: partner.ID,
			ReceiverQualifier: strings.TrimSpace(env.RecipientQualifier), Receiver: strings.TrimSpace(env.Recipient),
			Control: strings.TrimSpace(env.ControlRef)}
		if req.Skip != nil && req.Skip(acked, env.InterchangeSegment) {
			continue
		}
		prof := fa.Default
		if fa.Profile != nil {
			if p, ok := fa.Profile(partner); ok {
				prof = p
			}
		}
		if prof.Type == "none" {
			continue
		}
		rejected := ic.Action == ActionRejected || anyRejected(ic)
		if prof.When == "requested" && env.AckRequest != "1" && !rejected {
			continue
		}
		ctl := controls[partner]
		if ctl == nil {
			us := legacybridge.Party{Qualifier: strings.TrimSpace(env.RecipientQualifier), ID: strings.TrimSpace(env.Recipient)}
			cr, err := fa.Controls(us, partner, key)
			if err != nil {
				return nil, fmt.Errorf("edifact: acknowledging %s: control references for %s: %w", name, partner.ID, err)
			}
			ctl = &recording{ControlRefs: cr}
			controls[partner] = ctl
		}
		one := &Ack{Name: a.Name, Interchanges: []*InterchangeAck{ic}, opts: opts}
		one.opts.Controls, one.opts.Delimiters, one.opts.Suffix = ctl, prof.Delimiters, prof.Suffix
		if prof.ReceiptOnly && ic.Action == ActionAcknowledged && !rejected {
			cp := *ic
			cp.Action = ActionReceived
			one.opts.ReceiptOnly = true
			one.Interchanges = []*InterchangeAck{&cp}
		}
		var buf bytes.Buffer
		if err := one.WriteCONTRL(&buf); err != nil {
			return nil, err
		}
		d := legacybridge.AckDocument{Standard: "edifact", Type: "CONTRL", Partner: partner, Acknowledged: acked,
			ControlNumber: strconv.FormatUint(ctl.unb, 10), Content: buf.Bytes()}
		if ic.Fault != nil {
			d.Note = strconv.Itoa(int(ic.Fault.Code))
		}
		d.Status, d.Groups = contrlOutcome(ic)
		rep.Documents = append(rep.Documents, d)
	}
	return rep, nil
}

// onlyCONTRL reports an interchange whose messages are all CONTRL (an
// acknowledgement itself); one without messages is not.
func onlyCONTRL(ic *InterchangeAck) bool {
	n := 0
	for _, m := range ic.Messages {
		if m.ID.Type != "CONTRL" {
			return false
		}
		n++
	}
	for _, g := range ic.Groups {
		for _, m := range g.Messages {
			if m.ID.Type != "CONTRL" {
				return false
			}
			n++
		}
	}
	return n > 0
}

func anyRejected(ic *InterchangeAck) bool {
	for _, m := range ic.Messages {
		if m.Action == ActionRejected {
			return true
		}
	}
	for _, g := range ic.Groups {
		if g.Action == ActionRejected {
			return true
		}
		for _, m := range g.Messages {
			if m.Action == ActionRejected {
				return true
			}
		}
	}
	return false
}

// messageRejected says why a message is not posted, or "" when it is
// accepted.
func messageRejected(ic *InterchangeAck, g *GroupAck, m *MessageAck) string {
	switch {
	case m.Action == ActionRejected:
		var why []string
		for _, e := range m.Errors {
			why = append(why, e.Error())
		}
		for _, s := range m.Segments {
			why = append(why, describeSegmentError(s))
		}
		return fmt.Sprintf("message %s %s rejected (UCM action 4%s): %s", m.ID.Type, m.Ref, faultText(m.Fault), strings.Join(why, "; "))
	case g != nil && g.Action == ActionRejected:
		return fmt.Sprintf("group %s rejected (UCF action 4%s)%s", g.Ref, faultText(g.Fault), firstError(g.Errors))
	case ic.Action == ActionRejected:
		return fmt.Sprintf("interchange %s rejected (UCI action 4%s)%s", ic.Envelope.ControlRef, faultText(ic.Fault), firstError(ic.Errors))
	}
	return ""
}

func faultText(f *Fault) string {
	if f == nil {
		return ""
	}
	s := fmt.Sprintf(", error %d", int(f.Code))
	if f.Tag != "" {
		s += " in " + f.Tag
	}
	return s
}

func firstError(errs []*ParseError) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + errs[0].Error()
}

func describeSegmentError(se SegmentError) string {
	s := fmt.Sprintf("%s at position %d", se.Tag, se.Position)
	if se.Code != 0 {
		s += fmt.Sprintf(" (UCS error %d)", int(se.Code))
	}
	for _, e := range se.Elements {
		s += fmt.Sprintf(", element %d", e.Position)
		if e.Component > 0 {
			s += fmt.Sprintf(":%d", e.Component)
		}
		s += fmt.Sprintf(" (UCD error %d)", int(e.Code))
	}
	return s
}

func actionName(action string) string {
	switch action {
	case ActionAcknowledged, ActionReceived:
		return "accepted"
	}
	return "rejected"
}

// contrlOutcome is the status of a CONTRL over its interchange, and its
// groups (messages outside groups as a group without a reference).
func contrlOutcome(ic *InterchangeAck) (string, []legacybridge.AckGroup) {
	var out []legacybridge.AckGroup
	acc, total := 0, 0
	group := func(ref, id, action string, f *Fault, ms []*MessageAck) {
		ag := legacybridge.AckGroup{FunctionalID: id, ControlNumber: ref, Status: actionName(action)}
		if f != nil {
			ag.Codes = []string{strconv.Itoa(int(f.Code))}
		}
		for _, m := range ms {
			as := legacybridge.AckSet{ID: m.ID.Type, ControlNumber: m.Ref, Status: actionName(m.Action)}
			if ic.Action == ActionRejected || action == ActionRejected {
				as.Status = "rejected"
			}
			if m.Fault != nil {
				as.Codes = []string{strconv.Itoa(int(m.Fault.Code))}
			}
			for _, e := range m.Errors {
				as.Errors = append(as.Errors, e.Error())
			}
			for _, s := range m.Segments {
				as.Errors = append(as.Errors, describeSegmentError(s))
			}
			ag.Received++
			total++
			if as.Status == "accepted" {
				ag.Accepted++
				acc++
			}
			ag.Sets = append(ag.Sets, as)
		}
		ag.Included = ag.Received
		out = append(out, ag)
	}
	if len(ic.Messages) > 0 {
		group("", "", ActionAcknowledged, nil, ic.Messages)
	}
	for _, g := range ic.Groups {
		group(g.Ref, g.ID, g.Action, g.Fault, g.Messages)
	}
	switch {
	case ic.Action == ActionRejected || total > 0 && acc == 0:
		return "rejected", out
	case acc == total:
		return "accepted", out
	}
	return "partially_accepted", out
}

// ReceivedCONTRLOf reads a CONTRL message a partner sent (a record of this
// package's Parser) as the acknowledgement it is.
func ReceivedCONTRLOf(rec legacybridge.Record) (ReceivedCONTRL, error) {
	if rec.Format != "edifact" || rec.Type != "CONTRL" {
		return ReceivedCONTRL{}, fmt.Errorf("edifact: %s %s is not a CONTRL", rec.Format, rec.Type)
	}
	e := rec.Envelope
	msg := &Message{Segments: rec.Segments, Pos: rec.Pos, Envelope: Envelope{
		SyntaxID: e["unb01"], Sender: e["unb02"], SenderQualifier: e["unb02_2"], Recipient: e["unb03"],
		RecipientQualifier: e["unb03_2"], ControlRef: e["unb05"], MessageRef: e["unh01"], MessageType: rec.Type}}
	return readCONTRL(msg)
}
