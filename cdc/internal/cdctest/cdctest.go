// Package cdctest is the conformance suite every cdc dialect with a real
// database passes: snapshot then stream without gap or double, ties on
// equal change times across restarts, restarts before positions were
// stored, deletes under each strategy, journal purge, re-snapshots, and
// (where the database runs writers concurrently) late commits.
package cdctest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"legacybridge/cdc"
)

// Env describes the database under test.
type Env struct {
	Dialect cdc.Dialect
	// Open returns a fresh, empty database (or schema) for one test.
	Open func(t testing.TB) *sql.DB
	// Column types for the test table.
	Int, Text, Decimal, Time string
	// Now stamps a change column with the time of the statement's row;
	// StmtNow with one time for every row of a statement.
	Now, StmtNow string
	// Concurrent: write transactions run concurrently (late commits).
	Concurrent bool
}

// Q rewrites ? placeholders into the dialect's.
func (e Env) Q(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString(e.Dialect.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Exec runs a statement of the test, failing it on error.
func (e Env) Exec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, s string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), e.Q(s), args...); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
}

// CreateItems creates the test table ITEMS.
func (e Env) CreateItems(t testing.TB, db *sql.DB) {
	t.Helper()
	e.Exec(t, db, fmt.Sprintf(`CREATE TABLE ITEMS (
		ID %s NOT NULL PRIMARY KEY,
		NAME %s,
		QTY %s,
		NOTE %s,
		VER %s NOT NULL,
		CREATION_DATE %s NOT NULL,
		LAST_UPDATE_DATE %s NOT NULL)`, e.Int, e.Text, e.Decimal, e.Text, e.Int, e.Time, e.Time))
}

// Insert adds item id at version 1.
func (e Env) Insert(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int, name string, qty string, note any) {
	t.Helper()
	// Both stamps from one statement time, as EBS stamps SYSDATE.
	e.Exec(t, db, "INSERT INTO ITEMS (ID, NAME, QTY, NOTE, VER, CREATION_DATE, LAST_UPDATE_DATE) VALUES (?, ?, ?, ?, 1, "+e.StmtNow+", "+e.StmtNow+")", id, name, qty, note)
}

// Update renames item id and bumps its version.
func (e Env) Update(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int, name string) {
	t.Helper()
	e.Exec(t, db, "UPDATE ITEMS SET NAME = ?, VER = VER + 1, LAST_UPDATE_DATE = "+e.Now+" WHERE ID = ?", name, id)
}

// Delete removes item id.
func (e Env) Delete(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int) {
	t.Helper()
	e.Exec(t, db, "DELETE FROM ITEMS WHERE ID = ?", id)
}

// Seed inserts items from..to-1 in one statement (one change time), then
// waits past the safety lag.
func (e Env) Seed(t testing.TB, db *sql.DB, from, to int) {
	t.Helper()
	var vals []string
	var args []any
	cols := "ITEMS (ID, NAME, QTY, NOTE, VER, CREATION_DATE, LAST_UPDATE_DATE)"
	for i := from; i < to; i++ {
		vals = append(vals, "(?, ?, ?, ?, 1, "+e.StmtNow+", "+e.StmtNow+")")
		args = append(args, i, fmt.Sprintf("item %d", i), fmt.Sprintf("%d.50", i), nil)
	}
	if e.Dialect.Name() == "oracle" { // no multi-row VALUES before 23ai
		e.Exec(t, db, "INSERT ALL INTO "+cols+" VALUES "+strings.Join(vals, " INTO "+cols+" VALUES ")+" SELECT 1 FROM DUAL", args...)
	} else {
		e.Exec(t, db, "INSERT INTO "+cols+" VALUES "+strings.Join(vals, ", "), args...)
	}
	// Rows stamped within the safety lag of a snapshot's start belong to
	// the stream, not the snapshot; tests that count snapshot rows wait.
	Wait()
}

// Items is the poll config of ITEMS.
func Items() cdc.Table {
	return cdc.Table{Name: "ITEMS", Key: []string{"ID"}, ChangeColumn: "LAST_UPDATE_DATE", CreatedColumn: "CREATION_DATE"}
}

