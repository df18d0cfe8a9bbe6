package edifact

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"legacybridge"
)

// fuzzSeeds are inputs every fuzz target starts from, besides the shared
// cases, the corpus and testdata.
var fuzzSeeds = []string{
	testUNA + testUNB + msg1 + "UNZ+1+REF1'",
	"UNA:+.?*'UNB+UNOC:4+S+R+20240115:1200+X'UNG+ORDERS+S+R+20240115:1200+G+UN+D:96A'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A??'B???'C*D:E?*F'UNT+3+1'UNE+1+G'UNZ+1+X'\r\n\x1a\x00",
	"UNB\x1dUNOB\x1f4\x1dS\x1dR\x1d20240115\x1f1200\x1dB\x1cUNH\x1d1\x1dX\x1fD\x1f1\x1fUN\x1cUNT\x1d2\x1d1\x1cUNZ\x1d1\x1dB\x1c",
	"UNA=*.! ~UNB*UNOA=3*S*R*1=1*A~UNH*1*X=D=1=UN~UNT*2*1~UNZ*1*A~UNB*UNOA=3*S*R*1=1*B~UNZ*0*B~",
	"UNH+1+ORDERS:D:96A:UN'BGM+220'UNT+2+1'",
	"\xef\xbb\xbfUNB+UNOW:4+S+R+1:1+X'UNH+1+X:D:1:UN'FTX+++\xc3\x28\xe6\x97\xa5'UNT+2+1'UNZ+1+X'",
	"UNA:+.? '\nUNB+UNOA:3+S+R+1:1+X'\nUNH+1\n+X:D:1:UN'\n  \t\nBGM+1?\n'2'UNT+3+1'UNZ+1+X'   '",
}

