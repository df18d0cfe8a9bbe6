package edifact

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"legacybridge"
)

// AckOptions says how Acknowledge's CONTRL messages are written. The zero
// value needs a control reference: set ControlRef or Controls.
type AckOptions struct {
	// ControlRef is the UNB 0020 of the first interchange written; each
	// further one (one per acknowledged interchange) takes the next
	// number. Used when Controls is nil.
	ControlRef uint64
	// Controls, if set, supplies the UNB and UNH references instead
	// (persisted per partner by the caller).
	Controls ControlRefs
	// Delimiters of the CONTRL interchanges. Default (nil): those of the
	// acknowledged interchange.
	Delimiters *Delimiters
	// Suffix is Encoder.Suffix, e.g. "\n". Default "".
	Suffix string
	// Time is the UNB date and time. Default: time.Now() at writing, UTC.
	Time time.Time
	// Charset and StrictCharset are the Decoder's: with StrictCharset, a
	// character outside the syntax level's repertoire rejects its message
	// (code 21, with a UCD naming the element). Defaults "" and false.
	Charset       string
	StrictCharset bool
	// ReceiptOnly reports an interchange without errors as received (UCI
	// 0083 = 8) instead of acknowledged (7), and lists no messages.
	// Default false.
	ReceiptOnly bool
	// Check, if set, is called with each message read (as Message.Record
	// returns it) and returns the segment and element errors it finds
	// against message rules, as edirules.Rules.EDIFACTCheck does: they
	// are listed as UCS/UCD and reject the message (UCM 0083 = 4).
	// Default nil: no such check.
	Check func(legacybridge.Record) []SegmentError
}

// Ack is the outcome of reading one input for a CONTRL: per interchange,
// group and message, the action (0083) and the syntax errors (0085) found.
type Ack struct {
	Name         string
	Interchanges []*InterchangeAck
	// Fatal is the error that stopped decoding, nil when the whole input
	// was read.
	Fatal *ParseError
	// Unplaced are errors outside every interchange (data before the first
	// UNB, messages without one): no CONTRL can report them.
	Unplaced []*ParseError

	opts AckOptions
}

// Actions (0083) a CONTRL reports.
const (
	ActionRejected     = "4" // this level and all lower levels rejected
	ActionAcknowledged = "7" // this level and all lower levels acknowledged, unless reported rejected
	ActionReceived     = "8" // interchange received (ReceiptOnly)
)

// Fault is where and what a UCI, UCF or UCM reports: the first error of its
// level.
type Fault struct {
	Code      Code   // 0085
	Tag       string // 0013: the service segment, may be ""
	Element   int    // S011 0098, 0 = none
	Component int    // S011 0104, 0 = none
}

// InterchangeAck is one interchange's outcome: its UCI.
type InterchangeAck struct {
	Envelope Envelope // the UNB fields
	Action   string   // UCI 0083
	Fault    *Fault   // nil when the interchange itself has no error
	Errors   []*ParseError
	Groups   []*GroupAck
	Messages []*MessageAck // messages outside groups
}

// GroupAck is one functional group's outcome: its UCF.
type GroupAck struct {
	Ref, ID, Sender, Recipient string // UNG 0048, 0038, S006 0040, S007 0044
	Action                     string
	Fault                      *Fault
	Errors                     []*ParseError
	Messages                   []*MessageAck

	seg int
}

// MessageAck is one message's outcome: its UCM, with UCS/UCD for the
// segments in error.
type MessageAck struct {
	Ref      string    // UNH 0062
	ID       MessageID // UNH S009
	Index    int       // Pos.Index of the message in the input
	Action   string
	Fault    *Fault // an error of the UNH or UNT, or of the message as a whole
	Segments []SegmentError
	Errors   []*ParseError
}

// SegmentError is a UCS (and its UCDs).
type SegmentError struct {
	Position int    // 0096: 1-based position in the message, UNH = 1
	Tag      string // the segment's tag, for people (not in the UCS)
	Code     Code   // 0085 of the whole segment, 0 when the UCDs say it
	Elements []ElementError
}

// ElementError is a UCD.
type ElementError struct {
	Position, Component int // S011
	Code                Code
}

