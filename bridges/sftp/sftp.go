// Package sftp is the file-drop transport for SFTP servers (OpenSSH and
// others), built on github.com/pkg/sftp and golang.org/x/crypto/ssh.
//
// An FS connects lazily on first use, shares one SSH connection between all
// goroutines, and re-dials a broken connection on the next call with capped
// exponential backoff (1 s doubling to 30 s). While it backs off, calls fail
// at once with a *BackoffError instead of waiting for the network.
//
// Host keys are always verified against an OpenSSH known_hosts file; there is
// no way to skip the check. The host key algorithms offered to the server are
// the ones known_hosts holds for that host, so a server with several host key
// types works when known_hosts lists only one of them.
//
// Errors tell a caller what to do next:
//
//   - bridges.ErrNotExist, bridges.ErrUnsafeName: about the name; the
//     connection is fine.
//   - ErrUnreachable: the network, a timeout or a dropped connection; retry
//     later (the FS re-dials by itself).
//   - ErrAuth, ErrHostKeyUnknown, ErrHostKeyChanged: fix the configuration
//     (or investigate: a changed host key may be an attack). Retrying does no
//     harm, but will not help until someone acts.
//   - *BackoffError: the FS is waiting before its next dial; it wraps the last
//     dial error, so errors.Is still tells the cases above apart.
package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"legacybridge/bridges"
)

// Config describes one SFTP server login. The zero value of every optional
// field is a working default.
type Config struct {
	// Addr is host:port; the port defaults to 22. Required.
	Addr string
	// User is the login name. Required.
	User string
	// Password is the resolved password; "" disables password (and
	// keyboard-interactive) authentication.
	Password string
	// PrivateKey is a resolved PEM (or OpenSSH format) private key; nil
	// disables public key authentication. At least one of Password and
	// PrivateKey is required.
	PrivateKey []byte
	// KeyPassphrase decrypts an encrypted PrivateKey. Default: none.
	KeyPassphrase []byte
	// KnownHostsFile is an OpenSSH known_hosts file holding the server's
	// host key. Required: host keys are always checked. It is read again on
	// every dial, so a fixed file takes effect without a restart.
	KnownHostsFile string
	// Root is the folder on the server that every name is relative to;
	// absolute, or relative to the login folder. Default "": the login folder.
	Root string
	// Timeout bounds the TCP dial plus SSH handshake, and how long any
	// request may wait for the server's reply before the connection is
	// dropped. Default 30s.
	Timeout time.Duration
	// KeepAlive is the interval between keepalive@openssh.com requests; a
	// reply missing for Timeout drops the connection. Default 30s; negative
	// disables keepalives.
	KeepAlive time.Duration
	// Logger receives connect, disconnect and dial-failure messages (never
	// secrets). Default slog.Default().
	Logger *slog.Logger
}

// Sentinel errors; see the package documentation for what each one asks of
// the caller.
var (
	// ErrUnreachable: the server could not be reached, did not answer in
	// time, or the connection broke. Retry later.
	ErrUnreachable = errors.New("server unreachable")
	// ErrAuth: the server refused the user and credentials. Fix the config.
	ErrAuth = errors.New("login refused")
	// ErrHostKeyUnknown: known_hosts has no key for the server. Verify the
	// server's fingerprint out of band and add it to known_hosts.
	ErrHostKeyUnknown = errors.New("host key unknown")
	// ErrHostKeyChanged: the server's key differs from (or is revoked in)
	// known_hosts. Possibly a man-in-the-middle attack: investigate.
	ErrHostKeyChanged = errors.New("host key changed")
)

// BackoffError is returned, without touching the network, while the FS waits
// before its next dial after failed ones.
type BackoffError struct {
	Server   string    // user@host:port
	Failures int       // failed dials in a row
	Next     time.Time // when the next dial may happen
	Err      error     // the last dial error

	in time.Duration // Next, from when the error was made
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("sftp: server %s unreachable after %d failed dial(s); next try in %s (at %s); last error: %v",
		e.Server, e.Failures, e.in.Round(100*time.Millisecond), e.Next.Format("15:04:05"), e.Err)
}

