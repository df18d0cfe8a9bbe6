package ftp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/textproto"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"

	"legacybridge/bridges"
)

// conn is one logged-in control connection. It is used by one goroutine at
// a time (whoever took it from the pool) and is dropped as a whole when
// anything goes wrong that leaves its state in doubt.
type conn struct {
	f    *FS
	sc   *ftp.ServerConn
	ctrl net.Conn // the raw TCP control connection (TLS runs on top of it)
	dl   deadlines
	cap  *capture // sees the control connection's traffic; keeps replies while on

	ctx  context.Context // the operation in progress; data connections dial under it
	stop func() bool     // stops the operation's ctx watch

	// tee receives the bytes of data connections while set (MLSD parsing).
	tee io.Writer

	root   string // absolute folder every name is relative to
	mlst   bool   // MLSD and MLST in use
	mdtm   bool   // the server offers MDTM
	used   time.Time
	fresh  bool  // dialled for the current operation
	broken error // why the connection cannot be reused; nil while fine
	// epsvLost: EPSV failed once, and jlaffaye/ftp uses PASV on this
	// connection from then on (which fails over IPv6): do not reuse it.
	epsvLost bool
}

// finalErr marks an error dataRetry must not retry.
type finalErr struct{ error }

func (e finalErr) Unwrap() error { return e.error }

// dataRetry runs fn, a command with a data connection, again after the
// transient reply 425 (the server could not open a passive port: its
// passive port range is busy, or the connection failed), up to 4 times over
// about 3.5 s.
func (s *conn) dataRetry(fn func() error) error {
	delays := []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, time.Second, 2 * time.Second}
	for i := 0; ; i++ {
		err := fn()
		var final finalErr
		if replyCode(err) != 425 || errors.As(err, &final) || i == len(delays) || s.ctx.Err() != nil {
			return err
		}
		s.epsvLost = !s.f.disableEPSV
		s.f.log.Debug("ftp: data connection refused; trying again", "server", s.f.server, "reply", err)
		t := time.NewTimer(delays[i])
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return err
		}
	}
}

// path maps a cleaned name to the server's absolute path.
func (s *conn) path(clean string) string {
	if clean == "." {
		return s.root
	}
	return path.Join(s.root, clean)
}

// begin starts an operation under ctx: commands get Timeout to answer, and
// ctx ending cuts them short (the connection is then dropped).
func (s *conn) begin(ctx context.Context) {
	s.ctx = ctx
	s.dl.start()
	s.stop = context.AfterFunc(ctx, s.dl.cancel)
}

// end finishes the operation begun last. If ctx ended during it, the
// connection's state is unknown: it is marked broken.
func (s *conn) end() {
	if s.stop != nil && !s.stop() && s.broken == nil {
		s.broken = fmt.Errorf("operation cancelled: %w", context.Cause(s.ctx))
	}
	s.stop = nil
}

// kill closes the connection without a goodbye.
func (s *conn) kill(why error) {
	if s.broken == nil {
		s.broken = why
	}
	s.dl.closeAll()
}

// quit says goodbye (QUIT, without waiting for the reply) and closes.
func (s *conn) quit() {
	if s.ctrl != nil {
		s.ctrl.SetDeadline(time.Now().Add(time.Second))
	}
	if s.sc != nil {
		s.sc.Quit()
	}
	s.kill(errFSClosed)
}

// deadlines keeps the control connection's and the current data
// connection's deadlines Timeout ahead while the operation makes progress,
// and moves them into the past when the operation's ctx ends.
type deadlines struct {
	mu        sync.Mutex
	timeout   time.Duration
	ctrl      net.Conn
	data      net.Conn
	cancelled bool
	last      time.Time
}

func (d *deadlines) setCtrl(c net.Conn) { d.mu.Lock(); d.ctrl = c; d.applyLocked(); d.mu.Unlock() }
func (d *deadlines) setData(c net.Conn) { d.mu.Lock(); d.data = c; d.applyLocked(); d.mu.Unlock() }

// dropData forgets c if it is the current data connection.
func (d *deadlines) dropData(c net.Conn) {
	d.mu.Lock()
	if d.data == c {
		d.data = nil
	}
	d.mu.Unlock()
}

// closeAll closes both connections. It is safe from any goroutine (FS.Close
// uses it on connections in use).
func (d *deadlines) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range []net.Conn{d.ctrl, d.data} {
		if c != nil {
			c.Close()
		}
	}
}

