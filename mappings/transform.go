package mappings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrRequired is wrapped by the error for a required value that is absent.
var ErrRequired = errors.New("required value is absent")

// transformNames lists the transforms, for error messages and docs.
var transformNames = []string{"trim", "upper", "lower", "string", "number", "integer", "date", "datetime", "lookup", "default", "required", "nullif", "lpad"}

type transform struct {
	name     string
	arg      source // default(x), datetime(time)
	digits   int    // number(n): implied decimal places; lpad(n, ...): width
	table    string // lookup(table, ...)
	fallback source // lookup(table, 'text'): value for unknown codes
	keep     bool   // lookup(table, keep): unknown codes pass through
	null     bool   // default(null): an absent value is written as JSON null
	text     string // nullif('text'): the value that means none; lpad(n, 'c'): the pad
}

// jsonNull is the value of default(null): written as JSON null, where an
// absent value is left out.
type jsonNull struct{}

// emit turns default(null)'s value into the nil the data tree holds.
func emit(v any) any {
	if _, ok := v.(jsonNull); ok {
		return nil
	}
	return v
}

func parseTransform(s string, lookups map[string]map[string]string) (transform, error) {
	name, args, isCall := parseCall(s)
	if !isCall {
		name = s
	}
	t := transform{name: name}
	nargs := func(min, max int) error {
		if len(args) < min || len(args) > max {
			if max == 0 {
				return fmt.Errorf("%s takes no arguments", name)
			}
			return fmt.Errorf("%s takes %d to %d arguments, not %d", name, min, max, len(args))
		}
		return nil
	}
	switch name {
	case "trim", "upper", "lower", "string", "integer", "date", "required":
		return t, nargs(0, 0)
	case "number":
		if err := nargs(0, 1); err != nil {
			return t, err
		}
		if len(args) == 1 {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 || n > 18 {
				return t, fmt.Errorf("number(%s): want implied decimal places 0..18", args[0])
			}
			t.digits = n
		}
		return t, nil
	case "datetime":
		if err := nargs(0, 1); err != nil {
			return t, err
		}
		if len(args) == 1 {
			op, err := parseOperand(args[0], lookups)
			if err != nil {
				return t, fmt.Errorf("datetime: %w", err)
			}
			t.arg = op
		}
		return t, nil
	case "default":
		if err := nargs(1, 1); err != nil {
			return t, err
		}
		if args[0] == "null" {
			t.null = true
			return t, nil
		}
		op, err := parseOperand(args[0], lookups)
		if err != nil {
			return t, fmt.Errorf("default: %w", err)
		}
		t.arg = op
		return t, nil
	case "nullif":
		if err := nargs(1, 1); err != nil {
			return t, err
		}
		op, err := parseOperand(args[0], lookups)
		lit, ok := op.(literal)
		if err != nil || !ok {
			return t, fmt.Errorf("nullif(%s): want a 'literal' or a number: the value that means none", args[0])
		}
		t.text = toText(lit.v)
		return t, nil
	case "lpad":
		if err := nargs(2, 2); err != nil {
			return t, err
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 100 {
			return t, fmt.Errorf("lpad(%s, ...): want a width 1..100", args[0])
		}
		op, err := parseOperand(args[1], lookups)
		lit, ok := op.(literal)
		if err != nil || !ok || utf8.RuneCountInString(toText(lit.v)) != 1 {
			return t, fmt.Errorf("lpad(%s, %s): want one character in quotes, such as '0'", args[0], args[1])
		}
		t.digits, t.text = n, toText(lit.v)
		return t, nil
	case "lookup":
		if err := nargs(1, 2); err != nil {
			return t, err
		}
		t.table = args[0]
		if _, ok := lookups[t.table]; !ok {
			return t, fmt.Errorf("lookup(%s): no lookup table %q in lookups:", t.table, t.table)
		}
		if len(args) == 2 {
			if args[1] == "keep" {
				t.keep = true
			} else {
				op, err := parseOperand(args[1], lookups)
				if err != nil {
					return t, fmt.Errorf("lookup: fallback: %w", err)
				}
				if _, ok := op.(literal); !ok {
					return t, fmt.Errorf("lookup(%s, %s): the fallback is keep or a 'literal'", t.table, args[1])
				}
				t.fallback = op
			}
		}
		return t, nil
	}
	if isCall {
		return t, fmt.Errorf("unknown transform %q (known: %s)", name, strings.Join(transformNames, ", "))
	}
	return t, fmt.Errorf("unknown transform %q (known: %s)", s, strings.Join(transformNames, ", "))
}

// apply runs the transform on v. Absent values (nil) pass through every
// transform but default and required.
func (t *transform) apply(c *evalCtx, s scope, v value) (value, error) {
	if v.v == nil {
		switch {
		case t.name == "required":
			return v, ErrRequired
		case t.null:
			return value{jsonNull{}, v.seg}, nil
		case t.name == "default":
			return c.operand(s, t.arg)
		}
		return v, nil
	}
	var out any
	var err error
	switch t.name {
	case "trim":
		if str, ok := v.v.(string); ok {
			out = strings.TrimSpace(str)
		} else {
			out = v.v
		}
	case "upper", "lower":
		str, ok := v.v.(string)
		if !ok {
			return v, fmt.Errorf("%s: not text: %s", t.name, describe(v.v))
		}
		if t.name == "upper" {
			out = strings.ToUpper(str)
		} else {
			out = strings.ToLower(str)
		}
	case "string":
		out = toText(v.v)
	case "number":
		out, err = toDecimal(edifactDecimal(c, v.v), t.digits)
	case "integer":
		out, err = toInteger(edifactDecimal(c, v.v))
	case "date":
		var d time.Time
		d, err = toDate(v.v)
		if err == nil {
			out = d.Format(time.DateOnly)
		}
	case "datetime":
		out, err = c.datetime(s, v, t.arg)
	case "lookup":
		return t.lookup(c, v)
	case "nullif":
		if toText(v.v) == t.text {
			return value{nil, v.seg}, nil
		}
		return v, nil
	case "lpad":
		str := toText(v.v)
		if n := utf8.RuneCountInString(str); n < t.digits {
			str = strings.Repeat(t.text, t.digits-n) + str
		}
		out = str
	case "default", "required":
		return v, nil
	default:
		return v, fmt.Errorf("unknown transform %q", t.name)
	}
	if err != nil {
		return v, fmt.Errorf("%s: %w", t.name, err)
	}
	if str, ok := out.(string); ok && str == "" && !c.keepsEmpty() {
		out = nil // a value trimmed to nothing is absent (but in cdc records)
	}
	return value{out, v.seg}, nil
}

func (t *transform) lookup(c *evalCtx, v value) (value, error) {
	code := toText(v.v)
	if to, ok := c.m.lookups[t.table][code]; ok {
		if to == "" {
			return value{nil, v.seg}, nil
		}
		return value{to, v.seg}, nil
	}
	switch {
	case t.keep:
		return v, nil
	case t.fallback != nil:
		return value{t.fallback.(literal).v, v.seg}, nil
	}
	return v, fmt.Errorf("lookup: code %s is not in table %s", jsonString(code), t.table)
}

// toText renders a scalar as text: numbers as written, times as RFC 3339.
func toText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return jsonString(v)
	case nil:
		return "absent"
	}
	return fmt.Sprintf("%T %s", v, toText(v))
}

