package mappings

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// An expr is a source (a path, a literal or concat(...)) followed by
// transforms: "PO104 | number | required".
type expr struct {
	text string
	src  source
	xs   []transform
}

// source is one of *path, literal, *concat, *subExpr.
type source interface{ isSource() }

type literal struct{ v any } // string or json.Number

type concat struct{ parts []source }

// subExpr is a parenthesized expression used as a source:
// concat((envelope.immediate_origin | trim), '/', fields.batch_number).
type subExpr struct{ e *expr }

func (literal) isSource()  {}
func (*concat) isSource()  {}
func (*path) isSource()    {}
func (*subExpr) isSource() {}

type pathKind int

const (
	pathSegment  pathKind = iota // X12 segment path: N1[N101=ST]/N102
	pathFields                   // fields.name
	pathEnvelope                 // envelope.name
	pathRecord                   // record.file, record.index, ...
)

// path addresses one value of a record.
type path struct {
	text  string
	kind  pathKind
	name  string     // fields/envelope/record name
	steps []step     // segment path: selectors before the element; fields/envelope/record: child record types (entry/fields.amount)
	elem  designator // segment path: the element
	root  bool       // segment path written /...: read from the message root, whatever the scope
}

// step selects a group (declared group or HL loop) or, as the last step
// before an element of the same tag, a segment.
type step struct {
	tag  string
	cond cond
	// outside (HL steps of each:/with: only) holds level codes (HL03): a
	// loop is selected only if no loop of one of these levels lies between
	// it and the scope (at the root: above it at all). Empty: any depth.
	outside []string
}

type condKind int

const (
	condNone    condKind = iota
	condEq               // [REF01=BM] or [N101=ST,BT]
	condOrdinal          // [2]: the second match
	condLevel            // [T] or [T,P] on a declared hierarchy: the loop's level
)

type cond struct {
	kind   condKind
	elem   designator
	values []string
	n      int
}

// designator is an element reference: PO107, SLN01-2 (component 2),
// PO106*BP,IN (the value following the first qualifier BP, else IN, in the
// qualifier/value pairs starting at PO106).
type designator struct {
	tag   string
	pos   int      // 1-based element position
	comp  int      // 1-based component; 0 = first component of first repetition
	quals []string // pair lookup qualifiers, in order of preference
}

func (d designator) String() string {
	s := fmt.Sprintf("%s%02d", d.tag, d.pos)
	if d.comp > 0 {
		s += "-" + strconv.Itoa(d.comp)
	}
	if len(d.quals) > 0 {
		s += "*" + strings.Join(d.quals, ",")
	}
	return s
}

var (
	tagRe        = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,2}$`)
	designatorRe = regexp.MustCompile(`^([A-Z][A-Z0-9]{1,2})(\d{2})(?:-(\d{1,2}))?(?:\*([A-Z0-9]+(?:,[A-Z0-9]+)*))?$`)
	stepRe       = regexp.MustCompile(`^([A-Z][A-Z0-9]{1,2})(?:\[([^\]]*)\])?$`)
	nameRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	numberRe     = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	levelRe      = regexp.MustCompile(`^[A-Z0-9]{1,2}$`) // an HL03 level code
	levelsRe     = regexp.MustCompile(`^[A-Z0-9]{1,2}(\s*,\s*[A-Z0-9]{1,2})*$`)
	recStepRe    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[\s*([0-9]+)\s*\])?$`)
)

// parseRecordStep parses a child record step of a fixed-width document:
// a record type name, or name[n] for the nth record of that type.
func parseRecordStep(s string) (step, error) {
	m := recStepRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return step{}, fmt.Errorf("bad record step %q (want a record type such as entry, or entry[2])", s)
	}
	st := step{tag: m[1]}
	if m[2] != "" {
		n, _ := strconv.Atoi(m[2])
		if n < 1 {
			return step{}, fmt.Errorf("bad record step %q: ordinals start at 1", s)
		}
		st.cond = cond{kind: condOrdinal, n: n}
	}
	return st, nil
}

