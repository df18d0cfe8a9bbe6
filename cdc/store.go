package cdc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store keeps the positions of every flow's tables (and, for polled tables
// with key reconciliation, the keys delivered so far) in DIR/cdc.db, a
// bbolt file. A position is written only after Kafka acknowledged every
// change before it. Safe for concurrent use; one process at a time.
type Store struct {
	db  *bolt.DB
	dir string
}

// ErrStoreLocked is returned (wrapped) by OpenStore when another process
// holds DIR/cdc.db: a running bridge.
var ErrStoreLocked = errors.New("locked by another legacybridge process")

// OpenStore opens (creating) DIR/cdc.db, waiting up to 2 s for another
// process to let go of it.
func OpenStore(dir string) (*Store, error) { return openStore(dir, 2*time.Second) }

func openStore(dir string, wait time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cdc: state dir: %w", err)
	}
	p := filepath.Join(dir, "cdc.db")
	db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: wait})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("cdc: %s is %w; stop it or use another state_dir", p, ErrStoreLocked)
		}
		return nil, fmt.Errorf("cdc: open %s: %w", p, err)
	}
	return &Store{db: db, dir: dir}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Dir is the state folder holding cdc.db.
func (s *Store) Dir() string { return s.dir }

// tableState is what the store keeps per table.
type tableState struct {
	Cursor *cursorState `json:"cursor,omitempty"`
	Snap   *snapState   `json:"snapshot,omitempty"`
	// Resnapshot was set by RequestResnapshot before requests got keys
	// of their own (requestKey); still honoured, cleared when the
	// snapshot starts.
	Resnapshot    bool      `json:"resnapshot,omitempty"`
	LastReconcile time.Time `json:"lastReconcile,omitzero"`
}

// cursorState is a polled table's position: the last change column value
// delivered (as the database renders it) and the key of that row, so rows
// with the same change time are resumed after it, never skipped
// (Kafka Connect JDBC #598, #262).
type cursorState struct {
	Text string    `json:"text,omitempty"` // "" = from the start
	Time time.Time `json:"time,omitzero"`
	Key  []tagged  `json:"key,omitempty"` // nil = strictly after Text
	// Floor: rows whose change time is before it were delivered by a
	// snapshot (or deliberately not, SnapshotNone); the poll steps over them.
	Floor time.Time `json:"floor,omitzero"`
}

type snapState struct {
	Gen     string    `json:"gen"` // part of every snapshot event id
	Done    bool      `json:"done,omitempty"`
	Started time.Time `json:"started"`
	Rows    int64     `json:"rows"`
	After   []tagged  `json:"after,omitempty"` // key of the last delivered row
	// Boundary (polling): the snapshot delivers rows stamped before it,
	// the stream rows stamped at or after it.
	Boundary time.Time    `json:"boundary,omitzero"`
	Seed     *cursorState `json:"seed,omitempty"`
	// Requested: a re-snapshot of a table that was captured before; a
	// journal re-snapshot then also delivers the deletes its read covers.
	Requested bool `json:"requested,omitempty"`
	// Attempts (journal): each consistent read of the snapshot, with the
	// journal rows of the table it already saw (those are not delivered
	// again once the snapshot is done).
	Attempts []attemptState `json:"attempts,omitempty"`
}

type attemptState struct {
	From []tagged  `json:"from,omitempty"` // rows after this key; nil = from the first
	Seqs []seqSpan `json:"seqs,omitempty"`
}

// seqSpan is an inclusive range of journal sequence numbers.
type seqSpan [2]int64

func flowBucket(flow string) []byte { return []byte("flow/" + flow) }

func tableKey(table string) []byte { return []byte("table/" + table) }

func keysBucket(table string) []byte { return []byte("keys/" + table) }

// requestKey holds a pending re-snapshot request of a table, apart from
// its position: acknowledgements of batches read before the request
// rewrite the position, never the request. The snapshot's start deletes
// it in the same transaction that stores the new snapshot.
func requestKey(table string) []byte { return []byte("request/" + table) }

type requestRecord struct {
	At  time.Time `json:"at"`
	Via string    `json:"via"` // "offline", "file", "api"
}

func (s *Store) load(flow, table string) (tableState, bool, error) {
	var st tableState
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flowBucket(flow))
		if b == nil {
			return nil
		}
		v := b.Get(tableKey(table))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &st)
	})
	if err != nil {
		return tableState{}, false, fmt.Errorf("cdc: state of %s/%s: %w", flow, table, err)
	}
	return st, ok, nil
}

// keyUpdate records a delivered key (Pos != "") or a deleted one.
type keyUpdate struct {
	table string
	key   []byte
	pos   string
}

// commit writes the states and key updates of acknowledged batches in one
// transaction.
func (s *Store) commit(flow string, states map[string]tableState, keys []keyUpdate) error {
	if len(states) == 0 && len(keys) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(flowBucket(flow))
		if err != nil {
			return err
		}
		for t, st := range states {
			v, err := json.Marshal(st)
			if err != nil {
				return err
			}
			if err := b.Put(tableKey(t), v); err != nil {
				return err
			}
		}
		for _, k := range keys {
			kb, err := b.CreateBucketIfNotExists(keysBucket(k.table))
			if err != nil {
				return err
			}
			if k.pos == "" {
				err = kb.Delete(k.key)
			} else {
				err = kb.Put(k.key, []byte(k.pos))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cdc: store positions of flow %s: %w", flow, err)
	}
	return nil
}

// keyPos returns the position of the last change delivered for key.
func (s *Store) keyPos(flow, table string, key []byte) (string, bool, error) {
	var pos string
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flowBucket(flow))
		if b == nil {
			return nil
		}
		kb := b.Bucket(keysBucket(table))
		if kb == nil {
			return nil
		}
		if v := kb.Get(key); v != nil {
			pos, ok = string(v), true
		}
		return nil
	})
	return pos, ok, err
}

