package cdc_test

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
	"legacybridge/cdc/internal/cdctest"
)

// memEmitter keeps what it was given; fail makes the next calls fail
// (heartbeats excepted).
type memEmitter struct {
	mu     sync.Mutex
	msgs   []legacybridge.Message
	failed []legacybridge.Message // given to calls that failed
	fail   int
}

func (m *memEmitter) Emit(_ context.Context, msgs ...legacybridge.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 && msgs[0].Topic != "hb" {
		m.failed = append(m.failed, msgs...)
		m.fail--
		return errors.New("broker down")
	}
	m.msgs = append(m.msgs, msgs...)
	return nil
}

func (m *memEmitter) Close() error { return nil }

func (m *memEmitter) topic(t string) []legacybridge.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []legacybridge.Message
	for _, x := range m.msgs {
		if x.Topic == t {
			out = append(out, x)
		}
	}
	return out
}

func header(m legacybridge.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// itemMapper maps ITEMS records; a NAME of "poison" fails.
type itemMapper struct{}

func (itemMapper) Applies(r legacybridge.Record) bool { return r.Format == "cdc" && r.Type == "ITEMS" }

func (itemMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	if r.Fields["NAME"] == "poison" {
		return nil, errors.New("cannot map a poisoned item")
	}
	d, _ := json.Marshal(map[string]any{"id": r.Fields["ID"], "op": r.Envelope["op"], "name": r.Fields["NAME"], "before": r.Fields["_BEFORE_NAME"]})
	return []legacybridge.Event{{Type: "test.item.v1", Subject: fmt.Sprint(r.Fields["ID"]), Data: d}}, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunnerEmitsMappedChangesWithStableIDs(t *testing.T) {
	e := cdctest.SQLite()
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	e.Seed(t, db, 1, 3)
	store, _ := cdctest.NewStore(t)
	src := e.Source(t, db, store, 100, cdctest.JournalItems())
	em := &memEmitter{fail: 2} // the first attempts fail: the batch comes again
	r := &cdc.Runner{Flow: "erp", Topic: "items", DeadLetter: "items.dlq", Source: src, Mappers: []legacybridge.Mapper{itemMapper{}},
		Emitter: em, Heartbeat: 50 * time.Millisecond, HeartbeatTopic: "hb", RetryBackoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "snapshot events", func() bool { return len(em.topic("items")) >= 2 })
	e.Update(t, db, 1, "uno")
	e.Insert(t, db, 9, "poison", "1", nil)
	e.Delete(t, db, 2)
	waitFor(t, "change events", func() bool { return len(em.topic("items")) >= 4 && len(em.topic("items.dlq")) >= 1 })
	waitFor(t, "heartbeats", func() bool { return len(em.topic("hb")) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	type ev struct{ ID, Type, Subject, Op, Data string }
	var got []ev
	for _, m := range em.topic("items") {
		got = append(got, ev{header(m, "ce_id"), header(m, "ce_type"), header(m, "ce_subject"), header(m, "ce_cdcop"), string(m.Value)})
	}
	if len(got) != 4 {
		t.Fatalf("%d events, want 4: %+v", len(got), got)
	}
	for i, want := range []ev{
		{Type: "test.item.v1", Subject: "1", Op: "snapshot", Data: `{"before":null,"id":1,"name":"item 1","op":"snapshot"}`},
		{Type: "test.item.v1", Subject: "2", Op: "snapshot", Data: `{"before":null,"id":2,"name":"item 2","op":"snapshot"}`},
		{Type: "test.item.v1", Subject: "1", Op: "update", Data: `{"before":"item 1","id":1,"name":"uno","op":"update"}`},
		{Type: "test.item.v1", Subject: "2", Op: "delete", Data: `{"before":null,"id":2,"name":"item 2","op":"delete"}`},
	} {
		want.ID = got[i].ID
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
	dlq := em.topic("items.dlq")
	if len(dlq) != 1 || header(dlq[0], "x-bridge-key") != "[9]" || !strings.Contains(header(dlq[0], "x-bridge-error"), "poisoned") {
		t.Errorf("dead letters: %+v", dlq)
	}
	// The batch whose emit failed came again with the same ids.
	for _, f := range em.failed {
		if f.Topic == "items" && header(f, "ce_id") != got[0].ID && header(f, "ce_id") != got[1].ID {
			t.Errorf("a retried event got another id: %s (delivered: %s, %s)", header(f, "ce_id"), got[0].ID, got[1].ID)
		}
	}
	var hb cdc.Heartbeat
	if err := json.Unmarshal(em.topic("hb")[0].Value, &hb); err != nil {
		t.Fatal(err)
	}
	if hb.Flow != "erp" || len(hb.Tables) != 1 || hb.Tables[0].Table != "ITEMS" {
		t.Errorf("heartbeat %+v", hb)
	}
	if s := r.Stats(); s.Events != 4 || s.DeadLetters != 1 || s.Failures < 2 {
		t.Errorf("stats %+v, want 4 events, 1 dead letter, at least 2 failures", s)
	}
}

func TestRunnerHoldsAPoisonChangeWithoutDeadLetterTopic(t *testing.T) {
	e := cdctest.SQLite()
	db := e.Open(t)
	e.CreateItems(t, db)
	e.Install(t, db)
	store, _ := cdctest.NewStore(t)
	src := e.Source(t, db, store, 100, cdctest.JournalItems())
	em := &memEmitter{}
	r := &cdc.Runner{Flow: "erp", Topic: "items", Source: src, Mappers: []legacybridge.Mapper{itemMapper{}},
		Emitter: em, Heartbeat: -1, RetryBackoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	e.Insert(t, db, 1, "poison", "1", nil)
	e.Insert(t, db, 2, "fine", "2", nil)
	waitFor(t, "the runner to report the failure", func() bool {
		ok, st := r.Status()
		return !ok && strings.Contains(st, "no dead-letter topic") && strings.Contains(st, "[1]")
	})
	cancel()
	<-done
	if n := len(em.topic("items")); n != 0 {
		t.Errorf("%d events emitted past a change that could not be mapped", n)
	}
	var left int
	if err := db.QueryRow("SELECT COUNT(*) FROM LB_JOURNAL").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 2 {
		t.Errorf("%d journal rows left, want both kept (nothing delivered)", left)
	}
}

func TestOnlyOps(t *testing.T) {
	m := cdc.OnlyOps(itemMapper{}, cdc.OpInsert, cdc.OpSnapshot)
	s := m.(legacybridge.Skipper)
	for op, want := range map[cdc.Op]bool{cdc.OpInsert: true, cdc.OpSnapshot: true, cdc.OpUpdate: false, cdc.OpDelete: false} {
		rec := cdc.RecordOf(cdc.Change{Table: "ITEMS", Op: op, Key: []any{int64(1)}, After: cdc.Image{"ID": int64(1)}, Before: cdc.Image{"ID": int64(1)}})
		if got := s.Applies(rec); got != want {
			t.Errorf("%s: applies %v, want %v", op, got, want)
		}
	}
	if s.Applies(cdc.RecordOf(cdc.Change{Table: "OTHER", Op: cdc.OpInsert})) {
		t.Error("applies to another table")
	}
}

func TestRecordOf(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	rec := cdc.RecordOf(cdc.Change{Table: "MTL_MATERIAL_TRANSACTIONS", Schema: "INV", Op: cdc.OpUpdate,
		Key: []any{int64(1001)}, KeyColumns: []string{"TRANSACTION_ID"},
		Before: cdc.Image{"COSTED_FLAG": "N", "NOTE": nil},
		After:  cdc.Image{"TRANSACTION_ID": int64(1001), "COSTED_FLAG": nil, "QTY": json.Number("-12.50"), "NOTE": "", "RAW": []byte{1, 2}, "DOC": cdc.Skipped{Reason: "lob"}, "AT": at},
		Pos:    "j:5@x", TxID: "9.1.2", ChangeTime: at})
	want := legacybridge.Record{
		Format: "cdc", Type: "MTL_MATERIAL_TRANSACTIONS",
		Pos:      legacybridge.Position{File: "MTL_MATERIAL_TRANSACTIONS", Tag: "j:5@x"},
		Envelope: map[string]string{"op": "update", "table": "MTL_MATERIAL_TRANSACTIONS", "schema": "INV", "key": "[1001]", "position": "j:5@x", "txid": "9.1.2", "change_time": "2024-05-01T10:00:00Z"},
		Fields: map[string]any{"TRANSACTION_ID": int64(1001), "QTY": json.Number("-12.50"), "NOTE": "", "RAW": "0102", "AT": at,
			"_BEFORE_COSTED_FLAG": "N", "_OP": "update"},
	}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("RecordOf (-want +got):\n%s", diff)
	}
}

// A delete found by key reconciliation has no before image; its record
// still carries the key columns as fields.
func TestRecordOfReconciledDelete(t *testing.T) {
	rec := cdc.RecordOf(cdc.Change{Table: "OE_ORDER_LINES_ALL", Op: cdc.OpDelete,
		Key: []any{int64(7), "A"}, KeyColumns: []string{"HEADER_ID", "LINE_CODE"}, Pos: "d:p:x"})
	want := map[string]any{"HEADER_ID": int64(7), "LINE_CODE": "A", "_OP": "delete"}
	if diff := cmp.Diff(want, rec.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
