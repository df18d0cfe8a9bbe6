package sftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t testing.TB, f bridges.FS, name string, data []byte) {
	t.Helper()
	w, err := f.Create(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(ctx context.Context, f bridges.FS, name string) ([]byte, error) {
	r, err := f.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return b, err
}

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5f))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	f := mustNew(t, srv.config(t))
	// The OpenSSH run lists the suite's default 2000 files; here the
	// minimum keeps go test quick.
	bridgestest.TestFS(t, f, bridgestest.ManyFiles(1100))
}

// Without posix-rename@openssh.com, Rename removes the target first; the
// in-memory server, like OpenSSH, refuses a plain rename onto a file.
func TestConformanceWithoutPosixRename(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	cfg := srv.config(t)
	cfg.Root = "/drop" // and a root that is not the login folder
	f := mustNew(t, cfg)
	f.noPosixRename = true
	setup := mustNew(t, srv.config(t))
	if err := setup.MkdirAll(ctxT(t), "drop"); err != nil {
		t.Fatal(err)
	}
	bridgestest.TestFS(t, f, bridgestest.ManyFiles(1100))
	// Everything stayed below the root.
	es, err := setup.List(ctxT(t), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name != "drop" {
		t.Errorf("the server's top folder holds %v, want only the root folder drop", es)
	}
}

func TestHostKeyUnknown(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	cfg := srv.config(t)
	// known_hosts knows another server only.
	cfg.KnownHostsFile = knownHostsFile(t, "sftp.example.com:22", newSigner(t, "ed25519").PublicKey())
	f := mustNew(t, cfg)
	_, err := f.Stat(ctxT(t), "x")
	if !errors.Is(err, ErrHostKeyUnknown) {
		t.Fatalf("Stat against an unknown host = %v; want ErrHostKeyUnknown", err)
	}
	_, port, _ := strings.Cut(srv.addr, ":")
	for _, want := range []string{
		"not in known_hosts " + cfg.KnownHostsFile,
		"ssh-keyscan -p " + port + " 127.0.0.1 >> " + cfg.KnownHostsFile,
		ssh.FingerprintSHA256(srv.hostKeys[0].PublicKey()),
		"out of band",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := srv.authTries.Load(); n != 0 {
		t.Errorf("the client tried %d logins on a server it does not know; want none", n)
	}
}

func TestHostKeyChanged(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	cfg := srv.config(t)
	old := newSigner(t, "ed25519").PublicKey()
	cfg.KnownHostsFile = knownHostsFile(t, srv.addr, old)
	f := mustNew(t, cfg)
	_, err := f.List(ctxT(t), ".")
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("List against a changed host key = %v; want ErrHostKeyChanged", err)
	}
	for _, want := range []string{
		"HAS CHANGED",
		"man-in-the-middle",
		ssh.FingerprintSHA256(srv.hostKeys[0].PublicKey()), // seen
		ssh.FingerprintSHA256(old),                         // expected
		cfg.KnownHostsFile + ":1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := srv.authTries.Load(); n != 0 {
		t.Errorf("the client tried %d logins on a server with a changed key; want none", n)
	}
}

// A server with several host key types works when known_hosts holds any one
// of them (x/crypto/ssh alone asks for ECDSA first and sees a "mismatch").
func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil, "ecdsa", "rsa", "ed25519")
	for i, kt := range []string{"ecdsa", "rsa", "ed25519"} {
		t.Run(kt, func(t *testing.T) {
			cfg := srv.config(t)
			cfg.KnownHostsFile = knownHostsFile(t, srv.addr, srv.hostKeys[i].PublicKey())
			f := mustNew(t, cfg)
			if _, err := f.List(ctxT(t), "."); err != nil {
				t.Fatalf("known_hosts with only the %s key: %v", kt, err)
			}
		})
	}
	// For port 22 the known_hosts host is the bare name.
	kh := knownHostsFile(t, "sftp.example.com:22", srv.hostKeys[1].PublicKey())
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	got := hostKeyAlgorithms(cb, "sftp.example.com:22", kh)
	want := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("host key algorithms for an RSA entry (-want +got):\n%s", diff)
	}
	if got := hostKeyAlgorithms(cb, "other.example.com:22", kh); got != nil {
		t.Errorf("host key algorithms for an unknown host = %q, want nil (let the server choose)", got)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	keyPEM, pub := userKeyPEM(t, "")
	encPEM, encPub := userKeyPEM(t, "open sesame")
	for _, c := range []struct {
		name       string
		serverKey  ssh.PublicKey
		password   string
		key        []byte
		passphrase string
		wantErr    error
	}{
		{name: "password", password: "pw"},
		{name: "key", serverKey: pub, key: keyPEM},
		{name: "encrypted key", serverKey: encPub, key: encPEM, passphrase: "open sesame"},
		{name: "key refused then password", serverKey: encPub, key: keyPEM, password: "pw"},
		{name: "wrong password", password: "not-the-password", wantErr: ErrAuth},
		{name: "key not authorized", serverKey: encPub, key: keyPEM, wantErr: ErrAuth},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newTestServer(t, "pw", c.serverKey)
			cfg := srv.config(t)
			cfg.Password, cfg.PrivateKey, cfg.KeyPassphrase = c.password, c.key, []byte(c.passphrase)
			f := mustNew(t, cfg)
			err := f.MkdirAll(ctxT(t), "in")
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("MkdirAll = %v; want %v", err, c.wantErr)
			}
			if err == nil {
				return
			}
			for _, want := range []string{`"partner"`, srv.addr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			if c.password != "" && strings.Contains(err.Error(), c.password) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	kh := knownHostsFile(t, "h:22", newSigner(t, "ed25519").PublicKey())
	encPEM, _ := userKeyPEM(t, "secret-passphrase")
	good := Config{Addr: "h", User: "u", Password: "p", KnownHostsFile: kh}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no address", func(c *Config) { c.Addr = "" }, "no server address"},
		{"bad port", func(c *Config) { c.Addr = "h:99999" }, "port must be"},
		{"no user", func(c *Config) { c.User = "" }, "no user"},
		{"no credentials", func(c *Config) { c.Password = "" }, "no password and no private key"},
		{"no known_hosts", func(c *Config) { c.KnownHostsFile = "" }, "host keys are always verified"},
		{"missing known_hosts", func(c *Config) { c.KnownHostsFile = kh + ".missing" }, "no such file"},
		{"bad key", func(c *Config) { c.PrivateKey = []byte("not a key") }, "private key for u@h:22"},
		{"encrypted key without passphrase", func(c *Config) { c.PrivateKey = encPEM }, "encrypted and no passphrase was given; set key_passphrase_env"},
		{"wrong passphrase", func(c *Config) { c.PrivateKey, c.KeyPassphrase = encPEM, []byte("guess-passphrase") }, "private key for u@h:22"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v; want an error saying %q", err, c.want)
			}
			for _, secret := range []string{"secret-passphrase", "guess-passphrase"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a passphrase", err)
				}
			}
		})
	}
	f, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if f.addr != "h:22" || f.timeout != 30*time.Second || f.keepAlive != 30*time.Second {
		t.Errorf("defaults: addr %q timeout %v keepalive %v; want h:22 30s 30s", f.addr, f.timeout, f.keepAlive)
	}
}

