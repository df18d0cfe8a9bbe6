package x12

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testISA = "ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~"

// Envelope and tokenizer faults: each input (segments after the ISA, joined
// by "~") yields the transaction-set count and the errors listed as
// kind@segment(TAG).
func TestEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		txs  int
		errs []string
	}{
		{"clean", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00~SE*3*0001~GE*1*1~IEA*1*000000001~", 1, nil},
		{"numeric control numbers", "GS*PO*S*R*20240115*1200*000001*X*004010~ST*850*1~SE*2*0001~GE*1*1~IEA*1*1~", 1, nil},
		{"missing SE", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00~GE*1*1~IEA*1*000000001~", 1,
			[]string{"trailer@5(GE)"}},
		{"SE02 mismatch", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~SE*2*0002~GE*1*1~IEA*1*000000001~", 1,
			[]string{"control@4(SE)"}},
		{"SE01 and SE02 wrong", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~SE*X*0002~GE*1*1~IEA*1*000000001~", 1,
			[]string{"count@4(SE)", "control@4(SE)"}},
		{"IEA02 mismatch", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~SE*2*0001~GE*1*1~IEA*1*000000002~", 1,
			[]string{"control@6(IEA)"}},
		{"end inside ST", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~BEG*00~", 1,
			[]string{"trailer@3(ST)", "trailer@2(GS)", "trailer@1(ISA)"}},
		{"ST without GS", "ST*850*1~SE*2*1~IEA*0*000000001~", 1, []string{"outside@2(ST)"}},
		{"segment between sets", "GS*PO*S*R*20240115*1200*1*X*004010~N1*X~GE*0*1~IEA*1*000000001~", 0,
			[]string{"outside@3(N1)"}},
		{"segment after IEA", "IEA*0*000000001~N1*X~", 0, []string{"outside@3(N1)"}},
		{"GS after IEA", "IEA*0*000000001~GS*PO*S*R*20240115*1200*1*X*004010~GE*0*1~", 0, []string{"outside@3(GS)"}},
		{"SE without ST", "GS*PO*S*R*20240115*1200*1*X*004010~SE*1*1~GE*0*1~IEA*1*000000001~", 0, []string{"outside@3(SE)"}},
		{"GE without GS", "GE*0*1~IEA*0*000000001~", 0, []string{"outside@2(GE)"}},
		{"GS without GE", "GS*PO*S*R*20240115*1200*1*X*004010~IEA*1*000000001~", 0, []string{"trailer@3(IEA)"}},
		{"ISA without IEA", "IEA*0*000000001~" + testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~SE*2*1~GE*1*1~" + testISA + "IEA*0*000000001~",
			1, []string{"trailer@8(ISA)"}},
		{"empty segment", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~~SE*2*1~GE*1*1~IEA*1*000000001~", 1,
			[]string{"segment@4()"}},
		{"bad tag", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~be1*x~SE*3*1~GE*1*1~IEA*1*000000001~", 1,
			[]string{"segment@4()"}},
		{"unterminated last segment", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~SE*2*1~GE*1*1~IEA*1*000000001", 1,
			[]string{"segment@6(IEA)"}},
		{"BIN01 beyond data", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~BIN*50*abc~SE*3*1~", 0,
			[]string{"bin@4(BIN)"}},
		{"BIN02 longer than BIN01", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~BIN*2*abc~SE*3*1~", 0,
			[]string{"bin@4(BIN)"}},
		{"BIN with terminators inside", "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~BIN*5*a~b~c~SE*3*1~GE*1*1~IEA*1*000000001~", 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(testISA + tc.in)
			res := decodeAll(t, data, "t.edi")
			if len(res.txs) != tc.txs {
				t.Errorf("%d transaction sets, want %d", len(res.txs), tc.txs)
			}
			var got []string
			for _, e := range res.errs {
				got = append(got, errKey(e))
			}
			if diff := cmp.Diff(tc.errs, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nall: %q", diff, errStrings(res.errs))
			}
			for _, tx := range res.txs {
				checkPlaces(t, data, tx.Segments)
			}
		})
	}
}

