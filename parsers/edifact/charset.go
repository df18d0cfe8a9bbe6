package edifact

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"

	"legacybridge"
)

// charset says how the values of an interchange are decoded to UTF-8 and
// which characters they may hold.
type charset struct {
	name   string           // "ascii", "utf-8", "iso-8859-1", ...
	level  string           // the syntax identifier, for messages ("UNOA"); "" for an override
	cm     *charmap.Charmap // single-byte sets; nil: UTF-8 (bytes that are not ASCII in level A/B)
	allow  *[256]bool       // levels A and B: the bytes of their repertoire; nil: any printable character
	listed string           // the repertoire, for messages
}

var (
	repertoireA, repertoireB [256]bool
	utf8Charset              = charset{name: "utf-8"}
)

var (
	listA = "upper-case letters, digits, space and " + strconv.Quote(`.,-()/=!"%&*;<>'+:?`)
	listB = "letters, digits, space and " + strconv.Quote(`.,-()/=!"%&*;<>'+:?_`)
)

func init() {
	for c := 'A'; c <= 'Z'; c++ {
		repertoireA[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		repertoireA[c] = true
	}
	for _, c := range ` .,-()/=!"%&*;<>'+:?` {
		repertoireA[c] = true
	}
	repertoireB = repertoireA
	for c := 'a'; c <= 'z'; c++ {
		repertoireB[c] = true
	}
	repertoireB['_'] = true
}

// syntaxCharset returns the character set of a syntax identifier (UNB
// S001 0001), and whether it is one this package knows; an unknown one
// (IATA's IATB, UNOX with ISO 2022 escapes, KECA) is read as UTF-8.
func syntaxCharset(id string) (charset, bool) {
	var cm *charmap.Charmap
	switch id {
	case "UNOA":
		return charset{name: "ascii", level: id, allow: &repertoireA, listed: listA}, true
	case "UNOB":
		return charset{name: "ascii", level: id, allow: &repertoireB, listed: listB}, true
	case "UNOW", "UNOY":
		return charset{name: "utf-8", level: id}, true
	case "UNOC":
		cm = charmap.ISO8859_1
	case "UNOD":
		cm = charmap.ISO8859_2
	case "UNOE":
		cm = charmap.ISO8859_5
	case "UNOF":
		cm = charmap.ISO8859_7
	case "UNOG":
		cm = charmap.ISO8859_3
	case "UNOH":
		cm = charmap.ISO8859_4
	case "UNOI":
		cm = charmap.ISO8859_6
	case "UNOJ":
		cm = charmap.ISO8859_8
	case "UNOK":
		cm = charmap.ISO8859_9
	case "UNOL":
		cm = charmap.ISO8859_15
	default:
		return charset{name: "utf-8", level: id}, false
	}
	return charset{name: charmapName(cm), level: id, cm: cm}, true
}

// charmapName is the MIME name of a character set, lower-case ("iso-8859-1").
func charmapName(cm *charmap.Charmap) string {
	if n, err := ianaindex.MIME.Name(cm); err == nil && n != "" {
		return strings.ToLower(n)
	}
	return strings.ToLower(cm.String())
}

// parseCharset maps a Charset setting to a charset: "utf-8", a syntax
// identifier, or the IANA name of a single-byte character set.
func parseCharset(s string) (charset, bool) {
	if strings.EqualFold(s, "utf-8") || strings.EqualFold(s, "utf8") {
		return utf8Charset, true
	}
	if cs, ok := syntaxCharset(strings.ToUpper(s)); ok {
		return cs, true
	}
	e, err := ianaindex.IANA.Encoding(s)
	if err != nil || e == nil {
		return charset{}, false
	}
	cm, ok := e.(*charmap.Charmap)
	if !ok {
		return charset{}, false
	}
	return charset{name: charmapName(cm), cm: cm}, true
}

func (t *Tokenizer) initCharset() error {
	if t.Charset == "" {
		return nil
	}
	cs, ok := parseCharset(t.Charset)
	if !ok {
		return t.fatalAt(0, 1, 1, "", ErrEncoding, CodeSyntaxLevel,
			"unknown Charset %q (want \"utf-8\", a syntax identifier like \"UNOC\", or a single-byte character set like \"iso-8859-2\" or \"windows-1252\")",
			t.Charset)
	}
	t.override = &cs
	t.cs = cs
	return nil
}

// odd reports whether a byte needs a look in a value: it may need decoding
// or be outside the repertoire.
func (c *charset) odd(b byte) bool {
	if c.allow != nil {
		return !c.allow[b]
	}
	return b >= utf8.RuneSelf || b < 0x20 || b == 0x7f
}

// isControl reports C0 and C1 control characters and DEL.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// decode returns the value as UTF-8 and, when it had to guess (a byte
// sequence not valid in the set: decoded as Windows-1252, or a byte the set
// leaves undefined: U+FFFD), the index of the first such byte, else -1.
func (c *charset) decode(v string) (string, int) {
	if c.cm == nil {
		if utf8.ValidString(v) {
			return v, -1
		}
		return decodeBytes(v, charmap.Windows1252), firstInvalid(v)
	}
	bad := -1
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf && c.cm.DecodeByte(v[i]) == utf8.RuneError {
			bad = i
			break
		}
	}
	return decodeBytes(v, c.cm), bad
}

