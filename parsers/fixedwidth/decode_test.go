package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestGolden decodes the demo drops and compares the records, as JSON, with
// testdata/golden.
func TestGolden(t *testing.T) {
	l := demoLayout(t)
	files, err := filepath.Glob(filepath.Join(demoDrops, "*.txt"))
	if err != nil || len(files) < 2 {
		t.Fatalf("demo drops: %v %v", files, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs := records(t, decodeAll(t, l, name, string(data)))
			got, err := json.MarshalIndent(recs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".txt")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-golden +got):\n%s", name, diff)
			}
		})
	}
}

// TestDemoTyped checks the typed values of the demo drops, beyond the
// golden text: Go types, the header carried in the envelope, CRLF and the
// 0x1A byte of the second drop.
func TestDemoTyped(t *testing.T) {
	l := demoLayout(t)
	data, err := os.ReadFile(filepath.Join(demoDrops, "INV20240116-001.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\r\n\x1a")) {
		t.Fatalf("fixture should end with CRLF and 0x1A")
	}
	recs := records(t, decodeAll(t, l, "INV20240116-001.txt", string(data)))
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	wantTypes := []string{"header", "movement", "movement", "movement", "movement", "movement", "movement", "trailer"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Fatalf("record types (-want +got):\n%s", diff)
	}
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	m := recs[2]
	want := map[string]any{
		"transaction_id":    int64(785121),
		"item":              "FST-HB-Ø12X60",
		"item_description":  "HEX BOLT Ø12×60 10.9 — ZP",
		"from_subinventory": "STORES",
		"from_locator":      "C-05-01-B",
		"to_subinventory":   "LINE2",
		"to_locator":        "WIP-L2-03",
		"transaction_type":  "XFER",
		"quantity":          json.Number("150.000"),
		"uom":               "EA",
		"transacted_at":     time.Date(2024, 1, 16, 7, 12, 0, 0, chicago),
		"lot":               "",
		"reference":         "TO-77890",
		"entered_by":        "ØHANSEN",
	}
	if diff := cmp.Diff(want, m.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if got := m.Envelope["plant"]; got != "MEM2" {
		t.Errorf("envelope plant = %q, want MEM2", got)
	}
	if got := m.Envelope["run_id"]; got != "0000004733" {
		t.Errorf("envelope run_id = %q, want 0000004733", got)
	}
	if got := recs[4].Fields["quantity"]; got != json.Number("-0.750") {
		t.Errorf("negative quantity = %#v, want -0.750", got)
	}
	// Line 3 starts after the comment line and the header, CRLF each.
	lines := strings.SplitAfter(string(data), "\r\n")
	wantPos := legacybridge.Position{File: "INV20240116-001.txt", Offset: int64(len(lines[0]) + len(lines[1])), Line: 3, Tag: "movement", Index: 1}
	if diff := cmp.Diff(wantPos, recs[1].Pos); diff != "" {
		t.Errorf("position (-want +got):\n%s", diff)
	}
	for _, r := range recs {
		for k, v := range r.Fields {
			if _, ok := v.(float64); ok {
				t.Errorf("field %s is a float64", k)
			}
		}
	}
}

// TestErrors checks each kind of bad input names its line and column, and
// that decoding goes on after it.
func TestErrors(t *testing.T) {
	l := demoLayout(t)
	d := demoDetail(nil)
	line := func(n int) int64 { return int64(181 * (n - 1)) } // every line is 180 columns + LF
	tests := []struct {
		name   string
		lines  []string
		at     int // index of the failing Decode
		want   string
		is     error
		offset int64
		total  int // Decode results before io.EOF
	}{
		{
			name:   "bad integer",
			lines:  []string{demoHeader, d, d, demoDetail(map[int]string{2: "0000007845X1"}), demoTrailer("000000003")},
			at:     3,
			want:   `fixedwidth: inventory.txt: line 4, column 2 (field transaction_id): "0000007845X1" is not a valid integer`,
			is:     fixedwidth.ErrValue,
			offset: line(4) + 1,
			total:  5,
		},
		{
			name:   "bad decimal",
			lines:  []string{demoHeader, d, d, demoDetail(map[int]string{110: "+0000001250X"}), demoTrailer("000000003")},
			at:     3,
			want:   `fixedwidth: inventory.txt: line 4, column 110 (field quantity): "+0000001250X" is not a valid decimal`,
			is:     fixedwidth.ErrValue,
			offset: line(4) + 109,
			total:  5,
		},
		{
			name:   "short line",
			lines:  []string{demoHeader, d, d[:100], demoTrailer("000000002")},
			at:     2,
			want:   `fixedwidth: inventory.txt: line 3, column 101 (field to_locator): short line: 100 characters, record type "movement" needs 180`,
			is:     fixedwidth.ErrShortLine,
			offset: line(3) + 100,
			total:  4,
		},
		{
			name:   "unknown type code",
			lines:  []string{demoHeader, d, "X" + d[1:], demoTrailer("000000001")},
			at:     2,
			want:   `fixedwidth: inventory.txt: line 3, column 1: unknown record type code "X"`,
			is:     fixedwidth.ErrUnknownType,
			offset: line(3),
			total:  4,
		},
		{
			name:   "trailer count mismatch",
			lines:  []string{demoHeader, d, d, demoTrailer("000000003")},
			at:     3,
			want:   `fixedwidth: inventory.txt: line 4, column 2 (field record_count): trailer count mismatch: trailer says 3, counted 2 detail records`,
			is:     fixedwidth.ErrTrailerCount,
			offset: line(4) + 1,
			total:  4,
		},
		{
			name:   "missing trailer",
			lines:  []string{demoHeader, d},
			at:     2,
			want:   `fixedwidth: inventory.txt: end of input (byte offset 362): missing trailer: input ends without a "trailer" record after 2 records`,
			is:     fixedwidth.ErrNoTrailer,
			offset: 362,
			total:  3,
		},
		{
			name:   "bad date",
			lines:  []string{demoHeader, demoDetail(map[int]string{125: "20240231061204"}), demoTrailer("000000001")},
			at:     1,
			want:   `fixedwidth: inventory.txt: line 2, column 125 (field transacted_at): "20240231061204" is not a valid date (YYYYMMDDHHMMSS)`,
			is:     fixedwidth.ErrValue,
			offset: line(2) + 124,
			total:  3,
		},
		{
			name:   "required blank",
			lines:  []string{demoHeader, demoDetail(map[int]string{14: strings.Repeat(" ", 18)}), demoTrailer("000000001")},
			at:     1,
			want:   `fixedwidth: inventory.txt: line 2, column 14 (field item): required field is blank`,
			is:     fixedwidth.ErrRequired,
			offset: line(2) + 13,
			total:  3,
		},
		{
			name:   "data past record length",
			lines:  []string{demoHeader, d + "  X", demoTrailer("000000001")},
			at:     1,
			want:   `fixedwidth: inventory.txt: line 2, column 183: record too long: 183 characters, record length is 180 and data follows it`,
			is:     fixedwidth.ErrLongLine,
			offset: line(2) + 182,
			total:  3,
		},
		{
			name:   "multi-byte characters before the fault",
			lines:  []string{demoHeader, demoDetail(map[int]string{32: "CAFÉ — DÉCOR", 110: "+00000012.50"}), demoTrailer("000000001")},
			at:     1,
			want:   `fixedwidth: inventory.txt: line 2, column 110 (field quantity): "+00000012.50" is not a valid decimal`,
			is:     fixedwidth.ErrValue,
			offset: line(2) + 109 + 1 + 2 + 1, // É, — and É take 2, 3 and 2 bytes
			total:  3,
		},
		{
			name:   "invalid UTF-8",
			lines:  []string{demoHeader, demoDetail(map[int]string{32: "CAFÉ"})[:37] + "\xff" + d[37:], demoTrailer("000000001")},
			at:     1,
			want:   `fixedwidth: inventory.txt: line 2, column 37: invalid encoding: byte 0xFF is not UTF-8`,
			is:     fixedwidth.ErrEncoding,
			offset: line(2) + 37,
			total:  3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := decodeAll(t, l, "inventory.txt", strings.Join(tc.lines, "\n")+"\n")
			if len(rs) != tc.total {
				t.Fatalf("got %d results, want %d: %v", len(rs), tc.total, rs)
			}
			for i, r := range rs {
				if i != tc.at && r.err != nil {
					t.Errorf("result %d: unexpected error %v", i, r.err)
				}
			}
			err := rs[tc.at].err
			if err == nil {
				t.Fatalf("result %d: no error, want %q", tc.at, tc.want)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			var pl legacybridge.Placer
			if !errors.As(err, &pl) {
				t.Fatalf("%T is not a Placer", err)
			}
			p := pl.Place()
			if p.Offset != tc.offset || p.File != "inventory.txt" {
				t.Errorf("Place() = %+v, want offset %d in inventory.txt", p, tc.offset)
			}
		})
	}
}

// TestParser checks the legacybridge.Parser adapter, and that a trailer
// count mismatch surfaces from Read.
func TestParser(t *testing.T) {
	var p legacybridge.Parser = fixedwidth.Parser{Layout: demoLayout(t)}
	in := strings.Join([]string{demoHeader, demoDetail(nil), demoTrailer("000000007")}, "\n")
	rr := p.NewReader(strings.NewReader(in), "INV1.txt")
	var got []string
	var last error
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			last = err
			continue
		}
		got = append(got, rec.Type+"@"+rec.Pos.String())
	}
	want := []string{"header@INV1.txt: line 1, byte offset 0", "movement@INV1.txt: line 2, byte offset 181"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if !errors.Is(last, fixedwidth.ErrTrailerCount) {
		t.Fatalf("last error = %v, want a trailer count mismatch", last)
	}
	var pl legacybridge.Placer
	if !errors.As(last, &pl) || pl.Place().Line != 3 || pl.Place().Tag != "trailer" {
		t.Errorf("place = %+v, want line 3 of the trailer", pl)
	}
}

