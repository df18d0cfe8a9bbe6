// Package sqlite is the SQLite dialect of cdc (modernc.org/sqlite, driver
// name "sqlite"): the embedded demo ERP and fast tests.
//
// SQLite has one writer at a time, which makes the polling horizon simple
// (the dialect briefly takes the write lock to read the clock, so no write
// transaction is open at that instant) and late commits impossible to
// interleave. Snapshot reads of journal tables need WAL mode, so a long
// read does not block writers: open databases with Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"

	"legacybridge/cdc"
)

// Dialect is the SQLite dialect. The zero value is ready to use.
type Dialect struct{}

var _ cdc.Dialect = Dialect{}

// DriverName is the database/sql driver name of modernc.org/sqlite.
const DriverName = "sqlite"

// Open opens the database file at path with what capture needs: WAL
// journal mode (a snapshot read does not block writers), a 5 s busy
// timeout, write transactions that take the write lock when they begin
// (BEGIN IMMEDIATE: a deferred transaction that read first and then
// writes fails at once with SQLITE_BUSY if another connection wrote in
// between; read-only transactions stay deferred), and the text format
// for times the driver writes.
func Open(path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q: want a file path without ? or #", path)
	}
	db, err := sql.Open(DriverName, "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate&_time_format=sqlite")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

func (Dialect) Name() string { return "sqlite" }

// Quote quotes an identifier. SQLite compares names case-insensitively,
// quoted or not.
func (Dialect) Quote(id string) string { return `"` + id + `"` }

func (Dialect) Placeholder(int) string { return "?" }

func (Dialect) Limit(n int) string { return "LIMIT " + strconv.Itoa(n) }

// Kind follows SQLite's affinity rules on the declared type, with the
// Oracle-style names the ERP fixture uses (NUMBER, VARCHAR2, DATE, CLOB).
func (Dialect) Kind(ct *sql.ColumnType) cdc.Kind {
	return kindOf(ct.DatabaseTypeName())
}

func kindOf(decl string) cdc.Kind {
	t := strings.ToUpper(strings.TrimSpace(decl))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	switch {
	case t == "":
		return cdc.KindText
	case strings.Contains(t, "INT"):
		return cdc.KindInt
	case t == "CLOB" || t == "NCLOB":
		return cdc.KindLOB
	case t == "BLOB":
		return cdc.KindBLOB
	case strings.Contains(t, "CHAR") || strings.Contains(t, "TEXT"):
		return cdc.KindText
	case t == "RAW" || strings.Contains(t, "BINARY"):
		return cdc.KindBytes
	case strings.Contains(t, "REAL") || strings.Contains(t, "FLOA") || strings.Contains(t, "DOUB"):
		return cdc.KindFloat
	case strings.HasPrefix(t, "TIMESTAMP") && strings.Contains(t, "ZONE"), t == "TIMESTAMPTZ":
		return cdc.KindTimeTZ
	case t == "DATE" || t == "DATETIME" || t == "TIMESTAMP":
		return cdc.KindTime
	case t == "BOOLEAN" || t == "BOOL":
		return cdc.KindBool
	case t == "JSON":
		return cdc.KindJSON
	case t == "NUMBER" || t == "NUMERIC" || t == "DECIMAL":
		return cdc.KindDecimal
	}
	return cdc.KindText
}

// CursorExpr reads the change column as the text (or number) SQLite
// stores, not the driver's parsed time: bound back it compares exactly
// (a re-formatted time could sort differently as text).
func (Dialect) CursorExpr(col string, _ cdc.Column) string { return "CAST(" + col + " AS TEXT)" }

func (Dialect) CursorParam(int, cdc.Column) string { return "?" }

func (Dialect) OrderExpr(col string, k cdc.Kind) string {
	if k == cdc.KindText {
		return col + " COLLATE BINARY"
	}
	return col
}

