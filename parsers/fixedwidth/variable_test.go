package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// The files of testdata/mainframe are written by its gen.py (Python's
// cp037 codec, hand-written zoned and packed encoders), not by this
// package.
const mainframeData = "testdata/mainframe"

// mainframeCase is a copybook and a data file of testdata/mainframe.
type mainframeCase struct {
	golden    string // testdata/golden/<golden>.json
	cpy, data string
	framing   string
	blockSize int
	want      []map[string]any // every record's fields
}

func (c mainframeCase) layout(t testing.TB) *fixedwidth.Layout {
	t.Helper()
	l, err := fixedwidth.LoadCopybook(filepath.Join(mainframeData, c.cpy), fixedwidth.CopybookOptions{Encoding: "ibm037", Framing: c.framing})
	if err != nil {
		t.Fatal(err)
	}
	l.BlockSize = c.blockSize
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	return l
}

func num(s string) json.Number { return json.Number(s) }

var vbWant = []map[string]any{
	{"vbh_file": "PAYVB01", "vbh_date": int64(20240115)},
	{"vbd_account": "0012345678", "vbd_amount": num("1234567.89"), "vbd_note": "FIRST PAYMENT"},
	{"vbd_account": "0098765432", "vbd_amount": num("-250.25"), "vbd_note": "REFUND"},
	{"vbd_account": "0000000001", "vbd_amount": num("0.00"), "vbd_note": ""},
	{"vbd_account": "5550001112", "vbd_amount": num("9999999.99"), "vbd_note": "LARGEST"},
	{"vbd_account": "7770002223", "vbd_amount": num("-0.01"), "vbd_note": "SMALLEST NEGATIVE"},
	{"vbt_count": int64(5), "vbt_total": num("11234317.62")},
}

var mainframeCases = []mainframeCase{{
	golden: "mainframe-signs", cpy: "signs.cpy", data: "signs.dat", framing: "fixed",
	want: []map[string]any{
		{"sgn_id": "A001", "sgn_trail": num("12345.67"), "sgn_lead": num("-12345.67"), "sgn_lsep": num("0.05"), "sgn_tsep": int64(-7), "sgn_pack": int64(12345)},
		{"sgn_id": "A002", "sgn_trail": num("-0.01"), "sgn_lead": num("0.00"), "sgn_lsep": num("-99999.99"), "sgn_tsep": int64(999), "sgn_pack": int64(-1)},
		{"sgn_id": "A003", "sgn_trail": num("0.00"), "sgn_lead": num("-5.00"), "sgn_lsep": num("1.00"), "sgn_tsep": int64(0), "sgn_pack": int64(0)},
		{"sgn_id": "B004", "sgn_trail": num("-99999.99"), "sgn_lead": num("99999.99"), "sgn_lsep": num("-0.10"), "sgn_tsep": int64(-999), "sgn_pack": int64(-99999)},
	},
}, {
	golden: "mainframe-vb-rdw", cpy: "vb.cpy", data: "vb-rdw.dat", framing: "rdw", want: vbWant,
}, {
	golden: "mainframe-vb-bdw", cpy: "vb.cpy", data: "vb-bdw.dat", framing: "bdw", blockSize: 100, want: vbWant,
}}

// TestMainframeGolden decodes the files of testdata/mainframe straight
// from their copybooks: every sign position of zoned decimals (trailing
// and leading overpunch, leading and trailing SEPARATE), and
// variable-length records with RDWs, with and without BDWs. The values are
// checked one by one, the records (positions included) against
// testdata/golden, and written back they are the same bytes.
func TestMainframeGolden(t *testing.T) {
	for _, c := range mainframeCases {
		t.Run(c.golden, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(mainframeData, c.data))
			if err != nil {
				t.Fatal(err)
			}
			l := c.layout(t)
			recs := records(t, decodeAll(t, l, c.data, string(data)))
			if diff := cmp.Diff(c.want, fieldsOf(recs)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			got, err := json.MarshalIndent(recs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", c.golden+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-golden +got):\n%s", diff)
			}
			var out bytes.Buffer
			e := fixedwidth.NewEncoder(&out, l)
			for _, r := range recs {
				if err := e.Encode(legacybridge.Record{Type: r.Type, Fields: r.Fields}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Errorf("re-encoded:\n got % X\nwant % X", out.Bytes(), data)
			}
		})
	}
}

