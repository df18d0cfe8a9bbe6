package fixedwidth_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

const nachaLayout = "../../legacy-fixtures/nacha/nacha.yaml"

func nacha(t testing.TB) *fixedwidth.Layout {
	t.Helper()
	l, err := fixedwidth.LoadLayout(nachaLayout)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func caseInput(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// errorsOf returns the error texts of a decode.
func errorsOf(rs []result) []string {
	var out []string
	for _, r := range rs {
		if r.err != nil {
			out = append(out, r.err.Error())
		}
	}
	return out
}

// TestNACHACorpus decodes every NACHA file of the shared corpus with the
// shipped layout: the files MALFORMED.md lists give errors, the others
// none, with every batch and file control total checked.
func TestNACHACorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := nacha(t)
	// Corpus files whose trailers disagree with their records although
	// MANIFEST.tsv does not call them malformed (moov-io/ach does not check
	// the file control's counts).
	found := map[string]string{
		"test__testdata__nonascii.ach": "line 17, column 14 (field entry_addenda_count): trailer count mismatch: file_control.entry_addenda_count says 1, entry and addenda records counted 13",
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 10 || col[5] != "NACHA ACH" {
			continue
		}
		n++
		name, malformed := col[0], col[8]
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			rs := decodeAll(t, l, filepath.Base(name), string(data))
			errs := errorsOf(rs)
			switch {
			case strings.Contains(malformed, "(semantic)"):
				// A routing number check digit: not a layout matter.
				if len(errs) > 0 {
					t.Errorf("errors %q", errs)
				}
				t.Logf("not detected (routing-number check digits are not checked): %s", malformed)
			case strings.HasPrefix(malformed, "MALFORMED"):
				if len(errs) == 0 {
					t.Errorf("no error; expected: %s", malformed)
				}
				t.Logf("%s -> %q", malformed, errs)
			case found[filepath.Base(name)] != "":
				// Not marked malformed, but its totals disagree: the
				// check must say so, with both numbers.
				if len(errs) != 1 || !strings.Contains(errs[0], found[filepath.Base(name)]) {
					t.Errorf("errors %q, want one containing %q", errs, found[filepath.Base(name)])
				}
			default:
				if len(errs) > 0 {
					t.Errorf("errors %q", errs)
				}
				var types []string
				for _, r := range rs {
					types = append(types, r.rec.Type)
				}
				if len(types) < 4 || types[0] != "file_header" || types[len(types)-1] != "file_control" {
					t.Errorf("record types %v", types)
				}
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d NACHA files in MANIFEST.tsv", n)
	}
}

// TestCase30 is CASES.md entry 30: a NACHA file without line breaks reads
// exactly like the same file with them.
func TestCase30(t *testing.T) {
	l := nacha(t)
	a := records(t, decodeAll(t, l, "30", string(caseInput(t, "30a_nacha_no_linebreaks.ach"))))
	b := records(t, decodeAll(t, l, "30", string(caseInput(t, "30b_nacha_with_linebreaks.ach"))))
	var types []string
	for _, r := range b {
		types = append(types, r.Type)
	}
	if diff := cmp.Diff([]string{"file_header", "batch_header", "entry", "entry", "batch_control", "file_control"}, types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if len(a) != len(b) {
		t.Fatalf("%d records without line breaks, %d with", len(a), len(b))
	}
	for i := range a {
		if a[i].Pos.Offset != int64(94*i) || b[i].Pos.Offset != int64(95*i) {
			t.Errorf("record %d offsets %d and %d", i, a[i].Pos.Offset, b[i].Pos.Offset)
		}
		a[i].Pos.Offset, b[i].Pos.Offset = 0, 0
	}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("(-with line breaks +without):\n%s", diff)
	}
	n := func(s string) json.Number { return json.Number(s) }
	if got := b[1].Fields["standard_entry_class"]; got != "PPD" {
		t.Errorf("SEC = %v", got)
	}
	want := []map[string]any{
		{"amount": n("125.00"), "individual_name": "EMPLOYEE ONE"},
		{"amount": n("99.00"), "individual_name": "EMPLOYEE TWO"},
	}
	var got []map[string]any
	for _, r := range b[2:4] {
		got = append(got, map[string]any{"amount": r.Fields["amount"], "individual_name": r.Fields["individual_name"]})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	for _, r := range b[4:] {
		if r.Fields["entry_hash"] != int64(175308642) || r.Fields["total_credit"] != n("224.00") {
			t.Errorf("%s: hash %v, credit %v", r.Type, r.Fields["entry_hash"], r.Fields["total_credit"])
		}
	}
	if b[2].Envelope["company_name"] != "EXAMPLE CO" || b[2].Envelope["immediate_origin_name"] != "EXAMPLE CO" {
		t.Errorf("entry envelope %v", b[2].Envelope)
	}
	if d := b[0].Fields["file_creation_date"]; d != time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC) {
		t.Errorf("file creation date %v", d)
	}
	// Not a multiple of 94: an error, not a silent split.
	in := caseInput(t, "30a_nacha_no_linebreaks.ach")
	errs := errorsOf(decodeAll(t, l, "30", string(in[:len(in)-1])+"99"))
	if len(errs) == 0 || !strings.Contains(errs[0], "line 1, column 95: record too long: 941 characters, record length is 94 and data follows it") {
		t.Errorf("941 characters: %q", errs)
	}

	// Written back with line breaks: the records of 30b, byte for byte (the
	// blocking lines are not records).
	var buf bytes.Buffer
	e := fixedwidth.NewEncoder(&buf, l)
	for _, r := range b {
		if err := e.Encode(legacybridge.Record{Type: r.Type, Fields: r.Fields}); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	lines := strings.SplitAfter(string(caseInput(t, "30b_nacha_with_linebreaks.ach")), "\n")
	if want := strings.Join(lines[:6], ""); buf.String() != want {
		t.Errorf("re-encoded:\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestCase31 is CASES.md entry 31: blanks past column 94 are accepted,
// trimmed lines padded (or, strictly, an error naming the line), data past
// column 94 an error naming the line.
func TestCase31(t *testing.T) {
	l := nacha(t)
	ref := records(t, decodeAll(t, l, "30", string(caseInput(t, "30b_nacha_with_linebreaks.ach"))))
	for _, name := range []string{"31a_nacha_line_96_trailing_spaces.ach", "31b_nacha_header_trimmed.ach"} {
		got := records(t, decodeAll(t, l, name, string(caseInput(t, name))))
		if len(got) != len(ref) {
			t.Fatalf("%s: %d records", name, len(got))
		}
		for i := range got {
			if diff := cmp.Diff(ref[i].Fields, got[i].Fields); diff != "" {
				t.Errorf("%s record %d (-30b +got):\n%s", name, i, diff)
			}
			for k, v := range got[i].Fields {
				if s, ok := v.(string); ok && strings.ContainsRune(s, '\r') {
					t.Errorf("%s: %s holds a CR", name, k)
				}
			}
		}
	}
	strict := nacha(t)
	strict.PadShortLines = false
	errs := errorsOf(decodeAll(t, strict, "31b", string(caseInput(t, "31b_nacha_header_trimmed.ach"))))
	want := []string{`fixedwidth: 31b: line 1, column 74 (field immediate_origin_name): short line: 73 characters, record type "file_header" needs 94`}
	if diff := cmp.Diff(want, errs[:1]); diff != "" {
		t.Errorf("strict 31b (-want +got):\n%s", diff)
	}
	rs := decodeAll(t, l, "31c", string(caseInput(t, "31c_nacha_line_96_data.ach")))
	errs = errorsOf(rs)
	want = []string{"fixedwidth: 31c: line 4, column 95: record too long: 96 characters, record length is 94 and data follows it"}
	if diff := cmp.Diff(want, errs[:1]); diff != "" {
		t.Errorf("31c (-want +got):\n%s", diff)
	}
	if pe := parseError(t, rs[3].err); pe.Offset != 3*95+94 || !errors.Is(pe, fixedwidth.ErrLongLine) {
		t.Errorf("31c: offset %d, %v", pe.Offset, pe.Err)
	}
}

// TestNACHATotals checks a wrong batch total and a wrong file hash are
// reported with both values.
func TestNACHATotals(t *testing.T) {
	l := nacha(t)
	in := string(caseInput(t, "30b_nacha_with_linebreaks.ach"))
	bad := strings.Replace(in, "0000009900ID0002", "0000009950ID0002", 1)
	errs := errorsOf(decodeAll(t, l, "bad.ach", bad))
	want := []string{
		"fixedwidth: bad.ach: line 5, column 33 (field total_credit): control total mismatch: batch_control.total_credit says 224.00, amount of the entry records where transaction_code in 21, 22, 23, 24, 31, 32, 33, 34, 41, 42, 43, 44, 51, 52, 53, 54 sum to 224.50; correct the trailer or find the records that are missing or wrong",
		"fixedwidth: bad.ach: line 6, column 44 (field total_credit): control total mismatch: file_control.total_credit says 224.00, amount of the entry records where transaction_code in 21, 22, 23, 24, 31, 32, 33, 34, 41, 42, 43, 44, 51, 52, 53, 54 sum to 224.50; correct the trailer or find the records that are missing or wrong",
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad = strings.Replace(in, "20175308642000000000000000000022400 ", "20175308643000000000000000000022400 ", 1)
	errs = errorsOf(decodeAll(t, l, "bad.ach", bad))
	if len(errs) != 1 || !strings.Contains(errs[0], "file_control.entry_hash says 175308643, receiving_dfi of the entry records sum to 175308642") {
		t.Errorf("hash: %q", errs)
	}
}
