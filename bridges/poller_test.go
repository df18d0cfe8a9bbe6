package bridges_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
	"legacybridge/bridges/local"
	"legacybridge/internal/ledger"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (string, *bridges.Poller, *clock) {
	t.Helper()
	dir := t.TempDir()
	fs, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	c := &clock{t: time.Now().Add(time.Hour)}
	return dir, &bridges.Poller{FS: fs, Pattern: "*.edi", Now: c.now}, c
}

func write(t *testing.T, path, body string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func names(cs []legacybridge.FileClaim) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Info().Name)
	}
	return out
}

func TestStableAcrossTwoPolls(t *testing.T) {
	dir, p, _ := setup(t)
	ctx := context.Background()
	old := time.Now().Add(-time.Minute)
	write(t, filepath.Join(dir, "a.edi"), "one", old)
	write(t, filepath.Join(dir, "skip.txt"), "x", old)
	cs, err := p.Poll(ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("first poll claimed %v, %v; want nothing (not yet seen twice)", names(cs), err)
	}
	if p.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", p.Pending())
	}
	// The file grows between polls: still not complete.
	write(t, filepath.Join(dir, "a.edi"), "one two", old.Add(time.Second))
	if cs, _ := p.Poll(ctx); len(cs) != 0 {
		t.Fatalf("claimed a growing file: %v", names(cs))
	}
	cs, err = p.Poll(ctx)
	if err != nil || len(cs) != 1 || cs[0].Info().Name != "a.edi" {
		t.Fatalf("third poll got %v, %v; want [a.edi]", names(cs), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "processing", "a.edi")); err != nil {
		t.Fatalf("claim did not move the file into processing/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "skip.txt")); err != nil {
		t.Fatalf("a file outside the pattern was touched: %v", err)
	}
}

func TestMinAge(t *testing.T) {
	dir, p, c := setup(t)
	p.MinAge = 10 * time.Minute
	ctx := context.Background()
	write(t, filepath.Join(dir, "a.edi"), "x", c.t.Add(-time.Minute))
	p.Poll(ctx)
	if cs, _ := p.Poll(ctx); len(cs) != 0 {
		t.Fatalf("claimed a file younger than min_age: %v", names(cs))
	}
	c.t = c.t.Add(10 * time.Minute)
	if cs, _ := p.Poll(ctx); len(cs) != 1 {
		t.Fatalf("file old enough and stable was not claimed")
	}
}

func TestDoneMarker(t *testing.T) {
	dir, p, _ := setup(t)
	p.DoneSuffix = ".done"
	ctx := context.Background()
	old := time.Now().Add(-time.Minute)
	write(t, filepath.Join(dir, "a.edi"), "x", old)
	p.Poll(ctx)
	if cs, _ := p.Poll(ctx); len(cs) != 0 {
		t.Fatalf("claimed without its done marker: %v", names(cs))
	}
	write(t, filepath.Join(dir, "a.edi.done"), "", old)
	cs, _ := p.Poll(ctx)
	if len(cs) != 1 {
		t.Fatalf("marker present but file not claimed")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.edi.done")); !os.IsNotExist(err) {
		t.Fatalf("done marker not removed on claim: %v", err)
	}
}

