package fixedwidth

import (
	"math/rand/v2"
	"testing"
)

// TestTrimFieldMatchesGoFixedwidth checks the trimming used for fields too
// long for go-fixedwidth against go-fixedwidth itself, for every trim
// setting and a few pads.
func TestTrimFieldMatchesGoFixedwidth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune(" _0aé—")
	for _, trim := range []string{"both", "left", "right", "none"} {
		for _, pad := range []string{"", "_", "0"} {
			l := &Layout{Name: "t", Records: []RecordType{{Name: "r", Fields: []Field{{Name: "f", Start: 1, Length: 8, Trim: trim, Pad: pad}}}}}
			s, err := compile(l)
			if err != nil {
				t.Fatal(err)
			}
			rt := s.types[0]
			fw := newFWDecoder(rt.structType, true)
			for range 500 {
				var b []rune
				for range 8 {
					b = append(b, alphabet[r.IntN(len(alphabet))])
				}
				line := string(b)
				if err := fw.decode(line); err != nil {
					t.Fatal(err)
				}
				want := fw.v.Elem().Field(0).String()
				if got := trimField(line, rt.fields[0]); got != want {
					t.Fatalf("trim %s pad %q on %q: got %q, go-fixedwidth %q", trim, pad, line, got, want)
				}
			}
		}
	}
}
