package erpsim_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/erpsim"
	"legacybridge/cdc/internal/cdctest"
	"legacybridge/mappings"
)

const fixture = "../../legacy-fixtures/erp"

func setup(t *testing.T, e cdctest.Env, late bool) (*sql.DB, *erpsim.Simulator) {
	t.Helper()
	db := e.Open(t)
	sim := &erpsim.Simulator{DB: db, Dialect: e.Dialect, Seed: 7, LateCommits: late, HoldFor: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	if err := sim.Setup(context.Background(), fixture); err != nil {
		t.Fatal(err)
	}
	if err := sim.Setup(context.Background(), fixture); err != nil { // again: nothing to do
		t.Fatalf("second Setup: %v", err)
	}
	return db, sim
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkBooks: the ledger and the on-hand layers agree, and the shapes
// CDC must cope with are there.
func checkBooks(t *testing.T, db *sql.DB, sim *erpsim.Simulator, steps int) {
	t.Helper()
	stats := sim.Stats()
	total := 0
	for _, n := range stats {
		total += n
	}
	if total != steps {
		t.Errorf("%d business transactions counted for %d steps: %v", total, steps, stats)
	}
	for _, kind := range []string{"po-receipt", "wip-issue", "subinventory-transfer", "wip-completion", "cost-manager", "order-entry", "interface"} {
		if stats[kind] == 0 {
			t.Errorf("no %s in %d steps: %v", kind, steps, stats)
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM MTL_ONHAND_QUANTITIES_DETAIL WHERE CAST(PRIMARY_TRANSACTION_QUANTITY AS NUMERIC) <= 0"); n != 0 {
		t.Errorf("%d on-hand layers at or below zero", n)
	}
	// Transfers are pairs pointing at each other.
	if n := count(t, db, "SELECT COUNT(*) FROM MTL_MATERIAL_TRANSACTIONS a LEFT JOIN MTL_MATERIAL_TRANSACTIONS b ON b.TRANSACTION_ID = a.TRANSFER_TRANSACTION_ID AND b.TRANSFER_TRANSACTION_ID = a.TRANSACTION_ID WHERE a.TRANSACTION_TYPE_ID = 2 AND b.TRANSACTION_ID IS NULL"); n != 0 {
		t.Errorf("%d transfer rows without their other half", n)
	}
	// Every receipt delivered through RCV has its RECEIVE parent.
	if n := count(t, db, "SELECT COUNT(*) FROM RCV_TRANSACTIONS d LEFT JOIN RCV_TRANSACTIONS r ON r.TRANSACTION_ID = d.PARENT_TRANSACTION_ID AND r.TRANSACTION_TYPE = 'RECEIVE' WHERE d.TRANSACTION_TYPE = 'DELIVER' AND r.TRANSACTION_ID IS NULL"); n != 0 {
		t.Errorf("%d DELIVER rows without their RECEIVE parent", n)
	}
}

func TestSimulatorSQLite(t *testing.T) {
	db, sim := setup(t, cdctest.SQLite(), false)
	const steps = 300
	for range steps {
		if _, err := sim.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	checkBooks(t, db, sim, steps)
}

func TestSimulatorPostgresLateCommits(t *testing.T) {
	db, sim := setup(t, cdctest.Postgres(), true)
	const steps = 120
	for range steps {
		if _, err := sim.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sim.Wait()
	checkBooks(t, db, sim, steps)
	if n := sim.Stats()["po-receipt (late commit)"]; n != steps/10 {
		t.Errorf("%d late receipts, want %d", n, steps/10)
	}
}

func TestSQLiteRefusesLateCommits(t *testing.T) {
	sim := &erpsim.Simulator{DB: cdctest.SQLite().Open(t), Dialect: cdctest.SQLite().Dialect, LateCommits: true}
	if _, err := sim.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "one writer") {
		t.Errorf("Step with late commits on SQLite: %v", err)
	}
}

// movementMapping loads the fixture mapping. The mapping engine names
// the record formats it knows; until "cdc" is one of them (a one-line
// change in mappings), the same file is compiled as a field-based
// (fixed-width) mapping and records are presented to it under that
// format: the expressions, lookups and schema are the file's own.
func movementMapping(t *testing.T) legacybridge.Mapper {
	t.Helper()
	path := filepath.Join(fixture, "mappings", "mtl-material-transactions.yaml")
	m, err := mappings.Load(path)
	if err == nil {
		return m
	}
	if !strings.Contains(err.Error(), `unknown format "cdc"`) {
		t.Fatal(err)
	}
	t.Logf("mappings does not accept format cdc yet; mapping %s as field-based records", path)
	src, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	reg, rerr := mappings.Canonical()
	if rerr != nil {
		t.Fatal(rerr)
	}
	fw, perr := mappings.Parse(path, []byte(strings.Replace(string(src), "format: cdc", "format: fixedwidth", 1)), reg)
	if perr != nil {
		t.Fatal(perr)
	}
	if ps := fw.Validate(); len(ps) > 0 {
		t.Fatalf("mapping problems: %v", ps)
	}
	return asFormat{fw, "fixedwidth"}
}

type asFormat struct {
	m      *mappings.Mapping
	format string
}

func (a asFormat) Applies(r legacybridge.Record) bool {
	if r.Format != cdc.RecordFormat {
		return false
	}
	r.Format = a.format
	return a.m.Applies(r)
}

func (a asFormat) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	r.Format = a.format
	return a.m.Map(r)
}

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

func (m *memEmitter) events() []legacybridge.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]legacybridge.Message(nil), m.msgs...)
}

