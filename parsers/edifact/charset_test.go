package edifact

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// charsetInput is one interchange of syntax id whose FTX04 is value (raw
// bytes).
func charsetInput(id, value string) string {
	return "UNB+" + id + ":3+S+R+240115:1200+X'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++" + value + "'UNT+3+1'UNZ+1+X'"
}

// Values are decoded to UTF-8 in the character set the UNB declares, with
// golang.org/x/text's tables; what does not fit the set is a warning
// naming the element and the byte offset.
func TestCharsets(t *testing.T) {
	const at = len("UNB+UNOx:3+S+R+240115:1200+X'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++") // offset of FTX04
	tests := []struct {
		name, id, value string
		charset         string
		strict          bool
		override        string
		want            string
		warns           []string // "kind/code/element@offset"
		errs            []string
	}{
		{"UNOA", "UNOA", "PLAIN TEXT 1.5", "ascii", false, "", "PLAIN TEXT 1.5", nil, nil},
		{"UNOA lower case", "UNOA", "Plain", "ascii", false, "", "Plain", []string{"repertoire/21/4@1"}, nil},
		{"UNOA lower case strict", "UNOA", "Plain", "ascii", true, "", "Plain", nil, []string{"repertoire/21/4@1"}},
		{"UNOA UTF-8 kept", "UNOA", "B\xc3\x9cTTNER", "ascii", false, "", "BÜTTNER", []string{"repertoire/21/4@1"}, nil},
		{"UNOA Latin-1 byte", "UNOA", "B\xdcTTNER", "ascii", false, "", "BÜTTNER", []string{"repertoire/21/4@1", "encoding/21/4@1"}, nil},
		{"UNOA hash", "UNOA", "NO#1", "ascii", false, "", "NO#1", []string{"repertoire/21/4@2"}, nil},
		{"UNOB lower case and underscore", "UNOB", "Plain_text", "ascii", false, "", "Plain_text", nil, nil},
		{"UNOB hash", "UNOB", "No#1", "ascii", false, "", "No#1", []string{"repertoire/21/4@2"}, nil},
		{"UNOC", "UNOC", "M\xdcLLER \xa7 \xe9t\xe9", "iso-8859-1", false, "", "MÜLLER § été", nil, nil},
		{"UNOC control character", "UNOC", "A\x07B", "iso-8859-1", false, "", "A\aB", []string{"repertoire/21/4@1"}, nil},
		{"UNOC C1 control", "UNOC", "A\x85B", "iso-8859-1", false, "", "A\u0085B", []string{"repertoire/21/4@1"}, nil},
		{"UNOD", "UNOD", "\xa3\xf3d\xbc", "iso-8859-2", false, "", "Łódź", nil, nil},
		{"UNOE", "UNOE", "\xbc\xde\xe1\xda\xd2\xd0", "iso-8859-5", false, "", "Москва", nil, nil},
		{"UNOF", "UNOF", "\xc1\xe8\xde\xed\xe1", "iso-8859-7", false, "", "Αθήνα", nil, nil},
		{"UNOI undefined byte", "UNOI", "A\xa1B", "iso-8859-6", false, "", "A\ufffdB", []string{"encoding/21/4@1"}, nil},
		{"UNOK", "UNOK", "\xddSTANBUL", "iso-8859-9", false, "", "İSTANBUL", nil, nil},
		{"UNOL euro", "UNOL", "5 \xa4", "iso-8859-15", false, "", "5 €", nil, nil},
		{"UNOW", "UNOW", "Łódź 東京", "utf-8", false, "", "Łódź 東京", nil, nil},
		{"UNOY", "UNOY", "Łódź", "utf-8", false, "", "Łódź", nil, nil},
		{"UNOW invalid UTF-8", "UNOW", "caf\xe9", "utf-8", false, "", "café", []string{"encoding/21/4@3"}, nil},
		{"UNOW control", "UNOW", "a\tb", "utf-8", false, "", "a\tb", []string{"repertoire/21/4@1"}, nil},
		{"unknown syntax identifier", "XXXX", "Łódź", "utf-8", false, "", "Łódź", []string{"encoding/2/1@-1"}, nil},
		{"override windows-1252", "UNOA", "\x80 5", "windows-1252", false, "windows-1252", "€ 5", nil, nil},
		{"override UNOC", "UNOW", "M\xdcLLER", "iso-8859-1", false, "UNOC", "MÜLLER", nil, nil},
		{"override utf-8", "UNOC", "M\xc3\x9cLLER", "utf-8", false, "utf-8", "MÜLLER", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := charsetInput(tc.id, tc.value)
			res := decodeAll(t, []byte(in), "t.edi", func(d *Decoder) {
				d.StrictCharset = tc.strict
				d.Charset = tc.override
			})
			if len(res.msgs) != 1 {
				t.Fatalf("%d messages, errors %v", len(res.msgs), errStrings(res.errs))
			}
			m := res.msgs[0]
			if got := m.Segments[1].Element(4).Value(); got != tc.want {
				t.Errorf("FTX04 = %q, want %q", got, tc.want)
			}
			if m.Envelope.Charset != tc.charset {
				t.Errorf("charset %q, want %q", m.Envelope.Charset, tc.charset)
			}
			key := func(es []*ParseError) []string {
				var out []string
				for _, e := range es {
					k := strings.SplitN(errKey(e), "@", 2)[0] + "/" + strings.SplitN(errKey(e), "/", 3)[1] + "/" +
						strconv.Itoa(e.Element) + "@" + strconv.Itoa(int(e.Offset)-at)
					if e.Tag == "UNB" {
						k = strings.SplitN(errKey(e), "@", 2)[0] + "/" + strconv.Itoa(int(e.Code)) + "/" + strconv.Itoa(e.Element) + "@-1"
					}
					out = append(out, k)
				}
				return out
			}
			if diff := cmp.Diff(tc.warns, key(res.warns), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.warns), "\n"))
			}
			if diff := cmp.Diff(tc.errs, key(res.errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, strings.Join(errStrings(res.errs), "\n"))
			}
			for _, e := range append(res.warns, res.errs...) {
				checkPlaced(t, e, "t.edi", int64(len(in)))
			}
			for _, e := range res.errs {
				if !e.RecordLevel() {
					t.Errorf("%v: a character error in a message must be record-level", e)
				}
			}
		})
	}
}

