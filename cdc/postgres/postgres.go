// Package postgres is the PostgreSQL dialect of cdc (github.com/jackc/pgx/v5
// through database/sql, driver name "pgx"): a second real engine with
// concurrent writers, where late commits can be tested.
//
// # Why a safety lag is not enough here
//
// A row's change time is stamped when its statement runs; the row becomes
// visible when its transaction commits, possibly minutes later. A poll
// that has already moved its cursor past that time never sees the row
// (Kafka Connect JDBC #27, #915). A lag only helps when it is longer than
// the longest transaction. PostgreSQL says which transactions are still
// running: pg_current_snapshot() gives xmin (no running transaction has
// a lower id), and xmin + age(xmin) is the next id to be handed out.
// Horizon reads the clock in one statement and the ids in the next, so
// every transaction that could have stamped a row before that clock
// reading got an id below that next id; once a later reading's xmin has
// passed it, those transactions have all ended and rows stamped before
// the clock reading (minus the lag) are final. The cursor only moves past
// final rows (see cdc.Horizon).
//
// The change column must be stamped at statement time
// (clock_timestamp(), statement_timestamp(), or an application clock), as
// EBS does with SYSDATE. now() is the transaction's start time: a
// transaction that reads for a while before its first write stamps rows
// earlier than its id says; use the journal strategy for such tables, or
// a lag longer than those transactions.
//
// # Oracle
//
// The same rule works on SCNs (cdc/oracle): V$DATABASE.CURRENT_SCN is
// Next, MIN(GV$TRANSACTION.START_SCN) is Oldest.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"

	"legacybridge/cdc"
)

// DriverName is the database/sql driver name of pgx.
const DriverName = "pgx"

// Dialect is the PostgreSQL dialect. The zero value is ready to use.
type Dialect struct{}

var _ cdc.Dialect = Dialect{}

// Open opens dsn with pgx. Set the session time zone in it
// (timezone=UTC) to the zone writers use for timestamp columns, and the
// same in cdc.Config.TimeZone.
func Open(dsn string) (*sql.DB, error) {
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}

func (Dialect) Name() string { return "postgres" }

// Quote folds to lower case, as PostgreSQL does with unquoted names.
func (Dialect) Quote(id string) string { return `"` + strings.ToLower(id) + `"` }

func (Dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (Dialect) Limit(n int) string { return "LIMIT " + strconv.Itoa(n) }

func (Dialect) Kind(ct *sql.ColumnType) cdc.Kind { return kindOf(ct.DatabaseTypeName()) }

func kindOf(t string) cdc.Kind {
	switch strings.ToUpper(t) {
	case "INT2", "INT4", "INT8", "OID":
		return cdc.KindInt
	case "NUMERIC":
		return cdc.KindDecimal
	case "FLOAT4", "FLOAT8":
		return cdc.KindFloat
	case "BOOL":
		return cdc.KindBool
	case "TIMESTAMP", "DATE":
		return cdc.KindTime
	case "TIMESTAMPTZ":
		return cdc.KindTimeTZ
	case "BYTEA":
		return cdc.KindBytes
	case "JSON", "JSONB":
		return cdc.KindJSON
	}
	return cdc.KindText
}

// CursorExpr renders the change column as PostgreSQL's own text
// (microseconds, and the offset for timestamptz): read back with the cast
// of CursorParam it is the same value.
func (Dialect) CursorExpr(col string, _ cdc.Column) string { return col + "::text" }

func (d Dialect) CursorParam(n int, c cdc.Column) string {
	switch c.Kind {
	case cdc.KindTimeTZ:
		return d.Placeholder(n) + "::text::timestamptz"
	case cdc.KindTime:
		return d.Placeholder(n) + "::text::timestamp"
	}
	return d.Placeholder(n)
}

// OrderExpr orders text keys bytewise (COLLATE "C"), whatever the
// database's collation, as the engine compares them.
func (Dialect) OrderExpr(col string, k cdc.Kind) string {
	if k == cdc.KindText {
		return col + ` COLLATE "C"`
	}
	return col
}

// horizonSQL reads Oldest and Next.
//
// Oldest is pg_snapshot_xmin: no running transaction has a lower id.
// Next must be the next id to be handed out, and pg_snapshot_xmax is not
// that: it is one past the latest *completed* id, so a transaction that
// got its id after the last commit is at or above it (and not in the
// snapshot's list). age(xid) is computed against the next id to be
// handed out (GetStableLatestTransactionId outside a write transaction),
// so xmin + age(xmin) is Next, read without taking an id or a privilege.
const horizonSQL = "SELECT pg_snapshot_xmin(s)::text, age(xid(pg_snapshot_xmin(s))) FROM (SELECT pg_current_snapshot() AS s) AS x"

// Horizon reads the clock, then (in a second statement, so after it)
// the transaction ids.
func (Dialect) Horizon(ctx context.Context, db *sql.DB) (cdc.Horizon, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return cdc.Horizon{}, err
	}
	defer conn.Close()
	var h cdc.Horizon
	if err := conn.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&h.Now); err != nil {
		return h, err
	}
	var oldest string
	var age int64
	if err := conn.QueryRowContext(ctx, horizonSQL).Scan(&oldest, &age); err != nil {
		return h, err
	}
	if h.Oldest, err = strconv.ParseUint(oldest, 10, 64); err != nil {
		return h, fmt.Errorf("postgres: snapshot xmin %q: %w", oldest, err)
	}
	if age < 0 {
		return h, fmt.Errorf("postgres: age of xmin %s is %d", oldest, age)
	}
	h.Next = h.Oldest + uint64(age)
	return h, nil
}

