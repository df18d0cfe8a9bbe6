package edifact

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"strconv"

	"legacybridge"
)

// Envelope is what surrounds a message: its interchange (UNB), its
// functional group (UNG, when it has one) and its own header (UNH), plus the
// interchange's service characters and character set. Values are as sent
// (decoded to UTF-8). Passwords (UNB S005, UNG 0058) are never kept.
type Envelope struct {
	SyntaxID           string     `json:"unb01"`             // UNB S001 0001: UNOA, UNOC, ...
	SyntaxVersion      string     `json:"unb01_2"`           // UNB S001 0002: "1" to "4"
	Sender             string     `json:"unb02"`             // UNB S002 0004
	SenderQualifier    string     `json:"unb02_2,omitempty"` // UNB S002 0007
	Recipient          string     `json:"unb03"`             // UNB S003 0010
	RecipientQualifier string     `json:"unb03_2,omitempty"` // UNB S003 0007
	Date               string     `json:"unb04"`             // UNB S004 0017: YYMMDD, CCYYMMDD in version 4
	Time               string     `json:"unb04_2"`           // UNB S004 0019: HHMM
	ControlRef         string     `json:"unb05"`             // UNB 0020: interchange control reference
	ApplicationRef     string     `json:"unb07,omitempty"`   // UNB 0026
	Priority           string     `json:"unb08,omitempty"`   // UNB 0029
	AckRequest         string     `json:"unb09,omitempty"`   // UNB 0031: "1" = acknowledgement requested
	AgreementID        string     `json:"unb10,omitempty"`   // UNB 0032
	TestIndicator      string     `json:"unb11,omitempty"`   // UNB 0035: "1" = test
	GroupID            string     `json:"ung01,omitempty"`   // UNG 0038: message group identification
	GroupSender        string     `json:"ung02,omitempty"`   // UNG S006 0040
	GroupRecipient     string     `json:"ung03,omitempty"`   // UNG S007 0044
	GroupRef           string     `json:"ung05,omitempty"`   // UNG 0048: group reference number
	GroupAgency        string     `json:"ung06,omitempty"`   // UNG 0051
	GroupVersion       string     `json:"ung07,omitempty"`   // UNG S008 0052
	GroupRelease       string     `json:"ung07_2,omitempty"` // UNG S008 0054
	MessageRef         string     `json:"unh01"`             // UNH 0062: message reference number
	MessageType        string     `json:"unh02"`             // UNH S009 0065: ORDERS, INVOIC, ...
	MessageVersion     string     `json:"unh02_2"`           // UNH S009 0052: "D"
	MessageRelease     string     `json:"unh02_3"`           // UNH S009 0054: "96A"
	MessageAgency      string     `json:"unh02_4"`           // UNH S009 0051: "UN"
	AssociationCode    string     `json:"unh02_5,omitempty"` // UNH S009 0057: "EAN008"
	CommonAccessRef    string     `json:"unh03,omitempty"`   // UNH 0068
	Delimiters         Delimiters `json:"delimiters"`        // of the interchange
	Charset            string     `json:"charset"`           // values were decoded from: "ascii", "iso-8859-1", "utf-8", ...
	InterchangeSegment int        `json:"-"`                 // segment number of the UNB (0: none)
	GroupSegment       int        `json:"-"`                 // segment number of the UNG (0: none)

	unb, ung *legacybridge.Segment // as read, passwords emptied, shared: for Record's envelope map
}

// Version is the message's version as "D:96A:UN" (UNH S009 0052:0054:0051).
func (e *Envelope) Version() string {
	if e.MessageVersion == "" && e.MessageRelease == "" && e.MessageAgency == "" {
		return ""
	}
	return e.MessageVersion + ":" + e.MessageRelease + ":" + e.MessageAgency
}

// Message is one message (UNH..UNT) with its envelope.
type Message struct {
	Envelope Envelope               `json:"envelope"`
	Segments []legacybridge.Segment `json:"segments"` // UNH..UNT inclusive
	Pos      legacybridge.Position  `json:"position"` // of the UNH; Index = ordinal in the input
}