func TestRecoverArchiveQuarantine(t *testing.T) {
	dir, p, c := setup(t)
	ctx := context.Background()
	os.MkdirAll(filepath.Join(dir, "processing"), 0o755)
	write(t, filepath.Join(dir, "processing", "left.edi"), "crash", time.Now())
	cs, err := p.Poll(ctx)
	if err != nil || len(cs) != 1 || !cs[0].Info().Recovered {
		t.Fatalf("leftover in processing/ not recovered: %v %v", names(cs), err)
	}
	to, err := cs[0].Archive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("archive", c.t.UTC().Format("2006-01-02"), "left.edi")
	if to != want {
		t.Fatalf("archived to %q, want %q", to, want)
	}
	// Same name archived again the same day: never overwritten.
	write(t, filepath.Join(dir, "left.edi"), "again", time.Now().Add(-time.Hour))
	p.Poll(ctx)
	cs, _ = p.Poll(ctx)
	if len(cs) != 1 {
		t.Fatalf("second drop not claimed")
	}
	to2, err := cs[0].Archive(ctx)
	if err != nil || to2 != want+".1" {
		t.Fatalf("second archive went to %q (%v), want %q", to2, err, want+".1")
	}

	write(t, filepath.Join(dir, "bad.edi"), "junk", time.Now().Add(-time.Hour))
	p.Poll(ctx)
	cs, _ = p.Poll(ctx)
	pos := legacybridge.Position{File: "bad.edi", Offset: 3, Segment: 1}
	to, err = cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Flow: "f", Reason: "broken", Place: &pos})
	if err != nil || to != filepath.Join("error", "bad.edi") {
		t.Fatalf("quarantined to %q (%v)", to, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "error", "bad.edi.error.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep legacybridge.QuarantineReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Reason != "broken" || rep.Flow != "f" || rep.File != "bad.edi" || rep.Place == nil || rep.Place.Offset != 3 || rep.Time.IsZero() {
		t.Fatalf("error report = %+v", rep)
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a\nb", "a\x00b", "invoice\u202Eide.exe", "a\u200Bb"} {
		if bridges.CheckName(bad) == nil {
			t.Errorf("CheckName(%q) = nil, want an error", bad)
		}
		if _, err := bridges.CleanPath("in/" + bad); bad != "" && bad != "." && err == nil && !strings.Contains(bad, "/") {
			t.Errorf("CleanPath(%q) = nil error", "in/"+bad)
		}
	}
	for _, ok := range []string{"a.edi", "PO 123.edi", "..hidden", "x..y"} {
		if err := bridges.CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
}

func TestLocalFSStaysInRoot(t *testing.T) {
	dir := t.TempDir()
	fs, err := local.Open(filepath.Join(dir, "root"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o644)
	if _, err := fs.Open(context.Background(), "../secret"); err == nil {
		t.Fatal("opened a file outside the root")
	}
	if err := fs.Rename(context.Background(), "../secret", "x"); err == nil {
		t.Fatal("renamed a file from outside the root")
	}
}

func TestSkipsHiddenLinksAndPipes(t *testing.T) {
	dir, p, _ := setup(t)
	ctx := context.Background()
	old := time.Now().Add(-time.Minute)
	outside := filepath.Join(t.TempDir(), "secret.edi")
	write(t, outside, "s", old)
	write(t, filepath.Join(dir, ".upload.edi"), "partial", old)
	write(t, filepath.Join(dir, "ok.edi"), "x", old)
	if err := os.Symlink(outside, filepath.Join(dir, "link.edi")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.edi"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Poll(ctx)
	cs, err := p.Poll(ctx)
	if err != nil || len(cs) != 1 || cs[0].Info().Name != "ok.edi" {
		t.Fatalf("claimed %v (%v), want only ok.edi", names(cs), err)
	}
}

func TestFolderNameTakenByAFile(t *testing.T) {
	dir, p, _ := setup(t)
	write(t, filepath.Join(dir, "processing"), "I am a file", time.Now())
	_, err := p.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Fatalf("err = %v, want a clear error", err)
	}
}

// countingFS counts calls by operation.
type countingFS struct {
	bridges.FS
	mu sync.Mutex
	n  map[string]int
}

func (c *countingFS) add(op string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
	c.mu.Unlock()
}

func (c *countingFS) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.n)
	c.n = nil
	return out
}

func (c *countingFS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	c.add("list")
	return c.FS.List(ctx, dir)
}
func (c *countingFS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	c.add("stat")
	return c.FS.Stat(ctx, name)
}
func (c *countingFS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c.add("open")
	return c.FS.Open(ctx, name)
}
func (c *countingFS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	c.add("create")
	return c.FS.Create(ctx, name)
}
func (c *countingFS) Rename(ctx context.Context, from, to string) error {
	c.add("rename")
	return c.FS.Rename(ctx, from, to)
}
func (c *countingFS) Remove(ctx context.Context, name string) error {
	c.add("remove")
	return c.FS.Remove(ctx, name)
}
func (c *countingFS) MkdirAll(ctx context.Context, dir string) error {
	c.add("mkdir")
	return c.FS.MkdirAll(ctx, dir)
}

// mapMarks is an in-memory Marks that counts lookups and can fail.
type mapMarks struct {
	m    map[string]bool
	has  int
	fail error
}

func (m *mapMarks) Has(ctx context.Context, key string) (bool, error) {
	m.has++
	if m.fail != nil {
		return false, m.fail
	}
	return m.m[key], nil
}

func (m *mapMarks) Put(ctx context.Context, key string) error {
	if m.fail != nil {
		return m.fail
	}
	if m.m == nil {
		m.m = map[string]bool{}
	}
	m.m[key] = true
	return nil
}

