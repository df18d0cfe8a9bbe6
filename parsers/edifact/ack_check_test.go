package edifact

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// TestAckCheck: the segment errors AckOptions.Check returns for a message
// are written as UCS/UCD, in segment order with the parser's, and reject
// the message; Check sees each message as a Record.
func TestAckCheck(t *testing.T) {
	var seen []string
	check := func(rec legacybridge.Record) []SegmentError {
		seen = append(seen, rec.Type+" "+rec.Envelope["version"]+" "+rec.Envelope["unh01"])
		if rec.Envelope["unh01"] != "3" {
			return nil
		}
		return []SegmentError{
			{Position: 3, Tag: "DTM", Elements: []ElementError{{Position: 1, Component: 3, Code: CodeInvalidValue}}},
			{Position: 2, Tag: "BGM", Code: CodeTooManyRepetitions},
		}
	}
	a := acknowledge(t, threeMsgs, func(o *AckOptions) { o.Check = check })
	if diff := cmp.Diff([]string{"ORDERS D:96A:UN 1", "ORDERS D:96A:UN 2", "ORDERS D:96A:UN 3"}, seen); diff != "" {
		t.Errorf("records checked (-want +got):\n%s", diff)
	}
	got := contrl(t, a)
	want := "UCM+3+ORDERS:D:96A:UN+4'UCS+2+35'UCS+3'UCD+12+1:3'"
	if !strings.Contains(got, want) {
		t.Errorf("CONTRL does not hold %q:\n%s", want, got)
	}
	if !strings.Contains(got, "UCM+1+ORDERS:D:96A:UN+7'") {
		t.Errorf("message 1 is not acknowledged:\n%s", got)
	}
	if rej, total := a.Rejected(); rej != 2 || total != 3 {
		t.Errorf("Rejected() = %d of %d, want 2 (a bad count, the check) of 3", rej, total)
	}
	readBack(t, got)
}
