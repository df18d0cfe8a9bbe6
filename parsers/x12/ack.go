package x12

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"legacybridge"
)

// AckOptions says how Acknowledge's acknowledgements are written. The zero
// value needs a control number: set ControlNumber or Controls.
type AckOptions struct {
	// ControlNumber is the ISA13 and GS06 of the first interchange written;
	// each further interchange (one per acknowledged interchange) takes the
	// next number. Used when Controls is nil.
	ControlNumber uint64
	// Controls, if set, supplies the ISA13, GS06 and ST02 of the
	// acknowledgements instead (persisted per partner by the caller).
	Controls ControlNumbers
	// Delimiters of the acknowledgements. Default (nil): those of the
	// acknowledged interchange.
	Delimiters *Delimiters
	// Suffix is Encoder.Suffix, e.g. "\n". Default "".
	Suffix string
	// Time is the date and time written in ISA09/10 and GS04/05. Default:
	// time.Now() at writing, in UTC.
	Time time.Time
	// Version999 is GS08 of a 999. Default "005010X231A1".
	Version999 string
	// ErrorsOnly leaves the AK2 loops of accepted transaction sets out
	// (AK9 still counts them), for partners who want only the rejected
	// ones listed. Default false: every set is listed.
	ErrorsOnly bool
	// Charset and CharsetFor are the Decoder's for reading the input.
	// Default "" and nil.
	Charset    string
	CharsetFor func(senderQualifier, senderID string) string
	// Check, if set, is called with each transaction set read (as
	// Transaction.Record returns it) and returns the segment and element
	// errors it finds against transaction-set rules, as
	// edirules.Rules.X12Check does: they are listed as AK3/AK4 (IK3/IK4)
	// and reject the set (AK5/IK5 R, code 5). Default nil: no such check.
	Check func(legacybridge.Record) []SegmentError
}

// Ack is the outcome of reading one input for acknowledgement: per
// interchange, group and transaction set, what an X12 997/999 (and TA1)
// reports. Acknowledge fills it; a validation pass may add segment and
// element errors (SetAck.Segments) before writing.
type Ack struct {
	Name         string
	Interchanges []*InterchangeAck
	// Fatal is the error that stopped decoding (a bad ISA, a bad BIN, a
	// read error), nil when the whole input was read.
	Fatal *ParseError
	// Unplaced are errors outside every interchange (data before the first
	// ISA, segments after an IEA): no acknowledgement can report them.
	Unplaced []*ParseError

	opts AckOptions
}

// InterchangeAck is the outcome of one interchange: what a TA1 reports.
type InterchangeAck struct {
	Envelope Envelope // the ISA fields (group and set fields empty) and delimiters
	Status   string   // TA104: "A" accepted, "E" accepted with errors, "R" rejected
	Note     string   // TA105 (I18): "000" no error, "001" ISA13/IEA02 differ, "021" IEA01 count wrong, "023" end of file before IEA, "024" invalid content
	Errors   []*ParseError
	Groups   []*GroupAck
	// TA1 holds the TA1 segments the interchange carried (acknowledgements
	// it is itself sending), as read.
	TA1 []legacybridge.Segment

	ended bool
}

// GroupAck is the outcome of one functional group: an AK1..AK9 loop.
type GroupAck struct {
	FunctionalID  string   // GS01 (AK101)
	ControlNumber string   // GS06 (AK102)
	AppSender     string   // GS02
	AppReceiver   string   // GS03
	Version       string   // GS08 (AK103 in a 999)
	Status        string   // AK901: "A", "E", "P" partially accepted, "R"
	Codes         []string // AK905..AK909 (716): "3" no GE, "4" GE02 differs, "5" GE01 count wrong, "19" GS06 not unique
	Included      int      // AK902: GE01 (the sets received when GE01 is missing or not a number)
	Received      int      // AK903
	Accepted      int      // AK904
	Sets          []*SetAck
	Errors        []*ParseError

	ended bool
	ge01  string
}