func (d *deadlines) start() {
	d.mu.Lock()
	d.cancelled = false
	d.applyLocked()
	d.mu.Unlock()
}

func (d *deadlines) applyLocked() {
	t := time.Now()
	if d.cancelled {
		t = time.Unix(1, 0)
	} else {
		d.last = t
		t = t.Add(d.timeout)
	}
	for _, c := range []net.Conn{d.ctrl, d.data} {
		if c != nil {
			c.SetDeadline(t)
		}
	}
}

// touch records progress: it pushes both deadlines Timeout ahead again (at
// most every Timeout/8, so a fast transfer does not pay for it per read).
func (d *deadlines) touch() {
	d.mu.Lock()
	if !d.cancelled && time.Since(d.last) > d.timeout/8 {
		d.applyLocked()
	}
	d.mu.Unlock()
}

func (d *deadlines) cancel() {
	d.mu.Lock()
	d.cancelled = true
	d.applyLocked()
	d.mu.Unlock()
}

// dataConn is a data connection: TLS when the FS uses TLS, counted as
// progress for the deadlines, and copied to conn.tee while that is set.
type dataConn struct {
	net.Conn // *tls.Conn or the TCP connection
	raw      net.Conn
	s        *conn
}

func (d *dataConn) Read(p []byte) (int, error) {
	d.s.dl.touch()
	n, err := d.Conn.Read(p)
	if n > 0 && d.s.tee != nil {
		d.s.tee.Write(p[:n])
	}
	return n, err
}

func (d *dataConn) Write(p []byte) (int, error) {
	d.s.dl.touch()
	return d.Conn.Write(p)
}

// Handshake lets jlaffaye/ftp start TLS on an upload of an empty file.
func (d *dataConn) Handshake() error {
	if t, ok := d.Conn.(*tls.Conn); ok {
		return t.Handshake()
	}
	return nil
}

func (d *dataConn) Close() error {
	err := d.Conn.Close()
	d.s.dl.dropData(d.raw)
	return err
}

// capture is the debug writer jlaffaye/ftp copies the control connection's
// traffic to. It keeps nothing unless on (while one MLST or MDTM runs), so
// the login (and its password) passes through without a trace.
type capture struct {
	on  bool
	buf []byte
}