// memDrop is a poller over an in-memory drop with a test clock shared by
// the "server" (mtimes, second-granular) and the poller.
func memDrop(t *testing.T) (*bridgestest.MemFS, *bridges.Poller, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	m := &bridgestest.MemFS{Now: c.now, Precision: time.Second}
	return m, &bridges.Poller{FS: m, Pattern: "*.edi", Now: c.now, Logger: slog.New(slog.DiscardHandler)}, c
}

// readOnly makes every writing operation of m fail, like a drop this
// bridge may only read, and records what was attempted.
func readOnly(m *bridgestest.MemFS) *[]string {
	var tried []string
	m.Fault = func(op, name string) error {
		switch op {
		case "create", "rename", "remove", "mkdir":
			tried = append(tried, op+" "+name)
			return fmt.Errorf("%s %s: %w", op, name, fs.ErrPermission)
		}
		return nil
	}
	return &tried
}

func pollN(t *testing.T, p *bridges.Poller, n int) []legacybridge.FileClaim {
	t.Helper()
	var all []legacybridge.FileClaim
	for range n {
		cs, err := p.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		all = append(all, cs...)
	}
	return all
}

func TestClaimNoneReadOnlyDrop(t *testing.T) {
	m, p, c := memDrop(t)
	ctx := context.Background()
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	p.Claim, p.Archive, p.Quarantine, p.Marks = bridges.ClaimNone, bridges.ArchiveLeave, bridges.QuarantineLeave, led.Marks("ro")
	m.WriteFile("a.edi", []byte("aaa"), c.t.Add(-time.Hour))
	m.WriteFile("b.edi", []byte("bbb"), c.t.Add(-time.Hour))
	m.WriteFile("c.edi", []byte("ccc"), c.t.Add(-time.Hour))
	tried := readOnly(m)

	cs := pollN(t, p, 2)
	if got, want := names(cs), []string{"a.edi", "b.edi", "c.edi"}; !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	for _, cl := range cs {
		if cl.Info().Path != cl.Info().Name {
			t.Errorf("claim none: %s read from %q, want in place", cl.Info().Name, cl.Info().Path)
		}
	}
	// While the runner holds them, they are neither claimed again nor pending.
	if again := pollN(t, p, 2); len(again) != 0 || p.Pending() != 0 {
		t.Fatalf("files in flight claimed again: %v (pending %d)", names(again), p.Pending())
	}
	if to, err := cs[0].Archive(ctx); err != nil || to != "a.edi" {
		t.Fatalf("Archive (leave) = %q, %v; want a.edi, nil", to, err)
	}
	to, err := cs[1].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "broken"})
	if err != nil || to != "b.edi" {
		t.Fatalf("Quarantine (leave) into a read-only drop = %q, %v; want b.edi, nil (report logged)", to, err)
	}
	// c.edi is never finished: the process "crashes". Nothing was written
	// but the attempt at the error report.
	if want := []string{"mkdir error"}; !slices.Equal(*tried, want) {
		t.Errorf("writes attempted on the read-only drop: %q, want %q", *tried, want)
	}
	if again := pollN(t, p, 2); len(again) != 0 {
		t.Fatalf("handled files claimed again: %v", names(again))
	}

	// Restart: a new poller with the same ledger redoes only c.edi.
	p2 := &bridges.Poller{FS: m, Pattern: "*.edi", Now: c.now, Claim: bridges.ClaimNone, Archive: bridges.ArchiveLeave,
		Quarantine: bridges.QuarantineLeave, Marks: led.Marks("ro"), Logger: p.Logger}
	if got := names(pollN(t, p2, 2)); !slices.Equal(got, []string{"c.edi"}) {
		t.Fatalf("after a restart claimed %v, want [c.edi] (the one never finished)", got)
	}
	// A new version of a.edi (another mtime) is a new file.
	c.t = c.t.Add(time.Minute)
	m.Fault = nil
	m.WriteFile("a.edi", []byte("aaa"), c.t.Add(-30*time.Second))
	if got := names(pollN(t, p2, 2)); !slices.Equal(got, []string{"a.edi"}) {
		t.Fatalf("a rewritten a.edi: claimed %v, want [a.edi]", got)
	}
}

