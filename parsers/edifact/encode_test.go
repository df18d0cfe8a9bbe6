package edifact

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"legacybridge"
)

type plainMsg struct {
	Env  Envelope
	Segs []plainSeg
}
type plainSeg struct {
	Tag   string
	Elems []legacybridge.Element
}

// plainMsgs strips what encoding changes (offsets, segment numbers,
// service characters) from decoded messages.
func plainMsgs(msgs []*Message) []plainMsg {
	out := make([]plainMsg, len(msgs))
	for i, m := range msgs {
		env := m.Envelope
		env.Delimiters = Delimiters{}
		env.InterchangeSegment, env.GroupSegment = 0, 0
		env.unb, env.ung = nil, nil
		out[i].Env = env
		for _, s := range m.Segments {
			out[i].Segs = append(out[i].Segs, plainSeg{s.Tag, s.Elements})
		}
	}
	return out
}

func encodeMsgs(msgs []*Message, d Delimiters, suffix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, d)
	enc.Suffix = suffix
	for _, m := range msgs {
		if err := enc.Encode(m); err != nil {
			return nil, err
		}
	}
	err := enc.Close()
	return buf.Bytes(), err
}

// TestEncodeRoundTrip decodes the clean EDIFACT inputs (testdata and the
// corpus), encodes every message with the file's own and with other
// service characters, and decodes the result: the same messages must come
// out, without an error or warning.
func TestEncodeRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, edifactCorpusFiles(t)...)
	clean := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		res := decodeAll(t, data, path)
		if len(res.errs) > 0 || len(res.warns) > 0 || len(res.msgs) == 0 {
			continue
		}
		clean++
		t.Run(filepath.Base(path), func(t *testing.T) {
			v4 := res.msgs[0].Envelope.SyntaxVersion == "4"
			variants := []struct {
				name   string
				d      Delimiters
				suffix string
			}{
				{"own", res.msgs[0].Envelope.Delimiters, ""},
				{"defaults", Delimiters{Component: ":", Element: "+", Decimal: ".", Release: "?", Segment: "'"}, "\n"},
				{"odd", Delimiters{Component: "^", Element: "|", Decimal: ",", Release: "\\", Segment: "~"}, "\r\n"},
			}
			for _, v := range variants {
				if v.name != "own" && v4 {
					v.d.Repetition = "*"
					if v.name == "odd" {
						v.d.Repetition = "#"
					}
				}
				out, err := encodeMsgs(res.msgs, v.d, v.suffix)
				if err != nil {
					t.Fatalf("%s: %v", v.name, err)
				}
				again := decodeAll(t, out, v.name)
				if len(again.errs) > 0 || len(again.warns) > 0 {
					t.Fatalf("%s: re-encoded input has problems: %v %v\n%s", v.name, errStrings(again.errs), errStrings(again.warns), out)
				}
				if diff := cmp.Diff(plainMsgs(res.msgs), plainMsgs(again.msgs), cmpopts.IgnoreUnexported(Envelope{})); diff != "" {
					t.Errorf("%s: round trip (-decoded +re-encoded):\n%s", v.name, diff)
				}
				if got := again.msgs[0].Envelope.Delimiters; got != v.d {
					t.Errorf("%s: service characters read back %+v, want %+v", v.name, got, v.d)
				}
			}
		})
	}
	if clean < 5 {
		t.Fatalf("only %d clean inputs", clean)
	}
}

func TestEncoderEnvelopes(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Delimiters{Component: ":", Element: "+", Release: "?", Segment: "'"})
	enc.Suffix = "\n"
	enc.Controls = &Counter{Interchange: 99}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.BeginInterchange(InterchangeHeader{SyntaxID: "UNOC", SyntaxVersion: "3", Sender: "ME", SenderQualifier: "14",
		Recipient: "YOU", Date: "240115", Time: "1200"}))
	must(enc.BeginGroup(GroupHeader{ID: "ORDERS", Sender: "ME", Recipient: "YOU", Date: "240115", Time: "1200", Version: "D", Release: "96A"}))
	for range 2 {
		must(enc.BeginMessage("", MessageID{Type: "ORDERS", Version: "D", Release: "96A", Agency: "UN", Association: "EAN008"}, ""))
		must(enc.WriteSegment(legacybridge.Segment{Tag: "BGM", Elements: []legacybridge.Element{{{"220"}}, {{"PO+1:2'3?"}}, {{"9"}}}}))
		must(enc.WriteSegment(legacybridge.Segment{Tag: "FTX", Elements: []legacybridge.Element{{{"AAI"}}, {}, {}, {{"Müller", "Straße"}}}}))
		must(enc.EndMessage())
	}
	must(enc.EndGroup())
	must(enc.EndInterchange())
	must(enc.Flush())
	want := "UNB+UNOC:3+ME:14+YOU+240115:1200+100'\n" +
		"UNG+ORDERS+ME+YOU+240115:1200+1+UN+D:96A'\n" +
		"UNH+1+ORDERS:D:96A:UN:EAN008'\nBGM+220+PO?+1?:2?'3??+9'\nFTX+AAI+++M\xfcller:Stra\xdfe'\nUNT+4+1'\n" +
		"UNH+2+ORDERS:D:96A:UN:EAN008'\nBGM+220+PO?+1?:2?'3??+9'\nFTX+AAI+++M\xfcller:Stra\xdfe'\nUNT+4+2'\n" +
		"UNE+2+1'\nUNZ+1+100'\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	res := decodeAll(t, buf.Bytes(), "out")
	if len(res.errs) > 0 || len(res.warns) > 0 || len(res.msgs) != 2 {
		t.Fatalf("decode: %d messages, %v %v", len(res.msgs), errStrings(res.errs), errStrings(res.warns))
	}
	if got := values(t, res.msgs[0].Segments[1]); !cmp.Equal(got, []string{"220", "PO+1:2'3?", "9"}) {
		t.Errorf("BGM read back %q", got)
	}
	if got := res.msgs[0].Segments[2].Element(4); !cmp.Equal(got, legacybridge.Element{{"Müller", "Straße"}}) {
		t.Errorf("FTX04 read back %q", got)
	}
}