func header(m legacybridge.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// TestMovementsFromCDC is the demo end to end: the simulator writes, the
// CDC source captures (material transactions polled, on-hand layers and
// the interface through the journal), the fixture mapping turns every
// material transaction into one inventory.movement.v1 event, schema
// checked, whatever its later costing updates.
func TestMovementsFromCDC(t *testing.T) {
	for _, e := range []cdctest.Env{cdctest.SQLite(), cdctest.Postgres()} {
		t.Run(e.Dialect.Name(), func(t *testing.T) {
			db, sim := setup(t, e, e.Concurrent)
			ctx := context.Background()
			var defs []cdc.TableDef
			for _, name := range []string{"MTL_ONHAND_QUANTITIES_DETAIL", "MTL_TRANSACTIONS_INTERFACE"} {
				n := cdc.Name{Object: name}
				cols, err := cdc.Columns(ctx, db, e.Dialect, n)
				if err != nil {
					t.Fatal(err)
				}
				defs = append(defs, cdc.TableDef{Name: n, Key: keyOf(name), Columns: cols})
			}
			ddl, err := cdc.Install(e.Dialect, cdc.Name{Object: "LB_JOURNAL"}, defs)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ddl {
				if _, err := db.Exec(s); err != nil {
					t.Fatalf("%v\n%s", err, s)
				}
			}
			store, _ := cdctest.NewStore(t)
			src, err := cdc.NewSource(cdc.Config{Flow: "erp-inventory", DB: db, Dialect: e.Dialect, Store: store, SafetyLag: 1100 * time.Millisecond,
				PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Tables: []cdc.Table{
					// The key store (on by default) tells a row's first delivery
					// from later ones: a receipt costed before a poll saw it
					// is still one insert.
					{Name: "MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}, ChangeColumn: "LAST_UPDATE_DATE", CreatedColumn: "CREATION_DATE"},
					{Name: "MTL_ONHAND_QUANTITIES_DETAIL", Key: []string{"ONHAND_QUANTITIES_ID"}, Strategy: cdc.StrategyJournal},
					{Name: "WIP_DISCRETE_JOBS", Key: []string{"WIP_ENTITY_ID"}, ChangeColumn: "LAST_UPDATE_DATE", CreatedColumn: "CREATION_DATE"},
					{Name: "MTL_TRANSACTIONS_INTERFACE", Key: []string{"TRANSACTION_INTERFACE_ID"}, Strategy: cdc.StrategyJournal},
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			em := &memEmitter{}
			r := &cdc.Runner{Flow: "erp-inventory", Topic: "erp.inventory.movements", Source: src, Emitter: em, Heartbeat: -1,
				Mappers: []legacybridge.Mapper{cdc.OnlyOps(movementMapping(t), cdc.OpInsert, cdc.OpSnapshot)}, Logger: slog.New(slog.DiscardHandler)}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error)
			go func() { done <- r.Run(runCtx) }()
			for range 80 {
				if _, err := sim.Step(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			sim.Wait()
			want := count(t, db, "SELECT COUNT(*) FROM MTL_MATERIAL_TRANSACTIONS")
			deadline := time.Now().Add(30 * time.Second)
			for len(em.events()) < want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(1500 * time.Millisecond) // anything extra would show now
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := em.events()
			ids := map[string]bool{}
			txns := map[string]bool{}
			for _, m := range got {
				if ct := header(m, "ce_type"); ct != "com.legacybridge.inventory.movement.v1" {
					t.Fatalf("event type %s", ct)
				}
				if ids[header(m, "ce_id")] {
					t.Errorf("ce_id %s twice", header(m, "ce_id"))
				}
				ids[header(m, "ce_id")] = true
				var d struct {
					TransactionID string          `json:"transactionId"`
					MovementType  string          `json:"movementType"`
					Quantity      json.Number     `json:"quantity"`
					Plant         string          `json:"plant"`
					Source        json.RawMessage `json:"source"`
				}
				if err := json.Unmarshal(m.Value, &d); err != nil {
					t.Fatal(err)
				}
				if txns[d.TransactionID] {
					t.Errorf("material transaction %s became two movements", d.TransactionID)
				}
				txns[d.TransactionID] = true
				if d.Plant != "M1" || d.MovementType == "" {
					t.Errorf("movement %s: %s", d.TransactionID, m.Value)
				}
			}
			if len(txns) != want {
				t.Errorf("%d movements for %d material transactions (stats %v, runner %+v)", len(txns), want, sim.Stats(), r.Stats())
			}
			if st := r.Stats(); st.Skipped == 0 {
				t.Errorf("no change was skipped: the on-hand, job and interface changes (and costing updates) have no movement mapping: %+v", st)
			}
		})
	}
}

func keyOf(table string) []string {
	for _, t := range erpsim.Tables {
		if t.Name == table {
			return t.Key
		}
	}
	panic(errors.New("no table " + table))
}

// A late transaction still held when the run's context ends commits
// after its hold time instead of being rolled back with the context.
func TestLateCommitOutlivesRun(t *testing.T) {
	db, sim := setup(t, cdctest.Postgres(), true)
	var logs bytes.Buffer
	sim.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	for range 10 { // the 10th step is a late receipt
		if _, err := sim.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := count(t, db, "SELECT COUNT(*) FROM RCV_TRANSACTIONS")
	cancel() // the run's duration ends while the receipt is held
	sim.Wait()
	if n := sim.Stats()["po-receipt (late commit)"]; n != 1 {
		t.Errorf("%d late receipts committed, want 1 (log:\n%s)", n, logs.String())
	}
	if after := count(t, db, "SELECT COUNT(*) FROM RCV_TRANSACTIONS"); after <= before {
		t.Errorf("RCV_TRANSACTIONS: %d rows after the late commit, %d before: the held receipt was not committed", after, before)
	}
	if strings.Contains(logs.String(), "did not commit") {
		t.Errorf("late transaction logged as failed:\n%s", logs.String())
	}
}
