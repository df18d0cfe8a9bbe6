package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// ebcdic encodes ASCII text in code page 037.
func ebcdic(t testing.TB, s string) []byte {
	t.Helper()
	b, err := charmap.CodePage037.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMainframeValues checks packed, binary and zoned numbers, blank when
// zero and the legacy date forms, each read from raw bytes and written back
// to the same bytes.
func TestMainframeValues(t *testing.T) {
	tests := []struct {
		field string // YAML flow mapping without name/start
		enc   string
		in    []byte
		want  any // value, or error text
	}{
		{"{length: 4, type: decimal, scale: 2, storage: packed, signed: true}", "ibm037", []byte{0x00, 0x12, 0x34, 0x5C}, json.Number("123.45")},
		{"{length: 4, type: decimal, scale: 2, storage: packed, signed: true}", "ibm037", []byte{0x00, 0x12, 0x34, 0x5D}, json.Number("-123.45")},
		{"{length: 3, type: integer, storage: packed}", "ibm037", []byte{0x12, 0x34, 0x5F}, int64(12345)},
		{"{length: 3, type: integer, storage: packed}", "ibm037", []byte{0x12, 0x34, 0x5D}, "12 34 5D is negative (sign half-byte D) but the field is unsigned; set signed: true"},
		{"{length: 3, type: integer, storage: packed, signed: true}", "ibm037", []byte{0x12, 0xA4, 0x5C}, "12 A4 5C is not a packed decimal (COMP-3): each half-byte a digit 0-9, the last one the sign C, D or F"},
		{"{length: 3, type: integer, storage: packed, signed: true}", "ibm037", []byte{0x40, 0x40, 0x40}, nil},
		{"{length: 3, type: integer, storage: packed, signed: true, blank_when_zero: true}", "ibm037", []byte{0x40, 0x40, 0x40}, int64(0)},
		{"{length: 10, type: decimal, scale: 4, storage: packed, signed: true}", "latin1", []byte{0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x9D}, json.Number("-123456789012345.6789")},
		{"{length: 2, type: integer, storage: binary, signed: true}", "ibm037", []byte{0xFF, 0xFE}, int64(-2)},
		{"{length: 2, type: integer, storage: binary}", "ibm037", []byte{0xFF, 0xFE}, int64(65534)},
		{"{length: 4, type: decimal, scale: 2, storage: binary, signed: true}", "ibm1047", []byte{0x00, 0x01, 0xE2, 0x40}, json.Number("1234.56")},
		{"{length: 8, type: integer, storage: binary, signed: true}", "ibm037", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, int64(-9223372036854775808)},
		{"{length: 5, type: integer, sign: overpunch}", "ibm037", []byte{0xF0, 0xF0, 0xF1, 0xF2, 0xC3}, int64(123)},
		{"{length: 5, type: integer, sign: overpunch}", "ibm037", []byte{0xF0, 0xF0, 0xF1, 0xF2, 0xD3}, int64(-123)},
		{"{length: 5, type: decimal, scale: 2, sign: overpunch}", "ibm1140", []byte{0xF0, 0xF0, 0xF1, 0xF2, 0xD0}, json.Number("-1.20")},
		{"{length: 5, type: integer, sign: overpunch}", "ibm037", []byte{0xF0, 0xC0, 0xF1, 0xF2, 0xD3}, "F0 C0 F1 F2 D3 is not an EBCDIC zoned decimal: digits F0-F9, the last byte's zone C, D or F"},
		// SIGN LEADING: the first byte's zone carries the sign.
		{"{length: 5, type: integer, sign: leading_overpunch}", "ibm037", []byte{0xD0, 0xF0, 0xF1, 0xF2, 0xF3}, int64(-123)},
		{"{length: 5, type: integer, sign: leading_overpunch}", "ibm037", []byte{0xC1, 0xF0, 0xF1, 0xF2, 0xF3}, int64(10123)},
		{"{length: 5, type: decimal, scale: 2, sign: leading_overpunch}", "ibm1047", []byte{0xD1, 0xF2, 0xF3, 0xF4, 0xF5}, json.Number("-123.45")},
		{"{length: 5, type: integer, sign: leading_overpunch}", "ibm037", []byte{0xF0, 0xF0, 0xF1, 0xF2, 0xD3}, "F0 F0 F1 F2 D3 is not an EBCDIC zoned decimal: digits F0-F9, the first byte's zone C, D or F"},
		{"{length: 3, type: integer, sign: leading_overpunch}", "latin1", []byte("J23"), int64(-123)},
		{"{length: 3, type: integer, sign: leading_overpunch}", "latin1", []byte("A23"), int64(123)},
		{"{length: 3, type: integer, sign: leading_overpunch}", "latin1", []byte("}12"), int64(-12)},
		{"{length: 3, type: integer, sign: leading_overpunch}", "latin1", []byte("{00"), int64(0)},
		{"{length: 4, type: decimal, scale: 1, sign: leading_overpunch, trim: right}", "ascii", []byte("J2  "), json.Number("-1.2")},
		{"{length: 4, type: integer, sign: leading_overpunch, trim: left}", "ascii", []byte("  R5"), int64(-95)},
		{"{length: 3, type: integer, sign: leading_overpunch}", "ascii", []byte("12L"), `"12L" is not a valid integer`},
		// SIGN LEADING SEPARATE and SIGN TRAILING SEPARATE, in EBCDIC text.
		{"{length: 4, type: integer, sign: leading}", "ibm037", ebcdic(t, "-123"), int64(-123)},
		{"{length: 6, type: decimal, scale: 2, sign: trailing}", "ibm037", ebcdic(t, "01234+"), json.Number("12.34")},
		{"{length: 3, type: integer, sign: overpunch}", "latin1", []byte("12C"), int64(123)},
		{"{length: 3, type: integer, sign: overpunch}", "latin1", []byte("12L"), int64(-123)},
		{"{length: 5, type: decimal, scale: 2, blank_when_zero: true}", "ascii", []byte("     "), json.Number("0.00")},
		{"{length: 5, type: integer, blank_when_zero: true}", "ascii", []byte("00042"), int64(42)},
		{"{length: 7, type: date, format: CYYMMDD}", "ascii", []byte("1240115"), time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)},
		{"{length: 7, type: date, format: CYYMMDD}", "ibm037", ebcdic(t, "0991231"), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"{length: 7, type: date, format: CYYMMDD}", "ascii", []byte("X240115"), `"X240115" is not a valid date (CYYMMDD)`},
		{"{length: 6, type: date, format: YYMMDD, pivot_year: 1950}", "ascii", []byte("491231"), time.Date(2049, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"{length: 6, type: date, format: YYMMDD, pivot_year: 1950}", "ascii", []byte("500101"), time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"{length: 6, type: date, format: YYMMDD}", "ascii", []byte("500101"), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"{length: 5, type: date, format: YYJJJ, pivot_year: 1940}", "ascii", []byte("24046"), time.Date(2024, 2, 15, 0, 0, 0, 0, time.UTC)},
		{"{length: 5, type: date, format: YYJJJ, pivot_year: 1940}", "ascii", []byte("99365"), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"{length: 7, type: date, format: MMDDCYY}", "ascii", []byte("0229100"), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		framing := "framing: fixed\nrecord_length: %d\n"
		yml := fmt.Sprintf("name: v\nencoding: %s\n"+framing+"records:\n  - name: r\n    fields:\n      - {name: f, start: 1, %s\n",
			tc.enc, len(tc.in), strings.TrimPrefix(tc.field, "{"))
		l, err := fixedwidth.ParseLayout([]byte(yml))
		if err != nil {
			t.Errorf("%s: %v", tc.field, err)
			continue
		}
		rs := decodeAll(t, l, "v", string(tc.in))
		if len(rs) != 1 {
			t.Errorf("%s % X: %d results", tc.field, tc.in, len(rs))
			continue
		}
		if want, isErr := tc.want.(string); isErr {
			want = "fixedwidth: v: line 1, column 1 (field f): " + want
			if rs[0].err == nil || rs[0].err.Error() != want {
				t.Errorf("%s % X: got %v, want %s", tc.field, tc.in, rs[0].err, want)
			}
			continue
		}
		if rs[0].err != nil {
			t.Errorf("%s % X: %v", tc.field, tc.in, rs[0].err)
			continue
		}
		got := rs[0].rec.Fields["f"]
		if tm, ok := tc.want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(tm) {
				t.Errorf("%s %q = %v, want %v", tc.field, tc.in, got, tm)
			}
		} else if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s % X (-want +got):\n%s", tc.field, tc.in, diff)
			continue
		}
		// Written back, the value gives the same bytes (blank optional
		// values included; a blank-when-zero zero is blank again).
		var out bytes.Buffer
		e := fixedwidth.NewEncoder(&out, l)
		if err := e.Encode(rs[0].rec); err != nil {
			t.Errorf("%s % X: encode: %v", tc.field, tc.in, err)
			continue
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), tc.in) {
			t.Errorf("%s: re-encoded % X, want % X", tc.field, out.Bytes(), tc.in)
		}
	}
}