func (c *capture) Write(p []byte) (int, error) {
	if c.on && len(c.buf) < 1<<20 {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

func (c *capture) start() { c.on, c.buf = true, c.buf[:0] }

func (c *capture) stopped() string {
	c.on = false
	return string(c.buf)
}

// dial connects, starts TLS, logs in and finds the root, all under ctx.
func (f *FS) dial(ctx context.Context) (*conn, error) {
	f.mu.Lock()
	noMLST := f.noMLST || f.disableMLSD
	f.mu.Unlock()
	s := &conn{f: f, cap: &capture{}}
	s.dl.timeout = f.timeout
	s.begin(ctx)
	ok := false
	defer func() {
		s.end()
		if !ok {
			s.kill(errors.New("dial failed"))
		}
	}()
	// Servers demand that each data connection resumes the TLS session of
	// its control connection (vsftpd require_ssl_reuse, proftpd's default),
	// so that nobody else can take over the passive port. The cache is per
	// connection: with one cache for the pool, a data connection could
	// resume another control connection's session, which servers refuse
	// ("425 Unable to build data connection: Operation not permitted").
	var tc *tls.Config
	if f.tlsConfig != nil {
		tc = f.tlsConfig.Clone()
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	d := net.Dialer{Timeout: f.timeout}
	opts := []ftp.DialOption{
		ftp.DialWithDialFunc(func(network, address string) (net.Conn, error) {
			nc, err := d.DialContext(s.ctx, network, address)
			if err != nil {
				return nil, err
			}
			if s.ctrl == nil { // the first dial is the control connection
				s.ctrl = nc
				s.dl.setCtrl(nc)
				return nc, nil
			}
			dc := &dataConn{Conn: nc, raw: nc, s: s}
			if tc != nil {
				dc.Conn = tls.Client(nc, tc) // handshake on first use
			}
			s.dl.setData(nc)
			return dc, nil
		}),
		ftp.DialWithDisabledEPSV(f.disableEPSV),
		ftp.DialWithDisabledMLSD(noMLST),
		// LIST hides dot files (our own temporary files among them) without -a.
		ftp.DialWithForceListHidden(noMLST),
		ftp.DialWithDebugOutput(s.cap),
	}
	if tc != nil {
		opts = append(opts, ftp.DialWithExplicitTLS(tc))
	}
	sc, err := ftp.Dial(f.addr, opts...)
	if err != nil {
		return nil, f.dialErr(s, "connect to", err)
	}
	s.sc = sc
	if err := sc.Login(f.user, f.password); err != nil {
		return nil, f.dialErr(s, "log in to", err)
	}
	home, err := sc.CurrentDir()
	if err != nil {
		return nil, f.dialErr(s, "ask the login folder (PWD) of", err)
	}
	s.mlst = sc.IsTimePreciseInList()
	s.mdtm = sc.IsGetTimeSupported()
	if !s.mlst && !noMLST {
		// Without MLST, List needs "LIST -a", a dial option: dial again.
		f.mu.Lock()
		f.noMLST = true
		f.mu.Unlock()
		f.log.Info("ftp: the server offers no MLSD; listing with LIST and MDTM", "server", f.server)
		s.end()
		s.kill(errors.New("redial for LIST -a"))
		return f.dial(ctx)
	}
	s.root = f.root
	if !path.IsAbs(s.root) {
		s.root = path.Join(home, s.root)
	}
	ok = true
	mode := "plain FTP"
	if f.tlsConfig != nil {
		mode = "explicit FTPS"
	}
	f.log.Info("ftp: connected", "server", f.server, "mode", mode, "root", s.root, "mlsd", s.mlst, "mdtm", s.mdtm)
	return s, nil
}

// dialErr turns a failed dial, TLS handshake or login into an error that says
// what to do about it.
func (f *FS) dialErr(s *conn, stage string, err error) error {
	var (
		hn   x509.HostnameError
		ua   x509.UnknownAuthorityError
		ci   x509.CertificateInvalidError
		cve  *tls.CertificateVerificationError
		te   *textproto.Error
		ae   tls.AlertError
		rhe  tls.RecordHeaderError
		msg  = err.Error()
		tlsy = strings.Contains(msg, "TLS") || strings.Contains(msg, "SSL") || strings.Contains(msg, "ncrypt")
	)
	switch {
	case s.ctx.Err() != nil:
		return fmt.Errorf("ftp: %s %s: %w", stage, f.server, context.Cause(s.ctx))
	case errors.As(err, &hn):
		return fmt.Errorf("ftp: %w: the TLS certificate of %s is not valid for %q (%v); set server_name to a name the "+
			"certificate holds, or connect by that name", ErrCertificate, f.addr, f.tlsConfig.ServerName, hn.Error())
	case errors.As(err, &ua):
		cert := ua.Cert
		if cert == nil && errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
			cert = cve.UnverifiedCertificates[0]
		}
		what := "the server's certificate"
		if cert != nil {
			what = fmt.Sprintf("its certificate (subject %q, issuer %q, SHA-256 fingerprint %x)",
				cert.Subject.String(), cert.Issuer.String(), sha256.Sum256(cert.Raw))
		}
		return fmt.Errorf("ftp: %w: %s presented %s, which is not signed by a CA in %s. Check the fingerprint with "+
			"the server's administrator, then set ca_file to a PEM file of the CA that issued it (for a self-signed "+
			"certificate: the certificate itself)", ErrCertificate, f.addr, what, f.trust)
	case errors.As(err, &ci):
		return fmt.Errorf("ftp: %w: the TLS certificate of %s is not acceptable: %v; ask the server's administrator "+
			"to renew it (or check this machine's clock)", ErrCertificate, f.addr, ci.Error())
	case errors.As(err, &cve):
		return fmt.Errorf("ftp: %w: the TLS certificate of %s was refused: %v", ErrCertificate, f.addr, cve.Err)
	case f.tlsConfig != nil && stage == "connect to" && errors.As(err, &te) && te.Code >= 500:
		return fmt.Errorf("ftp: %w: %s refused AUTH TLS (%v): it offers no explicit FTPS on this port. Ask the partner "+
			"for FTPS; only if there is none, set tls: none (the password then crosses the network in clear)",
			ErrTLSUnavailable, f.addr, err)
	case f.tlsConfig != nil && (errors.As(err, &ae) || errors.As(err, &rhe)):
		return fmt.Errorf("ftp: %w: the TLS handshake with %s failed: %v. The port may speak implicit FTPS (port 990, "+
			"not supported: use the explicit FTPS port) or another protocol", ErrUnreachable, f.addr, err)
	case errors.As(err, &te) && te.Code == 421:
		return fmt.Errorf("ftp: %w: %s closed the connection: %v (too many connections? lower max_conns)",
			ErrUnreachable, f.addr, err)
	case stage == "log in to" && f.tlsConfig == nil && tlsy:
		return fmt.Errorf("ftp: %w: %s refused the login without TLS (%s); set tls: explicit", ErrTLSRequired, f.addr, msg)
	case stage == "log in to" && (errors.As(err, &te) && (te.Code == 530 || te.Code == 430) || !isNetErr(err)):
		return fmt.Errorf("ftp: %w: %s refused user %q (%s); check the user name and password in the config "+
			"(and that the account may log in by FTP)", ErrAuth, f.addr, f.user, msg)
	}
	return fmt.Errorf("ftp: %s %s: %w: %w", stage, f.server, ErrUnreachable, err)
}

// isNetErr reports whether err comes from the network rather than from the
// server's reply.
func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// isReply reports whether err is the server's negative reply to a command
// (the connection is fine), rather than a broken connection.
func isReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code != 421
}

// replyCode is the FTP reply code in err, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// fail turns an error from jlaffaye/ftp into one naming the operation, path
// and server. Anything but the server's reply means the connection is broken:
// it is marked so, and dropped when returned to the pool.
//
// what is the operation and its remote path(s), e.g. "stat /in/a.edi".
func (s *conn) fail(what string, err error) error {
	f := s.f
	var te *textproto.Error
	switch {
	case err == nil:
		return nil
	case s.ctx != nil && s.ctx.Err() != nil:
		s.broken = err
		return fmt.Errorf("ftp: %s on %s: %w", what, f.server, context.Cause(s.ctx))
	case errors.As(err, &te) && te.Code >= 500 && permissionReply(te):
		// Matches fs.ErrPermission, so the poller's claim "auto" can tell a
		// read-only drop from other failures.
		return fmt.Errorf("ftp: %s on %s: the server replied %w%s (%w)", what, f.server, err, hint(te), fs.ErrPermission)
	case errors.As(err, &te) && te.Code != 421:
		return fmt.Errorf("ftp: %s on %s: the server replied %w%s", what, f.server, err, hint(te))
	}
	s.broken = err
	return fmt.Errorf("ftp: %s on %s: %w: %w (the connection is dropped and dialled again on the next call)",
		what, f.server, ErrUnreachable, err)
}

func (s *conn) notExist(what string, err error) error {
	return fmt.Errorf("ftp: %s on %s: %w (the server replied %v)", what, s.f.server, bridges.ErrNotExist, err)
}

// permissionReply reports whether a reply's text says the account lacks
// permission (FTP has no reply code for that alone; 550 also means missing).
func permissionReply(te *textproto.Error) bool {
	m := strings.ToLower(te.Msg)
	return strings.Contains(m, "permission") || strings.Contains(m, "denied") || strings.Contains(m, "not permitted")
}

// hint says what to do about a reply, where that is clear from its text.
func hint(te *textproto.Error) string {
	m := strings.ToLower(te.Msg)
	switch {
	case te.Code == 425:
		return "; the data connection failed: check that the server's passive ports are reachable through " +
			"firewalls and NAT (or try disable_epsv)"
	case strings.Contains(m, "permission") || strings.Contains(m, "denied") || strings.Contains(m, "not permitted"):
		return "; check the user's permissions on the server"
	case te.Code == 552 || strings.Contains(m, "quota") || strings.Contains(m, "space"):
		return "; the server is out of space or over quota"
	}
	return ""
}

// missing reports whether p does not exist, after a command on it failed
// with a reply (the reply alone does not tell a missing file from a folder
// or a permission problem).
func (s *conn) missing(p string) bool {
	if s.mlst {
		_, err := s.sc.GetEntry(p)
		return isReply(err) && replyCode(err) >= 500
	}
	if _, err := s.sc.FileSize(p); err == nil {
		return false
	}
	err := s.sc.ChangeDir(p)
	return isReply(err)
}

// with runs fn on a connection from the pool. An idempotent fn that fails
// because a reused connection broke is run again once on a fresh connection.
func (f *FS) with(ctx context.Context, idempotent bool, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		s, err := f.acquire(ctx, attempt > 0)
		if err != nil {
			return err
		}
		s.begin(ctx)
		err = fn(s)
		s.end()
		retry := idempotent && attempt == 0 && s.broken != nil && !s.fresh && ctx.Err() == nil
		f.release(s)
		if !retry {
			return err
		}
		f.log.Debug("ftp: retrying on a fresh connection", "server", f.server, "error", err)
	}
}