// BeginSnapshot starts a REPEATABLE READ, READ ONLY transaction: every
// query in it sees the snapshot of its first one.
func (Dialect) BeginSnapshot(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

func lower(s string) string { return strings.ToLower(s) }

// captureFunc is the trigger function of journal j.
func captureFunc(j cdc.Name) string {
	n := `"lb_capture_` + lower(j.Object) + `"`
	if j.Schema != "" {
		n = `"` + lower(j.Schema) + `".` + n
	}
	return n
}

func triggerName(j cdc.Name) string { return `"lb_capture_` + lower(j.Object) + `"` }

// JournalDDL creates the journal (an identity sequence, jsonb images), one
// trigger function that records the whole row with to_jsonb (numeric
// digits exact, timestamps ISO 8601, bytea as \x hex) and the
// transaction id, and a row trigger per table that passes the record type,
// the key columns and the columns to leave out (TableDef.Omit, as
// '-name') as arguments. Columns of TableDef are not needed.
//
// The function keeps the search_path of the session that installs it
// (SET search_path FROM CURRENT): an unqualified journal is created in
// that session's current schema, and the trigger must write there
// whatever the search_path of the ERP session whose DML fires it.
func (d Dialect) JournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	jt := j.Quoted(d)
	q := d.Quote
	out := []string{
		"CREATE TABLE IF NOT EXISTS " + jt + " (\n" +
			"  " + q(cdc.JournalSeq) + " bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n" +
			"  " + q(cdc.JournalTable) + " text NOT NULL,\n" +
			"  " + q(cdc.JournalOp) + " char(1) NOT NULL CHECK (" + q(cdc.JournalOp) + " IN ('I', 'U', 'D')),\n" +
			"  " + q(cdc.JournalKey) + " jsonb NOT NULL,\n" +
			"  " + q(cdc.JournalBefore) + " jsonb,\n" +
			"  " + q(cdc.JournalAfter) + " jsonb,\n" +
			"  " + q(cdc.JournalTxID) + " text,\n" +
			"  " + q(cdc.JournalChangedAt) + " timestamptz NOT NULL\n)",
		"CREATE INDEX IF NOT EXISTS " + q(j.Object+"_table_seq") + " ON " + jt + " (" + q(cdc.JournalTable) + ", " + q(cdc.JournalSeq) + ")",
		"CREATE OR REPLACE FUNCTION " + captureFunc(j) + "() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $lb$\n" +
			"DECLARE\n" +
			"  img_old jsonb;\n" +
			"  img_new jsonb;\n" +
			"  k jsonb := '{}'::jsonb;\n" +
			"BEGIN\n" +
			"  IF TG_OP <> 'INSERT' THEN img_old := to_jsonb(OLD); END IF;\n" +
			"  IF TG_OP <> 'DELETE' THEN img_new := to_jsonb(NEW); END IF;\n" +
			"  FOR i IN 1 .. TG_NARGS - 1 LOOP\n" +
			"    IF left(TG_ARGV[i], 1) = '-' THEN\n" +
			"      img_old := img_old - substr(TG_ARGV[i], 2);\n" +
			"      img_new := img_new - substr(TG_ARGV[i], 2);\n" +
			"    ELSE\n" +
			"      k := k || jsonb_build_object(TG_ARGV[i], COALESCE(img_new, img_old) -> TG_ARGV[i]);\n" +
			"    END IF;\n" +
			"  END LOOP;\n" +
			"  INSERT INTO " + jt + " (" + strings.Join([]string{q(cdc.JournalTable), q(cdc.JournalOp), q(cdc.JournalKey), q(cdc.JournalBefore), q(cdc.JournalAfter), q(cdc.JournalTxID), q(cdc.JournalChangedAt)}, ", ") + ")\n" +
			"  VALUES (TG_ARGV[0], left(TG_OP, 1), k, img_old, img_new, pg_current_xact_id()::text, clock_timestamp());\n" +
			"  RETURN NULL;\n" +
			"END\n$lb$",
	}
	for _, t := range tables {
		args := []string{"'" + t.Name.Type() + "'"}
		for _, k := range t.Key {
			args = append(args, "'"+lower(k)+"'")
		}
		// Columns left out of the images ('-name'; identifiers have no '-').
		for _, c := range t.Omit {
			args = append(args, "'-"+lower(c)+"'")
		}
		tn := t.Name.Quoted(d)
		out = append(out,
			"DROP TRIGGER IF EXISTS "+triggerName(j)+" ON "+tn,
			"CREATE TRIGGER "+triggerName(j)+" AFTER INSERT OR UPDATE OR DELETE ON "+tn+
				" FOR EACH ROW EXECUTE FUNCTION "+captureFunc(j)+"("+strings.Join(args, ", ")+")")
	}
	return out, nil
}

