package edirules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// shippedRules is Default loaded once, for tests that only read it
// (loading takes milliseconds).
var shippedRules = sync.OnceValue(Default)

// sharedDir finds the shared read-only material: $LEGACYBRIDGE_SHARED, else
// a "shared" folder next to one of this package's parent directories. It
// skips the test when there is none, but fails it in CI.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	for err == nil {
		cand := filepath.Join(dir, "shared")
		if _, serr := os.Stat(filepath.Join(cand, "corpus", "MANIFEST.tsv")); serr == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared test material not found: set LEGACYBRIDGE_SHARED to the folder holding corpus/")
	}
	t.Skip("shared test material not found: set LEGACYBRIDGE_SHARED to the folder holding corpus/")
	return ""
}

// corpusFile is one X12 or EDIFACT file to check.
type corpusFile struct {
	name   string // for messages
	path   string
	format string // "x12", "edifact"
	data   []byte // when set, read instead of path
}

// decoded is one record read from a file, with whether the parser found
// it structurally bad.
type decoded struct {
	rec legacybridge.Record
	err error
}

func readRecords(t *testing.T, f corpusFile) []decoded {
	t.Helper()
	recs, err := decodeRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// decodeRecords reads every record of f with its format's parser.
func decodeRecords(f corpusFile) ([]decoded, error) {
	data := f.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.path); err != nil {
			return nil, err
		}
	}
	var p legacybridge.Parser = x12.Parser{}
	if f.format == EDIFACT {
		p = edifact.Parser{}
	}
	rr := p.NewReader(bytes.NewReader(data), f.name)
	var out []decoded
	for i := 0; ; i++ {
		if i > 100000 {
			return nil, fmt.Errorf("%s: the reader does not end", f.name)
		}
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if rec.Format == "" {
			continue // an error outside any record
		}
		out = append(out, decoded{rec, err})
	}
	return out, nil
}

// validFiles lists the corpus's X12 and EDIFACT files that are not broken
// on purpose (MANIFEST.tsv), and the demo fixtures.
func validFiles(t *testing.T) []corpusFile {
	t.Helper()
	shared := sharedDir(t)
	manifest, err := os.ReadFile(filepath.Join(shared, "corpus", "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var files []corpusFile
	for i, line := range strings.Split(strings.TrimRight(string(manifest), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if i == 0 || len(cols) < 9 {
			continue
		}
		local, standard, malformed := cols[0], cols[5], cols[8]
		if strings.HasPrefix(malformed, "MALFORMED") {
			continue
		}
		format := ""
		switch {
		case strings.HasPrefix(standard, "X12"):
			format = X12
		case strings.HasPrefix(standard, "EDIFACT"):
			format = EDIFACT
		default:
			continue
		}
		files = append(files, corpusFile{name: "corpus/" + local, path: filepath.Join(shared, "corpus", local), format: format})
	}
	fixtures := map[string]string{"../../legacy-fixtures/demo/drops/x12": X12, "../../legacy-fixtures/demo/samples/edifact": EDIFACT}
	for dir, format := range fixtures {
		paths, err := filepath.Glob(filepath.Join(dir, "*.edi"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no fixtures in %s (%v)", dir, err)
		}
		for _, p := range paths {
			files = append(files, corpusFile{name: strings.TrimPrefix(p, "../../"), path: p, format: format})
		}
	}
	return files
}

// TestShippedRulesAccept proves the shipped rules conservative: every
// transaction set and message of the valid corpus files and the demo
// fixtures that the parser reads without a structural error passes them.
// Each shipped set must have been applied to at least one, so the test
// cannot pass by checking nothing.
func TestShippedRulesAccept(t *testing.T) {
	r := shippedRules()
	applied := map[string]int{}
	var structural []string
	for _, f := range validFiles(t) {
		for i, d := range readRecords(t, f) {
			s := r.find(d.rec.Format, d.rec.Type, d.rec.Envelope["version"])
			if s == nil {
				continue
			}
			vs := r.Check(d.rec)
			if d.err != nil {
				// Rejected by the parser already: its rule violations are
				// told, not held against the rules.
				structural = append(structural, fmt.Sprintf("%s record %d (%s %s): parser: %v; rules: %d violations",
					f.name, i, d.rec.Format, d.rec.Type, firstLine(d.err), len(vs)))
				continue
			}
			applied[s.standard+" "+s.id]++
			for _, v := range vs {
				t.Errorf("%s record %d (%s %s %s): %s", f.name, i, d.rec.Format, d.rec.Type, d.rec.Envelope["version"], v)
			}
		}
	}
	for _, s := range structural {
		t.Log("not counted, structurally bad: " + s)
	}
	for _, set := range []string{"x12 850", "x12 855", "x12 856", "x12 810", "edifact ORDERS", "edifact DESADV", "edifact INVOIC"} {
		if applied[set] == 0 {
			t.Errorf("the shipped %s rules applied to no valid corpus or fixture document", set)
		}
	}
	t.Logf("documents checked per set: %v", applied)
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// TestShippedRulesFindCorpusFaults: the corpus's INVOIC broken on purpose
// (its owners list a non-numeric quantity and price, a party qualifier too
// long, UNS repeated) breaks exactly those rules.
func TestShippedRulesFindCorpusFaults(t *testing.T) {
	f := corpusFile{name: "invoic_d97b_bad.edi", format: EDIFACT,
		path: filepath.Join(sharedDir(t), "corpus", "xlate__staedi", "src__test__resources__EDIFACT__invoic_d97b_bad.edi")}
	recs := readRecords(t, f)
	if len(recs) != 1 {
		t.Fatalf("%d messages, want 1", len(recs))
	}
	if recs[0].err != nil {
		t.Fatalf("the parser rejects the message: %v", recs[0].err)
	}
	type short struct {
		Pos, Element, Component int
		Tag, Value              string
		Code                    edifact.Code
	}
	var got []short
	for _, v := range shippedRules().Check(recs[0].rec) {
		got = append(got, short{v.Position, v.Element, v.Component, v.Tag, v.Value, v.EDIFACT})
	}
	want := []short{
		{5, 1, 0, "NAD", "BYZZ", edifact.CodeTooLong},
		{10, 1, 2, "QTY", "1020A", edifact.CodeInvalidCharType},
		{13, 1, 2, "PRI", "$1.179", edifact.CodeInvalidCharType},
		{21, 0, 0, "UNS", "", edifact.CodeTooManyRepetitions},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}
