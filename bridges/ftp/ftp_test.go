package ftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"legacybridge/bridges"
)

// The tests in this file need no server.

func TestParseMLSx(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15:04:05.999999999", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, c := range []struct {
		line string
		want listed
		ok   bool
	}{
		{"modify=20240305101112;perm=adfrw;size=3;type=file;unique=FE00UBE12F;UNIX.mode=0644; f.txt",
			listed{name: "f.txt", size: 3, time: utc("2024-03-05 10:11:12"), precise: true}, true},
		// FileZilla Server and IIS send fractional seconds (RFC 3659 allows them).
		{"Type=file;Size=1024;Modify=20240305101112.345; a b; c.edi",
			listed{name: "a b; c.edi", size: 1024, time: utc("2024-03-05 10:11:12.345"), precise: true}, true},
		{"type=dir;modify=20240305101112; sub", listed{name: "sub", time: utc("2024-03-05 10:11:12"), precise: true, isDir: true}, true},
		{"modify=20261203152728;size=5;type=OS.unix=symlink; link.txt",
			listed{name: "link.txt", size: 5, time: utc("2026-12-03 15:27:28"), precise: true, special: true}, true},
		{"type=OS.unix=slink:/etc/passwd;modify=20261203152728; abs", listed{name: "abs", time: utc("2026-12-03 15:27:28"), precise: true, special: true}, true},
		{"type=OS.unix=blkdev;size=0; sda", listed{name: "sda", special: true}, true},
		// No modify fact: the time is not precise (MDTM fills it in).
		{"type=file;size=7; nomod", listed{name: "nomod", size: 7}, true},
		{"type=file;modify=2024; badtime", listed{name: "badtime"}, true},
		// A name given as a path (MLST does that) becomes its base name.
		{"type=file;size=1;modify=20240305101112; /data/in/x.edi", listed{name: "x.edi", size: 1, time: utc("2024-03-05 10:11:12"), precise: true}, true},
		{"modify=20261203152728;type=cdir; .", listed{}, false},
		{"modify=20261203152728;type=pdir; ..", listed{}, false},
		{"modify=20261203152728;type=cdir; /lbtest", listed{}, false},
		{"type=dir; ..", listed{}, false},
		// Unsafe names reach the poller, which reports and leaves them.
		{"type=file; bad\x01name", listed{name: "bad\x01name"}, true},
		{`type=file; back\slash`, listed{name: `back\slash`}, true},
		{"type=file;", listed{}, false},
		{"", listed{}, false},
	} {
		got, ok := parseMLSx(c.line)
		if ok != c.ok || got != c.want {
			t.Errorf("parseMLSx(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func TestParseFTPTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // RFC 3339 with nanoseconds, "" = not ok
	}{
		{"20240305101112", "2024-03-05T10:11:12Z"},
		{"20240305101112.5", "2024-03-05T10:11:12.5Z"},
		{"20240305101112.123456789", "2024-03-05T10:11:12.123456789Z"},
		{"20240305101112.", ""},
		{"20240305101112,5", ""},
		{"20240305101112.x", ""},
		{"2024030510111", ""},
		{"20241305101112", ""},
	} {
		got, ok := parseFTPTime(c.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339Nano)
		}
		if s != c.want {
			t.Errorf("parseFTPTime(%q) = %q, want %q", c.in, s, c.want)
		}
	}
}

