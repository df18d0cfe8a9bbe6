package fixedwidth

import "bytes"

// The compiled path: a line whose characters are one byte each (ASCII, or
// a single-byte charset whose line decoded to ASCII) is cut at the
// layout's offsets and typed field by field, with no go-fixedwidth struct
// and no reflection. It trims the way go-fixedwidth does (trimField), and
// the differential tests and FuzzFastPath hold the two paths to the same
// records and errors (Decoder.ViaGoFixedwidth turns the compiled path off).

// memo is the last value one field decoded to, and the text or bytes it
// came from. Files repeat columns from record to record (a date, a
// currency, a status, a batch number): the same text gives the same
// value, which is immutable (string, int64, json.Number, time.Time) and
// can be shared by the records, so it is neither typed nor boxed again.
// Keeping it costs a little on each record, so a field whose value seldom
// repeats (fewer than memoHits of the first memoTries records) is no
// longer kept.
type memo struct {
	text  string // display fields: the untrimmed columns
	key   []byte // raw fields: the bytes
	v     any
	set   bool
	off   bool   // the field's values seldom repeat
	tries uint16 // records seen while deciding
	hits  uint16 // of them, repeats
}

const (
	memoTries = 64
	memoHits  = 16
)

// seen counts a record while deciding whether to keep values.
func (m *memo) seen(hit bool) {
	if hit {
		m.hits++
	}
	if m.tries++; m.tries == memoTries && m.hits < memoHits {
		m.off, m.text, m.key, m.v = true, "", nil, nil
	}
}

// value types the untrimmed columns of a display field.
func (m *memo) value(f *field, text string) (any, error) {
	if m.off {
		return f.fastConvert(text)
	}
	if m.set && m.text == text {
		m.seen(true)
		return m.v, nil
	}
	v, err := f.fastConvert(text)
	if err != nil {
		return nil, err
	}
	m.text, m.v, m.set = text, v, true
	m.seen(false)
	return v, nil
}

// rawValue types the bytes of a packed, binary or EBCDIC zoned field.
func (m *memo) rawValue(f *field, b []byte, space byte) (any, error) {
	if m.off {
		return f.rawValue(b, space)
	}
	if m.set && bytes.Equal(m.key, b) {
		m.seen(true)
		return m.v, nil
	}
	v, err := f.rawValue(b, space)
	if err != nil {
		return nil, err
	}
	m.key, m.v, m.set = append(m.key[:0], b...), v, true
	m.seen(false)
	return v, nil
}

// fastConvert trims and types the columns of a display field: plain
// strings, and integers with a leading sign (or none) of up to 18 digits,
// are read here, the rest by convert, whose results they equal.
func (f *field) fastConvert(text string) (any, error) {
	v := trimField(text, f)
	if f.kind == TypeString && len(f.nullIf) == 0 && !f.required {
		return v, nil
	}
	if f.kind == TypeInteger && f.sign == "leading" && len(f.nullIf) == 0 && v != "" {
		if n, ok := parseInt18(v); ok {
			return n, nil
		}
	}
	return f.convert(v)
}

// parseInt18 reads an optional sign, blanks after it, and 1 to 18 digits
// (which cannot overflow int64); ok is false for anything else.
func parseInt18(v string) (n int64, ok bool) {
	i := 0
	neg := false
	if v[0] == '-' || v[0] == '+' {
		neg = v[0] == '-'
		for i = 1; i < len(v) && v[i] == ' '; i++ {
		}
	}
	if d := len(v) - i; d == 0 || d > 18 {
		return 0, false
	}
	for ; i < len(v); i++ {
		c := v[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	if neg {
		n = -n
	}
	return n, true
}
