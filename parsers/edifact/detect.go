package edifact

import "bytes"

// Detect reports whether prefix, the first bytes of an input (512 are
// plenty), starts like UN/EDIFACT the way this package reads it: after an
// optional UTF-8 byte-order mark and whitespace, "UNA" and six service
// characters, "UNB" followed by level A's or level B's element separator
// ("+", IS3), or "UNH+" (messages without an interchange). It is meant for
// choosing a parser; Decode still checks everything.
func Detect(prefix []byte) bool {
	b := bytes.TrimPrefix(prefix, bom)
	b = bytes.TrimLeft(b, " \t\r\n\v\f")
	if len(b) < 4 {
		return false
	}
	switch string(b[:3]) {
	case "UNA":
		if len(b) < unaChars+3 {
			return false
		}
		for _, c := range b[3 : 3+unaChars] {
			if isAlnum(c) {
				return false
			}
		}
		return true
	case "UNB":
		return b[3] == defaultsA.Element[0] || b[3] == defaultsB.Element[0]
	case "UNH":
		return b[3] == defaultsA.Element[0]
	}
	return false
}

// unaChars is how many service characters follow "UNA".
const unaChars = 6