// The server drops the connection: the next calls re-dial and work.
func TestReconnectAfterDrop(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	f := mustNew(t, srv.config(t))
	ctx := ctxT(t)
	put(t, f, "a.txt", []byte("hello"))
	srv.dropAll()
	// The first call may still meet the dead connection (then it must say
	// so); the one after must work on a new one.
	var errs []error
	for range 2 {
		b, err := get(ctx, f, "a.txt")
		if err == nil {
			if string(b) != "hello" {
				t.Fatalf("read %q after reconnect, want hello", b)
			}
			break
		}
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("Open on a dropped connection = %v; want ErrUnreachable", err)
		}
		errs = append(errs, err)
	}
	if len(errs) == 2 {
		t.Fatalf("two calls after the drop failed: %v", errs)
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (one re-dial)", n)
	}
}

// While the server is down, dials back off (1 s doubling, capped) and calls
// in between fail at once without touching the network.
func TestBackoff(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	srv.refuse.Store(true) // accepts TCP, then hangs up: the handshake fails
	f := mustNew(t, srv.config(t))
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.now = func() time.Time { return now }
	f.maxBackoff = 4 * time.Second
	ctx := ctxT(t)

	stat := func() error { _, err := f.Stat(ctx, "x"); return err }
	dials := func() int64 { return srv.accepts.Load() }

	for i, step := range []struct {
		advance   time.Duration
		wantDial  bool
		wantNext  string // in the fast-fail message
		serverUp  bool
		wantError bool
	}{
		{0, true, "", false, true},                               // first failure: back off 1s
		{500 * time.Millisecond, false, "in 500ms", false, true}, // fast fail
		{500 * time.Millisecond, true, "", false, true},          // 1s passed: dial, fail, back off 2s
		{1900 * time.Millisecond, false, "in 100ms", false, true},
		{100 * time.Millisecond, true, "", false, true}, // dial, fail, back off 4s
		{4 * time.Second, true, "", false, true},        // dial, fail, back off 4s (cap)
		{3 * time.Second, false, "in 1s", false, true},
		{time.Second, true, "", true, false}, // server back: dial works
		{0, false, "", true, false},          // connection reused
	} {
		now = now.Add(step.advance)
		srv.refuse.Store(!step.serverUp)
		before := dials()
		err := stat()
		if step.serverUp && errors.Is(err, bridges.ErrNotExist) {
			err = nil // connected; the file just is not there
		}
		if (err != nil) != step.wantError {
			t.Fatalf("step %d: Stat = %v; want error %v", i, err, step.wantError)
		}
		if dialled := dials() > before; dialled != step.wantDial {
			t.Fatalf("step %d: dialled %v, want %v (err %v)", i, dialled, step.wantDial, err)
		}
		var be *BackoffError
		if step.wantNext != "" {
			if !errors.As(err, &be) || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("step %d: fast-fail error %v is not a *BackoffError wrapping ErrUnreachable", i, err)
			}
			for _, want := range []string{"unreachable", "next try " + step.wantNext, "last error: sftp: ssh handshake with " + srv.addr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("step %d: fast-fail error %q does not say %q", i, err, want)
				}
			}
		} else if step.wantError && (errors.As(err, &be) || !errors.Is(err, ErrUnreachable)) {
			t.Errorf("step %d: dial error %v; want a plain ErrUnreachable", i, err)
		}
	}
}