// Decoder reads messages from UN/EDIFACT input, one at a time, checking the
// envelopes around them. It streams: memory is bounded by one message plus
// the I/O buffer, whatever the input size or line structure.
//
// Error contract (the same as the x12 package's, compare encoding/csv's
// ErrFieldCount):
//
//   - (msg, nil): a message without problems.
//   - (msg, err): a message that was read completely but has problems (UNT
//     0074 count, UNT 0062 reference, missing UNT, bad segment tags, UNH
//     elements). Every problem is reported: err is a *ParseError, or an
//     ErrorList when there are several. Problems of the message alone have
//     Level LevelMessage (RecordLevel is true); a message that is
//     misplaced (outside an interchange, or outside a group where the
//     interchange has groups) also carries that interchange-level error.
//   - (nil, err): problems outside any message (UNE/UNZ counts and
//     references, missing UNE/UNZ, bad UNB/UNG, segments outside their
//     envelope), with Level LevelInterchange or LevelGroup.
//   - (nil, io.EOF): the end of input.
//
// After any error but a fatal one, Decode continues with the next segment,
// so one bad message does not hide the good messages after it, and every
// problem in the input is reported. A fatal error (the service characters
// or segment boundaries can no longer be known: a bad UNA, data before the
// first UNA/UNB, a segment over MaxSegment, an I/O error) is returned once,
// with the message it interrupted if any, then Decode returns io.EOF.
type Decoder struct {
	// Name is the input's name, used in errors and positions. Default "".
	Name string
	// Warn, if set, receives problems that do not fail the input (see
	// Tokenizer.Warn; also duplicate message and group references).
	// Default: ignored.
	Warn func(*ParseError)
	// MaxSegment is the longest segment accepted, in bytes; a longer one is
	// a fatal ErrBadSegment. Default DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Charset is Tokenizer.Charset: "" (default) decodes each interchange
	// in the character set its UNB declares.
	Charset string
	// StrictCharset is Tokenizer.StrictCharset: characters outside the
	// syntax level's repertoire are errors of their message instead of
	// warnings. Default false.
	StrictCharset bool

	tok  Tokenizer
	done bool

	seg      legacybridge.Segment // the segment being handled
	back     legacybridge.Segment // pushed back segment
	hasBack  bool
	backLine int
	backErr  *ParseError // the pushed back segment's problem

	env        Envelope // current interchange and group fields
	inUNB      bool
	unb        opener
	groups     int  // UNG seen in the interchange
	direct     int  // messages outside groups in the interchange
	mixed      bool // groups and messages mixed: reported once per interchange
	inUNG      bool
	ung        opener
	groupMsgs  int    // messages in the group
	groupType  string // type of the group's first message
	msgRefs    refs   // UNH 0062 used in the interchange
	groupRefs  refs   // UNG 0048 used in the interchange
	unbVersion string

	cur      *Message
	segsHint int
	segSlab  []legacybridge.Segment
	msgSlab  []Message // free messages
	index    int
	errs     []*ParseError
	dropped  int // problems past maxErrs in this step
}

// opener is where an envelope header (UNB, UNG) was read, for the errors
// about its trailer.
type opener struct {
	seg  int
	off  int64
	line int
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	d := &Decoder{segsHint: 16}
	d.tok.reset(r)
	d.tok.Warn = d.warn // set once: a method value allocates
	return d
}

// NewDecoderName returns a Decoder reading from r whose errors name the input.
func NewDecoderName(r io.Reader, name string) *Decoder {
	d := NewDecoder(r)
	d.Name = name
	return d
}

// Delimiters returns the service characters of the current interchange.
func (d *Decoder) Delimiters() Delimiters { return d.tok.delims }

