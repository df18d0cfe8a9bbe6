package x12

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testGS = "GS*PO*S*R*20240115*1200*1*X*004010~"

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
	return "x12: t.edi: segment " + strconv.Itoa(seg) + tag + " at byte offset " + strconv.Itoa(off) + " (line 1): "
}

// Every error names its segment and byte offset, reads on its own, and
// quotes offending bytes.
func TestErrorMessages(t *testing.T) {
	second := strings.Replace(testISA, "000000001", "000000002", 1)
	tests := []struct {
		name string
		in   string
		txs  int
		want func(t *testing.T, in string) []string
	}{
		{"input ends inside ST", testISA + testGS + "ST*850*0001~BEG*00~", 1, func(t *testing.T, in string) []string {
			end := ": input ends at byte offset " + strconv.Itoa(len(in)) + ", after segment 4 (BEG)"
			return []string{
				at(t, in, "ST*", 3, "ST") + `transaction set 850 "0001" has no SE` + end,
				at(t, in, "GS*", 2, "GS") + `functional group PO "1" has no GE` + end,
				at(t, in, "ISA*", 1, "ISA") + `interchange "000000001" has no IEA` + end,
			}
		}},
		{"input ends inside GS", testISA + testGS + "ST*850*1~SE*2*1~", 1, func(t *testing.T, in string) []string {
			end := ": input ends at byte offset " + strconv.Itoa(len(in)) + ", after segment 4 (SE)"
			return []string{
				at(t, in, "GS*", 2, "GS") + `functional group PO "1" has no GE` + end,
				at(t, in, "ISA*", 1, "ISA") + `interchange "000000001" has no IEA` + end,
			}
		}},
		{"input ends inside ISA", testISA + testGS + "ST*850*1~SE*2*1~GE*1*1~\r\n", 1, func(t *testing.T, in string) []string {
			return []string{
				at(t, in, "ISA*", 1, "ISA") + `interchange "000000001" has no IEA: input ends at byte offset ` +
					strconv.Itoa(len(in)) + ", after segment 5 (GE)",
			}
		}},
		{"no SE before GE", testISA + testGS + "ST*850*1~BEG*00~GE*1*1~IEA*1*000000001~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "GE*", 5, "GE") + `transaction set 850 "1" (ST at segment 3) has no SE before this GE`}
		}},
		{"no GE before IEA", testISA + testGS + "IEA*1*000000001~", 0, func(t *testing.T, in string) []string {
			return []string{at(t, in, "IEA*", 3, "IEA") + `functional group "1" (GS at segment 2) has no GE before this IEA`}
		}},
		{"no IEA before ISA", testISA + testGS + "GE*0*1~" + second + "IEA*0*000000002~", 0, func(t *testing.T, in string) []string {
			return []string{at(t, in, second, 4, "ISA") + `interchange "000000001" (ISA at segment 1) has no IEA before this ISA`}
		}},
		{"bad tag inside a set", testISA + testGS + "ST*850*1~be1*x~SE*3*1~GE*1*1~IEA*1*000000001~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "be1", 4, "") + `segment tag "be1" is not 2-3 upper-case letters or digits: "be1*x"`}
		}},
		{"bad tag between sets", testISA + testGS + "ST*850*1~SE*2*1~be1*x~GE*1*1~IEA*1*000000001~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "be1", 5, "") + `segment tag "be1" is not 2-3 upper-case letters or digits: "be1*x"`}
		}},
		{"bad tag after IEA", testISA + testGS + "ST*850*1~SE*2*1~GE*1*1~IEA*1*000000001~N\x01*x~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "N\x01", 7, "") + `segment tag "N\x01" is not 2-3 upper-case letters or digits: "N\x01*x"`}
		}},
		{"no tag", testISA + testGS + "ST*850*1~*x~SE*3*1~GE*1*1~IEA*1*000000001~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "*x~", 4, "") + `segment has no tag: "*x"`}
		}},
		{"long bad tag cut at 20 bytes", testISA + testGS + "ST*850*1~THIS IS NOT A SEGMENT AT ALL~SE*3*1~GE*1*1~IEA*1*000000001~", 1,
			func(t *testing.T, in string) []string {
				return []string{at(t, in, "THIS", 4, "") + `segment tag "THIS IS NOT A SEGMEN"... is not 2-3 upper-case letters or digits`}
			}},
		{"bad tag and element text cut at 20 bytes", testISA + testGS + "ST*850*1~Po1*1*10*EA*2.50**BP*ITEM-A~SE*3*1~GE*1*1~IEA*1*000000001~", 1,
			func(t *testing.T, in string) []string {
				return []string{at(t, in, "Po1", 4, "") + `segment tag "Po1" is not 2-3 upper-case letters or digits: "Po1*1*10*EA*2.50**BP"...`}
			}},
		{"empty segment", testISA + testGS + "ST*850*1~~SE*2*1~GE*1*1~IEA*1*000000001~", 1, func(t *testing.T, in string) []string {
			return []string{at(t, in, "~~", 4, "")[:0] + "x12: t.edi: segment 4 at byte offset " + strconv.Itoa(strings.Index(in, "~~")+1) +
				` (line 1): empty segment: segment terminator "~" with no tag before it`}
		}},
		{"no interchange", "GS*PO*S*R~" + testISA, 0, func(t *testing.T, in string) []string {
			return []string{at(t, in, "GS", 1, "") + `input does not start with an ISA segment: found "GS*PO*S*R~ISA*00*   "...`}
		}},
		{"duplicate ST02", testISA + testGS + "ST*850*0001~SE*2*0001~ST*850*1~SE*2*1~GE*2*1~IEA*1*000000001~", 2,
			func(t *testing.T, in string) []string {
				return []string{at(t, in, "ST*850*1~", 5, "ST") + `ST02 "1" is already the control number of the transaction set at segment 3 in functional group "1"`}
			}},
		{"duplicate ST02, not digits", testISA + testGS + "ST*850*A1~SE*2*A1~ST*850*B1~SE*2*B1~ST*850*A1~SE*2*A1~GE*3*1~IEA*1*000000001~", 3,
			func(t *testing.T, in string) []string {
				return []string{at(t, in, "ST*850*A1~SE*2*A1~GE", 7, "ST") + `ST02 "A1" is already the control number of the transaction set at segment 3 in functional group "1"`}
			}},
		{"duplicate ST02 with a count error", testISA + testGS + "ST*850*1~SE*2*1~ST*850*1~BEG*00~SE*2*1~GE*2*1~IEA*1*000000001~", 2,
			func(t *testing.T, in string) []string {
				return []string{
					at(t, in, "ST*850*1~BEG", 5, "ST") + `ST02 "1" is already the control number of the transaction set at segment 3 in functional group "1"`,
					at(t, in, "SE*2*1~GE", 7, "SE") + "SE01 declares 2 segments, transaction set has 3",
				}
			}},
		{"same ST02 in two groups", testISA + testGS + "ST*850*1~SE*2*1~GE*1*1~" + strings.Replace(testGS, "*1*X", "*2*X", 1) +
			"ST*850*1~SE*2*1~GE*1*2~IEA*2*000000001~", 2, nil},
		{"duplicate GS06", testISA + testGS + "ST*850*1~SE*2*1~GE*1*1~" + strings.Replace(testGS, "*1*X", "*01*X", 1) +
			"ST*850*1~SE*2*1~GE*1*01~IEA*2*000000001~", 2, func(t *testing.T, in string) []string {
			return []string{at(t, in, "GS*PO*S*R*20240115*1200*01", 6, "GS") +
				`GS06 "01" is already the control number of the functional group at segment 2 in interchange "000000001"`}
		}},
		{"same GS06 in two interchanges", testISA + testGS + "GE*0*1~IEA*1*000000001~" + second + testGS + "GE*0*1~IEA*1*000000002~", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAll(t, []byte(tc.in), "t.edi")
			if len(res.txs) != tc.txs {
				t.Errorf("%d transaction sets, want %d", len(res.txs), tc.txs)
			}
			var want []string
			if tc.want != nil {
				want = tc.want(t, tc.in)
			}
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
	body := testISA + testGS + "ST*850*1~BEG*00~"
	tests := []struct {
		name, in, want string
	}{
		{"after BEG", body, "x12: t.edi: segment 4 (BEG) at byte offset " + strconv.Itoa(len(body)) + " (line 1): read error: disk on fire"},
		{"before any segment", "", "x12: t.edi: segment 1 at byte offset 0 (line 1): read error: disk on fire"},
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
		})
	}
}

