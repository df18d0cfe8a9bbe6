package kafkabroker

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafka "github.com/segmentio/kafka-go"
)

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	b, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	return b
}

func write(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:                   kafka.TCP(addr),
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		Balancer:               &kafka.Hash{},
		BatchTimeout:           time.Millisecond,
		// A transport of its own: kafka.DefaultTransport caches metadata
		// across brokers that come and go on the same address.
		Transport: tr,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Topic: topic, Key: []byte("k" + strconv.Itoa((from+i)%7)), Value: []byte(strconv.Itoa(from + i))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("write %d messages to %s: %v", n, addr, err)
	}
}

// consume reads exactly n messages with group, committing each, and then
// checks that nothing more arrives within quiet.
func consume(t *testing.T, addr, topic, group string, n int, quiet time.Duration) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{addr},
		Topic:             topic,
		GroupID:           group,
		StartOffset:       kafka.FirstOffset,
		MaxWait:           250 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond,
		JoinGroupBackoff:  200 * time.Millisecond,
	})
	defer r.Close()
	var got []string
	deadline := time.Now().Add(8 * time.Second)
	for len(got) < n {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		m, err := r.FetchMessage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("group %s: after %d of %d messages: %v", group, len(got), n, err)
		}
		got = append(got, string(m.Value))
		if err := r.CommitMessages(context.Background(), m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	if m, err := r.FetchMessage(ctx); err == nil {
		t.Errorf("group %s: unexpected extra message %q at partition %d offset %d", group, m.Value, m.Partition, m.Offset)
	}
	return got
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	b := start(t, Config{DataDir: dir, Partitions: 3})
	addr := b.Addr()
	write(t, addr, "orders", 0, 30)
	// The group reads and commits the first 30.
	consume(t, addr, "orders", "g1", 30, 300*time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Same port and dir: records and the group's offsets are back.
	b = start(t, Config{Listen: addr, DataDir: dir, Partitions: 3})
	defer b.Close()
	if b.Addr() != addr {
		t.Fatalf("restart listens on %s, want %s", b.Addr(), addr)
	}
	write(t, addr, "orders", 30, 5)
	got := consume(t, addr, "orders", "g1", 5, 300*time.Millisecond)
	want := []string{"30", "31", "32", "33", "34"}
	if diff := cmp.Diff(want, sorted(got)); diff != "" {
		t.Errorf("g1 after restart (-want +got):\n%s", diff)
	}
	// A new group sees all 35: nothing written before the restart was lost.
	all := consume(t, addr, "orders", "g2", 35, 300*time.Millisecond)
	if len(all) != 35 {
		t.Errorf("fresh group read %d records, want 35", len(all))
	}
	parts := partitions(t, addr, "orders")
	if parts != 3 {
		t.Errorf("orders has %d partitions, want 3", parts)
	}
}

func TestMemoryOnlyForgets(t *testing.T) {
	b := start(t, Config{})
	addr := b.Addr()
	write(t, addr, "t", 0, 3)
	b.Close()
	b = start(t, Config{Listen: addr})
	defer b.Close()
	write(t, addr, "t", 3, 1)
	got := consume(t, addr, "t", "g", 1, 300*time.Millisecond)
	if diff := cmp.Diff([]string{"3"}, got); diff != "" {
		t.Errorf("memory-only broker after restart (-want +got):\n%s", diff)
	}
}

func TestDefaultPartitions(t *testing.T) {
	b := start(t, Config{})
	defer b.Close()
	write(t, b.Addr(), "auto", 0, 1)
	if n := partitions(t, b.Addr(), "auto"); n != 4 {
		t.Errorf("auto-created topic has %d partitions, want 4", n)
	}
}

func partitions(t *testing.T, addr, topic string) int {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	res, err := c.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, tp := range res.Topics {
		if tp.Name == topic {
			return len(tp.Partitions)
		}
	}
	t.Fatalf("topic %s not in metadata", topic)
	return 0
}

func TestListenValidation(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:9092", ":9092", "10.1.2.3:9092", "example.com:9092", "127.0.0.1", "127.0.0.1:99999"} {
		_, err := Start(context.Background(), Config{Listen: listen})
		if err == nil {
			t.Errorf("Start(Listen: %q) succeeded, want an error", listen)
			continue
		}
		if !strings.HasPrefix(err.Error(), "kafkabroker: ") || !strings.Contains(err.Error(), listen) {
			t.Errorf("Start(Listen: %q) error %q does not name the package and the address", listen, err)
		}
	}
	// Loopback other than 127.0.0.1 works and is advertised as such.
	b, err := Start(context.Background(), Config{Listen: "localhost:0"})
	if err != nil {
		t.Fatalf("localhost:0: %v", err)
	}
	defer b.Close()
	host, _, _ := net.SplitHostPort(b.Addr())
	if host != "127.0.0.1" {
		t.Errorf("localhost:0 listens on %s, want 127.0.0.1", b.Addr())
	}
}

