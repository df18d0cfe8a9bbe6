// Package bridgestest is the conformance suite every bridges.FS transport
// passes, in the spirit of testing/fstest: a transport's own test roots an
// FS at an empty, writable folder and calls TestFS.
//
//	func TestConformance(t *testing.T) {
//		fsys := openMyTransport(t) // rooted at an empty folder
//		bridgestest.TestFS(t, fsys)
//	}
//
// Each rule of the bridges.FS contract that can be seen from outside the
// transport is one subtest, so a failure names the rule it breaks. The suite
// only ever writes below the root it is given; every subtest works in its own
// folder, and nothing is removed afterwards (the caller's folder is a scratch
// folder).
package bridgestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
)

// Option adjusts TestFS for a transport. Prefer none: every option weakens or
// narrows a check, and each one says which.
type Option func(*options)

type options struct {
	manyFiles int
	bigFile   int
}

// ManyFiles sets how many files the "ManyFiles" subtest creates in one folder
// and then expects List to return completely. Default 2000. Remote transports
// on a slow link may lower it; it never goes below 1100 (over the 1024
// entries some servers and clients send per batch).
func ManyFiles(n int) Option {
	return func(o *options) { o.manyFiles = max(n, 1100) }
}

// clockSlack is how far a new file's ModTime may be from this machine's clock:
// second-granular transports truncate (up to 1 s), plus latency and the skew
// between a test server and the test.
const clockSlack = 5 * time.Second

// TestFS checks that fsys, rooted at an empty writable folder, follows the
// bridges.FS contract. It fails t (through subtests named after the rules)
// for every rule it finds broken.
func TestFS(t *testing.T, fsys bridges.FS, opts ...Option) {
	o := options{manyFiles: 2000, bigFile: 3<<20 + 12345}
	for _, opt := range opts {
		opt(&o)
	}
	s := &suite{fs: fsys, o: o}
	// The empty root first: before anything else exists, List must return
	// nothing at all (no "." or ".." from the server).
	t.Run("EmptyRoot", s.emptyRoot)
	t.Run("RoundTrip", s.roundTrip)
	t.Run("ListNames", s.listNames)
	t.Run("ModTime", s.modTime)
	t.Run("Dirs", s.dirs)
	t.Run("NotExist", s.notExist)
	t.Run("UnsafeNames", s.unsafeNames)
	t.Run("AtomicCreate", s.atomicCreate)
	t.Run("SameNameCreate", s.sameNameCreate)
	t.Run("FailedCreate", s.failedCreate)
	t.Run("AbandonedCreate", s.abandonedCreate)
	t.Run("Rename", s.rename)
	t.Run("Remove", s.remove)
	t.Run("Concurrent", s.concurrent)
	t.Run("ManyFiles", s.manyFiles)
}

