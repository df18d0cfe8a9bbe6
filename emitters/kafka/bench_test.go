package kafka

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/internal/kafkabroker"
)

const (
	benchBatch = 500
	benchValue = 1024
)

// benchMessages is one batch: 1 KiB JSON-ish values, 100 distinct keys,
// CloudEvents-sized headers.
func benchMessages(topic string) []legacybridge.Message {
	value := make([]byte, benchValue)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	msgs := make([]legacybridge.Message, benchBatch)
	for i := range msgs {
		ev := legacybridge.Event{
			ID: legacybridge.EventID("bench", "h", i, 0), Source: "urn:bench", Type: "com.example.bench.v1",
			Subject: "k" + strconv.Itoa(i%100), Data: value,
		}
		msgs[i] = ev.Message(topic)
	}
	return msgs
}

func toKafka(msgs []legacybridge.Message) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		hs := make([]kafka.Header, len(m.Headers))
		for j, h := range m.Headers {
			hs[j] = kafka.Header{Key: h.Key, Value: h.Value}
		}
		out[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: hs}
	}
	return out
}

// rawWriter is the reference: kafka-go's Writer tuned the way Emitter
// tunes it (acks=all, hash balancer, 2 ms batch timeout, batch = call).
func rawWriter(addr string) (*kafka.Writer, *kafka.Transport) {
	tr := &kafka.Transport{}
	return &kafka.Writer{
		Addr:                   kafka.TCP(addr),
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchSize:              benchBatch,
		BatchTimeout:           2 * time.Millisecond,
		AllowAutoTopicCreation: true,
		Transport:              tr,
	}, tr
}

// runWorkers runs fn n times spread over workers goroutines and returns
// the elapsed time.
func runWorkers(b *testing.B, n, workers int, fn func() error) time.Duration {
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// benchBroker is a broker that acknowledges without storing, so the heap
// does not grow with b.N.
func benchBroker(b *testing.B) string {
	return startBroker(b, kafkabroker.Config{Discard: true}).Addr()
}

func benchEmitter(b *testing.B, workers int) {
	addr := benchBroker(b)
	e := newEmitter(b, Config{Brokers: []string{addr}, BatchSize: benchBatch})
	w, tr := rawWriter(addr)
	defer tr.CloseIdleConnections()
	defer w.Close()
	msgs := benchMessages("bench")
	kmsgs := toKafka(msgs)
	emit := func() error { return e.Emit(context.Background(), msgs...) }
	raw := func() error { return w.WriteMessages(context.Background(), kmsgs...) }
	for _, f := range []func() error{emit, raw} { // topic creation, connections
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	// Alternate rounds of each, so both see the same broker and heap.
	const rounds = 10
	var tEmit, tRaw time.Duration
	b.SetBytes(benchBatch * benchValue)
	b.ResetTimer()
	for r := range rounds {
		n := b.N/rounds + boolInt(r < b.N%rounds)
		b.StartTimer()
		tEmit += runWorkers(b, n, workers, emit)
		b.StopTimer()
		tRaw += runWorkers(b, n, workers, raw)
	}
	b.ReportMetric(float64(b.N*benchBatch)/tEmit.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*benchBatch)/tRaw.Seconds(), "raw-msgs/s")
	b.ReportMetric(tRaw.Seconds()/tEmit.Seconds(), "x-raw")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkEmitter emits batches of 500 messages with 1 KiB values and
// CloudEvents headers to an in-process broker, one call at a time. It
// reports messages/s and, as x-raw, its speed relative to a tuned raw
// kafka-go Writer (BenchmarkRawKafkaGoWriterReference) run in alternating
// rounds on the same broker: 1 means no overhead.
func BenchmarkEmitter(b *testing.B) { benchEmitter(b, 1) }

// BenchmarkEmitterParallel is BenchmarkEmitter with 8 concurrent callers
// sharing one Emitter (and the reference sharing one Writer).
func BenchmarkEmitterParallel(b *testing.B) { benchEmitter(b, 8) }

// BenchmarkRawKafkaGoWriterReference is the reference alone: a tuned
// kafka.Writer writing the same batches.
func BenchmarkRawKafkaGoWriterReference(b *testing.B) {
	w, tr := rawWriter(benchBroker(b))
	defer tr.CloseIdleConnections()
	defer w.Close()
	msgs := toKafka(benchMessages("bench"))
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBatch * benchValue)
	b.ResetTimer()
	d := runWorkers(b, b.N, 1, func() error { return w.WriteMessages(context.Background(), msgs...) })
	b.ReportMetric(float64(b.N*benchBatch)/d.Seconds(), "msgs/s")
}