// Acknowledge reads all of r with a Decoder and returns what a CONTRL for
// it reports: a message with problems of its own is rejected (UCM 4) with
// the parser's 0085 codes, the others acknowledged; a group or
// interchange whose own envelope is bad is rejected (UCF/UCI 4). The
// error is non-nil only for a failure to read r (then the Ack holds what
// was read before it); problems of the input are outcomes in the Ack.
func Acknowledge(r io.Reader, name string, opts AckOptions) (*Ack, error) {
	a := &Ack{Name: name, opts: opts}
	d := NewDecoderName(r, name)
	d.Charset, d.StrictCharset = opts.Charset, opts.StrictCharset
	bySeg := map[int]*InterchangeAck{}
	icFor := func(env *Envelope) *InterchangeAck {
		if env.InterchangeSegment == 0 {
			return nil
		}
		ic := bySeg[env.InterchangeSegment]
		if ic == nil {
			e := *env
			e.GroupID, e.GroupSender, e.GroupRecipient, e.GroupRef = "", "", "", ""
			e.GroupAgency, e.GroupVersion, e.GroupRelease, e.GroupSegment, e.ung = "", "", "", 0, nil
			e.MessageRef, e.MessageType, e.MessageVersion, e.MessageRelease = "", "", "", ""
			e.MessageAgency, e.AssociationCode, e.CommonAccessRef = "", "", ""
			ic = &InterchangeAck{Envelope: e, Action: ActionAcknowledged}
			bySeg[env.InterchangeSegment] = ic
			a.Interchanges = append(a.Interchanges, ic)
		}
		return ic
	}
	// byRef finds the interchange an error names: the current one, else the
	// latest with that reference.
	byRef := func(ref string) *InterchangeAck {
		if d.env.InterchangeSegment != 0 && (ref == d.env.ControlRef || ref == "") {
			return icFor(&d.env)
		}
		for i := len(a.Interchanges) - 1; i >= 0; i-- {
			if a.Interchanges[i].Envelope.ControlRef == ref {
				return a.Interchanges[i]
			}
		}
		return nil
	}
	var readErr error
	for {
		msg, err := d.Decode()
		if err == io.EOF {
			break
		}
		var errs []*ParseError
		var list ErrorList
		var pe *ParseError
		switch {
		case errors.As(err, &list):
			errs = list
		case errors.As(err, &pe):
			errs = []*ParseError{pe}
		case err != nil:
			return a, fmt.Errorf("edifact: acknowledge %s: %w", name, err)
		}
		for _, e := range errs {
			if e.Fatal() {
				a.Fatal = e
				if e.Code == CodeUnspecified {
					readErr = e
				}
			}
		}
		if msg != nil {
			env := &msg.Envelope
			m := &MessageAck{Ref: env.MessageRef, Index: msg.Pos.Index, Action: ActionAcknowledged,
				ID: MessageID{Type: env.MessageType, Version: env.MessageVersion, Release: env.MessageRelease,
					Agency: env.MessageAgency, Association: env.AssociationCode}}
			var rest []*ParseError
			for _, e := range errs {
				if e.Level == LevelMessage || e.Fatal() {
					m.add(msg, e)
				}
				if e.Level != LevelMessage {
					rest = append(rest, e)
				}
			}
			errs = rest
			if opts.Check != nil {
				m.addSegments(opts.Check(msg.Record()))
			}
			if ic := icFor(env); ic != nil {
				if env.GroupSegment != 0 {
					g := ic.group(env.GroupSegment, env.GroupRef, env.GroupID, env.GroupSender, env.GroupRecipient)
					g.Messages = append(g.Messages, m)
				} else {
					ic.Messages = append(ic.Messages, m)
				}
			} else {
				a.Unplaced = append(a.Unplaced, m.Errors...)
			}
		}
		for _, e := range errs {
			ic := byRef(e.Interchange)
			if ic == nil {
				a.Unplaced = append(a.Unplaced, e)
				continue
			}
			if e.Level == LevelGroup {
				var g *GroupAck
				if env := &d.env; env.GroupSegment != 0 && env.GroupRef == e.Group && bySeg[env.InterchangeSegment] == ic {
					g = ic.group(env.GroupSegment, env.GroupRef, env.GroupID, env.GroupSender, env.GroupRecipient)
				} else {
					g = ic.groupByRef(e.Group)
				}
				g.Errors = append(g.Errors, e)
				g.Action = ActionRejected
				if g.Fault == nil {
					g.Fault = faultOf(e)
				}
				continue
			}
			ic.Errors = append(ic.Errors, e)
			ic.Action = ActionRejected
			if ic.Fault == nil {
				ic.Fault = faultOf(e)
			}
		}
	}
	if opts.ReceiptOnly {
		for _, ic := range a.Interchanges {
			if ic.Action == ActionAcknowledged {
				ic.Action = ActionReceived
			}
		}
	}
	if readErr != nil {
		return a, fmt.Errorf("edifact: acknowledge %s: %w", name, readErr)
	}
	return a, nil
}

