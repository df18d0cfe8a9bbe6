package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"legacybridge/cdc/sqlite"
	"legacybridge/internal/kafkabroker"
	"legacybridge/mappings"
)

// topicMessages reads every record of topic (all partitions).
func topicMessages(t *testing.T, brokers, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", brokers)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		pc, err := kafkago.DialLeader(ctx, "tcp", brokers, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := pc.ReadLastOffset()
		pc.Close()
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{brokers}, Topic: topic, Partition: p.ID, MaxWait: 250 * time.Millisecond})
		for off := int64(0); off < last; off++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("%s partition %d offset %d: %v", topic, p.ID, off, err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func writeCaptureConfig(t *testing.T, dir, brokers, db string, extra string) string {
	t.Helper()
	root := repoRoot(t)
	cfg := fmt.Sprintf(`
kafka: {brokers: [%q]}
state_dir: %q
captures:
  - name: erp-inventory
    dialect: sqlite
    dsn: %q
    safety_lag: 1100ms
    poll_interval: 100ms
    tables:
      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], change_column: LAST_UPDATE_DATE, created_column: CREATION_DATE}
      - {name: MTL_ONHAND_QUANTITIES_DETAIL, key: [ONHAND_QUANTITIES_ID], strategy: journal}
    mappings:
      - {file: %q, ops: [insert, snapshot]}
    topic: erp.inventory.movements
    dead_letter_topic: erp.inventory.dlq
%s`, brokers, filepath.Join(dir, "state"), db, filepath.Join(root, "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml"), extra)
	p := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCDCRunOnceSQLite seeds a SQLite ERP with the simulator, installs the
// journal, runs 'run --once' with a capture into an in-process broker, and
// checks one schema-valid inventory movement per material transaction;
// a rerun publishes nothing; more simulated business is delivered by the
// next run, again one event per new material transaction.
func TestCDCRunOnceSQLite(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	dbPath := filepath.Join(dir, "erp.db")
	fixture := filepath.Join(root, "legacy-fixtures/erp")
	simulate := func(seed string, steps int) {
		t.Helper()
		code, out, errOut := run(t, "erp", "simulate", "--dialect", "sqlite", "--dsn", dbPath, "--fixture", fixture, "--steps", fmt.Sprint(steps), "--seed", seed)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("total                  %d", steps)) {
			t.Fatalf("erp simulate: exit %d\n%s\n%s", code, out, errOut)
		}
	}
	simulate("1", 40)

	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := writeCaptureConfig(t, dir, b.Addr(), dbPath, "")
	if code, out, errOut := run(t, "cdc", "install", "--config", cfg, "--flow", "erp-inventory", "--apply"); code != 0 {
		t.Fatalf("cdc install --apply: exit %d\n%s\n%s", code, out, errOut)
	}

	reg, err := mappings.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	movement, ok := reg.Lookup("com.legacybridge.inventory.movement.v1")
	if !ok {
		t.Fatal("inventory.movement.v1 not in the registry")
	}
	check := func(round string) []string {
		t.Helper()
		code, out, errOut := run(t, "run", "--config", cfg, "--once")
		if code != 0 {
			t.Fatalf("%s: run --once exit %d\n%s\n%s", round, code, out, errOut)
		}
		want := transactionIDs(t, dbPath)
		msgs := topicMessages(t, b.Addr(), "erp.inventory.movements")
		var got []string
		ids := map[string]bool{}
		for _, m := range msgs {
			if typ := header(m, "ce_type"); typ != "com.legacybridge.inventory.movement.v1" {
				t.Errorf("%s: event type %q", round, typ)
				continue
			}
			if err := movement.ValidateJSON(m.Value); err != nil {
				t.Errorf("%s: event %s does not match its schema: %v\n%s", round, header(m, "ce_id"), err, m.Value)
			}
			var data struct {
				TransactionID string `json:"transactionId"`
			}
			if err := json.Unmarshal(m.Value, &data); err != nil {
				t.Fatal(err)
			}
			got = append(got, data.TransactionID)
			id := header(m, "ce_id")
			if ids[id] {
				t.Errorf("%s: ce_id %s published twice", round, id)
			}
			ids[id] = true
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: one movement per material transaction (-want +got):\n%s", round, diff)
		}
		return got
	}
	first := check("first run")
	if len(first) <= 6 { // the seed's rows
		t.Errorf("only %d material transactions after the seed and 40 business transactions", len(first))
	}
	// Nothing changed: nothing new is published.
	if again := check("rerun"); len(again) != len(first) {
		t.Errorf("rerun published %d more events", len(again)-len(first))
	}
	// More business: exactly the new material transactions are published.
	simulate("2", 15)
	if more := check("after more business"); len(more) <= len(first) {
		t.Errorf("no new movements after 15 more business transactions (%d before, %d now)", len(first), len(more))
	}
	if n := len(topicMessages(t, b.Addr(), "erp.inventory.movements")); n == 0 {
		t.Error("no events")
	}
}

// transactionIDs lists the material transactions in the database.
func transactionIDs(t *testing.T, path string) []string {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT CAST(TRANSACTION_ID AS TEXT) FROM MTL_MATERIAL_TRANSACTIONS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s)
	}
	sort.Strings(ids)
	return ids
}