// parseRecordSelector parses the target of each:/with: in a fixed-width
// mapping: child record types, entry or entry/addenda.
func parseRecordSelector(s string) ([]step, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty selector")
	}
	var out []step
	for _, p := range strings.Split(s, "/") {
		st, err := parseRecordStep(p)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func parseDesignator(s string) (designator, error) {
	m := designatorRe.FindStringSubmatch(s)
	if m == nil {
		return designator{}, fmt.Errorf("bad element %q (want TAGnn, TAGnn-c or TAGnn*QUAL,QUAL, e.g. BEG03, SLN01-2, PO106*BP)", s)
	}
	d := designator{tag: m[1]}
	d.pos, _ = strconv.Atoi(m[2])
	if d.pos == 0 {
		return d, fmt.Errorf("bad element %q: positions start at 01", s)
	}
	if m[3] != "" {
		d.comp, _ = strconv.Atoi(m[3])
		if d.comp == 0 {
			return d, fmt.Errorf("bad element %q: components start at 1", s)
		}
	}
	if m[4] != "" {
		d.quals = strings.Split(m[4], ",")
	}
	return d, nil
}

func parseCond(tag, s string) (cond, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return cond{}, fmt.Errorf("bad selector [%s]: ordinals start at 1", s)
		}
		return cond{kind: condOrdinal, n: n}, nil
	}
	lhs, rhs, ok := strings.Cut(s, "=")
	if !ok {
		switch {
		case tag == "HL" && s != "":
			// HL[S] is short for HL[HL03=S]: the hierarchical level code.
			lhs, rhs = "HL03", s
		case levelsRe.MatchString(s):
			// CPS[T]: the level of a declared hierarchy's loop (checked
			// against the mapping's hierarchies by checkSteps).
			c := cond{kind: condLevel}
			for _, v := range strings.Split(s, ",") {
				c.values = append(c.values, strings.TrimSpace(v))
			}
			return c, nil
		default:
			return cond{}, fmt.Errorf("bad selector [%s] (want [%s01=CODE] or [n])", s, tag)
		}
	}
	d, err := parseDesignator(strings.TrimSpace(lhs))
	if err != nil {
		return cond{}, err
	}
	if d.tag != tag {
		return cond{}, fmt.Errorf("selector [%s] tests %s, not an element of %s", s, d.tag, tag)
	}
	c := cond{kind: condEq, elem: d}
	for _, v := range strings.Split(rhs, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return cond{}, fmt.Errorf("selector [%s]: empty value", s)
		}
		c.values = append(c.values, v)
	}
	return c, nil
}

func parseStep(s string) (step, error) {
	m := stepRe.FindStringSubmatch(s)
	if m == nil {
		return step{}, fmt.Errorf("bad step %q (want TAG or TAG[...])", s)
	}
	st := step{tag: m[1]}
	if strings.Contains(s, "[") {
		c, err := parseCond(m[1], m[2])
		if err != nil {
			return step{}, err
		}
		st.cond = c
	}
	return st, nil
}

