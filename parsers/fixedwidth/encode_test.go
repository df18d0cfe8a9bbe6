package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// recordLines returns the lines of a drop that hold records: comment lines,
// empty lines and a trailing DOS end-of-file byte are not records.
func recordLines(data []byte) (lines []string, newline string) {
	newline = "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		newline = "\r\n"
	}
	data = bytes.TrimSuffix(data, []byte{0x1A})
	for _, l := range strings.Split(string(data), newline) {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	return lines, newline
}

// encodeAll encodes recs with l and returns the output.
func encodeAll(t testing.TB, l *fixedwidth.Layout, newline string, recs []legacybridge.Record) string {
	t.Helper()
	var b bytes.Buffer
	e := fixedwidth.NewEncoder(&b, l)
	e.Newline = newline
	for _, r := range recs {
		if err := e.Encode(r); err != nil {
			t.Fatalf("Encode %s record %v: %v", r.Type, r.Fields, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRoundTripDemo decodes the demo drops with the parser and encodes the
// records back with the same layout: every record line comes out byte for
// byte as it was (multi-byte text, CRLF, signed implied decimals, dates in
// America/Chicago, blank optional fields, the trailer count).
func TestRoundTripDemo(t *testing.T) {
	l := demoLayout(t)
	files, err := filepath.Glob(filepath.Join(demoDrops, "*.txt"))
	if err != nil || len(files) < 2 {
		t.Fatalf("demo drops: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs := records(t, decodeAll(t, l, filepath.Base(path), string(data)))
			lines, nl := recordLines(data)
			got := encodeAll(t, l, nl, recs)
			want := strings.Join(lines, nl) + nl
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("re-encoded drop differs (-original +encoded):\n%s", diff)
			}
		})
	}
}

// TestRoundTripGenerated encodes generated movements (random multi-byte
// text, signs, times across daylight-saving changes) after decoding them,
// and decodes the output again: the values are the same.
func TestRoundTripGenerated(t *testing.T) {
	l := demoLayout(t)
	for seed := range uint64(5) {
		in := newMovementGen(seed).stream(300)
		recs := records(t, decodeAll(t, l, "gen", in))
		out := encodeAll(t, l, "\n", recs)
		again := records(t, decodeAll(t, l, "gen", out))
		strip := func(rs []legacybridge.Record) []map[string]any {
			var fs []map[string]any
			for _, r := range rs {
				fs = append(fs, r.Fields)
			}
			return fs
		}
		if diff := cmp.Diff(strip(recs), strip(again)); diff != "" {
			t.Fatalf("seed %d: values changed through encode and decode (-before +after):\n%s", seed, diff)
		}
	}
}

const encLayout = `
name: enc
record_length: 40
type_code: {start: 1, length: 1}
records:
  - name: h
    code: H
    role: header
    fields:
      - {name: id, start: 2, length: 6, required: true}
      - {name: day, start: 8, length: 8, type: date, format: YYYYMMDD, null_if: ["00000000"]}
  - name: d
    code: D
    fields:
      - {name: text, start: 2, length: 6}
      - {name: right, start: 8, length: 6, trim: left, pad: "*"}
      - {name: n, start: 14, length: 5, type: integer}
      - {name: lead, start: 19, length: 6, type: decimal, scale: 2, sign: leading}
      - {name: trail, start: 25, length: 5, type: integer, sign: trailing, trim: left}
      - {name: over, start: 30, length: 4, type: decimal, scale: 1, sign: overpunch}
      - {name: point, start: 34, length: 7, type: decimal, trim: right}
  - name: t
    code: T
    role: trailer
    fields:
      - {name: count, start: 2, length: 4, type: integer}
trailer_count: {record: t, field: count}
`

// TestEncodeFormats pins how each kind of field is written.
func TestEncodeFormats(t *testing.T) {
	l := layout(t, encLayout)
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	recs := []legacybridge.Record{
		{Type: "h", Fields: map[string]any{"id": "A1", "day": time.Date(2024, 12, 2, 3, 0, 0, 0, chicago)}},
		{Type: "d", Fields: map[string]any{"text": "ab", "right": "xy", "n": int64(42), "lead": json.Number("-1.5"),
			"trail": "-7", "over": json.Number("-12.3"), "point": json.Number("486.50")}},
		{Type: "d", Fields: map[string]any{"n": json.Number("1.20e2"), "lead": "3", "trail": 0, "over": json.Number("4"), "point": "-0.0"}},
		{Type: "d", Fields: map[string]any{"text": "ÉÈ", "n": json.Number("-0"), "lead": json.Number("2.500"), "over": json.Number("0")}},
		{Type: "t"},
		{Type: "h", Fields: map[string]any{"id": "B2", "day": "2024-12-02T05:30:00Z"}},
		{Type: "t", Fields: map[string]any{"count": json.Number("0")}},
	}
	got := encodeAll(t, l, "\r\n", recs)
	want := strings.Join([]string{
		// The date is moved to the layout's zone (UTC).
		"HA1    20241202                         ",
		"Dab    ****xy00042-00150   7-012L486.50 ",
		"D      ******00120+00300   0+004{0.0    ",
		"DÉÈ    ******00000+00250     000{       ",
		"T0003                                   ",
		"HB2    20241202                         ",
		"T0000                                   ",
	}, "\r\n") + "\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// What was written decodes to the values given.
	back := records(t, decodeAll(t, l, "enc", got))
	for i, w := range []map[string]any{
		{"text": "ab", "right": "xy", "n": int64(42), "lead": json.Number("-1.50"), "trail": int64(-7), "over": json.Number("-12.3"), "point": json.Number("486.50")},
		{"text": "", "right": "", "n": int64(120), "lead": json.Number("3.00"), "trail": int64(0), "over": json.Number("4.0"), "point": json.Number("0.0")},
	} {
		if diff := cmp.Diff(w, back[i+1].Fields); diff != "" {
			t.Errorf("record %d decoded (-want +got):\n%s", i+2, diff)
		}
	}
}

// TestEncodeNull writes nil as the first null_if value, or blank.
func TestEncodeNull(t *testing.T) {
	l := layout(t, encLayout)
	got := encodeAll(t, l, "\n", []legacybridge.Record{
		{Type: "h", Fields: map[string]any{"id": "X", "day": nil}},
		{Type: "t"},
	})
	if want := "HX     00000000                         \nT0000                                   \n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestEncodeErrors: nothing is truncated, rounded or guessed; every error
// names the line, the record type and the field.
func TestEncodeErrors(t *testing.T) {
	l := layout(t, encLayout)
	head := legacybridge.Record{Type: "h", Fields: map[string]any{"id": "A"}}
	cases := []struct {
		name  string
		recs  []legacybridge.Record
		is    error
		field string
		text  string
	}{
		{"string too long", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"text": "abcdefg"}}},
			fixedwidth.ErrTooLong, "text", `line 2 (d record), field text: value too long for the field: "abcdefg" is 7 characters, the field (columns 2-7) holds 6`},
		{"integer too long", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"n": int64(123456)}}},
			fixedwidth.ErrTooLong, "n", "123456 needs 6 columns, the field (columns 14-18) holds 5"},
		{"sign takes a column", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"lead": json.Number("1234.5")}}},
			fixedwidth.ErrTooLong, "lead", "1234.5 needs 7 columns"},
		{"more decimals than the scale", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"lead": json.Number("1.234")}}},
			fixedwidth.ErrValue, "lead", "1.234 has more than 2 decimal places (implied scale 2); it is not rounded"},
		{"not a whole number", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"n": json.Number("2.5")}}},
			fixedwidth.ErrValue, "n", "2.5 is not a whole number"},
		{"float", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"n": 2.0}}},
			fixedwidth.ErrValue, "n", "binary floating-point"},
		{"not a number", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"n": "12a"}}},
			fixedwidth.ErrValue, "n", `"12a" is not a number`},
		{"required", []legacybridge.Record{{Type: "h", Fields: map[string]any{"id": ""}}},
			fixedwidth.ErrRequired, "id", "required field is blank"},
		{"required missing", []legacybridge.Record{{Type: "h"}},
			fixedwidth.ErrRequired, "id", "required field is blank"},
		{"control character", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"text": "a\nb"}}},
			fixedwidth.ErrValue, "text", "control character"},
		{"bad date", []legacybridge.Record{{Type: "h", Fields: map[string]any{"id": "A", "day": "02.12.2024"}}},
			fixedwidth.ErrValue, "day", "is not a date"},
		{"unknown field", []legacybridge.Record{head, {Type: "d", Fields: map[string]any{"qty": 1}}},
			fixedwidth.ErrUnknownField, "qty", `record type "d" of layout enc has no field "qty"`},
		{"unknown record type", []legacybridge.Record{head, {Type: "x"}},
			fixedwidth.ErrUnknownRecord, "", `no such record type "x" in layout enc`},
		{"detail before header", []legacybridge.Record{{Type: "d"}},
			fixedwidth.ErrOrder, "", `"d" record before any "h" record`},
		{"header in open batch", []legacybridge.Record{head, head},
			fixedwidth.ErrOrder, "", `"h" record before the "t" record closing the open batch`},
		{"wrong count", []legacybridge.Record{head, {Type: "d"}, {Type: "t", Fields: map[string]any{"count": 2}}},
			fixedwidth.ErrTrailerCount, "count", "trailer says 2, 1 records were written"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			e := fixedwidth.NewEncoder(&b, l)
			e.Name = "out.txt"
			var err error
			for _, r := range c.recs {
				if err = e.Encode(r); err != nil {
					break
				}
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("error %v, want one wrapping %v", err, c.is)
			}
			var ee *fixedwidth.EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T) is not an *EncodeError", err, err)
			}
			if ee.Field != c.field || ee.File != "out.txt" || ee.Line != len(c.recs) {
				t.Errorf("error at file %q line %d field %q, want out.txt, %d, %q", ee.File, ee.Line, ee.Field, len(c.recs), c.field)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not say %q", err, c.text)
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(b.String(), "\n"); n != len(c.recs)-1 {
				t.Errorf("%d lines written, want %d (nothing of the failed record)", n, len(c.recs)-1)
			}
		})
	}
}

