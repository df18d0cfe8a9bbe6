package mappings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// evalOn compiles one expression for a record's format and evaluates it at
// the record's root, as a data field would be.
func evalOn(t *testing.T, rec legacybridge.Record, groups map[string]map[string]bool, lookups map[string]map[string]string, loc *time.Location, text string) (any, error) {
	t.Helper()
	if loc == nil {
		loc = time.UTC
	}
	if groups == nil {
		groups = map[string]map[string]bool{}
	}
	m := &Mapping{name: "test", format: rec.Format, loc: loc, groups: groups, lookups: lookups}
	e := m.compileExpr(nil, "expr", text)
	if len(m.problems) > 0 {
		t.Fatalf("%s: %v", text, errors.Join(m.problems...))
	}
	c := &evalCtx{m: m, rec: &rec}
	root := scope{}
	if len(rec.Segments) > 0 {
		d, err := buildDoc(rec.Segments, groups, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.doc, root = d, scope{n: d.root}
	}
	f := &exprField{e}
	return f.eval(c, root)
}

func fwRecord(fields map[string]any) legacybridge.Record {
	return legacybridge.Record{
		Format: "fixedwidth", Type: "movement",
		Pos:      legacybridge.Position{File: "INV.txt", Line: 2, Offset: 181, Index: 1},
		Envelope: map[string]string{"plant": "DAL1", "exported_at": "2024-01-15T22:15:00-06:00"},
		Fields:   fields,
	}
}

func TestTransforms(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	lookups := map[string]map[string]string{
		"uom":  {"EA": "each", "KG": "kilogram", "XX": ""},
		"type": {"RCPT": "receipt"},
	}
	rec := fwRecord(map[string]any{
		"padded":   "  A-01  ",
		"blank":    "    ",
		"lower":    "ea",
		"qty":      json.Number("-00012.500"),
		"txid":     int64(784501),
		"at":       time.Date(2024, 1, 15, 6, 12, 4, 0, chicago),
		"date8":    "20111206",
		"date6":    "111206",
		"date6old": "960807",
		"badDate":  "20110230",
		"hhmm":     "1424",
		"hhmmss":   "142428",
		"hhmmssdd": "14242850",
		"badTime":  "2460",
		"uom":      "EA",
		"unknown":  "ZZ",
		"dropped":  "XX",
		"n":        "0007.50",
		"half":     ".5",
		"trailing": "12.50-",
		"plus":     "+3",
		"negzero":  "-0.00",
		"implied":  "1250",
		"tiny":     "5",
		"exp":      "1.5E3",
		"comma":    "1,000",
		"int":      "24.00",
		"frac":     "24.5",
		"word":     "abc",
	})
	cases := []struct {
		expr string
		loc  *time.Location
		want any
		err  string // substring of the error; "" = no error
	}{
		{expr: "fields.padded | trim", want: "A-01"},
		{expr: "fields.padded", want: "  A-01  "},
		{expr: "fields.blank | trim", want: nil},
		{expr: "fields.lower | upper", want: "EA"},
		{expr: "fields.uom | lower", want: "ea"},
		{expr: "fields.txid | upper", err: "upper: not text"},
		{expr: "fields.txid | string", want: "784501"},
		{expr: "fields.txid", want: json.Number("784501")},
		{expr: "fields.qty | number", want: json.Number("-12.500")},
		{expr: "fields.n | number", want: json.Number("7.50")},
		{expr: "fields.half | number", want: json.Number("0.5")},
		{expr: "fields.trailing | number", want: json.Number("-12.50")},
		{expr: "fields.plus | number", want: json.Number("3")},
		{expr: "fields.negzero | number", want: json.Number("0.00")},
		{expr: "fields.implied | number(2)", want: json.Number("12.50")},
		{expr: "fields.tiny | number(3)", want: json.Number("0.005")},
		{expr: "fields.n | number(2)", want: json.Number("7.50")}, // an explicit point wins
		{expr: "fields.exp | number", want: json.Number("1.5E3")},
		{expr: "fields.txid | number", want: json.Number("784501")},
		{expr: "fields.comma | number", err: `number: not a decimal: "1,000"`},
		{expr: "fields.word | number", err: "not a decimal"},
		{expr: "fields.int | integer", want: json.Number("24")},
		{expr: "fields.frac | integer", err: "integer: not an integer: 24.5"},
		{expr: "fields.date8 | date", want: "2011-12-06"},
		{expr: "fields.date6 | date", want: "2011-12-06"},
		{expr: "fields.date6old | date", want: "1996-08-07"},
		{expr: "fields.badDate | date", err: "no such date"},
		{expr: "fields.at | date", want: "2024-01-15"},
		{expr: "envelope.exported_at | date", want: "2024-01-15"},
		{expr: "fields.word | date", err: "not a date"},
		{expr: "fields.date8 | datetime(fields.hhmm)", want: "2011-12-06T14:24:00Z"},
		{expr: "fields.date8 | datetime(fields.hhmmss)", want: "2011-12-06T14:24:28Z"},
		{expr: "fields.date8 | datetime(fields.hhmmssdd)", want: "2011-12-06T14:24:28.5Z"},
		{expr: "fields.date8 | datetime(fields.hhmm)", loc: chicago, want: "2011-12-06T14:24:00-06:00"},
		{expr: "fields.date8 | datetime", want: "2011-12-06T00:00:00Z"},
		{expr: "fields.date8 | datetime(fields.missing)", want: "2011-12-06T00:00:00Z"},
		{expr: "fields.date8 | datetime(fields.badTime)", err: "no such time"},
		{expr: "fields.at | datetime", want: "2024-01-15T06:12:04-06:00"},
		{expr: "fields.at | datetime(fields.hhmm)", want: "2024-01-15T14:24:00-06:00"}, // the date's own zone
		{expr: "envelope.exported_at | datetime", want: "2024-01-15T22:15:00-06:00"},
		{expr: "fields.date8 | datetime('0930')", want: "2011-12-06T09:30:00Z"},
		{expr: "fields.uom | lookup(uom)", want: "each"},
		{expr: "fields.unknown | lookup(uom)", err: `lookup: code "ZZ" is not in table uom`},
		{expr: "fields.unknown | lookup(uom, keep)", want: "ZZ"},
		{expr: "fields.unknown | lookup(uom, 'other')", want: "other"},
		{expr: "fields.dropped | lookup(uom)", want: nil},
		{expr: "fields.missing | lookup(uom)", want: nil},
		{expr: "fields.missing | default('each')", want: "each"},
		{expr: "fields.missing | default(0)", want: json.Number("0")},
		{expr: "fields.missing | default(fields.uom) | lookup(uom)", want: "each"},
		{expr: "fields.uom | default('x')", want: "EA"},
		{expr: "fields.missing | required", err: "required value is absent"},
		{expr: "fields.blank | trim | required", err: "required value is absent"},
		{expr: "fields.blank | required", want: "    "},
		{expr: "concat(envelope.plant, '/', fields.uom)", want: "DAL1/EA"},
		{expr: "concat(envelope.plant, '/', fields.missing)", want: nil},
		{expr: "'it''s'", want: "it's"},
		{expr: "42", want: json.Number("42")},
		{expr: "record.file", want: "INV.txt"},
		{expr: "record.index", want: json.Number("1")},
		{expr: "record.type | upper", want: "MOVEMENT"},
	}
	for _, c := range cases {
		got, err := evalOn(t, rec, nil, lookups, c.loc, c.expr)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.expr, err, c.err)
			}
			var me *Error
			if err != nil && !errors.As(err, &me) {
				t.Errorf("%s: error %T is not a *mappings.Error", c.expr, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.expr, diff)
		}
	}
}

func TestRequiredIsErrRequired(t *testing.T) {
	_, err := evalOn(t, fwRecord(nil), nil, nil, nil, "fields.x | required")
	if !errors.Is(err, ErrRequired) {
		t.Fatalf("got %v, want ErrRequired", err)
	}
}
