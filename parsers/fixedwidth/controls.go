package fixedwidth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ErrControlTotal is wrapped by errors about a trailer's sum (hash or
// amount total) that does not match its records; a count that does not
// match wraps ErrTrailerCount.
var ErrControlTotal = errors.New("control total mismatch")

// control is a compiled Control.
type control struct {
	Control
	rt       *recType // the trailer
	fieldIdx int
	count    []bool // by record type index
	sumIdx   []int  // by record type index: field to add, -1 none
	whereIdx []int  // by record type index: field of Where, -1 none
	in       map[string]bool
	mod      *big.Int // 10^ModuloDigits, or nil
	what     string   // what is counted or summed, for errors
}

// levels checks and settles the nesting levels of the record types.
func (s *schema) levels(bad func(string, ...any)) {
	for _, rt := range s.types {
		if rt.role == RoleHeader {
			if rt.level == 0 {
				rt.level = 1
			}
			s.maxLevel = max(s.maxLevel, rt.level)
		}
	}
	s.headerAt = make([]string, s.maxLevel+1)
	s.trailerAt = make([]string, s.maxLevel+1)
	for _, rt := range s.types {
		if rt.role == RoleHeader && s.headerAt[rt.level] == "" {
			s.headerAt[rt.level] = rt.name
		}
	}
	for l := 1; l <= s.maxLevel; l++ {
		if s.headerAt[l] == "" {
			bad("no header record type has level %d: header levels go 1, 2, ... without gaps", l)
		}
	}
	for _, rt := range s.types {
		switch {
		case rt.role == RoleHeader:
			continue
		case rt.level > 0 && rt.level > max(s.maxLevel, 1):
			bad("records[%d] (%s): level %d is deeper than the deepest header (%d)", rt.idx, rt.name, rt.level, s.maxLevel)
		case rt.level == 0 && rt.role == RoleTrailer:
			rt.level = 1
		case rt.level == 0:
			rt.level = max(s.maxLevel, 1)
		}
		if rt.role == RoleTrailer && rt.level <= s.maxLevel && s.trailerAt[rt.level] == "" {
			s.trailerAt[rt.level] = rt.name
		}
	}
}

// orderFault says why a record cannot come where it is.
type orderFault struct {
	before   string // it comes before any record of this header type
	closing  string // ...or before this trailer closing a batch
	openedAt int    // line of that batch's header
}

// nest checks record type rt against the open batches (the line of each
// level's header) and returns them after it; open is not changed on a
// fault.
func (s *schema) nest(open []int, rt *recType, line int) ([]int, *orderFault) {
	if s.maxLevel == 0 {
		return open, nil
	}
	depth, l := len(open), rt.level
	closing := func(down int) *orderFault {
		for k := depth; k > down; k-- {
			if s.trailerAt[k] != "" {
				return &orderFault{closing: s.trailerAt[k], openedAt: open[k-1]}
			}
		}
		return nil
	}
	switch rt.role {
	case RoleHeader:
		if depth < l-1 {
			return open, &orderFault{before: s.headerAt[depth+1]}
		}
		if f := closing(l - 1); f != nil {
			return open, f
		}
		return append(open[:l-1], line), nil
	case RoleTrailer:
		if depth < l {
			return open, &orderFault{before: s.headerAt[depth+1]}
		}
		if f := closing(l); f != nil {
			return open, f
		}
		return open[:l-1], nil
	}
	if depth < l {
		return open, &orderFault{before: s.headerAt[depth+1]}
	}
	if f := closing(l); f != nil {
		return open, f
	}
	return open[:l], nil
}

