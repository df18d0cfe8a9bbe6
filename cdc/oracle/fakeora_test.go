package oracle

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A fake database/sql driver that answers the statements of the LogMiner
// source as an Oracle database would, from V$LOGMNR_CONTENTS-shaped rows
// (testdata/logminer/*.jsonl): it honours the SCN window and the table
// list of LogMinerContentsSQL, lists redo logs, records ADD_LOGFILE /
// START_LOGMNR / END_LOGMNR, and describes the captured tables (columns
// with go-ora type names, primary key, supplemental logging). It is a
// stand-in for the database, not for LogMiner's own behaviour: the rows
// are what LogMiner would return, written by hand.

type fakeMined struct {
	SCN        uint64 `json:"scn"`
	StartSCN   uint64 `json:"start_scn"`
	CommitSCN  uint64 `json:"commit_scn"`
	Time       string `json:"time"`
	CommitTime string `json:"commit_time"`
	XID        string `json:"xid"`
	Op         int64  `json:"op"`
	Owner      string `json:"owner"`
	Table      string `json:"table"`
	RSID       string `json:"rs_id"`
	SSN        int64  `json:"ssn"`
	CSF        int64  `json:"csf"`
	Rollback   int64  `json:"rollback"`
	Status     int64  `json:"status"`
	Info       string `json:"info"`
	Thread     int64  `json:"thread"`
	Redo       string `json:"redo"`
	Undo       string `json:"undo"`
}

type fakeCol struct{ name, typ string }

type fakeServer struct {
	mu         sync.Mutex
	current    uint64
	logMode    string
	minLogging string
	allLogging string
	tableLog   map[string][]string // OWNER.TABLE → LOG_GROUP_TYPEs
	columns    map[string][]fakeCol
	keys       map[string][]string // OWNER.TABLE → primary key
	logs       []redoLog
	rows       []fakeMined
	starts     [][2]string
	added      []string
	ends       int
	fail       map[string]error // statement prefix → error
}

var (
	fakeServers  sync.Map
	registerFake sync.Once
)

// openFake registers srv under a new name and opens it.
func openFake(t *testing.T, srv *fakeServer) *sql.DB {
	t.Helper()
	registerFake.Do(func() { sql.Register("fakeora", fakeDriver{}) })
	name := t.Name() + "/" + strconv.FormatInt(time.Now().UnixNano(), 10)
	fakeServers.Store(name, srv)
	db, err := sql.Open("fakeora", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); fakeServers.Delete(name) })
	return db
}

func loadMined(t *testing.T, path string) []fakeMined {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fakeMined
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		var m fakeMined
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type fakeDriver struct{}

func (fakeDriver) Open(name string) (driver.Conn, error) {
	v, ok := fakeServers.Load(name)
	if !ok {
		return nil, fmt.Errorf("fakeora: no server %q", name)
	}
	return &fakeConn{srv: v.(*fakeServer)}, nil
}

type fakeConn struct{ srv *fakeServer }

var (
	_ driver.QueryerContext = (*fakeConn)(nil)
	_ driver.ExecerContext  = (*fakeConn)(nil)
)

func (c *fakeConn) Prepare(string) (driver.Stmt, error) {
	return nil, fmt.Errorf("fakeora: prepared statements are not faked")
}
func (c *fakeConn) Close() error              { return nil }
func (c *fakeConn) Begin() (driver.Tx, error) { return nil, fmt.Errorf("fakeora: no transactions") }

func (c *fakeConn) failure(q string) error {
	for p, err := range c.srv.fail {
		if strings.HasPrefix(q, p) {
			return err
		}
	}
	return nil
}

func (c *fakeConn) ExecContext(_ context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := c.failure(q); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(q, "ALTER SESSION"):
	case strings.Contains(q, "DBMS_LOGMNR.ADD_LOGFILE"):
		s.added = append(s.added, fmt.Sprint(args[0].Value))
	case q == LogMinerStartSQL:
		s.starts = append(s.starts, [2]string{fmt.Sprint(args[0].Value), fmt.Sprint(args[1].Value)})
	case q == LogMinerEndSQL:
		s.ends++
	default:
		return nil, fmt.Errorf("fakeora: unexpected statement %q", q)
	}
	return driver.RowsAffected(0), nil
}

