package cdc

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeDialect renders SQL text only; numbered selects $n or ? placeholders.
type fakeDialect struct{ numbered bool }

func (fakeDialect) Name() string          { return "fake" }
func (fakeDialect) Quote(s string) string { return `"` + strings.ToUpper(s) + `"` }
func (f fakeDialect) Placeholder(n int) string {
	if f.numbered {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}
func (fakeDialect) Limit(n int) string                                { return "LIMIT " + strconv.Itoa(n) }
func (fakeDialect) Kind(*sql.ColumnType) Kind                         { return KindText }
func (fakeDialect) CursorExpr(c string, _ Column) string              { return "TXT(" + c + ")" }
func (f fakeDialect) CursorParam(n int, _ Column) string              { return "TS(" + f.Placeholder(n) + ")" }
func (fakeDialect) OrderExpr(c string, k Kind) string                 { return c }
func (fakeDialect) Classify(error) ErrorClass                         { return ErrorClass{} }
func (fakeDialect) JournalDDL(Name, []TableDef) ([]string, error)     { return nil, nil }
func (fakeDialect) DropJournalDDL(Name, []TableDef) ([]string, error) { return nil, nil }
func (fakeDialect) Horizon(context.Context, *sql.DB) (Horizon, error) { return Horizon{}, nil }
func (fakeDialect) UniqueKeys(context.Context, *sql.DB, Name) ([][]string, error) {
	return nil, nil
}
func (fakeDialect) BeginSnapshot(context.Context, *sql.DB) (*sql.Tx, error) {
	return nil, nil
}

// bind substitutes the values for the placeholders, by number or in
// order, so both styles must give the same text.
func bind(q string, vals []any) string {
	i := 0
	return regexp.MustCompile(`\$\d+|\?`).ReplaceAllStringFunc(q, func(p string) string {
		n := i
		if p != "?" {
			n, _ = strconv.Atoi(p[1:])
			n--
		}
		i++
		if n >= len(vals) {
			return "<missing>"
		}
		return fmt.Sprintf("%#v", vals[n])
	})
}

func testTable(d Dialect) *table {
	t := &table{name: Name{Object: "T"}, typ: "T", quoted: `"T"`, change: "LAST_UPDATE_DATE", chKind: KindTime,
		keyNames: []string{"A", "B"}, selList: `"A", "B", "X"`}
	t.key = []keyCol{{name: "A", kind: KindInt, order: d.Quote("A")}, {name: "B", kind: KindText, order: d.Quote("B")}}
	return t
}

func TestGeneratedStatementsBindInTextOrder(t *testing.T) {
	cur := &cursorState{Text: "2024-05-01 10:00:00", Key: encodeValues([]any{int64(7), "x"})}
	want := `SELECT "A", "B", "X", TXT("LAST_UPDATE_DATE") AS "LB_CURSOR" FROM "T" WHERE "LAST_UPDATE_DATE" IS NOT NULL AND "LAST_UPDATE_DATE" >= TS("2024-05-01 10:00:00") AND ("LAST_UPDATE_DATE" > TS("2024-05-01 10:00:00") OR (("A" > 7) OR ("A" = 7 AND "B" > "x"))) ORDER BY "LAST_UPDATE_DATE", "A", "B" LIMIT 50`
	for _, d := range []fakeDialect{{numbered: true}, {numbered: false}} {
		q, vals, err := testTable(d).pollQuery(d, cur, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got := bind(q, vals); got != want {
			t.Errorf("poll query (numbered %v):\n got %s\nwant %s", d.numbered, got, want)
		}
		jq := newJournalQueries(d, Name{Schema: "lb", Object: "journal"})
		q, vals = jq.read(41, []string{"T", "U"}, 10)
		if got, want := bind(q, vals), `SELECT "LB_SEQ", "LB_TABLE", "LB_OP", "LB_KEY", "LB_BEFORE", "LB_AFTER", "LB_TXID", "LB_CHANGED_AT" FROM "LB"."JOURNAL" WHERE "LB_SEQ" > 41 AND "LB_TABLE" IN ("T", "U") ORDER BY "LB_SEQ" LIMIT 10`; got != want {
			t.Errorf("journal read (numbered %v):\n got %s\nwant %s", d.numbered, got, want)
		}
		st := jq.purge([]int64{9, 3, 4, 5, 12, 7, 8})
		if len(st) != 1 {
			t.Fatalf("%d purge statements", len(st))
		}
		if got, want := bind(st[0].sql, st[0].args), `DELETE FROM "LB"."JOURNAL" WHERE "LB_SEQ" BETWEEN 3 AND 5 OR "LB_SEQ" BETWEEN 7 AND 9 OR "LB_SEQ" IN (12)`; got != want {
			t.Errorf("purge (numbered %v):\n got %s\nwant %s", d.numbered, got, want)
		}
		a := &args{d: d}
		in := keyIn(a, testTable(d).key, [][]any{{int64(1), "p"}, {json.Number("2"), "q"}})
		if got, want := bind(in, a.vals), `(("A" = 1 AND "B" = "p") OR ("A" = "2" AND "B" = "q"))`; got != want {
			t.Errorf("key IN (numbered %v):\n got %s\nwant %s", d.numbered, got, want)
		}
	}
}

func TestPurgeStatementsStaySmall(t *testing.T) {
	var seqs []int64
	for i := int64(0); i < 2000; i++ {
		seqs = append(seqs, i*2) // no two consecutive: 2000 singles
	}
	st := newJournalQueries(fakeDialect{numbered: true}, Name{Object: "J"}).purge(seqs)
	total := 0
	for _, s := range st {
		if len(s.args) > 200 {
			t.Errorf("purge statement with %d values (Oracle caps IN lists at 1000; keep statements small)", len(s.args))
		}
		total += len(s.args)
	}
	if total != 2000 {
		t.Errorf("%d values purged, want 2000", total)
	}
}