// TestMainframeEncodeErrors checks values that do not fit are errors, never
// truncated or rounded.
func TestMainframeEncodeErrors(t *testing.T) {
	yml := `
name: enc
encoding: ibm037
framing: fixed
record_length: 24
records:
  - name: r
    fields:
      - {name: p, start: 1, length: 3, type: decimal, scale: 2, storage: packed, signed: true}
      - {name: u, start: 4, length: 3, type: integer, storage: packed, digits: 4}
      - {name: b, start: 7, length: 2, type: integer, storage: binary, signed: true}
      - {name: z, start: 9, length: 4, type: integer, sign: overpunch}
      - {name: d, start: 13, length: 7, type: date, format: CYYMMDD}
      - {name: y, start: 20, length: 5, type: date, format: YYJJJ, pivot_year: 1950}
`
	l := layout(t, yml)
	tests := []struct {
		field string
		v     any
		want  string
	}{
		{"p", json.Number("1234.5"), "value too long for the field: 1234.5 needs 6 digits, the field (columns 1-3, packed) holds 5"},
		{"p", json.Number("1.234"), "1.234 has more than 2 decimal places (implied scale 2); it is not rounded"},
		{"p", 1.5, "1.5 is a binary floating-point number; give an exact decimal (json.Number or text)"},
		{"u", 12345, "value too long for the field: 12345 needs 5 digits, the field (columns 4-6, packed) holds 4"},
		{"u", -1, "-1 is negative and the field is unsigned"},
		{"b", 40000, "value too long for the field: 40000 does not fit 2 signed bytes"},
		{"b", 100000, "value too long for the field: 100000 needs 6 digits, the field (columns 7-8, binary) holds 5"},
		{"z", 12345, "value too long for the field: 12345 needs 5 digits, the field (columns 9-12, display) holds 4"},
		{"d", time.Date(1899, 1, 1, 0, 0, 0, 0, time.UTC), "value too long for the field: year 1899 is outside 1900-2899, which CYY (CYYMMDD) can hold"},
		{"y", time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC), "value too long for the field: year 2050 is outside 1950-2049, the two-digit window of pivot_year 1950"},
	}
	for _, tc := range tests {
		e := fixedwidth.NewEncoder(&bytes.Buffer{}, l)
		err := e.Encode(legacybridge.Record{Type: "r", Fields: map[string]any{tc.field: tc.v}})
		want := "fixedwidth: line 1 (r record), field " + tc.field + ": " + tc.want
		if err == nil || err.Error() != want {
			t.Errorf("%s = %v: got %v, want %s", tc.field, tc.v, err, want)
		}
	}
	// Values that fit, written once.
	var out bytes.Buffer
	e := fixedwidth.NewEncoder(&out, l)
	rec := legacybridge.Record{Type: "r", Fields: map[string]any{"p": "-123.45", "u": 9999, "b": -32768, "z": -42,
		"d": "2024-01-15", "y": time.Date(1950, 12, 31, 0, 0, 0, 0, time.UTC)}}
	if err := e.Encode(rec); err != nil {
		t.Fatal(err)
	}
	e.Close()
	want := append([]byte{0x12, 0x34, 0x5D, 0x09, 0x99, 0x9F, 0x80, 0x00, 0xF0, 0xF0, 0xF4, 0xD2}, ebcdic(t, "124011550365")...)
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("encoded % X, want % X", out.Bytes(), want)
	}
}