type suite struct {
	fs bridges.FS
	o  options
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mkdir creates a subtest's own folder.
func (s *suite) mkdir(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	if err := s.fs.MkdirAll(ctx, dir); err != nil {
		t.Fatalf("MkdirAll(%q): %v", dir, err)
	}
}

// put writes a file through Create and fails the test on any error.
func (s *suite) put(t *testing.T, ctx context.Context, name string, data []byte) {
	t.Helper()
	if err := s.write(ctx, name, data); err != nil {
		t.Fatal(err)
	}
}

func (s *suite) write(ctx context.Context, name string, data []byte) error {
	w, err := s.fs.Create(ctx, name)
	if err != nil {
		return fmt.Errorf("Create(%q): %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("Create(%q): Write: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("Create(%q): Close: %w", name, err)
	}
	return nil
}

func (s *suite) read(ctx context.Context, name string) ([]byte, error) {
	r, err := s.fs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("Open(%q): %w", name, err)
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil && cerr != nil {
		return b, fmt.Errorf("Open(%q): Close: %w", name, cerr)
	}
	if err != nil {
		return b, fmt.Errorf("Open(%q): Read: %w", name, err)
	}
	return b, nil
}

// check reads name back and compares it byte for byte with want.
func (s *suite) check(t *testing.T, ctx context.Context, name string, want []byte) {
	t.Helper()
	got, err := s.read(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open(%q) read %d bytes that differ from the %d written (first difference at byte %d)",
			name, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func (s *suite) list(t *testing.T, ctx context.Context, dir string) map[string]bridges.Entry {
	t.Helper()
	es, err := s.fs.List(ctx, dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
	}
	m := make(map[string]bridges.Entry, len(es))
	for _, e := range es {
		if _, dup := m[e.Name]; dup {
			t.Errorf("List(%q) returned %q twice", dir, e.Name)
		}
		m[e.Name] = e
	}
	return m
}

func keys(m map[string]bridges.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x6c656761637962))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func (s *suite) emptyRoot(t *testing.T) {
	ctx := ctxFor(t)
	for _, dir := range []string{"", "."} {
		es, err := s.fs.List(ctx, dir)
		if err != nil {
			t.Fatalf("List(%q) of the empty root: %v", dir, err)
		}
		if len(es) != 0 {
			t.Errorf("List(%q) of the empty root returned %v; want no entries (never \".\" or \"..\")", dir, es)
		}
	}
}

// roundTrip writes files of several sizes (empty, one byte, text, several
// MiB of random bytes) and reads them back through Open, Stat and List.
func (s *suite) roundTrip(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "roundtrip")
	files := map[string][]byte{
		"empty.edi":                      {},
		"one.edi":                        {'x'},
		"text.edi":                       []byte("ISA*00*          *00*          *ZZ*SENDER~\r\nIEA*1*000000001~\n"),
		"big.bin":                        randomBytes(s.o.bigFile, 1),
		"name with spaces & ümlauts.txt": []byte("utf-8 names are plain names"),
	}
	for name, data := range files {
		s.put(t, ctx, "roundtrip/"+name, data)
	}
	listed := s.list(t, ctx, "roundtrip")
	if got, want := keys(listed), keysOf(files); !slices.Equal(got, want) {
		t.Errorf("List(\"roundtrip\") = %q, want %q (no temporary files left behind)", got, want)
	}
	for name, data := range files {
		p := "roundtrip/" + name
		s.check(t, ctx, p, data)
		e, err := s.fs.Stat(ctx, p)
		if err != nil {
			t.Fatalf("Stat(%q): %v", p, err)
		}
		want := bridges.Entry{Name: name, Size: int64(len(data))}
		if e.Name != want.Name || e.Size != want.Size || e.IsDir || e.Special {
			t.Errorf("Stat(%q) = {Name:%q Size:%d IsDir:%v Special:%v}, want {Name:%q Size:%d IsDir:false Special:false}",
				p, e.Name, e.Size, e.IsDir, e.Special, want.Name, want.Size)
		}
		l := listed[name]
		if l.Size != want.Size || l.IsDir || l.Special {
			t.Errorf("List(\"roundtrip\") entry %q = {Size:%d IsDir:%v Special:%v}, want {Size:%d IsDir:false Special:false}",
				name, l.Size, l.IsDir, l.Special, want.Size)
		}
	}
	// Reading the big file in small pieces must give the same bytes (a
	// streaming reader that mishandles short buffers shows up here).
	r, err := s.fs.Open(ctx, "roundtrip/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 1000)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read of roundtrip/big.bin after %d bytes: %v", got.Len(), err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close of roundtrip/big.bin after a complete read: %v", err)
	}
	if !bytes.Equal(got.Bytes(), files["big.bin"]) {
		t.Errorf("roundtrip/big.bin read in 1000-byte pieces differs at byte %d", firstDiff(got.Bytes(), files["big.bin"]))
	}
	// Open and Close without reading everything must not fail or hang.
	r, err = s.fs.Open(ctx, "roundtrip/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("Read of roundtrip/big.bin: %v", err)
	}
	r.Close() // an early Close may report the abort; only the next call matters
	s.check(t, ctx, "roundtrip/one.edi", files["one.edi"])
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// listNames checks that List returns base names only, never "." or "..", in
// nested folders too, and that Stat names a nested file by its base name.
func (s *suite) listNames(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "names/sub/deeper")
	s.put(t, ctx, "names/top.txt", []byte("top"))
	s.put(t, ctx, "names/sub/mid.txt", []byte("mid"))
	s.put(t, ctx, "names/sub/deeper/low.txt", []byte("low"))
	for dir, want := range map[string][]string{
		"names":            {"sub", "top.txt"},
		"names/sub":        {"deeper", "mid.txt"},
		"names/sub/deeper": {"low.txt"},
		"names/sub/":       {"deeper", "mid.txt"},
		"./names/sub":      {"deeper", "mid.txt"},
	} {
		got := keys(s.list(t, ctx, dir))
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q (base names; never \".\" or \"..\")", dir, got, want)
		}
	}
	root := s.list(t, ctx, ".")
	for name := range root {
		if name == "." || name == ".." || strings.Contains(name, "/") {
			t.Errorf("List(\".\") returned %q; want base names only", name)
		}
	}
	if e, ok := root["names"]; !ok || !e.IsDir {
		t.Errorf("List(\".\") entry names = %+v (present %v), want a folder", e, ok)
	}
	e, err := s.fs.Stat(ctx, "names/sub/deeper/low.txt")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "low.txt" || e.Size != 3 {
		t.Errorf("Stat(\"names/sub/deeper/low.txt\") = {Name:%q Size:%d}, want {Name:\"low.txt\" Size:3}", e.Name, e.Size)
	}
}

// modTime checks that ModTime is this machine's time within a few seconds,
// precise to the second (a rewrite 1.1 s later changes it), stable between
// listings of an unchanged file (the poller compares two polls), and the
// same second in List and Stat.
func (s *suite) modTime(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "mtime")
	s.put(t, ctx, "mtime/f.txt", []byte("first"))
	created := time.Now()
	e1, err := s.fs.Stat(ctx, "mtime/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if d := created.Sub(e1.ModTime); d < -clockSlack || d > clockSlack {
		t.Fatalf("Stat(\"mtime/f.txt\").ModTime = %v, %v from now (%v); want within %v (wrong time zone or minute-precise listing?)",
			e1.ModTime, d, created, clockSlack)
	}
	l1 := s.list(t, ctx, "mtime")["f.txt"]
	l2 := s.list(t, ctx, "mtime")["f.txt"]
	if !l1.ModTime.Equal(l2.ModTime) || l1.Size != l2.Size {
		t.Errorf("two listings of an unchanged file differ: {%v %d} then {%v %d}; the poller would never see it stable",
			l1.ModTime, l1.Size, l2.ModTime, l2.Size)
	}
	if !l1.ModTime.Truncate(time.Second).Equal(e1.ModTime.Truncate(time.Second)) {
		t.Errorf("List ModTime %v and Stat ModTime %v of mtime/f.txt are not the same second", l1.ModTime, e1.ModTime)
	}
	time.Sleep(1100 * time.Millisecond)
	s.put(t, ctx, "mtime/f.txt", []byte("again")) // same size: only the time tells
	e2, err := s.fs.Stat(ctx, "mtime/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !e2.ModTime.After(e1.ModTime) {
		t.Errorf("ModTime of mtime/f.txt rewritten 1.1 s later = %v, first %v; want later (ModTime must be precise to the second)",
			e2.ModTime, e1.ModTime)
	}
	if d := e2.ModTime.Sub(e1.ModTime); d > clockSlack {
		t.Errorf("ModTime of mtime/f.txt moved %v over a 1.1 s rewrite; want about 1 s (precise to the second)", d)
	}
	l3 := s.list(t, ctx, "mtime")["f.txt"]
	if !l3.ModTime.Truncate(time.Second).Equal(e2.ModTime.Truncate(time.Second)) {
		t.Errorf("after the rewrite List ModTime %v and Stat ModTime %v are not the same second", l3.ModTime, e2.ModTime)
	}
}

