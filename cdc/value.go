package cdc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is how the engine reads a column's values, decided by the dialect
// from the database type.
type Kind int

const (
	KindText    Kind = iota // string
	KindInt                 // int64 (json.Number when it does not fit)
	KindDecimal             // json.Number: exact decimal text, never via float64
	KindFloat               // binary floating point, rendered as the shortest json.Number that round-trips
	KindBool                // bool
	KindTime                // date/time without a zone (Oracle DATE and TIMESTAMP, PostgreSQL timestamp and date): read in Config.TimeZone
	KindTimeTZ              // date/time with a zone or offset: the instant, with its offset
	KindBytes               // []byte (RAW, bytea, short BLOB values)
	KindLOB                 // CLOB/NCLOB: left out unless Table.LOBs is LOBInclude; string
	KindJSON                // json.RawMessage
	KindBLOB                // BLOB: left out unless Table.LOBs is LOBInclude; []byte
)

var kindNames = [...]string{"text", "int", "decimal", "float", "bool", "time", "timetz", "bytes", "lob", "json", "blob"}

// IsLOB reports whether k is a large object kind (skipped by default).
func (k Kind) IsLOB() bool { return k == KindLOB || k == KindBLOB }

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Column is one captured column.
type Column struct {
	Name   string // upper case, as in images and record fields
	Kind   Kind
	DBType string // the driver's database type name, for messages
}

// Skipped stands for a large object left out of an image: by config
// (LOBSkip), because it is larger than Table.MaxLOBBytes (LOBInline), or
// because its row was gone when it was to be read (LOBReference). It is never
// confused with NULL (nil) or an empty value.
type Skipped struct {
	Reason string `json:"skipped"`        // "lob", "too-large", or "gone" (a referenced LOB whose row was deleted before it was read)
	Size   int64  `json:"size,omitempty"` // bytes, when known
}

// convert turns a driver value of a column of kind k into the engine's
// value: nil (SQL NULL), string, int64, json.Number, bool, time.Time,
// []byte or json.RawMessage. An empty string stays an empty string.
// loc is the zone of zone-less date/time values.
func convert(k Kind, v any, loc *time.Location) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindInt, KindDecimal:
		return number(v, k == KindInt)
	case KindFloat:
		switch x := v.(type) {
		case float64:
			return floatNumber(x), nil
		case float32:
			return floatNumber(float64(x)), nil
		}
		return number(v, false)
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("not a boolean: %T %v", v, v)
	case KindTime:
		return zoneless(v, loc)
	case KindTimeTZ:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			if t, err := parseTime(x, loc); err == nil {
				return t, nil
			}
			return x, nil
		}
		return nil, fmt.Errorf("not a timestamp: %T", v)
	case KindBytes, KindBLOB:
		switch x := v.(type) {
		case []byte:
			return bytes.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	case KindJSON:
		switch x := v.(type) {
		case []byte:
			return json.RawMessage(bytes.Clone(x)), nil
		case string:
			return json.RawMessage(x), nil
		}
	}
	// KindText, KindLOB and anything unexpected: text, or bytes as given.
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64, bool, json.Number:
		return x, nil
	case float64:
		return floatNumber(x), nil
	case time.Time:
		return x, nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}

// zoneless reads a date/time without zone: the wall clock the database
// holds, placed in loc (the driver's guess of a zone is ignored: go-ora
// stamps DATE with the server's zone, modernc and pgx with UTC).
func zoneless(v any, loc *time.Location) (any, error) {
	switch x := v.(type) {
	case time.Time:
		y, mo, d := x.Date()
		h, mi, s := x.Clock()
		return time.Date(y, mo, d, h, mi, s, x.Nanosecond(), loc), nil
	case string:
		t, err := parseTime(x, loc)
		if err != nil {
			return x, nil // kept as the text the database holds
		}
		return t, nil
	case int64:
		return time.Unix(x, 0).In(loc), nil
	}
	return nil, fmt.Errorf("not a date/time: %T", v)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime reads the date/time texts databases produce (ISO 8601 with a
// space or T, with or without fraction and offset). Texts without an
// offset are read in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date/time: %q", s)
}

// number reads an exact decimal. Integers that fit become int64 when
// wantInt; everything else json.Number with the digits as the database
// gave them (never through float64).
func number(v any, wantInt bool) (any, error) {
	var s string
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		s = strconv.FormatUint(x, 10)
	case float64:
		return floatNumber(x), nil
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case []byte:
		s = strings.TrimSpace(string(x))
	default:
		return nil, fmt.Errorf("not a number: %T", v)
	}
	s = normDecimal(s)
	if !isDecimal(s) {
		if s == "NaN" || s == "Infinity" || s == "-Infinity" {
			return s, nil // PostgreSQL numeric specials: no JSON number for them
		}
		return nil, fmt.Errorf("not a decimal number: %q", s)
	}
	if wantInt {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	return json.Number(s), nil
}

// isDecimal reports whether s is a JSON-compatible number: optional minus,
// digits, optional fraction, optional exponent. Oracle writes ".5" and
// "-.5" (no leading zero), which are normalised by normDecimal first.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	return json.Valid([]byte(s)) && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

// normDecimal adds the leading zero Oracle leaves out (".5" → "0.5").
func normDecimal(s string) string {
	switch {
	case strings.HasPrefix(s, "."):
		return "0" + s
	case strings.HasPrefix(s, "-."):
		return "-0" + s[1:]
	}
	return s
}

func floatNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// normKey makes key values of the same row compare and encode equal
// whichever strategy read them: integral decimals become int64, times UTC.
func normKey(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if r, ok := new(big.Rat).SetString(string(x)); ok && r.IsInt() && r.Num().IsInt64() {
			return r.Num().Int64()
		}
	case time.Time:
		return x.UTC()
	case []byte:
		return string(x)
	}
	return v
}