// Decode returns the next message; see Decoder for the contract.
func (d *Decoder) Decode() (*Message, error) {
	if d.done {
		return nil, io.EOF
	}
	d.tok.Name = d.Name
	d.tok.MaxSegment = d.MaxSegment
	d.tok.Charset = d.Charset
	d.tok.StrictCharset = d.StrictCharset
	seg := &d.seg
	for {
		line, err := d.read(seg)
		var tokErr *ParseError
		if err != nil {
			if err == io.EOF {
				return d.eof()
			}
			if tokErr = asParseError(err); tokErr == nil {
				tokErr = &ParseError{File: d.Name, Offset: d.tok.off, Line: d.tok.line, Segment: d.tok.num,
					Tag: d.tok.tagOfLast(), Code: CodeUnspecified, Err: err, fatal: true}
			}
			if tokErr.fatal {
				d.add(tokErr)
				d.done = true
				if d.cur != nil {
					// The message read so far, with its problems and the
					// fatal error that ended it (which is not record-level).
					return d.take(), d.takeErrs()
				}
				return nil, d.takeErrs()
			}
			if !validTag(seg.Tag) {
				// No segment (padding), an empty one, or one with a bad tag:
				// reported once, by the tokenizer, and never taken for an
				// envelope segment. A segment with data stays in its
				// message (UNT counts it); outside one it is dropped.
				d.add(tokErr)
				if d.cur == nil {
					return nil, d.takeErrs()
				}
				if seg.Tag != "" || seg.Elements != nil {
					d.cur.Segments = append(d.cur.Segments, *seg)
				}
				continue
			}
			if !isHeader(seg.Tag) {
				// A trailer's or data segment's problem belongs to the
				// envelope open before it; a header's to the one it opens
				// (stamped after handle).
				d.stamp(tokErr)
			}
		}
		before := len(d.errs)
		msg := d.handle(seg, line)
		switch {
		case tokErr == nil:
		case d.hasBack:
			// seg ended the current message and was pushed back: its
			// problem comes back with it.
			tokErr.Level, tokErr.Interchange, tokErr.Group, tokErr.Message = 0, "", "", ""
			d.backErr = tokErr
		default:
			// Stamped now for a header (the envelope it opened), before
			// handle for other segments; listed before what handle found
			// about the segment.
			d.add(tokErr)
			if n := len(d.errs); n > before+1 && d.errs[n-1] == tokErr {
				copy(d.errs[before+1:], d.errs[before:n-1])
				d.errs[before] = tokErr
			}
		}
		if msg != nil {
			return msg, d.takeErrs()
		}
		if d.cur == nil && len(d.errs) > 0 {
			return nil, d.takeErrs()
		}
	}
}

