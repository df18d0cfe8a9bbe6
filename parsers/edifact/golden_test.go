package edifact

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden, testdata/golden/*.golden)")

// goldenProblem is an error or warning as a golden file shows it.
type goldenProblem struct {
	Error string `json:"error"`
	Code  Code   `json:"code"`
	Level string `json:"level"`
}

// goldenEntry is one step of reading: a record with the errors Read
// returned with it, errors alone, or a warning.
type goldenEntry struct {
	Record  *legacybridge.Record `json:"record,omitempty"`
	Errors  []goldenProblem      `json:"errors,omitempty"`
	Warning *goldenProblem       `json:"warning,omitempty"`
}

// sharedGoldenInputs are inputs from the shared cases and corpus whose
// records are pinned in testdata/golden (never copied into the repository).
var sharedGoldenInputs = []string{
	"cases/parsers/inputs/14b_edifact_bad_counts.edi",
	"cases/parsers/inputs/18_edifact_release_parity.edi",
	"cases/parsers/inputs/19_edifact_linebreak_in_segment.edi",
	"cases/parsers/inputs/21_edifact_empty_segment.edi",
	"cases/parsers/inputs/25_edifact_trailing_spaces.edi",
	"cases/parsers/inputs/27b_edifact_bom.edi",
	"corpus/xlate__staedi/src__test__resources__EDIFACT__invoic_d97b_una.edi",
	"corpus/xlate__staedi/src__test__resources__EDIFACT__orders-with-group.edi",
	"corpus/smooks__smooks-edi-cartridge/edg__src__test__resources__invoic__invoic.txt",
	"corpus/smooks__smooks-edi-cartridge/edg__src__test__resources__recadv__recadv.txt",
	"corpus/smooks__smooks-edi-cartridge/edi-sax__src__test__java__org__smooks__edi__edisax__unedifact__with_ung__unedifact-msg-02.edi",
	"corpus/nerdocs__pydifact/tests__data__invoice_with_colon_at_end.edi",
}

// TestGolden compares the records (legacybridge.Record JSON), errors and
// warnings of every input with its golden file: testdata/NAME.edi with
// testdata/NAME.golden, shared inputs with testdata/golden/NAME.golden.
// go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	local, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
	if err != nil || len(local) == 0 {
		t.Fatalf("no testdata/*.edi: %v", err)
	}
	type input struct{ path, golden string }
	var inputs []input
	for _, p := range local {
		inputs = append(inputs, input{p, strings.TrimSuffix(p, ".edi") + ".golden"})
	}
	if dir := os.Getenv("LEGACYBRIDGE_SHARED"); dir != "" || findShared() != "" || os.Getenv("CI") == "true" {
		shared := sharedDir(t)
		for _, rel := range sharedGoldenInputs {
			name := filepath.Base(rel)
			inputs = append(inputs, input{filepath.Join(shared, rel),
				filepath.Join("testdata", "golden", strings.TrimSuffix(name, filepath.Ext(name))+".golden")})
		}
	}
	for _, in := range inputs {
		name := filepath.Base(in.path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(readGolden(t, data, name), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.MkdirAll(filepath.Dir(in.golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(in.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(in.golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (-want +got):\n%s", in.golden, cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// readGolden reads every record through the Parser, keeping records,
// errors and warnings in the order they came.
func readGolden(t *testing.T, data []byte, name string) []goldenEntry {
	var out []goldenEntry
	problem := func(e *ParseError) goldenProblem {
		return goldenProblem{Error: e.Error(), Code: e.Code, Level: e.Level.String()}
	}
	p := Parser{Warn: func(e *ParseError) {
		w := problem(e)
		out = append(out, goldenEntry{Warning: &w})
	}}
	rr := p.NewReader(bytes.NewReader(data), name)
	for i := 0; i <= len(data)+10; i++ {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		var e goldenEntry
		if rec.Format != "" {
			e.Record = &rec
		}
		if err != nil {
			for _, pe := range flatten(t, err) {
				e.Errors = append(e.Errors, problem(pe))
			}
		}
		out = append(out, e)
	}
	t.Fatal("reader does not end")
	return nil
}
