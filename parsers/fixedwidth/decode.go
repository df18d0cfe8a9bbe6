// Package fixedwidth reads fixed-width files (mainframe and ERP exports)
// described by a YAML Layout, like encoding/csv: NewDecoder, then Decode
// until io.EOF.
//
// Lines are split into fields by a compiled slicer: each field cut from the
// line at its columns (bytes, or characters found once per line) and typed
// in one go: integers as int64, decimals as exact json.Number (never
// floating point), dates as time.Time; a field whose text is the same as in
// the record before shares that record's value. It trims the way
// github.com/ianlopshire/go-fixedwidth does, which stays the reference:
// with Decoder.ViaGoFixedwidth every line is split by go-fixedwidth, using a
// struct type built per record type (reflect.StructOf, one string field per
// layout field, tagged `fixed:"start,end,alignment,pad"`), and the
// differential tests and FuzzFastPath require the same records and errors
// from both.
//
// Lines end with LF or CRLF (see Layout.Framing for records without line
// ends, and with RDWs and BDWs); a UTF-8 byte-order mark at the start and a DOS
// end-of-file byte (0x1A) at the end are skipped, as are empty lines and
// lines starting with the layout's comment prefix. Lines may be of any
// length up to Decoder.MaxLineBytes.
package fixedwidth

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	gofw "github.com/ianlopshire/go-fixedwidth"

	"legacybridge"
)

// Format is Record.Format for fixed-width records.
const Format = "fixedwidth"

// DefaultMaxLineBytes is the longest line accepted when
// Decoder.MaxLineBytes is 0.
const DefaultMaxLineBytes = 16 << 20

// fwLineLimit is the longest line go-fixedwidth's Decoder can take: its
// bufio.Scanner keeps the default 64 KiB token limit, newline included.
const fwLineLimit = bufio.MaxScanTokenSize - 1

var (
	_ legacybridge.Parser       = Parser{}
	_ legacybridge.RecordReader = (*Decoder)(nil)
	_ legacybridge.Placer       = (*ParseError)(nil)
)

// ParseError says where a line or field is wrong.
type ParseError struct {
	File   string // Decoder.Name
	Line   int    // 1-based line; 0 means the end of the input
	Offset int64  // byte offset of the fault: line start plus the column's byte
	Column int    // 1-based column (character) of the fault; 0 if the whole line
	Field  string // field name, if the fault is in a field
	Type   string // record type name, if known
	Index  int    // 0-based ordinal of the record within the file
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("fixedwidth: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
	} else {
		b.WriteString("end of input (byte offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		b.WriteString(")")
	}
	if e.Column > 0 {
		b.WriteString(", column ")
		b.WriteString(strconv.Itoa(e.Column))
	}
	if e.Field != "" {
		b.WriteString(" (field ")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(errText(e.Err))
	return b.String()
}

// errText drops the ErrValue prefix, whose message adds nothing.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), ErrValue.Error()+": ")
}

func (e *ParseError) Unwrap() error { return e.Err }

// Place says where the fault is.
func (e *ParseError) Place() legacybridge.Position {
	return legacybridge.Position{File: e.File, Offset: e.Offset, Line: e.Line, Tag: e.Type, Index: e.Index}
}

// Parser adapts a Layout to legacybridge.Parser.
type Parser struct {
	Layout       *Layout
	MaxLineBytes int // longest line in bytes; 0 means DefaultMaxLineBytes

	// Documents reads the layout's documents (Layout.Documents) as one
	// record each, with a DocumentReader; default false: one record a
	// line.
	Documents bool
}

// NewReader returns a Decoder reading r (a DocumentReader over one with
// Documents set); name is used in errors and positions.
func (p Parser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	d := NewDecoder(r, p.Layout)
	d.Name = name
	d.MaxLineBytes = p.MaxLineBytes
	if p.Documents {
		return NewDocumentReader(d)
	}
	return d
}

