package x12

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

// FuzzDecoder feeds arbitrary input to the Decoder: it must never panic,
// must reach io.EOF, every offset it reports must lie inside the input, and
// every error (and warning) must name its segment and byte offset.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*^*00501*000000001*0*P*:~GS*PO*S*R*20240115*1200*1*X*005010~ST*850*0001~BIN*3*a~b~SE*3*0001~GE*1*1~IEA*1*000000001~"))
	f.Add([]byte("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>\nST*850*1\nSE*2*1\n"))
	f.Add([]byte(testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~SE*2*1~GE*1*1~IEA*1*000000001~\r\n\x1a\x00\x00"))
	f.Add([]byte(testISA + "IEA*0*000000001~\x1aGS*PO~\x00" + testISA))
	dir := os.Getenv("LEGACYBRIDGE_SHARED")
	if dir == "" {
		dir = findShared()
	}
	if dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "cases", "parsers", "inputs", "*_x12_*.edi"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		d := NewDecoderName(bytes.NewReader(data), "fuzz")
		d.Warn = func(e *ParseError) { checkPlaced(t, e, "fuzz", size) }
		var txs []*Transaction
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatal("decoder does not reach io.EOF")
			}
			tx, err := d.Decode()
			if err == io.EOF {
				if tx != nil {
					t.Fatal("transaction with io.EOF")
				}
				break
			}
			if tx != nil {
				if tx.Pos.Offset < 0 || tx.Pos.Offset >= size {
					t.Fatalf("transaction offset %d outside input of %d bytes", tx.Pos.Offset, size)
				}
				if len(tx.Segments) == 0 || tx.Segments[0].Tag != "ST" {
					t.Fatalf("transaction does not start with ST: %v", tx.Segments)
				}
				for _, s := range tx.Segments {
					if !tagAt(data, s.Offset, s.Tag) {
						t.Fatalf("segment %d (%q) offset %d does not point at its tag", s.Number, s.Tag, s.Offset)
					}
				}
				txs = append(txs, tx)
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
					if e.Offset < 0 || e.Offset > size {
						t.Fatalf("error offset %d outside input of %d bytes: %v", e.Offset, size, e)
					}
					checkPlaced(t, e, "fuzz", size)
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		}
		// Later transactions did not overwrite earlier ones (slabs).
		for _, tx := range txs {
			if tx.Segments[0].Tag != "ST" || tx.Segments[0].Offset != tx.Pos.Offset {
				t.Fatalf("transaction at %d was overwritten: starts with %q at %d", tx.Pos.Offset, tx.Segments[0].Tag, tx.Segments[0].Offset)
			}
			for _, s := range tx.Segments {
				if !tagAt(data, s.Offset, s.Tag) {
					t.Fatalf("segment %d (%q) at %d was overwritten", s.Number, s.Tag, s.Offset)
				}
			}
		}
		// Its fast path gives what the general path gives.
		sameTokens(t, data)
		// The tokenizer on its own ends too.
		tok := NewTokenizer(bytes.NewReader(data))
		tok.Name = "fuzz"
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
			var pe *ParseError
			if err != nil && errors.As(err, &pe) {
				checkPlaced(t, pe, "fuzz", size)
			}
			if err != nil && errors.As(err, &pe) && pe.Fatal() {
				if _, again := tok.NextSegment(); again != err {
					t.Fatalf("fatal error not sticky")
				}
				break
			}
		}
	})
}

// findShared is sharedDir without a testing.TB, for seeding.
func findShared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "cases", "parsers", "CASES.md")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// sameTokens tokenizes data twice, with and without the fast path, and fails
// the test if any segment, error, offset or line differs.
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
		t.Fatalf("fast path differs (-general +fast):\n%s", diff)
	}
}

// The fast path agrees with the general path on every test input, and on
// inputs that move segment boundaries across the I/O buffer.
func TestFastPathSameTokens(t *testing.T) {
	inputs := map[string][]byte{}
	for _, rel := range goldenInputs {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(rel)] = b
	}
	for _, path := range x12CorpusFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(path)] = b
	}
	big, err := io.ReadAll(&gen856{n: 500})
	if err != nil {
		t.Fatal(err)
	}
	inputs["gen856"] = big
	body := "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~N1*A>B^C>D*X~PO1**~B*~TOOLONG*1~X1~SE*2*1~GE*1*1~IEA*1*000000001~"
	inputs["edge tags and composites"] = []byte(strings.Replace(testISA, "*U*00401*", "*^*00501*", 1) + body + "\r\n\x1a")
	// Every alignment of a segment against the 64 KiB buffer.
	pad := strings.Repeat("N9*XX*"+strings.Repeat("Z", 40)+"~", 64<<10/47)
	for shift := range 50 {
		inputs["shift "+strconv.Itoa(shift)] = []byte(testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~" +
			strings.Repeat(" ", shift) + pad + "SE*2*1~GE*1*1~IEA*1*000000001~")
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) { sameTokens(t, data) })
	}
}
