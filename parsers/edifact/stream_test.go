package edifact

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Memory must not grow with input size: the peak heap for 4N messages stays
// within a small constant of the peak for N. Holding every message (or
// even just the input bytes) would add megabytes.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 27 MB")
	}
	const n = 25000
	small, _, c1 := heapPeak(t, genORDERSStream(n))
	large, _, c4 := heapPeak(t, genORDERSStream(4*n))
	if c1 != n || c4 != 4*n {
		t.Fatalf("decoded %d and %d messages", c1, c4)
	}
	t.Logf("peak HeapInuse %d KiB for %d messages, %d KiB for %d", small>>10, n, large>>10, 4*n)
	const slack = 4 << 20 // GC pacing noise; 3N more input is ~17 MB, 75000 more messages ~200 MB decoded
	if large > small+slack {
		t.Errorf("peak HeapInuse grew from %d to %d bytes between %d and %d messages", small, large, n, 4*n)
	}
}

// A segment larger than bufio.Scanner's 64 KiB token limit and the I/O
// buffer, on one line, with release characters across buffer refills.
func TestLongSegment(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(testUNA + testUNB + "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++")
	long := strings.Repeat("ABCDEFGHI?'", 30000) // 330 KB
	b.WriteString(long)
	b.WriteString("'UNT+3+1'UNZ+1+REF1'")
	res := decodeAll(t, b.Bytes(), "long")
	if len(res.errs) > 0 || len(res.msgs) != 1 {
		t.Fatalf("messages %d errors %v", len(res.msgs), errStrings(res.errs))
	}
	want := strings.ReplaceAll(long, "?'", "'")
	if got := res.msgs[0].Segments[1].Element(4).Value(); got != want {
		t.Errorf("FTX04 has %d bytes, want %d", len(got), len(want))
	}
	// A limit applies, and is fatal.
	res = decodeAll(t, b.Bytes(), "long", func(d *Decoder) { d.MaxSegment = 100000 })
	if len(res.errs) != 1 || !res.errs[0].Fatal() || res.errs[0].Segment != 4 {
		t.Errorf("errors %v: want one fatal error at segment 4", errStrings(res.errs))
	}
}

// Test500MB parses a generated ~500 MB stream (never written to disk) and
// logs throughput and peak memory. Run with LEGACYBRIDGE_EDIFACT_LARGE=1
// (or =<number of messages>) and -v.
func Test500MB(t *testing.T) {
	env := os.Getenv("LEGACYBRIDGE_EDIFACT_LARGE")
	if env == "" {
		t.Skip("set LEGACYBRIDGE_EDIFACT_LARGE=1 to parse a generated 500 MB stream")
	}
	n := 2_230_000 // 225 bytes a message
	if v, err := strconv.Atoi(env); err == nil && v > 1 {
		n = v
	}
	cr := &countingReader{r: genORDERSStream(n)}
	start := time.Now()
	inuse, sys, got := heapPeak(t, cr)
	el := time.Since(start)
	if got != n {
		t.Fatalf("decoded %d messages, want %d", got, n)
	}
	t.Logf("%d messages, %d bytes in %v (%.0f MB/s); peak HeapInuse %.1f MiB, Sys %.1f MiB",
		n, cr.n, el.Round(time.Millisecond), float64(cr.n)/1e6/el.Seconds(), float64(inuse)/(1<<20), float64(sys)/(1<<20))
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
