package mappings

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"legacybridge"
)

// value is an intermediate value and the index of the segment it was read
// from (-1 when it did not come from a segment).
type value struct {
	v   any // nil = absent; string, json.Number, int64, time.Time, bool
	seg int
}

type evalCtx struct {
	m     *Mapping
	rec   *legacybridge.Record
	doc   *doc
	track map[string]int // when set: output field → segment index it came from
	at    []pathElem     // the output field being built

	cur      *legacybridge.Record            // the child record of a document being read (each:/with:); nil at the top
	trackRec map[string]*legacybridge.Record // with track: output field → child record it came from
}

// keepsEmpty says whether empty text is a value: in records of change
// capture (format cdc), where a NULL column is absent and "" is not. In
// every other format empty text is absent.
func (c *evalCtx) keepsEmpty() bool { return c != nil && c.rec != nil && c.rec.Format == "cdc" }

// recordAt returns the record a fields./envelope./record. path reads in
// scope s: the scope's record, then down the path's child record steps
// (nil when a step finds no such child).
func (c *evalCtx) recordAt(s scope, steps []step) *legacybridge.Record {
	r := s.rec
	if r == nil {
		r = c.rec
	}
	for _, st := range steps {
		var next *legacybridge.Record
		nth := 0
		for i := range r.Children {
			if r.Children[i].Type != st.tag {
				continue
			}
			if nth++; st.cond.kind != condOrdinal || nth == st.cond.n {
				next = &r.Children[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		r = next
	}
	return r
}

// childScopes resolves a selector over the child records of a fixed-width
// document: every step but the last takes its first match (or its nth);
// the last takes all (limit 0) or the first (limit 1).
func (c *evalCtx) childScopes(s scope, sel []step, limit int) []scope {
	r := c.recordAt(s, sel[:len(sel)-1])
	if r == nil {
		return nil
	}
	last := sel[len(sel)-1]
	var out []scope
	nth := 0
	for i := range r.Children {
		ch := &r.Children[i]
		if ch.Type != last.tag {
			continue
		}
		if nth++; last.cond.kind == condOrdinal && nth != last.cond.n {
			continue
		}
		out = append(out, scope{rec: ch})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// enter makes sc's child record (if any) the current one and returns the
// previous, for c.cur = prev after the scope (no closure: each: runs it
// once a scope).
func (c *evalCtx) enter(sc scope) (prev *legacybridge.Record) {
	prev = c.cur
	if sc.rec != nil {
		c.cur = sc.rec
	}
	return prev
}

func (c *evalCtx) isGroup(tag string) bool {
	if tag == "HL" {
		return true
	}
	_, ok := c.m.groups[tag]
	return ok
}

// operand evaluates a source.
func (c *evalCtx) operand(s scope, src source) (value, error) {
	switch src := src.(type) {
	case literal:
		return value{src.v, -1}, nil
	case *path:
		return c.readPath(s, src), nil
	case *subExpr:
		return c.eval(s, src.e)
	case *concat:
		var b strings.Builder
		seg := -1
		for _, p := range src.parts {
			v, err := c.operand(s, p)
			if err != nil {
				return value{nil, -1}, err
			}
			if v.v == nil {
				return value{nil, v.seg}, nil
			}
			if seg < 0 {
				seg = v.seg
			}
			b.WriteString(toText(v.v))
		}
		return value{b.String(), seg}, nil
	}
	return value{nil, -1}, fmt.Errorf("unknown source %T", src)
}

func (c *evalCtx) readPath(s scope, p *path) value {
	absent := value{nil, -1}
	switch p.kind {
	case pathFields, pathEnvelope, pathRecord:
		r := c.recordAt(s, p.steps)
		if r == nil {
			return absent
		}
		return c.readRecord(r, p)
	}
	if c.doc == nil || s.n == nil {
		return absent
	}
	cur := s
	if p.root {
		cur = scope{n: c.doc.root}
	}
	for i, st := range p.steps {
		if i == len(p.steps)-1 && st.tag == p.elem.tag && cur.n.tag == st.tag && !cur.n.hl && c.isGroup(st.tag) {
			// LIN[LIN03-2=EN]/LIN03 inside a LIN group: a group never
			// holds a group of its own tag, so the step tests the
			// group's own first segment.
			nth := 0
			if !c.doc.matches(st.cond, cur.n.lo, &nth) {
				return absent
			}
			return present(elementValue(c.doc.segs[cur.n.lo], p.elem), cur.n.lo)
		}
		if i == len(p.steps)-1 && !c.isGroup(st.tag) {
			// REF[REF01=BM]/REF02: a segment selector, then its element.
			idx := c.doc.findSegment(cur, st.tag, st.cond)
			if idx < 0 {
				return absent
			}
			return present(elementValue(c.doc.segs[idx], p.elem), idx)
		}
		ss := c.doc.selectAll(cur, st, true, 1)
		if len(ss) == 0 {
			return absent
		}
		cur = ss[0]
	}
	idx := c.doc.findSegment(cur, p.elem.tag, cond{})
	if idx < 0 {
		return absent
	}
	return present(elementValue(c.doc.segs[idx], p.elem), idx)
}

// readRecord reads a fields., envelope. or record. path from record r.
// A field of a cdc record keeps empty text: NULL columns are absent.
func (c *evalCtx) readRecord(r *legacybridge.Record, p *path) value {
	switch p.kind {
	case pathFields:
		if c.keepsEmpty() {
			return value{r.Fields[p.name], -1}
		}
		return present(r.Fields[p.name], -1)
	case pathEnvelope:
		return present(r.Envelope[p.name], -1)
	case pathRecord:
		pos := r.Pos
		switch p.name {
		case "format":
			return present(r.Format, -1)
		case "type":
			return present(r.Type, -1)
		case "file":
			return present(pos.File, -1)
		case "index":
			return present(int64(pos.Index), -1)
		case "offset":
			return present(pos.Offset, -1)
		case "line":
			return present(int64(pos.Line), -1)
		case "segment":
			return present(int64(pos.Segment), -1)
		}
	}
	return value{nil, -1}
}

// levels sets the level of every loop of a declared hierarchy: its top:
// expression when it has no parent and the hierarchy has one, else its
// level: expression, read in the loop. An absent value leaves the loop
// without a level: selectors by level skip it and outside: looks through it.
func (c *evalCtx) levels() error {
	for _, h := range c.doc.hls {
		hr := c.m.hiers[h.tag]
		if hr == nil {
			continue // HL: HL03
		}
		e, key := hr.level, "level"
		if h.parent == nil && hr.top != nil {
			e, key = hr.top, "top"
		}
		v, err := c.eval(scope{n: h, hl: h}, e)
		if err != nil {
			seg := v.seg
			if seg < 0 {
				seg = h.lo
			}
			return c.fail("", seg, fmt.Errorf("%s %s: groups.%s.%s: %w", h.tag, h.id, h.tag, key, err))
		}
		if v.v != nil {
			h.level = toText(v.v)
		}
	}
	return nil
}

// present makes empty text absent.
func present(v any, seg int) value {
	if s, ok := v.(string); ok && s == "" {
		return value{nil, seg}
	}
	return value{v, seg}
}

func (c *evalCtx) eval(s scope, e *expr) (value, error) {
	v, err := c.operand(s, e.src)
	if err != nil {
		return v, err
	}
	for i := range e.xs {
		v, err = e.xs[i].apply(c, s, v)
		if err != nil {
			return v, err
		}
	}
	return v, nil
}

// datetime combines the date in v with the time read by arg (if any) in
// the mapping's time zone. When arg is a bare element of the segment v came
// from (DTM02 | datetime(DTM03)) it is read from that same segment.
func (c *evalCtx) datetime(s scope, v value, arg source) (time.Time, error) {
	if arg == nil {
		switch t := v.v.(type) {
		case time.Time:
			return t, nil
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(t)); err == nil {
				return ts, nil
			}
		}
	}
	d, err := toDate(v.v)
	if err != nil {
		return time.Time{}, err
	}
	var tv value
	if txt, ok := v.v.(string); ok && arg == nil {
		// CCYYMMDDHHMM[SS] (EDIFACT 203/204) carries its own time.
		if txt = strings.TrimSpace(txt); len(txt) == 12 || len(txt) == 14 {
			tv = value{txt[8:], v.seg}
		}
	}
	if p, ok := arg.(*path); ok && p.kind == pathSegment && len(p.steps) == 0 && v.seg >= 0 && c.doc.segs[v.seg].Tag == p.elem.tag {
		tv = present(elementValue(c.doc.segs[v.seg], p.elem), v.seg)
	} else if arg != nil {
		if tv, err = c.operand(s, arg); err != nil {
			return time.Time{}, err
		}
	}
	var clock time.Duration
	if tv.v != nil {
		if clock, err = toClock(tv.v); err != nil {
			return time.Time{}, err
		}
	}
	loc := c.m.loc
	if t, ok := v.v.(time.Time); ok {
		loc = t.Location() // a typed date keeps its own zone
	}
	y, mo, day := d.Date()
	return time.Date(y, mo, day, 0, 0, 0, int(clock), loc), nil
}

// finalize turns an intermediate scalar into a JSON value.
func finalize(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case int:
		return json.Number(strconv.Itoa(v))
	case float64:
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	case json.Number, string, bool, nil, jsonNull:
		return v
	}
	return fmt.Sprint(v)
}

// pathElem is one step of the output field being built: a key, or an
// array index (idx >= 0). evalCtx keeps them on a stack, rendered only for
// errors, so building the data allocates no paths.
type pathElem struct {
	key string
	idx int
}

func (c *evalCtx) push(key string) { c.at = append(c.at, pathElem{key, -1}) }
func (c *evalCtx) pushIdx(i int)   { c.at = append(c.at, pathElem{idx: i}) }
func (c *evalCtx) pop()            { c.at = c.at[:len(c.at)-1] }

// where renders the current output field: orders[0].items[1].quantity.
func (c *evalCtx) where() string {
	var b strings.Builder
	for _, p := range c.at {
		if p.idx >= 0 {
			b.WriteString("[" + strconv.Itoa(p.idx) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.key)
	}
	return b.String()
}

// A field produces one output value; nil means absent (the key is left out).
type field interface {
	eval(c *evalCtx, s scope) (any, error)
}

type exprField struct{ e *expr }

type constField struct{ v any }

type objField struct {
	keys []string
	vals []field
}

type listField struct{ items []field }

// eachField makes an array: one element per group or segment the selector
// finds; elements that come out absent are left out, and an array with no
// elements is absent.
type eachField struct {
	sel    []step
	when   *expr     // when: keep only scopes where this is present
	unless *expr     // unless: keep only scopes where this is absent
	by     *expr     // by: one element per distinct value (see byScopes)
	obj    *objField // fields:
	val    *expr     // value:
}

// withField makes an object in the scope of the first group or segment the
// selector finds; absent when there is none.
type withField struct {
	sel    []step
	when   *expr // when: the first scope where this is present
	unless *expr // unless: ... and this is absent
	obj    *objField
}

func (f *exprField) eval(c *evalCtx, s scope) (any, error) {
	v, err := c.eval(s, f.e)
	if err != nil {
		return nil, c.fail(c.where(), v.seg, err)
	}
	if c.track != nil && v.v != nil && v.seg >= 0 {
		c.track[c.where()] = v.seg
	}
	if c.trackRec != nil && v.v != nil && c.cur != nil {
		c.trackRec[c.where()] = c.cur
	}
	return finalize(v.v), nil
}

func (f *constField) eval(*evalCtx, scope) (any, error) { return f.v, nil }

func (f *objField) eval(c *evalCtx, s scope) (any, error) {
	out := make(map[string]any, len(f.keys))
	for i, k := range f.keys {
		c.push(k)
		v, err := f.vals[i].eval(c, s)
		c.pop()
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[k] = emit(v)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (f *listField) eval(c *evalCtx, s scope) (any, error) {
	var out []any
	for i, it := range f.items {
		c.pushIdx(i)
		v, err := it.eval(c, s)
		c.pop()
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, emit(v))
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// selectScopes resolves a selector: every step but the last takes its first
// match; the last takes all (limit 0) or the first (limit 1).
func (c *evalCtx) selectScopes(s scope, sel []step, limit int) []scope {
	if !c.m.segmentFormat() {
		return c.childScopes(s, sel, limit)
	}
	if c.doc == nil || s.n == nil {
		return nil
	}
	cur := s
	for _, st := range sel[:len(sel)-1] {
		ss := c.doc.selectAll(cur, st, true, 1)
		if len(ss) == 0 {
			return nil
		}
		cur = ss[0]
	}
	last := sel[len(sel)-1]
	return c.doc.selectAll(cur, last, c.isGroup(last.tag), limit)
}

func (f *eachField) eval(c *evalCtx, s scope) (any, error) {
	scopes := c.selectScopes(s, f.sel, 0)
	if f.by != nil {
		var err error
		if scopes, err = c.byScopes(scopes, f.by); err != nil {
			return nil, err
		}
	}
	out := make([]any, 0, len(scopes))
	for _, sc := range scopes {
		c.pushIdx(len(out))
		prev := c.enter(sc)
		v, err := f.elem(c, sc)
		c.cur = prev
		c.pop()
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, emit(v))
		}
	}
	if len(out) == 0 {
		return nil, nil // no elements: the key is left out
	}
	return out, nil
}

// byScopes groups the scopes (declared groups) by the text of key,
// evaluated in each: one scope per distinct value, in the order values
// first appear; scopes where key is absent are left out (take them with
// unless: KEY). A by: scope's child groups are its members, so each: TAG
// inside it iterates them; its loose segments are its first member's, so
// plain paths read the first member (the key itself, a date next to it).
func (c *evalCtx) byScopes(scopes []scope, key *expr) ([]scope, error) {
	var keys []string
	members := map[string][]scope{}
	for _, sc := range scopes {
		v, err := c.eval(sc, key)
		if err != nil {
			return nil, c.fail(c.where(), v.seg, fmt.Errorf("by: %w", err))
		}
		if v.v == nil {
			continue
		}
		k := toText(v.v)
		if _, seen := members[k]; !seen {
			keys = append(keys, k)
		}
		members[k] = append(members[k], sc)
	}
	out := make([]scope, 0, len(keys))
	for _, k := range keys {
		ms := members[k]
		first := ms[0].n
		n := &node{tag: first.tag, lo: first.lo, hi: ms[len(ms)-1].n.hi, loose: first.loose}
		for _, m := range ms {
			n.groups = append(n.groups, m.n)
		}
		out = append(out, scope{n: n, hl: ms[0].hl})
	}
	return out, nil
}

// keep applies when: and unless: to a scope.
func (c *evalCtx) keep(sc scope, when, unless *expr) (bool, error) {
	if when != nil {
		if ok, err := c.holds(sc, when); err != nil || !ok {
			return false, err
		}
	}
	if unless != nil {
		ok, err := c.holds(sc, unless)
		return !ok, err
	}
	return true, nil
}

func (f *eachField) elem(c *evalCtx, sc scope) (any, error) {
	if ok, err := c.keep(sc, f.when, f.unless); err != nil || !ok {
		return nil, err
	}
	if f.obj != nil {
		return f.obj.eval(c, sc)
	}
	return (&exprField{f.val}).eval(c, sc)
}

func (f *withField) eval(c *evalCtx, s scope) (any, error) {
	if f.when == nil && f.unless == nil {
		scopes := c.selectScopes(s, f.sel, 1)
		if len(scopes) == 0 {
			return nil, nil
		}
		prev := c.enter(scopes[0])
		v, err := f.obj.eval(c, scopes[0])
		c.cur = prev
		return v, err
	}
	for _, sc := range c.selectScopes(s, f.sel, 0) {
		prev := c.enter(sc)
		ok, err := c.keep(sc, f.when, f.unless)
		if err != nil || ok {
			var v any
			if err == nil {
				v, err = f.obj.eval(c, sc)
			}
			c.cur = prev
			return v, err
		}
		c.cur = prev
	}
	return nil, nil
}

// holds evaluates a when: expression: true when it yields a value.
func (c *evalCtx) holds(s scope, e *expr) (bool, error) {
	v, err := c.eval(s, e)
	if err != nil {
		return false, c.fail(c.where(), v.seg, fmt.Errorf("when: %w", err))
	}
	return v.v != nil, nil
}

// fail wraps err as an *Error at output field fieldPath and segment index seg.
func (c *evalCtx) fail(fieldPath string, seg int, err error) error {
	e := &Error{Mapping: c.m.name, Pos: c.rec.Pos, Field: fieldPath, Err: err}
	if c.cur != nil && c.cur != c.rec {
		p := c.cur.Pos
		e.Child = &p
	}
	if seg >= 0 && seg < len(c.rec.Segments) {
		sg := c.rec.Segments[seg]
		e.Tag = sg.Tag
		e.Segment = sg.Number
		if e.Segment == 0 && c.rec.Pos.Segment > 0 {
			e.Segment = c.rec.Pos.Segment + seg
		}
	}
	return e
}

// segmentOf finds the segment behind an output field for a schema failure:
// the field's own segment, else the first segment of the values inside it
// (a missing key's object). It re-evaluates the data with tracking on, so
// it costs nothing until a record fails its schema.
func (c *evalCtx) segmentOf(root scope, field string) (int, *legacybridge.Record) {
	t := &evalCtx{m: c.m, rec: c.rec, doc: c.doc, track: map[string]int{}, trackRec: map[string]*legacybridge.Record{}}
	if _, err := c.m.data.eval(t, root); err != nil {
		return -1, nil
	}
	if i, ok := t.track[field]; ok {
		return i, nil
	}
	if r, ok := t.trackRec[field]; ok {
		return -1, r
	}
	best := -1
	var rec *legacybridge.Record
	for k, i := range t.track {
		if field == "" || strings.HasPrefix(k, field+".") || strings.HasPrefix(k, field+"[") {
			if best < 0 || i < best {
				best = i
			}
		}
	}
	for k, r := range t.trackRec {
		// A document's own keys (field "") are not any one child's.
		if field != "" && (strings.HasPrefix(k, field+".") || strings.HasPrefix(k, field+"[")) {
			if rec == nil || r.Pos.Offset < rec.Pos.Offset {
				rec = r
			}
		}
	}
	return best, rec
}