func TestClaimNoneWritableDrop(t *testing.T) {
	m, p, c := memDrop(t)
	ctx := context.Background()
	marks := &mapMarks{}
	p.Claim, p.Marks, p.DoneSuffix = bridges.ClaimNone, marks, ".ok"
	old := c.t.Add(-time.Hour)
	for _, n := range []string{"a.edi", "a.edi.ok", "b.edi", "b.edi.ok", "d.edi", "d.edi.ok"} {
		m.WriteFile(n, []byte(n), old)
	}
	cs := pollN(t, p, 1)
	if got := names(cs); !slices.Equal(got, []string{"a.edi", "b.edi", "d.edi"}) {
		t.Fatalf("claimed %v", got)
	}
	// Claim none never removes the marker on claim.
	if _, err := m.Stat(ctx, "a.edi.ok"); err != nil {
		t.Fatalf("marker removed on a claim none pick-up: %v", err)
	}
	// Archive move still works when the drop is writable; the marker goes.
	to, err := cs[0].Archive(ctx)
	if want := "archive/2026-03-01/a.edi"; err != nil || to != want {
		t.Fatalf("Archive = %q, %v; want %q", to, err, want)
	}
	for _, gone := range []string{"a.edi", "a.edi.ok"} {
		if _, err := m.Stat(ctx, gone); !errors.Is(err, bridges.ErrNotExist) {
			t.Errorf("%s still in the drop after archive move: %v", gone, err)
		}
	}
	// Quarantine move: error/ with the report.
	if to, err := cs[1].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "bad"}); err != nil || to != "error/b.edi" {
		t.Fatalf("Quarantine = %q, %v", to, err)
	}
	if _, err := m.Stat(ctx, "error/b.edi.error.json"); err != nil {
		t.Errorf("no report: %v", err)
	}
	// Archive delete.
	p.Archive = bridges.ArchiveDelete
	if to, err := cs[2].Archive(ctx); err != nil || to != "" {
		t.Fatalf("Archive (delete) = %q, %v", to, err)
	}
	if es, _ := m.List(ctx, "."); len(es) != 2 { // archive/ and error/
		t.Errorf("drop after archive/quarantine/delete holds %v, want only the archive and error folders", es)
	}
	if len(marks.m) != 3 {
		t.Errorf("marks = %v, want the 3 handled files", marks.m)
	}
}

func TestQuarantineLeaveWritesReport(t *testing.T) {
	m, p, c := memDrop(t)
	ctx := context.Background()
	p.Claim, p.Quarantine, p.Marks = bridges.ClaimNone, bridges.QuarantineLeave, &mapMarks{}
	m.WriteFile("b.edi", []byte("v1"), c.t.Add(-time.Hour))
	cs := pollN(t, p, 2)
	if _, err := cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "first"}); err != nil {
		t.Fatal(err)
	}
	m.WriteFile("b.edi", []byte("v2"), c.t.Add(-time.Minute))
	cs = pollN(t, p, 2)
	if len(cs) != 1 {
		t.Fatalf("new version of b.edi not claimed: %v", names(cs))
	}
	if to, err := cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "second"}); err != nil || to != "b.edi" {
		t.Fatalf("Quarantine = %q, %v", to, err)
	}
	for file, reason := range map[string]string{"error/b.edi.error.json": "first", "error/b.edi.1.error.json": "second"} {
		r, err := m.Open(ctx, file)
		if err != nil {
			t.Fatalf("report %s: %v", file, err)
		}
		var rep legacybridge.QuarantineReport
		json.NewDecoder(r).Decode(&rep)
		if rep.Reason != reason || rep.File != "b.edi" {
			t.Errorf("%s = %+v, want reason %q for b.edi", file, rep, reason)
		}
	}
	if _, err := m.Stat(ctx, "b.edi"); err != nil {
		t.Errorf("quarantine leave moved the file: %v", err)
	}
}

func TestPollerValidate(t *testing.T) {
	fsys := &bridgestest.MemFS{}
	for _, c := range []struct {
		p    bridges.Poller
		want string // "" = valid
	}{
		{bridges.Poller{FS: fsys}, ""},
		{bridges.Poller{FS: fsys, Claim: bridges.ClaimNone}, "needs a ledger"},
		{bridges.Poller{FS: fsys, Claim: bridges.ClaimNone, Marks: &mapMarks{}, Archive: bridges.ArchiveLeave, Quarantine: bridges.QuarantineLeave}, ""},
		{bridges.Poller{FS: fsys, Claim: bridges.ClaimNone, Marks: &mapMarks{}, Archive: bridges.ArchiveDelete}, ""},
		{bridges.Poller{FS: fsys, Archive: bridges.ArchiveLeave}, `archive "leave" needs claim "none"`},
		{bridges.Poller{FS: fsys, Quarantine: bridges.QuarantineLeave}, `quarantine "leave" needs claim "none"`},
		{bridges.Poller{FS: fsys, Claim: "copy"}, `claim "copy"`},
		{bridges.Poller{FS: fsys, Archive: "zip"}, `archive "zip"`},
		{bridges.Poller{FS: fsys, Quarantine: "drop"}, `quarantine "drop"`},
		{bridges.Poller{FS: fsys, Order: "size"}, `order "size"`},
		{bridges.Poller{FS: fsys, ArchiveDir: "../archive"}, "archive folder"},
		{bridges.Poller{FS: fsys, Pattern: "["}, "bad pattern"},
		{bridges.Poller{}, "no filesystem"},
	} {
		err := c.p.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", c.p, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.p, err, c.want)
		}
		if c.want != "" {
			if _, err := c.p.Poll(context.Background()); err == nil {
				t.Errorf("Poll with invalid settings %+v succeeded", c.p)
			}
		}
	}
}