// TestCopybookSigns checks how the copybook's sign clauses map to the
// layout.
func TestCopybookSigns(t *testing.T) {
	l := mainframeCases[0].layout(t)
	got := map[string]string{}
	for _, f := range l.Records[0].Fields {
		got[f.Name] = f.Sign + "/" + f.Storage
	}
	want := map[string]string{"sgn_id": "/", "sgn_trail": "overpunch/", "sgn_lead": "leading_overpunch/",
		"sgn_lsep": "leading/", "sgn_tsep": "trailing/", "sgn_pack": "/packed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signs (-want +got):\n%s", diff)
	}
	if w := []int{4, 7, 7, 8, 4, 3}; len(l.Records[0].Fields) == len(w) {
		for i, f := range l.Records[0].Fields {
			if f.Length != w[i] {
				t.Errorf("%s: length %d, want %d", f.Name, f.Length, w[i])
			}
		}
	}
}

// TestVariableFramingErrors checks broken RDW and BDW framing: each fault
// is a *ParseError naming the byte offset of its descriptor word (in the
// message too), the records before it are read, and nothing after it.
func TestVariableFramingErrors(t *testing.T) {
	rdwData, err := os.ReadFile(filepath.Join(mainframeData, "vb-rdw.dat"))
	if err != nil {
		t.Fatal(err)
	}
	bdwData, err := os.ReadFile(filepath.Join(mainframeData, "vb-bdw.dat"))
	if err != nil {
		t.Fatal(err)
	}
	rdw, bdw := mainframeCases[1].layout(t), mainframeCases[2].layout(t)
	// vb-rdw.dat: header (21 bytes with its RDW) at 0, details (40 bytes)
	// at 21, 61, 101, 141, 181, trailer (15 bytes) at 221; 236 bytes.
	// vb-bdw.dat: blocks at 0 (65 bytes: header at 4, detail at 25), 65
	// (84: details at 69 and 109) and 149 (99: details at 153 and 193,
	// trailer at 233); 248 bytes.
	set := func(b []byte, at int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], v)
		return b
	}
	tests := []struct {
		name   string
		l      *fixedwidth.Layout
		in     []byte
		good   int    // records read before the fault
		offset int64  // of the fault
		msg    string // the error's text after "fixedwidth: vb: "
	}{
		{"truncated record", rdw, rdwData[:200], 5, 181,
			"line 6: broken record framing: truncated record: its record descriptor word at byte offset 181 gives 36 bytes of data, the input ends after 15 of them"},
		{"truncated inside an RDW", rdw, rdwData[:223], 6, 221,
			"line 7: broken record framing: the input ends inside the record descriptor word at byte offset 221 (00 0F is 2 of its 4 bytes)"},
		{"RDW with bytes 3-4 set", rdw, set(rdwData, 63, 0x01), 2, 61,
			"line 3: broken record framing: record descriptor word 00 28 01 00 at byte offset 61: bytes 3-4 must be zero (spanned records, RECFM=VBS, are not supported; is the input blocked? then set framing: bdw)"},
		{"RDW shorter than itself", rdw, set(rdwData, 21, 0x00, 0x03), 1, 21,
			"line 2: broken record framing: record descriptor word 00 03 00 00 at byte offset 21 gives a length of 3, less than its own 4 bytes"},
		{"truncated block", bdw, bdwData[:240], 6, 233,
			"line 7: broken record framing: truncated record: its record descriptor word at byte offset 233 gives 11 bytes of data, the input ends after 3 of them"},
		{"truncated inside a BDW", bdw, bdwData[:151], 4, 149,
			"line 5: broken record framing: the input ends inside the block descriptor word at byte offset 149 (00 63 is 2 of its 4 bytes)"},
		{"RDW input read as bdw", bdw, rdwData, 0, 4,
			"line 1: broken record framing: record descriptor word C8 D7 C1 E8 at byte offset 4: bytes 3-4 must be zero (spanned records, RECFM=VBS, are not supported; is the input blocked? then set framing: bdw)"},
		{"record past its block", bdw, set(bdwData, 25, 0x00, 0x30), 1, 25,
			"line 2: broken record framing: record descriptor word 00 30 00 00 at byte offset 25 gives a length of 48; the block at byte offset 0 has 40 bytes left"},
		{"block ends inside an RDW", bdw, set(bdwData, 0, 0x00, 0x43), 2, 65,
			"line 3: broken record framing: the block at byte offset 0 ends 2 bytes into the record descriptor word at byte offset 65"},
		{"BDW with bytes 3-4 set", bdw, set(bdwData, 67, 0x80), 2, 65,
			"line 3: broken record framing: block descriptor word 00 54 80 00 at byte offset 65: bytes 3-4 must be zero (is the input RDW framed without blocks? then set framing: rdw)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := decodeAll(t, tc.l, "vb", string(tc.in))
			if len(rs) != tc.good+1 {
				t.Fatalf("%d results, want %d records and the error: %v", len(rs), tc.good, rs)
			}
			for i, r := range rs[:tc.good] {
				if r.err != nil {
					t.Fatalf("record %d: %v", i, r.err)
				}
				if diff := cmp.Diff(vbWant[i], r.rec.Fields); diff != "" {
					t.Fatalf("record %d (-want +got):\n%s", i, diff)
				}
			}
			err := rs[tc.good].err
			if err == nil || err.Error() != "fixedwidth: vb: "+tc.msg {
				t.Fatalf("error %v\n want fixedwidth: vb: %s", err, tc.msg)
			}
			if !errors.Is(err, fixedwidth.ErrFraming) {
				t.Errorf("%v is not ErrFraming", err)
			}
			if pe := parseError(t, err); pe.Offset != tc.offset {
				t.Errorf("offset %d, want %d", pe.Offset, tc.offset)
			}
		})
	}
}

