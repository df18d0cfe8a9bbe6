package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	kafka "github.com/segmentio/kafka-go"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/emitters/file"
	kafkaemitter "legacybridge/emitters/kafka"
)

const (
	typeA = "com.legacybridge.test.a.v1"
	typeB = "com.legacybridge.test.b.v1"
)

// TestDeliverJSON: events become files with the right names and bytes, with
// done markers; other types are committed and skipped; no temporary files
// are left.
func TestDeliverJSON(t *testing.T) {
	addr := startBroker(t, 4)
	fs, dir := localFS(t)
	var evs []legacybridge.Event
	want := map[string]string{}
	for i := range 20 {
		typ := typeA
		if i%5 == 4 {
			typ = typeB
		}
		ev := event(typ, i, fmt.Sprintf(`{"n": %d, "amount": 12.50, "text": "é"}`, i))
		evs = append(evs, ev)
		if typ == typeA {
			name := fmt.Sprintf("partner/in/%s_%s.json", typ, ev.ID)
			want[name] = string(ev.Data)
			want[name+".done"] = ""
		}
	}
	produce(t, addr, "out", evs...)
	reg := prometheus.NewRegistry()
	r := start(t, file.Config{Name: "json-out", Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: fs, Dir: "partner/in",
		NameTemplate: "{{.Type}}_{{.ID}}{{.FileExt}}", DoneSuffix: ".done", Encoder: file.JSON{}, Types: []string{typeA},
		MaxWait: 400 * time.Millisecond}, file.WithMetrics(reg))
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "g", "out", 4)) == 20 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	st := r.d.Stats()
	if st.Delivered != 16 || st.Skipped != 4 || st.Committed != 20 || st.DeadLettered != 0 || st.Failing {
		t.Errorf("stats %+v, want 16 delivered, 4 skipped, 20 committed", st)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "json-out" {
				t.Errorf("%s labelled %v", mf.GetName(), m.GetLabel())
			}
			if c := m.GetCounter(); c != nil {
				got[mf.GetName()] = c.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				got[mf.GetName()] = float64(h.GetSampleCount())
			}
		}
	}
	wantM := map[string]float64{"legacybridge_delivery_files_total": 16, "legacybridge_delivery_committed_total": 20,
		"legacybridge_delivery_skipped_total": 4, "legacybridge_delivery_write_seconds": 16}
	for k, v := range wantM {
		if got[k] != v {
			t.Errorf("metric %s = %v, want %v", k, got[k], v)
		}
	}
}

// TestShutdownFinishesFileInHand: when ctx ends while a file is being
// written, Run lets it finish (within ShutdownGrace), commits it, and
// returns nil; what was not started is left for the next run.
func TestShutdownFinishesFileInHand(t *testing.T) {
	addr := startBroker(t, 1)
	fs, dir := localFS(t)
	produce(t, addr, "out", event(typeA, 0, `{"n":0}`), event(typeA, 1, `{"n":1}`), event(typeA, 2, `{"n":2}`))
	inHand, release := make(chan struct{}), make(chan struct{})
	h := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		if name == "ev-0001.json" {
			close(inHand)
			<-release
		}
		return nil
	}}
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: h, Encoder: file.JSON{},
		MaxWait: 400 * time.Millisecond})
	<-inHand
	r.cancel()
	time.Sleep(50 * time.Millisecond) // the file is still in hand after ctx ended
	close(release)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := names(files(t, dir)); !cmp.Equal(got, []string{"ev-0000.json", "ev-0001.json"}) {
		t.Errorf("files %v, want the first two", got)
	}
	if c := committed(t, addr, "g", "out", 1); c[0] != 2 {
		t.Errorf("committed %v, want 2", c)
	}
}

