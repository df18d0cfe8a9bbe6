package cdctest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/cdc"
)

// Run runs the conformance suite against e.
func Run(t *testing.T, e Env) {
	t.Run("PollSnapshotThenStream", func(t *testing.T) { testPollSnapshotThenStream(t, e) })
	t.Run("PollTiesAcrossRestart", func(t *testing.T) { testPollTies(t, e) })
	t.Run("PollRestartBeforeStored", func(t *testing.T) { testRestartBeforeStored(t, e, Items()) })
	t.Run("PollNackRewinds", func(t *testing.T) { testNackRewinds(t, e) })
	t.Run("PollDeletesByReconciliation", func(t *testing.T) { testPollDeletes(t, e) })
	t.Run("PollRestartMidSnapshot", func(t *testing.T) { testRestartMidSnapshot(t, e, Items()) })
	t.Run("PollFirstDeliveryIsInsert", func(t *testing.T) { testFirstDeliveryIsInsert(t, e) })
	t.Run("PollResnapshot", func(t *testing.T) { testResnapshot(t, e, Items()) })
	t.Run("JournalChanges", func(t *testing.T) { testJournal(t, e) })
	t.Run("JournalSnapshotThenStream", func(t *testing.T) { testJournalSnapshotThenStream(t, e) })
	t.Run("JournalRestartMidSnapshot", func(t *testing.T) { testRestartMidSnapshot(t, e, JournalItems()) })
	t.Run("JournalRestartBeforeStored", func(t *testing.T) { testRestartBeforeStored(t, e, JournalItems()) })
	t.Run("JournalResnapshot", func(t *testing.T) { testResnapshot(t, e, JournalItems()) })
	t.Run("KeyMustBeUnique", func(t *testing.T) { testKeyMustBeUnique(t, e) })
}

