package x12

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"legacybridge"
)

// Delimiters are the separators an interchange declares in its ISA. Each is
// one character (a UTF-8 sequence of 1-4 bytes, or one byte that is not
// UTF-8).
type Delimiters struct {
	Element    string `json:"element"`              // the character after "ISA"
	Component  string `json:"component"`            // ISA16
	Repetition string `json:"repetition,omitempty"` // ISA11 from 00402 on when not a letter/digit/space; "" = none
	Segment    string `json:"segment"`              // the character after ISA16
}

// DefaultMaxSegment is the default of Tokenizer.MaxSegment.
const DefaultMaxSegment = 64 << 20

const ioBufferSize = 64 << 10

// Tokenizer splits X12 input into segments, reading the delimiters from each
// ISA. It is the layer under Decoder and usable on its own: it knows nothing
// of envelopes and checks no counts.
//
// Line breaks (CR, LF) that are not delimiters are dropped everywhere except
// inside BIN data, and whitespace between a segment terminator and the next
// tag is skipped. A UTF-8 byte-order mark at the start of input is skipped;
// offsets still count its bytes. NUL, 0x1A (DOS end-of-file) and whitespace
// bytes after an IEA up to the end of input are padding and end the input
// cleanly; padding followed by more data is a non-fatal ErrBadSegment.
//
// Memory is bounded by the I/O buffer plus the largest segment.
type Tokenizer struct {
	// Name is the input's name, used in errors. Default "".
	Name string
	// MaxSegment is the longest segment accepted, in bytes (BIN data
	// included). Default DefaultMaxSegment (64 MiB).
	MaxSegment int
	// Warn, if set, receives problems that do not stop or fail decoding
	// (an alphanumeric ISA11 in a version that expects a repetition
	// separator). Default: ignored.
	Warn func(*ParseError)
	// Charset is the encoding of the values: CharsetUTF8 ("utf-8",
	// default ""), CharsetWindows1252 ("windows-1252") or CharsetISO88591
	// ("iso-8859-1"); values are returned as UTF-8 either way. In utf-8
	// mode a value that is not valid UTF-8 is decoded as Windows-1252 and
	// Warn receives an ErrEncoding naming its element and the offset of
	// its first invalid byte. Tags, delimiters and BIN data are never
	// decoded. Read at the first segment; an unknown value is a fatal
	// ErrEncoding.
	Charset string

	br      *bufio.Reader
	off     int64 // bytes consumed
	line    int   // 1-based line of the next unread byte
	num     int   // segments returned
	started bool
	cs      int   // charset mode (csUTF8, ...)
	err     error // sticky fatal error (or io.EOF)

	have   bool
	delims Delimiters
	elem   string
	comp   string
	rep    string
	term   string
	class  [256]uint8 // first bytes of delimiters: clsElem|clsComp|clsRep
	skip   [256]bool  // whitespace skipped between segments
	pad    [256]bool  // padding accepted after the last IEA: NUL, 0x1A, whitespace
	dropCR bool       // CR is not a delimiter
	// nextFast's view of single-byte delimiters
	fast   bool       // all delimiters are single bytes
	fe, ft byte       // element separator, segment terminator
	fcls   [256]uint8 // clsElem, clsComp, clsRep or clsBreak
	cuts   []uint32   // delimiter positions in the segment, <<3 | class
	noFast bool       // tests: always take the general path
	dropLF bool

	segLine int    // line of the last segment returned
	lastIEA bool   // the last segment returned was an IEA
	lastTag string // tag of the last segment returned (segment t.num), "" if it had none

	buf   []byte // segment spanning buffer refills
	clean []byte // segment with line breaks removed
	bin   []byte // BIN data

	// arena and slabs segments are carved from
	text     strings.Builder
	strSlab  []string
	repSlab  [][]string
	elemSlab []legacybridge.Element
}

const (
	clsElem = 1 << iota
	clsComp
	clsRep
	clsBreak = clsElem | clsComp // in fcls only: a line break to drop
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
}

// Delimiters returns the delimiters of the current interchange (zero before
// the first ISA).
func (t *Tokenizer) Delimiters() Delimiters { return t.delims }

// Offset returns the number of input bytes consumed so far.
func (t *Tokenizer) Offset() int64 { return t.off }

// Line returns the 1-based line of the last segment returned.
func (t *Tokenizer) Line() int { return t.segLine }

