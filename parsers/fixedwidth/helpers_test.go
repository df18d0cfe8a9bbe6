package fixedwidth_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

const (
	demoLayoutPath = "../../legacy-fixtures/demo/layouts/inventory-movement.yaml"
	demoDrops      = "../../legacy-fixtures/demo/drops/inventory"
)

func demoLayout(t testing.TB) *fixedwidth.Layout {
	t.Helper()
	l, err := fixedwidth.LoadLayout(demoLayoutPath)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func layout(t testing.TB, yml string) *fixedwidth.Layout {
	t.Helper()
	l, err := fixedwidth.ParseLayout([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// result is one Decode outcome.
type result struct {
	rec legacybridge.Record
	err error
}

// decodeAll decodes until io.EOF, keeping errors in order.
func decodeAll(t testing.TB, l *fixedwidth.Layout, name, input string) []result {
	t.Helper()
	d := fixedwidth.NewDecoder(strings.NewReader(input), l)
	d.Name = name
	var out []result
	for i := 0; ; i++ {
		if i > len(input)+10 {
			t.Fatalf("Decode never returned io.EOF")
		}
		rec, err := d.Decode()
		if err == io.EOF {
			return out
		}
		out = append(out, result{rec, err})
	}
}

// records returns the records, failing on any error.
func records(t testing.TB, rs []result) []legacybridge.Record {
	t.Helper()
	var recs []legacybridge.Record
	for _, r := range rs {
		if r.err != nil {
			t.Fatalf("unexpected error: %v", r.err)
		}
		recs = append(recs, r.rec)
	}
	return recs
}

// sharedDir finds /work/shared: $LEGACYBRIDGE_SHARED, or a shared/ folder
// beside one of the package's ancestors.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared")
		if st, err := os.Stat(filepath.Join(cand, "cases", "parsers")); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared material not found: set LEGACYBRIDGE_SHARED to the shared/ folder")
		}
		dir = parent
	}
}

func parseError(t testing.TB, err error) *fixedwidth.ParseError {
	t.Helper()
	var pe *fixedwidth.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	return pe
}

// demoLine builds a 180-column movement record with the given overrides
// (column -> text).
func demoDetail(over map[int]string) string {
	b := []rune("D000000784501BRG-6204-2RS      BALL BEARING 6204 2RS         RECV      DOCK-01     STORES    A-01-03-B   RCPT+00000250000EA 20240115061204L24011501   PO-4500012345       JSMITH    ")
	for col, s := range over {
		copy(b[col-1:], []rune(s))
	}
	return string(b)
}

const demoHeader = "HDAL1DALLAS DISTRIBUTION CENTER    202401152215000000004711INVX400                                                                                                                  "

func demoTrailer(n string) string {
	return "T" + n + strings.Repeat(" ", 180-1-len(n))
}
