package sftp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is an in-process SSH server on 127.0.0.1:0 with pkg/sftp's
// request server behind it, serving a t.TempDir() (see rootHandler). All
// connections share that folder, so it survives reconnects.
type testServer struct {
	t        *testing.T
	addr     string
	hostKeys []ssh.Signer
	password string
	userKey  ssh.PublicKey // guarded by mu
	files    sftp.Handlers

	accepts   atomic.Int64 // TCP connections accepted
	authTries atomic.Int64 // password or public key attempts (0: no credentials were sent)
	refuse    atomic.Bool  // close new connections at once (a broken server)

	mu    sync.Mutex
	conns []net.Conn
}

const testUser = "partner"

// newTestServer starts a server with the given host key types ("ed25519",
// "ecdsa", "rsa"; default ed25519) that accepts testUser with password pw and
// with the public key userKey (either may be empty/nil).
func newTestServer(t *testing.T, pw string, userKey ssh.PublicKey, keyTypes ...string) *testServer {
	t.Helper()
	if len(keyTypes) == 0 {
		keyTypes = []string{"ed25519"}
	}
	s := &testServer{t: t, password: pw, userKey: userKey, files: newRootHandler(t)}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, got []byte) (*ssh.Permissions, error) {
			s.authTries.Add(1)
			if c.User() == testUser && s.password != "" && string(got) == s.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.authTries.Add(1)
			s.mu.Lock()
			want := s.userKey
			s.mu.Unlock()
			if c.User() == testUser && want != nil && bytes.Equal(key.Marshal(), want.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	for _, kt := range keyTypes {
		signer := newSigner(t, kt)
		s.hostKeys = append(s.hostKeys, signer)
		cfg.AddHostKey(signer)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.dropAll()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			if s.refuse.Load() {
				nc.Close()
				continue
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			wg.Go(func() { s.serve(nc, cfg) })
		}
	})
	return s
}

func (s *testServer) serve(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs) // answers keepalive@openssh.com with "failure", as OpenSSH does
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					rs := sftp.NewRequestServer(ch, s.files)
					go func() {
						rs.Serve()
						rs.Close()
						ch.Close()
					}()
				}
			}
		}()
	}
}

func (s *testServer) setUserKey(k ssh.PublicKey) {
	s.mu.Lock()
	s.userKey = k
	s.mu.Unlock()
}

// dropAll cuts every connection from the server side.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func newSigner(t *testing.T, keyType string) ssh.Signer {
	t.Helper()
	var key any
	var err error
	switch keyType {
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key type %q", keyType)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userKeyPEM makes a client key; with a passphrase the PEM is encrypted.
func userKeyPEM(t *testing.T, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// knownHostsFile writes a known_hosts file with one line per key for addr.
func knownHostsFile(t *testing.T, addr string, keys ...ssh.PublicKey) string {
	t.Helper()
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{addr}, k) + "\n")
	}
	name := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// config is a password login to s that trusts s's first host key, with
// short timeouts for tests and logs to t.
func (s *testServer) config(t *testing.T) Config {
	return Config{
		Addr:           s.addr,
		User:           testUser,
		Password:       s.password,
		KnownHostsFile: knownHostsFile(t, s.addr, s.hostKeys[0].PublicKey()),
		Timeout:        5 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(tWriter{t}, nil)),
	}
}

func mustNew(t testing.TB, cfg Config) *FS {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// proxy forwards TCP connections to target. It can cut the connections open
// now after a number of further bytes from the server, or freeze them (stop
// forwarding without closing, like a dead network).
type proxy struct {
	addr   string
	target string

	mu    sync.Mutex
	pairs []*pair
}

type pair struct {
	client, server net.Conn
	down           atomic.Int64 // bytes forwarded server → client
	limit          atomic.Int64 // > 0: close both after this many bytes down
	frozen, closed atomic.Bool
}

func (pr *pair) close() {
	pr.closed.Store(true)
	pr.client.Close()
	pr.server.Close()
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, pr := range p.pairs {
			pr.close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pr := &pair{client: c, server: s}
			p.mu.Lock()
			p.pairs = append(p.pairs, pr)
			p.mu.Unlock()
			wg.Go(func() { pr.pipe(s, c, false) })
			wg.Go(func() { pr.pipe(c, s, true) })
		}
	})
	return p
}

func (pr *pair) pipe(dst, src net.Conn, down bool) {
	defer pr.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for pr.frozen.Load() && !pr.closed.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		b := buf[:n]
		if down {
			if lim := pr.limit.Load(); lim > 0 {
				room := lim - pr.down.Load()
				if int64(len(b)) >= room {
					dst.Write(b[:max(room, 0)])
					return // the cut: both sides closed
				}
			}
			pr.down.Add(int64(len(b)))
		}
		if _, werr := dst.Write(b); werr != nil || err != nil {
			return
		}
	}
}

// cutAfter makes every connection open now close after n more bytes from
// the server.
func (p *proxy) cutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		pr.limit.Store(pr.down.Load() + n)
	}
}

// freeze stops forwarding on every connection open now; new ones work.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		pr.frozen.Store(true)
	}
}

// rootHandler serves a folder through an os.Root, so nothing outside it can
// be reached. Like OpenSSH, a plain rename refuses an existing target and
// posix-rename replaces it.
type rootHandler struct{ root *os.Root }

func newRootHandler(t *testing.T) sftp.Handlers {
	r, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	h := rootHandler{r}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// rel maps the request server's absolute, cleaned path into the root.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h rootHandler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return h.root.Open(rel(r.Filepath))
}

func (h rootHandler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	pf := r.Pflags()
	flags := os.O_WRONLY
	if pf.Read {
		flags = os.O_RDWR
	}
	if pf.Creat {
		flags |= os.O_CREATE
	}
	if pf.Trunc {
		flags |= os.O_TRUNC
	}
	if pf.Excl {
		flags |= os.O_EXCL
	}
	return h.root.OpenFile(rel(r.Filepath), flags, 0o644)
}

func (h rootHandler) Filecmd(r *sftp.Request) error {
	p := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return nil
	case "Rename":
		if _, err := h.root.Lstat(rel(r.Target)); err == nil {
			return os.ErrExist
		}
		return h.root.Rename(p, rel(r.Target))
	case "Rmdir", "Remove":
		return h.root.Remove(p)
	case "Mkdir":
		return h.root.Mkdir(p, 0o755)
	case "Symlink":
		// Filepath is the link's target here, Target the link.
		target := r.Filepath
		if path.IsAbs(target) {
			target, _ = filepath.Rel(path.Dir("/"+rel(r.Target)), path.Clean(target))
		}
		return h.root.Symlink(target, rel(r.Target))
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h rootHandler) PosixRename(r *sftp.Request) error {
	return h.root.Rename(rel(r.Filepath), rel(r.Target))
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}

func (h rootHandler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := rel(r.Filepath)
	switch r.Method {
	case "List":
		d, err := h.root.Open(p)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		des, err := d.ReadDir(-1)
		if err != nil {
			return nil, err
		}
		var out listerAt
		for _, de := range des {
			if fi, err := de.Info(); err == nil {
				out = append(out, fi)
			}
		}
		return out, nil
	case "Stat":
		fi, err := h.root.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (h rootHandler) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}