// testKeyMustBeUnique: a configured key that is not the primary key or a
// unique index (or a superset of one) is refused at start, naming the
// table and the columns.
func testKeyMustBeUnique(t *testing.T, e Env) {
	db := e.Open(t)
	e.Exec(t, db, fmt.Sprintf("CREATE TABLE NOKEY (ID %s NOT NULL, NAME %s, LAST_UPDATE_DATE %s NOT NULL)", e.Int, e.Text, e.Time))
	e.Exec(t, db, fmt.Sprintf("CREATE TABLE LINES (HEADER_ID %s NOT NULL, LINE_NO %s NOT NULL, NOTE %s, LAST_UPDATE_DATE %s NOT NULL)", e.Int, e.Int, e.Text, e.Time))
	e.Exec(t, db, "CREATE UNIQUE INDEX LINES_UK ON LINES (HEADER_ID, LINE_NO)")
	e.Exec(t, db, "CREATE INDEX LINES_NOTE ON LINES (NOTE)")
	e.Exec(t, db, "CREATE UNIQUE INDEX LINES_PARTIAL ON LINES (NOTE) WHERE NOTE IS NOT NULL")
	// A unique index on a nullable column lets many rows hold NULL there:
	// not a key. The same index on a NOT NULL column is.
	e.Exec(t, db, fmt.Sprintf("CREATE TABLE CODES (ID %s NOT NULL, CODE %s, REF %s NOT NULL, LAST_UPDATE_DATE %s NOT NULL)", e.Int, e.Int, e.Int, e.Time))
	e.Exec(t, db, "CREATE UNIQUE INDEX CODES_CODE ON CODES (CODE)")
	e.Exec(t, db, "CREATE UNIQUE INDEX CODES_REF ON CODES (REF)")
	for _, tc := range []struct {
		table string
		key   []string
		want  string // "" = accepted
	}{
		{"NOKEY", []string{"ID"}, "table NOKEY: key (ID) is not unique: the table has no primary key and no unique index"},
		{"LINES", []string{"HEADER_ID"}, "table LINES: key (HEADER_ID) is not unique: its primary key and unique indexes are on (HEADER_ID, LINE_NO)"},
		{"LINES", []string{"NOTE"}, "table LINES: key (NOTE) is not unique"},
		{"LINES", []string{"line_no", "header_id"}, ""},
		{"LINES", []string{"HEADER_ID", "LINE_NO", "NOTE"}, ""},
		{"ITEMS", []string{"ID"}, ""},
		{"CODES", []string{"CODE"}, "table CODES: key (CODE) is not unique"},
		{"CODES", []string{"REF"}, ""},
	} {
		if tc.table == "ITEMS" {
			e.CreateItems(t, db)
		}
		store, _ := NewStore(t)
		src := e.SourceWith(t, cdc.Config{DB: db, Store: store, Tables: []cdc.Table{{Name: tc.table, Key: tc.key, ChangeColumn: "LAST_UPDATE_DATE"}}})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, ack, err := src.Read(ctx)
		cancel()
		if ack != nil && err == nil {
			ack(context.Background(), nil)
		}
		src.Close()
		switch {
		case tc.want == "" && err != nil && ctx.Err() == nil:
			t.Errorf("%s key %v: %v, want accepted", tc.table, tc.key, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s key %v: error %v, want one containing %q", tc.table, tc.key, err, tc.want)
		}
	}
}

func isSnapshotDone(n int) func([]cdc.Change) bool {
	return func(cs []cdc.Change) bool { return len(Keys(cs, cdc.OpSnapshot)) >= n }
}

func testPollSnapshotThenStream(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Seed(t, db, 1, 31)
	store, _ := NewStore(t)
	src := e.Source(t, db, store, 7, Items())
	// First page of the snapshot, then changes to rows it has read and
	// rows it has not read yet, and new rows.
	first, ack := ReadBatch(t, src)
	ack(nil)
	if len(first) != 7 || first[0].Op != cdc.OpSnapshot {
		t.Fatalf("first batch:\n%s", Describe(first))
	}
	e.Update(t, db, 1, "one (changed during snapshot)")
	e.Update(t, db, 30, "thirty (changed during snapshot)")
	e.Insert(t, db, 31, "thirty-one", "31.00", "")
	e.Delete(t, db, 15)
	Wait()
	want := e.Table(t, db)
	all := append(first, ReadUntil(t, src, func(cs []cdc.Change) bool {
		return cmp.Equal(want, Replay(t, append(first, cs...)))
	})...)
	NoDoubles(t, all)
	InOrder(t, all)
	// 30 rows less 15 (deleted before the snapshot read it) and 30 (changed
	// before it was read: the stream has it).
	if n := len(Keys(all, cdc.OpSnapshot)); n != 28 {
		t.Errorf("%d snapshot rows, want 28", n)
	}
	// Nothing more arrives.
	e.Insert(t, db, 32, "thirty-two", "32", nil)
	Wait()
	more := ReadUntil(t, src, Count(1))
	if len(more) != 1 || more[0].Op != cdc.OpInsert || more[0].KeyString() != "[32]" {
		t.Errorf("after the snapshot, want exactly the insert of 32:\n%s", Describe(more))
	}
	if got := more[0].After["NOTE"]; got != nil {
		t.Errorf("NOTE of 32 = %#v, want nil (NULL)", got)
	}
	if s := src.Status(); len(s) != 1 || s[0].Phase != "stream" {
		t.Errorf("status %+v, want phase stream", s)
	}
}

func testPollTies(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	store, dir := NewStore(t)
	src := e.Source(t, db, store, 4, Items())
	// The table is empty: the snapshot ends at once.
	_, ack := ReadBatch(t, src)
	ack(nil)
	e.Seed(t, db, 1, 26) // 25 rows with one change time
	Wait()
	var got []cdc.Change
	for range 2 {
		cs, ack := ReadBatch(t, src)
		ack(nil)
		got = append(got, cs...)
	}
	if len(got) != 8 {
		t.Fatalf("first two batches: %d changes, want 8:\n%s", len(got), Describe(got))
	}
	// Restart in the middle of the tie.
	src.Close()
	store = ReopenStore(t, store, dir)
	src = e.Source(t, db, store, 4, Items())
	got = append(got, ReadUntil(t, src, func(cs []cdc.Change) bool { return len(got)+len(cs) >= 25 })...)
	keys := Keys(got, cdc.OpInsert)
	want := []string{}
	for i := 1; i <= 25; i++ {
		want = append(want, fmt.Sprintf("[%d]", i))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("rows with one change time, across a restart (-want +got):\n%s\n%s", diff, Describe(got))
	}
}

func testRestartBeforeStored(t *testing.T, e Env, tbl cdc.Table) {
	db := e.Open(t)
	e.CreateItems(t, db)
	if tbl.Strategy == cdc.StrategyJournal {
		e.Install(t, db)
	}
	e.Seed(t, db, 1, 4)
	store, dir := NewStore(t)
	src := e.Source(t, db, store, 100, tbl)
	snap := ReadUntil(t, src, isSnapshotDone(3))
	e.Update(t, db, 2, "two")
	e.Insert(t, db, 9, "nine", "9", "")
	Wait()
	// Kafka acknowledged these, but the process died before the position
	// was stored: no ack reaches the source.
	cs, _ := ReadBatch(t, src)
	if len(cs) == 0 {
		t.Fatal("no changes")
	}
	src.Close()
	store = ReopenStore(t, store, dir)
	src = e.Source(t, db, store, 100, tbl)
	again := ReadUntil(t, src, Count(len(cs)))
	if len(again) != len(cs) {
		t.Fatalf("after restart: %d changes, want the same %d again:\n%s", len(again), len(cs), Describe(again))
	}
	for i := range cs {
		if a, b := cdc.EventID("test", cs[i], 0), cdc.EventID("test", again[i], 0); a != b || cs[i].Op != again[i].Op {
			t.Errorf("change %d: %s %s id %s before the restart, %s %s id %s after", i, cs[i].Op, cs[i].KeyString(), a, again[i].Op, again[i].KeyString(), b)
		}
	}
	if want, got := e.Table(t, db), Replay(t, append(snap, again...)); !cmp.Equal(want, got) {
		t.Errorf("delivered state differs from the table:\n%s", cmp.Diff(want, got))
	}
}

func testNackRewinds(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Seed(t, db, 1, 6)
	store, _ := NewStore(t)
	src := e.Source(t, db, store, 2, Items())
	a, ack := ReadBatch(t, src)
	ack(nil)
	b, nack := ReadBatch(t, src)
	nack(errors.New("kafka is down"))
	b2, ack2 := ReadBatch(t, src)
	ack2(nil)
	if len(b) != len(b2) {
		t.Fatalf("after a nack: %d changes, want the same %d", len(b2), len(b))
	}
	for i := range b {
		if cdc.EventID("test", b[i], 0) != cdc.EventID("test", b2[i], 0) {
			t.Errorf("redelivered change %d has another id", i)
		}
	}
	rest := ReadUntil(t, src, isSnapshotDone(5-len(a)-len(b)))
	NoDoubles(t, append(append(a, b2...), rest...))
}

func testPollDeletes(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Seed(t, db, 1, 11)
	store, dir := NewStore(t)
	cfg := cdc.Config{DB: db, Store: store, BatchSize: 100, Tables: []cdc.Table{Items()}, ReconcileEvery: 1}
	src := e.SourceWith(t, cfg)
	all := ReadUntil(t, src, isSnapshotDone(10))
	e.Delete(t, db, 3)
	e.Delete(t, db, 7)
	e.Insert(t, db, 11, "eleven", "11", nil)
	Wait()
	got := ReadUntil(t, src, func(cs []cdc.Change) bool {
		return len(Keys(cs, cdc.OpDelete)) >= 2 && len(Keys(cs, cdc.OpInsert)) >= 1
	})
	if diff := cmp.Diff([]string{"[3]", "[7]"}, Keys(got, cdc.OpDelete)); diff != "" {
		t.Errorf("deletes found by reconciliation (-want +got):\n%s", diff)
	}
	// A reconciled delete knows no before image, but its record carries
	// the key columns: mappings build subjects and partition keys from them.
	for _, c := range got {
		if c.Op != cdc.OpDelete {
			continue
		}
		rec := cdc.RecordOf(c)
		if got, want := rec.Fields["ID"], c.Key[0]; got != want {
			t.Errorf("reconciled delete %s: field ID = %v (%T), want %v (%T)", c.KeyString(), got, got, want, want)
		}
	}
	all = append(all, got...)
	if want, have := e.Table(t, db), Replay(t, all); !cmp.Equal(want, have) {
		t.Errorf("delivered state differs from the table:\n%s", cmp.Diff(want, have))
	}
	// A delete found again after a restart (position not stored) has the
	// same id; a stored one is not found again.
	src.Close()
	store = ReopenStore(t, store, dir)
	cfg.Store = store
	src = e.SourceWith(t, cfg)
	e.Delete(t, db, 5)
	Wait()
	more := ReadUntil(t, src, func(cs []cdc.Change) bool { return len(Keys(cs, cdc.OpDelete)) >= 1 })
	if diff := cmp.Diff([]string{"[5]"}, Keys(more, cdc.OpDelete)); diff != "" {
		t.Errorf("after restart, deletes (-want +got):\n%s", diff)
	}
}

func testRestartMidSnapshot(t *testing.T, e Env, tbl cdc.Table) {
	db := e.Open(t)
	e.CreateItems(t, db)
	journal := tbl.Strategy == cdc.StrategyJournal
	if journal {
		e.Install(t, db)
	} else {
		tbl.Reconcile = time.Nanosecond // deletes of delivered rows
	}
	e.Seed(t, db, 1, 41)
	if journal {
		// Changes made after install but before the first start are in
		// the journal and in the table: delivered once, by the snapshot.
		e.Update(t, db, 5, "five")
		e.Delete(t, db, 6)
	}
	store, dir := NewStore(t)
	src := e.Source(t, db, store, 6, tbl)
	var all []cdc.Change
	for range 3 {
		cs, ack := ReadBatch(t, src)
		ack(nil)
		all = append(all, cs...)
	}
	// Unacknowledged batch, then a restart, with changes in between:
	// to rows delivered, rows not yet read, and new rows.
	ReadBatch(t, src)
	src.Close()
	e.Update(t, db, 2, "two")
	e.Update(t, db, 2, "two again")
	e.Update(t, db, 35, "thirty-five")
	e.Delete(t, db, 3)
	e.Delete(t, db, 38)
	e.Insert(t, db, 41, "forty-one", "41", "")
	Wait()
	store = ReopenStore(t, store, dir)
	src = e.Source(t, db, store, 6, tbl)
	want := e.Table(t, db)
	all = append(all, ReadUntil(t, src, func(cs []cdc.Change) bool {
		return cmp.Equal(want, Replay(t, append(all, cs...)))
	})...)
	NoDoubles(t, all)
	InOrder(t, all)
	if journal {
		Consecutive(t, all)
	}
	// Nothing left over.
	e.Update(t, db, 40, "forty")
	Wait()
	more := ReadUntil(t, src, Count(1))
	if len(more) != 1 || more[0].KeyString() != "[40]" || more[0].Op != cdc.OpUpdate {
		t.Errorf("after the snapshot, want only the update of 40:\n%s", Describe(more))
	}
}

func testResnapshot(t *testing.T, e Env, tbl cdc.Table) {
	db := e.Open(t)
	e.CreateItems(t, db)
	if tbl.Strategy == cdc.StrategyJournal {
		e.Install(t, db)
	}
	e.Seed(t, db, 1, 6)
	store, _ := NewStore(t)
	src := e.Source(t, db, store, 3, tbl)
	all := ReadUntil(t, src, isSnapshotDone(5))
	gen1 := all[0].Pos
	e.Update(t, db, 1, "one")
	Wait()
	all = append(all, ReadUntil(t, src, Count(1))...)
	if err := src.Resnapshot("items"); err != nil {
		t.Fatal(err)
	}
	if err := src.Resnapshot("nosuch"); err == nil {
		t.Error("Resnapshot of a table the flow does not capture succeeded")
	}
	rows := 5
	if tbl.Strategy == cdc.StrategyJournal {
		// Deleted after the stream delivered it, before the re-snapshot's
		// read: the read covers the journal row and cannot show the row
		// is gone, so the re-snapshot delivers the delete.
		e.Delete(t, db, 4)
		rows = 4
	}
	e.Update(t, db, 2, "two")
	Wait()
	re := ReadUntil(t, src, func(cs []cdc.Change) bool {
		return len(Keys(cs, cdc.OpSnapshot)) >= rows
	})
	first := re[0]
	if rows == 4 { // the delete comes first, with the snapshot's first batch
		if first.Op != cdc.OpDelete || first.KeyString() != "[4]" || first.Before == nil {
			t.Errorf("re-snapshot: first change %s of %s, want the delete of [4] with its before image:\n%s", first.Op, first.KeyString(), Describe(re))
		}
		first = re[1]
	}
	if first.Op != cdc.OpSnapshot || first.Pos == gen1 {
		t.Errorf("re-snapshot: first row %s at %s, want a snapshot of a new generation (not %s)", first.Op, first.Pos, gen1)
	}
	all = append(all, re...)
	e.Update(t, db, 3, "three")
	Wait()
	want := e.Table(t, db)
	all = append(all, ReadUntil(t, src, func(cs []cdc.Change) bool { return cmp.Equal(want, Replay(t, append(all, cs...))) })...)
	InOrder(t, all)
}

func testJournal(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	store, _ := NewStore(t)
	src := e.Source(t, db, store, 100, JournalItems())
	if cs, ack := ReadBatch(t, src); len(cs) != 0 { // the snapshot of the empty table
		t.Fatalf("snapshot of an empty table:\n%s", Describe(cs))
	} else {
		ack(nil)
	}
	e.Insert(t, db, 1, "one", "12345678901234.000001", "")
	e.Insert(t, db, 2, "two", "2", nil)
	e.Update(t, db, 1, "uno")
	e.Exec(t, db, "UPDATE ITEMS SET ID = 20 WHERE ID = 2")
	e.Delete(t, db, 1)
	cs := ReadUntil(t, src, Count(6))
	type row struct {
		Op          cdc.Op
		Key         string
		Before      Row
		After       Row
		BeforeKnown bool
	}
	var got []row
	for _, c := range cs {
		r := row{Op: c.Op, Key: c.KeyString(), BeforeKnown: c.Before != nil}
		if c.Before != nil {
			r.Before = project(c.Before)
		}
		if c.After != nil {
			r.After = project(c.After)
		}
		got = append(got, r)
	}
	one := Row{Name: "one", Qty: "12345678901234000001/1000000", Note: "", Ver: 1}
	two := Row{Name: "two", Qty: "2", Note: "<NULL>", Ver: 1}
	uno := Row{Name: "uno", Qty: one.Qty, Note: "", Ver: 2}
	want := []row{
		{Op: cdc.OpInsert, Key: "[1]", After: one},
		{Op: cdc.OpInsert, Key: "[2]", After: two},
		{Op: cdc.OpUpdate, Key: "[1]", Before: one, After: uno, BeforeKnown: true},
		{Op: cdc.OpDelete, Key: "[2]", Before: two, BeforeKnown: true}, // key changed: delete + insert
		{Op: cdc.OpInsert, Key: "[20]", After: two},
		{Op: cdc.OpDelete, Key: "[1]", Before: uno, BeforeKnown: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("journal changes (-want +got):\n%s", diff)
	}
	for _, c := range cs {
		if c.ChangeTime.IsZero() || c.Pos == "" {
			t.Errorf("%s %s: change time %v, position %q", c.Op, c.KeyString(), c.ChangeTime, c.Pos)
		}
	}
	// Acknowledged rows are purged from the journal.
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM LB_JOURNAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d journal rows left after every change was acknowledged", n)
	}
}

func testJournalSnapshotThenStream(t *testing.T, e Env) {
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	e.Seed(t, db, 1, 21)
	e.Update(t, db, 4, "four before start") // in the journal and the table
	store, _ := NewStore(t)
	src := e.Source(t, db, store, 5, JournalItems())
	first, ack := ReadBatch(t, src)
	ack(nil)
	// The snapshot read is open: these changes are not in it and arrive
	// after it, each once.
	e.Update(t, db, 2, "two")        // delivered already
	e.Update(t, db, 18, "eighteen")  // not read yet
	e.Update(t, db, 18, "eighteen!") // twice
	e.Delete(t, db, 19)
	e.Insert(t, db, 21, "twenty-one", "21", nil)
	want := e.Table(t, db)
	all := append(first, ReadUntil(t, src, func(cs []cdc.Change) bool {
		return cmp.Equal(want, Replay(t, append(first, cs...)))
	})...)
	NoDoubles(t, all)
	InOrder(t, all)
	Consecutive(t, all)
	if n := len(Keys(all, cdc.OpSnapshot)); n != 20 {
		t.Errorf("%d snapshot rows, want 20 (the table when the snapshot read began)", n)
	}
	for _, c := range all {
		if c.KeyString() == "[4]" && c.Op != cdc.OpSnapshot {
			t.Errorf("the change to 4 made before the start came again after the snapshot: %s %s", c.Op, c.Pos)
		}
	}
}

// testFirstDeliveryIsInsert: a row inserted and updated before a poll
// reaches it is delivered once, as an insert; its next change as an
// update. With the key store and without it (the created column after
// the cursor).
func testFirstDeliveryIsInsert(t *testing.T, e Env) {
	for _, reconcile := range []time.Duration{time.Hour, -1} {
		t.Run(fmt.Sprintf("reconcile=%v", reconcile), func(t *testing.T) {
			db := e.Open(t)
			e.CreateItems(t, db)
			e.Seed(t, db, 1, 3)
			store, _ := NewStore(t)
			tbl := Items()
			tbl.Reconcile = reconcile
			src := e.Source(t, db, store, 100, tbl)
			ReadUntil(t, src, isSnapshotDone(2))
			e.Insert(t, db, 7, "seven", "7", nil)
			Wait()
			e.Update(t, db, 7, "seven, changed before any poll saw it")
			e.Update(t, db, 1, "one")
			Wait()
			got := ReadUntil(t, src, Count(2))
			ops := map[string]cdc.Op{}
			for _, c := range got {
				ops[c.KeyString()] = c.Op
			}
			if diff := cmp.Diff(map[string]cdc.Op{"[7]": cdc.OpInsert, "[1]": cdc.OpUpdate}, ops); diff != "" {
				t.Errorf("operations (-want +got):\n%s", diff)
			}
			e.Update(t, db, 7, "seven again")
			Wait()
			if more := ReadUntil(t, src, Count(1)); more[0].Op != cdc.OpUpdate {
				t.Errorf("second delivery of 7: %s, want update", more[0].Op)
			}
		})
	}
}
