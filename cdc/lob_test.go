package cdc_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/internal/cdctest"
)

// docMapper maps DOCS records to events holding the fields as the
// mapping sees them (a referenced LOB: its URI).
type docMapper struct{}

func (docMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	d, _ := json.Marshal(map[string]any{"id": r.Fields["ID"], "name": r.Fields["NAME"], "body": r.Fields["BODY"], "data": r.Fields["DATA"], "op": r.Envelope["op"]})
	return []legacybridge.Event{{Type: "test.doc.v1", Subject: r.Envelope["key"], Data: d}}, nil
}

type docEvent struct {
	ID              int64
	Name, Op        string
	Body, Data      *string
	dataref, cdcpos string
	size            int
}

func docEvents(t *testing.T, em *memEmitter) []docEvent {
	t.Helper()
	var out []docEvent
	for _, m := range em.topic("docs") {
		var e docEvent
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("event %s: %v", m.Value, err)
		}
		e.dataref, e.cdcpos, e.size = header(m, "ce_dataref"), header(m, "ce_cdcposition"), len(m.Value)
		out = append(out, e)
	}
	return out
}

// lobEnv is the DOCS table of a dialect: BODY a CLOB (PostgreSQL text,
// listed in lob_columns), DATA a BLOB (bytea).
func lobEnv(e cdctest.Env) (create string, lobColumns []string) {
	if e.Dialect.Name() == "postgres" {
		return "CREATE TABLE DOCS (ID bigint PRIMARY KEY, NAME text, BODY text, DATA bytea, LAST_UPDATE_DATE timestamp(6) NOT NULL)", []string{"BODY", "DATA"}
	}
	return "CREATE TABLE DOCS (ID INTEGER PRIMARY KEY, NAME TEXT, BODY CLOB, DATA BLOB, LAST_UPDATE_DATE DATE NOT NULL)", nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// stored reads back the object a reference names.
func stored(t *testing.T, store *cdc.LOBStore, ref *string) []byte {
	t.Helper()
	if ref == nil {
		t.Fatal("no reference")
	}
	u, err := url.Parse(*ref)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("reference %q: want a file: URL (%v)", *ref, err)
	}
	b, err := os.ReadFile(u.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Path, store.Dir()) || !strings.HasSuffix(u.Path, sum(b)) {
		t.Errorf("%s: not the content address %s in %s", u.Path, sum(b), store.Dir())
	}
	return b
}

func TestLOBReferenceSQLite(t *testing.T)   { testLOBReference(t, cdctest.SQLite()) }
func TestLOBReferencePostgres(t *testing.T) { testLOBReference(t, cdctest.Postgres()) }

