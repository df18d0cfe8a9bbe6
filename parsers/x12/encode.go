package x12

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"legacybridge"
)

// ErrEncode is the cause of every Encoder error about what it was asked to
// write (a value holding a delimiter, an ISA field too long, envelopes out
// of order). Test for it with errors.Is.
var ErrEncode = errors.New("cannot encode")

// ControlLevel names the control number an Encoder asks ControlNumbers for.
type ControlLevel int

// The three X12 control numbers.
const (
	ControlInterchange ControlLevel = iota + 1 // ISA13 / IEA02, at most 9 digits
	ControlGroup                               // GS06 / GE02, at most 9 digits
	ControlSet                                 // ST02 / SE02, 4 to 9 characters
)

func (l ControlLevel) String() string {
	switch l {
	case ControlInterchange:
		return "ISA13"
	case ControlGroup:
		return "GS06"
	case ControlSet:
		return "ST02"
	}
	return "level " + strconv.Itoa(int(l))
}

// ControlNumbers hands out control numbers for envelopes whose header leaves
// them empty. An implementation persisting them per partner keeps them
// increasing across runs.
type ControlNumbers interface {
	Next(level ControlLevel) (uint64, error)
}

// Counter is an in-memory ControlNumbers: each level counts from its field
// plus one. The zero value starts every level at 1.
type Counter struct {
	Interchange, Group, Set uint64 // the last number handed out per level
}

var _ ControlNumbers = (*Counter)(nil)

// Next returns the level's next number.
func (c *Counter) Next(level ControlLevel) (uint64, error) {
	var p *uint64
	switch level {
	case ControlInterchange:
		p = &c.Interchange
	case ControlGroup:
		p = &c.Group
	case ControlSet:
		p = &c.Set
	default:
		return 0, fmt.Errorf("x12: counter: unknown control level %d", level)
	}
	*p++
	if *p > 999999999 {
		*p = 1 // the fields are 9 digits: wrap, as X12 allows
	}
	return *p, nil
}

// InterchangeHeader is what an Encoder writes into an ISA. Fields are
// unpadded; the Encoder pads them to the fixed widths.
type InterchangeHeader struct {
	AuthQualifier     string // ISA01, default "00"
	AuthInfo          string // ISA02, default blank
	SecurityQualifier string // ISA03, default "00"
	SecurityInfo      string // ISA04, default blank
	SenderQualifier   string // ISA05, default "ZZ"
	SenderID          string // ISA06, at most 15 characters
	ReceiverQualifier string // ISA07, default "ZZ"
	ReceiverID        string // ISA08, at most 15 characters
	Date              string // ISA09 YYMMDD, required
	Time              string // ISA10 HHMM, required
	Version           string // ISA12, default "00401"
	ControlNumber     string // ISA13 digits, left-padded with zeros; "" = ControlNumbers
	AckRequested      string // ISA14, default "0"
	Usage             string // ISA15, default "P"
}

// GroupHeader is what an Encoder writes into a GS.
type GroupHeader struct {
	FunctionalID  string // GS01, e.g. "FA" for 997/999, required
	AppSender     string // GS02, required
	AppReceiver   string // GS03, required
	Date          string // GS04 CCYYMMDD, required
	Time          string // GS05 HHMM, required
	ControlNumber string // GS06; "" = ControlNumbers
	Agency        string // GS07, default "X"
	Version       string // GS08, e.g. "004010", required
}

// Encoder writes X12 interchanges: ISA, GS, ST..SE, GE, IEA, with the
// counts (SE01, GE01, IEA01) and trailer control numbers (SE02, GE02,
// IEA02) computed. X12 has no escape character, so a value holding one of
// the delimiters (or a line break) is an ErrEncode error naming the segment
// and element, and nothing of that segment is written.
//
// Call Begin*/End* in envelope order (or Encode per transaction set) and
// Flush at the end; errors are sticky.
type Encoder struct {
	// Suffix is written after every segment terminator, e.g. "\n" or
	// "\r\n" for partners that want one segment per line. Default "".
	Suffix string
	// Controls supplies control numbers left empty in headers. Default nil:
	// they must be given.
	Controls ControlNumbers

	w   *bufio.Writer
	d   Delimiters
	err error
	buf []byte

	inISA, inGS, inST bool
	isaCtrl, gsCtrl   string
	stCtrl            string
	groups, sets      int
	segs              int // segments of the open set, ST included
	segNum            int // segments written, for errors
	version           string
}

