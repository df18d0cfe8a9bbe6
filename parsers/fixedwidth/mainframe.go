package fixedwidth

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// codePage is a single-byte encoding known by its number.
type codePage struct {
	name   string
	cm     *charmap.Charmap
	ebcdic bool
}

// codePages are keyed by the number in their name ("037" of "ibm037",
// "cp037", "ebcdic-037").
var codePages = map[string]codePage{
	"037":  {"ibm037", charmap.CodePage037, true},
	"37":   {"ibm037", charmap.CodePage037, true},
	"1047": {"ibm1047", charmap.CodePage1047, true},
	"1140": {"ibm1140", charmap.CodePage1140, true},
	"437":  {"ibm437", charmap.CodePage437, false},
	"850":  {"ibm850", charmap.CodePage850, false},
}

// decodeTable maps every byte of a single-byte charset to its UTF-8 text.
type decodeTable struct {
	ascii [256]bool // the byte is one ASCII character
	ch    [256]byte // that character
	utf   [256]string
}

func newDecodeTable(cm *charmap.Charmap) *decodeTable {
	t := &decodeTable{}
	for b := 0; b < 256; b++ {
		r := cm.DecodeByte(byte(b))
		t.utf[b] = string(r)
		if r < 0x80 {
			t.ascii[b], t.ch[b] = true, byte(r)
		}
	}
	return t
}

// append adds the text of raw to dst.
func (t *decodeTable) append(dst, raw []byte) []byte {
	for _, c := range raw {
		if t.ascii[c] {
			dst = append(dst, t.ch[c])
		} else {
			dst = append(dst, t.utf[c]...)
		}
	}
	return dst
}

// rawValue types the bytes of a packed, binary or EBCDIC zoned field. b
// may be shorter than the field when a short line is padded: the missing
// bytes are blanks.
func (f *field) rawValue(b []byte, space byte) (any, error) {
	blank := true
	for _, c := range b {
		if c != space {
			blank = false
			break
		}
	}
	if blank {
		return f.convert("")
	}
	if n := f.end - f.start + 1; len(b) < n {
		return nil, fmt.Errorf("%w: % X is %d of the field's %d bytes (the line is short)", ErrValue, b, len(b), n)
	}
	var neg bool
	var buf [40]byte
	var digits []byte
	switch f.storage {
	case StoragePacked:
		var ok bool
		neg, digits, ok = unpack(buf[:0], b)
		if !ok {
			return nil, fmt.Errorf("%w: % X is not a packed decimal (COMP-3): each half-byte a digit 0-9, the last one the sign C, D or F", ErrValue, b)
		}
		if neg && !f.signed {
			return nil, fmt.Errorf("%w: % X is negative (sign half-byte D) but the field is unsigned; set signed: true", ErrValue, b)
		}
	case StorageBinary:
		if f.signed {
			var n int64
			switch len(b) {
			case 2:
				n = int64(int16(binary.BigEndian.Uint16(b)))
			case 4:
				n = int64(int32(binary.BigEndian.Uint32(b)))
			default:
				n = int64(binary.BigEndian.Uint64(b))
			}
			neg = n < 0
			digits = strconv.AppendUint(buf[:0], absU(n), 10)
		} else {
			var n uint64
			switch len(b) {
			case 2:
				n = uint64(binary.BigEndian.Uint16(b))
			case 4:
				n = uint64(binary.BigEndian.Uint32(b))
			default:
				n = binary.BigEndian.Uint64(b)
			}
			digits = strconv.AppendUint(buf[:0], n, 10)
		}
	default: // EBCDIC zoned decimal
		var ok bool
		neg, digits, ok = unzone(buf[:0], b, f.sign == signLeadingOverpunch)
		if !ok {
			where := "last"
			if f.sign == signLeadingOverpunch {
				where = "first"
			}
			return nil, fmt.Errorf("%w: % X is not an EBCDIC zoned decimal: digits F0-F9, the %s byte's zone C, D or F", ErrValue, b, where)
		}
	}
	if v, ok := f.rawNumber(neg, digits); ok {
		return v, nil
	}
	text := string(digits)
	if neg {
		text = "-" + text
	}
	g := *f
	g.sign = "leading"
	if f.storage != StorageDisplay {
		// The digits are the value: read them like display text with a
		// leading sign.
		g.nullIf, g.blankZero = nil, false
	}
	return g.convert(text)
}

