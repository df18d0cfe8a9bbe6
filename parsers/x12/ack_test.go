package x12

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var ackTime = time.Date(2024, 1, 16, 9, 30, 0, 0, time.UTC)

const ackISA = "ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~"

func po(ctrl string, se01 string) string {
	return "ST*850*" + ctrl + "~BEG*00*SA*PO" + ctrl + "**20240115~SE*" + se01 + "*" + ctrl + "~"
}

// threeSets is an interchange whose second set has a wrong SE01.
var threeSets = ackISA + "GS*PO*SENDERID*RECEIVERID*20240115*1200*7*X*004010~" +
	po("0001", "3") + po("0002", "9") + po("0003", "3") + "GE*3*7~IEA*1*000000001~"

func acknowledge(t *testing.T, in string) *Ack {
	t.Helper()
	a, err := Acknowledge(strings.NewReader(in), "in.edi", AckOptions{ControlNumber: 55, Time: ackTime})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func write(t *testing.T, f func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAck997BadCount(t *testing.T) {
	a := acknowledge(t, threeSets)
	got := write(t, a.Write997)
	want := "ISA*00*          *00*          *ZZ*RECEIVERID     *ZZ*SENDERID       *240116*0930*U*00401*000000055*0*P*>~" +
		"GS*FA*RECEIVERID*SENDERID*20240116*0930*55*X*004010~" +
		"ST*997*0001~AK1*PO*7~" +
		"AK2*850*0001~AK5*A~" +
		"AK2*850*0002~AK5*R*4~" +
		"AK2*850*0003~AK5*A~" +
		"AK9*P*3*3*2~SE*10*0001~GE*1*55~IEA*1*000000055~"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("997 (-want +got):\n%s", diff)
	}
	if a.NeedsTA1() {
		t.Error("NeedsTA1 for a good interchange without ISA14=1")
	}
	// The 997 reads back with our decoder, and ReadAcks says what it
	// acknowledges.
	if hasError([]byte(got)) {
		t.Fatal("the 997 does not decode cleanly")
	}
	acks, err := ReadAcks(strings.NewReader(got), "997.edi")
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 1 {
		t.Fatalf("ReadAcks: %d acks", len(acks))
	}
	r := acks[0]
	r.Envelope = Envelope{}
	wantR := ReceivedAck{Type: "997", FunctionalID: "PO", GroupControlNumber: "7", GroupStatus: "P", Included: 3, Received: 3, Accepted: 2,
		Sets: []ReceivedSet{{ID: "850", ControlNumber: "0001", Status: "A"}, {ID: "850", ControlNumber: "0002", Status: "R", Codes: []string{"4"}},
			{ID: "850", ControlNumber: "0003", Status: "A"}}}
	if diff := cmp.Diff(wantR, r); diff != "" {
		t.Errorf("ReadAcks (-want +got):\n%s", diff)
	}
}

func TestAck999(t *testing.T) {
	in := strings.ReplaceAll(threeSets, "*00401*", "*00501*")
	in = strings.Replace(in, "*X*004010~", "*X*005010X220A1~", 1)
	in = strings.ReplaceAll(in, "ST*850*0002~", "ST*850*0002*005010X220A1~BAD!*1~")
	got := write(t, acknowledge(t, in).Write999)
	want := "ISA*00*          *00*          *ZZ*RECEIVERID     *ZZ*SENDERID       *240116*0930*U*00501*000000055*0*P*>~" +
		"GS*FA*RECEIVERID*SENDERID*20240116*0930*55*X*005010X231A1~" +
		"ST*999*0001*005010X231A1~AK1*PO*7*005010X220A1~" +
		"AK2*850*0001~IK5*A~" +
		"AK2*850*0002*005010X220A1~IK5*R*5*4~" +
		"AK2*850*0003~IK5*A~" +
		"AK9*P*3*3*2~SE*10*0001~GE*1*55~IEA*1*000000055~"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("999 (-want +got):\n%s", diff)
	}
	if hasError([]byte(got)) {
		t.Fatal("the 999 does not decode cleanly")
	}
}

// A segment with an unrecognized tag is reported by an AK3 with code 1.
func TestAckBadSegment(t *testing.T) {
	in := strings.Replace(threeSets, "BEG*00*SA*PO0002**20240115~SE*9", "BEG*00*SA*PO0002**20240115~ZZ9X*1~SE*4", 1)
	a := acknowledge(t, in)
	set := a.Interchanges[0].Groups[0].Sets[1]
	if set.Status != "R" || !cmp.Equal(set.Codes, []string{"5"}) {
		t.Errorf("set 2: %s %v, want R [5]; errors %v", set.Status, set.Codes, set.Errors)
	}
	if got := write(t, a.Write997); !strings.Contains(got, "AK2*850*0002~AK5*R*5~") {
		t.Errorf("997: %s", got)
	}
	// An AK3 for a segment the validator flags is written with its AK4.
	set.Segments = []SegmentError{{Tag: "BEG", Position: 2, Code: "8", Elements: []ElementError{{Position: 3, Ref: "324", Code: "1"}}}}
	a.Refresh()
	got := write(t, a.Write997)
	if !strings.Contains(got, "AK2*850*0002~AK3*BEG*2**8~AK4*3*324*1~AK5*R*5~") {
		t.Errorf("997 with AK3/AK4: %s", got)
	}
	if hasError([]byte(got)) {
		t.Fatal("the 997 does not decode cleanly")
	}
}

