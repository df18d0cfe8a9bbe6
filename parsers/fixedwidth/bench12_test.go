package fixedwidth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gofw "github.com/ianlopshire/go-fixedwidth"

	"legacybridge"
	"legacybridge/parsers/fixedwidth"
)

// twelve is a 12-field, 100-column layout of strings and integers.
const twelve = `
name: twelve
records:
  - name: r
    fields:
      - {name: f1, start: 1, length: 8}
      - {name: f2, start: 9, length: 10}
      - {name: f3, start: 19, length: 6, type: integer}
      - {name: f4, start: 25, length: 12}
      - {name: f5, start: 37, length: 4}
      - {name: f6, start: 41, length: 9, type: integer}
      - {name: f7, start: 50, length: 15}
      - {name: f8, start: 65, length: 3}
      - {name: f9, start: 68, length: 10}
      - {name: f10, start: 78, length: 8, type: integer}
      - {name: f11, start: 86, length: 10}
      - {name: f12, start: 96, length: 5}
`

type twelveRef struct {
	F1  string `fixed:"1,8"`
	F2  string `fixed:"9,18"`
	F3  int64  `fixed:"19,24"`
	F4  string `fixed:"25,36"`
	F5  string `fixed:"37,40"`
	F6  int64  `fixed:"41,49"`
	F7  string `fixed:"50,64"`
	F8  string `fixed:"65,67"`
	F9  string `fixed:"68,77"`
	F10 int64  `fixed:"78,85"`
	F11 string `fixed:"86,95"`
	F12 string `fixed:"96,100"`
}

func twelveInput(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%-8s%-10s%06d%-12s%-4s%09d%-15s%-3s%-10s%08d%-10s%-5s\n",
			"ID"+strconv.Itoa(i%999), "NAME"+strconv.Itoa(i%77), i%1000000, "ITEM-"+strconv.Itoa(i*7%100000), "EA",
			i*31%1000000000, "DESCRIPTION "+strconv.Itoa(i%13), "USD", "LOC"+strconv.Itoa(i%5), i%100000000, "REF"+strconv.Itoa(i), "X")
	}
	return b.String()
}