// SetAck is the outcome of one transaction set: an AK2..AK5 (IK5) loop.
type SetAck struct {
	ID                string   // ST01 (AK201)
	ControlNumber     string   // ST02 (AK202)
	ImplementationRef string   // ST03 (AK203 in a 999)
	Index             int      // Pos.Index of the transaction set in the input
	Status            string   // AK501/IK501: "A" accepted, "E" accepted with errors, "R" rejected
	Codes             []string // AK502..AK506 (718): "2" no SE, "3" SE02 differs, "4" SE01 count wrong, "5" segments in error, "23" ST02 not unique
	Segments          []SegmentError
	Errors            []*ParseError
}

// SegmentError is an AK3 (IK3 in a 999) with its AK4s (IK4).
type SegmentError struct {
	Tag      string // AK301
	Position int    // AK302: 1-based position in the set, ST = 1
	Loop     string // AK303, may be ""
	Code     string // AK304 (720): "1" unrecognized segment ID, "2" unexpected, "3" mandatory missing, "8" has data element errors, ...
	Elements []ElementError
}

// ElementError is an AK4 (IK4 in a 999).
type ElementError struct {
	Position  int    // AK401: 1-based element position
	Component int    // AK401-2: 1-based component position, 0 = none
	Ref       string // AK402: data element reference number, may be ""
	Code      string // AK403 (723): "1" mandatory missing, "4" too short, "5" too long, "7" invalid code value, ...
	Bad       string // AK404: a copy of the bad data, may be ""
}

// Acknowledge reads all of r with a Decoder and returns what a 997/999
// and TA1 for it report: a transaction set with any structural problem is
// rejected with the matching AK5 code, the others accepted; a group is
// accepted, partially accepted or rejected accordingly, and rejected when
// its own envelope is bad (GE count or control number, missing GE,
// duplicate GS06). The error is non-nil only for a failure to read r
// (then the Ack holds what was read before it); problems of the input are
// outcomes in the Ack.
func Acknowledge(r io.Reader, name string, opts AckOptions) (*Ack, error) {
	a := &Ack{Name: name, opts: opts}
	d := NewDecoderName(r, name)
	d.Charset, d.CharsetFor = opts.Charset, opts.CharsetFor
	var ic *InterchangeAck
	var grp *GroupAck
	d.envSeg = func(seg *legacybridge.Segment) {
		switch seg.Tag {
		case "ISA":
			env := d.env
			ic = &InterchangeAck{Envelope: env, Status: "A", Note: "000"}
			a.Interchanges = append(a.Interchanges, ic)
			grp = nil
			// TA1 notes 014 and 015: an ISA09 date or ISA10 time that is
			// not one rejects the interchange.
			bad := func(note, format string, args ...any) {
				ic.Errors = append(ic.Errors, &ParseError{File: name, Offset: seg.Offset, Segment: seg.Number, Tag: "ISA",
					Err: fmt.Errorf("%w: "+format, append([]any{ErrBadISA}, args...)...)})
				ic.worse("R", note)
			}
			if _, err := time.Parse("060102", env.Date); err != nil {
				bad("014", "ISA09 %q is not a date (YYMMDD)", env.Date)
			} else if _, err := time.Parse("1504", env.Time); err != nil {
				bad("015", "ISA10 %q is not a time (HHMM)", env.Time)
			}
		case "GS":
			if ic == nil || ic.ended {
				grp = nil
				return // GS outside an interchange: reported as an error
			}
			e := &d.env
			grp = &GroupAck{FunctionalID: e.FunctionalID, ControlNumber: e.GroupControlNumber, AppSender: e.AppSender,
				AppReceiver: e.AppReceiver, Version: e.GroupVersion}
			ic.Groups = append(ic.Groups, grp)
		case "GE":
			if grp != nil {
				grp.ended, grp.ge01 = true, seg.Element(1).Value()
			}
		case "IEA":
			if ic != nil {
				ic.ended = true
			}
		case "TA1":
			if ic != nil {
				ic.TA1 = append(ic.TA1, cloneSegment(*seg))
			}
		}
	}
	var readErr error
	for {
		tx, err := d.Decode()
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
			return a, fmt.Errorf("x12: acknowledge %s: %w", name, err)
		}
		for _, e := range errs {
			if e.Fatal() {
				a.Fatal = e
				if !errors.Is(e, ErrBadISA) && !errors.Is(e, ErrNoInterchange) && !errors.Is(e, ErrBadSegment) && !errors.Is(e, ErrBadBIN) {
					readErr = e // an I/O error
				}
			}
		}
		if tx != nil {
			set := &SetAck{ID: tx.Envelope.SetID, ControlNumber: tx.Envelope.SetControlNumber,
				ImplementationRef: tx.Envelope.ImplementationRef, Index: tx.Pos.Index, Status: "A"}
			var other []*ParseError
			for _, e := range errs {
				if !setError(set, tx, e) {
					other = append(other, e)
				}
			}
			if opts.Check != nil {
				set.addSegments(opts.Check(tx.Record()))
			}
			if grp != nil && tx.Envelope.GroupControlNumber != "" && grp.ControlNumber == tx.Envelope.GroupControlNumber && !grp.ended {
				grp.Sets = append(grp.Sets, set)
				errs = other
			}
			// Else a set outside any group, which no 997 can acknowledge:
			// its errors (ST outside a group among them) go to the
			// interchange.
		}
		for _, e := range errs {
			a.envelopeError(ic, grp, e)
		}
	}
	for _, ic := range a.Interchanges {
		if !ic.ended {
			ic.worse("R", "023")
		}
		for _, g := range ic.Groups {
			g.finish()
		}
	}
	if readErr != nil {
		return a, fmt.Errorf("x12: acknowledge %s: %w", name, readErr)
	}
	return a, nil
}