// dirs checks MkdirAll (nested, idempotent, "." and "" as no-ops) and IsDir
// in List and Stat.
func (s *suite) dirs(t *testing.T) {
	ctx := ctxFor(t)
	for _, dir := range []string{"", "."} {
		if err := s.fs.MkdirAll(ctx, dir); err != nil {
			t.Errorf("MkdirAll(%q): %v; want a no-op", dir, err)
		}
	}
	s.mkdir(t, ctx, "dirs/a/b/c")
	s.mkdir(t, ctx, "dirs/a/b/c") // existing: fine
	s.mkdir(t, ctx, "dirs/a")     // existing parent: fine
	s.mkdir(t, ctx, "dirs/a/b2")  // sibling under an existing parent
	for _, d := range []string{"dirs", "dirs/a", "dirs/a/b", "dirs/a/b/c", "dirs/a/b2"} {
		e, err := s.fs.Stat(ctx, d)
		if err != nil {
			t.Fatalf("Stat(%q) after MkdirAll: %v", d, err)
		}
		if !e.IsDir || e.Name != path.Base(d) {
			t.Errorf("Stat(%q) = {Name:%q IsDir:%v}, want {Name:%q IsDir:true}", d, e.Name, e.IsDir, path.Base(d))
		}
	}
	s.put(t, ctx, "dirs/a/b/c/f.txt", []byte("deep"))
	s.check(t, ctx, "dirs/a/b/c/f.txt", []byte("deep"))
	got := s.list(t, ctx, "dirs/a")
	if !slices.Equal(keys(got), []string{"b", "b2"}) || !got["b"].IsDir || !got["b2"].IsDir {
		t.Errorf("List(\"dirs/a\") = %+v, want folders b and b2", got)
	}
	if e := s.list(t, ctx, "dirs/a/b/c")["f.txt"]; e.IsDir {
		t.Errorf("List(\"dirs/a/b/c\") shows file f.txt as a folder")
	}
	if es := s.list(t, ctx, "dirs/a/b2"); len(es) != 0 {
		t.Errorf("List of a new empty folder = %q, want nothing", keys(es))
	}
}