// A Decoder reads records from a fixed-width input. Set its fields before
// the first Decode.
type Decoder struct {
	Name         string // file name for errors and positions; default none
	MaxLineBytes int    // longest line in bytes, terminator excluded; 0 means DefaultMaxLineBytes

	// ViaGoFixedwidth splits every line with go-fixedwidth's Decoder and
	// then types the strings; by default (false) the compiled slicer cuts
	// and types the fields straight from the line, giving the same records
	// with less work. Tests use it to hold the two to the same results.
	ViaGoFixedwidth bool

	layout *Layout
	r      *bufio.Reader
	s      *schema
	err    error // sticky: layout or I/O error, or io.EOF

	line   int   // lines read
	offset int64 // byte offset of the next line
	index  int   // records (data lines) seen
	buf    []byte

	tab     *decodeTable // single-byte charset
	conv    []byte
	blanked []byte // the line with raw fields blanked, for the text
	raw     []byte // the current line's bytes
	pend    []byte // records still to come from one long line (framing auto)
	pendAt  int64  // offset of pend

	word      [4]byte // framing rdw, bdw: the descriptor word being read
	blockLeft int     // framing bdw: bytes of the current block not yet read
	blockAt   int64   // framing bdw: offset of the current block's BDW
	lost      bool    // the framing is broken: stop after the error

	totals totals // of the layout's controls
	typed  []any  // the current record's values by field index, reused
	vals   []string
	envs   []map[string]string

	memo     [][]memo     // per record type and field: the last value (compiled path)
	cols     []int        // column starts of a line with multi-byte characters
	fw       []*fwDecoder // per record type
	fallback *fwDecoder

	open     []int // line of the header of each open batch level
	details  int64 // detail records since the last trailer
	records  int64 // records since the last trailer
	trailers int
}

// NewDecoder returns a Decoder reading r with layout l. An invalid layout
// is reported by the first Decode.
func NewDecoder(r io.Reader, l *Layout) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), layout: l}
}

// Read is Decode, for legacybridge.RecordReader.
func (d *Decoder) Read() (legacybridge.Record, error) { return d.Decode() }

// Decode returns the next record, or io.EOF after the last. Records after
// a header share one Envelope map (the header's fields as strings): treat it
// as read-only. Errors about
// the input are *ParseError and do not stop the Decoder: the next Decode
// reads the next line. A trailer whose count does not match returns an
// error instead of the trailer record.
func (d *Decoder) Decode() (legacybridge.Record, error) {
	if d.err != nil {
		return legacybridge.Record{}, d.err
	}
	if d.s == nil {
		s, err := compile(d.layout)
		if err != nil {
			d.err = err
			return legacybridge.Record{}, err
		}
		d.s = s
		d.fw = make([]*fwDecoder, len(s.types))
		if s.cmap != nil {
			d.tab = newDecodeTable(s.cmap)
		}
		d.totals = make(totals, len(s.controls))
		d.memo = make([][]memo, len(s.types))
		for i, rt := range s.types {
			d.memo[i] = make([]memo, len(rt.fields))
		}
	}
	for {
		raw, start, err := d.readLine()
		if err == io.EOF {
			d.err = io.EOF
			if s := d.s; s.trailer != nil && (d.records > 0 || d.trailers == 0) {
				return legacybridge.Record{}, &ParseError{File: d.Name, Offset: d.offset, Index: d.index,
					Err: fmt.Errorf("%w: input ends without a %q record after %d records", ErrNoTrailer, s.trailer.name, d.records)}
			}
			return legacybridge.Record{}, io.EOF
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				d.index++
				if d.lost {
					d.err = io.EOF // the framing is lost: nothing after it can be read
				}
				return legacybridge.Record{}, err
			}
			d.err = fmt.Errorf("fixedwidth: %s: read: %w", d.Name, err)
			return legacybridge.Record{}, d.err
		}
		if len(raw) == 0 || d.s.comment != nil && bytes.HasPrefix(raw, d.s.comment) {
			continue
		}
		if d.s.hasFill && len(d.open) == 0 && d.s.isFill(raw) {
			continue
		}
		rec, err := d.decodeLine(raw, start)
		d.index++
		return rec, err
	}
}