// TestCommitOnlyAfterFile: whenever the group's committed offset is c,
// the files (and markers) of every message below c are complete; and no
// file is started after its offset was committed.
func TestCommitOnlyAfterFile(t *testing.T) {
	addr := startBroker(t, 1)
	fs, dir := localFS(t)
	const n = 30
	var evs []legacybridge.Event
	for i := range n {
		evs = append(evs, event(typeA, i, fmt.Sprintf(`{"n":%d}`, i)))
	}
	produce(t, addr, "out", evs...)
	var mu sync.Mutex
	var problems []string
	h := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(name, "ev-"), ".done"), ".json"))
		if err != nil {
			return err
		}
		if c := committed(t, addr, "g", "out", 1)[0]; c > int64(i) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%s created with offset %d already committed", name, c))
			mu.Unlock()
		}
		return nil
	}}
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: h, DoneSuffix: ".done",
		Encoder: file.JSON{}, MaxWait: 400 * time.Millisecond})
	checks := 0
	waitFor(t, "every offset committed", func() bool {
		c := committed(t, addr, "g", "out", 1)[0]
		got := files(t, dir)
		for i := range c {
			name := fmt.Sprintf("ev-%04d.json", i)
			if got[name] != string(evs[i].Data) {
				t.Fatalf("offset %d committed but %s holds %q, want %q", c, name, got[name], evs[i].Data)
			}
			if _, ok := got[name+".done"]; !ok {
				t.Fatalf("offset %d committed but %s.done is missing", c, name)
			}
		}
		checks++
		return c == n
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("committed before the file:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("%d checks of committed offset against the folder", checks)
}

// TestCrashBetweenRenameAndCommit: the delivery dies after a file was
// renamed into place and before its offset was committed. The restart
// writes the same file again (same name, same bytes): no second file,
// nothing lost.
func TestCrashBetweenRenameAndCommit(t *testing.T) {
	addr := startBroker(t, 1)
	fs, dir := localFS(t)
	const n = 6
	var evs []legacybridge.Event
	for i := range n {
		evs = append(evs, event(typeA, i, fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", 1000*i))))
	}
	produce(t, addr, "out", evs...)
	crashed := make(chan struct{})
	var once sync.Once
	h := &hookFS{FS: fs, afterClose: func(ctx context.Context, name string) error {
		if name != "ev-0002.json" {
			return nil
		}
		hit := false
		once.Do(func() { hit = true })
		if !hit {
			return nil
		}
		close(crashed) // renamed; now "crash" before anything else happens
		<-ctx.Done()
		return context.Cause(ctx)
	}}
	cfg := file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: h, Encoder: file.JSON{},
		MaxWait: 400 * time.Millisecond, ShutdownGrace: time.Millisecond}
	r := start(t, cfg)
	select {
	case <-crashed:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery never reached ev-0002.json")
	}
	if got := files(t, dir)["ev-0002.json"]; got != string(evs[2].Data) {
		t.Fatalf("after the rename ev-0002.json holds %d bytes, want %d", len(got), len(evs[2].Data))
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if c := committed(t, addr, "g", "out", 1); c[0] != 2 {
		t.Fatalf("committed %v after the crash, want partition 0 at 2 (ev-0002 not committed)", c)
	}

	h2 := &hookFS{FS: fs}
	cfg.FS = h2
	r2 := start(t, cfg)
	waitFor(t, "every offset committed", func() bool { return committed(t, addr, "g", "out", 1)[0] == n })
	if err := r2.stop(t); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, ev := range evs {
		want[ev.ID+".json"] = string(ev.Data)
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files after the restart (-want +got):\n%s", diff)
	}
	if got, want := h2.createdNames(), []string{"ev-0002.json", "ev-0003.json", "ev-0004.json", "ev-0005.json"}; !cmp.Equal(got, want) {
		t.Errorf("the restart created %v, want %v (ev-0002 rewritten, nothing committed rewritten)", got, want)
	}
}

// partnerPoller lists a folder in a tight loop, as a partner's pickup job
// does, and reads every visible (not hidden) file the first time it sees
// it, comparing it with what the file must hold.
type partnerPoller struct {
	dir      string
	expected func(name string) ([]byte, bool)

	mu       sync.Mutex
	seen     map[string]bool
	problems []string
	lists    int
}

func (p *partnerPoller) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		des, err := os.ReadDir(p.dir)
		if err != nil {
			continue // not created yet
		}
		p.mu.Lock()
		p.lists++
		p.mu.Unlock()
		for _, de := range des {
			name := de.Name()
			if strings.HasPrefix(name, ".") || de.IsDir() {
				continue
			}
			p.mu.Lock()
			seen := p.seen[name]
			p.mu.Unlock()
			if seen {
				continue
			}
			got, err := os.ReadFile(filepath.Join(p.dir, name))
			if err != nil {
				p.problem("%s listed but not readable: %v", name, err)
				continue
			}
			want, ok := p.expected(name)
			switch {
			case !ok:
				p.problem("unexpected file %s (%d bytes)", name, len(got))
			case !bytes.Equal(got, want):
				p.problem("%s read with %d bytes, want %d", name, len(got), len(want))
			}
			p.mu.Lock()
			p.seen[name] = true
			p.mu.Unlock()
		}
	}
}

func (p *partnerPoller) problem(format string, args ...any) {
	p.mu.Lock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// bigData is event i's ~1 MB payload, different for every i.
func bigData(i, size int) []byte {
	head := fmt.Sprintf(`{"i":%d,"pad":"`, i)
	unit := fmt.Sprintf("%05d-", i)
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	for b.Len() < size-2 {
		b.WriteString(unit[:min(len(unit), size-2-b.Len())])
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

func pollDelivery(t *testing.T, n, size int, fs func(dir string) bridges.FS) *partnerPoller {
	addr := startBroker(t, 4)
	root := t.TempDir()
	for from := 0; from < n; from += 10 {
		var evs []legacybridge.Event
		for i := from; i < min(from+10, n); i++ {
			evs = append(evs, event(typeA, i, string(bigData(i, size))))
		}
		produce(t, addr, "big", evs...)
	}
	drop := filepath.Join(root, "drop")
	p := &partnerPoller{dir: drop, seen: map[string]bool{}, expected: func(name string) ([]byte, bool) {
		var i int
		if _, err := fmt.Sscanf(name, "ev-%04d.json", &i); err != nil || i >= n || fmt.Sprintf("ev-%04d.json", i) != name {
			return nil, false
		}
		return bigData(i, size), true
	}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.run(stop)
	}()
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "big", GroupID: "g", FS: fs(root), Dir: "drop",
		Encoder: file.JSON{}, Concurrency: 4})
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "g", "big", 4)) == int64(n) })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// One more full pass after the last commit.
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	return p
}

