package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

const (
	paymentsCopybook = "../../legacy-fixtures/copybook/payments.cpy"
	paymentsLayout   = "../../legacy-fixtures/copybook/payments.yaml"
	paymentsData     = "../../legacy-fixtures/copybook/payments.dat"
)

// TestCopybookLayout checks the copybook reads as the shipped layout (but
// for the hand edits: the date and the controls), and that the YAML
// WriteLayout gives reads back as the same layout.
func TestCopybookLayout(t *testing.T) {
	fromCpy, err := fixedwidth.LoadLayout(paymentsCopybook)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := fixedwidth.LoadLayout(paymentsLayout)
	if err != nil {
		t.Fatal(err)
	}
	edited := *shipped
	edited.Controls = nil
	edited.Records = append([]fixedwidth.RecordType(nil), shipped.Records...)
	hf := append([]fixedwidth.Field(nil), edited.Records[0].Fields...)
	hf[1] = fixedwidth.Field{Name: "hdr_run_date", Start: 10, Length: 7, Type: "integer"}
	edited.Records[0].Fields = hf
	if diff := cmp.Diff(&edited, fromCpy); diff != "" {
		t.Errorf("copybook layout (-shipped +copybook):\n%s", diff)
	}
	var b bytes.Buffer
	if err := fixedwidth.WriteLayout(&b, fromCpy); err != nil {
		t.Fatal(err)
	}
	back, err := fixedwidth.ParseLayout(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if diff := cmp.Diff(fromCpy, back, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("written and read back (-copybook +yaml):\n%s", diff)
	}
}

// TestCopybookExample decodes the EBCDIC payments file: exact values from
// packed, zoned, binary and display fields, the trailer's count and total
// checked; written back it is the same bytes; a wrong total names both
// values.
func TestCopybookExample(t *testing.T) {
	data, err := os.ReadFile(paymentsData)
	if err != nil {
		t.Fatal(err)
	}
	l, err := fixedwidth.LoadLayout(paymentsLayout)
	if err != nil {
		t.Fatal(err)
	}
	recs := records(t, decodeAll(t, l, "payments.dat", string(data)))
	n := func(s string) json.Number { return json.Number(s) }
	want := []map[string]any{
		{"hdr_bank_id": "BANKUS01", "hdr_run_date": time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), "hdr_run_number": int64(42)},
		{"dtl_account": "0012345678", "dtl_name": "ACME CORP", "dtl_amount": n("1234567.89"), "dtl_fee": n("12.50"), "dtl_items": int64(3),
			"dtl_rate_1": n("0.0125"), "dtl_rate_2": n("0.2500"), "dtl_rate_3": n("0.0000"), "dtl_seq": int64(1), "dtl_discount": n("0.00")},
		{"dtl_account": "0098765432", "dtl_name": "MÜLLER GMBH", "dtl_amount": n("-250.25"), "dtl_fee": n("-0.75"), "dtl_items": int64(-2),
			"dtl_rate_1": n("0.0015"), "dtl_rate_2": n("0.0250"), "dtl_rate_3": n("0.2515"), "dtl_seq": int64(2), "dtl_discount": n("15.25")},
		{"dtl_account": "0000000001", "dtl_name": "  LEADING BLANKS", "dtl_amount": n("15000000.00"), "dtl_fee": n("0.00"), "dtl_items": int64(13),
			"dtl_rate_1": n("0.0000"), "dtl_rate_2": n("0.0000"), "dtl_rate_3": n("0.0000"), "dtl_seq": int64(3), "dtl_discount": n("0.00")},
		{"dtl_account": "0000025150", "dtl_name": "O'BRIEN & SONS £", "dtl_amount": n("999999999.99"), "dtl_fee": n("999.99"), "dtl_items": int64(9999),
			"dtl_rate_1": n("0.9999"), "dtl_rate_2": n("0.0001"), "dtl_rate_3": n("0.1515"), "dtl_seq": int64(99999999), "dtl_discount": n("999.99")},
		{"dtl_account": "0000000002", "dtl_name": "NEGATIVE ZERO FEE", "dtl_amount": n("-0.01"), "dtl_fee": n("-0.01"), "dtl_items": int64(-9999),
			"dtl_rate_1": n("-0.0001"), "dtl_rate_2": n("0.0000"), "dtl_rate_3": n("-0.9999"), "dtl_seq": int64(5), "dtl_discount": n("0.01")},
		{"trl_record_count": int64(5), "trl_total_amount": n("1016234317.62")},
	}
	if diff := cmp.Diff(want, fieldsOf(recs)); diff != "" {
		t.Errorf("payments (-want +got):\n%s", diff)
	}
	if recs[3].Envelope["hdr_bank_id"] != "BANKUS01" || recs[3].Pos.Offset != 180 || recs[3].Pos.Line != 4 {
		t.Errorf("record 4: envelope %v, position %+v", recs[3].Envelope, recs[3].Pos)
	}

	// Written back: the same bytes.
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
		t.Errorf("re-encoded file differs:\n got % X\nwant % X", out.Bytes(), data)
	}
	// Straight from the copybook, too (the run date as a number).
	cpy, err := fixedwidth.LoadLayout(paymentsCopybook)
	if err != nil {
		t.Fatal(err)
	}
	recs2 := records(t, decodeAll(t, cpy, "payments.dat", string(data)))
	if got := recs2[0].Fields["hdr_run_date"]; got != int64(1240115) {
		t.Errorf("run date from the copybook = %v", got)
	}
	out.Reset()
	e = fixedwidth.NewEncoder(&out, cpy)
	for _, r := range recs2 {
		if err := e.Encode(legacybridge.Record{Type: r.Type, Fields: r.Fields}); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("re-encoded through the copybook layout differs")
	}

	// A wrong total: the trailer's amount changed by one cent.
	bad := bytes.Clone(data)
	bad[len(bad)-60+12] = 0x3C // ...762C -> ...763C
	rs := decodeAll(t, l, "payments.dat", string(bad))
	err = rs[len(rs)-1].err
	wantErr := "fixedwidth: payments.dat: line 7, column 6 (field trl_total_amount): control total mismatch: pay_trailer.trl_total_amount says 1016234317.63, dtl_amount of the pay_detail records sum to 1016234317.62; correct the trailer or find the records that are missing or wrong"
	if err == nil || err.Error() != wantErr || !errors.Is(err, fixedwidth.ErrControlTotal) {
		t.Errorf("wrong total: %v\nwant %s", err, wantErr)
	}
	if pe := parseError(t, err); pe.Offset != 6*60+5 {
		t.Errorf("offset %d, want %d", pe.Offset, 6*60+5)
	}
}

