package cdc

import (
	"fmt"
	"regexp"
	"strings"
)

// identRe is a plain SQL identifier: a letter or underscore, then letters,
// digits, underscores, $ or # (Oracle allows the last two), at most 128
// characters. Plain identifiers are case-insensitive in SQLite, PostgreSQL
// and Oracle, so names from config may be written in either case.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$#]{0,127}$`)

// CheckIdent reports whether s is a plain identifier (no quotes, no dots,
// no spaces). Names that reach SQL text are always checked with it and then
// quoted by the dialect; values never reach SQL text (they are bound).
func CheckIdent(s string) error {
	if !identRe.MatchString(s) {
		return fmt.Errorf("%q is not a plain SQL identifier (a letter or _, then letters, digits, _, $ or #, at most 128 characters)", s)
	}
	return nil
}

// Name is a table (or journal) name: an optional schema and the object,
// each a plain identifier. The zero Name is invalid.
type Name struct {
	Schema string // "" = the connection's default schema
	Object string
}

// ParseName reads "TABLE" or "SCHEMA.TABLE".
func ParseName(s string) (Name, error) {
	parts := strings.Split(s, ".")
	var n Name
	switch len(parts) {
	case 1:
		n.Object = parts[0]
	case 2:
		n.Schema, n.Object = parts[0], parts[1]
		if err := CheckIdent(n.Schema); err != nil {
			return Name{}, fmt.Errorf("schema of %q: %w", s, err)
		}
	default:
		return Name{}, fmt.Errorf("%q: want TABLE or SCHEMA.TABLE", s)
	}
	if err := CheckIdent(n.Object); err != nil {
		return Name{}, fmt.Errorf("table %q: %w", s, err)
	}
	return n, nil
}

// String is the name as written in config form, SCHEMA.TABLE or TABLE.
func (n Name) String() string {
	if n.Schema == "" {
		return n.Object
	}
	return n.Schema + "." + n.Object
}

// Type is the record type of the table's changes: the table name without
// its schema, upper case (MTL_MATERIAL_TRANSACTIONS), the same whichever
// database holds the copy.
func (n Name) Type() string { return strings.ToUpper(n.Object) }

// Quoted renders the name for SQL text with d's quoting.
func (n Name) Quoted(d Dialect) string {
	if n.Schema == "" {
		return d.Quote(n.Object)
	}
	return d.Quote(n.Schema) + "." + d.Quote(n.Object)
}

// columnName is the canonical (upper-case) form of a column name, used as
// image and record field keys.
func columnName(s string) string { return strings.ToUpper(s) }
