package edifact

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"legacybridge"
)

// corpusWant is the outcome expected for one corpus file.
type corpusWant struct {
	msgs int      // messages (counted by hand: UNH segments in the file)
	errs []string // expected errors: "kind@segment(TAG)/code/level"
}

// corpusExpect covers every EDIFACT file in corpus/MANIFEST.tsv, by local
// file name. The files MALFORMED.md lists as broken in structure fail with
// an error naming the place (bad-paxlst and BAD_ORDERS: the segments added
// to them make UNT 0074 wrong); schema-only faults (invoic_d97b_bad) parse
// cleanly. Several files have structural faults MALFORMED.md does not
// list, which the decoder reports too:
//   - orders-with-group: UNG S008 has a 4th component ("IGNORED") that
//     syntax version 3 does not have, and UNT declares 21 segments for 18;
//   - unedifact-msg-02 (a smooks test of its own grammar, not of EDIFACT):
//     a version 3 UNG without date, agency and version, segment tags
//     "BBBB", "AAAA" and "BB", UNT 0074 = 25 in every message, two
//     messages outside the group after it, and UNZ 0020 "00000000000001"
//     for UNB 0020 "6002";
//   - order.edi and huge_file2.edi end without UNZ, and huge_file2's only
//     UNT declares 16 segments for 109,619;
//   - aperak_rejected: UNT declares 8 segments for 7.
var corpusExpect = map[string]corpusWant{
	"src__test__resources__EDIFACT__invoic_d97b.edi":                   {msgs: 1},
	"src__test__resources__EDIFACT__invoic_d97b_una.edi":               {msgs: 1},
	"src__test__resources__EDIFACT__issue128__wrapped_invoic_d97b.edi": {msgs: 1},
	"src__test__resources__EDIFACT__orders-with-group.edi": {msgs: 1,
		errs: []string{"service@2(UNG)/16/g", "count@20(UNT)/29/m"}},
	"src__test__resources__EDIFACT__invoic_d97b_bad.edi": {msgs: 1},
	"edg__src__test__resources__recadv__recadv.txt":      {msgs: 1},
	"edg__src__test__resources__invoic__invoic.txt":      {msgs: 1},
	"edg__src__test__resources__paxlst__bad-paxlst.txt":  {msgs: 1, errs: []string{"count@19(UNT)/29/m"}},
	"edifact-cartridge__src__test__resources__data__BAD_ORDERS_D.03B_Interchange.txt": {msgs: 1,
		errs: []string{"count@58(UNT)/29/m"}},
	"edi-sax__src__test__java__org__smooks__edi__edisax__unedifact__with_ung__unedifact-msg-02.edi": {msgs: 3,
		errs: []string{"service@3(UNG)/13/g", "service@3(UNG)/13/g", "service@3(UNG)/13/g",
			"segment@5()/15/m", "count@6(UNT)/29/m",
			"outside@8(UNH)/30/i", "segment@9()/15/m", "count@10(UNT)/29/m",
			"segment@12()/15/m", "segment@13()/15/m", "count@14(UNT)/29/m", "ref@15(UNZ)/28/i"}},
	"tests__data__order.edi":                         {msgs: 1, errs: []string{"trailer@2(UNB)/13/i"}},
	"tests__data__invoice_with_colon_at_end.edi":     {msgs: 1},
	"tests__data__messages__v4__aperak_rejected.edi": {msgs: 1, errs: []string{"count@9(UNT)/29/m"}},
	"tests__data__huge_file2.edi":                    {msgs: 1, errs: []string{"count@109621(UNT)/29/m", "trailer@2(UNB)/13/i"}},
}