// compareValues orders two key values the way the database orders them
// with binary collation: NULL first, numbers numerically, text by bytes,
// times by instant.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpInt(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpInt(b2i(x), b2i(y))
		}
	}
	ra, oka := rat(a)
	rb, okb := rat(b)
	if oka && okb {
		return ra.Cmp(rb)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func compareKeys(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func rat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x), true
	case json.Number:
		return new(big.Rat).SetString(string(x))
	}
	return nil, false
}

// tagged is a value as stored in the position store: type and text, so a
// cursor or key reads back exactly as it was (no float, no zone guessing).
type tagged struct {
	T string `json:"t"` // n(ull) i(nt) d(ecimal) s(tring) t(ime) b(ool) x(bytes)
	V string `json:"v,omitempty"`
}

func encodeValue(v any) tagged {
	switch x := v.(type) {
	case nil:
		return tagged{T: "n"}
	case int64:
		return tagged{T: "i", V: strconv.FormatInt(x, 10)}
	case json.Number:
		return tagged{T: "d", V: string(x)}
	case string:
		return tagged{T: "s", V: x}
	case time.Time:
		return tagged{T: "t", V: x.Format(time.RFC3339Nano)}
	case bool:
		return tagged{T: "b", V: strconv.FormatBool(x)}
	case []byte:
		return tagged{T: "x", V: base64.StdEncoding.EncodeToString(x)}
	}
	return tagged{T: "s", V: fmt.Sprint(v)}
}

func (t tagged) value() (any, error) {
	switch t.T {
	case "n":
		return nil, nil
	case "i":
		return strconv.ParseInt(t.V, 10, 64)
	case "d":
		return json.Number(t.V), nil
	case "s":
		return t.V, nil
	case "t":
		return time.Parse(time.RFC3339Nano, t.V)
	case "b":
		return strconv.ParseBool(t.V)
	case "x":
		return base64.StdEncoding.DecodeString(t.V)
	}
	return nil, fmt.Errorf("unknown stored value type %q", t.T)
}

func encodeValues(vs []any) []tagged {
	if vs == nil {
		return nil
	}
	out := make([]tagged, len(vs))
	for i, v := range vs {
		out[i] = encodeValue(v)
	}
	return out
}

func decodeValues(ts []tagged) ([]any, error) {
	if ts == nil {
		return nil, nil
	}
	out := make([]any, len(ts))
	for i, t := range ts {
		v, err := t.value()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// fromJSON turns a value decoded from a journal image (json.Number, string,
// bool, nil, nested JSON) into the engine's value for a column of kind k,
// as if it had been read from the table itself.
func fromJSON(k Kind, v any, loc *time.Location) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindBytes, KindBLOB:
		if s, ok := v.(string); ok {
			// PostgreSQL to_jsonb renders bytea as "\\x0102"; the SQLite
			// and Oracle triggers write hex.
			if b, err := hex.DecodeString(strings.TrimPrefix(s, `\x`)); err == nil {
				return b, nil
			}
			return s, nil
		}
	case KindJSON:
		b, err := json.Marshal(v)
		return json.RawMessage(b), err
	case KindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return string(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	}
	if m, ok := v.(map[string]any); ok {
		b, err := json.Marshal(m)
		return json.RawMessage(b), err
	}
	if a, ok := v.([]any); ok {
		b, err := json.Marshal(a)
		return json.RawMessage(b), err
	}
	if s, ok := v.(string); ok && (k == KindInt || k == KindDecimal || k == KindFloat) {
		v = normDecimal(s)
	}
	return convert(k, v, loc)
}