// rawNumber types the digits of a raw field (leading zeros kept, at least
// one) as convert types them as text with a leading sign, when that is
// simple: an integer of up to 18 significant digits, or a decimal with
// implied places; ok is false otherwise (convert then decides).
func (f *field) rawNumber(neg bool, digits []byte) (v any, ok bool) {
	if f.storage == StorageDisplay && len(f.nullIf) > 0 {
		return nil, false
	}
	switch {
	case f.kind == TypeInteger:
		i := 0
		for i < len(digits)-1 && digits[i] == '0' {
			i++
		}
		if len(digits)-i > 18 {
			return nil, false
		}
		var n int64
		for _, c := range digits[i:] {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	case f.kind == TypeDecimal && f.implied:
		sc := f.scale
		ip, fp := digits, digits[:0]
		if len(digits) > sc {
			ip, fp = digits[:len(digits)-sc], digits[len(digits)-sc:]
		} else {
			ip, fp = nil, digits
		}
		for len(ip) > 0 && ip[0] == '0' {
			ip = ip[1:]
		}
		var out [48]byte
		b := out[:0]
		if neg && (len(ip) > 0 || bytes.ContainsFunc(fp, func(r rune) bool { return r != '0' })) {
			b = append(b, '-')
		}
		if len(ip) == 0 {
			b = append(b, '0')
		}
		b = append(b, ip...)
		if sc > 0 {
			b = append(b, '.')
			for range sc - len(fp) {
				b = append(b, '0')
			}
			b = append(b, fp...)
		}
		return json.Number(b), true
	}
	return nil, false
}

func absU(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// unpack reads a packed decimal: its digits (leading zeros kept), added
// to dst, and the sign.
func unpack(dst, b []byte) (neg bool, digits []byte, ok bool) {
	d := dst
	for i, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 {
			return false, nil, false
		}
		d = append(d, '0'+hi)
		if i < len(b)-1 {
			if lo > 9 {
				return false, nil, false
			}
			d = append(d, '0'+lo)
			continue
		}
		switch lo {
		case 0x0C, 0x0A, 0x0E, 0x0F:
		case 0x0D, 0x0B:
			neg = true
		default:
			return false, nil, false
		}
	}
	return neg, d, true
}

// unzone reads an EBCDIC zoned decimal, its digits added to dst, with the
// sign in the zone of its last byte (or, with leading, its first).
func unzone(dst, b []byte, leading bool) (neg bool, digits []byte, ok bool) {
	d := dst
	at := len(b) - 1
	if leading {
		at = 0
	}
	for i, c := range b {
		zone, lo := c>>4, c&0x0F
		if lo > 9 {
			return false, nil, false
		}
		d = append(d, '0'+lo)
		switch {
		case zone == 0x0F:
		case i == at && (zone == 0x0C || zone == 0x0A || zone == 0x0E):
		case i == at && (zone == 0x0D || zone == 0x0B):
			neg = true
		default:
			return false, nil, false
		}
	}
	return neg, d, true
}

// scaledDigits turns a number into the digits of its unscaled value (no
// leading zeros; "" for zero) for a field with implied decimals, without
// rounding.
func (f *field) scaledDigits(v any) (neg bool, digits string, err error) {
	text, ok := intText(v)
	if !ok {
		switch x := v.(type) {
		case interface{ String() string }:
			text = x.String()
		case string:
			text = x
		case float32, float64:
			return false, "", fmt.Errorf("%w: %v is a binary floating-point number; give an exact decimal (json.Number or text)", ErrValue, v)
		default:
			return false, "", fmt.Errorf("%w: %T for a %s field", ErrValue, v, f.kind)
		}
	}
	neg, ip, fp, err := parseNumber(text)
	if err != nil {
		return false, "", err
	}
	scale := f.scale
	if f.kind == TypeInteger {
		scale = 0
	}
	if len(fp) > scale {
		if strings.Trim(fp[scale:], "0") != "" {
			if f.kind == TypeInteger {
				return false, "", fmt.Errorf("%w: %s is not a whole number", ErrValue, text)
			}
			return false, "", fmt.Errorf("%w: %s has more than %d decimal places (implied scale %d); it is not rounded", ErrValue, text, scale, scale)
		}
		fp = fp[:scale]
	}
	digits = strings.TrimLeft(ip+fp+strings.Repeat("0", scale-len(fp)), "0")
	if digits == "" {
		neg = false
	}
	return neg, digits, nil
}

// rawBytes encodes a number for a packed, binary or EBCDIC zoned field
// into dst (the field's bytes).
func (f *field) rawBytes(dst []byte, v any, space byte) error {
	if v == nil {
		if f.required {
			return ErrRequired
		}
		for i := range dst {
			dst[i] = space
		}
		return nil
	}
	neg, digits, err := f.scaledDigits(v)
	if err != nil {
		return err
	}
	if digits == "" && f.blankZero {
		for i := range dst {
			dst[i] = space
		}
		return nil
	}
	if neg && !f.signed && f.storage != StorageDisplay {
		return fmt.Errorf("%w: %v is negative and the field is unsigned", ErrValue, v)
	}
	most := f.digits
	if f.storage == StorageDisplay {
		most = len(dst)
	}
	if len(digits) > most {
		return fmt.Errorf("%w: %v needs %d digits, the field (columns %d-%d, %s) holds %d", ErrTooLong, v, len(digits), f.start, f.end, f.storage, most)
	}
	switch f.storage {
	case StoragePacked:
		nd := 2*len(dst) - 1
		d := strings.Repeat("0", nd-len(digits)) + digits
		for i := range dst {
			hi := d[2*i] - '0'
			var lo byte
			if i < len(dst)-1 {
				lo = d[2*i+1] - '0'
			} else {
				switch {
				case !f.signed:
					lo = 0x0F
				case neg:
					lo = 0x0D
				default:
					lo = 0x0C
				}
			}
			dst[i] = hi<<4 | lo
		}
	case StorageBinary:
		n := new(big.Int)
		n.SetString(digits+"0", 10)
		n.Quo(n, big.NewInt(10)) // "" is zero
		if neg {
			n.Neg(n)
		}
		bits := 8 * len(dst)
		if f.signed {
			lim := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
			if n.Cmp(lim) >= 0 || n.Cmp(new(big.Int).Neg(lim)) < 0 {
				return fmt.Errorf("%w: %v does not fit %d signed bytes", ErrTooLong, v, len(dst))
			}
			if n.Sign() < 0 {
				n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
			}
		} else if n.BitLen() > bits {
			return fmt.Errorf("%w: %v does not fit %d unsigned bytes", ErrTooLong, v, len(dst))
		}
		n.FillBytes(dst)
	default: // EBCDIC zoned
		d := strings.Repeat("0", len(dst)-len(digits)) + digits
		for i := range dst {
			dst[i] = 0xF0 | (d[i] - '0')
		}
		sign := &dst[len(dst)-1]
		if f.sign == signLeadingOverpunch {
			sign = &dst[0]
		}
		if neg {
			*sign = 0xD0 | *sign&0x0F
		} else {
			*sign = 0xC0 | *sign&0x0F
		}
	}
	return nil
}

// fullYear puts the four-digit year of a CYY or pivoted YY date in v, so
// the Go layout (with 2006 there) reads it.
func (f *field) fullYear(v string) (string, bool) {
	p, n := f.yearPos, f.yearLen
	if len(v) < p+n || !allDigits(v[p:p+n]) {
		return "", false
	}
	var y int
	if n == 3 {
		y = 1900 + 100*int(v[p]-'0') + int(v[p+1]-'0')*10 + int(v[p+2]-'0')
	} else {
		yy := int(v[p]-'0')*10 + int(v[p+1]-'0')
		y = f.pivot - f.pivot%100 + yy
		if y < f.pivot {
			y += 100
		}
	}
	return v[:p] + strconv.Itoa(y) + v[p+n:], true
}

// formatDate writes t in the field's format, CYY and pivoted YY included.
func (f *field) formatDate(t time.Time) (string, error) {
	s := t.Format(f.goLayout)
	if f.yearLen == 0 {
		return s, nil
	}
	p := f.yearPos
	y := t.Year()
	if len(s) < p+4 {
		return "", fmt.Errorf("%w: %s does not format as %s", ErrValue, t.Format(time.RFC3339), f.format)
	}
	var short string
	if f.yearLen == 3 {
		if y < 1900 || y > 2899 {
			return "", fmt.Errorf("%w: year %d is outside 1900-2899, which CYY (%s) can hold", ErrTooLong, y, f.format)
		}
		short = fmt.Sprintf("%d%02d", (y-1900)/100, y%100)
	} else {
		if y < f.pivot || y >= f.pivot+100 {
			return "", fmt.Errorf("%w: year %d is outside %d-%d, the two-digit window of pivot_year %d", ErrTooLong, y, f.pivot, f.pivot+99, f.pivot)
		}
		short = fmt.Sprintf("%02d", y%100)
	}
	return s[:p] + short + s[p+4:], nil
}
