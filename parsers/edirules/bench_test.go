package edirules

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/parsers/x12"
)

// asn100 is an 856 of one shipment, one order and 100 items (HL, LIN, SN1,
// PID each: 412 segments between ST and SE), in one interchange.
func asn100() []byte {
	segs := []string{"BSN*00*SHIP0001*20240115*1200*0001", "DTM*011*20240115*1145", "HL*1**S", "TD1*CTN25*100****G*486.5*LB",
		"TD5*B*2*ODFL*M*OLD DOMINION FREIGHT", "REF*BM*BOL0001", "N1*ST*NORTHWIND ASSEMBLY DC*92*DC07", "N3*88 LOGISTICS WAY",
		"N4*LOUISVILLE*KY*40218*US", "HL*2*1*O", "PRF*4500098812***20241125"}
	for i := 1; i <= 100; i++ {
		n := strconv.Itoa(i)
		segs = append(segs, "HL*"+strconv.Itoa(i+2)+"*2*I", "LIN*"+n+"*BP*NW-"+n+"*VP*AC-"+n, "SN1**"+n+"*EA", "PID*F****ITEM "+n)
	}
	segs = append(segs, "CTT*102")
	return []byte(x12Doc("SH", "856", segs...))
}

func decodeOne(b *testing.B, data []byte) legacybridge.Record {
	d := x12.NewDecoder(bytes.NewReader(data))
	var rec legacybridge.Record
	for {
		tx, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		rec = tx.Record()
	}
	return rec
}

// BenchmarkCheck856 checks an 856 of 100 items against the shipped rules:
// ns/op is the time per transaction set.
func BenchmarkCheck856(b *testing.B) {
	r := Default()
	rec := decodeOne(b, asn100())
	if vs := r.Check(rec); len(vs) != 0 {
		b.Fatalf("the benchmark 856 breaks rules: %v", vs)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Check(rec)
	}
}

// BenchmarkCheckVsDecode856 reports checking an 856 of 100 items against
// decoding the same input (the interchange holding it), measured
// alternately in the same run: check/decode is what the rules add to
// reading the set.
func BenchmarkCheckVsDecode856(b *testing.B) {
	r := Default()
	data := asn100()
	rec := decodeOne(b, data)
	if n := len(rec.Segments); n != 414 {
		b.Fatalf("%d segments, want 414", n)
	}
	var tCheck, tDec time.Duration
	for b.Loop() {
		t0 := time.Now()
		decodeOne(b, data)
		t1 := time.Now()
		if vs := r.Check(rec); len(vs) != 0 {
			b.Fatal(vs)
		}
		tDec += t1.Sub(t0)
		tCheck += time.Since(t1)
	}
	b.ReportMetric(float64(tCheck)/float64(tDec), "check/decode")
	b.ReportMetric(float64(tCheck.Nanoseconds())/float64(b.N), "ns-check/set")
	b.ReportMetric(float64(tDec.Nanoseconds())/float64(b.N), "ns-decode/set")
}

// TestBenchInput keeps the benchmark's input honest without running it.
func TestBenchInput(t *testing.T) {
	recs := readRecords(t, corpusFile{name: "asn100", data: asn100(), format: X12})
	if len(recs) != 1 || recs[0].err != nil || !strings.HasPrefix(recs[0].rec.Envelope["version"], "004010") {
		t.Fatalf("asn100: %d records, %v", len(recs), recs)
	}
	if vs := shippedRules().Check(recs[0].rec); len(vs) != 0 {
		t.Errorf("asn100 breaks the shipped rules: %v", vs)
	}
}
