package edirules

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

var ackTime = time.Date(2024, 1, 16, 9, 30, 0, 0, time.UTC)

func x12Ack(t *testing.T, doc string, check bool, kind string) (string, *x12.Ack) {
	t.Helper()
	opts := x12.AckOptions{ControlNumber: 55, Time: ackTime}
	if check {
		opts.Check = shippedRules().X12Check()
	}
	a, err := x12.Acknowledge(strings.NewReader(doc), "in.edi", opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	write := a.Write997
	if kind == "999" {
		write = a.Write999
	}
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String(), a
}

func contrl(t *testing.T, doc string, check bool) (string, *edifact.Ack) {
	t.Helper()
	opts := edifact.AckOptions{ControlRef: 500, Time: ackTime}
	if check {
		opts.Check = shippedRules().EDIFACTCheck()
	}
	a, err := edifact.Acknowledge(strings.NewReader(doc), "in.edi", opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := a.WriteCONTRL(&b); err != nil {
		t.Fatal(err)
	}
	return b.String(), a
}

// TestAckCases: each rule case's violations come out in the 997 (AK3/AK4,
// AK5 R 5) or CONTRL (UCM 4, UCS/UCD) written with the rules' check, and
// the good documents are accepted.
func TestAckCases(t *testing.T) {
	for _, c := range ruleCases() {
		t.Run(c.name, func(t *testing.T) {
			var got string
			if c.format == X12 {
				got, _ = x12Ack(t, c.doc, true, "997")
				plain, _ := x12Ack(t, c.doc, false, "997")
				if strings.Contains(plain, "AK3") || !strings.Contains(plain, "AK5*A~") {
					t.Errorf("without the check the set is not accepted plainly: %s", plain)
				}
			} else {
				got, _ = contrl(t, c.doc, true)
			}
			if !strings.Contains(got, c.ack) {
				t.Errorf("acknowledgement does not hold %q:\n%s", c.ack, got)
			}
		})
	}
}

func TestAck997Golden(t *testing.T) {
	doc := x12Doc("PO", "850", replace(replace(good850, 0, "BEG*99*XX*PO0001**20240115"), 3, "")...)
	got, a := x12Ack(t, doc, true, "997")
	want := "ISA*00*          *00*          *ZZ*RECEIVERID     *ZZ*SENDERID       *240116*0930*U*00401*000000055*0*P*>~" +
		"GS*FA*RECEIVERID*SENDERID*20240116*0930*55*X*004010~" +
		"ST*997*0001~AK1*PO*7~AK2*850*0001~" +
		"AK3*BEG*2**8~AK4*1*353*7*99~AK4*2*92*7*XX~" +
		"AK3*PO1*6**3~" +
		"AK5*R*5~AK9*R*1*1*0~SE*10*0001~GE*1*55~IEA*1*000000055~"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("997 (-want +got):\n%s", diff)
	}
	set := a.Interchanges[0].Groups[0].Sets[0]
	if set.Status != "R" || len(set.Segments) != 2 {
		t.Errorf("SetAck: status %s, %d segment errors", set.Status, len(set.Segments))
	}
	// The 997 reads back: ReadAcks sees the set rejected with code 5.
	acks, err := x12.ReadAcks(strings.NewReader(got), "997.edi")
	if err != nil || len(acks) != 1 || len(acks[0].Sets) != 1 || acks[0].Sets[0].Status != "R" {
		t.Fatalf("ReadAcks: %v, %+v", err, acks)
	}
}

func TestAck999Golden(t *testing.T) {
	doc := x12Doc("SH", "856", replace(good856, 5, "HL*3*2*X")...)
	got, _ := x12Ack(t, doc, true, "999")
	want := "ST*999*0001*005010X231A1~AK1*SH*7*004010~AK2*856*0001~" +
		"IK3*HL*7**8~IK4*3*735*7*X~IK5*R*5~AK9*R*1*1*0~SE*8*0001~"
	if !strings.Contains(got, want) {
		t.Errorf("999 does not hold\n%s\ngot:\n%s", want, got)
	}
}

func TestCONTRLGolden(t *testing.T) {
	doc := edifactDoc("ORDERS", replace(replace(goodORDERS, 2, "NAD+BYZZ+5412345000013::9"), 4, "QTY+21:10A:EA")...)
	got, a := contrl(t, doc, true)
	want := "UNB+UNOC:3+RECEIVER:14+SENDER:14+240116:0930+500'UNH+1+CONTRL:D:3:UN'" +
		"UCI+IC1+SENDER:14+RECEIVER:14+7'" +
		"UCM+1+ORDERS:D:96A:UN+4'UCS+4'UCD+39+1'UCS+6'UCD+37+1:2'" +
		"UNT+8+1'UNZ+1+500'"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CONTRL (-want +got):\n%s", diff)
	}
	if rej, total := a.Rejected(); rej != 1 || total != 1 {
		t.Errorf("Rejected() = %d of %d, want 1 of 1", rej, total)
	}
}

