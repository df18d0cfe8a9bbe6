package edifact

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"legacybridge"
)

// ErrEncode is the cause of every Encoder error about what it was asked to
// write (a value the interchange's character set cannot hold, a delimiter
// without a release character to escape it, envelopes out of order). Test
// for it with errors.Is.
var ErrEncode = errors.New("cannot encode")

// ControlRefs hands out control references for envelopes whose header
// leaves them empty: level LevelInterchange (UNB 0020), LevelGroup (UNG
// 0048) or LevelMessage (UNH 0062). An implementation persisting them per
// partner keeps them increasing across runs.
type ControlRefs interface {
	Next(level Level) (uint64, error)
}

// Counter is an in-memory ControlRefs: each level counts from its field
// plus one. The zero value starts every level at 1.
type Counter struct {
	Interchange, Group, Message uint64 // the last reference handed out per level
}

var _ ControlRefs = (*Counter)(nil)

// Next returns the level's next reference.
func (c *Counter) Next(level Level) (uint64, error) {
	var p *uint64
	switch level {
	case LevelInterchange:
		p = &c.Interchange
	case LevelGroup:
		p = &c.Group
	case LevelMessage:
		p = &c.Message
	default:
		return 0, fmt.Errorf("edifact: counter: unknown level %d", level)
	}
	*p++
	if *p > 99999999999999 { // 14 digits
		*p = 1
	}
	return *p, nil
}

// InterchangeHeader is what an Encoder writes into a UNB.
type InterchangeHeader struct {
	SyntaxID           string // S001 0001, default "UNOC"; values are encoded in its character set
	SyntaxVersion      string // S001 0002, default "3"
	Sender             string // S002 0004, required
	SenderQualifier    string // S002 0007
	Recipient          string // S003 0010, required
	RecipientQualifier string // S003 0007
	Date               string // S004 0017: YYMMDD, CCYYMMDD from version 4; required
	Time               string // S004 0019: HHMM; required
	ControlRef         string // 0020; "" = Controls
	ApplicationRef     string // 0026
	Priority           string // 0029
	AckRequest         string // 0031: "1" = acknowledgement requested
	AgreementID        string // 0032
	TestIndicator      string // 0035: "1" = test
}

// GroupHeader is what an Encoder writes into a UNG.
type GroupHeader struct {
	ID        string // 0038, e.g. "ORDERS"
	Sender    string // S006 0040
	Recipient string // S007 0044
	Date      string // S004 0017
	Time      string // S004 0019
	Ref       string // 0048; "" = Controls
	Agency    string // 0051, default "UN"
	Version   string // S008 0052
	Release   string // S008 0054
}

// MessageID is the message identifier of a UNH (S009).
type MessageID struct {
	Type        string // 0065, e.g. "ORDERS"
	Version     string // 0052, e.g. "D"
	Release     string // 0054, e.g. "96A"
	Agency      string // 0051, e.g. "UN"
	Association string // 0057, may be ""
}

// Encoder writes UN/EDIFACT interchanges: UNA (when the service characters
// are not the syntax level's defaults), UNB, optional UNG..UNE, UNH..UNT,
// UNZ, with counts and trailer references computed. Values are written
// with release characters before service characters and encoded in the
// character set of the UNB's syntax identifier (UTF-8 values in, like the
// Decoder gives them); a value that cannot be written is an ErrEncode
// error naming the segment and element, and nothing of that segment is
// written.
//
// Call Begin*/End* in envelope order (or Encode per message) and Flush at
// the end; errors are sticky.
type Encoder struct {
	// Suffix is written after every segment terminator, e.g. "\n".
	// Default "".
	Suffix string
	// Controls supplies references left empty in headers. Default nil:
	// they must be given.
	Controls ControlRefs
	// AlwaysUNA writes a UNA even with the default service characters.
	// Default false.
	AlwaysUNA bool
	// LooseRepertoire writes ASCII values outside the repertoire of UNOA
	// or UNOB (lower-case letters in UNOA, say) as they are, as the Decoder
	// reads them (with a warning): acknowledgements echo partners'
	// identifiers as sent. Default false: such a value is an error.
	LooseRepertoire bool

	w   *bufio.Writer
	d   Delimiters
	cs  charset
	err error
	buf []byte

	inUNB, inUNG, inUNH bool
	unbRef, ungRef      string
	unhRef              string
	groups, direct      int // in the interchange
	groupMsgs           int
	segs                int // of the open message, UNH included
	segNum              int // written, for errors
	curUNB, curUNG      int // Encode: segment numbers of the decoded UNB, UNG being written
}

