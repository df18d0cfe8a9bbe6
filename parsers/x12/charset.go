package x12

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"legacybridge"
)

// Charset values for Tokenizer.Charset, Decoder.Charset and Parser.Charset.
const (
	// CharsetUTF8 (the default): values are UTF-8; a value that is not
	// valid UTF-8 is decoded as Windows-1252 and reported to Warn
	// (ErrEncoding), so no byte is lost.
	CharsetUTF8 = "utf-8"
	// CharsetWindows1252: every byte is Windows-1252 (0x96 is "–"; the five
	// bytes it leaves undefined decode to the C1 controls U+0081, ...).
	CharsetWindows1252 = "windows-1252"
	// CharsetISO88591: every byte is ISO-8859-1 (Latin-1; 0x80-0x9F are
	// the C1 controls U+0080-U+009F).
	CharsetISO88591 = "iso-8859-1"
)

// charset modes
const (
	csUTF8 = iota
	cs1252
	csLatin1
)

// parseCharset maps a Charset setting (case-insensitive, "" = utf-8) to a mode.
func parseCharset(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "", CharsetUTF8:
		return csUTF8, true
	case CharsetWindows1252:
		return cs1252, true
	case CharsetISO88591:
		return csLatin1, true
	}
	return 0, false
}

// decodeBytes decodes s byte by byte with m (ASCII bytes map to themselves).
func decodeBytes(s string, m *charmap.Charmap) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else if r := m.DecodeByte(c); r != utf8.RuneError {
			b.WriteRune(r)
		} else {
			// Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D
			// undefined: the C1 control of the same number, as
			// WHATWG decodes them, rather than losing the byte.
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
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

// textValue decodes one value (a component) per the charset mode. In utf-8
// mode a value that is not valid UTF-8 is decoded as Windows-1252 and bad
// is its first invalid byte (else -1).
func (t *Tokenizer) textValue(c string) (v string, bad int) {
	switch t.cs {
	case cs1252:
		if !isASCII(c) {
			return decodeBytes(c, charmap.Windows1252), -1
		}
	case csLatin1:
		if !isASCII(c) {
			return decodeBytes(c, charmap.ISO8859_1), -1
		}
	default:
		if i := firstInvalid(c); i >= 0 {
			return decodeBytes(c, charmap.Windows1252), i
		}
	}
	return c, -1
}

// needsText reports whether the segment text s may hold values to decode.
func (t *Tokenizer) needsText(s string) bool {
	if t.cs == csUTF8 {
		return !utf8.ValidString(s)
	}
	return !isASCII(s)
}

// warnEncoding reports a value decoded as Windows-1252 in utf-8 mode.
func (t *Tokenizer) warnEncoding(seg *legacybridge.Segment, line int, elem int, off int64, b byte, v string) {
	if t.Warn == nil {
		return
	}
	tag, name := seg.Tag, fmt.Sprintf("%s%02d", seg.Tag, elem)
	if !validTag(tag) {
		tag, name = "", fmt.Sprintf("element %d of the segment with tag %s", elem, quote(seg.Tag))
	}
	t.Warn(t.errAt(off, line, seg.Number, tag, ErrEncoding,
		"%s is not valid UTF-8 (byte 0x%02X at byte offset %d): decoded as Windows-1252 %s",
		name, b, off, quote(v)))
}

// transcode decodes the values of a segment built from the text s (tag,
// separators and values, as split) per the charset. orig, when not nil, is
// the segment's bytes before line breaks were dropped, for offsets; base is
// the offset of its first byte.
func (t *Tokenizer) transcode(seg *legacybridge.Segment, s string, orig []byte, base int64, line int) {
	if !t.needsText(s) {
		return
	}
	pos := len(seg.Tag) + len(t.elem) // index in s of the current value
	for ei, e := range seg.Elements {
		if ei > 0 {
			pos += len(t.elem)
		}
		warned := false
		for ri, r := range e {
			if ri > 0 {
				pos += len(t.rep)
			}
			for ci, c := range r {
				if ci > 0 {
					pos += len(t.comp)
				}
				v, bad := t.textValue(c)
				if bad >= 0 && !warned {
					warned = true
					t.warnEncoding(seg, line, ei+1, base+origIndex(orig, pos+bad, t.dropCR, t.dropLF), c[bad], v)
				}
				r[ci] = v
				pos += len(c)
			}
		}
	}
}

// origIndex maps index k of a segment's text with line breaks dropped to
// the index in orig (nil: nothing was dropped).
func origIndex(orig []byte, k int, dropCR, dropLF bool) int64 {
	if orig == nil {
		return int64(k)
	}
	kept := 0
	for i, b := range orig {
		if b == '\r' && dropCR || b == '\n' && dropLF {
			continue
		}
		if kept == k {
			return int64(i)
		}
		kept++
	}
	return int64(len(orig))
}

// transcodeISA decodes the ISA's fields (not ISA16, a delimiter); off[i]
// is the offset of field i's first byte.
func (t *Tokenizer) transcodeISA(seg *legacybridge.Segment, off []int64, line int) {
	for i := 0; i < len(off) && i < len(seg.Elements); i++ {
		c := seg.Elements[i][0][0]
		if isASCII(c) {
			continue
		}
		v, bad := t.textValue(c)
		if bad >= 0 {
			t.warnEncoding(seg, line, i+1, off[i]+int64(bad), c[bad], v)
		}
		seg.Elements[i][0][0] = v
	}
}

func (t *Tokenizer) initCharset() error {
	cs, ok := parseCharset(t.Charset)
	if !ok {
		return t.fatalAt(0, 1, 1, "", ErrEncoding, "unknown Charset %q (want %q, %q or %q)",
			t.Charset, CharsetUTF8, CharsetWindows1252, CharsetISO88591)
	}
	t.cs = cs
	return nil
}