// asParseError returns the *ParseError in err, or nil.
func asParseError(err error) *ParseError {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func isHeader(tag string) bool { return tag == "UNB" || tag == "UNG" || tag == "UNH" }

// warn stamps a warning with its envelope and passes it on.
func (d *Decoder) warn(e *ParseError) {
	if d.Warn == nil {
		return
	}
	d.stamp(e)
	d.Warn(e)
}

// stamp sets an error's level and references from the envelopes open now,
// unless it has them.
func (d *Decoder) stamp(e *ParseError) {
	if e.Level == 0 {
		switch {
		case d.cur != nil:
			e.Level = LevelMessage
		case d.inUNG:
			e.Level = LevelGroup
		default:
			e.Level = LevelInterchange
		}
	}
	if e.Interchange == "" && e.Group == "" && e.Message == "" {
		if d.inUNB {
			e.Interchange = d.env.ControlRef
		}
		if d.inUNG {
			e.Group = d.env.GroupRef
		}
		if d.cur != nil && e.Level == LevelMessage {
			e.Message = d.cur.Envelope.MessageRef
		}
	}
}

// maxErrs bounds the problems kept for one Decode step (one message, say):
// the rest are counted and summed up in one last error, so garbage input
// cannot grow memory without bound.
const maxErrs = 1000

func (d *Decoder) add(e *ParseError) {
	d.stamp(e)
	if len(d.errs) >= maxErrs && !e.fatal {
		d.dropped++
		return
	}
	d.errs = append(d.errs, e)
}

func (d *Decoder) read(seg *legacybridge.Segment) (int, error) {
	if d.hasBack {
		*seg = d.back
		d.back, d.hasBack = legacybridge.Segment{}, false
		if e := d.backErr; e != nil {
			d.backErr = nil
			return d.backLine, e
		}
		return d.backLine, nil
	}
	// Inside a message, read into the next free slot of its segments: a
	// data segment stays there, saving a copy.
	for d.cur != nil {
		segs := d.cur.Segments
		if len(segs) == cap(segs) {
			break
		}
		segs = segs[:len(segs)+1]
		slot := &segs[len(segs)-1]
		err := d.tok.read(slot)
		if err == nil && !serviceTag(slot.Tag) {
			d.cur.Segments = segs
			continue
		}
		*seg, *slot = *slot, legacybridge.Segment{}
		return d.tok.segLine, err
	}
	err := d.tok.read(seg)
	return d.tok.segLine, err
}

// serviceTag reports whether tag is one of the segments Decoder.handle
// treats specially (the data segments of a message are only appended).
func serviceTag(tag string) bool {
	if len(tag) != 3 || tag[0] != 'U' || tag[1] != 'N' {
		return false
	}
	switch tag[2] {
	case 'A', 'B', 'G', 'H', 'T', 'E', 'Z':
		return true
	}
	return false
}

func (d *Decoder) takeErrs() error {
	if d.dropped > 0 {
		last := *d.errs[len(d.errs)-1]
		last.Err = &cause{kind: errors.Unwrap(last.Err), msg: fmt.Sprintf("%d more problems after this one are not listed", d.dropped)}
		last.Element, last.Component = 0, 0
		d.errs = append(d.errs, &last)
		d.dropped = 0
	}
	switch len(d.errs) {
	case 0:
		return nil
	case 1:
		e := d.errs[0]
		d.errs = d.errs[:0]
		return e
	}
	l := make(ErrorList, len(d.errs))
	copy(l, d.errs)
	d.errs = d.errs[:0]
	return l
}

// fail records a problem at seg; level 0 means the envelopes open now.
func (d *Decoder) fail(seg *legacybridge.Segment, line int, level Level, elem int, kind error, code Code, format string, args ...any) *ParseError {
	e := &ParseError{File: d.Name, Offset: seg.Offset, Line: line, Segment: seg.Number, Tag: seg.Tag,
		Element: elem, Code: code, Level: level, Err: &cause{kind: kind, msg: fmt.Sprintf(format, args...)}}
	d.add(e)
	return e
}

// eof closes whatever is open at the end of input, one envelope level per
// call. Each error is placed at the header left open (UNH, UNG, UNB) and
// says where the input ends.
func (d *Decoder) eof() (*Message, error) {
	end := "input ends at byte offset " + strconv.FormatInt(d.tok.off, 10)
	if p := d.tok.lastPlace(); p != "" {
		end += ", after " + p
	}
	if d.cur != nil {
		msg := d.cur
		unh := &legacybridge.Segment{Tag: "UNH", Offset: msg.Pos.Offset, Number: msg.Pos.Segment}
		d.fail(unh, msg.Pos.Line, LevelMessage, 0, ErrMissingTrailer, CodeMissing, "%s has no UNT: %s",
			named("message", msg.Envelope.MessageType, msg.Envelope.MessageRef), end)
		return d.take(), d.takeErrs()
	}
	if d.inUNG {
		ung := &legacybridge.Segment{Tag: "UNG", Offset: d.ung.off, Number: d.ung.seg}
		d.fail(ung, d.ung.line, LevelGroup, 0, ErrMissingTrailer, CodeMissing, "%s has no UNE: %s",
			named("functional group", "", d.env.GroupRef), end)
		d.closeGroup()
	}
	if d.inUNB {
		unb := &legacybridge.Segment{Tag: "UNB", Offset: d.unb.off, Number: d.unb.seg}
		d.fail(unb, d.unb.line, LevelInterchange, 0, ErrMissingTrailer, CodeMissing, "%s has no UNZ: %s",
			named("interchange", "", d.env.ControlRef), end)
		d.inUNB = false
	}
	if len(d.errs) > 0 {
		return nil, d.takeErrs()
	}
	d.done = true
	return nil, io.EOF
}

// named names an envelope for messages: what, its type (bare when letters
// and digits, else quoted) and its reference (quoted); empty ones are left
// out.
func named(what, typ, ref string) string {
	plain := typ != ""
	for i := 0; i < len(typ); i++ {
		plain = plain && isAlnum(typ[i])
	}
	switch {
	case plain:
		what += " " + typ
	case typ != "":
		what += " " + quote(typ)
	}
	if ref != "" {
		what += " " + quote(ref)
	}
	return what
}

// cut ends the current message at seg, which is pushed back.
func (d *Decoder) cut(seg *legacybridge.Segment, line int) *Message {
	msg := d.cur
	e := d.fail(seg, line, LevelMessage, 0, ErrMissingTrailer, CodeMissing, "%s (UNH at segment %d) has no UNT before this %s",
		named("message", msg.Envelope.MessageType, msg.Envelope.MessageRef), msg.Pos.Segment, seg.Tag)
	e.Message = msg.Envelope.MessageRef
	d.back, d.hasBack, d.backLine = *seg, true, line
	return d.take()
}

func (d *Decoder) handle(seg *legacybridge.Segment, line int) *Message {
	if d.cur != nil {
		switch seg.Tag {
		case "UNA", "UNB", "UNG", "UNH", "UNE", "UNZ":
			return d.cut(seg, line)
		}
	}
	switch seg.Tag {
	case "UNA":
		d.closeOpen(seg, line)
	case "UNB":
		d.closeOpen(seg, line)
		d.openInterchange(seg, line)
	case "UNG":
		d.openGroup(seg, line)
	case "UNE":
		if !d.inUNG {
			d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeOutside, "UNE without a UNG")
			return nil
		}
		d.checkService(seg, line, LevelGroup)
		d.checkCount(seg, line, LevelGroup, "UNE01 (0060)", d.groupMsgs, "messages", "functional group has")
		d.checkRef(seg, line, LevelGroup, "UNE02 (0048)", "UNG05", d.env.GroupRef)
		if d.groupMsgs == 0 {
			d.fail(seg, line, LevelGroup, 0, ErrEmptyEnvelope, CodeEmpty, "%s holds no message",
				named("functional group", "", d.env.GroupRef))
		}
		d.closeGroup()
	case "UNZ":
		if d.inUNG {
			d.fail(seg, line, LevelGroup, 0, ErrMissingTrailer, CodeMissing, "%s (UNG at segment %d) has no UNE before this UNZ",
				named("functional group", "", d.env.GroupRef), d.ung.seg)
			d.closeGroup()
		}
		if !d.inUNB {
			d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeOutside, "UNZ without a UNB")
			return nil
		}
		d.checkService(seg, line, LevelInterchange)
		count, what := d.direct, "messages"
		if d.groups > 0 {
			count, what = d.groups, "functional groups"
		}
		d.checkCount(seg, line, LevelInterchange, "UNZ01 (0036)", count, what, "interchange has")
		d.checkRef(seg, line, LevelInterchange, "UNZ02 (0020)", "UNB05", d.env.ControlRef)
		if d.groups == 0 && d.direct == 0 {
			d.fail(seg, line, LevelInterchange, 0, ErrEmptyEnvelope, CodeEmpty, "%s holds no message and no functional group",
				named("interchange", "", d.env.ControlRef))
		}
		d.inUNB = false
	case "UNH":
		d.openMessage(seg, line)
	case "UNT":
		if d.cur == nil {
			d.fail(seg, line, 0, 0, ErrOutsideEnvelope, CodeOutside, "UNT without a UNH")
			return nil
		}
		d.cur.Segments = append(d.cur.Segments, *seg)
		msg := d.cur
		d.checkService(seg, line, LevelMessage)
		d.checkCount(seg, line, LevelMessage, "UNT01 (0074)", len(msg.Segments), "segments", "message has")
		d.checkRef(seg, line, LevelMessage, "UNT02 (0062)", "UNH01", msg.Envelope.MessageRef)
		return d.take()
	default:
		if d.cur == nil {
			where := "between messages (outside UNH..UNT)"
			if !d.inUNB {
				where = "outside an interchange (after UNZ)"
			}
			d.fail(seg, line, 0, 0, ErrOutsideEnvelope, CodeOutside, "%s segment %s", seg.Tag, where)
			return nil
		}
		d.cur.Segments = append(d.cur.Segments, *seg)
	}
	return nil
}

