// Package oracle is the Oracle dialect of cdc (github.com/sijms/go-ora/v2,
// driver name "oracle"), the production target: E-Business Suite tables.
//
// What is tested where: the SQL this dialect generates (polling,
// snapshots, reconciliation, journal DDL and triggers, the transaction
// horizon, LogMiner) is checked as text by the tests of this package,
// without a database; connection errors (nothing listening, a listener
// refusing the service, a listener that never answers) are driven through
// go-ora against a small fake TNS listener. Running the statements needs
// a real Oracle database: set ORACLE_DSN (oracle://user:pass@host:1521/
// service) and the contract tests of this package run them.
//
// Polling on Oracle keeps the rule of cdc.Horizon on system change
// numbers: Next is V$DATABASE.CURRENT_SCN, Oldest the smallest
// GV$TRANSACTION.START_SCN (CURRENT_SCN when none run). That needs
// SELECT on V_$DATABASE and GV_$TRANSACTION besides SELECT on the tables.
// EBS stamps LAST_UPDATE_DATE with SYSDATE at statement time in the
// server's zone: set cdc.Config.TimeZone to it.
package oracle

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	go_ora "github.com/sijms/go-ora/v2"
	"github.com/sijms/go-ora/v2/network"

	"legacybridge/cdc"
)

// DriverName is the database/sql driver name of go-ora.
const DriverName = "oracle"

var _ = go_ora.NewConnector // the driver registers itself as "oracle"

// Dialect is the Oracle dialect (12.2 or later: FETCH FIRST, identity
// columns, JSON_OBJECT). The zero value is ready to use.
type Dialect struct{}

var _ cdc.Dialect = Dialect{}

// Config says how to reach an Oracle service.
type Config struct {
	Host     string // required
	Port     int    // default 1521
	Service  string // service name (required)
	User     string
	Password string
	// Timeout bounds connecting and each call (go-ora TIMEOUT). go-ora's
	// own default differs between its README and its code, and context
	// cancellation is not honoured everywhere (go-ora #267, #702), so it
	// is always set. Default 30s.
	Timeout time.Duration
	// Options are further go-ora URL options (SSL, WALLET, ...).
	Options map[string]string
}

// URL renders the go-ora connection URL. The user and password are
// escaped as URL user info (go-ora's BuildUrl path-escapes them, which
// leaves @ and : of a password unescaped).
func (c Config) URL() (string, error) {
	if c.Host == "" || c.Service == "" {
		return "", errors.New("oracle: host and service are required")
	}
	port := c.Port
	if port == 0 {
		port = 1521
	}
	to := c.Timeout
	if to <= 0 {
		to = 30 * time.Second
	}
	q := url.Values{}
	for k, v := range c.Options {
		q.Set(k, v)
	}
	q.Set("TIMEOUT", strconv.Itoa(max(1, int(to/time.Second))))
	u := url.URL{Scheme: "oracle", User: url.UserPassword(c.User, c.Password), Host: net.JoinHostPort(c.Host, strconv.Itoa(port)),
		Path: "/" + c.Service, RawQuery: q.Encode()}
	return u.String(), nil
}

// SessionSQL runs on every new connection Open makes: binary sorting and
// comparison of text (keyset pages and ties compare text keys byte by
// byte, as the engine does, whatever NLS_LANGUAGE the client or database
// says), '.' as the decimal character of numbers bound as text, and the
// ISO formats for the (rare) implicit conversions.
var SessionSQL = []string{
	"ALTER SESSION SET NLS_SORT = BINARY",
	"ALTER SESSION SET NLS_COMP = BINARY",
	"ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
	"ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'",
	"ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'",
}

// Open opens the service of c; every connection runs SessionSQL first.
// Nothing is dialled until first use.
func Open(c Config) (*sql.DB, error) {
	u, err := c.URL()
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(sessionConnector{Connector: go_ora.NewConnector(u), init: SessionSQL}), nil
}

