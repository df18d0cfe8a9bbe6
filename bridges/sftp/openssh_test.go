package sftp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"legacybridge/bridges/bridgestest"
)

// The tests below run against the real OpenSSH sshd that .ci/run starts
// (settings in /tmp/legacybridge-ci/sftp.env). Without the settings they
// skip, unless CI=true: then a missing server is a failure.

type sshdEnv struct {
	addr, user, pass, dir string
	keyFile, knownHosts   string
	key                   []byte
	hostKey               ssh.PublicKey
}

func openSSH(tb testing.TB) sshdEnv {
	tb.Helper()
	e := sshdEnv{
		addr: os.Getenv("SFTP_ADDR"), user: os.Getenv("SFTP_USER"), pass: os.Getenv("SFTP_PASS"),
		dir: os.Getenv("SFTP_DIR"), keyFile: os.Getenv("SFTP_KEY_FILE"), knownHosts: os.Getenv("SFTP_KNOWN_HOSTS"),
	}
	if e.addr == "" || e.user == "" || e.pass == "" || e.dir == "" || e.keyFile == "" || e.knownHosts == "" {
		msg := "SFTP_ADDR, SFTP_USER, SFTP_PASS, SFTP_DIR, SFTP_KEY_FILE and SFTP_KNOWN_HOSTS must be set " +
			"(source /tmp/legacybridge-ci/sftp.env)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	var err error
	if e.key, err = os.ReadFile(e.keyFile); err != nil {
		tb.Fatal(err)
	}
	kh, err := os.ReadFile(e.knownHosts)
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, e.hostKey, _, _, err = ssh.ParseKnownHosts(kh); err != nil {
		tb.Fatalf("%s: %v", e.knownHosts, err)
	}
	return e
}

// scratch makes a fresh folder below SFTP_DIR, removed afterwards, and
// returns a key login rooted at it.
func (e sshdEnv) scratch(tb testing.TB) Config {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	dir := path.Join(e.dir, "lbtest-"+hex.EncodeToString(b[:]))
	base := e.config(tb)
	f, err := New(base)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := ctxT(tb)
	if err := f.MkdirAll(ctx, dir[len(e.dir)+1:]); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		defer f.Close()
		c, err := f.connect(ctxT(tb))
		if err == nil {
			err = c.sftp.RemoveAll(dir)
		}
		if err != nil {
			tb.Errorf("remove %s: %v", dir, err)
		}
	})
	cfg := e.config(tb)
	cfg.Root = dir
	return cfg
}

// config is a key login rooted at SFTP_DIR.
func (e sshdEnv) config(tb testing.TB) Config {
	return Config{Addr: e.addr, User: e.user, PrivateKey: e.key, KnownHostsFile: e.knownHosts, Root: e.dir,
		Timeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(tWriter{tb}, nil))}
}

func TestOpenSSHLogin(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	for _, auth := range []string{"key", "password"} {
		t.Run(auth, func(t *testing.T) {
			cfg := e.scratch(t)
			if auth == "password" {
				cfg.PrivateKey, cfg.Password = nil, e.pass
			}
			f := mustNew(t, cfg)
			ctx := ctxT(t)
			if err := f.MkdirAll(ctx, "in/sub"); err != nil {
				t.Fatal(err)
			}
			data := payload(300<<10, 3)
			put(t, f, "in/sub/a.edi", data)
			got, err := get(ctx, f, "in/sub/a.edi")
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(data))
			}
			es, err := f.List(ctx, "in/sub")
			if err != nil || len(es) != 1 || es[0].Name != "a.edi" || es[0].Size != int64(len(data)) {
				t.Fatalf("List = %+v, %v; want a.edi of %d bytes", es, err, len(data))
			}
		})
	}
}

func TestOpenSSHConformance(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	t.Run("posix-rename", func(t *testing.T) {
		t.Parallel()
		f := mustNew(t, e.scratch(t))
		bridgestest.TestFS(t, f)
		c, err := f.connect(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if !c.posixRename {
			t.Error("OpenSSH did not advertise posix-rename@openssh.com; the suite ran the fallback")
		}
	})
	// OpenSSH refuses a plain rename onto an existing file: the fallback
	// (remove, then rename) must still pass.
	t.Run("plain rename", func(t *testing.T) {
		t.Parallel()
		f := mustNew(t, e.scratch(t))
		f.noPosixRename = true
		bridgestest.TestFS(t, f, bridgestest.ManyFiles(1100))
	})
}

func TestOpenSSHHostKeyRefused(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	seen := ssh.FingerprintSHA256(e.hostKey)
	t.Run("changed", func(t *testing.T) {
		cfg := e.config(t)
		other := newSigner(t, "ed25519").PublicKey()
		cfg.KnownHostsFile = knownHostsFile(t, e.addr, other)
		_, err := mustNew(t, cfg).List(ctxT(t), ".")
		if !errors.Is(err, ErrHostKeyChanged) {
			t.Fatalf("List with another key in known_hosts = %v; want ErrHostKeyChanged", err)
		}
		for _, want := range []string{"man-in-the-middle", seen, ssh.FingerprintSHA256(other)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("unknown", func(t *testing.T) {
		cfg := e.config(t)
		cfg.KnownHostsFile = knownHostsFile(t, "sftp.example.com:22", e.hostKey)
		_, err := mustNew(t, cfg).List(ctxT(t), ".")
		if !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("List with the host missing from known_hosts = %v; want ErrHostKeyUnknown", err)
		}
		host, port, _ := strings.Cut(e.addr, ":")
		for _, want := range []string{seen, "ssh-keyscan -p " + port + " " + host + " >> " + cfg.KnownHostsFile} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := e.config(t)
		cfg.PrivateKey, cfg.Password = nil, e.pass+"-wrong"
		_, err := mustNew(t, cfg).List(ctxT(t), ".")
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), `"`+e.user+`"`) || strings.Contains(err.Error(), cfg.Password) {
			t.Fatalf("List with a wrong password = %v; want ErrAuth naming the user, without the password", err)
		}
	})
}

// A connection cut in the middle of a download, between us and sshd.
func TestOpenSSHCutDownload(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	cfg := e.scratch(t)
	p := newProxy(t, e.addr)
	cfg.Addr = p.addr
	cfg.KnownHostsFile = knownHostsFile(t, p.addr, e.hostKey)
	testCutDownload(t, mustNew(t, cfg), p)
}

func TestOpenSSHSpecialEntries(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	cfg := e.scratch(t)
	testSpecialEntries(t, mustNew(t, cfg), cfg.Root)
}
