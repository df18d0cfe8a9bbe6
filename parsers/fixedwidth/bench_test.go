package fixedwidth_test

import (
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	gofw "github.com/ianlopshire/go-fixedwidth"

	"legacybridge/parsers/fixedwidth"
)

const benchRecords = 10000

// benchInput is a generated drop and its detail lines alone.
func benchInput(tb testing.TB) (stream, details string) {
	s := newMovementGen(42).stream(benchRecords)
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return s, strings.Join(lines[1:len(lines)-1], "\n") + "\n"
}

func decodeStream(tb testing.TB, l *fixedwidth.Layout, s string) int {
	d := fixedwidth.NewDecoder(strings.NewReader(s), l)
	n := 0
	for {
		_, err := d.Decode()
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

func decodeReference(tb testing.TB, s string) int {
	dec := gofw.NewDecoder(strings.NewReader(s))
	dec.SetUseCodepointIndices(true)
	n := 0
	for {
		var m movementRef
		err := dec.Decode(&m)
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// BenchmarkDecode decodes a generated inventory drop (header, 10,000
// movements, trailer) into typed records, and reports its time per record
// against go-fixedwidth decoding the same movements into a hand-written
// struct (strings and one int64). The two alternate, untimed reference
// passes between timed ones, so load on the machine hits both alike.
func BenchmarkDecode(b *testing.B) {
	l := demoLayout(b)
	stream, details := benchInput(b)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var ours, ref time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if n := decodeStream(b, l, stream); n != benchRecords+2 {
			b.Fatalf("decoded %d records", n)
		}
		ours += time.Since(t0)
		b.StopTimer()
		t0 = time.Now()
		decodeReference(b, details)
		ref += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*(benchRecords+2)/ours.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)*benchRecords/ref.Seconds(), "ref-records/s")
	b.ReportMetric(ours.Seconds()/ref.Seconds(), "time/ref")
}

// BenchmarkGoFixedwidthReference is go-fixedwidth's own Decoder on a static
// struct for the movement record, over the same movements.
func BenchmarkGoFixedwidthReference(b *testing.B) {
	_, details := benchInput(b)
	b.SetBytes(int64(len(details)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if n := decodeReference(b, details); n != benchRecords {
			b.Fatalf("decoded %d records", n)
		}
	}
	b.ReportMetric(float64(b.N)*benchRecords/time.Since(start).Seconds(), "records/s")
}

// genReader produces a drop of n movements on the fly, so the input never
// sits in memory.
type genReader struct {
	g       *movementGen
	n, done int
	buf     []byte
	state   int // 0 header, 1 details, 2 trailer, 3 end
}

func (r *genReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch r.state {
		case 0:
			r.buf = []byte(demoHeader + "\n")
			r.state = 1
		case 1:
			if r.done == r.n {
				r.state = 2
				continue
			}
			r.buf = append(r.buf[:0], r.g.detail()...)
			r.buf = append(r.buf, '\n')
			r.done++
		case 2:
			r.buf = []byte(demoTrailer(strings.Repeat("0", 9-len(itoa(int64(r.n))))+itoa(int64(r.n))) + "\n")
			r.state = 3
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// TestStreamingMemory decodes 100,000 movements (about 18 MB) and checks
// the live heap stays small: records are not kept.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 100000
	d := fixedwidth.NewDecoder(&genReader{g: newMovementGen(5), n: n}, demoLayout(t))
	var peak uint64
	var ms runtime.MemStats
	count := 0
	for {
		_, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
		if count%20000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if count != n+2 {
		t.Fatalf("decoded %d records, want %d", count, n+2)
	}
	if peak > 8<<20 {
		t.Errorf("live heap reached %d bytes while streaming", peak)
	}
	t.Logf("peak live heap %d KiB over %d records", peak>>10, count)
}