// NewEncoder returns an Encoder writing to w with delimiters d. d.Element,
// d.Component and d.Segment are required and must differ; d.Repetition ""
// means none (ISA11 is then "U").
func NewEncoder(w io.Writer, d Delimiters) *Encoder {
	e := &Encoder{w: bufio.NewWriter(w), d: d}
	seen := map[string]bool{}
	for _, s := range []struct{ name, v string }{{"element", d.Element}, {"component", d.Component}, {"segment", d.Segment}, {"repetition", d.Repetition}} {
		if s.v == "" && s.name == "repetition" {
			continue
		}
		if len([]rune(s.v)) != 1 || isAlnum(s.v[0]) || s.v == " " {
			e.err = fmt.Errorf("x12: encoder: %s delimiter %q must be one character that is not a letter, digit or space: %w", s.name, s.v, ErrEncode)
			return e
		}
		if seen[s.v] {
			e.err = fmt.Errorf("x12: encoder: delimiter %q is used twice in %+v: %w", s.v, d, ErrEncode)
			return e
		}
		seen[s.v] = true
	}
	return e
}

func (e *Encoder) fail(format string, args ...any) error {
	if e.err == nil {
		e.err = fmt.Errorf("x12: encoder: "+format+": %w", append(args, ErrEncode)...)
	}
	return e.err
}

