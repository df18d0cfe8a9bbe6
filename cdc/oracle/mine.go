package oracle

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"legacybridge"
	"legacybridge/cdc"
)

// LogMinerSource is the LogMiner mining loop: a cdc.ChangeSource, so a
// cdc.Runner maps and emits its changes like any other source's. Each
// Read mines one window of SCNs on one pinned session (LogMiner state is
// per session): CurrentSCNSQL, LogMinerLogsSQL (a gap in a thread's log
// sequence stops it, naming the SCN range), ADD_LOGFILE, START_LOGMNR,
// LogMinerContentsSQL, END_LOGMNR. Rows go through a TxBuffer; committed
// transactions come out in commit order and their SQL_REDO/SQL_UNDO are
// parsed (ParseRedo) into before and after images typed by the table's
// columns. A batch holds whole transactions.
//
// Position (stored in cdc.db under "logminer" only after Kafka
// acknowledged every batch before it): the SCN to mine from (the oldest
// transaction still open when the last delivered one committed) and the
// last delivered commit (SCN and its transactions), so a restart re-mines
// open transactions and skips what was delivered. Event ids hash the
// commit SCN, transaction and row index: what is mined again gets the
// same ids.
//
// Not built: the initial snapshot (SELECT ... AS OF SCN) — tables start
// with snapshot: none; LOB columns (LogMiner's LOB_WRITE rows) are left
// out as Skipped{"lob"}; spilling huge transactions to disk. This loop
// has run against a fake database/sql driver replaying
// V$LOGMNR_CONTENTS-shaped rows, never against Oracle.
type LogMinerSource struct {
	cfg    LogMinerConfig
	log    *slog.Logger
	loc    *time.Location
	tables map[string]*lmTable // OWNER.TABLE

	conn   *sql.Conn
	opened bool
	buf    *TxBuffer
	from   uint64     // mined up to here (SCN > from is next)
	next   lmPosition // position after the last transaction taken into a batch
	queue  []released

	mu       sync.Mutex
	inflight []*lmBatch
	gen      uint64
	rewind   bool
	closed   bool
	status   string
}

// LogMinerConfig configures a LogMinerSource.
type LogMinerConfig struct {
	Flow  string     // required
	DB    *sql.DB    // required: Oracle (go-ora, with SessionSQL)
	Store *cdc.Store // required
	// Tables (SCHEMA.TABLE: LogMiner reports the owner) with strategy
	// logminer and snapshot none.
	Tables []cdc.Table
	// TimeZone of DATE values and LogMiner's TIMESTAMP columns (the
	// server's). Default UTC.
	TimeZone *time.Location
	// Window is how many SCNs one round mines at most. Default 50000.
	Window uint64
	// BatchSize: a batch takes whole transactions until it holds this
	// many changes (one larger transaction is a batch of its own).
	// Default 500.
	BatchSize int
	// PollInterval between rounds once caught up. Default 1s.
	PollInterval time.Duration
	// MaxTxRows bounds one transaction in memory (TxBuffer.MaxRows).
	MaxTxRows int
	// StartSCN is where a flow without a stored position starts mining;
	// 0: CURRENT_SCN at its first start.
	StartSCN uint64
	Logger   *slog.Logger
}

// CurrentSCNSQL reads how far mining may go.
const CurrentSCNSQL = "SELECT TO_CHAR(CURRENT_SCN) FROM V$DATABASE"

// lmPositionName is the store key of the position.
const lmPositionName = "logminer"

type lmPosition struct {
	Resume uint64   `json:"resume"`         // mine SCNs from here
	Commit uint64   `json:"commit"`         // commit SCN of the last delivered transaction
	XIDs   []string `json:"xids,omitempty"` // transactions delivered that committed at Commit
}

type lmTable struct {
	cfg      cdc.Table
	name     cdc.Name
	typ      string
	kinds    map[string]cdc.Kind
	keyNames []string
}

type released struct {
	tx      Transaction
	resume  uint64
	changes []cdc.Change
}

type lmBatch struct {
	gen   uint64
	pos   lmPosition
	done  bool
	acked bool
}

var _ cdc.ChangeSource = (*LogMinerSource)(nil)