// NewEncoder returns an Encoder writing to w with service characters d.
// d.Component, d.Element and d.Segment are required; d.Decimal defaults to
// "."; d.Release "" means none (a value holding a service character is
// then an error); d.Repetition is used from syntax version 4 on.
func NewEncoder(w io.Writer, d Delimiters) *Encoder {
	if d.Decimal == "" {
		d.Decimal = "."
	}
	e := &Encoder{w: bufio.NewWriter(w), d: d}
	seen := map[string]string{}
	for _, s := range []struct{ name, v string }{{"component", d.Component}, {"element", d.Element}, {"decimal", d.Decimal},
		{"release", d.Release}, {"repetition", d.Repetition}, {"segment", d.Segment}} {
		if s.v == "" && (s.name == "release" || s.name == "repetition") {
			continue
		}
		if len(s.v) != 1 || s.v[0] >= utf8.RuneSelf || isAlnumByte(s.v[0]) || s.v == " " {
			e.err = fmt.Errorf("edifact: encoder: %s service character %q must be one ASCII character that is not a letter, digit or space: %w", s.name, s.v, ErrEncode)
			return e
		}
		if other, ok := seen[s.v]; ok && s.name != "decimal" && other != "decimal" {
			e.err = fmt.Errorf("edifact: encoder: %q is both the %s and the %s service character: %w", s.v, other, s.name, ErrEncode)
			return e
		}
		seen[s.v] = s.name
	}
	return e
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func (e *Encoder) fail(format string, args ...any) error {
	if e.err == nil {
		e.err = fmt.Errorf("edifact: encoder: "+format+": %w", append(args, ErrEncode)...)
	}
	return e.err
}

func (e *Encoder) ref(given string, level Level, name string) (string, error) {
	if given != "" {
		if len(given) > 14 {
			return "", e.fail("%s %q is longer than 14 characters", name, given)
		}
		return given, nil
	}
	if e.Controls == nil {
		return "", e.fail("%s is empty and the Encoder has no ControlRefs", name)
	}
	n, err := e.Controls.Next(level)
	if err != nil {
		e.err = fmt.Errorf("edifact: encoder: next %s: %w", name, err)
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

// needUNA reports whether the service characters differ from the defaults
// a reader assumes for this syntax identifier and version.
func (e *Encoder) needUNA(id, version string) bool {
	v4 := version >= "4" && len(version) == 1
	a := defaultsA
	if v4 {
		a.Repetition = defaultRepA
	}
	if e.d == a {
		return false
	}
	b := defaultsB
	if v4 {
		b.Repetition = defaultRepB
	}
	return !(id == "UNOB" && e.d == b)
}

// BeginInterchange writes the UNA (when needed) and the UNB.
func (e *Encoder) BeginInterchange(h InterchangeHeader) error {
	if e.err != nil {
		return e.err
	}
	if e.inUNB {
		return e.fail("UNB while interchange %q is open (call EndInterchange first)", e.unbRef)
	}
	id, version := orDefault(h.SyntaxID, "UNOC"), orDefault(h.SyntaxVersion, "3")
	cs, ok := syntaxCharset(id)
	if !ok && !validSyntaxID(id) {
		return e.fail("syntax identifier %q is not 4 upper-case letters (UNOA, UNOB, UNOC .. UNOL, UNOW, UNOY)", id)
	}
	// An identifier this package knows no character set of (IATA's IATB,
	// say) is written as UTF-8, as the Decoder reads it.
	if e.d.Repetition != "" && version < "4" {
		return e.fail("repetition separator %q needs syntax version 4, not %q", e.d.Repetition, version)
	}
	ref, err := e.ref(h.ControlRef, LevelInterchange, "UNB05 (0020)")
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"UNB02 (S002 0004) sender", h.Sender}, {"UNB03 (S003 0010) recipient", h.Recipient},
		{"UNB04 (S004 0017) date", h.Date}, {"UNB04 (S004 0019) time", h.Time}} {
		if f.v == "" {
			return e.fail("%s is empty", f.name)
		}
	}
	e.cs = cs
	if e.AlwaysUNA || e.needUNA(id, version) {
		rel, rep := orDefault(e.d.Release, " "), orDefault(e.d.Repetition, " ")
		una := "UNA" + e.d.Component + e.d.Element + e.d.Decimal + rel + rep + e.d.Segment + e.Suffix
		if _, err := e.w.WriteString(una); err != nil {
			e.err = fmt.Errorf("edifact: encoder: write: %w", err)
			return e.err
		}
		e.segNum++
	}
	els := []legacybridge.Element{
		{{id, version}}, comp(h.Sender, h.SenderQualifier), comp(h.Recipient, h.RecipientQualifier),
		{{h.Date, h.Time}}, {{ref}}, {{""}}, {{h.ApplicationRef}}, {{h.Priority}}, {{h.AckRequest}}, {{h.AgreementID}}, {{h.TestIndicator}},
	}
	if err := e.segment("UNB", trimEmpty(els)); err != nil {
		return err
	}
	e.inUNB, e.unbRef, e.groups, e.direct = true, ref, 0, 0
	return nil
}

// comp is a composite of its non-empty leading components.
func comp(vals ...string) legacybridge.Element {
	for len(vals) > 1 && vals[len(vals)-1] == "" {
		vals = vals[:len(vals)-1]
	}
	return legacybridge.Element{vals}
}

// BeginGroup writes a UNG.
func (e *Encoder) BeginGroup(h GroupHeader) error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNB || e.inUNG || e.inUNH {
		return e.fail("UNG outside an interchange or inside an open group or message")
	}
	if e.direct > 0 {
		return e.fail("UNG in interchange %q that has messages outside groups", e.unbRef)
	}
	ref, err := e.ref(h.Ref, LevelGroup, "UNG05 (0048)")
	if err != nil {
		return err
	}
	els := []legacybridge.Element{{{h.ID}}, {{h.Sender}}, {{h.Recipient}}, {{h.Date, h.Time}}, {{ref}},
		{{orDefault(h.Agency, "UN")}}, comp(h.Version, h.Release)}
	if err := e.segment("UNG", trimEmpty(els)); err != nil {
		return err
	}
	e.inUNG, e.ungRef, e.groupMsgs = true, ref, 0
	e.groups++
	return nil
}