// acquire takes a connection: an idle one (checked with NOOP when it has
// been idle a while) unless fresh is set, else a new one. It waits for a
// free slot while MaxConns connections are in use.
func (f *FS) acquire(ctx context.Context, fresh bool) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ftp: %s: %w", f.server, err)
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ftp: waiting for a free connection to %s (all %d in use; raise max_conns?): %w",
			f.server, f.maxConns, ctx.Err())
	}
	for !fresh {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			<-f.slots
			return nil, errFSClosed
		}
		var s *conn
		if n := len(f.idle); n > 0 {
			s = f.idle[n-1]
			f.idle = f.idle[:n-1]
		}
		f.mu.Unlock()
		if s == nil {
			break
		}
		s.fresh = false
		if f.now().Sub(s.used) < f.pingAfter {
			return s, nil
		}
		s.begin(ctx)
		err := s.sc.NoOp()
		s.end()
		if err == nil && s.broken == nil {
			return s, nil
		}
		f.log.Debug("ftp: idle connection no longer works", "server", f.server, "error", err)
		f.drop(s, err)
		if err := ctx.Err(); err != nil {
			<-f.slots
			return nil, fmt.Errorf("ftp: %s: %w", f.server, err)
		}
	}
	s, err := f.connect(ctx)
	if err != nil {
		<-f.slots
		return nil, err
	}
	s.fresh = true
	return s, nil
}