// outside returns the index in v (as sent) of the first character outside
// the repertoire, or -1.
func (c *charset) outside(v string) int {
	if c.allow != nil {
		for i := 0; i < len(v); i++ {
			if !c.allow[v[i]] {
				return i
			}
		}
		return -1
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b < 0x20 || b == 0x7f {
			return i
		}
		if b >= 0x80 && c.cm != nil {
			if r := c.cm.DecodeByte(b); isControl(r) {
				return i
			}
		}
	}
	if c.cm == nil {
		for i, r := range v {
			if isControl(r) {
				return i
			}
		}
	}
	return -1
}

// decodeBytes decodes s byte by byte with m (ASCII bytes map to themselves).
func decodeBytes(s string, m *charmap.Charmap) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else if r := m.DecodeByte(c); r != utf8.RuneError || m != charmap.Windows1252 {
			b.WriteRune(r)
		} else {
			// Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D
			// undefined: the C1 control of the same number, as WHATWG
			// decodes them, rather than losing the byte.
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

// firstInvalid is the index of the first byte of s that does not start a
// valid UTF-8 sequence, or -1.
func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// rawIndex maps index k of a segment's text (release characters and line
// breaks removed) to the index in raw, the segment's bytes.
func (t *Tokenizer) rawIndex(raw []byte, k int) int {
	out := 0
	for j := 0; j < len(raw); j++ {
		k0 := t.cls[raw[j]]
		if k0&clsBreak != 0 {
			continue
		}
		if k0&clsRel != 0 {
			j++
			for j < len(raw) && t.cls[raw[j]]&clsBreak != 0 {
				j++
			}
			if j == len(raw) {
				break
			}
		}
		if out == k {
			return j
		}
		out++
	}
	return len(raw)
}

// transcode decodes the values of a segment per the charset and checks
// them against its repertoire, reporting the first problem of each kind in
// the segment. raw is the segment's bytes (mapped: its text differs, so
// offsets are mapped back).
func (t *Tokenizer) transcode(seg *legacybridge.Segment, raw []byte, mapped bool, line int) error {
	var encDone, repDone bool
	var strictErr error
	tag := seg.Tag
	if !validTag(tag) {
		tag = ""
	}
	offset := func(pos int) int64 {
		if mapped && raw != nil {
			return seg.Offset + int64(t.rawIndex(raw, pos))
		}
		return seg.Offset + int64(pos)
	}
	pos := len(seg.Tag) + 1 // index in the segment's text of the current value
	for ei, e := range seg.Elements {
		if ei > 0 {
			pos++
		}
		for ri, r := range e {
			if ri > 0 {
				pos++
			}
			for ci, c := range r {
				if ci > 0 {
					pos++
				}
				if !t.cs.oddString(c) {
					pos += len(c)
					continue
				}
				if !repDone {
					if i := t.cs.outside(c); i >= 0 {
						repDone = true
						e := t.repertoireErr(seg, tag, line, ei+1, ci+1, offset(pos+i), c[i:])
						if t.StrictCharset {
							strictErr = e
						} else {
							t.warn(e)
						}
					}
				}
				v, bad := t.cs.decode(c)
				if bad >= 0 && !encDone {
					encDone = true
					off := offset(pos + bad)
					e := t.errAt(off, line, seg.Number, tag, ErrEncoding, CodeInvalidChars,
						"%s is not valid %s (byte 0x%02X at byte offset %d): decoded as %s",
						elemName(tag, ei+1), t.cs.name, c[bad], off, t.cs.fallback(v))
					e.Element, e.Component = ei+1, ci+1
					t.warn(e)
				}
				r[ci] = v
				pos += len(c)
			}
		}
	}
	return strictErr
}

func (c *charset) fallback(v string) string {
	if c.cm == nil {
		return "Windows-1252 " + quote(v)
	}
	return quote(v) + " (U+FFFD for bytes " + c.name + " leaves undefined)"
}

// oddString reports whether a value has a byte the charset must look at.
func (c *charset) oddString(v string) bool {
	for i := 0; i < len(v); i++ {
		if c.odd(v[i]) {
			return true
		}
	}
	return false
}

func (t *Tokenizer) repertoireErr(seg *legacybridge.Segment, tag string, line, elem, comp int, off int64, rest string) *ParseError {
	r, n := utf8.DecodeRuneInString(rest)
	shown := quote(rest[:n])
	if r == utf8.RuneError && n == 1 {
		shown = "byte " + quote(rest[:1])
	}
	var what string
	switch {
	case t.cs.allow != nil:
		what = "outside the " + t.cs.level + " character set (" + t.cs.listed + ")"
	case validSyntaxID(t.cs.level):
		what = "a control character, outside the " + t.cs.level + " character set"
	case t.cs.level != "":
		what = "a control character (syntax identifier " + quote(t.cs.level) + ")"
	default:
		what = "a control character"
	}
	e := t.errAt(off, line, seg.Number, tag, ErrRepertoire, CodeInvalidChars,
		"%s holds %s at byte offset %d, %s", elemName(tag, elem), shown, off, what)
	e.Element, e.Component = elem, comp
	return e
}

// elemName names data element i of a segment for messages: "FTX04", or
// "data element 4" when the tag is not valid.
func elemName(tag string, i int) string {
	if tag == "" {
		return "data element " + strconv.Itoa(i)
	}
	return tag + twoDigits(i)
}

// validSyntaxID reports a syntax identifier of 4 upper-case letters.
func validSyntaxID(id string) bool {
	if len(id) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if id[i] < 'A' || id[i] > 'Z' {
			return false
		}
	}
	return true
}