func (e *Encoder) control(given string, level ControlLevel) (string, error) {
	if given != "" {
		return given, nil
	}
	if e.Controls == nil {
		return "", e.fail("%s is empty and the Encoder has no ControlNumbers", level)
	}
	n, err := e.Controls.Next(level)
	if err != nil {
		e.err = fmt.Errorf("x12: encoder: next %s: %w", level, err)
		return "", e.err
	}
	return strconv.FormatUint(n, 10), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// BeginInterchange writes an ISA.
func (e *Encoder) BeginInterchange(h InterchangeHeader) error {
	if e.err != nil {
		return e.err
	}
	if e.inISA {
		return e.fail("ISA while interchange %q is open (call EndInterchange first)", e.isaCtrl)
	}
	ctrl, err := e.control(h.ControlNumber, ControlInterchange)
	if err != nil {
		return err
	}
	if !allDigits(ctrl) || len(ctrl) > 9 {
		return e.fail("ISA13 %q is not 1 to 9 digits", ctrl)
	}
	ctrl = strings.Repeat("0", 9-len(ctrl)) + ctrl
	version := orDefault(h.Version, "00401")
	rep := "U"
	if version >= "00402" && e.d.Repetition != "" {
		rep = e.d.Repetition
	} else if e.d.Repetition != "" {
		return e.fail("repetition separator %q needs ISA12 00402 or later, not %q", e.d.Repetition, version)
	}
	fields := []struct {
		name, v string
		width   int
		digits  bool
	}{
		{"ISA01", orDefault(h.AuthQualifier, "00"), 2, false},
		{"ISA02", h.AuthInfo, 10, false},
		{"ISA03", orDefault(h.SecurityQualifier, "00"), 2, false},
		{"ISA04", h.SecurityInfo, 10, false},
		{"ISA05", orDefault(h.SenderQualifier, "ZZ"), 2, false},
		{"ISA06", h.SenderID, 15, false},
		{"ISA07", orDefault(h.ReceiverQualifier, "ZZ"), 2, false},
		{"ISA08", h.ReceiverID, 15, false},
		{"ISA09", h.Date, 6, true},
		{"ISA10", h.Time, 4, true},
		{"ISA11", rep, 1, false},
		{"ISA12", version, 5, true},
		{"ISA13", ctrl, 9, true},
		{"ISA14", orDefault(h.AckRequested, "0"), 1, true},
		{"ISA15", orDefault(h.Usage, "P"), 1, false},
	}
	elems := make([]legacybridge.Element, 0, 16)
	for _, f := range fields {
		n := len([]rune(f.v))
		if n > f.width || (f.digits && (n != f.width || !allDigits(f.v))) {
			what := "at most"
			if f.digits {
				what = "exactly"
			}
			return e.fail("%s %q must be %s %d characters", f.name, f.v, what, f.width)
		}
		if f.name == "ISA06" || f.name == "ISA08" {
			if strings.TrimSpace(f.v) == "" {
				return e.fail("%s (interchange %s id) is empty", f.name, map[string]string{"ISA06": "sender", "ISA08": "receiver"}[f.name])
			}
		}
		elems = append(elems, legacybridge.Element{{f.v + strings.Repeat(" ", f.width-n)}})
	}
	// ISA16 is the component separator itself: written raw.
	if err := e.segment("ISA", elems, e.d.Component); err != nil {
		return err
	}
	e.inISA, e.isaCtrl, e.groups, e.version = true, ctrl, 0, version
	return nil
}

// BeginGroup writes a GS.
func (e *Encoder) BeginGroup(h GroupHeader) error {
	if e.err != nil {
		return e.err
	}
	if !e.inISA || e.inGS {
		return e.fail("GS outside an interchange or inside an open group")
	}
	ctrl, err := e.control(h.ControlNumber, ControlGroup)
	if err != nil {
		return err
	}
	if !allDigits(ctrl) || len(ctrl) > 9 {
		return e.fail("GS06 %q is not 1 to 9 digits", ctrl)
	}
	for _, f := range []struct{ name, v string }{{"GS01", h.FunctionalID}, {"GS02", h.AppSender}, {"GS03", h.AppReceiver},
		{"GS04", h.Date}, {"GS05", h.Time}, {"GS08", h.Version}} {
		if f.v == "" {
			return e.fail("%s is empty", f.name)
		}
	}
	if err := e.segment("GS", simple(h.FunctionalID, h.AppSender, h.AppReceiver, h.Date, h.Time, ctrl,
		orDefault(h.Agency, "X"), h.Version), ""); err != nil {
		return err
	}
	e.inGS, e.gsCtrl, e.sets = true, ctrl, 0
	e.groups++
	return nil
}

// BeginSet writes an ST. implRef (ST03) may be "".
func (e *Encoder) BeginSet(id, control, implRef string) error {
	if e.err != nil {
		return e.err
	}
	if !e.inGS || e.inST {
		return e.fail("ST outside a group or inside an open transaction set")
	}
	ctrl, err := e.control(control, ControlSet)
	if err != nil {
		return err
	}
	if control == "" && len(ctrl) < 4 {
		ctrl = strings.Repeat("0", 4-len(ctrl)) + ctrl
	}
	if len(ctrl) < 4 || len(ctrl) > 9 {
		return e.fail("ST02 %q is not 4 to 9 characters", ctrl)
	}
	vals := []string{id, ctrl}
	if implRef != "" {
		vals = append(vals, implRef)
	}
	if err := e.segment("ST", simple(vals...), ""); err != nil {
		return err
	}
	e.inST, e.stCtrl, e.segs = true, ctrl, 1
	e.sets++
	return nil
}

// WriteSegment writes a data segment of the open transaction set.
func (e *Encoder) WriteSegment(s legacybridge.Segment) error {
	if e.err != nil {
		return e.err
	}
	if !e.inST {
		return e.fail("segment %s outside a transaction set", s.Tag)
	}
	if envelopeTag(s.Tag) {
		return e.fail("segment %s is written by the Encoder itself, not WriteSegment", s.Tag)
	}
	if !validTag(s.Tag) {
		return e.fail("segment tag %q is not 2-3 upper-case letters or digits", s.Tag)
	}
	if err := e.segment(s.Tag, s.Elements, ""); err != nil {
		return err
	}
	e.segs++
	return nil
}

// EndSet writes the SE with the set's segment count.
func (e *Encoder) EndSet() error {
	if e.err != nil {
		return e.err
	}
	if !e.inST {
		return e.fail("SE without an open transaction set")
	}
	e.segs++
	if err := e.segment("SE", simple(strconv.Itoa(e.segs), e.stCtrl), ""); err != nil {
		return err
	}
	e.inST = false
	return nil
}

// EndGroup writes the GE with the group's set count.
func (e *Encoder) EndGroup() error {
	if e.err != nil {
		return e.err
	}
	if !e.inGS || e.inST {
		return e.fail("GE without an open group, or with a transaction set open")
	}
	if err := e.segment("GE", simple(strconv.Itoa(e.sets), e.gsCtrl), ""); err != nil {
		return err
	}
	e.inGS = false
	return nil
}

// EndInterchange writes the IEA with the interchange's group count.
func (e *Encoder) EndInterchange() error {
	if e.err != nil {
		return e.err
	}
	if !e.inISA || e.inGS {
		return e.fail("IEA without an open interchange, or with a group open")
	}
	if err := e.segment("IEA", simple(strconv.Itoa(e.groups), e.isaCtrl), ""); err != nil {
		return err
	}
	e.inISA = false
	return nil
}

// WriteInterchangeSegment writes a segment between ISA and the first GS or
// between GE and IEA (a TA1).
func (e *Encoder) WriteInterchangeSegment(s legacybridge.Segment) error {
	if e.err != nil {
		return e.err
	}
	if !e.inISA || e.inGS {
		return e.fail("%s outside an interchange or inside a group", s.Tag)
	}
	return e.segment(s.Tag, s.Elements, "")
}

// Encode writes one decoded transaction set, opening and closing the
// interchange and group around it as its envelope changes (ISA13, GS06):
// decoding a file and encoding every set rebuilds the file's envelopes
// with this Encoder's delimiters. The set's ST and SE are rewritten (SE01
// recounted); the segments between are written as they are. Call Close at
// the end.
func (e *Encoder) Encode(tx *Transaction) error {
	if e.err != nil {
		return e.err
	}
	env := &tx.Envelope
	if e.inISA && !sameControl(e.isaCtrl, env.ControlNumber) {
		if e.inGS {
			e.EndGroup()
		}
		e.EndInterchange()
	}
	if !e.inISA {
		e.BeginInterchange(InterchangeHeader{SenderQualifier: env.SenderQualifier, SenderID: env.SenderID,
			ReceiverQualifier: env.ReceiverQualifier, ReceiverID: env.ReceiverID, Date: env.Date, Time: env.Time,
			Version: env.Version, ControlNumber: env.ControlNumber, AckRequested: env.AckRequested, Usage: env.Usage})
	}
	if e.inGS && !sameControl(e.gsCtrl, env.GroupControlNumber) {
		e.EndGroup()
	}
	if !e.inGS {
		e.BeginGroup(GroupHeader{FunctionalID: env.FunctionalID, AppSender: env.AppSender, AppReceiver: env.AppReceiver,
			Date: env.GroupDate, Time: env.GroupTime, ControlNumber: env.GroupControlNumber, Agency: env.Agency, Version: env.GroupVersion})
	}
	e.BeginSet(env.SetID, env.SetControlNumber, env.ImplementationRef)
	for _, s := range tx.Segments {
		if s.Tag == "ST" || s.Tag == "SE" {
			continue
		}
		e.WriteSegment(s)
	}
	return e.EndSet()
}

// Close ends the group and interchange Encode left open, and flushes.
func (e *Encoder) Close() error {
	if e.inST {
		return e.fail("Close with transaction set %q open", e.stCtrl)
	}
	if e.inGS {
		e.EndGroup()
	}
	if e.inISA {
		e.EndInterchange()
	}
	return e.Flush()
}

// Flush writes buffered data to the underlying writer.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	if err := e.w.Flush(); err != nil {
		e.err = fmt.Errorf("x12: encoder: write: %w", err)
	}
	return e.err
}

