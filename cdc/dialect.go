package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Dialect is what the engine needs to know about one database: how to
// quote and bind, how to read its types, how to tell which transactions
// are still running, and the DDL of the trigger journal. Implementations
// live in cdc/sqlite, cdc/postgres and cdc/oracle.
type Dialect interface {
	// Name is "sqlite", "postgres" or "oracle".
	Name() string
	// Quote quotes one identifier that passed CheckIdent, folded the way
	// the database folds unquoted names (PostgreSQL lower case, Oracle
	// upper case), so config may write names in either case.
	Quote(ident string) string
	// Placeholder is the n-th (1-based) bind parameter: ?, $n or :n.
	Placeholder(n int) string
	// Limit ends a query so it returns at most n rows.
	Limit(n int) string
	// Kind classifies a column by its driver type.
	Kind(ct *sql.ColumnType) Kind
	// CursorExpr renders the change column c (quoted: col) as text that,
	// bound again through CursorParam, compares exactly like the stored
	// value: no precision lost (Kafka Connect JDBC #70), no zone shifted,
	// and (Oracle) of the column's own type, so its index stays usable.
	CursorExpr(col string, c Column) string
	// CursorParam is the n-th bind parameter read back from CursorExpr's
	// text into the column's type.
	CursorParam(n int, c Column) string
	// OrderExpr renders a key column (quoted) for ORDER BY and range
	// comparisons with binary ordering, the order in which the engine
	// compares keys itself.
	OrderExpr(col string, k Kind) string
	// Horizon reads the database clock and its transaction markers.
	Horizon(ctx context.Context, db *sql.DB) (Horizon, error)
	// BeginSnapshot starts a read-only transaction in which every query
	// sees the same committed state.
	BeginSnapshot(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// JournalDDL returns the statements that create journal j and the
	// triggers that record every insert, update and delete of tables in
	// it. DropJournalDDL removes them again.
	JournalDDL(j Name, tables []TableDef) ([]string, error)
	DropJournalDDL(j Name, tables []TableDef) ([]string, error)
	// Classify says whether err is worth retrying, and what to do next.
	Classify(err error) ErrorClass
	// UniqueKeys lists the column sets of table n's primary key and of
	// its unique indexes (constraints) that are enforced on plain columns
	// for every row (no partial or expression indexes).
	UniqueKeys(ctx context.Context, db *sql.DB, n Name) ([][]string, error)
}

// Horizon is one reading of the database's transaction state, taken
// before the rows of a poll are read.
//
// Polling on a change column (EBS LAST_UPDATE_DATE) can only move past a
// change time once no transaction that could still commit a row stamped
// earlier is running: the time is stamped when the statement runs, the
// row becomes visible when its transaction commits, possibly much later
// (Kafka Connect JDBC #27, #172, #915). A fixed safety lag only helps when
// it exceeds the longest transaction, which an ERP batch program does not
// promise. So the engine keeps (Now, Next) pairs and, once a later
// reading's Oldest has passed a pair's Next, every transaction that had
// started by that Now has ended: rows stamped before Now minus the lag
// are final, and the poll may move past them.
//
//   - PostgreSQL: Oldest = pg_snapshot_xmin(pg_current_snapshot()) (no
//     running transaction has a lower id), Next = the next id to be handed
//     out (xmin + age(xmin); pg_snapshot_xmax is one past the latest
//     completed id, which a running transaction may already exceed).
//     Ids are handed out when a transaction first writes, around the time
//     its row is stamped, so a transaction stamping a row before Now got
//     an id below Next.
//   - Oracle: Next = V$DATABASE.CURRENT_SCN, Oldest = the smallest
//     GV$TRANSACTION.START_SCN (CURRENT_SCN when none run): the same rule
//     on system change numbers. (ORA_ROWSCN polling needs no horizon since
//     ORA_ROWSCN is at or after the commit, but it cannot see deletes and
//     scans the whole table.)
//   - SQLite: one writer at a time. The dialect takes the write lock
//     (BEGIN IMMEDIATE) to read the clock, so no write transaction is open
//     at Now: Next = Oldest = 0.
//
// The lag (Config.SafetyLag) still covers the short gap between stamping
// and getting a transaction id, clock steps, and second-precision DATE
// columns (a row stamped 10:00:00 may commit at 10:00:00.9).
type Horizon struct {
	Now    time.Time // the database clock
	Next   uint64    // every transaction started before Now has a marker below Next
	Oldest uint64    // no running transaction has a marker below Oldest
}

// TableDef describes a table for journal DDL.
type TableDef struct {
	Name Name
	Key  []string // key column names
	// Columns to record in the images. Empty: PostgreSQL records the whole
	// row (to_jsonb); SQLite and Oracle need the list (see Columns).
	Columns []Column
	// Omit are columns left out of the images: large objects of tables
	// with lobs skip or reference (the bridge reads referenced ones from
	// the table), so the journal does not copy them on every change.
	Omit []string
}

// ErrorKind sorts database errors by what can be done about them.
type ErrorKind int

const (
	ErrOther          ErrorKind = iota
	ErrRefused                  // nothing listens at the address (yet)
	ErrServiceUnknown           // the listener answers but does not know the service/SID/database
	ErrTimeout                  // connect or query timed out
	ErrNetwork                  // connection reset or closed
	ErrBusy                     // lock wait, deadlock, serialization failure, database busy
	ErrAuth                     // bad credentials or locked account
	ErrPrivilege                // missing grant
	ErrMissing                  // table, column or journal does not exist
	ErrCanceled                 // the context was canceled
)

var errorKindNames = [...]string{"other", "refused", "service-unknown", "timeout", "network", "busy", "auth", "privilege", "missing", "canceled"}

func (k ErrorKind) String() string {
	if int(k) < len(errorKindNames) {
		return errorKindNames[k]
	}
	return "unknown"
}

// ErrorClass is a classified database error.
type ErrorClass struct {
	Kind      ErrorKind
	Transient bool   // retrying later may succeed
	Code      string // ORA-12514, SQLSTATE 40001, SQLITE_BUSY, ...
	Hint      string // what to do next
}

// ClassifyCommon recognises errors every driver shares: context ends,
// net timeouts, refused and reset connections.
func ClassifyCommon(err error) (ErrorClass, bool) {
	switch {
	case err == nil:
		return ErrorClass{}, false
	case errors.Is(err, context.Canceled):
		return ErrorClass{Kind: ErrCanceled}, true
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorClass{Kind: ErrTimeout, Transient: true, Hint: "the database did not answer in time; retried"}, true
	}
	return classifyNet(err)
}

// Error is an error of the engine, naming the table and what was being
// done, with its classification.
type Error struct {
	Op    string // "poll", "snapshot", "journal", "reconcile", "discover", "purge", "horizon"
	Table string // "" when not about one table
	Class ErrorClass
	Err   error
}

func (e *Error) Error() string {
	s := "cdc: " + e.Op
	if e.Table != "" {
		s += " " + e.Table
	}
	s += ": " + e.Err.Error()
	if e.Class.Code != "" {
		s += " [" + e.Class.Code + "]"
	}
	if e.Class.Hint != "" {
		s += " (" + e.Class.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying may succeed.
func (e *Error) Temporary() bool { return e.Class.Transient }

func wrapErr(d Dialect, op, table string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Op: op, Table: table, Class: d.Classify(err), Err: err}
}

// Install returns the DDL that creates journal j and the capture triggers
// of tables for dialect d (`legacybridge cdc install`). It checks every
// name first.
func Install(d Dialect, j Name, tables []TableDef) ([]string, error) {
	if err := checkDefs(j, tables); err != nil {
		return nil, err
	}
	defs := make([]TableDef, len(tables))
	for i, t := range tables {
		defs[i] = t
		if len(t.Omit) == 0 || len(t.Columns) == 0 {
			continue
		}
		omit := map[string]bool{}
		for _, c := range t.Omit {
			omit[columnName(c)] = true
		}
		defs[i].Columns = nil
		for _, c := range t.Columns {
			if !omit[columnName(c.Name)] {
				defs[i].Columns = append(defs[i].Columns, c)
			}
		}
	}
	return d.JournalDDL(j, defs)
}

// Uninstall returns the DDL that drops the triggers and journal again.
func Uninstall(d Dialect, j Name, tables []TableDef) ([]string, error) {
	if err := checkDefs(j, tables); err != nil {
		return nil, err
	}
	return d.DropJournalDDL(j, tables)
}

func checkDefs(j Name, tables []TableDef) error {
	if _, err := ParseName(j.String()); err != nil {
		return fmt.Errorf("cdc: journal: %w", err)
	}
	if len(tables) == 0 {
		return errors.New("cdc: no tables to capture")
	}
	seen := map[string]Name{}
	for _, t := range tables {
		if _, err := ParseName(t.Name.String()); err != nil {
			return fmt.Errorf("cdc: %w", err)
		}
		// The journal's table column holds the record type (the name
		// without schema): two tables of that name would share it.
		if o, ok := seen[t.Name.Type()]; ok {
			return fmt.Errorf("cdc: tables %s and %s would share journal %s under one name %s; capture them into separate journals (one capture each)", o, t.Name, j, t.Name.Type())
		}
		seen[t.Name.Type()] = t.Name
		if len(t.Key) == 0 {
			return fmt.Errorf("cdc: table %s: no key columns", t.Name)
		}
		for _, k := range t.Key {
			if err := CheckIdent(k); err != nil {
				return fmt.Errorf("cdc: table %s: key column: %w", t.Name, err)
			}
		}
		for _, c := range t.Columns {
			if err := CheckIdent(c.Name); err != nil {
				return fmt.Errorf("cdc: table %s: column: %w", t.Name, err)
			}
		}
		for _, c := range t.Omit {
			if err := CheckIdent(c); err != nil {
				return fmt.Errorf("cdc: table %s: omitted column: %w", t.Name, err)
			}
			for _, k := range t.Key {
				if columnName(k) == columnName(c) {
					return fmt.Errorf("cdc: table %s: key column %s cannot be left out of the journal", t.Name, k)
				}
			}
		}
	}
	return nil
}

// Columns reads the columns of table n (SELECT * with no rows), with
// their kinds, for journal DDL and for config checks.
func Columns(ctx context.Context, db *sql.DB, d Dialect, n Name) ([]Column, error) {
	q := "SELECT * FROM " + n.Quoted(d) + " WHERE 1 = 0"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, wrapErr(d, "discover", n.String(), err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, wrapErr(d, "discover", n.String(), err)
	}
	cols := make([]Column, len(cts))
	for i, ct := range cts {
		cols[i] = Column{Name: columnName(ct.Name()), Kind: d.Kind(ct), DBType: ct.DatabaseTypeName()}
	}
	return cols, rows.Err()
}

// Script renders statements as a script for the database's own client
// (sqlite3, psql, SQL*Plus): PL/SQL blocks (ending in "END;") are ended
// by a line with "/", other statements by ";".
func Script(stmts []string) string {
	var b strings.Builder
	for _, s := range stmts {
		s = strings.TrimSpace(s)
		b.WriteString(s)
		if strings.HasSuffix(strings.ToUpper(s), "END;") {
			b.WriteString("\n/\n\n")
		} else {
			b.WriteString(";\n\n")
		}
	}
	return b.String()
}
