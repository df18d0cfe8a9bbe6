package edifact

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"legacybridge"
)

// Delimiters are the service characters of an interchange: from its UNA
// when it has one, else the defaults of its syntax level. Each is one byte
// (as a string); Release and Repetition are "" when the interchange has
// none.
type Delimiters struct {
	Component  string `json:"component"`            // UNA1, default ":"
	Element    string `json:"element"`              // UNA2, default "+"
	Decimal    string `json:"decimal"`              // UNA3, default "."; not a delimiter, the decimal mark of numbers
	Release    string `json:"release,omitempty"`    // UNA4, default "?"; "" = none (a space in UNA, or level B defaults)
	Repetition string `json:"repetition,omitempty"` // UNA5 from syntax version 4 on, default "*"; "" = none
	Segment    string `json:"segment"`              // UNA6, default "'"
}

// The default service characters (ISO 9735): those of level A, used by
// every syntax level but B, and those of level B (information separators).
var (
	defaultsA = Delimiters{Component: ":", Element: "+", Decimal: ".", Release: "?", Segment: "'"}
	defaultsB = Delimiters{Component: "\x1f", Element: "\x1d", Decimal: ".", Segment: "\x1c"}
)

// The default repetition separators of syntax version 4.
const (
	defaultRepA = "*"
	defaultRepB = "\x1e"
)

// DefaultMaxSegment is the default of Tokenizer.MaxSegment.
const DefaultMaxSegment = 64 << 20

const ioBufferSize = 64 << 10

// Tokenizer splits UN/EDIFACT input into segments. It is the layer under
// Decoder and usable on its own: it reads the service characters of each
// interchange (its UNA, or the defaults of its syntax level) and the
// character set and syntax version of each UNB, undoes release characters
// and decodes values to UTF-8, but knows nothing of envelopes and checks no
// counts.
//
// Line breaks (CR, LF) that are not delimiters are dropped everywhere, also
// inside segments and values (files hard-wrapped at a fixed width read
// correctly), and whitespace between a segment terminator and the next tag
// is skipped. A UTF-8 byte-order mark at the start of input is skipped;
// offsets still count its bytes. NUL, 0x1A (DOS end-of-file) and whitespace
// bytes after a UNZ up to the end of input are padding and end the input
// cleanly; padding followed by more data is a non-fatal ErrBadSegment.
//
// Memory is bounded by the I/O buffer plus the largest segment.
type Tokenizer struct {
	// Name is the input's name, used in errors. Default "".
	Name string
	// MaxSegment is the longest segment accepted, in bytes. Default
	// DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Warn, if set, receives problems that do not stop or fail decoding:
	// characters outside the syntax level's repertoire, values decoded
	// with a fallback, an unknown syntax identifier, a UNA5 that is no
	// repetition separator in its syntax version. Default: ignored.
	Warn func(*ParseError)
	// Charset, if set, overrides the character set the UNB declares for
	// every interchange: "utf-8", a syntax identifier ("UNOC") or the name
	// of a single-byte character set ("iso-8859-2", "windows-1252"). Use
	// it for partners that declare one set and send another. Default "":
	// the set each UNB declares. Read at the first segment; an unknown
	// value is a fatal ErrEncoding.
	Charset string
	// StrictCharset makes a character outside the repertoire of the syntax
	// level (UNOA, UNOB; control characters in any level) a non-fatal
	// ErrRepertoire error returned with its segment, instead of a warning.
	// Default false: such characters are accepted and reported to Warn,
	// once per segment.
	StrictCharset bool

	br      *bufio.Reader
	off     int64 // bytes consumed
	line    int   // 1-based line of the next unread byte
	num     int   // segments returned
	started bool
	err     error // sticky fatal error (or io.EOF)

	have       bool // delimiters known
	delims     Delimiters
	unaPending bool // a UNA was read and no UNB yet: the UNB takes its delimiters
	fromUNA    bool // the current delimiters came from a UNA
	unaRep     byte // UNA5, 0 when a space
	levelB     bool // the current delimiters are level B's defaults
	comp       byte
	elem       byte
	rel        byte // 0 when none
	rep        byte // 0 when none
	term       byte
	cls        [256]uint8 // clsElem, clsComp, clsRep, clsRel, clsBreak, clsOdd
	skip       [256]bool  // whitespace skipped between segments
	pad        [256]bool  // padding accepted after the last UNZ
	lfData     bool       // LF is a delimiter: count lines in segments' bytes

	syntaxID, version string  // of the current UNB
	cs                charset // how values are decoded and checked
	override          *charset

	segLine int    // line of the last segment returned
	lastUNZ bool   // the last segment returned was a UNZ
	lastTag string // tag of the last segment returned (segment t.num), "" if it had none

	buf    []byte   // segment spanning buffer refills
	clean  []byte   // segment text with release characters and line breaks removed
	cuts   []uint32 // delimiter positions in the segment text, <<3 | class
	mapped bool     // the last segment's text differs from its bytes
	noFast bool     // tests: never use the buffered window in place

	// arena and slabs segments are carved from
	text     strings.Builder
	strSlab  []string
	repSlab  [][]string
	elemSlab []legacybridge.Element
}

