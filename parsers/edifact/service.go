package edifact

import (
	"strconv"

	"legacybridge"
)

// serviceElem describes one data element of a service segment (ISO 9735):
// its id, its components' ids (one for a simple element), how many of
// them syntax versions 1-3 allow (the rest are version 4 additions), which
// components are mandatory, and its maximum length (simple elements whose
// length this package checks; 0 = not checked).
type serviceElem struct {
	id        string
	comps     []string
	v3comps   int
	mandatory []int // 1-based components; in every version
	v3mand    []int // 1-based components mandatory in versions 1-3 only
	maxLen    int
}

type serviceSpec struct {
	elems    []serviceElem
	v3elems  int // elements versions 1-3 allow
	password int // 1-based element holding a password, 0 if none
}

var serviceSpecs = map[string]*serviceSpec{
	"UNB": {v3elems: 11, password: 6, elems: []serviceElem{
		{id: "S001", comps: []string{"0001", "0002", "0080", "0133"}, v3comps: 2, mandatory: []int{1, 2}},
		{id: "S002", comps: []string{"0004", "0007", "0008", "0042"}, v3comps: 3, mandatory: []int{1}},
		{id: "S003", comps: []string{"0010", "0007", "0014", "0046"}, v3comps: 3, mandatory: []int{1}},
		{id: "S004", comps: []string{"0017", "0019"}, v3comps: 2, mandatory: []int{1, 2}},
		{id: "0020", comps: []string{"0020"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
		{id: "S005", comps: []string{"0022", "0025"}, v3comps: 2},
		{id: "0026", comps: []string{"0026"}, v3comps: 1},
		{id: "0029", comps: []string{"0029"}, v3comps: 1},
		{id: "0031", comps: []string{"0031"}, v3comps: 1},
		{id: "0032", comps: []string{"0032"}, v3comps: 1},
		{id: "0035", comps: []string{"0035"}, v3comps: 1},
	}},
	"UNG": {v3elems: 8, password: 8, elems: []serviceElem{
		{id: "0038", comps: []string{"0038"}, v3comps: 1, v3mand: []int{1}},
		{id: "S006", comps: []string{"0040", "0007"}, v3comps: 2, v3mand: []int{1}},
		{id: "S007", comps: []string{"0044", "0007"}, v3comps: 2, v3mand: []int{1}},
		{id: "S004", comps: []string{"0017", "0019"}, v3comps: 2, v3mand: []int{1, 2}},
		{id: "0048", comps: []string{"0048"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
		{id: "0051", comps: []string{"0051"}, v3comps: 1, v3mand: []int{1}},
		{id: "S008", comps: []string{"0052", "0054", "0057"}, v3comps: 3, v3mand: []int{1, 2}},
		{id: "0058", comps: []string{"0058"}, v3comps: 1},
	}},
	"UNH": {v3elems: 4, elems: []serviceElem{
		{id: "0062", comps: []string{"0062"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
		{id: "S009", comps: []string{"0065", "0052", "0054", "0051", "0057", "0110", "0113"}, v3comps: 5, mandatory: []int{1, 2, 3, 4}},
		{id: "0068", comps: []string{"0068"}, v3comps: 1},
		{id: "S010", comps: []string{"0070", "0073"}, v3comps: 2},
		{id: "S016", comps: []string{"0115", "0116", "0118", "0051"}},
		{id: "S017", comps: []string{"0121", "0122", "0124", "0051"}},
		{id: "S018", comps: []string{"0127", "0128", "0130", "0051"}},
	}},
	"UNT": {v3elems: 2, elems: []serviceElem{
		{id: "0074", comps: []string{"0074"}, v3comps: 1, mandatory: []int{1}},
		{id: "0062", comps: []string{"0062"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
	}},
	"UNE": {v3elems: 2, elems: []serviceElem{
		{id: "0060", comps: []string{"0060"}, v3comps: 1, mandatory: []int{1}},
		{id: "0048", comps: []string{"0048"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
	}},
	"UNZ": {v3elems: 2, elems: []serviceElem{
		{id: "0036", comps: []string{"0036"}, v3comps: 1, mandatory: []int{1}},
		{id: "0020", comps: []string{"0020"}, v3comps: 1, mandatory: []int{1}, maxLen: 14},
	}},
}

// checkService checks a service segment's shape against ISO 9735: no more
// data elements, components or repetitions than the syntax version allows,
// mandatory elements and components present, control references at most
// 14 characters. The syntax version is the interchange's (version 4 when
// unknown, the most permissive).
func (d *Decoder) checkService(seg *legacybridge.Segment, line int, level Level) {
	spec := serviceSpecs[seg.Tag]
	if spec == nil {
		return
	}
	v4 := true
	if d.inUNB && len(d.unbVersion) == 1 && d.unbVersion >= "1" && d.unbVersion <= "3" {
		v4 = false
	}
	maxElems := len(spec.elems)
	if !v4 {
		maxElems = spec.v3elems
	}
	name := func(i int) string {
		s := seg.Tag + twoDigits(i)
		if i <= len(spec.elems) {
			s += " (" + spec.elems[i-1].id + ")"
		}
		return s
	}
	version := func() string {
		if v4 {
			return ""
		}
		return " in syntax version " + d.unbVersion
	}
	if n := len(seg.Elements); n > maxElems {
		d.fail(seg, line, level, maxElems+1, ErrBadServiceSegment, CodeTooManyConstituents,
			"%s has %d data elements, at most %d%s", seg.Tag, n, maxElems, version())
	}
	for i, el := range spec.elems {
		if i >= maxElems {
			break
		}
		e := seg.Element(i + 1)
		maxComps := len(el.comps)
		if !v4 {
			maxComps = el.v3comps
		}
		if len(e) > 1 {
			d.fail(seg, line, level, i+1, ErrBadServiceSegment, CodeTooManyConstituents,
				"%s is repeated (%d repetitions): service elements do not repeat", name(i+1), len(e))
		}
		if len(e) > 0 && len(e[0]) > maxComps {
			d.fail(seg, line, level, i+1, ErrBadServiceSegment, CodeTooManyConstituents,
				"%s has %d components, at most %d%s", name(i+1), len(e[0]), maxComps, version())
		}
		mand := el.mandatory
		if !v4 {
			mand = append(mand[:len(mand):len(mand)], el.v3mand...)
		}
		for _, c := range mand {
			if e.Component(c) != "" {
				continue
			}
			what := name(i + 1)
			if len(el.comps) > 1 {
				what += " component " + strconv.Itoa(c) + " (" + el.comps[c-1] + ")"
			}
			e := d.fail(seg, line, level, i+1, ErrBadServiceSegment, CodeMissing, "%s is missing (mandatory)", what)
			if len(el.comps) > 1 {
				e.Component = c
			}
			break
		}
		if el.maxLen > 0 {
			if v := e.Value(); len([]rune(v)) > el.maxLen {
				d.fail(seg, line, level, i+1, ErrBadServiceSegment, CodeTooLong,
					"%s %s is %d characters, at most %d", name(i+1), quote(v), len([]rune(v)), el.maxLen)
			}
		}
	}
}

func twoDigits(i int) string {
	if i < 10 {
		return "0" + strconv.Itoa(i)
	}
	return strconv.Itoa(i)
}