// closeOpen closes the group and interchange left open before a UNA or UNB.
func (d *Decoder) closeOpen(seg *legacybridge.Segment, line int) {
	if d.inUNG {
		d.fail(seg, line, LevelGroup, 0, ErrMissingTrailer, CodeMissing, "%s (UNG at segment %d) has no UNE before this %s",
			named("functional group", "", d.env.GroupRef), d.ung.seg, seg.Tag)
		d.closeGroup()
	}
	if d.inUNB {
		d.fail(seg, line, LevelInterchange, 0, ErrMissingTrailer, CodeMissing, "%s (UNB at segment %d) has no UNZ before this %s",
			named("interchange", "", d.env.ControlRef), d.unb.seg, seg.Tag)
		d.inUNB = false
	}
}

func (d *Decoder) openInterchange(seg *legacybridge.Segment, line int) {
	d.inUNB, d.unb = true, opener{seg.Number, seg.Offset, line}
	d.groups, d.direct, d.mixed = 0, 0, false
	d.msgRefs.reset()
	d.groupRefs.reset()
	c := func(e, i int) string { return seg.Element(e).Component(i) }
	d.env = Envelope{
		SyntaxID: c(1, 1), SyntaxVersion: c(1, 2),
		Sender: c(2, 1), SenderQualifier: c(2, 2), Recipient: c(3, 1), RecipientQualifier: c(3, 2),
		Date: c(4, 1), Time: c(4, 2), ControlRef: c(5, 1),
		ApplicationRef: c(7, 1), Priority: c(8, 1), AckRequest: c(9, 1), AgreementID: c(10, 1), TestIndicator: c(11, 1),
		Delimiters: d.tok.delims, Charset: d.tok.cs.name,
		InterchangeSegment: seg.Number,
	}
	d.env.unb = withoutPassword(*seg, 6)
	d.unbVersion = d.env.SyntaxVersion
	d.checkService(seg, line, LevelInterchange)
	if v := d.env.SyntaxVersion; v != "" && (len(v) != 1 || v < "1" || v > "4") {
		d.fail(seg, line, LevelInterchange, 1, ErrBadServiceSegment, CodeSyntaxLevel,
			"UNB01 (S001) syntax version %q is not 1, 2, 3 or 4", v).Component = 2
	}
}