// TestFraming checks records by fixed length, lines that hold several
// records (framing auto), a DOS end-of-file byte, a partial last record and
// EBCDIC text.
func TestFraming(t *testing.T) {
	const fields = "records:\n  - name: r\n    fields: [{name: a, start: 1, length: 3}, {name: n, start: 4, length: 2, type: integer}]\n"
	type rec struct {
		A   string
		N   any
		Off int64
		Ln  int
	}
	run := func(l *fixedwidth.Layout, in string) ([]rec, []string) {
		var got []rec
		var errs []string
		for _, r := range decodeAll(t, l, "f", in) {
			if r.err != nil {
				errs = append(errs, r.err.Error())
				continue
			}
			got = append(got, rec{r.rec.Fields["a"].(string), r.rec.Fields["n"], r.rec.Pos.Offset, r.rec.Pos.Line})
		}
		return got, errs
	}
	fixed := layout(t, "name: f\nframing: fixed\nrecord_length: 5\n"+fields)
	got, errs := run(fixed, "abc01def02gh\n03\x1a")
	want := []rec{{"abc", int64(1), 0, 1}, {"def", int64(2), 5, 2}, {"gh\n", int64(3), 10, 3}}
	if diff := cmp.Diff(want, got); diff != "" || errs != nil {
		t.Errorf("fixed (-want +got):\n%s%v", diff, errs)
	}
	_, errs = run(fixed, "abc01def")
	if want := []string{`fixedwidth: f: line 2, column 4 (field n): short line: 3 characters, record type "r" needs 5`}; !cmp.Equal(want, errs) {
		t.Errorf("partial record: %v, want %v", errs, want)
	}
	auto := layout(t, "name: f\nframing: auto\nrecord_length: 5\n"+fields)
	got, errs = run(auto, "abc01def02ghi03\r\njkl04\nmno05pqr\n")
	want = []rec{{"abc", int64(1), 0, 1}, {"def", int64(2), 5, 2}, {"ghi", int64(3), 10, 3}, {"jkl", int64(4), 17, 4}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("auto (-want +got):\n%s", diff)
	}
	if want := []string{"fixedwidth: f: line 5, column 6: record too long: 8 characters, record length is 5 and data follows it"}; !cmp.Equal(want, errs) {
		t.Errorf("auto, 8 characters: %v, want %v", errs, want)
	}
	ebc := layout(t, "name: f\nencoding: cp037\nframing: fixed\nrecord_length: 5\n"+fields)
	in := append(ebcdic(t, "ÄBC01"), ebcdic(t, "x\ny02")...) // 0x25 (LF) inside a record is data
	got, errs = run(ebc, string(in))
	want = []rec{{"ÄBC", int64(1), 0, 1}, {"x\ny", int64(2), 5, 2}}
	if diff := cmp.Diff(want, got); diff != "" || errs != nil {
		t.Errorf("ebcdic (-want +got):\n%s%v", diff, errs)
	}
	if _, err := fixedwidth.ParseLayout([]byte("name: f\nencoding: ibm037\n" + fields)); err == nil || !strings.Contains(err.Error(), "encoding ibm037 has no line ends: set framing: fixed and record_length") {
		t.Errorf("ebcdic with lines: %v", err)
	}
}