func faultOf(e *ParseError) *Fault {
	f := &Fault{Code: e.Code, Element: e.Element, Component: e.Component}
	if serviceTag(e.Tag) {
		f.Tag = e.Tag
	}
	if f.Code == 0 {
		f.Code = CodeUnspecified
	}
	return f
}

// add records a message's error: on a body segment as a UCS (with a UCD
// when the element is known), else on the UCM.
func (m *MessageAck) add(msg *Message, e *ParseError) {
	m.Action = ActionRejected
	m.Errors = append(m.Errors, e)
	code := e.Code
	if code == 0 {
		code = CodeUnspecified
	}
	pos := e.Segment - msg.Pos.Segment + 1
	last := len(msg.Segments)
	hasUNT := last > 0 && msg.Segments[last-1].Tag == "UNT"
	inBody := pos > 1 && (pos < last || !hasUNT && pos <= last)
	if !inBody || e.Level != LevelMessage || e.Tag == "UNH" || e.Tag == "UNT" || errors.Is(e, ErrMissingTrailer) {
		if m.Fault == nil {
			m.Fault = faultOf(e)
			if errors.Is(e, ErrMissingTrailer) {
				m.Fault.Tag = "UNT"
			}
		}
		return
	}
	se := SegmentError{Position: pos, Tag: msg.Segments[pos-1].Tag}
	if e.Element > 0 {
		se.Elements = []ElementError{{Position: e.Element, Component: e.Component, Code: code}}
	} else {
		se.Code = code
	}
	for i := range m.Segments {
		if m.Segments[i].Position == pos {
			m.Segments[i].Elements = append(m.Segments[i].Elements, se.Elements...)
			if se.Code != 0 && m.Segments[i].Code == 0 {
				m.Segments[i].Code = se.Code
			}
			return
		}
	}
	m.Segments = append(m.Segments, se)
}

// addSegments records the segment errors of AckOptions.Check, in segment
// order with those already there: they reject the message.
func (m *MessageAck) addSegments(errs []SegmentError) {
	if len(errs) == 0 {
		return
	}
	m.Action = ActionRejected
	m.Segments = append(m.Segments, errs...)
	slices.SortStableFunc(m.Segments, func(a, b SegmentError) int { return a.Position - b.Position })
}

// group returns the group read from the UNG at segment seg, adding it.
func (ic *InterchangeAck) group(seg int, ref, id, sender, recipient string) *GroupAck {
	for _, g := range ic.Groups {
		if g.seg == seg {
			return g
		}
	}
	g := &GroupAck{Ref: ref, ID: id, Sender: sender, Recipient: recipient, Action: ActionAcknowledged, seg: seg}
	ic.Groups = append(ic.Groups, g)
	return g
}

// groupByRef returns the latest group with reference ref, adding one (a
// group whose messages were never seen).
func (ic *InterchangeAck) groupByRef(ref string) *GroupAck {
	for i := len(ic.Groups) - 1; i >= 0; i-- {
		if ic.Groups[i].Ref == ref {
			return ic.Groups[i]
		}
	}
	g := &GroupAck{Ref: ref, Action: ActionAcknowledged, seg: -1 - len(ic.Groups)}
	ic.Groups = append(ic.Groups, g)
	return g
}

// Rejected counts the rejected messages, over every interchange; a
// rejected interchange or group rejects all its messages.
func (a *Ack) Rejected() (rejected, total int) {
	count := func(ms []*MessageAck, all bool) {
		for _, m := range ms {
			total++
			if all || m.Action == ActionRejected {
				rejected++
			}
		}
	}
	for _, ic := range a.Interchanges {
		icRej := ic.Action == ActionRejected
		count(ic.Messages, icRej)
		for _, g := range ic.Groups {
			count(g.Messages, icRej || g.Action == ActionRejected)
		}
	}
	return rejected, total
}

