package ledger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

func TestMarks(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := l.Marks("ro")
	if ok, err := m.Has(ctx, "a.edi\x003\x00t"); ok || err != nil {
		t.Fatalf("Has on an empty ledger = %v, %v; want false, nil", ok, err)
	}
	if err := m.Put(ctx, "a.edi\x003\x00t"); err != nil {
		t.Fatal(err)
	}
	// A flow with only marks still answers Lookup and History.
	if _, ok, err := l.Lookup("ro", "h"); ok || err != nil {
		t.Fatalf("Lookup in a flow with only marks = %v, %v", ok, err)
	}
	if h, err := l.History("ro", 0); len(h) != 0 || err != nil {
		t.Fatalf("History in a flow with only marks = %v, %v", h, err)
	}
	if ok, _ := l.Marks("other").Has(ctx, "a.edi\x003\x00t"); ok {
		t.Fatal("a mark leaked across flows")
	}
	if ok, _ := m.Has(ctx, "a.edi\x004\x00t"); ok {
		t.Fatal("a key with another size counts as marked")
	}
	l.Close()
	l2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if ok, err := l2.Marks("ro").Has(ctx, "a.edi\x003\x00t"); !ok || err != nil {
		t.Fatalf("mark lost across reopen: %v, %v", ok, err)
	}
}

func TestInterchanges(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	a := legacybridge.InterchangeRecord{Key: "x12\x00ZZ\x00A\x00ZZ\x00B\x00000000001", Name: "x12 ZZ:A→ZZ:B #000000001", File: "a.edi", Hash: "h1", Delivered: day}
	b := legacybridge.InterchangeRecord{Key: "x12\x00ZZ\x00A\x00ZZ\x00B\x00000000002", Name: "x12 ZZ:A→ZZ:B #000000002", File: "a.edi", Hash: "h1", Delivered: day.Add(48 * time.Hour)}
	// A flow that never recorded one answers with an empty map.
	if got, err := l.Interchanges("f", []string{a.Key}); err != nil || len(got) != 0 {
		t.Fatalf("Interchanges on an empty ledger = %v, %v", got, err)
	}
	if err := l.PutInterchanges("f", []legacybridge.InterchangeRecord{a, b}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Interchanges("f", []string{a.Key, "unknown", b.Key})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]legacybridge.InterchangeRecord{a.Key: a, b.Key: b}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Interchanges (-want +got):\n%s", diff)
	}
	if got, _ := l.Interchanges("other", []string{a.Key}); len(got) != 0 {
		t.Fatal("an interchange leaked across flows")
	}
	// A later delivery overwrites the record (the window restarts).
	a2 := a
	a2.File, a2.Hash, a2.Delivered = "c.edi", "h3", day.Add(72*time.Hour)
	if err := l.PutInterchanges("f", []legacybridge.InterchangeRecord{a2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Interchanges("f", []string{a.Key}); got[a.Key] != a2 {
		t.Fatalf("after a second delivery: %+v, want %+v", got[a.Key], a2)
	}
	if err := l.PutInterchanges("f", []legacybridge.InterchangeRecord{{File: "x.edi"}}); err == nil || !strings.Contains(err.Error(), "x.edi") {
		t.Fatalf("a record without key: %v, want an error naming the file", err)
	}
	// Pruning forgets what was delivered before the cutoff only.
	n, err := l.PruneInterchanges("f", day.Add(60*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneInterchanges = %d, %v; want 1, nil", n, err)
	}
	got, _ = l.Interchanges("f", []string{a.Key, b.Key})
	if diff := cmp.Diff(map[string]legacybridge.InterchangeRecord{a.Key: a2}, got); diff != "" {
		t.Fatalf("after pruning (-want +got):\n%s", diff)
	}
	// Interchanges live beside the file records and survive a reopen.
	l.Put(Entry{Flow: "f", File: "a.edi", Hash: "h1", Outcome: legacybridge.OutcomeArchived, Started: day})
	l.Close()
	l2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got, _ := l2.Interchanges("f", []string{a.Key}); got[a.Key] != a2 {
		t.Fatalf("after reopen: %+v, want %+v", got[a.Key], a2)
	}
	if _, ok, _ := l2.Lookup("f", "h1"); !ok {
		t.Fatal("file record lost beside interchanges")
	}
}