func TestAckEnvelopeErrors(t *testing.T) {
	group := "GS*PO*SENDERID*RECEIVERID*20240115*1200*7*X*004010~" + po("0001", "3")
	tests := []struct {
		name  string
		in    string
		group string // AK9
		ta1   string // "" = none needed
	}{
		{"good", ackISA + group + "GE*1*7~IEA*1*000000001~", "AK9*A*1*1*1~", ""},
		{"ISA14=1", strings.Replace(ackISA, "*0*P*", "*1*P*", 1) + group + "GE*1*7~IEA*1*000000001~", "AK9*A*1*1*1~",
			"TA1*000000001*240115*1200*A*000~"},
		{"GE01 wrong", ackISA + group + "GE*2*7~IEA*1*000000001~", "AK9*R*2*1*0*5~", ""},
		{"GE02 wrong", ackISA + group + "GE*1*8~IEA*1*000000001~", "AK9*R*1*1*0*4~", ""},
		{"no GE", ackISA + group + "IEA*1*000000001~", "AK9*R*1*1*0*3~", ""},
		{"IEA02 wrong", ackISA + group + "GE*1*7~IEA*1*000000002~", "AK9*A*1*1*1~", "TA1*000000001*240115*1200*R*001~"},
		{"IEA01 wrong", ackISA + group + "GE*1*7~IEA*3*000000001~", "AK9*A*1*1*1~", "TA1*000000001*240115*1200*R*021~"},
		{"no IEA", ackISA + group + "GE*1*7~", "AK9*A*1*1*1~", "TA1*000000001*240115*1200*R*023~"},
		{"duplicate GS06", ackISA + group + "GE*1*7~" + group + "GE*1*7~IEA*2*000000001~", "AK9*R*1*1*0*19~", ""},
		{"data segment outside a set", ackISA + group + "GE*1*7~REF*ZZ*1~IEA*1*000000001~", "AK9*A*1*1*1~",
			"TA1*000000001*240115*1200*E*024~"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := acknowledge(t, tc.in)
			got := write(t, a.Write997)
			if !strings.Contains(got, tc.group) {
				t.Errorf("997 has no %s:\n%s", tc.group, got)
			}
			if a.NeedsTA1() != (tc.ta1 != "") {
				t.Errorf("NeedsTA1 = %v", a.NeedsTA1())
			}
			ta1 := write(t, a.WriteTA1)
			if tc.ta1 == "" {
				if ta1 != "" {
					t.Errorf("TA1 written: %s", ta1)
				}
				return
			}
			if !strings.Contains(ta1, tc.ta1) {
				t.Errorf("TA1 has no %s:\n%s", tc.ta1, ta1)
			}
			if hasError([]byte(ta1)) {
				t.Fatalf("the TA1 does not decode cleanly: %s", ta1)
			}
			acks, err := ReadAcks(strings.NewReader(ta1), "ta1.edi")
			if err != nil || len(acks) != 1 || acks[0].Type != "TA1" || acks[0].InterchangeControl != "000000001" {
				t.Errorf("ReadAcks(TA1) = %+v, %v", acks, err)
			}
		})
	}
}

// Every X12 corpus file is acknowledged, and what is written reads back
// cleanly with the decoder and ReadAcks.
func TestAckCorpus(t *testing.T) {
	for _, path := range x12CorpusFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Acknowledge(bytes.NewReader(data), filepath.Base(path), AckOptions{ControlNumber: 1, Time: ackTime, Suffix: "\n"})
			if err != nil {
				t.Fatal(err)
			}
			sets := 0
			for _, ic := range a.Interchanges {
				for _, g := range ic.Groups {
					sets += len(g.Sets)
				}
			}
			for _, kind := range []struct {
				name string
				f    func(io.Writer) error
			}{{"997", a.Write997}, {"999", a.Write999}, {"TA1", a.WriteTA1}} {
				out := write(t, kind.f)
				if out == "" {
					continue
				}
				if hasError([]byte(out)) {
					t.Fatalf("%s does not decode cleanly:\n%s", kind.name, out)
				}
				acks, err := ReadAcks(strings.NewReader(out), kind.name)
				if err != nil {
					t.Fatalf("ReadAcks(%s): %v", kind.name, err)
				}
				n := 0
				for _, r := range acks {
					n += len(r.Sets)
				}
				if kind.name != "TA1" && n != sets {
					t.Errorf("%s acknowledges %d sets, the input has %d in groups", kind.name, n, sets)
				}
			}
		})
	}
}

