package fixedwidth

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gofw "github.com/ianlopshire/go-fixedwidth"
	"golang.org/x/text/encoding"

	"legacybridge"
)

// Causes wrapped by EncodeError, for errors.Is (besides ErrRequired,
// ErrValue, ErrEncoding, ErrOrder, ErrTrailerCount and ErrNoTrailer).
var (
	ErrTooLong       = errors.New("value too long for the field")
	ErrUnknownRecord = errors.New("no such record type")
	ErrUnknownField  = errors.New("no such field")
)

// EncodeError says which record and field could not be written.
type EncodeError struct {
	File  string // Encoder.Name
	Line  int    // 1-based line the record was to be written on
	Type  string // record type name
	Field string // field name, if the fault is in a field
	Err   error
}

func (e *EncodeError) Error() string {
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
		b.WriteString("end of output")
	}
	if e.Type != "" {
		b.WriteString(" (")
		b.WriteString(e.Type)
		b.WriteString(" record)")
	}
	if e.Field != "" {
		b.WriteString(", field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(errText(e.Err))
	return b.String()
}

func (e *EncodeError) Unwrap() error { return e.Err }

// An Encoder writes records as the fixed-width lines of a Layout: the
// inverse of a Decoder, so that what it writes decodes to the same values.
//
// Each line is built by github.com/ianlopshire/go-fixedwidth from a struct
// type made per record type (reflect.StructOf): the type code, one string
// field per layout field, and a blank filler up to RecordLength, tagged
// `fixed:"start,end,alignment,pad"`. Columns between fields are blank. The
// values are formatted first, following the layout:
//
//   - strings as given, left-justified, or right-justified when the field's
//     trim is "left", padded with the field's pad;
//   - integers and decimals exactly, never rounded: right-justified and
//     zero-filled (trim "both" or "none", the default), right-justified and
//     filled with the pad (trim "left"), or left-justified (trim "right").
//     With implied decimals (scale) the point is left out and the fraction
//     filled to the scale; a value with more decimals than that is an error.
//     A sign is written as the layout says: for sign "leading" or "trailing"
//     always (+ or -), for "overpunch" in the last digit, for
//     "leading_overpunch" in the first (of the field when zero-filled,
//     else of the number), and when the layout names no sign only for
//     negative values, in front;
//   - dates in the field's format, in the layout's Location (a time of day,
//     on year 0, as it is);
//   - nil (or a missing field) as the field's first null_if value, else
//     blank; for a required field it is an error.
//
// A value longer than its field is an error naming the line, the record
// type and the field (wrapping ErrTooLong): nothing is ever truncated. So
// are control characters and characters the layout's encoding cannot
// represent.
//
// The structure rules of the Decoder hold: with a header role, every other
// record belongs to a header's batch, and a trailer closes the batch before
// the next header. The trailer_count field is filled in when the record
// leaves it out (nil), and checked when it is given.
//
// Records follow the layout's framing: each followed by Newline (lines,
// auto), back to back (fixed), each after its RDW (rdw), or gathered into
// blocks of at most block_size bytes, each after its BDW (bdw). With
// fixed-length records and a block_size, Close pads the last block with
// block_fill records.
type Encoder struct {
	Name    string // used in errors; default none
	Newline string // line terminator: "\n" (default) or "\r\n"

	w      *bufio.Writer
	layout *Layout
	s      *schema
	err    error // sticky layout or write error

	types []*recEncoder
	fw    *gofw.Encoder
	line  bytes.Buffer // go-fixedwidth's output for one record
	cm    *encoding.Encoder
	conv  []byte

	nl       string // the line terminator written
	block    []byte // framing bdw: the records of the block being filled, with their RDWs
	totals   totals
	vals     []any // the record's values by field index, for the totals
	lines    int
	open     []int // header line of each open batch level
	details  int64 // detail records since the last trailer
	records  int64 // records since the last trailer
	trailers int
}

// recEncoder is the encoding side of one record type.
type recEncoder struct {
	rt     *recType
	signed []bool // per field: the layout names a sign convention
	byName map[string]int
	v      reflect.Value // *struct, reused
	code   int           // struct field index of the type code, or -1
}

// NewEncoder returns an Encoder writing to w with layout l. An invalid
// layout is reported by the first Encode. Output is buffered: call Close
// (or Flush) at the end.
func NewEncoder(w io.Writer, l *Layout) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 64<<10), layout: l}
}

