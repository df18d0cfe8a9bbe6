package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Journal columns, the same in every dialect (quoted by the dialect).
const (
	JournalSeq       = "LB_SEQ"        // ascending sequence, assigned when the trigger runs
	JournalTable     = "LB_TABLE"      // record type of the table (upper case, no schema)
	JournalOp        = "LB_OP"         // I, U or D
	JournalKey       = "LB_KEY"        // JSON object of the key columns
	JournalBefore    = "LB_BEFORE"     // JSON object: the row before (U, D)
	JournalAfter     = "LB_AFTER"      // JSON object: the row after (I, U)
	JournalTxID      = "LB_TXID"       // transaction id where the database has one
	JournalChangedAt = "LB_CHANGED_AT" // statement time of the change, with zone
)

type journalQueries struct {
	d      Dialect
	quoted string
	cols   string
}

func newJournalQueries(d Dialect, j Name) journalQueries {
	cols := make([]string, 0, 8)
	for _, c := range []string{JournalSeq, JournalTable, JournalOp, JournalKey, JournalBefore, JournalAfter, JournalTxID, JournalChangedAt} {
		cols = append(cols, d.Quote(c))
	}
	return journalQueries{d: d, quoted: j.Quoted(d), cols: strings.Join(cols, ", ")}
}

// read selects journal rows of tables after sequence `after`, in sequence
// order.
//
// The sequence is assigned when the trigger runs, not at commit, so a
// transaction that commits late leaves a lower number behind rows already
// read. The journal is therefore read as a queue, not by a high-water
// mark: rows are deleted once delivered, and every read with nothing in
// flight starts again from the lowest number left, where late rows show up.
// Rows of one key cannot overtake each other: a second transaction that
// changes the same row waits for the first one's row lock.
func (q journalQueries) read(after int64, tables []string, limit int) (string, []any) {
	a := &args{d: q.d}
	d := q.d
	// Placeholders are handed out in the order they appear in the text
	// (SQLite's ? is positional).
	s := "SELECT " + q.cols + " FROM " + q.quoted + " WHERE " + d.Quote(JournalSeq) + " > " + a.add(after)
	ps := make([]string, len(tables))
	for i, t := range tables {
		ps[i] = a.add(t)
	}
	s += " AND " + d.Quote(JournalTable) + " IN (" + strings.Join(ps, ", ") + ") ORDER BY " + d.Quote(JournalSeq) + " " + d.Limit(limit)
	return s, a.vals
}

// seqsOf selects the sequence numbers of one table's journal rows.
func (q journalQueries) seqsOf(table string) (string, []any) {
	a := &args{d: q.d}
	d := q.d
	return "SELECT " + d.Quote(JournalSeq) + " FROM " + q.quoted + " WHERE " + d.Quote(JournalTable) + " = " + a.add(table) +
		" ORDER BY " + d.Quote(JournalSeq), a.vals
}

// deletesOf selects one table's journal deletes, in sequence order: a
// re-snapshot's read covers them, and delivers those of rows it no longer
// has (see absentDeletes).
func (q journalQueries) deletesOf(table string) (string, []any) {
	a := &args{d: q.d}
	d := q.d
	return "SELECT " + d.Quote(JournalSeq) + ", " + d.Quote(JournalKey) + ", " + d.Quote(JournalBefore) + ", " + d.Quote(JournalTxID) + ", " + d.Quote(JournalChangedAt) +
		" FROM " + q.quoted + " WHERE " + d.Quote(JournalTable) + " = " + a.add(table) + " AND " + d.Quote(JournalOp) + " = " + a.add("D") +
		" ORDER BY " + d.Quote(JournalSeq), a.vals
}

// purge deletes journal rows by sequence: ranges of consecutive numbers
// as BETWEEN, the rest in IN lists; at most 200 terms a statement (Oracle
// caps IN lists at 1000 and long statements hurt go-ora, #74). Only rows
// that were read are named: a late row with a lower number survives.
func (q journalQueries) purge(seqs []int64) []stmt {
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	spans := toSpans(dedup(seqs))
	d := q.d
	col := d.Quote(JournalSeq)
	var out []stmt
	for len(spans) > 0 {
		n := min(len(spans), 200)
		a := &args{d: d}
		var terms, singles []string
		for _, sp := range spans[:n] { // ranges first, then singles: text order
			if sp[0] != sp[1] {
				terms = append(terms, col+" BETWEEN "+a.add(sp[0])+" AND "+a.add(sp[1]))
			}
		}
		for _, sp := range spans[:n] {
			if sp[0] == sp[1] {
				singles = append(singles, a.add(sp[0]))
			}
		}
		if len(singles) > 0 {
			terms = append(terms, col+" IN ("+strings.Join(singles, ", ")+")")
		}
		out = append(out, stmt{"DELETE FROM " + q.quoted + " WHERE " + strings.Join(terms, " OR "), a.vals})
		spans = spans[n:]
	}
	return out
}