// notExist checks that every method reports a missing file or folder with an
// error wrapping bridges.ErrNotExist.
func (s *suite) notExist(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "missing")
	checks := []struct {
		op  string
		err func() error
	}{
		{`List("missing/nodir")`, func() error { _, err := s.fs.List(ctx, "missing/nodir"); return err }},
		{`List("nodir/nodir")`, func() error { _, err := s.fs.List(ctx, "nodir/nodir"); return err }},
		{`Stat("missing/nofile")`, func() error { _, err := s.fs.Stat(ctx, "missing/nofile"); return err }},
		{`Stat("nodir/nofile")`, func() error { _, err := s.fs.Stat(ctx, "nodir/nofile"); return err }},
		{`Open("missing/nofile")`, func() error {
			r, err := s.fs.Open(ctx, "missing/nofile")
			if err == nil {
				r.Close()
			}
			return err
		}},
		{`Rename("missing/nofile", "missing/to")`, func() error { return s.fs.Rename(ctx, "missing/nofile", "missing/to") }},
		{`Remove("missing/nofile")`, func() error { return s.fs.Remove(ctx, "missing/nofile") }},
	}
	for _, c := range checks {
		if err := c.err(); !errors.Is(err, bridges.ErrNotExist) {
			t.Errorf("%s = %v; want an error wrapping bridges.ErrNotExist", c.op, err)
		}
	}
	// The failed Rename must not have created its target.
	if _, err := s.fs.Stat(ctx, "missing/to"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("Stat(\"missing/to\") after a failed Rename = %v; want ErrNotExist", err)
	}
}

var unsafeNames = []string{
	"../x",
	"..",
	"/etc/passwd",
	"/",
	"a/../../b",
	"a/..",
	`a\b`,
	`..\x`,
	"bad\x01name",
	"dir/bad\nname",
	"bad\x7fname",
}