// parseSelector parses the target of each:/with: — steps only, no element.
func parseSelector(s string) ([]step, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty selector")
	}
	var out []step
	for _, p := range splitTop(s, '/') {
		st, err := parseStep(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func parsePath(s string) (*path, error) {
	p := &path{text: s}
	if parts := strings.Split(s, "/"); len(parts) > 1 && !strings.HasPrefix(s, "/") {
		// entry/fields.amount, batch_control/fields.total_debit: child
		// records of a fixed-width document, then one of their values.
		last := strings.TrimSpace(parts[len(parts)-1])
		if strings.HasPrefix(last, "fields.") || strings.HasPrefix(last, "envelope.") || strings.HasPrefix(last, "record.") {
			q, err := parsePath(last)
			if err != nil {
				return nil, err
			}
			for _, part := range parts[:len(parts)-1] {
				st, err := parseRecordStep(part)
				if err != nil {
					return nil, err
				}
				q.steps = append(q.steps, st)
			}
			q.text = s
			return q, nil
		}
	}
	for _, pre := range []struct {
		prefix string
		kind   pathKind
	}{{"fields.", pathFields}, {"envelope.", pathEnvelope}, {"record.", pathRecord}} {
		if name, ok := strings.CutPrefix(s, pre.prefix); ok {
			if !nameRe.MatchString(name) {
				return nil, fmt.Errorf("bad name %q in %q", name, s)
			}
			if pre.kind == pathRecord {
				switch name {
				case "format", "type", "file", "index", "offset", "line", "segment":
				default:
					return nil, fmt.Errorf("unknown record attribute %q (want format, type, file, index, offset, line or segment)", name)
				}
			}
			p.kind, p.name = pre.kind, name
			return p, nil
		}
	}
	if rest, ok := strings.CutPrefix(s, "/"); ok {
		// /RFF[RFF01=ON]/RFF01-2: from the root (the message heading),
		// also inside a group or loop.
		p.root, s = true, rest
	}
	parts := splitTop(s, '/')
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if i == len(parts)-1 {
			d, err := parseDesignator(part)
			if err != nil {
				return nil, err
			}
			p.elem = d
			break
		}
		st, err := parseStep(part)
		if err != nil {
			return nil, err
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

// splitTop splits s at sep outside quotes, brackets and parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
				} else {
					inQuote = false
				}
			}
		case c == '\'':
			inQuote = true
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseOperand parses a literal ('text' or a number), a path, concat(...)
// or a parenthesized expression. lookups names the declared lookup tables.
func parseOperand(s string, lookups map[string]map[string]string) (source, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("empty operand")
	case wrapped(s):
		e, err := parseExpr(s[1:len(s)-1], lookups)
		if err != nil {
			return nil, fmt.Errorf("(%s): %w", strings.TrimSpace(s[1:len(s)-1]), err)
		}
		if e.null() {
			return nil, fmt.Errorf("(%s): default(null) is for output fields, not inside an expression", strings.TrimSpace(s[1:len(s)-1]))
		}
		return &subExpr{e}, nil
	case s[0] == '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, fmt.Errorf("unterminated literal %s", s)
		}
		body := s[1 : len(s)-1]
		if strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
			return nil, fmt.Errorf("bad literal %s (double a quote inside: 'it''s')", s)
		}
		return literal{strings.ReplaceAll(body, "''", "'")}, nil
	case numberRe.MatchString(s):
		return literal{jsonNumber(s)}, nil
	}
	if name, args, ok := parseCall(s); ok {
		if name != "concat" {
			return nil, fmt.Errorf("unknown function %q (sources are paths, 'literals' and concat(...))", name)
		}
		c := &concat{}
		for _, a := range args {
			op, err := parseOperand(a, lookups)
			if err != nil {
				return nil, fmt.Errorf("concat: %w", err)
			}
			if _, nested := op.(*concat); nested {
				return nil, errors.New("concat: nested concat")
			}
			c.parts = append(c.parts, op)
		}
		if len(c.parts) < 2 {
			return nil, errors.New("concat needs at least two operands")
		}
		return c, nil
	}
	return parsePath(s)
}

// parseCall splits name(a, b) into its name and top-level arguments.
func parseCall(s string) (name string, args []string, ok bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") || !nameRe.MatchString(s[:i]) {
		return "", nil, false
	}
	inner := strings.TrimSpace(s[i+1 : len(s)-1])
	if inner != "" {
		for _, a := range splitTop(inner, ',') {
			args = append(args, strings.TrimSpace(a))
		}
	}
	return s[:i], args, true
}

// parseExpr parses "source | transform | transform(arg, ...)".
// lookups names the declared lookup tables.
func parseExpr(text string, lookups map[string]map[string]string) (*expr, error) {
	parts := splitTop(text, '|')
	src, err := parseOperand(parts[0], lookups)
	if err != nil {
		return nil, err
	}
	e := &expr{text: text, src: src}
	var errs []error
	for i, p := range parts[1:] {
		t, err := parseTransform(strings.TrimSpace(p), lookups)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.null && i < len(parts)-2 {
			errs = append(errs, errors.New("default(null) must be the last transform: a null is written as it is"))
		}
		e.xs = append(e.xs, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// null says whether the expression ends in default(null).
func (e *expr) null() bool { return len(e.xs) > 0 && e.xs[len(e.xs)-1].null }

// wrapped says whether s is one parenthesized expression: (a | trim).
func wrapped(s string) bool {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote:
			if c == '\'' {
				inQuote = false
			}
		case c == '\'':
			inQuote = true
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
			if depth == 0 && i < len(s)-1 {
				return false // (a) | (b): the first closes before the end
			}
		}
	}
	return depth == 0
}

// paths lists every path the expression reads.
func (e *expr) paths() []*path {
	var out []*path
	var visit func(s source)
	visit = func(s source) {
		switch s := s.(type) {
		case *path:
			out = append(out, s)
		case *concat:
			for _, p := range s.parts {
				visit(p)
			}
		case *subExpr:
			out = append(out, s.e.paths()...)
		}
	}
	visit(e.src)
	for _, t := range e.xs {
		if t.arg != nil {
			visit(t.arg)
		}
	}
	return out
}