// NewLogMinerSource checks cfg; the first Read connects.
func NewLogMinerSource(cfg LogMinerConfig) (*LogMinerSource, error) {
	var errs []error
	if cfg.Flow == "" {
		errs = append(errs, errors.New("logminer: no flow name"))
	}
	if cfg.DB == nil || cfg.Store == nil {
		errs = append(errs, errors.New("logminer: no database or position store"))
	}
	if len(cfg.Tables) == 0 {
		errs = append(errs, errors.New("logminer: no tables"))
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.Window == 0 {
		cfg.Window = 50000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &LogMinerSource{cfg: cfg, log: cfg.Logger.With("flow", cfg.Flow, "strategy", "logminer"), loc: cfg.TimeZone, tables: map[string]*lmTable{}}
	for _, tc := range cfg.Tables {
		n, err := cdc.ParseName(tc.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("logminer: %w", err))
			continue
		}
		switch {
		case n.Schema == "":
			errs = append(errs, fmt.Errorf("logminer: table %s: name it SCHEMA.TABLE (LogMiner reports the owner, e.g. INV.MTL_MATERIAL_TRANSACTIONS)", n))
		case tc.Snapshot != cdc.SnapshotNone:
			errs = append(errs, fmt.Errorf("logminer: table %s: the logminer strategy has no snapshot yet (AS OF SCN is designed, not built); set snapshot: none", n))
		case tc.LOBs != "" && tc.LOBs != cdc.LOBSkip:
			errs = append(errs, fmt.Errorf("logminer: table %s: the logminer strategy leaves LOBs out (lobs: skip)", n))
		case len(tc.Key) == 0:
			errs = append(errs, fmt.Errorf("logminer: table %s: no key columns", n))
		}
		t := &lmTable{cfg: tc, name: n, typ: n.Type()}
		for _, k := range tc.Key {
			t.keyNames = append(t.keyNames, strings.ToUpper(k))
		}
		s.tables[strings.ToUpper(n.Schema)+"."+strings.ToUpper(n.Object)] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Read mines until it has a batch of committed transactions, or ctx ends.
func (s *LogMinerSource) Read(ctx context.Context) ([]cdc.Change, legacybridge.AckFunc, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, nil, errors.New("logminer: source is closed")
		}
		rewind := s.rewind
		s.rewind = false
		s.mu.Unlock()
		if rewind && s.opened {
			if err := s.reset(); err != nil {
				return nil, nil, err
			}
		}
		if !s.opened {
			if err := s.open(ctx); err != nil {
				return nil, nil, err
			}
		}
		if len(s.queue) > 0 {
			changes, b := s.take()
			return changes, s.ackFunc(b), nil
		}
		advanced, err := s.round(ctx)
		if err != nil {
			s.setStatus(err.Error())
			return nil, nil, err
		}
		s.setStatus("")
		if advanced || len(s.queue) > 0 {
			continue
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Close releases the pinned session.
func (s *LogMinerSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

// Status reports each table's position (the SCN mined up to).
func (s *LogMinerSource) Status() []cdc.TableStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cdc.TableStatus
	for _, t := range s.sortedTables() {
		out = append(out, cdc.TableStatus{Table: t.typ, Strategy: cdc.StrategyLogMiner, Phase: "stream", Position: "scn:" + strconv.FormatUint(s.from, 10)})
	}
	return out
}

func (s *LogMinerSource) sortedTables() []*lmTable {
	var out []*lmTable
	for _, t := range s.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].typ < out[j].typ })
	return out
}

func (s *LogMinerSource) setStatus(st string) {
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
}

// open pins the session, checks the database and the tables, and loads
// (or, at the very first start, stores) the position.
func (s *LogMinerSource) open(ctx context.Context) error {
	conn, err := s.cfg.DB.Conn(ctx)
	if err != nil {
		return s.wrap("connect", "", err)
	}
	s.conn = conn
	var mode, min, pk, all, cur string
	if err := conn.QueryRowContext(ctx, LogMinerCheckSQL).Scan(&mode, &min, &pk, &all, &cur); err != nil {
		return s.wrap("check", "", err)
	}
	var problems []string
	if mode != "ARCHIVELOG" {
		problems = append(problems, "the database is not in ARCHIVELOG mode (SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN)")
	}
	if min != "YES" && min != "IMPLICIT" {
		problems = append(problems, "minimal supplemental logging is off (ALTER DATABASE ADD SUPPLEMENTAL LOG DATA)")
	}
	for _, t := range s.sortedTables() {
		cols, err := cdc.Columns(ctx, s.cfg.DB, Dialect{}, t.name)
		if err != nil {
			return err
		}
		t.kinds = map[string]cdc.Kind{}
		for _, c := range cols {
			t.kinds[c.Name] = c.Kind
		}
		if err := cdc.CheckKey(ctx, s.cfg.DB, Dialect{}, t.name, t.cfg.Key); err != nil {
			return err
		}
		if all == "YES" {
			continue
		}
		rows, err := conn.QueryContext(ctx, LogMinerTableLoggingSQL, strings.ToUpper(t.name.Schema), strings.ToUpper(t.name.Object))
		if err != nil {
			return s.wrap("check", t.typ, err)
		}
		ok := false
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err != nil {
				rows.Close()
				return s.wrap("check", t.typ, err)
			}
			ok = ok || g == "ALL COLUMN LOGGING"
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s.wrap("check", t.typ, err)
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("table %s has no supplemental logging of all columns, so updates and deletes would lack their before images (ALTER TABLE %s ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS)", t.name, t.name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("logminer: the database is not ready for mining: %s", strings.Join(problems, "; "))
	}
	pos, err := s.loadPosition()
	if err != nil {
		return err
	}
	if pos == nil {
		start := s.cfg.StartSCN
		if start == 0 {
			if start, err = strconv.ParseUint(cur, 10, 64); err != nil {
				return fmt.Errorf("logminer: CURRENT_SCN %q: %w", cur, err)
			}
		}
		// Stored at once: a restart before the first acknowledgement
		// mines from here too, not from a later CURRENT_SCN.
		pos = &lmPosition{Resume: start + 1}
		if err := s.storePosition(*pos); err != nil {
			return err
		}
		s.log.Info("mining starts", "scn", start)
	}
	s.start(*pos)
	s.opened = true
	return nil
}

func (s *LogMinerSource) start(pos lmPosition) {
	s.buf = &TxBuffer{MaxRows: s.cfg.MaxTxRows}
	s.queue = nil
	s.next = pos
	s.from = pos.Resume - 1
}

func (s *LogMinerSource) loadPosition() (*lmPosition, error) {
	b, err := s.cfg.Store.Position(s.cfg.Flow, lmPositionName)
	if err != nil || b == nil {
		return nil, err
	}
	var p lmPosition
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("logminer: stored position of %s: %w", s.cfg.Flow, err)
	}
	return &p, nil
}

func (s *LogMinerSource) storePosition(p lmPosition) error {
	b, _ := json.Marshal(p)
	return s.cfg.Store.SetPosition(s.cfg.Flow, lmPositionName, b)
}

// reset drops what was read ahead and mines again from the stored
// position (a batch was not delivered).
func (s *LogMinerSource) reset() error {
	pos, err := s.loadPosition()
	if err != nil {
		return err
	}
	if pos == nil {
		return errors.New("logminer: no stored position to rewind to")
	}
	s.log.Warn("mining again from the stored position (a batch was not delivered)", "scn", pos.Resume)
	s.start(*pos)
	return nil
}

func (s *LogMinerSource) wrap(op, table string, err error) error {
	if err == nil {
		return nil
	}
	return &cdc.Error{Op: "logminer " + op, Table: table, Class: Dialect{}.Classify(err), Err: err}
}

type redoLog struct {
	name          string
	thread, seq   int64
	first, nextCh uint64
	kind          string
}

// round mines (from, min(from+Window, CURRENT_SCN)]. It reports whether
// it moved.
func (s *LogMinerSource) round(ctx context.Context) (bool, error) {
	var curText string
	if err := s.conn.QueryRowContext(ctx, CurrentSCNSQL).Scan(&curText); err != nil {
		return false, s.wrap("current scn", "", err)
	}
	cur, err := strconv.ParseUint(curText, 10, 64)
	if err != nil {
		return false, fmt.Errorf("logminer: CURRENT_SCN %q: %w", curText, err)
	}
	if cur <= s.from {
		return false, nil
	}
	from, to := s.from, min(s.from+s.cfg.Window, cur)
	logs, err := s.logs(ctx, from, to)
	if err != nil {
		return false, err
	}
	for i, l := range logs {
		if _, err := s.conn.ExecContext(ctx, LogMinerAddFileSQL(i == 0), l.name); err != nil {
			return false, s.wrap("add logfile "+l.name, "", err)
		}
	}
	if _, err := s.conn.ExecContext(ctx, LogMinerStartSQL, strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)); err != nil {
		return false, s.wrap("start", "", err)
	}
	defer func() {
		if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), LogMinerEndSQL); err != nil {
			s.log.Warn("END_LOGMNR failed; the next round starts a new list", "err", err)
		}
	}()
	var names []cdc.Name
	for _, t := range s.sortedTables() {
		names = append(names, cdc.Name{Schema: strings.ToUpper(t.name.Schema), Object: strings.ToUpper(t.name.Object)})
	}
	q, args := LogMinerContentsSQL(from, to, names)
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return false, s.wrap("contents", "", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanMined(rows, s.loc)
		if err != nil {
			return false, s.wrap("contents", "", err)
		}
		if t := s.tables[r.Owner+"."+r.Table]; t != nil && r.Op != OpStart && r.Op != OpCommit && r.Op != OpRollback {
			if r.Op == OpDDL {
				return false, fmt.Errorf("logminer: DDL on %s at SCN %d (%s): the captured columns may have changed; check the table, then re-snapshot it and move the position past SCN %d", t.name, r.SCN, strings.TrimSpace(r.Redo), r.SCN)
			}
			if r.status == 2 || strings.Contains(r.info, "Dictionary Mismatch") {
				return false, fmt.Errorf("logminer: %s at SCN %d: the dictionary does not match the redo (%s); re-snapshot the table", t.name, r.SCN, r.info)
			}
		}
		txs, err := s.buf.Add(r.MinedRow)
		if err != nil {
			return false, err
		}
		for _, tx := range txs {
			if err := s.release(tx); err != nil {
				return false, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return false, s.wrap("contents", "", err)
	}
	s.from = to
	return true, nil
}

// logs lists the redo logs covering (from, to] and checks each thread's
// sequence has no gap.
func (s *LogMinerSource) logs(ctx context.Context, from, to uint64) ([]redoLog, error) {
	f, t := strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)
	rows, err := s.conn.QueryContext(ctx, LogMinerLogsSQL, f, t, f, t)
	if err != nil {
		return nil, s.wrap("logs", "", err)
	}
	defer rows.Close()
	var out []redoLog
	for rows.Next() {
		var l redoLog
		var first, next string
		var resetlogs sql.NullInt64
		if err := rows.Scan(&l.name, &l.thread, &l.seq, &first, &next, &resetlogs, &l.kind); err != nil {
			return nil, s.wrap("logs", "", err)
		}
		l.first, _ = strconv.ParseUint(first, 10, 64)
		l.nextCh, _ = strconv.ParseUint(next, 10, 64)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("logs", "", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("logminer: no redo log holds SCNs %d to %d (archived logs deleted before they were mined?); the changes in that range are lost to mining: re-snapshot the tables, then set the position past it", from+1, to)
	}
	last := map[int64]redoLog{}
	var lowest uint64
	for i, l := range out {
		if p, ok := last[l.thread]; ok && l.seq != p.seq && l.seq != p.seq+1 {
			return nil, fmt.Errorf("logminer: thread %d: log sequence %d follows %d (sequences %d to %d are missing, SCNs %d to %d); restore those archived logs, or re-snapshot the tables", l.thread, l.seq, p.seq, p.seq+1, l.seq-1, p.nextCh, l.first)
		}
		last[l.thread] = l
		if i == 0 || l.first < lowest {
			lowest = l.first
		}
	}
	if lowest > from+1 {
		return nil, fmt.Errorf("logminer: the oldest log holding changes starts at SCN %d, after %d: SCNs %d to %d are in no log (deleted archived logs?); restore them, or re-snapshot the tables", lowest, from+1, from+1, lowest-1)
	}
	// One file per sequence (online logs list every member).
	seen := map[[2]int64]bool{}
	var uniq []redoLog
	for _, l := range out {
		k := [2]int64{l.thread, l.seq}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, l)
		}
	}
	return uniq, nil
}