func (c *fakeConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := c.failure(q); err != nil {
		return nil, err
	}
	arg := func(i int) string { return fmt.Sprint(args[i].Value) }
	scn := func(n uint64) string { return strconv.FormatUint(n, 10) }
	switch {
	case q == CurrentSCNSQL:
		return rowsOf([]string{"CURRENT_SCN"}, []driver.Value{scn(s.current)}), nil
	case q == LogMinerCheckSQL:
		return rowsOf([]string{"LOG_MODE", "MIN", "PK", "ALL", "SCN"}, []driver.Value{s.logMode, s.minLogging, "NO", s.allLogging, scn(s.current)}), nil
	case q == LogMinerTableLoggingSQL:
		var vals [][]driver.Value
		for _, g := range s.tableLog[arg(0)+"."+arg(1)] {
			vals = append(vals, []driver.Value{g})
		}
		return rowsOf([]string{"LOG_GROUP_TYPE"}, vals...), nil
	case q == LogMinerLogsSQL:
		from, _ := strconv.ParseUint(arg(0), 10, 64)
		to, _ := strconv.ParseUint(arg(1), 10, 64)
		var vals [][]driver.Value
		for _, l := range s.logs {
			if l.nextCh > from && l.first <= to {
				vals = append(vals, []driver.Value{l.name, l.thread, l.seq, scn(l.first), scn(l.nextCh), nil, l.kind})
			}
		}
		return rowsOf([]string{"NAME", "THREAD#", "SEQUENCE#", "FIRST", "NEXT", "RESETLOGS_ID", "KIND"}, vals...), nil
	case strings.HasPrefix(q, "SELECT TO_CHAR(SCN)"):
		from, _ := strconv.ParseUint(arg(0), 10, 64)
		to, _ := strconv.ParseUint(arg(1), 10, 64)
		tables := map[string]bool{}
		for i := 2; i+1 < len(args); i += 2 {
			tables[arg(i)+"."+arg(i+1)] = true
		}
		var vals [][]driver.Value
		for _, r := range s.rows {
			if r.SCN <= from || r.SCN > to {
				continue
			}
			control := r.Op == OpStart || r.Op == OpCommit || r.Op == OpRollback
			if !control && !tables[r.Owner+"."+r.Table] {
				continue
			}
			vals = append(vals, r.values())
		}
		return rowsOf(make([]string, 18), vals...), nil
	case strings.HasPrefix(q, "SELECT * FROM "):
		name := strings.ReplaceAll(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(q, "SELECT * FROM "), " WHERE 1 = 0")), `"`, "")
		cols, ok := s.columns[name]
		if !ok {
			return nil, fmt.Errorf("ORA-00942: table or view does not exist (%s)", name)
		}
		r := &fakeRows{}
		for _, c := range cols {
			r.cols = append(r.cols, c.name)
			r.types = append(r.types, c.typ)
		}
		return r, nil
	case strings.Contains(q, "ALL_CONSTRAINTS"):
		var vals [][]driver.Value
		for tbl, key := range s.keys {
			for _, a := range args {
				if _, obj, _ := strings.Cut(tbl, "."); fmt.Sprint(a.Value) == obj {
					for i, k := range key {
						vals = append(vals, []driver.Value{"P", "PK_" + obj, k, int64(i + 1), "N"})
					}
				}
			}
		}
		return rowsOf([]string{"KIND", "NAME", "COL", "POS", "NULLABLE"}, vals...), nil
	}
	return nil, fmt.Errorf("fakeora: unexpected query %q", q)
}

func (r fakeMined) values() []driver.Value {
	opt := func(s string) driver.Value {
		if s == "" {
			return nil
		}
		return s
	}
	tm := func(s string) driver.Value {
		if s == "" {
			return nil
		}
		t, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	var commit driver.Value
	if r.CommitSCN != 0 {
		commit = strconv.FormatUint(r.CommitSCN, 10)
	}
	return []driver.Value{strconv.FormatUint(r.SCN, 10), strconv.FormatUint(r.StartSCN, 10), commit, tm(r.Time), tm(r.CommitTime),
		r.XID, r.Op, opt(r.Owner), opt(r.Table), r.RSID, r.SSN, r.CSF, r.Rollback, r.Status, opt(r.Info), r.Thread, opt(r.Redo), opt(r.Undo)}
}

type fakeRows struct {
	cols  []string
	types []string
	vals  [][]driver.Value
	i     int
}

func rowsOf(cols []string, vals ...[]driver.Value) *fakeRows {
	for i := range cols {
		if cols[i] == "" {
			cols[i] = "C" + strconv.Itoa(i)
		}
	}
	return &fakeRows{cols: cols, vals: vals}
}

func (r *fakeRows) Columns() []string { return r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.i >= len(r.vals) {
		return io.EOF
	}
	copy(dest, r.vals[r.i])
	r.i++
	return nil
}
func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string {
	if i < len(r.types) {
		return r.types[i]
	}
	return "VARCHAR2"
}
