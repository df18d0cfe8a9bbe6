package cdc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
)

// event is an emitted ITEMS event as the tests read it back.
type event struct {
	id, op, pos string
	key         string
	ver         int64
}

func events(t *testing.T, em *memEmitter, topic string) []event {
	t.Helper()
	var out []event
	for _, m := range em.topic(topic) {
		var d struct {
			Op, Key string
			Ver     *int64
		}
		if err := json.Unmarshal(m.Value, &d); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		e := event{id: header(m, "ce_id"), op: d.Op, pos: header(m, "ce_cdcposition"), key: d.Key}
		if d.Ver != nil {
			e.ver = *d.Ver
		}
		out = append(out, e)
	}
	return out
}

// distinct drops redeliveries: events whose id was delivered before
// (identical-id duplicates are allowed after a restart).
func distinct(evs []event) []event {
	seen := map[string]bool{}
	var out []event
	for _, e := range evs {
		if !seen[e.id] {
			seen[e.id] = true
			out = append(out, e)
		}
	}
	return out
}

// snapshotGens lists the snapshot generations in order of appearance,
// with the keys each delivered.
func snapshotGens(evs []event) ([]string, map[string]map[string]bool) {
	var order []string
	keys := map[string]map[string]bool{}
	for _, e := range evs {
		if e.op != "snapshot" {
			continue
		}
		if keys[e.pos] == nil {
			order = append(order, e.pos)
			keys[e.pos] = map[string]bool{}
		}
		keys[e.pos][e.key] = true
	}
	return order, keys
}

// checkKeyOrder checks each key's distinct events in order: a stream
// change follows the version before it (journal: by exactly one, every
// change is seen; polling: by at least one, row states), never repeats or
// goes back to a version delivered before (a double); a snapshot row is
// at or after the version the stream had delivered.
func checkKeyOrder(t *testing.T, evs []event, journal bool) {
	t.Helper()
	last := map[string]int64{}
	for _, e := range evs {
		p, ok := last[e.key]
		switch {
		case e.op == "delete":
			delete(last, e.key)
			continue
		case !ok:
		case e.op == "snapshot":
			if e.ver < p {
				t.Errorf("%s: snapshot (%s) at version %d after the stream delivered %d", e.key, e.pos, e.ver, p)
			}
		case journal && e.ver != p+1:
			t.Errorf("%s: %s at version %d after %d: a change is missing or delivered twice (%s)", e.key, e.op, e.ver, p, e.pos)
		case !journal && e.ver <= p:
			t.Errorf("%s: %s at version %d after %d: delivered twice or out of order (%s)", e.key, e.op, e.ver, p, e.pos)
		}
		last[e.key] = e.ver
	}
}

// writer changes ITEMS until stopped: updates of the stable rows
// 1..stable (never deleted, so every re-snapshot must deliver them),
// inserts and deletes of rows above 1000.
type writer struct {
	stop, done chan struct{}
	once       sync.Once
	mu         sync.Mutex
	n          int
}

func runWriter(t *testing.T, e cdctest.Env, exec func(string, ...any) error, stable int) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { w.finish() })
	go func() {
		defer close(w.done)
		rnd := rand.New(rand.NewPCG(7, 11))
		next := 1001
		var live []int
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			var err error
			switch r := rnd.IntN(10); {
			case r == 0:
				err = exec("INSERT INTO ITEMS (ID, NAME, QTY, NOTE, VER, CREATION_DATE, LAST_UPDATE_DATE) VALUES (?, ?, '1', NULL, 1, "+e.StmtNow+", "+e.StmtNow+")", next, fmt.Sprintf("new %d", next))
				live = append(live, next)
				next++
			case r == 1 && len(live) > 0:
				i := rnd.IntN(len(live))
				err = exec("DELETE FROM ITEMS WHERE ID = ?", live[i])
				live = append(live[:i], live[i+1:]...)
			default:
				id := 1 + rnd.IntN(stable)
				err = exec("UPDATE ITEMS SET NAME = ?, VER = VER + 1, LAST_UPDATE_DATE = "+e.Now+" WHERE ID = ?", fmt.Sprintf("item %d/%d", id, rnd.IntN(1e6)), id)
			}
			if err != nil {
				t.Error(err)
				return
			}
			w.mu.Lock()
			w.n++
			w.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	return w
}

