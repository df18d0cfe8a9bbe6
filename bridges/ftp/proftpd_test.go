package ftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

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
	}{
		{"MLSD", e.plain()},
		{"LIST", listOnly},
		{"FTPS", e.ftps()},
		{"FTPS-PASV", pasv},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := newFS(t, scratch(t, c.cfg))
			bridgestest.TestFS(t, fsys)
			fsys.mu.Lock()
			mlst := !fsys.noMLST && !fsys.disableMLSD
			fsys.mu.Unlock()
			if want := c.name != "LIST"; mlst != want {
				t.Errorf("MLSD in use: %v, want %v", mlst, want)
			}
		})
	}
}
