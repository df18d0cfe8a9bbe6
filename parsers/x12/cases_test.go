package x12

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"legacybridge"
)

var the850Tags = []string{"ISA", "GS", "ST", "BEG", "PO1", "CTT", "SE", "GE", "IEA"}

// check850 asserts the outcome shared by CASES.md entries 1, 2, 3 and 27a.
func check850(t *testing.T, data []byte, name string) {
	t.Helper()
	segs, terrs := allSegments(t, data)
	if len(terrs) > 0 {
		t.Fatalf("tokenizer errors: %v", errStrings(terrs))
	}
	if diff := cmp.Diff(the850Tags, tags(segs)); diff != "" {
		t.Errorf("segment tags (-want +got):\n%s", diff)
	}
	checkPlaces(t, data, segs)
	if got := findSeg(t, segs, "IEA", 0).Element(2).Value(); got != "000000001" {
		t.Errorf("IEA02 = %q, want %q", got, "000000001")
	}

	res := decodeAll(t, data, name)
	if len(res.errs) > 0 {
		t.Fatalf("errors: %v", errStrings(res.errs))
	}
	if len(res.txs) != 1 {
		t.Fatalf("%d transactions, want 1", len(res.txs))
	}
	tx := res.txs[0]
	if diff := cmp.Diff([]string{"ST", "BEG", "PO1", "CTT", "SE"}, tags(tx.Segments)); diff != "" {
		t.Errorf("transaction segments (-want +got):\n%s", diff)
	}
	if got := findSeg(t, tx.Segments, "BEG", 0).Element(3).Value(); got != "PO0001" {
		t.Errorf("BEG03 = %q, want PO0001", got)
	}
	want := []string{"1", "10", "EA", "2.50", "", "BP", "ITEM-A"}
	if diff := cmp.Diff(want, values(t, findSeg(t, tx.Segments, "PO1", 0))); diff != "" {
		t.Errorf("PO1 (-want +got):\n%s", diff)
	}
	if got := findSeg(t, tx.Segments, "SE", 0).Element(1).Value(); got != "5" {
		t.Errorf("SE01 = %q, want 5", got)
	}
	if tx.Envelope.SetID != "850" || tx.Envelope.SetControlNumber != "0001" || tx.Envelope.ControlNumber != "000000001" {
		t.Errorf("envelope = %+v", tx.Envelope)
	}
}

// Case 1: terminator followed by CRLF.
func TestCase01TermCRLF(t *testing.T) {
	data := caseInput(t, "01_x12_term_crlf.edi")
	check850(t, data, "01")
	// Same result as without line breaks.
	flat := bytes.ReplaceAll(data, []byte("\r\n"), nil)
	a, b := decodeAll(t, data, "x"), decodeAll(t, flat, "x")
	if diff := cmp.Diff(valuesOf(t, a.txs), valuesOf(t, b.txs)); diff != "" {
		t.Errorf("with CRLF vs without (-crlf +flat):\n%s", diff)
	}
}

func valuesOf(t *testing.T, txs []*Transaction) [][]string {
	var out [][]string
	for _, tx := range txs {
		for _, s := range tx.Segments {
			out = append(out, append([]string{s.Tag}, values(t, s)...))
		}
	}
	return out
}

// Case 2: LF (or CR) is the segment terminator.
func TestCase02TermLF(t *testing.T) {
	t.Run("a_lf", func(t *testing.T) {
		data := caseInput(t, "02a_x12_term_lf.edi")
		check850(t, data, "02a")
		if d := decodeAll(t, data, "02a").txs[0].Envelope.Delimiters; d.Segment != "\n" {
			t.Errorf("terminator = %q, want LF", d.Segment)
		}
		// A missing final LF still closes IEA.
		trimmed := bytes.TrimSuffix(data, []byte("\n"))
		check850(t, trimmed, "02a-no-final-lf")
	})
	t.Run("b_cr_then_lf", func(t *testing.T) {
		data := caseInput(t, "02b_x12_term_cr_then_lf.edi")
		check850(t, data, "02b")
		if d := decodeAll(t, data, "02b").txs[0].Envelope.Delimiters; d.Segment != "\r" {
			t.Errorf("terminator = %q, want CR", d.Segment)
		}
	})
}