// fuzzAdd seeds f with fuzzSeeds, the shared EDIFACT cases and corpus files,
// and testdata/*.edi.
func fuzzAdd(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.edi"))
	dir := os.Getenv("LEGACYBRIDGE_SHARED")
	if dir == "" {
		dir = findShared()
	}
	if dir != "" {
		cases, _ := filepath.Glob(filepath.Join(dir, "cases", "parsers", "inputs", "*_edifact_*.edi"))
		files = append(files, cases...)
		for _, name := range []string{"invoic_d97b_una.edi", "orders-with-group.edi"} {
			files = append(files, filepath.Join(dir, "corpus", "xlate__staedi", "src__test__resources__EDIFACT__"+name))
		}
	}
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecoder feeds arbitrary input to the Decoder: it must never panic,
// must reach io.EOF, every offset it reports must lie inside the input,
// every error and warning must name its segment, byte offset, CONTRL code
// and level, and messages must not share or lose segments.
func FuzzDecoder(f *testing.F) {
	fuzzAdd(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		d := NewDecoderName(bytes.NewReader(data), "fuzz")
		d.Warn = func(e *ParseError) { checkPlaced(t, e, "fuzz", size) }
		var msgs []*Message
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatal("decoder does not reach io.EOF")
			}
			msg, err := d.Decode()
			if err == io.EOF {
				if msg != nil {
					t.Fatal("message with io.EOF")
				}
				break
			}
			if msg != nil {
				if msg.Pos.Offset < 0 || msg.Pos.Offset >= size {
					t.Fatalf("message offset %d outside input of %d bytes", msg.Pos.Offset, size)
				}
				if len(msg.Segments) == 0 || msg.Segments[0].Tag != "UNH" {
					t.Fatalf("message does not start with UNH: %v", msg.Segments)
				}
				for _, s := range msg.Segments {
					if validTag(s.Tag) && !tagAt(data, s.Offset, s.Tag) {
						t.Fatalf("segment %d (%q) offset %d does not point at its tag", s.Number, s.Tag, s.Offset)
					}
				}
				msgs = append(msgs, msg)
			}
			if err != nil {
				var list ErrorList
				var pe *ParseError
				switch {
				case errors.As(err, &list):
				case errors.As(err, &pe):
					list = ErrorList{pe}
				default:
					t.Fatalf("error %v (%T) is not a *ParseError", err, err)
				}
				for _, e := range list {
					checkPlaced(t, e, "fuzz", size)
					if e.RecordLevel() && msg == nil {
						t.Fatalf("record-level error without a message: %v", e)
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		}
		// Later messages did not overwrite earlier ones (slabs).
		for _, m := range msgs {
			if m.Segments[0].Tag != "UNH" || m.Segments[0].Offset != m.Pos.Offset {
				t.Fatalf("message at %d was overwritten: starts with %q at %d", m.Pos.Offset, m.Segments[0].Tag, m.Segments[0].Offset)
			}
			for _, s := range m.Segments {
				if validTag(s.Tag) && !tagAt(data, s.Offset, s.Tag) {
					t.Fatalf("segment %d (%q) at %d was overwritten", s.Number, s.Tag, s.Offset)
				}
			}
		}
		sameTokens(t, data)
	})
}

// FuzzTokenizer checks the tokenizer alone: it ends, a fatal error is
// sticky, offsets grow, and the values it returns survive a round trip:
// written again with release characters before every service character,
// in a UTF-8 interchange, they read back the same.
func FuzzTokenizer(f *testing.F) {
	fuzzAdd(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		tok := NewTokenizer(bytes.NewReader(data))
		tok.Name = "fuzz"
		tok.Warn = func(e *ParseError) {
			if e.Level == 0 {
				e.Level = LevelInterchange // stamped by the decoder
			}
			checkPlaced(t, e, "fuzz", size)
		}
		var segs []legacybridge.Segment
		last := int64(-1)
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatal("tokenizer does not reach io.EOF")
			}
			seg, err := tok.NextSegment()
			if err == io.EOF {
				break
			}
			if seg.Offset < 0 || seg.Offset > size || tok.Offset() > size {
				t.Fatalf("offset outside input")
			}
			if seg.Number > 0 && seg.Offset <= last {
				t.Fatalf("segment %d at %d, not after the previous one at %d", seg.Number, seg.Offset, last)
			}
			if seg.Number > 0 {
				last = seg.Offset
			}
			var pe *ParseError
			if err != nil && errors.As(err, &pe) {
				if pe.Level == 0 {
					pe.Level = LevelInterchange
				}
				checkPlaced(t, pe, "fuzz", size)
				if pe.Fatal() {
					if _, again := tok.NextSegment(); again != err {
						t.Fatalf("fatal error not sticky")
					}
					break
				}
			}
			if err == nil && validTag(seg.Tag) && !serviceTag(seg.Tag) {
				segs = append(segs, seg)
			}
		}
		roundTrip(t, segs)
	})
}

// roundTrip writes data segments again with the level A service characters
// and a repetition separator, releasing every service character in values,
// and checks that they read back the same.
func roundTrip(t *testing.T, segs []legacybridge.Segment) {
	t.Helper()
	if len(segs) == 0 {
		return
	}
	esc := strings.NewReplacer("?", "??", "+", "?+", ":", "?:", "*", "?*", "'", "?'")
	var b strings.Builder
	b.WriteString("UNA:+.?*'UNB+UNOW:4+S+R+20240115:1200+X'")
	var want []string
	for _, s := range segs {
		if hasBreak(s) {
			continue // a line break in a value (CR or LF was a delimiter) cannot be written back
		}
		b.WriteString(s.Tag)
		for _, e := range s.Elements {
			b.WriteByte('+')
			for ri, r := range e {
				if ri > 0 {
					b.WriteByte('*')
				}
				for ci, c := range r {
					if ci > 0 {
						b.WriteByte(':')
					}
					b.WriteString(esc.Replace(c))
				}
			}
		}
		b.WriteByte('\'')
		want = append(want, s.Tag+"="+renderElems(s.Elements))
	}
	b.WriteString("UNZ+0+X'")
	back, errs := allSegments(t, []byte(b.String()))
	for _, e := range errs {
		if !errors.Is(e, ErrRepertoire) {
			t.Fatalf("round trip: %v in %q", e, b.String())
		}
	}
	var got []string
	for _, s := range back[2 : len(back)-1] {
		got = append(got, s.Tag+"="+renderElems(s.Elements))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round trip (-first read +second read):\n%s", diff)
	}
}