// TestEncodeCloseWithoutTrailer: output that ends in an open batch is not
// complete.
func TestEncodeCloseWithoutTrailer(t *testing.T) {
	var b bytes.Buffer
	e := fixedwidth.NewEncoder(&b, layout(t, encLayout))
	if err := e.Encode(legacybridge.Record{Type: "h", Fields: map[string]any{"id": "A"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); !errors.Is(err, fixedwidth.ErrNoTrailer) {
		t.Fatalf("Close: %v, want ErrNoTrailer", err)
	}
}

// TestEncodeCharsets: single-byte layouts are written in their encoding, and
// a character the encoding lacks is an error naming the field; byte columns
// count UTF-8 bytes.
func TestEncodeCharsets(t *testing.T) {
	one := func(enc, cols string) *fixedwidth.Layout {
		return layout(t, "name: cs\nencoding: "+enc+"\ncolumns: "+cols+"\nrecords:\n  - name: r\n    fields:\n      - {name: a, start: 1, length: 4}\n      - {name: b, start: 5, length: 2}\n")
	}
	enc := func(l *fixedwidth.Layout, a string) (string, error) {
		var b bytes.Buffer
		e := fixedwidth.NewEncoder(&b, l)
		if err := e.Encode(legacybridge.Record{Type: "r", Fields: map[string]any{"a": a, "b": "z"}}); err != nil {
			return "", err
		}
		err := e.Close()
		return b.String(), err
	}
	if got, err := enc(one("iso-8859-1", "characters"), "Éa"); err != nil || got != "\xC9a  z \n" {
		t.Errorf("latin1: %q, %v", got, err)
	}
	if got, err := enc(one("windows-1252", "characters"), "€"); err != nil || got != "\x80   z \n" {
		t.Errorf("cp1252: %q, %v", got, err)
	}
	if _, err := enc(one("iso-8859-1", "characters"), "€"); !errors.Is(err, fixedwidth.ErrEncoding) || !strings.Contains(err.Error(), "field a") {
		t.Errorf("latin1 euro: %v, want ErrEncoding naming field a", err)
	}
	if _, err := enc(one("ascii", "characters"), "é"); !errors.Is(err, fixedwidth.ErrEncoding) {
		t.Errorf("ascii: %v, want ErrEncoding", err)
	}
	if got, err := enc(one("utf-8", "bytes"), "é"); err != nil || got != "é  z \n" {
		t.Errorf("utf-8 bytes: %q, %v", got, err)
	}
	if _, err := enc(one("utf-8", "bytes"), "éé1"); !errors.Is(err, fixedwidth.ErrTooLong) || !strings.Contains(err.Error(), "5 bytes") {
		t.Errorf("utf-8 bytes too long: %v", err)
	}
	if got, err := enc(one("utf-8", "characters"), "éééé"); err != nil || got != "éééé"+"z \n" {
		t.Errorf("utf-8 characters: %q, %v", got, err)
	}
}

// TestEncodeBadLayout reports the layout's problems.
func TestEncodeBadLayout(t *testing.T) {
	e := fixedwidth.NewEncoder(&bytes.Buffer{}, &fixedwidth.Layout{Name: "x"})
	var le *fixedwidth.LayoutError
	if err := e.Encode(legacybridge.Record{Type: "r"}); !errors.As(err, &le) {
		t.Fatalf("Encode: %v, want a *LayoutError", err)
	}
}

// TestEncoderReset: one Encoder writes several outputs; state from the
// previous one (an open batch, counts) does not leak into the next.
func TestEncoderReset(t *testing.T) {
	l := layout(t, encLayout)
	var a, b bytes.Buffer
	e := fixedwidth.NewEncoder(&a, l)
	for _, r := range []legacybridge.Record{{Type: "h", Fields: map[string]any{"id": "A"}}, {Type: "d"}, {Type: "d"}} {
		if err := e.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	e.Reset(&b) // abandons the open batch of a
	for _, r := range []legacybridge.Record{{Type: "h", Fields: map[string]any{"id": "B"}}, {Type: "d"}, {Type: "t"}} {
		if err := e.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 0 {
		t.Errorf("the first output got %q after Reset", a.String())
	}
	want := encodeAll(t, l, "\n", []legacybridge.Record{{Type: "h", Fields: map[string]any{"id": "B"}}, {Type: "d"}, {Type: "t"}})
	if b.String() != want {
		t.Errorf("after Reset: %q, want %q", b.String(), want)
	}
}