func (d Dialect) DropJournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	var out []string
	for _, t := range tables {
		out = append(out, "DROP TRIGGER IF EXISTS "+triggerName(j)+" ON "+t.Name.Quoted(d))
	}
	return append(out, "DROP FUNCTION IF EXISTS "+captureFunc(j)+"()", "DROP TABLE IF EXISTS "+j.Quoted(d)), nil
}

// Classify sorts errors by SQLSTATE class: serialization failures,
// deadlocks, lock timeouts, shutdowns and connection problems are
// retried; missing objects, privileges and credentials are not.
func (Dialect) Classify(err error) cdc.ErrorClass {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code := pe.Code
		c := cdc.ErrorClass{Code: "SQLSTATE " + code}
		switch {
		case code == "40001" || code == "40P01" || code == "55P03" || code == "57014":
			c.Kind, c.Transient, c.Hint = cdc.ErrBusy, true, "conflict with another transaction; retried"
		case code == "57P01" || code == "57P02" || code == "57P03":
			c.Kind, c.Transient, c.Hint = cdc.ErrServiceUnknown, true, "the server is shutting down or starting up; retried"
		case strings.HasPrefix(code, "08"):
			c.Kind, c.Transient, c.Hint = cdc.ErrNetwork, true, "connection problem; retried"
		case strings.HasPrefix(code, "53"):
			c.Kind, c.Transient, c.Hint = cdc.ErrBusy, true, "the server is out of resources (connections, memory, disk); retried"
		case code == "28P01" || code == "28000":
			c.Kind, c.Hint = cdc.ErrAuth, "check the user and password in the DSN"
		case code == "3D000":
			c.Kind, c.Hint = cdc.ErrServiceUnknown, "the database named in the DSN does not exist"
		case code == "42P01" || code == "42703" || code == "3F000" || code == "42883":
			c.Kind, c.Hint = cdc.ErrMissing, "check the table and column names in the config (and that the journal is installed)"
		case code == "42501":
			c.Kind, c.Hint = cdc.ErrPrivilege, "grant SELECT on the captured tables (and DELETE on the journal)"
		}
		return c
	}
	if c, ok := cdc.ClassifyCommon(err); ok {
		return c
	}
	return cdc.ErrorClass{Kind: cdc.ErrOther}
}

// uniqueKeysSQL lists the key columns (not INCLUDE columns) of the valid,
// non-partial unique indexes on plain columns of table $1 (a primary key
// is one of them), resolved like the capture's own queries, with whether
// each column is NOT NULL.
const uniqueKeysSQL = "SELECT i.indexrelid::text, a.attname, a.attnotnull FROM pg_index i" +
	" JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])" +
	" WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL" +
	" ORDER BY i.indexrelid, a.attnum"

// UniqueKeys reads the primary key and unique indexes from pg_index. A
// unique index with a nullable column does not count: it lets many rows
// hold NULL there, and those rows would share a key.
func (d Dialect) UniqueKeys(ctx context.Context, db *sql.DB, n cdc.Name) ([][]string, error) {
	rows, err := db.QueryContext(ctx, uniqueKeysSQL, n.Quoted(d))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	nullable := map[int]bool{}
	last := ""
	for rows.Next() {
		var idx, col string
		var notNull bool
		if err := rows.Scan(&idx, &col, &notNull); err != nil {
			return nil, err
		}
		if idx != last || len(out) == 0 {
			out = append(out, nil)
			last = idx
		}
		out[len(out)-1] = append(out[len(out)-1], col)
		if !notNull {
			nullable[len(out)-1] = true
		}
	}
	return cdc.DropNullable(out, nullable), rows.Err()
}

// LOBPiece reads a bytea column by bytes and a text column by characters
// (substring; PostgreSQL fetches only the slices it needs of a value
// stored uncompressed, STORAGE EXTERNAL).
func (Dialect) LOBPiece(col string, _ cdc.Kind, off, n int64, bind func(any) string) string {
	return "substring(" + col + " FROM " + bind(off) + "::integer FOR " + bind(n) + "::integer)"
}

// LOBPieceSize: 1 MiB of bytea, 256 Ki characters of text.
func (Dialect) LOBPieceSize(k cdc.Kind) (int64, bool) {
	if k == cdc.KindBLOB {
		return 1 << 20, true
	}
	return 256 << 10, false
}