func cloneSegment(s legacybridge.Segment) legacybridge.Segment {
	els := make([]legacybridge.Element, len(s.Elements))
	for i, e := range s.Elements {
		reps := make(legacybridge.Element, len(e))
		for j, r := range e {
			reps[j] = append([]string(nil), r...)
		}
		els[i] = reps
	}
	s.Elements = els
	return s
}

// setError records e, returned with tx, on set; false when e is not about
// the set.
func setError(set *SetAck, tx *Transaction, e *ParseError) bool {
	code := ""
	switch {
	case errors.Is(e, ErrOutsideEnvelope) && e.Tag == "ST":
		return false // ST outside a group: not acknowledgeable in a group
	case errors.Is(e, ErrCountMismatch):
		code = "4"
	case errors.Is(e, ErrControlMismatch):
		code = "3"
	case errors.Is(e, ErrMissingTrailer):
		code = "2"
	case errors.Is(e, ErrDuplicateControl):
		code = "23"
	default:
		code = "5"
		pos := e.Segment - tx.Pos.Segment + 1
		tag := ""
		for _, s := range tx.Segments {
			if s.Number == e.Segment {
				tag = s.Tag
			}
		}
		if pos >= 1 && validTag(tag) || pos >= 1 && tag == "" {
			se := SegmentError{Tag: tag, Position: pos, Code: "8"}
			if errors.Is(e, ErrBadSegment) {
				se.Code = "1"
			}
			if se.Tag != "" {
				set.Segments = append(set.Segments, se)
			}
		}
	}
	set.Status = "R"
	set.Errors = append(set.Errors, e)
	for _, c := range set.Codes {
		if c == code {
			return true
		}
	}
	set.Codes = append(set.Codes, code)
	return true
}

