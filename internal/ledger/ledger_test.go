package ledger

import (
	"strings"
	"testing"
	"time"

	"legacybridge"
)

func TestLedger(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	e := Entry{Flow: "f", File: "a.edi", Hash: "h1", Outcome: legacybridge.OutcomeProcessing, Started: start}
	if err := l.Put(e); err != nil {
		t.Fatal(err)
	}
	e.Outcome, e.Events = legacybridge.OutcomeArchived, 3
	l.Put(e)
	// A duplicate never replaces the archived record of its hash.
	l.Put(Entry{Flow: "f", File: "b.edi", Hash: "h1", Outcome: legacybridge.OutcomeDuplicate, Started: start.Add(time.Minute)})
	got, ok, err := l.Lookup("f", "h1")
	if err != nil || !ok || got.Outcome != legacybridge.OutcomeArchived || got.File != "a.edi" || got.Events != 3 {
		t.Fatalf("Lookup = %+v, %v, %v", got, ok, err)
	}
	if _, ok, _ := l.Lookup("other", "h1"); ok {
		t.Fatal("hash leaked across flows")
	}
	hist, err := l.History("f", 0)
	if err != nil || len(hist) != 2 || hist[0].File != "a.edi" || hist[0].Outcome != legacybridge.OutcomeArchived || hist[1].Outcome != legacybridge.OutcomeDuplicate {
		t.Fatalf("History = %+v, %v", hist, err)
	}
	// A second process cannot open the same ledger.
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open: %v, want a lock error", err)
	}
	l.Close()
	l2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, ok, _ := l2.Lookup("f", "h1"); !ok {
		t.Fatal("entry lost across reopen")
	}
}