// keyPage returns up to n delivered keys after `after` (nil = from the
// first) with their last positions.
func (s *Store) keyPage(flow, table string, after []byte, n int) ([][]byte, []string, error) {
	var keys [][]byte
	var poss []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flowBucket(flow))
		if b == nil {
			return nil
		}
		kb := b.Bucket(keysBucket(table))
		if kb == nil {
			return nil
		}
		c := kb.Cursor()
		var k, v []byte
		if after == nil {
			k, v = c.First()
		} else {
			k, v = c.Seek(after)
			if k != nil && string(k) == string(after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(keys) < n; k, v = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
			poss = append(poss, string(v))
		}
		return nil
	})
	return keys, poss, err
}

// RequestResnapshot records a request for a new snapshot of table of
// flow in the store; the flow's source starts it at its next start (or at
// once, when the request comes through Source.Resnapshot). table is the
// name as in config (case does not matter). `legacybridge cdc resnapshot`
// uses Resnapshot, which also reaches a running bridge.
func (s *Store) RequestResnapshot(flow, table string) error {
	return s.putRequest(flow, table, "offline")
}

func (s *Store) putRequest(flow, table, via string) error {
	n, err := ParseName(table)
	if err != nil {
		return fmt.Errorf("cdc: resnapshot: %w", err)
	}
	v, _ := json.Marshal(requestRecord{At: time.Now().UTC(), Via: via})
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(flowBucket(flow))
		if err != nil {
			return err
		}
		return b.Put(requestKey(n.Type()), v)
	})
	if err != nil {
		return fmt.Errorf("cdc: store the re-snapshot request of %s/%s in %s: %w", flow, n.Type(), filepath.Join(s.dir, "cdc.db"), err)
	}
	return nil
}

// requests lists the tables of flow with a pending re-snapshot request
// (request keys, and the flag of older stores).
func (s *Store) requests(flow string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flowBucket(flow))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if name, ok := cutPrefix(string(k), "request/"); ok {
				out = append(out, name)
			}
			return nil
		})
	})
	sort.Strings(out)
	return out, err
}

// startSnapshot stores the state of a table whose snapshot starts and
// deletes its request, in one transaction.
func (s *Store) startSnapshot(flow, table string, st tableState) error {
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(flowBucket(flow))
		if err != nil {
			return err
		}
		if err := b.Put(tableKey(table), v); err != nil {
			return err
		}
		return b.Delete(requestKey(table))
	})
	if err != nil {
		return fmt.Errorf("cdc: store the snapshot start of %s/%s: %w", flow, table, err)
	}
	return nil
}

// TablePosition is a table's stored position, for `cdc status`-style
// reporting.
type TablePosition struct {
	Table        string
	Phase        string // "new", "snapshot", "stream"
	SnapshotRows int64
	Cursor       string    // polling: the change column value delivered last
	CursorTime   time.Time // polling: the same as a time
	Keys         int       // keys remembered for delete detection
	Resnapshot   bool      // requested, not started yet
}

// Positions lists the stored positions of a flow's tables.
func (s *Store) Positions(flow string) ([]TablePosition, error) {
	var out []TablePosition
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flowBucket(flow))
		if b == nil {
			return nil
		}
		err := b.ForEach(func(k, v []byte) error {
			name, ok := cutPrefix(string(k), "table/")
			if !ok || v == nil {
				return nil
			}
			var st tableState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("state of %s: %w", name, err)
			}
			p := TablePosition{Table: name, Phase: st.phase(), Resnapshot: st.Resnapshot || b.Get(requestKey(name)) != nil}
			if st.Snap != nil {
				p.SnapshotRows = st.Snap.Rows
			}
			if st.Cursor != nil {
				p.Cursor, p.CursorTime = st.Cursor.Text, st.Cursor.Time
			}
			if kb := b.Bucket(keysBucket(name)); kb != nil {
				p.Keys = kb.Stats().KeyN
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return err
		}
		// Requested tables that have no position yet.
		return b.ForEach(func(k, _ []byte) error {
			name, ok := cutPrefix(string(k), "request/")
			if ok && b.Get(tableKey(name)) == nil {
				out = append(out, TablePosition{Table: name, Phase: "new", Resnapshot: true})
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out, err
}

func (st tableState) phase() string {
	switch {
	case st.Snap != nil && !st.Snap.Done:
		return "snapshot"
	case st.Snap == nil && st.Cursor == nil:
		return "new"
	}
	return "stream"
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// clone deep-copies a state (batches carry their own copy).
func (st tableState) clone() tableState {
	b, _ := json.Marshal(st)
	var c tableState
	_ = json.Unmarshal(b, &c)
	return c
}