func decodeTwelveRef(tb testing.TB, in string) []twelveRef {
	dec := gofw.NewDecoder(strings.NewReader(in))
	var out []twelveRef
	for {
		var r twelveRef
		err := dec.Decode(&r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
}

// countTwelveRef decodes with go-fixedwidth's Decoder into one struct,
// keeping nothing, as the benchmark's reference (decodeStream keeps
// nothing either).
func countTwelveRef(tb testing.TB, in string) int {
	dec := gofw.NewDecoder(strings.NewReader(in))
	n := 0
	for {
		var r twelveRef // a new record each time, as Decode returns
		err := dec.Decode(&r)
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// slice is a plain offset slicer: the floor for splitting 12 fields.
func slice(in string) int {
	n := 0
	var sink [12]string
	cuts := [13]int{0, 8, 18, 24, 36, 40, 49, 64, 67, 77, 85, 95, 100}
	for len(in) > 0 {
		i := strings.IndexByte(in, '\n')
		line := in[:i]
		in = in[i+1:]
		for k := range 12 {
			sink[k] = strings.TrimSpace(line[cuts[k]:cuts[k+1]])
		}
		n++
	}
	_ = sink
	return n
}

// sliceRecords is the plain offset slicer building what Decode returns
// for each line (a copy of the line, as a reader's buffer is reused, and
// a Record whose Fields map holds the 12 typed values): the floor for any
// decoder that returns legacybridge.Record.
func sliceRecords(tb testing.TB, in string) int {
	n := 0
	cuts := [13]int{0, 8, 18, 24, 36, 40, 49, 64, 67, 77, 85, 95, 100}
	names := [12]string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"}
	for len(in) > 0 {
		i := strings.IndexByte(in, '\n')
		line := strings.Clone(in[:i])
		in = in[i+1:]
		rec := legacybridge.Record{Format: fixedwidth.Format, Type: "r", Fields: make(map[string]any, 12)}
		for k := range 12 {
			v := strings.TrimSpace(line[cuts[k]:cuts[k+1]])
			switch k {
			case 2, 5, 9:
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					tb.Fatal(err)
				}
				rec.Fields[names[k]] = x
			default:
				rec.Fields[names[k]] = v
			}
		}
		n++
	}
	return n
}

// TestDifferentialTwelve runs go-fixedwidth's Decoder and this package on
// the same 12-field input and requires the same values.
func TestDifferentialTwelve(t *testing.T) {
	in := twelveInput(3000)
	want := decodeTwelveRef(t, in)
	recs := records(t, decodeAll(t, layout(t, twelve), "12", in))
	if len(recs) != len(want) {
		t.Fatalf("%d records, reference %d", len(recs), len(want))
	}
	for i, r := range recs {
		f := r.Fields
		got := twelveRef{f["f1"].(string), f["f2"].(string), f["f3"].(int64), f["f4"].(string), f["f5"].(string), f["f6"].(int64),
			f["f7"].(string), f["f8"].(string), f["f9"].(string), f["f10"].(int64), f["f11"].(string), f["f12"].(string)}
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Fatalf("record %d (-go-fixedwidth +fixedwidth):\n%s", i, diff)
		}
	}
}

// BenchmarkTwelveFields reports records/s for the 12-field layout (run
// with -cpu 1 for a figure per core): this Decoder (typed records),
// go-fixedwidth's Decoder into a static struct (a new one per record, none
// kept: Decode, too, returns a new record the caller may keep), a plain
// offset slicer, and the floor (the slicer building the same
// legacybridge.Record, whose Fields map and boxed values any decoder
// returning records pays for), on the same input in the same run, with
// the ratios.
func BenchmarkTwelveFields(b *testing.B) {
	const n = 20000
	in := twelveInput(n)
	l := layout(b, twelve)
	var ours, ref, sl, floor time.Duration
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if got := decodeStream(b, l, in); got != n {
			b.Fatalf("%d records", got)
		}
		ours += time.Since(t0)
		b.StopTimer()
		t0 = time.Now()
		if got := countTwelveRef(b, in); got != n {
			b.Fatalf("go-fixedwidth: %d records", got)
		}
		ref += time.Since(t0)
		t0 = time.Now()
		slice(in)
		sl += time.Since(t0)
		t0 = time.Now()
		sliceRecords(b, in)
		floor += time.Since(t0)
		b.StartTimer()
	}
	recs := float64(b.N) * n
	b.ReportMetric(recs/ours.Seconds(), "records/s")
	b.ReportMetric(recs/ref.Seconds(), "gofw-records/s")
	b.ReportMetric(recs/sl.Seconds(), "slicer-records/s")
	b.ReportMetric(recs/floor.Seconds(), "floor-records/s")
	b.ReportMetric(ours.Seconds()/ref.Seconds(), "time/gofw")
	b.ReportMetric(ours.Seconds()/sl.Seconds(), "time/slicer")
	b.ReportMetric(ours.Seconds()/floor.Seconds(), "time/floor")
	b.ReportMetric(floor.Seconds()/ref.Seconds(), "floor/gofw")
}

// paymentsInput is the EBCDIC payments file's header and trailer around n
// details written by the Encoder, each with its own values (account,
// name, amounts, rates, sequence), so that no column repeats the record
// before it.
func paymentsInput(tb testing.TB, l *fixedwidth.Layout, n int) []byte {
	data, err := os.ReadFile(paymentsData)
	if err != nil {
		tb.Fatal(err)
	}
	orig := records(tb, decodeAll(tb, l, "payments.dat", string(data)))
	var out bytes.Buffer
	enc := fixedwidth.NewEncoder(&out, l)
	if err := enc.Encode(orig[0]); err != nil {
		tb.Fatal(err)
	}
	names := []string{"ACME CORP", "MÜLLER GMBH", "  LEADING", "O'BRIEN & SONS", "ÅNGSTRÖM AB"}
	for k := range n {
		neg := ""
		if k%3 == 0 {
			neg = "-"
		}
		rec := legacybridge.Record{Type: "pay_detail", Fields: map[string]any{
			"dtl_account": fmt.Sprintf("%010d", 7919*k%10000000000), "dtl_name": names[k%len(names)] + " " + strconv.Itoa(k%97),
			"dtl_amount": json.Number(fmt.Sprintf("%s%d.%02d", neg, 31*k%100000000, k%100)), "dtl_fee": json.Number(fmt.Sprintf("%s%d.%02d", neg, k%1000, k%97)),
			"dtl_items": int64(k%19999 - 9999), "dtl_rate_1": json.Number(fmt.Sprintf("0.%04d", k%10000)),
			"dtl_rate_2": json.Number(fmt.Sprintf("0.%04d", 7*k%10000)), "dtl_rate_3": json.Number(fmt.Sprintf("0.%04d", 13*k%10000)),
			"dtl_seq": int64(k + 1), "dtl_discount": json.Number(fmt.Sprintf("%d.%02d", k%1000, 3*k%100)),
		}}
		if err := enc.Encode(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := enc.Encode(orig[len(orig)-1]); err != nil {
		tb.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkEBCDICPacked reports MB/s decoding an EBCDIC payments file
// (packed, zoned, binary and text fields; 10,000 details of their own
// values).
func BenchmarkEBCDICPacked(b *testing.B) {
	cpy, err := fixedwidth.LoadLayout(paymentsCopybook)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	s := string(paymentsInput(b, cpy, n))
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if got := decodeStream(b, cpy, s); got != n+2 {
			b.Fatalf("%d records", got)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(s))/1e6/time.Since(start).Seconds(), "MB/s-ebcdic")
	b.ReportMetric(float64(b.N)*(n+2)/time.Since(start).Seconds(), "records/s")
}

// TestFastPathMatchesGoFixedwidth decodes the same inputs with the
// compiled slicer and with go-fixedwidth (Decoder.ViaGoFixedwidth) and
// requires identical records and errors: the demo drops, the 12-field
// input, random ASCII and multi-byte lines over every trim and pad, the
// NACHA cases, and EBCDIC files with packed, binary and zoned fields.
func TestFastPathMatchesGoFixedwidth(t *testing.T) {
	decodeBoth := func(l *fixedwidth.Layout, in string) {
		t.Helper()
		var got [2][]result
		for k, via := range []bool{false, true} {
			d := fixedwidth.NewDecoder(strings.NewReader(in), l)
			d.ViaGoFixedwidth = via
			for {
				rec, err := d.Decode()
				if err == io.EOF {
					break
				}
				got[k] = append(got[k], result{rec, err})
			}
		}
		if len(got[0]) != len(got[1]) {
			t.Fatalf("%s: %d results, %d via go-fixedwidth", l.Name, len(got[0]), len(got[1]))
		}
		for i := range got[0] {
			a, b := got[0][i], got[1][i]
			if diff := cmp.Diff(b.rec, a.rec); diff != "" || fmt.Sprint(a.err) != fmt.Sprint(b.err) {
				t.Fatalf("%s result %d (-go-fixedwidth +slicer):\n%s%v / %v", l.Name, i, diff, b.err, a.err)
			}
		}
	}
	for _, name := range []string{"INV20240115-001.txt", "INV20240116-001.txt"} {
		data, err := os.ReadFile(demoDrops + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		decodeBoth(demoLayout(t), string(data))
	}
	decodeBoth(layout(t, twelve), twelveInput(2000))
	trims := layout(t, `
name: trims
records:
  - name: r
    fields:
      - {name: a, start: 1, length: 6}
      - {name: b, start: 7, length: 6, trim: right}
      - {name: c, start: 13, length: 6, trim: left, pad: "0"}
      - {name: d, start: 19, length: 6, trim: none}
      - {name: e, start: 25, length: 6, pad: "_"}
`)
	g := newMovementGen(3)
	alphabet := []byte(" _0aZ9-")
	var lines []string
	for range 3000 {
		b := make([]byte, 30)
		for i := range b {
			b[i] = alphabet[g.r.IntN(len(alphabet))]
		}
		if strings.TrimSpace(string(b)) != "" {
			lines = append(lines, string(b))
		}
	}
	decodeBoth(trims, strings.Join(lines, "\n"))
	for _, c := range []string{"30a_nacha_no_linebreaks.ach", "30b_nacha_with_linebreaks.ach", "31b_nacha_header_trimmed.ach", "31c_nacha_line_96_data.ach"} {
		decodeBoth(nacha(t), string(caseInput(t, c)))
	}
	// Multi-byte characters (columns counted in characters, and in bytes).
	multi := []rune(" _0aZé—")
	lines = lines[:0]
	for range 3000 {
		b := make([]rune, 30)
		for i := range b {
			b[i] = multi[g.r.IntN(len(multi))]
		}
		lines = append(lines, string(b))
	}
	decodeBoth(trims, strings.Join(lines, "\n"))
	trims.Columns = "bytes"
	decodeBoth(trims, strings.Join(lines, "\n"))
	// EBCDIC with packed, binary and zoned fields and non-ASCII text;
	// every sign position; RDW and BDW framing.
	pay, err := fixedwidth.LoadLayout(paymentsCopybook)
	if err != nil {
		t.Fatal(err)
	}
	decodeBoth(pay, string(paymentsInput(t, pay, 500)))
	for _, c := range mainframeCases {
		data, err := os.ReadFile(filepath.Join(mainframeData, c.data))
		if err != nil {
			t.Fatal(err)
		}
		decodeBoth(c.layout(t), string(data))
	}
}
