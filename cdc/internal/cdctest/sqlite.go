package cdctest

import (
	"database/sql"
	"path/filepath"
	"testing"

	"legacybridge/cdc/sqlite"
)

// SQLite is the environment of a fresh SQLite file per test.
func SQLite() Env {
	return Env{
		Dialect: sqlite.Dialect{},
		Open: func(t testing.TB) *sql.DB {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "erp.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		Int: "INTEGER", Text: "TEXT", Decimal: "TEXT", Time: "DATE",
		Now:     "strftime('%Y-%m-%d %H:%M:%f', 'now')",
		StmtNow: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
	}
}
