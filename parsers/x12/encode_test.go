package x12

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// decodeClean decodes in, failing the test on any error.
func decodeClean(t *testing.T, in []byte, name string) []*Transaction {
	t.Helper()
	d := NewDecoderName(bytes.NewReader(in), name)
	var out []*Transaction
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		out = append(out, tx)
	}
}

// comparable strips what encoding changes (offsets, segment numbers,
// delimiters, positions) from decoded sets.
type plainSet struct {
	Env  Envelope
	Segs []plainSeg
}
type plainSeg struct {
	Tag   string
	Elems []legacybridge.Element
}

func plain(txs []*Transaction) []plainSet {
	out := make([]plainSet, len(txs))
	for i, tx := range txs {
		env := tx.Envelope
		env.Delimiters = Delimiters{}
		out[i].Env = env
		for _, s := range tx.Segments {
			out[i].Segs = append(out[i].Segs, plainSeg{s.Tag, s.Elements})
		}
	}
	return out
}

func hasError(in []byte) bool {
	d := NewDecoder(bytes.NewReader(in))
	for {
		_, err := d.Decode()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
	}
}

// TestEncodeRoundTrip decodes corpus and case files, encodes every set
// with the file's own and with other delimiters, and decodes the result:
// the same sets must come out, without an error.
func TestEncodeRoundTrip(t *testing.T) {
	shared := sharedDir(t)
	n := 0
	for _, rel := range goldenInputs {
		data, err := os.ReadFile(filepath.Join(shared, rel))
		if err != nil {
			t.Fatal(err)
		}
		if hasError(data) {
			continue // a broken file: not the writer's business
		}
		n++
		t.Run(filepath.Base(rel), func(t *testing.T) {
			txs := decodeClean(t, data, rel)
			if len(txs) == 0 {
				t.Skip("no transaction sets")
			}
			own := txs[0].Envelope.Delimiters
			for _, d := range []struct {
				name   string
				delims Delimiters
				suffix string
			}{
				{"own", own, ""},
				{"pipe", Delimiters{Element: "|", Component: "\\", Repetition: "^", Segment: "~"}, "\n"},
				{"unicode", Delimiters{Element: "¦", Component: "»", Segment: "§"}, "\r\n"},
			} {
				if d.delims.Repetition != "" && txs[0].Envelope.Version < "00402" {
					d.delims.Repetition = ""
				}
				var buf bytes.Buffer
				enc := NewEncoder(&buf, d.delims)
				enc.Suffix = d.suffix
				var err error
				for _, tx := range txs {
					if err = enc.Encode(tx); err != nil {
						break
					}
				}
				if err == nil {
					err = enc.Close()
				}
				if errors.Is(err, ErrEncode) && d.name != "own" {
					t.Logf("%s: %v", d.name, err) // a value holding one of these delimiters
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", d.name, err)
				}
				again := decodeClean(t, buf.Bytes(), d.name)
				if diff := cmp.Diff(plain(txs), plain(again)); diff != "" {
					t.Errorf("%s: round trip (-decoded +re-encoded):\n%s", d.name, diff)
				}
				if got := again[0].Envelope.Delimiters; got != d.delims {
					t.Errorf("%s: delimiters read back %+v, want %+v", d.name, got, d.delims)
				}
			}
		})
	}
	if n < 5 {
		t.Fatalf("only %d clean inputs", n)
	}
}

