package cdctest

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"legacybridge/cdc"
	"legacybridge/cdc/oracle"
)

// Oracle is the environment of a real Oracle database named by
// ORACLE_DSN (oracle://user:pass@host:1521/service?TIMEOUT=30). There is
// none in CI: without ORACLE_DSN the tests skip, under CI too. The user
// needs CREATE TABLE and CREATE TRIGGER in its schema and SELECT on
// V_$DATABASE and GV_$TRANSACTION. Tests drop ITEMS and LB_JOURNAL of
// that schema before and after they run.
func Oracle() Env {
	return Env{
		Dialect: oracle.Dialect{},
		Open:    OpenOracle,
		Int:     "NUMBER(19)", Text: "VARCHAR2(200)", Decimal: "NUMBER", Time: "TIMESTAMP(6) WITH TIME ZONE",
		Now:        "SYSTIMESTAMP",
		StmtNow:    "SYSTIMESTAMP",
		Concurrent: true,
	}
}

// OpenOracle connects to ORACLE_DSN (or skips) and clears the test
// objects.
func OpenOracle(t testing.TB) *sql.DB {
	t.Helper()
	dsn := os.Getenv("ORACLE_DSN")
	if dsn == "" {
		t.Skip("ORACLE_DSN not set: the Oracle contract tests need a real database")
	}
	db := oracle.OpenDSN(dsn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cdc.WaitReady(ctx, db, oracle.Dialect{}, 5*time.Second, nil); err != nil {
		t.Fatalf("ORACLE_DSN: %v", err)
	}
	clean := func() {
		for _, s := range []string{"DROP TABLE ITEMS PURGE", "DROP TABLE LB_JOURNAL PURGE", "DROP TABLE SIDE PURGE"} {
			db.ExecContext(context.Background(), s) // absent is fine
		}
	}
	clean()
	t.Cleanup(func() {
		clean()
		db.Close()
	})
	return db
}
