package x12

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// TestAckCheck: the segment errors AckOptions.Check returns for a set are
// written as AK3/AK4 and reject it with code 5; Check sees each set as a
// Record; a value the 997 cannot carry is left out of AK404.
func TestAckCheck(t *testing.T) {
	var seen []string
	check := func(rec legacybridge.Record) []SegmentError {
		seen = append(seen, rec.Type+" "+rec.Envelope["version"]+" "+rec.Envelope["st02"])
		if rec.Envelope["st02"] != "0002" {
			return nil
		}
		return []SegmentError{
			{Tag: "BEG", Position: 2, Code: "8", Elements: []ElementError{{Position: 2, Ref: "92", Code: "7", Bad: "X*Y"}, {Position: 5, Component: 1, Code: "8", Bad: "2024"}}},
			{Tag: "PO1", Position: 3, Code: "3"},
		}
	}
	a, err := Acknowledge(strings.NewReader(threeSets), "in.edi", AckOptions{ControlNumber: 55, Time: ackTime, Check: check})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"850 004010 0001", "850 004010 0002", "850 004010 0003"}, seen); diff != "" {
		t.Errorf("records checked (-want +got):\n%s", diff)
	}
	got := write(t, a.Write997)
	// Set 2 already had a wrong SE01 (4): the check's errors add code 5.
	want := "AK2*850*0002~AK3*BEG*2**8~AK4*2*92*7~AK4*5>1**8*2024~AK3*PO1*3**3~AK5*R*4*5~"
	if !strings.Contains(got, want) {
		t.Errorf("997 does not hold %q:\n%s", want, got)
	}
	if !strings.Contains(got, "AK2*850*0001~AK5*A~") || !strings.Contains(got, "AK9*P*3*3*2~") {
		t.Errorf("the other sets are not accepted:\n%s", got)
	}
	if hasError([]byte(got)) {
		t.Error("the 997 does not decode cleanly")
	}
}
