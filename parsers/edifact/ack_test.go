package edifact

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var ackTime = time.Date(2024, 1, 16, 9, 30, 0, 0, time.UTC)

func orders(ref, count string) string {
	return "UNH+" + ref + "+ORDERS:D:96A:UN'BGM+220+PO" + ref + "+9'DTM+137:20240115:102'UNT+" + count + "+" + ref + "'"
}

// threeMsgs is an interchange whose second message has a wrong UNT count.
var threeMsgs = "UNB+UNOC:3+SENDER:14+RECEIVER:14+240115:1200+IC1'" +
	orders("1", "4") + orders("2", "9") + orders("3", "4") + "UNZ+3+IC1'"

func acknowledge(t *testing.T, in string, opts ...func(*AckOptions)) *Ack {
	t.Helper()
	o := AckOptions{ControlRef: 500, Time: ackTime}
	for _, f := range opts {
		f(&o)
	}
	a, err := Acknowledge(strings.NewReader(in), "in.edi", o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func contrl(t *testing.T, a *Ack) string {
	t.Helper()
	var b bytes.Buffer
	if err := a.WriteCONTRL(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// readBack decodes a CONTRL we wrote: it must parse cleanly.
func readBack(t *testing.T, out string) []ReceivedCONTRL {
	t.Helper()
	return readBackWarn(t, out, false)
}

// readBackWarn is readBack that, when echoed is true, accepts warnings
// about characters (the partner's identifiers echoed as sent).
func readBackWarn(t *testing.T, out string, echoed bool) []ReceivedCONTRL {
	t.Helper()
	res := decodeAll(t, []byte(out), "contrl.edi")
	warns := res.warns
	if echoed {
		warns = nil
		for _, w := range res.warns {
			if !errors.Is(w, ErrRepertoire) && !errors.Is(w, ErrEncoding) {
				warns = append(warns, w)
			}
		}
	}
	if len(res.errs) > 0 || len(warns) > 0 {
		t.Fatalf("the CONTRL does not decode cleanly: %v %v\n%s", errStrings(res.errs), errStrings(res.warns), out)
	}
	got, err := ReadCONTRL(strings.NewReader(out), "contrl.edi")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCONTRLBadCount(t *testing.T) {
	a := acknowledge(t, threeMsgs)
	got := contrl(t, a)
	want := "UNB+UNOC:3+RECEIVER:14+SENDER:14+240116:0930+500'" +
		"UNH+1+CONTRL:D:3:UN'" +
		"UCI+IC1+SENDER:14+RECEIVER:14+7'" +
		"UCM+1+ORDERS:D:96A:UN+7'" +
		"UCM+2+ORDERS:D:96A:UN+4+29+UNT+1'" +
		"UCM+3+ORDERS:D:96A:UN+7'" +
		"UNT+6+1'UNZ+1+500'"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CONTRL (-want +got):\n%s", diff)
	}
	if rej, total := a.Rejected(); rej != 1 || total != 3 {
		t.Errorf("Rejected = %d of %d, want 1 of 3", rej, total)
	}
	back := readBack(t, got)
	if len(back) != 1 {
		t.Fatalf("%d CONTRLs read back", len(back))
	}
	r := back[0]
	r.Envelope = Envelope{}
	wantR := ReceivedCONTRL{InterchangeRef: "IC1", Sender: "SENDER", Recipient: "RECEIVER", Action: "7",
		Messages: []ReceivedMessage{
			{Ref: "1", ID: MessageID{"ORDERS", "D", "96A", "UN", ""}, Action: "7"},
			{Ref: "2", ID: MessageID{"ORDERS", "D", "96A", "UN", ""}, Action: "4", Fault: &Fault{Code: 29, Tag: "UNT", Element: 1}},
			{Ref: "3", ID: MessageID{"ORDERS", "D", "96A", "UN", ""}, Action: "7"},
		}}
	if diff := cmp.Diff(wantR, r, cmpIgnoreEnvelope); diff != "" {
		t.Errorf("ReadCONTRL (-want +got):\n%s", diff)
	}
}

var cmpIgnoreEnvelope = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Envelope" }, cmp.Ignore())

// A segment with a bad tag is reported by a UCS with code 15.
func TestCONTRLBadSegment(t *testing.T) {
	in := strings.Replace(threeMsgs, "BGM+220+PO2+9'", "BGM+220+PO2+9'bad+1'", 1)
	in = strings.Replace(in, "UNT+9+2'", "UNT+5+2'", 1)
	got := contrl(t, acknowledge(t, in))
	if !strings.Contains(got, "UCM+2+ORDERS:D:96A:UN+4'UCS+3+15'") {
		t.Errorf("CONTRL: %s", got)
	}
	back := readBack(t, got)
	m := back[0].Messages[1]
	if m.Action != "4" || len(m.Segments) != 1 || !cmp.Equal(m.Segments[0], SegmentError{Position: 3, Code: 15}) {
		t.Errorf("read back %+v", m)
	}
}

func TestCONTRLEnvelopeErrors(t *testing.T) {
	group := func(ref, count string) string {
		return "UNG+ORDERS+SENDER+RECEIVER+240115:1200+" + ref + "+UN+D:96A'" + orders("1", "4") + "UNE+" + count + "+" + ref + "'"
	}
	unb := "UNB+UNOC:3+SENDER:14+RECEIVER:14+240115:1200+IC1'"
	tests := []struct {
		name string
		in   string
		want []string // in the CONTRL, in order
		rej  int      // rejected messages
	}{
		{"good", unb + orders("1", "4") + "UNZ+1+IC1'", []string{"UCI+IC1+SENDER:14+RECEIVER:14+7'", "UCM+1+ORDERS:D:96A:UN+7'"}, 0},
		{"UNZ count", unb + orders("1", "4") + "UNZ+2+IC1'", []string{"UCI+IC1+SENDER:14+RECEIVER:14+4+29+UNZ+1'UNT"}, 1}, // no UCM 7 under UCI 4
		{"UNZ reference", unb + orders("1", "4") + "UNZ+1+IC2'", []string{"UCI+IC1+SENDER:14+RECEIVER:14+4+28+UNZ+2'"}, 1},
		{"no UNZ", unb + orders("1", "4"), []string{"UCI+IC1+SENDER:14+RECEIVER:14+4+13+UNB'"}, 1},
		{"group UNE count", unb + group("G1", "2") + group("G2", "1") + "UNZ+2+IC1'",
			[]string{"UCI+IC1+SENDER:14+RECEIVER:14+7'", "UCF+G1+SENDER+RECEIVER+4+29+UNE+1'UCF+G2+SENDER+RECEIVER+7'UCM+1+ORDERS:D:96A:UN+7'"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := acknowledge(t, tc.in)
			got := contrl(t, a)
			at := 0
			for _, w := range tc.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("CONTRL has no %s after byte %d:\n%s", w, at, got)
				}
				at += i + len(w)
			}
			if rej, _ := a.Rejected(); rej != tc.rej {
				t.Errorf("Rejected = %d, want %d", rej, tc.rej)
			}
			readBack(t, got)
		})
	}
}

// Syntax version 4 with its own service characters: the CONTRL uses them
// (with a UNA), CONTRL:4:1:UN and a CCYYMMDD date; ReceiptOnly reports
// the interchange as received, without UCMs.
func TestCONTRLVersion4(t *testing.T) {
	in := "UNA:+.?*'UNB+UNOW:4+SENDER+RECEIVER+20240115:1200+IC9'" + orders("1", "4") + "UNZ+1+IC9'"
	got := contrl(t, acknowledge(t, in, func(o *AckOptions) { o.Suffix = "\n" }))
	want := "UNB+UNOW:4+RECEIVER+SENDER+20240116:0930+500'\nUNH+1+CONTRL:4:1:UN'\nUCI+IC9+SENDER+RECEIVER+7'\n" +
		"UCM+1+ORDERS:D:96A:UN+7'\nUNT+4+1'\nUNZ+1+500'\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CONTRL (-want +got):\n%s", diff)
	}
	readBack(t, got)
	got = contrl(t, acknowledge(t, in, func(o *AckOptions) {
		o.ReceiptOnly = true
		o.Delimiters = &Delimiters{Component: ">", Element: "|", Release: "!", Repetition: "^", Segment: "~"}
	}))
	want = "UNA>|.!^~UNB|UNOW>4|RECEIVER|SENDER|20240116>0930|500~UNH|1|CONTRL>4>1>UN~UCI|IC9|SENDER|RECEIVER|8~UNT|3|1~UNZ|1|500~"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("receipt CONTRL (-want +got):\n%s", diff)
	}
	if back := readBack(t, got); back[0].Action != "8" || back[0].InterchangeRef != "IC9" {
		t.Errorf("read back %+v", back[0])
	}
}

