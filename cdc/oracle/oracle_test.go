package oracle_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	go_ora "github.com/sijms/go-ora/v2"
	"github.com/sijms/go-ora/v2/network"

	"legacybridge/cdc"
	"legacybridge/cdc/oracle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// EBS-shaped columns as cdc.Columns reads them through go-ora.
var (
	mmtCols = []cdc.Column{
		{Name: "TRANSACTION_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "INVENTORY_ITEM_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "ORGANIZATION_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "SUBINVENTORY_CODE", Kind: cdc.KindText, DBType: "NCHAR"},
		{Name: "TRANSACTION_QUANTITY", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "TRANSACTION_UOM", Kind: cdc.KindText, DBType: "NCHAR"},
		{Name: "TRANSACTION_DATE", Kind: cdc.KindTime, DBType: "DATE"},
		{Name: "CREATION_DATE", Kind: cdc.KindTime, DBType: "DATE"},
		{Name: "LAST_UPDATE_DATE", Kind: cdc.KindTime, DBType: "DATE"},
		{Name: "ATTACHMENT", Kind: cdc.KindBLOB, DBType: "OCIBlobLocator"},
	}
	moqdCols = []cdc.Column{
		{Name: "ONHAND_QUANTITIES_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "INVENTORY_ITEM_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "LOT_NUMBER", Kind: cdc.KindText, DBType: "NCHAR"},
		{Name: "PRIMARY_TRANSACTION_QUANTITY", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "NOTES", Kind: cdc.KindLOB, DBType: "OCIClobLocator"},
		{Name: "LAST_UPDATE_DATE", Kind: cdc.KindTime, DBType: "DATE"},
	}
	// FND_LOBS holds EBS attachments (BLOB) with their text (a CLOB here).
	fndLobCols = []cdc.Column{
		{Name: "FILE_ID", Kind: cdc.KindDecimal, DBType: "NUMBER"},
		{Name: "FILE_NAME", Kind: cdc.KindText, DBType: "NCHAR"},
		{Name: "FILE_DATA", Kind: cdc.KindBLOB, DBType: "OCIBlobLocator"},
		{Name: "FILE_TEXT", Kind: cdc.KindLOB, DBType: "OCIClobLocator"},
		{Name: "UPLOAD_DATE", Kind: cdc.KindTime, DBType: "DATE"},
	}
	wipCols = []cdc.Column{
		{Name: "WIP_ENTITY_NAME", Kind: cdc.KindText, DBType: "NCHAR"},
		{Name: "ORGANIZATION_ID", Kind: cdc.KindInt, DBType: "NUMBER"},
		{Name: "LAST_UPDATE_DATE", Kind: cdc.KindTimeTZ, DBType: "TimeStampTZ_DTY"},
	}
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it, then review it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it after review):\n%s", p, diff)
	}
}

