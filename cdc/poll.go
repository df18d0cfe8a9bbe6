package cdc

import (
	"context"
	"fmt"
	"time"
)

// pollQuery selects the rows after cur in change-column-then-key order:
//
//	SELECT cols, CURSOR(c) FROM t
//	WHERE c IS NOT NULL AND c >= :c AND (c > :c OR key > :key)
//	ORDER BY c, key
//
// Equal change times are resumed after the cursor's key, never skipped
// or repeated (Kafka Connect JDBC #598, #262). The `c >= :c` conjunct
// keeps an index on (c, key) usable.
func (t *table) pollQuery(d Dialect, cur *cursorState, limit int) (string, []any, error) {
	a := &args{d: d}
	qc := d.Quote(t.change)
	where := qc + " IS NOT NULL"
	if cur != nil && cur.Text != "" {
		if cur.Key == nil {
			where += " AND " + qc + " > " + d.CursorParam(len(a.vals)+1, t.chCol)
			a.vals = append(a.vals, cur.Text)
		} else {
			key, err := decodeValues(cur.Key)
			if err != nil {
				return "", nil, err
			}
			where += " AND " + qc + " >= " + d.CursorParam(len(a.vals)+1, t.chCol)
			a.vals = append(a.vals, cur.Text)
			where += " AND (" + qc + " > " + d.CursorParam(len(a.vals)+1, t.chCol)
			a.vals = append(a.vals, cur.Text)
			where += " OR " + keyAfter(a, t.key, key) + ")"
		}
	}
	q := "SELECT " + t.selList + ", " + d.CursorExpr(qc, t.chCol) + " AS " + d.Quote("LB_CURSOR") + " FROM " + t.quoted +
		" WHERE " + where + " ORDER BY " + qc + ", " + orderBy(t.key) + " " + d.Limit(limit)
	return q, a.vals, nil
}

// snapQuery selects the rows after key `after` in key order (keyset
// pagination: no long transaction, resumable after a restart).
func (t *table) snapQuery(d Dialect, after []any, limit int, withCursor bool) string {
	a := &args{d: d}
	q := "SELECT " + t.selList
	if withCursor {
		q += ", " + d.CursorExpr(d.Quote(t.change), t.chCol) + " AS " + d.Quote("LB_CURSOR")
	}
	q += " FROM " + t.quoted
	if after != nil {
		q += " WHERE " + keyAfter(a, t.key, after)
	}
	q += " ORDER BY " + orderBy(t.key)
	if limit > 0 {
		q += " " + d.Limit(limit)
	}
	return q
}

func snapArgs(d Dialect, t *table, after []any) []any {
	if after == nil {
		return nil
	}
	a := &args{d: d}
	keyAfter(a, t.key, after)
	return a.vals
}

// poll reads the next changes of a polled table: rows stamped after the
// cursor and before the safe time (see Horizon).
func (s *Source) poll(ctx context.Context, t *table) (*batch, error) {
	if s.safe.IsZero() {
		return nil, nil
	}
	cur := t.state.Cursor
	if cur == nil {
		cur = &cursorState{}
	}
	// What the stream had delivered before this poll (rows under the
	// floor count as delivered): a row created after it cannot have been.
	before := cur.Time
	if cur.Floor.After(before) {
		before = cur.Floor
	}
	limit := s.cfg.BatchSize
	b := newBatch()
	advanced, atEnd := false, false
	// Referenced LOBs are read in pieces after the rows, in the same
	// consistent read.
	var q queryer = s.db
	if len(t.refs) > 0 {
		tx, err := s.d.BeginSnapshot(ctx, s.db)
		if err != nil {
			return nil, wrapErr(s.d, "poll", t.typ, err)
		}
		defer tx.Rollback()
		q = tx
	}
	// Rows under the floor (delivered by the snapshot) are stepped over;
	// a few pages of them per Read, so other tables are not held up.
	for round := 0; round < 16 && len(b.changes) == 0 && !atEnd; round++ {
		query, vals, err := t.pollQuery(s.d, cur, limit)
		if err != nil {
			return nil, &Error{Op: "poll", Table: t.typ, Err: err}
		}
		rows, err := q.QueryContext(ctx, query, vals...)
		if err != nil {
			return nil, wrapErr(s.d, "poll", t.typ, err)
		}
		n := 0
		for rows.Next() {
			n++
			img, extra, err := t.scan(rows, 1, s.loc)
			if err != nil {
				rows.Close()
				return nil, wrapErr(s.d, "poll", t.typ, err)
			}
			ct, ok := img[t.change].(time.Time)
			if !ok {
				rows.Close()
				return nil, &Error{Op: "poll", Table: t.typ, Err: fmt.Errorf("change column %s holds %v (%T), not a date/time", t.change, img[t.change], img[t.change])}
			}
			if !ct.Before(s.safe) {
				atEnd = true // not final yet: a transaction may still commit a row stamped earlier
				break
			}
			key := keyOf(img, t.keyNames)
			text, err := cursorText(extra[0])
			if err != nil {
				rows.Close()
				return nil, &Error{Op: "poll", Table: t.typ, Err: err}
			}
			cur = &cursorState{Text: text, Time: ct, Key: encodeValues(key), Floor: cur.Floor}
			advanced = true
			if ct.Before(cur.Floor) {
				continue
			}
			s.addPolled(b, t, OpUpdate, img, key, "p:"+text, ct, before)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrapErr(s.d, "poll", t.typ, err)
		}
		if n < limit {
			atEnd = true
		}
	}
	if atEnd {
		t.caughtUp = s.safe
	} else {
		t.caughtUp = cur.Time
	}
	if !advanced {
		return nil, nil
	}
	if err := s.fillLOBs(ctx, q, t, b.changes); err != nil {
		return nil, err
	}
	t.state.Cursor = cur
	b.setState(t)
	return b, nil
}

