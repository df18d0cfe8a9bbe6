package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/internal/kafkabroker"
)

// startBroker runs an in-process broker on a random loopback port.
func startBroker(t testing.TB, cfg kafkabroker.Config) *kafkabroker.Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	b, err := kafkabroker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newEmitter(t testing.TB, cfg Config, opts ...Option) *Emitter {
	t.Helper()
	e, err := NewEmitter(cfg, opts...)
	if err != nil {
		t.Fatalf("NewEmitter: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// readBack reads n messages from topics with a fresh consumer group,
// then checks for silence, and returns them grouped by topic/partition in
// offset order.
func readBack(t *testing.T, addr string, topics []string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          []string{addr},
		GroupID:          fmt.Sprintf("readback-%d", time.Now().UnixNano()),
		GroupTopics:      topics,
		StartOffset:      kafka.FirstOffset,
		MaxWait:          250 * time.Millisecond,
		JoinGroupBackoff: 200 * time.Millisecond,
	})
	defer r.Close()
	var got []kafka.Message
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d messages: %v", len(got), n, err)
			}
			continue // transient (INFRA §4.1): fetch again
		}
		got = append(got, m)
	}
	quiet, cancelQuiet := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelQuiet()
	if m, err := r.FetchMessage(quiet); err == nil {
		got = append(got, m)
	}
	slices.SortStableFunc(got, func(a, b kafka.Message) int {
		return cmpTuple(a.Topic, b.Topic, a.Partition, b.Partition, a.Offset, b.Offset)
	})
	return got
}

func cmpTuple(at, bt string, ap, bp int, ao, bo int64) int {
	if c := strings.Compare(at, bt); c != 0 {
		return c
	}
	if ap != bp {
		return ap - bp
	}
	switch {
	case ao < bo:
		return -1
	case ao > bo:
		return 1
	}
	return 0
}

// testMessage is message seq of a stream: key k<seq%37>, value JSON.
func testMessage(topic string, seq int) legacybridge.Message {
	key := "k" + strconv.Itoa(seq%37)
	return legacybridge.Message{
		Topic: topic,
		Key:   []byte(key),
		Headers: []legacybridge.Header{
			{Key: "seq", Value: []byte(strconv.Itoa(seq))},
			{Key: "x-bridge-flow", Value: []byte("test")},
			{Key: "empty", Value: []byte{}},
		},
		Value: fmt.Appendf(nil, `{"seq":%d,"key":%q}`, seq, key),
	}
}

func fromKafka(m kafka.Message) legacybridge.Message {
	out := legacybridge.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		out.Headers = append(out.Headers, legacybridge.Header{Key: h.Key, Value: h.Value})
	}
	return out
}

