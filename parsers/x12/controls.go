package x12

import (
	"sort"
	"strconv"
	"strings"
)

// Bounds of controls: memory for duplicate checks stays under about half a
// megabyte per envelope level, whatever the number of sets.
const (
	maxExactControls = 1 << 14 // control numbers kept with their segment numbers
	maxControlRuns   = 1 << 12 // runs of consecutive numeric ones kept after that
)

// controls remembers the control numbers used in one envelope (ST02 in a
// functional group, GS06 in an interchange) to find duplicates. Numbers of
// digits only are compared as numbers ("0001" = "1"), like SE02 and ST02.
//
// Memory is bounded: the first maxExactControls numbers are kept with the
// segment number of their header. After that, numeric ones are kept as runs
// of consecutive numbers (the usual 1, 2, 3, ... is one run) with the range
// of segments their headers were at, up to maxControlRuns runs; other
// numbers are no longer checked. The zero value is empty.
type controls struct {
	num  map[uint64]int // numeric control number -> segment number
	str  map[string]int // other control numbers -> segment number
	runs []controlRun   // sorted, disjoint and not adjacent
}

type controlRun struct {
	lo, hi       uint64 // control numbers lo..hi were all used
	segLo, segHi int    // by headers between these segment numbers
}

// used says where a control number was used before: at segment seg, or
// somewhere between seg and segHi when only its run is known.
type used struct {
	seg, segHi int
}

// describe names the earlier user: "the transaction set at segment 3" or
// "a transaction set between segments 20000 and 40000".
func (u used) describe(what string) string {
	if u.segHi > u.seg {
		return "a " + what + " between segments " + strconv.Itoa(u.seg) + " and " + strconv.Itoa(u.segHi)
	}
	return "the " + what + " at segment " + strconv.Itoa(u.seg)
}

// reset forgets every number, keeping small maps for reuse.
func (c *controls) reset() {
	if len(c.num) > 256 {
		c.num = nil
	}
	if len(c.str) > 256 {
		c.str = nil
	}
	clear(c.num)
	clear(c.str)
	c.runs = c.runs[:0]
}

// add records id as used by the header at segment seg. When id was used
// before, it records nothing and returns where, and false.
func (c *controls) add(id string, seg int) (used, bool) {
	key := id
	if allDigits(id) {
		key = strings.TrimLeft(id, "0")
		if key == "" {
			key = "0"
		}
		if len(key) <= 19 { // fits a uint64, and hi+1 never overflows
			v, _ := strconv.ParseUint(key, 10, 64)
			return c.addNum(v, seg)
		}
	}
	if s, ok := c.str[key]; ok {
		return used{seg: s}, false
	}
	if len(c.num)+len(c.str) < maxExactControls {
		if c.str == nil {
			c.str = make(map[string]int)
		}
		c.str[strings.Clone(key)] = seg // not a substring of the segment arena
	}
	return used{}, true
}

func (c *controls) addNum(v uint64, seg int) (used, bool) {
	if s, ok := c.num[v]; ok {
		return used{seg: s}, false
	}
	// The first run ending at or after v.
	i := sort.Search(len(c.runs), func(i int) bool { return c.runs[i].hi >= v })
	if i < len(c.runs) && c.runs[i].lo <= v {
		r := c.runs[i]
		return used{seg: r.segLo, segHi: r.segHi}, false
	}
	if len(c.num)+len(c.str) < maxExactControls {
		if c.num == nil {
			c.num = make(map[uint64]int)
		}
		c.num[v] = seg
		return used{}, true
	}
	// v lies between runs[i-1] and runs[i]: extend one, merge both, or
	// start a run.
	widen := func(r *controlRun) {
		r.segLo, r.segHi = min(r.segLo, seg), max(r.segHi, seg)
	}
	left := i > 0 && c.runs[i-1].hi+1 == v
	right := i < len(c.runs) && c.runs[i].lo == v+1
	switch {
	case left && right:
		l, r := &c.runs[i-1], c.runs[i]
		l.hi = r.hi
		l.segLo, l.segHi = min(l.segLo, r.segLo), max(l.segHi, r.segHi)
		widen(l)
		c.runs = append(c.runs[:i], c.runs[i+1:]...)
	case left:
		c.runs[i-1].hi = v
		widen(&c.runs[i-1])
	case right:
		c.runs[i].lo = v
		widen(&c.runs[i])
	case len(c.runs) < maxControlRuns:
		c.runs = append(c.runs, controlRun{})
		copy(c.runs[i+1:], c.runs[i:])
		c.runs[i] = controlRun{lo: v, hi: v, segLo: seg, segHi: seg}
	}
	return used{}, true
}