func cursorText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("change column rendered as %T, want text", v)
}

// addPolled adds a change read from the table itself (poll or snapshot).
//
// Polling sees a row's latest version only, so whether it is an insert
// is decided, for a row read after the cursor time `before`:
//   - with the key store (Reconcile not negative): insert when its key
//     was never delivered; exact;
//   - otherwise, with CreatedColumn: insert when the row was created
//     after the cursor had reached (no version of it can have been
//     delivered), or when the version read is the one created (created
//     equals changed: a version is delivered only once its time is final,
//     so no later version shares it). A row created before the cursor and
//     changed after it is reported as an update although its first
//     version may have been superseded before a poll saw it: use the key
//     store where an insert must be recognised (mappings of inserts only);
//   - otherwise update.
func (s *Source) addPolled(b *batch, t *table, op Op, img Image, key []any, pos string, ct, before time.Time) {
	enc := encodeKey(key)
	if op == OpUpdate {
		decided := false
		if t.keyIndexed() {
			if s.isPending(t.typ, enc) || b.hasPending(t.typ, enc) {
				decided = true
			} else if _, known, err := s.cfg.Store.keyPos(s.cfg.Flow, t.typ, enc); err == nil {
				decided = true
				if !known {
					op = OpInsert
				}
			}
		}
		if !decided && t.created != "" {
			if c, ok := img[t.created].(time.Time); ok && (c.Equal(ct) || c.After(before)) {
				op = OpInsert
			}
		}
	}
	c := Change{Table: t.typ, Schema: t.name.Schema, Op: op, Key: key, KeyColumns: t.keyNames, After: img, Pos: pos, ChangeTime: ct}
	b.changes = append(b.changes, c)
	b.tables[t.typ] = true
	if t.keyIndexed() {
		b.keys = append(b.keys, keyUpdate{table: t.typ, key: enc, pos: pos})
		b.pending[t.typ] = append(b.pending[t.typ], string(enc))
	}
}

func (b *batch) hasPending(table string, key []byte) bool {
	for _, k := range b.pending[table] {
		if k == string(key) {
			return true
		}
	}
	return false
}

// pollSnapshot reads the next page of a polled table's snapshot: every
// row stamped before the boundary (or not at all), in key order. Rows
// stamped at or after the boundary belong to the stream, so nothing is
// delivered twice and nothing is missed, without holding a transaction
// open: a row changed during the snapshot gets a newer stamp and moves to
// the stream.
func (s *Source) pollSnapshot(ctx context.Context, t *table) (*batch, error) {
	sn := t.state.Snap
	after, err := decodeValues(sn.After)
	if err != nil {
		return nil, &Error{Op: "snapshot", Table: t.typ, Err: err}
	}
	limit := s.cfg.BatchSize
	var q queryer = s.db
	if len(t.refs) > 0 {
		tx, err := s.d.BeginSnapshot(ctx, s.db)
		if err != nil {
			return nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		defer tx.Rollback()
		q = tx
	}
	rows, err := q.QueryContext(ctx, t.snapQuery(s.d, after, limit, true), snapArgs(s.d, t, after)...)
	if err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	defer rows.Close()
	b := newBatch()
	n := 0
	seed := sn.Seed
	for rows.Next() {
		n++
		img, extra, err := t.scan(rows, 1, s.loc)
		if err != nil {
			return nil, wrapErr(s.d, "snapshot", t.typ, err)
		}
		key := keyOf(img, t.keyNames)
		after = key
		ct, stamped := img[t.change].(time.Time)
		if stamped && !ct.Before(sn.Boundary) {
			continue // changed since the snapshot began: the stream delivers it
		}
		if stamped {
			text, err := cursorText(extra[0])
			if err != nil {
				return nil, &Error{Op: "snapshot", Table: t.typ, Err: err}
			}
			if seed == nil || ct.After(seed.Time) {
				seed = &cursorState{Text: text, Time: ct}
			}
		} else {
			ct = time.Time{}
		}
		s.addPolled(b, t, OpSnapshot, img, key, "s:"+sn.Gen, ct, time.Time{})
		sn.Rows++
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(s.d, "snapshot", t.typ, err)
	}
	rows.Close()
	if err := s.fillLOBs(ctx, q, t, b.changes); err != nil {
		return nil, err
	}
	sn.After = encodeValues(after)
	sn.Seed = seed
	if n < limit {
		sn.Done = true
		t.state.Cursor = afterSnapshot(t.state.Cursor, seed, sn.Boundary)
		s.log.Info("snapshot done", "table", t.typ, "rows", sn.Rows, "generation", sn.Gen)
	}
	t.caughtUp = time.Time{}
	b.setState(t)
	return b, nil
}

// afterSnapshot is where the stream continues after a snapshot with this
// boundary: past the newest row it delivered, and never below the
// boundary.
func afterSnapshot(cur, seed *cursorState, boundary time.Time) *cursorState {
	next := &cursorState{}
	if cur != nil {
		*next = *cur
	}
	if seed != nil && (next.Text == "" || seed.Time.After(next.Time)) {
		next.Text, next.Time, next.Key = seed.Text, seed.Time, nil
	}
	if boundary.After(next.Floor) {
		next.Floor = boundary
	}
	return next
}
