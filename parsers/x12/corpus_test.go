package x12

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"legacybridge"
)

// corpusWant is the outcome expected for one corpus file.
type corpusWant struct {
	txs  int      // transaction sets (counted by hand: ST segments in the file)
	errs []string // expected errors: "Kind@segment-number(TAG)"
}

// corpusExpect covers every X12 file in corpus/MANIFEST.tsv, by local file
// name. Files in MALFORMED.md that are broken in structure fail with an error
// naming the place; schema-only faults (invalid997, extraDelimiter997) parse
// cleanly. Two files have a wrong SE01 that MALFORMED.md does not list:
// invalid999 (declares 16, has 18 - its extra IK5/IK5 were inserted without
// fixing SE01) and the omniparser UPS 210 sample (first SE01 declares 46, the
// set has 48); the decoder reports those too.
var corpusExpect = map[string]corpusWant{
	"src__test__resources__x12__simple810.edi":                                               {txs: 2},
	"src__test__resources__x12__invoice810_po850_dual.edi":                                   {txs: 3},
	"src__test__resources__x12__simple997-multiple-interchanges.edi":                         {txs: 3},
	"src__test__resources__x12__simple999.edi":                                               {txs: 1},
	"src__test__resources__x12__invalid999.edi":                                              {txs: 1, errs: []string{"count@20(SE)"}},
	"src__test__resources__x12__invalid997.edi":                                              {txs: 1},
	"src__test__resources__x12__invalid997_min.edi":                                          {txs: 1, errs: []string{"control@7(GE)"}},
	"src__test__resources__x12__extraDelimiter997.edi":                                       {txs: 1},
	"src__test__resources__x12__simple_with_binary_segment.edi":                              {txs: 1},
	"src__test__resources__x12__nonnumeric_BIN01.edi":                                        {txs: 0, errs: []string{"bin@4(BIN)"}},
	"src__test__resources__x12__issue109__ts214_ellipses_segterm.edi":                        {txs: 1},
	"src__test__resources__x12__issue128__ts210_80char.edi":                                  {txs: 1},
	"pyx12__tests__834_lui_id_5010.999.txt":                                                  {txs: 4},
	"test__test-data__850_fat.edi":                                                           {txs: 2},
	"test__test-data__850_2.edi":                                                             {txs: 1},
	"test__test-data__855.edi":                                                               {txs: 1},
	"test__test-data__856.edi":                                                               {txs: 1},
	"spec__fixtures__004010__PS830__pass__1.edi":                                             {txs: 1},
	"spec__fixtures__004010__SS862__fail__1.edi":                                             {txs: 0, errs: []string{"isa@1(ISA)"}},
	"spec__fixtures__004010__SH856__fail__2.edi":                                             {txs: 1, errs: []string{"count@24(SE)"}},
	"spec__fixtures__004010__PR855__pass__1.edi":                                             {txs: 1},
	"spec__fixtures__004010__X348 SC810 Aerospace Industry Invoice__pass__basic-invoice.edi": {txs: 1},
	"extensions__omniv21__samples__edi__1_canadapost_edi_214.input.txt":                      {txs: 19},
	"extensions__omniv21__samples__edi__2_ups_edi_210.input.txt":                             {txs: 5, errs: []string{"count@50(SE)"}},
}

func errKey(e *ParseError) string {
	kinds := []struct {
		name string
		err  error
	}{
		{"isa", ErrBadISA}, {"nointerchange", ErrNoInterchange}, {"bin", ErrBadBIN}, {"segment", ErrBadSegment},
		{"count", ErrCountMismatch}, {"control", ErrControlMismatch}, {"trailer", ErrMissingTrailer},
		{"outside", ErrOutsideEnvelope},
	}
	k := "other"
	for _, c := range kinds {
		if errors.Is(e, c.err) {
			k = c.name
			break
		}
	}
	return k + "@" + strconv.Itoa(e.Segment) + "(" + e.Tag + ")"
}

// x12CorpusFiles lists the X12 files of corpus/MANIFEST.tsv.
func x12CorpusFiles(t *testing.T) []string {
	dir := filepath.Join(sharedDir(t), "corpus")
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(f) // MANIFEST.tsv is a small line-oriented table
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) > 5 && strings.HasPrefix(cols[5], "X12") {
			files = append(files, filepath.Join(dir, cols[0]))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCorpus(t *testing.T) {
	files := x12CorpusFiles(t)
	if len(files) != len(corpusExpect) {
		t.Errorf("MANIFEST.tsv lists %d X12 files, the test knows %d", len(files), len(corpusExpect))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := corpusExpect[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := decodeAll(t, data, name)
			if len(res.txs) != want.txs {
				t.Errorf("%d transaction sets, want %d", len(res.txs), want.txs)
			}
			var got []string
			for _, e := range res.errs {
				got = append(got, errKey(e))
				if e.File != name || e.Offset < 0 || e.Offset > int64(len(data)) {
					t.Errorf("error %v: bad place", e)
				}
				checkPlaced(t, e, name, int64(len(data)))
			}
			if diff := cmp.Diff(want.errs, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nall: %q", diff, errStrings(res.errs))
			}
			for _, tx := range res.txs {
				checkPlaces(t, data, tx.Segments)
				if tx.Segments[0].Tag != "ST" || tx.Segments[len(tx.Segments)-1].Tag != "SE" && len(res.errs) == 0 {
					t.Errorf("transaction %d does not run ST..SE", tx.Pos.Index)
				}
				if tx.Pos.Offset != tx.Segments[0].Offset || tx.Pos.File != name {
					t.Errorf("transaction position %+v", tx.Pos)
				}
			}
			// The adapter fails exactly the inputs with problems.
			rr := Parser{}.NewReader(strings.NewReader(string(data)), name)
			failed, recs := false, 0
			for i := 0; i < len(data); i++ {
				rec, err := rr.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					failed = true
					var p legacybridge.Placer
					if !errors.As(err, &p) {
						t.Errorf("adapter error %v is not a Placer", err)
					}
				}
				if rec.Format == "x12" {
					recs++
				}
			}
			if failed != (len(want.errs) > 0) || recs != want.txs {
				t.Errorf("adapter: failed=%v records=%d; want failed=%v records=%d", failed, recs, len(want.errs) > 0, want.txs)
			}
		})
	}
}

