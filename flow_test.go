package legacybridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/local"
	"legacybridge/internal/ledger"
)

// lineParser yields one record per line; a line "BAD" is a parse error.
type lineParser struct{}

type lineReader struct {
	br   *bufio.Reader
	name string
	off  int64
	n    int
}

type placeErr struct{ pos legacybridge.Position }

func (e *placeErr) Error() string                { return "bad line at " + e.pos.String() }
func (e *placeErr) Place() legacybridge.Position { return e.pos }

func (lineParser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	return &lineReader{br: bufio.NewReader(r), name: name}
}

func (l *lineReader) Read() (legacybridge.Record, error) {
	line, err := l.br.ReadString('\n')
	if line == "" && err != nil {
		return legacybridge.Record{}, err
	}
	l.n++
	pos := legacybridge.Position{File: l.name, Offset: l.off, Line: l.n}
	l.off += int64(len(line))
	line = strings.TrimSpace(line)
	if line == "BAD" {
		return legacybridge.Record{}, &placeErr{pos}
	}
	return legacybridge.Record{Format: "line", Type: "line", Pos: pos, Fields: map[string]any{"text": line}}, nil
}

type lineMapper struct{}

func (lineMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	text := r.Fields["text"].(string)
	if text == "NOMAP" {
		return nil, errors.New("cannot map NOMAP")
	}
	d, _ := json.Marshal(map[string]string{"text": text})
	return []legacybridge.Event{{Type: "com.example.line.v1", Subject: text, Data: d}}, nil
}

// memEmitter records messages; failN makes the next N Emit calls fail;
// a message keyed "poison" always fails (transiently), one keyed "huge" is
// refused for good.
type memEmitter struct {
	mu    sync.Mutex
	msgs  []legacybridge.Message
	failN int
}

type refused struct{}

func (refused) Error() string   { return "message too large" }
func (refused) Temporary() bool { return false }

func (m *memEmitter) Emit(ctx context.Context, msgs ...legacybridge.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failN > 0 {
		m.failN--
		return errors.New("broker unavailable")
	}
	for _, msg := range msgs {
		switch string(msg.Key) {
		case "poison":
			return errors.New("broker unavailable for this partition")
		case "huge":
			return fmt.Errorf("emit: %w", refused{})
		}
	}
	m.msgs = append(m.msgs, msgs...)
	return nil
}
func (m *memEmitter) Close() error { return nil }

func (m *memEmitter) topic(t string) []legacybridge.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []legacybridge.Message
	for _, msg := range m.msgs {
		if msg.Topic == t {
			out = append(out, msg)
		}
	}
	return out
}

func header(m legacybridge.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func newFlow(t *testing.T, dir string, em legacybridge.Emitter, led legacybridge.Ledger) *legacybridge.Flow {
	t.Helper()
	fs, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return &legacybridge.Flow{
		Name: "lines", Topic: "events", DeadLetter: "events.dlt",
		Files:  &bridges.Poller{FS: fs, Pattern: "*.txt"},
		Parser: lineParser{}, Mappers: []legacybridge.Mapper{lineMapper{}},
		Emitter: em, Ledger: led, PollInterval: 10 * time.Millisecond, BatchSize: 2,
	}
}

func drop(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	os.Chtimes(p, old, old)
}

func ls(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			r, _ := filepath.Rel(dir, p)
			out = append(out, r)
		}
		return nil
	})
	return out
}