// Every EDIFACT corpus and testdata file is acknowledged; the CONTRL reads
// back cleanly and lists every message of every interchange.
func TestCONTRLCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(files, edifactCorpusFiles(t)...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Acknowledge(bytes.NewReader(data), path, AckOptions{ControlRef: 1, Time: ackTime, Suffix: "\n"})
			if err != nil {
				t.Fatal(err)
			}
			out := contrl(t, a)
			if len(a.Interchanges) == 0 {
				if out != "" {
					t.Errorf("CONTRL without interchanges: %s", out)
				}
				return
			}
			in := decodeAll(t, data, path)
			back := readBackWarn(t, out, len(in.warns) > 0)
			if len(back) != len(a.Interchanges) {
				t.Fatalf("%d CONTRLs for %d interchanges", len(back), len(a.Interchanges))
			}
			// Every message is listed, but accepted ones under a rejected
			// interchange or group (a UCM 7 there would contradict it).
			total := 0
			for _, ic := range a.Interchanges {
				for _, m := range ic.Messages {
					if ic.Action != ActionRejected || m.Action == ActionRejected {
						total++
					}
				}
				for _, g := range ic.Groups {
					for _, m := range g.Messages {
						if ic.Action != ActionRejected && g.Action != ActionRejected || m.Action == ActionRejected {
							total++
						}
					}
				}
			}
			n := 0
			for _, c := range back {
				n += len(c.Messages)
				for _, g := range c.Groups {
					n += len(g.Messages)
				}
			}
			if n != total {
				t.Errorf("CONTRL lists %d messages, the Ack has %d", n, total)
			}
		})
	}
}