// TestAckCheckWithParseErrors: a set the parser already rejects (its SE01
// is wrong) gets the rules' errors too, in segment order with the parser's.
func TestAckCheckWithParseErrors(t *testing.T) {
	doc := strings.Replace(x12Doc("PO", "850", replace(good850, 0, "BEG*99*SA*PO0001**20240115")...), "SE*8*0001", "SE*9*0001", 1)
	got, _ := x12Ack(t, doc, true, "997")
	if !strings.Contains(got, "AK2*850*0001~AK3*BEG*2**8~AK4*1*353*7*99~AK5*R*4*5~") {
		t.Errorf("997 of a set with a bad count and a bad code:\n%s", got)
	}
}

// TestAckBadCopyDelimiters: a bad value holding a delimiter of the
// acknowledgement (here, with delimiters other than the input's) is left
// out of AK404 instead of failing the 997.
func TestAckBadCopyDelimiters(t *testing.T) {
	doc := x12Doc("PO", "850", replace(good850, 0, "BEG*00*A|*PO0001**20240115")...)
	opts := x12.AckOptions{ControlNumber: 55, Time: ackTime, Check: shippedRules().X12Check(),
		Delimiters: &x12.Delimiters{Element: "|", Component: ":", Segment: "~"}}
	a, err := x12.Acknowledge(strings.NewReader(doc), "in.edi", opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := a.Write997(&b); err != nil {
		t.Fatalf("Write997: %v", err)
	}
	if !strings.Contains(b.String(), "AK3|BEG|2||8~AK4|2|92|7~") {
		t.Errorf("997:\n%s", b.String())
	}
}

func TestX12ErrorsGrouping(t *testing.T) {
	vs := []Violation{
		{Position: 2, Tag: "BEG", Element: 1, Value: "99", Ref: "353", X12Segment: "8", X12Element: "7"},
		{Position: 2, Tag: "BEG", Element: 3, Value: strings.Repeat("é", 120), X12Segment: "8", X12Element: "5"},
		{Position: 2, Tag: "BEG", X12Segment: "5"},
		{Position: 4, Tag: "PO1", Element: 2, Component: 1, Value: "x", X12Segment: "8", X12Element: "6"},
	}
	got := X12Errors(vs)
	want := []x12.SegmentError{
		{Tag: "BEG", Position: 2, Code: "8", Elements: []x12.ElementError{{Position: 1, Ref: "353", Code: "7", Bad: "99"},
			{Position: 3, Code: "5", Bad: strings.Repeat("é", 99)}}},
		{Tag: "BEG", Position: 2, Code: "5"},
		{Tag: "PO1", Position: 4, Code: "8", Elements: []x12.ElementError{{Position: 2, Component: 1, Code: "6", Bad: "x"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("X12Errors (-want +got):\n%s", diff)
	}
	gotE := EDIFACTErrors(vs[:3])
	wantE := []edifact.SegmentError{{Position: 2, Tag: "BEG", Elements: []edifact.ElementError{{Position: 1}, {Position: 3}}}, {Position: 2, Tag: "BEG"}}
	if diff := cmp.Diff(wantE, gotE); diff != "" {
		t.Errorf("EDIFACTErrors (-want +got):\n%s", diff)
	}
}