func TestPortInUse(t *testing.T) {
	b := start(t, Config{})
	defer b.Close()
	_, err := Start(context.Background(), Config{Listen: b.Addr()})
	if err == nil {
		t.Fatalf("second broker on %s started", b.Addr())
	}
	if !strings.Contains(err.Error(), b.Addr()) {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	var serveErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr = Serve(ctx, Config{Listen: "127.0.0.1:0", DataDir: dir}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading Serve output: %v", err)
	}
	addr, _, ok := strings.Cut(strings.TrimPrefix(line, "listening on "), " ")
	if !ok || !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("Serve printed %q, want \"listening on <addr> (...)\"", line)
	}
	write(t, addr, "served", 0, 4)
	go io.Copy(io.Discard, pr)
	cancel()
	wg.Wait()
	if serveErr != nil {
		t.Fatalf("Serve returned %v after cancel, want nil", serveErr)
	}
	// Serve closed gracefully: the data dir holds the 4 records.
	b := start(t, Config{Listen: addr, DataDir: dir})
	defer b.Close()
	got := consume(t, addr, "served", "g", 4, 200*time.Millisecond)
	if len(got) != 4 {
		t.Errorf("after Serve: %d records, want 4", len(got))
	}
}

func TestServeStartError(t *testing.T) {
	var out bytes.Buffer
	err := Serve(context.Background(), Config{Listen: "192.0.2.1:9092"}, &out)
	if err == nil {
		t.Fatal("Serve on a non-loopback address returned nil")
	}
	if out.Len() != 0 {
		t.Errorf("Serve printed %q before failing", out.String())
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return out
}

func TestDiscard(t *testing.T) {
	b := start(t, Config{Discard: true})
	defer b.Close()
	write(t, b.Addr(), "void", 0, 10) // acknowledged...
	c := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 5 * time.Second}
	var reqs []kafka.OffsetRequest
	for p := range 4 {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := c.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{"void": reqs}})
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for _, po := range res.Topics["void"] {
		end += po.LastOffset
	}
	if end != 10 {
		t.Errorf("end offsets sum to %d, want 10", end)
	}
	// ...but not stored: nothing to read.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "g", Topic: "void", StartOffset: kafka.FirstOffset, MaxWait: 250 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if m, err := r.ReadMessage(ctx); err == nil {
		t.Errorf("read %q from a discarding broker", m.Value)
	}
}

// A data dir that cannot be written at Close is reported, not swallowed.
func TestCloseReportsFlushFailure(t *testing.T) {
	dir := t.TempDir() + "/data"
	b := start(t, Config{DataDir: dir})
	write(t, b.Addr(), "t", 0, 3)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := b.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "kafkabroker: close "+b.Addr()+": ") {
		t.Fatalf("Close with an unwritable data dir = %v, want a kafkabroker: close error", err)
	}
	t.Log(err)
	if err2 := b.Close(); err2 != err {
		t.Errorf("second Close = %v, want the same error", err2)
	}
}