// TestPartnerNeverSeesPartialFile: while 200 files of about 1 MB are
// delivered (4 at a time), a partner listing the folder in a tight loop and
// reading every visible file never gets a partial one, and sees them all.
func TestPartnerNeverSeesPartialFile(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB through the broker")
	}
	n, size := 200, 1_000_000
	if raceEnabled {
		n = 40
	}
	p := pollDelivery(t, n, size, func(root string) bridges.FS {
		fs, err := openLocal(root)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	})
	if len(p.problems) > 0 {
		t.Fatalf("the partner saw %d bad files, e.g.:\n%s", len(p.problems), strings.Join(p.problems[:min(10, len(p.problems))], "\n"))
	}
	if len(p.seen) != n {
		t.Fatalf("the partner saw %d files, want %d", len(p.seen), n)
	}
	t.Logf("partner listed the folder %d times", p.lists)
}

// TestPartnerPollerCatchesPartialFiles shows the poller above can fail: a
// transport that writes straight to the final name is caught.
func TestPartnerPollerCatchesPartialFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("30 MB through the broker")
	}
	n, size := 30, 1_000_000
	if raceEnabled {
		n = 10
	}
	p := pollDelivery(t, n, size, func(root string) bridges.FS {
		fs, err := openLocal(root)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return &nonAtomicFS{FS: fs, dir: root}
	})
	if len(p.problems) == 0 {
		t.Fatal("the partner poller did not notice files written in place")
	}
	t.Logf("caught: %d, e.g. %s", len(p.problems), p.problems[0])
}

