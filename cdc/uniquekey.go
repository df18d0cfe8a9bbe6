package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// CheckKey checks that key, the configured key columns of table n, tell
// its rows apart: they must include every column of the table's primary
// key or of one of its unique indexes (constraints). A key that is not
// unique gives different rows the same change key and event id, and key
// reconciliation takes a row for present while another row of that key
// is deleted, so it is refused.
func CheckKey(ctx context.Context, db *sql.DB, d Dialect, n Name, key []string) error {
	uks, err := d.UniqueKeys(ctx, db, n)
	if err != nil {
		return wrapErr(d, "discover", n.String(), err)
	}
	return checkKeyAgainst(n, key, uks)
}

func checkKeyAgainst(n Name, key []string, uks [][]string) error {
	have := map[string]bool{}
	for _, k := range key {
		have[columnName(k)] = true
	}
	var list []string
	for _, uk := range uks {
		ok := len(uk) > 0
		cols := make([]string, len(uk))
		for i, c := range uk {
			cols[i] = columnName(c)
			ok = ok && have[cols[i]]
		}
		if ok {
			return nil
		}
		list = append(list, "("+strings.Join(cols, ", ")+")")
	}
	sort.Strings(list)
	found := "the table has no primary key and no unique index"
	if len(list) > 0 {
		found = "its primary key and unique indexes are on " + strings.Join(list, ", ")
	}
	ks := make([]string, len(key))
	for i, k := range key {
		ks[i] = columnName(k)
	}
	return fmt.Errorf("cdc: table %s: key (%s) is not unique: %s; different rows would get the same change key and event id. "+
		"Set key to the columns of the primary key or of a unique index, or have the DBA add a primary key or unique index on (%s)",
		n, strings.Join(ks, ", "), found, strings.Join(ks, ", "))
}

// CheckTable runs the checks a source makes of a table when it starts,
// for `legacybridge validate`: the table can be read, the configured key,
// change, created and captured columns exist and fit (an exact key, a
// date/time change column), and the key is unique (CheckKey).
func CheckTable(ctx context.Context, db *sql.DB, d Dialect, tc Table) error {
	t, err := newTable(tc, 0)
	if err != nil {
		return err
	}
	return t.discover(ctx, db, d)
}

// CheckJournal checks that journal (TABLE or SCHEMA.TABLE) exists with
// the columns the capture reads, as a source with journal tables does
// when it starts.
func CheckJournal(ctx context.Context, db *sql.DB, d Dialect, journal string) error {
	j, err := ParseName(journal)
	if err != nil {
		return fmt.Errorf("cdc: journal: %w", err)
	}
	jq := newJournalQueries(d, j)
	rows, err := db.QueryContext(ctx, "SELECT "+jq.cols+" FROM "+jq.quoted+" WHERE 1 = 0")
	if err != nil {
		e := wrapErr(d, "journal", j.String(), err)
		return fmt.Errorf("%w; create it before the first start with `legacybridge cdc install --config FILE --flow CAPTURE --apply` (or run the script it prints without --apply as the %s table owner)", e, d.Name())
	}
	return rows.Close()
}

// DropNullable returns the keys of uks whose index is not in nullable
// (keys with a column that may be NULL): a unique index lets many rows
// hold NULL there, so it does not tell those rows apart. Dialects'
// UniqueKeys use it.
func DropNullable(uks [][]string, nullable map[int]bool) [][]string {
	var out [][]string
	for i, uk := range uks {
		if !nullable[i] {
			out = append(out, uk)
		}
	}
	return out
}
