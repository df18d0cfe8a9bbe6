package ledger

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// x12Numbers asks one Controls for an interchange's three numbers, as an
// x12.Encoder does.
func x12Numbers(t *testing.T, l *Ledger, partner, key string) [3]uint64 {
	t.Helper()
	c := l.Controls(partner, key).X12()
	var out [3]uint64
	for i, level := range []x12.ControlLevel{x12.ControlInterchange, x12.ControlGroup, x12.ControlSet} {
		n, err := c.Next(level)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = n
	}
	return out
}

func TestControlsIncrementAndStayPerKey(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const acme, dc07 = "x12 ZZ:US→ZZ:ACME", "x12 ZZ:US→ZZ:DC07"
	if got := x12Numbers(t, l, acme, "ev-1"); got != [3]uint64{1, 1, 1} {
		t.Fatalf("first interchange: %v, want 1 1 1", got)
	}
	if got := x12Numbers(t, l, acme, "ev-2"); got != [3]uint64{2, 2, 2} {
		t.Fatalf("second interchange: %v, want 2 2 2", got)
	}
	// Another partner counts on its own.
	if got := x12Numbers(t, l, dc07, "ev-1"); got != [3]uint64{1, 1, 1} {
		t.Fatalf("other partner: %v, want 1 1 1", got)
	}
	// The same key again (a redelivery) gets the same numbers and takes none.
	if got := x12Numbers(t, l, acme, "ev-1"); got != [3]uint64{1, 1, 1} {
		t.Fatalf("ev-1 again: %v, want 1 1 1", got)
	}
	// A key asking for two sets gets two numbers, the same ones next time.
	two := func() []uint64 {
		c := l.Controls(acme, "file-7").X12()
		var out []uint64
		for _, level := range []x12.ControlLevel{x12.ControlInterchange, x12.ControlGroup, x12.ControlSet, x12.ControlSet} {
			n, err := c.Next(level)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	if got, want := two(), []uint64{3, 3, 3, 4}; !cmp.Equal(got, want) {
		t.Fatalf("two sets: %v, want %v", got, want)
	}
	if got := x12Numbers(t, l, acme, "ev-3"); got != [3]uint64{4, 4, 5} {
		t.Fatalf("after two sets: %v, want 4 4 5", got)
	}
	// EDIFACT numbers of the same partner count apart from X12's.
	e := l.Controls(acme, "ev-1").EDIFACT()
	if n, err := e.Next(edifact.LevelInterchange); err != nil || n != 1 {
		t.Fatalf("EDIFACT interchange = %d, %v; want 1", n, err)
	}
	if n, err := e.Next(edifact.LevelMessage); err != nil || n != 1 {
		t.Fatalf("EDIFACT message = %d, %v; want 1", n, err)
	}

	// Across a restart: the sequence goes on, the keys keep their numbers.
	l.Close()
	l, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, want := two(), []uint64{3, 3, 3, 4}; !cmp.Equal(got, want) {
		t.Fatalf("two sets after reopen: %v, want %v", got, want)
	}
	if got := x12Numbers(t, l, acme, "ev-4"); got != [3]uint64{5, 5, 6} {
		t.Fatalf("after reopen: %v, want 5 5 6", got)
	}
	if last, ok, err := l.Last(acme, X12Interchange); err != nil || !ok || last != 5 {
		t.Fatalf("Last = %d, %v, %v; want 5", last, ok, err)
	}
	if _, err := l.Controls("", "k").Next(X12Interchange); err == nil {
		t.Fatal("an empty partner was accepted")
	}
	if _, err := l.Controls(acme, "k").Next("x12.bogus"); err == nil {
		t.Fatal("an unknown sequence was accepted")
	}
}

func TestControlsStartAndWrap(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const p = "x12 ZZ:US→ZZ:OLD"
	// Continuing the old ESB's sequence.
	if err := l.SetStart(p, X12Interchange, 48214); err != nil {
		t.Fatal(err)
	}
	if err := l.SetStart(p, X12Group, 48214); err != nil {
		t.Fatal(err)
	}
	if got := x12Numbers(t, l, p, "a"); got != [3]uint64{48214, 48214, 1} {
		t.Fatalf("first after SetStart: %v, want 48214 48214 1", got)
	}
	// Once started, the start is history.
	err = l.SetStart(p, X12Interchange, 100)
	if !errors.Is(err, ErrStarted) {
		t.Fatalf("SetStart on a started sequence: %v, want ErrStarted", err)
	}
	if got := x12Numbers(t, l, p, "b"); got[0] != 48215 {
		t.Fatalf("after a refused SetStart: %v, want ISA13 48215", got)
	}
	for _, bad := range []uint64{0, 1000000000} {
		if err := l.SetStart("x12 new", X12Interchange, bad); err == nil {
			t.Errorf("SetStart(%d) accepted", bad)
		}
	}
	// Nine digits: 999999999 is followed by 1.
	if err := l.SetStart("x12 wrap", X12Interchange, 999999998); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for i := range 3 {
		n, err := l.Controls("x12 wrap", fmt.Sprint(i)).Next(X12Interchange)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if want := []uint64{999999998, 999999999, 1}; !cmp.Equal(got, want) {
		t.Fatalf("wrap: %v, want %v", got, want)
	}
	// EDIFACT references have 14 digits.
	if err := l.SetStart("edifact wrap", EDIFACTInterchange, 99999999999999); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{99999999999999, 1} {
		n, err := l.Controls("edifact wrap", fmt.Sprint(want)).EDIFACT().Next(edifact.LevelInterchange)
		if err != nil || n != want {
			t.Fatalf("EDIFACT wrap: %d, %v; want %d", n, err, want)
		}
	}
}

func TestControlsConcurrent(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const p, workers, each = "x12 ZZ:US→ZZ:MANY", 8, 25
	// Every worker encodes the same keys (redeliveries racing the first
	// delivery) and its own: each key gets one number, no number two keys.
	var mu sync.Mutex
	byKey := map[string]uint64{}
	byNumber := map[uint64]string{}
	var wg sync.WaitGroup
	errc := make(chan error, workers*each*2)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				for _, key := range []string{fmt.Sprintf("shared-%d", i), fmt.Sprintf("own-%d-%d", w, i)} {
					n, err := l.Controls(p, key).Next(X12Interchange)
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					if prev, ok := byKey[key]; ok && prev != n {
						errc <- fmt.Errorf("key %s got %d and %d", key, prev, n)
					}
					if prev, ok := byNumber[n]; ok && prev != key {
						errc <- fmt.Errorf("number %d given to %s and %s", n, prev, key)
					}
					byKey[key], byNumber[n] = n, key
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	want := each + workers*each
	if len(byNumber) != want {
		t.Fatalf("%d numbers given, want %d", len(byNumber), want)
	}
	for n := uint64(1); n <= uint64(want); n++ {
		if _, ok := byNumber[n]; !ok {
			t.Fatalf("number %d was skipped (numbers 1..%d should all be given)", n, want)
		}
	}
}

func TestPruneControls(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const a, b = "x12 A", "edifact B"
	x12Numbers(t, l, a, "old")
	if _, err := l.Controls(b, "old").EDIFACT().Next(edifact.LevelInterchange); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(2 * time.Millisecond)
	x12Numbers(t, l, a, "new")
	if n, err := l.PruneControls(cutoff); err != nil || n != 2 {
		t.Fatalf("PruneControls = %d, %v; want 2 (one key of each partner)", n, err)
	}
	// The key kept still has its numbers; the pruned one gets new ones and
	// the sequence did not restart.
	if got := x12Numbers(t, l, a, "new"); got != [3]uint64{2, 2, 2} {
		t.Fatalf("kept key: %v, want 2 2 2", got)
	}
	if got := x12Numbers(t, l, a, "old"); got != [3]uint64{3, 3, 3} {
		t.Fatalf("pruned key asked again: %v, want 3 3 3", got)
	}
	if n, err := l.PruneControls(cutoff); err != nil || n != 0 {
		t.Fatalf("second PruneControls = %d, %v; want 0", n, err)
	}
}