// withoutPassword returns a copy of seg with element i (a password)
// emptied, sharing nothing it changes with seg.
func withoutPassword(seg legacybridge.Segment, i int) *legacybridge.Segment {
	if len(seg.Elements) >= i {
		elems := append([]legacybridge.Element(nil), seg.Elements...)
		elems[i-1] = legacybridge.Element{{""}}
		seg.Elements = elems
	}
	return &seg
}

func (d *Decoder) openGroup(seg *legacybridge.Segment, line int) {
	if !d.inUNB {
		d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeOutside, "UNG outside an interchange (after UNZ, before UNB)")
	}
	if d.inUNG {
		d.fail(seg, line, LevelGroup, 0, ErrMissingTrailer, CodeMissing, "%s (UNG at segment %d) has no UNE before this UNG",
			named("functional group", "", d.env.GroupRef), d.ung.seg)
		d.closeGroup()
	}
	if d.inUNB && d.direct > 0 && !d.mixed {
		d.mixed = true
		d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeMixed,
			"functional group in %s that has messages outside groups: an interchange holds either groups or messages",
			named("interchange", "", d.env.ControlRef))
	}
	d.inUNG, d.ung, d.groupMsgs, d.groupType = true, opener{seg.Number, seg.Offset, line}, 0, ""
	if d.inUNB {
		d.groups++
	}
	c := func(e, i int) string { return seg.Element(e).Component(i) }
	d.env.GroupID, d.env.GroupSender, d.env.GroupRecipient = c(1, 1), c(2, 1), c(3, 1)
	d.env.GroupRef, d.env.GroupAgency, d.env.GroupVersion, d.env.GroupRelease = c(5, 1), c(6, 1), c(7, 1), c(7, 2)
	d.env.GroupSegment = seg.Number
	d.env.ung = withoutPassword(*seg, 8)
	d.checkService(seg, line, LevelGroup)
	if ref := d.env.GroupRef; ref != "" && d.inUNB {
		if prev, ok := d.groupRefs.add(ref, seg.Number); !ok {
			d.warnAt(seg, line, LevelGroup, 5, ErrDuplicateRef, CodeDuplicate,
				"UNG05 (0048) %q is already the reference of %s in %s",
				ref, prev.describe("functional group"), named("interchange", "", d.env.ControlRef))
		}
	}
}

func (d *Decoder) closeGroup() {
	d.inUNG = false
	d.env.GroupID, d.env.GroupSender, d.env.GroupRecipient = "", "", ""
	d.env.GroupRef, d.env.GroupAgency, d.env.GroupVersion, d.env.GroupRelease = "", "", "", ""
	d.env.GroupSegment = 0
	d.env.ung = nil
}

// warnAt reports a warning at seg.
func (d *Decoder) warnAt(seg *legacybridge.Segment, line int, level Level, elem int, kind error, code Code, format string, args ...any) {
	d.warn(&ParseError{File: d.Name, Offset: seg.Offset, Line: line, Segment: seg.Number, Tag: seg.Tag,
		Element: elem, Code: code, Level: level, Err: &cause{kind: kind, msg: fmt.Sprintf(format, args...)}})
}

