package file

import (
	"fmt"
	"strconv"
	"strings"
)

// A path picks values out of an event's JSON data (decoded with UseNumber:
// map[string]any, []any, string, json.Number, bool, nil). Syntax:
//
//	$                the event data
//	$name            a value bound by an enclosing each (as: name), or
//	                 $event: the event's attributes (id, type, source,
//	                 subject, time, dataschema) and extensions (ext.NAME)
//	@                the element of the innermost each
//	.key  ['key']    an object member (key: letters, digits, _ and -)
//	[n]              an array element (0-based)
//	[*]              every array element (only in each)
//
// A step that does not apply (a member of a non-object, an index out of
// range, a missing key) matches nothing: the value is missing, not an error.
type path struct {
	text  string
	root  string // "" for $, "@" for the current element, else a binding
	steps []step
	wild  bool // has [*]
}

type step struct {
	key   string
	index int // -1: key; -2: wildcard
}

const (
	stepKey  = -1
	stepWild = -2
)

func parsePath(s string) (*path, error) {
	p := &path{text: s}
	bad := func(at int, what string) (*path, error) {
		return nil, fmt.Errorf("path %q: %s at character %d", s, what, at+1)
	}
	i := 0
	switch {
	case strings.HasPrefix(s, "@"):
		p.root, i = "@", 1
	case strings.HasPrefix(s, "$"):
		i = 1
		j := i
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		p.root, i = s[i:j], j
	default:
		return nil, fmt.Errorf("path %q must start with $ (the event data), $name (a binding) or @ (the each element)", s)
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && isKeyChar(s[j]) {
				j++
			}
			if j == i+1 {
				return bad(i, "a key must follow '.'")
			}
			p.steps = append(p.steps, step{key: s[i+1 : j], index: stepKey})
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return bad(i, "'[' without ']'")
			}
			in := s[i+1 : i+end]
			switch {
			case in == "*":
				p.steps = append(p.steps, step{index: stepWild})
				p.wild = true
			case len(in) >= 2 && (in[0] == '\'' && in[len(in)-1] == '\'' || in[0] == '"' && in[len(in)-1] == '"'):
				p.steps = append(p.steps, step{key: in[1 : len(in)-1], index: stepKey})
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return bad(i, "want [n], [*] or ['key'] ")
				}
				p.steps = append(p.steps, step{index: n})
			}
			i += end + 1
		default:
			return bad(i, fmt.Sprintf("unexpected %q", s[i]))
		}
	}
	return p, nil
}

func isKeyChar(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// match is one value a path found, and where (a concrete path, for errors).
type match struct {
	v     any
	where string
}

// scope resolves the roots of paths while a document is walked.
type scope struct {
	data     any
	bindings map[string]any
	cur      match // the innermost each element (@)
	hasCur   bool
}

func (sc *scope) root(p *path) (match, bool) {
	switch p.root {
	case "":
		return match{sc.data, "$"}, true
	case "@":
		return sc.cur, sc.hasCur
	}
	v, ok := sc.bindings[p.root]
	return match{v, "$" + p.root}, ok
}

// all returns every value p matches, in document order.
func (sc *scope) all(p *path) []match {
	m, ok := sc.root(p)
	if !ok {
		return nil
	}
	cur := []match{m}
	for _, st := range p.steps {
		var next []match
		for _, m := range cur {
			switch st.index {
			case stepKey:
				if o, ok := m.v.(map[string]any); ok {
					if v, ok := o[st.key]; ok {
						next = append(next, match{v, m.where + "." + st.key})
					}
				}
			case stepWild:
				if a, ok := m.v.([]any); ok {
					for i, v := range a {
						next = append(next, match{v, m.where + "[" + strconv.Itoa(i) + "]"})
					}
				}
			default:
				if a, ok := m.v.([]any); ok && st.index < len(a) {
					next = append(next, match{a[st.index], m.where + "[" + strconv.Itoa(st.index) + "]"})
				}
			}
		}
		cur = next
	}
	return cur
}

// one returns the value a path without wildcards matches, if any.
func (sc *scope) one(p *path) (match, bool) {
	ms := sc.all(p)
	if len(ms) == 0 {
		return match{}, false
	}
	return ms[0], true
}