// readLine returns the next line without its terminator, and the byte
// offset of its first byte.
func (d *Decoder) readLine() ([]byte, int64, error) {
	switch {
	case len(d.pend) > 0:
		n := d.s.recLen
		rec, at := d.pend[:n], d.pendAt
		d.pend, d.pendAt = d.pend[n:], at+int64(n)
		d.line++
		return rec, at, nil
	case d.s.framing == FramingFixed:
		return d.readRecord()
	case d.s.framing == FramingRDW || d.s.framing == FramingBDW:
		return d.readVariable()
	}
	line, start, err := d.readLine1()
	if n := d.s.recLen; err == nil && d.s.framing == FramingAuto && len(line) > n && len(line)%n == 0 {
		// One line of whole records: a file without line breaks.
		d.pend, d.pendAt = line[n:], start+int64(n)
		line = line[:n]
	}
	return line, start, err
}

// readRecord reads the next record_length bytes (framing fixed). A last,
// partial record is returned as it is (a short line); a line end or a DOS
// end-of-file byte after the last record is not a record.
func (d *Decoder) readRecord() ([]byte, int64, error) {
	n := d.s.recLen
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	start := d.offset
	k, err := io.ReadFull(d.r, b)
	d.offset += int64(k)
	switch err {
	case nil:
	case io.EOF:
		return nil, start, io.EOF
	case io.ErrUnexpectedEOF:
		if !d.s.ebcdic {
			switch string(b[:k]) {
			case "\n", "\r\n", "\x1a", "\n\x1a", "\r\n\x1a":
				return nil, start, io.EOF
			}
		}
		b = b[:k]
	default:
		return nil, start, err
	}
	d.line++
	return b, start, nil
}

// isFill says whether a record is a block-fill record: all fill bytes, or
// (a fill other than the blank) fill bytes and then blanks.
func (s *schema) isFill(b []byte) bool {
	if s.blockFill != s.space {
		b = bytes.TrimRight(b, string(rune(s.space)))
	}
	if len(b) == 0 {
		return false
	}
	for _, x := range b {
		if x != s.blockFill {
			return false
		}
	}
	return true
}

// readVariable reads the next record of framing rdw or bdw: its record
// descriptor word (after the block descriptor word of a new block), then
// its bytes. Faults in the framing are errors naming the byte offset of
// the descriptor word, after which nothing more is read (d.lost).
func (d *Decoder) readVariable() ([]byte, int64, error) {
	w := d.word[:]
	lost := func(at int64, format string, args ...any) ([]byte, int64, error) {
		d.lost = true
		return nil, at, &ParseError{File: d.Name, Line: d.line + 1, Offset: at, Index: d.index,
			Err: fmt.Errorf("%w: %s", ErrFraming, fmt.Sprintf(format, args...))}
	}
	for d.s.framing == FramingBDW && d.blockLeft == 0 {
		at := d.offset
		k, err := io.ReadFull(d.r, w)
		d.offset += int64(k)
		switch err {
		case nil:
		case io.EOF:
			return nil, at, io.EOF
		case io.ErrUnexpectedEOF:
			return lost(at, "the input ends inside the block descriptor word at byte offset %d (% X is %d of its 4 bytes)", at, w[:k], k)
		default:
			return nil, at, err
		}
		var n int
		if w[0]&0x80 != 0 { // extended BDW: 31-bit length
			n = int(binary.BigEndian.Uint32(w) & 0x7FFFFFFF)
		} else {
			if w[2] != 0 || w[3] != 0 {
				return lost(at, "block descriptor word % X at byte offset %d: bytes 3-4 must be zero (is the input RDW framed without blocks? then set framing: rdw)", w, at)
			}
			n = int(binary.BigEndian.Uint16(w[:2]))
		}
		if n < 4 {
			return lost(at, "block descriptor word % X at byte offset %d gives a length of %d, less than its own 4 bytes", w, at, n)
		}
		d.blockAt, d.blockLeft = at, n-4
	}
	at := d.offset
	k, err := io.ReadFull(d.r, w)
	d.offset += int64(k)
	switch err {
	case nil:
	case io.EOF:
		return nil, at, io.EOF // framing bdw: blockLeft is 0 here
	case io.ErrUnexpectedEOF:
		return lost(at, "the input ends inside the record descriptor word at byte offset %d (% X is %d of its 4 bytes)", at, w[:k], k)
	default:
		return nil, at, err
	}
	n := int(binary.BigEndian.Uint16(w[:2]))
	switch {
	case d.s.framing == FramingBDW && d.blockLeft < 4:
		return lost(at, "the block at byte offset %d ends %d bytes into the record descriptor word at byte offset %d", d.blockAt, d.blockLeft, at)
	case w[2] != 0 || w[3] != 0:
		return lost(at, "record descriptor word % X at byte offset %d: bytes 3-4 must be zero (spanned records, RECFM=VBS, are not supported; is the input blocked? then set framing: bdw)", w, at)
	case n < 4:
		return lost(at, "record descriptor word % X at byte offset %d gives a length of %d, less than its own 4 bytes", w, at, n)
	case d.s.framing == FramingBDW && n > d.blockLeft:
		return lost(at, "record descriptor word % X at byte offset %d gives a length of %d; the block at byte offset %d has %d bytes left", w, at, n, d.blockAt, d.blockLeft)
	}
	if d.s.framing == FramingBDW {
		d.blockLeft -= n
	}
	n -= 4
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	k, err = io.ReadFull(d.r, b)
	d.offset += int64(k)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return lost(at, "truncated record: its record descriptor word at byte offset %d gives %d bytes of data, the input ends after %d of them", at, n, k)
	} else if err != nil {
		return nil, at, err
	}
	d.line++
	return b, at + 4, nil
}