func TestFlowDeliversArchivesAndSkipsDuplicates(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	drop(t, dir, "a.txt", "one\ntwo\nthree\n")
	drop(t, dir, "b.txt", "four\nBAD\nfive\n")
	drop(t, dir, "c.txt", "six\nNOMAP\nseven\n")
	f := newFlow(t, dir, em, led)
	sum, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Archived != 1 || sum.Quarantined != 2 || sum.DeadLetters != 1 {
		t.Fatalf("summary = %+v, want 1 archived, 2 quarantined (parse error, mapping error), 1 dead letter", sum)
	}
	evs := em.topic("events")
	var got []string
	for _, m := range evs {
		got = append(got, string(m.Key))
		for _, k := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"} {
			if header(m, k) == "" {
				t.Errorf("event %s lacks header %s", m.Key, k)
			}
		}
	}
	// b.txt is structurally broken: nothing from it may be emitted.
	if want := "one two three six seven"; strings.Join(got, " ") != want {
		t.Fatalf("events = %q, want %q", strings.Join(got, " "), want)
	}
	dl := em.topic("events.dlt")
	if len(dl) != 1 || header(dl[0], "x-bridge-source-file") != "c.txt" || !strings.Contains(header(dl[0], "x-bridge-error"), "NOMAP") {
		t.Fatalf("dead letters = %+v", dl)
	}
	rep, err := os.ReadFile(filepath.Join(dir, "error", "b.txt.error.json"))
	if err != nil {
		t.Fatalf("no error report for b.txt: %v (files: %v)", err, ls(t, dir))
	}
	var r legacybridge.QuarantineReport
	json.Unmarshal(rep, &r)
	if r.Place == nil || r.Place.Line != 2 || r.Place.Offset != 5 || r.Flow != "lines" || r.Hash == "" {
		t.Fatalf("report = %s", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "archive", time.Now().UTC().Format("2006-01-02"), "a.txt")); err != nil {
		t.Fatalf("a.txt not archived: %v", ls(t, dir))
	}

	// Identical content dropped again under another name: skipped.
	drop(t, dir, "a-again.txt", "one\ntwo\nthree\n")
	sum, err = newFlow(t, dir, em, led).RunOnce(context.Background())
	if err != nil || sum.Duplicates != 1 || sum.Events != 0 {
		t.Fatalf("re-drop: summary %+v, %v; want 1 duplicate, no events", sum, err)
	}
	if n := len(em.topic("events")); n != 5 {
		t.Fatalf("re-drop emitted events: now %d", n)
	}
}

func TestFlowRetriesEmitterAndKeepsIDs(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{failN: 2}
	drop(t, dir, "a.txt", "one\ntwo\nthree\n")
	f := newFlow(t, dir, em, nil)
	f.RetryBackoff = time.Millisecond
	sum, err := f.RunOnce(context.Background())
	if err != nil || sum.Archived != 1 || sum.Events != 3 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	first := em.topic("events")

	// A crash after emitting but before archiving: the file is back in
	// processing/ and is redone with the same event ids.
	arch := filepath.Join(dir, "archive", time.Now().UTC().Format("2006-01-02"), "a.txt")
	os.MkdirAll(filepath.Join(dir, "processing"), 0o755)
	if err := os.Rename(arch, filepath.Join(dir, "processing", "a.txt")); err != nil {
		t.Fatal(err)
	}
	em2 := &memEmitter{}
	if _, err := newFlow(t, dir, em2, nil).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := em2.topic("events")
	if len(second) != len(first) {
		t.Fatalf("redelivery emitted %d events, first run %d", len(second), len(first))
	}
	for i := range first {
		if a, b := header(first[i], "ce_id"), header(second[i], "ce_id"); a != b || a == "" {
			t.Errorf("event %d: ce_id %q then %q; redelivery must keep ids", i, a, b)
		}
	}
}

func TestFlowRunOnceGivesUpOnDeadEmitter(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{failN: 1000}
	drop(t, dir, "a.txt", "one\n")
	f := newFlow(t, dir, em, nil)
	f.RetryBackoff = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := f.RunOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "processing folder") {
		t.Fatalf("err = %v, want an error saying the file stays in the processing folder", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "processing", "a.txt")); serr != nil {
		t.Fatalf("file not left claimed: %v", ls(t, dir))
	}
}

func TestEventIDDeterministic(t *testing.T) {
	a := legacybridge.EventID("f", "h", 1, 0)
	if a != legacybridge.EventID("f", "h", 1, 0) {
		t.Fatal("not deterministic")
	}
	seen := map[string]bool{}
	for _, id := range []string{a, legacybridge.EventID("f", "h", 2, 0), legacybridge.EventID("f", "h", 1, 1), legacybridge.EventID("g", "h", 1, 0), legacybridge.EventID("f", "i", 1, 0)} {
		if seen[id] {
			t.Fatalf("collision: %s", id)
		}
		seen[id] = true
	}
	_ = fmt.Sprint
}