func TestOrderMTime(t *testing.T) {
	m, p, c := memDrop(t)
	p.Order, p.MaxClaims = bridges.OrderMTime, 2
	for i, n := range []string{"a.edi", "b.edi", "c.edi", "d.edi"} {
		m.WriteFile(n, []byte(n), c.t.Add(-time.Duration(i)*time.Minute)) // d oldest
	}
	m.WriteFile("e.edi", []byte("e"), c.t.Add(-3*time.Minute)) // as old as d: by name
	var got []string
	for range 4 {
		got = append(got, names(pollN(t, p, 1))...)
	}
	if want := []string{"d.edi", "e.edi", "c.edi", "b.edi", "a.edi"}; !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want oldest first %v", got, want)
	}
}

// TestBigFolder polls 100,000 files: one List per poll and no call per
// file except for the files claimed.
func TestBigFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 files")
	}
	const n = 100_000
	m, p, c := memDrop(t)
	cfs := &countingFS{FS: m}
	p.FS, p.MaxClaims = cfs, 1000
	for i := range n {
		m.WriteFile(fmt.Sprintf("f%06d.edi", i), []byte("x"), c.t.Add(-time.Hour))
	}
	m.WriteFile("skip.txt", nil, time.Time{})
	if cs := pollN(t, p, 1); len(cs) != 0 || p.Pending() != n {
		t.Fatalf("first poll: %d claims, %d pending; want 0 and %d", len(cs), p.Pending(), n)
	}
	// Start-up: Stat of 3 folders, MkdirAll and List of processing/, List of the drop.
	if got, want := cfs.counts(), map[string]int{"stat": 3, "mkdir": 1, "list": 2}; !maps.Equal(got, want) {
		t.Errorf("first poll of %d files made calls %v, want %v", n, got, want)
	}
	cs := pollN(t, p, 1)
	if len(cs) != 1000 || cs[0].Info().Name != "f000000.edi" || cs[999].Info().Name != "f000999.edi" || p.Pending() != n-1000 {
		t.Fatalf("second poll: %d claims (%v…), %d pending", len(cs), cs[0].Info().Name, p.Pending())
	}
	if got, want := cfs.counts(), map[string]int{"list": 1, "stat": 1000, "rename": 1000}; !maps.Equal(got, want) {
		t.Errorf("claiming 1000 of %d files made calls %v, want %v", n, got, want)
	}

	// Claim none over the same folder: marks are looked up once per file,
	// then remembered while the file stays.
	m2, q, c2 := memDrop(t)
	marks := &mapMarks{}
	q.Claim, q.Marks = bridges.ClaimNone, marks
	for i := range n {
		m2.WriteFile(fmt.Sprintf("f%06d.edi", i), []byte("x"), c2.t.Add(-time.Hour))
	}
	cs = pollN(t, q, 2)
	if len(cs) != n || marks.has != 2*n {
		t.Fatalf("claim none: %d claims after %d mark look-ups, want %d after %d", len(cs), marks.has, n, 2*n)
	}
	ctx := context.Background()
	for _, c := range cs {
		if _, err := c.Archive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	marks.has = 0
	if cs := pollN(t, q, 3); len(cs) != 0 || q.Pending() != 0 || marks.has != 0 {
		t.Fatalf("handled folder: %d claims, %d pending, %d mark look-ups; want none", len(cs), q.Pending(), marks.has)
	}
}

// TestLocalFolder5k claims 5,000 files from a real folder.
func TestLocalFolder5k(t *testing.T) {
	dir, p, _ := setup(t)
	old := time.Now().Add(-time.Hour)
	const n = 5000
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("f%05d.edi", i)), "x", old)
	}
	cs := pollN(t, p, 2)
	if len(cs) != n {
		t.Fatalf("claimed %d of %d", len(cs), n)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "processing"))
	if len(left) != n {
		t.Fatalf("processing/ holds %d files, want %d", len(left), n)
	}
}