// TestGeneratedStatements pins every statement the engine runs on Oracle:
// DATE cursors compared as DATE (TO_DATE, so the LAST_UPDATE_DATE index
// is usable), explicit formats (never the session NLS), numbered binds in
// text order, FETCH FIRST, binary ordering of text keys, IN lists of at
// most 500 keys.
func TestGeneratedStatements(t *testing.T) {
	st, err := cdc.Statements(oracle.Dialect{}, "LB.LB_JOURNAL", []cdc.TableColumns{
		{Table: cdc.Table{Name: "INV.MTL_MATERIAL_TRANSACTIONS", Key: []string{"TRANSACTION_ID"}, ChangeColumn: "LAST_UPDATE_DATE", CreatedColumn: "CREATION_DATE"}, Columns: mmtCols},
		{Table: cdc.Table{Name: "WIP.WIP_ENTITIES_X", Key: []string{"WIP_ENTITY_NAME", "ORGANIZATION_ID"}, ChangeColumn: "LAST_UPDATE_DATE", Reconcile: -1}, Columns: wipCols},
		{Table: cdc.Table{Name: "INV.MTL_ONHAND_QUANTITIES_DETAIL", Key: []string{"ONHAND_QUANTITIES_ID"}, Strategy: cdc.StrategyJournal, LOBs: cdc.LOBInline}, Columns: moqdCols},
		{Table: cdc.Table{Name: "APPLSYS.FND_LOBS", Key: []string{"FILE_ID"}, Strategy: cdc.StrategyJournal, LOBs: cdc.LOBReference}, Columns: fndLobCols},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range st {
		fmt.Fprintf(&b, "-- %s (%d bind values)\n%s;\n\n", s.Purpose, s.Args, s.SQL)
		checkBinds(t, s)
	}
	fmt.Fprintf(&b, "-- transaction horizon\n%s;\n\n-- snapshot transaction\n%s;\n", oracle.HorizonSQL, oracle.SnapshotSQL)
	golden(t, "statements.sql", b.String())
}

// checkBinds: :1..:n each once, in text order, n = the values bound.
func checkBinds(t *testing.T, s cdc.Statement) {
	t.Helper()
	n := 0
	rest := s.SQL
	for {
		i := strings.Index(rest, ":")
		if i < 0 {
			break
		}
		j := i + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j > i+1 {
			n++
			if got := rest[i+1 : j]; got != fmt.Sprint(n) {
				t.Errorf("%s: bind :%s where :%d was due", s.Purpose, got, n)
			}
		}
		rest = rest[j:]
	}
	if n != s.Args {
		t.Errorf("%s: %d placeholders for %d values", s.Purpose, n, s.Args)
	}
}

func TestJournalDDL(t *testing.T) {
	tables := []cdc.TableDef{
		{Name: cdc.Name{Schema: "INV", Object: "MTL_ONHAND_QUANTITIES_DETAIL"}, Key: []string{"ONHAND_QUANTITIES_ID"}, Columns: moqdCols},
		{Name: cdc.Name{Schema: "INV", Object: "MTL_MATERIAL_TRANSACTIONS_INTERFACE_EXT"}, Key: []string{"TRANSACTION_ID"}, Columns: mmtCols[:3]},
		// lobs: reference: the trigger leaves the LOBs out (cdc install).
		{Name: cdc.Name{Schema: "APPLSYS", Object: "FND_LOBS"}, Key: []string{"FILE_ID"}, Columns: fndLobCols, Omit: []string{"FILE_DATA", "FILE_TEXT"}},
	}
	j := cdc.Name{Schema: "LB", Object: "LB_JOURNAL"}
	ddl, err := cdc.Install(oracle.Dialect{}, j, tables)
	if err != nil {
		t.Fatal(err)
	}
	drop, err := cdc.Uninstall(oracle.Dialect{}, j, tables)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "journal.sql", cdc.Script(ddl)+"\n-- uninstall\n"+cdc.Script(drop))
	for _, s := range append(ddl, drop...) {
		for _, name := range strings.Split(s, `"`)[1:] {
			if strings.HasPrefix(name, "LB_") && len(name) > 30 {
				t.Errorf("generated name %q is longer than 30 bytes", name)
			}
		}
	}
	if _, err := cdc.Install(oracle.Dialect{}, j, []cdc.TableDef{{Name: cdc.Name{Object: "T"}, Key: []string{"ID"}}}); err == nil {
		t.Error("Install without columns succeeded; Oracle triggers need the column list")
	}
	if _, err := cdc.Install(oracle.Dialect{}, j, []cdc.TableDef{{Name: cdc.Name{Object: `T"; DROP`}, Key: []string{"ID"}, Columns: mmtCols}}); err == nil {
		t.Error("Install accepted a table name that is not an identifier")
	}
}

func TestLogMinerStatements(t *testing.T) {
	q, args := oracle.LogMinerContentsSQL(1000, 2000, []cdc.Name{{Schema: "inv", Object: "mtl_material_transactions"}, {Schema: "WIP", Object: "WIP_DISCRETE_JOBS"}})
	var b strings.Builder
	for _, s := range []struct{ name, sql string }{
		{"session (every connection)", strings.Join(oracle.SessionSQL, ";\n")},
		{"check", oracle.LogMinerCheckSQL},
		{"current SCN (each round)", oracle.CurrentSCNSQL},
		{"table logging (:1 owner, :2 table)", oracle.LogMinerTableLoggingSQL},
		{"logs covering (:1, :2] (archived) and (:3, :4] (online)", oracle.LogMinerLogsSQL},
		{"first log of a window", oracle.LogMinerAddFileSQL(true)},
		{"further logs", oracle.LogMinerAddFileSQL(false)},
		{"start", oracle.LogMinerStartSQL},
		{fmt.Sprintf("contents (%d bind values: %v)", len(args), args[2:]), q},
		{"end", oracle.LogMinerEndSQL},
		{"low watermark", oracle.OldestTransactionSQL},
	} {
		fmt.Fprintf(&b, "-- %s\n%s\n", s.name, cdc.Script([]string{s.sql}))
	}
	golden(t, "logminer.sql", b.String())
	if diff := cmp.Diff([]any{"1000", "2000", "INV", "MTL_MATERIAL_TRANSACTIONS", "WIP", "WIP_DISCRETE_JOBS"}, args); diff != "" {
		t.Errorf("contents binds (-want +got):\n%s", diff)
	}
	checkBinds(t, cdc.Statement{Purpose: "contents", SQL: q, Args: len(args)})
}

func TestTxBuffer(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	row := func(scn uint64, xid string, op int, redo string) oracle.MinedRow {
		return oracle.MinedRow{SCN: scn, StartSCN: 100, XID: xid, Op: op, Owner: "INV", Table: "MTL_MATERIAL_TRANSACTIONS", RSID: fmt.Sprint(scn), Redo: redo, Undo: "undo " + redo, Time: at}
	}
	var b oracle.TxBuffer
	var got []string
	feed := func(r oracle.MinedRow) {
		t.Helper()
		txs, err := b.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			var redo []string
			for _, r := range tx.Rows {
				redo = append(redo, r.Redo)
			}
			got = append(got, fmt.Sprintf("%s@%d: %s", tx.XID, tx.CommitSCN, strings.Join(redo, " | ")))
		}
	}
	feed(row(101, "A", oracle.OpStart, ""))
	feed(row(102, "A", oracle.OpInsert, "insert a1"))
	feed(row(103, "B", oracle.OpStart, ""))
	feed(row(104, "B", oracle.OpInsert, "insert b1"))
	// A long statement split over two rows (CSF).
	split := row(105, "A", oracle.OpUpdate, "update a2 part one, ")
	split.CSF = true
	feed(split)
	cont := row(105, "A", oracle.OpUpdate, "part two")
	cont.RSID = split.RSID
	feed(cont)
	feed(row(106, "C", oracle.OpInsert, "insert c1 (rolled back)"))
	// B rolls back its own insert to a savepoint, then commits.
	feed(row(107, "B", oracle.OpInsert, "insert b2"))
	rb := row(108, "B", oracle.OpDelete, "delete b2")
	rb.Undo, rb.Rollback = "insert b2", true
	feed(rb)
	if w := b.LowWatermark(200); w != 100 {
		t.Errorf("low watermark with open transactions = %d, want 100", w)
	}
	feed(row(109, "B", oracle.OpCommit, ""))
	feed(row(110, "C", oracle.OpRollback, ""))
	feed(row(111, "A", oracle.OpCommit, ""))
	want := []string{"B@109: insert b1", "A@111: insert a1 | update a2 part one, part two"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("committed transactions (-want +got):\n%s", diff)
	}
	if open := b.Open(); len(open) != 0 {
		t.Errorf("open after all ended: %v", open)
	}
	if w := b.LowWatermark(200); w != 200 {
		t.Errorf("low watermark with none open = %d, want 200", w)
	}
	small := oracle.TxBuffer{MaxRows: 2}
	for i := range 3 {
		_, err := small.Add(row(uint64(300+i), "X", oracle.OpInsert, "x"))
		if i == 2 && (err == nil || !strings.Contains(err.Error(), "X")) {
			t.Errorf("third row over MaxRows 2: %v, want an error naming the transaction", err)
		}
	}
}

