package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/cdc"
)

// mmtServer is a fake database holding the fixture's rows of
// INV.MTL_MATERIAL_TRANSACTIONS in one online log, CURRENT_SCN 130.
func mmtServer(t *testing.T) *fakeServer {
	return &fakeServer{
		current: 130, logMode: "ARCHIVELOG", minLogging: "YES", allLogging: "NO",
		tableLog: map[string][]string{"INV.MTL_MATERIAL_TRANSACTIONS": {"PRIMARY KEY LOGGING", "ALL COLUMN LOGGING"}},
		columns: map[string][]fakeCol{"INV.MTL_MATERIAL_TRANSACTIONS": {
			{"TRANSACTION_ID", "NUMBER"}, {"SUBINVENTORY_CODE", "NCHAR"}, {"TRANSACTION_QUANTITY", "NUMBER"},
			{"COSTED_FLAG", "NCHAR"}, {"TRANSACTION_DATE", "DATE"}, {"ATTACHMENT", "OCIBlobLocator"},
		}},
		keys: map[string][]string{"INV.MTL_MATERIAL_TRANSACTIONS": {"TRANSACTION_ID"}},
		logs: []redoLog{{name: "/u01/oradata/EBS/redo02a.log", thread: 1, seq: 10, first: 1, nextCh: 1 << 40, kind: "ONLINE"}},
		rows: loadMined(t, "testdata/logminer/contents.jsonl"),
	}
}