// quoted matches a Go-quoted string in a message.
var quoted = regexp.MustCompile(`"(\\.|[^"\\])*"`)

// checkPlaced fails unless e names a segment (with its tag when it has a
// valid one) and a byte offset inside the input, in the message and in its
// Place.
func checkPlaced(t testing.TB, e *ParseError, name string, size int64) {
	t.Helper()
	msg := e.Error()
	p := e.Place()
	if e.Segment < 1 || p.Segment != e.Segment || p.Offset != e.Offset || p.Tag != e.Tag || p.File != name {
		t.Errorf("%q: place %+v does not name a segment", msg, p)
	}
	if e.Offset < 0 || e.Offset > size {
		t.Errorf("%q: offset %d outside the input of %d bytes", msg, e.Offset, size)
	}
	if e.Tag != "" && !validTag(e.Tag) {
		t.Errorf("%q: tag %q is not a segment tag", msg, e.Tag)
	}
	want := "x12: " + name + ": segment " + strconv.Itoa(e.Segment)
	if e.Tag != "" {
		want += " (" + e.Tag + ")"
	}
	want += " at byte offset " + strconv.FormatInt(e.Offset, 10) + " "
	if !strings.HasPrefix(msg, want) {
		t.Errorf("%q does not start with %q", msg, want)
	}
	// Outside quoted input, no empty tag, no gap left by an empty value.
	if bare := quoted.ReplaceAllString(msg, `"…"`); strings.Contains(bare, "()") || strings.Contains(bare, "  ") ||
		strings.Contains(bare, " :") {
		t.Errorf("%q: empty tag or gap in the message", msg)
	}
}

