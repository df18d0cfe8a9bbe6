// Package ledger records every file a flow has handled (content hash, events
// emitted, outcome) in an embedded bbolt store under the state directory, so
// identical content dropped again is recognised and a restart knows what
// happened before a crash.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"legacybridge"
	"legacybridge/bridges"
)

// Entry is one file's record.
type Entry = legacybridge.FileRecord

// Ledger is the store. It is safe for concurrent use.
type Ledger struct{ db *bolt.DB }

var _ legacybridge.Ledger = (*Ledger)(nil)

// Open opens (creating) DIR/ledger.db. Only one process may hold it.
func Open(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	p := filepath.Join(dir, "ledger.db")
	db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("ledger: %s is locked by another legacybridge process; stop it or use another state_dir", p)
		}
		return nil, fmt.Errorf("ledger: open %s: %w", p, err)
	}
	return &Ledger{db: db}, nil
}

// Close closes the store.
func (l *Ledger) Close() error { return l.db.Close() }

func bucket(flow string) []byte { return []byte("flow/" + flow) }

// Lookup returns the last entry recorded for this content hash in this flow.
func (l *Ledger) Lookup(flow, hash string) (Entry, bool, error) {
	var e Entry
	var ok bool
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket(flow))
		if b == nil {
			return nil
		}
		hb := b.Bucket([]byte("hash"))
		if hb == nil { // the flow has only marks so far
			return nil
		}
		v := hb.Get([]byte(hash))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &e)
	})
	return e, ok, err
}

// Put records e: by hash (the latest outcome wins, except that an archived
// hash stays archived when a duplicate is recorded) and in the history.
func (l *Ledger) Put(e Entry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket(e.Flow))
		if err != nil {
			return err
		}
		hb, err := b.CreateBucketIfNotExists([]byte("hash"))
		if err != nil {
			return err
		}
		hist, err := b.CreateBucketIfNotExists([]byte("history"))
		if err != nil {
			return err
		}
		if e.Outcome != legacybridge.OutcomeDuplicate {
			if err := hb.Put([]byte(e.Hash), v); err != nil {
				return err
			}
		}
		key := e.Started.UTC().Format(time.RFC3339Nano) + "\x00" + e.File + "\x00" + e.Hash
		return hist.Put([]byte(key), v)
	})
}

// History returns up to max entries of a flow, oldest first (max 0 = all).
func (l *Ledger) History(flow string, max int) ([]Entry, error) {
	var out []Entry
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket(flow))
		if b == nil {
			return nil
		}
		hist := b.Bucket([]byte("history"))
		if hist == nil {
			return nil
		}
		return hist.ForEach(func(k, v []byte) error {
			if max > 0 && len(out) >= max {
				return nil
			}
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// Marks are the files a flow has handled in a drop it may not change
// (claim: none): a bucket per flow, keyed by the poller's mark key (name,
// size and modification time). Safe for concurrent use.
type Marks struct {
	l    *Ledger
	flow string
}

var _ bridges.Marks = (*Marks)(nil)

// Marks returns the handled-file marks of flow.
func (l *Ledger) Marks(flow string) *Marks { return &Marks{l: l, flow: flow} }

var marksBucket = []byte("marks")

// Has reports whether key was marked.
func (m *Marks) Has(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := m.l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket(m.flow))
		if b == nil {
			return nil
		}
		if mb := b.Bucket(marksBucket); mb != nil {
			ok = mb.Get([]byte(key)) != nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ledger: marks of flow %s: %w", m.flow, err)
	}
	return ok, nil
}

// Put marks key, with the time it was marked as its value.
func (m *Marks) Put(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := m.l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket(m.flow))
		if err != nil {
			return err
		}
		mb, err := b.CreateBucketIfNotExists(marksBucket)
		if err != nil {
			return err
		}
		return mb.Put([]byte(key), []byte(time.Now().UTC().Format(time.RFC3339)))
	})
	if err != nil {
		return fmt.Errorf("ledger: mark %q in flow %s: %w", key, m.flow, err)
	}
	return nil
}

var _ legacybridge.InterchangeLedger = (*Ledger)(nil)

// interchangesBucket holds a flow's delivered EDI interchanges: key
// (legacybridge.Interchange.Key) → InterchangeRecord as JSON.
var interchangesBucket = []byte("interchanges")

// Interchanges returns the delivery records of those keys that have one.
func (l *Ledger) Interchanges(flow string, keys []string) (map[string]legacybridge.InterchangeRecord, error) {
	out := map[string]legacybridge.InterchangeRecord{}
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket(flow))
		if b == nil {
			return nil
		}
		ib := b.Bucket(interchangesBucket)
		if ib == nil {
			return nil
		}
		for _, k := range keys {
			v := ib.Get([]byte(k))
			if v == nil {
				continue
			}
			var r legacybridge.InterchangeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("interchange %q: %w", k, err)
			}
			out[k] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: interchanges of flow %s: %w", flow, err)
	}
	return out, nil
}

// PutInterchanges records deliveries in one transaction; a key recorded
// before is overwritten.
func (l *Ledger) PutInterchanges(flow string, recs []legacybridge.InterchangeRecord) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket(flow))
		if err != nil {
			return err
		}
		ib, err := b.CreateBucketIfNotExists(interchangesBucket)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Key == "" {
				return fmt.Errorf("interchange of file %s has no key", r.File)
			}
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := ib.Put([]byte(r.Key), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: record interchanges of flow %s: %w", flow, err)
	}
	return nil
}

// PruneInterchanges forgets a flow's interchanges delivered before cutoff
// (they are outside any window that ends after it) and reports how many.
func (l *Ledger) PruneInterchanges(flow string, cutoff time.Time) (int, error) {
	n := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket(flow))
		if b == nil {
			return nil
		}
		ib := b.Bucket(interchangesBucket)
		if ib == nil {
			return nil
		}
		var old [][]byte
		err := ib.ForEach(func(k, v []byte) error {
			var r legacybridge.InterchangeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("interchange %q: %w", k, err)
			}
			if r.Delivered.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := ib.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: prune interchanges of flow %s: %w", flow, err)
	}
	return n, nil
}