// Horizon takes the write lock (BEGIN IMMEDIATE, waiting up to the busy
// timeout for a writer to finish) to read the clock: at that instant no
// write transaction is open, so every row stamped before it is committed.
func (Dialect) Horizon(ctx context.Context, db *sql.DB) (cdc.Horizon, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return cdc.Horizon{}, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return cdc.Horizon{}, err
	}
	var now string
	err = conn.QueryRowContext(ctx, "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").Scan(&now)
	if _, cerr := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err == nil {
		err = cerr
	}
	if err != nil {
		return cdc.Horizon{}, err
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999", now, time.UTC)
	if err != nil {
		return cdc.Horizon{}, fmt.Errorf("sqlite: clock %q: %w", now, err)
	}
	return cdc.Horizon{Now: t}, nil
}

// BeginSnapshot starts a deferred read transaction: the first read fixes
// what every later read of it sees (WAL mode).
func (Dialect) BeginSnapshot(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// pairsPerCall keeps json_object/json_set calls under SQLite's default
// limit of 127 function arguments.
const pairsPerCall = 50

// image renders the JSON object of a row (NEW or OLD) in a trigger:
// json_object of the first columns, json_set for the rest (json_set keeps
// NULL as null; json_patch would drop it). Binary values are hex, NULL
// stays NULL.
func image(row string, cols []cdc.Column) string {
	val := func(c cdc.Column) string {
		ref := row + `."` + c.Name + `"`
		if c.Kind == cdc.KindBytes || c.Kind == cdc.KindBLOB {
			return "CASE WHEN " + ref + " IS NULL THEN NULL ELSE hex(" + ref + ") END"
		}
		return ref
	}
	var b strings.Builder
	b.WriteString("json_object(")
	for i, c := range cols[:min(len(cols), pairsPerCall)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + c.Name + "', " + val(c))
	}
	b.WriteString(")")
	s := b.String()
	for rest := cols[min(len(cols), pairsPerCall):]; len(rest) > 0; rest = rest[min(len(rest), pairsPerCall):] {
		var p []string
		for _, c := range rest[:min(len(rest), pairsPerCall)] {
			p = append(p, `'$."`+c.Name+`"', `+val(c))
		}
		s = "json_set(" + s + ", " + strings.Join(p, ", ") + ")"
	}
	return s
}

func keyImage(row string, key []string) string {
	p := make([]string, len(key))
	for i, k := range key {
		p[i] = "'" + strings.ToUpper(k) + "', " + row + `."` + strings.ToUpper(k) + `"`
	}
	return "json_object(" + strings.Join(p, ", ") + ")"
}

func q(s string) string { return `"` + s + `"` }

