package oracle

// LogMiner strategy: LogMinerSource (mine.go) runs this flow as a
// cdc.ChangeSource; it has run against a fake database/sql driver
// replaying V$LOGMNR_CONTENTS-shaped rows, never against Oracle, and is
// not wired into captures (config, `legacybridge run`) yet.
//
// Every statement it runs is in this file (and nowhere else), tested
// as text. The flow, per the lessons of Debezium, Estuary and Redpanda
// (reference/CDC.md §5.3):
//
//  1. Check: LogMinerCheckSQL (ARCHIVELOG, minimal + PK or ALL supplemental
//     logging) and LogMinerTableLoggingSQL per table; stop with a message
//     naming the missing ALTER DATABASE / ALTER TABLE ... ADD SUPPLEMENTAL
//     LOG DATA otherwise.
//  2. Pin one *sql.Conn (LogMiner state is per session).
//  3. For each window (from the low watermark to CURRENT_SCN, bounded):
//     list the logs covering it (LogMinerLogsSQL: archived logs of a
//     local valid destination, then online logs; check THREAD#/SEQUENCE#
//     continuity per thread and fail loudly naming the SCN range on a
//     gap), ADD_LOGFILE each, START_LOGMNR (online catalog dictionary,
//     uncommitted mode: COMMITTED_DATA_ONLY splits transactions across
//     windows), read LogMinerContentsSQL in SCN order, END_LOGMNR.
//  4. Feed the rows to a TxBuffer: rows are kept per transaction (XID) and
//     released at COMMIT in commit-SCN order, dropped at ROLLBACK;
//     continuation rows (CSF) are joined.
//  5. Released rows' SQL_REDO/SQL_UNDO are parsed (ParseRedo, a tokenizer
//     for INSERT / UPDATE / DELETE with quoted identifiers, '' escapes,
//     TO_DATE, TO_TIMESTAMP(_TZ), HEXTORAW, NULL) into images, typed by
//     the table's columns.
//  6. Position: (low watermark = the oldest open transaction's START_SCN,
//     last delivered COMMIT_SCN per thread with RS_ID/SSN), stored only
//     after Kafka acknowledged, like the other strategies. A restart
//     re-mines from the watermark and skips what was delivered.
//
// Grants: CREATE SESSION, LOGMINING (12c+), SELECT_CATALOG_ROLE or SELECT
// on V_$DATABASE, V_$LOG, V_$LOGFILE, V_$ARCHIVED_LOG,
// V_$ARCHIVE_DEST_STATUS, V_$LOGMNR_CONTENTS, GV_$TRANSACTION, EXECUTE on
// DBMS_LOGMNR; in a CDB a common user mining in CDB$ROOT.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"legacybridge/cdc"
)

// LogMinerCheckSQL reads what LogMiner needs of the database.
const LogMinerCheckSQL = "SELECT LOG_MODE, SUPPLEMENTAL_LOG_DATA_MIN, SUPPLEMENTAL_LOG_DATA_PK, SUPPLEMENTAL_LOG_DATA_ALL, TO_CHAR(CURRENT_SCN) FROM V$DATABASE"

// LogMinerTableLoggingSQL lists a table's supplemental log groups
// (:1 owner, :2 table): want ALL COLUMN LOGGING for full before images.
const LogMinerTableLoggingSQL = "SELECT LOG_GROUP_TYPE FROM ALL_LOG_GROUPS WHERE OWNER = :1 AND TABLE_NAME = :2"

// LogMinerLogsSQL lists the redo logs that hold changes after SCN :1 up
// to :2: archived logs of a local, valid destination first, then the
// online logs not archived yet, by thread and sequence.
const LogMinerLogsSQL = "SELECT NAME, THREAD#, SEQUENCE#, TO_CHAR(FIRST_CHANGE#), TO_CHAR(NEXT_CHANGE#), RESETLOGS_ID, 'ARCHIVED' FROM V$ARCHIVED_LOG " +
	"WHERE STATUS = 'A' AND DELETED = 'NO' AND NAME IS NOT NULL AND NEXT_CHANGE# > :1 AND FIRST_CHANGE# <= :2 " +
	"AND DEST_ID IN (SELECT DEST_ID FROM V$ARCHIVE_DEST_STATUS WHERE STATUS = 'VALID' AND TYPE = 'LOCAL') " +
	"UNION ALL " +
	"SELECT f.MEMBER, l.THREAD#, l.SEQUENCE#, TO_CHAR(l.FIRST_CHANGE#), TO_CHAR(l.NEXT_CHANGE#), NULL, 'ONLINE' FROM V$LOG l JOIN V$LOGFILE f ON f.GROUP# = l.GROUP# " +
	"WHERE l.ARCHIVED = 'NO' AND l.NEXT_CHANGE# > :3 AND l.FIRST_CHANGE# <= :4 AND f.STATUS IS NULL " +
	"ORDER BY 2, 3"