func BenchmarkPollLarge(b *testing.B) {
	// ns per listed file for 10,000 and 100,000 files; the ratio stays near 1
	// when a poll is linear (n log n for the sort).
	per := map[int]float64{}
	for _, n := range []int{10_000, 100_000} {
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		m := &bridgestest.MemFS{Now: c.now}
		for i := range n {
			m.WriteFile(fmt.Sprintf("f%06d.edi", i), []byte("x"), time.Time{})
		}
		p := &bridges.Poller{FS: m, Pattern: "*.edi", Now: c.now, MinAge: time.Hour}
		p.Poll(context.Background())
		start := time.Now()
		for range max(b.N, 3) {
			p.Poll(context.Background())
		}
		per[n] = float64(time.Since(start).Nanoseconds()) / float64(max(b.N, 3)*n)
	}
	b.ReportMetric(per[100_000], "ns/file@100k")
	b.ReportMetric(per[100_000]/per[10_000], "ratio-100k/10k")
}

// TestSlowUploadNeverClaimedEarly: an upload that grows by a byte per
// second, and one that pauses 5 s between bytes, are never claimed before
// they are complete — with second-granular mtimes and with the server's
// clock an hour behind ours.
func TestSlowUploadNeverClaimedEarly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		every  time.Duration // one byte per
		minAge time.Duration
		skew   time.Duration // server clock minus ours
	}{
		{"byte per second, default min age", time.Second, 0, 0},
		{"byte per 5s, min age 10s", 5 * time.Second, 10 * time.Second, 0},
		{"byte per 5s, min age 10s, server an hour behind", 5 * time.Second, 10 * time.Second, -time.Hour},
		{"byte per 5s, min age 10s, server a minute ahead", 5 * time.Second, 10 * time.Second, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, p, c := memDrop(t)
			p.MinAge = tc.minAge
			server := func() time.Time { return c.t.Add(tc.skew) }
			m.Now = server
			var data []byte
			next := c.t
			const total = 30
			for sec := 0; sec < 1000; sec++ {
				if len(data) < total && !c.t.Before(next) {
					data = append(data, 'x')
					m.WriteFile("up.edi", data, time.Time{})
					next = c.t.Add(tc.every)
				}
				cs, err := p.Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(cs) > 0 {
					if len(data) < total || cs[0].Info().Size != total {
						t.Fatalf("claimed at %d of %d bytes after %v", cs[0].Info().Size, total, time.Duration(sec)*time.Second)
					}
					// Complete; claimed within min age + skew + two polls
					// of the last byte.
					if wait := c.t.Sub(next.Add(-tc.every)); wait > tc.minAge+max(tc.skew, 0)+2*time.Second {
						t.Errorf("claimed %v after the last byte, want at most %v", wait, tc.minAge+max(tc.skew, 0)+2*time.Second)
					}
					return
				}
				c.t = c.t.Add(time.Second)
			}
			t.Fatal("the complete file was never claimed")
		})
	}
	// Why remote drops need MinAge: without it, a sender pausing longer than
	// the poll interval looks finished.
	m, p, c := memDrop(t)
	m.WriteFile("up.edi", []byte("x"), time.Time{})
	p.Poll(context.Background())
	c.t = c.t.Add(time.Second)
	if cs, _ := p.Poll(context.Background()); len(cs) != 1 {
		t.Fatalf("with MinAge 0 an unchanged file is claimed on the second poll; got %v", names(cs))
	}
}