func jsonNumber(s string) json.Number { return json.Number(s) }

// toDecimal turns a value into an exact JSON number. Text may carry a
// leading or trailing sign (mainframe style "12.50-"), leading zeros and
// surrounding spaces; with digits > 0 and no decimal point the last digits
// are the fraction (X12 N2: "1250" → 12.50). Nothing goes through float64.
func toDecimal(v any, digits int) (json.Number, error) {
	switch v := v.(type) {
	case int64:
		return decimalText(strconv.FormatInt(v, 10), digits)
	case int:
		return decimalText(strconv.Itoa(v), digits)
	case json.Number:
		return decimalText(string(v), digits)
	case string:
		return decimalText(v, digits)
	}
	return "", fmt.Errorf("not a number: %s", describe(v))
}

// edifactDecimal reads a decimal comma in an EDIFACT value as a point:
// ISO 9735 allows either mark whatever the UNA says, and forbids
// thousands separators, so a comma in a number can only be its decimal
// mark ("0,142" is 0.142). Other values pass unchanged.
func edifactDecimal(c *evalCtx, v any) any {
	s, ok := v.(string)
	if !ok || c == nil || c.rec == nil || c.rec.Format != "edifact" || strings.Count(s, ",") != 1 || strings.Contains(s, ".") {
		return v
	}
	return strings.Replace(s, ",", ".", 1)
}