// Byte classes.
const (
	clsElem  = 1 << iota // element separator
	clsComp              // component separator
	clsRep               // repetition separator
	clsRel               // release character
	clsBreak             // CR or LF to drop
	clsOdd               // a byte the charset must look at
)

// NewTokenizer returns a Tokenizer reading from r through its own buffer.
func NewTokenizer(r io.Reader) *Tokenizer {
	t := &Tokenizer{}
	t.reset(r)
	return t
}

func (t *Tokenizer) reset(r io.Reader) {
	t.br = bufio.NewReaderSize(r, ioBufferSize)
	t.line = 1
	for _, c := range []byte(" \t\r\n\v\f") {
		t.skip[c] = true
	}
	t.cs = utf8Charset
}

// Delimiters returns the service characters of the current interchange
// (zero before the first segment).
func (t *Tokenizer) Delimiters() Delimiters { return t.delims }

// Syntax returns the syntax identifier (UNB S001 0001, "UNOC") and syntax
// version (0002, "3") of the current interchange, "" before its UNB.
func (t *Tokenizer) Syntax() (id, version string) { return t.syntaxID, t.version }

// Encoding returns the name of the character encoding values are decoded
// from in the current interchange: "ascii" (UNOA, UNOB: bytes that are not
// ASCII are taken as UTF-8), "iso-8859-1" (UNOC), ..., "utf-8".
func (t *Tokenizer) Encoding() string { return t.cs.name }

// Offset returns the number of input bytes consumed so far.
func (t *Tokenizer) Offset() int64 { return t.off }

// Line returns the 1-based line of the last segment returned.
func (t *Tokenizer) Line() int { return t.segLine }

// NextSegment returns the next segment, or io.EOF at the end of input.
// A UNA is returned as a segment with six elements, its service
// characters.
//
// Errors are *ParseError. A non-fatal error (ErrBadSegment: a bad tag, an
// empty segment, an unterminated last segment; ErrRepertoire with
// StrictCharset) may come with a usable segment (Tag != ""); the next call
// continues after it. After a fatal error (ParseError.Fatal) every call
// returns that error again.
func (t *Tokenizer) NextSegment() (legacybridge.Segment, error) {
	var seg legacybridge.Segment
	err := t.read(&seg)
	return seg, err
}

// read is NextSegment filling seg in place.
func (t *Tokenizer) read(seg *legacybridge.Segment) error {
	if t.err != nil {
		*seg = legacybridge.Segment{}
		return t.err
	}
	err := t.next(seg)
	if seg.Number > 0 {
		t.lastTag = seg.Tag
	}
	if err != nil {
		var pe *ParseError
		if err == io.EOF || !errors.As(err, &pe) || pe.fatal {
			t.err = err
		}
	}
	return err
}

func (t *Tokenizer) errAt(off int64, line, num int, tag string, kind error, code Code, format string, args ...any) *ParseError {
	return &ParseError{File: t.Name, Offset: off, Line: line, Segment: num, Tag: tag, Code: code,
		Err: &cause{kind: kind, msg: fmt.Sprintf(format, args...)}}
}

func (t *Tokenizer) fatalAt(off int64, line, num int, tag string, kind error, code Code, format string, args ...any) *ParseError {
	e := t.errAt(off, line, num, tag, kind, code, format, args...)
	e.fatal = true
	return e
}