type stmt struct {
	sql  string
	args []any
}

func dedup(s []int64) []int64 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (s *Source) checkJournal(ctx context.Context) error {
	return CheckJournal(ctx, s.db, s.d, s.journal.String())
}

func (s *Source) purge(ctx context.Context, seqs []int64) error {
	stmts := s.jq.purge(seqs)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(s.d, "purge", s.journal.String(), err)
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return wrapErr(s.d, "purge", s.journal.String(), err)
		}
	}
	return wrapErr(s.d, "purge", s.journal.String(), tx.Commit())
}

// journalNext reads the next journal rows of the tables that are not
// being snapshotted.
func (s *Source) journalNext(ctx context.Context) (*batch, error) {
	var tables []string

	for _, t := range s.tables {
		if t.cfg.Strategy == StrategyJournal && t.started() && t.state.Snap.Done {
			tables = append(tables, t.typ)
		}
	}
	if len(tables) == 0 {
		return nil, nil
	}
	// Rows in flight are not read again; with nothing in flight the read
	// starts from the lowest sequence left (late commits land there).
	after := s.inflightMaxSeq()
	q, vals := s.jq.read(after, tables, s.cfg.BatchSize)
	rows, err := s.db.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, wrapErr(s.d, "journal", s.journal.String(), err)
	}
	defer rows.Close()
	b := newBatch()
	n := 0
	var last time.Time
	for rows.Next() {
		n++
		var (
			seq                               int64
			tbl, op                           string
			key, before, after, txid, changed any
		)
		if err := rows.Scan(&seq, &tbl, &op, &key, &before, &after, &txid, &changed); err != nil {
			return nil, wrapErr(s.d, "journal", s.journal.String(), err)
		}
		b.purge = append(b.purge, seq)
		t := s.byType[tbl]
		if t == nil {
			continue // not asked for (the IN list names only our tables)
		}
		cs, at, err := s.journalChanges(t, seq, op, key, before, after, txid, changed)
		if err != nil {
			return nil, &Error{Op: "journal", Table: t.typ, Err: fmt.Errorf("journal row %d: %w", seq, err)}
		}
		last = at
		for _, c := range cs {
			if t.covered(seq, c.Key) {
				continue // the snapshot read already held this change
			}
			b.changes = append(b.changes, c)
			b.tables[t.typ] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(s.d, "journal", s.journal.String(), err)
	}
	rows.Close()
	if err := s.journalLOBs(ctx, b.changes); err != nil {
		return nil, err
	}
	if n == 0 {
		s.journalCaughtUp(tables, s.dbNow)
		s.clearCoverage(ctx, tables, after)
		return nil, nil
	}
	if n < s.cfg.BatchSize {
		s.journalCaughtUp(tables, s.dbNow)
	} else {
		s.journalCaughtUp(tables, last)
	}
	b.tables[journalStream] = true
	return b, nil
}