// Every error from broken inputs is placed: the input cut at every byte
// (every envelope left open), a control byte inserted at every byte, the
// corpus and the test cases. An ErrorList reads as its errors, one a line.
func TestErrorsPlaced(t *testing.T) {
	base := testISA + testGS + "ST*850*0001~BEG*00*SA*PO1~PO1*1*10*EA~SE*4*0001~ST*850*0001~SE*2*0001~GE*2*1~IEA*1*000000001~"
	inputs := map[string][]byte{}
	for i := 1; i < len(base); i++ {
		inputs["cut "+strconv.Itoa(i)] = []byte(base[:i])
		inputs["junk "+strconv.Itoa(i)] = []byte(base[:i] + "\x01" + base[i:])
	}
	if dir := findShared(); dir != "" {
		for _, rel := range goldenInputs {
			if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
				inputs[filepath.Base(rel)] = b
			}
		}
	}
	errs := 0
	for name, data := range inputs {
		d := NewDecoderName(bytes.NewReader(data), "t.edi")
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatalf("%s: decoder does not end", name)
			}
			_, err := d.Decode()
			if err == io.EOF {
				break
			}
			if err == nil {
				continue
			}
			list := flatten(t, err)
			errs += len(list)
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(list) {
				t.Errorf("%s: %d errors read as %d lines: %q", name, len(list), len(lines), err)
			}
			for j, e := range list {
				checkPlaced(t, e, "t.edi", int64(len(data)))
				if j < len(lines) && lines[j] != e.Error() {
					t.Errorf("%s: line %d of the list %q, want %q", name, j, lines[j], e.Error())
				}
			}
		}
	}
	if errs < len(base) {
		t.Errorf("only %d errors from %d broken inputs", errs, len(inputs))
	}
}