// Offsets of character problems point at the byte in the input, through
// release characters and line breaks that are not in the value.
func TestCharsetOffsets(t *testing.T) {
	in := "UNB+UNOA:3+S+R+240115:1200+X'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A?+B??\r\nC?'\nD:x'UNT+3+1'UNZ+1+X'"
	res := decodeAll(t, []byte(in), "t.edi")
	if len(res.errs) > 0 || len(res.warns) != 1 {
		t.Fatalf("errors %v, warnings %v", errStrings(res.errs), errStrings(res.warns))
	}
	w := res.warns[0]
	if want := int64(strings.Index(in, "x'")); w.Offset != want || w.Element != 4 || w.Component != 2 || w.Line != 1 {
		t.Errorf("warning %v at %d (element %d component %d, line %d); want offset %d, FTX04 component 2", w, w.Offset, w.Element, w.Component, w.Line, want)
	}
	if got := res.msgs[0].Segments[1].Element(4); !cmp.Equal(got[0], []string{"A+B?C'D", "x"}) {
		t.Errorf("FTX04 = %q", got)
	}
}

// An unknown Charset setting is a fatal error before the first segment.
func TestCharsetSettingUnknown(t *testing.T) {
	for _, name := range []string{"klingon", "utf-16", "shift_jis"} {
		res := decodeAll(t, []byte(charsetInput("UNOA", "X")), "t.edi", func(d *Decoder) { d.Charset = name })
		if len(res.msgs) != 0 || len(res.errs) != 1 || !res.errs[0].Fatal() || !errors.Is(res.errs[0], ErrEncoding) {
			t.Errorf("%s: messages %d, errors %v", name, len(res.msgs), errStrings(res.errs))
		}
	}
	for _, name := range []string{"UTF-8", "unoc", "latin1", "ISO-8859-2", "windows-1250"} {
		res := decodeAll(t, []byte(charsetInput("UNOA", "X")), "t.edi", func(d *Decoder) { d.Charset = name })
		if len(res.msgs) != 1 || len(res.errs) != 0 {
			t.Errorf("%s: messages %d, errors %v", name, len(res.msgs), errStrings(res.errs))
		}
	}
}