// ioErr is a read error, placed at the last segment read (the first
// segment, before it is read) and the offset reached.
func (t *Tokenizer) ioErr(err error) *ParseError {
	return &ParseError{File: t.Name, Offset: t.off, Line: t.line, Segment: max(t.num, 1), Tag: t.tagOfLast(),
		Code: CodeUnspecified, Err: fmt.Errorf("read error: %w", err), fatal: true}
}

// tagOfLast is the tag of the last segment read, "" when it had no valid one.
func (t *Tokenizer) tagOfLast() string {
	if validTag(t.lastTag) {
		return t.lastTag
	}
	return ""
}

// lastPlace names the last segment read for messages: "segment 9 (UNZ)",
// "segment 9" when its tag was bad, "" before the first.
func (t *Tokenizer) lastPlace() string {
	if t.num == 0 {
		return ""
	}
	s := "segment " + strconv.Itoa(t.num)
	if tag := t.tagOfLast(); tag != "" {
		s += " (" + tag + ")"
	}
	return s
}

func (t *Tokenizer) warn(e *ParseError) {
	if t.Warn != nil {
		t.Warn(e)
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func (t *Tokenizer) next(seg *legacybridge.Segment) error {
	*seg = legacybridge.Segment{}
	if !t.started {
		t.started = true
		if err := t.initCharset(); err != nil {
			return err
		}
		if b, _ := t.br.Peek(3); bytes.Equal(b, bom) {
			t.br.Discard(3)
			t.off = 3
		}
	}
	if err := t.skipSet(&t.skip); err != nil {
		return err
	}
	if t.lastUNZ && t.pad[t.peekByte()] {
		if err := t.skipPadding(); err != nil {
			return err
		}
	}
	t.lastUNZ = false
	start, line := t.off, t.line
	tag, tagLen, after := t.peekHead()
	switch {
	case tag == "UNA":
		return t.readUNA(seg, start, line, tagLen)
	case tag == "UNB":
		if err := t.unbDelims(after, start, line); err != nil {
			return err
		}
	case !t.have:
		if tag != "UNH" {
			b, _ := t.br.Peek(quoteMax + 1)
			return t.fatalAt(start, line, t.num+1, "", ErrNoInterchange, CodeMissing,
				"input does not start with an EDIFACT interchange (UNA or UNB): found %s", quote(b))
		}
		// Messages without an interchange: the level A defaults.
		t.setDelims(defaultsA, false)
	}
	raw, consume, terminated, err := t.readRaw(start, line)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		if !terminated {
			return io.EOF
		}
		t.consume(consume)
		t.num++
		t.segLine = line
		if t.term == '\n' {
			t.line++
		}
		seg.Offset, seg.Number = start, t.num
		return t.errAt(start, line, t.num, "", ErrBadSegment, CodeMissing,
			"empty segment: segment terminator %q with no segment tag before it (missing segment tag)", t.delims.Segment)
	}
	t.num++
	t.segLine = line
	err = t.build(seg, raw, start, line)
	if !terminated && t.trailingRelease(raw) && err == nil {
		err = t.errAt(start, line, seg.Number, seg.Tag, ErrBadSegment, CodeMissing,
			"input ends after release character %q: the last segment has no terminator", t.delims.Release)
	}
	if seg.Tag == "UNB" {
		if e := t.configure(seg, raw, line); e != nil && err == nil {
			err = e
		}
	}
	t.consume(consume) // raw is no longer used
	if terminated && t.term == '\n' {
		t.line++
	}
	t.lastUNZ = seg.Tag == "UNZ"
	if t.lastUNZ {
		t.unaPending = false
	}
	if err == nil && !terminated {
		err = t.errAt(start, line, seg.Number, seg.Tag, ErrBadSegment, CodeMissing,
			"last segment has no segment terminator %q", t.delims.Segment)
	}
	return err
}

// consume discards n bytes that readRaw left in the I/O buffer.
func (t *Tokenizer) consume(n int) {
	if n > 0 {
		t.br.Discard(n)
		t.off += int64(n)
	}
}

// skipSet consumes bytes in set, counting lines. It returns nil when another
// byte follows them, io.EOF at the end of input.
func (t *Tokenizer) skipSet(set *[256]bool) error {
	for {
		if t.br.Buffered() == 0 {
			if _, err := t.br.Peek(1); err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return t.ioErr(err)
			}
		}
		b, _ := t.br.Peek(t.br.Buffered())
		i := 0
		for i < len(b) && set[b[i]] {
			if b[i] == '\n' {
				t.line++
			}
			i++
		}
		t.br.Discard(i)
		t.off += int64(i)
		if i < len(b) {
			return nil
		}
	}
}

