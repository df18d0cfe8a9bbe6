package x12

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"legacybridge"
)

// heapPeak decodes a generated stream of n 856 sets and returns the highest
// HeapInuse and Sys seen (sampled every 1000 sets) and the count decoded.
func heapPeak(t testing.TB, r io.Reader) (inuse, sys uint64, n int) {
	runtime.GC()
	var ms runtime.MemStats
	d := NewDecoder(r)
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if tx == nil {
			t.Fatal("nil transaction without error")
		}
		n++
		if n%1000 == 0 {
			runtime.ReadMemStats(&ms)
			inuse = max(inuse, ms.HeapInuse)
			sys = max(sys, ms.Sys)
		}
	}
	return inuse, sys, n
}

// Memory must not grow with input size: the peak heap for 4N transaction sets
// stays within a small constant of the peak for N. Holding every set (or
// even just the input bytes) would add megabytes.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 16 MB")
	}
	const n = 25000
	for _, oneLine := range []bool{false, true} {
		small, _, c1 := heapPeak(t, &gen856{n: n, oneLine: oneLine})
		large, _, c4 := heapPeak(t, &gen856{n: 4 * n, oneLine: oneLine})
		if c1 != n || c4 != 4*n {
			t.Fatalf("decoded %d and %d sets", c1, c4)
		}
		t.Logf("oneLine=%v: peak HeapInuse %d KiB for %d sets, %d KiB for %d", oneLine, small>>10, n, large>>10, 4*n)
		const slack = 4 << 20 // GC pacing noise; 4N more input is ~12 MB, 75000 more sets ~150 MB decoded
		if large > small+slack {
			t.Errorf("oneLine=%v: peak HeapInuse grew from %d to %d bytes between %d and %d sets", oneLine, small, large, n, 4*n)
		}
	}
}

// A long single-line input with a segment larger than bufio.Scanner's 64 KiB
// token limit and the I/O buffer.
func TestLongSegment(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~GS*PO*S*R*20240115*1200*1*X*004010~ST*850*0001~MSG*")
	long := bytes.Repeat([]byte("ABCDEFGHIJ"), 30000) // 300 KB
	b.Write(long)
	b.WriteString("~BIN*200000*")
	bin := bytes.Repeat([]byte("~\n*>"), 50000)
	b.Write(bin)
	b.WriteString("~SE*4*0001~GE*1*1~IEA*1*000000001~")
	res := decodeAll(t, b.Bytes(), "long")
	if len(res.errs) > 0 || len(res.txs) != 1 {
		t.Fatalf("txs %d errors %v", len(res.txs), errStrings(res.errs))
	}
	segs := res.txs[0].Segments
	if got := segs[1].Element(1).Value(); got != string(long) {
		t.Errorf("MSG01 has %d bytes, want %d", len(got), len(long))
	}
	if got := segs[2].Element(2).Value(); got != string(bin) {
		t.Errorf("BIN02 has %d bytes, want %d", len(got), len(bin))
	}
	// A limit applies.
	d := NewDecoder(bytes.NewReader(b.Bytes()))
	d.MaxSegment = 100000
	for {
		_, err := d.Decode()
		if err == io.EOF {
			t.Fatal("no error for a segment over MaxSegment")
		}
		if err != nil {
			break
		}
	}
}

