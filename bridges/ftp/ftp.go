// Package ftp is the file-drop transport for FTP servers, with explicit FTPS
// (AUTH TLS, certificate verified) by default. It is built on
// github.com/jlaffaye/ftp.
//
// # Connections
//
// An FTP control connection carries one command at a time, and a download in
// progress occupies it until the transfer ends. An FS therefore keeps a small
// pool of logged-in connections (Config.MaxConns, default 2): Open holds one
// for the lifetime of its reader, Create for the lifetime of its writer, and
// every other call takes one for the duration of its commands. A caller that
// keeps more readers and writers open than MaxConns waits (until its ctx ends)
// for one to be returned.
//
// Connections are dialled lazily. A connection idle for more than a few
// seconds is checked with NOOP before reuse; a read-only call (List, Stat,
// Open) that fails on a reused connection because the connection broke is
// retried once on a fresh one. Failed dials back off exponentially (1 s
// doubling to 30 s); while the FS backs off, calls fail at once with a
// *BackoffError that says when the next try is and why the last one failed.
// Every command has Config.Timeout to answer; ctx cancels dials, commands and
// transfers.
//
// Only passive mode is used (EPSV, or PASV with DisableEPSV), and the data
// connection always goes to the control connection's address, whatever
// address a PASV reply names. A data command the server answers with 425
// (typically: no passive port free) is sent again, up to 4 times over about
// 3.5 s. With TLS the data channel is encrypted too
// (PROT P) and resumes the control channel's TLS session, which most servers
// require.
//
// # Listings and times
//
// When the server offers MLSD (RFC 3659) List uses it: sizes, types and
// modification times precise to the second (or better) in one round trip,
// whatever the folder's size. The listing is parsed here rather than by
// jlaffaye/ftp, which drops entries whose time carries fractional seconds
// (FileZilla Server, IIS) and reports symbolic links as files.
//
// Otherwise (or with DisableMLSD) List uses "LIST -a", whose times are
// precise to the minute only, and asks MDTM for the exact time of each plain
// file. MDTM costs one round trip per file, so an FS remembers, per folder,
// each file's listed size and listed time together with its exact time, and
// asks MDTM again only for files that are new, whose size or listed minute
// changed since the previous listing, or that may still change within their
// listed minute: a remembered time is trusted once the server's clock has
// passed the end of the file's listed minute (known from the newest time the
// server has shown, or 61 s after the listing that first showed the file), so
// a rewrite of the same size within the same minute is still seen. A folder
// of 100,000 unchanged files costs one LIST per poll; its first listing pays
// 100,000 MDTMs (and a listing cut short keeps the times it got, so the next
// one continues); a new file costs an MDTM per listing for about a minute.
// The cache holds the last listing of up to 256 folders. A folder's time in a
// LIST listing stays minute-precise.
//
// Symbolic links (MLSD type OS.unix=symlink or OS.unix=slink, LIST type 'l')
// and other non-plain entries are Special in listings, so the poller never
// picks one up. Stat uses MLST when offered, else SIZE and MDTM (which follow
// links) and CWD for folders (whose time is then unknown: zero). What MLST
// says of a link is up to the server: proftpd describes a link to a file as
// type=file with the link's own size and time.
//
// # Transfers
//
// Open streams the file with RETR after asking its SIZE. A transfer that ends
// before SIZE bytes arrived, goes on past them, or whose final reply is not
// 226 is an error from Read (and again from Close): a data connection cut
// early is never a clean io.EOF. Closing a reader before its end aborts the
// transfer and drops its connection without error.
//
// Create uploads to bridges.TempName(name) with STOR and, when Close is
// called, renames it over name (RNFR/RNTO; if the server refuses to replace
// an existing file, that file is deleted first). A failed write, a failed
// Close or a cancelled ctx deletes the temporary file; name is never touched.
//
// # Errors
//
// Errors name the server (user@host:port), the remote path and the server's
// reply, and tell the caller what to do:
//
//   - bridges.ErrNotExist, bridges.ErrUnsafeName: about the name.
//   - ErrUnreachable: the network, a timeout or a dropped connection; retry
//     later (the FS re-dials by itself).
//   - ErrAuth, ErrCertificate, ErrTLSUnavailable, ErrTLSRequired: fix the
//     configuration (user and password, ca_file or server_name, tls).
//   - *BackoffError: the FS waits before its next dial; it wraps the last
//     dial error, so errors.Is still tells the cases above apart.
//   - ErrIncomplete: a download ended early; retry it.
//
// The password never appears in an error or a log record.
package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"legacybridge/bridges"
)

