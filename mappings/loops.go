package mappings

import (
	"fmt"
	"slices"

	"legacybridge"
)

// A node is a scope of an EDI transaction: the whole transaction (root), a
// hierarchy loop (HL, or a declared hierarchy such as EDIFACT CPS), a
// declared segment group (a segment and its followers until the next tag in
// a set) or, inside each: over plain segments, one segment.
//
// A scope's segments are its loose segments plus its child groups. Paths see
// only loose segments; a group is reached by naming it (N1[N101=ST]/N102) or
// by each:/with:. Loops nest by their parent id (HL02, CPS02), not by
// position: the segments of a loop are its first segment and its followers
// up to the next loop (HL: or CTT/SE); its descendants are other loops.
type node struct {
	tag    string
	lo, hi int   // segment index range [lo, hi)
	loose  []int // indices of loose segments, in order
	groups []*node

	// Loops only (HL, declared hierarchies).
	hl     bool
	id     string
	level  string
	parent *node
	kids   []*node // child loops (parent id = this id), in document order
	depth  int
	order  int // index in doc.hls
}

// A hierarchy makes every segment of a tag start a loop that nests by an
// id/parent element pair: HL (built in: HL01, HL02, level HL03) and groups
// declared with id:, parent: and level: (EDIFACT CPS: CPS01, CPS02, the
// level an expression such as the PAC's package type).
type hierarchy struct {
	tag    string
	id     designator
	parent designator
	level  *expr // the loop's level code, evaluated in the loop
	top    *expr // the level of a loop without a parent; nil: level
}

// hlHierarchy is the X12 HL hierarchy's id and parent elements.
var hlHierarchy = &hierarchy{tag: "HL", id: designator{tag: "HL", pos: 1}, parent: designator{tag: "HL", pos: 2}}

// doc indexes one record's segments for path evaluation.
type doc struct {
	segs  []legacybridge.Segment
	root  *node
	hls   []*node // every loop (HL or declared hierarchy) in document order
	tops  []*node // loops without a parent, in document order
	hiers map[string]*hierarchy
}

// hlEnds are the tags that close an HL loop besides the next HL.
var hlEnds = map[string]bool{"HL": true, "CTT": true, "SE": true}

// buildDoc partitions segs into loose segments, declared groups and loops
// (HL, and the hierarchies in hiers). groups maps a group's start tag to the
// tags (besides itself) that end it; HL, SE and hierarchy tags end every
// group. The levels of declared hierarchies are expressions, set afterwards
// by evalCtx.levels.
func buildDoc(segs []legacybridge.Segment, groups map[string]map[string]bool, hiers map[string]*hierarchy) (*doc, error) {
	d := &doc{segs: segs, hiers: hiers}
	d.root = &node{lo: 0, hi: len(segs)}
	d.partition(d.root, 0, len(segs), groups, true)
	if len(d.hls) == 0 {
		return d, nil
	}
	type key struct{ tag, id string }
	byID := make(map[key]*node, len(d.hls))
	for i, h := range d.hls {
		h.order = i
		hs := segs[h.lo]
		hr := hlHierarchy
		if h.tag != "HL" {
			hr = hiers[h.tag]
		}
		h.id = elementValue(hs, hr.id)
		parent := elementValue(hs, hr.parent)
		if h.tag == "HL" {
			h.level = hs.Element(3).Value()
		}
		if h.id == "" {
			return nil, &structError{seg: h.lo, err: fmt.Errorf("%s (hierarchical id) is empty", hr.id)}
		}
		if _, dup := byID[key{h.tag, h.id}]; dup {
			return nil, &structError{seg: h.lo, err: fmt.Errorf("%s %s is used twice", hr.id, h.id)}
		}
		if parent != "" {
			p, ok := byID[key{h.tag, parent}]
			if !ok {
				return nil, &structError{seg: h.lo, err: fmt.Errorf("%s %s names parent %s, which no earlier %s has", h.tag, h.id, parent, h.tag)}
			}
			h.parent = p
			h.depth = p.depth + 1
			p.kids = append(p.kids, h)
		} else {
			d.tops = append(d.tops, h)
		}
		byID[key{h.tag, h.id}] = h
	}
	return d, nil
}

