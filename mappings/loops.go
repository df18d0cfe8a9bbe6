package mappings

import (
	"fmt"
	"slices"

	"legacybridge"
)

// A node is a scope of an EDI transaction: the whole transaction (root), an
// HL loop, a declared segment group (a segment and its followers until the
// next tag in a set) or, inside each: over plain segments, one segment.
//
// A scope's segments are its loose segments plus its child groups. Paths see
// only loose segments; a group is reached by naming it (N1[N101=ST]/N102) or
// by each:/with:. HL loops nest by HL02 (parent id), not by position: the
// segments of an HL loop are the HL segment and its followers up to the next
// HL (or CTT/SE); its descendants are other loops.
type node struct {
	tag    string
	lo, hi int   // segment index range [lo, hi)
	loose  []int // indices of loose segments, in order
	groups []*node

	// HL loops only.
	hl     bool
	id     string
	level  string
	parent *node
	kids   []*node // child loops (HL02 = this id), in document order
	depth  int
	order  int // index in doc.hls
}

// doc indexes one record's segments for path evaluation.
type doc struct {
	segs []legacybridge.Segment
	root *node
	hls  []*node // every HL loop in document order
	tops []*node // loops without a parent, in document order
}

// hlEnds are the tags that close an HL loop besides the next HL.
var hlEnds = map[string]bool{"HL": true, "CTT": true, "SE": true}

// buildDoc partitions segs into loose segments, declared groups and HL
// loops. groups maps a group's start tag to the tags (besides itself) that
// end it; HL and SE end every group.
func buildDoc(segs []legacybridge.Segment, groups map[string]map[string]bool) (*doc, error) {
	d := &doc{segs: segs}
	d.root = &node{lo: 0, hi: len(segs)}
	d.partition(d.root, 0, len(segs), groups, true)
	if len(d.hls) == 0 {
		return d, nil
	}
	byID := make(map[string]*node, len(d.hls))
	for i, h := range d.hls {
		h.order = i
		hs := segs[h.lo]
		h.id = hs.Element(1).Value()
		parent := hs.Element(2).Value()
		h.level = hs.Element(3).Value()
		if h.id == "" {
			return nil, &structError{seg: h.lo, err: fmt.Errorf("HL01 (hierarchical id) is empty")}
		}
		if _, dup := byID[h.id]; dup {
			return nil, &structError{seg: h.lo, err: fmt.Errorf("HL01 %s is used twice", h.id)}
		}
		if parent != "" {
			p, ok := byID[parent]
			if !ok {
				return nil, &structError{seg: h.lo, err: fmt.Errorf("HL %s names parent %s, which no earlier HL has", h.id, parent)}
			}
			h.parent = p
			h.depth = p.depth + 1
			p.kids = append(p.kids, h)
		} else {
			d.tops = append(d.tops, h)
		}
		byID[h.id] = h
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
		if until, ok := groups[tag]; ok {
			j := i + 1
			for j < hi {
				t := d.segs[j].Tag
				if t == tag || until[t] || t == "HL" || t == "SE" {
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

// scope is where paths are evaluated: a node, and the HL loop that encloses
// it (nil at the root) for HL selectors.
type scope struct {
	n  *node
	hl *node
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
	}
	return true
}

// selectAll returns the scopes a step selects in s, in document order: HL
// loops (at the root every loop, inside an HL loop its descendants; with
// st.outside, only those not inside a loop of those levels below the
// scope), the scope's declared groups of the tag, or its loose segments of
// the tag.
func (d *doc) selectAll(s scope, st step, isGroup bool, limit int) []scope {
	var out []scope
	nth := 0
	switch {
	case st.tag == "HL":
		cands := d.hls
		if s.hl != nil || len(st.outside) > 0 {
			cands = d.below(s.hl, st.outside)
		}
		for _, h := range cands {
			if d.matches(st.cond, h.lo, &nth) {
				out = append(out, scope{n: h, hl: h})
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