func TestKinds(t *testing.T) {
	d := oracle.Dialect{}
	_ = d
	for _, tc := range []struct {
		name        string
		prec, scale int64
		ok          bool
		want        cdc.Kind
	}{
		{"NUMBER", 0, 0, false, cdc.KindDecimal}, // EBS ids: NUMBER without precision
		{"NUMBER", 10, 0, true, cdc.KindInt},
		{"NUMBER", 38, 0, true, cdc.KindDecimal},
		{"NUMBER", 12, 2, true, cdc.KindDecimal},
		{"DATE", 0, 0, false, cdc.KindTime},
		{"TimeStampDTY", 0, 0, false, cdc.KindTime},
		{"TimeStampTZ_DTY", 0, 0, false, cdc.KindTimeTZ},
		{"TimeStampLTZ_DTY", 0, 0, false, cdc.KindTimeTZ},
		{"OCIClobLocator", 0, 0, false, cdc.KindLOB},
		{"OCIBlobLocator", 0, 0, false, cdc.KindBLOB},
		{"RAW", 0, 0, false, cdc.KindBytes},
		{"NCHAR", 0, 0, false, cdc.KindText},
		{"IBDouble", 0, 0, false, cdc.KindFloat},
	} {
		if got := oracle.KindOf(tc.name, tc.prec, tc.scale, tc.ok); got != tc.want {
			t.Errorf("%s(%d,%d): %v, want %v", tc.name, tc.prec, tc.scale, got, tc.want)
		}
	}
}