func hasBreak(s legacybridge.Segment) bool {
	for _, e := range s.Elements {
		for _, r := range e {
			for _, c := range r {
				if strings.ContainsAny(c, "\r\n") {
					return true
				}
			}
		}
	}
	return false
}

// sameTokens tokenizes data twice, reading segments in place from the I/O
// buffer and always through a copy, and fails the test if any segment,
// error, offset or line differs.
func sameTokens(t *testing.T, data []byte) {
	t.Helper()
	type step struct {
		Seg    legacybridge.Segment
		Err    string
		Line   int
		Offset int64
	}
	run := func(noFast bool) []step {
		tok := NewTokenizer(bytes.NewReader(data))
		tok.noFast = noFast
		var out []step
		for i := 0; i <= len(data)+10; i++ {
			seg, err := tok.NextSegment()
			s := step{Seg: seg, Line: tok.Line(), Offset: tok.Offset()}
			if err != nil {
				s.Err = err.Error()
			}
			out = append(out, s)
			if err == io.EOF {
				return out
			}
			var pe *ParseError
			if err != nil && errors.As(err, &pe) && pe.Fatal() {
				return out
			}
		}
		t.Fatal("tokenizer does not end")
		return nil
	}
	general, fast := run(true), run(false)
	if reflect.DeepEqual(general, fast) { // cmp.Diff is slow on thousands of segments
		return
	}
	if diff := cmp.Diff(general, fast); diff != "" {
		t.Fatalf("in-place reading differs (-copy +in place):\n%s", diff)
	}
}

// Reading in place agrees with reading through a copy on every test input,
// and on inputs that move segment boundaries across the I/O buffer.
func TestInPlaceSameTokens(t *testing.T) {
	inputs := map[string][]byte{}
	for _, s := range fuzzSeeds {
		inputs[strconv.Quote(s[:min(len(s), 30)])] = []byte(s)
	}
	for _, path := range edifactCorpusFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(path)] = b
	}
	big, err := io.ReadAll(&genORDERS{n: 300})
	if err != nil {
		t.Fatal(err)
	}
	inputs["genORDERS"] = big
	// Every alignment of a segment (with release characters and a line
	// break) against the 64 KiB buffer.
	pad := strings.Repeat("FTX+AAI+++"+strings.Repeat("Z", 37)+"?'?+\r\n'", ioBufferSize/52)
	for shift := range 60 {
		inputs["shift "+strconv.Itoa(shift)] = []byte(testUNA + testUNB + "UNH+1+ORDERS:D:96A:UN'" +
			strings.Repeat(" ", shift) + pad + "UNT+2+1'UNZ+1+REF1'")
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) { sameTokens(t, data) })
	}
}

// The round trip holds for the inputs of the cases and the corpus.
func TestRoundTrip(t *testing.T) {
	var files []string
	files = append(files, edifactCorpusFiles(t)...)
	local, _ := filepath.Glob(filepath.Join("testdata", "*.edi"))
	files = append(files, local...)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		segs, _ := allSegments(t, data)
		var data2 []legacybridge.Segment
		for _, s := range segs {
			if validTag(s.Tag) && !serviceTag(s.Tag) {
				data2 = append(data2, s)
			}
		}
		t.Run(filepath.Base(path), func(t *testing.T) { roundTrip(t, data2) })
	}
}