// Test500MB parses a generated ~500 MB stream (never written to disk) and
// logs throughput and peak memory. Run with LEGACYBRIDGE_X12_LARGE=1 (or
// =<number of sets>) and -v.
func Test500MB(t *testing.T) {
	env := os.Getenv("LEGACYBRIDGE_X12_LARGE")
	if env == "" {
		t.Skip("set LEGACYBRIDGE_X12_LARGE=1 to parse a generated 500 MB stream")
	}
	n := 3_070_000 // 163 bytes a set
	if v, err := strconv.Atoi(env); err == nil && v > 1 {
		n = v
	}
	g := &gen856{n: n}
	cr := &countingReader{r: g}
	start := time.Now()
	inuse, sys, got := heapPeak(t, bufio.NewReaderSize(cr, 1<<16))
	el := time.Since(start)
	if got != n {
		t.Fatalf("decoded %d sets, want %d", got, n)
	}
	t.Logf("%d sets, %d MB in %v (%.0f MB/s); peak HeapInuse %.1f MiB, peak Sys %.1f MiB",
		n, cr.n/1e6, el.Round(time.Millisecond), float64(cr.n)/1e6/el.Seconds(), float64(inuse)/(1<<20), float64(sys)/(1<<20))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// MaxSegment holds for segments that fit the I/O buffer too, on the fast
// path (single-byte delimiters) and the general one (a multi-byte
// terminator), terminated or not.
func TestMaxSegmentShort(t *testing.T) {
	const limit = 40 // the GS is 35 bytes
	// seg is a segment of n bytes (without terminator).
	seg := func(n int) string { return "N9*" + strings.Repeat("A", n-3) }
	for _, tc := range []struct {
		name string
		term string
		last bool // the segment is the unterminated last one
	}{{"fast", "~", false}, {"multi-byte terminator", "…", false}, {"unterminated", "~", true}} {
		for _, n := range []int{limit, limit + 1} {
			in := testISA + "GS*PO*S*R*20240115*1200*1*X*004010~ST*850*1~" + seg(n) + "~SE*3*1~GE*1*1~IEA*1*000000001~"
			if tc.last {
				in = testISA + seg(n)
			}
			in = strings.ReplaceAll(in, "~", tc.term)
			d := NewDecoderName(strings.NewReader(in), "m.edi")
			d.MaxSegment = limit
			var tooLong bool
			for i := 0; i < 20; i++ {
				_, err := d.Decode()
				if err == io.EOF {
					break
				}
				if err != nil && strings.Contains(err.Error(), "segment longer than 40 bytes") {
					tooLong = true
				}
			}
			if tooLong != (n > limit) {
				t.Errorf("%s: %d-byte segment with MaxSegment %d: too long = %v", tc.name, n, limit, tooLong)
			}
		}
	}
}

// Transactions share slabs, yet appending to one's segments or elements
// never changes another's.
func TestSlabsIsolated(t *testing.T) {
	d := NewDecoder(&gen856{n: 50})
	var txs []*Transaction
	var want []string
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
		b, _ := json.Marshal(tx)
		want = append(want, string(b))
	}
	for _, tx := range txs {
		tx.Segments = append(tx.Segments, legacybridge.Segment{Tag: "ZZ"})
		tx.Segments[0].Elements = append(tx.Segments[0].Elements, legacybridge.Element{{"Z"}})
		tx.Segments[1].Elements[0] = append(tx.Segments[1].Elements[0], []string{"Z"})
		tx.Segments[1].Elements[0][0] = append(tx.Segments[1].Elements[0][0], "Z")
	}
	for i, tx := range txs {
		tx.Segments = tx.Segments[:len(tx.Segments)-1]
		tx.Segments[0].Elements = tx.Segments[0].Elements[:len(tx.Segments[0].Elements)-1]
		tx.Segments[1].Elements[0] = tx.Segments[1].Elements[0][:1]
		tx.Segments[1].Elements[0][0] = tx.Segments[1].Elements[0][0][:1]
		b, _ := json.Marshal(tx)
		if string(b) != want[i] {
			t.Fatalf("transaction %d changed by appends to others:\n got %s\nwant %s", i, b, want[i])
		}
	}
}

// A transaction set longer than a slab gets its own array; the sets around
// it keep theirs.
func TestLongTransactionBetweenShort(t *testing.T) {
	var b strings.Builder
	b.WriteString(testISA + "GS*PO*S*R*20240115*1200*1*X*004010~")
	sizes := []int{3, 700, 3, 300, 250, 3}
	for i, n := range sizes {
		c := strconv.Itoa(i + 1)
		b.WriteString("ST*850*" + c + "~")
		for j := 0; j < n-2; j++ {
			b.WriteString("N9*" + c + "*" + strconv.Itoa(j) + "~")
		}
		b.WriteString("SE*" + strconv.Itoa(n) + "*" + c + "~")
	}
	b.WriteString("GE*" + strconv.Itoa(len(sizes)) + "*1~IEA*1*000000001~")
	res := decodeAll(t, []byte(b.String()), "long")
	if len(res.errs) > 0 || len(res.txs) != len(sizes) {
		t.Fatalf("%d transactions, errors %v", len(res.txs), errStrings(res.errs))
	}
	for i, tx := range res.txs {
		c := strconv.Itoa(i + 1)
		if len(tx.Segments) != sizes[i] || tx.Segments[0].Element(2).Value() != c {
			t.Fatalf("transaction %d: %d segments, ST02 %q", i, len(tx.Segments), tx.Segments[0].Element(2).Value())
		}
		for j, s := range tx.Segments[1 : len(tx.Segments)-1] {
			if s.Tag != "N9" || s.Element(1).Value() != c || s.Element(2).Value() != strconv.Itoa(j) {
				t.Fatalf("transaction %d segment %d = %s %v", i, j+1, s.Tag, s.Elements)
			}
		}
	}
}
