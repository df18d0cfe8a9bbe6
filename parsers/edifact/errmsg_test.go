package edifact

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// at renders the start of an error message placed at segment seg (tag may
// be "") whose first byte is where sub first occurs in in, on line 1.
func at(t *testing.T, in, sub string, seg int, tag string) string {
	t.Helper()
	off := strings.Index(in, sub)
	if off < 0 {
		t.Fatalf("%q not in input", sub)
	}
	if tag != "" {
		tag = " (" + tag + ")"
	}
	return "edifact: t.edi: segment " + strconv.Itoa(seg) + tag + " at byte offset " + strconv.Itoa(off) + " (line 1): "
}

// Every error names its segment and byte offset, reads on its own, and
// quotes offending bytes.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(t *testing.T, in string) []string
	}{
		{"input ends inside a message", testUNB + grp + "UNH+1+ORDERS:D:96A:UN'BGM+220'", func(t *testing.T, in string) []string {
			end := ": input ends at byte offset " + strconv.Itoa(len(in)) + ", after segment 4 (BGM)"
			return []string{
				at(t, in, "UNH", 3, "UNH") + `message ORDERS "1" has no UNT` + end,
				at(t, in, "UNG", 2, "UNG") + `functional group "G1" has no UNE` + end,
				at(t, in, "UNB", 1, "UNB") + `interchange "REF1" has no UNZ` + end,
			}
		}},
		{"no UNT before UNH", testUNB + "UNH+1+ORDERS:D:96A:UN'" + msg2 + "UNZ+2+REF1'", func(t *testing.T, in string) []string {
			return []string{at(t, in, "UNH+2", 3, "UNH") + `message ORDERS "1" (UNH at segment 2) has no UNT before this UNH`}
		}},
		{"no UNE before UNZ", testUNB + grp + "UNZ+1+REF1'", func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "UNZ", 3, "UNZ") + `functional group "G1" (UNG at segment 2) has no UNE before this UNZ`,
			}
		}},
		{"no UNZ before UNB", testUNB + msg1 + testUNB + msg1 + "UNZ+1+REF1'", func(t *testing.T, in string) []string {
			return []string{"edifact: t.edi: segment 5 (UNB) at byte offset " + strconv.Itoa(len(testUNB+msg1)) +
				` (line 1): interchange "REF1" (UNB at segment 1) has no UNZ before this UNB`}
		}},
		{"counts and references", testUNB + "UNH+1+ORDERS:D:96A:UN'UNT+X+2'UNZ+7+REF2'", func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "UNT", 3, "UNT") + `UNT01 (0074) "X" is not a number of segments (message has 2)`,
				at(t, in, "UNT", 3, "UNT") + `UNT02 (0062) "2" does not match UNH01 "1"`,
				at(t, in, "UNZ", 4, "UNZ") + "UNZ01 (0036) declares 7 messages, interchange has 1",
				at(t, in, "UNZ", 4, "UNZ") + `UNZ02 (0020) "REF2" does not match UNB05 "REF1"`,
			}
		}},
		{"misplaced segments", testUNB + "BGM+1'UNT+2+1'" + grp + "UNE+0+G1'" + msg1 + "UNZ+1+REF1'", func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "BGM", 2, "BGM") + "BGM segment between messages (outside UNH..UNT)",
				at(t, in, "UNT", 3, "UNT") + "UNT without a UNH",
				at(t, in, "UNE", 5, "UNE") + `functional group "G1" holds no message`,
				at(t, in, "UNH", 6, "UNH") + `message outside a functional group in interchange "REF1" that has groups: an interchange holds either groups or messages`,
			}
		}},
		{"service segment shape", "UNB+UNOA:3:9+S+R+240115+REF1+PW++++++X'UNH+1+ORDERS:D:96A'UNT+2+1'UNZ+1+REF1'", func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "UNB", 1, "UNB") + "UNB has 12 data elements, at most 11 in syntax version 3",
				at(t, in, "UNB", 1, "UNB") + "UNB01 (S001) has 3 components, at most 2 in syntax version 3",
				at(t, in, "UNB", 1, "UNB") + "UNB04 (S004) component 2 (0019) is missing (mandatory)",
				at(t, in, "UNH", 2, "UNH") + "UNH02 (S009) component 4 (0051) is missing (mandatory)",
			}
		}},
		{"bad tags quoted and cut", testUNB + "UNH+1+ORDERS:D:96A:UN'Bgm+1'THIS IS NOT A SEGMENT AT ALL'+X'UNT+5+1'UNZ+1+REF1'", func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "Bgm", 3, "") + `segment tag "Bgm" is not 3 upper-case letters or digits: "Bgm+1"`,
				at(t, in, "THIS", 4, "") + `segment tag "THIS IS NOT A SEGMEN"... is not 3 upper-case letters or digits`,
				at(t, in, "+X'", 5, "") + `segment has no tag (missing segment tag): "+X"`,
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAll(t, []byte(tc.in), "t.edi")
			want := tc.want(t, tc.in)
			if diff := cmp.Diff(want, errStrings(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range res.errs {
				checkPlaced(t, e, "t.edi", int64(len(tc.in)))
			}
		})
	}
}