// Config describes one FTP server login. The zero value of every optional
// field is a working default.
type Config struct {
	// Addr is host:port; the port defaults to 21. Required.
	Addr string
	// User is the login name. Required.
	User string
	// Password is the resolved password (the caller reads it from the
	// environment or a file). It is never logged.
	Password string
	// TLS is "explicit" (default: AUTH TLS on the control connection, PROT P
	// on data connections, the server's certificate verified) or "none"
	// (plain FTP: the password and the files cross the network in clear;
	// New logs a warning). There is no way to skip certificate verification:
	// for a self-signed certificate, set CAFile to the certificate itself.
	TLS string
	// CAFile is a PEM file of CA certificates to trust for the server's
	// certificate. Default: the system's CA pool.
	CAFile string
	// ServerName is the name the server's certificate must hold. Default:
	// the host part of Addr.
	ServerName string
	// Root is the folder on the server that every name is relative to;
	// absolute, or relative to the login folder. Default "": the login
	// folder. It must exist.
	Root string
	// Timeout bounds the TCP dial plus TLS handshake and login, each
	// command's reply, and any pause of a data transfer. Default 30s.
	Timeout time.Duration
	// DisableMLSD lists folders with LIST (and MDTM per file) even when the
	// server offers MLSD, and does not use MLST; for servers whose MLSD is
	// broken. Default false.
	DisableMLSD bool
	// DisableEPSV asks for passive data connections with PASV instead of
	// EPSV. (An EPSV that fails is replaced by PASV anyway.) Default false.
	DisableEPSV bool
	// MaxConns is the number of connections the FS keeps open at most; an
	// open reader or writer holds one. Default 2.
	MaxConns int
	// Logger receives connect, disconnect and dial-failure messages (never
	// the password). Default slog.Default().
	Logger *slog.Logger
}

// Sentinel errors; see the package documentation for what each asks of the
// caller.
var (
	// ErrUnreachable: the server could not be reached, did not answer in
	// time, or the connection broke. Retry later.
	ErrUnreachable = errors.New("server unreachable")
	// ErrAuth: the server refused the user and password. Fix the config.
	ErrAuth = errors.New("login refused")
	// ErrCertificate: the server's TLS certificate is not trusted, names
	// another host, or has expired. Set ca_file or server_name (after
	// checking the certificate with the server's administrator).
	ErrCertificate = errors.New("TLS certificate not accepted")
	// ErrTLSUnavailable: the server refused AUTH TLS: it offers no explicit
	// FTPS on this port.
	ErrTLSUnavailable = errors.New("server offers no TLS")
	// ErrTLSRequired: the server refuses logins without TLS; set tls to
	// explicit.
	ErrTLSRequired = errors.New("server requires TLS")
	// ErrIncomplete: a download ended before the whole file arrived (the
	// connection was cut or the server aborted). Retry it.
	ErrIncomplete = errors.New("transfer incomplete")
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
	return fmt.Sprintf("ftp: server %s unreachable after %d failed dial(s); next try in %s (at %s); last error: %v",
		e.Server, e.Failures, e.in.Round(100*time.Millisecond), e.Next.Format("15:04:05"), e.Err)
}