// JournalDDL creates the journal (LB_SEQ AUTOINCREMENT, so numbers of
// purged rows are never reused) and three triggers per table. SQLite
// triggers cannot name another schema's table, so the journal must live
// in the schema of the tables; its name is used without schema in them.
func (Dialect) JournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	jt := j.Quoted(Dialect{})
	out := []string{
		"CREATE TABLE IF NOT EXISTS " + jt + " (\n" +
			"  " + q(cdc.JournalSeq) + " INTEGER PRIMARY KEY AUTOINCREMENT,\n" +
			"  " + q(cdc.JournalTable) + " TEXT NOT NULL,\n" +
			"  " + q(cdc.JournalOp) + " TEXT NOT NULL CHECK (" + q(cdc.JournalOp) + " IN ('I', 'U', 'D')),\n" +
			"  " + q(cdc.JournalKey) + " TEXT NOT NULL,\n" +
			"  " + q(cdc.JournalBefore) + " TEXT,\n" +
			"  " + q(cdc.JournalAfter) + " TEXT,\n" +
			"  " + q(cdc.JournalTxID) + " TEXT,\n" +
			"  " + q(cdc.JournalChangedAt) + " TIMESTAMP NOT NULL\n)",
		"CREATE INDEX IF NOT EXISTS " + indexName(j) + " ON " + q(j.Object) + " (" + q(cdc.JournalTable) + ", " + q(cdc.JournalSeq) + ")",
	}
	ins := "INSERT INTO " + q(j.Object) + " (" + strings.Join([]string{q(cdc.JournalTable), q(cdc.JournalOp), q(cdc.JournalKey), q(cdc.JournalBefore), q(cdc.JournalAfter), q(cdc.JournalChangedAt)}, ", ") + ") VALUES ("
	now := "strftime('%Y-%m-%d %H:%M:%f', 'now')"
	for _, t := range tables {
		if len(t.Columns) == 0 {
			return nil, fmt.Errorf("sqlite: table %s: list its columns (cdc.Columns reads them from the database)", t.Name)
		}
		cols := upperCols(t.Columns)
		typ := "'" + t.Name.Type() + "'"
		tn := t.Name.Quoted(Dialect{})
		for _, op := range []struct{ op, event, key, before, after string }{
			{"I", "INSERT", keyImage("NEW", t.Key), "NULL", image("NEW", cols)},
			{"U", "UPDATE", keyImage("NEW", t.Key), image("OLD", cols), image("NEW", cols)},
			{"D", "DELETE", keyImage("OLD", t.Key), image("OLD", cols), "NULL"},
		} {
			out = append(out, "CREATE TRIGGER IF NOT EXISTS "+triggerName(t.Name, op.op)+" AFTER "+op.event+" ON "+tn+" FOR EACH ROW BEGIN\n  "+
				ins+typ+", '"+op.op+"', "+op.key+", "+op.before+", "+op.after+", "+now+");\nEND")
		}
	}
	return out, nil
}

func upperCols(cols []cdc.Column) []cdc.Column {
	out := make([]cdc.Column, len(cols))
	for i, c := range cols {
		out[i] = cdc.Column{Name: strings.ToUpper(c.Name), Kind: c.Kind, DBType: c.DBType}
	}
	return out
}

func triggerName(t cdc.Name, op string) string {
	n := q("LB_" + t.Type() + "_" + op)
	if t.Schema != "" {
		n = q(t.Schema) + "." + n
	}
	return n
}

func indexName(j cdc.Name) string {
	n := q(strings.ToUpper(j.Object) + "_TABLE_SEQ")
	if j.Schema != "" {
		n = q(j.Schema) + "." + n
	}
	return n
}

func (Dialect) DropJournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	var out []string
	for _, t := range tables {
		for _, op := range []string{"I", "U", "D"} {
			out = append(out, "DROP TRIGGER IF EXISTS "+triggerName(t.Name, op))
		}
	}
	return append(out, "DROP TABLE IF EXISTS "+j.Quoted(Dialect{})), nil
}

// Result codes (sqlite3.h).
const (
	codeBusy     = 5
	codeLocked   = 6
	codeReadOnly = 8
	codeIOErr    = 10
	codeFull     = 13
	codeCantOpen = 14
	codeAuth     = 23
)

// Classify: busy and locked databases are retried; a missing table or
// column, a read-only or unopenable file are not.
func (Dialect) Classify(err error) cdc.ErrorClass {
	if c, ok := cdc.ClassifyCommon(err); ok {
		return c
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		name := "SQLITE_" + strconv.Itoa(se.Code())
		switch code {
		case codeBusy, codeLocked:
			return cdc.ErrorClass{Kind: cdc.ErrBusy, Transient: true, Code: name, Hint: "another connection holds the database lock; retried"}
		case codeReadOnly:
			return cdc.ErrorClass{Kind: cdc.ErrPrivilege, Code: name, Hint: "the database file is read-only; the journal purge and the horizon lock need write access"}
		case codeCantOpen:
			return cdc.ErrorClass{Kind: cdc.ErrMissing, Code: name, Hint: "check the database path"}
		case codeAuth:
			return cdc.ErrorClass{Kind: cdc.ErrPrivilege, Code: name}
		case codeIOErr, codeFull:
			return cdc.ErrorClass{Kind: cdc.ErrOther, Transient: true, Code: name, Hint: "disk problem; retried"}
		}
		msg := se.Error()
		if strings.Contains(msg, "no such table") || strings.Contains(msg, "no such column") {
			return cdc.ErrorClass{Kind: cdc.ErrMissing, Code: name, Hint: "check the table and column names in the config (and that the journal is installed)"}
		}
		return cdc.ErrorClass{Kind: cdc.ErrOther, Code: name}
	}
	return cdc.ErrorClass{Kind: cdc.ErrOther}
}