// TestPollErrorsLoseNothing: while the server is down Poll fails, then
// carries on with nothing lost: leftovers are recovered, observations kept,
// a failed claim retried.
func TestPollErrorsLoseNothing(t *testing.T) {
	m, p, c := memDrop(t)
	ctx := context.Background()
	m.WriteFile("processing/left.edi", []byte("l"), c.t.Add(-time.Hour))
	m.WriteFile("a.edi", []byte("a"), c.t.Add(-time.Hour))
	down := errors.New("connection refused")
	failOps := map[string]bool{}
	m.Fault = func(op, name string) error {
		if failOps[op] {
			return down
		}
		return nil
	}
	for _, op := range []string{"stat", "mkdir", "list"} {
		failOps[op] = true
	}
	if cs, err := p.Poll(ctx); !errors.Is(err, down) || len(cs) != 0 {
		t.Fatalf("Poll with the server down = %v, %v; want the error", names(cs), err)
	}
	clear(failOps)
	cs, err := p.Poll(ctx)
	if err != nil || !slices.Equal(names(cs), []string{"left.edi"}) || !cs[0].Info().Recovered {
		t.Fatalf("after recovery Poll = %v, %v; want the leftover recovered", names(cs), err)
	}
	// a.edi was seen once; the server goes down for a poll, then a.edi is
	// claimed on the next successful poll (the observation was kept).
	failOps["list"] = true
	if _, err := p.Poll(ctx); !errors.Is(err, down) {
		t.Fatalf("Poll = %v, want the error", err)
	}
	// The claim itself fails (connection cut before the rename).
	failOps["list"] = false
	failOps["rename"] = true
	if cs, err := p.Poll(ctx); err != nil || len(cs) != 0 || p.Pending() != 1 {
		t.Fatalf("Poll with renames failing = %v, %v (pending %d); want nothing claimed, a.edi pending", names(cs), err, p.Pending())
	}
	failOps["rename"] = false
	if cs := pollN(t, p, 1); !slices.Equal(names(cs), []string{"a.edi"}) {
		t.Fatalf("after recovery claimed %v, want [a.edi]", names(cs))
	}
	// Claim none: the ledger fails → the error is returned, nothing claimed,
	// the next poll works.
	m2, q, c2 := memDrop(t)
	marks := &mapMarks{fail: errors.New("ledger broken")}
	q.Claim, q.Marks = bridges.ClaimNone, marks
	m2.WriteFile("b.edi", []byte("b"), c2.t.Add(-time.Hour))
	if cs, err := q.Poll(ctx); err == nil || len(cs) != 0 || !strings.Contains(err.Error(), "b.edi") {
		t.Fatalf("Poll with the ledger failing = %v, %v; want an error naming b.edi", names(cs), err)
	}
	marks.fail = nil
	if cs := pollN(t, q, 2); !slices.Equal(names(cs), []string{"b.edi"}) {
		t.Fatalf("after the ledger recovered claimed %v", names(cs))
	}
}

// A partner who can write to the drop replaces a folder the poller moves
// files into with a link to another folder: nothing may go through it.
func TestRefusesLinkedFolders(t *testing.T) {
	for _, tc := range []struct {
		link string // folder under the drop made a link
		step string // where it is refused
	}{
		{"processing", "claim"},
		{"archive", "archive"},
		{"archive/DATE", "archive"},
		{"error", "quarantine"},
	} {
		t.Run(strings.ReplaceAll(tc.link, "/", "_"), func(t *testing.T) {
			dir, p, c := setup(t)
			ctx := context.Background()
			elsewhere := filepath.Join(dir, "other-partner")
			if err := os.Mkdir(elsewhere, 0o755); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, strings.ReplaceAll(tc.link, "DATE", c.t.UTC().Format("2006-01-02")))
			os.MkdirAll(filepath.Dir(link), 0o755)
			if err := os.Symlink(elsewhere, link); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "a.edi"), "x", time.Now().Add(-time.Hour))
			p.Poll(ctx)
			cs, err := p.Poll(ctx)
			if tc.step != "claim" {
				if err != nil || len(cs) != 1 {
					t.Fatalf("claim: %v, %v", names(cs), err)
				}
				if tc.step == "archive" {
					_, err = cs[0].Archive(ctx)
				} else {
					_, err = cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "bad"})
				}
			}
			if !errors.Is(err, bridges.ErrLinkedFolder) || !strings.Contains(err.Error(), "remove the link") {
				t.Fatalf("%s through a linked %s: err = %v; want ErrLinkedFolder saying what to do", tc.step, tc.link, err)
			}
			if es, _ := os.ReadDir(elsewhere); len(es) != 0 {
				t.Fatalf("files were moved through the link into another folder: %v", es)
			}
		})
	}
}