// Unsafe names are refused before any network use.
func TestUnsafeNamesNeverDial(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	f := mustNew(t, srv.config(t))
	ctx := ctxT(t)
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", `a\b`, "a\x00b"} {
		_, err := f.Open(ctx, bad)
		if !errors.Is(err, bridges.ErrUnsafeName) {
			t.Errorf("Open(%q) = %v; want ErrUnsafeName", bad, err)
		}
		if err := f.Rename(ctx, "ok", bad); !errors.Is(err, bridges.ErrUnsafeName) {
			t.Errorf("Rename(ok, %q) = %v; want ErrUnsafeName", bad, err)
		}
	}
	if n := srv.accepts.Load(); n != 0 {
		t.Errorf("the server saw %d connections; want none", n)
	}
}

func TestSecretsNotInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	const password, passphrase = "pw-SECRET-7d1e", "pp-SECRET-93ab"
	encPEM, encPub := userKeyPEM(t, passphrase)
	srv := newTestServer(t, "other", encPub)
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := srv.config(t)
	cfg.Password, cfg.PrivateKey, cfg.KeyPassphrase = password, encPEM, []byte(passphrase)
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []error
	// Login works with the key, then the server stops liking it: the password is tried and fails.
	f := mustNew(t, cfg)
	ctx := ctxT(t)
	if _, err := f.List(ctx, "."); err != nil {
		t.Fatal(err)
	}
	srv.setUserKey(nil)
	srv.dropAll()
	for range 3 {
		_, err := f.List(ctx, ".")
		errs = append(errs, err)
	}
	if !errors.Is(errs[len(errs)-1], ErrAuth) {
		t.Fatalf("after the key was revoked, List = %v; want ErrAuth", errs[len(errs)-1])
	}
	// Wrong passphrase, unknown host, unreachable server.
	bad := cfg
	bad.KeyPassphrase = []byte(passphrase + "x")
	_, err := New(bad)
	errs = append(errs, err)
	unknown := cfg
	unknown.KnownHostsFile = knownHostsFile(t, "elsewhere:22", newSigner(t, "ed25519").PublicKey())
	_, err = mustNew(t, unknown).Stat(ctx, "x")
	errs = append(errs, err)
	down := cfg
	down.Addr = "127.0.0.1:1"
	df := mustNew(t, down)
	for range 2 {
		_, err := df.Stat(ctx, "x")
		errs = append(errs, err)
	}
	for _, err := range errs {
		if err == nil {
			t.Fatal("an expected error did not happen")
		}
		for _, s := range []string{password, passphrase} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range []string{password, passphrase} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain a secret:\n%s", logs.String())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// A connection cut in the middle of a download is an error from Read or
// Close, never a clean EOF; the next Open re-dials and reads everything.
func TestCutDownload(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	p := newProxy(t, srv.addr)
	cfg := srv.config(t)
	cfg.Addr = p.addr
	cfg.KnownHostsFile = knownHostsFile(t, p.addr, srv.hostKeys[0].PublicKey())
	f := mustNew(t, cfg)
	testCutDownload(t, f, p)
}

func testCutDownload(t *testing.T, f *FS, p *proxy) {
	ctx := ctxT(t)
	// Larger than the cut plus the ~2 MiB a reader may have in flight.
	data := payload(4<<20+777, 7)
	put(t, f, "big.bin", data)
	for _, cut := range []int64{1, 100 << 10, 1 << 20} {
		t.Run(fmt.Sprint("cut after ", cut), func(t *testing.T) {
			r, err := f.Open(ctx, "big.bin")
			if err != nil {
				t.Fatal(err)
			}
			p.cutAfter(cut)
			got, rerr := io.ReadAll(r)
			cerr := r.Close()
			if rerr == nil && cerr == nil {
				t.Fatalf("read %d of %d bytes over a cut connection; Read and Close gave no error", len(got), len(data))
			}
			for _, err := range []error{rerr, cerr} {
				if err != nil && !errors.Is(err, ErrUnreachable) {
					t.Errorf("error %v does not wrap ErrUnreachable", err)
				}
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("the bytes before the cut differ from the file at %d", firstDiff(got, data))
			}
			got, err = get(ctx, f, "big.bin")
			if err != nil {
				t.Fatalf("Open after the cut: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read after reconnect: %d bytes, sha %x; want %d bytes, sha %x",
					len(got), sha256.Sum256(got), len(data), sha256.Sum256(data))
			}
		})
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

// A server that stops answering (frozen network): the request waiting for a
// reply fails after Timeout, and the next call works on a new connection.
func TestStalledServer(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	p := newProxy(t, srv.addr)
	cfg := srv.config(t)
	cfg.Addr = p.addr
	cfg.KnownHostsFile = knownHostsFile(t, p.addr, srv.hostKeys[0].PublicKey())
	cfg.Timeout = time.Second
	cfg.KeepAlive = -1 // only the per-request timeout here
	f := mustNew(t, cfg)
	ctx := ctxT(t)
	put(t, f, "a.txt", []byte("a"))
	p.freeze()
	_, err := f.Stat(ctx, "a.txt")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no reply for 1s") {
		t.Fatalf("Stat on a frozen connection = %v; want ErrUnreachable saying no reply for 1s", err)
	}
	if _, err := f.Stat(ctx, "a.txt"); err != nil {
		t.Fatalf("Stat after the stalled connection was dropped: %v", err)
	}
}

// An idle connection whose server stopped answering is found by keepalives.
func TestKeepAliveDropsDeadConnection(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	p := newProxy(t, srv.addr)
	cfg := srv.config(t)
	cfg.Addr = p.addr
	cfg.KnownHostsFile = knownHostsFile(t, p.addr, srv.hostKeys[0].PublicKey())
	cfg.Timeout = time.Second
	cfg.KeepAlive = 50 * time.Millisecond
	f := mustNew(t, cfg)
	ctx := ctxT(t)
	if err := f.MkdirAll(ctx, "in"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	c := f.cur
	f.mu.Unlock()
	// Keepalives alone keep a healthy idle connection up.
	time.Sleep(300 * time.Millisecond)
	if !c.alive() {
		t.Fatalf("a healthy idle connection was dropped: %v", c.cause())
	}
	p.freeze()
	select {
	case <-c.dead:
	case <-time.After(10 * time.Second):
		t.Fatal("the frozen connection was not dropped")
	}
	if err := c.cause(); !strings.Contains(err.Error(), "no reply to a keepalive") {
		t.Errorf("dropped because %v; want a missed keepalive", err)
	}
	if _, err := f.Stat(ctx, "in"); err != nil {
		t.Fatalf("Stat after the dead connection was dropped: %v", err)
	}
}

// List shows links as Special (lstat); Stat follows them.
func TestSpecialEntries(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	f := mustNew(t, srv.config(t))
	testSpecialEntries(t, f, "/")
}

func testSpecialEntries(t *testing.T, f *FS, abs string) {
	ctx := ctxT(t)
	put(t, f, "target.txt", []byte("data"))
	c, err := f.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sftp.Symlink(path.Join(abs, "target.txt"), path.Join(abs, "link.txt")); err != nil {
		t.Fatal(err)
	}
	es, err := f.List(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range es {
		got[e.Name] = e.Special
	}
	if diff := cmp.Diff(map[string]bool{"target.txt": false, "link.txt": true}, got); diff != "" {
		t.Errorf("List: Special by name (-want +got):\n%s", diff)
	}
	e, err := f.Stat(ctx, "link.txt")
	if err != nil || e.Special || e.Size != 4 {
		t.Errorf("Stat(link.txt) = %+v, %v; want the target's 4 bytes, not Special", e, err)
	}
}

func TestCloseFailsLaterCalls(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	f := mustNew(t, srv.config(t))
	ctx := ctxT(t)
	put(t, f, "a", payload(8<<20, 1)) // more than a reader has in flight
	r, err := f.Open(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := io.ReadAll(r); err == nil {
		if err := r.Close(); err == nil {
			t.Error("a read through a closed FS ended without error")
		}
	}
	if _, err := f.Stat(ctx, "a"); err == nil {
		t.Error("Stat after Close worked")
	}
}

func TestFramer(t *testing.T) {
	t.Parallel()
	var stream []byte
	sizes := []int{0, 1, 5, 40000, 3, 70000}
	for _, n := range sizes {
		stream = append(stream, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		stream = append(stream, make([]byte, n)...)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var fr framer
		var began, ended int
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(9000))
			b, e := fr.feed(rest[:n])
			began += b
			ended += e
			if began-ended < 0 || began-ended > 1 {
				t.Fatalf("after %d bytes: %d began, %d ended", len(stream)-len(rest)+n, began, ended)
			}
			rest = rest[n:]
		}
		if began != len(sizes) || ended != len(sizes) {
			t.Fatalf("%d began, %d ended; want %d each", began, ended, len(sizes))
		}
	}
}

func TestEncryptedKeyWithoutPassphrase(t *testing.T) {
	t.Parallel()
	encPEM, _ := userKeyPEM(t, "open sesame")
	kh := knownHostsFile(t, "h:22", newSigner(t, "ed25519").PublicKey())
	_, err := New(Config{Addr: "h:22", User: "u", PrivateKey: encPEM, KnownHostsFile: kh})
	if err == nil {
		t.Fatal("New with an encrypted key and no passphrase succeeded")
	}
	for _, want := range []string{"encrypted", "key_passphrase_env", "key_passphrase_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A server that stays down is reported once at WARN; the repeated dial
// failures go to DEBUG, and the recovery is reported at INFO.
func TestDialFailuresLoggedOnce(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "pw", nil)
	srv.refuse.Store(true)
	cfg := srv.config(t)
	var logs syncBuilder
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := mustNew(t, cfg)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.now = func() time.Time { return now }
	ctx := ctxT(t)
	for range 3 {
		if _, err := f.Stat(ctx, "x"); err == nil {
			t.Fatal("Stat on a refusing server succeeded")
		}
		now = now.Add(time.Minute)
	}
	srv.refuse.Store(false)
	f.Stat(ctx, "x")
	out := logs.String()
	for _, c := range []struct {
		what string
		n    int
	}{{"level=WARN msg=\"sftp: dial failed\"", 1}, {"level=DEBUG msg=\"sftp: dial failed\"", 2}, {"level=INFO msg=\"sftp: server reachable again\"", 1}} {
		if got := strings.Count(out, c.what); got != c.n {
			t.Errorf("%d lines with %s, want %d:\n%s", got, c.what, c.n, out)
		}
	}
}

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