func (e *BackoffError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

var errFSClosed = errors.New("ftp: the FS is closed")

// FS is a bridges.FS on one FTP server. It is safe for concurrent use.
type FS struct {
	addr, user, password string
	server               string      // user@host:port, for messages
	root                 string      // Config.Root, cleaned; "" = the login folder
	tlsConfig            *tls.Config // nil: plain FTP
	trust                string      // where trusted CAs come from, for messages
	timeout              time.Duration
	disableMLSD          bool
	disableEPSV          bool
	maxConns             int
	log                  *slog.Logger

	// Tunables that tests change; fixed for the lifetime of an FS otherwise.
	minBackoff, maxBackoff time.Duration
	pingAfter              time.Duration // idle time after which a connection is checked with NOOP
	now                    func() time.Time

	slots   chan struct{} // one token per connection in use (or being dialled)
	dialSem chan struct{} // one dial at a time

	mu       sync.Mutex
	idle     []*conn
	live     map[*conn]struct{}
	closed   bool
	failures int
	nextDial time.Time
	lastErr  error
	noMLST   bool // learned: the server offers no MLST; list with LIST -a

	mtimes mtimeCache
}

var _ bridges.FS = (*FS)(nil)

// New checks cfg, reads CAFile and returns an FS. It does no network I/O: the
// first call connects.
func New(cfg Config) (*FS, error) {
	if cfg.Addr == "" {
		return nil, errors.New("ftp: no server address (host:port)")
	}
	addr, err := normalizeAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("ftp: no user for %s", addr)
	}
	f := &FS{
		addr:        addr,
		user:        cfg.User,
		password:    cfg.Password,
		server:      cfg.User + "@" + addr,
		timeout:     cfg.Timeout,
		disableMLSD: cfg.DisableMLSD,
		disableEPSV: cfg.DisableEPSV,
		maxConns:    cfg.MaxConns,
		log:         cfg.Logger,
		minBackoff:  time.Second,
		maxBackoff:  30 * time.Second,
		pingAfter:   5 * time.Second,
		now:         time.Now,
		dialSem:     make(chan struct{}, 1),
		live:        map[*conn]struct{}{},
	}
	if strings.ContainsAny(cfg.User, "\r\n") {
		return nil, fmt.Errorf("ftp: user name for %s contains a line break", addr)
	}
	if strings.ContainsAny(cfg.Password, "\r\n") {
		return nil, fmt.Errorf("ftp: the password for %s contains a line break (a trailing newline from a password file?)", f.server)
	}
	if f.timeout < 0 {
		return nil, fmt.Errorf("ftp: negative timeout %s for %s", f.timeout, f.server)
	}
	if f.timeout == 0 {
		f.timeout = 30 * time.Second
	}
	if f.maxConns < 0 {
		return nil, fmt.Errorf("ftp: negative max_conns %d for %s", f.maxConns, f.server)
	}
	if f.maxConns == 0 {
		f.maxConns = 2
	}
	f.slots = make(chan struct{}, f.maxConns)
	if f.log == nil {
		f.log = slog.Default()
	}
	if cfg.Root != "" {
		if strings.ContainsAny(cfg.Root, "\r\n") {
			return nil, fmt.Errorf("ftp: root %q for %s contains a line break", cfg.Root, f.server)
		}
		f.root = path.Clean(cfg.Root)
	}
	switch cfg.TLS {
	case "", "explicit":
		host, _, _ := net.SplitHostPort(addr)
		tc := &tls.Config{
			ServerName: cfg.ServerName,
			MinVersion: tls.VersionTLS12,
			// ClientSessionCache: set per connection by dial.
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		f.trust = "the system's CA pool"
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ftp: ca_file for %s: %w", f.server, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ftp: ca_file %s for %s holds no PEM certificate", cfg.CAFile, f.server)
			}
			tc.RootCAs = pool
			f.trust = "ca_file " + cfg.CAFile
		}
		f.tlsConfig = tc
	case "none":
		if cfg.CAFile != "" || cfg.ServerName != "" {
			return nil, fmt.Errorf("ftp: ca_file and server_name for %s need tls: explicit, not none", f.server)
		}
		f.log.Warn("ftp: plain FTP without TLS: the password and every file cross the network in clear; "+
			"use tls: explicit if the server offers it", "server", f.server)
	default:
		return nil, fmt.Errorf("ftp: tls %q for %s is not one of explicit, none", cfg.TLS, f.server)
	}
	return f, nil
}

func normalizeAddr(a string) (string, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// No port: add the default. Accept a bracketed IPv6 literal too.
		h := strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
		if strings.ContainsAny(h, "[]/ ") || h == "" {
			return "", fmt.Errorf("ftp: bad server address %q: %w", a, err)
		}
		return net.JoinHostPort(h, "21"), nil
	}
	if host == "" {
		return "", fmt.Errorf("ftp: bad server address %q: no host", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("ftp: bad server address %q: port must be 1-65535", a)
	}
	return net.JoinHostPort(host, port), nil
}

// Close closes every connection. Readers and writers still open fail; later
// calls return an error.
func (f *FS) Close() error {
	f.mu.Lock()
	f.closed = true
	idle := f.idle
	f.idle = nil
	var busy []*conn
	for s := range f.live {
		busy = append(busy, s)
	}
	f.live = map[*conn]struct{}{}
	f.mu.Unlock()
	isIdle := map[*conn]bool{}
	for _, s := range idle {
		isIdle[s] = true
		s.quit()
	}
	for _, s := range busy {
		if !isIdle[s] {
			s.dl.closeAll() // its user sees the failure and drops it
		}
	}
	return nil
}

// clean checks a name before anything else happens (no network, whatever
// the context).
func (f *FS) clean(op, name string) (string, error) {
	c, err := bridges.CleanPath(name)
	if err != nil {
		return "", fmt.Errorf("ftp: %s on %s: %w", op, f.server, err)
	}
	return c, nil
}

