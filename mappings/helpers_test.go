package mappings

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
	"legacybridge/parsers/x12"
)

// pkgDir is this package's directory.
func pkgDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// demoDir is legacy-fixtures/demo in this repository.
func demoDir() string { return filepath.Join(pkgDir(), "..", "legacy-fixtures", "demo") }

// sharedDir finds the shared corpus: $LEGACYBRIDGE_SHARED, else a shared/
// folder next to the repository root.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	for d := pkgDir(); ; {
		cand := filepath.Join(filepath.Dir(d), "shared")
		if st, err := os.Stat(filepath.Join(cand, "corpus")); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	t.Skip("shared corpus not found: set LEGACYBRIDGE_SHARED or put shared/ next to the repository")
	return ""
}

var (
	registryOnce sync.Once
	registry     *Registry
	registryErr  error
)

// testRegistry compiles the canonical schemas once per test binary.
func testRegistry(t testing.TB) *Registry {
	t.Helper()
	registryOnce.Do(func() { registry, registryErr = Canonical() })
	if registryErr != nil {
		t.Fatal(registryErr)
	}
	return registry
}

// demoMapping loads a shipped mapping file from legacy-fixtures/demo/mappings.
func demoMapping(t testing.TB, name string) *Mapping {
	t.Helper()
	m, err := Loader{Registry: testRegistry(t)}.Load(filepath.Join(demoDir(), "mappings", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustParse compiles a mapping from YAML text and fails on any problem.
func mustParse(t testing.TB, src string) *Mapping {
	t.Helper()
	m, err := Parse("test.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if ps := m.Validate(); len(ps) > 0 {
		t.Fatalf("problems: %v", errors.Join(ps...))
	}
	return m
}

// readX12 parses an X12 file into records with the real parser; records
// that come with an error are reported.
func readX12(t testing.TB, path string) []legacybridge.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := x12.Parser{}.NewReader(f, filepath.Base(path))
	var out []legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
}

// readFixed parses a fixed-width file with a layout from the demo fixtures.
func readFixed(t testing.TB, path, layout string) []legacybridge.Record {
	t.Helper()
	l, err := fixedwidth.LoadLayout(layout)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := fixedwidth.Parser{Layout: l}.NewReader(f, filepath.Base(path))
	var out []legacybridge.Record
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
}

// seg builds a segment from X12-like text: "PO1*1*10*EA" with '>' between
// components and '^' between repetitions.
func seg(text string) legacybridge.Segment {
	parts := strings.Split(text, "*")
	s := legacybridge.Segment{Tag: parts[0]}
	for _, p := range parts[1:] {
		var e legacybridge.Element
		for _, rep := range strings.Split(p, "^") {
			e = append(e, strings.Split(rep, ">"))
		}
		s.Elements = append(s.Elements, e)
	}
	return s
}

// x12Record builds an X12 record from segment texts (ST..SE), numbering the
// segments from 3 as if ISA and GS came first.
func x12Record(typ string, segs ...string) legacybridge.Record {
	rec := legacybridge.Record{
		Format: "x12", Type: typ,
		Pos: legacybridge.Position{File: "hand.edi", Segment: 3, Tag: "ST", Offset: 200, Index: 0},
		Envelope: map[string]string{
			"isa05": "ZZ", "isa06": "SENDER         ", "isa07": "ZZ", "isa08": "RECEIVER       ",
			"isa13": "000000001", "gs01": "SH", "gs02": "SENDER", "gs03": "RECEIVER", "gs06": "1",
			"st02": "0001", "version": "004010",
		},
	}
	off := int64(200)
	for i, s := range segs {
		sg := seg(s)
		sg.Number = 3 + i
		sg.Offset = off
		off += int64(len(s) + 1)
		rec.Segments = append(rec.Segments, sg)
	}
	return rec
}
