package fixedwidth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Causes wrapped by ParseError, for errors.Is.
var (
	ErrShortLine    = errors.New("short line")
	ErrLongLine     = errors.New("record too long")
	ErrLineTooLong  = errors.New("line too long")
	ErrUnknownType  = errors.New("unknown record type code")
	ErrEncoding     = errors.New("invalid encoding")
	ErrSplitChar    = errors.New("column boundary splits a multi-byte character")
	ErrRequired     = errors.New("required field is blank")
	ErrValue        = errors.New("invalid value")
	ErrTrailerCount = errors.New("trailer count mismatch")
	ErrNoTrailer    = errors.New("missing trailer")
	ErrOrder        = errors.New("record out of order")
	ErrFraming      = errors.New("broken record framing")
)

// convert turns the trimmed text of a field into its typed value: string,
// int64, json.Number or time.Time; nil for a blank optional field.
func (f *field) convert(v string) (any, error) {
	if v == "" && f.blankZero {
		if f.kind == TypeInteger {
			return int64(0), nil
		}
		if f.implied && f.scale > 0 {
			return json.Number("0." + strings.Repeat("0", f.scale)), nil
		}
		return json.Number("0"), nil
	}
	if v == "" || slices.Contains(f.nullIf, v) {
		if f.required {
			if v == "" {
				return nil, ErrRequired
			}
			return nil, fmt.Errorf("%w: %q means no value", ErrRequired, v)
		}
		if f.kind == TypeString && v == "" {
			return "", nil
		}
		return nil, nil
	}
	switch f.kind {
	case TypeInteger:
		neg, digits, ok := splitSign(v, f.sign)
		if !ok || !allDigits(digits) {
			return nil, fmt.Errorf("%w: %q is not a valid integer", ErrValue, v)
		}
		if neg {
			digits = "-" + digits
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is out of range for an integer", ErrValue, v)
		}
		return n, nil
	case TypeDecimal:
		d, ok := f.decimal(v)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a valid decimal", ErrValue, v)
		}
		return json.Number(d), nil
	case TypeDate:
		full := v
		if f.yearLen > 0 {
			var ok bool
			if full, ok = f.fullYear(v); !ok {
				return nil, fmt.Errorf("%w: %q is not a valid date (%s)", ErrValue, v, f.format)
			}
		}
		t, err := time.ParseInLocation(f.goLayout, full, f.loc)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not a valid date (%s)", ErrValue, v, f.format)
		}
		if f.loc != time.UTC && t.Format(f.goLayout) != full {
			// A local time skipped by a daylight-saving change: time.Date
			// would silently move it by an hour.
			return nil, fmt.Errorf("%w: %q (%s) does not exist in %s", ErrValue, v, f.format, f.loc)
		}
		return t, nil
	}
	return v, nil
}

// decimal renders v exactly, without leading zeros: "-0001250" with scale 3
// is "-1.250"; negative zero loses its sign.
func (f *field) decimal(v string) (string, bool) {
	neg, digits, ok := splitSign(v, f.sign)
	if !ok {
		return "", false
	}
	var ip, fp string
	if f.implied {
		if !allDigits(digits) {
			return "", false
		}
		if len(digits) <= f.scale {
			digits = strings.Repeat("0", f.scale-len(digits)+1) + digits
		}
		ip, fp = digits[:len(digits)-f.scale], digits[len(digits)-f.scale:]
	} else {
		ip, fp, _ = strings.Cut(digits, ".")
		if ip == "" && fp == "" || ip != "" && !allDigits(ip) || fp != "" && !allDigits(fp) {
			return "", false
		}
	}
	ip = strings.TrimLeft(ip, "0")
	if ip == "" {
		ip = "0"
	}
	var b strings.Builder
	if neg && strings.Trim(ip+fp, "0") != "" {
		b.WriteByte('-')
	}
	b.WriteString(ip)
	if fp != "" {
		b.WriteByte('.')
		b.WriteString(fp)
	}
	return b.String(), true
}

// splitSign separates the sign from the digits according to the field's
// sign convention. Blanks between the sign and the digits are allowed.
func splitSign(v, sign string) (neg bool, digits string, ok bool) {
	switch sign {
	case "trailing":
		if n := len(v); n > 0 && (v[n-1] == '-' || v[n-1] == '+') {
			return v[n-1] == '-', strings.TrimRight(v[:n-1], " "), true
		}
		return false, v, true
	case signOverpunch:
		n := len(v)
		d, neg, ok := unpunch(v[n-1])
		if !ok {
			return false, "", false
		}
		if d == v[n-1] {
			return false, v, true
		}
		return neg, v[:n-1] + string(rune(d)), true
	case signLeadingOverpunch:
		d, neg, ok := unpunch(v[0])
		if !ok {
			return false, "", false
		}
		if d == v[0] {
			return false, v, true
		}
		return neg, string(rune(d)) + v[1:], true
	}
	if v[0] == '-' || v[0] == '+' {
		return v[0] == '-', strings.TrimLeft(v[1:], " "), true
	}
	return false, v, true
}

// unpunch reads an overpunched digit: { A-I positive, } J-R negative, a
// plain digit unsigned.
func unpunch(c byte) (d byte, neg, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return c, false, true
	case c == '{':
		return '0', false, true
	case c >= 'A' && c <= 'I':
		return '1' + c - 'A', false, true
	case c == '}':
		return '0', true, true
	case c >= 'J' && c <= 'R':
		return '1' + c - 'J', true, true
	}
	return 0, false, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// envelopeString renders a typed value for Record.Envelope.
func envelopeString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case json.Number:
		return string(v), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	}
	return "", false
}