func (e *Encoder) init() error {
	if e.s != nil || e.err != nil {
		return e.err
	}
	switch e.Newline {
	case "":
		e.Newline = "\n"
	case "\n", "\r\n":
	default:
		e.err = fmt.Errorf("fixedwidth: encoder newline %q is not \\n or \\r\\n", e.Newline)
		return e.err
	}
	s, err := compile(e.layout)
	if err != nil {
		e.err = err
		return err
	}
	e.s = s
	if s.cmap != nil {
		e.cm = s.cmap.NewEncoder()
	}
	e.nl = e.Newline
	switch s.framing {
	case FramingFixed, FramingRDW, FramingBDW:
		e.nl = "" // records follow one another
	}
	e.totals = make(totals, len(s.controls))
	for _, rt := range s.types {
		e.types = append(e.types, newRecEncoder(s, e.layout.Records[rt.idx], rt))
	}
	e.fw = gofw.NewEncoder(&e.line)
	e.fw.SetUseCodepointIndices(!s.byteCols)
	return nil
}

// newRecEncoder builds the struct type go-fixedwidth writes rt's lines from.
func newRecEncoder(s *schema, raw RecordType, rt *recType) *recEncoder {
	re := &recEncoder{rt: rt, byName: map[string]int{}, code: -1}
	var sf []reflect.StructField
	add := func(start, end int, align string, pad byte) {
		p := string(pad)
		switch pad {
		case ' ':
			p = "_" // go-fixedwidth spells a blank pad "_" and "_" as "__"
		case '_':
			p = "__"
		}
		sf = append(sf, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(sf)),
			Type: reflect.TypeFor[string](),
			Tag:  reflect.StructTag(fmt.Sprintf(`fixed:"%d,%d,%s,%s"`, start, end, align, p)),
		})
	}
	for i, f := range rt.fields {
		re.byName[f.name] = i
		re.signed = append(re.signed, raw.Fields[i].Sign != "")
		align := "left"
		if f.trim == "left" {
			align = "right"
		}
		add(f.start, f.end, align, f.pad)
	}
	if s.codeStart > 0 {
		re.code = len(sf)
		add(s.codeStart, s.codeStart+s.codeLen-1, "left", ' ')
	}
	if s.recLen > rt.maxEnd {
		add(s.recLen, s.recLen, "left", ' ') // blank filler up to the record length
	}
	re.v = reflect.New(reflect.StructOf(sf))
	return re
}

