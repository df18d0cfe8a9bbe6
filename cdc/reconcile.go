package cdc

import (
	"context"
	"time"
)

// reconcileRun is a key reconciliation in progress: the delivered keys are
// walked in pages, each page checked against the table by key.
type reconcileRun struct {
	after   []byte
	deletes int
	started time.Time
}

// reconcilePage is how many delivered keys one query checks (Oracle
// allows 1000 expressions in an IN list).
const reconcilePage = 500

// reconcileNext finds rows deleted since they were delivered: polling
// cannot see deletes (Kafka Connect JDBC: "deletes are never captured"),
// so the keys delivered so far are checked against the table; a key that
// is gone yields a delete, with the position "d:" + the key's last
// position (the same id if found again after a restart).
//
// The page of delivered keys is read before the table, and nothing of
// the table is in flight while a page is checked, so a key inserted in
// between is never taken for deleted.
func (s *Source) reconcileNext(ctx context.Context, t *table) (*batch, error) {
	if !t.keyIndexed() {
		return nil, nil
	}
	if t.rec == nil {
		if time.Since(t.state.LastReconcile) < t.reconcile {
			return nil, nil
		}
		t.rec = &reconcileRun{started: time.Now()}
	}
	if s.busy(t.typ) {
		return nil, nil
	}
	// A few pages per Read; the table's polling goes on between them.
	for range 20 {
		b, more, err := s.reconcilePage(ctx, t)
		if b != nil || err != nil || !more {
			return b, err
		}
	}
	return nil, nil
}

// reconcilePage checks one page of delivered keys. more is false when the
// walk has ended.
func (s *Source) reconcilePage(ctx context.Context, t *table) (*batch, bool, error) {
	r := t.rec
	keys, poss, err := s.cfg.Store.keyPage(s.cfg.Flow, t.typ, r.after, reconcilePage)
	if err != nil {
		return nil, false, &Error{Op: "reconcile", Table: t.typ, Err: err}
	}
	b := newBatch()
	if len(keys) == 0 {
		// The walk is over; the time is stored with the table's next batch
		// (after a restart before that, the walk simply runs again).
		t.state.LastReconcile = r.started
		if r.deletes > 0 {
			s.log.Info("key reconciliation found deleted rows", "table", t.typ, "deleted", r.deletes, "took", time.Since(r.started).Round(time.Millisecond))
		}
		t.rec = nil
		return nil, false, nil
	}
	r.after = keys[len(keys)-1]
	vals := make([][]any, len(keys))
	for i, k := range keys {
		if vals[i], err = decodeKey(k); err != nil {
			return nil, false, &Error{Op: "reconcile", Table: t.typ, Err: err}
		}
	}
	a := &args{d: s.d}
	sel := make([]string, len(t.key))
	for i, k := range t.key {
		sel[i] = s.d.Quote(k.name)
	}
	q := "SELECT " + joinComma(sel) + " FROM " + t.quoted + " WHERE " + keyIn(a, t.key, vals)
	rows, err := s.db.QueryContext(ctx, q, a.vals...)
	if err != nil {
		return nil, false, wrapErr(s.d, "reconcile", t.typ, err)
	}
	present := map[string]bool{}
	for rows.Next() {
		raw := make([]any, len(t.key))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, false, wrapErr(s.d, "reconcile", t.typ, err)
		}
		key := make([]any, len(raw))
		for i, k := range t.key {
			v, err := convert(k.kind, raw[i], s.loc)
			if err != nil {
				rows.Close()
				return nil, false, wrapErr(s.d, "reconcile", t.typ, err)
			}
			key[i] = normKey(v)
		}
		present[string(encodeKey(key))] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, false, wrapErr(s.d, "reconcile", t.typ, err)
	}
	for i, k := range keys {
		if present[string(k)] {
			continue
		}
		c := Change{Table: t.typ, Schema: t.name.Schema, Op: OpDelete, Key: vals[i], KeyColumns: t.keyNames, Pos: "d:" + poss[i]}
		b.changes = append(b.changes, c)
		b.keys = append(b.keys, keyUpdate{table: t.typ, key: k})
		r.deletes++
	}
	if len(b.changes) == 0 {
		return nil, true, nil
	}
	b.tables[t.typ] = true
	return b, true, nil
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
