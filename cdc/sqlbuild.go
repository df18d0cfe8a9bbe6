package cdc

import (
	"encoding/json"
	"strings"
	"time"
)

// args collects bind values and hands out the dialect's placeholders.
type args struct {
	d    Dialect
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, bindValue(v))
	return a.d.Placeholder(len(a.vals))
}

// bindValue converts an engine value for binding: exact decimals go as
// text (never float), everything else as is.
func bindValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case time.Time:
		return x
	}
	return v
}

// keyCol is a key column ready for SQL text.
type keyCol struct {
	name  string // upper case
	kind  Kind
	order string // dialect OrderExpr of the quoted column
}

// keyAfter renders "key > vals" for a composite key in binary order,
// expanded (Oracle has no row-value comparison):
// (k1 > ?) OR (k1 = ? AND k2 > ?) OR ...
func keyAfter(a *args, cols []keyCol, vals []any) string {
	var ors []string
	for i := range cols {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, cols[j].order+" = "+a.add(vals[j]))
		}
		ands = append(ands, cols[i].order+" > "+a.add(vals[i]))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// keyIn renders "key IN (keys)": k IN (?, ?) for one column, else
// (k1 = ? AND k2 = ?) OR ... (portable to every dialect).
func keyIn(a *args, cols []keyCol, keys [][]any) string {
	if len(cols) == 1 {
		ps := make([]string, len(keys))
		for i, k := range keys {
			ps[i] = a.add(k[0])
		}
		return cols[0].order + " IN (" + strings.Join(ps, ", ") + ")"
	}
	ors := make([]string, len(keys))
	for i, k := range keys {
		ands := make([]string, len(cols))
		for j, c := range cols {
			ands[j] = c.order + " = " + a.add(k[j])
		}
		ors[i] = "(" + strings.Join(ands, " AND ") + ")"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

func orderBy(cols []keyCol) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.order
	}
	return strings.Join(s, ", ")
}
