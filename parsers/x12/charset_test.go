package x12

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// charsetRun decodes in with the charset (and the general tokenizer path
// when slow), returning the transaction sets, the warnings and the errors.
func charsetRun(t *testing.T, in, charset string, slow bool) ([]*Transaction, []string, []error) {
	t.Helper()
	d := NewDecoderName(strings.NewReader(in), "t.edi")
	d.Charset = charset
	d.tok.noFast = slow
	var warns []string
	d.Warn = func(e *ParseError) {
		if errors.Is(e, ErrEncoding) {
			warns = append(warns, e.Error())
		}
	}
	var txs []*Transaction
	var errs []error
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if tx != nil {
			txs = append(txs, tx)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return txs, warns, errs
}

const charsetGS = "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~"

func charsetDoc(po1 string) string {
	return testISA + charsetGS + po1 + "~SE*3*0001~GE*1*1~IEA*1*000000001~"
}

func TestCharsetDefaultDecodesWindows1252WithWarning(t *testing.T) {
	in := charsetDoc("PO1*1*2*EA*9.5**VP*AB\x96CD*BP*caf\xe9>x")
	off := strings.IndexByte(in, 0x96)
	off2 := strings.IndexByte(in, 0xe9)
	po1 := strings.Index(in, "PO1")
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow=%v", slow), func(t *testing.T) {
			txs, warns, errs := charsetRun(t, in, "", slow)
			if len(errs) > 0 || len(txs) != 1 {
				t.Fatalf("txs %d errors %v", len(txs), errs)
			}
			seg := findSeg(t, txs[0].Segments, "PO1", 0)
			if got, want := seg.Element(7).Value(), "AB–CD"; got != want {
				t.Errorf("PO107 = %q, want %q", got, want)
			}
			if diff := cmp.Diff([]string{"café", "x"}, []string(seg.Element(9)[0])); diff != "" {
				t.Errorf("PO109 (-want +got):\n%s", diff)
			}
			want := []string{
				fmt.Sprintf(`x12: t.edi: segment 4 (PO1) at byte offset %d (line 1): PO107 is not valid UTF-8 (byte 0x96 at byte offset %d): decoded as Windows-1252 "AB–CD"`, off, off),
				fmt.Sprintf(`x12: t.edi: segment 4 (PO1) at byte offset %d (line 1): PO109 is not valid UTF-8 (byte 0xE9 at byte offset %d): decoded as Windows-1252 "café"`, off2, off2),
			}
			if diff := cmp.Diff(want, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if seg.Offset != int64(po1) {
				t.Errorf("PO1 offset %d, want %d", seg.Offset, po1)
			}
			js, err := json.Marshal(txs[0].Record())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(js), `"AB–CD"`) || strings.Contains(string(js), `\ufffd`) {
				t.Errorf("JSON %s: want \"AB–CD\" and no U+FFFD", js)
			}
		})
	}
}

// A line break dropped inside the segment does not shift the offset warned.
func TestCharsetWarningOffsetAfterLineBreak(t *testing.T) {
	in := charsetDoc("PO1*1*2*EA*9.5*\r\n*VP*AB\x96CD")
	off := strings.IndexByte(in, 0x96)
	po1 := strings.Index(in, "PO1")
	_, warns, errs := charsetRun(t, in, "", false)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []string{fmt.Sprintf(`x12: t.edi: segment 4 (PO1) at byte offset %d (line 1): PO107 is not valid UTF-8 (byte 0x96 at byte offset %d): decoded as Windows-1252 "AB–CD"`, off, off)}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s (PO1 at %d)", diff, po1)
	}
}

func TestCharsetValidUTF8Untouched(t *testing.T) {
	in := charsetDoc("PO1*1*2*EA*9.5**VP*AB–CD é")
	txs, warns, errs := charsetRun(t, in, "utf-8", false)
	if len(errs) > 0 || len(txs) != 1 || len(warns) > 0 {
		t.Fatalf("txs %d errors %v warnings %v", len(txs), errs, warns)
	}
	if got := findSeg(t, txs[0].Segments, "PO1", 0).Element(7).Value(); got != "AB–CD é" {
		t.Errorf("PO107 = %q, want %q", got, "AB–CD é")
	}
}

