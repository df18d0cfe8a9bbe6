// Package ledger records every file a flow has handled (content hash, events
// emitted, outcome) in an embedded bbolt store under the state directory, so
// identical content dropped again is recognised and a restart knows what
// happened before a crash.
package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"legacybridge"
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
		v := b.Bucket([]byte("hash")).Get([]byte(hash))
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
		return b.Bucket([]byte("history")).ForEach(func(k, v []byte) error {
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
