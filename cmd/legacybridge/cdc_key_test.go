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