// unsafeNames checks that every method refuses names that could leave the
// root with an error wrapping bridges.ErrUnsafeName — also with a cancelled
// context, since the name must be checked before any network use.
func (s *suite) unsafeNames(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "unsafe")
	s.put(t, ctx, "unsafe/ok", []byte("ok"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		what string
		ctx  context.Context
	}{{"", ctx}, {" (cancelled context)", cancelled}} {
		for _, bad := range unsafeNames {
			ops := []struct {
				op  string
				err func() error
			}{
				{"List", func() error { _, err := s.fs.List(c.ctx, bad); return err }},
				{"Stat", func() error { _, err := s.fs.Stat(c.ctx, bad); return err }},
				{"Open", func() error {
					r, err := s.fs.Open(c.ctx, bad)
					if err == nil {
						r.Close()
					}
					return err
				}},
				{"Create", func() error {
					w, err := s.fs.Create(c.ctx, bad)
					if err == nil {
						w.Close()
						return errors.New("Create returned a writer")
					}
					return err
				}},
				{"Rename from", func() error { return s.fs.Rename(c.ctx, bad, "unsafe/to") }},
				{"Rename to", func() error { return s.fs.Rename(c.ctx, "unsafe/ok", bad) }},
				{"Remove", func() error { return s.fs.Remove(c.ctx, bad) }},
				{"MkdirAll", func() error { return s.fs.MkdirAll(c.ctx, bad) }},
			}
			for _, o := range ops {
				if err := o.err(); !errors.Is(err, bridges.ErrUnsafeName) {
					t.Errorf("%s(%q)%s = %v; want an error wrapping bridges.ErrUnsafeName", o.op, bad, c.what, err)
				}
			}
		}
	}
	// Nothing moved: the source of the refused renames is still there.
	s.check(t, ctx, "unsafe/ok", []byte("ok"))
	if got := keys(s.list(t, ctx, "unsafe")); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("List(\"unsafe\") after refused calls = %q, want [ok]", got)
	}
}

// atomicCreate checks that a file being written is invisible under its final
// name until Close succeeds, that it is written under a temporary name in
// the same folder (bridges.TempName: ".NAME.<random>.legacybridge-tmp"),
// and that Create replaces an existing file.
func (s *suite) atomicCreate(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "atomic")
	old := []byte("old content")
	s.put(t, ctx, "atomic/replace.txt", old)
	data := randomBytes(256<<10, 2)
	for _, name := range []string{"atomic/new.txt", "atomic/replace.txt"} {
		before, err := s.fs.Stat(ctx, name)
		existed := err == nil
		w, err := s.fs.Create(ctx, name)
		if err != nil {
			t.Fatalf("Create(%q): %v", name, err)
		}
		if _, err := w.Write(data[:len(data)/2]); err != nil {
			t.Fatalf("Create(%q): Write: %v", name, err)
		}
		// Some clients hand data to the server from another goroutine; give
		// the temporary file a moment to appear.
		var listed map[string]bridges.Entry
		var tmp []string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			listed = s.list(t, ctx, "atomic")
			if tmp = tempNames(listed, path.Base(name)); len(tmp) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(tmp) != 1 {
			t.Errorf("while writing %s, List(\"atomic\") = %q; want one temporary file .%s.<random>.legacybridge-tmp (bridges.TempName)", name, keys(listed), path.Base(name))
		}
		e, err := s.fs.Stat(ctx, name)
		switch {
		case !existed && !errors.Is(err, bridges.ErrNotExist):
			t.Errorf("while writing %s, Stat = %+v, %v; want ErrNotExist until Close", name, e, err)
		case existed && (err != nil || e.Size != before.Size):
			t.Errorf("while writing over %s, Stat = %+v, %v; want the old file (%d bytes) until Close", name, e, err, before.Size)
		}
		if _, ok := listed[path.Base(name)]; ok != existed {
			t.Errorf("while writing %s, List shows it: %v; want %v (only an older file may be visible)", name, ok, existed)
		}
		if existed {
			s.check(t, ctx, name, old)
		}
		if _, err := w.Write(data[len(data)/2:]); err != nil {
			t.Fatalf("Create(%q): Write: %v", name, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Create(%q): Close: %v", name, err)
		}
		s.check(t, ctx, name, data)
	}
	if got, want := keys(s.list(t, ctx, "atomic")), []string{"new.txt", "replace.txt"}; !slices.Equal(got, want) {
		t.Errorf("List(\"atomic\") after Close = %q, want %q (no temporary file left)", got, want)
	}
}

