package legacybridge_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
	"legacybridge/bridges/local"
	"legacybridge/internal/ledger"
	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
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

// cutFS cuts the reads of chosen opens (1-based, counting every Open) after
// n bytes. mode "error": Read fails like a reset connection; "close": an
// early io.EOF and Close fails (an aborted FTP transfer); "silent": an early
// io.EOF and a nil Close (a transport breaking the bridges.FS contract).
type cutFS struct {
	bridges.FS
	n     int64
	mode  string
	cut   map[int]bool
	mu    sync.Mutex
	opens int
	cuts  int
}

func (c *cutFS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := c.FS.Open(ctx, name)
	if err != nil {
		return r, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opens++
	if !c.cut[c.opens] {
		return r, nil
	}
	c.cuts++
	return &cutReader{rc: r, left: c.n, mode: c.mode}, nil
}

type cutReader struct {
	rc   io.ReadCloser
	left int64
	mode string
	hit  bool
}

func (r *cutReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		r.hit = true
		if r.mode == "error" {
			return 0, errors.New("read tcp 127.0.0.1:50022->127.0.0.1:2222: connection reset by peer")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *cutReader) Close() error {
	err := r.rc.Close()
	if r.mode == "close" && r.hit {
		return errors.New("426 data connection closed; transfer aborted")
	}
	return err
}

// placingParser reports every read error as a placed parse error and drops
// the cause, as a parser may: the runner must still see a transfer problem.
type placingParser struct{}

type placingReader struct{ *lineReader }

func (placingParser) NewReader(r io.Reader, name string) legacybridge.RecordReader {
	return placingReader{lineParser{}.NewReader(r, name).(*lineReader)}
}

func (p placingReader) Read() (legacybridge.Record, error) {
	rec, err := p.lineReader.Read()
	if err != nil && err != io.EOF {
		return rec, &placeErr{legacybridge.Position{File: p.name, Line: p.n + 1, Offset: p.off}}
	}
	return rec, err
}

func TestFlowTransferCutIsRetried(t *testing.T) {
	const body = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n"
	lines := strings.Fields(body)
	sum := sha256.Sum256([]byte(body))
	wantSubject := map[string]string{} // ce_id → subject of a complete run
	for i, l := range lines {
		wantSubject[legacybridge.EventID("lines", hex.EncodeToString(sum[:]), i, 0)] = l
	}
	for _, pass := range []struct {
		name string
		cut  map[int]bool // opens 1, 3, 5… validate; 2, 4, 6… emit
		emit bool
	}{
		{"validation", map[int]bool{1: true}, false},
		{"validation twice", map[int]bool{1: true, 2: true}, false},
		{"emit", map[int]bool{2: true}, true},
		{"emit twice", map[int]bool{2: true, 4: true}, true},
	} {
		for _, mode := range []string{"error", "close", "silent"} {
			t.Run(pass.name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				drop(t, dir, "a.txt", body)
				em := &memEmitter{}
				f := newFlow(t, dir, em, nil)
				p := f.Files.(*bridges.Poller)
				// 17 bytes: "one\ntwo\nthree\nfou", cut in the middle of a line.
				cfs := &cutFS{FS: p.FS, n: 17, mode: mode, cut: pass.cut}
				p.FS = cfs
				f.Parser = placingParser{}
				f.RetryBackoff = time.Millisecond
				s, err := f.RunOnce(context.Background())
				if err != nil || s.Archived != 1 || s.Quarantined != 0 {
					t.Fatalf("RunOnce = %+v, %v; want the file archived after retries, never quarantined (files: %v)", s, err, ls(t, dir))
				}
				if cfs.cuts != len(pass.cut) {
					t.Fatalf("%d reads were cut, want %d", cfs.cuts, len(pass.cut))
				}
				msgs := em.topic("events")
				seen := map[string]bool{}
				for _, m := range msgs {
					id, subj := header(m, "ce_id"), header(m, "ce_subject")
					if want, ok := wantSubject[id]; !ok || want != subj {
						t.Errorf("event ce_id %s subject %q; want only the events of the complete file (that id is %q)", id, subj, want)
					}
					seen[id] = true
				}
				if len(seen) != len(lines) {
					t.Errorf("%d distinct events, want %d", len(seen), len(lines))
				}
				switch {
				case !pass.emit && len(msgs) != len(lines):
					t.Errorf("a cut in the validation pass emitted %d events, want exactly %d", len(msgs), len(lines))
				case pass.emit && len(msgs) <= len(lines):
					t.Errorf("a cut in the emit pass: %d events; want the first batch redelivered (same ids) on top of %d", len(msgs), len(lines))
				}
				want := []string{filepath.Join("archive", time.Now().UTC().Format("2006-01-02"), "a.txt")}
				if got := ls(t, dir); !slices.Equal(got, want) {
					t.Errorf("files after the run: %v, want %v (archived once, nothing in error/ or processing/)", got, want)
				}
			})
		}
	}
}

// syncBuffer is a log sink safe for concurrent flows.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// TestFlowRunSurvivesUnreachableSource: while one flow's server is down,
// Run keeps polling with backoff, logs the outage once, reports it in
// Status, and delivers the waiting file once the server is back; another
// flow goes on meanwhile.
func TestFlowRunSurvivesUnreachableSource(t *testing.T) {
	var down atomic.Bool
	var failed atomic.Int32
	ma := &bridgestest.MemFS{Fault: func(op, name string) error {
		if down.Load() {
			failed.Add(1)
			return errors.New("dial tcp 127.0.0.1:2222: connect: connection refused")
		}
		return nil
	}}
	if err := ma.WriteFile("a1.txt", []byte("one\n"), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	emA, emB := &memEmitter{}, &memEmitter{}
	fa := &legacybridge.Flow{
		Name: "a", Topic: "a.events", Files: &bridges.Poller{FS: ma, Pattern: "*.txt", Logger: logger},
		Parser: lineParser{}, Mappers: []legacybridge.Mapper{lineMapper{}}, Emitter: emA,
		PollInterval: 10 * time.Millisecond, Logger: logger,
	}
	dirB := t.TempDir()
	drop(t, dirB, "b1.txt", "two\n")
	fb := newFlow(t, dirB, emB, nil)
	fb.Logger = logger

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { fa.Run(ctx) })
	wg.Go(func() { fb.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	waitFor(t, "flow b delivers while flow a's server is down", func() bool { return len(emB.topic("events")) == 1 })
	waitFor(t, "flow a fails several polls and says so in Status", func() bool {
		ok, st := fa.Status()
		return !ok && strings.HasPrefix(st, "source unreachable: ") && strings.Contains(st, "connection refused") && failed.Load() >= 6
	})
	if n := strings.Count(logs.String(), `msg="source unreachable`); n != 1 {
		t.Errorf("the outage was logged %d times over %d failed calls, want once:\n%s", n, failed.Load(), logs.String())
	}
	if ok, st := fb.Status(); !ok {
		t.Errorf("flow b unhealthy while a's server is down: %s", st)
	}

	down.Store(false)
	waitFor(t, "flow a delivers a1.txt after the server is back", func() bool { return len(emA.topic("a.events")) == 1 })
	waitFor(t, "flow a healthy again", func() bool { ok, _ := fa.Status(); return ok })
	out := logs.String()
	if n, m := strings.Count(out, `msg="source unreachable`), strings.Count(out, `msg="source reachable again"`); n != 1 || m != 1 {
		t.Errorf("logged the outage %d times and the recovery %d times, want once each:\n%s", n, m, out)
	}
	es, err := ma.List(context.Background(), "archive/"+time.Now().UTC().Format("2006-01-02"))
	if err != nil || len(es) != 1 || es[0].Name != "a1.txt" {
		t.Errorf("archive of flow a = %v, %v; want a1.txt", es, err)
	}
}

// TestFlowReadOnlyDrop runs a flow over a drop it may not change (claim
// none, archive and quarantine leave): every file is delivered once, the
// drop is never written, and a restart delivers nothing again.
func TestFlowReadOnlyDrop(t *testing.T) {
	m := &bridgestest.MemFS{}
	old := time.Now().Add(-time.Hour)
	m.WriteFile("a.txt", []byte("one\ntwo\n"), old)
	m.WriteFile("b.txt", []byte("three\nBAD\n"), old)
	var writes []string
	m.Fault = func(op, name string) error {
		if op != "list" && op != "stat" && op != "open" {
			writes = append(writes, op+" "+name)
			return fmt.Errorf("%s %s: permission denied", op, name)
		}
		return nil
	}
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	run := func() legacybridge.Summary {
		t.Helper()
		f := &legacybridge.Flow{
			Name: "ro", Topic: "events",
			Files: &bridges.Poller{FS: m, Pattern: "*.txt", Claim: bridges.ClaimNone, Archive: bridges.ArchiveLeave,
				Quarantine: bridges.QuarantineLeave, Marks: led.Marks("ro"), Logger: slog.New(slog.DiscardHandler)},
			Parser: lineParser{}, Mappers: []legacybridge.Mapper{lineMapper{}}, Emitter: em, Ledger: led,
			PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		}
		s, err := f.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := run(); s.Archived != 1 || s.Quarantined != 1 || s.Events != 2 {
		t.Fatalf("first run: %+v, want a.txt delivered (2 events) and b.txt quarantined", s)
	}
	if s := run(); s.Files != 0 || len(em.topic("events")) != 2 {
		t.Fatalf("second run: %+v, %d events in all; want nothing done again", s, len(em.topic("events")))
	}
	// The only write attempted: the error folder for b.txt's report.
	if want := []string{"mkdir error"}; !slices.Equal(writes, want) {
		t.Errorf("writes attempted on the read-only drop: %q, want %q", writes, want)
	}
}

// interchange returns an X12 interchange from ACMEPARTS to NORTHWIND with
// control number ctrl and one 856 per shipment id, each segment followed by
// "~" and eol (so the same interchange can be written with other bytes).
func interchange(ctrl int, eol string, shipments ...string) string {
	var b strings.Builder
	seg := func(s string) { b.WriteString(s + "~" + eol) }
	seg(fmt.Sprintf("ISA*00*          *00*          *ZZ*ACMEPARTS      *ZZ*NORTHWIND      *241202*0815*U*00401*%09d*0*P*>", ctrl))
	seg(fmt.Sprintf("GS*SH*ACMEPARTS*NORTHWIND*20241202*0815*%d*X*004010", ctrl))
	for i, id := range shipments {
		st := fmt.Sprintf("%04d", i+1)
		seg("ST*856*" + st)
		seg("BSN*00*" + id + "*20241202*0815")
		seg("SE*3*" + st)
	}
	seg(fmt.Sprintf("GE*%d*%d", len(shipments), ctrl))
	seg(fmt.Sprintf("IEA*1*%09d", ctrl))
	return b.String()
}

// shipmentMapper makes one event per 856 or DESADV, its subject the BSN02
// or BGM02 shipment id.
type shipmentMapper struct{}

func (shipmentMapper) Map(r legacybridge.Record) ([]legacybridge.Event, error) {
	for _, s := range r.Segments {
		if s.Tag == "BSN" || s.Tag == "BGM" {
			id := s.Element(2).Value()
			d, _ := json.Marshal(map[string]string{"shipment": id})
			return []legacybridge.Event{{Type: "com.example.shipment.v1", Subject: id, Data: d}}, nil
		}
	}
	return nil, errors.New("no BSN or BGM")
}

// ediFlow is a flow of X12 files (*.edi) with the duplicate-interchange
// check on (window 720h) and the clock at *now (nil: the real clock).
func ediFlow(t testing.TB, dir string, em legacybridge.Emitter, led legacybridge.Ledger, now *time.Time, dups *[]legacybridge.DuplicateInterchange) *legacybridge.Flow {
	t.Helper()
	fs, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	f := &legacybridge.Flow{
		Name: "asn", Topic: "events", DeadLetter: "events.dlt",
		Files:  &bridges.Poller{FS: fs, Pattern: "*.edi", Logger: slog.New(slog.DiscardHandler)},
		Parser: x12.Parser{}, Mappers: []legacybridge.Mapper{shipmentMapper{}},
		Emitter: em, Ledger: led, PollInterval: 10 * time.Millisecond, BatchSize: 2,
		Logger: slog.New(slog.DiscardHandler), RetryBackoff: time.Millisecond,
		DuplicateInterchanges: legacybridge.DuplicateInterchanges{Window: 720 * time.Hour,
			OnDuplicate: func(ctx context.Context, d legacybridge.DuplicateInterchange) error {
				if dups != nil {
					*dups = append(*dups, d)
				}
				return nil
			}},
	}
	if now != nil { // a fixed clock: only for flows whose attempts do not fail (a retry waits for the clock)
		f.Now = func() time.Time { return *now }
	}
	return f
}

func subjects(msgs []legacybridge.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, header(m, "ce_subject"))
	}
	return out
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestFlowResentInterchangeNotPostedAgain(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	now := time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)
	var dups []legacybridge.DuplicateInterchange
	run := func(name, body string) legacybridge.Summary {
		t.Helper()
		drop(t, dir, name, body)
		s, err := ediFlow(t, dir, em, led, &now, &dups).RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := interchange(48213, "\n", "SH1", "SH2")
	if s := run("ASN_1.edi", first); s.Archived != 1 || s.Events != 2 {
		t.Fatalf("first file: %+v, want 2 events", s)
	}

	// The same interchange again under another name, with CRLF line ends:
	// other content (hash), same sender, receiver and ISA13.
	now = now.Add(time.Hour)
	resent := interchange(48213, "\r\n", "SH1", "SH2")
	s := run("ASN_1_resent.edi", resent)
	if want := (legacybridge.Summary{Files: 1, Duplicates: 1, DuplicateRecords: 2}); s != want {
		t.Fatalf("re-sent file: %+v, want %+v", s, want)
	}
	if got := subjects(em.topic("events")); !slices.Equal(got, []string{"SH1", "SH2"}) {
		t.Fatalf("events = %q, want the first file's only", got)
	}
	if !slices.Contains(ls(t, dir), filepath.Join("archive", time.Now().UTC().Format("2006-01-02"), "ASN_1_resent.edi")) {
		t.Errorf("the re-sent file is not archived: %q", ls(t, dir))
	}
	hist, err := led.History("asn", 0)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.File != "ASN_1_resent.edi" || last.Outcome != legacybridge.OutcomeDuplicate || last.Resent != 2 ||
		!strings.Contains(last.Reason, "x12 ZZ:ACMEPARTS→ZZ:NORTHWIND #000048213 (delivered in ASN_1.edi at 2024-12-02T09:00:00Z)") {
		t.Errorf("ledger record of the re-sent file: %+v", last)
	}
	// The hook (for acknowledging it again) got the interchange once.
	if len(dups) != 1 {
		t.Fatalf("OnDuplicate called %d times, want 1: %+v", len(dups), dups)
	}
	d := dups[0]
	wantIC := legacybridge.Interchange{Standard: "x12", SenderQualifier: "ZZ", Sender: "ACMEPARTS", ReceiverQualifier: "ZZ", Receiver: "NORTHWIND", Control: "000048213"}
	if d.Interchange != wantIC || d.File != "ASN_1_resent.edi" || d.Hash != sha(resent) || d.Records != 2 ||
		d.First.File != "ASN_1.edi" || d.First.Hash != sha(first) || !d.First.Delivered.Equal(now.Add(-time.Hour)) || d.Envelope["gs06"] != "48213" {
		t.Errorf("OnDuplicate got %+v", d)
	}

	// One new and one old interchange in one file: only the new is posted,
	// with the ids it would have had anyway.
	now = now.Add(time.Hour)
	mixed := interchange(48214, "\n", "SH3") + interchange(48213, "", "SH1", "SH2")
	s = run("ASN_2.edi", mixed)
	if want := (legacybridge.Summary{Files: 1, Archived: 1, Events: 1, DuplicateRecords: 2}); s != want {
		t.Fatalf("mixed file: %+v, want %+v", s, want)
	}
	evs := em.topic("events")
	if got := subjects(evs); !slices.Equal(got, []string{"SH1", "SH2", "SH3"}) {
		t.Fatalf("events = %q, want SH3 added only", got)
	}
	if got, want := header(evs[2], "ce_id"), legacybridge.EventID("asn", sha(mixed), 0, 0); got != want {
		t.Errorf("ce_id of the new interchange's event = %s, want %s", got, want)
	}
	hist, _ = led.History("asn", 0)
	if last := hist[len(hist)-1]; last.Outcome != legacybridge.OutcomeArchived || last.Events != 1 || last.Resent != 2 ||
		!strings.HasPrefix(last.Reason, "1 of 2 interchange(s) delivered before, not posted again: x12 ZZ:ACMEPARTS→ZZ:NORTHWIND #000048213") {
		t.Errorf("ledger record of the mixed file: %+v", last)
	}
	// The new interchange was recorded by the mixed file.
	now = now.Add(time.Hour)
	if s := run("ASN_3.edi", interchange(48214, "\r\n", "SH3")); s.Duplicates != 1 || s.Events != 0 {
		t.Fatalf("the mixed file's new interchange sent again: %+v, want a duplicate", s)
	}
	if len(dups) != 3 || dups[1].First.File != "ASN_1.edi" || dups[2].First.File != "ASN_2.edi" {
		t.Errorf("OnDuplicate calls: %+v", dups)
	}
	// Another receiver with the same control number is another interchange.
	other := strings.Replace(interchange(48213, "\n", "SH9"), "*ZZ*NORTHWIND      *", "*ZZ*SOUTHWIND      *", 1)
	if s := run("ASN_4.edi", other); s.Archived != 1 || s.Events != 1 {
		t.Fatalf("same ISA13 to another receiver: %+v, want it posted", s)
	}
}

func TestFlowResentInterchangeWindow(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	start := time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)
	now := start
	run := func(name, body string) legacybridge.Summary {
		t.Helper()
		drop(t, dir, name, body)
		s, err := ediFlow(t, dir, em, led, &now, nil).RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	run("a.edi", interchange(7, "\n", "SH1"))
	// Just inside the 720h window: not posted.
	now = start.Add(720*time.Hour - time.Second)
	if s := run("b.edi", interchange(7, "\r\n", "SH1")); s.Duplicates != 1 || s.Events != 0 {
		t.Fatalf("inside the window: %+v, want a duplicate", s)
	}
	// At the end of the window (counted from the delivery, not from the
	// skipped re-send): posted again.
	now = start.Add(720 * time.Hour)
	if s := run("c.edi", interchange(7, "", "SH1")); s.Archived != 1 || s.Events != 1 {
		t.Fatalf("after the window: %+v, want it posted again", s)
	}
	// ...which starts a new window.
	now = now.Add(time.Hour)
	if s := run("d.edi", interchange(7, "\n\n", "SH1")); s.Duplicates != 1 {
		t.Fatalf("an hour after the second delivery: %+v, want a duplicate", s)
	}
	if got := subjects(em.topic("events")); !slices.Equal(got, []string{"SH1", "SH1"}) {
		t.Fatalf("events = %q", got)
	}
	// Window 0 turns the check off: nothing is looked up or recorded.
	f := ediFlow(t, dir, em, led, &now, nil)
	f.DuplicateInterchanges.Window = 0
	drop(t, dir, "e.edi", interchange(7, "\r\n\r\n", "SH1"))
	if s, err := f.RunOnce(context.Background()); err != nil || s.Archived != 1 || s.Events != 1 {
		t.Fatalf("check off: %+v, %v; want it posted", s, err)
	}
	// Allow posts it again (and records the new delivery).
	f = ediFlow(t, dir, em, led, &now, nil)
	f.DuplicateInterchanges.Allow = true
	drop(t, dir, "f.edi", interchange(7, " \n", "SH1"))
	if s, err := f.RunOnce(context.Background()); err != nil || s.Archived != 1 || s.Events != 1 || s.DuplicateRecords != 0 {
		t.Fatalf("allow: %+v, %v; want it posted", s, err)
	}
}

// flakyInterchanges fails PutInterchanges while fail is set.
type flakyInterchanges struct {
	*ledger.Ledger
	fail atomic.Bool
}

func (l *flakyInterchanges) PutInterchanges(flow string, recs []legacybridge.InterchangeRecord) error {
	if l.fail.Load() {
		return errors.New("disk full")
	}
	return l.Ledger.PutInterchanges(flow, recs)
}

// archiveFails makes the claims of a source fail to archive while fail is set.
type archiveFails struct {
	legacybridge.FileSource
	fail *atomic.Bool
}

type failingArchive struct {
	legacybridge.FileClaim
	fail *atomic.Bool
}

func (a archiveFails) Poll(ctx context.Context) ([]legacybridge.FileClaim, error) {
	cs, err := a.FileSource.Poll(ctx)
	for i, c := range cs {
		cs[i] = failingArchive{c, a.fail}
	}
	return cs, err
}

func (c failingArchive) Archive(ctx context.Context) (string, error) {
	if c.fail.Load() {
		return "", errors.New("rename: connection reset")
	}
	return c.FileClaim.Archive(ctx)
}

func TestFlowResentInterchangeCrashSafety(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, ".state")
	led, err := ledger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	body := interchange(99, "\n", "SH1", "SH2", "SH3")
	drop(t, dir, "a.edi", body)

	// Run 1: every event is acknowledged, then recording the interchange
	// fails (the process dies there, say): the file stays claimed.
	flaky := &flakyInterchanges{Ledger: led}
	flaky.fail.Store(true)
	em1 := &memEmitter{}
	if _, err := ediFlow(t, dir, em1, flaky, nil, nil).RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("run 1: %v, want the ledger error", err)
	}
	if got := subjects(em1.topic("events")); len(got) < 3 {
		t.Fatalf("run 1 emitted %q, want every event before the recording", got)
	}
	led.Close()

	// Run 2, a restart: the file is redone with the same ids, not taken
	// for a duplicate.
	led, err = ledger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em2 := &memEmitter{}
	s, err := ediFlow(t, dir, em2, led, nil, nil).RunOnce(context.Background())
	if err != nil || s.Archived != 1 || s.Events != 3 {
		t.Fatalf("run 2: %+v, %v; want the file delivered again", s, err)
	}
	first, second := em1.topic("events")[:3], em2.topic("events")
	for i := range first {
		if a, b := header(first[i], "ce_id"), header(second[i], "ce_id"); a != b || a == "" {
			t.Errorf("event %d: ce_id %q then %q; redelivery must keep ids", i, a, b)
		}
	}

	// Recorded, but archiving fails (then the process dies): the file is
	// redone, its own record does not make it a duplicate of itself.
	drop(t, dir, "b.edi", interchange(100, "\n", "SH4"))
	var fail atomic.Bool
	fail.Store(true)
	em3 := &memEmitter{}
	f := ediFlow(t, dir, em3, led, nil, nil)
	f.Files = archiveFails{f.Files, &fail}
	if _, err := f.RunOnce(context.Background()); err == nil {
		t.Fatal("run 3: archive failures not reported")
	}
	em4 := &memEmitter{}
	if s, err := ediFlow(t, dir, em4, led, nil, nil).RunOnce(context.Background()); err != nil || s.Archived != 1 || s.Events != 1 {
		t.Fatalf("run 4: %+v, %v; want b.edi posted again", s, err)
	}
	if a, b := header(em3.topic("events")[0], "ce_id"), header(em4.topic("events")[0], "ce_id"); a != b {
		t.Errorf("ce_id %q then %q", a, b)
	}
	// And a re-send afterwards is a duplicate.
	if s, err := ediFlow(t, dir, &memEmitter{}, led, nil, nil).RunOnce(context.Background()); err != nil || s.Files != 0 {
		t.Fatalf("nothing left: %+v, %v", s, err)
	}
	drop(t, dir, "b2.edi", interchange(100, "\r\n", "SH4"))
	if s, err := ediFlow(t, dir, &memEmitter{}, led, nil, nil).RunOnce(context.Background()); err != nil || s.Duplicates != 1 {
		t.Fatalf("re-send after recovery: %+v, %v; want a duplicate", s, err)
	}
}

func TestInterchangeOf(t *testing.T) {
	tests := []struct {
		rec    legacybridge.Record
		want   legacybridge.Interchange
		wantOK bool
	}{
		{legacybridge.Record{Format: "x12", Envelope: map[string]string{"isa05": "ZZ", "isa06": "ACMEPARTS      ", "isa07": "01", "isa08": "NORTHWIND", "isa13": "000048213"}},
			legacybridge.Interchange{Standard: "x12", SenderQualifier: "ZZ", Sender: "ACMEPARTS", ReceiverQualifier: "01", Receiver: "NORTHWIND", Control: "000048213"}, true},
		{legacybridge.Record{Format: "edifact", Envelope: map[string]string{"unb02": "005435656", "unb02_2": "1", "unb03": "006415160", "unb03_2": "1", "unb05": "00000000000778"}},
			legacybridge.Interchange{Standard: "edifact", SenderQualifier: "1", Sender: "005435656", ReceiverQualifier: "1", Receiver: "006415160", Control: "00000000000778"}, true},
		{legacybridge.Record{Format: "edifact", Envelope: map[string]string{"unb02": "S", "unb03": "R"}}, legacybridge.Interchange{}, false},
		{legacybridge.Record{Format: "fixedwidth", Envelope: map[string]string{"isa06": "S", "isa08": "R", "isa13": "1"}}, legacybridge.Interchange{}, false},
	}
	for _, tt := range tests {
		got, ok := legacybridge.InterchangeOf(tt.rec)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("InterchangeOf(%v) = %+v, %v; want %+v, %v", tt.rec.Envelope, got, ok, tt.want, tt.wantOK)
		}
	}
	ic := tests[1].want
	if got, want := ic.String(), "edifact 1:005435656→1:006415160 #00000000000778"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// Keys of interchanges whose fields differ only in where a value is
	// split never collide.
	a := legacybridge.Interchange{Standard: "x12", Sender: "A B", Receiver: "C", Control: "1"}
	b := legacybridge.Interchange{Standard: "x12", Sender: "A", ReceiverQualifier: "B", Receiver: "C", Control: "1"}
	if a.Key() == b.Key() {
		t.Errorf("keys collide: %q", a.Key())
	}
}

