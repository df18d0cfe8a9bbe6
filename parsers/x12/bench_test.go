package x12

import (
	"bufio"
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"
)

// bench856 is a generated ~10 MB 856 stream (61,500 sets).
func bench856(b *testing.B) []byte {
	b.Helper()
	data, err := io.ReadAll(&gen856{n: 61500})
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func decodeCount(b *testing.B, data []byte) int {
	d := NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		_, err := d.Decode()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// scanCount is the reference: bufio.Scanner splitting the same bytes on '~'
// (no delimiter detection, no elements, no envelopes).
func scanCount(b *testing.B, data []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '~'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	n := 0
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

func BenchmarkDecode(b *testing.B) {
	data := bench856(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if decodeCount(b, data) != 61500 {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkBufioScannerReference(b *testing.B) {
	data := bench856(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if scanCount(b, data) != 61500*11+4+1 { // + the final line break
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkDecodeVsScanner times both over the same bytes in the same run and
// reports decode-time/scan-time as "x-scanner".
func BenchmarkDecodeVsScanner(b *testing.B) {
	data := bench856(b)
	b.SetBytes(int64(len(data)))
	var dec, scan time.Duration
	for b.Loop() {
		t0 := time.Now()
		decodeCount(b, data)
		t1 := time.Now()
		scanCount(b, data)
		dec += t1.Sub(t0)
		scan += time.Since(t1)
	}
	b.ReportMetric(float64(dec)/float64(scan), "x-scanner")
	b.ReportMetric(float64(len(data))*float64(b.N)/1e6/dec.Seconds(), "decode-MB/s")
	b.ReportMetric(float64(len(data))*float64(b.N)/1e6/scan.Seconds(), "scanner-MB/s")
}

// BenchmarkDecode500MB parses a generated ~500 MB stream through an
// io.Reader (never on disk) and reports peak HeapInuse and Sys. Run with
// -bench Decode500MB -benchtime 1x.
func BenchmarkDecode500MB(b *testing.B) {
	const n = 3_070_000
	b.SetBytes(int64(n)*163 + 159 + 31) // 500,410,190 bytes
	var inuse, sys uint64
	for b.Loop() {
		i, s, got := heapPeak(b, &gen856{n: n})
		if got != n {
			b.Fatalf("decoded %d sets", got)
		}
		inuse, sys = max(inuse, i), max(sys, s)
	}
	b.ReportMetric(float64(inuse)/(1<<20), "peak-HeapInuse-MiB")
	b.ReportMetric(float64(sys)/(1<<20), "peak-Sys-MiB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc)/float64(b.N)/1e6, "alloc-MB/op")
}

// BenchmarkTokenizer is NextSegment alone (no envelopes) over the same bytes.
func BenchmarkTokenizer(b *testing.B) {
	data := bench856(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tok := NewTokenizer(bytes.NewReader(data))
		n := 0
		for {
			_, err := tok.NextSegment()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 61500*11+4 {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkParser is the legacybridge.Parser adapter (Decode plus one Record,
// envelope map included, per transaction set) over the same bytes.
func BenchmarkParser(b *testing.B) {
	data := bench856(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rr := Parser{}.NewReader(bytes.NewReader(data), "bench.edi")
		n := 0
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(rec.Envelope) == 0 {
				b.Fatal("no envelope")
			}
			n++
		}
		if n != 61500 {
			b.Fatal("wrong count")
		}
	}
}