func TestEncoderEnvelopes(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Delimiters{Element: "*", Component: ">", Repetition: "^", Segment: "~"})
	enc.Suffix = "\n"
	enc.Controls = &Counter{Interchange: 41, Group: 6}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.BeginInterchange(InterchangeHeader{SenderID: "ME", ReceiverID: "YOU", Date: "240115", Time: "1200", Version: "00501"}))
	must(enc.BeginGroup(GroupHeader{FunctionalID: "PO", AppSender: "ME", AppReceiver: "YOU", Date: "20240115", Time: "1200", Version: "005010"}))
	for range 2 {
		must(enc.BeginSet("850", "", ""))
		must(enc.WriteSegment(legacybridge.Segment{Tag: "BEG", Elements: []legacybridge.Element{{{"00"}}, {{"SA"}}, {{"PO1"}}, {}, {{"20240115"}}}}))
		must(enc.WriteSegment(legacybridge.Segment{Tag: "REF", Elements: []legacybridge.Element{{{"ZZ"}}, {{"A", "B"}, {"C"}}}}))
		must(enc.EndSet())
	}
	must(enc.EndGroup())
	must(enc.EndInterchange())
	must(enc.Flush())
	want := "ISA*00*          *00*          *ZZ*ME             *ZZ*YOU            *240115*1200*^*00501*000000042*0*P*>~\n" +
		"GS*PO*ME*YOU*20240115*1200*7*X*005010~\n" +
		"ST*850*0001~\nBEG*00*SA*PO1**20240115~\nREF*ZZ*A>B^C~\nSE*4*0001~\n" +
		"ST*850*0002~\nBEG*00*SA*PO1**20240115~\nREF*ZZ*A>B^C~\nSE*4*0002~\n" +
		"GE*2*7~\nIEA*1*000000042~\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if hasError(buf.Bytes()) {
		t.Error("the output does not decode cleanly")
	}
}

func TestEncoderErrors(t *testing.T) {
	hdr := InterchangeHeader{SenderID: "ME", ReceiverID: "YOU", Date: "240115", Time: "1200", ControlNumber: "1"}
	grp := GroupHeader{FunctionalID: "PO", AppSender: "ME", AppReceiver: "YOU", Date: "20240115", Time: "1200", ControlNumber: "1", Version: "004010"}
	delims := Delimiters{Element: "*", Component: ">", Segment: "~"}
	tests := []struct {
		name string
		run  func(e *Encoder) error
		want string
	}{
		{"value with element separator", func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginGroup(grp)
			e.BeginSet("850", "0001", "")
			return e.WriteSegment(legacybridge.Segment{Tag: "N1", Elements: []legacybridge.Element{{{"ST"}}, {{"ACME*CO"}}}})
		}, `x12: encoder: segment 4 (N1) element N102 value "ACME*CO" holds the element separator "*", which X12 cannot escape: cannot encode`},
		{"value with terminator", func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginGroup(grp)
			e.BeginSet("850", "0001", "")
			return e.WriteSegment(legacybridge.Segment{Tag: "MSG", Elements: []legacybridge.Element{{{"a~b"}}}})
		}, `x12: encoder: segment 4 (MSG) element MSG01 value "a~b" holds the segment terminator "~", which X12 cannot escape: cannot encode`},
		{"sender too long", func(e *Encoder) error {
			h := hdr
			h.SenderID = "SIXTEEN-CHARS-ID"
			return e.BeginInterchange(h)
		}, `x12: encoder: ISA06 "SIXTEEN-CHARS-ID" must be at most 15 characters: cannot encode`},
		{"no control number", func(e *Encoder) error {
			h := hdr
			h.ControlNumber = ""
			return e.BeginInterchange(h)
		}, `x12: encoder: ISA13 is empty and the Encoder has no ControlNumbers: cannot encode`},
		{"repetitions without separator", func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginGroup(grp)
			e.BeginSet("850", "0001", "")
			return e.WriteSegment(legacybridge.Segment{Tag: "REF", Elements: []legacybridge.Element{{{"A"}, {"B"}}}})
		}, `x12: encoder: segment 4 (REF) element REF01 has 2 repetitions and the delimiters have no repetition separator: cannot encode`},
		{"SE via WriteSegment", func(e *Encoder) error {
			e.BeginInterchange(hdr)
			e.BeginGroup(grp)
			e.BeginSet("850", "0001", "")
			return e.WriteSegment(legacybridge.Segment{Tag: "SE"})
		}, `x12: encoder: segment SE is written by the Encoder itself, not WriteSegment: cannot encode`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEncoder(io.Discard, delims)
			err := tc.run(e)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrEncode) {
				t.Error("not ErrEncode")
			}
			if e.Flush() == nil {
				t.Error("error is not sticky")
			}
		})
	}
	if err := NewEncoder(io.Discard, Delimiters{Element: "*", Component: "*", Segment: "~"}).Flush(); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("same delimiter twice: %v", err)
	}
}