// Encode writes rec as one line: rec.Type names the record type, and
// rec.Fields holds the values by field name (string, json.Number, integer
// types, time.Time, nil; a date may also be a string in RFC 3339, as
// YYYY-MM-DD, or in the field's own format). Fields the record leaves out
// are blank. Other parts of rec are ignored. Errors about the record are
// *EncodeError, nothing of the record is written, and the Encoder can go on
// with the next record.
func (e *Encoder) Encode(rec legacybridge.Record) error {
	if err := e.init(); err != nil {
		return err
	}
	line := e.lines + 1
	fail := func(field string, err error) error {
		return &EncodeError{File: e.Name, Line: line, Type: rec.Type, Field: field, Err: err}
	}
	var re *recEncoder
	for _, t := range e.types {
		if t.rt.name == rec.Type {
			re = t
			break
		}
	}
	if re == nil {
		return fail("", fmt.Errorf("%w %q in layout %s", ErrUnknownRecord, rec.Type, e.s.name))
	}
	rt := re.rt
	for name := range rec.Fields {
		if _, ok := re.byName[name]; !ok {
			return fail(name, fmt.Errorf("%w: record type %q of layout %s has no field %q", ErrUnknownField, rt.name, e.s.name, name))
		}
	}
	// Structure, as the Decoder checks it.
	s := e.s
	open, fault := s.nest(slices.Clone(e.open), rt, line)
	if fault != nil {
		if fault.before != "" {
			return fail("", fmt.Errorf("%w: %q record before any %q record", ErrOrder, rt.name, fault.before))
		}
		return fail("", fmt.Errorf("%w: %q record before the %q record closing the open batch", ErrOrder, rt.name, fault.closing))
	}
	records, details := e.records+1, e.details
	if rt.role == RoleDetail {
		details++
	}
	v := re.v.Elem()
	e.vals = append(e.vals[:0], make([]any, len(rt.fields))...)
	for i, f := range rt.fields {
		e.vals[i] = rec.Fields[f.name]
	}
	var tots totals // the controls as they will be after this record
	if len(s.controls) > 0 {
		tots = make(totals, len(e.totals))
		for k := range tots {
			tots[k].Set(&e.totals[k])
		}
		if rt.role == RoleHeader {
			s.resetTotals(tots, rt.level)
		}
		s.addTotals(tots, rt, func(i int) any { return e.vals[i] })
		for k, ct := range s.controls {
			if ct.rt != rt {
				continue
			}
			f := rt.fields[ct.fieldIdx]
			if val := rec.Fields[f.name]; val == nil {
				e.vals[ct.fieldIdx] = ct.value(&tots[k])
			} else if err := ct.check(val, &tots[k]); err != nil {
				return fail(f.name, err)
			}
			tots[k].SetInt64(0)
		}
	}
	var raws [][]byte
	for i, f := range rt.fields {
		val := e.vals[i]
		_, given := rec.Fields[f.name]
		if rt == s.trailer && i == s.countIdx {
			want := details
			if s.countAll {
				want = records
			}
			if !given || val == nil {
				val = want
			} else if got, err := f.integerText(val); err != nil {
				return fail(f.name, err)
			} else if got != strconv.FormatInt(want, 10) {
				return fail(f.name, fmt.Errorf("%w: trailer says %s, %d records were written", ErrTrailerCount, got, want))
			}
		}
		if f.raw {
			b := make([]byte, f.end-f.start+1)
			if err := f.rawBytes(b, val, s.space); err != nil {
				return fail(f.name, err)
			}
			raws = append(raws, b)
			v.Field(i).SetString("")
			continue
		}
		text, err := e.format(f, re.signed[i], val)
		if err != nil {
			return fail(f.name, err)
		}
		v.Field(i).SetString(text)
	}
	if re.code >= 0 {
		v.Field(re.code).SetString(rt.code)
	}
	e.line.Reset()
	if err := e.fw.Encode(re.v.Interface()); err != nil {
		return fail("", fmt.Errorf("go-fixedwidth: %w", err))
	}
	out := e.line.Bytes()
	if e.cm != nil {
		var err error
		if e.conv, err = e.cm.Bytes(out); err != nil {
			// Every value was checked; only the type code can be left.
			return fail("", fmt.Errorf("%w: %v", ErrEncoding, err))
		}
		out = e.conv
	}
	for k, i := range rt.raw {
		f := rt.fields[i]
		copy(out[f.start-1:f.end], raws[k])
	}
	if most := s.mostRecord(); len(out) > most {
		return fail("", fmt.Errorf("%w: the record is %d bytes; with framing %s a record holds at most %d", ErrTooLong, len(out), s.framing, most))
	}
	if err := e.emit(out); err != nil {
		e.err = fmt.Errorf("fixedwidth: %s: write: %w", e.Name, err)
		return e.err
	}
	e.lines++
	e.records, e.details = records, details
	e.open = open
	if tots != nil {
		e.totals = tots
	}
	switch rt.role {
	case RoleTrailer:
		if rt == s.trailer {
			e.records, e.details = 0, 0
			e.trailers++
		}
	}
	return nil
}

// mostRecord is the most bytes a record can have in the framing (RDW and
// BDW lengths are 2 bytes; a block holds at most block_size bytes).
func (s *schema) mostRecord() int {
	switch s.framing {
	case FramingRDW:
		return maxRDW - 4
	case FramingBDW:
		return min(maxRDW, s.blockSize-4) - 4
	}
	return math.MaxInt
}