// journalLOBs turns the referenced LOBs of journal changes into
// references, table by table.
func (s *Source) journalLOBs(ctx context.Context, cs []Change) error {
	for i := 0; i < len(cs); {
		j := i
		for j < len(cs) && cs[j].Table == cs[i].Table {
			j++
		}
		if err := s.refJournalLOBs(ctx, s.byType[cs[i].Table], cs[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// journalStream marks batches holding journal rows.
const journalStream = "\x00journal"

func (s *Source) journalCaughtUp(tables []string, at time.Time) {
	for _, tn := range tables {
		s.byType[tn].caughtUp = at
	}
}

// clearCoverage forgets a finished snapshot's list of journal rows once
// none of them is left in the journal.
func (s *Source) clearCoverage(ctx context.Context, tables []string, after int64) {
	if after != 0 {
		return
	}
	for _, tn := range tables {
		t := s.byType[tn]
		if len(t.attempts) == 0 {
			continue
		}
		t.state.Snap.Attempts = nil
		t.attempts = nil
		if err := s.cfg.Store.commit(s.cfg.Flow, map[string]tableState{t.typ: t.state.clone()}, nil); err != nil {
			s.log.Warn("could not store the end of a snapshot's journal coverage; kept for now", "table", t.typ, "err", err)
		}
	}
}

func (s *Source) inflightMaxSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m int64
	for _, b := range s.inflight {
		for _, q := range b.purge {
			m = max(m, q)
		}
	}
	return m
}

// journalChanges turns one journal row into changes: an update that
// changed the key becomes a delete of the old key and an insert of the
// new one, so consumers keyed by it stay right.
func (s *Source) journalChanges(t *table, seq int64, op string, key, before, after, txid, changed any) ([]Change, time.Time, error) {
	text := func(v any) (string, error) {
		switch x := v.(type) {
		case nil:
			return "", nil
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
		if tx, ok := s.d.(interface{ JournalText(any) (string, error) }); ok {
			return tx.JournalText(v)
		}
		return "", fmt.Errorf("journal image is %T, want text", v)
	}
	var at time.Time
	switch x := changed.(type) {
	case time.Time:
		at = x
	case string:
		t, err := parseTime(x, time.UTC)
		if err != nil {
			return nil, at, err
		}
		at = t
	}
	var imgs [3]Image
	for i, v := range []any{key, before, after} {
		txt, err := text(v)
		if err != nil {
			return nil, at, err
		}
		if imgs[i], err = t.decodeImage(txt, s.loc); err != nil {
			return nil, at, err
		}
	}
	keyImg, bef, aft := imgs[0], imgs[1], imgs[2]
	// Skipped LOBs the trigger left out (cdc install omits them) are
	// marked as a skipped LOB all the same.
	for _, img := range []Image{bef, aft} {
		for _, c := range t.skipped {
			if _, ok := img[c]; !ok && img != nil {
				img[c] = Skipped{Reason: "lob"}
			}
		}
	}
	txs, _ := text(txid)
	pos := "j:" + strconv.FormatInt(seq, 10) + "@" + at.UTC().Format(time.RFC3339Nano)
	mk := func(o Op, k []any, b, a Image) Change {
		return Change{Table: t.typ, Schema: t.name.Schema, Op: o, Key: k, KeyColumns: t.keyNames,
			Before: b, After: a, Pos: pos, TxID: txs, ChangeTime: at}
	}
	k := keyOf(keyImg, t.keyNames)
	switch op {
	case "I":
		if aft == nil {
			return nil, at, fmt.Errorf("insert without an after image")
		}
		return []Change{mk(OpInsert, keyOf(aft, t.keyNames), nil, aft)}, at, nil
	case "U":
		if aft == nil {
			return nil, at, fmt.Errorf("update without an after image")
		}
		nk := keyOf(aft, t.keyNames)
		if bef != nil {
			if ok := keyOf(bef, t.keyNames); compareKeys(ok, nk) != 0 {
				return []Change{mk(OpDelete, ok, bef, nil), mk(OpInsert, nk, nil, aft)}, at, nil
			}
		}
		return []Change{mk(OpUpdate, nk, bef, aft)}, at, nil
	case "D":
		if bef != nil {
			k = keyOf(bef, t.keyNames)
		}
		return []Change{mk(OpDelete, k, bef, nil)}, at, nil
	}
	return nil, at, fmt.Errorf("unknown operation %q (want I, U or D)", op)
}

// journalSnap is an open snapshot read of a journal table: one
// consistent read-only transaction that first lists the table's journal
// rows it can see (their changes are in what it reads, so they are not
// delivered again after the snapshot) and then reads the rows in key
// order. While it runs the table's journal rows wait in the journal.
// After a restart the snapshot continues after the last delivered key in
// a new read with its own list.
type journalSnap struct {
	tx *sql.Tx
	// deletes (re-snapshots): covered journal deletes of rows the read
	// does not have, delivered with its first batch.
	deletes []Change
}

func (j *journalSnap) close() {
	if j.tx != nil {
		j.tx.Rollback()
	}
}

func (s *Source) journalSnapshot(ctx context.Context, t *table) (*batch, error) {
	sn := t.state.Snap
	after, err := decodeValues(sn.After)
	if err != nil {
		return nil, &Error{Op: "snapshot", Table: t.typ, Err: err}
	}
	b := newBatch()
	if t.jsnap == nil {
		js, spans, err := s.beginJournalSnap(ctx, t, after)
		if err != nil {
			return nil, err
		}
		t.jsnap = js
		sn.Attempts = append(sn.Attempts, attemptState{From: sn.After, Seqs: spans})
		if err := t.decodeAttempts(); err != nil {
			return nil, err
		}
		b.changes = append(b.changes, js.deletes...)
		js.deletes = nil
	}
	js := t.jsnap
	// One page of rows per Read, by key, all pages in the snapshot's one
	// consistent read (referenced LOBs are read in it too, between pages).
	rows, err := js.tx.QueryContext(ctx, t.snapQuery(s.d, after, s.cfg.BatchSize, false), snapArgs(s.d, t, after)...)
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	n := 0
	first := len(b.changes)
	for rows.Next() {
		n++
		img, _, err := t.scan(rows, 0, s.loc)
		if err != nil {
			rows.Close()
			return nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		key := keyOf(img, t.keyNames)
		after = key
		b.changes = append(b.changes, Change{Table: t.typ, Schema: t.name.Schema, Op: OpSnapshot, Key: key, KeyColumns: t.keyNames, After: img, Pos: "s:" + sn.Gen})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	if err := s.refJournalLOBs(ctx, t, b.changes[:first]); err != nil {
		return nil, err
	}
	if err := s.fillLOBs(ctx, js.tx, t, b.changes[first:]); err != nil {
		return nil, err
	}
	sn.Rows += int64(n)
	if n < s.cfg.BatchSize {
		js.close()
		t.jsnap = nil
		sn.Done = true
		s.log.Info("snapshot done", "table", t.typ, "rows", sn.Rows, "generation", sn.Gen)
	}
	sn.After = encodeValues(after)
	b.setState(t)
	return b, nil
}

func (s *Source) beginJournalSnap(ctx context.Context, t *table, after []any) (*journalSnap, []seqSpan, error) {
	// The read outlives this Read call; Close and rewinds end it.
	tx, err := s.d.BeginSnapshot(context.WithoutCancel(ctx), s.db)
	if err != nil {
		return nil, nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	js := &journalSnap{tx: tx}
	q, vals := s.jq.seqsOf(t.typ)
	rows, err := tx.QueryContext(ctx, q, vals...)
	if err != nil {
		js.close()
		return nil, nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	var seqs []int64
	for rows.Next() {
		var q int64
		if err := rows.Scan(&q); err != nil {
			rows.Close()
			js.close()
			return nil, nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		seqs = append(seqs, q)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		js.close()
		return nil, nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	if t.state.Snap.Requested {
		if js.deletes, err = s.absentDeletes(ctx, tx, t, after); err != nil {
			js.close()
			return nil, nil, err
		}
	}
	return js, toSpans(seqs), nil
}

// absentDeletes returns, for a re-snapshot read (tx), the journal deletes
// of the table it covers whose rows it does not have: the consumer may
// hold those rows from the stream before the re-snapshot, and a snapshot
// cannot show that a row is gone. Only keys after `after` count (rows up
// to it were read by an earlier attempt of the snapshot, which delivered
// its own). Of several deletes of one key the last is delivered; its
// position is the journal row's, so a second attempt delivers it with the
// same event id.
func (s *Source) absentDeletes(ctx context.Context, tx *sql.Tx, t *table, after []any) ([]Change, error) {
	q, vals := s.jq.deletesOf(t.typ)
	rows, err := tx.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	last := map[string]int{}
	var dels []Change
	for rows.Next() {
		var seq int64
		var key, before, txid, changed any
		if err := rows.Scan(&seq, &key, &before, &txid, &changed); err != nil {
			rows.Close()
			return nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		cs, _, err := s.journalChanges(t, seq, "D", key, before, nil, txid, changed)
		if err != nil {
			rows.Close()
			return nil, &Error{Op: "snapshot", Table: t.typ, Err: fmt.Errorf("journal row %d: %w", seq, err)}
		}
		c := cs[0]
		if after != nil && compareKeys(c.Key, after) <= 0 {
			continue
		}
		k := string(encodeKey(c.Key))
		if i, ok := last[k]; ok {
			dels[i] = c
			continue
		}
		last[k] = len(dels)
		dels = append(dels, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	var out []Change
	for page := dels; len(page) > 0; page = page[min(len(page), reconcilePage):] {
		part := page[:min(len(page), reconcilePage)]
		keys := make([][]any, len(part))
		for i, c := range part {
			keys[i] = c.Key
		}
		a := &args{d: s.d}
		q := "SELECT " + keyList(s.d, t) + " FROM " + t.quoted + " WHERE " + keyIn(a, t.key, keys)
		present, err := s.presentKeys(ctx, tx, t, q, a.vals)
		if err != nil {
			return nil, err
		}
		for _, c := range part {
			if !present[string(encodeKey(c.Key))] {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// presentKeys runs q (selecting the key columns) and returns the encoded
// keys it found.
func (s *Source) presentKeys(ctx context.Context, tx *sql.Tx, t *table, q string, vals []any) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	defer rows.Close()
	present := map[string]bool{}
	for rows.Next() {
		raw := make([]any, len(t.key))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		key := make([]any, len(raw))
		for i, k := range t.key {
			v, err := convert(k.kind, raw[i], s.loc)
			if err != nil {
				return nil, wrapErr(s.d, "snapshot", t.typ, err)
			}
			key[i] = normKey(v)
		}
		present[string(encodeKey(key))] = true
	}
	return present, wrapErr(s.d, "snapshot", t.typ, rows.Err())
}