// peekByte returns the next byte; only called when one is buffered.
func (t *Tokenizer) peekByte() byte {
	b, _ := t.br.Peek(1)
	return b[0]
}

// skipPadding consumes what Windows and mainframe systems append after the
// last UNZ: NUL bytes, DOS end-of-file bytes (0x1A) and whitespace. Up to
// the end of input they are no segment (io.EOF); when anything else follows
// them, they are an ErrBadSegment error and tokenizing resumes at that byte.
func (t *Tokenizer) skipPadding() error {
	start, line := t.off, t.line
	if err := t.skipSet(&t.pad); err != nil {
		return err
	}
	more, _ := t.br.Peek(quoteMax + 1)
	return t.errAt(start, line, t.num, t.tagOfLast(), ErrBadSegment, CodeOutside,
		"padding (NUL, 0x1A end-of-file or blank bytes) after the UNZ is followed by more data at byte offset %d: %s",
		t.off, quote(more))
}

// released reports whether the terminator at b[i] is released: preceded by
// an odd run of release characters (line breaks to drop do not end a run).
// prev holds the segment's bytes before b, when b does not start it.
func (t *Tokenizer) released(prev, b []byte, i int) bool {
	if t.rel == 0 {
		return false
	}
	n := 0
	for _, part := range [2][]byte{b[:i], prev} {
		for j := len(part) - 1; j >= 0; j-- {
			c := part[j]
			switch {
			case c == t.rel:
				n++
			case t.cls[c]&clsBreak != 0:
			default:
				return n%2 == 1
			}
		}
	}
	return n%2 == 1
}

// findTerm returns the index in b of the first terminator at or after from
// that is not released, or -1.
func (t *Tokenizer) findTerm(prev, b []byte, from int) int {
	for from < len(b) {
		i := bytes.IndexByte(b[from:], t.term)
		if i < 0 {
			return -1
		}
		i += from
		if !t.released(prev, b, i) {
			return i
		}
		from = i + 1
	}
	return -1
}

// readRaw returns the bytes of the next segment, up to its terminator (not
// released), without the terminator. When the whole segment is in the I/O
// buffer, raw is a view of it and consume > 0 is how many bytes to discard
// once raw has been used; otherwise raw is a copy, already consumed.
// terminated is false at the end of input.
func (t *Tokenizer) readRaw(start int64, line int) (raw []byte, consume int, terminated bool, err error) {
	max := t.maxSegment()
	if t.br.Buffered() == 0 {
		if _, err := t.br.Peek(1); err != nil && err != io.EOF {
			return nil, 0, false, t.ioErr(err)
		}
	}
	w, _ := t.br.Peek(t.br.Buffered())
	if !t.noFast {
		if i := t.findTerm(nil, w, 0); i >= 0 && i <= max {
			return w[:i], i + 1, true, nil
		}
	}
	tooLong := func() error {
		return t.fatalAt(start, line, t.num+1, "", ErrBadSegment, CodeTooLong,
			"segment longer than %d bytes (no segment terminator %q within them): %s", max, t.delims.Segment, quote(t.buf))
	}
	t.buf = t.buf[:0]
	for {
		w, _ := t.br.Peek(t.br.Buffered())
		if len(w) == 0 {
			_, err := t.br.Peek(1)
			if err == io.EOF {
				if len(t.buf) > max {
					return nil, 0, false, tooLong()
				}
				return t.buf, 0, false, nil
			}
			if err != nil {
				return nil, 0, false, t.ioErr(err)
			}
			continue
		}
		if i := t.findTerm(t.buf, w, 0); i >= 0 {
			t.buf = append(t.buf, w[:i]...)
			t.consume(i + 1)
			if len(t.buf) > max {
				return nil, 0, false, tooLong()
			}
			return t.buf, 0, true, nil
		}
		t.buf = append(t.buf, w...)
		t.consume(len(w))
		if len(t.buf) > max {
			return nil, 0, false, tooLong()
		}
	}
}

func (t *Tokenizer) maxSegment() int {
	if t.MaxSegment > 0 {
		return t.MaxSegment
	}
	return DefaultMaxSegment
}