// envelopeError records an error outside any set on the group or
// interchange it is about.
func (a *Ack) envelopeError(ic *InterchangeAck, grp *GroupAck, e *ParseError) {
	if ic == nil || ic.ended && e.Tag != "IEA" {
		// Before the first interchange or after an IEA: no TA1 can report
		// it (a fatal one is Ack.Fatal too).
		a.Unplaced = append(a.Unplaced, e)
		return
	}
	switch {
	case e.Tag == "GE" && grp != nil && (errors.Is(e, ErrCountMismatch) || errors.Is(e, ErrControlMismatch)):
		grp.Errors = append(grp.Errors, e)
		if errors.Is(e, ErrCountMismatch) {
			grp.code("5")
		} else {
			grp.code("4")
		}
	case e.Tag == "GS" && grp != nil && errors.Is(e, ErrDuplicateControl):
		grp.Errors = append(grp.Errors, e)
		grp.code("19")
	case errors.Is(e, ErrMissingTrailer):
		// Derived from the envelopes left open: a group without GE, an
		// interchange without IEA. Kept for the record.
		ic.Errors = append(ic.Errors, e)
	case e.Tag == "IEA" && errors.Is(e, ErrControlMismatch):
		ic.Errors = append(ic.Errors, e)
		ic.worse("R", "001")
	case e.Tag == "IEA" && errors.Is(e, ErrCountMismatch):
		ic.Errors = append(ic.Errors, e)
		ic.worse("R", "021")
	case e.Fatal():
		ic.Errors = append(ic.Errors, e)
		if !ic.ended {
			ic.worse("R", "023")
		}
	default:
		ic.Errors = append(ic.Errors, e)
		ic.worse("E", "024")
	}
}

// worse lowers the interchange's status to status (R below E below A),
// keeping the first note of the worst status.
func (ic *InterchangeAck) worse(status, note string) {
	rank := map[string]int{"A": 0, "E": 1, "R": 2}
	if rank[status] > rank[ic.Status] {
		ic.Status, ic.Note = status, note
	}
}

func (g *GroupAck) code(c string) {
	for _, have := range g.Codes {
		if have == c {
			return
		}
	}
	g.Codes = append(g.Codes, c)
}

func (g *GroupAck) finish() {
	if !g.ended {
		g.code("3")
	}
	g.Received = len(g.Sets)
	g.Accepted = 0
	for _, s := range g.Sets {
		if s.Status != "R" {
			s.finishStatus()
		}
		if s.Status != "R" {
			g.Accepted++
		}
	}
	g.Included = g.Received
	if n, err := strconv.Atoi(g.ge01); err == nil && allDigits(g.ge01) {
		g.Included = n
	}
	switch {
	case len(g.Codes) > 0:
		// A group rejected for its own envelope: none of its sets is
		// accepted (AK904 0), whatever each AK5 says of the set alone.
		g.Status, g.Accepted = "R", 0
	case g.Accepted == g.Received:
		g.Status = "A"
		for _, s := range g.Sets {
			if s.Status == "E" {
				g.Status = "E"
			}
		}
	case g.Accepted == 0:
		g.Status = "R"
	default:
		g.Status = "P"
	}
}

// addSegments records the segment errors of AckOptions.Check, in segment
// order with those already there: they reject the set (code 5).
func (s *SetAck) addSegments(errs []SegmentError) {
	if len(errs) == 0 {
		return
	}
	s.Segments = append(s.Segments, errs...)
	slices.SortStableFunc(s.Segments, func(a, b SegmentError) int { return a.Position - b.Position })
	s.Status = "R"
	if !slices.Contains(s.Codes, "5") {
		s.Codes = append(s.Codes, "5")
	}
}

// finishStatus makes an accepted set with segment errors (added by a
// validation pass) rejected.
func (s *SetAck) finishStatus() {
	if len(s.Segments) > 0 && s.Status == "A" {
		s.Status = "R"
		s.Codes = append(s.Codes, "5")
	}
}

// Refresh recomputes the group outcomes after segment errors were added
// to sets.
func (a *Ack) Refresh() {
	for _, ic := range a.Interchanges {
		for _, g := range ic.Groups {
			g.finish()
		}
	}
}

