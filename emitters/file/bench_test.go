package file_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/emitters/file"
)

// BenchmarkDelivery measures files delivered per second to the local FS
// (fsync per file, rename, commit), against raw kafka-go group reads of
// the same messages in the same run (ratio = files/s ÷ raw reads/s).
//
//	go test -run '^$' -bench Delivery -benchtime 1x ./emitters/file/
func BenchmarkDelivery(b *testing.B) {
	const n = 2000
	json4k := func(i int) legacybridge.Event { return event(typeA, i, string(bigData(i, 4096))) }
	asn := asnEvents(b)[0]
	fixed := func(i int) legacybridge.Event {
		ev := asn
		ev.ID = fmt.Sprintf("asn-%06d", i)
		ev.Subject = fmt.Sprintf("SHP%07d", i)
		return ev
	}
	for _, c := range []struct {
		name        string
		ev          func(int) legacybridge.Event
		enc         func() file.Encoder
		concurrency int
	}{
		{"json-4KiB/concurrency-1", json4k, func() file.Encoder { return file.JSON{} }, 1},
		{"json-4KiB/concurrency-4", json4k, func() file.Encoder { return file.JSON{} }, 4},
		{"fixedwidth-asn/concurrency-1", fixed, func() file.Encoder { return demoEncoder(b) }, 1},
		{"fixedwidth-asn/concurrency-4", fixed, func() file.Encoder { return demoEncoder(b) }, 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			addr := startBroker(b, 4)
			var evs []legacybridge.Event
			for i := range n {
				evs = append(evs, c.ev(i))
			}
			produce(b, addr, "bench", evs...)
			var raw, del time.Duration
			b.ResetTimer()
			for it := range b.N {
				t0 := time.Now()
				rawRead(b, addr, fmt.Sprintf("raw-%d", it), n)
				raw += time.Since(t0)

				fs, _ := localFS(b)
				t1 := time.Now()
				r := start(b, file.Config{Brokers: []string{addr}, Topic: "bench", GroupID: fmt.Sprintf("file-%d", it), FS: fs,
					Encoder: c.enc(), Concurrency: c.concurrency, MaxWait: 400 * time.Millisecond})
				waitFor(b, "every offset committed", func() bool { return r.d.Stats().Committed == n })
				del += time.Since(t1)
				if err := r.stop(b); err != nil {
					b.Fatal(err)
				}
			}
			files := float64(n*b.N) / del.Seconds()
			reads := float64(n*b.N) / raw.Seconds()
			b.ReportMetric(files, "files/s")
			b.ReportMetric(reads, "raw-reads/s")
			b.ReportMetric(files/reads, "ratio")
		})
	}
}

// rawRead reads n messages as a new consumer group with kafka-go, doing
// nothing with them: the reference.
func rawRead(b *testing.B, addr, group string, n int) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupID: group, Topic: "bench",
		StartOffset: kafka.FirstOffset, MaxWait: 400 * time.Millisecond, MaxBytes: 10 << 20, JoinGroupBackoff: time.Second})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for got := 0; got < n; {
		if _, err := r.FetchMessage(ctx); err != nil {
			if ctx.Err() != nil {
				b.Fatalf("raw read: %d of %d: %v", got, n, err)
			}
			continue
		}
		got++
	}
}