// TestVariableRecords checks the records of rdw framing against the
// layout: positions (the offset of the data, after the RDW), a record
// shorter than its type (an error, or padded), empty records skipped,
// the extended BDW of blocks over 32760 bytes, and the Encoder's limits.
func TestVariableRecords(t *testing.T) {
	l := layout(t, `
name: v
encoding: ibm037
framing: rdw
type_code: {start: 1, length: 1}
records:
  - {name: a, code: A, fields: [{name: x, start: 2, length: 3}, {name: n, start: 5, length: 2, type: integer, storage: packed}]}
  - {name: b, code: B, fields: [{name: y, start: 2, length: 8}]}
`)
	rec := func(b ...[]byte) []byte {
		d := bytes.Join(b, nil)
		return append([]byte{byte((len(d) + 4) >> 8), byte(len(d) + 4), 0, 0}, d...)
	}
	in := bytes.Join([][]byte{
		rec(ebcdic(t, "AXYZ"), []byte{0x12, 0x3C}),
		rec(),
		rec(ebcdic(t, "BLONGER   ")),
		rec(ebcdic(t, "BSHORT")),
	}, nil)
	rs := decodeAll(t, l, "v", string(in))
	if len(rs) != 3 || rs[0].err != nil || rs[1].err != nil {
		t.Fatalf("results %v", rs)
	}
	if diff := cmp.Diff(map[string]any{"x": "XYZ", "n": int64(123)}, rs[0].rec.Fields); diff != "" {
		t.Errorf("record a (-want +got):\n%s", diff)
	}
	if p := rs[1].rec.Pos; p.Offset != 18 || p.Line != 3 || rs[1].rec.Fields["y"] != "LONGER" {
		t.Errorf("record b: %+v %v", p, rs[1].rec.Fields)
	}
	wantShort := "fixedwidth: v: line 4, column 7 (field y): short line: 6 characters, record type \"b\" needs 9"
	if err := rs[2].err; err == nil || err.Error() != wantShort || parseError(t, err).Offset != 38 {
		t.Errorf("short record: %v", err)
	}
	l.PadShortLines = true
	recs := records(t, decodeAll(t, l, "v", string(in)))
	if len(recs) != 3 || recs[2].Fields["y"] != "SHORT" {
		t.Errorf("padded: %v", fieldsOf(recs))
	}

	// An extended BDW (top bit set, a 31-bit length) for a block over
	// 32760 bytes.
	lb := layout(t, "name: x\nframing: bdw\nrecords: [{name: r, fields: [{name: s, start: 1, length: 30000}]}]\n")
	big := append(rec([]byte(strings.Repeat("a", 30000))), rec([]byte(strings.Repeat("b", 30000)))...)
	ext := append([]byte{0x80, 0x00, byte((len(big) + 4) >> 8), byte(len(big) + 4)}, big...)
	recs = records(t, decodeAll(t, lb, "x", string(ext)))
	if len(recs) != 2 || recs[1].Fields["s"] != strings.Repeat("b", 30000) {
		t.Errorf("extended BDW: %d records", len(recs))
	}

	// The Encoder: a record longer than an RDW can say, and block_size.
	long := layout(t, "name: x\nframing: rdw\nrecords: [{name: r, fields: [{name: s, start: 1, length: 32753}]}]\n")
	e := fixedwidth.NewEncoder(io.Discard, long)
	err := e.Encode(legacybridge.Record{Type: "r", Fields: map[string]any{"s": "x"}})
	if want := "fixedwidth: line 1 (r record): value too long for the field: the record is 32753 bytes; with framing rdw a record holds at most 32752"; err == nil || err.Error() != want {
		t.Errorf("long record: %v", err)
	}
	lb.BlockSize = 1000
	e = fixedwidth.NewEncoder(io.Discard, lb)
	err = e.Encode(legacybridge.Record{Type: "r", Fields: map[string]any{"s": "x"}})
	if want := "fixedwidth: line 1 (r record): value too long for the field: the record is 30000 bytes; with framing bdw a record holds at most 992"; err == nil || err.Error() != want {
		t.Errorf("record over block_size: %v", err)
	}
}