// TestCDCInstallEachDialect prints the journal DDL for each dialect:
// SQLite reads the columns from a simulator database, PostgreSQL needs
// none, Oracle takes them from an ALL_TAB_COLUMNS listing (no Oracle
// server here).
func TestCDCInstallEachDialect(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	dbPath := filepath.Join(dir, "erp.db")
	if code, out, errOut := run(t, "erp", "simulate", "--dialect", "sqlite", "--dsn", dbPath, "--fixture", filepath.Join(root, "legacy-fixtures/erp"), "--setup-only"); code != 0 {
		t.Fatalf("erp simulate --setup-only: exit %d\n%s\n%s", code, out, errOut)
	}
	mapping := filepath.Join(root, "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml")
	write := func(name, dialect, dsn string) string {
		p := filepath.Join(dir, name)
		cfg := fmt.Sprintf(`
state_dir: %q
captures:
  - name: erp
    dialect: %s
    dsn: %q
    journal: LB_JOURNAL
    tables:
      - {name: MTL_TRANSACTIONS_INTERFACE, key: [TRANSACTION_INTERFACE_ID], strategy: journal}
      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], change_column: LAST_UPDATE_DATE}
    mappings: [{file: %q}]
    topic: erp.events
`, filepath.Join(dir, "state"), dialect, dsn, mapping)
		if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cols := filepath.Join(dir, "columns.txt")
	os.WriteFile(cols, []byte(`# SELECT table_name, column_name, data_type FROM all_tab_columns WHERE table_name = 'MTL_TRANSACTIONS_INTERFACE'
TABLE_NAME COLUMN_NAME DATA_TYPE
MTL_TRANSACTIONS_INTERFACE TRANSACTION_INTERFACE_ID NUMBER
MTL_TRANSACTIONS_INTERFACE PROCESS_FLAG NUMBER
MTL_TRANSACTIONS_INTERFACE TRANSACTION_DATE DATE
MTL_TRANSACTIONS_INTERFACE ATTACHMENT BLOB
`), 0o644)
	for _, tc := range []struct {
		dialect, dsn string
		args         []string
		want         []string
	}{
		{"sqlite", dbPath, nil, []string{`CREATE TABLE IF NOT EXISTS "LB_JOURNAL"`, `CREATE TRIGGER IF NOT EXISTS "LB_MTL_TRANSACTIONS_INTERFACE_I" AFTER INSERT ON "MTL_TRANSACTIONS_INTERFACE"`, `'PROCESS_FLAG', NEW."PROCESS_FLAG"`}},
		{"postgres", "postgres://erp@127.0.0.1:1/erp?timezone=UTC", nil, []string{`CREATE TABLE IF NOT EXISTS "lb_journal"`, `"mtl_transactions_interface"`, `TRIGGER`}},
		{"oracle", "oracle://erp@127.0.0.1:1/ERP?TIMEOUT=5", []string{"--columns", cols}, []string{`CREATE TABLE "LB_JOURNAL"`, `CREATE OR REPLACE TRIGGER`, `AFTER INSERT OR UPDATE OR DELETE ON "MTL_TRANSACTIONS_INTERFACE"`, `'PROCESS_FLAG' VALUE :NEW."PROCESS_FLAG"`, "END;\n/\n"}},
	} {
		cfg := write(tc.dialect+".yaml", tc.dialect, tc.dsn)
		code, out, errOut := run(t, append([]string{"cdc", "install", "--config", cfg, "--flow", "erp"}, tc.args...)...)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", tc.dialect, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.dialect, w, out)
			}
		}
		if strings.Contains(out, "MTL_MATERIAL_TRANSACTIONS") || strings.Contains(out, "mtl_material_transactions") {
			t.Errorf("%s: a polled table got triggers:\n%s", tc.dialect, out)
		}
		if tc.dialect == "oracle" && strings.Contains(out, `:NEW."ATTACHMENT"`) {
			t.Errorf("oracle: a BLOB column went into JSON_OBJECT:\n%s", out)
		}
	}
	// Oracle without --columns must connect: nothing listens on port 1.
	code, _, errOut := run(t, "cdc", "install", "--config", write("oracle2.yaml", "oracle", "oracle://erp@127.0.0.1:1/ERP?TIMEOUT=2"), "--flow", "erp", "--connect-timeout", "1s")
	if code == 0 || !strings.Contains(errOut, "capture erp: cdc: connect") {
		t.Errorf("oracle install with nothing listening: exit %d\n%s", code, errOut)
	}
}