// tempNames returns the names in listed that are temporary files of base
// (bridges.TempName).
func tempNames(listed map[string]bridges.Entry, base string) []string {
	var out []string
	for n := range listed {
		if strings.HasPrefix(n, "."+base+".") && strings.HasSuffix(n, ".legacybridge-tmp") {
			out = append(out, n)
		}
	}
	return out
}

// sameNameCreate checks that two writers of one name at once (two
// deliveries of a consumer group during a rebalance, two processes sharing
// a drop) do not share a temporary file: both Close without error, each
// publishes its own whole content (the later Close wins), and no temporary
// file stays. A shared temporary name would mix the two contents and make
// the second rename fail.
func (s *suite) sameNameCreate(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "samename")
	const name = "samename/f.txt"
	a, b := randomBytes(200<<10, 11), randomBytes(150<<10, 12)
	wa, err := s.fs.Create(ctx, name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	defer wa.Close()
	if _, err := wa.Write(a[:len(a)/2]); err != nil {
		t.Fatalf("first writer: Write: %v", err)
	}
	wb, err := s.fs.Create(ctx, name)
	if err != nil {
		t.Fatalf("Create(%q) while another writer has it open: %v", name, err)
	}
	defer wb.Close()
	if _, err := wb.Write(b[:len(b)/2]); err != nil {
		t.Fatalf("second writer: Write: %v", err)
	}
	if _, err := wa.Write(a[len(a)/2:]); err != nil {
		t.Fatalf("first writer: Write: %v", err)
	}
	if _, err := wb.Write(b[len(b)/2:]); err != nil {
		t.Fatalf("second writer: Write: %v", err)
	}
	if err := wa.Close(); err != nil {
		t.Fatalf("first writer: Close: %v", err)
	}
	s.check(t, ctx, name, a)
	if err := wb.Close(); err != nil {
		t.Fatalf("second writer: Close: %v (do the two writers share a temporary file?)", err)
	}
	s.check(t, ctx, name, b)
	if got := keys(s.list(t, ctx, "samename")); !slices.Equal(got, []string{"f.txt"}) {
		t.Errorf("List(\"samename\") after both Close = %q, want [f.txt] (no temporary file left)", got)
	}
}

// failedCreate checks that a writer whose Close fails leaves neither a file
// under the final name nor its temporary file. Close is made to fail by
// creating a file where a folder is: the final rename cannot replace it.
func (s *suite) failedCreate(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "failed/isdir")
	s.put(t, ctx, "failed/isdir/inside", []byte("keep"))
	var err error
	w, err := s.fs.Create(ctx, "failed/isdir")
	if err == nil {
		_, err = w.Write([]byte("this cannot replace a folder"))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		t.Fatalf("Create(\"failed/isdir\") over a folder succeeded; want an error from Create, Write or Close")
	}
	e, serr := s.fs.Stat(ctx, "failed/isdir")
	if serr != nil || !e.IsDir {
		t.Errorf("after a failed Create over it, Stat(\"failed/isdir\") = %+v, %v; want the folder untouched", e, serr)
	}
	s.check(t, ctx, "failed/isdir/inside", []byte("keep"))
	if got := keys(s.list(t, ctx, "failed")); !slices.Equal(got, []string{"isdir"}) {
		t.Errorf("List(\"failed\") after a failed Create = %q, want [isdir] (the temporary file removed)", got)
	}
}

// abandonedCreate checks that a writer whose context is cancelled before
// Close never publishes: Write or Close fails, and neither the final name nor
// the temporary file remains. (A caller that gives up half-way — shutdown,
// a failed source — must not leave a partial file that looks complete.)
func (s *suite) abandonedCreate(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "abandoned")
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.fs.Create(wctx, "abandoned/part.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(randomBytes(64<<10, 3))
	cancel()
	_, werr2 := w.Write([]byte("more"))
	cerr := w.Close()
	if werr == nil && werr2 == nil && cerr == nil {
		t.Errorf("a writer whose context was cancelled closed without error; want Close (or Write) to fail")
	}
	if _, err := s.fs.Stat(ctx, "abandoned/part.txt"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("Stat(\"abandoned/part.txt\") after an abandoned write = %v; want ErrNotExist", err)
	}
	// The temporary file may be removed in the background by a remote
	// transport; allow it a few seconds.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = keys(s.list(t, ctx, "abandoned"))
		if len(got) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(got) != 0 {
		t.Errorf("List(\"abandoned\") after an abandoned write = %q, want nothing", got)
	}
	// The FS still works afterwards.
	s.put(t, ctx, "abandoned/after.txt", []byte("after"))
	s.check(t, ctx, "abandoned/after.txt", []byte("after"))
}