// UniqueKeys reads the primary key (pragma table_info, which also names
// an INTEGER PRIMARY KEY, a rowid alias without an index) and the unique
// indexes that are not partial (pragma index_list, index_info; an
// expression column makes an index unusable).
func (d Dialect) UniqueKeys(ctx context.Context, db *sql.DB, n cdc.Name) ([][]string, error) {
	prefix := ""
	if n.Schema != "" {
		prefix = d.Quote(n.Schema) + "."
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out [][]string
	pk := map[int]string{}
	notNull := map[string]bool{}
	err = eachRow(ctx, conn, "PRAGMA "+prefix+"table_info("+d.Quote(n.Object)+")", func(vals []any) error {
		if len(vals) < 6 {
			return fmt.Errorf("pragma table_info: %d columns", len(vals))
		}
		if seq := asInt(vals[5]); seq > 0 {
			pk[seq] = asText(vals[1])
		}
		if asInt(vals[3]) == 1 {
			notNull[strings.ToLower(asText(vals[1]))] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(pk) > 0 {
		cols := make([]string, 0, len(pk))
		for i := 1; i <= len(pk); i++ {
			cols = append(cols, pk[i])
		}
		out = append(out, cols)
	}
	var idx []string
	err = eachRow(ctx, conn, "PRAGMA "+prefix+"index_list("+d.Quote(n.Object)+")", func(vals []any) error {
		if len(vals) < 5 {
			return fmt.Errorf("pragma index_list: %d columns", len(vals))
		}
		if asInt(vals[2]) == 1 && asInt(vals[4]) == 0 {
			idx = append(idx, asText(vals[1]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range idx {
		var cols []string
		expr := false
		err := eachRow(ctx, conn, "PRAGMA "+prefix+"index_info("+d.Quote(name)+")", func(vals []any) error {
			if len(vals) < 3 {
				return fmt.Errorf("pragma index_info: %d columns", len(vals))
			}
			if vals[2] == nil {
				expr = true
			}
			cols = append(cols, asText(vals[2]))
			return nil
		})
		if err != nil {
			return nil, err
		}
		// A unique index lets many rows hold NULL in a nullable column:
		// only one on NOT NULL columns tells rows apart.
		allNotNull := true
		for _, c := range cols {
			allNotNull = allNotNull && notNull[strings.ToLower(c)]
		}
		if !expr && len(cols) > 0 && allNotNull {
			out = append(out, cols)
		}
	}
	return out, nil
}

func eachRow(ctx context.Context, conn *sql.Conn, q string, f func([]any) error) error {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := f(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func asInt(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	case []byte:
		n, _ := strconv.Atoi(string(x))
		return n
	}
	return 0
}

func asText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// LOBPiece reads bytes of a BLOB or of a CLOB's text (as UTF-8 bytes,
// CAST to BLOB, so pieces never split a character count). SQLite has no
// incremental read through database/sql: the engine loads the value for
// each piece's statement; the bridge holds one piece.
func (Dialect) LOBPiece(col string, _ cdc.Kind, off, n int64, bind func(any) string) string {
	return "substr(CAST(" + col + " AS BLOB), " + bind(off) + ", " + bind(n) + ")"
}

// LOBPieceSize: 1 MiB pieces, in bytes.
func (Dialect) LOBPieceSize(cdc.Kind) (int64, bool) { return 1 << 20, true }