func TestCDCValidationErrors(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	cfg := filepath.Join(dir, "lb.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
state_dir: %q
captures:
  - name: erp
    dialect: sqlite
    dsn: %q
    journal: "LB_JOURNAL; DROP TABLE X"
    tables:
      - {name: "MTL_MATERIAL_TRANSACTIONS--", key: ["TRANSACTION_ID"], change_column: LAST_UPDATE_DATE}
      - {name: WIP_DISCRETE_JOBS, key: ["WIP ENTITY ID"], change_column: "LAST_UPDATE_DATE)"}
    mappings: [{file: %q, ops: [insert, merge]}]
    topic: erp.events
`, filepath.Join(dir, "state"), filepath.Join(dir, "missing.db"), filepath.Join(root, "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml"))), 0o644)
	for _, cmd := range [][]string{{"validate", "--config", cfg}, {"run", "--config", cfg, "--once"}, {"cdc", "install", "--config", cfg, "--flow", "erp"}} {
		code, _, errOut := run(t, cmd...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", cmd[0], code)
		}
		for _, want := range []string{
			`journal: table "LB_JOURNAL; DROP TABLE X"`,
			`tables[0]: name: table "MTL_MATERIAL_TRANSACTIONS--": "MTL_MATERIAL_TRANSACTIONS--" is not a plain SQL identifier`,
			`table WIP_DISCRETE_JOBS: key: "WIP ENTITY ID" is not a plain SQL identifier`,
			`table WIP_DISCRETE_JOBS: change_column: "LAST_UPDATE_DATE)" is not a plain SQL identifier`,
			`ops: "merge" is not one of insert, update, delete, snapshot`,
			`missing.db`,
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: output lacks %q:\n%s", cmd[0], want, errOut)
			}
		}
	}
}

func TestCDCAndERPHelp(t *testing.T) {
	for _, c := range [][]string{{"cdc", "--help"}, {"cdc", "install", "--help"}, {"cdc", "resnapshot", "-h"}, {"erp", "--help"}, {"erp", "simulate", "--help"}} {
		code, _, errOut := run(t, c...)
		if code != 0 || !strings.Contains(errOut, "Usage: legacybridge") {
			t.Errorf("%v: exit %d, output:\n%s", c, code, errOut)
		}
	}
	if code, out, _ := run(t, "--help"); code != 0 || !strings.Contains(out, "  cdc ") || !strings.Contains(out, "  erp ") {
		t.Errorf("--help does not list cdc and erp:\n%s", out)
	}
}