func TestCharsetExplicit(t *testing.T) {
	in := charsetDoc("PO1*1*2*EA*9.5**VP*AB\x96CD \xe9\x81")
	tests := []struct{ charset, want string }{
		{"windows-1252", "AB–CD é\u0081"},
		{"Windows-1252", "AB–CD é\u0081"},
		{"iso-8859-1", "AB\u0096CD é\u0081"},
	}
	for _, tc := range tests {
		for _, slow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/slow=%v", tc.charset, slow), func(t *testing.T) {
				txs, warns, errs := charsetRun(t, in, tc.charset, slow)
				if len(errs) > 0 || len(txs) != 1 || len(warns) > 0 {
					t.Fatalf("txs %d errors %v warnings %v", len(txs), errs, warns)
				}
				if got := findSeg(t, txs[0].Segments, "PO1", 0).Element(7).Value(); got != tc.want {
					t.Errorf("PO107 = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// A declared charset also decodes valid UTF-8 bytes byte by byte: it is
// what the partner sends.
func TestCharsetExplicitAppliesToUTF8Bytes(t *testing.T) {
	txs, _, errs := charsetRun(t, charsetDoc("PO1*1*2*EA*9.5**VP*é"), "iso-8859-1", false)
	if len(errs) > 0 || len(txs) != 1 {
		t.Fatalf("txs %d errors %v", len(txs), errs)
	}
	if got := findSeg(t, txs[0].Segments, "PO1", 0).Element(7).Value(); got != "Ã©" {
		t.Errorf("PO107 = %q, want %q", got, "Ã©")
	}
}

func TestCharsetISAField(t *testing.T) {
	isa := strings.Replace(testISA, "SENDERID       ", "SENDER\xc9\xe9       ", 1)
	in := isa + charsetGS + "PO1*1~SE*3*0001~GE*1*1~IEA*1*000000001~"
	off := strings.IndexByte(in, 0xc9)
	txs, warns, errs := charsetRun(t, in, "", false)
	if len(errs) > 0 || len(txs) != 1 {
		t.Fatalf("txs %d errors %v", len(txs), errs)
	}
	if got, want := txs[0].Envelope.SenderID, "SENDERÉé"; got != want {
		t.Errorf("ISA06 = %q, want %q", got, want)
	}
	want := []string{fmt.Sprintf(`x12: t.edi: segment 1 (ISA) at byte offset %d (line 1): ISA06 is not valid UTF-8 (byte 0xC9 at byte offset %d): decoded as Windows-1252 "SENDERÉé       "`, off, off)}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestCharsetNeverDecodesBIN(t *testing.T) {
	data := "a\x96\xe9~\xff"
	in := charsetDoc(fmt.Sprintf("BIN*%d*%s", len(data), data))
	for _, cs := range []string{"", "windows-1252", "iso-8859-1"} {
		txs, warns, errs := charsetRun(t, in, cs, false)
		if len(errs) > 0 || len(txs) != 1 || len(warns) > 0 {
			t.Fatalf("%q: txs %d errors %v warnings %v", cs, len(txs), errs, warns)
		}
		if got := findSeg(t, txs[0].Segments, "BIN", 0).Element(2).Value(); got != data {
			t.Errorf("%q: BIN02 = %q, want %q", cs, got, data)
		}
	}
}

func TestCharsetUnknown(t *testing.T) {
	_, _, errs := charsetRun(t, charsetDoc("PO1*1"), "ebcdic", false)
	var pe *ParseError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || !pe.Fatal() || !errors.Is(pe, ErrEncoding) {
		t.Fatalf("errors = %v, want one fatal ErrEncoding", errs)
	}
	if want := `x12: segment 1 at byte offset 0 (line 1): unknown Charset "ebcdic" (want "utf-8", "windows-1252" or "iso-8859-1")`; pe.Error() != strings.Replace(want, "x12: ", "x12: t.edi: ", 1) {
		t.Errorf("error = %q", pe.Error())
	}
}

func TestParserCharset(t *testing.T) {
	var warns []*ParseError
	p := Parser{Charset: "windows-1252", Warn: func(e *ParseError) { warns = append(warns, e) }}
	rr := p.NewReader(strings.NewReader(charsetDoc("PO1*1*2*EA*9.5**VP*AB\x96CD")), "t.edi")
	rec, err := rr.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Segments[1].Element(7).Value(); got != "AB–CD" {
		t.Errorf("PO107 = %q, want %q", got, "AB–CD")
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v, want none", warns)
	}
}