// OpenDSN opens a go-ora URL (ORACLE_DSN) the same way. Give it a
// TIMEOUT option.
func OpenDSN(dsn string) *sql.DB {
	return sql.OpenDB(sessionConnector{Connector: go_ora.NewConnector(dsn), init: SessionSQL})
}

type sessionConnector struct {
	driver.Connector
	init []string
}

func (s sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := s.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := c.(driver.ExecerContext)
	if !ok {
		c.Close()
		return nil, errors.New("oracle: the driver cannot run session statements")
	}
	for _, q := range s.init {
		if _, err := ex.ExecContext(ctx, q, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("oracle: %s: %w", q, err)
		}
	}
	return c, nil
}

func (Dialect) Name() string { return "oracle" }

// Quote folds to upper case, as Oracle does with unquoted names.
func (Dialect) Quote(id string) string { return `"` + strings.ToUpper(id) + `"` }

func (Dialect) Placeholder(n int) string { return ":" + strconv.Itoa(n) }

func (Dialect) Limit(n int) string { return "FETCH FIRST " + strconv.Itoa(n) + " ROWS ONLY" }

// Kind reads go-ora's type names (TNS names: TimeStampTZ_DTY,
// OCIClobLocator, ...). NUMBER comes from go-ora as text (never float64,
// go-ora #516); NUMBER(p,0) with p <= 18 is an integer.
func (Dialect) Kind(ct *sql.ColumnType) cdc.Kind {
	p, s, ok := ct.DecimalSize()
	return KindOf(ct.DatabaseTypeName(), p, s, ok)
}

// KindOf is Kind on a go-ora type name with the precision and scale
// reported for it.
func KindOf(t string, prec, scale int64, hasScale bool) cdc.Kind {
	switch t {
	case "NUMBER", "VarNum":
		if hasScale && scale == 0 && prec > 0 && prec <= 18 {
			return cdc.KindInt
		}
		return cdc.KindDecimal
	case "BInteger", "UINT":
		return cdc.KindInt
	case "FLOAT", "BFloat", "BDouble", "IBFloat", "IBDouble":
		return cdc.KindFloat
	case "DATE", "OCIDate", "TimeStampDTY", "TIMESTAMP":
		return cdc.KindTime
	case "TimeStampTZ_DTY", "TIMESTAMPTZ", "TimeTZ", "TimeStampLTZ_DTY", "TimeStampeLTZ":
		return cdc.KindTimeTZ
	case "OCIClobLocator":
		return cdc.KindLOB
	case "OCIBlobLocator", "OCIFileLocator":
		return cdc.KindBLOB
	case "RAW", "LongRaw", "VarRaw", "LongVarRaw":
		return cdc.KindBytes
	}
	return cdc.KindText
}

const (
	dateFmt = "YYYY-MM-DD HH24:MI:SS"
	tsFmt   = "YYYY-MM-DD HH24:MI:SS.FF9"
	tzFmt   = "YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM"
)

func isDate(c cdc.Column) bool { return c.DBType == "DATE" || c.DBType == "OCIDate" }

// CursorExpr renders the change column with an explicit format (never the
// session's NLS_DATE_FORMAT); CursorParam reads it back into the
// column's own type, so a DATE column is compared with a DATE, not
// converted to TIMESTAMP row by row (which would stop its index from
// being used).
func (Dialect) CursorExpr(col string, c cdc.Column) string {
	switch {
	case isDate(c):
		return "TO_CHAR(" + col + ", '" + dateFmt + "')"
	case c.Kind == cdc.KindTimeTZ:
		return "TO_CHAR(" + col + ", '" + tzFmt + "')"
	case c.Kind == cdc.KindTime:
		return "TO_CHAR(" + col + ", '" + tsFmt + "')"
	}
	return "TO_CHAR(" + col + ", 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')"
}