// NeedsTA1 reports whether an interchange asked for a TA1 (ISA14 = 1) or
// has a problem of its own, which only a TA1 reports.
func (a *Ack) NeedsTA1() bool {
	for _, ic := range a.Interchanges {
		if ic.needsTA1() {
			return true
		}
	}
	return false
}

func (ic *InterchangeAck) needsTA1() bool {
	return ic.Envelope.AckRequested == "1" || ic.Status != "A"
}

// Write997 writes one 997 per acknowledged functional group, in one
// interchange per acknowledged interchange (sender and receiver swapped).
// Interchanges without groups are left out (see WriteTA1).
func (a *Ack) Write997(w io.Writer) error { return a.write(w, "997") }

// Write999 is Write997 for a 999 (implementation acknowledgment, 005010):
// AK2 with ST03, IK3/IK4/IK5 instead of AK3/AK4/AK5.
func (a *Ack) Write999(w io.Writer) error { return a.write(w, "999") }

// WriteTA1 writes, for each interchange that asked for one (ISA14 = 1) or
// has a problem of its own, an interchange holding only its TA1. It writes
// nothing when none does.
func (a *Ack) WriteTA1(w io.Writer) error { return a.write(w, "TA1") }

func (a *Ack) write(w io.Writer, kind string) error {
	now := a.opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	next := a.opts.ControlNumber
	var encs []*Encoder
	flush := func() error {
		for _, e := range encs {
			if err := e.Flush(); err != nil {
				return fmt.Errorf("acknowledgement %s for %s: %w", kind, a.Name, err)
			}
		}
		return nil
	}
	for _, ic := range a.Interchanges {
		if kind == "TA1" && !ic.needsTA1() || kind != "TA1" && len(ic.Groups) == 0 {
			continue
		}
		delims := ic.Envelope.Delimiters
		if a.opts.Delimiters != nil {
			delims = *a.opts.Delimiters
		}
		version := ic.Envelope.Version
		if kind == "999" && version < "00501" {
			version = "00501" // a 999 is a 005010 transaction set: its interchange says so
			if delims.Repetition == "" {
				// ISA11 is the repetition separator from 00402 on.
				for _, c := range []string{"^", "{", "!"} {
					if c != delims.Element && c != delims.Component && c != delims.Segment {
						delims.Repetition = c
						break
					}
				}
			}
		}
		if delims.Repetition != "" && version < "00402" {
			delims.Repetition = ""
		}
		enc := NewEncoder(w, delims)
		encs = append(encs, enc)
		enc.Suffix = a.opts.Suffix
		enc.Controls = a.opts.Controls
		ctrl, gctrl := "", ""
		if a.opts.Controls == nil {
			if next == 0 {
				return fmt.Errorf("x12: acknowledgement %s for %s: no control number (set AckOptions.ControlNumber or Controls)", kind, a.Name)
			}
			ctrl = strconv.FormatUint(next, 10)
			gctrl = ctrl
			next++
		}
		env := ic.Envelope
		enc.BeginInterchange(InterchangeHeader{
			SenderQualifier: env.ReceiverQualifier, SenderID: env.ReceiverID,
			ReceiverQualifier: env.SenderQualifier, ReceiverID: env.SenderID,
			Date: now.Format("060102"), Time: now.Format("1504"), Version: version,
			ControlNumber: ctrl, AckRequested: "0", Usage: orDefault(env.Usage, "P"),
		})
		if kind == "TA1" {
			enc.WriteInterchangeSegment(legacybridge.Segment{Tag: "TA1", Elements: simple(
				padControl(env.ControlNumber), env.Date, env.Time, ic.Status, ic.Note)})
			if err := enc.EndInterchange(); err != nil {
				return fmt.Errorf("x12: acknowledgement TA1 for %s: %w", a.Name, err)
			}
			continue
		}
		first := ic.Groups[0]
		gsVersion := first.Version
		if len(gsVersion) > 6 {
			gsVersion = gsVersion[:6] // the version, without an implementation guide's suffix ("005010X222A1")
		}
		if kind == "999" {
			gsVersion = orDefault(a.opts.Version999, "005010X231A1")
		}
		enc.BeginGroup(GroupHeader{FunctionalID: "FA", AppSender: orDefault(first.AppReceiver, env.ReceiverID),
			AppReceiver: orDefault(first.AppSender, env.SenderID), Date: now.Format("20060102"), Time: now.Format("1504"),
			ControlNumber: gctrl, Version: orDefault(gsVersion, "004010")})
		for i, g := range ic.Groups {
			stctrl := ""
			if a.opts.Controls == nil {
				stctrl = fmt.Sprintf("%04d", i+1)
			}
			writeGroupAck(enc, kind, g, stctrl, a.opts.ErrorsOnly)
		}
		enc.EndGroup()
		if err := enc.EndInterchange(); err != nil {
			return fmt.Errorf("x12: acknowledgement %s for %s: %w", kind, a.Name, err)
		}
	}
	return flush()
}

