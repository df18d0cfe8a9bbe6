package x12

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"legacybridge"
)

// sharedDir finds the shared read-only material: $LEGACYBRIDGE_SHARED, else a
// "shared" folder next to one of the package's parent directories.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LEGACYBRIDGE_SHARED"); d != "" {
		return d
	}
	if d := findShared(); d != "" {
		return d
	}
	t.Skip("shared test material not found: set LEGACYBRIDGE_SHARED to the folder holding corpus/ and cases/")
	return ""
}

func caseInput(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "cases", "parsers", "inputs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is everything a Decoder returned for one input.
type result struct {
	txs  []*Transaction
	errs []*ParseError
}

// decodeAll decodes until io.EOF, collecting transactions and errors. It fails
// the test if the decoder does not end.
func decodeAll(t testing.TB, data []byte, name string) result {
	t.Helper()
	var res result
	d := NewDecoderName(bytes.NewReader(data), name)
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatalf("%s: decoder does not reach io.EOF", name)
		}
		tx, err := d.Decode()
		if err == io.EOF {
			if tx != nil {
				t.Fatalf("%s: transaction returned with io.EOF", name)
			}
			return res
		}
		if tx != nil {
			res.txs = append(res.txs, tx)
		}
		if err != nil {
			res.errs = append(res.errs, flatten(t, err)...)
		}
	}
}

func flatten(t testing.TB, err error) []*ParseError {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	return []*ParseError{pe}
}

// allSegments tokenizes the whole input.
func allSegments(t testing.TB, data []byte) ([]legacybridge.Segment, []*ParseError) {
	t.Helper()
	var segs []legacybridge.Segment
	var errs []*ParseError
	tok := NewTokenizer(bytes.NewReader(data))
	for i := 0; ; i++ {
		if i > len(data)+10 {
			t.Fatal("tokenizer does not reach io.EOF")
		}
		seg, err := tok.NextSegment()
		if err == io.EOF {
			return segs, errs
		}
		if err != nil {
			errs = append(errs, flatten(t, err)...)
			if errs[len(errs)-1].Fatal() {
				return segs, errs
			}
		}
		if seg.Tag != "" {
			segs = append(segs, seg)
		}
	}
}

func tags(segs []legacybridge.Segment) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s.Tag
	}
	return out
}

// values returns each element's simple value, failing on composites or
// repetitions so that a wrongly split value cannot pass unnoticed.
func values(t testing.TB, s legacybridge.Segment) []string {
	t.Helper()
	out := make([]string, len(s.Elements))
	for i, e := range s.Elements {
		if len(e) != 1 || len(e[0]) != 1 {
			t.Errorf("%s%02d = %v: want a simple value", s.Tag, i+1, e)
		}
		out[i] = e.Value()
	}
	return out
}

func findSeg(t testing.TB, segs []legacybridge.Segment, tag string, nth int) legacybridge.Segment {
	t.Helper()
	for _, s := range segs {
		if s.Tag == tag {
			if nth == 0 {
				return s
			}
			nth--
		}
	}
	t.Fatalf("no %s segment (#%d)", tag, nth)
	return legacybridge.Segment{}
}

// checkPlaces asserts that every segment's offset points at its tag in the
// input, and that no value carries a line break unless it is BIN data.
func checkPlaces(t testing.TB, data []byte, segs []legacybridge.Segment) {
	t.Helper()
	for _, s := range segs {
		if !tagAt(data, s.Offset, s.Tag) {
			t.Errorf("segment %d (%s): offset %d does not point at its tag", s.Number, s.Tag, s.Offset)
		}
		if s.Tag == "BIN" {
			continue
		}
		for i, e := range s.Elements {
			for _, r := range e {
				for _, c := range r {
					if strings.ContainsAny(c, "\r\n") {
						t.Errorf("%s%02d = %q contains a line break", s.Tag, i+1, c)
					}
				}
			}
		}
	}
}

// tagAt reports whether the input holds tag at off, line breaks aside (a
// wrapped file may break a line inside a tag).
func tagAt(data []byte, off int64, tag string) bool {
	if off < 0 || off >= int64(len(data)) {
		return false
	}
	got := make([]byte, 0, len(tag))
	for _, c := range data[off:] {
		if len(got) == len(tag) {
			break
		}
		if c != '\r' && c != '\n' {
			got = append(got, c)
		}
	}
	return string(got) == tag
}

func errStrings(errs []*ParseError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// gen856 generates the input of cases/parsers/inputs/16_gen_large_856.py: one
// ISA/GS with n small 856 transaction sets (163 bytes, 11 segments each, one
// line per segment), or the same without line breaks. It never holds more
// than one transaction set in memory.
type gen856 struct {
	n       int
	oneLine bool

	i     int
	stage int
	buf   []byte
	pend  []byte
}

func (g *gen856) line(parts ...string) {
	for _, p := range parts {
		g.buf = append(g.buf, p...)
	}
	if !g.oneLine {
		g.buf = append(g.buf, '\n')
	}
}

func (g *gen856) Read(p []byte) (int, error) {
	for len(g.pend) == 0 {
		g.buf = g.buf[:0]
		switch {
		case g.stage == 0:
			g.line("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~")
			g.line("GS*SH*SENDERID*RECEIVERID*20240115*1200*1*X*004010~")
			g.stage = 1
		case g.i < g.n:
			// Several sets per refill; "%09d" without fmt.
			for k := 0; k < 64 && g.i < g.n; k++ {
				g.i++
				var d [9]byte
				for j, v := 8, g.i; j >= 0; j-- {
					d[j] = byte('0' + v%10)
					v /= 10
				}
				c := string(d[:])
				g.line("ST*856*", c, "~")
				g.line("BSN*00*SHIP", c, "*20240115*1200~")
				g.line("HL*1**S~")
				g.line("TD1*CTN*1~")
				g.line("HL*2*1*O~")
				g.line("PRF*PO", c, "~")
				g.line("HL*3*2*I~")
				g.line("LIN**BP*ITEM-A~")
				g.line("SN1**10*EA~")
				g.line("CTT*1~")
				g.line("SE*11*", c, "~")
			}
		case g.stage == 1:
			g.line("GE*", strconv.Itoa(g.n), "*1~")
			g.line("IEA*1*000000001~")
			g.stage = 2
		default:
			return 0, io.EOF
		}
		g.pend = g.buf
	}
	n := copy(p, g.pend)
	g.pend = g.pend[n:]
	return n, nil
}