// BeginMessage writes a UNH. commonAccessRef (0068) may be "".
func (e *Encoder) BeginMessage(ref string, id MessageID, commonAccessRef string) error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNB || e.inUNH {
		return e.fail("UNH outside an interchange or inside an open message")
	}
	if e.groups > 0 && !e.inUNG {
		return e.fail("UNH outside a group in interchange %q that has groups", e.unbRef)
	}
	ref, err := e.ref(ref, LevelMessage, "UNH01 (0062)")
	if err != nil {
		return err
	}
	if id.Type == "" || id.Version == "" || id.Release == "" || id.Agency == "" {
		return e.fail("UNH02 (S009) %+v needs type, version, release and agency", id)
	}
	els := []legacybridge.Element{{{ref}}, comp(id.Type, id.Version, id.Release, id.Agency, id.Association), {{commonAccessRef}}}
	if err := e.segment("UNH", trimEmpty(els)); err != nil {
		return err
	}
	e.inUNH, e.unhRef, e.segs = true, ref, 1
	if e.inUNG {
		e.groupMsgs++
	} else {
		e.direct++
	}
	return nil
}

// WriteSegment writes a data segment of the open message.
func (e *Encoder) WriteSegment(s legacybridge.Segment) error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNH {
		return e.fail("segment %s outside a message", s.Tag)
	}
	if serviceTag(s.Tag) || s.Tag == "UNA" {
		return e.fail("segment %s is written by the Encoder itself, not WriteSegment", s.Tag)
	}
	if len(s.Tag) != 3 || !isAlnumByte(s.Tag[0]) || !isAlnumByte(s.Tag[1]) || !isAlnumByte(s.Tag[2]) || strings.ToUpper(s.Tag) != s.Tag {
		return e.fail("segment tag %q is not 3 upper-case letters or digits", s.Tag)
	}
	if err := e.segment(s.Tag, s.Elements); err != nil {
		return err
	}
	e.segs++
	return nil
}