// emit writes one record as the framing wants it: followed by the line
// end, after its RDW, or into the current block (framing bdw), which is
// written when the next record no longer fits it.
func (e *Encoder) emit(out []byte) error {
	var rdw [4]byte
	binary.BigEndian.PutUint16(rdw[:2], uint16(len(out)+4))
	switch e.s.framing {
	case FramingRDW:
		if _, err := e.w.Write(rdw[:]); err != nil {
			return err
		}
	case FramingBDW:
		if 4+len(e.block)+4+len(out) > e.s.blockSize {
			if err := e.writeBlock(); err != nil {
				return err
			}
		}
		e.block = append(append(e.block, rdw[:]...), out...)
		return nil
	}
	if _, err := e.w.Write(out); err != nil {
		return err
	}
	_, err := e.w.WriteString(e.nl)
	return err
}

// writeBlock writes the current block (framing bdw) after its BDW.
func (e *Encoder) writeBlock() error {
	if len(e.block) == 0 {
		return nil
	}
	var bdw [4]byte
	binary.BigEndian.PutUint16(bdw[:2], uint16(len(e.block)+4))
	if _, err := e.w.Write(bdw[:]); err != nil {
		return err
	}
	_, err := e.w.Write(e.block)
	e.block = e.block[:0]
	return err
}

// fillBlock pads the output with block_fill records to a whole number of
// blocks of block_size bytes (fixed-length records).
func (e *Encoder) fillBlock() error {
	s := e.s
	if s.blockSize == 0 || s.framing == FramingBDW {
		return nil
	}
	per := s.blockSize / s.recLen
	if e.lines%per == 0 {
		return nil
	}
	rec := bytes.Repeat([]byte{s.blockFill}, s.recLen)
	for e.lines%per != 0 {
		if _, err := e.w.Write(rec); err != nil {
			return err
		}
		if _, err := e.w.WriteString(e.nl); err != nil {
			return err
		}
		e.lines++
	}
	return nil
}

// Reset discards the Encoder's output state (buffered lines, batch and
// trailer counts, a write error) and makes it write to w, keeping the
// compiled layout: one Encoder can write many files, one after the other.
func (e *Encoder) Reset(w io.Writer) {
	e.w.Reset(w)
	e.block = e.block[:0]
	if e.err != nil && e.s != nil {
		e.err = nil // a write error; a layout error stays
	}
	e.lines, e.open, e.details, e.records, e.trailers = 0, e.open[:0], 0, 0, 0
	for k := range e.totals {
		e.totals[k].SetInt64(0)
	}
}

// Flush writes buffered lines to the underlying writer (with framing bdw,
// the block so far is written: the next record starts a new one).
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	err := e.writeBlock()
	if err == nil {
		err = e.w.Flush()
	}
	if err != nil {
		e.err = fmt.Errorf("fixedwidth: %s: write: %w", e.Name, err)
		return e.err
	}
	return nil
}

// Close checks that the output is complete (when the layout counts records
// in a trailer, the last batch has its trailer), pads the last block with
// block_fill records when the layout gives a block_size for fixed-length
// records, and flushes. It does not close the underlying writer.
func (e *Encoder) Close() error {
	if err := e.init(); err != nil {
		return err
	}
	if s := e.s; s.trailer != nil && (e.records > 0 || e.trailers == 0) {
		return &EncodeError{File: e.Name, Err: fmt.Errorf("%w: the output ends without a %q record after %d records", ErrNoTrailer, s.trailer.name, e.records)}
	}
	if e.err == nil {
		if err := e.fillBlock(); err != nil {
			e.err = fmt.Errorf("fixedwidth: %s: write: %w", e.Name, err)
		}
	}
	return e.Flush()
}