func (s *schema) compileControls(cs []Control, bad func(string, ...any)) {
	byName := map[string]*recType{}
	for _, rt := range s.types {
		byName[rt.name] = rt
	}
	fieldIdx := func(rt *recType, name string) int {
		for i, f := range rt.fields {
			if f.name == name {
				return i
			}
		}
		return -1
	}
	numeric := func(f *field) bool { return f.kind == TypeInteger || f.kind == TypeDecimal }
	for i, c := range cs {
		where := fmt.Sprintf("controls[%d]", i)
		ct := &control{Control: c}
		ok := true
		fail := func(format string, args ...any) { ok = false; bad(where+": "+format, args...) }
		ct.rt = byName[c.Record]
		switch {
		case ct.rt == nil:
			fail("record type %q does not exist", c.Record)
		case ct.rt.role != RoleTrailer:
			fail("record type %q has role %s, not trailer", c.Record, ct.rt.role)
		default:
			if ct.fieldIdx = fieldIdx(ct.rt, c.Field); ct.fieldIdx < 0 {
				fail("record type %q has no field %q", c.Record, c.Field)
			} else if !numeric(ct.rt.fields[ct.fieldIdx]) {
				fail("field %q of %q is %s, not integer or decimal", c.Field, c.Record, ct.rt.fields[ct.fieldIdx].kind)
			}
		}
		n := len(s.types)
		ct.count, ct.sumIdx, ct.whereIdx = make([]bool, n), make([]int, n), make([]int, n)
		for k := range n {
			ct.sumIdx[k], ct.whereIdx[k] = -1, -1
		}
		var names []string
		switch {
		case len(c.Count) > 0 && c.Sum != "":
			fail("give count or sum, not both")
		case len(c.Count) > 0:
			if len(c.Of) > 0 {
				fail("of is for sum; count lists its record types itself")
			}
			names = c.Count
		case c.Sum != "":
			if len(c.Of) == 0 {
				fail("sum needs of: the record types whose %s to add", c.Sum)
			}
			names = c.Of
		default:
			fail("give count (record types) or sum (a field) with of")
		}
		for _, name := range names {
			rt := byName[name]
			if rt == nil {
				fail("record type %q does not exist", name)
				continue
			}
			if c.Sum != "" {
				k := fieldIdx(rt, c.Sum)
				if k < 0 {
					fail("record type %q has no field %q", name, c.Sum)
					continue
				}
				if !numeric(rt.fields[k]) {
					fail("field %q of %q is %s, not integer or decimal", c.Sum, name, rt.fields[k].kind)
				}
				ct.sumIdx[rt.idx] = k
			} else {
				ct.count[rt.idx] = true
			}
			if c.Where != nil {
				if ct.whereIdx[rt.idx] = fieldIdx(rt, c.Where.Field); ct.whereIdx[rt.idx] < 0 {
					fail("where: record type %q has no field %q", name, c.Where.Field)
				}
			}
		}
		if c.Where != nil {
			if len(c.Where.In) == 0 {
				fail("where needs in: the values to select")
			}
			ct.in = map[string]bool{}
			for _, v := range c.Where.In {
				ct.in[v] = true
			}
		}
		if c.ModuloDigits < 0 || c.ModuloDigits > 30 {
			fail("modulo_digits %d is not between 0 and 30", c.ModuloDigits)
		} else if c.ModuloDigits > 0 {
			ct.mod = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.ModuloDigits)), nil)
		}
		sel := ""
		if c.Where != nil {
			sel = fmt.Sprintf(" where %s in %s", c.Where.Field, strings.Join(c.Where.In, ", "))
		}
		if c.Sum != "" {
			ct.what = fmt.Sprintf("%s of the %s records%s sum to", c.Sum, strings.Join(names, " and "), sel)
		} else {
			ct.what = fmt.Sprintf("%s records%s counted", strings.Join(names, " and "), sel)
		}
		if ok {
			s.controls = append(s.controls, ct)
		}
	}
}

// totals keeps the running totals of a schema's controls.
type totals []big.Rat

// add takes a record of type rt with values (by field index; v(i)) into
// the totals.
func (s *schema) addTotals(t totals, rt *recType, v func(i int) any) {
	for k, ct := range s.controls {
		if !ct.count[rt.idx] && ct.sumIdx[rt.idx] < 0 {
			continue
		}
		if ct.in != nil {
			w, _ := envelopeString(v(ct.whereIdx[rt.idx]))
			if !ct.in[strings.TrimSpace(w)] {
				continue
			}
		}
		if ct.count[rt.idx] {
			t[k].Add(&t[k], big.NewRat(1, 1))
			continue
		}
		if r, ok := ratOf(v(ct.sumIdx[rt.idx])); ok {
			t[k].Add(&t[k], r)
		}
	}
}

// resetTotals clears the totals of the controls a header of level l opens.
func (s *schema) resetTotals(t totals, l int) {
	for k, ct := range s.controls {
		if ct.rt.level == l {
			t[k].SetInt64(0)
		}
	}
}

// want is the total control k expects, reduced by its modulo.
func (ct *control) want(t *big.Rat) *big.Rat {
	r := new(big.Rat).Set(t)
	if ct.mod != nil && r.IsInt() {
		n := new(big.Int).Mod(r.Num(), ct.mod)
		r.SetInt(n)
	}
	return r
}

// check compares a trailer's value for control k with its total.
func (ct *control) check(got any, total *big.Rat) error {
	want := ct.want(total)
	f := ct.rt.fields[ct.fieldIdx]
	g, ok := ratOf(got)
	if ok && g.Cmp(want) == 0 {
		return nil
	}
	gs := "nothing"
	if got != nil {
		gs, _ = envelopeString(got)
	}
	cause := ErrControlTotal
	if len(ct.Count) > 0 {
		cause = ErrTrailerCount
	}
	return fmt.Errorf("%w: %s.%s says %s, %s %s; correct the trailer or find the records that are missing or wrong",
		cause, ct.rt.name, f.name, gs, ct.what, ratText(want, f))
}

// value renders a total for field f of the trailer (for the Encoder).
func (ct *control) value(total *big.Rat) json.Number {
	return json.Number(ratText(ct.want(total), ct.rt.fields[ct.fieldIdx]))
}

// ratText renders r exactly, with f's scale when it has one.
func ratText(r *big.Rat, f *field) string {
	if r.IsInt() && (f.kind == TypeInteger || !f.implied || f.scale == 0) {
		return r.Num().String()
	}
	scale := f.scale
	if !f.implied {
		scale = 18
		s := r.FloatString(scale)
		s = strings.TrimRight(s, "0")
		return strings.TrimSuffix(s, ".")
	}
	return r.FloatString(scale)
}

// ratOf reads a typed value, or a number given to the Encoder, exactly.
func ratOf(v any) (*big.Rat, bool) {
	if v == nil {
		return new(big.Rat), true
	}
	text, ok := intText(v)
	if !ok {
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = strings.TrimSpace(x)
		default:
			return nil, false
		}
	}
	neg, ip, fp, err := parseNumber(text)
	if err != nil {
		return nil, false
	}
	r, ok := new(big.Rat).SetString("0" + ip + "." + fp + "0")
	if !ok {
		return nil, false
	}
	if neg {
		r.Neg(r)
	}
	return r, true
}