// EndMessage writes the UNT with the message's segment count.
func (e *Encoder) EndMessage() error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNH {
		return e.fail("UNT without an open message")
	}
	e.segs++
	if err := e.segment("UNT", []legacybridge.Element{{{strconv.Itoa(e.segs)}}, {{e.unhRef}}}); err != nil {
		return err
	}
	e.inUNH = false
	return nil
}

// EndGroup writes the UNE with the group's message count.
func (e *Encoder) EndGroup() error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNG || e.inUNH {
		return e.fail("UNE without an open group, or with a message open")
	}
	if err := e.segment("UNE", []legacybridge.Element{{{strconv.Itoa(e.groupMsgs)}}, {{e.ungRef}}}); err != nil {
		return err
	}
	e.inUNG = false
	return nil
}

// EndInterchange writes the UNZ with the interchange's count of groups, or
// of messages when it has no groups.
func (e *Encoder) EndInterchange() error {
	if e.err != nil {
		return e.err
	}
	if !e.inUNB || e.inUNG || e.inUNH {
		return e.fail("UNZ without an open interchange, or with a group or message open")
	}
	n := e.direct
	if e.groups > 0 {
		n = e.groups
	}
	if err := e.segment("UNZ", []legacybridge.Element{{{strconv.Itoa(n)}}, {{e.unbRef}}}); err != nil {
		return err
	}
	e.inUNB = false
	return nil
}

// Encode writes one decoded message, opening and closing the interchange
// and group around it as its envelope changes (the UNB and UNG segments
// it came from): decoding a file and encoding every message rebuilds the
// file's envelopes with this Encoder's service characters. UNH and UNT
// are rewritten (UNT 0074 recounted); the segments between are written as
// they are. Call Close at the end.
func (e *Encoder) Encode(m *Message) error {
	if e.err != nil {
		return e.err
	}
	env := &m.Envelope
	if e.inUNB && (e.unbRef != env.ControlRef || e.curUNB != env.InterchangeSegment) {
		if e.inUNG {
			e.EndGroup()
		}
		e.EndInterchange()
	}
	if !e.inUNB {
		e.curUNB = env.InterchangeSegment
		e.BeginInterchange(InterchangeHeader{SyntaxID: env.SyntaxID, SyntaxVersion: env.SyntaxVersion,
			Sender: env.Sender, SenderQualifier: env.SenderQualifier, Recipient: env.Recipient, RecipientQualifier: env.RecipientQualifier,
			Date: env.Date, Time: env.Time, ControlRef: env.ControlRef, ApplicationRef: env.ApplicationRef, Priority: env.Priority,
			AckRequest: env.AckRequest, AgreementID: env.AgreementID, TestIndicator: env.TestIndicator})
	}
	if e.inUNG && e.curUNG != env.GroupSegment {
		e.EndGroup()
	}
	if !e.inUNG && env.GroupSegment != 0 {
		e.curUNG = env.GroupSegment
		e.BeginGroup(GroupHeader{ID: env.GroupID, Sender: env.GroupSender, Recipient: env.GroupRecipient,
			Date: groupComponent(env, 4, 1), Time: groupComponent(env, 4, 2), Ref: env.GroupRef, Agency: env.GroupAgency,
			Version: env.GroupVersion, Release: env.GroupRelease})
	}
	e.BeginMessage(env.MessageRef, MessageID{Type: env.MessageType, Version: env.MessageVersion, Release: env.MessageRelease,
		Agency: env.MessageAgency, Association: env.AssociationCode}, env.CommonAccessRef)
	for _, s := range m.Segments {
		if s.Tag == "UNH" || s.Tag == "UNT" {
			continue
		}
		e.WriteSegment(s)
	}
	return e.EndMessage()
}