// List returns the entries of dir; see the package documentation for how
// times are made precise.
func (f *FS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	clean, err := f.clean("list", dir)
	if err != nil {
		return nil, err
	}
	var out []bridges.Entry
	err = f.with(ctx, true, func(s *conn) error {
		var err error
		out, err = s.list(s.path(clean))
		return err
	})
	return out, err
}

// Stat describes name (see the package documentation for links).
func (f *FS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	clean, err := f.clean("stat", name)
	if err != nil {
		return bridges.Entry{}, err
	}
	var e bridges.Entry
	err = f.with(ctx, true, func(s *conn) error {
		p := s.path(clean)
		var err error
		e, err = s.stat(p)
		e.Name = path.Base(p)
		return err
	})
	return e, err
}

var _ bridges.Lstater = (*FS)(nil)

// Lstat describes name as its folder's listing shows it, where a symbolic
// link is Special (MLSD type OS.unix=symlink or slink, LIST type 'l'). FTP
// has no lstat command and what MLST says of a link is up to the server
// (proftpd describes the target), so Lstat lists the parent folder: one
// listing per call, as long as that folder is. Servers that list links as
// their targets (FileZilla Server, IIS) cannot be checked at all: there a
// link looks like a folder. The root itself ("" or ".") is not listed; it is
// reported as a folder.
func (f *FS) Lstat(ctx context.Context, name string) (bridges.Entry, error) {
	clean, err := f.clean("lstat", name)
	if err != nil {
		return bridges.Entry{}, err
	}
	if clean == "." {
		return bridges.Entry{Name: ".", IsDir: true}, nil
	}
	dir, base := path.Split(clean)
	es, err := f.List(ctx, dir)
	if err != nil {
		return bridges.Entry{}, err
	}
	for _, e := range es {
		if e.Name == base {
			return e, nil
		}
	}
	return bridges.Entry{}, fmt.Errorf("ftp: lstat %s on %s: %w (not in its folder's listing)", clean, f.server, bridges.ErrNotExist)
}

// Rename moves from to to, replacing an existing file at to.
func (f *FS) Rename(ctx context.Context, from, to string) error {
	cf, err := f.clean("rename", from)
	if err != nil {
		return err
	}
	ct, err := f.clean("rename", to)
	if err != nil {
		return err
	}
	return f.with(ctx, false, func(s *conn) error {
		return s.rename(s.path(cf), s.path(ct))
	})
}

// Remove deletes a file.
func (f *FS) Remove(ctx context.Context, name string) error {
	clean, err := f.clean("remove", name)
	if err != nil {
		return err
	}
	return f.with(ctx, false, func(s *conn) error {
		p := s.path(clean)
		err := s.sc.Delete(p)
		if isReply(err) && s.missing(p) {
			return s.notExist("remove "+p, err)
		}
		return s.fail("remove "+p, err)
	})
}

// MkdirAll creates dir and its missing parents (Root itself included).
func (f *FS) MkdirAll(ctx context.Context, dir string) error {
	clean, err := f.clean("mkdir", dir)
	if err != nil || clean == "." {
		return err
	}
	return f.with(ctx, true, func(s *conn) error {
		return s.mkdirAll(s.path(clean))
	})
}

// Open streams name; see the package documentation for how an incomplete
// transfer is reported. Cancelling ctx aborts the transfer.
func (f *FS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	clean, err := f.clean("open", name)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s, err := f.acquire(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		s.begin(ctx)
		r, err := s.open(s.path(clean))
		if err == nil {
			return r, nil // r returns s to the pool when it is done
		}
		s.end()
		retry := attempt == 0 && s.broken != nil && !s.fresh && ctx.Err() == nil
		f.release(s)
		if !retry {
			return nil, err
		}
		f.log.Debug("ftp: retrying on a fresh connection", "server", f.server, "op", "open", "error", err)
	}
}

// Create writes name: the content goes to bridges.TempName(name) in the same
// folder and is renamed over name when Close succeeds. A failed write or
// Close, or a cancelled ctx, removes the temporary file and publishes
// nothing. The writer holds a connection until Close.
func (f *FS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	clean, err := f.clean("create", name)
	if err != nil {
		return nil, err
	}
	if clean == "." {
		return nil, fmt.Errorf("ftp: create on %s: %w: the root is a folder", f.server, bridges.ErrUnsafeName)
	}
	s, err := f.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	s.begin(ctx)
	return s.create(ctx, s.path(bridges.TempName(clean)), s.path(clean))
}