// Duplicates are found past the numbers kept exactly: a repeat of an early
// number names its set, one of a later number the run of sets it is in.
func TestDuplicateControlsManySets(t *testing.T) {
	n := maxExactControls + 100
	var b strings.Builder
	b.WriteString(testISA + testGS)
	for i := 1; i <= n; i++ {
		c := strconv.Itoa(i)
		b.WriteString("ST*850*" + c + "~SE*2*" + c + "~")
	}
	// ST of set i is segment 3+2(i-1).
	b.WriteString("ST*850*5~SE*2*5~")                                                   // segment 3+2n
	b.WriteString("ST*850*" + strconv.Itoa(n-10) + "~SE*2*" + strconv.Itoa(n-10) + "~") // 5+2n
	b.WriteString("ST*850*X1~SE*2*X1~ST*850*X1~SE*2*X1~")                               // not kept past the limit
	b.WriteString("GE*" + strconv.Itoa(n+4) + "*1~IEA*1*000000001~")
	res := decodeAll(t, []byte(b.String()), "t.edi")
	if len(res.txs) != n+4 {
		t.Errorf("%d transaction sets, want %d", len(res.txs), n+4)
	}
	var got []string
	for _, e := range res.errs {
		got = append(got, strconv.Itoa(e.Segment)+" "+e.Err.Error())
	}
	seg := func(i int) string { return strconv.Itoa(3 + 2*(i-1)) }
	want := []string{
		seg(n+1) + ` ST02 "5" is already the control number of the transaction set at segment 11 in functional group "1"`,
		seg(n+2) + ` ST02 "` + strconv.Itoa(n-10) + `" is already the control number of a transaction set between segments ` +
			seg(maxExactControls+1) + " and " + seg(n) + ` in functional group "1"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// controls against a map of everything seen, over patterns of numbers:
// never a false duplicate, an exact answer names the first use, a range
// holds it, and a duplicate is missed only when its first use was dropped.
func TestControlsAgainstReference(t *testing.T) {
	n := maxExactControls + 3*maxControlRuns
	patterns := map[string]func(rng *rand.Rand, i int) uint64{
		"sequential":     func(_ *rand.Rand, i int) uint64 { return uint64(i) },
		"gaps":           func(_ *rand.Rand, i int) uint64 { return uint64(3 * i) },
		"descending":     func(_ *rand.Rand, i int) uint64 { return uint64(1e9 - i) },
		"pairs":          func(_ *rand.Rand, i int) uint64 { return uint64(i/2*5 + i%2) },
		"random dense":   func(rng *rand.Rand, _ int) uint64 { return uint64(rng.IntN(n)) },
		"random sparse":  func(rng *rand.Rand, _ int) uint64 { return uint64(rng.IntN(50 * n)) },
		"evens then odd": func(_ *rand.Rand, i int) uint64 { return uint64(2*i%(2*n/3) + 2*i/(2*n/3)) },
		"resent blocks":  func(_ *rand.Rand, i int) uint64 { return uint64(i%1000 + i/3000*1000) },
		"sequential then repeats": func(rng *rand.Rand, i int) uint64 {
			if i < n-1000 {
				return uint64(i)
			}
			return uint64(rng.IntN(n))
		},
	}
	for seed := range uint64(3) {
		for name, next := range patterns {
			testControls(t, fmt.Sprintf("%s seed %d", name, seed), n, rand.New(rand.NewPCG(seed, 2)), next)
		}
	}
}

func testControls(t *testing.T, name string, n int, rng *rand.Rand, next func(*rand.Rand, int) uint64) {
	t.Run(name, func(t *testing.T) {
		var c controls
		first := map[uint64]int{}
		dropped := map[uint64]bool{}
		dups := 0
		for i := 1; i <= n; i++ {
			v := next(rng, i)
			id := strconv.FormatUint(v, 10)
			if i%2 == 0 {
				id = "000" + id // the same number
			}
			before := c.dropped
			prev, ok := c.add(id, i)
			f, seen := first[v]
			switch {
			case !ok && !seen:
				t.Fatalf("%d: %s reported used at %+v, never seen", i, id, prev)
			case !ok && prev.segHi > prev.seg && (f < prev.seg || f > prev.segHi):
				t.Fatalf("%d: %s first used at %d, reported between %d and %d", i, id, f, prev.seg, prev.segHi)
			case !ok && prev.segHi <= prev.seg && f != prev.seg:
				t.Fatalf("%d: %s first used at %d, reported at %d", i, id, f, prev.seg)
			case ok && seen && !dropped[v]:
				t.Fatalf("%d: %s (first used at %d) missed", i, id, f)
			}
			if !seen {
				first[v] = i
				dropped[v] = c.dropped > before
			} else {
				dups++
			}
			if c.exact > maxExactControls || len(c.runs) > maxControlRuns {
				t.Fatalf("%d: %d exact, %d runs kept: over the bounds", i, c.exact, len(c.runs))
			}
		}
		exact := len(c.num) + len(c.str)
		for i, r := range c.runs {
			exact += len(r.segs)
			if i > 0 && c.runs[i-1].hi+1 >= r.lo {
				t.Fatalf("runs %+v and %+v overlap or touch", c.runs[i-1], r)
			}
			if r.lo > r.hi || r.base < r.lo || r.base+uint64(len(r.segs)) > r.hi+1 {
				t.Fatalf("bad run %d..%d base %d with %d exact", r.lo, r.hi, r.base, len(r.segs))
			}
		}
		if exact != c.exact {
			t.Errorf("counted %d exact numbers, holds %d", c.exact, exact)
		}
		t.Logf("%d numbers, %d repeats, %d runs, %d exact, %d dropped", n, dups, len(c.runs), c.exact, c.dropped)
		c.reset()
		if _, ok := c.add("1", 1); !ok || len(c.runs) != 0 || c.exact != 1 {
			t.Errorf("reset kept numbers")
		}
	})
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"N1*X", `"N1*X"`},
		{"\x00\x1a~", `"\x00\x1a~"`},
		{strings.Repeat("A", 20), `"` + strings.Repeat("A", 20) + `"`},
		{strings.Repeat("A", 21), `"` + strings.Repeat("A", 20) + `"...`},
		// A 3-byte character across byte 20 is left out whole.
		{strings.Repeat("A", 19) + "€€", `"` + strings.Repeat("A", 19) + `"...`},
		{strings.Repeat("A", 18) + "€€", `"` + strings.Repeat("A", 18) + `"...`},
		{strings.Repeat("A", 17) + "€€", `"` + strings.Repeat("A", 17) + `€"...`},
		// Not UTF-8: cut at 20 bytes at most 3 back.
		{strings.Repeat("\x80", 30), `"` + strings.Repeat(`\x80`, 17) + `"...`},
	}
	for _, tc := range tests {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