// groupComponent reads a component of the UNG the message came from (the
// Envelope has no field for the group's date and time).
func groupComponent(env *Envelope, elem, c int) string {
	if env.ung == nil {
		return ""
	}
	return env.ung.Element(elem).Component(c)
}

// Close ends the group and interchange Encode left open, and flushes.
func (e *Encoder) Close() error {
	if e.inUNH {
		return e.fail("Close with message %q open", e.unhRef)
	}
	if e.inUNG {
		e.EndGroup()
	}
	if e.inUNB {
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
		e.err = fmt.Errorf("edifact: encoder: write: %w", err)
	}
	return e.err
}

// trimEmpty drops trailing empty elements.
func trimEmpty(els []legacybridge.Element) []legacybridge.Element {
	for len(els) > 0 {
		empty := true
		for _, r := range els[len(els)-1] {
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

func (e *Encoder) segment(tag string, elems []legacybridge.Element) error {
	b := append(e.buf[:0], tag...)
	num := e.segNum + 1
	for i, el := range elems {
		b = append(b, e.d.Element...)
		if len(el) > 1 && e.d.Repetition == "" {
			return e.fail("segment %d (%s) element %s has %d repetitions and the interchange has no repetition separator (syntax version 4 has one)",
				num, tag, elemName(tag, i+1), len(el))
		}
		for r, rep := range el {
			if r > 0 {
				b = append(b, e.d.Repetition...)
			}
			for c, v := range rep {
				if c > 0 {
					b = append(b, e.d.Component...)
				}
				var err error
				if b, err = e.value(b, v); err != nil {
					where := elemName(tag, i+1)
					if len(rep) > 1 {
						where += " component " + strconv.Itoa(c+1)
					}
					return e.fail("segment %d (%s) element %s value %s: %v", num, tag, where, quote(v), err)
				}
			}
		}
	}
	b = append(b, e.d.Segment...)
	b = append(b, e.Suffix...)
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("edifact: encoder: write: %w", err)
		return e.err
	}
	e.segNum = num
	return nil
}

// value appends v escaped and encoded.
func (e *Encoder) value(b []byte, v string) ([]byte, error) {
	for _, r := range v {
		if r == '\r' || r == '\n' {
			return b, errors.New("holds a line break, which readers drop")
		}
		if r < utf8.RuneSelf && e.special(byte(r)) {
			if e.d.Release == "" {
				return b, fmt.Errorf("holds the service character %q and the interchange has no release character", r)
			}
			b = append(b, e.d.Release...)
			b = append(b, byte(r))
			continue
		}
		switch {
		case e.cs.allow != nil:
			if r >= utf8.RuneSelf || !e.cs.allow[r] && !(e.LooseRepertoire && r >= ' ' && r < 0x7f) {
				return b, fmt.Errorf("holds %q, outside the repertoire of %s (%s)", r, e.cs.level, e.cs.listed)
			}
			b = append(b, byte(r))
		case e.cs.cm != nil:
			if r < utf8.RuneSelf {
				b = append(b, byte(r))
				break
			}
			c, ok := e.cs.cm.EncodeRune(r)
			if !ok {
				return b, fmt.Errorf("holds %q, which %s (%s) cannot encode", r, e.cs.level, e.cs.name)
			}
			b = append(b, c)
		default:
			if r == utf8.RuneError {
				return b, errors.New("is not valid UTF-8")
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return b, nil
}

func (e *Encoder) special(c byte) bool {
	d := &e.d
	return c == d.Component[0] || c == d.Element[0] || c == d.Segment[0] ||
		d.Release != "" && c == d.Release[0] || d.Repetition != "" && c == d.Repetition[0]
}