// LogMinerAddFileSQL adds one log file (:1) to the session's list; the
// first of a window starts a new list.
func LogMinerAddFileSQL(first bool) string {
	opt := "ADDFILE"
	if first {
		opt = "NEW"
	}
	return "BEGIN SYS.DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :1, OPTIONS => SYS.DBMS_LOGMNR." + opt + "); END;"
}

// LogMinerStartSQL starts mining SCNs :1 to :2 with the online catalog as
// dictionary, in uncommitted mode (the TxBuffer groups transactions).
const LogMinerStartSQL = "BEGIN SYS.DBMS_LOGMNR.START_LOGMNR(STARTSCN => :1, ENDSCN => :2, OPTIONS => SYS.DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG + SYS.DBMS_LOGMNR.NO_ROWID_IN_STMT); END;"

// LogMinerEndSQL ends the session's mining.
const LogMinerEndSQL = "BEGIN SYS.DBMS_LOGMNR.END_LOGMNR; END;"

// Operation codes of V$LOGMNR_CONTENTS.
const (
	OpInsert   = 1
	OpDelete   = 2
	OpUpdate   = 3
	OpDDL      = 5
	OpStart    = 6
	OpCommit   = 7
	OpRollback = 36
)

// LogMinerContentsSQL selects the mined rows of tables in the SCN window
// (from, to]: their DML and DDL, and every transaction's start, commit and
// rollback. Owners and table names are bound values; the statement stays
// short whatever the number of tables (go-ora #74).
func LogMinerContentsSQL(from, to uint64, tables []cdc.Name) (string, []any) {
	args := []any{strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)}
	var conds []string
	for _, t := range tables {
		args = append(args, strings.ToUpper(t.Schema), strings.ToUpper(t.Object))
		conds = append(conds, "(SEG_OWNER = :"+strconv.Itoa(len(args)-1)+" AND TABLE_NAME = :"+strconv.Itoa(len(args))+")")
	}
	q := "SELECT TO_CHAR(SCN), TO_CHAR(START_SCN), TO_CHAR(COMMIT_SCN), TIMESTAMP, COMMIT_TIMESTAMP, " +
		"XIDUSN || '.' || XIDSLT || '.' || XIDSQN, OPERATION_CODE, SEG_OWNER, TABLE_NAME, RS_ID, SSN, CSF, ROLLBACK, STATUS, INFO, THREAD#, SQL_REDO, SQL_UNDO " +
		"FROM V$LOGMNR_CONTENTS WHERE SCN > :1 AND SCN <= :2 AND (OPERATION_CODE IN (6, 7, 36)"
	if len(conds) > 0 {
		q += " OR (OPERATION_CODE IN (1, 2, 3, 5) AND (" + strings.Join(conds, " OR ") + "))"
	}
	return q + ") ORDER BY SCN, RS_ID, SSN", args
}

// OldestTransactionSQL is the low watermark: no open transaction started
// before it.
const OldestTransactionSQL = "SELECT TO_CHAR(MIN(START_SCN)) FROM GV$TRANSACTION"

// MinedRow is one row of V$LOGMNR_CONTENTS.
type MinedRow struct {
	SCN, StartSCN, CommitSCN uint64
	Time, CommitTime         time.Time
	XID                      string // XIDUSN.XIDSLT.XIDSQN
	Op                       int    // OPERATION_CODE
	Owner, Table             string
	RSID                     string
	SSN                      int
	CSF                      bool // SQL_REDO continues in the next row
	Rollback                 bool // the row undoes an earlier one (rollback to savepoint)
	Thread                   int
	Redo, Undo               string
}

// Transaction is a committed transaction released by a TxBuffer.
type Transaction struct {
	XID        string
	StartSCN   uint64
	CommitSCN  uint64
	CommitTime time.Time
	Thread     int
	Rows       []MinedRow // DML and DDL in redo order, continuations joined
}