// Case 3: interchange hard-wrapped at 80 columns.
func TestCase03Wrapped80(t *testing.T) {
	data := caseInput(t, "03_x12_wrapped80.edi")
	check850(t, data, "03")

	// The same wrapped file with LF as terminator cannot be recovered.
	lf := bytes.ReplaceAll(data, []byte("~"), []byte("\n"))
	res := decodeAll(t, lf, "03lf.edi")
	if len(res.txs) != 0 || len(res.errs) != 1 {
		t.Fatalf("got %d transactions, errors %v; want one error", len(res.txs), errStrings(res.errs))
	}
	e := res.errs[0]
	if !errors.Is(e, ErrBadISA) || !strings.Contains(e.Error(), "ISA shorter than 106 characters") || !e.Fatal() {
		t.Errorf("error = %v, want fatal ErrBadISA 'ISA shorter than 106 characters'", e)
	}
	if want := (legacybridge.Position{File: "03lf.edi", Offset: 0, Line: 1, Segment: 1, Tag: "ISA"}); e.Place() != want {
		t.Errorf("place = %+v, want %+v", e.Place(), want)
	}
}

// Case 5: alphabetic ISA11 is not a repetition separator.
func TestCase05ISA11Letter(t *testing.T) {
	t.Run("a_4010", func(t *testing.T) {
		res := decodeAll(t, caseInput(t, "05a_x12_isa11_U_4010.edi"), "05a")
		if len(res.errs) > 0 || len(res.txs) != 1 {
			t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
		}
		tx := res.txs[0]
		if tx.Envelope.Delimiters.Repetition != "" {
			t.Errorf("repetition separator = %q, want none", tx.Envelope.Delimiters.Repetition)
		}
		po1 := values(t, findSeg(t, tx.Segments, "PO1", 0))
		if len(po1) != 9 || po1[6] != "AB12U34" || po1[8] != "U-100" {
			t.Errorf("PO1 = %q, want PO107=AB12U34 PO109=U-100", po1)
		}
		if n1 := values(t, findSeg(t, tx.Segments, "N1", 0)); n1[1] != "UNIT 5 DOCK U" {
			t.Errorf("N102 = %q", n1[1])
		}
	})
	t.Run("b_5010", func(t *testing.T) {
		var warnings []*ParseError
		d := NewDecoderName(bytes.NewReader(caseInput(t, "05b_x12_isa11_U_5010.edi")), "05b")
		d.Warn = func(e *ParseError) { warnings = append(warnings, e) }
		tx, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(); err != io.EOF {
			t.Fatalf("second Decode: %v, want io.EOF", err)
		}
		if tx.Envelope.Delimiters.Repetition != "" {
			t.Errorf("repetition separator = %q, want none", tx.Envelope.Delimiters.Repetition)
		}
		if po107 := values(t, findSeg(t, tx.Segments, "PO1", 0))[6]; po107 != "AB12U34" {
			t.Errorf("PO107 = %q, want AB12U34", po107)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), `ISA11 "U"`) {
			t.Errorf("warnings = %v, want one about ISA11", warnings)
		}
	})
}

// Case 6: repetition separator '^' in 005010.
func TestCase06Repetition(t *testing.T) {
	res := decodeAll(t, caseInput(t, "06_x12_repetition_caret.edi"), "06")
	if len(res.errs) > 0 || len(res.txs) != 1 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	tx := res.txs[0]
	if tx.Envelope.Delimiters != (Delimiters{Element: "*", Component: ":", Repetition: "^", Segment: "~"}) {
		t.Errorf("delimiters = %+v", tx.Envelope.Delimiters)
	}
	if tx.Envelope.ImplementationRef != "005010X220A1" {
		t.Errorf("ST03 = %q", tx.Envelope.ImplementationRef)
	}
	dmg := findSeg(t, tx.Segments, "DMG", 0)
	want := legacybridge.Element{{"", "RET", "2135-2"}, {"", "RET", "2106-3"}}
	if diff := cmp.Diff(want, dmg.Element(5)); diff != "" {
		t.Errorf("DMG05 (-want +got):\n%s", diff)
	}
	for i, w := range []string{"D8", "19900101", "F", ""} {
		if got := dmg.Element(i + 1); len(got) != 1 || len(got[0]) != 1 || got.Value() != w {
			t.Errorf("DMG%02d = %v, want %q", i+1, got, w)
		}
	}
}