// Non-default service characters get a UNA; syntax version 4 has a
// repetition separator.
func TestEncoderUNA(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Delimiters{Component: ">", Element: "|", Decimal: ",", Release: "!", Repetition: "^", Segment: "~"})
	enc.BeginInterchange(InterchangeHeader{SyntaxID: "UNOW", SyntaxVersion: "4", Sender: "ME", Recipient: "YOU", Date: "20240115", Time: "1200", ControlRef: "7"})
	enc.BeginMessage("M1", MessageID{Type: "DESADV", Version: "D", Release: "01B", Agency: "UN"}, "")
	enc.WriteSegment(legacybridge.Segment{Tag: "RFF", Elements: []legacybridge.Element{{{"ON", "A|B"}, {"CR", "日本"}}}})
	enc.EndMessage()
	enc.EndInterchange()
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "UNA>|,!^~UNB|UNOW>4|ME|YOU|20240115>1200|7~UNH|M1|DESADV>D>01B>UN~RFF|ON>A!|B^CR>日本~UNT|3|M1~UNZ|1|7~"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	res := decodeAll(t, buf.Bytes(), "out")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("decode: %v", errStrings(res.errs))
	}
	if got := res.msgs[0].Segments[1].Element(1); !cmp.Equal(got, legacybridge.Element{{"ON", "A|B"}, {"CR", "日本"}}) {
		t.Errorf("RFF01 read back %q", got)
	}
}

func TestEncoderErrors(t *testing.T) {
	hdr := InterchangeHeader{SyntaxID: "UNOA", Sender: "ME", Recipient: "YOU", Date: "240115", Time: "1200", ControlRef: "1"}
	id := MessageID{Type: "ORDERS", Version: "D", Release: "96A", Agency: "UN"}
	seg := func(v string) legacybridge.Segment {
		return legacybridge.Segment{Tag: "FTX", Elements: []legacybridge.Element{{{"AAI"}}, {{v}}}}
	}
	tests := []struct {
		name   string
		delims Delimiters
		run    func(e *Encoder) error
		want   string
	}{
		{"lower case in UNOA", defaultsA, func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginMessage("1", id, "")
			return e.WriteSegment(seg("abc"))
		}, `edifact: encoder: segment 3 (FTX) element FTX02 value "abc": holds 'a', outside the repertoire of UNOA (upper-case letters, digits, space and ".,-()/=!\"%&*;<>'+:?"): cannot encode`},
		{"not in UNOC", defaultsA, func(e *Encoder) error {
			h := hdr
			h.SyntaxID = "UNOC"
			e.BeginInterchange(h)
			e.BeginMessage("1", id, "")
			return e.WriteSegment(seg("Zoë €"))
		}, `edifact: encoder: segment 3 (FTX) element FTX02 value "Zoë €": holds '€', which UNOC (iso-8859-1) cannot encode: cannot encode`},
		{"no release character", Delimiters{Component: ":", Element: "+", Segment: "'"}, func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginMessage("1", id, "")
			return e.WriteSegment(seg("A+B"))
		}, `edifact: encoder: segment 4 (FTX) element FTX02 value "A+B": holds the service character '+' and the interchange has no release character: cannot encode`},
		{"no reference", defaultsA, func(e *Encoder) error {
			h := hdr
			h.ControlRef = ""
			return e.BeginInterchange(h)
		}, `edifact: encoder: UNB05 (0020) is empty and the Encoder has no ControlRefs: cannot encode`},
		{"repetition before version 4", defaultsA, func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginMessage("1", id, "")
			return e.WriteSegment(legacybridge.Segment{Tag: "RFF", Elements: []legacybridge.Element{{{"A"}, {"B"}}}})
		}, `edifact: encoder: segment 3 (RFF) element RFF01 has 2 repetitions and the interchange has no repetition separator (syntax version 4 has one): cannot encode`},
		{"UNT via WriteSegment", defaultsA, func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginMessage("1", id, "")
			return e.WriteSegment(legacybridge.Segment{Tag: "UNT"})
		}, `edifact: encoder: segment UNT is written by the Encoder itself, not WriteSegment: cannot encode`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEncoder(io.Discard, tc.delims)
			err := tc.run(e)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrEncode) {
				t.Error("not ErrEncode")
			}
		})
	}
	if err := NewEncoder(io.Discard, Delimiters{Component: "+", Element: "+", Segment: "'"}).Flush(); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("same character twice: %v", err)
	}
}
