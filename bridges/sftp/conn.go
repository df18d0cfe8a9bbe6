package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// conn is one SSH connection with its SFTP session. It is dropped (killed) as
// a whole: by a transport error, a request without reply for Timeout, a
// missed keepalive, the server closing it, or FS.Close.
type conn struct {
	ssh         *ssh.Client
	sftp        *sftp.Client
	posixRename bool
	fsync       bool // fsync@openssh.com: Create's Close flushes to disk before the rename

	dead chan struct{}
	once sync.Once
	why  error
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// cause is why the connection was dropped (nil while alive).
func (c *conn) cause() error {
	if c.alive() {
		return nil
	}
	return c.why
}

func (c *conn) kill(why error) {
	c.once.Do(func() {
		c.why = why
		close(c.dead)
		c.ssh.Close()
		// Closing the SFTP client waits for its reader, which ends now that
		// the SSH connection is gone; don't make the caller wait for it.
		go c.sftp.Close()
	})
}

// dial connects, verifies the host key, logs in and starts the SFTP session,
// all within Timeout (and ctx).
func (f *FS) dial(ctx context.Context) (*conn, error) {
	kh, err := knownhosts.New(f.knownHosts)
	if err != nil {
		return nil, fmt.Errorf("sftp: known_hosts for %s: %w", f.addr, err)
	}
	var hostKeyErr error // set by the callback: the handshake error only wraps it as text
	cfg := &ssh.ClientConfig{
		User: f.user,
		Auth: f.auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			hostKeyErr = f.checkHostKey(kh, hostname, remote, key)
			return hostKeyErr
		},
		HostKeyAlgorithms: hostKeyAlgorithms(kh, f.addr, f.knownHosts),
		Timeout:           f.timeout,
	}
	d := net.Dialer{Timeout: f.timeout}
	nc, err := d.DialContext(ctx, "tcp", f.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sftp: dial %s: %w", f.addr, ctx.Err())
		}
		return nil, fmt.Errorf("sftp: dial %s: %w: %w", f.addr, ErrUnreachable, err)
	}
	// The handshake and session setup share one deadline; ctx cuts it short.
	nc.SetDeadline(time.Now().Add(f.timeout))
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	sc, chans, reqs, err := ssh.NewClientConn(nc, f.addr, cfg)
	if err != nil {
		nc.Close()
		switch {
		case hostKeyErr != nil:
			return nil, hostKeyErr
		case ctx.Err() != nil:
			return nil, fmt.Errorf("sftp: connect to %s: %w", f.addr, ctx.Err())
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("sftp: %w: %s refused user %q (tried %s); check the user name, password and "+
				"private key in the config, and that the public key is in the user's authorized_keys on the server",
				ErrAuth, f.addr, f.user, strings.Join(f.authNames, ", "))
		case strings.Contains(err.Error(), "no common algorithm for host key"):
			return nil, fmt.Errorf("sftp: %w: %s offers none of the host key types known_hosts %s holds for it "+
				"(%s); the server's keys may have been replaced, or someone may be intercepting the connection. "+
				"Refusing to connect; verify the server's keys out of band: %w",
				ErrHostKeyChanged, f.addr, f.knownHosts, strings.Join(cfg.HostKeyAlgorithms, ", "), err)
		}
		return nil, fmt.Errorf("sftp: ssh handshake with %s: %w: %w", f.addr, ErrUnreachable, err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	wd := &watchdog{}
	sc2, err := startSFTP(client, wd)
	if err == nil && !stop() {
		sc2.Close()
		err = ctx.Err()
	}
	if err != nil {
		client.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sftp: start sftp session on %s: %w", f.addr, ctx.Err())
		}
		return nil, fmt.Errorf("sftp: start sftp session on %s as %q: %w: %w", f.addr, f.user, ErrUnreachable, err)
	}
	nc.SetDeadline(time.Time{})
	_, posix := sc2.HasExtension("posix-rename@openssh.com")
	fsyncVer, _ := sc2.HasExtension("fsync@openssh.com")
	c := &conn{ssh: client, sftp: sc2, posixRename: posix, fsync: fsyncVer == "1", dead: make(chan struct{})}
	go func() {
		err := client.Wait()
		c.kill(fmt.Errorf("the server closed the connection: %v", err))
	}()
	go func() {
		err := sc2.Wait()
		c.kill(fmt.Errorf("the sftp session ended: %v", err))
	}()
	go f.watch(c, wd)
	if f.keepAlive > 0 {
		go f.keepalive(c)
	}
	f.log.Info("sftp: connected", "server", f.server, "root", f.root, "posix_rename", posix, "fsync", c.fsync)
	go func() {
		<-c.dead
		if c.why != errFSClosed {
			f.log.Warn("sftp: connection dropped", "server", f.server, "reason", c.why)
		}
	}()
	return c, nil
}