type minedScan struct {
	MinedRow
	status int64
	info   string
}

func scanMined(rows *sql.Rows, loc *time.Location) (minedScan, error) {
	var (
		scn, start, commit, xid, owner, table, rsid, info, redo, undo sql.NullString
		ts, cts                                                       sql.NullTime
		op, ssn, csf, rollback, status, thread                        sql.NullInt64
	)
	if err := rows.Scan(&scn, &start, &commit, &ts, &cts, &xid, &op, &owner, &table, &rsid, &ssn, &csf, &rollback, &status, &info, &thread, &redo, &undo); err != nil {
		return minedScan{}, err
	}
	num := func(s sql.NullString) uint64 {
		n, _ := strconv.ParseUint(strings.TrimSpace(s.String), 10, 64)
		return n
	}
	r := minedScan{MinedRow: MinedRow{SCN: num(scn), StartSCN: num(start), CommitSCN: num(commit), XID: xid.String, Op: int(op.Int64),
		Owner: owner.String, Table: table.String, RSID: strings.TrimSpace(rsid.String), SSN: int(ssn.Int64), CSF: csf.Int64 == 1,
		Rollback: rollback.Int64 == 1, Thread: int(thread.Int64), Redo: redo.String, Undo: undo.String}, status: status.Int64, info: info.String}
	// LogMiner's TIMESTAMP columns are DATEs in the database's zone.
	if ts.Valid {
		r.Time = wall(ts.Time, loc)
	}
	if cts.Valid {
		r.CommitTime = wall(cts.Time, loc)
	}
	if r.SCN == 0 {
		return r, fmt.Errorf("row without SCN (%q)", scn.String)
	}
	return r, nil
}

