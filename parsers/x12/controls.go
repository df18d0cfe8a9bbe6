package x12

import (
	"sort"
	"strconv"
	"strings"
)

// Bounds of controls, whatever the number of sets in an envelope: at most
// about 1 MiB (measured for 100,000 numbers: 54 KiB when consecutive,
// 0.9 MiB when none is, 1.1 MiB when not numeric).
const (
	maxExactControls = 1 << 14 // control numbers kept with their segment numbers
	maxControlRuns   = 1 << 12 // runs of consecutive numbers kept
)

// controls remembers the control numbers used in one envelope (ST02 in a
// functional group, GS06 in an interchange) to find duplicates. Numbers of
// digits only are compared as numbers ("0001" = "1"), like SE02 and ST02.
//
// Numeric ones are kept as runs of consecutive numbers (the usual 1, 2, 3,
// ... is one run, extended in constant time) holding the segment number of
// each, or as isolated numbers in a map; other ones in a map. Memory is
// bounded: the first maxExactControls numbers are kept with their segment
// numbers; after that, a numeric one only extends or starts a run (at most
// maxControlRuns), which then knows the range of segments of its later
// numbers, and a non-numeric one is not kept. The zero value is empty.
type controls struct {
	num   map[uint64]int // isolated numeric control numbers -> segment number
	str   map[string]int // other control numbers -> segment number
	runs  []controlRun   // sorted, disjoint, not adjacent, none in num
	tail  int            // the run extended last: where the next number usually goes
	exact int            // numbers kept with their segment number (num, str, runs' segs)

	dropped int // numbers not kept at all (tests)
}

// controlRun is the numbers lo..hi. segs[i] is the segment number of
// base+i; the numbers of lo..hi outside base..base+len(segs)-1 were used by
// segments between segLo and segHi.
type controlRun struct {
	lo, hi       uint64
	base         uint64
	segs         []int
	segLo, segHi int // 0, 0: none
}

// used says where a control number was used before: at segment seg, or
// somewhere between seg and segHi when only a range is known.
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

func (r *controlRun) where(v uint64) used {
	if v >= r.base && v-r.base < uint64(len(r.segs)) {
		return used{seg: r.segs[v-r.base]}
	}
	return used{seg: r.segLo, segHi: r.segHi}
}

// widen adds seg to the range of the run's inexact numbers.
func (r *controlRun) widen(seg int) {
	if r.segLo == 0 {
		r.segLo, r.segHi = seg, seg
		return
	}
	r.segLo, r.segHi = min(r.segLo, seg), max(r.segHi, seg)
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
	clear(c.runs) // drop the segs slices
	c.runs = c.runs[:0]
	c.tail, c.exact = 0, 0
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
		if len(key) <= 19 { // fits a uint64, and v+1 never overflows
			v, _ := strconv.ParseUint(key, 10, 64)
			return c.addNum(v, seg)
		}
	}
	if s, ok := c.str[key]; ok {
		return used{seg: s}, false
	}
	if c.exact >= maxExactControls {
		c.dropped++
		return used{}, true
	}
	if c.str == nil {
		c.str = make(map[string]int)
	}
	c.str[strings.Clone(key)] = seg // not a substring of the segment arena
	c.exact++
	return used{}, true
}

func (c *controls) addNum(v uint64, seg int) (used, bool) {
	// The usual case: the number after the last one.
	if c.tail < len(c.runs) {
		r := &c.runs[c.tail]
		if v == r.hi+1 && (c.tail+1 == len(c.runs) || c.runs[c.tail+1].lo > v+1) {
			if _, ok := c.num[v]; !ok {
				c.extend(r, v, seg)
				return used{}, true
			}
		}
	}
	if s, ok := c.num[v]; ok {
		return used{seg: s}, false
	}
	// The first run ending at or after v.
	i := sort.Search(len(c.runs), func(i int) bool { return c.runs[i].hi >= v })
	if i < len(c.runs) && c.runs[i].lo <= v {
		return c.runs[i].where(v), false
	}
	left := i > 0 && c.runs[i-1].hi+1 == v
	right := i < len(c.runs) && c.runs[i].lo == v+1
	if left {
		c.extend(&c.runs[i-1], v, seg)
		c.tail = i - 1
		if right {
			c.merge(i - 1)
		}
		return used{}, true
	}
	// v-1 isolated: the two join the run ending at v-2, or start one.
	if s, ok := c.num[v-1]; ok && v > 0 {
		j, ok := i-1, true
		if j < 0 || c.runs[j].hi+2 != v {
			j = i
			ok = c.insert(j, controlRun{lo: v - 1, hi: v - 2, base: v - 1})
		}
		if ok {
			delete(c.num, v-1)
			c.exact--
			c.extend(&c.runs[j], v-1, s)
			c.extend(&c.runs[j], v, seg)
			c.tail = j
			if j+1 < len(c.runs) && c.runs[j+1].lo == v+1 {
				c.merge(j)
			}
			return used{}, true
		}
	}
	if c.exact < maxExactControls {
		if c.num == nil {
			c.num = make(map[uint64]int)
		}
		c.num[v] = seg
		c.exact++
		return used{}, true
	}
	// Out of exact room: v only extends or starts a run, as a number whose
	// segment is known within a range.
	if right {
		c.runs[i].lo = v
		c.runs[i].widen(seg)
		return used{}, true
	}
	r := controlRun{lo: v, hi: v, base: v, segLo: seg, segHi: seg}
	s, next := c.num[v+1] // v+1 isolated: the two start a run
	if next {
		r.hi, r.base, r.segs = v+1, v+1, []int{s}
	}
	if !c.insert(i, r) {
		c.dropped++
		return used{}, true
	}
	c.tail = i
	if next {
		delete(c.num, v+1) // its count moves to the run
		if i+1 < len(c.runs) && c.runs[i+1].lo == v+2 {
			c.merge(i)
		}
	}
	return used{}, true
}

// insert puts r at runs[i], unless there are maxControlRuns runs already.
func (c *controls) insert(i int, r controlRun) bool {
	if len(c.runs) >= maxControlRuns {
		return false
	}
	c.runs = append(c.runs, controlRun{})
	copy(c.runs[i+1:], c.runs[i:])
	c.runs[i] = r
	if c.tail >= i {
		c.tail++
	}
	return true
}

// extend adds v = r.hi+1, used at segment seg, to r.
func (c *controls) extend(r *controlRun, v uint64, seg int) {
	r.hi = v
	if r.base+uint64(len(r.segs)) == v && c.exact < maxExactControls {
		r.segs = append(r.segs, seg)
		c.exact++
		return
	}
	r.widen(seg)
}

// merge joins runs[i+1] to runs[i], which now ends just before it.
func (c *controls) merge(i int) {
	l, r := &c.runs[i], &c.runs[i+1]
	if l.base+uint64(len(l.segs)) == r.lo && r.base == r.lo {
		l.segs = append(l.segs, r.segs...)
	} else {
		for _, s := range r.segs {
			l.widen(s)
		}
		c.exact -= len(r.segs)
	}
	if r.segLo != 0 {
		l.widen(r.segLo)
		l.widen(r.segHi)
	}
	l.hi = r.hi
	c.runs = append(c.runs[:i+1], c.runs[i+2:]...)
	c.runs[len(c.runs):cap(c.runs)][0] = controlRun{} // drop the moved-out copy's segs
	if c.tail > i {
		c.tail--
	}
}