// release returns a connection to the pool, or drops it if it is broken.
func (f *FS) release(s *conn) {
	switch {
	case s.broken != nil:
		f.drop(s, s.broken)
	case s.epsvLost:
		f.drop(s, errors.New("EPSV failed on this connection"))
	default:
		s.used = f.now()
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			f.drop(s, errFSClosed)
		} else {
			f.idle = append(f.idle, s)
			f.mu.Unlock()
		}
	}
	<-f.slots
}

func (f *FS) drop(s *conn, why error) {
	f.mu.Lock()
	delete(f.live, s)
	f.mu.Unlock()
	s.kill(why)
	if why != errFSClosed {
		f.log.Debug("ftp: connection dropped", "server", f.server, "reason", why)
	}
}

// connect dials a new connection. Only one dial runs at a time; after failed
// dials it returns a *BackoffError until the backoff has passed.
func (f *FS) connect(ctx context.Context) (*conn, error) {
	select {
	case f.dialSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ftp: waiting to connect to %s: %w", f.server, ctx.Err())
	}
	defer func() { <-f.dialSem }()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, errFSClosed
	}
	if f.failures > 0 && f.now().Before(f.nextDial) {
		err := &BackoffError{Server: f.server, Failures: f.failures, Next: f.nextDial, Err: f.lastErr,
			in: f.nextDial.Sub(f.now())}
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()

	s, err := f.dial(ctx)

	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil && f.closed:
		s.quit()
		return nil, errFSClosed
	case err == nil:
		if f.failures > 0 {
			f.log.Info("ftp: server reachable again", "server", f.server, "failed_dials", f.failures)
		}
		f.failures, f.lastErr = 0, nil
		f.live[s] = struct{}{}
		return s, nil
	case ctx.Err() != nil:
		return nil, err // the caller gave up: that says nothing about the server
	}
	f.failures++
	delay := f.maxBackoff
	if f.failures < 32 {
		delay = min(f.minBackoff<<(f.failures-1), f.maxBackoff)
	}
	f.nextDial = f.now().Add(delay)
	f.lastErr = err
	// The first failure is a warning; the repeats (every backoff, up to
	// every 30s while the server is down) are debug, until it recovers.
	level := slog.LevelWarn
	if f.failures > 1 {
		level = slog.LevelDebug
	}
	f.log.Log(ctx, level, "ftp: dial failed", "server", f.server, "failures", f.failures, "retry_in", delay, "error", err)
	return nil, err
}