func (d Dialect) CursorParam(n int, c cdc.Column) string {
	p := d.Placeholder(n)
	switch {
	case isDate(c):
		return "TO_DATE(" + p + ", '" + dateFmt + "')"
	case c.Kind == cdc.KindTimeTZ:
		return "TO_TIMESTAMP_TZ(" + p + ", '" + tzFmt + "')"
	case c.Kind == cdc.KindTime:
		return "TO_TIMESTAMP(" + p + ", '" + tsFmt + "')"
	}
	return "TO_NUMBER(" + p + ", 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')"
}

// OrderExpr leaves the column as it is, so its index serves ORDER BY and
// range conditions: the session sorts and compares text in binary (see
// SessionSQL).
func (Dialect) OrderExpr(col string, _ cdc.Kind) string { return col }

// HorizonSQL reads the clock (SYSTIMESTAMP is fixed when the statement
// starts), then the current SCN and the oldest running transaction's
// start SCN, across RAC instances.
const HorizonSQL = "SELECT SYSTIMESTAMP, TO_CHAR(d.CURRENT_SCN), TO_CHAR(NVL((SELECT MIN(t.START_SCN) FROM GV$TRANSACTION t), d.CURRENT_SCN)) FROM V$DATABASE d"

func (Dialect) Horizon(ctx context.Context, db *sql.DB) (cdc.Horizon, error) {
	var h cdc.Horizon
	var next, oldest string
	if err := db.QueryRowContext(ctx, HorizonSQL).Scan(&h.Now, &next, &oldest); err != nil {
		return h, err
	}
	var err error
	if h.Next, err = strconv.ParseUint(next, 10, 64); err != nil {
		return h, fmt.Errorf("oracle: CURRENT_SCN %q: %w", next, err)
	}
	if h.Oldest, err = strconv.ParseUint(oldest, 10, 64); err != nil {
		return h, fmt.Errorf("oracle: START_SCN %q: %w", oldest, err)
	}
	return h, nil
}

// SnapshotSQL starts a read-only transaction: every query in it reads
// as of its start (go-ora refuses database/sql's ReadOnly option).
const SnapshotSQL = "SET TRANSACTION READ ONLY"

func (Dialect) BeginSnapshot(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, SnapshotSQL); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// objectName keeps generated names within 30 bytes (the limit before
// 12.2, and still the EBS naming standard): a long name is cut and given
// a hash suffix.
func objectName(prefix, name string) string {
	n := prefix + strings.ToUpper(name)
	if len(n) <= 30 {
		return n
	}
	h := sha256.Sum256([]byte(strings.ToUpper(name)))
	return n[:21] + "_" + strings.ToUpper(hex.EncodeToString(h[:4]))
}

func qualified(schema, obj string) string {
	if schema == "" {
		return `"` + obj + `"`
	}
	return `"` + strings.ToUpper(schema) + `"."` + obj + `"`
}

// image renders JSON_OBJECT of the row (:NEW or :OLD). NUMBER goes into
// JSON as an exact number, DATE and TIMESTAMP as ISO 8601 text, RAW as
// hex; BLOB columns cannot be put in JSON_OBJECT and are left out.
func image(row string, cols []cdc.Column) string {
	var p []string
	for _, c := range cols {
		if c.Kind == cdc.KindBLOB {
			continue
		}
		name := strings.ToUpper(c.Name)
		p = append(p, "'"+name+"' VALUE "+row+`."`+name+`"`)
	}
	return "JSON_OBJECT(" + strings.Join(p, ", ") + " NULL ON NULL RETURNING CLOB)"
}

func keyImage(row string, key []string) string {
	p := make([]string, len(key))
	for i, k := range key {
		k = strings.ToUpper(k)
		p[i] = "'" + k + "' VALUE " + row + `."` + k + `"`
	}
	return "JSON_OBJECT(" + strings.Join(p, ", ") + " NULL ON NULL RETURNING CLOB)"
}

