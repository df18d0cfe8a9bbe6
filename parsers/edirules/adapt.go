package edirules

import (
	"legacybridge"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// maxBad is the longest copy of bad data an AK404/IK404 carries.
const maxBad = 99

// X12Check returns r's check for x12.AckOptions.Check: each violation
// becomes an AK3 (IK3 in a 999), the element ones grouped under one AK3
// (code 8) per segment with an AK4 (IK4) each, carrying the element's
// reference number and a copy of the bad value.
func (r *Rules) X12Check() func(legacybridge.Record) []x12.SegmentError {
	return func(rec legacybridge.Record) []x12.SegmentError {
		return X12Errors(r.Check(rec))
	}
}

// EDIFACTCheck returns r's check for edifact.AckOptions.Check: each
// segment-level violation becomes a UCS with its 0085 code, the element
// ones a UCS per segment with a UCD each.
func (r *Rules) EDIFACTCheck() func(legacybridge.Record) []edifact.SegmentError {
	return func(rec legacybridge.Record) []edifact.SegmentError {
		return EDIFACTErrors(r.Check(rec))
	}
}

// X12Errors turns violations (in segment order, as Check returns them)
// into AK3/AK4 segment errors.
func X12Errors(vs []Violation) []x12.SegmentError {
	var out []x12.SegmentError
	for _, v := range vs {
		if v.Element == 0 {
			out = append(out, x12.SegmentError{Tag: v.Tag, Position: v.Position, Code: v.X12Segment})
			continue
		}
		el := x12.ElementError{Position: v.Element, Component: v.Component, Ref: v.Ref, Code: v.X12Element, Bad: cut(v.Value, maxBad)}
		if n := len(out); n > 0 && out[n-1].Position == v.Position && out[n-1].Code == X12SegmentHasErrors {
			out[n-1].Elements = append(out[n-1].Elements, el)
			continue
		}
		out = append(out, x12.SegmentError{Tag: v.Tag, Position: v.Position, Code: X12SegmentHasErrors, Elements: []x12.ElementError{el}})
	}
	return out
}

// EDIFACTErrors turns violations (in segment order) into UCS/UCD segment
// errors.
func EDIFACTErrors(vs []Violation) []edifact.SegmentError {
	var out []edifact.SegmentError
	for _, v := range vs {
		if v.Element == 0 {
			out = append(out, edifact.SegmentError{Position: v.Position, Tag: v.Tag, Code: v.EDIFACT})
			continue
		}
		el := edifact.ElementError{Position: v.Element, Component: v.Component, Code: v.EDIFACT}
		if n := len(out); n > 0 && out[n-1].Position == v.Position && out[n-1].Code == 0 {
			out[n-1].Elements = append(out[n-1].Elements, el)
			continue
		}
		out = append(out, edifact.SegmentError{Position: v.Position, Tag: v.Tag, Elements: []edifact.ElementError{el}})
	}
	return out
}

// cut returns s cut after n characters.
func cut(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