func TestConfigURL(t *testing.T) {
	c := oracle.Config{Host: "ebs-db.example.com", Service: "EBSPROD", User: "apps", Password: "p@ss:w/rd?#%", Timeout: 15 * time.Second, Options: map[string]string{"SSL": "enable"}}
	u, err := c.URL()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := go_ora.ParseConfig(u)
	if err != nil {
		t.Fatalf("go-ora cannot parse %s: %v", u, err)
	}
	if cfg.UserID != "apps" || cfg.Password != c.Password {
		t.Errorf("go-ora read user %q password %q from %s", cfg.UserID, cfg.Password, u)
	}
	if cfg.SessionInfo.Timeout != 15*time.Second {
		t.Errorf("TIMEOUT %v, want 15s", cfg.SessionInfo.Timeout)
	}
	if !strings.Contains(u, ":1521/EBSPROD") {
		t.Errorf("URL %s lacks the default port and service", u)
	}
	if _, err := (oracle.Config{Service: "X"}).URL(); err == nil {
		t.Error("URL without host succeeded")
	}
}

func TestClassify(t *testing.T) {
	d := oracle.Dialect{}
	for _, tc := range []struct {
		err       error
		kind      cdc.ErrorKind
		transient bool
	}{
		{&network.OracleError{ErrCode: 12514}, cdc.ErrServiceUnknown, true},
		{&network.OracleError{ErrCode: 12505}, cdc.ErrServiceUnknown, true},
		{&network.OracleError{ErrCode: 1033}, cdc.ErrServiceUnknown, true},
		{&network.OracleError{ErrCode: 12506}, cdc.ErrServiceUnknown, false},
		{&network.OracleError{ErrCode: 12541}, cdc.ErrRefused, true},
		{&network.OracleError{ErrCode: 12170}, cdc.ErrTimeout, true},
		{&network.OracleError{ErrCode: 3113}, cdc.ErrNetwork, true},
		{&network.OracleError{ErrCode: 1555}, cdc.ErrBusy, true},
		{&network.OracleError{ErrCode: 60}, cdc.ErrBusy, true},
		{&network.OracleError{ErrCode: 1017}, cdc.ErrAuth, false},
		{&network.OracleError{ErrCode: 28000}, cdc.ErrAuth, false},
		{&network.OracleError{ErrCode: 942}, cdc.ErrMissing, false},
		{&network.OracleError{ErrCode: 1031}, cdc.ErrPrivilege, false},
		{fmt.Errorf("wrapped: %w", &network.OracleError{ErrCode: 904}), cdc.ErrMissing, false},
		{errors.New("ORA-01013: user requested cancel of current operation"), cdc.ErrTimeout, true},
		{errors.New("something else"), cdc.ErrOther, false},
	} {
		c := d.Classify(tc.err)
		if c.Kind != tc.kind || c.Transient != tc.transient {
			t.Errorf("Classify(%v) = %+v, want kind %v transient %v", tc.err, c, tc.kind, tc.transient)
		}
	}
}

// TestUniqueKeysSQL pins the query that checks a capture's key against
// the table's primary key, unique constraints and unique indexes.
func TestUniqueKeysSQL(t *testing.T) {
	var b strings.Builder
	for _, n := range []cdc.Name{{Schema: "INV", Object: "mtl_material_transactions"}, {Object: "WIP_ENTITIES"}} {
		q, args := oracle.UniqueKeysSQL(n)
		fmt.Fprintf(&b, "-- unique keys of %s (binds %q)\n%s;\n\n", n, args, q)
		checkBinds(t, cdc.Statement{SQL: q, Args: len(args)})
	}
	golden(t, "uniquekeys.sql", b.String())
}