func startSFTP(client *ssh.Client, wd *watchdog) (*sftp.Client, error) {
	s, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	w, err := s.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := s.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		return nil, fmt.Errorf("the server refused the sftp subsystem: %w", err)
	}
	return sftp.NewClientPipe(&watchedReader{r: r, wd: wd}, &watchedWriter{w: w, wd: wd},
		sftp.UseFstat(true), // the path may be renamed while the file is open
		sftp.MaxConcurrentRequestsPerFile(64))
}

// watch drops the connection when a request has waited Timeout without the
// server sending anything back.
func (f *FS) watch(c *conn, wd *watchdog) {
	tick := time.NewTicker(max(min(f.timeout/4, time.Second), 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-c.dead:
			return
		case now := <-tick.C:
			if wd.stalled(now, f.timeout) {
				c.kill(fmt.Errorf("the server sent no reply for %s", f.timeout))
				return
			}
		}
	}
}

// keepalive sends keepalive@openssh.com every KeepAlive; any reply (OpenSSH
// answers "failure") proves the server alive.
func (f *FS) keepalive(c *conn) {
	tick := time.NewTicker(f.keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-tick.C:
		}
		t := time.AfterFunc(f.timeout, func() {
			c.kill(fmt.Errorf("no reply to a keepalive within %s", f.timeout))
		})
		_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
		t.Stop()
		if err != nil {
			c.kill(fmt.Errorf("keepalive: %w", err))
			return
		}
	}
}

// watchdog counts SFTP packets in both directions. Every request gets exactly
// one reply, so more packets sent than received means a request is waiting.
type watchdog struct {
	mu        sync.Mutex
	sent, got int64
	since     time.Time // last sign of life while requests wait
	out, in   framer
}

func (w *watchdog) wrote(p []byte) {
	w.mu.Lock()
	idle := w.sent == w.got
	began, _ := w.out.feed(p)
	w.sent += int64(began)
	if idle && w.sent > w.got {
		w.since = time.Now()
	}
	w.mu.Unlock()
}

func (w *watchdog) read(p []byte) {
	w.mu.Lock()
	_, ended := w.in.feed(p)
	w.got += int64(ended)
	w.since = time.Now()
	w.mu.Unlock()
}

func (w *watchdog) stalled(now time.Time, timeout time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent > w.got && now.Sub(w.since) > timeout
}

// framer follows SFTP's framing (uint32 length, then that many bytes) across
// arbitrary Read/Write boundaries.
type framer struct {
	hdr  [4]byte
	nhdr int    // header bytes seen of the current packet
	left uint32 // body bytes still to come
}

// feed returns how many packets began and how many ended within p.
func (fr *framer) feed(p []byte) (began, ended int) {
	for len(p) > 0 {
		if fr.left == 0 {
			if fr.nhdr == 0 {
				began++
			}
			n := copy(fr.hdr[fr.nhdr:], p)
			fr.nhdr += n
			p = p[n:]
			if fr.nhdr == 4 {
				fr.nhdr = 0
				if fr.left = binary.BigEndian.Uint32(fr.hdr[:]); fr.left == 0 {
					ended++
				}
			}
			continue
		}
		n := uint32(min(len(p), int(min(fr.left, 1<<30))))
		fr.left -= n
		p = p[n:]
		if fr.left == 0 {
			ended++
		}
	}
	return began, ended
}