func TestFlowFailingFileDoesNotBlockOthers(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	drop(t, dir, "a.txt", "one\npoison\n")
	drop(t, dir, "b.txt", "two\n")
	drop(t, dir, "c.txt", "huge\n")
	drop(t, dir, "d.txt", "")
	f := newFlow(t, dir, em, nil)
	f.RetryBackoff = time.Millisecond
	sum, err := f.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a.txt") || !strings.Contains(err.Error(), "processing folder") {
		t.Fatalf("err = %v, want one naming a.txt left in the processing folder", err)
	}
	if sum.Archived != 1 || sum.Quarantined != 2 {
		t.Fatalf("summary %+v, want b.txt archived and c.txt, d.txt quarantined", sum)
	}
	for _, p := range []string{"processing/a.txt", "error/c.txt", "error/c.txt.error.json", "error/d.txt.error.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s missing: %v (files: %v)", p, err, ls(t, dir))
		}
	}
	if ok, st := f.Status(); ok || !strings.Contains(st, "a.txt") {
		t.Errorf("Status() = %v, %q; want unhealthy naming a.txt", ok, st)
	}
	rep, _ := os.ReadFile(filepath.Join(dir, "error", "c.txt.error.json"))
	if !strings.Contains(string(rep), "message too large") || !strings.Contains(string(rep), "Kafka refused") {
		t.Errorf("c.txt report: %s", rep)
	}
	rep, _ = os.ReadFile(filepath.Join(dir, "error", "d.txt.error.json"))
	if !strings.Contains(string(rep), "no records") {
		t.Errorf("d.txt report: %s", rep)
	}
}

func TestFlowMappingFailurePlace(t *testing.T) {
	dir := t.TempDir()
	em := &memEmitter{}
	drop(t, dir, "c.txt", "six\nNOMAP\n")
	if _, err := newFlow(t, dir, em, nil).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "error", "c.txt.error.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r legacybridge.QuarantineReport
	json.Unmarshal(b, &r)
	if len(r.Errors) != 1 || !strings.Contains(r.Reason, "NOMAP") {
		t.Fatalf("report = %s", b)
	}
}

// hookMapper runs hook on the first record it maps.
type hookMapper struct {
	lineMapper
	once sync.Once
	hook func()
}

func (h *hookMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	h.once.Do(h.hook)
	return h.lineMapper.Map(r)
}

func TestFlowFileGrowingAfterPickupQuarantined(t *testing.T) {
	dir := t.TempDir()
	drop(t, dir, "a.txt", "one\n")
	f := newFlow(t, dir, &memEmitter{}, nil)
	f.Mappers = []legacybridge.Mapper{&hookMapper{hook: func() {
		fh, _ := os.OpenFile(filepath.Join(dir, "processing", "a.txt"), os.O_APPEND|os.O_WRONLY, 0)
		fh.WriteString("two\n")
		fh.Close()
	}}}
	sum, err := f.RunOnce(context.Background())
	if err != nil || sum.Quarantined != 1 || sum.Archived != 0 {
		t.Fatalf("summary %+v, %v; want the growing file quarantined", sum, err)
	}
	rep, _ := os.ReadFile(filepath.Join(dir, "error", "a.txt.error.json"))
	if !strings.Contains(string(rep), "changed after it was picked up") {
		t.Fatalf("report: %s", rep)
	}
}

// goneEmitter deletes the claimed file, then fails like a broker outage.
type goneEmitter struct {
	memEmitter
	path string
}

func (g *goneEmitter) Emit(ctx context.Context, msgs ...legacybridge.Message) error {
	os.Remove(g.path)
	return errors.New("broker unavailable")
}

func TestFlowClaimedFileRemovedIsNotRetriedForever(t *testing.T) {
	dir := t.TempDir()
	drop(t, dir, "a.txt", "one\n")
	drop(t, dir, "b.txt", "two\n")
	em := &goneEmitter{path: filepath.Join(dir, "processing", "a.txt")}
	f := newFlow(t, dir, em, nil)
	f.RetryBackoff = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.RunOnce(ctx)
	if ok, st := f.Status(); strings.Contains(st, "a.txt") {
		t.Fatalf("a.txt, removed by someone else, still waits for a retry: %v %q", ok, st)
	}
}
