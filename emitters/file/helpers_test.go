package file_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/local"
	"legacybridge/emitters/file"
	kafkaemitter "legacybridge/emitters/kafka"
	"legacybridge/internal/kafkabroker"
)

// startBroker runs an in-process broker (kfake) on a random loopback port.
func startBroker(t testing.TB, partitions int) string {
	t.Helper()
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0", Partitions: partitions})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b.Addr()
}

// produce sends events to topic with the project's Kafka emitter (binary
// content mode, as the inbound flows do).
func produce(t testing.TB, addr, topic string, evs ...legacybridge.Event) {
	t.Helper()
	e, err := kafkaemitter.NewEmitter(kafkaemitter.Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	msgs := make([]legacybridge.Message, len(evs))
	for i, ev := range evs {
		msgs[i] = ev.Message(topic)
	}
	for len(msgs) > 0 {
		n := min(len(msgs), 50)
		if err := e.Emit(context.Background(), msgs[:n]...); err != nil {
			t.Fatalf("produce: %v", err)
		}
		msgs = msgs[n:]
	}
}

// produceRaw sends plain messages (not necessarily CloudEvents).
func produceRaw(t testing.TB, addr string, msgs ...legacybridge.Message) {
	t.Helper()
	e, err := kafkaemitter.NewEmitter(kafkaemitter.Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Emit(context.Background(), msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// event is test event i of type typ with JSON data.
func event(typ string, i int, data string) legacybridge.Event {
	return legacybridge.Event{
		ID:      fmt.Sprintf("ev-%04d", i),
		Source:  "urn:legacybridge:test",
		Type:    typ,
		Subject: fmt.Sprintf("subject-%d", i),
		Time:    time.Date(2024, 12, 2, 7, 50, i%60, 0, time.UTC),
		Data:    []byte(data),
	}
}

// committed returns the group's committed offset per partition of topic
// (missing: none committed).
func committed(t testing.TB, addr, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
		if err == nil && resp.Error == nil {
			out := map[int]int64{}
			for _, p := range resp.Topics[topic] {
				if p.Error == nil && p.CommittedOffset >= 0 {
					out[p.Partition] = p.CommittedOffset
				}
			}
			return out
		}
		if ctx.Err() != nil {
			t.Fatalf("offset fetch: %v %v", err, resp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sum(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// waitFor polls cond until it holds; the deadline only bounds a hung test.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running is a Delivery in a goroutine.
type running struct {
	d      *file.Delivery
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, cfg file.Config, opts ...file.Option) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	d, err := file.New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// logWriter sends log lines to the test log (shown on failure or with -v).
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// stop cancels the run and returns Run's error.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after cancel")
		return nil
	}
}

// wait returns Run's error once it stops by itself.
func (r *running) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop")
		return nil
	}
}

func localFS(t testing.TB) (*local.FS, string) {
	t.Helper()
	dir := t.TempDir()
	fs, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs, dir
}

// files returns the names in dir (recursively, slash-separated) and their
// content.
func files(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil // a temporary file renamed or removed meanwhile
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func names(m map[string]string) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// hookFS wraps a bridges.FS and calls hooks around Create.
type hookFS struct {
	bridges.FS
	mu sync.Mutex
	// onCreate runs before the inner Create; an error fails it.
	onCreate func(ctx context.Context, name string) error
	// afterClose runs after the inner Close published the file (err nil);
	// what it returns is Close's result.
	afterClose func(ctx context.Context, name string) error
	creates    []string
}

func (h *hookFS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	h.mu.Lock()
	h.creates = append(h.creates, name)
	h.mu.Unlock()
	if h.onCreate != nil {
		if err := h.onCreate(ctx, name); err != nil {
			return nil, err
		}
	}
	w, err := h.FS.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	return &hookWriter{WriteCloser: w, ctx: ctx, name: name, h: h}, nil
}

func (h *hookFS) createdNames() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.creates)
}

type hookWriter struct {
	io.WriteCloser
	ctx  context.Context
	name string
	h    *hookFS
}

func (w *hookWriter) Close() error {
	if err := w.WriteCloser.Close(); err != nil {
		return err
	}
	if w.h.afterClose != nil {
		return w.h.afterClose(w.ctx, w.name)
	}
	return nil
}

// nonAtomicFS writes straight to the final name, in small pieces: what a
// careless transport does. Used to show the partner poller catches it.
type nonAtomicFS struct {
	bridges.FS
	dir string
}

func (n *nonAtomicFS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	f, err := os.Create(filepath.Join(n.dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	return &slowWriter{f: f}, nil
}

type slowWriter struct{ f *os.File }

func (s *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 64<<10)
		m, err := s.f.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		time.Sleep(200 * time.Microsecond)
	}
	return n, nil
}

func (s *slowWriter) Close() error { return s.f.Close() }

var errInjected = errors.New("injected failure")

func openLocal(root string) (*local.FS, error) { return local.Open(root) }
