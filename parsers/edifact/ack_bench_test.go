package edifact

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"

	"legacybridge"
)

// ackInput is one interchange of 1,000 ORDERS of 12 segments, written with
// the Encoder; every 10th has a wrong UNT count (so the CONTRL rejects
// 100).
func ackInput(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	enc := NewEncoder(&buf, defaultsA)
	enc.Suffix = "\n"
	enc.Controls = &Counter{}
	enc.BeginInterchange(InterchangeHeader{Sender: "SENDER", Recipient: "RECEIVER", Date: "240115", Time: "1200"})
	s := func(tag string, vals ...string) legacybridge.Segment {
		els := make([]legacybridge.Element, len(vals))
		for i, v := range vals {
			els[i] = legacybridge.Element{{v}}
		}
		return legacybridge.Segment{Tag: tag, Elements: els}
	}
	for i := range 1000 {
		enc.BeginMessage("", MessageID{Type: "ORDERS", Version: "D", Release: "96A", Agency: "UN"}, "")
		enc.WriteSegment(s("BGM", "220", "PO"+strconv.Itoa(i), "9"))
		for j := range 9 {
			enc.WriteSegment(s("LIN", strconv.Itoa(j+1), "", "ITEM"+strconv.Itoa(j)+":EN"))
		}
		if i%10 == 9 {
			enc.WriteSegment(s("CNT", "2:9"))
		}
		enc.EndMessage()
	}
	enc.EndInterchange()
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte("CNT+2?:9'\nUNT+13+"), []byte("CNT+2?:9'\nUNT+12+"))
}

func ack1000(b *testing.B, data []byte) {
	a, err := Acknowledge(bytes.NewReader(data), "bench", AckOptions{ControlRef: 1, Time: ackTime})
	if err != nil {
		b.Fatal(err)
	}
	if rej, total := a.Rejected(); rej != 100 || total != 1000 {
		b.Fatalf("rejected %d of %d", rej, total)
	}
	if err := a.WriteCONTRL(io.Discard); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAckCONTRL reads 1,000 messages and writes their CONTRL: ns/op
// is the time per 1,000 messages.
func BenchmarkAckCONTRL(b *testing.B) {
	data := ackInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ack1000(b, data)
	}
}

// BenchmarkAckVsDecode reports acknowledging 1,000 messages (read +
// CONTRL) against only decoding them, measured alternately in the same
// run.
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
		ack1000(b, data)
		tDec += t1.Sub(t0)
		tAck += time.Since(t1)
	}
	b.ReportMetric(float64(tAck)/float64(tDec), "ack/decode")
	b.ReportMetric(float64(tAck.Nanoseconds())/float64(b.N), "ns-ack/1000msgs")
}