func (w *writer) finish() int {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// bridge is an in-process capture: a source and its runner.
type bridge struct {
	src    *cdc.Source
	cancel context.CancelFunc
	done   chan error
}

func (b *bridge) stop(t *testing.T) {
	t.Helper()
	b.cancel()
	if err := <-b.done; err != nil {
		t.Fatal(err)
	}
	b.src.Close()
}

// TestResnapshotWhileRunning: a capture runs in process on SQLite while a
// writer keeps changing ITEMS; 'cdc resnapshot' (cdc.Resnapshot) finds
// cdc.db locked, drops a request file, and the running capture takes it
// at its next poll: every row is delivered again under a new generation,
// and each key's stream goes on after its snapshot row without a gap or
// a double. With restart, the bridge is stopped in the middle of the
// re-snapshot and started again: the same generation continues (ids of
// what is delivered again are identical).
func TestResnapshotWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tbl     cdc.Table
		restart bool
	}{
		{"Journal", cdctest.JournalItems(), false},
		{"JournalRestartMidSnapshot", cdctest.JournalItems(), true},
		{"Poll", pollItems(), false},
		{"PollRestartMidSnapshot", pollItems(), true},
	} {
		t.Run(tc.name, func(t *testing.T) { testResnapshotWhileRunning(t, tc.tbl, tc.restart) })
	}
}

func pollItems() cdc.Table {
	t := cdctest.Items()
	t.Reconcile = 50 * time.Millisecond // deletes of delivered rows
	return t
}