func TestEmitRoundTrip(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	reg := prometheus.NewRegistry()
	e := newEmitter(t, Config{Brokers: []string{b.Addr()}, BatchSize: 100}, WithMetrics(reg))
	topics := []string{"orders", "invoices", "shipments"}
	const total = 1000
	want := map[string]legacybridge.Message{} // topic/seq
	for start := 0; start < total; start += 100 {
		batch := make([]legacybridge.Message, 0, 100)
		for seq := start; seq < start+100; seq++ {
			m := testMessage(topics[seq%3], seq)
			want[m.Topic+"/"+strconv.Itoa(seq)] = m
			batch = append(batch, m)
		}
		if err := e.Emit(context.Background(), batch...); err != nil {
			t.Fatalf("Emit messages %d..%d: %v", start, start+99, err)
		}
	}

	got := readBack(t, b.Addr(), topics, total)
	if len(got) != total {
		t.Fatalf("read back %d messages, want %d", len(got), total)
	}
	seen := map[string]bool{}
	lastSeq := map[string]int{}      // topic/key -> last seq seen
	keyPart := map[string]int{}      // topic/key -> partition
	perTopic := map[string]float64{} // for the metrics check
	for _, m := range got {
		gm := fromKafka(m)
		seq := header(m, "seq")
		id := m.Topic + "/" + seq
		if seen[id] {
			t.Errorf("duplicate %s", id)
		}
		seen[id] = true
		// kafka-go reads an empty header value back as nil.
		if diff := cmp.Diff(want[id], gm, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("message %s (-want +got):\n%s", id, diff)
		}
		tk := m.Topic + "/" + string(m.Key)
		n, _ := strconv.Atoi(seq)
		if p, ok := keyPart[tk]; ok && p != m.Partition {
			t.Errorf("key %s on partitions %d and %d", tk, p, m.Partition)
		}
		keyPart[tk] = m.Partition
		if last, ok := lastSeq[tk]; ok && n <= last {
			t.Errorf("key %s: seq %d after %d (out of order)", tk, n, last)
		}
		lastSeq[tk] = n
		perTopic[m.Topic]++
	}

	mf := gather(t, reg)
	for _, topic := range topics {
		if got := counter(mf, "legacybridge_kafka_messages_emitted_total", topic); got != perTopic[topic] {
			t.Errorf("messages_emitted_total{topic=%s} = %v, want %v", topic, got, perTopic[topic])
		}
	}
	if got := histogramCount(mf, "legacybridge_kafka_emit_duration_seconds"); got != total/100 {
		t.Errorf("emit_duration_seconds count = %d, want %d", got, total/100)
	}
	if got := counter(mf, "legacybridge_kafka_emit_errors_total", ""); got != 0 {
		t.Errorf("emit_errors_total = %v, want 0", got)
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mf, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return mf
}

func counter(mfs []*dto.MetricFamily, name, topic string) float64 {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if topic == "" || slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "topic" && l.GetValue() == topic }) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func histogramCount(mfs []*dto.MetricFamily, name string) uint64 {
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func TestCloudEventsRoundTrip(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	e := newEmitter(t, Config{Brokers: []string{b.Addr()}})
	ev := legacybridge.Event{
		ID:         legacybridge.EventID("flow", "sha256:abc", 3, 0),
		Source:     "urn:legacy:edi:partner/ACME/850",
		Type:       "com.example.purchaseorder.received.v1",
		Subject:    "PO-4711",
		Time:       time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC),
		DataSchema: "https://schemas.example.com/po/v1.json",
		Extensions: map[string]string{"partitionkey": "PO-4711", "correlationid": "drop-17", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		Data:       json.RawMessage(`{"po":"PO-4711","lines":[{"sku":"X","qty":2}],"note":"ünïcode ✓"}`),
	}
	tomb := legacybridge.Event{ID: "t1", Source: "s", Type: "com.example.po.deleted.v1", Subject: "PO-1"}
	msgs := []legacybridge.Message{ev.Message("po.v1"), tomb.Message("po.v1")}
	if err := e.Emit(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, b.Addr(), []string{"po.v1"}, 2)
	if len(got) != 2 {
		t.Fatalf("read %d messages, want 2", len(got))
	}
	byID := map[string]legacybridge.Message{}
	for _, m := range got {
		byID[header(m, "ce_id")] = fromKafka(m)
	}
	for _, want := range msgs {
		id := string(want.Headers[1].Value)
		if diff := cmp.Diff(want, byID[id]); diff != "" {
			t.Errorf("event %s after the round trip (-want +got):\n%s", id, diff)
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// emitWithin runs Emit and fails the test if it has not returned well
// after ctx's deadline (a hang guard, not a timing assertion).
func emitWithin(t *testing.T, e *Emitter, ctx context.Context, msgs ...legacybridge.Message) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- e.Emit(ctx, msgs...) }()
	guard := 20 * time.Second
	if d, ok := ctx.Deadline(); ok {
		guard = time.Until(d) + 5*time.Second
	}
	select {
	case err := <-done:
		return err
	case <-time.After(guard):
		t.Fatalf("Emit still running %v after its deadline", guard)
		return nil
	}
}

func TestEmitBrokerDown(t *testing.T) {
	addr := freeAddr(t)
	msgs := []legacybridge.Message{testMessage("t", 1), testMessage("t", 2), testMessage("u", 3)}

	t.Run("deadline", func(t *testing.T) {
		e := newEmitter(t, Config{Brokers: []string{addr}, MaxAttempts: 1 << 20, WriteBackoffMin: 10 * time.Millisecond, WriteBackoffMax: 50 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := emitWithin(t, e, ctx, msgs...)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Emit = %v, want context.DeadlineExceeded", err)
		}
		t.Log(err)
		var de *DeliveryError
		if !errors.As(err, &de) || de.Failed != 3 || de.Total != 3 || de.Attempts < 2 || !slices.Equal(de.Indexes, []int{0, 1, 2}) {
			t.Errorf("Emit error %#v, want a *DeliveryError for 3 of 3 after several attempts", de)
		}
		for _, s := range []string{"kafka: 3 of 3 messages not acknowledged by " + addr, "context deadline exceeded (last error: ", "connection refused", "check that the brokers are reachable"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
	})

	t.Run("attempts", func(t *testing.T) {
		e := newEmitter(t, Config{Brokers: []string{addr}, MaxAttempts: 3, WriteBackoffMin: time.Millisecond, WriteBackoffMax: 2 * time.Millisecond})
		err := emitWithin(t, e, context.Background(), msgs...)
		t.Log(err)
		want := "kafka: 3 of 3 messages not acknowledged by " + addr + " after 3 attempts: "
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; check that the brokers are reachable") {
			t.Errorf("Emit = %v, want %q...; check that the brokers are reachable", err, want)
		}
		var de *DeliveryError
		if errors.As(err, &de) && !de.Temporary() {
			t.Errorf("a refused connection is not Temporary")
		}
	})
}

func TestEmitAcrossBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	reg := prometheus.NewRegistry()
	e := newEmitter(t, Config{Brokers: []string{addr}, MaxAttempts: 100, WriteBackoffMin: 20 * time.Millisecond, WriteBackoffMax: 200 * time.Millisecond}, WithMetrics(reg))

	const batches, size = 40, 25
	progress := make(chan int, batches)
	emitErr := make(chan error, 1)
	go func() {
		defer close(progress)
		for i := range batches {
			msgs := make([]legacybridge.Message, size)
			for j := range msgs {
				msgs[j] = testMessage("restart", i*size+j)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err := e.Emit(ctx, msgs...)
			cancel()
			if err != nil {
				emitErr <- fmt.Errorf("batch %d: %w", i, err)
				return
			}
			progress <- i
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for i := range progress {
		if i == 9 {
			break
		}
	}
	b.Close() // mid-stream: later batches fail until the restart
	time.Sleep(700 * time.Millisecond)
	b, err = kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: addr, DataDir: dir})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer b.Close()
	for range progress {
	}
	select {
	case err := <-emitErr:
		t.Fatalf("Emit across the restart: %v", err)
	default:
	}

	got := readBack(t, addr, []string{"restart"}, batches*size)
	seen := map[string]int{}
	for _, m := range got {
		seen[header(m, "seq")]++
	}
	var missing []int
	for seq := range batches * size {
		if seen[strconv.Itoa(seq)] == 0 {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d messages lost across the restart: %v", len(missing), missing)
	}
	retries := counter(gather(t, reg), "legacybridge_kafka_retries_total", "")
	if retries == 0 {
		t.Errorf("no retries: the outage did not hit the emitter")
	}
	t.Logf("%d records for %d messages (%d duplicates), %v messages retried", len(got), batches*size, len(got)-len(seen), retries)
}

func TestEmitMessageTooLarge(t *testing.T) {
	b := startBroker(t, kafkabroker.Config{})
	e := newEmitter(t, Config{Brokers: []string{b.Addr()}, BatchBytes: 1000})
	big := legacybridge.Message{Topic: "big", Value: make([]byte, 2000)}
	err := emitWithin(t, e, context.Background(), testMessage("big", 1), big)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Attempts != 1 || de.Temporary() {
		t.Fatalf("Emit of an oversized message = %v, want a permanent *DeliveryError after 1 attempt", err)
	}
	t.Log(err)
	for _, want := range []string{"message 1 (topic big) is larger than BatchBytes (1000 bytes)", "; send smaller messages"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if diff := cmp.Diff([]int{0, 1}, de.Indexes); diff != "" {
		t.Errorf("Indexes (-want +got):\n%s", diff)
	}
}

func TestEmitInvalid(t *testing.T) {
	e := newEmitter(t, Config{Brokers: []string{freeAddr(t)}})
	if err := e.Emit(context.Background()); err != nil {
		t.Errorf("Emit() of nothing = %v", err)
	}
	err := e.Emit(context.Background(), testMessage("t", 0), legacybridge.Message{Value: []byte("x")})
	if err == nil || err.Error() != "kafka: message 1 has no topic" {
		t.Errorf("Emit without topic = %v", err)
	}
	e.Close()
	err = e.Emit(context.Background(), testMessage("t", 0))
	if err == nil || !strings.Contains(err.Error(), "emitter is closed") {
		t.Errorf("Emit after Close = %v", err)
	}
}

func TestNewEmitterConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Brokers: []string{"no-port"}},
		{MaxAttempts: -1},
		{BatchTimeout: -time.Second},
		{WriteBackoffMin: 2 * time.Second, WriteBackoffMax: time.Second},
	} {
		if _, err := NewEmitter(cfg); err == nil || !strings.HasPrefix(err.Error(), "kafka: ") {
			t.Errorf("NewEmitter(%+v) = %v, want a kafka: error", cfg, err)
		}
	}
	e, err := NewEmitter(Config{})
	if err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	want := Config{Brokers: []string{DefaultBroker}, ClientID: "legacybridge", BatchSize: 1000, BatchBytes: 1 << 20,
		BatchTimeout: 2 * time.Millisecond, MaxAttempts: 10, WriteBackoffMin: 100 * time.Millisecond,
		WriteBackoffMax: time.Second, WriteTimeout: 10 * time.Second, DialTimeout: 5 * time.Second, MetadataTTL: 2 * time.Second}
	got := e.cfg
	got.Balancer = nil
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if _, ok := e.cfg.Balancer.(*kafka.Hash); !ok {
		t.Errorf("default balancer %T, want *kafka.Hash", e.cfg.Balancer)
	}

	// Two emitters may share a registry.
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := NewEmitter(Config{}, WithMetrics(reg)); err != nil {
			t.Errorf("second emitter on one registry: %v", err)
		}
	}
}

// NewEmitter must not connect: nothing reaches a listening broker address
// until Emit.
func TestNewEmitterDoesNotDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	accepted := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			c.Close()
		}
	}()
	e, err := NewEmitter(Config{Brokers: []string{l.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	e.Close()
	mu.Lock()
	defer mu.Unlock()
	if accepted != 0 {
		t.Errorf("NewEmitter+Close opened %d connections, want 0", accepted)
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(n, 100*time.Millisecond, time.Second))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

// A broker that accepts connections but never answers must not hang Emit
// past its ctx, nor Close after it.
func TestEmitSilentBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	e, err := NewEmitter(Config{Brokers: []string{l.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = emitWithin(t, e, ctx, testMessage("t", 1))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from the brokers in time") {
		t.Errorf("Emit to a silent broker = %v, want context.DeadlineExceeded and a hint", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close hangs after Emit to a silent broker")
	}
}