// Faults that stop decoding: returned once, then io.EOF.
func TestFatalErrors(t *testing.T) {
	tests := []struct {
		name, in string
		kind     error
		msg      string
	}{
		{"data before ISA", "GS*PO~" + testISA, ErrNoInterchange, "does not start with an ISA"},
		{"truncated ISA", testISA[:60], ErrBadISA, "input ends inside the ISA"},
		{"ISA without terminator", testISA[:105], ErrBadISA, "no segment terminator"},
		{"ISA16 = element separator", strings.Replace(testISA, ">", "*", 1), ErrBadISA,
			`ISA16 (component separator) "*" is also the element separator (the character after "ISA"): delimiters must be distinct`},
		{"terminator = element separator", strings.Replace(testISA, ">~", ">*", 1) + "GS*PO*", ErrBadISA,
			`the segment terminator (the character after ISA16) "*" is also the element separator (the character after "ISA"): delimiters must be distinct`},
		{"terminator = ISA16", strings.Replace(testISA, ">~", ">>", 1) + "GS*PO>", ErrBadISA,
			`the segment terminator (the character after ISA16) ">" is also ISA16 (component separator): delimiters must be distinct`},
		{"ISA11 = ISA16 in 00501", strings.Replace(testISA, "*U*00401*000000001*0*P*>~", "*^*00501*000000001*0*P*^~", 1), ErrBadISA,
			`ISA11 (repetition separator) "^" is also ISA16 (component separator): delimiters must be distinct`},
		{"ISA11 = terminator in 00501", strings.Replace(testISA, "*U*00401*", "*~*00501*", 1), ErrBadISA,
			`ISA11 (repetition separator) "~" is also the segment terminator (the character after ISA16): delimiters must be distinct`},
		{"letter terminator", strings.Replace(testISA, ">~", ">G", 1) + "S*PO~", ErrBadISA, `segment terminator "G"`},
		{"ISA13 not digits", strings.Replace(testISA, "000000001", "00000000A", 1), ErrBadISA, "ISA13"},
		{"ISA09 short", strings.Replace(testISA, "*240115*", "*24015 *", 1), ErrBadISA, "ISA09"},
		{"ISA06 collapsed", strings.Replace(testISA, "SENDERID       ", "SENDERID", 1), ErrBadISA, "ISA06"},
		{"no 16 separators", "ISA*" + strings.Repeat("x", 600), ErrBadISA, "no 16th element separator"},
		{"bad BIN01", testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~BIN*-1*~SE*3*1~", ErrBadBIN, "BIN01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoderName(strings.NewReader(tc.in), "f.edi")
			var err error
			for i := 0; i < 10; i++ {
				if _, err = d.Decode(); err != nil {
					break
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.kind) || !pe.Fatal() || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error = %v, want fatal %v containing %q", err, tc.kind, tc.msg)
			}
			if pe.File != "f.edi" {
				t.Errorf("file = %q", pe.File)
			}
			if tx, err := d.Decode(); tx != nil || err != io.EOF {
				t.Errorf("after a fatal error: %v, %v; want io.EOF", tx, err)
			}
		})
	}
}

// Delimiters of several bytes (UTF-8) work for every role.
func TestMultiByteDelimiters(t *testing.T) {
	in := testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~PO1*1*A>B*C~SE*3*0001~GE*1*1~IEA*1*000000001~"
	in = strings.NewReplacer("*", "§", ">", "→", "~", "…\r\n").Replace(in)
	data := []byte(in)
	res := decodeAll(t, data, "mb")
	if len(res.errs) > 0 || len(res.txs) != 1 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	tx := res.txs[0]
	if tx.Envelope.Delimiters != (Delimiters{Element: "§", Component: "→", Segment: "…"}) {
		t.Errorf("delimiters = %+v", tx.Envelope.Delimiters)
	}
	po1 := findSeg(t, tx.Segments, "PO1", 0)
	if diff := cmp.Diff([]string{"A", "B"}, po1.Element(2)[0]); diff != "" || po1.Element(3).Value() != "C" {
		t.Errorf("PO1 = %v", po1.Elements)
	}
	checkPlaces(t, data, tx.Segments)
}

// The tokenizer is usable on its own and reports positions.
func TestTokenizer(t *testing.T) {
	data := caseInput(t, "01_x12_term_crlf.edi")
	tok := NewTokenizer(bytes.NewReader(data))
	tok.Name = "01"
	var lines []int
	for {
		seg, err := tok.NextSegment()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, tok.Line())
		if seg.Number != len(lines) {
			t.Errorf("segment %s numbered %d, want %d", seg.Tag, seg.Number, len(lines))
		}
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if tok.Offset() != int64(len(data)) {
		t.Errorf("offset %d at end, want %d", tok.Offset(), len(data))
	}
	if _, err := tok.NextSegment(); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
}

// A delimiter conflict is placed at the ISA and names both ISA elements.
func TestISA11ConflictPlace(t *testing.T) {
	in := strings.Replace(testISA, "*U*00401*000000001*0*P*>~", "*^*00501*000000001*0*P*^~", 1)
	_, err := NewDecoderName(strings.NewReader(in), "f.edi").Decode()
	want := `x12: f.edi: segment 1 (ISA) at byte offset 0 (line 1): ISA11 (repetition separator) "^" is also ISA16 (component separator): delimiters must be distinct`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}