// TxBuffer collects mined rows by transaction: LogMiner in uncommitted
// mode hands out every change as it was made, interleaved, including
// those of transactions that will roll back.
type TxBuffer struct {
	// MaxRows caps the rows one transaction may hold in memory. Default
	// 100000. Beyond it Add fails naming the transaction: never a silent
	// drop (spilling to disk or re-mining one XID is the next step).
	MaxRows int

	open map[string]*Transaction
	last map[string]bool // XID of the last row added, per XID: its CSF
}

// Add takes the next row (in SCN order) and returns the transactions
// it committed.
func (b *TxBuffer) Add(r MinedRow) ([]Transaction, error) {
	if b.open == nil {
		b.open = map[string]*Transaction{}
		b.last = map[string]bool{}
	}
	max := b.MaxRows
	if max <= 0 {
		max = 100000
	}
	tx := b.open[r.XID]
	switch r.Op {
	case OpStart:
		if tx == nil {
			b.open[r.XID] = &Transaction{XID: r.XID, StartSCN: r.StartSCN, Thread: r.Thread}
		}
		return nil, nil
	case OpRollback:
		delete(b.open, r.XID)
		delete(b.last, r.XID)
		return nil, nil
	case OpCommit:
		if tx == nil {
			return nil, nil // nothing of it touched the captured tables
		}
		delete(b.open, r.XID)
		delete(b.last, r.XID)
		tx.CommitSCN, tx.CommitTime = r.CommitSCN, r.CommitTime
		if tx.CommitSCN == 0 {
			tx.CommitSCN = r.SCN
		}
		if tx.CommitTime.IsZero() {
			tx.CommitTime = r.Time
		}
		return []Transaction{*tx}, nil
	}
	if tx == nil {
		// The START row was before the window (a restart mid-transaction
		// re-mines from its START_SCN, the low watermark).
		tx = &Transaction{XID: r.XID, StartSCN: r.StartSCN, Thread: r.Thread}
		b.open[r.XID] = tx
	}
	if b.last[r.XID] && len(tx.Rows) > 0 {
		prev := &tx.Rows[len(tx.Rows)-1]
		if prev.RSID != r.RSID || prev.SSN != r.SSN {
			return nil, fmt.Errorf("logminer: transaction %s: continuation row at SCN %d (RS_ID %s, SSN %d) does not continue RS_ID %s, SSN %d", r.XID, r.SCN, r.RSID, r.SSN, prev.RSID, prev.SSN)
		}
		prev.Redo += r.Redo
		prev.Undo += r.Undo
		prev.CSF = r.CSF
		b.last[r.XID] = r.CSF
		return nil, nil
	}
	if r.Rollback {
		// A partial rollback: LogMiner's row undoes the newest row of the
		// same row id; drop that row instead of delivering both.
		for i := len(tx.Rows) - 1; i >= 0; i-- {
			if tx.Rows[i].Table == r.Table && tx.Rows[i].Owner == r.Owner && sameRow(tx.Rows[i], r) {
				tx.Rows = append(tx.Rows[:i], tx.Rows[i+1:]...)
				break
			}
		}
		b.last[r.XID] = r.CSF
		return nil, nil
	}
	if len(tx.Rows) >= max {
		return nil, fmt.Errorf("logminer: transaction %s holds more than %d rows in memory (started at SCN %d); raise MaxRows or re-mine it alone", r.XID, max, tx.StartSCN)
	}
	tx.Rows = append(tx.Rows, r)
	b.last[r.XID] = r.CSF
	return nil, nil
}

// sameRow: a rollback row's undo is the original's redo.
func sameRow(orig, rb MinedRow) bool {
	return strings.TrimSpace(orig.Redo) == strings.TrimSpace(rb.Undo)
}

// LowWatermark is the SCN a restart must mine from: the oldest start of
// an open transaction, or next when none is open.
func (b *TxBuffer) LowWatermark(next uint64) uint64 {
	w := next
	for _, tx := range b.open {
		if tx.StartSCN != 0 && tx.StartSCN < w {
			w = tx.StartSCN
		}
	}
	return w
}

// Open lists the open transactions' XIDs.
func (b *TxBuffer) Open() []string {
	var out []string
	for x := range b.open {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}