// format renders v for field f: exactly the field's width for numbers and
// dates, the bare value (go-fixedwidth pads it) for strings and blanks.
func (e *Encoder) format(f *field, signed bool, v any) (string, error) {
	width := f.end - f.start + 1
	if v == nil {
		if f.required {
			return "", ErrRequired
		}
		if len(f.nullIf) > 0 {
			return e.fit(f, width, f.nullIf[0])
		}
		return "", nil
	}
	switch f.kind {
	case TypeInteger, TypeDecimal:
		return f.number(width, signed, v)
	case TypeDate:
		return e.date(f, v)
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = string(x)
	case time.Time:
		return "", fmt.Errorf("%w: a date for a string field; give the text", ErrValue)
	default:
		n, ok := intText(v)
		if !ok {
			return "", fmt.Errorf("%w: %T for a string field", ErrValue, v)
		}
		s = n
	}
	if f.required && s == "" {
		return "", ErrRequired
	}
	if f.required && slices.Contains(f.nullIf, s) {
		return "", fmt.Errorf("%w: %q means no value", ErrRequired, s)
	}
	return e.fit(f, width, s)
}

// fit checks that s is text the layout can hold in width columns.
func (e *Encoder) fit(f *field, width int, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrEncoding, s)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return "", fmt.Errorf("%w: %q contains a control character (%U)", ErrValue, s, []rune(s[i:])[0])
	}
	n := utf8.RuneCountInString(s)
	unit := "characters"
	if e.s.byteCols {
		n, unit = len(s), "bytes"
	}
	if n > width {
		return "", fmt.Errorf("%w: %q is %d %s, the field (columns %d-%d) holds %d", ErrTooLong, s, n, unit, f.start, f.end, width)
	}
	switch e.s.charset {
	case "ascii":
		for _, r := range s {
			if r >= utf8.RuneSelf {
				return "", fmt.Errorf("%w: %q has %q, which is not ASCII", ErrEncoding, s, r)
			}
		}
	default:
		if e.cm == nil {
			break
		}
		for _, r := range s {
			if r < utf8.RuneSelf {
				continue
			}
			if _, err := e.cm.String(string(r)); err != nil {
				return "", fmt.Errorf("%w: %q has %q, which %s cannot represent", ErrEncoding, s, r, e.s.charset)
			}
		}
	}
	return s, nil
}

// date formats a time.Time, or a date given as text, in the field's format.
func (e *Encoder) date(f *field, v any) (string, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
		if t.Year() != 0 {
			t = t.In(e.s.loc)
		}
	case string:
		var err error
		t, err = parseDate(x, f.goLayout, e.s.loc)
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("%w: %T for a date field", ErrValue, v)
	}
	s, err := f.formatDate(t)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) != f.end-f.start+1 {
		return "", fmt.Errorf("%w: %s formats as %q, not %d characters (%s)", ErrTooLong, t.Format(time.RFC3339), s, f.end-f.start+1, f.format)
	}
	return s, nil
}

// parseDate reads a date given as text: RFC 3339 (moved to loc), a local
// date-time or date (taken in loc), or the field's own format.
func parseDate(s, goLayout string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(loc), nil
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02", goLayout} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a date (RFC 3339, YYYY-MM-DD or the field's format)", ErrValue, s)
}