func (e *BackoffError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// FS is a bridges.FS on one SFTP server. It is safe for concurrent use.
type FS struct {
	addr, user, root string
	server           string // user@host:port, for messages
	knownHosts       string
	auth             []ssh.AuthMethod
	authNames        []string
	timeout          time.Duration
	keepAlive        time.Duration
	log              *slog.Logger

	// Tunables that tests change; fixed for the lifetime of an FS otherwise.
	minBackoff, maxBackoff time.Duration
	now                    func() time.Time
	noPosixRename          bool         // pretend the server lacks posix-rename@openssh.com
	syncs                  atomic.Int64 // files flushed with fsync@openssh.com (for tests)

	mu       sync.Mutex
	cur      *conn
	dialing  chan struct{} // closed when the dial in progress ends
	failures int
	nextDial time.Time
	lastErr  error
	closed   bool
}

var _ bridges.FS = (*FS)(nil)

// New checks cfg, parses the private key and the known_hosts file, and
// returns an FS. It does no network I/O: the first call connects.
func New(cfg Config) (*FS, error) {
	if cfg.Addr == "" {
		return nil, errors.New("sftp: no server address (host:port)")
	}
	addr, err := normalizeAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("sftp: no user for %s", addr)
	}
	if cfg.Password == "" && cfg.PrivateKey == nil {
		return nil, fmt.Errorf("sftp: no password and no private key for %s@%s; set at least one", cfg.User, addr)
	}
	if cfg.KnownHostsFile == "" {
		return nil, fmt.Errorf("sftp: no known_hosts file for %s; host keys are always verified. "+
			"Create one after verifying the server's fingerprint out of band: %s", addr, keyscanCmd(addr, "KNOWN_HOSTS_FILE"))
	}
	if _, err := knownhosts.New(cfg.KnownHostsFile); err != nil {
		return nil, fmt.Errorf("sftp: known_hosts for %s: %w", addr, err)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("sftp: negative timeout %s", cfg.Timeout)
	}
	f := &FS{
		addr:       addr,
		user:       cfg.User,
		server:     cfg.User + "@" + addr,
		knownHosts: cfg.KnownHostsFile,
		timeout:    cfg.Timeout,
		keepAlive:  cfg.KeepAlive,
		log:        cfg.Logger,
		minBackoff: time.Second,
		maxBackoff: 30 * time.Second,
		now:        time.Now,
	}
	if f.timeout == 0 {
		f.timeout = 30 * time.Second
	}
	if f.keepAlive == 0 {
		f.keepAlive = 30 * time.Second
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if cfg.Root != "" {
		f.root = path.Clean(cfg.Root)
	}
	if cfg.PrivateKey != nil {
		var signer ssh.Signer
		if len(cfg.KeyPassphrase) > 0 {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(cfg.PrivateKey, cfg.KeyPassphrase)
		} else {
			signer, err = ssh.ParsePrivateKey(cfg.PrivateKey)
		}
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, fmt.Errorf("sftp: the private key for %s is encrypted and no passphrase was given; set "+
				"key_passphrase_env (the name of an environment variable holding it) or key_passphrase_file "+
				"(a file holding it) in the drop's config", f.server)
		case err != nil:
			// The parser's messages never include the key or the passphrase.
			return nil, fmt.Errorf("sftp: private key for %s: %w", f.server, err)
		}
		f.auth = append(f.auth, ssh.PublicKeys(signer))
		f.authNames = append(f.authNames, "public key "+signer.PublicKey().Type()+" "+ssh.FingerprintSHA256(signer.PublicKey()))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		f.auth = append(f.auth, ssh.Password(pw),
			// Servers that only allow keyboard-interactive still ask for the
			// password: answer a single hidden question with it, nothing else.
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				switch {
				case len(questions) == 0:
					return nil, nil
				case len(questions) == 1 && !echos[0]:
					return []string{pw}, nil
				}
				return nil, errors.New("unexpected keyboard-interactive questions")
			}))
		f.authNames = append(f.authNames, "password")
	}
	return f, nil
}

func normalizeAddr(a string) (string, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// No port: add the default. Accept a bracketed IPv6 literal too.
		h := strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
		if strings.ContainsAny(h, "[]") || h == "" {
			return "", fmt.Errorf("sftp: bad server address %q: %w", a, err)
		}
		return net.JoinHostPort(h, "22"), nil
	}
	if host == "" {
		return "", fmt.Errorf("sftp: bad server address %q: no host", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("sftp: bad server address %q: port must be 1-65535", a)
	}
	return net.JoinHostPort(host, port), nil
}

// Close drops the connection. Readers and writers still open fail; later
// calls return an error.
func (f *FS) Close() error {
	f.mu.Lock()
	c := f.cur
	f.cur = nil
	f.closed = true
	f.mu.Unlock()
	if c != nil {
		c.kill(errFSClosed)
	}
	return nil
}

var errFSClosed = errors.New("sftp: the FS is closed")