// TestEnvelope checks header fields reach the records after their header,
// and a second header replaces the first.
func TestEnvelope(t *testing.T) {
	l := demoLayout(t)
	h2 := "HMEM2" + demoHeader[5:]
	in := strings.Join([]string{demoHeader, demoDetail(nil), demoTrailer("000000001"),
		h2, demoDetail(nil), demoDetail(nil), demoTrailer("000000002")}, "\n") + "\n"
	recs := records(t, decodeAll(t, l, "x", in))
	var plants []string
	for _, r := range recs {
		plants = append(plants, r.Type+":"+r.Envelope["plant"])
	}
	want := []string{"header:", "movement:DAL1", "trailer:DAL1", "header:", "movement:MEM2", "movement:MEM2", "trailer:MEM2"}
	if diff := cmp.Diff(want, plants); diff != "" {
		t.Errorf("envelope plants (-want +got):\n%s", diff)
	}
	wantEnv := map[string]string{"plant": "DAL1", "plant_name": "DALLAS DISTRIBUTION CENTER",
		"exported_at": "2024-01-15T22:15:00-06:00", "run_id": "0000004711", "source_system": "INVX400"}
	if diff := cmp.Diff(wantEnv, recs[1].Envelope); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
}

// TestCounts checks counts: records, which includes the header and the
// trailer itself.
func TestCounts(t *testing.T) {
	yml := `
name: counted
type_code: {start: 1, length: 1}
records:
  - {name: h, code: H, role: header, fields: [{name: batch, start: 2, length: 3}]}
  - {name: d, code: D, fields: [{name: v, start: 2, length: 3}]}
  - {name: t, code: T, role: trailer, fields: [{name: n, start: 2, length: 3, type: integer}]}
trailer_count: {record: t, field: n, counts: records}
`
	l := layout(t, yml)
	rs := decodeAll(t, l, "c.txt", "H001\nD aa\nD bb\nT004\nH002\nT001\n")
	var errs []string
	for _, r := range rs {
		if r.err != nil {
			errs = append(errs, r.err.Error())
		}
	}
	want := []string{`fixedwidth: c.txt: line 6, column 2 (field n): trailer count mismatch: trailer says 1, counted 2 records`}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestCase28 is CASES.md entry 28: columns are characters for UTF-8.
func TestCase28(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", "28_fixed_utf8_columns.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const fields = `
    fields:
      - {name: name, start: 1, length: 10}
      - {name: code, start: 11, length: 4}
      - {name: qty, start: 15, end: 19, type: integer}
`
	chars := layout(t, "name: case28\nrecords:\n  - name: item"+fields)
	got := records(t, decodeAll(t, chars, "28", string(data)))
	want := []map[string]any{
		{"name": "CAFÉ DÉCOR", "code": "A001", "qty": int64(12)},
		{"name": "PLAIN NAME", "code": "B002", "qty": int64(5)},
		{"name": "—DASH ITEM", "code": "C003", "qty": int64(1)},
	}
	if diff := cmp.Diff(want, fieldsOf(got)); diff != "" {
		t.Errorf("character columns (-want +got):\n%s", diff)
	}

	// The same layout in bytes reads what the case calls wrong, without
	// splitting a character here...
	byteCols := layout(t, "name: case28\ncolumns: bytes\nrecords:\n  - name: item"+strings.Replace(fields, "type: integer", "type: string", 1))
	got = records(t, decodeAll(t, byteCols, "28", string(data)))
	if g := got[0].Fields; g["name"] != "CAFÉ DÉC" || g["code"] != "ORA0" {
		t.Errorf("byte columns, line 1 = %v, want name CAFÉ DÉC, code ORA0", g)
	}
	// ...and a byte layout whose boundary splits É is rejected.
	split := layout(t, "name: split\ncolumns: bytes\nrecords:\n  - name: item\n    fields: [{name: a, start: 1, length: 4}, {name: b, start: 5, length: 6}]\n")
	rs := decodeAll(t, split, "28", string(data))
	want2 := `fixedwidth: 28: line 1, column 5 (field a): column boundary splits a multi-byte character at column 5`
	if rs[0].err == nil || rs[0].err.Error() != want2 {
		t.Errorf("split boundary: got %v, want %s", rs[0].err, want2)
	}
	if rs[1].err != nil {
		t.Errorf("line 2 is ASCII, got %v", rs[1].err)
	}
}

// TestCase33 is CASES.md entry 33: short lines are an error naming the
// line, or padded when the layout says so; no field reads another line.
func TestCase33(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", "33_fixed_short_lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const base = `name: case33
records:
  - name: item
    fields:
      - {name: id, start: 1, length: 4}
      - {name: name, start: 5, length: 10}
      - {name: note, start: 15, length: 10}
`
	rs := decodeAll(t, layout(t, base), "33.txt", string(data))
	var got []string
	for _, r := range rs {
		if r.err != nil {
			got = append(got, r.err.Error())
		} else {
			got = append(got, r.rec.Fields["id"].(string)+"|"+r.rec.Fields["name"].(string)+"|"+r.rec.Fields["note"].(string))
		}
	}
	want := []string{
		"0001|WIDGET|FRAGILE",
		`fixedwidth: 33.txt: line 2, column 9 (field name): short line: 8 characters, record type "item" needs 24`,
		`fixedwidth: 33.txt: line 3, column 15 (field note): short line: 14 characters, record type "item" needs 24`,
		"0004||LAST",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strict (-want +got):\n%s", diff)
	}

	padded := records(t, decodeAll(t, layout(t, base+"pad_short_lines: true\n"), "33.txt", string(data)))
	wantPadded := []map[string]any{
		{"id": "0001", "name": "WIDGET", "note": "FRAGILE"},
		{"id": "0002", "name": "BOLT", "note": ""},
		{"id": "0003", "name": "NUT", "note": ""},
		{"id": "0004", "name": "", "note": "LAST"},
	}
	if diff := cmp.Diff(wantPadded, fieldsOf(padded)); diff != "" {
		t.Errorf("padded (-want +got):\n%s", diff)
	}
}

func fieldsOf(recs []legacybridge.Record) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		out = append(out, r.Fields)
	}
	return out
}