func simple(vals ...string) []legacybridge.Element {
	out := make([]legacybridge.Element, len(vals))
	for i, v := range vals {
		out[i] = legacybridge.Element{{v}}
	}
	return out
}

// segment writes tag, its elements and, if raw != "", a last element written
// as is (ISA16), then the terminator and Suffix.
func (e *Encoder) segment(tag string, elems []legacybridge.Element, raw string) error {
	b := append(e.buf[:0], tag...)
	num := e.segNum + 1
	for i, el := range elems {
		b = append(b, e.d.Element...)
		if len(el) > 1 && e.d.Repetition == "" {
			return e.fail("segment %d (%s) element %s%02d has %d repetitions and the delimiters have no repetition separator", num, tag, tag, i+1, len(el))
		}
		for r, rep := range el {
			if r > 0 {
				b = append(b, e.d.Repetition...)
			}
			for c, v := range rep {
				if c > 0 {
					b = append(b, e.d.Component...)
				}
				// ISA11 is the repetition separator itself; BIN02 is
				// binary data, read by its length (BIN01).
				rawOK := (tag == "ISA" && i == 10) || (tag == "BIN" && i == 1)
				if bad := e.delimIn(v); bad != "" && !rawOK {
					return e.fail("segment %d (%s) element %s%02d value %s holds the %s, which X12 cannot escape", num, tag, tag, i+1, quote(v), bad)
				}
				b = append(b, v...)
			}
		}
	}
	if raw != "" {
		b = append(b, e.d.Element...)
		b = append(b, raw...)
	}
	b = append(b, e.d.Segment...)
	b = append(b, e.Suffix...)
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("x12: encoder: write: %w", err)
		return e.err
	}
	e.segNum = num
	return nil
}

// delimIn names the delimiter v holds, or "".
func (e *Encoder) delimIn(v string) string {
	if !strings.ContainsAny(v, e.d.Element+e.d.Component+e.d.Repetition+e.d.Segment+"\r\n") {
		return ""
	}
	switch {
	case strings.Contains(v, e.d.Element):
		return "element separator " + strconv.Quote(e.d.Element)
	case strings.Contains(v, e.d.Component):
		return "component separator " + strconv.Quote(e.d.Component)
	case e.d.Repetition != "" && strings.Contains(v, e.d.Repetition):
		return "repetition separator " + strconv.Quote(e.d.Repetition)
	case strings.Contains(v, e.d.Segment):
		return "segment terminator " + strconv.Quote(e.d.Segment)
	}
	return "line break (dropped by readers)"
}