func decimalText(s string, digits int) (json.Number, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasSuffix(s, "-"):
		neg, s = true, s[:len(s)-1]
	case strings.HasSuffix(s, "+"):
		s = s[:len(s)-1]
	}
	exp := ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp = s[i:]
		s = s[:i]
		if len(exp) < 2 || !allDigits(strings.TrimLeft(exp[1:], "+-")) || len(strings.TrimLeft(exp[1:], "+-")) == 0 || len(exp[1:])-len(strings.TrimLeft(exp[1:], "+-")) > 1 {
			return "", fmt.Errorf("not a decimal: %s", jsonString(orig))
		}
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if !allDigits(intPart) || !allDigits(frac) || intPart+frac == "" {
		return "", fmt.Errorf("not a decimal: %s", jsonString(orig))
	}
	if !hasPoint && digits > 0 {
		for len(intPart) <= digits {
			intPart = "0" + intPart
		}
		intPart, frac = intPart[:len(intPart)-digits], intPart[len(intPart)-digits:]
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(intPart+frac, "0") != "" {
		out = "-" + out
	}
	return json.Number(out + exp), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// toInteger is toDecimal that refuses a non-zero fraction ("24.0" → 24).
func toInteger(v any) (json.Number, error) {
	d, err := toDecimal(v, 0)
	if err != nil {
		return "", err
	}
	s := string(d)
	if strings.ContainsAny(s, "eE") {
		return "", fmt.Errorf("not an integer: %s", s)
	}
	if i, frac, ok := strings.Cut(s, "."); ok {
		if strings.Trim(frac, "0") != "" {
			return "", fmt.Errorf("not an integer: %s", s)
		}
		if i == "-0" {
			i = "0"
		}
		return json.Number(i), nil
	}
	return d, nil
}

// toDate reads CCYYMMDD, YYMMDD (years 00-49 are 20xx), YYYY-MM-DD, an
// RFC 3339 timestamp or a time.Time (their calendar date).
func toDate(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		y, m, d := v.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case string:
		s := strings.TrimSpace(v)
		var y, m, d int
		switch {
		case len(s) == 8 && allDigits(s):
			y, m, d = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
		case len(s) == 6 && allDigits(s):
			y, m, d = atoi(s[:2]), atoi(s[2:4]), atoi(s[4:])
			if y < 50 {
				y += 2000
			} else {
				y += 1900
			}
		case len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]+s[5:7]+s[8:]):
			y, m, d = atoi(s[:4]), atoi(s[5:7]), atoi(s[8:])
		case (len(s) == 12 || len(s) == 14) && allDigits(s):
			// EDIFACT date/time formats 203 (CCYYMMDDHHMM) and 204
			// (CCYYMMDDHHMMSS): the date, once the time is checked.
			if _, err := toClock(s[8:]); err != nil {
				return time.Time{}, fmt.Errorf("not a date and time (CCYYMMDDHHMM[SS]): %s: %w", jsonString(v), err)
			}
			y, m, d = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])
		default:
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return toDate(t) // its calendar date where it was recorded
			}
			return time.Time{}, fmt.Errorf("not a date (CCYYMMDD, YYMMDD, YYYY-MM-DD, CCYYMMDDHHMM[SS] or RFC 3339): %s", jsonString(v))
		}
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if t.Year() != y || int(t.Month()) != m || t.Day() != d {
			return time.Time{}, fmt.Errorf("no such date: %s", jsonString(v))
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a date: %s", describe(v))
}

// toClock reads HHMM, HHMMSS, HHMMSSd..., HH:MM, HH:MM:SS or a time.Time's
// clock; it returns the offset from midnight.
func toClock(v any) (time.Duration, error) {
	switch v := v.(type) {
	case time.Time:
		h, m, s := v.Clock()
		return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(v.Nanosecond()), nil
	case json.Number, int64:
		return toClock(toText(v))
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(v), ":", "")
		if len(s) < 4 || !allDigits(s) {
			return 0, fmt.Errorf("not a time (HHMM, HHMMSS, HHMMSSd or HH:MM:SS): %s", jsonString(v))
		}
		h, m := atoi(s[:2]), atoi(s[2:4])
		sec, nanos := 0, 0
		if len(s) >= 6 {
			sec = atoi(s[4:6])
		} else if len(s) != 4 {
			return 0, fmt.Errorf("not a time: %s", jsonString(v))
		}
		if len(s) > 6 {
			fr := s[6:]
			if len(fr) > 9 {
				return 0, fmt.Errorf("not a time: %s", jsonString(v))
			}
			nanos = atoi(fr + strings.Repeat("0", 9-len(fr)))
		}
		if h > 23 || m > 59 || sec > 59 {
			return 0, fmt.Errorf("no such time: %s", jsonString(v))
		}
		return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(nanos), nil
	}
	return 0, fmt.Errorf("not a time: %s", describe(v))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// jsonString quotes s as JSON does.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