// TestNested checks nested batches with controls: counts, a hash total
// with its modulo, amounts selected by a code; a wrong total names both
// values, and the Encoder fills totals it is not given.
func TestNested(t *testing.T) {
	yml := `
name: nested
type_code: {start: 1, length: 1}
records:
  - {name: fh, code: F, role: header, fields: [{name: file_id, start: 2, length: 3}]}
  - {name: bh, code: B, role: header, level: 2, fields: [{name: batch, start: 2, length: 3}]}
  - name: e
    code: E
    fields:
      - {name: kind, start: 2, length: 1}
      - {name: route, start: 3, length: 4, type: integer}
      - {name: amount, start: 7, length: 6, type: decimal, scale: 2}
  - name: bc
    code: C
    role: trailer
    level: 2
    fields:
      - {name: n, start: 2, length: 2, type: integer}
      - {name: hash, start: 4, length: 3, type: integer}
      - {name: credits, start: 7, length: 6, type: decimal, scale: 2}
  - name: fc
    code: Z
    role: trailer
    fields:
      - {name: batches, start: 2, length: 2, type: integer}
      - {name: credits, start: 7, length: 6, type: decimal, scale: 2}
controls:
  - {record: bc, field: n, count: [e]}
  - {record: bc, field: hash, sum: route, of: [e], modulo_digits: 3}
  - {record: bc, field: credits, sum: amount, of: [e], where: {field: kind, in: [c]}}
  - {record: fc, field: batches, count: [bh]}
  - {record: fc, field: credits, sum: amount, of: [e], where: {field: kind, in: [c]}}
`
	l := layout(t, yml)
	in := "F001\nBAAA\nEc0600001000\nEd0500000050\nC02100001000\nBBBB\nEc0001000001\nC01001000001\nZ02   001001\n"
	recs := records(t, decodeAll(t, l, "n.txt", in))
	var env []string
	for _, r := range recs {
		env = append(env, r.Type+":"+r.Envelope["file_id"]+"/"+r.Envelope["batch"])
	}
	wantEnv := []string{"fh:/", "bh:001/", "e:001/AAA", "e:001/AAA", "bc:001/AAA", "bh:001/", "e:001/BBB", "bc:001/BBB", "fc:001/"}
	if diff := cmp.Diff(wantEnv, env); diff != "" {
		t.Errorf("envelopes (-want +got):\n%s", diff)
	}
	if got := recs[4].Fields["credits"]; got != json.Number("10.00") {
		t.Errorf("batch credits = %v", got)
	}

	bad := strings.Replace(in, "C02100001000", "C02101001100", 1)
	var errs []string
	for _, r := range decodeAll(t, l, "n.txt", bad) {
		if r.err != nil {
			errs = append(errs, r.err.Error())
			if errors.Is(r.err, fixedwidth.ErrControlTotal) != strings.Contains(r.err.Error(), "hash") {
				t.Errorf("%v: errors.Is(ErrControlTotal) wrong", r.err)
			}
		}
	}
	wantErrs := []string{
		"fixedwidth: n.txt: line 5, column 4 (field hash): control total mismatch: bc.hash says 101, route of the e records sum to 100; correct the trailer or find the records that are missing or wrong",
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	bad = strings.Replace(in, "Z02   001001", "Z03   001001", 1)
	rs := decodeAll(t, l, "n.txt", bad)
	if err := rs[len(rs)-1].err; err == nil || !errors.Is(err, fixedwidth.ErrTrailerCount) ||
		!strings.Contains(err.Error(), "fc.batches says 3, bh records counted 2") {
		t.Errorf("file control: %v", err)
	}

	// Order: an entry outside a batch, a file control inside one.
	for _, c := range []struct{ in, want string }{
		{"F001\nEc0600001000\n", `line 2, column 1: record out of order: "e" record before any "bh" record`},
		{"F001\nBAAA\nZ00   000000\n", `line 3, column 1: record out of order: "fc" record before the "bc" record closing the batch opened at line 2`},
		{"BAAA\n", `line 1, column 1: record out of order: "bh" record before any "fh" record`},
	} {
		rs := decodeAll(t, l, "o.txt", c.in)
		var got error
		for _, r := range rs {
			if errors.Is(r.err, fixedwidth.ErrOrder) {
				got = r.err
				break
			}
		}
		if got == nil || !strings.Contains(got.Error(), c.want) {
			t.Errorf("%q: %v, want %s", c.in, got, c.want)
		}
	}

	// The Encoder fills totals left out, and the result decodes.
	for i := range recs {
		if recs[i].Type == "bc" || recs[i].Type == "fc" {
			for k := range recs[i].Fields {
				recs[i].Fields[k] = nil
			}
		}
	}
	if out := encodeAll(t, l, "\n", recs); out != in {
		t.Errorf("encoded with totals filled:\n%s\nwant\n%s", out, in)
	}
	recs[4].Fields["credits"] = json.Number("9.99")
	e := fixedwidth.NewEncoder(&bytes.Buffer{}, l)
	var err error
	for _, r := range recs {
		if err = e.Encode(r); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "bc.credits says 9.99, amount of the e records where kind in c sum to 10.00") {
		t.Errorf("encode wrong total: %v", err)
	}
}