// scan cuts a segment's bytes: it returns the segment's text (raw itself
// when it has no release characters and no line breaks to drop, else a
// cleaned copy in which released characters are data) and notes in t.cuts
// where the delimiters are, as position<<3 | class. odd reports a byte the
// charset must look at.
func (t *Tokenizer) scan(raw []byte) (text []byte, odd bool) {
	cuts := t.cuts[:0]
	j := 0
	for ; j < len(raw); j++ {
		k := t.cls[raw[j]]
		if k == 0 {
			continue
		}
		if k&(clsRel|clsBreak) != 0 {
			break
		}
		if k == clsOdd {
			odd = true
			continue
		}
		cuts = append(cuts, uint32(j)<<3|uint32(k))
	}
	if j == len(raw) {
		t.cuts = cuts
		if t.lfData {
			t.line += bytes.Count(raw, []byte{'\n'})
		}
		return raw, odd
	}
	// Release characters or line breaks: build the text.
	t.line += bytes.Count(raw[j:], []byte{'\n'})
	out := append(t.clean[:0], raw[:j]...)
	for ; j < len(raw); j++ {
		c := raw[j]
		k := t.cls[c]
		switch {
		case k == 0:
			out = append(out, c)
			continue
		case k&clsBreak != 0:
			continue
		case k&clsRel != 0:
			// The next byte that is not a line break is data.
			j++
			for j < len(raw) && t.cls[raw[j]]&clsBreak != 0 {
				j++
			}
			if j == len(raw) {
				// Only at the end of input: a release character before
				// the terminator releases it.
				return t.endClean(out, cuts), odd
			}
			c = raw[j]
			odd = odd || t.cls[c] == clsOdd || c >= 0x80
			out = append(out, c)
			continue
		case k == clsOdd:
			odd = true
			out = append(out, c)
			continue
		}
		cuts = append(cuts, uint32(len(out))<<3|uint32(k))
		out = append(out, c)
	}
	return t.endClean(out, cuts), odd
}

func (t *Tokenizer) endClean(out []byte, cuts []uint32) []byte {
	t.clean, t.cuts = out, cuts
	return out
}

// trailingRelease reports whether raw ends with an unpaired release
// character (line breaks aside): possible only at the end of input.
func (t *Tokenizer) trailingRelease(raw []byte) bool {
	return t.rel != 0 && len(raw) > 0 && t.released(nil, append(raw[:len(raw):len(raw)], t.term), len(raw))
}