// TestWriteFailuresRetried: while the drop fails, the delivery retries with
// backoff, reports it in Stats, writes nothing and commits nothing; once
// the drop works again everything arrives.
func TestWriteFailuresRetried(t *testing.T) {
	addr := startBroker(t, 1)
	fs, dir := localFS(t)
	const n = 5
	var evs []legacybridge.Event
	for i := range n {
		evs = append(evs, event(typeA, i, fmt.Sprintf(`{"n":%d}`, i)))
	}
	produce(t, addr, "out", evs...)
	var failing atomic.Bool
	var attempts atomic.Int64
	failing.Store(true)
	h := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		if failing.Load() {
			attempts.Add(1)
			return fmt.Errorf("drop unreachable: %w", errInjected)
		}
		return nil
	}}
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: h, Encoder: file.JSON{},
		RetryMin: 2 * time.Millisecond, RetryMax: 10 * time.Millisecond, MaxWait: 400 * time.Millisecond})
	waitFor(t, "10 failed attempts", func() bool {
		if c := committed(t, addr, "g", "out", 1); len(c) > 0 {
			t.Fatalf("committed %v while every write fails", c)
		}
		return attempts.Load() >= 10
	})
	st := r.d.Stats()
	if !st.Failing || st.Retries < 9 || !strings.Contains(st.LastError, "drop unreachable") || st.Delivered != 0 {
		t.Errorf("stats while failing: %+v", st)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files while failing: %v", names(got))
	}
	failing.Store(false)
	waitFor(t, "every offset committed", func() bool { return committed(t, addr, "g", "out", 1)[0] == n })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != n {
		t.Errorf("files after recovery: %v", names(got))
	}
	if st := r.d.Stats(); st.Failing || st.Delivered != n {
		t.Errorf("stats after recovery: %+v", st)
	}
}

// readTopic reads n messages of a topic from the start.
func readTopic(t testing.TB, addr, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupID: "readback-" + topic, Topic: topic,
		StartOffset: kafka.FirstOffset, MaxWait: 400 * time.Millisecond, JoinGroupBackoff: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d messages of %s: %v", len(out), n, topic, err)
			}
			continue
		}
		out = append(out, m)
	}
	return out
}