// JournalDDL creates the journal and one row trigger per table. The
// sequence is an ordered identity (ORDER keeps numbers in request order
// across RAC instances, which keeps one row's changes in order in a
// read). The trigger records the operation, key, images, the local
// transaction id and SYSTIMESTAMP. Installing triggers on EBS tables is a
// customisation: it needs CREATE TRIGGER on the product schema and the
// site's approval (12.2: create them on the base tables, not the
// editioning views).
func (d Dialect) JournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	jt := j.Quoted(d)
	q := d.Quote
	cols := []string{q(cdc.JournalTable), q(cdc.JournalOp), q(cdc.JournalKey), q(cdc.JournalBefore), q(cdc.JournalAfter), q(cdc.JournalTxID), q(cdc.JournalChangedAt)}
	out := []string{
		"CREATE TABLE " + jt + " (\n" +
			"  " + q(cdc.JournalSeq) + " NUMBER(19) GENERATED ALWAYS AS IDENTITY (CACHE 100 ORDER) PRIMARY KEY,\n" +
			"  " + q(cdc.JournalTable) + " VARCHAR2(128) NOT NULL,\n" +
			"  " + q(cdc.JournalOp) + " CHAR(1) NOT NULL CHECK (" + q(cdc.JournalOp) + " IN ('I', 'U', 'D')),\n" +
			"  " + q(cdc.JournalKey) + " CLOB NOT NULL CHECK (" + q(cdc.JournalKey) + " IS JSON),\n" +
			"  " + q(cdc.JournalBefore) + " CLOB CHECK (" + q(cdc.JournalBefore) + " IS JSON),\n" +
			"  " + q(cdc.JournalAfter) + " CLOB CHECK (" + q(cdc.JournalAfter) + " IS JSON),\n" +
			"  " + q(cdc.JournalTxID) + " VARCHAR2(64),\n" +
			"  " + q(cdc.JournalChangedAt) + " TIMESTAMP WITH TIME ZONE NOT NULL\n)",
		"CREATE INDEX " + qualified(j.Schema, objectName("", j.Object+"_TS")) + " ON " + jt + " (" + q(cdc.JournalTable) + ", " + q(cdc.JournalSeq) + ")",
	}
	ins := "INSERT INTO " + jt + " (" + strings.Join(cols, ", ") + ") VALUES ("
	for _, t := range tables {
		if len(t.Columns) == 0 {
			return nil, fmt.Errorf("oracle: table %s: list its columns (cdc.Columns, or ALL_TAB_COLUMNS)", t.Name)
		}
		typ := "'" + t.Name.Type() + "'"
		out = append(out, "CREATE OR REPLACE TRIGGER "+qualified(t.Name.Schema, objectName("LB_", t.Name.Object))+"\n"+
			"AFTER INSERT OR UPDATE OR DELETE ON "+t.Name.Quoted(d)+" FOR EACH ROW\n"+
			"DECLARE\n"+
			"  v_tx VARCHAR2(64) := DBMS_TRANSACTION.LOCAL_TRANSACTION_ID;\n"+
			"BEGIN\n"+
			"  IF INSERTING THEN\n"+
			"    "+ins+typ+", 'I', "+keyImage(":NEW", t.Key)+", NULL, "+image(":NEW", t.Columns)+", v_tx, SYSTIMESTAMP);\n"+
			"  ELSIF UPDATING THEN\n"+
			"    "+ins+typ+", 'U', "+keyImage(":NEW", t.Key)+", "+image(":OLD", t.Columns)+", "+image(":NEW", t.Columns)+", v_tx, SYSTIMESTAMP);\n"+
			"  ELSE\n"+
			"    "+ins+typ+", 'D', "+keyImage(":OLD", t.Key)+", "+image(":OLD", t.Columns)+", NULL, v_tx, SYSTIMESTAMP);\n"+
			"  END IF;\n"+
			"END;")
	}
	return out, nil
}

func (d Dialect) DropJournalDDL(j cdc.Name, tables []cdc.TableDef) ([]string, error) {
	var out []string
	for _, t := range tables {
		out = append(out, "DROP TRIGGER "+qualified(t.Name.Schema, objectName("LB_", t.Name.Object)))
	}
	return append(out, "DROP TABLE "+j.Quoted(d)+" PURGE"), nil
}

