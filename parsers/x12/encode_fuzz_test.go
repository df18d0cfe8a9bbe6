package x12

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// FuzzEncodeRoundTrip: two values written by the Encoder read back
// unchanged, or the Encoder refuses them with ErrEncode because one holds
// a delimiter or a line break (X12 cannot escape).
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"plain", "text"}, {"a*b", "c"}, {"x~", ">"}, {"Müller", "日本"}, {"", "x"}, {" lead", "trail "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return // the decoder reads invalid UTF-8 as Windows-1252: not a round trip
		}
		var buf bytes.Buffer
		enc := NewEncoder(&buf, Delimiters{Element: "*", Component: ">", Repetition: "^", Segment: "~"})
		enc.BeginInterchange(InterchangeHeader{SenderID: "S", ReceiverID: "R", Date: "240101", Time: "0000", Version: "00501", ControlNumber: "1"})
		enc.BeginGroup(GroupHeader{FunctionalID: "PO", AppSender: "S", AppReceiver: "R", Date: "20240101", Time: "0000", ControlNumber: "1", Version: "005010"})
		enc.BeginSet("850", "0001", "")
		seg := legacybridge.Segment{Tag: "MSG", Elements: []legacybridge.Element{{{"X"}}, {{a, b}, {b}}}}
		enc.WriteSegment(seg)
		enc.EndSet()
		enc.EndGroup()
		enc.EndInterchange()
		err := enc.Flush()
		bad := strings.ContainsAny(a+b, "*>^~\r\n")
		if err != nil {
			if !errors.Is(err, ErrEncode) || !bad {
				t.Fatalf("encode %q %q: %v", a, b, err)
			}
			return
		}
		if bad {
			t.Fatalf("encoded %q %q without error", a, b)
		}
		txs := decodeClean(t, buf.Bytes(), "fuzz")
		if len(txs) != 1 {
			t.Fatalf("%d sets", len(txs))
		}
		if diff := cmp.Diff(seg.Elements, txs[0].Segments[1].Elements); diff != "" {
			t.Fatalf("round trip of %q (-written +read):\n%s", buf.Bytes(), diff)
		}
	})
}