func headerValue(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestUnsafeNamesDeadLettered: names made from event content that would
// leave the folder, hide the file or not be one name are refused; with a
// dead-letter topic those events go there with the reason, the rest is
// delivered, and nothing is written outside the folder.
func TestUnsafeNamesDeadLettered(t *testing.T) {
	addr := startBroker(t, 1)
	fs, root := localFS(t)
	subjects := []string{"ok-1", "../evil", "a/b", "..", ".hidden", `a\b`, "ok-2", "../../etc/passwd"}
	var evs []legacybridge.Event
	for i, s := range subjects {
		ev := event(typeA, i, fmt.Sprintf(`{"n":%d}`, i))
		ev.Subject = s
		evs = append(evs, ev)
	}
	produce(t, addr, "out", evs...)
	dlt, err := kafkaemitter.NewEmitter(kafkaemitter.Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer dlt.Close()
	r := start(t, file.Config{Name: "partner-x", Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: fs, Dir: "drop",
		NameTemplate: "{{.Subject}}.json", Encoder: file.JSON{}, DeadLetter: dlt, DeadLetterTopic: "out.dlt",
		MaxWait: 400 * time.Millisecond})
	waitFor(t, "every offset committed", func() bool { return committed(t, addr, "g", "out", 1)[0] == int64(len(subjects)) })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"drop/ok-1.json": string(evs[0].Data), "drop/ok-2.json": string(evs[6].Data)}
	if diff := cmp.Diff(want, files(t, root)); diff != "" {
		t.Errorf("files under the FS root (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil.json")); err == nil {
		t.Error("evil.json was written outside the folder")
	}
	got := readTopic(t, addr, "out.dlt", 6)
	for i, m := range got {
		ev := evs[[]int{1, 2, 3, 4, 5, 7}[i]]
		if headerValue(m, "ce_id") != ev.ID || string(m.Value) != string(ev.Data) {
			t.Errorf("dead letter %d: ce_id %q value %q, want the original event %s", i, headerValue(m, "ce_id"), m.Value, ev.ID)
		}
		for k, v := range map[string]string{"x-bridge-stage": "name", "x-bridge-delivery": "partner-x", "x-bridge-source-topic": "out",
			"__connect.errors.offset": strconv.Itoa([]int{1, 2, 3, 4, 5, 7}[i])} {
			if got := headerValue(m, k); got != v {
				t.Errorf("dead letter %d: header %s = %q, want %q", i, k, got, v)
			}
		}
		if e := headerValue(m, "x-bridge-error"); !strings.Contains(e, "unsafe file name") || !strings.Contains(e, strings.Trim(strconv.Quote(ev.Subject), `"`)) {
			t.Errorf("dead letter %d: x-bridge-error %q does not name the unsafe name %q", i, e, ev.Subject)
		}
	}
	if st := r.d.Stats(); st.DeadLettered != 6 || st.Delivered != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestUndeliverableStops: without a dead-letter topic an event that cannot
// be delivered stops the delivery with an error naming it, and its offset
// is not committed, so a restart stops at it again: it is never skipped.
func TestUndeliverableStops(t *testing.T) {
	addr := startBroker(t, 1)
	fs, root := localFS(t)
	good := event(typeA, 0, `{"n":0}`)
	bad := event(typeA, 1, `{"n":1}`)
	bad.Subject = "../x"
	produce(t, addr, "out", good, bad, event(typeA, 2, `{"n":2}`))
	cfg := file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: fs, NameTemplate: "{{.Subject}}.json",
		Encoder: file.JSON{}, MaxWait: 400 * time.Millisecond}
	for run := range 2 {
		r := start(t, cfg)
		err := r.wait(t)
		var ee *file.EventError
		if !errors.As(err, &ee) || !errors.Is(err, bridges.ErrUnsafeName) {
			t.Fatalf("run %d: Run returned %v, want an *EventError wrapping ErrUnsafeName", run, err)
		}
		if ee.ID != bad.ID || ee.Offset != 1 || ee.Stage != "name" || !strings.Contains(err.Error(), "not committed") {
			t.Errorf("run %d: error %+v: %v", run, *ee, err)
		}
		if c := committed(t, addr, "g", "out", 1); c[0] != 1 {
			t.Fatalf("run %d: committed %v, want 1 (the bad event stays uncommitted)", run, c)
		}
	}
	if got := names(files(t, root)); !cmp.Equal(got, []string{"subject-0.json"}) {
		t.Errorf("files %v", got)
	}
}

// TestNotACloudEvent: a message without CloudEvents attributes is
// dead-lettered at the decode stage.
func TestNotACloudEvent(t *testing.T) {
	addr := startBroker(t, 1)
	fs, root := localFS(t)
	produceRaw(t, addr, legacybridge.Message{Topic: "out", Key: []byte("k"), Value: []byte(`{"plain":true}`)})
	produce(t, addr, "out", event(typeA, 1, `{"n":1}`))
	dlt, err := kafkaemitter.NewEmitter(kafkaemitter.Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer dlt.Close()
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: fs, Encoder: file.JSON{},
		DeadLetter: dlt, DeadLetterTopic: "dlt", MaxWait: 400 * time.Millisecond})
	waitFor(t, "both committed", func() bool { return committed(t, addr, "g", "out", 1)[0] == 2 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	m := readTopic(t, addr, "dlt", 1)[0]
	if headerValue(m, "x-bridge-stage") != "decode" || !strings.Contains(headerValue(m, "x-bridge-error"), "not a CloudEvent") ||
		string(m.Key) != "k" || string(m.Value) != `{"plain":true}` {
		t.Errorf("dead letter: key %q value %q headers %v", m.Key, m.Value, m.Headers)
	}
	if got := names(files(t, root)); !cmp.Equal(got, []string{"ev-0001.json"}) {
		t.Errorf("files %v", got)
	}
}

// TestNewChecks: New refuses incomplete or contradictory configurations.
func TestNewChecks(t *testing.T) {
	fs, _ := localFS(t)
	ok := file.Config{Topic: "t", GroupID: "g", FS: fs, Encoder: file.JSON{}}
	for _, c := range []struct {
		name string
		edit func(*file.Config)
		want string
	}{
		{"no topic", func(c *file.Config) { c.Topic = "" }, "no topic"},
		{"no group", func(c *file.Config) { c.GroupID = "" }, "no group id"},
		{"no fs", func(c *file.Config) { c.FS = nil }, "no FS"},
		{"no encoder", func(c *file.Config) { c.Encoder = nil }, "no encoder"},
		{"dlt half", func(c *file.Config) { c.DeadLetterTopic = "d" }, "both DeadLetter and DeadLetterTopic"},
		{"bad template", func(c *file.Config) { c.NameTemplate = "{{.ID" }, "name template"},
		{"dir escapes", func(c *file.Config) { c.Dir = "../out" }, "unsafe file name"},
		{"bad broker", func(c *file.Config) { c.Brokers = []string{"nohost"} }, "broker address"},
		{"bad path", func(c *file.Config) { c.ControlNumberPath = "shipmentId" }, "must start with $"},
		{"wild path", func(c *file.Config) { c.ControlNumberPath = "$.a[*]" }, "pick one value"},
		{"retry", func(c *file.Config) { c.RetryMin, c.RetryMax = time.Second, time.Millisecond }, "RetryMax"},
		{"suffix", func(c *file.Config) { c.DoneSuffix = "/x" }, "done suffix"},
	} {
		cfg := ok
		c.edit(&cfg)
		if _, err := file.New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if _, err := file.New(ok); err != nil {
		t.Errorf("New(ok): %v", err)
	}
}

// TestTwoDeliveriesShareAGroup: a second delivery joins the group while the
// first holds files in hand (its writes are held up until the second has
// delivered, so the rebalance happens mid-flight and partitions come back
// from their committed offsets). Every event ends up as exactly one file
// with the right bytes and every offset is committed.
//
// Both deliveries then write some names at once: the first finishes the
// files of its old generation while the new owner writes them. This once
// stalled under load (the sum of committed offsets stuck below n): the
// first committed those files after the rebalance, moving a partition the
// second had finished back (see TestRevokedPartitionNotCommittedByOldOwner),
// and the shared temporary name failed one of the two renames, which delayed
// that commit past the new owner's last one.
func TestTwoDeliveriesShareAGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a consumer group rebalance")
	}
	addr := startBroker(t, 4)
	fs, dir := localFS(t)
	const n = 300
	var evs []legacybridge.Event
	want := map[string]string{}
	for i := range n {
		ev := event(typeA, i, fmt.Sprintf(`{"n":%d}`, i))
		evs = append(evs, ev)
		want[ev.ID+".json"] = string(ev.Data)
	}
	produce(t, addr, "out", evs...)
	var r1, r2 atomic.Pointer[running]
	held := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		// Once the first has written 20 files, hold its writes until the
		// second delivery has written one.
		deadline := time.Now().Add(30 * time.Second)
		for r1.Load().d.Stats().Delivered >= 20 && time.Now().Before(deadline) && ctx.Err() == nil {
			if x := r2.Load(); x != nil && x.d.Stats().Delivered > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}}
	cfg := file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: held, Encoder: file.JSON{},
		Concurrency: 2, MaxWait: 400 * time.Millisecond}
	r1.Store(start(t, cfg))
	waitFor(t, "the first delivery to write 20 files", func() bool { return r1.Load().d.Stats().Delivered >= 20 })
	cfg.FS = fs
	r2.Store(start(t, cfg))
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "g", "out", 4)) == n })
	if err := r1.Load().stop(t); err != nil {
		t.Fatal(err)
	}
	if err := r2.Load().stop(t); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	s1, s2 := r1.Load().d.Stats(), r2.Load().d.Stats()
	t.Logf("first delivery wrote %d files, second %d (%d written twice)", s1.Delivered, s2.Delivered, s1.Delivered+s2.Delivered-n)
	if s2.Delivered == 0 || s1.Delivered+s2.Delivered < n {
		t.Errorf("%d + %d files written, want the second to take part and at least %d in all", s1.Delivered, s2.Delivered, n)
	}
}