// rename checks moves within and between folders, that an existing target is
// replaced, and that the source is gone afterwards.
func (s *suite) rename(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "rename/processing")
	s.put(t, ctx, "rename/a.txt", []byte("a content"))
	s.put(t, ctx, "rename/b.txt", []byte("b"))
	if err := s.fs.Rename(ctx, "rename/a.txt", "rename/processing/a.txt"); err != nil {
		t.Fatalf("Rename into a subfolder: %v", err)
	}
	s.check(t, ctx, "rename/processing/a.txt", []byte("a content"))
	if _, err := s.fs.Stat(ctx, "rename/a.txt"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("Stat of a renamed file's old name = %v; want ErrNotExist", err)
	}
	// Replace an existing target.
	if err := s.fs.Rename(ctx, "rename/processing/a.txt", "rename/b.txt"); err != nil {
		t.Fatalf("Rename onto an existing file: %v; want it replaced", err)
	}
	s.check(t, ctx, "rename/b.txt", []byte("a content"))
	if got := keys(s.list(t, ctx, "rename")); !slices.Equal(got, []string{"b.txt", "processing"}) {
		t.Errorf("List(\"rename\") = %q, want [b.txt processing]", got)
	}
	if got := keys(s.list(t, ctx, "rename/processing")); len(got) != 0 {
		t.Errorf("List(\"rename/processing\") = %q, want nothing", got)
	}
	// A rename to the same folder under a new name keeps size and content.
	if err := s.fs.Rename(ctx, "rename/b.txt", "rename/c.txt"); err != nil {
		t.Fatal(err)
	}
	e, err := s.fs.Stat(ctx, "rename/c.txt")
	if err != nil || e.Size != int64(len("a content")) || e.Name != "c.txt" {
		t.Errorf("Stat after rename = %+v, %v; want c.txt of %d bytes", e, err, len("a content"))
	}
}

func (s *suite) remove(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "remove")
	s.put(t, ctx, "remove/gone.txt", []byte("x"))
	s.put(t, ctx, "remove/stays.txt", []byte("y"))
	if err := s.fs.Remove(ctx, "remove/gone.txt"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := s.fs.Stat(ctx, "remove/gone.txt"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("Stat of a removed file = %v; want ErrNotExist", err)
	}
	if err := s.fs.Remove(ctx, "remove/gone.txt"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("second Remove = %v; want ErrNotExist", err)
	}
	if got := keys(s.list(t, ctx, "remove")); !slices.Equal(got, []string{"stays.txt"}) {
		t.Errorf("List(\"remove\") = %q, want [stays.txt]", got)
	}
}