type watchedReader struct {
	r  io.Reader
	wd *watchdog
}

func (r *watchedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.wd.read(p[:n])
	}
	return n, err
}

type watchedWriter struct {
	w  io.WriteCloser
	wd *watchdog
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.wd.wrote(p) // before: a write blocked by the server counts as waiting
	return w.w.Write(p)
}

func (w *watchedWriter) Close() error { return w.w.Close() }

// checkHostKey runs the known_hosts check and turns its verdict into an error
// that says what happened and what to do.
func (f *FS) checkHostKey(kh ssh.HostKeyCallback, hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := kh(hostname, remote, key)
	if err == nil {
		return nil
	}
	seen := key.Type() + " " + ssh.FingerprintSHA256(key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return fmt.Errorf("sftp: %w: the host key %s of %s is marked @revoked in %s:%d; refusing to connect. "+
			"Ask the server's administrator for its current key", ErrHostKeyChanged, seen, f.addr, re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return fmt.Errorf("sftp: %w: %s is not in known_hosts %s; the server offered %s. Refusing to connect. "+
			"Verify that fingerprint with the server's administrator (out of band), then add the key: %s",
			ErrHostKeyUnknown, f.addr, f.knownHosts, seen, keyscanCmd(f.addr, f.knownHosts))
	case errors.As(err, &ke):
		var want []string
		for _, k := range ke.Want {
			want = append(want, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
		}
		return fmt.Errorf("sftp: %w: WARNING: THE HOST KEY OF %s HAS CHANGED. The server offered %s, but known_hosts "+
			"expects %s. Someone may be intercepting the connection (man-in-the-middle attack), or the server's key "+
			"was replaced. Refusing to connect. If the change is legitimate, verify the new fingerprint with the "+
			"server's administrator (out of band) and replace the old line in known_hosts",
			ErrHostKeyChanged, f.addr, seen, strings.Join(want, " or "))
	}
	return fmt.Errorf("sftp: host key %s of %s rejected: %w", seen, f.addr, err)
}

func keyscanCmd(addr, file string) string {
	host, port, _ := net.SplitHostPort(addr)
	if port == "22" {
		return fmt.Sprintf("ssh-keyscan %s >> %s", host, file)
	}
	return fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, file)
}

// hostKeyAlgorithms lists the host key algorithms for the key types that
// known_hosts holds for addr (x/crypto/ssh matches "host" for port 22 and
// "[host]:port" otherwise), so the server presents a key we can check. For an
// unknown host it returns nil: the server picks, and the error shows its key.
func hostKeyAlgorithms(kh ssh.HostKeyCallback, addr, file string) []string {
	// The callback reports every key it knows for the host when shown one
	// it does not know: show it a fresh one.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := kh(addr, &net.TCPAddr{IP: net.IPv4zero}, probe); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	content, _ := os.ReadFile(file)
	lines := bytes.Split(content, []byte("\n"))
	known := map[string]bool{}
	var certs bool
	var other []string
	for _, k := range ke.Want {
		if k.Line >= 1 && k.Line <= len(lines) && bytes.HasPrefix(bytes.TrimSpace(lines[k.Line-1]), []byte("@cert-authority")) {
			certs = true // a CA: the host's own key type is unknown
			continue
		}
		t := k.Key.Type()
		if algosFor(t) == nil && !known[t] {
			other = append(other, t)
		}
		known[t] = true
	}
	var algos []string
	if certs {
		algos = append(algos, ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01,
			ssh.CertAlgoECDSA521v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01)
	}
	for _, t := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA} {
		if known[t] {
			algos = append(algos, algosFor(t)...)
		}
	}
	return append(algos, other...)
}

// algosFor maps a known_hosts key type to the host key algorithms that
// present it (nil for types it does not know).
func algosFor(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return []string{keyType}
	case ssh.KeyAlgoRSA: // one RSA key, three signature algorithms
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return nil
}