func (d *Decoder) openMessage(seg *legacybridge.Segment, line int) {
	if len(d.segSlab) < d.segsHint {
		d.segSlab = make([]legacybridge.Segment, max(segSlabSize, d.segsHint))
	}
	if len(d.msgSlab) == 0 {
		d.msgSlab = make([]Message, msgSlabSize)
	}
	d.cur = &d.msgSlab[0]
	d.msgSlab = d.msgSlab[1:]
	d.cur.Segments = append(d.segSlab[:0], *seg)
	d.cur.Pos = legacybridge.Position{File: d.Name, Offset: seg.Offset, Line: line, Segment: seg.Number,
		Tag: "UNH", Index: d.index}
	// The envelope is written in place: it is large, and copies of it cost.
	env := &d.cur.Envelope
	if d.inUNB {
		*env = d.env
	} else {
		// Messages without an interchange: the delimiters the tokenizer
		// used, no interchange fields.
		*env = Envelope{Delimiters: d.tok.delims, Charset: d.tok.cs.name}
	}
	s009 := seg.Element(2)
	env.MessageRef = seg.Element(1).Value()
	env.MessageType, env.MessageVersion, env.MessageRelease, env.MessageAgency, env.AssociationCode =
		s009.Component(1), s009.Component(2), s009.Component(3), s009.Component(4), s009.Component(5)
	env.CommonAccessRef = seg.Element(3).Value()
	d.index++
	switch {
	case !d.inUNB:
		d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeOutside, "UNH outside an interchange (no UNB before it, or after UNZ)")
	case d.inUNG:
		d.groupMsgs++
		if d.groupType == "" {
			d.groupType = env.MessageType
		} else if env.MessageType != d.groupType {
			d.fail(seg, line, LevelMessage, 2, ErrGroupType, CodeMessageTypes,
				"message type %s in %s whose first message is a %s: a group holds messages of one type",
				quote(env.MessageType), named("functional group", "", env.GroupRef), quote(d.groupType))
		}
	default:
		d.direct++
		if d.groups > 0 && !d.mixed {
			d.mixed = true
			d.fail(seg, line, LevelInterchange, 0, ErrOutsideEnvelope, CodeMixed,
				"message outside a functional group in %s that has groups: an interchange holds either groups or messages",
				named("interchange", "", env.ControlRef))
		}
	}
	d.checkService(seg, line, LevelMessage)
	if ref := env.MessageRef; ref != "" && d.inUNB {
		if prev, ok := d.msgRefs.add(ref, seg.Number); !ok {
			d.warnAt(seg, line, LevelMessage, 1, ErrDuplicateRef, CodeDuplicate,
				"UNH01 (0062) %q is already the reference of %s in %s",
				ref, prev.describe("message"), named("interchange", "", env.ControlRef))
		}
	}
}

// Messages and their segments are cut from slabs shared by neighbouring
// messages: fewer allocations, the same bytes.
const (
	segSlabSize = 256
	msgSlabSize = 32
)

// take ends the current message. Its segments keep only their own slots of
// the slab (capacity = length, so appending to them never reaches the next
// message's), and the slab moves past them; a message that outgrew the slab
// has its own array and leaves the slab as it was.
func (d *Decoder) take() *Message {
	msg := d.cur
	d.cur = nil
	n := len(msg.Segments)
	if n > 0 && n <= len(d.segSlab) && &d.segSlab[0] == &msg.Segments[0] {
		d.segSlab = d.segSlab[n:]
	}
	msg.Segments = msg.Segments[:n:n]
	d.segsHint = min(max(n, 8), 1024)
	return msg
}

func (d *Decoder) checkCount(seg *legacybridge.Segment, line int, level Level, name string, actual int, what, has string) {
	v := seg.Element(1).Value()
	if v == "" {
		return // reported as missing
	}
	n, err := strconv.Atoi(v)
	if err != nil || !allDigits(v) {
		d.fail(seg, line, level, 1, ErrCountMismatch, CodeInvalidValue, "%s %q is not a number of %s (%s %d)", name, v, what, has, actual)
		return
	}
	if n != actual {
		d.fail(seg, line, level, 1, ErrCountMismatch, CodeControlCount, "%s declares %d %s, %s %d", name, n, what, has, actual)
	}
}