func wall(t time.Time, loc *time.Location) time.Time {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), loc)
}

// release queues a committed transaction's changes unless it was
// delivered before (mined again after a restart).
func (s *LogMinerSource) release(tx Transaction) error {
	if len(tx.Rows) == 0 {
		return nil // nothing of the captured tables
	}
	if tx.CommitSCN < s.next.Commit || (tx.CommitSCN == s.next.Commit && slices.Contains(s.next.XIDs, tx.XID)) {
		return nil
	}
	cs, err := s.changes(tx)
	if err != nil {
		return err
	}
	s.queue = append(s.queue, released{tx: tx, resume: s.buf.LowWatermark(tx.CommitSCN), changes: cs})
	return nil
}

// take moves whole transactions from the queue into a batch.
func (s *LogMinerSource) take() ([]cdc.Change, *lmBatch) {
	var changes []cdc.Change
	n := 0
	for n < len(s.queue) && (n == 0 || len(changes)+len(s.queue[n].changes) <= s.cfg.BatchSize) {
		r := s.queue[n]
		changes = append(changes, r.changes...)
		if r.tx.CommitSCN == s.next.Commit {
			s.next.XIDs = append(slices.Clone(s.next.XIDs), r.tx.XID)
		} else {
			s.next = lmPosition{Commit: r.tx.CommitSCN, XIDs: []string{r.tx.XID}}
		}
		s.next.Resume = r.resume
		n++
	}
	s.queue = s.queue[n:]
	b := &lmBatch{pos: s.next}
	s.mu.Lock()
	b.gen = s.gen
	s.inflight = append(s.inflight, b)
	s.mu.Unlock()
	return changes, b
}