// TestRevokedPartitionNotCommittedByOldOwner: a delivery that still holds
// a file of a partition the group has since given to another member must
// not commit that partition when the file is finally written. The broker
// accepts a commit for any partition from a member of the current
// generation, so such a late commit would move the group's offset back
// below what the new owner delivered (the next owner, after a restart or a
// rebalance, delivers those files to the partner again).
//
// The topic has one partition; the range balancer (kafka-go's first choice)
// gives it to the member whose id sorts last, and kfake's member ids start
// with the client id: "z-…" (the second delivery) takes it from "a-…" (the
// first).
func TestRevokedPartitionNotCommittedByOldOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a consumer group rebalance")
	}
	addr := startBroker(t, 1)
	fs, dir := localFS(t)
	const n, before = 60, 5
	var evs []legacybridge.Event
	want := map[string]string{}
	for i := range n {
		ev := event(typeA, i, fmt.Sprintf(`{"n":%d}`, i))
		evs = append(evs, ev)
		want[ev.ID+".json"] = string(ev.Data)
	}
	produce(t, addr, "out", evs...)

	// The first delivery writes `before` files, then its next write waits
	// until release is closed.
	var creates atomic.Int64
	held := make(chan string, 1)
	release := make(chan struct{})
	hold := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		if creates.Add(1) == before+1 {
			held <- name
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	}}
	cfg := file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: hold, Encoder: file.JSON{},
		ClientID: "a-old-owner", MaxWait: 400 * time.Millisecond}
	old := start(t, cfg)
	heldName := <-held
	waitFor(t, "the files before the held one committed", func() bool { return committed(t, addr, "g", "out", 1)[0] == before })

	cfg.FS, cfg.ClientID = fs, "z-new-owner"
	owner := start(t, cfg)
	waitFor(t, "the new owner to deliver the partition", func() bool { return committed(t, addr, "g", "out", 1)[0] == n })
	close(release)
	waitFor(t, "the held file written", func() bool { return old.d.Stats().Delivered > before })
	if err := old.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := owner.stop(t); err != nil {
		t.Fatal(err)
	}
	if c := committed(t, addr, "g", "out", 1); c[0] != n {
		t.Errorf("committed offset %d after the old owner finished %s, want %d (the new owner's): the old owner committed a partition it no longer had",
			c[0], heldName, n)
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	s := owner.d.Stats()
	if s.Delivered != n-before || s.Committed != n-before {
		t.Errorf("new owner: %+v, want %d delivered and committed", s, n-before)
	}
	// The old owner finished the file it was writing, started none of the
	// others it had fetched, and committed nothing after the rebalance.
	if s := old.d.Stats(); s.Delivered != before+1 || s.Committed != before {
		t.Errorf("old owner: %+v, want %d delivered and %d committed", s, before+1, before)
	}
}