// With StrictCharset, a character outside UNOA in a body segment rejects
// the message with a UCS and a UCD naming the element and component.
func TestCONTRLElementError(t *testing.T) {
	in := "UNB+UNOA:3+SENDER+RECEIVER+240115:1200+IC1'" + strings.Replace(orders("1", "4"), "BGM+220+PO1", "BGM+220+po1", 1) + "UNZ+1+IC1'"
	a := acknowledge(t, in, func(o *AckOptions) { o.StrictCharset = true })
	got := contrl(t, a)
	if !strings.Contains(got, "UCM+1+ORDERS:D:96A:UN+4'UCS+2'UCD+21+2:1'") {
		t.Errorf("CONTRL: %s", got)
	}
	back := readBack(t, got)
	want := []SegmentError{{Position: 2, Elements: []ElementError{{Position: 2, Component: 1, Code: 21}}}}
	if diff := cmp.Diff(want, back[0].Messages[0].Segments); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// Without it, the message is acknowledged (the decoder only warns).
	if got := contrl(t, acknowledge(t, in)); !strings.Contains(got, "UCM+1+ORDERS:D:96A:UN+7'") {
		t.Errorf("lenient CONTRL: %s", got)
	}
}

// Case 14b: wrong UNT and UNZ counts. The message is rejected (29 at UNT
// element 1), the interchange too (29 at UNZ element 1).
func TestCONTRLCase14b(t *testing.T) {
	a, err := Acknowledge(bytes.NewReader(caseInput(t, "14b_edifact_bad_counts.edi")), "14b", AckOptions{ControlRef: 9, Time: ackTime})
	if err != nil {
		t.Fatal(err)
	}
	got := contrl(t, a)
	want := "UNB+UNOA:3+RECEIVERID+SENDERID+240116:0930+9'UNH+1+CONTRL:D:3:UN'" +
		"UCI+REF001+SENDERID+RECEIVERID+4+29+UNZ+1'UCM+1+ORDERS:D:96A:UN+4+29+UNT+1'UNT+4+1'UNZ+1+9'"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CONTRL (-want +got):\n%s", diff)
	}
	readBack(t, got)
}