// readLine1 reads the next line (framing lines).
func (d *Decoder) readLine1() ([]byte, int64, error) {
	max := d.MaxLineBytes
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	start := d.offset
	d.buf = d.buf[:0]
	var n int64
	tooLong := false
	terminated := false
	for {
		chunk, err := d.r.ReadSlice('\n')
		n += int64(len(chunk))
		if len(d.buf)+len(chunk) > max+2 { // room for CR LF
			tooLong = true
		} else {
			d.buf = append(d.buf, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if n == 0 {
				return nil, start, io.EOF
			}
			break
		}
		if err != nil {
			return nil, start, err
		}
		terminated = true
		break
	}
	d.line++
	d.offset += n
	if tooLong {
		return nil, start, &ParseError{File: d.Name, Line: d.line, Offset: start, Index: d.index,
			Err: fmt.Errorf("%w (over %d bytes)", ErrLineTooLong, max)}
	}
	line := d.buf
	if terminated {
		line = line[:len(line)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if len(line) > 0 && line[len(line)-1] == 0x1A { // DOS end of file, only at the very end
		if !terminated {
			line = line[:len(line)-1]
		} else if _, err := d.r.Peek(1); err == io.EOF {
			line = line[:len(line)-1]
		}
	}
	if len(line) > max {
		return nil, start, &ParseError{File: d.Name, Line: d.line, Offset: start, Index: d.index,
			Err: fmt.Errorf("%w (%d > %d bytes)", ErrLineTooLong, len(line), max)}
	}
	if start == 0 && d.s.charset == "utf-8" && bytes.HasPrefix(line, []byte("\uFEFF")) {
		line = line[3:]
		start = 3
	}
	return line, start, nil
}

// asciiPrefix is the length of the longest prefix of b, in whole 8-byte
// words, that is ASCII.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	return i
}

// text is one line as UTF-8 and the means to find columns in it.
type text struct {
	s       string
	ascii   bool  // one byte per column in s
	single  bool  // single-byte charset: column c is byte c-1 of the input
	bytes   bool  // columns are bytes of s
	start   int64 // input offset of the line
	rawLen  int   // bytes of the line in the input
	columns int
	chars   bool  // neither ascii nor bytes: columns are characters of s
	cols    []int // with chars: the byte index in s of columns 1, 2, ... found so far
	scan    int   // with chars: the byte index in s after them
}

// at returns the byte index in s of column c (1-based); columns past the
// end map to len(s).
func (t *text) at(c int) int {
	if !t.chars {
		return min(c-1, len(t.s))
	}
	for len(t.cols) < c && t.scan < len(t.s) {
		// Columns are found once a line, as far as they are asked for.
		t.cols = append(t.cols, t.scan)
		_, w := utf8.DecodeRuneInString(t.s[t.scan:])
		t.scan += w
	}
	if c-1 < len(t.cols) {
		return t.cols[c-1]
	}
	return len(t.s)
}

// offset returns the input byte offset of column c; columns past the end
// of the line (padded) map to its end.
func (t *text) offset(c int) int64 {
	i := c - 1
	if !t.single {
		i = t.at(c)
	}
	return t.start + int64(min(i, t.rawLen))
}

func (d *Decoder) perr(t *text, col int, rt *recType, f string, err error) *ParseError {
	pe := &ParseError{File: d.Name, Line: d.line, Column: col, Field: f, Index: d.index, Err: err}
	if t != nil {
		pe.Offset = t.start
		if col > 0 {
			pe.Offset = t.offset(col)
		}
	}
	if rt != nil {
		pe.Type = rt.name
	}
	return pe
}

func (d *Decoder) decodeLine(raw []byte, start int64) (legacybridge.Record, error) {
	s := d.s
	t := &text{start: start, rawLen: len(raw), bytes: s.byteCols}
	d.raw = raw
	if s.hasRaw && s.cmap == nil {
		raw = d.blankRaw(raw) // binary bytes are neither UTF-8 nor ASCII
	}
	// An encoding fault is reported after dispatch, so the line still
	// counts towards the trailer.
	var encErr *ParseError
	switch s.charset {
	case "utf-8":
		t.ascii = true
		for i := asciiPrefix(raw); i < len(raw); i++ {
			if c := raw[i]; c >= utf8.RuneSelf {
				t.ascii = false
				if !utf8.Valid(raw[i:]) {
					bad := i
					for bad < len(raw) {
						r, w := utf8.DecodeRune(raw[bad:])
						if r == utf8.RuneError && w == 1 {
							break
						}
						bad += w
					}
					col := bad + 1
					if !t.bytes {
						col = utf8.RuneCount(raw[:bad]) + 1
					}
					encErr = d.perr(nil, col, nil, "", fmt.Errorf("%w: byte 0x%02X is not UTF-8", ErrEncoding, raw[bad]))
					encErr.Offset = start + int64(bad)
				}
				break
			}
		}
		t.s = string(raw)
	case "ascii":
		for i, c := range raw {
			if c >= utf8.RuneSelf {
				encErr = d.perr(nil, i+1, nil, "", fmt.Errorf("%w: byte 0x%02X is not ASCII", ErrEncoding, c))
				encErr.Offset = start + int64(i)
				break
			}
		}
		t.s, t.ascii = string(raw), encErr == nil
	default:
		t.single = true
		src := raw
		if s.hasRaw {
			src = d.blankRaw(raw)
		}
		d.conv = d.tab.append(d.conv[:0], src)
		t.s = string(d.conv)
		t.ascii = len(t.s) == len(raw)
	}
	if t.ascii || t.bytes {
		t.columns = len(t.s)
	} else {
		t.chars, t.cols = true, d.cols[:0]
		defer func() { d.cols = t.cols[:0] }() // keep the room for the next line
		t.columns = utf8.RuneCountInString(t.s)
	}

	// Dispatch.
	rt := s.types[0]
	if s.codeStart > 0 {
		a, b := t.at(s.codeStart), t.at(s.codeStart+s.codeLen)
		code := t.s[a:b]
		if t.bytes && encErr == nil {
			if err := d.checkSplit(t, s.codeStart, s.codeStart+s.codeLen-1); err != nil {
				return legacybridge.Record{}, err
			}
		}
		end := s.codeStart + s.codeLen - 1
		if t.columns < end && !s.pad {
			s.count(d, nil)
			return legacybridge.Record{}, d.perr(t, t.columns+1, nil, "", fmt.Errorf("%w: %d characters, the record type code ends at column %d",
				ErrShortLine, t.columns, end))
		}
		var ok bool
		if rt, ok = s.byCode[code]; !ok {
			if t.columns < end {
				code += strings.Repeat(" ", s.codeLen-utf8.RuneCountInString(code))
				rt, ok = s.byCode[code]
			}
			if !ok {
				s.count(d, nil)
				if encErr != nil {
					return legacybridge.Record{}, encErr
				}
				return legacybridge.Record{}, d.perr(t, s.codeStart, nil, "", fmt.Errorf("%w %q", ErrUnknownType, code))
			}
		}
	}
	s.count(d, rt)
	if encErr != nil {
		return legacybridge.Record{}, encErr
	}
	// Structure: when the layout has a header, every other record belongs
	// to a header's batch, and (with a trailer type) a trailer closes the
	// batch before the next header opens.
	var env map[string]string // the envelope of the record's batch
	if len(d.envs) > 0 && rt.role != RoleHeader {
		env = d.envs[len(d.envs)-1]
	}
	open, fault := s.nest(d.open, rt, d.line)
	if fault != nil {
		if fault.before != "" {
			return legacybridge.Record{}, d.perr(t, s.codeStart, rt, "", fmt.Errorf("%w: %q record before any %q record",
				ErrOrder, rt.name, fault.before))
		}
		return legacybridge.Record{}, d.perr(t, s.codeStart, rt, "", fmt.Errorf("%w: %q record before the %q record closing the batch opened at line %d",
			ErrOrder, rt.name, fault.closing, fault.openedAt))
	}
	d.open = open
	if rt.role == RoleHeader {
		d.envs = d.envs[:min(len(d.envs), rt.level-1)]
		for len(d.envs) < rt.level-1 {
			d.envs = append(d.envs, nil)
		}
		if len(d.envs) > 0 {
			env = d.envs[len(d.envs)-1]
		}
		d.envs = append(d.envs, env) // until its fields are typed
		s.resetTotals(d.totals, rt.level)
	} else if len(d.envs) > len(d.open) {
		d.envs = d.envs[:len(d.open)]
	}
	var want int64 = -1 // trailer count to check
	var what string
	if rt == s.trailer {
		want, what = d.details, "detail records"
		if s.countAll {
			want, what = d.records, "records"
		}
		d.details, d.records = 0, 0
		d.trailers++
	}

	// Length.
	if t.columns < rt.need {
		if !s.pad {
			f := ""
			for _, fd := range rt.fields {
				if fd.end > t.columns {
					f = fd.name
					break
				}
			}
			return legacybridge.Record{}, d.perr(t, t.columns+1, rt, f, fmt.Errorf("%w: %d characters, record type %q needs %d",
				ErrShortLine, t.columns, rt.name, rt.need))
		}
		t.s += strings.Repeat(" ", rt.need-t.columns)
		t.columns = rt.need
	}
	if s.recLen > 0 && t.columns > s.recLen {
		rest := t.s[t.at(s.recLen+1):]
		if i := strings.IndexFunc(rest, func(r rune) bool { return r != ' ' }); i >= 0 {
			col := s.recLen + 1 + utf8.RuneCountInString(rest[:i])
			if t.bytes || t.ascii {
				col = s.recLen + 1 + i
			}
			return legacybridge.Record{}, d.perr(t, col, rt, "", fmt.Errorf("%w: %d characters, record length is %d and data follows it",
				ErrLongLine, t.columns, s.recLen))
		}
	}
	if t.bytes {
		for _, f := range rt.fields {
			if err := d.checkSplit(t, f.start, f.end); err != nil {
				err.Field, err.Type = f.name, rt.name
				return legacybridge.Record{}, err
			}
		}
	}

	// Split and type: each field cut from the line at its columns and
	// typed in one go (the compiled path); or, with ViaGoFixedwidth, split
	// with go-fixedwidth, then typed.
	fast := !d.ViaGoFixedwidth
	var vals []string
	if !fast {
		var err error
		if vals, err = d.split(t, rt); err != nil {
			return legacybridge.Record{}, d.perr(t, 0, rt, "", err)
		}
	}
	rec := legacybridge.Record{
		Format: Format,
		Type:   rt.name,
		Pos:    legacybridge.Position{File: d.Name, Offset: t.start, Line: d.line, Tag: rt.name, Index: d.index},
		Fields: make(map[string]any, len(rt.fields)),
	}
	if cap(d.typed) < len(rt.fields) {
		d.typed = make([]any, len(rt.fields))
	}
	typed := d.typed[:len(rt.fields)]
	for i, f := range rt.fields {
		var v any
		var err error
		switch {
		case f.raw && fast:
			v, err = d.memo[rt.idx][i].rawValue(f, d.raw[min(f.start-1, len(d.raw)):min(f.end, len(d.raw))], s.space)
		case f.raw:
			v, err = f.rawValue(d.raw[min(f.start-1, len(d.raw)):min(f.end, len(d.raw))], s.space)
		case fast:
			v, err = d.memo[rt.idx][i].value(f, t.s[t.at(f.start):t.at(f.end+1)])
		default:
			v, err = f.convert(vals[i])
		}
		if err != nil {
			return legacybridge.Record{}, d.perr(t, f.start, rt, f.name, err)
		}
		rec.Fields[f.name] = v
		typed[i] = v
	}
	if len(s.controls) > 0 {
		s.addTotals(d.totals, rt, func(i int) any { return typed[i] })
	}
	switch rt.role {
	case RoleHeader:
		rec.Envelope = env
		henv := make(map[string]string, len(env)+len(rt.fields))
		for k, v := range env {
			henv[k] = v
		}
		for _, f := range rt.fields {
			if v, ok := envelopeString(rec.Fields[f.name]); ok {
				henv[f.name] = v
			}
		}
		if n := len(d.envs); n > 0 && n == rt.level {
			d.envs[n-1] = henv
		}
	case RoleTrailer:
		rec.Envelope = env
		var cerr error
		for k, ct := range s.controls {
			if ct.rt != rt {
				continue
			}
			if err := ct.check(typed[ct.fieldIdx], &d.totals[k]); err != nil && cerr == nil {
				f := rt.fields[ct.fieldIdx]
				cerr = d.perr(t, f.start, rt, f.name, err)
			}
			d.totals[k].SetInt64(0)
		}
		if cerr != nil {
			return legacybridge.Record{}, cerr
		}
		if want >= 0 {
			f := rt.fields[s.countIdx]
			if got, ok := rec.Fields[f.name].(int64); !ok || got != want {
				g := "nothing"
				if ok {
					g = strconv.FormatInt(got, 10)
				}
				return legacybridge.Record{}, d.perr(t, f.start, rt, f.name,
					fmt.Errorf("%w: trailer says %s, counted %d %s", ErrTrailerCount, g, want, what))
			}
		}
	default:
		rec.Envelope = env
	}
	return rec, nil
}

// blankRaw returns the line with the bytes of its record type's raw
// (packed, binary, zoned) fields blanked, so that only text is decoded as
// text and go-fixedwidth never sees a line end inside binary data.
func (d *Decoder) blankRaw(raw []byte) []byte {
	s := d.s
	rt := s.types[0]
	if s.codeStart > 0 {
		a, b := s.codeStart-1, s.codeStart-1+s.codeLen
		if b > len(raw) {
			return raw
		}
		c := raw[a:b]
		if d.tab != nil {
			var code [16]byte
			c = d.tab.append(code[:0], c)
		}
		var ok bool
		if rt, ok = s.byCode[string(c)]; !ok {
			return raw
		}
	}
	if len(rt.raw) == 0 {
		return raw
	}
	d.blanked = append(d.blanked[:0], raw...)
	for _, i := range rt.raw {
		f := rt.fields[i]
		for k := f.start - 1; k < f.end && k < len(raw); k++ {
			d.blanked[k] = s.space
		}
	}
	return d.blanked
}

// count adds a record of type rt (nil: unknown) to the trailer counts.
func (s *schema) count(d *Decoder, rt *recType) {
	d.records++
	if rt != nil && rt.role == RoleDetail {
		d.details++
	}
}

// checkSplit fails when column a or the column after b starts inside a
// multi-byte character (byte columns over UTF-8).
func (d *Decoder) checkSplit(t *text, a, b int) *ParseError {
	for _, c := range []int{a, b + 1} {
		if i := c - 1; i > 0 && i < len(t.s) && !utf8.RuneStart(t.s[i]) {
			return d.perr(t, c, nil, "", fmt.Errorf("%w at column %d", ErrSplitChar, c))
		}
	}
	return nil
}

// fwDecoder feeds one line at a time to a go-fixedwidth Decoder that lives
// as long as the fixedwidth Decoder, so its scanner buffer and cached
// struct setters are reused.
type fwDecoder struct {
	dec  *gofw.Decoder
	feed lineFeed
	v    reflect.Value // *struct, reused
}

func newFWDecoder(t reflect.Type, codepoints bool) *fwDecoder {
	f := &fwDecoder{v: reflect.New(t)}
	f.dec = gofw.NewDecoder(&f.feed)
	f.dec.SetUseCodepointIndices(codepoints)
	return f
}

// lineFeed is an io.Reader that yields the current line and a newline.
type lineFeed struct {
	s  string
	nl bool
}

func (l *lineFeed) Read(p []byte) (int, error) {
	if l.s == "" && !l.nl {
		return 0, io.EOF
	}
	n := copy(p, l.s)
	l.s = l.s[n:]
	if l.s == "" && l.nl && n < len(p) {
		p[n] = '\n'
		n++
		l.nl = false
	}
	return n, nil
}

// decode splits line into the fields of its struct type.
func (f *fwDecoder) decode(line string) error {
	f.feed = lineFeed{s: line, nl: true}
	return f.dec.Decode(f.v.Interface())
}

// split returns the trimmed text of every field of rt, through
// go-fixedwidth.
func (d *Decoder) split(t *text, rt *recType) ([]string, error) {
	if cap(d.vals) < len(rt.fields) {
		d.vals = make([]string, len(rt.fields))
	}
	vals := d.vals[:len(rt.fields)]
	line := t.s[:t.at(rt.maxEnd+1)] // nothing past the last field matters
	if strings.ContainsAny(line, "\r\n") {
		// A line end inside a fixed-length record is data, which
		// go-fixedwidth's line scanner would split on: trim here, the way
		// go-fixedwidth does.
		for i, f := range rt.fields {
			vals[i] = trimField(line[t.at(f.start):t.at(f.end+1)], f)
		}
		return vals, nil
	}
	if len(line) <= fwLineLimit {
		fd := d.fw[rt.idx]
		if fd == nil {
			fd = newFWDecoder(rt.structType, !t.bytes)
			d.fw[rt.idx] = fd
		}
		if err := fd.decode(line); err != nil {
			d.fw[rt.idx] = nil // its scanner may be spent
			return nil, fmt.Errorf("go-fixedwidth: %w", err)
		}
		v := fd.v.Elem()
		for i := range vals {
			vals[i] = v.Field(i).String()
		}
		return vals, nil
	}
	// A line longer than go-fixedwidth takes: give it one field at a time.
	for i, f := range rt.fields {
		fs := line[t.at(f.start):t.at(f.end+1)]
		if len(fs) > fwLineLimit {
			// Longer than go-fixedwidth can take even alone: trim here,
			// the way go-fixedwidth does.
			vals[i] = trimField(fs, f)
			continue
		}
		one := reflect.StructOf([]reflect.StructField{{
			Name: "F0", Type: reflect.TypeFor[string](),
			Tag: reflect.StructTag(strings.Replace(string(rt.structType.Field(i).Tag),
				fmt.Sprintf(`"%d,%d,`, f.start, f.end), fmt.Sprintf(`"1,%d,`, f.end-f.start+1), 1)),
		}})
		if d.fallback == nil || d.fallback.v.Type().Elem() != one {
			d.fallback = newFWDecoder(one, !t.bytes)
		}
		if err := d.fallback.decode(fs); err != nil {
			d.fallback = nil
			return nil, fmt.Errorf("go-fixedwidth: %w", err)
		}
		vals[i] = d.fallback.v.Elem().Field(0).String()
	}
	return vals, nil
}

// trimField trims like go-fixedwidth's alignments (the pad is one ASCII
// byte).
func trimField(s string, f *field) string {
	c := f.pad
	switch f.trim {
	case "none":
		return s
	case "right":
	default:
		for len(s) > 0 && s[0] == c {
			s = s[1:]
		}
		if f.trim == "left" {
			return s
		}
	}
	for len(s) > 0 && s[len(s)-1] == c {
		s = s[:len(s)-1]
	}
	return s
}

func (s *schema) hasRole(role string) bool { return s.roleName(role) != "" }

func (s *schema) hasHeader() bool { return s.hasRole(RoleHeader) }

// roleName is the name of the first record type with role, or "".
func (s *schema) roleName(role string) string {
	for _, rt := range s.types {
		if rt.role == role {
			return rt.name
		}
	}
	return ""
}