func newStore(t *testing.T) (*cdc.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := cdc.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

var chicago = func() *time.Location {
	l, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return l
}()

func newMMTSource(t *testing.T, srv *fakeServer, store *cdc.Store, batch int) *LogMinerSource {
	t.Helper()
	src, err := NewLogMinerSource(LogMinerConfig{Flow: "ebs", DB: openFake(t, srv), Store: store, TimeZone: chicago,
		Tables: []cdc.Table{{Name: "INV.MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}, Strategy: cdc.StrategyLogMiner, Snapshot: cdc.SnapshotNone}},
		Window: 5, BatchSize: batch, PollInterval: 5 * time.Millisecond, StartSCN: 99, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

type got struct {
	Op          cdc.Op
	Key, Pos    string
	TxID        string
	Commit      string
	Before      cdc.Image
	After       cdc.Image
	ChangeAtSec int
}

func summary(cs []cdc.Change) []got {
	var out []got
	for _, c := range cs {
		out = append(out, got{Op: c.Op, Key: c.KeyString(), Pos: c.Pos, TxID: c.TxID, Commit: c.CommitTime.Format(time.RFC3339), Before: c.Before, After: c.After, ChangeAtSec: c.ChangeTime.Second()})
	}
	return out
}

// readAll reads and acknowledges batches until n changes came.
func readAll(t *testing.T, src *LogMinerSource, n int) []cdc.Change {
	t.Helper()
	var all []cdc.Change
	for len(all) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cs, ack, err := src.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Read after %d changes: %v", len(all), err)
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
	}
	return all
}

func mmt(id int64, sub, qty, flag string, date string, attachment any) cdc.Image {
	d, err := time.ParseInLocation("2006-01-02 15:04:05", "2024-05-01 "+date, chicago)
	if err != nil {
		panic(err)
	}
	return cdc.Image{"TRANSACTION_ID": json.Number(fmt.Sprint(id)), "SUBINVENTORY_CODE": sub, "TRANSACTION_QUANTITY": json.Number(qty),
		"COSTED_FLAG": flag, "TRANSACTION_DATE": d, "ATTACHMENT": attachment}
}

// TestLogMinerMinesInCommitOrder: the fixture's transactions come out in
// commit order, whole, in windows of 5 SCNs: B (insert, then update
// with its before image from the redo's conditions and the undo), C (an
// insert split over two rows), A (started first, committed third; its
// key update is a delete and an insert), D (one insert rolled back to a
// savepoint; a table not captured is left out), E (a delete with every
// column). R rolled back: nothing. Values are typed by the columns:
// NUMBER exact, DATE in the server's zone, BLOB left out.
func TestLogMinerMinesInCommitOrder(t *testing.T) {
	srv := mmtServer(t)
	store, _ := newStore(t)
	src := newMMTSource(t, srv, store, 500)
	cs := readAll(t, src, 8)
	lob := cdc.Skipped{Reason: "lob"}
	b2 := mmt(2, "STORES", "0.5", "N", "10:01:00", nil)
	b2y := mmt(2, "STORES", "0.5", "Y", "10:01:00", nil)
	a1 := mmt(1, "FGI", "-12.5", "N", "10:00:00", lob)
	a10 := mmt(10, "FGI", "-12.5", "N", "10:00:00", lob)
	want := []got{
		{Op: cdc.OpInsert, Key: "[2]", Pos: "l:107:2.20.200:0", TxID: "2.20.200", After: b2, ChangeAtSec: 43},
		{Op: cdc.OpUpdate, Key: "[2]", Pos: "l:107:2.20.200:1", TxID: "2.20.200", Before: b2, After: b2y, ChangeAtSec: 46},
		{Op: cdc.OpInsert, Key: "[3]", Pos: "l:112:3.30.300:0", TxID: "3.30.300", After: mmt(3, "RAW", "7", "N", "10:02:00", nil), ChangeAtSec: 45},
		{Op: cdc.OpInsert, Key: "[1]", Pos: "l:117:1.10.100:0", TxID: "1.10.100", After: a1, ChangeAtSec: 41},
		{Op: cdc.OpDelete, Key: "[1]", Pos: "l:117:1.10.100:1", TxID: "1.10.100", Before: a1, ChangeAtSec: 51},
		{Op: cdc.OpInsert, Key: "[10]", Pos: "l:117:1.10.100:1", TxID: "1.10.100", After: a10, ChangeAtSec: 51},
		{Op: cdc.OpInsert, Key: "[4]", Pos: "l:119:5.50.500:0", TxID: "5.50.500", After: mmt(4, "FGI", "3", "N", "10:04:00", lob), ChangeAtSec: 54},
		{Op: cdc.OpDelete, Key: "[2]", Pos: "l:125:6.60.600:0", TxID: "6.60.600", Before: b2y, ChangeAtSec: 1},
	}
	commits := map[string]string{"2.20.200": "10:01:47", "3.30.300": "10:01:52", "1.10.100": "10:01:57", "5.50.500": "10:01:59", "6.60.600": "10:02:05"}
	for i := range want {
		ct, _ := time.ParseInLocation("2006-01-02 15:04:05", "2024-05-01 "+commits[want[i].TxID], chicago)
		want[i].Commit = ct.Format(time.RFC3339)
	}
	if diff := cmp.Diff(want, summary(cs)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// Windows of 5 SCNs, back to back, each ended.
	srv.mu.Lock()
	defer srv.mu.Unlock()
	wantStarts := [][2]string{{"99", "104"}, {"104", "109"}, {"109", "114"}, {"114", "119"}, {"119", "124"}, {"124", "129"}}
	if len(srv.starts) < len(wantStarts) || !cmp.Equal(wantStarts, srv.starts[:len(wantStarts)]) {
		t.Errorf("START_LOGMNR windows %v, want %v first", srv.starts, wantStarts)
	}
	if srv.ends != len(srv.starts) || len(srv.added) != len(srv.starts) {
		t.Errorf("%d starts, %d ends, %d logs added: want one log and one end per start", len(srv.starts), srv.ends, len(srv.added))
	}
}

// TestLogMinerRestart: batches of whole transactions; B and C are
// acknowledged (C after a negative ack brought it again), A is read but
// not acknowledged. C committed while A (started at SCN 100) was open, so
// the stored position says: mine again from SCN 100, and skip what
// committed up to C. After the restart B and C are mined again but not
// delivered; A, D and E are, with the ids of a run without restart.
func TestLogMinerRestart(t *testing.T) {
	first := func() []cdc.Change {
		store, _ := newStore(t)
		return readAll(t, newMMTSource(t, mmtServer(t), store, 2), 8)
	}()
	ids := map[string]string{}
	for _, c := range first {
		ids[c.Pos+c.KeyString()] = cdc.EventID("ebs", c, 0)
	}

	store, dir := newStore(t)
	srv := mmtServer(t)
	src := newMMTSource(t, srv, store, 2)
	read := func(src *LogMinerSource) ([]cdc.Change, legacybridge.AckFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs, ack, err := src.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs, ack
	}
	var delivered []cdc.Change
	for i := range 2 {
		cs, ack := read(src)
		if i == 1 { // a failed delivery comes again
			if err := ack(context.Background(), errors.New("broker down")); err != nil {
				t.Fatal(err)
			}
			again, ack2 := read(src)
			if !cmp.Equal(summary(cs), summary(again)) {
				t.Errorf("after a negative ack:\n%v\nwant the same batch again:\n%v", summary(again), summary(cs))
			}
			ack = ack2
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		delivered = append(delivered, cs...)
	}
	if n := len(delivered); n != 3 || delivered[2].TxID != "3.30.300" {
		t.Fatalf("%v\nwant B and C (3 changes) in 2 batches", summary(delivered))
	}
	if cs, _ := read(src); len(cs) != 3 || cs[0].TxID != "1.10.100" { // A, never acknowledged
		t.Fatalf("third batch %v, want A", summary(cs))
	}
	src.Close()
	store.Close()
	store, err := cdc.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src = newMMTSource(t, srv, store, 2)
	rest := readAll(t, src, 5)
	var txs []string
	for _, c := range rest {
		txs = append(txs, c.TxID)
	}
	if want := []string{"1.10.100", "1.10.100", "1.10.100", "5.50.500", "6.60.600"}; !cmp.Equal(want, txs) {
		t.Fatalf("after the restart, transactions %v, want A, D and E:\n%v", txs, summary(rest))
	}
	for _, c := range append(delivered, rest...) {
		if id := cdc.EventID("ebs", c, 0); id != ids[c.Pos+c.KeyString()] {
			t.Errorf("%s %s at %s: id %s, first run %s", c.Op, c.KeyString(), c.Pos, id, ids[c.Pos+c.KeyString()])
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	from99 := 0
	for _, s := range srv.starts {
		if s[0] == "99" {
			from99++
		}
	}
	// The first start, the rewind after the negative ack, the restart:
	// each time from SCN 99, since A (started at 100) was still open.
	if from99 != 3 {
		t.Errorf("windows %v: want mining from SCN 99 three times", srv.starts)
	}
}

// TestLogMinerStops: what mining cannot get past stops it with a message
// naming the SCNs and what to do: a gap in the log sequence, DDL on a
// captured table, a database without archive or supplemental logging,
// a table without snapshot: none.
func TestLogMinerStops(t *testing.T) {
	store, _ := newStore(t)
	readErr := func(srv *fakeServer) error {
		src := newMMTSource(t, srv, store, 500)
		for range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, ack, err := src.Read(ctx)
			cancel()
			if err != nil {
				return err
			}
			ack(context.Background(), nil)
		}
		return nil
	}
	gap := mmtServer(t)
	gap.logs = []redoLog{{name: "arch_10.arc", thread: 1, seq: 10, first: 1, nextCh: 106, kind: "ARCHIVED"}, {name: "arch_12.arc", thread: 1, seq: 12, first: 108, nextCh: 1 << 40, kind: "ARCHIVED"}}
	if err := readErr(gap); err == nil || !strings.Contains(err.Error(), "thread 1: log sequence 12 follows 10 (sequences 11 to 11 are missing, SCNs 106 to 108)") {
		t.Errorf("log gap: %v", err)
	}
	store, _ = newStore(t)
	gone := mmtServer(t)
	gone.logs = []redoLog{{name: "arch_10.arc", thread: 1, seq: 10, first: 1, nextCh: 110, kind: "ARCHIVED"}}
	if err := readErr(gone); err == nil || !strings.Contains(err.Error(), "no redo log holds SCNs 115 to 119") {
		t.Errorf("logs deleted: %v", err)
	}
	store, _ = newStore(t)
	ddl := mmtServer(t)
	ddl.rows = append(ddl.rows[:3:3], fakeMined{SCN: 103, StartSCN: 103, XID: "9.9.9", Op: OpDDL, Owner: "INV", Table: "MTL_MATERIAL_TRANSACTIONS", Redo: `alter table "INV"."MTL_MATERIAL_TRANSACTIONS" add ("X" NUMBER);`, Thread: 1})
	if err := readErr(ddl); err == nil || !strings.Contains(err.Error(), "DDL on INV.MTL_MATERIAL_TRANSACTIONS at SCN 103") {
		t.Errorf("DDL: %v", err)
	}
	store, _ = newStore(t)
	bare := mmtServer(t)
	bare.logMode, bare.minLogging, bare.tableLog = "NOARCHIVELOG", "NO", nil
	err := readErr(bare)
	for _, want := range []string{"ALTER DATABASE ARCHIVELOG", "ALTER DATABASE ADD SUPPLEMENTAL LOG DATA", "ALTER TABLE INV.MTL_MATERIAL_TRANSACTIONS ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unprepared database: %v; want %q", err, want)
		}
	}
	_, err = NewLogMinerSource(LogMinerConfig{Flow: "ebs", DB: openFake(t, mmtServer(t)), Store: store,
		Tables: []cdc.Table{{Name: "MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}}}})
	for _, want := range []string{"name it SCHEMA.TABLE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config: %v; want %q", err, want)
		}
	}
	_, err = NewLogMinerSource(LogMinerConfig{Flow: "ebs", DB: openFake(t, mmtServer(t)), Store: store,
		Tables: []cdc.Table{{Name: "INV.MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}}}})
	if err == nil || !strings.Contains(err.Error(), "set snapshot: none") {
		t.Errorf("config with a snapshot: %v", err)
	}
}

func TestRedoValue(t *testing.T) {
	for _, tc := range []struct {
		kind cdc.Kind
		v    RedoValue
		want any
	}{
		{cdc.KindBytes, RedoValue{Func: "HEXTORAW", Text: "00ff"}, []byte{0, 0xff}},
		{cdc.KindDecimal, RedoValue{Text: "-.05"}, json.Number("-0.05")},
		{cdc.KindTimeTZ, RedoValue{Func: "TO_TIMESTAMP_TZ", Text: "2024-05-01 10:00:00.5 -05:00"}, time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.FixedZone("", -5*3600))},
		{cdc.KindTime, RedoValue{Func: "TO_TIMESTAMP", Text: "2024-05-01 10:00:00."}, time.Date(2024, 5, 1, 10, 0, 0, 0, chicago)},
		{cdc.KindText, RedoValue{Text: "Unsupported Type", Unsupported: true}, cdc.Skipped{Reason: "unsupported"}},
		{cdc.KindText, RedoValue{Null: true}, nil},
		{cdc.KindText, RedoValue{Text: ""}, ""},
	} {
		got, err := redoValue(tc.kind, tc.v, chicago)
		if err != nil {
			t.Errorf("%+v: %v", tc.v, err)
			continue
		}
		if tt, ok := got.(time.Time); ok {
			if w := tc.want.(time.Time); !tt.Equal(w) {
				t.Errorf("%+v: %v, want %v", tc.v, tt, w)
			}
			continue
		}
		if !cmp.Equal(tc.want, got) {
			t.Errorf("%+v: %#v, want %#v", tc.v, got, tc.want)
		}
	}
}

// memEmitter keeps what it is given.
type memEmitter struct {
	mu   sync.Mutex
	msgs []legacybridge.Message
}

func (m *memEmitter) Emit(_ context.Context, msgs ...legacybridge.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msgs...)
	return nil
}
func (m *memEmitter) Close() error { return nil }

type opMapper struct{}

func (opMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	d, _ := json.Marshal(map[string]any{"op": r.Envelope["op"], "key": r.Envelope["key"], "txid": r.Envelope["txid"], "commit": r.Envelope["commit_time"]})
	return []legacybridge.Event{{Type: "test.mmt.v1", Data: d}}, nil
}

// TestLogMinerBehindRunner: the source is a cdc.ChangeSource: a Runner
// maps and emits its changes, with the transaction id and commit time in
// each record's envelope.
func TestLogMinerBehindRunner(t *testing.T) {
	store, _ := newStore(t)
	src := newMMTSource(t, mmtServer(t), store, 500)
	em := &memEmitter{}
	r := &cdc.Runner{Flow: "ebs", Topic: "mmt", Source: src, Emitter: em, Mappers: []legacybridge.Mapper{opMapper{}}, Heartbeat: -1, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		em.mu.Lock()
		n := len(em.msgs)
		em.mu.Unlock()
		if n >= 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	em.mu.Lock()
	defer em.mu.Unlock()
	if len(em.msgs) != 8 {
		t.Fatalf("%d events, want 8", len(em.msgs))
	}
	var first map[string]string
	json.Unmarshal(em.msgs[0].Value, &first)
	if first["op"] != "insert" || first["key"] != "[2]" || first["txid"] != "2.20.200" || !strings.HasPrefix(first["commit"], "2024-05-01T10:01:47-05:00") {
		t.Errorf("first event %s", em.msgs[0].Value)
	}
}
