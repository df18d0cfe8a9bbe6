package cdc

import (
	"testing"
	"time"
)

func TestHorizonWaitsForRunningTransactions(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	h := horizonTracker{lag: time.Second}
	// Nothing running: safe at once.
	if got := h.observe(Horizon{Now: t0, Next: 100, Oldest: 100}); !got.Equal(t0.Add(-time.Second)) {
		t.Fatalf("idle database: safe = %v, want %v", got, t0.Add(-time.Second))
	}
	// Transaction 100 starts and stays open; later readings must not move
	// the safe time past the moment it could have stamped its rows.
	for i := 1; i <= 5; i++ {
		got := h.observe(Horizon{Now: t0.Add(time.Duration(i) * time.Minute), Next: 100 + uint64(i), Oldest: 100})
		if !got.Equal(t0.Add(-time.Second)) {
			t.Fatalf("while 100 runs (reading %d): safe = %v, want it held at %v", i, got, t0.Add(-time.Second))
		}
	}
	// 100 commits, 103 still runs. 103 was handed out after the reading
	// of minute 3 (its Next was 103), so everything stamped before minute
	// 3 is final, nothing after.
	got := h.observe(Horizon{Now: t0.Add(6 * time.Minute), Next: 107, Oldest: 103})
	if want := t0.Add(3*time.Minute - time.Second); !got.Equal(want) {
		t.Fatalf("after 100 ended: safe = %v, want %v", got, want)
	}
	// Everything ends.
	got = h.observe(Horizon{Now: t0.Add(7 * time.Minute), Next: 107, Oldest: 107})
	if want := t0.Add(7*time.Minute - time.Second); !got.Equal(want) {
		t.Fatalf("idle again: safe = %v, want %v", got, want)
	}
	if h.waiting() != 0 {
		t.Errorf("%d readings still waiting", h.waiting())
	}
}

func TestHorizonNeverMovesBack(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	h := horizonTracker{}
	h.observe(Horizon{Now: t0, Next: 5, Oldest: 5})
	// A clock step back must not move the safe time back.
	if got := h.observe(Horizon{Now: t0.Add(-time.Hour), Next: 5, Oldest: 5}); !got.Equal(t0) {
		t.Errorf("safe moved back to %v", got)
	}
}

func TestHorizonBoundedWhileLongTransaction(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	h := horizonTracker{}
	for i := range 10000 {
		h.observe(Horizon{Now: t0.Add(time.Duration(i) * time.Second), Next: 10 + uint64(i), Oldest: 10})
	}
	if h.waiting() > maxPending {
		t.Errorf("%d readings kept, want at most %d", h.waiting(), maxPending)
	}
	// When the long transaction ends, the safe time still advances to a
	// reading taken after it ended... and never past one taken while it ran
	// that someone else's transaction could still fall behind.
	got := h.observe(Horizon{Now: t0.Add(20000 * time.Second), Next: 20000, Oldest: 20000})
	if !got.Equal(t0.Add(20000 * time.Second)) {
		t.Errorf("safe = %v after everything ended", got)
	}
}