// padControl writes an interchange control number as the 9 digits TA101
// is.
func padControl(c string) string {
	if allDigits(c) && len(c) < 9 {
		return fmt.Sprintf("%09s", c)
	}
	return c
}

func writeGroupAck(enc *Encoder, kind string, g *GroupAck, stctrl string, errorsOnly bool) {
	implRef := ""
	if kind == "999" {
		implRef = "005010X231A1"
	}
	enc.BeginSet(kind, stctrl, implRef)
	ak1 := []string{g.FunctionalID, g.ControlNumber}
	if kind == "999" && g.Version != "" {
		ak1 = append(ak1, g.Version)
	}
	enc.WriteSegment(legacybridge.Segment{Tag: "AK1", Elements: simple(ak1...)})
	for _, s := range g.Sets {
		if errorsOnly && s.Status == "A" {
			continue
		}
		ak2 := []string{s.ID, s.ControlNumber}
		if kind == "999" && s.ImplementationRef != "" {
			ak2 = append(ak2, s.ImplementationRef)
		}
		enc.WriteSegment(legacybridge.Segment{Tag: "AK2", Elements: simple(ak2...)})
		for _, se := range s.Segments {
			tag, etag := "AK3", "AK4"
			if kind == "999" {
				tag, etag = "IK3", "IK4"
			}
			enc.WriteSegment(legacybridge.Segment{Tag: tag, Elements: trim(simple(se.Tag, strconv.Itoa(se.Position), se.Loop, se.Code))})
			for _, el := range se.Elements {
				pos := legacybridge.Element{{strconv.Itoa(el.Position)}}
				if el.Component > 0 {
					pos = legacybridge.Element{{strconv.Itoa(el.Position), strconv.Itoa(el.Component)}}
				}
				bad := el.Bad
				if enc.delimIn(bad) != "" {
					bad = "" // a copy the acknowledgement's delimiters cannot carry is left out
				}
				elems := append([]legacybridge.Element{pos}, simple(el.Ref, el.Code, bad)...)
				enc.WriteSegment(legacybridge.Segment{Tag: etag, Elements: trim(elems)})
			}
		}
		tag := "AK5"
		if kind == "999" {
			tag = "IK5"
		}
		enc.WriteSegment(legacybridge.Segment{Tag: tag, Elements: simple(append([]string{s.Status}, firstN(s.Codes, 5)...)...)})
	}
	enc.WriteSegment(legacybridge.Segment{Tag: "AK9", Elements: simple(append([]string{g.Status,
		strconv.Itoa(g.Included), strconv.Itoa(g.Received), strconv.Itoa(g.Accepted)}, firstN(g.Codes, 5)...)...)})
	enc.EndSet()
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// trim drops trailing empty elements, as X12 requires.
func trim(els []legacybridge.Element) []legacybridge.Element {
	for len(els) > 0 {
		last := els[len(els)-1]
		empty := true
		for _, r := range last {
			for _, c := range r {
				empty = empty && c == ""
			}
		}
		if !empty {
			break
		}
		els = els[:len(els)-1]
	}
	return els
}
