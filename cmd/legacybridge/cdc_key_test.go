package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCDCInstallRefusesNonUniqueKey: 'cdc install' with a connection
// checks each journal table's key against its primary key and unique
// indexes, and names the table and columns when it is not unique.
func TestCDCInstallRefusesNonUniqueKey(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	dbPath := filepath.Join(dir, "erp.db")
	if code, out, errOut := run(t, "erp", "simulate", "--dialect", "sqlite", "--dsn", dbPath, "--fixture", filepath.Join(root, "legacy-fixtures/erp"), "--setup-only"); code != 0 {
		t.Fatalf("erp simulate --setup-only: exit %d\n%s\n%s", code, out, errOut)
	}
	cfg := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
state_dir: %q
captures:
  - name: erp
    dialect: sqlite
    dsn: %q
    tables:
      - {name: MTL_TRANSACTIONS_INTERFACE, key: [PROCESS_FLAG], strategy: journal}
    mappings: [{file: %q}]
    topic: erp.events
`, filepath.Join(dir, "state"), dbPath, filepath.Join(root, "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml"))), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "cdc", "install", "--config", cfg, "--flow", "erp")
	if want := "table MTL_TRANSACTIONS_INTERFACE: key (PROCESS_FLAG) is not unique"; code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("cdc install: exit %d, want an error containing %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
	}
}

// TestValidateChecksCaptureDatabases: 'validate' runs the checks 'run'
// makes when a capture starts where the database answers (a non-unique
// key is a problem, exit 1, naming table and columns; a good config says
// what it checked), and says it could not check where the database does
// not answer (exit 0: the config itself is valid).
func TestValidateChecksCaptureDatabases(t *testing.T) {
	dir := t.TempDir()
	root := repoRoot(t)
	dbPath := filepath.Join(dir, "erp.db")
	if code, out, errOut := run(t, "erp", "simulate", "--dialect", "sqlite", "--dsn", dbPath, "--fixture", filepath.Join(root, "legacy-fixtures/erp"), "--setup-only"); code != 0 {
		t.Fatalf("erp simulate --setup-only: exit %d\n%s\n%s", code, out, errOut)
	}
	mapping := filepath.Join(root, "legacy-fixtures/erp/mappings/mtl-material-transactions.yaml")
	write := func(name, captures string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(fmt.Sprintf("state_dir: %q\ncaptures:\n%s", filepath.Join(dir, "state"), captures)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	capture := func(name, dialect, dsn, tables string) string {
		return fmt.Sprintf("  - name: %s\n    dialect: %s\n    dsn: %q\n    tables:\n%s    mappings: [{file: %q}]\n    topic: erp.events\n", name, dialect, dsn, tables, mapping)
	}
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	bad := write("bad.yaml", capture("erp", "sqlite", dbPath,
		"      - {name: MTL_TRANSACTIONS_INTERFACE, key: [PROCESS_FLAG], strategy: journal}\n"+
			"      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], change_column: NO_SUCH_COLUMN}\n"))
	code, out, errOut := run(t, "validate", "--config", bad)
	for _, want := range []string{
		"table MTL_TRANSACTIONS_INTERFACE: key (PROCESS_FLAG) is not unique",
		"has no change column NO_SUCH_COLUMN",
		"LB_JOURNAL", "legacybridge cdc install",
	} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("validate with a non-unique key: exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
		}
	}

	good := write("good.yaml", capture("erp", "sqlite", dbPath,
		"      - {name: MTL_MATERIAL_TRANSACTIONS, key: [TRANSACTION_ID], change_column: LAST_UPDATE_DATE}\n")+
		capture("erp-pg", "postgres", "postgres://cdc@127.0.0.1:1/erp?connect_timeout=5", "      - {name: OE_ORDER_LINES_ALL, key: [LINE_ID], change_column: LAST_UPDATE_DATE}\n"))
	code, out, errOut = run(t, "validate", "--config", good)
	for _, want := range []string{
		"capture erp: 1 table(s) checked against the database: columns present, keys unique",
		"capture erp-pg: keys and tables not checked: cannot connect to the database",
		"valid (0 flow(s), 0 deliveries, 2 captures)",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("validate: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
		}
	}
	after, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+2 { // the two config files
		t.Errorf("validate left files behind: before %v, after %v", before, after)
	}
}