// structError is a fault in the record's structure (not in one value).
type structError struct {
	seg int
	err error
}

func (e *structError) Error() string { return e.err.Error() }

func (d *doc) partition(n *node, from, hi int, groups map[string]map[string]bool, top bool) {
	i := from
	for i < hi {
		tag := d.segs[i].Tag
		if top && tag == "HL" {
			j := i + 1
			for j < hi && !hlEnds[d.segs[j].Tag] {
				j++
			}
			g := &node{tag: "HL", lo: i, hi: j, hl: true, loose: []int{i}}
			d.partition(g, i+1, j, groups, false)
			n.groups = append(n.groups, g)
			d.hls = append(d.hls, g)
			i = j
			continue
		}
		if top && d.hiers[tag] != nil {
			// A declared hierarchy's loop: up to the next loop (of any
			// hierarchy), a tag of its until: list, or SE.
			until := groups[tag]
			j := i + 1
			for j < hi {
				t := d.segs[j].Tag
				if t == "HL" || d.hiers[t] != nil || until[t] || t == "SE" {
					break
				}
				j++
			}
			g := &node{tag: tag, lo: i, hi: j, hl: true, loose: []int{i}}
			d.partition(g, i+1, j, groups, false)
			n.groups = append(n.groups, g)
			d.hls = append(d.hls, g)
			i = j
			continue
		}
		if until, ok := groups[tag]; ok && d.hiers[tag] == nil {
			j := i + 1
			for j < hi {
				t := d.segs[j].Tag
				if t == tag || until[t] || t == "HL" || t == "SE" || d.hiers[t] != nil {
					break
				}
				j++
			}
			g := &node{tag: tag, lo: i, hi: j, loose: []int{i}}
			d.partition(g, i+1, j, groups, false)
			n.groups = append(n.groups, g)
			i = j
			continue
		}
		n.loose = append(n.loose, i)
		i++
	}
}

// scope is where paths are evaluated: a node, and the loop that encloses
// it (nil at the root) for loop selectors.
type scope struct {
	n  *node
	hl *node
	// rec is the record fields., envelope. and record. paths read: a
	// child record of a fixed-width document inside each:/with: over
	// them; nil: the record being mapped.
	rec *legacybridge.Record
}

// below returns the loops under anc (nil: every loop), in document order,
// without descending past a loop whose level is in outside (that loop itself
// is included). It walks only that part of the tree, so selecting in each of
// n loops costs the size of their subtrees, not n × every loop.
func (d *doc) below(anc *node, outside []string) []*node {
	var out []*node
	stack := d.tops
	if anc != nil {
		stack = anc.kids
	}
	stack = append([]*node(nil), stack...)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, h)
		if !slices.Contains(outside, h.level) {
			stack = append(stack, h.kids...)
		}
	}
	slices.SortFunc(out, func(a, b *node) int { return a.order - b.order })
	return out
}

// matches tests a selector condition on segment i; nth counts matches so
// far for ordinal conditions.
func (d *doc) matches(c cond, i int, nth *int) bool {
	switch c.kind {
	case condEq:
		v := elementValue(d.segs[i], c.elem)
		for _, want := range c.values {
			if v == want {
				return true
			}
		}
		return false
	case condOrdinal:
		*nth++
		return *nth == c.n
	case condLevel:
		return false // only loops have levels (matchesLoop)
	}
	return true
}

// matchesLoop tests a selector condition on a loop: [T] tests its level,
// other conditions its first segment.
func (d *doc) matchesLoop(c cond, h *node, nth *int) bool {
	if c.kind == condLevel {
		return slices.Contains(c.values, h.level)
	}
	return d.matches(c, h.lo, nth)
}

// isLoop reports whether tag starts loops (HL or a declared hierarchy).
func (d *doc) isLoop(tag string) bool { return tag == "HL" || d.hiers[tag] != nil }