// number formats an integer or decimal to exactly width columns.
func (f *field) number(width int, signed bool, v any) (string, error) {
	text, ok := intText(v)
	if !ok {
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = x
		case float32, float64:
			return "", fmt.Errorf("%w: %v is a binary floating-point number; give an exact decimal (json.Number or text)", ErrValue, v)
		default:
			return "", fmt.Errorf("%w: %T for a %s field", ErrValue, v, f.kind)
		}
	}
	neg, ip, fp, err := parseNumber(text)
	if err != nil {
		return "", err
	}
	var body string // digits, with the point if the data carries one
	switch {
	case f.kind == TypeInteger:
		if strings.Trim(fp, "0") != "" {
			return "", fmt.Errorf("%w: %s is not a whole number", ErrValue, text)
		}
		body = ip
	case f.implied:
		if len(fp) > f.scale {
			if strings.Trim(fp[f.scale:], "0") != "" {
				return "", fmt.Errorf("%w: %s has more than %d decimal places (implied scale %d); it is not rounded", ErrValue, text, f.scale, f.scale)
			}
			fp = fp[:f.scale]
		}
		body = strings.TrimLeft(ip+fp+strings.Repeat("0", f.scale-len(fp)), "0")
	default:
		body = ip
		if fp != "" {
			if body == "" {
				body = "0"
			}
			body += "." + fp
		}
	}
	if strings.Trim(body, "0.") == "" {
		neg = false // no negative zero
		if f.blankZero {
			return "", nil
		}
	}
	sign := ""
	switch {
	case f.overpunched():
	case signed && neg:
		sign = "-"
	case signed:
		sign = "+"
	case neg:
		sign = "-"
	}
	if body == "" && (f.trim == "left" || f.trim == "right" || f.overpunched()) {
		body = "0" // a bare zero where nothing is zero-filled
	}
	room := width - len(sign)
	if len(body) > room {
		return "", fmt.Errorf("%w: %s needs %d columns, the field (columns %d-%d) holds %d", ErrTooLong, text, len(body)+len(sign), f.start, f.end, width)
	}
	switch f.sign {
	case signOverpunch:
		body = overpunch(body, neg)
	case signLeadingOverpunch:
		if f.trim == "left" || f.trim == "right" {
			body = overpunch0(body, neg)
		} else {
			// Zero-filled: the field's first digit carries the sign.
			return overpunch0(strings.Repeat("0", room-len(body))+body, neg), nil
		}
	}
	fill := string(rune(f.pad))
	lead, trail := sign, ""
	if f.sign == "trailing" {
		lead, trail = "", sign
	}
	switch f.trim {
	case "right": // left-justified
		return lead + body + trail + strings.Repeat(fill, room-len(body)), nil
	case "left": // right-justified, filled with the pad
		return strings.Repeat(fill, room-len(body)) + lead + body + trail, nil
	}
	// right-justified, zero-filled
	return lead + strings.Repeat("0", room-len(body)) + body + trail, nil
}

// overpunch carries the sign in the last digit (COBOL zoned decimal).
func overpunch(s string, neg bool) string {
	d := s[len(s)-1] - '0'
	var c byte
	switch {
	case !neg && d == 0:
		c = '{'
	case !neg:
		c = 'A' + d - 1
	case d == 0:
		c = '}'
	default:
		c = 'J' + d - 1
	}
	return s[:len(s)-1] + string(c)
}

// overpunch0 carries the sign in the first digit (SIGN LEADING).
func overpunch0(s string, neg bool) string {
	return overpunch(s[:1], neg) + s[1:]
}

// integerText renders an integer value for comparing with a count.
func (f *field) integerText(v any) (string, error) {
	text, ok := intText(v)
	if !ok {
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = x
		default:
			return "", fmt.Errorf("%w: %T for an integer field", ErrValue, v)
		}
	}
	neg, ip, fp, err := parseNumber(text)
	if err != nil {
		return "", err
	}
	if strings.Trim(fp, "0") != "" {
		return "", fmt.Errorf("%w: %s is not a whole number", ErrValue, text)
	}
	if ip == "" {
		return "0", nil
	}
	if neg {
		return "-" + ip, nil
	}
	return ip, nil
}

// intText renders Go integer types.
func intText(v any) (string, bool) {
	switch x := v.(type) {
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// parseNumber reads a decimal number in JSON syntax (leading + and zeros
// allowed): the sign, the integer digits without leading zeros and the
// fraction digits as written, an exponent applied exactly.
func parseNumber(s string) (neg bool, ip, fp string, err error) {
	bad := func() (bool, string, string, error) {
		return false, "", "", fmt.Errorf("%w: %q is not a number", ErrValue, s)
	}
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	mant, exp, hasExp := strings.Cut(t, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(t, "E")
	}
	ip, fp, hasPoint := strings.Cut(mant, ".")
	if ip == "" && fp == "" || ip != "" && !allDigits(ip) || fp != "" && !allDigits(fp) || hasPoint && fp == "" && ip == "" {
		return bad()
	}
	if hasExp {
		e, perr := strconv.Atoi(exp)
		if perr != nil || e > 1000 || e < -1000 {
			return bad()
		}
		digits := ip + fp
		point := len(ip) + e
		switch {
		case point <= 0:
			ip, fp = "", strings.Repeat("0", -point)+digits
		case point >= len(digits):
			ip, fp = digits+strings.Repeat("0", point-len(digits)), ""
		default:
			ip, fp = digits[:point], digits[point:]
		}
	}
	return neg, strings.TrimLeft(ip, "0"), fp, nil
}