// edifactCorpusFiles lists the EDIFACT files of corpus/MANIFEST.tsv.
func edifactCorpusFiles(t testing.TB) []string {
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
		if len(cols) > 5 && strings.HasPrefix(cols[5], "EDIFACT") {
			files = append(files, filepath.Join(dir, cols[0]))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCorpus(t *testing.T) {
	files := edifactCorpusFiles(t)
	if len(files) != len(corpusExpect) {
		t.Errorf("MANIFEST.tsv lists %d EDIFACT files, the test knows %d", len(files), len(corpusExpect))
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
			if len(res.msgs) != want.msgs {
				t.Errorf("%d messages, want %d", len(res.msgs), want.msgs)
			}
			if diff := cmp.Diff(want.errs, errKeys(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nall: %s", diff, strings.Join(errStrings(res.errs), "\n"))
			}
			for _, e := range append(res.errs, res.warns...) {
				checkPlaced(t, e, name, int64(len(data)))
			}
			for _, m := range res.msgs {
				checkPlaces(t, data, m.Segments)
				if m.Segments[0].Tag != "UNH" || m.Pos.Offset != m.Segments[0].Offset || m.Pos.File != name {
					t.Errorf("message %d does not start with its UNH: %+v", m.Pos.Index, m.Pos)
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
				if rec.Format == "edifact" {
					recs++
				}
			}
			if failed != (len(want.errs) > 0) || recs != want.msgs {
				t.Errorf("adapter: failed=%v records=%d; want failed=%v records=%d", failed, recs, len(want.errs) > 0, want.msgs)
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
	plain := read("xlate__staedi/src__test__resources__EDIFACT__invoic_d97b.edi")
	t.Run("wrapped_is_identical", func(t *testing.T) {
		wrapped := read("xlate__staedi/src__test__resources__EDIFACT__issue128__wrapped_invoic_d97b.edi")
		got, want := valuesOfMsgs(wrapped.msgs), valuesOfMsgs(plain.msgs)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("wrapped file differs (-plain +wrapped):\n%s", diff)
		}
	})
	t.Run("una_with_other_characters", func(t *testing.T) {
		una := read("xlate__staedi/src__test__resources__EDIFACT__invoic_d97b_una.edi")
		d := una.msgs[0].Envelope.Delimiters
		if d != (Delimiters{Component: "=", Element: "*", Decimal: ".", Release: "?", Segment: "~"}) {
			t.Errorf("delimiters %+v", d)
		}
		if una.msgs[0].Envelope.Recipient != "006415160" { // "006?415160": a released ordinary character
			t.Errorf("recipient %q", una.msgs[0].Envelope.Recipient)
		}
		nad := findSeg(t, una.msgs[0].Segments, "NAD", 0)
		if diff := cmp.Diff("BY|792820524,,16||CUMMINS MID-RANGE ENGINE PLANT", flat(nad)); diff != "" {
			t.Errorf("NAD (-want +got):\n%s", diff)
		}
	})
	t.Run("utf8_under_UNOA", func(t *testing.T) {
		nad := findSeg(t, plain.msgs[0].Segments, "NAD", 1)
		if got := nad.Element(4).Value(); got != "BÜTTNER WIDGET COMPANY" {
			t.Errorf("NAD04 = %q", got)
		}
		if len(plain.warns) != 1 || !errors.Is(plain.warns[0], ErrRepertoire) || plain.warns[0].Segment != 7 {
			t.Errorf("warnings %v", errStrings(plain.warns))
		}
	})
	t.Run("unoc_version4_repetition", func(t *testing.T) {
		res := read("smooks__smooks-edi-cartridge/edg__src__test__resources__invoic__invoic.txt")
		m := res.msgs[0]
		if m.Envelope.Charset != "iso-8859-1" || m.Envelope.Delimiters.Repetition != "*" || m.Envelope.Version() != "D:03B:UN" {
			t.Errorf("envelope %+v", m.Envelope)
		}
		cux := findSeg(t, m.Segments, "CUX", 0)
		if diff := cmp.Diff("3;1", flat(cux)); diff != "" {
			t.Errorf("CUX (-want +got):\n%s", diff)
		}
		imd := findSeg(t, m.Segments, "IMD", 0).Element(3).Component(5)
		if imd != "Collectors edition of The Hobbit with Tolkien's original colours on sleeve" {
			t.Errorf("IMD03-5 = %q", imd)
		}
	})
	t.Run("decimal_comma", func(t *testing.T) {
		res := read("nerdocs__pydifact/tests__data__order.edi")
		if d := res.msgs[0].Envelope.Delimiters.Decimal; d != "," {
			t.Errorf("decimal mark %q", d)
		}
	})
	t.Run("trailing_component_separator", func(t *testing.T) {
		res := read("nerdocs__pydifact/tests__data__invoice_with_colon_at_end.edi")
		rff := findSeg(t, res.msgs[0].Segments, "RFF", 0)
		if diff := cmp.Diff("VA,382324067,", flat(rff)); diff != "" {
			t.Errorf("RFF (-want +got):\n%s", diff)
		}
	})
	t.Run("released_terminator_in_name", func(t *testing.T) {
		res := read("smooks__smooks-edi-cartridge/edg__src__test__resources__recadv__recadv.txt")
		nad := findSeg(t, res.msgs[0].Segments, "NAD", 2)
		if got := nad.Element(4).Value(); got != "CSP test d'This is also a test section" {
			t.Errorf("NAD04 = %q", got)
		}
		cn := findSeg(t, res.msgs[0].Segments, "NAD", 1).Element(4).Value()
		if cn != "报文测试天津有限公司" {
			t.Errorf("NAD04 = %q: UTF-8 under UNOA kept", cn)
		}
	})
}

// flat renders a segment's elements: "|" between elements, ";" between
// repetitions, "," between components.
func flat(s legacybridge.Segment) string {
	var b strings.Builder
	for i, e := range s.Elements {
		if i > 0 {
			b.WriteString("|")
		}
		for j, r := range e {
			if j > 0 {
				b.WriteString(";")
			}
			b.WriteString(strings.Join(r, ","))
		}
	}
	return b.String()
}

func valuesOfMsgs(msgs []*Message) []string {
	var out []string
	for _, m := range msgs {
		for _, s := range m.Segments {
			out = append(out, s.Tag+"="+flat(s))
		}
	}
	return out
}