// Case 8: two interchanges with different delimiters.
func TestCase08TwoInterchanges(t *testing.T) {
	data := caseInput(t, "08_x12_two_isa_different_delims.edi")
	res := decodeAll(t, data, "08")
	if len(res.errs) > 0 || len(res.txs) != 2 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	segs, _ := allSegments(t, data)
	checkPlaces(t, data, segs)
	if n := strings.Count(strings.Join(tags(segs), " "), "ISA"); n != 2 {
		t.Errorf("%d interchanges, want 2", n)
	}
	a, b := res.txs[0], res.txs[1]
	if a.Envelope.Delimiters != (Delimiters{Element: "*", Component: ">", Segment: "~"}) ||
		a.Envelope.ControlNumber != "000000001" || a.Envelope.FunctionalID != "PO" || a.Envelope.SetID != "850" ||
		len(a.Segments) != 5 {
		t.Errorf("interchange 1: %+v, %d segments", a.Envelope, len(a.Segments))
	}
	if b.Envelope.Delimiters != (Delimiters{Element: "|", Component: ":", Repetition: "^", Segment: "\n"}) ||
		b.Envelope.ControlNumber != "000000002" || b.Envelope.FunctionalID != "FA" || b.Envelope.GroupControlNumber != "2" ||
		b.Envelope.SetID != "997" {
		t.Errorf("interchange 2: %+v", b.Envelope)
	}
	got := valuesOf(t, []*Transaction{b})
	want := [][]string{
		{"ST", "997", "0001", "005010X230"},
		{"AK1", "PO", "1", "004010"},
		{"AK2", "850", "0001"},
		{"AK5", "A"},
		{"AK9", "A", "1", "1", "1"},
		{"SE", "6", "0001"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("997 (-want +got):\n%s", diff)
	}
}

// Case 11: adjacent empty elements keep their positions.
func TestCase11AdjacentEmpty(t *testing.T) {
	res := decodeAll(t, caseInput(t, "11_x12_adjacent_empty.edi"), "11")
	if len(res.errs) > 0 || len(res.txs) != 1 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	tx := res.txs[0]
	if diff := cmp.Diff([]string{"1", "", "EA", "2.50", "", "BP", "ITEM-A"}, values(t, findSeg(t, tx.Segments, "PO1", 0))); diff != "" {
		t.Errorf("PO1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ST", "DOCK 4", "", ""}, values(t, findSeg(t, tx.Segments, "N1", 0))); diff != "" {
		t.Errorf("N1 (-want +got):\n%s", diff)
	}
}

// Case 12: a short segment never takes values from the next one.
func TestCase12ShortSegment(t *testing.T) {
	res := decodeAll(t, caseInput(t, "12_x12_short_po1.edi"), "12")
	if len(res.errs) > 0 || len(res.txs) != 1 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	type line struct{ No, Buyer, Vendor string }
	var got []line
	var absent []bool
	for _, s := range res.txs[0].Segments {
		if s.Tag == "PO1" {
			got = append(got, line{s.Element(1).Value(), s.Element(7).Value(), s.Element(9).Value()})
			absent = append(absent, s.Element(9) == nil)
		}
	}
	want := []line{{"1", "ITEM-A", "VND-A"}, {"2", "ITEM-B", ""}, {"3", "ITEM-C", "VND-C"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PO1 lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true, false}, absent); diff != "" {
		t.Errorf("PO109 absent (-want +got):\n%s", diff)
	}
}

// Case 13: blank lines between segments and interchanges.
func TestCase13BlankLines(t *testing.T) {
	data := caseInput(t, "13_x12_blank_lines.edi")
	segs, terrs := allSegments(t, data)
	if len(terrs) > 0 || len(segs) != 18 {
		t.Fatalf("%d segments, errors %v; want 18, none", len(segs), errStrings(terrs))
	}
	checkPlaces(t, data, segs)
	res := decodeAll(t, data, "13")
	if len(res.errs) > 0 || len(res.txs) != 2 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	if a, b := res.txs[0].Envelope.ControlNumber, res.txs[1].Envelope.ControlNumber; a != "000000001" || b != "000000002" {
		t.Errorf("ISA13 = %q, %q", a, b)
	}
	for _, s := range segs {
		if strings.TrimSpace(s.Tag) != s.Tag || s.Tag == "" {
			t.Errorf("segment %d has tag %q", s.Number, s.Tag)
		}
	}
}

// Case 14a: wrong trailer counts are reported, one error each, and every
// segment is still parsed.
func TestCase14aBadCounts(t *testing.T) {
	data := caseInput(t, "14a_x12_bad_counts.edi")
	segs, terrs := allSegments(t, data)
	if len(terrs) > 0 || len(segs) != 9 {
		t.Fatalf("%d segments, errors %v", len(segs), errStrings(terrs))
	}
	res := decodeAll(t, data, "orders.edi")
	if len(res.txs) != 1 || len(res.txs[0].Segments) != 5 {
		t.Fatalf("want 1 transaction of 5 segments, got %d", len(res.txs))
	}
	want := []string{
		"x12: orders.edi: segment 7 (SE) at byte offset 236 (line 7): SE01 declares 9 segments, transaction set has 5",
		"x12: orders.edi: segment 8 (GE) at byte offset 247 (line 8): GE01 declares 2 transaction sets, functional group has 1",
		"x12: orders.edi: segment 9 (IEA) at byte offset 255 (line 9): IEA01 declares 0 functional groups, interchange has 1",
	}
	if diff := cmp.Diff(want, errStrings(res.errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	for _, e := range res.errs {
		if !errors.Is(e, ErrCountMismatch) || errors.Is(e, ErrControlMismatch) {
			t.Errorf("%v: want ErrCountMismatch only", e)
		}
	}
	// The adapter fails the input too, yet yields the record.
	rr := Parser{}.NewReader(bytes.NewReader(data), "orders.edi")
	rec, err := rr.Read()
	if err == nil || rec.Type != "850" {
		t.Errorf("adapter: record %q, error %v; want the 850 and an error", rec.Type, err)
	}
	var p legacybridge.Placer
	if !errors.As(err, &p) || p.Place().Tag != "SE" {
		t.Errorf("adapter error %v does not place the SE", err)
	}
}

// Case 16: a large interchange streams in bounded memory, with or without
// line breaks.
func TestCase16Large856(t *testing.T) {
	const n = 20000
	for _, oneLine := range []bool{false, true} {
		g := &gen856{n: n, oneLine: oneLine}
		d := NewDecoderName(g, "big.edi")
		count := 0
		var last *Transaction
		for {
			tx, err := d.Decode()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("oneLine=%v: %v", oneLine, err)
			}
			count++
			if len(tx.Segments) != 11 || tx.Envelope.SetID != "856" {
				t.Fatalf("transaction %d: %d segments", count, len(tx.Segments))
			}
			last = tx
		}
		if count != n {
			t.Errorf("oneLine=%v: %d transactions, want %d", oneLine, count, n)
		}
		wantOff := int64(106 + 51 + (n-1)*152)
		if !oneLine {
			wantOff = int64(107 + 52 + (n-1)*163)
		}
		if last.Pos.Offset != wantOff || last.Pos.Index != n-1 || last.Segments[10].Element(2).Value() != "000020000" {
			t.Errorf("oneLine=%v: last transaction at %+v, want offset %d", oneLine, last.Pos, wantOff)
		}
	}
}

// Case 27a: a UTF-8 BOM before the ISA.
func TestCase27aBOM(t *testing.T) {
	data := caseInput(t, "27a_x12_bom.edi")
	check850(t, data, "27a")
	res := decodeAll(t, data, "27a")
	if off := res.txs[0].Pos.Offset; off != 3+108+53 {
		t.Errorf("ST offset = %d, want %d (BOM counted)", off, 3+108+53)
	}
	// A BOM elsewhere is not skipped.
	mid := []byte("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~\xEF\xBB\xBFGS*PO~")
	if res := decodeAll(t, mid, "mid"); len(res.errs) == 0 {
		t.Errorf("BOM inside the interchange was accepted")
	}
}