// WriteCONTRL writes one interchange holding one CONTRL per acknowledged
// interchange, sender and recipient swapped. UCI reports the interchange,
// UCF each group, UCM each message (UCS/UCD for its segments in error);
// with ReceiptOnly, only the UCI.
func (a *Ack) WriteCONTRL(w io.Writer) error {
	now := a.opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	next := a.opts.ControlRef
	for _, ic := range a.Interchanges {
		env := &ic.Envelope
		delims := env.Delimiters
		if a.opts.Delimiters != nil {
			delims = *a.opts.Delimiters
		}
		version := orDefault(env.SyntaxVersion, "3")
		if version < "4" {
			delims.Repetition = ""
		}
		enc := NewEncoder(w, delims)
		enc.Suffix = a.opts.Suffix
		enc.Controls = a.opts.Controls
		enc.LooseRepertoire = true // the partner's identifiers, as sent
		ref, mref := "", ""
		if a.opts.Controls == nil {
			if next == 0 {
				return fmt.Errorf("edifact: CONTRL for %s: no control reference (set AckOptions.ControlRef or Controls)", a.Name)
			}
			ref, mref = strconv.FormatUint(next, 10), "1"
			next++
		}
		date := now.Format("060102")
		if version >= "4" {
			date = now.Format("20060102")
		}
		enc.BeginInterchange(InterchangeHeader{SyntaxID: orDefault(env.SyntaxID, "UNOC"), SyntaxVersion: version,
			Sender: env.Recipient, SenderQualifier: env.RecipientQualifier, Recipient: env.Sender, RecipientQualifier: env.SenderQualifier,
			Date: date, Time: now.Format("1504"), ControlRef: ref})
		id := MessageID{Type: "CONTRL", Version: "D", Release: "3", Agency: "UN"}
		if version >= "4" {
			id = MessageID{Type: "CONTRL", Version: "4", Release: "1", Agency: "UN"}
		}
		enc.BeginMessage(mref, id, "")
		uci := []legacybridge.Element{{{env.ControlRef}}, comp(env.Sender, env.SenderQualifier), comp(env.Recipient, env.RecipientQualifier), {{ic.Action}}}
		enc.WriteSegment(legacybridge.Segment{Tag: "UCI", Elements: trimEmpty(append(uci, fault(ic.Fault)...))})
		// A rejected level (action 4) rejects all its lower levels: under
		// it only those with errors of their own are listed, never a UCM 7.
		if !a.opts.ReceiptOnly || ic.Action == ActionRejected {
			icRej := ic.Action == ActionRejected
			for _, m := range ic.Messages {
				if !icRej || m.Action == ActionRejected {
					writeUCM(enc, m)
				}
			}
			for _, g := range ic.Groups {
				if icRej && g.Action != ActionRejected && !anyMessageRejected(g.Messages) {
					continue
				}
				ucf := []legacybridge.Element{{{g.Ref}}, {{g.Sender}}, {{g.Recipient}}, {{g.Action}}}
				enc.WriteSegment(legacybridge.Segment{Tag: "UCF", Elements: trimEmpty(append(ucf, fault(g.Fault)...))})
				gRej := icRej || g.Action == ActionRejected
				for _, m := range g.Messages {
					if !gRej || m.Action == ActionRejected {
						writeUCM(enc, m)
					}
				}
			}
		}
		enc.EndMessage()
		enc.EndInterchange()
		if err := enc.Flush(); err != nil {
			return fmt.Errorf("CONTRL for %s: %w", a.Name, err)
		}
	}
	return nil
}

// fault renders 0085, 0013 and S011 of a UCI, UCF or UCM.
func fault(f *Fault) []legacybridge.Element {
	if f == nil {
		return nil
	}
	s011 := legacybridge.Element{{""}}
	if f.Element > 0 {
		s011 = comp(strconv.Itoa(f.Element), posOrEmpty(f.Component))
	}
	return []legacybridge.Element{{{strconv.Itoa(int(f.Code))}}, {{f.Tag}}, s011}
}

func posOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func writeUCM(enc *Encoder, m *MessageAck) {
	ucm := []legacybridge.Element{{{m.Ref}}, comp(m.ID.Type, m.ID.Version, m.ID.Release, m.ID.Agency, m.ID.Association), {{m.Action}}}
	enc.WriteSegment(legacybridge.Segment{Tag: "UCM", Elements: trimEmpty(append(ucm, fault(m.Fault)...))})
	for _, s := range m.Segments {
		ucs := []legacybridge.Element{{{strconv.Itoa(s.Position)}}}
		if s.Code != 0 {
			ucs = append(ucs, legacybridge.Element{{strconv.Itoa(int(s.Code))}})
		}
		enc.WriteSegment(legacybridge.Segment{Tag: "UCS", Elements: ucs})
		for _, el := range s.Elements {
			enc.WriteSegment(legacybridge.Segment{Tag: "UCD", Elements: []legacybridge.Element{
				{{strconv.Itoa(int(el.Code))}}, comp(strconv.Itoa(el.Position), posOrEmpty(el.Component))}})
		}
	}
}

func anyMessageRejected(ms []*MessageAck) bool {
	for _, m := range ms {
		if m.Action == ActionRejected {
			return true
		}
	}
	return false
}