// selectAll returns the scopes a step selects in s, in document order:
// loops (at the root every loop of the tag, inside a loop of the tag its
// descendants; with st.outside, only those not inside a loop of those
// levels below the scope), the scope's declared groups of the tag (with
// st.outside, also those of the loops below the scope that are not inside
// a loop of those levels), or its loose segments of the tag.
func (d *doc) selectAll(s scope, st step, isGroup bool, limit int) []scope {
	var out []scope
	nth := 0
	switch {
	case d.isLoop(st.tag):
		anc := s.hl
		if anc != nil && anc.tag != st.tag {
			anc = nil // another hierarchy's loop: select from the root
		}
		cands := d.hls
		if anc != nil || len(st.outside) > 0 {
			cands = d.below(anc, st.outside)
		}
		for _, h := range cands {
			if h.tag == st.tag && d.matchesLoop(st.cond, h, &nth) {
				out = append(out, scope{n: h, hl: h})
				if limit > 0 && len(out) == limit {
					break
				}
			}
		}
	case isGroup && len(st.outside) > 0:
		for _, g := range d.groupsThrough(s, st) {
			if d.matches(st.cond, g.n.lo, &nth) {
				out = append(out, g)
				if limit > 0 && len(out) == limit {
					break
				}
			}
		}
	case isGroup:
		for _, g := range s.n.groups {
			if g.tag == st.tag && d.matches(st.cond, g.lo, &nth) {
				out = append(out, scope{n: g, hl: s.hl})
				if limit > 0 && len(out) == limit {
					break
				}
			}
		}
	default:
		for _, i := range s.n.loose {
			if d.segs[i].Tag == st.tag && d.matches(st.cond, i, &nth) {
				out = append(out, scope{n: &node{tag: st.tag, lo: i, hi: i + 1, loose: []int{i}}, hl: s.hl})
				if limit > 0 && len(out) == limit {
					break
				}
			}
		}
	}
	return out
}

// groupsThrough returns, in document order, the declared groups of st.tag
// in the scope and, when the scope is the root or a loop, in the loops
// below it that neither are nor lie inside a loop of a level in
// st.outside: LIN groups of a tare and of the levels looked through below
// it, but not those of its packs. Each comes with the loop that holds it.
func (d *doc) groupsThrough(s scope, st step) []scope {
	var out []scope
	for _, g := range s.n.groups {
		if g.tag == st.tag {
			out = append(out, scope{n: g, hl: s.hl})
		}
	}
	if s.n != d.root && !s.n.hl {
		return out
	}
	var anc *node
	if s.n.hl {
		anc = s.n
	}
	for _, l := range d.below(anc, st.outside) {
		if slices.Contains(st.outside, l.level) {
			continue
		}
		for _, g := range l.groups {
			if g.tag == st.tag {
				out = append(out, scope{n: g, hl: l})
			}
		}
	}
	slices.SortFunc(out, func(a, b scope) int { return a.n.lo - b.n.lo })
	return out
}

// findSegment returns the index of the first loose segment of s with the
// tag that satisfies c, or -1.
func (d *doc) findSegment(s scope, tag string, c cond) int {
	nth := 0
	for _, i := range s.n.loose {
		if d.segs[i].Tag == tag && d.matches(c, i, &nth) {
			return i
		}
	}
	return -1
}

// elementValue reads a designator from one segment. Elements past the end
// of the segment are absent (""), never taken from another segment.
func elementValue(seg legacybridge.Segment, des designator) string {
	if len(des.quals) > 0 {
		for _, q := range des.quals {
			for p := des.pos; p+1 <= len(seg.Elements); p += 2 {
				if seg.Element(p).Value() == q {
					return componentOf(seg.Element(p+1), des.comp)
				}
			}
		}
		return ""
	}
	return componentOf(seg.Element(des.pos), des.comp)
}

func componentOf(e legacybridge.Element, comp int) string {
	if comp == 0 {
		return e.Value()
	}
	return e.Component(comp)
}