// A read error names the last segment read (the first, before any) and
// where reading stopped.
func TestReadErrorPlaced(t *testing.T) {
	cause := errors.New("disk on fire")
	body := testUNB + "UNH+1+ORDERS:D:96A:UN'BGM+220'"
	tests := []struct {
		name, in, want string
	}{
		{"after BGM", body, "edifact: t.edi: segment 3 (BGM) at byte offset " + strconv.Itoa(len(body)) + " (line 1): read error: disk on fire"},
		{"before any segment", "", "edifact: t.edi: segment 1 at byte offset 0 (line 1): read error: disk on fire"},
		{"inside a segment", body + "DTM+137", "edifact: t.edi: segment 3 (BGM) at byte offset " + strconv.Itoa(len(body)+7) + " (line 1): read error: disk on fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoderName(io.MultiReader(strings.NewReader(tc.in), iotest.ErrReader(cause)), "t.edi")
			var got error
			for i := 0; i < 10 && got == nil; i++ {
				_, got = d.Decode()
			}
			var pe *ParseError
			if !errors.As(got, &pe) || !errors.Is(got, cause) || !pe.Fatal() {
				t.Fatalf("error = %v, want a fatal *ParseError wrapping %v", got, cause)
			}
			if got.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", got, tc.want)
			}
			checkPlaced(t, pe, "t.edi", int64(len(tc.in)))
			if _, err := d.Decode(); err != io.EOF {
				t.Errorf("after a fatal error: %v, want io.EOF", err)
			}
		})
	}
}

// Every error from broken inputs is placed: the input cut at every byte
// (every envelope left open), a control byte or a delimiter inserted at
// every byte, the corpus and the cases.
func TestErrorsPlaced(t *testing.T) {
	base := testUNA + "UNB+UNOC:4+S+R+20240115:1200+I1'" + grp + "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A?+B??:C*D'" +
		"UNT+3+1'UNE+1+G1'UNZ+1+I1'UNB+UNOB\x1f4\x1dS\x1dR\x1d20240115\x1f1200\x1dI2\x1cUNH\x1d1\x1dX\x1fD\x1f1\x1fUN\x1cUNT\x1d2\x1d1\x1cUNZ\x1d1\x1dI2\x1c"
	inputs := map[string]string{}
	for i := 0; i <= len(base); i++ {
		inputs["cut at "+strconv.Itoa(i)] = base[:i]
		for _, b := range []string{"\x00", "'", "+", "?", "\n", "\x1c"} {
			inputs["insert "+strconv.Quote(b)+" at "+strconv.Itoa(i)] = base[:i] + b + base[i:]
		}
	}
	for _, rel := range edifactCorpusFiles(t) {
		b, err := os.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(rel)] = string(b)
	}
	for name, in := range inputs {
		res := decodeAll(t, []byte(in), "t.edi")
		for _, e := range append(res.errs, res.warns...) {
			checkPlaced(t, e, "t.edi", int64(len(in)))
		}
		for _, m := range res.msgs {
			for _, s := range m.Segments {
				if validTag(s.Tag) && !tagAt([]byte(in), s.Offset, s.Tag) {
					t.Errorf("%s: segment %d (%q) offset %d does not point at its tag", name, s.Number, s.Tag, s.Offset)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("input %s: %q", name, in)
		}
	}
}