func (d *Decoder) checkRef(seg *legacybridge.Segment, line int, level Level, name, hdr, want string) {
	got := seg.Element(2).Value()
	if got == "" {
		return // reported as missing
	}
	if got != want {
		d.fail(seg, line, level, 2, ErrControlMismatch, CodeReferences, "%s %q does not match %s %q", name, got, hdr, want)
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Bounds of refs, whatever the number of references in an interchange.
const (
	maxRefs = 1 << 14 // references kept in the map; later ones are not checked
	maxRuns = 1 << 12 // runs of consecutive numbers kept
)

// refs remembers the references used in an interchange (UNH 0062, UNG
// 0048) to find duplicates. References compare exactly ("01" is not "1"),
// so a reference of digits is its value and its length. Those are kept as
// runs of consecutive values of one length with the segments that used
// them (the usual 1, 2, 3, ... is one run, extended in constant time);
// other references as a 64-bit hash in a map: no allocation and nothing for
// the garbage collector to scan, at the cost of a false duplicate with
// odds of about 1 in 10^11 for a full map. Memory is bounded: at most
// maxRuns runs and maxRefs hashes; later references are not checked.
type refs struct {
	runs []refRun // sorted by (length, lo), disjoint
	tail int      // the run extended last
	seed maphash.Seed
	seen map[uint64]int32
}

// refRun is the values lo..hi of length digits, used by segments first..last.
type refRun struct {
	length      int
	lo, hi      uint64
	first, last int
}

func (r *refs) reset() {
	if len(r.seen) > 256 {
		r.seen = nil
	}
	clear(r.seen)
	r.runs, r.tail = r.runs[:0], 0
}

// add records ref as used at segment seg. When it was used before, it
// returns where (the segment, or a range of segments when only that is
// known) and false.
func (r *refs) add(ref string, seg int) (used, bool) {
	if v, ok := refValue(ref); ok {
		return r.addNum(len(ref), v, seg)
	}
	if r.seen == nil {
		r.seed = maphash.MakeSeed()
		r.seen = make(map[uint64]int32)
	}
	h := maphash.String(r.seed, ref)
	if prev, ok := r.seen[h]; ok {
		return used{seg: int(prev)}, false
	}
	if len(r.seen) < maxRefs {
		r.seen[h] = int32(min(seg, 1<<31-1))
	}
	return used{}, true
}

func (r *refs) addNum(length int, v uint64, seg int) (used, bool) {
	less := func(a refRun, length int, v uint64) bool { return a.length < length || a.length == length && a.hi < v }
	// The usual case: the number after the last one.
	if r.tail < len(r.runs) {
		t := &r.runs[r.tail]
		if t.length == length && v == t.hi+1 && (r.tail+1 == len(r.runs) || less(refRun{length: length, hi: v}, r.runs[r.tail+1].length, r.runs[r.tail+1].lo)) {
			t.hi, t.last = v, seg
			return used{}, true
		}
	}
	i := sort.Search(len(r.runs), func(i int) bool { return !less(r.runs[i], length, v) })
	if i < len(r.runs) && r.runs[i].length == length && r.runs[i].lo <= v {
		run := r.runs[i]
		switch {
		case run.lo == run.hi:
			return used{seg: run.first}, false
		case v == run.lo:
			return used{seg: run.first}, false
		case v == run.hi:
			return used{seg: run.last}, false
		}
		return used{seg: run.first, segHi: run.last}, false
	}
	if i > 0 && r.runs[i-1].length == length && r.runs[i-1].hi+1 == v {
		r.runs[i-1].hi, r.runs[i-1].last = v, seg
		r.tail = i - 1
		return used{}, true
	}
	if len(r.runs) >= maxRuns {
		return used{}, true
	}
	r.runs = append(r.runs, refRun{})
	copy(r.runs[i+1:], r.runs[i:])
	r.runs[i] = refRun{length: length, lo: v, hi: v, first: seg, last: seg}
	r.tail = i
	return used{}, true
}

// refValue is the value of a reference of 1 to 19 digits.
func refValue(ref string) (uint64, bool) {
	if ref == "" || len(ref) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// used says where a reference was used before: at segment seg, or by one
// of the segments between seg and segHi when only a range is known.
type used struct {
	seg, segHi int
}

// describe names the earlier user: "the message at segment 3" or "a
// message between segments 20000 and 40000".
func (u used) describe(what string) string {
	if u.segHi > u.seg {
		return "a " + what + " between segments " + strconv.Itoa(u.seg) + " and " + strconv.Itoa(u.segHi)
	}
	return "the " + what + " at segment " + strconv.Itoa(u.seg)
}
