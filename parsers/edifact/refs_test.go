package edifact

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// refs finds exactly the duplicates a map of every reference finds, and
// names a segment (or a range holding it) that used the reference before,
// over patterns of references senders use.
func TestRefsAgainstMap(t *testing.T) {
	patterns := map[string]func(r *rand.Rand, i int) string{
		"consecutive":        func(_ *rand.Rand, i int) string { return strconv.Itoa(i + 1) },
		"zero padded":        func(_ *rand.Rand, i int) string { return pad(i+1, 9) },
		"all the same":       func(_ *rand.Rand, _ int) string { return "1" },
		"random small":       func(r *rand.Rand, _ int) string { return strconv.Itoa(r.IntN(3000)) },
		"padding mixed":      func(r *rand.Rand, _ int) string { return pad(r.IntN(50), 1+r.IntN(3)) },
		"letters":            func(r *rand.Rand, _ int) string { return "M" + strconv.Itoa(r.IntN(2000)) },
		"runs with restarts": func(r *rand.Rand, i int) string { return strconv.Itoa(i%700 + r.IntN(2)) },
		"descending":         func(_ *rand.Rand, i int) string { return strconv.Itoa(5000 - i) },
	}
	for name, gen := range patterns {
		for seed := uint64(1); seed <= 3; seed++ {
			r := rand.New(rand.NewPCG(seed, 7))
			var got refs
			first := map[string]int{}
			all := map[string][]int{}
			for i := 0; i < 5000; i++ {
				ref, seg := gen(r, i), 10+i*3
				prev, ok := got.add(ref, seg)
				_, dup := first[ref]
				if ok == dup {
					t.Fatalf("%s/%d: ref %q at %d: new=%v, the map says duplicate=%v", name, seed, ref, seg, ok, dup)
				}
				if dup {
					found := false
					for _, s := range all[ref] {
						if s == prev.seg || prev.segHi > prev.seg && s >= prev.seg && s <= prev.segHi {
							found = true
						}
					}
					if !found {
						t.Fatalf("%s/%d: ref %q at %d: earlier use %+v, really at %v", name, seed, ref, seg, prev, all[ref])
					}
				} else {
					first[ref] = seg
				}
				all[ref] = append(all[ref], seg)
			}
		}
	}
}

func pad(v, width int) string {
	s := strconv.Itoa(v)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