// Claim "auto" on a drop this account may only read: the poller falls back
// to the ledger, says so once, and leaves every file where it is.
func TestClaimAutoReadOnlyDrop(t *testing.T) {
	for _, refused := range []string{"mkdir", "rename"} {
		t.Run(refused, func(t *testing.T) {
			m, p, c := memDrop(t)
			ctx := context.Background()
			var logs strings.Builder
			p.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			p.Claim, p.Marks = bridges.ClaimAuto, &mapMarks{}
			m.WriteFile("a.edi", []byte("aaa"), c.t.Add(-time.Hour))
			m.WriteFile("b.edi", []byte("bbb"), c.t.Add(-time.Hour))
			m.Fault = func(op, name string) error {
				if op == refused || (refused == "mkdir" && op != "list" && op != "stat" && op != "open") {
					return fmt.Errorf("%s %s: %w", op, name, fs.ErrPermission)
				}
				return nil
			}
			cs := pollN(t, p, 2)
			if got, want := names(cs), []string{"a.edi", "b.edi"}; !slices.Equal(got, want) {
				t.Fatalf("claimed %v, want %v", got, want)
			}
			for _, cl := range cs {
				if cl.Info().Path != cl.Info().Name {
					t.Errorf("%s claimed into %q, want read in place", cl.Info().Name, cl.Info().Path)
				}
			}
			if to, err := cs[0].Archive(ctx); err != nil || to != "a.edi" {
				t.Fatalf("Archive = %q, %v; want left in place (a.edi, nil)", to, err)
			}
			if to, err := cs[1].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "broken"}); err != nil || to != "b.edi" {
				t.Fatalf("Quarantine = %q, %v; want left in place (b.edi, nil)", to, err)
			}
			if again := pollN(t, p, 3); len(again) != 0 || p.Pending() != 0 {
				t.Fatalf("handled files claimed again: %v (pending %d)", names(again), p.Pending())
			}
			if n := strings.Count(logs.String(), "claimed by the ledger alone"); n != 1 {
				t.Errorf("the fallback was logged %d times, want once:\n%s", n, logs.String())
			}
			if !strings.Contains(logs.String(), "permission denied") {
				t.Errorf("the log does not give the reason:\n%s", logs.String())
			}
			if refused == "mkdir" && !strings.Contains(logs.String(), "broken") {
				t.Errorf("the error report (error folder not writable) is not in the log:\n%s", logs.String())
			}
		})
	}
	// Writable: auto moves files like "move".
	m, p, c := memDrop(t)
	p.Claim, p.Marks = bridges.ClaimAuto, &mapMarks{}
	m.WriteFile("a.edi", []byte("aaa"), c.t.Add(-time.Hour))
	if cs := pollN(t, p, 2); len(cs) != 1 || cs[0].Info().Path != "processing/a.edi" {
		t.Fatalf("auto on a writable drop: %v; want a.edi moved into processing/", names(cs))
	}
}

func TestLongNamesLocal(t *testing.T) {
	dir := t.TempDir()
	fsys, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	bridgestest.TestLongNames(t, fsys, func(name string) { write(t, filepath.Join(dir, name), "x", time.Now().Add(-time.Hour)) })
}

func TestFitName(t *testing.T) {
	long := strings.Repeat("é", 130) // 260 bytes
	for _, tc := range []struct{ stem, suffix string }{{"a.edi", ".error.json"}, {long, ""}, {long, ".error.json"}, {long[:250], ".12"}} {
		got := bridges.FitName(tc.stem, tc.suffix)
		if len(got) > bridges.MaxNameLen || !strings.HasSuffix(got, tc.suffix) || !utf8.ValidString(got) {
			t.Errorf("FitName(%d bytes, %q) = %q (%d bytes)", len(tc.stem), tc.suffix, got, len(got))
		}
	}
	if a, b := bridges.FitName(long+"a", ".x"), bridges.FitName(long+"b", ".x"); a == b {
		t.Errorf("two long stems got the same name %q", a)
	}
	if got := bridges.FitName("a.edi", ".error.json"); got != "a.edi.error.json" {
		t.Errorf("short name changed: %q", got)
	}
}

// unsafeListFS lists names that CheckName refuses, as FTP listings may.
type unsafeListFS struct{ bridges.FS }

func (u unsafeListFS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	es, err := u.FS.List(ctx, dir)
	if dir == "." {
		for _, n := range []string{"evil\u202Eide.edi", "bad\x1b[31m.edi"} {
			es = append(es, bridges.Entry{Name: n, Size: 1, ModTime: time.Unix(0, 0)})
		}
	}
	return es, err
}

func TestUnsafeNamesLoggedOnceQuoted(t *testing.T) {
	m, p, _ := memDrop(t)
	var logs strings.Builder
	p.FS, p.Logger = unsafeListFS{m}, slog.New(slog.NewTextHandler(&logs, nil))
	if cs := pollN(t, p, 3); len(cs) != 0 {
		t.Fatalf("claimed %v", names(cs))
	}
	out := logs.String()
	if n := strings.Count(out, "file name refused"); n != 2 {
		t.Errorf("%d refusals logged over 3 polls, want 2 (once per name):\n%s", n, out)
	}
	if strings.ContainsAny(out, "\u202E\x1b") {
		t.Errorf("the log holds raw control or format characters:\n%q", out)
	}
}