// TestMLSDParserChunks feeds a listing in every possible pair of chunks: the
// parser sees the data connection's reads, which split lines anywhere.
func TestMLSDParserChunks(t *testing.T) {
	listing := "type=cdir;modify=20240101000000; .\r\n" +
		"type=file;size=10;modify=20240101000001; a.edi\r\n" +
		"type=dir;modify=20240101000002; sub\r\n" +
		"type=OS.unix=symlink;modify=20240101000003; l\r\n" +
		"type=file;size=20;modify=20240101000004; last without line end"
	var want []string
	for i := 0; i <= len(listing); i++ {
		m := &mlsdParser{}
		m.Write([]byte(listing[:i]))
		m.Write([]byte(listing[i:]))
		m.flush()
		var got []string
		for _, e := range m.entries {
			got = append(got, fmt.Sprintf("%s %d %v %v %v", e.name, e.size, e.time.Format("150405"), e.isDir, e.special))
		}
		if i == 0 {
			want = got
			if len(want) != 4 {
				t.Fatalf("parsed %q", want)
			}
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("split at %d: (-want +got)\n%s", i, d)
		}
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeServer answers MDTM from a map and counts the calls.
type fakeServer struct {
	mtimes map[string]time.Time
	calls  []string
	fail   map[string]error
}

func (s *fakeServer) mdtm(name string) (time.Time, error) {
	s.calls = append(s.calls, name)
	if err := s.fail[name]; err != nil {
		return time.Time{}, err
	}
	t, ok := s.mtimes[name]
	if !ok {
		return time.Time{}, &textproto.Error{Code: 550, Msg: name + ": No such file or directory"}
	}
	return t, nil
}

// listing is what LIST shows for the fake server's files: the time cut to
// the minute.
// listing lists the files by name, as servers usually do (a map's order
// would make the tests that depend on the order of MDTM calls flaky).
func (s *fakeServer) listing(sizes map[string]int64) []listed {
	var out []listed
	for name, t := range s.mtimes {
		out = append(out, listed{name: name, size: sizes[name], time: t.Truncate(time.Minute)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func TestMtimeCache(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)}
	c := &mtimeCache{now: clock.now}
	srv := &fakeServer{mtimes: map[string]time.Time{
		"old-1.edi": time.Date(2026, 5, 1, 8, 0, 12, 0, time.UTC),
		"old-2.edi": time.Date(2026, 5, 2, 9, 30, 45, 0, time.UTC),
		"new.edi":   time.Date(2026, 6, 1, 12, 0, 25, 0, time.UTC), // this minute: may still change unseen
	}}
	sizes := map[string]int64{"old-1.edi": 1, "old-2.edi": 2, "new.edi": 3}
	list := func() map[string]time.Time {
		t.Helper()
		es := append(srv.listing(sizes), listed{name: "dir", isDir: true, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			listed{name: "link", special: true})
		out, err := c.resolve("/in", es, clock.now(), srv.mdtm)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]time.Time{}
		for _, e := range out {
			got[e.Name] = e.ModTime
		}
		return got
	}
	check := func(step string, got map[string]time.Time, wantCalls ...string) {
		t.Helper()
		for name, want := range srv.mtimes {
			if !got[name].Equal(want) {
				t.Errorf("%s: %s time %v, want %v", step, name, got[name], want)
			}
		}
		if d := cmp.Diff(wantCalls, srv.calls, cmpSorted); d != "" {
			t.Errorf("%s: MDTM calls (-want +got)\n%s", step, d)
		}
		srv.calls = nil
	}

	check("first listing", list(), "new.edi", "old-1.edi", "old-2.edi")
	// The old files' minutes ended long before the newest time the server
	// showed: final. new.edi's minute has not ended: asked again.
	check("second listing", list(), "new.edi")
	// Rewritten within the same minute with the same size: still seen.
	srv.mtimes["new.edi"] = srv.mtimes["new.edi"].Add(3 * time.Second)
	clock.add(3 * time.Second)
	check("rewrite in the same minute", list(), "new.edi")
	// 61 s after new.edi was first listed, its minute has surely ended on the
	// server: the next MDTM is final, and later listings ask nothing.
	clock.add(61 * time.Second)
	check("a minute later", list(), "new.edi")
	check("settled", list())
	// A size change or a new listed minute asks again; a removed file
	// vanishes from the cache with the listing.
	sizes["old-1.edi"] = 100
	srv.mtimes["old-2.edi"] = time.Date(2026, 6, 1, 12, 1, 40, 0, time.UTC)
	delete(srv.mtimes, "new.edi")
	check("changed", list(), "old-1.edi", "old-2.edi")
	if _, ok := c.get("/in")["new.edi"]; ok {
		t.Errorf("a file gone from the listing is still cached")
	}

	// A file listed but gone before its MDTM is left out; an error keeps what
	// was learnt so far.
	srv.mtimes["gone.edi"] = time.Date(2026, 6, 1, 12, 1, 41, 0, time.UTC)
	es := srv.listing(sizes)
	delete(srv.mtimes, "gone.edi")
	out, err := c.resolve("/in", es, clock.now(), srv.mdtm)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range out {
		if e.Name == "gone.edi" {
			t.Errorf("a file removed between LIST and MDTM is listed: %+v", e)
		}
	}
	srv.calls = nil
	srv.mtimes["a-new.edi"] = time.Date(2026, 6, 1, 12, 1, 50, 0, time.UTC)
	srv.mtimes["z-new.edi"] = time.Date(2026, 6, 1, 12, 1, 51, 0, time.UTC)
	srv.fail = map[string]error{"z-new.edi": errors.New("connection reset")}
	es = srv.listing(sizes)
	if _, err := c.resolve("/in", es, clock.now(), srv.mdtm); err == nil || !strings.Contains(err.Error(), "z-new.edi") {
		t.Errorf("resolve with a failing MDTM = %v, want an error naming z-new.edi", err)
	}
	if _, ok := c.get("/in")["a-new.edi"]; !ok {
		t.Errorf("the times learnt before an error were not kept")
	}

	// Without MDTM the listed time stays, and nothing is cached.
	c2 := &mtimeCache{now: clock.now}
	out, err = c2.resolve("/x", es, clock.now(), nil)
	if err != nil || len(out) != len(es) || c2.get("/x") != nil {
		t.Errorf("resolve without MDTM = %d entries, %v, cache %v", len(out), err, c2.get("/x"))
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestMtimeCacheFutureTimes: a time far ahead of this machine's clock (a
// partner's clock, preserved by its upload) says nothing about the server's
// clock, so it must not make recent files final.
func TestMtimeCacheFutureTimes(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)}
	c := &mtimeCache{now: clock.now}
	srv := &fakeServer{mtimes: map[string]time.Time{
		"future.edi": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		"new.edi":    time.Date(2026, 6, 1, 12, 0, 20, 0, time.UTC),
	}}
	sizes := map[string]int64{}
	for range 2 {
		if _, err := c.resolve("/in", srv.listing(sizes), clock.now(), srv.mdtm); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(strings.Join(srv.calls, " "), "new.edi"); n != 2 {
		t.Errorf("new.edi asked %d times in two listings, want 2 (a future time must not settle it)", n)
	}
	// The future time tells nothing about the server's clock, but 61 s after
	// the listing that first showed it, its minute has surely ended there.
	clock.add(61 * time.Second)
	srv.calls = nil
	for range 2 {
		if _, err := c.resolve("/in", srv.listing(sizes), clock.now(), srv.mdtm); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"future.edi", "new.edi"}, srv.calls, cmpSorted); d != "" {
		t.Errorf("MDTM calls in two listings a minute later (-want +got)\n%s", d)
	}
}

func TestMtimeCacheEvicts(t *testing.T) {
	c := &mtimeCache{}
	for i := range maxCachedDirs + 10 {
		c.put(fmt.Sprint("/d", i), map[string]fileTime{})
	}
	if len(c.dirs) != maxCachedDirs {
		t.Errorf("cache holds %d folders, want %d", len(c.dirs), maxCachedDirs)
	}
	if c.get("/d0") != nil || c.get(fmt.Sprint("/d", maxCachedDirs+9)) == nil {
		t.Errorf("the least recently used folders were not the ones evicted")
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, c := range []struct {
		cfg  Config
		want string // "" = ok
	}{
		{Config{Addr: "ftp.example.com", User: "u"}, ""},
		{Config{Addr: "[::1]", User: "u"}, ""},
		{Config{Addr: "", User: "u"}, "no server address"},
		{Config{Addr: "h:0", User: "u"}, "port must be"},
		{Config{Addr: "h:x", User: "u"}, "port must be"},
		{Config{Addr: ":21", User: "u"}, "no host"},
		{Config{Addr: "h"}, "no user"},
		{Config{Addr: "h", User: "u", TLS: "implicit"}, `tls "implicit" for u@h:21 is not one of explicit, none`},
		{Config{Addr: "h", User: "u", TLS: "none", CAFile: notPEM}, "need tls: explicit"},
		{Config{Addr: "h", User: "u", TLS: "none", ServerName: "x"}, "need tls: explicit"},
		{Config{Addr: "h", User: "u", CAFile: filepath.Join(dir, "missing.pem")}, "ca_file for u@h:21"},
		{Config{Addr: "h", User: "u", CAFile: notPEM}, "holds no PEM certificate"},
		{Config{Addr: "h", User: "u", Timeout: -1}, "negative timeout"},
		{Config{Addr: "h", User: "u", MaxConns: -1}, "negative max_conns"},
		{Config{Addr: "h", User: "u", Password: "pw\n"}, "contains a line break"},
		{Config{Addr: "h", User: "u", Root: "a\r\nDELE x"}, "contains a line break"},
	} {
		f, err := New(c.cfg)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("New(%+v): %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("New(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		case err == nil:
			f.Close()
		}
	}
	f, err := New(Config{Addr: "ftp.example.com", User: "u", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(f.addr, " ", f.timeout, " ", f.maxConns, " ", f.tlsConfig != nil, " ", f.tlsConfig.ServerName, " ",
		f.tlsConfig.MinVersion == 0x0303)
	if want := "ftp.example.com:21 30s 2 true ftp.example.com true"; got != want {
		t.Errorf("defaults: %s, want %s", got, want)
	}
}

// TestNewPlainWarns: tls none logs a warning (once, from New), without the
// password.
func TestNewPlainWarns(t *testing.T) {
	var logs logBuffer
	f, err := New(Config{Addr: "h", User: "u", Password: "s3cret-pw", TLS: "none", Logger: slogTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := logs.String(); strings.Count(got, "level=WARN") != 1 || !strings.Contains(got, "in clear") ||
		strings.Contains(got, "s3cret-pw") {
		t.Errorf("New with tls none logged %q; want one warning about the clear-text password, without it", got)
	}
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnsafeNamesNoNetwork: unsafe names fail before any network use (the
// address here refuses connections, and ctx is cancelled).
func TestUnsafeNamesNoNetwork(t *testing.T) {
	f := newFS(t, Config{Addr: closedAddr(t), User: "u", TLS: "none", Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, bad := range []string{"../x", "/etc/passwd", `a\b`, "a/../../b", "x\r\nDELE y"} {
		_, err1 := f.List(ctx, bad)
		_, err2 := f.Stat(ctx, bad)
		_, err3 := f.Open(ctx, bad)
		_, err4 := f.Create(ctx, bad)
		err5 := f.Rename(ctx, bad, "ok")
		err6 := f.Rename(ctx, "ok", bad)
		err7 := f.Remove(ctx, bad)
		err8 := f.MkdirAll(ctx, bad)
		for i, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8} {
			if !errors.Is(err, bridges.ErrUnsafeName) {
				t.Errorf("call %d with %q: %v, want ErrUnsafeName", i+1, bad, err)
			}
		}
	}
	if err := f.MkdirAll(ctx, "."); err != nil {
		t.Errorf("MkdirAll(.) = %v, want a no-op", err)
	}
	if f.failures != 0 {
		t.Errorf("%d dials were made", f.failures)
	}
}

// TestBackoff: a refused dial is ErrUnreachable; until the backoff has passed
// calls fail at once with a *BackoffError saying when the next try is; the
// backoff doubles up to 30 s.
func TestBackoff(t *testing.T) {
	var logs logBuffer
	f := newFS(t, Config{Addr: closedAddr(t), User: "u", Password: "pw-not-logged", TLS: "none", Logger: slogTo(&logs)})
	clock := &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	f.now = clock.now
	ctx := ctxT(t)
	_, err := f.Stat(ctx, "a")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connect to u@127.0.0.1:") {
		t.Fatalf("first Stat = %v, want ErrUnreachable naming the server", err)
	}
	var wantDelays []time.Duration
	for i, d := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		d *= time.Second
		wantDelays = append(wantDelays, d)
		_, err := f.List(ctx, "")
		var be *BackoffError
		if !errors.As(err, &be) || be.Failures != i+1 || !be.Next.Equal(clock.now().Add(d)) ||
			!errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "next try in "+d.String()) {
			t.Fatalf("call %d while backing off = %v; want a *BackoffError after %d failures, next try in %s", i, err, i+1, d)
		}
		clock.add(d)
		f.Stat(ctx, "a") // dials (and fails) again
	}
	if strings.Contains(logs.String(), "pw-not-logged") {
		t.Errorf("the password was logged")
	}
	if got := strings.Count(logs.String(), "dial failed"); got != len(wantDelays)+1 {
		t.Errorf("%d dial failures logged, want %d", got, len(wantDelays)+1)
	}
}

func TestPermissionReplyMatchesErrPermission(t *testing.T) {
	s := &conn{f: &FS{server: "u@h:21"}}
	err := s.fail("mkdir /in/processing", &textproto.Error{Code: 550, Msg: "processing: Permission denied"})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("550 Permission denied = %v; want it to match fs.ErrPermission", err)
	}
	err = s.fail("stat /in/x", &textproto.Error{Code: 550, Msg: "x: No such file or directory"})
	if errors.Is(err, fs.ErrPermission) {
		t.Errorf("550 No such file = %v; must not match fs.ErrPermission", err)
	}
}
