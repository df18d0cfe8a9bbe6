package edifact

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// FuzzEncodeRoundTrip: any two values written by the Encoder (release
// characters before service characters) read back unchanged, or the
// Encoder refuses them with ErrEncode (a line break, invalid UTF-8).
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"plain", "text"}, {"a+b:c'd?e*f", "??"}, {"?'", "'"}, {"Müller & Söhne", "日本"}, {"", "x"}, {" lead", "trail "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		enc := NewEncoder(&buf, Delimiters{Component: ":", Element: "+", Decimal: ".", Release: "?", Repetition: "*", Segment: "'"})
		enc.BeginInterchange(InterchangeHeader{SyntaxID: "UNOW", SyntaxVersion: "4", Sender: "S", Recipient: "R", Date: "20240101", Time: "0000", ControlRef: "1"})
		enc.BeginMessage("1", MessageID{Type: "ORDERS", Version: "D", Release: "96A", Agency: "UN"}, "")
		seg := legacybridge.Segment{Tag: "FTX", Elements: []legacybridge.Element{{{"X"}}, {{a, b}, {b}}}}
		enc.WriteSegment(seg)
		enc.EndMessage()
		enc.EndInterchange()
		err := enc.Flush()
		bad := strings.ContainsAny(a+b, "\r\n") || !utf8.ValidString(a) || !utf8.ValidString(b)
		if err != nil {
			if !errors.Is(err, ErrEncode) || !bad {
				t.Fatalf("encode %q %q: %v", a, b, err)
			}
			return
		}
		if bad {
			t.Fatalf("encoded %q %q without error", a, b)
		}
		res := decodeAll(t, buf.Bytes(), "fuzz")
		if len(res.errs) > 0 || len(res.msgs) != 1 {
			t.Fatalf("decode %q: %v", buf.Bytes(), errStrings(res.errs))
		}
		got := res.msgs[0].Segments[1]
		if diff := cmp.Diff(seg.Elements, got.Elements); diff != "" {
			t.Fatalf("round trip of %q (-written +read):\n%s", buf.Bytes(), diff)
		}
	})
}