// testLOBReference: a multi-MB BLOB and a CLOB of multi-byte text are
// streamed in pieces into the store, never whole: events carry their URIs
// (and the CloudEvents dataref where the change has one LOB), the stored
// files are the database's bytes, NULL stays NULL and an empty BLOB is an
// empty object; the largest piece the bridge held is one piece. Polling
// reads the LOBs in the read the row came from; the journal (whose
// triggers leave LOBs out, as `cdc install` generates them) reads them
// by key when it delivers the change, and says "gone" for a row deleted
// by then.
func testLOBReference(t *testing.T, e cdctest.Env) {
	for _, strategy := range []cdc.Strategy{cdc.StrategyPoll, cdc.StrategyJournal} {
		t.Run(string(strategy), func(t *testing.T) {
			db := e.Open(t)
			create, lobCols := lobEnv(e)
			e.Exec(t, db, create)
			tbl := cdc.Table{Name: "DOCS", Key: []string{"ID"}, Strategy: strategy, LOBs: cdc.LOBReference, LOBColumns: lobCols}
			if strategy == cdc.StrategyPoll {
				tbl.ChangeColumn = "LAST_UPDATE_DATE"
			} else {
				n := cdc.Name{Object: "DOCS"}
				cols, err := cdc.Columns(context.Background(), db, e.Dialect, n)
				if err != nil {
					t.Fatal(err)
				}
				ddl, err := cdc.Install(e.Dialect, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{{Name: n, Key: []string{"ID"}, Columns: cols, Omit: []string{"BODY", "DATA"}}})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range ddl {
					if _, err := db.Exec(s); err != nil {
						t.Fatalf("%v\n%s", err, s)
					}
				}
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			blob := make([]byte, 6<<20+12345)
			for i := range blob {
				blob[i] = byte(rnd.Uint32())
			}
			var text strings.Builder
			for text.Len() < 3<<20 {
				fmt.Fprintf(&text, "Zeile %d: Grüße, € %d; ", text.Len(), rnd.IntN(1000))
			}
			clob := text.String()
			ins := "INSERT INTO DOCS (ID, NAME, BODY, DATA, LAST_UPDATE_DATE) VALUES (?, ?, ?, ?, " + e.Now + ")"
			e.Exec(t, db, ins, 1, "drawing", clob, blob)
			e.Exec(t, db, ins, 2, "empty", nil, []byte{})
			cdctest.Wait()
			if strategy == cdc.StrategyJournal {
				// The triggers left the LOBs out of the journal.
				var longest int64
				q := "SELECT MAX(LENGTH(CAST(" + e.Dialect.Quote("LB_AFTER") + " AS TEXT))) FROM " + e.Dialect.Quote("LB_JOURNAL")
				if err := db.QueryRow(q).Scan(&longest); err != nil {
					t.Fatal(err)
				}
				if longest > 1000 {
					t.Errorf("a journal image of %d characters: the trigger copied a LOB", longest)
				}
			}

			store, dir := cdctest.NewStore(t)
			lobs, err := cdc.NewLOBStore(dir+"/lobs", "")
			if err != nil {
				t.Fatal(err)
			}
			src := e.SourceWith(t, cdc.Config{DB: db, Store: store, BatchSize: 10, Tables: []cdc.Table{tbl}, LOBStore: lobs})
			em := &memEmitter{}
			r := &cdc.Runner{Flow: "test", Topic: "docs", Source: src, Emitter: em, Mappers: []legacybridge.Mapper{docMapper{}},
				Heartbeat: -1, RetryBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			waitFor(t, "the snapshot of both rows", func() bool { return len(em.topic("docs")) >= 2 })
			evs := docEvents(t, em)
			byID := map[int64]docEvent{}
			for _, ev := range evs {
				byID[ev.ID] = ev
				if ev.size > 2048 {
					t.Errorf("event of %d is %d bytes: the LOB went into it", ev.ID, ev.size)
				}
			}
			one, two := byID[1], byID[2]
			if got := stored(t, lobs, one.Data); sum(got) != sum(blob) {
				t.Errorf("stored BLOB: %d bytes, sha256 %s; want %d bytes, %s", len(got), sum(got), len(blob), sum(blob))
			}
			if got := stored(t, lobs, one.Body); string(got) != clob {
				t.Errorf("stored CLOB: %d bytes, want the %d bytes of the text", len(got), len(clob))
			}
			if two.Body != nil {
				t.Errorf("NULL CLOB came as %q", *two.Body)
			}
			if got := stored(t, lobs, two.Data); len(got) != 0 {
				t.Errorf("empty BLOB stored as %d bytes", len(got))
			}
			if one.dataref != "" {
				t.Errorf("dataref %q on a change with two references (it names one location)", one.dataref)
			}
			st := lobs.Stats()
			if st.LargestPiece > 1<<20 || st.Bytes < int64(len(blob)+len(clob)) {
				t.Errorf("store stats %+v: want pieces of at most 1 MiB, at least %d bytes in all", st, len(blob)+len(clob))
			}
			t.Logf("%d objects, %d bytes, largest piece %d bytes", st.Objects, st.Bytes, st.LargestPiece)

			// An update of another column: the same objects (stored once).
			e.Exec(t, db, "UPDATE DOCS SET NAME = ?, LAST_UPDATE_DATE = "+e.Now+" WHERE ID = ?", "drawing rev B", 1)
			waitFor(t, "the update", func() bool { return len(em.topic("docs")) >= 3 })
			up := docEvents(t, em)[2]
			if up.Name != "drawing rev B" || up.Data == nil || *up.Data != *one.Data || *up.Body != *one.Body {
				t.Errorf("update: %+v, want the new name and the same references as %+v", up, one)
			}
			if strategy == cdc.StrategyJournal {
				// Inserted and deleted in one transaction: delivered
				// together; the insert's LOBs can no longer be read.
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				e.Exec(t, tx, ins, 3, "scrap", "short", []byte{1})
				e.Exec(t, tx, "DELETE FROM DOCS WHERE ID = ?", 3)
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the insert and delete of 3", func() bool { return len(em.topic("docs")) >= 5 })
				evs := docEvents(t, em)
				if ins, del := evs[3], evs[4]; ins.Op != "insert" || ins.Data != nil || ins.Body != nil || del.Op != "delete" {
					t.Errorf("insert and delete of a row gone: %+v %+v, want no references", ins, del)
				}
			}
		})
	}
}

// TestLOBReferenceDataref: a change with one referenced LOB carries it as
// the event's dataref; the journal of an older install, whose trigger
// copied the LOB into the image, is stored from the image (same address).
func TestLOBReferenceDataref(t *testing.T) {
	e := cdctest.SQLite()
	db := e.Open(t)
	e.Exec(t, db, "CREATE TABLE DOCS (ID INTEGER PRIMARY KEY, NAME TEXT, DATA BLOB, LAST_UPDATE_DATE DATE NOT NULL)")
	n := cdc.Name{Object: "DOCS"}
	cols, err := cdc.Columns(context.Background(), db, e.Dialect, n)
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := cdc.Install(e.Dialect, cdc.Name{Object: "LB_JOURNAL"}, []cdc.TableDef{{Name: n, Key: []string{"ID"}, Columns: cols}}) // no Omit
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ddl {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	store, dir := cdctest.NewStore(t)
	lobs, err := cdc.NewLOBStore(dir+"/lobs", "https://files.example/erp/")
	if err != nil {
		t.Fatal(err)
	}
	src := e.SourceWith(t, cdc.Config{DB: db, Store: store, Tables: []cdc.Table{{Name: "DOCS", Key: []string{"ID"}, Strategy: cdc.StrategyJournal, LOBs: cdc.LOBReference}}, LOBStore: lobs})
	em := &memEmitter{}
	r := &cdc.Runner{Flow: "test", Topic: "docs", Source: src, Emitter: em, Mappers: []legacybridge.Mapper{docMapper{}},
		Heartbeat: -1, RetryBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, "the (empty) snapshot", func() bool { st := src.Status(); return len(st) == 1 && st[0].Phase == "stream" })
	data := []byte(strings.Repeat("scan of a packing slip ", 100000))
	e.Exec(t, db, "INSERT INTO DOCS (ID, NAME, DATA, LAST_UPDATE_DATE) VALUES (?, ?, ?, "+e.Now+")", 7, "slip", data)
	waitFor(t, "the insert", func() bool { return len(em.topic("docs")) >= 1 })
	ev := docEvents(t, em)[0]
	want := "https://files.example/erp/sha256/" + sum(data)[:2] + "/" + sum(data)
	if ev.Data == nil || *ev.Data != want || ev.dataref != want {
		t.Errorf("field %v, dataref %q; want both %s", ev.Data, ev.dataref, want)
	}
	if b, err := os.ReadFile(lobs.Path(sum(data))); err != nil || sum(b) != sum(data) {
		t.Errorf("stored object: %v", err)
	}
}

// BenchmarkLOBReference measures a referenced 8 MiB BLOB read in pieces
// into the store (one polled change, read and acknowledged), against a
// plain SELECT of the whole value in the same run (x-raw = streamed time
// / whole-read time). PostgreSQL when PG_DSN is set.
func BenchmarkLOBReference(b *testing.B) {
	for _, e := range benchEnvs() {
		b.Run(e.Dialect.Name(), func(b *testing.B) {
			db := e.Open(b)
			create, lobCols := lobEnv(e)
			e.Exec(b, db, create)
			blob := make([]byte, 8<<20)
			rnd := rand.New(rand.NewPCG(3, 4))
			for i := range blob {
				blob[i] = byte(rnd.Uint32())
			}
			store, dir := cdctest.NewStore(b)
			lobs, err := cdc.NewLOBStore(dir+"/lobs", "")
			if err != nil {
				b.Fatal(err)
			}
			src := e.SourceWith(b, cdc.Config{DB: db, Store: store, LOBStore: lobs,
				Tables: []cdc.Table{{Name: "DOCS", Key: []string{"ID"}, ChangeColumn: "LAST_UPDATE_DATE", LOBs: cdc.LOBReference, LOBColumns: lobCols, Reconcile: -1}}})
			cdctest.Start(b, src)
			var stream, whole time.Duration
			for i := range b.N {
				b.StopTimer()
				blob[0] = byte(i) // a new object each time
				e.Exec(b, db, "INSERT INTO DOCS (ID, NAME, DATA, LAST_UPDATE_DATE) VALUES (?, 'x', ?, "+e.Now+")", i+1, blob)
				cdctest.Wait()
				t0 := time.Now()
				var got []byte
				if err := db.QueryRow(e.Q("SELECT DATA FROM DOCS WHERE ID = ?"), i+1).Scan(&got); err != nil || len(got) != len(blob) {
					b.Fatalf("whole read: %d bytes, %v", len(got), err)
				}
				whole += time.Since(t0)
				b.StartTimer()
				t1 := time.Now()
				cs := cdctest.ReadUntil(b, src, cdctest.Count(1))
				stream += time.Since(t1)
				if ref, ok := cs[0].After["DATA"].(cdc.LOBRef); !ok || ref.Size != int64(len(blob)) {
					b.Fatalf("DATA = %#v", cs[0].After["DATA"])
				}
			}
			b.ReportMetric(float64(len(blob))*float64(b.N)/stream.Seconds()/(1<<20), "MiB/s")
			b.ReportMetric(float64(len(blob))*float64(b.N)/whole.Seconds()/(1<<20), "whole-MiB/s")
			b.ReportMetric(stream.Seconds()/whole.Seconds(), "x-raw")
			b.ReportMetric(float64(lobs.Stats().LargestPiece), "largest-piece-B")
		})
	}
}