// connect returns the live connection, dialling one if needed. Only one dial
// runs at a time; other callers wait for it. After failed dials it returns a
// *BackoffError until the backoff has passed.
func (f *FS) connect(ctx context.Context) (*conn, error) {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return nil, errFSClosed
		}
		if c := f.cur; c != nil {
			if c.alive() {
				f.mu.Unlock()
				return c, nil
			}
			f.cur = nil
		}
		if wait := f.dialing; wait != nil {
			f.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("sftp: waiting to connect to %s: %w", f.server, ctx.Err())
			}
		}
		if f.failures > 0 && f.now().Before(f.nextDial) {
			err := &BackoffError{Server: f.server, Failures: f.failures, Next: f.nextDial, Err: f.lastErr,
				in: f.nextDial.Sub(f.now())}
			f.mu.Unlock()
			return nil, err
		}
		done := make(chan struct{})
		f.dialing = done
		f.mu.Unlock()

		c, err := f.dial(ctx)

		f.mu.Lock()
		f.dialing = nil
		close(done)
		switch {
		case err == nil && f.closed:
			f.mu.Unlock()
			c.kill(errFSClosed)
			return nil, errFSClosed
		case err == nil:
			failed := f.failures
			f.cur, f.failures, f.lastErr = c, 0, nil
			f.mu.Unlock()
			if failed > 0 {
				f.log.Info("sftp: server reachable again", "server", f.server, "failed_dials", failed)
			}
			return c, nil
		case ctx.Err() != nil:
			// The caller gave up: that says nothing about the server.
			f.mu.Unlock()
			return nil, err
		}
		f.failures++
		delay := f.maxBackoff
		if f.failures < 32 {
			delay = min(f.minBackoff<<(f.failures-1), f.maxBackoff)
		}
		f.nextDial = f.now().Add(delay)
		f.lastErr = err
		n := f.failures
		f.mu.Unlock()
		// The first failure is a warning; the repeats (every backoff, up to
		// every 30s while the server is down) are debug, until it recovers.
		level := slog.LevelWarn
		if n > 1 {
			level = slog.LevelDebug
		}
		f.log.Log(ctx, level, "sftp: dial failed", "server", f.server, "failures", n, "retry_in", delay, "error", err)
		return nil, err
	}
}

// remote maps a name relative to the root to the server's path, refusing
// unsafe names before anything else happens.
func (f *FS) remote(op, name string) (string, error) {
	clean, err := bridges.CleanPath(name)
	if err != nil {
		return "", fmt.Errorf("sftp: %s on %s: %w", op, f.server, err)
	}
	switch {
	case f.root == "":
		return clean, nil
	case clean == ".":
		return f.root, nil
	}
	return path.Join(f.root, clean), nil
}

// begin checks the name, then the context, then connects.
func (f *FS) begin(ctx context.Context, op, name string) (*conn, string, error) {
	p, err := f.remote(op, name)
	if err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("sftp: %s %s on %s: %w", op, p, f.server, err)
	}
	c, err := f.connect(ctx)
	if err != nil {
		return nil, "", err
	}
	return c, p, nil
}

// fail turns an error from pkg/sftp into one that names the operation, file
// and server. An error that is not the server's answer to the request means
// the connection is broken: it is dropped, to be re-dialled on the next call.
//
// what is the operation and its remote path(s), e.g. "stat /data/in/a.edi".
func (f *FS) fail(c *conn, what string, err error) error {
	var st *sftp.StatusError
	var pe *fs.PathError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("sftp: %s on %s: %w", what, f.server, bridges.ErrNotExist)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sftp: %s on %s: %w", what, f.server, err)
	case errors.As(err, &st), errors.Is(err, os.ErrPermission), errors.As(err, &pe):
		return fmt.Errorf("sftp: %s on %s: %w", what, f.server, err)
	}
	c.kill(err)
	return fmt.Errorf("sftp: %s on %s: %w: connection lost (%w); it is re-dialled on the next call",
		what, f.server, ErrUnreachable, c.cause())
}

func entry(fi os.FileInfo) bridges.Entry {
	m := fi.Mode()
	return bridges.Entry{
		Name:    fi.Name(),
		Size:    fi.Size(),
		ModTime: fi.ModTime(),
		IsDir:   m.IsDir(),
		Special: !m.IsDir() && !m.IsRegular(),
	}
}