// TestCopybookForms checks the parts of copybooks: free and fixed format,
// several 01 records with VALUE type codes, OCCURS of groups, SIGN
// SEPARATE, JUSTIFIED, group USAGE, and a REDEFINES inside a record left
// out with a note.
func TestCopybookForms(t *testing.T) {
	cpy := `
      * free format, two records
       01 HDR-REC.
          05 HDR-TYPE        PIC XX VALUE 'HD'.
          05 HDR-DATE        PIC 9(6).
          05 HDR-DATE-X REDEFINES HDR-DATE.
             10 HDR-YY       PIC 99.
             10 HDR-MMDD     PIC 9(4).
          05 FILLER          PIC X(4).
       01 ITEM-REC.
          05 ITEM-TYPE       PIC XX.
             88 ITEM-IS-ITEM VALUE 'IT'.
          05 ITEM-LINES OCCURS 2 TIMES.
             10 ITEM-QTY     PIC S9(3) SIGN LEADING SEPARATE.
             10 ITEM-CODE    PIC X(2) JUSTIFIED RIGHT.
          05 ITEM-NUMS COMP-3.
             10 ITEM-P1      PIC S9(3).
          05 ITEM-EDITED     PIC ZZ9.99.   *> read as text
`
	l, err := fixedwidth.ReadCopybook(strings.NewReader(cpy), "two.cpy", fixedwidth.CopybookOptions{Encoding: "latin1"})
	if err != nil {
		t.Fatal(err)
	}
	want := &fixedwidth.Layout{
		Name: "two", Encoding: "latin1",
		Description: "from COBOL copybook two.cpy; left out: line 6: HDR-DATE-X REDEFINES HDR-DATE left out: fields of a record type cannot overlap",
		TypeCode:    &fixedwidth.TypeCode{Start: 1, Length: 2},
		Records: []fixedwidth.RecordType{
			{Name: "hdr_rec", Code: "HD", Role: "header", Fields: []fixedwidth.Field{
				{Name: "hdr_date", Start: 3, Length: 6, Type: "integer"}}},
			{Name: "item_rec", Code: "IT", Fields: []fixedwidth.Field{
				{Name: "item_qty_1", Start: 3, Length: 4, Type: "integer", Sign: "leading"},
				{Name: "item_code_1", Start: 7, Length: 2, Trim: "left"},
				{Name: "item_qty_2", Start: 9, Length: 4, Type: "integer", Sign: "leading"},
				{Name: "item_code_2", Start: 13, Length: 2, Trim: "left"},
				{Name: "item_p1", Start: 15, Length: 2, Type: "integer", Storage: "packed", Signed: true, Digits: 3},
				{Name: "item_edited", Start: 17, Length: 6, Trim: "right"}}},
		},
	}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	rs := records(t, decodeAll(t, l, "x", "HD240115    \nIT-012 A+100BB\x00\x1c 12.50\n"))
	if got := rs[1].Fields; got["item_qty_1"] != int64(-12) || got["item_code_1"] != "A" || got["item_p1"] != int64(1) || got["item_edited"] != " 12.50" {
		t.Errorf("item = %v", got)
	}
}

