package edirules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"legacybridge"
	"legacybridge/parsers/edifact"
)

// X12 segment syntax error codes (data element 720: AK304, IK304).
const (
	X12SegmentUnrecognized = "1" // unrecognized segment ID
	X12SegmentUnexpected   = "2" // unexpected segment
	X12SegmentMissing      = "3" // mandatory segment missing
	X12SegmentTooMany      = "5" // segment exceeds maximum use
	X12SegmentHasErrors    = "8" // segment has data element errors
)

// X12 data element syntax error codes (data element 723: AK403, IK403).
const (
	X12ElementMissing  = "1" // mandatory data element missing
	X12ElementTooShort = "4" // data element too short
	X12ElementTooLong  = "5" // data element too long
	X12ElementBadChar  = "6" // invalid character in data element
	X12ElementBadCode  = "7" // invalid code value
	X12ElementBadDate  = "8" // invalid date
	X12ElementBadTime  = "9" // invalid time
)

// Violation is one broken rule in one transaction set or message.
type Violation struct {
	// Position is the 1-based position of the segment in the set or
	// message (ST or UNH = 1): the faulty segment, or, for a missing one,
	// the segment where it was found missing (the first after the section
	// it belongs in, or the trailer).
	Position int
	// Tag is the faulty (or missing) segment's tag.
	Tag string
	// Element and Component are the 1-based positions of the faulty data
	// element and component; 0 for a fault of the segment as a whole, and
	// Component 0 for a simple element.
	Element, Component int
	// Value is the faulty value ("" when it is missing).
	Value string
	// Ref is the data element reference number the rule gives (X12 AK402),
	// may be "".
	Ref string
	// Message says what is wrong and names the rule, like `BEG02 (92)
	// "XX" is not in code list 92`.
	Message string
	// Source is the rule file of the broken rule, like "rules/x12/850.yaml".
	Source string
	// X12Segment is the X12 segment syntax error code (720: AK304/IK304);
	// X12Element the data element code (723: AK403/IK403), "" for a
	// segment-level violation.
	X12Segment, X12Element string
	// EDIFACT is the CONTRL syntax error code (0085) for the UCS
	// (segment-level) or UCD (element).
	EDIFACT edifact.Code
}

func (v Violation) String() string {
	return fmt.Sprintf("segment %d (%s): %s [%s]", v.Position, v.Tag, v.Message, v.Source)
}

// Check returns the violations of the rules that apply to rec, in segment
// order; none when no loaded set applies. A set applies to a record of its
// standard (Format "x12" or "edifact") and set id (Type: X12 ST01, EDIFACT
// message type) whose Envelope["version"] matches one of its version
// patterns (path.Match; X12: GS08 like "004010VICS", EDIFACT: "D:96A:UN"),
// or any version when it has none; among several, the latest loaded.
//
// Segments are those of rec (ST..SE, UNH..UNT). Per segment rule, Check
// counts the occurrences in its section (min, max) and checks every
// occurrence's elements: required, type, length (min, max), code list.
func (r *Rules) Check(rec legacybridge.Record) []Violation {
	if r == nil {
		return nil
	}
	s := r.find(rec.Format, rec.Type, rec.Envelope["version"])
	if s == nil {
		return nil
	}
	return s.check(rec.Segments)
}

func (s *ruleSet) check(segs []legacybridge.Segment) []Violation {
	var out []Violation
	var countBuf [32]int
	counts := countBuf[:0]
	if len(s.segs) <= len(countBuf) {
		counts = countBuf[:len(s.segs)]
	} else {
		counts = make([]int, len(s.segs))
	}
	// sectionEnd[i]: index of the first segment past section i (len(segs)
	// when the message ends in it or before it).
	var endBuf [8]int
	sectionEnd := endBuf[:0]
	if len(s.sections) <= len(endBuf) {
		sectionEnd = endBuf[:len(s.sections)]
	} else {
		sectionEnd = make([]int, len(s.sections))
	}
	for i := range sectionEnd {
		sectionEnd[i] = len(segs)
	}
	cur := 0
	last := len(segs) - 1
	for i := range segs {
		seg := &segs[i]
		ti := s.tags[seg.Tag]
		if ti != nil && len(ti.starts) > 0 && i > 0 && i < last {
			if j := ti.starts[len(ti.starts)-1]; j > cur {
				for k := cur; k < j; k++ {
					if sectionEnd[k] == len(segs) {
						sectionEnd[k] = i
					}
				}
				cur = j
			}
		}
		if ti == nil {
			if s.closed && !envelopeTag(seg.Tag) {
				out = append(out, s.segmentViolation(i+1, seg.Tag, X12SegmentUnexpected, edifact.CodeNotSupported,
					fmt.Sprintf("segment %s is not in the %s %s rules (closed: only the segments they name may occur)", seg.Tag, s.standard, s.id)))
			}
			continue
		}
		for _, sr := range ti.rules {
			if sr.section >= 0 && sr.section != cur {
				continue
			}
			counts[sr.index]++
			if sr.max > 0 && counts[sr.index] == sr.max+1 {
				out = append(out, s.segmentViolation(i+1, seg.Tag, X12SegmentTooMany, edifact.CodeTooManyRepetitions,
					fmt.Sprintf("segment %s occurs more than %d times%s", seg.Tag, sr.max, s.inSection(sr))))
			}
			for _, er := range sr.elems {
				out = s.checkElement(out, i+1, seg, er)
			}
		}
	}
	for _, sr := range s.segs {
		if counts[sr.index] >= sr.min {
			continue
		}
		at := len(segs) - 1 // the trailer
		if sr.section >= 0 && sectionEnd[sr.section] < len(segs) {
			at = sectionEnd[sr.section]
		}
		if at < 0 {
			at = 0
		}
		msg := fmt.Sprintf("segment %s is missing%s: at least %d required, %d found", sr.tag, s.inSection(sr), sr.min, counts[sr.index])
		out = append(out, s.segmentViolation(at+1, sr.tag, X12SegmentMissing, edifact.CodeMissing, msg))
	}
	slices.SortStableFunc(out, func(a, b Violation) int { return a.Position - b.Position })
	return out
}

