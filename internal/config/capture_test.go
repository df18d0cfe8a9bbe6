package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge/cdc"
)

func TestCaptureDefaults(t *testing.T) {
	p := writeCfg(t, `
captures:
  - name: erp
    dialect: SQLite
    dsn: work/erp.db
    seed_from: erp
    tables:
      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], strategy: polling, change_column: LAST_UPDATE_DATE}
      - {name: inv.MTL_ONHAND_QUANTITIES_DETAIL, key: [ONHAND_QUANTITIES_ID], strategy: journal, lobs: include, snapshot: none}
    mappings:
      - {file: m.yaml, ops: [insert, snapshot]}
      - {file: m.yaml}
    topic: erp.movements
`)
	dir := filepath.Dir(p)
	os.MkdirAll(filepath.Join(dir, "erp"), 0o755)
	os.WriteFile(filepath.Join(dir, "erp", "seed.sql"), nil, 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got := c.Captures[0]
	want := Capture{
		Name: "erp", Dialect: "sqlite", DSN: filepath.Join(dir, "work/erp.db"), TimeZone: "UTC",
		SeedFrom: filepath.Join(dir, "erp"), Journal: "LB_JOURNAL",
		Tables: []CaptureTable{
			{Name: "MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}, Strategy: "poll", ChangeColumn: "LAST_UPDATE_DATE", LOBs: "skip", Snapshot: "initial"},
			{Name: "inv.MTL_ONHAND_QUANTITIES_DETAIL", Key: []string{"ONHAND_QUANTITIES_ID"}, Strategy: "journal", LOBs: "inline", Snapshot: "none"},
		},
		Mappings: []CaptureMapping{
			{File: filepath.Join(dir, "m.yaml"), Ops: []string{"insert", "snapshot"}},
			{File: filepath.Join(dir, "m.yaml"), Ops: []string{"insert", "update", "delete", "snapshot"}},
		},
		Topic: "erp.movements", EventSource: "urn:legacybridge:cdc:erp",
		PollInterval: Duration(time.Second), SafetyLag: Duration(2 * time.Second), BatchSize: 500,
		ReconcileEvery: Duration(10 * time.Minute), Heartbeat: Duration(30 * time.Second), HeartbeatTopic: "erp.movements",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capture (-want +got):\n%s", diff)
	}
	tables := got.CDCTables()
	if tables[0].Strategy != cdc.StrategyPoll || tables[1].LOBs != cdc.LOBInline || tables[1].Snapshot != cdc.SnapshotNone {
		t.Errorf("CDCTables = %+v", tables)
	}
	if c.Capture("erp") == nil || c.Capture("nope") != nil {
		t.Error("Capture lookup by name")
	}
}

// TestCaptureLOBs: lobs reference with lob_columns and a lob_dir relative
// to the config; the store folder defaults to STATE_DIR/lobs.
func TestCaptureLOBs(t *testing.T) {
	p := writeCfg(t, `
captures:
  - name: docs
    dialect: postgres
    dsn: postgres://cdc@db/erp
    lob_dir: blobs
    lob_url: https://files.example/lobs/
    tables:
      - {name: FND_DOCUMENTS, key: [DOCUMENT_ID], strategy: journal, lobs: REFERENCE, lob_columns: [file_data]}
      - {name: FND_NOTES, key: [NOTE_ID], strategy: journal, lobs: inline, max_lob_bytes: 4096}
    mappings: [{file: m.yaml}]
    topic: erp.docs
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got := c.Captures[0]
	if !got.References() || got.LOBStoreDir(c.StateDir) != filepath.Join(filepath.Dir(p), "blobs") || got.LOBURL != "https://files.example/lobs/" {
		t.Errorf("references %v, store %s, url %s", got.References(), got.LOBStoreDir(c.StateDir), got.LOBURL)
	}
	tables := got.CDCTables()
	if tables[0].LOBs != cdc.LOBReference || !cmp.Equal(tables[0].LOBColumns, []string{"file_data"}) || tables[1].LOBs != cdc.LOBInline || tables[1].MaxLOBBytes != 4096 {
		t.Errorf("CDCTables = %+v", tables)
	}
	got.LOBDir = ""
	if d := got.LOBStoreDir(c.StateDir); d != filepath.Join(c.StateDir, "lobs") {
		t.Errorf("default store %s", d)
	}
}

func TestCaptureProblems(t *testing.T) {
	p := writeCfg(t, `
flows: []
captures:
  - name: erp
    dialect: mysql
    dsn: x
    dsn_env: Y
    time_zone: Mars/Olympus
    journal: "LB JOURNAL"
    tables:
      - {name: "MTL;DROP TABLE X", key: ["TRANSACTION_ID"]}
      - {name: WIP_DISCRETE_JOBS, key: ["a-b"], change_column: "LAST_UPDATE_DATE--", columns: ["x y"]}
      - {name: RCV_TRANSACTIONS, key: [TRANSACTION_ID], strategy: journal, change_column: LAST_UPDATE_DATE, lobs: reference, max_lob_bytes: 10, lob_columns: ["a b", transaction_id]}
      - {name: rcv_transactions, key: [], strategy: logminer, lobs: all, snapshot: "off"}
      - {name: a.b.c, key: [K], strategy: trigger, change_column: C}
    mappings:
      - {file: missing.yaml, ops: [upsert]}
    topic: erp.movements
    dead_letter_topic: erp.movements
    lob_url: files/lobs
  - name: erp
    dialect: sqlite
    dsn: nowhere.db
    password_env: LB_PW
    lob_dir: lobs
    tables: []
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate: no error")
	}
	for _, want := range []string{
		`capture "erp": dialect "mysql" is not one of sqlite, postgres, oracle`,
		`capture "erp": set one of dsn, dsn_env, dsn_file`,
		`time_zone "Mars/Olympus"`,
		`capture "erp": journal: table "LB JOURNAL": "LB JOURNAL" is not a plain SQL identifier`,
		`capture "erp": tables[0]: name: table "MTL;DROP TABLE X"`,
		`tables[0]: strategy poll needs change_column`,
		`table WIP_DISCRETE_JOBS: key: "a-b" is not a plain SQL identifier`,
		`table WIP_DISCRETE_JOBS: columns: "x y" is not a plain SQL identifier`,
		`table WIP_DISCRETE_JOBS: change_column: "LAST_UPDATE_DATE--" is not a plain SQL identifier`,
		`table RCV_TRANSACTIONS: change_column and created_column are for strategy poll only`,
		`table rcv_transactions: listed twice`,
		`table rcv_transactions: key: at least one key column is required`,
		`table rcv_transactions: strategy logminer is not wired into captures yet`,
		`table rcv_transactions: lobs "all" is not one of skip, inline, reference`,
		`table RCV_TRANSACTIONS: max_lob_bytes is for lobs: inline`,
		`table RCV_TRANSACTIONS: lob_columns: "a b" is not a plain SQL identifier`,
		`table RCV_TRANSACTIONS: lob_columns: key column TRANSACTION_ID cannot be a large object`,
		`capture "erp": lob_url "files/lobs" is not an absolute URL`,
		`table rcv_transactions: snapshot "off" is not one of initial, none`,
		`tables[4]: name: "a.b.c": want TABLE or SCHEMA.TABLE`,
		`tables[4]: strategy "trigger" is not one of poll, journal`,
		`mappings[0]: stat `,
		`mappings[0]: ops: "upsert" is not one of insert, update, delete, snapshot`,
		`capture "erp": dead_letter_topic must differ from topic`,
		`capture "erp": name already used by another flow, delivery or capture`,
		`dsn: SQLite database ` + filepath.Join(filepath.Dir(p), "nowhere.db"),
		`password_env/password_file are for postgres and oracle, not sqlite`,
		`capture "erp": tables: at least one table is required`,
		`capture "erp": mappings: at least one mapping is required`,
		`capture "erp": topic is required`,
		`capture "erp": lob_dir and lob_url are for tables with lobs: reference`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("problems:\n%v", err)
	}
}

func TestCaptureConnString(t *testing.T) {
	t.Setenv("LB_TEST_PG_PW", "p@ss:w/rd")
	t.Setenv("LB_TEST_DSN", "oracle://scott@db:1521/ERP?TIMEOUT=30")
	for _, tc := range []struct {
		name string
		c    Capture
		want string
		err  string
	}{
		{"plain", Capture{Name: "a", DSN: "postgres://u:x@h/db"}, "postgres://u:x@h/db", ""},
		{"password from env", Capture{Name: "a", Dialect: "postgres", DSN: "postgres://erp@h:5432/db?timezone=UTC", PasswordEnv: "LB_TEST_PG_PW"},
			"postgres://erp:p%40ss%3Aw%2Frd@h:5432/db?timezone=UTC", ""},
		{"dsn from env", Capture{Name: "a", Dialect: "oracle", DSNEnv: "LB_TEST_DSN", PasswordEnv: "LB_TEST_PG_PW"},
			"oracle://scott:p%40ss%3Aw%2Frd@db:1521/ERP?TIMEOUT=30", ""},
		{"missing env", Capture{Name: "a", DSNEnv: "LB_TEST_NOT_SET_1"}, "", "dsn_env: environment variable LB_TEST_NOT_SET_1 is not set"},
		{"no user", Capture{Name: "a", Dialect: "postgres", DSN: "postgres://h/db", PasswordEnv: "LB_TEST_PG_PW"}, "", "names no user"},
		{"not a URL", Capture{Name: "a", Dialect: "postgres", DSN: "host=h user=u", PasswordEnv: "LB_TEST_PG_PW"}, "", "need a URL dsn"},
	} {
		got, err := tc.c.ConnString()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "p@ss") {
				t.Errorf("%s: error shows the password: %v", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: ConnString = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