// TestDeliveriesJoinAndLeave: deliveries of one group join and leave, one
// after the other, while events keep arriving and files are being written
// (writes are slowed, one in 40 a lot, so rebalances find files in hand).
// Every event ends up as a file with the right bytes, every offset is
// committed, and no committed offset ever goes back (a late commit of a
// partition given up would).
func TestDeliveriesJoinAndLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for several consumer group rebalances")
	}
	const partitions = 4
	addr := startBroker(t, partitions)
	fs, dir := localFS(t)
	var creates atomic.Int64
	slow := &hookFS{FS: fs, onCreate: func(ctx context.Context, name string) error {
		// Now and then a write takes long (a slow partner link): a
		// rebalance then finds it in hand while the partition's new owner
		// delivers past it.
		if creates.Add(1)%40 == 0 {
			time.Sleep(300 * time.Millisecond)
		} else {
			time.Sleep(3 * time.Millisecond)
		}
		return nil
	}}
	cfg := file.Config{Brokers: []string{addr}, Topic: "out", GroupID: "g", FS: slow, Encoder: file.JSON{},
		Concurrency: 2, MaxWait: 400 * time.Millisecond}

	// Events arrive all along, about 100 a second.
	var (
		mu        sync.Mutex
		want      = map[string]string{}
		backwards []string
	)
	stopProducing, produced := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(produced)
		e, err := kafkaemitter.NewEmitter(kafkaemitter.Config{Brokers: []string{addr}})
		if err != nil {
			t.Error(err)
			return
		}
		defer e.Close()
		for i := 0; ; {
			select {
			case <-stopProducing:
				return
			case <-time.After(50 * time.Millisecond):
			}
			var msgs []legacybridge.Message
			mu.Lock()
			for range 5 {
				ev := event(typeA, i, fmt.Sprintf(`{"n":%d}`, i))
				msgs = append(msgs, ev.Message("out"))
				want[ev.ID+".json"] = string(ev.Data)
				i++
			}
			mu.Unlock()
			if err := e.Emit(context.Background(), msgs...); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
		}
	}()
	// The committed offsets may only grow.
	stopWatching, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		last := map[int]int64{}
		for {
			for p, o := range committed(t, addr, "g", "out", partitions) {
				if o < last[p] {
					mu.Lock()
					backwards = append(backwards, fmt.Sprintf("partition %d: %d after %d", p, o, last[p]))
					mu.Unlock()
				}
				last[p] = max(last[p], o)
			}
			select {
			case <-stopWatching:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// writing waits until r has written more files: it has partitions (the
	// rebalance is over) and events keep coming.
	writing := func(what string, r *running) {
		t.Helper()
		n := r.d.Stats().Delivered
		waitFor(t, what, func() bool { return r.d.Stats().Delivered > n+10 })
	}
	live := []*running{start(t, cfg)}
	writing("the first delivery to write", live[0])
	for step := 1; step <= 4; step++ {
		r := start(t, cfg)
		live = append(live, r)
		writing(fmt.Sprintf("delivery %d to join and write", step+1), r)
		if step%2 == 0 {
			if err := live[0].stop(t); err != nil {
				t.Fatal(err)
			}
			live = live[1:]
			for _, r := range live {
				writing("the others to write after one left", r)
			}
		}
	}
	close(stopProducing)
	<-produced
	mu.Lock()
	n := int64(len(want))
	mu.Unlock()
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "g", "out", partitions)) == n })
	for _, r := range live {
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	}
	close(stopWatching)
	<-watched
	if c := sum(committed(t, addr, "g", "out", partitions)); c != n {
		t.Errorf("committed %d after the deliveries stopped, want %d", c, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(backwards) > 0 {
		t.Errorf("committed offsets went back: %v", backwards)
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	t.Logf("%d events through 5 deliveries and 6 rebalances", n)
}
