package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/cdc/sqlite"
)

func env() cdctest.Env { return cdctest.SQLite() }

func TestConformance(t *testing.T) { cdctest.Run(t, env()) }

func TestLOBsAndWideTables(t *testing.T) {
	e := env()
	db := e.Open(t)
	ctx := context.Background()
	// 70 columns: more than one json_object call can take in a trigger.
	cols := []string{"ID INTEGER PRIMARY KEY", "DOC CLOB", "PIC BLOB", "LAST_UPDATE_DATE DATE NOT NULL"}
	for i := range 66 {
		cols = append(cols, fmt.Sprintf("C%02d TEXT", i))
	}
	e.Exec(t, db, "CREATE TABLE WIDE ("+strings.Join(cols, ", ")+")")
	n := cdc.Name{Object: "WIDE"}
	all, err := cdc.Columns(ctx, db, sqlite.Dialect{}, n)
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := cdc.Install(sqlite.Dialect{}, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{{Name: n, Key: []string{"ID"}, Columns: all}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ddl {
		e.Exec(t, db, s)
	}
	store, _ := cdctest.NewStore(t)
	journal := e.Source(t, db, store, 10, cdc.Table{Name: "wide", Key: []string{"id"}, Strategy: cdc.StrategyJournal, LOBs: cdc.LOBInclude, MaxLOBBytes: 8})
	poll := e.SourceWith(t, cdc.Config{Flow: "poll", DB: db, Store: store, Tables: []cdc.Table{{Name: "wide", Key: []string{"id"}, ChangeColumn: "last_update_date", Snapshot: cdc.SnapshotNone}}})
	for _, s := range []*cdc.Source{journal, poll} {
		cdctest.Start(t, s) // empty snapshot / floor
	}
	e.Exec(t, db, "INSERT INTO WIDE (ID, DOC, PIC, LAST_UPDATE_DATE, C00, C65) VALUES (1, 'short', x'00ff', "+e.Now+", '', NULL)")
	e.Exec(t, db, "INSERT INTO WIDE (ID, DOC, PIC, LAST_UPDATE_DATE, C00, C65) VALUES (2, 'longer than eight', NULL, "+e.Now+", 'x', 'last')")
	cdctest.Wait()

	got := cdctest.ReadUntil(t, journal, cdctest.Count(2))
	want := []cdc.Image{
		{"DOC": "short", "PIC": []byte{0, 0xff}, "C00": "", "C65": nil},
		{"DOC": cdc.Skipped{Reason: "too-large", Size: 17}, "PIC": nil, "C00": "x", "C65": "last"},
	}
	for i, c := range got {
		sub := cdc.Image{}
		for k := range want[i] {
			sub[k] = c.After[k]
		}
		if diff := cmp.Diff(want[i], sub); diff != "" {
			t.Errorf("journal row %d (-want +got):\n%s", i, diff)
		}
		if len(c.After) != 70 {
			t.Errorf("journal row %d has %d columns, want 70", i, len(c.After))
		}
	}
	got = cdctest.ReadUntil(t, poll, cdctest.Count(2))
	want = []cdc.Image{
		{"DOC": cdc.Skipped{Reason: "lob"}, "PIC": cdc.Skipped{Reason: "lob"}, "C00": "", "C65": nil},
		{"DOC": cdc.Skipped{Reason: "lob"}, "PIC": cdc.Skipped{Reason: "lob"}, "C00": "x", "C65": "last"},
	}
	for i, c := range got {
		sub := cdc.Image{}
		for k := range want[i] {
			sub[k] = c.After[k]
		}
		if diff := cmp.Diff(want[i], sub); diff != "" {
			t.Errorf("polled row %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	e := env()
	db := e.Open(t)
	e.CreateItems(t, db)
	store, _ := cdctest.NewStore(t)
	for _, tc := range []struct {
		table cdc.Table
		want  string
	}{
		{cdc.Table{Name: "ITEMS", Key: []string{"ID"}, ChangeColumn: "NOPE"}, "no change column NOPE"},
		{cdc.Table{Name: "ITEMS", Key: []string{"NOPE"}, ChangeColumn: "LAST_UPDATE_DATE"}, "no key column NOPE"},
		{cdc.Table{Name: "ITEMS", Key: []string{"ID"}, ChangeColumn: "NAME"}, "not a date/time"},
		{cdc.Table{Name: "NOSUCH", Key: []string{"ID"}, ChangeColumn: "X"}, "no such table"},
		{cdc.Table{Name: "ITEMS", Key: []string{"ID"}, Strategy: cdc.StrategyJournal}, "cdc install"},
	} {
		src := e.Source(t, db, store, 10, tc.table)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := src.Read(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.table, err, tc.want)
		}
	}
	for _, tc := range []struct {
		table cdc.Table
		want  string
	}{
		{cdc.Table{Name: "ITEMS; DROP TABLE ITEMS", Key: []string{"ID"}, ChangeColumn: "X"}, "not a plain SQL identifier"},
		{cdc.Table{Name: "ITEMS", Key: []string{`ID"`}, ChangeColumn: "X"}, "not a plain SQL identifier"},
		{cdc.Table{Name: "ITEMS", ChangeColumn: "X"}, "no key columns"},
		{cdc.Table{Name: "ITEMS", Key: []string{"ID"}}, "polling needs change_column"},
		{cdc.Table{Name: "ITEMS", Key: []string{"ID"}, Strategy: "triggers"}, "unknown strategy"},
	} {
		_, err := cdc.NewSource(cdc.Config{Flow: "f", DB: db, Dialect: sqlite.Dialect{}, Store: store, Tables: []cdc.Table{tc.table}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.table, err, tc.want)
		}
	}
}

func TestBusyIsTransient(t *testing.T) {
	e := env()
	db := e.Open(t)
	e.CreateItems(t, db)
	// Hold the write lock on another connection past the busy timeout.
	other, err := sql.Open(sqlite.DriverName, "file:"+filepath.Join(t.TempDir(), "unused.db"))
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = sqlite.Dialect{}.Horizon(ctx, db)
	if err == nil {
		t.Fatal("horizon read while another connection holds the write lock")
	}
	if c := (sqlite.Dialect{}).Classify(err); !c.Transient {
		t.Errorf("Classify(%v) = %+v, want transient", err, c)
	}
}
