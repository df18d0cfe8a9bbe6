package edifact

import (
	"bufio"
	"bytes"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"legacybridge/parsers/x12"
)

// genStream streams one interchange of n generated messages, one segment
// a line, holding at most a few dozen messages in memory. The EDIFACT and
// X12 generators write the same business content (an order of one line:
// buyer, supplier, item, quantity, price) in 11 segments and 225 bytes a
// message, so their parse rates compare.
type genStream struct {
	n       int
	header  func(g *genStream)
	message func(g *genStream, ref string)
	trailer func(g *genStream)

	i     int
	stage int
	buf   []byte
	pend  []byte
}

func (g *genStream) line(parts ...string) {
	for _, p := range parts {
		g.buf = append(g.buf, p...)
	}
	g.buf = append(g.buf, '\n')
}

func (g *genStream) Read(p []byte) (int, error) {
	for len(g.pend) == 0 {
		g.buf = g.buf[:0]
		switch {
		case g.stage == 0:
			g.header(g)
			g.stage = 1
		case g.i < g.n:
			for k := 0; k < 64 && g.i < g.n; k++ {
				g.i++
				var d [9]byte // "%09d" without fmt
				for j, v := 8, g.i; j >= 0; j-- {
					d[j] = byte('0' + v%10)
					v /= 10
				}
				g.message(g, string(d[:]))
			}
		case g.stage == 1:
			g.trailer(g)
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

// genORDERSStream is an interchange of n ORDERS messages.
func genORDERSStream(n int) *genStream {
	return &genStream{n: n,
		header: func(g *genStream) {
			g.line("UNA:+.? '")
			g.line("UNB+UNOC:3+5412345000013:14+4012345000009:14+240115:1200+000000001'")
		},
		message: func(g *genStream, c string) {
			g.line("UNH+", c, "+ORDERS:D:96A:UN'")
			g.line("BGM+220+PO", c, "+9'")
			g.line("DTM+137:20240115:102'")
			g.line("NAD+BY+5412345000013::9'")
			g.line("NAD+SU+4012345000009::9'")
			g.line("LIN+1++4000862141404:SRS'")
			g.line("IMD+F++:::ITEM A'")
			g.line("QTY+21:10:EA'")
			g.line("PRI+AAA:2.50'")
			g.line("CNT+2:1'")
			g.line("UNT+11+", c, "'")
		},
		trailer: func(g *genStream) {
			g.line("UNZ+", strconv.Itoa(g.n), "+000000001'")
		},
	}
}

// gen850Stream is an interchange of n 850 transaction sets in one group.
func gen850Stream(n int) *genStream {
	return &genStream{n: n,
		header: func(g *genStream) {
			g.line("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~")
			g.line("GS*PO*SENDERID*RECEIVERID*20240115*1200*1*X*004010~")
		},
		message: func(g *genStream, c string) {
			g.line("ST*850*", c, "~")
			g.line("BEG*00*SA*PO", c, "**20240115~")
			g.line("DTM*002*20240120~")
			g.line("N1*BY*BUYER*92*5412345000013~")
			g.line("N1*SU*SELLER*92*4012345000009~")
			g.line("PO1*1*10*EA*2.50**BP*4000862141404~")
			g.line("PID*F***ITEM A~")
			g.line("REF*VN*1~")
			g.line("TD5***M~")
			g.line("CTT*1~")
			g.line("SE*11*", c, "~")
		},
		trailer: func(g *genStream) {
			g.line("GE*", strconv.Itoa(g.n), "*1~")
			g.line("IEA*1*000000001~")
		},
	}
}

// genORDERS is genORDERSStream as a value, for tests.
type genORDERS struct {
	n int
	g *genStream
}

func (g *genORDERS) Read(p []byte) (int, error) {
	if g.g == nil {
		g.g = genORDERSStream(g.n)
	}
	return g.g.Read(p)
}

// benchMessages is how many messages the ~11 MB benchmark streams hold.
const benchMessages = 50000

func benchData(b *testing.B, r io.Reader) []byte {
	b.Helper()
	data, err := io.ReadAll(r)
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

func x12Count(b *testing.B, data []byte) int {
	d := x12.NewDecoder(bytes.NewReader(data))
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

// scanCount is the reference: bufio.Scanner splitting the same bytes on the
// terminator (no release characters, no elements, no envelopes).
func scanCount(b *testing.B, data []byte, term byte) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, term); i >= 0 {
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
	data := benchData(b, genORDERSStream(benchMessages))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if decodeCount(b, data) != benchMessages {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkX12Decode is parsers/x12 over an 850 stream of the same size and
// segment count.
func BenchmarkX12Decode(b *testing.B) {
	data := benchData(b, gen850Stream(benchMessages))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if x12Count(b, data) != benchMessages {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkBufioScannerReference(b *testing.B) {
	data := benchData(b, genORDERSStream(benchMessages))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if scanCount(b, data, '\'') != benchMessages*11+3+1 { // + the final line break
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkDecodeVsX12 times EDIFACT decoding, X12 decoding of the
// equivalent 850 stream and bufio.Scanner over the EDIFACT bytes in the same
// run, and reports the rates and the ratios of time per byte: "x-x12"
// (EDIFACT over X12) and "x-scanner" (EDIFACT over the scanner).
func BenchmarkDecodeVsX12(b *testing.B) {
	ed := benchData(b, genORDERSStream(benchMessages))
	x := benchData(b, gen850Stream(benchMessages))
	b.SetBytes(int64(len(ed)))
	var tEd, tX, tScan time.Duration
	for b.Loop() {
		t0 := time.Now()
		decodeCount(b, ed)
		t1 := time.Now()
		x12Count(b, x)
		t2 := time.Now()
		scanCount(b, ed, '\'')
		tEd += t1.Sub(t0)
		tX += t2.Sub(t1)
		tScan += time.Since(t2)
	}
	rate := func(n int, d time.Duration) float64 { return float64(n) * float64(b.N) / 1e6 / d.Seconds() }
	edRate, xRate, scanRate := rate(len(ed), tEd), rate(len(x), tX), rate(len(ed), tScan)
	b.ReportMetric(edRate, "edifact-MB/s")
	b.ReportMetric(xRate, "x12-MB/s")
	b.ReportMetric(scanRate, "scanner-MB/s")
	b.ReportMetric(xRate/edRate, "x-x12")
	b.ReportMetric(scanRate/edRate, "x-scanner")
}

// BenchmarkDecodeReleases is the same stream with a release character in
// every data segment (the path that builds each segment's text).
func BenchmarkDecodeReleases(b *testing.B) {
	g := genORDERSStream(benchMessages)
	g.message = func(g *genStream, c string) {
		g.line("UNH+", c, "+ORDERS:D:96A:UN'")
		g.line("BGM+220+PO?+", c, "+9'")
		g.line("DTM+137:20240115:102?''")
		g.line("NAD+BY+5412345000013?:9'")
		g.line("NAD+SU+4012345000009?:9'")
		g.line("LIN+1++4000862141404?:SRS'")
		g.line("IMD+F++:::ITEM A?'S'")
		g.line("QTY+21:10:EA??'")
		g.line("PRI+AAA:2?.50'")
		g.line("CNT+2:1'")
		g.line("UNT+11+", c, "'")
	}
	data := benchData(b, g)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if decodeCount(b, data) != benchMessages {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkTokenizer is NextSegment alone (no envelopes) over the same bytes.
func BenchmarkTokenizer(b *testing.B) {
	data := benchData(b, genORDERSStream(benchMessages))
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
		if n != benchMessages*11+3 {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkParser is the legacybridge.Parser adapter (Decode plus one
// Record, envelope map included, per message) over the same bytes.
func BenchmarkParser(b *testing.B) {
	data := benchData(b, genORDERSStream(benchMessages))
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
		if n != benchMessages {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkDecode500MB parses a generated ~500 MB stream through an
// io.Reader (never on disk) and reports peak HeapInuse and Sys. Run with
// -bench Decode500MB -benchtime 1x.
func BenchmarkDecode500MB(b *testing.B) {
	const n = 2_230_000 // 225 bytes a message
	var inuse, sys uint64
	for b.Loop() {
		i, s, got := heapPeak(b, genORDERSStream(n))
		if got != n {
			b.Fatalf("decoded %d messages", got)
		}
		inuse, sys = max(inuse, i), max(sys, s)
	}
	b.SetBytes(int64(n) * 225)
	b.ReportMetric(float64(inuse)/(1<<20), "peak-HeapInuse-MiB")
	b.ReportMetric(float64(sys)/(1<<20), "peak-Sys-MiB")
}

// heapPeak decodes r and returns the highest HeapInuse and Sys seen
// (sampled every 1000 messages) and the count decoded.
func heapPeak(t testing.TB, r io.Reader) (inuse, sys uint64, n int) {
	runtime.GC()
	var ms runtime.MemStats
	d := NewDecoder(r)
	for {
		msg, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg == nil {
			t.Fatal("nil message without error")
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

// BenchmarkTokenizerVsX12 times the two tokenizers alone (no envelopes)
// over the equivalent streams in the same run; "x-x12" is EDIFACT's time
// per byte over X12's.
func BenchmarkTokenizerVsX12(b *testing.B) {
	ed := benchData(b, genORDERSStream(benchMessages))
	x := benchData(b, gen850Stream(benchMessages))
	b.SetBytes(int64(len(ed)))
	var tEd, tX time.Duration
	for b.Loop() {
		t0 := time.Now()
		tok := NewTokenizer(bytes.NewReader(ed))
		for {
			if _, err := tok.NextSegment(); err != nil {
				break
			}
		}
		t1 := time.Now()
		xt := x12.NewTokenizer(bytes.NewReader(x))
		for {
			if _, err := xt.NextSegment(); err != nil {
				break
			}
		}
		tEd += t1.Sub(t0)
		tX += time.Since(t1)
	}
	edRate := float64(len(ed)) * float64(b.N) / 1e6 / tEd.Seconds()
	xRate := float64(len(x)) * float64(b.N) / 1e6 / tX.Seconds()
	b.ReportMetric(edRate, "edifact-MB/s")
	b.ReportMetric(xRate, "x12-MB/s")
	b.ReportMetric(xRate/edRate, "x-x12")
}