// TestCopybookErrors checks unsupported features are errors naming the
// line.
func TestCopybookErrors(t *testing.T) {
	tests := []struct{ cpy, want string }{
		{"01 R.\n   05 A PIC X(3).\n   05 N PIC 9(3) OCCURS 1 TO 5 DEPENDING ON K.\n", "copybook: t.cpy: line 3: OCCURS ... TO ... DEPENDING ON (variable-length records) is not supported"},
		{"01 R.\n   05 F COMP-1.\n", "copybook: t.cpy: line 2: USAGE COMP-1 (single-precision floating point) is not supported"},
		{"01 R.\n   05 F PIC S9(4) COMP SYNC.\n", "copybook: t.cpy: line 2: SYNCHRONIZED is not supported (it inserts slack bytes): remove it if the file has none"},
		{"01 R.\n   05 F PIC 9(3)PP.\n", "copybook: t.cpy: line 2: picture 9(3)PP: scaling position P is not supported"},
		{"01 R.\n   05 F OCCURS 200.\n      10 G PIC X OCCURS 100.\n", "copybook: t.cpy: line 2: record R has 20000 fields once OCCURS are expanded (20000 of them from F OCCURS 200), more than 10000: lower the OCCURS counts, or describe the repeated part as one PIC X item and split it later"},
		{"01 R.\n   05 F PIC X(3).\n66 G RENAMES F.\n", "copybook: t.cpy: line 3: level 66 (RENAMES) is not supported"},
		{"01 R.\n   05 F PIC X(3) COMP-3.\n", "copybook: t.cpy: line 2: F: PIC X(3) cannot be COMP or COMP-3"},
		{"01 R.\n   05 F PIC X(3)\n", "copybook: t.cpy: line 2: entry does not end with a period"},
		{"01 R.\n   05 T PIC X.\n      88 A VALUE 'A'.\n      88 B VALUE 'B'.\n   05 V1 PIC X(3).\n   05 V2 REDEFINES V1 PIC 9(3).\n   05 V3 REDEFINES V1 PIC X(3).\n",
			"copybook: t.cpy: line 2: T has 2 level-88 values and V1 has 3 variants (itself and its REDEFINES): they pair in order, so give one value for each"},
		{"01 A.\n   05 T PIC X VALUE 'A'.\n01 B.\n   05 F PIC X.\n", "copybook: t.cpy: line 3: record B has no type code: give its record type field a VALUE (or one level-88 value)"},
		{"01 R.\n   05 F PIC X(3) REDEFINES G.\n", "copybook: t.cpy: line 2: REDEFINES G: no item of that name before it at this level"},
		{"01 R.\n   05 F PIC S9(20) COMP.\n", "copybook: t.cpy: line 2: F: binary items hold at most 18 digits"},
		{"01 R.\n   05 F PIC X(3) FOO.\n", `copybook: t.cpy: line 2: "FOO" is not a supported clause`},
	}
	for _, tc := range tests {
		_, err := fixedwidth.ReadCopybook(strings.NewReader(tc.cpy), "t.cpy", fixedwidth.CopybookOptions{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.cpy, err, tc.want)
		}
	}
}