// List returns the entries of dir with the attributes the server sends in
// its listing (lstat: a symbolic link is Special, not its target).
func (f *FS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	c, p, err := f.begin(ctx, "list", dir)
	if err != nil {
		return nil, err
	}
	fis, err := c.sftp.ReadDirContext(ctx, p)
	if err != nil {
		return nil, f.fail(c, "list "+p, err)
	}
	out := make([]bridges.Entry, 0, len(fis))
	for _, fi := range fis {
		switch n := fi.Name(); {
		case n == "" || n == "." || n == ".." || strings.Contains(n, "/"):
			continue // never a base name we could use
		}
		out = append(out, entry(fi))
	}
	return out, nil
}

// Stat follows symbolic links, like os.Stat (a drop folder may be a link on
// the server); List shows links themselves.
func (f *FS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	c, p, err := f.begin(ctx, "stat", name)
	if err != nil {
		return bridges.Entry{}, err
	}
	fi, err := c.sftp.Stat(p)
	if err != nil {
		return bridges.Entry{}, f.fail(c, "stat "+p, err)
	}
	return entry(fi), nil
}

var _ bridges.Lstater = (*FS)(nil)

// Lstat describes name without following a final symbolic link (SFTP
// LSTAT): a link is Special.
func (f *FS) Lstat(ctx context.Context, name string) (bridges.Entry, error) {
	c, p, err := f.begin(ctx, "lstat", name)
	if err != nil {
		return bridges.Entry{}, err
	}
	fi, err := c.sftp.Lstat(p)
	if err != nil {
		return bridges.Entry{}, f.fail(c, "lstat "+p, err)
	}
	e := entry(fi)
	e.Name = path.Base(p)
	return e, nil
}

// Rename moves from to to, replacing an existing file at to: atomically with
// posix-rename@openssh.com when the server offers it, else by removing to and
// then renaming (a short window without either name).
func (f *FS) Rename(ctx context.Context, from, to string) error {
	pt, err := f.remote("rename", to)
	if err != nil {
		return err
	}
	c, pf, err := f.begin(ctx, "rename", from)
	if err != nil {
		return err
	}
	return c.rename(f, pf, pt)
}

func (c *conn) rename(f *FS, from, to string) error {
	what := "rename " + from + " to " + to
	if c.posixRename && !f.noPosixRename {
		return f.fail(c, what, c.sftp.PosixRename(from, to))
	}
	// Plain SFTP rename refuses an existing target: check the source first so
	// a missing source never costs the target, then make room.
	if _, err := c.sftp.Lstat(from); err != nil {
		return f.fail(c, what, err)
	}
	switch fi, err := c.sftp.Lstat(to); {
	case err == nil && fi.IsDir():
		return fmt.Errorf("sftp: rename %s to %s on %s: the target is a folder", from, to, f.server)
	case err == nil:
		if err := c.sftp.Remove(to); err != nil && !errors.Is(err, os.ErrNotExist) {
			return f.fail(c, what+": remove the old target", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return f.fail(c, what+": stat the target", err)
	}
	return f.fail(c, what, c.sftp.Rename(from, to))
}

// Remove removes a file.
func (f *FS) Remove(ctx context.Context, name string) error {
	c, p, err := f.begin(ctx, "remove", name)
	if err != nil {
		return err
	}
	return f.fail(c, "remove "+p, c.sftp.Remove(p))
}

// MkdirAll creates dir and its missing parents.
func (f *FS) MkdirAll(ctx context.Context, dir string) error {
	p, err := f.remote("mkdir", dir)
	if err != nil {
		return err
	}
	if p == "." || p == f.root {
		return nil
	}
	c, p, err := f.begin(ctx, "mkdir", dir)
	if err != nil {
		return err
	}
	return f.fail(c, "mkdir "+p, c.sftp.MkdirAll(p))
}

// Open streams name. Up to 64 read requests of 32 KiB are in flight at once
// (2 MiB), whatever the caller's buffer size. A transfer that ends before the
// size the file had when opened is an error, from Read and from Close.
// Cancelling ctx aborts the transfer.
func (f *FS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c, p, err := f.begin(ctx, "open", name)
	if err != nil {
		return nil, err
	}
	return c.open(ctx, f, p)
}

// Create writes name: the content goes to bridges.TempName(name) in the same
// folder and is renamed over name when Close succeeds. When the server
// offers fsync@openssh.com (OpenSSH does), Close flushes the file to the
// server's disk before the rename. A failed write or
// Close, or a cancelled ctx, removes the temporary file and publishes nothing.
func (f *FS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	c, p, err := f.begin(ctx, "create", name)
	if err != nil {
		return nil, err
	}
	return c.create(ctx, f, p)
}
