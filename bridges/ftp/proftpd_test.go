package ftp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jlaffaye/ftp"

	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
)

// The tests in this file (and proxy_test.go, bench_test.go) run against the
// real proftpd that .ci/run starts: plain FTP on FTP_ADDR and explicit FTPS
// (TLS required) on FTPS_ADDR, settings in /tmp/legacybridge-ci/ftp.env.
// Without the settings they skip, unless CI=true: then a missing server is a
// failure.

type ftpdEnv struct {
	addr, tlsAddr, user, pass string
	caFile, serverName        string
}

func ftpd(tb testing.TB) ftpdEnv {
	tb.Helper()
	e := ftpdEnv{
		addr: os.Getenv("FTP_ADDR"), tlsAddr: os.Getenv("FTPS_ADDR"),
		user: os.Getenv("FTP_USER"), pass: os.Getenv("FTP_PASS"),
		caFile: os.Getenv("FTPS_CA_FILE"), serverName: os.Getenv("FTPS_SERVER_NAME"),
	}
	if e.addr == "" || e.tlsAddr == "" || e.user == "" || e.pass == "" || e.caFile == "" || e.serverName == "" {
		msg := "FTP_ADDR, FTP_USER, FTP_PASS, FTPS_ADDR, FTPS_CA_FILE and FTPS_SERVER_NAME must be set " +
			"(source /tmp/legacybridge-ci/ftp.env)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return e
}

// plain is a plain-FTP login (tls: none).
func (e ftpdEnv) plain() Config {
	return Config{Addr: e.addr, User: e.user, Password: e.pass, TLS: "none", Timeout: 20 * time.Second,
		Logger: quietLogger()}
}

// ftps is an explicit-FTPS login with the CI certificate trusted (TLS left
// at its default).
func (e ftpdEnv) ftps() Config {
	return Config{Addr: e.tlsAddr, User: e.user, Password: e.pass, CAFile: e.caFile, ServerName: e.serverName,
		Timeout: 20 * time.Second, Logger: quietLogger()}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func newFS(tb testing.TB, cfg Config) *FS {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// scratch creates a fresh folder in the FTP user's home, removed afterwards,
// and returns cfg rooted at it.
func scratch(tb testing.TB, cfg Config) Config {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	dir := "lbtest-" + hex.EncodeToString(b[:])
	admin := cfg
	admin.Root = ""
	f := newFS(tb, admin)
	if err := f.MkdirAll(ctxT(tb), dir); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c := rawDial(tb, cfg)
		defer c.Quit()
		if err := c.RemoveDirRecur("/" + dir); err != nil {
			tb.Errorf("remove scratch folder %s: %v", dir, err)
		}
	})
	cfg.Root = dir
	return cfg
}

// rawDial logs in with jlaffaye/ftp directly: for setup, cleanup and as the
// benchmarks' reference.
func rawDial(tb testing.TB, cfg Config) *ftp.ServerConn {
	tb.Helper()
	opts := []ftp.DialOption{ftp.DialWithTimeout(20 * time.Second)}
	if cfg.TLS != "none" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			tb.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		opts = append(opts, ftp.DialWithExplicitTLS(&tls.Config{RootCAs: pool, ServerName: cfg.ServerName,
			MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(0)}))
	}
	c, err := ftp.Dial(cfg.Addr, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Login(cfg.User, cfg.Password); err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestConformance runs the bridges.FS conformance suite three ways: plain FTP
// listing with MLSD, plain FTP listing with LIST and MDTM (DisableMLSD, which
// also turns off MLST, so Stat takes the SIZE/MDTM/CWD path), and explicit
// FTPS.
func TestConformance(t *testing.T) {
	e := ftpd(t)
	listOnly := e.plain()
	listOnly.DisableMLSD = true
	pasv := e.ftps()
	pasv.DisableEPSV = true
	for _, c := range []struct {
		name string
		cfg  Config
		opts []bridgestest.Option
	}{
		{"MLSD", e.plain(), nil},
		{"LIST", listOnly, nil},
		{"FTPS", e.ftps(), nil},
		// PASV changes only how data connections are set up: fewer files.
		{"FTPS-PASV", pasv, []bridgestest.Option{bridgestest.ManyFiles(1100)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := newFS(t, scratch(t, c.cfg))
			bridgestest.TestFS(t, fsys, c.opts...)
			fsys.mu.Lock()
			mlst := !fsys.noMLST && !fsys.disableMLSD
			fsys.mu.Unlock()
			if want := c.name != "LIST"; mlst != want {
				t.Errorf("MLSD in use: %v, want %v", mlst, want)
			}
		})
	}
}

// selfSignedPEM writes a fresh self-signed certificate for name (a CA the
// server's certificate has nothing to do with) and returns its file.
func selfSignedPEM(t *testing.T, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoginErrors checks that each way a login can fail gives the sentinel
// error and a message that says what to set, never the password, and that
// the next call fails fast with a *BackoffError wrapping the same cause.
func TestLoginErrors(t *testing.T) {
	e := ftpd(t)
	const secret = "Wr0ng-Pa55w0rd-d0-not-log"
	for _, c := range []struct {
		name  string
		cfg   func() Config
		want  error
		texts []string
	}{
		{"WrongPassword", func() Config { c := e.plain(); c.Password = secret; return c },
			ErrAuth, []string{`refused user "` + e.user + `"`, "530", "check the user name and password"}},
		{"WrongPasswordFTPS", func() Config { c := e.ftps(); c.Password = secret; return c },
			ErrAuth, []string{"530"}},
		{"UnknownCA", func() Config { c := e.ftps(); c.CAFile = selfSignedPEM(t, "other.example"); return c },
			ErrCertificate, []string{"not signed by a CA in ca_file", "SHA-256 fingerprint", "set ca_file"}},
		{"SystemPool", func() Config { c := e.ftps(); c.CAFile = ""; return c },
			ErrCertificate, []string{"the system's CA pool", "set ca_file"}},
		{"WrongServerName", func() Config { c := e.ftps(); c.ServerName = "wrong.example"; return c },
			ErrCertificate, []string{`not valid for "wrong.example"`, "set server_name"}},
		// The FTPS port refuses plain logins: tls none must be chosen on
		// purpose, and even then this server says no.
		{"PlainToFTPSPort", func() Config { c := e.plain(); c.Addr = e.tlsAddr; return c },
			ErrTLSRequired, []string{"refused the login without TLS", "set tls: explicit"}},
		// TLS (the default) against a server without it.
		{"TLSToPlainPort", func() Config { c := e.ftps(); c.Addr = e.addr; return c },
			ErrTLSUnavailable, []string{"refused AUTH TLS", "set tls: none"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs logBuffer
			cfg := c.cfg()
			cfg.Logger = slogTo(&logs)
			f := newFS(t, cfg)
			_, err := f.List(ctxT(t), "")
			if !errors.Is(err, c.want) {
				t.Fatalf("List = %v; want %v", err, c.want)
			}
			for _, text := range c.texts {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("error %q does not say %q", err, text)
				}
			}
			_, err2 := f.Stat(ctxT(t), "x")
			var be *BackoffError
			if !errors.As(err2, &be) || !errors.Is(err2, c.want) {
				t.Errorf("the next call = %v; want a *BackoffError wrapping %v", err2, c.want)
			}
			for _, s := range []string{err.Error(), err2.Error(), logs.String()} {
				if strings.Contains(s, secret) || strings.Contains(s, e.pass) {
					t.Errorf("the password appears in %q", s)
				}
			}
		})
	}
}

// TestLinksAreSpecial creates symbolic links in the scratch folder on this
// machine's file system (the CI server is local; elsewhere the test skips)
// and checks List marks them Special with MLSD and with LIST, and what Stat
// says of them.
func TestLinksAreSpecial(t *testing.T) {
	e := ftpd(t)
	cfg := scratch(t, e.plain())
	u, err := user.Lookup(e.user)
	if err != nil {
		t.Skipf("the FTP user's home is not on this machine: %v", err)
	}
	local := filepath.Join(u.HomeDir, cfg.Root)
	if _, err := os.Stat(local); err != nil {
		t.Skipf("the scratch folder is not on this machine: %v", err)
	}
	f := newFS(t, cfg)
	ctx := ctxT(t)
	put(t, f, "file.edi", []byte("content"))
	if err := f.MkdirAll(ctx, "dir"); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"to-file": "file.edi", "to-dir": "dir"} {
		if err := os.Symlink(target, filepath.Join(local, link)); err != nil {
			t.Skipf("cannot create a link in the FTP user's folder: %v", err)
		}
		os.Lchown(filepath.Join(local, link), atoiOr(u.Uid), atoiOr(u.Gid))
	}
	listOnly := cfg
	listOnly.DisableMLSD = true
	want := map[string]string{"file.edi": "file", "dir": "dir", "to-file": "special", "to-dir": "special"}
	for name, fsys := range map[string]*FS{"MLSD": f, "LIST": newFS(t, listOnly)} {
		es, err := fsys.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range es {
			got[e.Name] = map[[2]bool]string{{false, false}: "file", {true, false}: "dir", {false, true}: "special"}[[2]bool{e.IsDir, e.Special}]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s listing (-want +got)\n%s", name, d)
		}
		// Stat reports what the server says: SIZE and MDTM follow the link
		// (the target's 7 bytes); proftpd's MLST describes the link itself
		// (8 bytes: "file.edi") as type=file.
		wantSize := map[string]int64{"MLSD": 8, "LIST": 7}[name]
		st, err := fsys.Stat(ctx, "to-file")
		if err != nil || st.Name != "to-file" || st.Size != wantSize || st.IsDir {
			t.Errorf("%s: Stat(to-file) = %+v, %v; want a file of %d bytes", name, st, err, wantSize)
		}
		st, err = fsys.Stat(ctx, "to-dir")
		if err != nil || !st.IsDir {
			t.Errorf("%s: Stat(to-dir) = %+v, %v; want a folder", name, st, err)
		}
	}
}

func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func put(t testing.TB, f *FS, name string, data []byte) {
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

func get(t testing.TB, f *FS, name string) []byte {
	t.Helper()
	r, err := f.Open(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPool: with MaxConns 1 an open reader holds the only connection, so
// another call waits for it (and gives up with its ctx, saying why); once the
// reader is closed the call goes through on the same connection.
func TestPool(t *testing.T) {
	e := ftpd(t)
	cfg := scratch(t, e.plain())
	cfg.MaxConns = 1
	f := newFS(t, cfg)
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	put(t, f, "big.bin", data)
	r, err := f.Open(ctxT(t), "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctxT(t), 200*time.Millisecond)
	defer cancel()
	_, err = f.Stat(short, "big.bin")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a free connection") {
		t.Errorf("Stat while the only connection is busy = %v; want it to wait and give up with its ctx", err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), data) {
		t.Fatalf("read %d bytes, %v; want the whole file", 10+len(rest), err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat(ctxT(t), "big.bin")
	if err != nil || st.Size != int64(len(data)) {
		t.Errorf("Stat after the reader closed = %+v, %v", st, err)
	}
	f.mu.Lock()
	idle, live := len(f.idle), len(f.live)
	f.mu.Unlock()
	if idle != 1 || live != 1 {
		t.Errorf("%d idle of %d live connections, want 1 of 1 (the reader's connection reused)", idle, live)
	}
}

// TestCreateErrors: Create into a missing folder fails at once with
// ErrNotExist; a closed FS refuses calls and fails its open reader.
func TestCreateErrors(t *testing.T) {
	e := ftpd(t)
	f := newFS(t, scratch(t, e.plain()))
	ctx := ctxT(t)
	if _, err := f.Create(ctx, "no/such/folder/x.edi"); !errors.Is(err, bridges.ErrNotExist) {
		t.Errorf("Create in a missing folder = %v; want ErrNotExist", err)
	}
	put(t, f, "x.edi", bytes.Repeat([]byte("x"), 4<<20))
	r, err := f.Open(ctx, "x.edi")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := io.ReadAll(r); err == nil {
		t.Errorf("reading after FS.Close succeeded")
	}
	r.Close()
	if _, err := f.Stat(ctx, "x.edi"); !errors.Is(err, errFSClosed) {
		t.Errorf("Stat after Close = %v; want %v", err, errFSClosed)
	}
}