// JournalText reads a CLOB image column.
func (Dialect) JournalText(v any) (string, error) {
	switch x := v.(type) {
	case go_ora.Clob:
		if !x.Valid {
			return "", nil
		}
		return x.String, nil
	case *go_ora.Clob:
		if x == nil || !x.Valid {
			return "", nil
		}
		return x.String, nil
	}
	return "", fmt.Errorf("oracle: journal image is %T, want text", v)
}

var oraCode = regexp.MustCompile(`ORA-(\d{5})`)

// Code returns the ORA- error number of err, or 0.
func Code(err error) int {
	var oe *network.OracleError
	if errors.As(err, &oe) {
		return oe.ErrCode
	}
	if m := oraCode.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// Classify sorts Oracle errors: a listener or instance that is not (yet)
// serving, lost connections, deadlocks, snapshot too old and cancelled
// calls are retried; bad credentials, missing objects and privileges are
// not.
func (Dialect) Classify(err error) cdc.ErrorClass {
	code := Code(err)
	if code == 0 {
		if c, ok := cdc.ClassifyCommon(err); ok {
			return c
		}
		return cdc.ErrorClass{Kind: cdc.ErrOther}
	}
	c := cdc.ErrorClass{Code: fmt.Sprintf("ORA-%05d", code)}
	switch code {
	case 12514, 12505:
		c.Kind, c.Transient, c.Hint = cdc.ErrServiceUnknown, true, "the listener does not know the service (or SID) yet: check the service name; while the database starts this is retried"
	case 12516, 12518, 12519, 12520, 12526, 12527, 12528, 12564:
		c.Kind, c.Transient, c.Hint = cdc.ErrServiceUnknown, true, "the listener refused the connection (no handler, or the instance blocks new connections); retried"
	case 1033, 1034, 1089, 1090:
		c.Kind, c.Transient, c.Hint = cdc.ErrServiceUnknown, true, "the instance is starting, shutting down or not available; retried"
	case 12506:
		c.Kind, c.Hint = cdc.ErrServiceUnknown, "the listener refused this client by its service ACL; ask the DBA to allow this host"
	case 12541:
		c.Kind, c.Transient, c.Hint = cdc.ErrRefused, true, "no listener at the address; check host and port, or wait for the listener"
	case 12170, 12535, 12609:
		c.Kind, c.Transient, c.Hint = cdc.ErrTimeout, true, "connecting timed out; retried"
	case 1013:
		c.Kind, c.Transient, c.Hint = cdc.ErrTimeout, true, "the call was cancelled (timeout); retried"
	case 3113, 3114, 3135, 12537, 12547, 12571, 28, 12152:
		c.Kind, c.Transient, c.Hint = cdc.ErrNetwork, true, "the connection was lost; retried"
	case 60, 54, 30006, 8177, 1555, 4036, 4031, 4030, 1652:
		c.Kind, c.Transient, c.Hint = cdc.ErrBusy, true, "lock, undo or memory pressure on the database; retried"
	case 1017, 28000, 28001, 1005, 1004:
		c.Kind, c.Hint = cdc.ErrAuth, "check the user and password (or unlock the account)"
	case 1031, 1039, 1749:
		c.Kind, c.Hint = cdc.ErrPrivilege, "grant SELECT on the captured tables (polling: also V_$DATABASE and GV_$TRANSACTION; journal: DELETE on it)"
	case 942, 904, 4043, 2289:
		c.Kind, c.Hint = cdc.ErrMissing, "check the table and column names (and that the journal is installed)"
	default:
		c.Kind = cdc.ErrOther
	}
	return c
}

// UniqueKeysSQL returns the query (and its bind values) that lists the
// enabled primary key and unique constraints (ALL_CONSTRAINTS,
// ALL_CONS_COLUMNS) and the unique indexes (ALL_INDEXES,
// ALL_IND_COLUMNS) of table n, one row per column: kind and name of the
// key, column name. A table without schema is looked up in the session's
// current schema, as the capture's queries resolve it.
func UniqueKeysSQL(n cdc.Name) (string, []any) {
	table := strings.ToUpper(n.Object)
	owner := "SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')"
	var args []any
	bind := func(v string) string {
		args = append(args, v)
		return ":" + strconv.Itoa(len(args))
	}
	o1 := owner
	if n.Schema != "" {
		o1 = bind(strings.ToUpper(n.Schema))
	}
	t1 := bind(table)
	q := "SELECT 'C' AS KIND, c.CONSTRAINT_NAME AS KEY_NAME, cc.COLUMN_NAME, cc.POSITION, tc.NULLABLE\n" +
		"FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS cc\n" +
		"  ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME\n" +
		"JOIN ALL_TAB_COLUMNS tc ON tc.OWNER = c.OWNER AND tc.TABLE_NAME = c.TABLE_NAME AND tc.COLUMN_NAME = cc.COLUMN_NAME\n" +
		"WHERE c.OWNER = " + o1 + " AND c.TABLE_NAME = " + t1 + " AND c.CONSTRAINT_TYPE IN ('P', 'U') AND c.STATUS = 'ENABLED'\n" +
		"UNION ALL\n" +
		"SELECT 'I', i.INDEX_NAME, ic.COLUMN_NAME, ic.COLUMN_POSITION, tc.NULLABLE\n" +
		"FROM ALL_INDEXES i JOIN ALL_IND_COLUMNS ic ON ic.INDEX_OWNER = i.OWNER AND ic.INDEX_NAME = i.INDEX_NAME\n" +
		"JOIN ALL_TAB_COLUMNS tc ON tc.OWNER = i.TABLE_OWNER AND tc.TABLE_NAME = i.TABLE_NAME AND tc.COLUMN_NAME = ic.COLUMN_NAME\n"
	o2 := owner
	if n.Schema != "" {
		o2 = bind(strings.ToUpper(n.Schema))
	}
	t2 := bind(table)
	q += "WHERE i.TABLE_OWNER = " + o2 + " AND i.TABLE_NAME = " + t2 + " AND i.UNIQUENESS = 'UNIQUE' AND i.INDEX_TYPE NOT LIKE 'FUNCTION-BASED%' AND i.STATUS IN ('VALID', 'N/A')\n" +
		"ORDER BY 1, 2, 4"
	return q, args
}

// UniqueKeys runs UniqueKeysSQL.
func (Dialect) UniqueKeys(ctx context.Context, db *sql.DB, n cdc.Name) ([][]string, error) {
	q, args := UniqueKeysSQL(n)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	nullable := map[int]bool{}
	last := ""
	for rows.Next() {
		var kind, name, col, null string
		var pos int64
		if err := rows.Scan(&kind, &name, &col, &pos, &null); err != nil {
			return nil, err
		}
		if kind+"."+name != last || len(out) == 0 {
			out = append(out, nil)
			last = kind + "." + name
		}
		out[len(out)-1] = append(out[len(out)-1], col)
		if null == "Y" {
			nullable[len(out)-1] = true
		}
	}
	return cdc.DropNullable(out, nullable), rows.Err()
}

// LOBPiece reads a BLOB (RAW pieces) or CLOB/NCLOB (VARCHAR2 pieces) with
// DBMS_LOB.SUBSTR(lob, amount, offset). In SQL a RAW holds at most 2000
// bytes and a VARCHAR2 4000 (MAX_STRING_SIZE=STANDARD), so pieces are
// small: an 8 MiB BLOB takes some 4,200 round trips.
func (Dialect) LOBPiece(col string, _ cdc.Kind, off, n int64, bind func(any) string) string {
	amount := bind(n)
	return "DBMS_LOB.SUBSTR(" + col + ", " + amount + ", " + bind(off) + ")"
}

// LOBPieceSize: 2000 bytes of a BLOB, 1000 characters of a CLOB (at most
// 4000 bytes in AL32UTF8).
func (Dialect) LOBPieceSize(k cdc.Kind) (int64, bool) {
	if k == cdc.KindBLOB {
		return 2000, true
	}
	return 1000, false
}