func (s *LogMinerSource) ackFunc(b *lmBatch) legacybridge.AckFunc {
	return func(ctx context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if b.acked {
			return errors.New("logminer: batch acknowledged twice")
		}
		b.acked = true
		if b.gen != s.gen {
			return nil
		}
		if err != nil {
			s.rewindLocked()
			return nil
		}
		b.done = true
		n := 0
		for n < len(s.inflight) && s.inflight[n].done {
			n++
		}
		if n == 0 {
			return nil
		}
		if err := s.storePosition(s.inflight[n-1].pos); err != nil {
			s.rewindLocked()
			return err
		}
		s.inflight = append(s.inflight[:0], s.inflight[n:]...)
		return nil
	}
}

func (s *LogMinerSource) rewindLocked() {
	s.inflight = nil
	s.gen++
	s.rewind = true
}

// changes turns a committed transaction's rows into changes.
func (s *LogMinerSource) changes(tx Transaction) ([]cdc.Change, error) {
	var out []cdc.Change
	for i, r := range tx.Rows {
		t := s.tables[r.Owner+"."+r.Table]
		if t == nil {
			continue
		}
		redo, err := ParseRedo(r.Redo)
		if err != nil {
			return nil, fmt.Errorf("%w (transaction %s, SCN %d)", err, tx.XID, r.SCN)
		}
		if redo.Op != r.Op {
			return nil, fmt.Errorf("logminer: %s at SCN %d: OPERATION_CODE %d but SQL_REDO is a %s", t.name, r.SCN, r.Op, opName(redo.Op))
		}
		pos := "l:" + strconv.FormatUint(tx.CommitSCN, 10) + ":" + tx.XID + ":" + strconv.Itoa(i)
		mk := func(op cdc.Op, before, after cdc.Image) cdc.Change {
			img := after
			if op == cdc.OpDelete {
				img = before
			}
			return cdc.Change{Table: t.typ, Schema: t.name.Schema, Op: op, Key: cdc.KeyOf(img, t.keyNames), KeyColumns: t.keyNames,
				Before: before, After: after, Pos: pos, TxID: tx.XID, CommitTime: tx.CommitTime, ChangeTime: r.Time}
		}
		switch r.Op {
		case OpInsert:
			after, err := t.image(redo.Set, s.loc)
			if err != nil {
				return nil, fmt.Errorf("logminer: %s at SCN %d: %w", t.name, r.SCN, err)
			}
			out = append(out, mk(cdc.OpInsert, nil, after))
		case OpDelete:
			before, err := t.image(redo.Where, s.loc)
			if err != nil {
				return nil, fmt.Errorf("logminer: %s at SCN %d: %w", t.name, r.SCN, err)
			}
			out = append(out, mk(cdc.OpDelete, before, nil))
		case OpUpdate:
			// Before: the redo's conditions (all columns, with ALL COLUMN
			// logging) and the undo's assignments (the changed columns'
			// old values); after: the before image with the redo's
			// assignments.
			old := map[string]RedoValue{}
			for k, v := range redo.Where {
				old[k] = v
			}
			if strings.TrimSpace(r.Undo) != "" {
				undo, err := ParseRedo(r.Undo)
				if err != nil {
					return nil, fmt.Errorf("%w (SQL_UNDO, transaction %s, SCN %d)", err, tx.XID, r.SCN)
				}
				for k, v := range undo.Set {
					old[k] = v
				}
			}
			newer := map[string]RedoValue{}
			for k, v := range old {
				newer[k] = v
			}
			for k, v := range redo.Set {
				newer[k] = v
			}
			before, err := t.image(old, s.loc)
			if err != nil {
				return nil, fmt.Errorf("logminer: %s at SCN %d: %w", t.name, r.SCN, err)
			}
			after, err := t.image(newer, s.loc)
			if err != nil {
				return nil, fmt.Errorf("logminer: %s at SCN %d: %w", t.name, r.SCN, err)
			}
			ok, nk := cdc.KeyOf(before, t.keyNames), cdc.KeyOf(after, t.keyNames)
			if fmt.Sprint(ok) != fmt.Sprint(nk) {
				// A key update: consumers keyed by it see a delete of the
				// old key and an insert of the new one.
				out = append(out, mk(cdc.OpDelete, before, nil), mk(cdc.OpInsert, nil, after))
				continue
			}
			out = append(out, mk(cdc.OpUpdate, before, after))
		}
	}
	return out, nil
}