func testResnapshotWhileRunning(t *testing.T, tbl cdc.Table, restart bool) {
	journal := tbl.Strategy == cdc.StrategyJournal
	const stable = 200
	e := cdctest.SQLite()
	db := e.Open(t)
	e.CreateItems(t, db)
	if journal {
		e.Install(t, db)
	}
	e.Seed(t, db, 1, stable+1)
	store, dir := cdctest.NewStore(t)
	em := &memEmitter{}
	src := e.SourceWith(t, cdc.Config{DB: db, Store: store, BatchSize: 20, Tables: []cdc.Table{tbl}})
	b := runBridge(src, em)
	w := runWriter(t, e, func(q string, args ...any) error {
		_, err := db.Exec(e.Q(q), args...)
		return err
	}, stable)

	waitFor(t, "the initial snapshot and some changes", func() bool {
		st := src.Status()
		return len(st) == 1 && st[0].Phase == "stream" && len(em.topic("items")) > stable+30
	})
	res, err := cdc.Resnapshot(context.Background(), dir, "test", "items", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != cdc.ResnapshotTaken {
		t.Fatalf("Resnapshot: state %v, want taken by the running capture (file %s)", res.State, res.File)
	}
	if _, err := os.Stat(res.File); !os.IsNotExist(err) {
		t.Errorf("request file %s still there after it was taken (%v)", res.File, err)
	}
	secondGen := func(min int) func() bool {
		return func() bool {
			gens, keys := snapshotGens(distinct(events(t, em, "items")))
			return len(gens) >= 2 && len(keys[gens[1]]) >= min
		}
	}
	if restart {
		waitFor(t, "part of the re-snapshot", secondGen(40))
		b.stop(t)
		if gens, keys := snapshotGens(distinct(events(t, em, "items"))); len(keys[gens[1]]) >= stable {
			t.Logf("the re-snapshot ended before the restart (%d rows); the restart is not mid-snapshot", len(keys[gens[1]]))
		}
		time.Sleep(50 * time.Millisecond) // changes while the bridge is down
		store = cdctest.ReopenStore(t, store, dir)
		src = e.SourceWith(t, cdc.Config{DB: db, Store: store, BatchSize: 20, Tables: []cdc.Table{tbl}})
		b = runBridge(src, em)
	}
	waitFor(t, "the end of the re-snapshot", func() bool {
		st := b.src.Status()
		return secondGen(1)() && len(st) == 1 && st[0].Phase == "stream"
	})
	time.Sleep(100 * time.Millisecond) // the stream goes on after it
	writes := w.finish()
	want := map[string]int64{}
	for k, r := range e.Table(t, db) {
		want[k] = r.Ver
	}
	replayed := func() map[string]int64 {
		m := map[string]int64{}
		for _, ev := range distinct(events(t, em, "items")) {
			if ev.op == "delete" {
				delete(m, ev.key)
			} else {
				m[ev.key] = ev.ver
			}
		}
		return m
	}
	deadline := time.Now().Add(20 * time.Second)
	for !cmp.Equal(want, replayed()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	b.stop(t)
	if diff := cmp.Diff(want, replayed()); diff != "" {
		t.Errorf("the events replay to another table than ITEMS (-table +events):\n%s", diff)
	}
	all := events(t, em, "items")
	evs := distinct(all)
	checkKeyOrder(t, evs, journal)
	gens, keys := snapshotGens(evs)
	if len(gens) != 2 {
		t.Errorf("%d snapshot generations, want 2 (initial, requested; a restart continues the requested one): %v", len(gens), gens)
	} else {
		// The journal's snapshot is one consistent read: every row. A
		// polled snapshot leaves rows changed since it began to the
		// stream, which follows it.
		since := map[string]bool{}
		for i, ev := range evs {
			if ev.op == "snapshot" && ev.pos == gens[1] {
				for _, ev := range evs[i:] {
					since[ev.key] = true
				}
				break
			}
		}
		for id := 1; id <= stable; id++ {
			k := fmt.Sprintf("[%d]", id)
			if journal && !keys[gens[1]][k] {
				t.Errorf("the re-snapshot did not deliver %s", k)
			}
			if !since[k] {
				t.Errorf("%s was not delivered by the re-snapshot nor by the stream after it", k)
			}
		}
	}
	t.Logf("%d writes; %d events (%d redelivered with an id delivered before)", writes, len(all), len(all)-len(evs))
}

func runBridge(src *cdc.Source, em *memEmitter) *bridge {
	r := &cdc.Runner{Flow: "test", Topic: "items", Source: src, Emitter: em, Mappers: []legacybridge.Mapper{itemEvent{}},
		Heartbeat: -1, RetryBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bridge{src: src, cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- r.Run(ctx) }()
	return b
}

// TestResnapshotRequestSurvivesRestart: the running source takes the
// request while a batch of the table waits for its acknowledgement (so
// the snapshot cannot start yet), then the bridge stops before it
// starts: the request was stored in cdc.db, and the next start makes the
// snapshot.
func TestResnapshotRequestSurvivesRestart(t *testing.T) {
	e := cdctest.SQLite()
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	e.Seed(t, db, 1, 6)
	store, dir := cdctest.NewStore(t)
	src := e.Source(t, db, store, 10, cdctest.JournalItems())
	first := cdctest.ReadUntil(t, src, cdctest.Count(5))
	e.Update(t, db, 1, "one")
	cs, _ := cdctest.ReadBatch(t, src) // in flight, never acknowledged
	if len(cs) != 1 || cs[0].Op != cdc.OpUpdate {
		t.Fatalf("want the update of 1 in flight:\n%s", cdctest.Describe(cs))
	}
	type result struct {
		res cdc.ResnapshotResult
		err error
	}
	got := make(chan result, 1)
	go func() {
		r, err := cdc.Resnapshot(context.Background(), dir, "test", "ITEMS", 10*time.Second)
		got <- result{r, err}
	}()
	// Reads take the request but cannot start the snapshot.
	for {
		if more := cdctest.ReadFor(t, src, 50*time.Millisecond); len(more) > 0 {
			t.Fatalf("read while the update is in flight:\n%s", cdctest.Describe(more))
		}
		select {
		case r := <-got:
			if r.err != nil || r.res.State != cdc.ResnapshotTaken {
				t.Fatalf("Resnapshot: %+v, %v; want taken", r.res, r.err)
			}
		default:
			continue
		}
		break
	}
	pos, err := store.Positions("test")
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || !pos[0].Resnapshot {
		t.Errorf("positions after the take: %+v, want ITEMS with a pending re-snapshot", pos)
	}
	src.Close()
	store = cdctest.ReopenStore(t, store, dir)
	src = e.Source(t, db, store, 10, cdctest.JournalItems())
	re := cdctest.ReadUntil(t, src, func(cs []cdc.Change) bool { return len(cdctest.Keys(cs, cdc.OpSnapshot)) >= 5 })
	if re[0].Op != cdc.OpSnapshot || re[0].Pos == first[0].Pos {
		t.Errorf("after the restart: %s at %s, want a snapshot of a new generation (not %s):\n%s", re[0].Op, re[0].Pos, first[0].Pos, cdctest.Describe(re))
	}
	// The update that was in flight was covered by the snapshot read.
	for _, c := range re {
		if c.Op == cdc.OpUpdate {
			t.Errorf("the update in flight before the restart came again after the snapshot:\n%s", cdctest.Describe(re))
		}
	}
	if pos, _ := store.Positions("test"); len(pos) != 1 || pos[0].Resnapshot {
		t.Errorf("positions after the snapshot: %+v, want the request gone", pos)
	}
}

// TestResnapshotOutcomes: with no process holding cdc.db the request is
// stored for the next start; a running capture that does not have the
// table refuses it, saying which tables it has; with nobody taking the
// request, it stays queued.
func TestResnapshotOutcomes(t *testing.T) {
	e := cdctest.SQLite()
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Seed(t, db, 1, 4)
	dir := t.TempDir()
	res, err := cdc.Resnapshot(context.Background(), dir, "test", "items", time.Second)
	if err != nil || res.State != cdc.ResnapshotStored {
		t.Fatalf("stopped bridge: %+v %v, want stored", res, err)
	}
	store, err := cdc.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if pos, err := store.Positions("test"); err != nil || len(pos) != 1 || pos[0].Table != "ITEMS" || !pos[0].Resnapshot {
		t.Errorf("positions: %+v %v, want ITEMS requested", pos, err)
	}

	// Held by this process, nobody reads: queued.
	res, err = cdc.Resnapshot(context.Background(), dir, "test", "ITEMS", 100*time.Millisecond)
	if err != nil || res.State != cdc.ResnapshotQueued {
		t.Fatalf("held, nobody reading: %+v %v, want queued", res, err)
	}
	if _, err := os.Stat(filepath.Join(cdc.RequestDir(dir, "test"), "ITEMS.resnapshot")); err != nil {
		t.Errorf("queued request file: %v", err)
	}
	// A running source takes the queued request and the snapshot runs.
	src := e.Source(t, db, store, 10, cdctest.Items())
	cs := cdctest.ReadUntil(t, src, cdctest.Count(3))
	if len(cdctest.Keys(cs, cdc.OpSnapshot)) != 3 {
		t.Errorf("want the 3 rows snapshotted:\n%s", cdctest.Describe(cs))
	}
	// A table the running capture does not have.
	errc := make(chan error, 1)
	go func() {
		_, err := cdc.Resnapshot(context.Background(), dir, "test", "OE_ORDER_LINES_ALL", 10*time.Second)
		errc <- err
	}()
	for {
		cdctest.ReadFor(t, src, 30*time.Millisecond)
		select {
		case err = <-errc:
		default:
			continue
		}
		break
	}
	if err == nil || !strings.Contains(err.Error(), "does not capture table OE_ORDER_LINES_ALL (its tables: ITEMS)") {
		t.Errorf("request of an unknown table: %v", err)
	}
	if left, _ := os.ReadDir(cdc.RequestDir(dir, "test")); len(left) != 0 {
		t.Errorf("request folder not empty: %v", left)
	}
}