// TestLongLine decodes records longer than bufio's 64 KiB token limit
// (CASES.md entry 29), including fields that alone exceed it, and reports a
// line over MaxLineBytes as an error naming the line, then goes on.
func TestLongLine(t *testing.T) {
	yml := `
name: long
type_code: {start: 1, length: 1}
records:
  - name: big
    code: H
    fields:
      - {name: head, start: 2, length: 9}
      - {name: blob, start: 11, end: 69990}
      - {name: tail, start: 69991, length: 10, type: integer}
  - name: wide
    code: W
    fields:
      - {name: a, start: 2, length: 5}
      - {name: b, start: 70001, length: 5}
  - name: small
    code: D
    fields:
      - {name: id, start: 2, length: 4, type: integer}
      - {name: text, start: 6, length: 5}
`
	l := layout(t, yml)
	blob := strings.Repeat("X", 69980-3) + "É  " // multi-byte character near the end
	big := "H" + "  HEAD   " + blob + "0000000042"
	wide := "Wa    " + strings.Repeat("é", 69994) + "bbbbb" + strings.Repeat(" ", 5000)
	filler := "D0002FILLR" + strings.Repeat(" ", 70000) // long, but its fields are near the start
	in := big + "\n" + wide + "\r\nD0001SHORT\n"
	got := fieldsOf(records(t, decodeAll(t, l, "29", in+filler)))
	want := []map[string]any{
		{"head": "HEAD", "blob": strings.TrimSpace(blob), "tail": int64(42)},
		{"a": "a", "b": "bbbbb"},
		{"id": int64(1), "text": "SHORT"},
		{"id": int64(2), "text": "FILLR"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("long lines (-want +got):\n%.2000s", diff)
	}

	d := fixedwidth.NewDecoder(strings.NewReader(in), l)
	d.Name = "29"
	d.MaxLineBytes = 1000
	_, err := d.Decode()
	if want := "fixedwidth: 29: line 1: line too long (over 1000 bytes)"; err == nil || err.Error() != want {
		t.Errorf("first Decode: %v, want %s", err, want)
	}
	_, err = d.Decode()
	if err == nil || !errors.Is(err, fixedwidth.ErrLineTooLong) || parseError(t, err).Line != 2 {
		t.Errorf("second Decode: %v, want line 2 too long", err)
	}
	rec, err := d.Decode()
	if err != nil || rec.Fields["text"] != "SHORT" || rec.Pos.Line != 3 {
		t.Errorf("third Decode: %+v, %v; want the short record on line 3", rec, err)
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Errorf("fourth Decode: %v, want io.EOF", err)
	}
}

// TestLineEnds checks LF, CRLF, no final newline, a BOM, blank and comment
// lines, and 0x1A only at the very end.
func TestLineEnds(t *testing.T) {
	yml := `
name: ends
comment_prefix: "*"
records:
  - name: r
    fields: [{name: v, start: 1, length: 3, trim: none}]
`
	l := layout(t, yml)
	tests := []struct {
		in   string
		want []string
	}{
		{"abc\ndef\n", []string{"abc@0", "def@4"}},
		{"abc\r\ndef\r\n", []string{"abc@0", "def@5"}},
		{"abc\ndef", []string{"abc@0", "def@4"}},
		{"\uFEFFabc\ndef\n", []string{"abc@3", "def@7"}},
		{"abc\n\n* comment\r\ndef\n", []string{"abc@0", "def@16"}},
		{"abc\r\ndef\r\n\x1a", []string{"abc@0", "def@5"}},
		{"abc\r\ndef\x1a", []string{"abc@0", "def@5"}},
		{"abc\n\x1a\x1a\ndef\n", []string{"abc@0", "error@line 2", "def@7"}},
	}
	for _, tc := range tests {
		var got []string
		rs := decodeAll(t, l, "e", tc.in)
		for _, r := range rs {
			if r.err != nil {
				got = append(got, "error@line "+strconv.Itoa(parseError(t, r.err).Line))
				continue
			}
			got = append(got, r.rec.Fields["v"].(string)+"@"+itoa(r.rec.Pos.Offset))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
