package cdc

import "time"

// horizonTracker turns Horizon readings into the safe time: the latest
// change time before which no row can still commit. See Horizon.
type horizonTracker struct {
	lag     time.Duration
	pending []Horizon // readings whose transactions may still run
	safe    time.Time
}

// maxPending bounds the readings kept while a long transaction runs;
// beyond it every other one is dropped (any subset is still safe, just
// less tight).
const maxPending = 256

func (h *horizonTracker) observe(x Horizon) time.Time {
	h.pending = append(h.pending, x)
	keep := h.pending[:0]
	for _, p := range h.pending {
		if p.Next <= x.Oldest {
			if t := p.Now.Add(-h.lag); t.After(h.safe) {
				h.safe = t
			}
			continue
		}
		keep = append(keep, p)
	}
	h.pending = keep
	if len(h.pending) > maxPending {
		thin := h.pending[:0]
		for i, p := range h.pending {
			if i%2 == 0 || i == len(h.pending)-1 {
				thin = append(thin, p)
			}
		}
		h.pending = thin
	}
	return h.safe
}

// waiting reports how many readings wait for running transactions.
func (h *horizonTracker) waiting() int { return len(h.pending) }