// concurrent has several goroutines create, read, stat, list, rename and
// remove distinct files at the same time.
func (s *suite) concurrent(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "concurrent")
	const workers, rounds = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for g := range workers {
		wg.Go(func() {
			for i := range rounds {
				name := fmt.Sprintf("concurrent/g%d-%d", g, i)
				data := randomBytes(32<<10+g*1000+i, uint64(100+g*rounds+i))
				if err := s.write(ctx, name, data); err != nil {
					errs <- err
					return
				}
				got, err := s.read(ctx, name)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s read back %d bytes differing at %d from the %d written", name, len(got), firstDiff(got, data), len(data))
					return
				}
				if _, err := s.fs.List(ctx, "concurrent"); err != nil {
					errs <- fmt.Errorf("List: %w", err)
					return
				}
				if err := s.fs.Rename(ctx, name, name+".done"); err != nil {
					errs <- fmt.Errorf("Rename(%q): %w", name, err)
					return
				}
				e, err := s.fs.Stat(ctx, name+".done")
				if err != nil || e.Size != int64(len(data)) {
					errs <- fmt.Errorf("Stat(%q) = %+v, %v; want %d bytes", name+".done", e, err, len(data))
					return
				}
				if i%2 == 1 {
					if err := s.fs.Remove(ctx, name+".done"); err != nil {
						errs <- fmt.Errorf("Remove(%q): %w", name+".done", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for g := range workers {
		for i := 0; i < rounds; i += 2 {
			want = append(want, fmt.Sprintf("g%d-%d.done", g, i))
		}
	}
	slices.Sort(want)
	if got := keys(s.list(t, ctx, "concurrent")); !slices.Equal(got, want) {
		t.Errorf("List(\"concurrent\") = %q, want %q", got, want)
	}
}

// manyFiles creates many files in one folder (by four writers at once) and
// checks that List returns every one of them with its size.
func (s *suite) manyFiles(t *testing.T) {
	ctx := ctxFor(t)
	s.mkdir(t, ctx, "many")
	n := s.o.manyFiles
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("many/file-%05d.edi", i)
				if err := s.write(ctx, name, []byte(strings.Repeat("x", i%7))); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	got := s.list(t, ctx, "many")
	if len(got) != n {
		t.Errorf("List(\"many\") returned %d entries, want %d", len(got), n)
	}
	var missing []string
	for i := range n {
		name := fmt.Sprintf("file-%05d.edi", i)
		e, ok := got[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case e.Size != int64(i%7) || e.IsDir:
			t.Errorf("List(\"many\") entry %q = {Size:%d IsDir:%v}, want {Size:%d IsDir:false}", name, e.Size, e.IsDir, i%7)
		}
	}
	if len(missing) > 0 {
		t.Errorf("List(\"many\") is missing %d of %d files, first %q", len(missing), n, missing[0])
	}
}

// TestLongNames runs a Poller over fsys (its drop is the FS root; put
// drops a file there, old enough to be complete) and quarantines two files named near the 255-byte limit, the
// second twice (a retry), over fsys, whose drop folder is the FS root.
func TestLongNames(t *testing.T, fsys bridges.FS, put func(name string)) {
	t.Helper()
	ctx := context.Background()
	name := strings.Repeat("n", 246) + ".edi" // 250 bytes
	now := time.Now().Add(time.Hour)
	p := &bridges.Poller{FS: fsys, Pattern: "*.edi", Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	var tos []string
	for i := range 2 {
		put(name)
		p.Poll(ctx)
		cs, err := p.Poll(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("drop %d: claimed %d files, %v", i, len(cs), err)
		}
		to, err := cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "broken"})
		if err != nil {
			t.Fatalf("quarantine %d: %v", i, err)
		}
		// The runner retries a quarantine that failed; it must not move the
		// file again.
		again, err := cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "broken"})
		if err != nil || again != to {
			t.Fatalf("quarantine %d again = %q, %v; want %q, nil", i, again, err, to)
		}
		tos = append(tos, to)
	}
	es, err := fsys.List(ctx, "error")
	if err != nil {
		t.Fatal(err)
	}
	var files, reports []string
	for _, e := range es {
		if len(e.Name) > bridges.MaxNameLen {
			t.Errorf("%q is %d bytes", e.Name, len(e.Name))
		}
		if strings.HasSuffix(e.Name, ".error.json") {
			reports = append(reports, e.Name)
		} else {
			files = append(files, e.Name)
		}
	}
	if len(files) != 2 || len(reports) != 2 || tos[0] == tos[1] {
		t.Fatalf("error/ holds files %q and reports %q (quarantined to %q); want 2 of each", files, reports, tos)
	}
	for _, to := range tos {
		base := to[strings.LastIndex(to, "/")+1:]
		r, err := fsys.Open(ctx, "error/"+bridges.FitName(base, ".error.json"))
		if err != nil {
			t.Fatalf("report for %s: %v", to, err)
		}
		r.Close()
	}
}
