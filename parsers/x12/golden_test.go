package x12

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
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenEntry is one step of decoding: a transaction set as its JSON, or an
// error message.
type goldenEntry struct {
	Transaction *Transaction `json:"transaction,omitempty"`
	Error       string       `json:"error,omitempty"`
}

var goldenInputs = []string{
	"cases/parsers/inputs/01_x12_term_crlf.edi",
	"cases/parsers/inputs/02a_x12_term_lf.edi",
	"cases/parsers/inputs/02b_x12_term_cr_then_lf.edi",
	"cases/parsers/inputs/03_x12_wrapped80.edi",
	"cases/parsers/inputs/05a_x12_isa11_U_4010.edi",
	"cases/parsers/inputs/05b_x12_isa11_U_5010.edi",
	"cases/parsers/inputs/06_x12_repetition_caret.edi",
	"cases/parsers/inputs/08_x12_two_isa_different_delims.edi",
	"cases/parsers/inputs/11_x12_adjacent_empty.edi",
	"cases/parsers/inputs/12_x12_short_po1.edi",
	"cases/parsers/inputs/13_x12_blank_lines.edi",
	"cases/parsers/inputs/14a_x12_bad_counts.edi",
	"cases/parsers/inputs/27a_x12_bom.edi",
	"corpus/xlate__staedi/src__test__resources__x12__simple_with_binary_segment.edi",
	"corpus/xlate__staedi/src__test__resources__x12__nonnumeric_BIN01.edi",
	"corpus/xlate__staedi/src__test__resources__x12__issue109__ts214_ellipses_segterm.edi",
	"corpus/xlate__staedi/src__test__resources__x12__issue128__ts210_80char.edi",
	"corpus/xlate__staedi/src__test__resources__x12__extraDelimiter997.edi",
	"corpus/xlate__staedi/src__test__resources__x12__invalid997_min.edi",
	"corpus/azoner__pyx12/pyx12__tests__834_lui_id_5010.999.txt",
	"corpus/irobayna__stupidedi/spec__fixtures__004010__PS830__pass__1.edi",
	"corpus/irobayna__stupidedi/spec__fixtures__004010__SS862__fail__1.edi",
	"corpus/irobayna__stupidedi/spec__fixtures__004010__SH856__fail__2.edi",
	"corpus/aaronhuggins__node-x12/test__test-data__856.edi",
}

// TestGolden compares the JSON of every transaction set and error with
// testdata/golden; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	shared := sharedDir(t)
	for _, rel := range goldenInputs {
		name := filepath.Base(rel)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(shared, rel))
			if err != nil {
				t.Fatal(err)
			}
			res := decodeAllOrdered(t, data, name)
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", strings.TrimSuffix(name, filepath.Ext(name))+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// decodeAllOrdered decodes keeping transactions and errors in the order
// Decode returned them.
func decodeAllOrdered(t *testing.T, data []byte, name string) []goldenEntry {
	var out []goldenEntry
	d := NewDecoderName(bytes.NewReader(data), name)
	for i := 0; i <= len(data)+10; i++ {
		tx, err := d.Decode()
		if tx != nil {
			out = append(out, goldenEntry{Transaction: tx})
		}
		if err != nil {
			if err == io.EOF && tx == nil {
				return out
			}
			for _, e := range flatten(t, err) {
				out = append(out, goldenEntry{Error: e.Error()})
			}
		}
	}
	t.Fatal("decoder does not end")
	return nil
}
