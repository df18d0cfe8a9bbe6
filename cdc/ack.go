package cdc

import (
	"context"
	"errors"

	"legacybridge"
)

// batch is what one Read returned, with what its acknowledgement commits.
type batch struct {
	gen     uint64
	changes []Change
	states  map[string]tableState // position of each table after this batch
	purge   []int64               // journal rows to delete once delivered
	keys    []keyUpdate           // delivered / deleted keys (polling)
	pending map[string][]string   // table → encoded keys counted in Source.pending
	tables  map[string]bool       // tables whose changes or state it holds
	done    bool
	acked   bool
}

func newBatch() *batch {
	return &batch{states: map[string]tableState{}, tables: map[string]bool{}, pending: map[string][]string{}}
}

func (b *batch) touches(table string) bool { return b.tables[table] }

func (b *batch) setState(t *table) {
	b.states[t.typ] = t.state.clone()
	b.tables[t.typ] = true
}

func (s *Source) push(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.gen = s.gen
	for t, ks := range b.pending {
		m := s.pending[t]
		if m == nil {
			m = map[string]int{}
			s.pending[t] = m
		}
		for _, k := range ks {
			m[k]++
		}
	}
	s.inflight = append(s.inflight, b)
}

// isPending reports whether a change of key is in flight.
func (s *Source) isPending(table string, key []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending[table][string(key)] > 0
}

func (s *Source) unpendLocked(b *batch) {
	for t, ks := range b.pending {
		m := s.pending[t]
		for _, k := range ks {
			if m[k]--; m[k] <= 0 {
				delete(m, k)
			}
		}
	}
}

// ackFunc returns the batch's acknowledgement: nil stores the positions
// of every acknowledged batch up to the first one still in flight; an
// error rewinds the source.
func (s *Source) ackFunc(b *batch) legacybridge.AckFunc {
	return func(ctx context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if b.acked {
			return errors.New("cdc: batch acknowledged twice")
		}
		b.acked = true
		if b.gen != s.gen {
			return nil // the source rewound since; these changes come again
		}
		if err != nil {
			s.rewindLocked()
			return nil
		}
		b.done = true
		if cerr := s.commitLocked(ctx); cerr != nil {
			s.rewindLocked()
			return cerr
		}
		return nil
	}
}

func (s *Source) rewindLocked() {
	for _, x := range s.inflight {
		s.unpendLocked(x)
	}
	s.inflight = nil
	s.gen++
	s.rewind = true
}

// commitLocked stores the positions of the acknowledged prefix of the
// batches in flight: first the journal rows are deleted, then the states
// are written. A crash between the two re-reads nothing twice (the
// journal rows are gone) and a failure of either leaves the changes to be
// read again with the same event ids.
func (s *Source) commitLocked(ctx context.Context) error {
	n := 0
	for n < len(s.inflight) && s.inflight[n].done {
		n++
	}
	if n == 0 {
		return nil
	}
	ready := s.inflight[:n]
	var purge []int64
	states := map[string]tableState{}
	var keys []keyUpdate
	for _, b := range ready {
		purge = append(purge, b.purge...)
		for t, st := range b.states {
			states[t] = st
		}
		keys = append(keys, b.keys...)
	}
	if len(purge) > 0 {
		if err := s.purge(context.WithoutCancel(ctx), purge); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.commit(s.cfg.Flow, states, keys); err != nil {
		return err
	}
	for _, b := range ready {
		s.unpendLocked(b)
	}
	s.inflight = append(s.inflight[:0], s.inflight[n:]...)
	return nil
}

// InFlight is how many batches wait for their acknowledgement.
func (s *Source) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}
