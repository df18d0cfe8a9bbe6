package x12

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"

	"legacybridge"
)

// ackInput is one interchange of 1,000 850s of 12 segments, written with
// the Encoder; every 10th has a wrong SE01 (so the 997 rejects 100).
func ackInput(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Delimiters{Element: "*", Component: ">", Segment: "~"})
	enc.Suffix = "\n"
	enc.Controls = &Counter{}
	enc.BeginInterchange(InterchangeHeader{SenderID: "SENDER", ReceiverID: "RECEIVER", Date: "240115", Time: "1200"})
	enc.BeginGroup(GroupHeader{FunctionalID: "PO", AppSender: "S", AppReceiver: "R", Date: "20240115", Time: "1200", Version: "004010"})
	for i := range 1000 {
		enc.BeginSet("850", "", "")
		enc.WriteSegment(legacybridge.Segment{Tag: "BEG", Elements: simple("00", "SA", "PO"+strconv.Itoa(i), "", "20240115")})
		for j := range 9 {
			enc.WriteSegment(legacybridge.Segment{Tag: "PO1", Elements: simple(strconv.Itoa(j+1), "10", "EA", "9.95", "", "BP", "ITEM"+strconv.Itoa(j))})
		}
		if i%10 == 9 {
			enc.WriteSegment(legacybridge.Segment{Tag: "CTT", Elements: simple("9")})
		}
		enc.EndSet()
	}
	enc.EndGroup()
	enc.EndInterchange()
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	// Every 10th set declares one segment fewer than it has.
	return bytes.ReplaceAll(buf.Bytes(), []byte("CTT*9~\nSE*13*"), []byte("CTT*9~\nSE*12*"))
}

func ack1000(b *testing.B, data []byte, write func(*Ack, io.Writer) error) {
	a, err := Acknowledge(bytes.NewReader(data), "bench", AckOptions{ControlNumber: 1, Time: ackTime})
	if err != nil {
		b.Fatal(err)
	}
	if g := a.Interchanges[0].Groups[0]; g.Received != 1000 || g.Accepted != 900 {
		b.Fatalf("received %d, accepted %d", g.Received, g.Accepted)
	}
	if err := write(a, io.Discard); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAck997 reads 1,000 transaction sets and writes their 997:
// ns/op is the time per 1,000 sets.
func BenchmarkAck997(b *testing.B) {
	data := ackInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ack1000(b, data, (*Ack).Write997)
	}
}

// BenchmarkAck999 is BenchmarkAck997 for a 999.
func BenchmarkAck999(b *testing.B) {
	data := ackInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ack1000(b, data, (*Ack).Write999)
	}
}

// BenchmarkAckVsDecode reports acknowledging 1,000 sets (read + 997)
// against only decoding them, measured alternately in the same run:
// ack/decode is the cost of acknowledgement over parsing.
func BenchmarkAckVsDecode(b *testing.B) {
	data := ackInput(b)
	var tAck, tDec time.Duration
	for b.Loop() {
		t0 := time.Now()
		d := NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.Decode(); err == io.EOF {
				break
			}
		}
		t1 := time.Now()
		ack1000(b, data, (*Ack).Write997)
		tDec += t1.Sub(t0)
		tAck += time.Since(t1)
	}
	b.ReportMetric(float64(tAck)/float64(tDec), "ack/decode")
	b.ReportMetric(float64(tAck.Nanoseconds())/float64(b.N), "ns-ack/1000sets")
}