// NextSegment returns the next segment, or io.EOF at the end of input.
//
// Errors are *ParseError. A non-fatal error (ErrBadSegment: a bad tag, an
// empty segment, an unterminated last segment) may come with a usable
// segment (Tag != ""); the next call continues after it. After a fatal error
// (ParseError.Fatal) every call returns that error again.
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
	if t.fast && t.started && !t.noFast {
		if ok, err := t.nextFast(seg); ok {
			t.lastTag = seg.Tag
			return err
		}
	}
	var err error
	*seg, err = t.next()
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

func (t *Tokenizer) errAt(off int64, line, num int, tag string, kind error, format string, args ...any) *ParseError {
	return &ParseError{File: t.Name, Offset: off, Line: line, Segment: num, Tag: tag,
		Err: &cause{kind: kind, msg: fmt.Sprintf(format, args...)}}
}

func (t *Tokenizer) fatalAt(off int64, line, num int, tag string, kind error, format string, args ...any) *ParseError {
	e := t.errAt(off, line, num, tag, kind, format, args...)
	e.fatal = true
	return e
}

// ioErr is a read error, placed at the last segment read (the first
// segment, before it is read) and the offset reached.
func (t *Tokenizer) ioErr(err error) *ParseError {
	return &ParseError{File: t.Name, Offset: t.off, Line: t.line, Segment: max(t.num, 1), Tag: t.tagOfLast(),
		Err: fmt.Errorf("read error: %w", err), fatal: true}
}

// tagOfLast is the tag of the last segment read, "" when it had no valid one.
func (t *Tokenizer) tagOfLast() string {
	if validTag(t.lastTag) {
		return t.lastTag
	}
	return ""
}

// lastPlace names the last segment read for messages: "segment 9 (IEA)",
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

var bom = []byte{0xEF, 0xBB, 0xBF}

func (t *Tokenizer) next() (legacybridge.Segment, error) {
	if !t.started {
		t.started = true
		if err := t.initCharset(); err != nil {
			return legacybridge.Segment{}, err
		}
		if b, _ := t.br.Peek(3); bytes.Equal(b, bom) {
			t.br.Discard(3)
			t.off = 3
		}
	}
	if err := t.skipSpace(); err != nil {
		return legacybridge.Segment{}, err
	}
	if t.lastIEA && t.pad[t.peekByte()] {
		if err := t.skipPadding(); err != nil {
			return legacybridge.Segment{}, err
		}
	}
	t.lastIEA = false
	start, line := t.off, t.line
	if b, _ := t.br.Peek(4); len(b) >= 3 && b[0] == 'I' && b[1] == 'S' && b[2] == 'A' && (len(b) == 3 || !isAlnum(b[3])) {
		return t.readISA(start, line)
	}
	if !t.have {
		b, _ := t.br.Peek(quoteMax + 1)
		return legacybridge.Segment{}, t.fatalAt(start, line, t.num+1, "", ErrNoInterchange,
			"input does not start with an ISA segment: found %s", quote(b))
	}
	raw, terminated, err := t.readRaw(start, line)
	if err != nil {
		return legacybridge.Segment{}, err
	}
	if len(raw) == 0 {
		if !terminated {
			return legacybridge.Segment{}, io.EOF
		}
		// A bare terminator: only a non-whitespace terminator gets here.
		t.num++
		t.segLine = line
		return legacybridge.Segment{Offset: start, Number: t.num}, t.errAt(start, line, t.num, "", ErrBadSegment,
			"empty segment: segment terminator %q with no tag before it", t.term)
	}
	t.num++
	t.segLine = line
	if len(raw) >= 3+len(t.elem) && raw[0] == 'B' && raw[1] == 'I' && raw[2] == 'N' && string(raw[3:3+len(t.elem)]) == t.elem {
		return t.readBIN(raw, terminated, start, line)
	}
	if terminated && t.term == "\n" {
		t.line++
	}
	seg, err := t.build(raw, start, line)
	t.lastIEA = seg.Tag == "IEA"
	if err == nil && !terminated && t.term != "\n" && t.term != "\r" {
		err = t.errAt(start, line, seg.Number, seg.Tag, ErrBadSegment,
			"last segment has no segment terminator %q", t.term)
	}
	return seg, err
}

