package cdc

import (
	"errors"
	"fmt"
)

// Statement is one SQL statement the engine runs.
type Statement struct {
	Purpose string
	SQL     string
	Args    int // bind values
}

// TableColumns is a table's config with its columns (as Columns reads
// them, or as a DBA lists them for a database not at hand).
type TableColumns struct {
	Table   Table
	Columns []Column
}

// Statements returns the statements a source with these tables runs,
// besides the dialect's own Horizon and snapshot transaction: for review
// (grants, indexes: `legacybridge cdc sql`) and for tests of the generated
// SQL of a database that is not at hand (Oracle). Values are never in the
// text; Args says how many are bound.
func Statements(d Dialect, journal string, tables []TableColumns) ([]Statement, error) {
	if journal == "" {
		journal = "LB_JOURNAL"
	}
	j, err := ParseName(journal)
	if err != nil {
		return nil, fmt.Errorf("cdc: journal: %w", err)
	}
	var out []Statement
	add := func(purpose, q string, args []any) {
		out = append(out, Statement{Purpose: purpose, SQL: q, Args: len(args)})
	}
	var journalTables []string
	for _, tc := range tables {
		t, err := newTable(tc.Table, 0)
		if err != nil {
			return nil, err
		}
		if err := t.configure(d, tc.Columns); err != nil {
			return nil, err
		}
		add("columns of "+t.typ, "SELECT * FROM "+t.quoted+" WHERE 1 = 0", nil)
		key := make([]any, len(t.key))
		for i := range key {
			key[i] = int64(0)
		}
		if lr, ok := d.(LOBReader); ok {
			for _, c := range t.refs {
				a := &args{d: d}
				n, _ := lr.LOBPieceSize(c.Kind)
				expr := lr.LOBPiece(d.Quote(c.Name), c.Kind, 1, n, a.add)
				qc := d.Quote(c.Name)
				add("large object "+t.typ+"."+c.Name+", one piece (lobs: reference)",
					"SELECT CASE WHEN "+qc+" IS NULL THEN 1 ELSE 0 END, "+expr+" FROM "+t.quoted+" WHERE "+keyIn(a, t.key, [][]any{key}), a.vals)
			}
		}
		switch t.cfg.Strategy {
		case StrategyPoll:
			q, a, err := t.pollQuery(d, nil, 500)
			if err != nil {
				return nil, err
			}
			add("poll "+t.typ+" from the start", q, a)
			q, a, err = t.pollQuery(d, &cursorState{Text: "x"}, 500)
			if err != nil {
				return nil, err
			}
			add("poll "+t.typ+" after a change time (after a snapshot)", q, a)
			q, a, err = t.pollQuery(d, &cursorState{Text: "x", Key: encodeValues(key)}, 500)
			if err != nil {
				return nil, err
			}
			add("poll "+t.typ+" after a change time and key", q, a)
			add("snapshot "+t.typ+", first page", t.snapQuery(d, nil, 500, true), nil)
			add("snapshot "+t.typ+", next page", t.snapQuery(d, key, 500, true), snapArgs(d, t, key))
			if t.keyIndexed() {
				ar := &args{d: d}
				in := keyIn(ar, t.key, [][]any{key, key})
				add("reconcile "+t.typ+" (keys still present, 2 of up to 500)", "SELECT "+keyList(d, t)+" FROM "+t.quoted+" WHERE "+in, ar.vals)
			}
		case StrategyJournal:
			journalTables = append(journalTables, t.typ)
			add("snapshot "+t.typ+", first page (in a consistent read)", t.snapQuery(d, nil, 500, false), nil)
			add("snapshot "+t.typ+", next page or after a restart (in a consistent read)", t.snapQuery(d, key, 500, false), snapArgs(d, t, key))
			ar := &args{d: d}
			in := keyIn(ar, t.key, [][]any{key, key})
			add("re-snapshot "+t.typ+": rows of journal deletes still present (2 of up to 500, in the consistent read)", "SELECT "+keyList(d, t)+" FROM "+t.quoted+" WHERE "+in, ar.vals)
		}
	}
	if len(journalTables) > 0 {
		jq := newJournalQueries(d, j)
		q, a := jq.read(0, journalTables, 500)
		add("read the journal", q, a)
		q, a = jq.seqsOf(journalTables[0])
		add("journal rows a snapshot read of "+journalTables[0]+" sees", q, a)
		q, a = jq.deletesOf(journalTables[0])
		add("journal deletes a re-snapshot read of "+journalTables[0]+" sees (rows it no longer has are delivered as deletes)", q, a)
		for _, st := range jq.purge([]int64{1, 2, 3, 7}) {
			add("purge delivered journal rows (example: 1-3 and 7)", st.sql, st.args)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("cdc: no tables")
	}
	return out, nil
}

func keyList(d Dialect, t *table) string {
	s := make([]string, len(t.key))
	for i, k := range t.key {
		s[i] = d.Quote(k.name)
	}
	return joinComma(s)
}