// JournalItems is the journal config of ITEMS.
func JournalItems() cdc.Table {
	return cdc.Table{Name: "items", Key: []string{"id"}, Strategy: cdc.StrategyJournal}
}

// Install creates the journal and the triggers of ITEMS.
func (e Env) Install(t testing.TB, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	n := cdc.Name{Object: "ITEMS"}
	cols, err := cdc.Columns(ctx, db, e.Dialect, n)
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := cdc.Install(e.Dialect, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{{Name: n, Key: []string{"ID"}, Columns: cols}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ddl {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("install: %v\n%s", err, s)
		}
	}
}

// Source builds a source with test timings.
func (e Env) Source(t testing.TB, db *sql.DB, store *cdc.Store, batch int, tables ...cdc.Table) *cdc.Source {
	t.Helper()
	return e.SourceWith(t, cdc.Config{DB: db, Store: store, BatchSize: batch, Tables: tables})
}

// SourceWith fills test defaults into cfg.
func (e Env) SourceWith(t testing.TB, cfg cdc.Config) *cdc.Source {
	t.Helper()
	if cfg.Flow == "" {
		cfg.Flow = "test"
	}
	if cfg.Dialect == nil {
		cfg.Dialect = e.Dialect
	}
	if cfg.SafetyLag == 0 {
		cfg.SafetyLag = time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.ReconcileEvery == 0 {
		cfg.ReconcileEvery = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := cdc.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewStore opens a position store in a temporary directory.
func NewStore(t testing.TB) (*cdc.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := cdc.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// ReopenStore closes s and opens the store in dir again (a restart).
func ReopenStore(t testing.TB, s *cdc.Store, dir string) *cdc.Store {
	t.Helper()
	s.Close()
	n, err := cdc.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// ReadBatch reads one batch without acknowledging it.
func ReadBatch(t testing.TB, src *cdc.Source) ([]cdc.Change, func(error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, ack, err := src.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return cs, func(e error) {
		if err := ack(context.Background(), e); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
}

// ReadUntil reads and acknowledges batches until done(all changes so far)
// holds; it fails the test after 20 s.
func ReadUntil(t testing.TB, src *cdc.Source, done func([]cdc.Change) bool) []cdc.Change {
	t.Helper()
	var all []cdc.Change
	deadline := time.Now().Add(20 * time.Second)
	for !done(all) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cs, ack, err := src.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Read after %d changes: %v\nso far:\n%s", len(all), err, Describe(all))
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatalf("ack: %v", err)
		}
		all = append(all, cs...)
	}
	return all
}

// Count is a done func: at least n changes.
func Count(n int) func([]cdc.Change) bool {
	return func(cs []cdc.Change) bool { return len(cs) >= n }
}

// Describe lists changes one a line.
func Describe(cs []cdc.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s %s %s ver=%v name=%v pos=%s\n", c.Op, c.Table, c.KeyString(), field(c, "VER"), field(c, "NAME"), c.Pos)
	}
	return b.String()
}

func field(c cdc.Change, col string) any {
	if img := c.Image(); img != nil {
		return img[col]
	}
	return nil
}

// Row is the comparable projection of an item.
type Row struct {
	Name, Qty, Note string
	Ver             int64
}

func project(img cdc.Image) Row {
	r := Row{Name: text(img["NAME"]), Qty: decimal(img["QTY"]), Note: text(img["NOTE"])}
	switch v := img["VER"].(type) {
	case int64:
		r.Ver = v
	case json.Number:
		r.Ver, _ = v.Int64()
	}
	return r
}

func text(v any) string {
	if v == nil {
		return "<NULL>" // distinct from ""
	}
	return fmt.Sprint(v)
}

func decimal(v any) string {
	if v == nil {
		return "<NULL>"
	}
	r, ok := new(big.Rat).SetString(fmt.Sprint(v))
	if !ok {
		return fmt.Sprintf("bad decimal %v", v)
	}
	return r.RatString()
}

// Replay applies changes in order to a model of ITEMS keyed by ID.
func Replay(t testing.TB, cs []cdc.Change) map[string]Row {
	t.Helper()
	m := map[string]Row{}
	for _, c := range cs {
		k := c.KeyString()
		switch c.Op {
		case cdc.OpDelete:
			delete(m, k)
		default:
			if c.After == nil {
				t.Fatalf("%s of %s without an after image", c.Op, k)
			}
			m[k] = project(c.After)
		}
	}
	return m
}

// Table reads ITEMS as the model holds it.
func (e Env) Table(t testing.TB, db *sql.DB) map[string]Row {
	t.Helper()
	rows, err := db.Query("SELECT ID, NAME, QTY, NOTE, VER FROM ITEMS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]Row{}
	for rows.Next() {
		var id int64
		var name, qty, note sql.NullString
		var ver int64
		if err := rows.Scan(&id, &name, &qty, &note, &ver); err != nil {
			t.Fatal(err)
		}
		r := Row{Name: "<NULL>", Qty: "<NULL>", Note: "<NULL>", Ver: ver}
		if name.Valid {
			r.Name = name.String
		}
		if qty.Valid {
			r.Qty = decimal(qty.String)
		}
		if note.Valid {
			r.Note = note.String
		}
		m[fmt.Sprintf("[%d]", id)] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// NoDoubles fails when one row version (ID, VER) was delivered under two
// different event ids: a change delivered again must carry the same id.
func NoDoubles(t testing.TB, cs []cdc.Change) {
	t.Helper()
	ids := map[string]string{}
	for _, c := range cs {
		if c.Op == cdc.OpDelete {
			continue
		}
		v := fmt.Sprintf("%s ver %v", c.KeyString(), field(c, "VER"))
		id := cdc.EventID("test", c, 0)
		if prev, ok := ids[v]; ok && prev != id {
			t.Errorf("%s delivered twice under different ids (%s, %s)", v, prev, id)
		}
		ids[v] = id
	}
}

// InOrder fails when a key's versions go backwards.
func InOrder(t testing.TB, cs []cdc.Change) {
	t.Helper()
	last := map[string]int64{}
	for _, c := range cs {
		k := c.KeyString()
		if c.Op == cdc.OpDelete {
			delete(last, k)
			continue
		}
		v := project(c.After).Ver
		if v < last[k] {
			t.Errorf("%s went back from version %d to %d (%s)", k, last[k], v, c.Op)
		}
		last[k] = v
	}
}

// Consecutive fails when a key's versions after its first change skip
// one (the journal sees every change).
func Consecutive(t testing.TB, cs []cdc.Change) {
	t.Helper()
	last := map[string]int64{}
	for _, c := range cs {
		k := c.KeyString()
		if c.Op == cdc.OpDelete {
			delete(last, k)
			continue
		}
		v := project(c.After).Ver
		if p, ok := last[k]; ok && v != p+1 && c.Op != cdc.OpSnapshot {
			t.Errorf("%s went from version %d to %d: a change is missing", k, p, v)
		}
		last[k] = v
	}
}

// Keys lists the keys of changes with op.
func Keys(cs []cdc.Change, op cdc.Op) []string {
	var out []string
	for _, c := range cs {
		if c.Op == op {
			out = append(out, c.KeyString())
		}
	}
	sort.Strings(out)
	return out
}

// Wait sleeps past the safety lag and the clock's granularity.
func Wait() { time.Sleep(20 * time.Millisecond) }

// Start lets a source begin (discover its tables, take its first
// positions) and acknowledges whatever it returns first, if anything.
func Start(t testing.TB, src *cdc.Source) []cdc.Change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cs, ack, err := src.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		t.Fatalf("Read: %v", err)
	}
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return cs
}

// ReadFor reads and acknowledges batches for d, returning what came.
func ReadFor(t testing.TB, src *cdc.Source, d time.Duration) []cdc.Change {
	t.Helper()
	var all []cdc.Change
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cs, ack, err := src.Read(ctx)
		cancel()
		if err != nil {
			if time.Now().After(deadline) {
				return all
			}
			t.Fatalf("Read: %v", err)
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
	}
}
