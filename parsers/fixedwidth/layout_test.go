package fixedwidth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/parsers/fixedwidth"
)

// TestValidate checks Validate lists every problem, not just the first.
func TestValidate(t *testing.T) {
	yml := `
encoding: ebcdic
columns: runes
type_code: {start: 1, length: 1}
records:
  - name: h
    code: HX
    role: heading
    fields:
      - {name: a, start: 0, length: 3}
      - {name: b, start: 2, length: 3, end: 4}
  - name: d
    code: D
    fields:
      - {name: x, start: 2, length: 5, type: money}
      - {name: y, start: 5, length: 2, type: decimal, scale: -1}
      - {name: x, start: 10, length: 8, type: date, format: YYYYMMDDHH}
      - {name: z, start: 20, length: 6, type: date, format: YYMMQQ}
      - {name: s, start: 30, length: 2, sign: trailing, pad: ",,"}
  - name: d
    code: D
    fields: []
trailer_count: {record: d, field: n, counts: lines}
`
	_, err := fixedwidth.ParseLayout([]byte(yml))
	var le *fixedwidth.LayoutError
	if !errors.As(err, &le) {
		t.Fatalf("ParseLayout: %v, want a *LayoutError", err)
	}
	want := []string{
		"name is missing",
		`encoding "ebcdic" is not one of utf-8, ascii, iso-8859-1, windows-1252, ibm437, ibm850, ibm037, ibm1047, ibm1140`,
		`columns "runes" is not characters or bytes`,
		`records[0] (h): role "heading" is not header, detail or trailer`,
		`records[0] (h): code "HX" is 2 characters, type_code length is 1`,
		"records[0] (h): fields[0] (a): start 0 must be at least 1",
		"records[0] (h): fields[1] (b): give length or end, not both",
		`records[1] (d): fields[0] (x): type "money" is not string, integer, decimal or date`,
		"records[1] (d): fields[1] (y): scale -1 is not between 0 and 30",
		`records[1] (d): fields[2] (x): format "YYYYMMDDHH" is 10 characters, the field is 8`,
		"records[1] (d): fields[2] (x): duplicate field name",
		`records[1] (d): fields[3] (z): format "YYMMQQ": unexpected 'Q' at position 5`,
		"records[1] (d): fields[4] (s): sign is only for integers and decimals",
		`records[1] (d): fields[4] (s): pad ",," must be one printable ASCII character other than a comma`,
		"records[2] (d): duplicate record type name",
		`records[2] (d): code "D" is also used by record type "d"`,
		`trailer_count: counts "lines" is not details or records`,
		`trailer_count: record type "d" has role detail, not trailer`,
	}
	if diff := cmp.Diff(want, le.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(err.Error(), "fixedwidth: layout (unnamed): name is missing; ") {
		t.Errorf("Error() = %q", err)
	}
}

func TestValidateMore(t *testing.T) {
	tests := []struct{ yml, want string }{
		{"name: x\nrecords: []\n", "no record types"},
		{"name: x\nrecords:\n  - {name: a, fields: []}\n  - {name: b, fields: []}\n", "type_code is required with more than one record type"},
		{"name: x\nrecord_length: 10\nrecords:\n  - name: a\n    fields: [{name: f, start: 8, length: 5}]\n", "records[0] (a): fields[0] (f): ends at column 12, past record_length 10"},
		{"name: x\nrecords:\n  - name: a\n    fields: [{name: f, start: 1, length: 5}, {name: g, start: 5, length: 2}]\n", `records[0] (a): fields[1] (g): columns 5-6 overlap field "f" (1-5)`},
		{"name: x\nlocation: Mars/Olympus\nrecords:\n  - {name: a, fields: []}\n", `location "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"name: x\nrecords:\n  - name: t\n    role: trailer\n    fields: [{name: n, start: 1, length: 5}]\ntrailer_count: {record: t, field: n}\n", `trailer_count: field "n" is string, not integer`},
		{"name: x\nrecords:\n  - name: a\n    fields: [{name: f, start: 1, length: 5, type: date}]\n", "records[0] (a): fields[0] (f): format is missing (e.g. YYYYMMDD)"},
	}
	for _, tc := range tests {
		_, err := fixedwidth.ParseLayout([]byte(tc.yml))
		var le *fixedwidth.LayoutError
		if !errors.As(err, &le) {
			t.Errorf("%s: %v, want a *LayoutError", tc.yml, err)
			continue
		}
		if diff := cmp.Diff([]string{tc.want}, le.Problems); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.yml, diff)
		}
	}
}

// TestUnknownKey checks KnownFields: a misspelt key is an error naming it.
func TestUnknownKey(t *testing.T) {
	_, err := fixedwidth.ParseLayout([]byte("name: x\nrecords:\n  - name: a\n    fields: [{name: f, start: 1, lenght: 5}]\n"))
	if err == nil || !strings.Contains(err.Error(), "field lenght not found") {
		t.Errorf("ParseLayout: %v, want an unknown-field error for lenght", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("name: x\nrecords: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = fixedwidth.LoadLayout(path)
	if want := "fixedwidth: layout " + path + ": no record types"; err == nil || err.Error() != want {
		t.Errorf("LoadLayout: %v, want %s", err, want)
	}
}

// TestValues checks typing of single fields.
func TestValues(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	tests := []struct {
		field string // YAML flow mapping without name/start
		in    string
		want  any // value, or error text
	}{
		{"{length: 6, type: integer}", "000042", int64(42)},
		{"{length: 6, type: integer}", "   -42", int64(-42)},
		{"{length: 6, type: integer}", "+   42", int64(42)},
		{"{length: 6, type: integer}", "      ", nil},
		{"{length: 6, type: integer, sign: trailing}", "00042-", int64(-42)},
		{"{length: 6, type: integer, sign: overpunch}", "00004K", int64(-42)},
		{"{length: 6, type: integer, sign: overpunch}", "00004B", int64(42)},
		{"{length: 6, type: integer, sign: overpunch}", "00042}", int64(-420)},
		{"{length: 6, type: integer}", "4 2   ", `"4 2" is not a valid integer`},
		{"{length: 6, type: integer}", "--42  ", `"--42" is not a valid integer`},
		{"{length: 20, type: integer}", "99999999999999999999", `"99999999999999999999" is out of range for an integer`},
		{"{length: 8, type: decimal, scale: 2}", "00012345", json.Number("123.45")},
		{"{length: 8, type: decimal, scale: 2}", "-0000005", json.Number("-0.05")},
		{"{length: 8, type: decimal, scale: 2}", "-0000000", json.Number("0.00")},
		{"{length: 8, type: decimal, scale: 0}", "00012345", json.Number("12345")},
		{"{length: 8, type: decimal, scale: 4}", "     5  ", json.Number("0.0005")},
		{"{length: 8, type: decimal, scale: 2, sign: trailing}", "0012345-", json.Number("-123.45")},
		{"{length: 8, type: decimal, scale: 2, sign: overpunch}", "0001234}", json.Number("-123.40")},
		{"{length: 8, type: decimal, scale: 2}", "00123.45", `"00123.45" is not a valid decimal`},
		{"{length: 8, type: decimal}", "00123.45", json.Number("123.45")},
		{"{length: 8, type: decimal}", "   -.5  ", json.Number("-0.5")},
		{"{length: 8, type: decimal}", "  12.   ", json.Number("12")},
		{"{length: 8, type: decimal}", "1.2.3   ", `"1.2.3" is not a valid decimal`},
		{"{length: 8, type: decimal}", "   .    ", `"." is not a valid decimal`},
		{"{length: 40, type: decimal, scale: 30}", "1234567890123456789012345678901234567890", json.Number("1234567890.123456789012345678901234567890")},
		{"{length: 8, type: date, format: YYYYMMDD}", "20240229", time.Date(2024, 2, 29, 0, 0, 0, 0, chicago)},
		{"{length: 8, type: date, format: YYYYMMDD}", "20230229", `"20230229" is not a valid date (YYYYMMDD)`},
		{"{length: 6, type: date, format: YYMMDD}", "991231", time.Date(1999, 12, 31, 0, 0, 0, 0, chicago)},
		{"{length: 6, type: date, format: YYMMDD}", "240115", time.Date(2024, 1, 15, 0, 0, 0, 0, chicago)},
		{"{length: 8, type: date, format: MMDDYYYY}", "01152024", time.Date(2024, 1, 15, 0, 0, 0, 0, chicago)},
		{"{length: 7, type: date, format: YYYYJJJ}", "2024046", time.Date(2024, 2, 15, 0, 0, 0, 0, chicago)},
		{"{length: 10, type: date, format: YYYY-MM-DD}", "2024-01-15", time.Date(2024, 1, 15, 0, 0, 0, 0, chicago)},
		{"{length: 6, type: date, format: HHMMSS}", "143005", time.Date(0, 1, 1, 14, 30, 5, 0, time.UTC)},
		{"{length: 6, type: date, format: HHMISS}", "143005", time.Date(0, 1, 1, 14, 30, 5, 0, time.UTC)},
		{"{length: 12, type: date, format: YYYYMMDDHHMM}", "202403100230", `"202403100230" (YYYYMMDDHHMM) does not exist in America/Chicago`},
		{"{length: 8, type: date, format: YYYYMMDD, null_if: ['00000000', '99999999']}", "00000000", nil},
		{"{length: 8, type: date, format: YYYYMMDD, null_if: ['00000000'], required: true}", "00000000", `required field is blank: "00000000" means no value`},
		{"{length: 8, required: true}", "        ", "required field is blank"},
		{"{length: 8}", "        ", ""},
		{"{length: 8, trim: none}", "  ab    ", "  ab    "},
		{"{length: 8, trim: left}", "  ab    ", "ab    "},
		{"{length: 8, trim: right}", "  ab    ", "  ab"},
		{"{length: 8, pad: '0', trim: left, type: integer}", "00000000", nil},
		{"{length: 8, pad: '*'}", "**ab*c**", "ab*c"},
	}
	for _, tc := range tests {
		yml := fmt.Sprintf("name: v\nlocation: America/Chicago\nrecords:\n  - name: r\n    fields:\n      - {name: f, start: 1, %s\n", strings.TrimPrefix(tc.field, "{"))
		l, err := fixedwidth.ParseLayout([]byte(yml))
		if err != nil {
			t.Errorf("%s: %v", tc.field, err)
			continue
		}
		rs := decodeAll(t, l, "v", tc.in+"\n")
		if len(rs) != 1 {
			t.Errorf("%s %q: %d results", tc.field, tc.in, len(rs))
			continue
		}
		if want, isErr := tc.want.(string); isErr && rs[0].err != nil {
			want = "fixedwidth: v: line 1, column 1 (field f): " + want
			if diff := cmp.Diff(want, rs[0].err.Error()); diff != "" {
				t.Errorf("%s %q (-want +got):\n%s", tc.field, tc.in, diff)
			}
			continue
		}
		if rs[0].err != nil {
			t.Errorf("%s %q: %v", tc.field, tc.in, rs[0].err)
			continue
		}
		got := rs[0].rec.Fields["f"]
		if tm, ok := tc.want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(tm) || g.Location().String() != tm.Location().String() {
				t.Errorf("%s %q = %v, want %v", tc.field, tc.in, got, tm)
			}
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.field, tc.in, diff)
		}
	}
}

// TestEncodings checks single-byte charsets come out as UTF-8 with byte
// offsets of the input, and ASCII rejects other bytes.
func TestEncodings(t *testing.T) {
	const fields = "records:\n  - name: r\n    fields: [{name: a, start: 1, length: 5}, {name: n, start: 6, length: 3, type: integer}]\n"
	latin := layout(t, "name: l\nencoding: latin1\n"+fields)
	rs := decodeAll(t, latin, "l", "CAF\xc9 042\nNA\xefVEx12\n")
	if g := rs[0].rec.Fields; rs[0].err != nil || g["a"] != "CAFÉ" || g["n"] != int64(42) {
		t.Errorf("latin1 line 1 = %v, %v", g, rs[0].err)
	}
	if want := `fixedwidth: l: line 2, column 6 (field n): "x12" is not a valid integer`; rs[1].err == nil || rs[1].err.Error() != want {
		t.Errorf("latin1 line 2: %v, want %s", rs[1].err, want)
	} else if off := parseError(t, rs[1].err).Offset; off != 9+5 {
		t.Errorf("latin1 offset = %d, want %d (bytes)", off, 9+5)
	}
	cp := layout(t, "name: c\nencoding: windows-1252\n"+fields)
	rs = decodeAll(t, cp, "c", "\x80 5  001\n")
	if g := rs[0].rec.Fields; rs[0].err != nil || g["a"] != "€ 5" {
		t.Errorf("cp1252 = %v, %v", g, rs[0].err)
	}
	ascii := layout(t, "name: a\nencoding: ascii\n"+fields)
	rs = decodeAll(t, ascii, "a", "CAF\xc9 042\n")
	if want := "fixedwidth: a: line 1, column 4: invalid encoding: byte 0xC9 is not ASCII"; rs[0].err == nil || rs[0].err.Error() != want {
		t.Errorf("ascii: %v, want %s", rs[0].err, want)
	}
}