// build splits one segment (raw: its bytes without terminator) into tag
// and elements, and decodes its values.
func (t *Tokenizer) build(seg *legacybridge.Segment, raw []byte, start int64, line int) error {
	text, odd := t.scan(raw)
	s := t.intern(text)
	cuts := t.cuts
	seg.Offset, seg.Number = start, t.num
	// The tag runs to the first element separator.
	first := 0
	for first < len(cuts) && cuts[first]&7 != clsElem {
		first++
	}
	if first == len(cuts) {
		seg.Tag = s
	} else {
		seg.Tag = s[:cuts[first]>>3]
		seg.Elements = t.split(s, cuts[first:])
	}
	if len(text) != len(raw) && t.rel != 0 && len(seg.Tag) > 0 {
		// A release character inside the tag: the tag is what was sent.
		sent := make([]byte, 0, len(seg.Tag)+2)
		for _, c := range raw[:t.rawIndex(raw, len(seg.Tag))] {
			if t.cls[c]&clsBreak == 0 {
				sent = append(sent, c)
			}
		}
		if string(sent) != seg.Tag {
			seg.Tag = string(sent)
		}
	}
	var err error
	if !validTag(seg.Tag) {
		var msg string
		switch {
		case seg.Tag == "":
			msg = "segment has no tag (missing segment tag): " + quote(s)
		case len(seg.Tag) < len(s) && len(seg.Tag) < quoteMax:
			msg = "segment tag " + quote(seg.Tag) + " is not 3 upper-case letters or digits: " + quote(s)
		default:
			msg = "segment tag " + quote(seg.Tag) + " is not 3 upper-case letters or digits"
		}
		err = t.errAt(start, line, seg.Number, "", ErrBadSegment, CodeNotSupported, "%s", msg)
	}
	t.mapped = len(text) != len(raw)
	if odd && seg.Tag != "UNB" { // the UNB is decoded once its syntax is known
		if e := t.transcode(seg, raw, t.mapped, line); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// split cuts the data elements of a segment: s is the segment's text and
// cuts the delimiters from the element separator after the tag on. The
// strings share s; the slices are cut at their exact sizes from slabs shared
// by neighbouring segments.
func (t *Tokenizer) split(s string, cuts []uint32) []legacybridge.Element {
	ne, nr, nc := 0, 0, 0
	for _, c := range cuts {
		switch c & 7 {
		case clsElem:
			ne++
		case clsRep:
			nr++
		default:
			nc++
		}
	}
	// Every element has a repetition, every repetition a component.
	nr += ne
	nc += nr
	strs := t.reserveStrings(nc)[:nc:nc]
	reps := t.reserveReps(nr)[:nr:nr]
	elems := t.reserveElems(ne)[:ne:ne]
	t.strSlab = t.strSlab[nc:]
	t.repSlab = t.repSlab[nr:]
	t.elemSlab = t.elemSlab[ne:]
	ic, ir, ie := 0, 0, 0
	c0, r0 := 0, 0
	from := int(cuts[0]>>3) + 1
	for _, c := range cuts[1:] {
		j := int(c >> 3)
		strs[ic] = s[from:j]
		ic++
		from = j + 1
		if c&7 == clsComp {
			continue
		}
		reps[ir] = strs[c0:ic:ic]
		ir++
		c0 = ic
		if c&7 == clsElem {
			elems[ie] = legacybridge.Element(reps[r0:ir:ir])
			ie++
			r0 = ir
		}
	}
	strs[ic] = s[from:]
	reps[ir] = strs[c0:]
	elems[ie] = legacybridge.Element(reps[r0:])
	return elems
}

// textChunk is the size of the append-only text arena segment strings are cut from.
const textChunk = 16 << 10

// intern returns b as a string cut from an append-only strings.Builder, so
// neighbouring segments share one allocation. A Builder never modifies bytes
// it has handed out, and a full one is replaced rather than grown.
func (t *Tokenizer) intern(b []byte) string {
	if len(b) > textChunk/4 {
		return string(b)
	}
	if t.text.Cap()-t.text.Len() < len(b) {
		t.text = strings.Builder{}
		t.text.Grow(textChunk)
	}
	n := t.text.Len()
	t.text.Write(b)
	return t.text.String()[n:]
}

const slabSize = 1024

// reserve* return at least n free slots of a slab; split then consumes what
// it used. A segment longer than a slab gets its own.
func (t *Tokenizer) reserveStrings(n int) []string {
	if n > len(t.strSlab) {
		t.strSlab = make([]string, max(n, slabSize))
	}
	return t.strSlab
}

func (t *Tokenizer) reserveReps(n int) [][]string {
	if n > len(t.repSlab) {
		t.repSlab = make([][]string, max(n, slabSize))
	}
	return t.repSlab
}

func (t *Tokenizer) reserveElems(n int) []legacybridge.Element {
	if n > len(t.elemSlab) {
		t.elemSlab = make([]legacybridge.Element, max(n, slabSize))
	}
	return t.elemSlab
}

// validTag reports whether tag is an EDIFACT segment tag: 3 upper-case
// letters or digits.
func validTag(tag string) bool {
	if len(tag) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := tag[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// peekHead looks at the start of the next segment for the tags that set
// service characters (UNA, UNB, UNH at the start of input). It returns the
// tag when it is one of those and followed by a character that is not a
// letter or digit (or by the end of input), how many bytes the tag takes
// (line breaks inside a wrapped tag included), and the first byte after
// the tag that is not a line break (0 at the end of input).
func (t *Tokenizer) peekHead() (tag string, n int, after byte) {
	b, _ := t.br.Peek(16)
	if len(b) < 3 || b[0] != 'U' {
		return "", 0, 0 // the usual case: a data segment
	}
	var got [3]byte
	k := 0
	for i, c := range b {
		if c == '\r' || c == '\n' {
			continue
		}
		if k == 3 {
			if isAlnum(c) {
				return "", 0, 0
			}
			return headTag(got), n, c
		}
		got[k] = c
		k++
		n = i + 1
	}
	if k == 3 && len(b) < 16 {
		return headTag(got), n, 0
	}
	return "", 0, 0
}

// headTag returns the tag constant for UNA, UNB and UNH (no allocation),
// else "".
func headTag(b [3]byte) string {
	if b[0] != 'U' || b[1] != 'N' {
		return ""
	}
	switch b[2] {
	case 'A':
		return "UNA"
	case 'B':
		return "UNB"
	case 'H':
		return "UNH"
	}
	return ""
}

// readUNA reads a service string advice and sets the delimiters from it.
func (t *Tokenizer) readUNA(seg *legacybridge.Segment, start int64, line int, tagLen int) error {
	t.num++
	num := t.num
	t.segLine = line
	b, _ := t.br.Peek(tagLen + 6)
	bad := func(format string, args ...any) error {
		return t.fatalAt(start, line, num, "UNA", ErrBadUNA, CodeServiceChar, format, args...)
	}
	if len(b) < tagLen+6 {
		return bad("service string advice is %d characters, want 6 after \"UNA\": %s", len(b)-tagLen, quote(b))
	}
	chars := [6]byte(b[tagLen:])
	names := [6]string{"UNA1 (component separator)", "UNA2 (element separator)", "UNA3 (decimal mark)",
		"UNA4 (release character)", "UNA5 (repetition separator)", "UNA6 (segment terminator)"}
	for i, c := range chars {
		switch {
		case isAlnum(c):
			return bad("%s %q is a letter or digit", names[i], c)
		case c == ' ' && i != 3 && i != 4:
			return bad("%s is a space", names[i])
		case (c == '\r' || c == '\n') && i != 5:
			return bad("%s %q is a line break", names[i], c)
		}
	}
	for i := range chars {
		for j := i + 1; j < len(chars); j++ {
			if i == 2 || j == 2 || chars[i] == ' ' {
				continue // the decimal mark is no delimiter; space = none
			}
			if chars[i] == chars[j] {
				return bad("%s %q is also %s: service characters must be distinct", names[j], chars[j], names[i])
			}
		}
	}
	if chars[2] != '.' && chars[2] != ',' {
		t.warn(t.errAt(start, line, num, "UNA", ErrBadUNA, CodeServiceChar,
			"UNA3 (decimal mark) %q is neither \".\" nor \",\"", chars[2]))
	}
	t.line += bytes.Count(b[:tagLen], []byte{'\n'})
	t.br.Discard(tagLen + 6)
	t.off += int64(tagLen + 6)
	if chars[5] == '\n' {
		t.line++
	}
	d := Delimiters{Component: string(chars[0]), Element: string(chars[1]), Decimal: string(chars[2]), Segment: string(chars[5])}
	if chars[3] != ' ' {
		d.Release = string(chars[3])
	}
	t.setDelims(d, false)
	t.fromUNA, t.unaPending = true, true
	t.unaRep = chars[4]
	if t.unaRep == ' ' {
		t.unaRep = 0
	}
	t.lastTag = "UNA"
	seg.Tag, seg.Offset, seg.Number = "UNA", start, num
	seg.Elements = make([]legacybridge.Element, 6)
	for i, c := range chars {
		seg.Elements[i] = legacybridge.Element{{string(c)}}
	}
	return nil
}

// unbDelims picks the delimiters for a UNB: its UNA's, else the defaults of
// its syntax level, told by the character after "UNB" (the syntax
// identifier inside the UNB cannot be read before the UNB is split).
func (t *Tokenizer) unbDelims(after byte, start int64, line int) error {
	switch {
	case t.unaPending:
		t.unaPending = false
		t.setDelims(t.delims, t.levelB) // the UNA's, without a repetition separator until the version is read
	case after == defaultsB.Element[0]:
		t.setDelims(defaultsB, true)
		t.fromUNA = false
	case after == defaultsA.Element[0] || after == 0 || after == defaultsA.Segment[0]:
		t.setDelims(defaultsA, false)
		t.fromUNA = false
	case !t.have || !t.fromUNA || after != t.elem:
		return t.fatalAt(start, line, t.num+1, "UNB", ErrBadUNA, CodeServiceChar,
			"UNB without UNA is followed by %q, not the default element separator %q (or level B's %q): its service characters are unknown; the interchange needs a UNA",
			after, defaultsA.Element, defaultsB.Element)
	default:
		// A UNB without UNA written with the previous interchange's UNA
		// characters: take them (the standard says defaults, which would
		// not split it at all).
		t.setDelims(t.delims, false)
		t.warn(t.errAt(start, line, t.num+1, "UNB", ErrBadUNA, CodeServiceChar,
			"UNB without UNA uses the element separator %q of the previous interchange's UNA, not the default %q: read with that UNA's service characters",
			t.delims.Element, defaultsA.Element))
	}
	return nil
}

// configure reads the syntax identifier and version of a UNB, sets the
// repetition separator and character set, and decodes the UNB's values.
func (t *Tokenizer) configure(seg *legacybridge.Segment, raw []byte, line int) error {
	s001 := seg.Element(1)
	t.syntaxID, t.version = s001.Component(1), s001.Component(2)
	v4 := t.version >= "4" && len(t.version) == 1
	d := t.delims
	switch {
	case t.fromUNA && v4 && t.unaRep != 0:
		d.Repetition = string(t.unaRep)
	case t.fromUNA && t.unaRep != 0:
		t.warnUNB(t.errAt(seg.Offset, line, seg.Number, "UNB", ErrBadUNA, CodeServiceChar,
			"UNA5 %q is not a repetition separator in syntax version %q (only from version 4; reserved, a space): not used",
			t.unaRep, t.version), seg)
	case !t.fromUNA && v4 && t.levelB:
		d.Repetition = defaultRepB
	case !t.fromUNA && v4:
		d.Repetition = defaultRepA
	}
	if d.Repetition != "" {
		for _, other := range []string{d.Component, d.Element, d.Release, d.Segment} {
			if other == d.Repetition {
				d.Repetition = "" // a UNB that is not a UNA's or the defaults' own; the decoder reports it
			}
		}
	}
	t.setDelims(d, t.levelB)
	if t.override != nil {
		t.cs = *t.override
	} else {
		cs, known := syntaxCharset(t.syntaxID)
		t.cs = cs
		if !known {
			e := t.errAt(seg.Offset, line, seg.Number, "UNB", ErrEncoding, CodeSyntaxLevel,
				"UNB01 (0001) syntax identifier %q is not one whose character set this package knows (UNOA-UNOL, UNOW, UNOY): values read as UTF-8",
				t.syntaxID)
			e.Element, e.Component = 1, 1
			t.warnUNB(e, seg)
		}
	}
	t.setClasses()
	return t.transcode(seg, raw, t.mapped, line)
}

// warnUNB reports a warning about the interchange a UNB opens.
func (t *Tokenizer) warnUNB(e *ParseError, unb *legacybridge.Segment) {
	e.Level, e.Interchange = LevelInterchange, unb.Element(5).Value()
	t.warn(e)
}

// setDelims makes d the current delimiters; levelB says they are level B's
// defaults.
func (t *Tokenizer) setDelims(d Delimiters, levelB bool) {
	t.have = true
	t.delims = d
	t.levelB = levelB
	t.comp, t.elem, t.term = d.Component[0], d.Element[0], d.Segment[0]
	t.rel, t.rep = 0, 0
	if d.Release != "" {
		t.rel = d.Release[0]
	}
	if d.Repetition != "" {
		t.rep = d.Repetition[0]
	}
	t.setClasses()
}

// setClasses fills the byte tables from the delimiters and the charset.
func (t *Tokenizer) setClasses() {
	isDelim := func(c byte) bool {
		return c == t.comp || c == t.elem || c == t.term || (t.rel != 0 && c == t.rel) || (t.rep != 0 && c == t.rep)
	}
	t.cls = [256]uint8{}
	for c := 0; c < 256; c++ {
		if t.cs.odd(byte(c)) {
			t.cls[c] = clsOdd
		}
	}
	for _, c := range []byte{'\r', '\n'} {
		if !isDelim(c) {
			t.cls[c] = clsBreak
		}
	}
	t.cls[t.elem] = clsElem
	t.cls[t.comp] = clsComp
	if t.rep != 0 {
		t.cls[t.rep] = clsRep
	}
	if t.rel != 0 {
		t.cls[t.rel] = clsRel
	}
	t.cls[t.term] = 0
	for _, c := range []byte(" \t\r\n\v\f") {
		t.skip[c] = !isDelim(c)
	}
	t.pad = t.skip
	for _, c := range []byte{0x00, 0x1A} {
		t.pad[c] = !isDelim(c)
	}
	t.lfData = isDelim('\n') && t.term != '\n'
}