func TestFlowResentEdifactInterchange(t *testing.T) {
	dir := t.TempDir()
	led, err := ledger.Open(filepath.Join(dir, ".state"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	em := &memEmitter{}
	now := time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)
	unb := func(ref, eol string, ids ...string) string {
		segs := []string{"UNB+UNOA:3+5412345000013:14+4012345000016:14+241202:0815+" + ref}
		for i, id := range ids {
			n := strconv.Itoa(i + 1)
			segs = append(segs, "UNH+"+n+"+DESADV:D:96A:UN", "BGM+351+"+id+"+9", "UNT+3+"+n)
		}
		segs = append(segs, "UNZ+"+strconv.Itoa(len(ids))+"+"+ref)
		return strings.Join(segs, "'"+eol) + "'" + eol
	}
	run := func(name, body string) legacybridge.Summary {
		t.Helper()
		drop(t, dir, name, body)
		f := ediFlow(t, dir, em, led, &now, nil)
		f.Parser = edifact.Parser{}
		s, err := f.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := run("DESADV_1.edi", unb("REF0001", "", "D1", "D2")); s.Archived != 1 || s.Events != 2 {
		t.Fatalf("first file: %+v, want 2 events", s)
	}
	now = now.Add(time.Hour)
	if s := run("DESADV_1_again.edi", unb("REF0001", "\n", "D1", "D2")); s.Duplicates != 1 || s.DuplicateRecords != 2 || s.Events != 0 {
		t.Fatalf("re-sent interchange: %+v, want a duplicate", s)
	}
	if s := run("DESADV_2.edi", unb("REF0002", "\n", "D1")); s.Archived != 1 || s.Events != 1 {
		t.Fatalf("next control reference: %+v, want it posted", s)
	}
	if got := subjects(em.topic("events")); !slices.Equal(got, []string{"D1", "D2", "D1"}) {
		t.Fatalf("events = %q", got)
	}
}