func opName(op int) string {
	switch op {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return strconv.Itoa(op)
}

// image types the values of a mined statement by the table's columns.
func (t *lmTable) image(vals map[string]RedoValue, loc *time.Location) (cdc.Image, error) {
	img := make(cdc.Image, len(vals))
	for col, v := range vals {
		col = strings.ToUpper(col)
		if len(t.cfg.Columns) > 0 && !slices.ContainsFunc(t.cfg.Columns, func(c string) bool { return strings.EqualFold(c, col) }) && !slices.Contains(t.keyNames, col) {
			continue
		}
		kind, known := t.kinds[col]
		if !known {
			kind = cdc.KindText
		}
		x, err := redoValue(kind, v, loc)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", col, err)
		}
		img[col] = x
	}
	return img, nil
}

func redoValue(kind cdc.Kind, v RedoValue, loc *time.Location) (any, error) {
	switch {
	case v.Null:
		return nil, nil
	case kind.IsLOB() || v.Func == "EMPTY_CLOB" || v.Func == "EMPTY_BLOB":
		return cdc.Skipped{Reason: "lob"}, nil
	case v.Unsupported:
		return cdc.Skipped{Reason: "unsupported"}, nil
	case v.Func == "HEXTORAW":
		b, err := hex.DecodeString(v.Text)
		if err != nil {
			return nil, fmt.Errorf("HEXTORAW(%q): %w", v.Text, err)
		}
		return cdc.Convert(kind, b, loc)
	}
	text := v.Text
	switch v.Func {
	case "TO_DATE", "TO_TIMESTAMP", "TO_TIMESTAMP_TZ":
		text = strings.TrimSuffix(text, ".") // TO_TIMESTAMP('2020-02-01 00:00:00.')
		// "... -05:00" → "...-05:00"
		if i := strings.LastIndexAny(text, "+-"); i > 10 && text[i-1] == ' ' {
			text = text[:i-1] + text[i:]
		}
	}
	return cdc.Convert(kind, text, loc)
}
