package cdctest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"legacybridge/cdc/postgres"
)

// Postgres is the environment of a fresh schema per test in the database
// of PG_DSN (from /tmp/legacybridge-ci/postgres.env). Without PG_DSN the
// tests skip, or fail when CI=true.
func Postgres() Env {
	return Env{
		Dialect: postgres.Dialect{},
		Open:    OpenPostgres,
		Int:     "bigint", Text: "text", Decimal: "numeric", Time: "timestamp(6)",
		Now:        "clock_timestamp()",
		StmtNow:    "statement_timestamp()",
		Concurrent: true,
	}
}

// PostgresDSN returns PG_DSN or skips (fails under CI=true).
func PostgresDSN(t testing.TB) string {
	dsn := os.Getenv("PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PG_DSN is not set under CI=true: PostgreSQL did not start (see .ci/run)")
		}
		t.Skip("PG_DSN not set (source /tmp/legacybridge-ci/postgres.env)")
	}
	return dsn
}

// OpenPostgres creates a schema of its own for the test (dropped after
// it) and returns a pool whose sessions use it, in UTC.
func OpenPostgres(t testing.TB) *sql.DB {
	t.Helper()
	dsn := PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "lbtest_" + hex.EncodeToString(b[:])
	admin, err := postgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("PG_DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("timezone", "UTC")
	u.RawQuery = q.Encode()
	db, err := postgres.Open(u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
