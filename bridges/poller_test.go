package bridges_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/local"
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
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a\nb", "a\x00b"} {
		if bridges.CheckName(bad) == nil {
			t.Errorf("CheckName(%q) = nil, want an error", bad)
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