func envelopeTag(tag string) bool {
	return tag == "ST" || tag == "SE" || tag == "UNH" || tag == "UNT"
}

func (s *ruleSet) inSection(sr *segRule) string {
	if sr.section < 0 {
		return ""
	}
	return " in section " + s.sections[sr.section]
}

func (s *ruleSet) segmentViolation(pos int, tag, x12Code string, code edifact.Code, msg string) Violation {
	return Violation{Position: pos, Tag: tag, Message: msg, Source: s.source, X12Segment: x12Code, EDIFACT: code}
}

// checkElement checks every repetition of the element er is about.
func (s *ruleSet) checkElement(out []Violation, pos int, seg *legacybridge.Segment, er *elemRule) []Violation {
	el := seg.Element(er.pos)
	if len(el) == 0 {
		el = legacybridge.Element{nil}
	}
	for _, rep := range el {
		present := false
		for _, c := range rep {
			if c != "" {
				present = true
				break
			}
		}
		if !present {
			// An element rule (comp 0) requires some data in the element;
			// a component is required only in a composite that is there.
			if er.required && er.comp == 0 {
				out = append(out, s.elementViolation(pos, seg.Tag, er, "", X12ElementMissing, edifact.CodeMissing,
					fmt.Sprintf("%s is missing: it is required", er.name)))
			}
			continue
		}
		value := ""
		switch {
		case er.comp == 0:
			value = rep[0] // the value of a simple element
		case er.comp <= len(rep):
			value = rep[er.comp-1]
		}
		if value == "" {
			if er.required && er.comp > 0 {
				out = append(out, s.elementViolation(pos, seg.Tag, er, "", X12ElementMissing, edifact.CodeMissing,
					fmt.Sprintf("%s is missing: it is required", er.name)))
			}
			continue
		}
		if x12Code, code, why := s.checkValue(er, value); why != "" {
			out = append(out, s.elementViolation(pos, seg.Tag, er, value, x12Code, code, fmt.Sprintf("%s %s %s", er.name, quoteValue(value), why)))
		}
	}
	return out
}

func (s *ruleSet) elementViolation(pos int, tag string, er *elemRule, value, x12Code string, code edifact.Code, msg string) Violation {
	return Violation{Position: pos, Tag: tag, Element: er.pos, Component: er.comp, Value: value, Ref: er.ref,
		Message: msg, Source: s.source, X12Segment: X12SegmentHasErrors, X12Element: x12Code, EDIFACT: code}
}

// checkValue checks a non-empty value: its characters for the type, its
// length, its code. why is "" when the value is fine.
func (s *ruleSet) checkValue(er *elemRule, v string) (x12Code string, code edifact.Code, why string) {
	n := 0
	switch er.typ {
	case typeNumeric, typeDecimal, typeEdifactNumeric:
		digits, ok := numberDigits(v, er.typ)
		if !ok {
			return X12ElementBadChar, edifact.CodeInvalidCharType, "is not " + er.typ.describe()
		}
		n = digits
	case typeDate:
		if !allDigits(v) {
			return X12ElementBadDate, edifact.CodeInvalidValue, "is not a date (CCYYMMDD or YYMMDD)"
		}
		n = len(v)
	case typeTime:
		if !allDigits(v) {
			return X12ElementBadTime, edifact.CodeInvalidValue, "is not a time (HHMM, HHMMSS, HHMMSSd..d)"
		}
		n = len(v)
	case typeAlpha:
		if strings.ContainsAny(v, "0123456789") {
			return X12ElementBadChar, edifact.CodeInvalidCharType, "is not alphabetic (type a): it holds digits"
		}
		n = utf8.RuneCountInString(v)
	default:
		n = utf8.RuneCountInString(v)
	}
	if er.min > 0 && n < er.min {
		return X12ElementTooShort, edifact.CodeTooShort, fmt.Sprintf("is too short: %d %s, at least %d", n, er.typ.unit(), er.min)
	}
	if er.max > 0 && n > er.max {
		return X12ElementTooLong, edifact.CodeTooLong, fmt.Sprintf("is too long: %d %s, at most %d", n, er.typ.unit(), er.max)
	}
	switch er.typ {
	case typeDate:
		if !validDate(v) {
			return X12ElementBadDate, edifact.CodeInvalidValue, "is not a valid date (CCYYMMDD or YYMMDD)"
		}
	case typeTime:
		if !validTime(v) {
			return X12ElementBadTime, edifact.CodeInvalidValue, "is not a valid time (HHMM, HHMMSS, HHMMSSd..d)"
		}
	}
	if er.codes != nil {
		if _, ok := er.codes[v]; !ok {
			list := "the codes allowed"
			if er.listName != "" {
				list = "code list " + er.listName
			}
			return X12ElementBadCode, edifact.CodeInvalidValue, "is not in " + list
		}
	}
	return "", 0, ""
}