// Details of the corpus files that stress the tokenizer.
func TestCorpusDetails(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	read := func(rel string) result {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return decodeAll(t, data, filepath.Base(rel))
	}
	t.Run("binary", func(t *testing.T) {
		res := read("xlate__staedi/src__test__resources__x12__simple_with_binary_segment.edi")
		var got []string
		for _, s := range res.txs[0].Segments {
			if s.Tag == "BIN" {
				got = append(got, s.Element(1).Value()+"|"+s.Element(2).Value())
			}
		}
		want := []string{
			"25|1234567890123456789012345",
			"25|12345678901234567890\n1234",
			"25|1234567890\n1234567890\n12\n",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("BIN segments (-want +got):\n%s", diff)
		}
	})
	t.Run("ellipsis_terminator", func(t *testing.T) {
		res := read("xlate__staedi/src__test__resources__x12__issue109__ts214_ellipses_segterm.edi")
		tx := res.txs[0]
		if tx.Envelope.Delimiters != (Delimiters{Element: "*", Component: ">", Segment: "…"}) {
			t.Errorf("delimiters = %+v", tx.Envelope.Delimiters)
		}
		if len(tx.Segments) != 20 || tx.Segments[19].Element(2).Value() != "757760001" {
			t.Errorf("%d segments, last %v", len(tx.Segments), tx.Segments[len(tx.Segments)-1])
		}
	})
	t.Run("wrapped_80", func(t *testing.T) {
		res := read("xlate__staedi/src__test__resources__x12__issue128__ts210_80char.edi")
		tx := res.txs[0]
		n4 := findSeg(t, tx.Segments, "N4", 1)
		if diff := cmp.Diff([]string{"DUDLEY", "NC", "283335369", "US"}, values(t, n4)); diff != "" {
			t.Errorf("N4 wrapped across lines (-want +got):\n%s", diff)
		}
		if tx.Envelope.Time != "0224" || tx.Pos.Line != 2 {
			t.Errorf("ISA10 = %q (wrapped), ST line %d", tx.Envelope.Time, tx.Pos.Line)
		}
	})
	t.Run("isa08_16_chars", func(t *testing.T) {
		res := read("irobayna__stupidedi/spec__fixtures__004010__PS830__pass__1.edi")
		tx := res.txs[0]
		if tx.Envelope.ReceiverID != "3102120292" || tx.Envelope.Delimiters.Segment != "\n" {
			t.Errorf("envelope %+v", tx.Envelope)
		}
		uit := findSeg(t, tx.Segments, "UIT", 0).Element(1)
		if diff := cmp.Diff(legacybridge.Element{{"PC", "", "", "LB", "", "3.25"}}, uit); diff != "" {
			t.Errorf("UIT01 (-want +got):\n%s", diff)
		}
	})
	t.Run("collapsed_isa", func(t *testing.T) {
		res := read("irobayna__stupidedi/spec__fixtures__004010__SS862__fail__1.edi")
		want := `x12: spec__fixtures__004010__SS862__fail__1.edi: segment 1 (ISA) at byte offset 0 (line 1): ISA02 " " must be 10 characters: the ISA is not fixed-width`
		if diff := cmp.Diff([]string{want}, errStrings(res.errs)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("nonnumeric_bin01", func(t *testing.T) {
		res := read("xlate__staedi/src__test__resources__x12__nonnumeric_BIN01.edi")
		want := `x12: src__test__resources__x12__nonnumeric_BIN01.edi: segment 4 (BIN) at byte offset 187 (line 4): BIN01 "11a" is not a length (a number of bytes)`
		if diff := cmp.Diff([]string{want}, errStrings(res.errs)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("group_control", func(t *testing.T) {
		res := read("xlate__staedi/src__test__resources__x12__invalid997_min.edi")
		want := `x12: src__test__resources__x12__invalid997_min.edi: segment 7 (GE) at byte offset 240 (line 7): GE02 "<TOO_LONG_AND_NOT_NUMERIC>" does not match GS06 "000005"`
		if diff := cmp.Diff([]string{want}, errStrings(res.errs)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}