// The partners' 997s and 999s in the corpus read as acknowledgements.
func TestReadAcksCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	for _, tc := range []struct {
		file   string
		acks   int
		status string // of the first
	}{
		{"xlate__staedi/src__test__resources__x12__simple999.edi", 1, "P"},
		{"xlate__staedi/src__test__resources__x12__simple997-multiple-interchanges.edi", 3, "R"},
		{"azoner__pyx12/pyx12__tests__834_lui_id_5010.999.txt", 4, "A"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			acks, err := ReadAcks(f, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(acks) != tc.acks {
				t.Fatalf("%d acks, want %d: %+v", len(acks), tc.acks, acks)
			}
			for _, a := range acks {
				if a.GroupControlNumber == "" || a.GroupStatus == "" {
					t.Errorf("ack without group or status: %+v", a)
				}
			}
			if acks[0].GroupStatus != tc.status {
				t.Errorf("status %q, want %q", acks[0].GroupStatus, tc.status)
			}
			if strings.Contains(tc.file, "997-multiple") {
				want := []ReceivedSet{{ID: "837", ControlNumber: "0021", Status: "R", Codes: []string{"5"},
					Segments: []SegmentError{{Tag: "NM1", Position: 8, Code: "8", Elements: []ElementError{{Position: 8, Ref: "66", Code: "7", Bad: "MI"}}}}}}
				if diff := cmp.Diff(want, acks[0].Sets); diff != "" {
					t.Errorf("sets (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// ErrorsOnly lists only the rejected set; AK9 still counts all three. A
// 997 for a group under an implementation guide has the bare version in
// its GS08.
func TestAckErrorsOnly(t *testing.T) {
	in := strings.Replace(threeSets, "*X*004010~", "*X*004010VICS~", 1)
	a, err := Acknowledge(strings.NewReader(in), "in.edi", AckOptions{ControlNumber: 55, Time: ackTime, ErrorsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got := write(t, a.Write997)
	want := "GS*FA*RECEIVERID*SENDERID*20240116*0930*55*X*004010~ST*997*0001~AK1*PO*7~AK2*850*0002~AK5*R*4~AK9*P*3*3*2~SE*6*0001~"
	if !strings.Contains(got, want) {
		t.Errorf("997:\n%s\nwant it to hold\n%s", got, want)
	}
}

// Errors after the IEA are nobody's: the interchange before stays
// accepted.
func TestAckUnplaced(t *testing.T) {
	group := "GS*PO*SENDERID*RECEIVERID*20240115*1200*7*X*004010~" + po("0001", "3") + "GE*1*7~"
	a := acknowledge(t, ackISA+group+"IEA*1*000000001~"+group)
	if a.NeedsTA1() {
		t.Errorf("NeedsTA1: %+v", a.Interchanges[0])
	}
	if len(a.Unplaced) == 0 {
		t.Error("no unplaced errors for a group after the IEA")
	}
	if n := len(a.Interchanges[0].Groups); n != 1 {
		t.Errorf("%d groups in the interchange, want 1 (the one after the IEA is not its)", n)
	}
}

// Case 14a: wrong SE01, GE01 and IEA01. The set is rejected (4), the group
// too (5), and the TA1 rejects the interchange (021).
func TestAckCase14a(t *testing.T) {
	a, err := Acknowledge(bytes.NewReader(caseInput(t, "14a_x12_bad_counts.edi")), "14a", AckOptions{ControlNumber: 9, Time: ackTime})
	if err != nil {
		t.Fatal(err)
	}
	got := write(t, a.Write997)
	if !strings.Contains(got, "AK1*PO*1~AK2*850*0001~AK5*R*4~AK9*R*2*1*0*5~") {
		t.Errorf("997: %s", got)
	}
	ta1 := write(t, a.WriteTA1)
	if !strings.Contains(ta1, "TA1*000000001*240115*1200*R*021~") {
		t.Errorf("TA1: %s", ta1)
	}
}

// TestAckBadISADateTime: ISA09 / ISA10 that are not a date / time reject
// the interchange with TA1 notes 014 / 015.
func TestAckBadISADateTime(t *testing.T) {
	for _, c := range []struct{ from, to, note string }{{"*240115*1200*", "*241399*1200*", "014"}, {"*240115*1200*", "*240115*2561*", "015"}} {
		in := strings.Replace(threeSets, c.from, c.to, 1)
		a := acknowledge(t, in)
		if ic := a.Interchanges[0]; ic.Status != "R" || ic.Note != c.note {
			t.Errorf("%s: status %s note %s, want R %s", c.to, ic.Status, ic.Note, c.note)
		}
	}
}