// quoteValue quotes a value for a message, cut after 40 characters.
func quoteValue(v string) string {
	if utf8.RuneCountInString(v) <= 40 {
		return strconv.Quote(v)
	}
	r := []rune(v)
	return strconv.Quote(string(r[:40])) + "..."
}

// valueType is an element's data type.
type valueType int

const (
	typeAny            valueType = iota // no type: length and codes only
	typeString                          // X12 AN, EDIFACT an
	typeID                              // X12 ID (codes)
	typeNumeric                         // X12 Nn: an integer, implied decimals
	typeDecimal                         // X12 R
	typeDate                            // X12 DT
	typeTime                            // X12 TM
	typeAlpha                           // EDIFACT a
	typeEdifactNumeric                  // EDIFACT n
)

func parseType(std, t string) (valueType, bool) {
	if t == "" {
		return typeAny, true
	}
	if std == X12 {
		switch t {
		case "AN":
			return typeString, true
		case "ID":
			return typeID, true
		case "R":
			return typeDecimal, true
		case "DT":
			return typeDate, true
		case "TM":
			return typeTime, true
		}
		if len(t) == 2 && t[0] == 'N' && t[1] >= '0' && t[1] <= '9' {
			return typeNumeric, true
		}
		return 0, false
	}
	switch t {
	case "a":
		return typeAlpha, true
	case "an":
		return typeString, true
	case "n":
		return typeEdifactNumeric, true
	}
	return 0, false
}

func (t valueType) describe() string {
	switch t {
	case typeNumeric:
		return "numeric (type N: digits, an optional leading minus)"
	case typeDecimal:
		return "a decimal number (type R: digits, an optional minus and decimal point)"
	case typeEdifactNumeric:
		return "numeric (type n: digits, an optional minus and decimal mark)"
	}
	return "valid"
}

func (t valueType) unit() string {
	switch t {
	case typeNumeric, typeDecimal, typeEdifactNumeric, typeDate, typeTime:
		return "digits"
	}
	return "characters"
}

// numberDigits checks a number of type t and counts its digits (the
// length X12 and EDIFACT give numbers: sign and decimal mark not counted).
// X12 N: [-]digits. X12 R: [-]digits with at most one '.', and an optional
// exponent (E[-]digits, from 005010; not counted). EDIFACT n: [-]digits
// with at most one decimal mark, '.' or ','.
func numberDigits(v string, t valueType) (int, bool) {
	if strings.HasPrefix(v, "-") {
		v = v[1:]
	}
	if t == typeDecimal {
		if i := strings.IndexAny(v, "Ee"); i >= 0 {
			exp := strings.TrimPrefix(v[i+1:], "-")
			if exp == "" || !allDigits(exp) {
				return 0, false
			}
			v = v[:i]
		}
	}
	digits, marks := 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && t != typeNumeric, c == ',' && t == typeEdifactNumeric:
			marks++
		default:
			return 0, false
		}
	}
	return digits, digits > 0 && marks <= 1
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validDate reports whether v (digits) is CCYYMMDD or YYMMDD naming a day
// of the calendar.
func validDate(v string) bool {
	var year int
	switch len(v) {
	case 8:
		year, _ = strconv.Atoi(v[:4])
		v = v[4:]
	case 6:
		year, _ = strconv.Atoi(v[:2])
		year += 2000 // the century does not change which days exist but for 1900
		v = v[2:]
	default:
		return false
	}
	month, _ := strconv.Atoi(v[:2])
	day, _ := strconv.Atoi(v[2:])
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && (year%4 == 0 && year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// validTime reports whether v (digits) is HHMM, HHMMSS or HHMMSS followed
// by decimal seconds.
func validTime(v string) bool {
	if len(v) < 4 || len(v) == 5 {
		return false
	}
	hh, _ := strconv.Atoi(v[:2])
	mm, _ := strconv.Atoi(v[2:4])
	if hh > 23 || mm > 59 {
		return false
	}
	if len(v) >= 6 {
		ss, _ := strconv.Atoi(v[4:6])
		if ss > 59 {
			return false
		}
	}
	return true
}