// TestEncoderBlockFill checks that the Encoder pads fixed-length records
// to a whole number of blocks with block_fill records, which the Decoder
// skips again; and the layout rules of block_size and block_fill.
func TestEncoderBlockFill(t *testing.T) {
	tests := []struct {
		name, yml string
		newline   string
		n         int    // records written
		want      []byte // the output
	}{
		{"fixed, NACHA-like", "framing: fixed\nrecord_length: 4\nblock_size: 12\nblock_fill: \"9\"\n", "", 4,
			[]byte("R001R002R003R00499999999")},
		{"lines", "record_length: 4\nblock_size: 12\nblock_fill: \"9\"\n", "\r\n", 2,
			[]byte("R001\r\nR002\r\n9999\r\n")},
		{"a whole block: no fill", "framing: fixed\nrecord_length: 4\nblock_size: 8\nblock_fill: \"9\"\n", "", 4,
			[]byte("R001R002R003R004")},
		{"EBCDIC, low-values", "encoding: ibm037\nframing: fixed\nrecord_length: 4\nblock_size: 12\nblock_fill: \"0x00\"\n", "", 1,
			append([]byte{0xD9, 0xF0, 0xF0, 0xF1}, make([]byte, 8)...)},
		{"EBCDIC, blanks", "encoding: ibm037\nframing: fixed\nrecord_length: 4\nblock_size: 8\nblock_fill: \"0x40\"\n", "", 1,
			[]byte{0xD9, 0xF0, 0xF0, 0xF1, 0x40, 0x40, 0x40, 0x40}},
		{"EBCDIC, a character", "encoding: ibm037\nframing: fixed\nrecord_length: 4\nblock_size: 8\nblock_fill: \"9\"\n", "", 1,
			[]byte{0xD9, 0xF0, 0xF0, 0xF1, 0xF9, 0xF9, 0xF9, 0xF9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := layout(t, "name: f\n"+tc.yml+"type_code: {start: 1, length: 1}\nrecords: [{name: r, code: R, fields: [{name: n, start: 2, length: 3, type: integer}]}]\n")
			var out bytes.Buffer
			e := fixedwidth.NewEncoder(&out, l)
			if tc.newline != "" {
				e.Newline = tc.newline
			}
			for i := range tc.n {
				if err := e.Encode(legacybridge.Record{Type: "r", Fields: map[string]any{"n": i + 1}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), tc.want) {
				t.Fatalf("got % X (%q)\nwant % X", out.Bytes(), out.Bytes(), tc.want)
			}
			recs := records(t, decodeAll(t, l, "f", out.String()))
			if len(recs) != tc.n {
				t.Errorf("decoded %d records, want %d (fill records skipped)", len(recs), tc.n)
			}
		})
	}
	for yml, want := range map[string]string{
		"framing: fixed\nrecord_length: 4\nblock_size: 10\nblock_fill: \"9\"\n": "block_size 10 must be a multiple of record_length 4",
		"framing: fixed\nrecord_length: 4\nblock_size: 8\n":                     "block_size 8 needs block_fill",
		"framing: rdw\nblock_size: 800\n":                                       "block_size is for framing bdw",
		"framing: bdw\nblock_size: 40000\n":                                     "block_size 40000 is not between 8 and 32760",
		"framing: fixed\nrecord_length: 4\nblock_fill: \"0xZZ\"\n":              `block_fill "0xZZ" must be one printable ASCII character, or a byte in hex such as 0x00`,
		"framing: vb\n": `framing "vb" is not lines, fixed, auto, rdw or bdw`,
	} {
		_, err := fixedwidth.ParseLayout([]byte("name: f\n" + yml + "records: [{name: r, fields: [{name: n, start: 1, length: 3}]}]\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yml, err, want)
		}
	}
}