// nextFast reads the next segment straight from the I/O buffer when it is
// an ordinary one: single-byte delimiters, the whole segment buffered, a
// valid tag, no line breaks to drop, not ISA or BIN. It makes one pass over
// the segment's bytes, noting where the delimiters are, copies the segment
// into the text arena once and cuts the elements from the slabs at their
// exact sizes. Otherwise it reports ok == false having consumed at most
// whitespace, and next handles the segment.
func (t *Tokenizer) nextFast(seg *legacybridge.Segment) (ok bool, err error) {
	w, _ := t.br.Peek(t.br.Buffered())
	i := 0
	for i < len(w) && t.skip[w[i]] {
		if w[i] == '\n' {
			t.line++
		}
		i++
	}
	if i > 0 {
		t.br.Discard(i)
		t.off += int64(i)
		w = w[i:]
	}
	if len(w) < 4 || t.lastIEA {
		return false, nil
	}
	// The tag: 2-3 upper-case letters or digits, then the element
	// separator or the terminator.
	n := 0
	for n < 4 && (w[n] >= 'A' && w[n] <= 'Z' || w[n] >= '0' && w[n] <= '9') {
		n++
	}
	if n < 2 || n > 3 || (w[n] != t.fe && w[n] != t.ft) ||
		n == 3 && (w[0] == 'I' && w[1] == 'S' && w[2] == 'A' || w[0] == 'B' && w[1] == 'I' && w[2] == 'N') {
		return false, nil
	}
	end := n
	if w[n] != t.ft {
		end = bytes.IndexByte(w[n:], t.ft)
		if end < 0 {
			return false, nil // not all buffered
		}
		end += n
	}
	if end > t.maxSegment() {
		return false, nil
	}
	raw := w[:end]
	// One pass over the data elements, noting each delimiter as
	// position<<3 | class.
	cuts := t.cuts[:0]
	ne, nr, nc := 0, 0, 0
	for j := n + 1; j < len(raw); j++ {
		k := t.fcls[raw[j]]
		if k == 0 {
			continue
		}
		if k == clsBreak {
			return false, nil // a wrapped line: next drops the breaks
		}
		cuts = append(cuts, uint32(j)<<3|uint32(k))
		switch k {
		case clsElem:
			ne++
		case clsRep:
			nr++
		default:
			nc++
		}
	}
	t.cuts = cuts
	s := t.intern(raw)
	start := t.off
	t.br.Discard(end + 1)
	t.off += int64(end + 1)
	t.num++
	t.segLine = t.line
	if t.ft == '\n' {
		t.line++
	}
	*seg = legacybridge.Segment{Tag: s[:n], Offset: start, Number: t.num}
	t.lastIEA = n == 3 && s[0] == 'I' && s[1] == 'E' && s[2] == 'A'
	if n == len(s) {
		return true, nil
	}
	// Every element has a repetition, every repetition a component.
	ne++
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
	from := n + 1
	for _, c := range cuts {
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
	seg.Elements = elems
	t.transcode(seg, s, nil, start, t.segLine)
	return true, nil
}

// skipSpace skips whitespace between segments; io.EOF at the end of input.
func (t *Tokenizer) skipSpace() error { return t.skipSet(&t.skip) }

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
// last IEA: NUL bytes, DOS end-of-file bytes (0x1A) and whitespace. Up to
// the end of input they are no segment (io.EOF); when anything else follows
// them, they are an ErrBadSegment error and tokenizing resumes at that byte.
func (t *Tokenizer) skipPadding() error {
	start, line := t.off, t.line
	if err := t.skipSet(&t.pad); err != nil {
		return err
	}
	more, _ := t.br.Peek(quoteMax + 1)
	return t.errAt(start, line, t.num, t.tagOfLast(), ErrBadSegment,
		"padding (NUL, 0x1A end-of-file or blank bytes) after the IEA is followed by more data at byte offset %d: %s",
		t.off, quote(more))
}

// readRaw reads up to and including the next segment terminator and returns
// the bytes before it. The slice is valid until the next read.
func (t *Tokenizer) readRaw(start int64, line int) ([]byte, bool, error) {
	tb := t.term[0]
	max := t.maxSegment()
	chunk, err := t.br.ReadSlice(tb)
	if err == nil && len(t.term) == 1 && len(chunk)-1 <= max {
		t.off += int64(len(chunk))
		return chunk[:len(chunk)-1], true, nil
	}
	tooLong := func() error {
		return t.fatalAt(start, line, t.num+1, "", ErrBadSegment,
			"segment longer than %d bytes (no segment terminator %q within them): %s", max, t.term, quote(t.buf))
	}
	t.buf = t.buf[:0]
	for {
		t.buf = append(t.buf, chunk...)
		t.off += int64(len(chunk))
		switch err {
		case nil:
			if len(t.buf)-1 > max {
				return nil, false, tooLong()
			}
			if len(t.term) == 1 {
				return t.buf[:len(t.buf)-1], true, nil
			}
			rest, _ := t.br.Peek(len(t.term) - 1)
			if string(rest) == t.term[1:] {
				t.br.Discard(len(rest))
				t.off += int64(len(rest))
				return t.buf[:len(t.buf)-1], true, nil
			}
		case bufio.ErrBufferFull:
		case io.EOF:
			if len(t.buf) > max {
				return nil, false, tooLong()
			}
			return t.buf, false, nil
		default:
			return nil, false, t.ioErr(err)
		}
		if len(t.buf) > max {
			return nil, false, tooLong()
		}
		chunk, err = t.br.ReadSlice(tb)
	}
}

func (t *Tokenizer) maxSegment() int {
	if t.MaxSegment > 0 {
		return t.MaxSegment
	}
	return DefaultMaxSegment
}

// dropBreaks removes CR and LF that are not delimiters, counting lines.
func (t *Tokenizer) dropBreaks(raw []byte) []byte {
	hasLF := t.dropLF && bytes.IndexByte(raw, '\n') >= 0
	hasCR := t.dropCR && bytes.IndexByte(raw, '\r') >= 0
	if !hasLF && !hasCR {
		return raw
	}
	c := t.clean[:0]
	for _, b := range raw {
		switch {
		case b == '\n' && t.dropLF:
			t.line++
		case b == '\r' && t.dropCR:
		default:
			c = append(c, b)
		}
	}
	t.clean = c
	return c
}

// build splits one segment (without terminator) into tag and elements.
func (t *Tokenizer) build(raw []byte, start int64, line int) (legacybridge.Segment, error) {
	orig := raw
	raw = t.dropBreaks(raw)
	if len(raw) == len(orig) {
		orig = nil
	}
	s := t.intern(raw)
	seg := legacybridge.Segment{Offset: start, Number: t.num}
	i := strings.Index(s, t.elem)
	if i < 0 {
		seg.Tag = s
	} else {
		seg.Tag = s[:i]
		seg.Elements = t.split(s[i+len(t.elem):])
		t.transcode(&seg, s, orig, start, line)
	}
	if !validTag(seg.Tag) {
		var msg string
		switch {
		case seg.Tag == "":
			msg = "segment has no tag: " + quote(s)
		case len(seg.Tag) < len(s) && len(seg.Tag) < quoteMax:
			msg = "segment tag " + quote(seg.Tag) + " is not 2-3 upper-case letters or digits: " + quote(s)
		default:
			msg = "segment tag " + quote(seg.Tag) + " is not 2-3 upper-case letters or digits"
		}
		return seg, t.errAt(start, line, seg.Number, "", ErrBadSegment, "%s", msg)
	}
	return seg, nil
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

func validTag(tag string) bool {
	if len(tag) < 2 || len(tag) > 3 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// split cuts the data elements of a segment into elements, repetitions and
// components. The strings share s; the slices are carved from slabs shared by
// neighbouring segments, so a segment costs a few allocations per slab, not
// per element.
func (t *Tokenizer) split(s string) []legacybridge.Element {
	// At most len(s)+1 components, repetitions and elements.
	strs := t.reserveStrings(len(s) + 1)
	reps := t.reserveReps(len(s) + 1)
	elems := t.reserveElems(len(s) + 1)
	nc, nr, ne := 0, 0, 0
	c0, r0 := 0, 0
	from := 0
	for j := 0; j < len(s); {
		k := t.class[s[j]]
		if k == 0 {
			j++
			continue
		}
		switch {
		case k&clsElem != 0 && (len(t.elem) == 1 || strings.HasPrefix(s[j:], t.elem)):
			strs[nc] = s[from:j]
			nc++
			reps[nr] = strs[c0:nc:nc]
			nr++
			c0 = nc
			elems[ne] = legacybridge.Element(reps[r0:nr:nr])
			ne++
			r0 = nr
			j += len(t.elem)
		case k&clsRep != 0 && (len(t.rep) == 1 || strings.HasPrefix(s[j:], t.rep)):
			strs[nc] = s[from:j]
			nc++
			reps[nr] = strs[c0:nc:nc]
			nr++
			c0 = nc
			j += len(t.rep)
		case k&clsComp != 0 && (len(t.comp) == 1 || strings.HasPrefix(s[j:], t.comp)):
			strs[nc] = s[from:j]
			nc++
			j += len(t.comp)
		default:
			j++
			continue
		}
		from = j
	}
	strs[nc] = s[from:]
	nc++
	reps[nr] = strs[c0:nc:nc]
	nr++
	elems[ne] = legacybridge.Element(reps[r0:nr:nr])
	ne++
	t.strSlab = t.strSlab[nc:]
	t.repSlab = t.repSlab[nr:]
	t.elemSlab = t.elemSlab[ne:]
	return elems[:ne:ne]
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

// readBIN finishes a BIN segment: BIN01 is the length of BIN02, whose bytes
// are taken raw (they may contain terminators and line breaks). raw is what
// readRaw returned (up to the first terminator, which is consumed when
// terminated).
func (t *Tokenizer) readBIN(raw []byte, terminated bool, start int64, line int) (legacybridge.Segment, error) {
	num := t.num
	bad := func(format string, args ...any) (legacybridge.Segment, error) {
		return legacybridge.Segment{}, t.fatalAt(start, line, num, "BIN", ErrBadBIN, format, args...)
	}
	rest := raw[3+len(t.elem):]
	j := bytes.Index(rest, []byte(t.elem))
	lenField := rest
	if j >= 0 {
		lenField = rest[:j]
	}
	digits := make([]byte, 0, len(lenField))
	for _, b := range lenField {
		if (b == '\n' && t.dropLF) || (b == '\r' && t.dropCR) {
			continue
		}
		digits = append(digits, b)
	}
	if !allDigits(string(digits)) || len(digits) > 18 {
		return bad("BIN01 %q is not a length (a number of bytes)", digits)
	}
	n64, _ := strconv.ParseInt(string(digits), 10, 64)
	if n64 > int64(t.maxSegment()) {
		return bad("BIN01 declares %d bytes, more than the %d-byte segment limit", n64, t.maxSegment())
	}
	n := int(n64)
	lines := bytes.Count(lenField, []byte{'\n'})
	seg := legacybridge.Segment{Tag: "BIN", Offset: start, Number: num}
	if j < 0 {
		if n != 0 {
			return bad("BIN01 declares %d bytes but BIN02 is missing", n)
		}
		if terminated && t.term == "\n" {
			lines++
		}
		t.line += lines
		seg.Elements = []legacybridge.Element{{{string(digits)}}}
		return seg, nil
	}
	data := append(t.bin[:0], rest[j+len(t.elem):]...)
	switch {
	case len(data) > n:
		// Only droppable line breaks may stand between BIN02 and the terminator.
		for _, b := range data[n:] {
			if !(b == '\n' && t.dropLF || b == '\r' && t.dropCR) {
				return bad("BIN02 is longer than the %d bytes BIN01 declares", n)
			}
		}
		lines += bytes.Count(data, []byte{'\n'})
		data = data[:n]
		if t.term == "\n" {
			lines++
		}
	case len(data) < n:
		if !terminated {
			return bad("input ends inside BIN02 after %d of %d bytes", len(data), n)
		}
		// The terminator readRaw stopped at is data; read the rest raw.
		data = append(data, t.term...)
		if len(data) > n {
			return bad("BIN02 of %d bytes is not followed by the segment terminator %q", n, t.term)
		}
		for len(data) < n {
			if _, err := t.br.Peek(1); err != nil {
				if err == io.EOF {
					return bad("input ends inside BIN02 after %d of %d bytes", len(data), n)
				}
				return legacybridge.Segment{}, t.ioErr(err)
			}
			b, _ := t.br.Peek(min(t.br.Buffered(), n-len(data)))
			data = append(data, b...)
			t.br.Discard(len(b))
			t.off += int64(len(b))
		}
		end, _ := t.br.Peek(len(t.term))
		if string(end) != t.term {
			return bad("BIN02 of %d bytes is not followed by the segment terminator %q", n, t.term)
		}
		t.br.Discard(len(end))
		t.off += int64(len(end))
		lines += bytes.Count(data, []byte{'\n'})
		if t.term == "\n" {
			lines++
		}
	default:
		if !terminated {
			return bad("BIN02 of %d bytes is not followed by the segment terminator %q", n, t.term)
		}
		lines += bytes.Count(data, []byte{'\n'})
		if t.term == "\n" {
			lines++
		}
	}
	t.bin = data
	t.line += lines
	seg.Elements = []legacybridge.Element{{{string(digits)}}, {{string(data)}}}
	return seg, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// readDelim reads one character: a UTF-8 sequence, or one byte that is not UTF-8.
func (t *Tokenizer) readDelim() (string, error) {
	b, err := t.br.Peek(1)
	if err != nil {
		return "", err
	}
	n := 1
	if b[0] >= utf8.RuneSelf {
		p, _ := t.br.Peek(utf8.UTFMax)
		if r, size := utf8.DecodeRune(p); r != utf8.RuneError || size > 1 {
			n = size
		}
	}
	p, _ := t.br.Peek(n)
	s := string(p)
	t.br.Discard(n)
	t.off += int64(n)
	return s, nil
}

// isaMax bounds the bytes read looking for the 16 element separators of an
// ISA (106 normally; line breaks and over-long ids add some).
const isaMax = 512

// readISA reads an interchange header and sets the delimiters from it.
func (t *Tokenizer) readISA(start int64, line int) (legacybridge.Segment, error) {
	t.num++
	num := t.num
	t.segLine = line
	bad := func(format string, args ...any) (legacybridge.Segment, error) {
		return legacybridge.Segment{}, t.fatalAt(start, line, num, "ISA", ErrBadISA, format, args...)
	}
	t.br.Discard(3)
	t.off += 3
	elem, err := t.readDelim()
	if err != nil {
		return bad("input ends after \"ISA\"")
	}
	if len(elem) == 1 && (isAlnum(elem[0]) || elem[0] == ' ' || elem[0] == '\r' || elem[0] == '\n') {
		return bad("element separator %q (the character after \"ISA\") is a letter, digit, space or line break", elem)
	}
	fields := make([]string, 0, 16)
	fieldOff := make([]int64, 1, 16) // offset of each field's first byte
	fieldOff[0] = t.off
	cur := t.buf[:0]
	breakAt := int64(-1)
	for len(fields) < 15 {
		if t.off-start > isaMax {
			return bad("no 16th element separator %q within %d bytes: ISA is not an interchange header", elem, isaMax)
		}
		c, err := t.br.ReadByte()
		if err != nil {
			return bad("input ends inside the ISA after %d elements", len(fields))
		}
		t.off++
		switch {
		case c == '\r' || c == '\n':
			if breakAt < 0 {
				breakAt = t.off - 1
			}
			if c == '\n' {
				t.line++
			}
			continue
		case c == elem[0]:
			if len(elem) > 1 {
				p, _ := t.br.Peek(len(elem) - 1)
				if string(p) != elem[1:] {
					break
				}
				t.br.Discard(len(p))
				t.off += int64(len(p))
			}
			fields = append(fields, string(cur))
			fieldOff = append(fieldOff, t.off)
			cur = cur[:0]
			continue
		}
		cur = append(cur, c)
	}
	t.buf = cur
	// ISA16, skipping line breaks that wrap the header.
	var comp string
	for {
		comp, err = t.readDelim()
		if err != nil {
			return bad("input ends before ISA16 (component separator)")
		}
		if comp != "\r" && comp != "\n" {
			break
		}
		if breakAt < 0 {
			breakAt = t.off - 1
		}
		if comp == "\n" {
			t.line++
		}
	}
	term, err := t.readDelim()
	if err != nil {
		return bad("input ends after ISA16: no segment terminator")
	}
	if term == "\n" {
		t.line++
	}
	if (term == "\n" || term == "\r") && breakAt >= 0 {
		return bad("ISA shorter than 106 characters: the segment terminator is %q, so the line break at byte offset %d ends the ISA early", term, breakAt)
	}
	// The fields are fixed-width (X12.5); only the sender and receiver ids
	// are tolerated with extra blank padding, as found in the wild.
	widths := [15]int{2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1}
	for i, f := range fields {
		w, name := widths[i], fmt.Sprintf("ISA%02d", i+1)
		switch i {
		case 5, 7:
			if len(f) < w || len(strings.TrimRight(f, " ")) > w {
				return bad("%s %q must be %d characters (blank-padded): the ISA is not fixed-width", name, f, w)
			}
		case 10:
			if utf8.RuneCountInString(f) != 1 {
				return bad("%s %q must be 1 character", name, f)
			}
		default:
			if len(f) != w {
				return bad("%s %q must be %d characters: the ISA is not fixed-width", name, f, w)
			}
		}
		switch i {
		case 8, 9, 11, 12, 13:
			if !allDigits(f) {
				return bad("%s %q must be %d digits", name, f, w)
			}
		}
	}
	if !validDelim(comp) {
		return bad("ISA16 component separator %q is a letter, digit or space", comp)
	}
	if !validDelim(term) && term != "\n" && term != "\r" {
		return bad("segment terminator %q (after ISA16) is a letter, digit or space", term)
	}
	// Each delimiter must differ from the others; the conflict names the
	// two ISA elements.
	const (
		nameElem = `the element separator (the character after "ISA")`
		nameComp = "ISA16 (component separator)"
		nameTerm = "the segment terminator (the character after ISA16)"
		nameRep  = "ISA11 (repetition separator)"
	)
	switch {
	case comp == elem:
		return bad("%s %q is also %s: delimiters must be distinct", nameComp, comp, nameElem)
	case term == elem:
		return bad("%s %q is also %s: delimiters must be distinct", nameTerm, term, nameElem)
	case term == comp:
		return bad("%s %q is also %s: delimiters must be distinct", nameTerm, term, nameComp)
	}
	rep := ""
	version, isa11 := fields[11], fields[10]
	if version >= "00402" && validDelim(isa11) {
		switch isa11 {
		case elem:
			return bad("%s %q is also %s: delimiters must be distinct", nameRep, isa11, nameElem)
		case comp:
			return bad("%s %q is also %s: delimiters must be distinct", nameRep, isa11, nameComp)
		case term:
			return bad("%s %q is also %s: delimiters must be distinct", nameRep, isa11, nameTerm)
		}
	}
	if version >= "00402" {
		if validDelim(isa11) {
			rep = isa11
		} else if t.Warn != nil {
			t.Warn(t.errAt(start, line, num, "ISA", ErrBadISA,
				"ISA11 %q cannot be the repetition separator of version %s: no repetition separator", isa11, version))
		}
	}
	t.setDelims(Delimiters{Element: elem, Component: comp, Repetition: rep, Segment: term})

	seg := legacybridge.Segment{Tag: "ISA", Offset: start, Number: num}
	seg.Elements = make([]legacybridge.Element, 16)
	for i, f := range fields {
		seg.Elements[i] = legacybridge.Element{{f}}
	}
	seg.Elements[15] = legacybridge.Element{{comp}}
	t.transcodeISA(&seg, fieldOff[:15], line)
	return seg, nil
}

func validDelim(s string) bool {
	if s == "" {
		return false
	}
	if len(s) == 1 {
		c := s[0]
		return !isAlnum(c) && c != ' ' && c != '\r' && c != '\n'
	}
	return true
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

func (t *Tokenizer) setDelims(d Delimiters) {
	t.have = true
	t.delims = d
	t.elem, t.comp, t.rep, t.term = d.Element, d.Component, d.Repetition, d.Segment
	t.class = [256]uint8{}
	t.class[t.elem[0]] |= clsElem
	t.class[t.comp[0]] |= clsComp
	if t.rep != "" {
		t.class[t.rep[0]] |= clsRep
	}
	isDelim := func(c byte) bool {
		for _, d := range []string{t.elem, t.comp, t.rep} {
			if d == string(c) {
				return true
			}
		}
		return false
	}
	for _, c := range []byte(" \t\r\n\v\f") {
		t.skip[c] = !isDelim(c)
	}
	t.pad = t.skip
	for _, c := range []byte{0x00, 0x1A} {
		t.pad[c] = !isDelim(c) && t.term != string(c)
	}
	t.dropCR = !isDelim('\r') && t.term != "\r"
	t.dropLF = !isDelim('\n') && t.term != "\n"
	t.fast = len(t.elem) == 1 && len(t.comp) == 1 && len(t.rep) <= 1 && len(t.term) == 1
	t.fcls = [256]uint8{}
	if t.fast {
		t.fe, t.ft = t.elem[0], t.term[0]
		if t.dropCR {
			t.fcls['\r'] = clsBreak
		}
		if t.dropLF {
			t.fcls['\n'] = clsBreak
		}
		t.fcls[t.fe] = clsElem
		t.fcls[t.comp[0]] = clsComp
		if t.rep != "" {
			t.fcls[t.rep[0]] = clsRep
		}
	}
}
