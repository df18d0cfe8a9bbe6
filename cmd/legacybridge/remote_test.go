package main

// End-to-end tests of flows that read partner drops on the real servers .ci/run
// starts (OpenSSH sshd for SFTP, proftpd for FTP/FTPS): a flow built from
// config exactly as 'run' builds it, publishing into an in-process Kafka.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/ftp"
	"legacybridge/bridges/sftp"
	"legacybridge/emitters/kafka"
	"legacybridge/internal/config"
	"legacybridge/internal/kafkabroker"
	"legacybridge/internal/ledger"
)

// need returns the named environment variables; a missing one skips the
// test locally and fails it in CI, so a server that did not start cannot
// pass silently.
func need(t *testing.T, names ...string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: .ci/run should have started the server and sourced its .env", n)
			}
			t.Skipf("%s not set (source /tmp/legacybridge-ci/*.env after .ci/run's services start)", n)
		}
		env[n] = v
	}
	return env
}

// remoteDrop is a fresh folder on a real server: src is the flow's source
// config; fs is a separate client on the same folder for setup and checks.
type remoteDrop struct {
	src config.Source
	fs  bridges.FS
}

func sftpEnv(t *testing.T) map[string]string {
	return need(t, "SFTP_ADDR", "SFTP_USER", "SFTP_KEY_FILE", "SFTP_KNOWN_HOSTS", "SFTP_DIR")
}

// newSFTPDrop makes a fresh folder under $SFTP_DIR and a source for it;
// addr overrides the server address (a proxy), "" keeps it.
func newSFTPDrop(t *testing.T, addr string) remoteDrop {
	t.Helper()
	env := sftpEnv(t)
	key, err := os.ReadFile(env["SFTP_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	dir := path.Join(env["SFTP_DIR"], fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
	setup, err := sftp.New(sftp.Config{Addr: env["SFTP_ADDR"], User: env["SFTP_USER"], PrivateKey: key,
		KnownHostsFile: env["SFTP_KNOWN_HOSTS"], Root: env["SFTP_DIR"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setup.Close() })
	if err := setup.MkdirAll(context.Background(), path.Base(dir)); err != nil {
		t.Fatal(err)
	}
	fs, err := sftp.New(sftp.Config{Addr: env["SFTP_ADDR"], User: env["SFTP_USER"], PrivateKey: key,
		KnownHostsFile: env["SFTP_KNOWN_HOSTS"], Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	if addr == "" {
		addr = env["SFTP_ADDR"]
	}
	return remoteDrop{fs: fs, src: config.Source{SFTP: &config.SFTP{
		SFTPConn: config.SFTPConn{Addr: addr, User: env["SFTP_USER"], PrivateKeyFile: env["SFTP_KEY_FILE"], KnownHosts: env["SFTP_KNOWN_HOSTS"], Dir: dir,
			Timeout: config.Duration(10 * time.Second)},
		Drop: config.Drop{Pattern: "*.edi", PollInterval: config.Duration(50 * time.Millisecond),
			Claim: "move", Archive: "move", Quarantine: "move", Order: "name"},
	}}}
}

func put(t *testing.T, fs bridges.FS, name, body string) {
	t.Helper()
	w, err := fs.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// remoteHarness runs flows into an in-process broker.
type remoteHarness struct {
	t      *testing.T
	broker *kafkabroker.Broker
	em     *kafka.Emitter
	led    *ledger.Ledger
}

func newRemoteHarness(t *testing.T) *remoteHarness {
	t.Helper()
	b, err := kafkabroker.Start(context.Background(), kafkabroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	em, err := kafka.NewEmitter(kafka.Config{Brokers: []string{b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	return &remoteHarness{t: t, broker: b, em: em, led: led}
}

func (h *remoteHarness) flow(name string, src config.Source) *legacybridge.Flow {
	h.t.Helper()
	fc := config.Flow{
		Name: name, Topic: name, DeadLetterTopic: name + ".dlt", Unmapped: "generic", Source: src,
		Parser:   config.Parser{Format: "x12"},
		Mappings: []string{filepath.Join(repoRoot(h.t), "legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml")},
	}
	log, _ := newLogger(io.Discard, "warn", "text")
	if testing.Verbose() {
		log, _ = newLogger(os.Stderr, "info", "text")
	}
	f, closeFS, err := buildFlow(&config.Config{}, fc, h.em, h.led, log, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { closeFS() })
	f.RetryBackoff = 100 * time.Millisecond
	return f
}

// checkOneSet reads the flow's topic: exactly want messages, all distinct
// ce_ids (one set of events, no redelivery).
func (h *remoteHarness) checkOneSet(topic string, want int) {
	h.t.Helper()
	ids := readAll(h.t, h.broker.Addr(), topic, want)
	total := 0
	for _, n := range ids {
		total += n
	}
	if len(ids) != want || total != want {
		h.t.Errorf("topic %s: %d messages with %d distinct ce_ids, want exactly %d of each", topic, total, len(ids), want)
	}
}

func listNames(t *testing.T, fs bridges.FS, dir string) []string {
	t.Helper()
	es, err := fs.List(context.Background(), dir)
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	var names []string
	for _, e := range es {
		if !e.IsDir {
			names = append(names, e.Name)
		}
	}
	return names
}

func TestSFTPDropDelivered(t *testing.T) {
	d := newSFTPDrop(t, "")
	h := newRemoteHarness(t)
	for i := 1; i <= 3; i++ {
		put(t, d.fs, fmt.Sprintf("ASN%d.edi", i), asn(i, 2))
	}
	put(t, d.fs, "notes.txt", "not an EDI file; the pattern leaves it alone")
	f := h.flow("sftp-asn", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Archived != 3 || sum.Quarantined != 0 || sum.Events != 6 {
		t.Fatalf("summary %+v, want 3 files archived with 6 events", sum)
	}
	h.checkOneSet("sftp-asn", 6)
	if got := listNames(t, d.fs, "."); len(got) != 1 || got[0] != "notes.txt" {
		t.Errorf("drop folder holds %v, want only notes.txt", got)
	}
	day := time.Now().UTC().Format("2006-01-02")
	if got := listNames(t, d.fs, "archive/"+day); len(got) != 3 {
		t.Errorf("archive/%s holds %v, want the 3 files", day, got)
	}
}

// TestSFTPUnknownHostKeyRefused: a known_hosts that holds another key for
// the server makes the flow refuse to connect, and the error says how to fix it.
func TestSFTPUnknownHostKeyRefused(t *testing.T) {
	d := newSFTPDrop(t, "")
	h := newRemoteHarness(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(pub)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(d.src.SFTP.Addr)}, sp)+"\n"), 0o600)
	d.src.SFTP.KnownHosts = kh
	f := h.flow("sftp-wrongkey", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := f.RunOnce(ctx)
	if err == nil {
		t.Fatal("RunOnce connected to a server whose host key is not the one in known_hosts")
	}
	msg := err.Error()
	for _, want := range []string{"host key", kh} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if ok, st := f.Status(); ok || !strings.Contains(st, "host key") {
		t.Errorf("Status() = %v, %q; want unhealthy naming the host key", ok, st)
	}

	// An empty known_hosts: unknown host, refused, with the ssh-keyscan hint.
	os.WriteFile(kh, nil, 0o600)
	f = h.flow("sftp-unknownhost", d.src)
	if _, err = f.RunOnce(ctx); err == nil || !strings.Contains(err.Error(), "ssh-keyscan") {
		t.Errorf("unknown host: err = %v, want a refusal that says how to add the key (ssh-keyscan)", err)
	}
}

// cutProxy forwards TCP to target; the first connection is cut after the
// server has sent cutAfter bytes; later connections pass untouched.
type cutProxy struct {
	ln       net.Listener
	conns    atomic.Int32
	cutAfter int64
	cut      atomic.Bool
}

func newCutProxy(t *testing.T, target string, cutAfter int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, cutAfter: cutAfter}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := p.conns.Add(1)
			go p.serve(c, target, n == 1)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn, target string, cut bool) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go io.Copy(s, c)
	if !cut {
		io.Copy(c, s)
		return
	}
	io.CopyN(c, s, p.cutAfter)
	p.cut.Store(true)
}

// TestSFTPConnectionCutMidTransfer: the first connection dies in the middle
// of the download; the flow reconnects, reads the file again from the start
// and publishes exactly one set of events.
func TestSFTPConnectionCutMidTransfer(t *testing.T) {
	env := sftpEnv(t)
	proxy := newCutProxy(t, env["SFTP_ADDR"], 256<<10)
	d := newSFTPDrop(t, proxy.ln.Addr().String())
	// known_hosts names the real port; the proxy's port needs the same key.
	kh, err := os.ReadFile(env["SFTP_KNOWN_HOSTS"])
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(kh))
	line := "[" + strings.Split(proxy.ln.Addr().String(), ":")[0] + "]:" + strings.Split(proxy.ln.Addr().String(), ":")[1] + " " + fields[1] + " " + fields[2] + "\n"
	khp := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(khp, []byte(line), 0o600)
	d.src.SFTP.KnownHosts = khp
	body := asn(7, 1500) // ~1 MB: the cut lands inside the download
	put(t, d.fs, "BIG.edi", body)
	h := newRemoteHarness(t)
	f := h.flow("sftp-cut", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !proxy.cut.Load() || proxy.conns.Load() < 2 {
		t.Fatalf("the proxy cut %v after %d connections: the test did not exercise a cut", proxy.cut.Load(), proxy.conns.Load())
	}
	if sum.Archived != 1 || sum.Quarantined != 0 {
		t.Fatalf("summary %+v, want the file archived once, nothing quarantined", sum)
	}
	h.checkOneSet("sftp-cut", 1500)
}

// TestSFTPSlowUploadNotPickedEarly: a partner uploads the last bytes of a
// file one per second; the flow never picks it up before it is complete.
func TestSFTPSlowUploadNotPickedEarly(t *testing.T) {
	d := newSFTPDrop(t, "")
	d.src.SFTP.MinAge = config.Duration(1500 * time.Millisecond)
	d.src.SFTP.PollInterval = config.Duration(200 * time.Millisecond)
	h := newRemoteHarness(t)
	f := h.flow("sftp-slow", d.src)
	body := asn(9, 3)
	const tail = 6
	// Write as a plain SFTP client would: straight into the final name.
	w := rawSFTPWriter(t, d.src.SFTP, "SLOW.edi")
	if _, err := io.WriteString(w, body[:len(body)-tail]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for i := len(body) - tail; i < len(body); i++ {
		time.Sleep(time.Second)
		if _, err := io.WriteString(w, body[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format("2006-01-02")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(safeList(d.fs, "archive/"+day)) == 0 {
		if q := safeList(d.fs, "error"); len(q) > 0 {
			t.Fatalf("the file was quarantined (%v): it was picked up before it was complete", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-done
	r, err := d.fs.Open(context.Background(), "archive/"+day+"/SLOW.edi")
	if err != nil {
		t.Fatalf("the file was not archived: %v", err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Errorf("archived file has %d bytes, want the complete %d", len(got), len(body))
	}
	h.checkOneSet("sftp-slow", 3)
}

func safeList(fs bridges.FS, dir string) []string {
	es, _ := fs.List(context.Background(), dir)
	var n []string
	for _, e := range es {
		if !e.IsDir {
			n = append(n, e.Name)
		}
	}
	return n
}

// rawSFTPWriter opens NAME in the drop for writing with a plain pkg/sftp
// client (no temp name), like a partner's upload.
func rawSFTPWriter(t *testing.T, s *config.SFTP, name string) io.WriteCloser {
	t.Helper()
	key, err := os.ReadFile(s.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kh, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: kh, HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pkgsftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sc.Create(path.Join(s.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return &rawWriter{f, sc, c}
}

type rawWriter struct {
	f  *pkgsftp.File
	sc *pkgsftp.Client
	c  *ssh.Client
}

func (w *rawWriter) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w *rawWriter) Close() error {
	err := w.f.Close()
	w.sc.Close()
	w.c.Close()
	return err
}

// TestSFTP5000SmallFiles: 5,000 small files in one folder are all delivered
// exactly once.
func TestSFTP5000SmallFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	d := newSFTPDrop(t, "")
	const n = 5000
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				wr, err := d.fs.Create(context.Background(), fmt.Sprintf("F%05d.edi", i))
				if err == nil {
					_, err = io.WriteString(wr, asn(100000+i, 1))
					if cerr := wr.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h := newRemoteHarness(t)
	f := h.flow("sftp-5000", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files over SFTP in %v (%.0f files/s)", sum.Archived, time.Since(t0).Round(time.Millisecond), float64(sum.Archived)/time.Since(t0).Seconds())
	if sum.Archived != n || sum.Quarantined != 0 || sum.Duplicates != 0 {
		t.Fatalf("summary %+v, want %d archived", sum, n)
	}
	h.checkOneSet("sftp-5000", n)
	if left := safeList(d.fs, "."); len(left) != 0 {
		t.Errorf("%d files left in the drop", len(left))
	}
}

// newFTPDrop makes a fresh folder in the FTP user's home on the CI proftpd,
// reached over explicit TLS (FTPS) or, with tls false, plain FTP.
func newFTPDrop(t *testing.T, tls bool) remoteDrop {
	t.Helper()
	env := need(t, "FTP_ADDR", "FTPS_ADDR", "FTP_USER", "FTP_PASS", "FTPS_CA_FILE", "FTPS_SERVER_NAME")
	t.Setenv("LB_TEST_FTP_PASS", env["FTP_PASS"])
	cfg := ftp.Config{Addr: env["FTP_ADDR"], User: env["FTP_USER"], Password: env["FTP_PASS"], TLS: "none"}
	src := &config.FTP{FTPConn: config.FTPConn{Addr: env["FTP_ADDR"], User: env["FTP_USER"], PasswordEnv: "LB_TEST_FTP_PASS", TLS: "none"}}
	if tls {
		cfg.Addr, cfg.TLS, cfg.CAFile, cfg.ServerName = env["FTPS_ADDR"], "explicit", env["FTPS_CA_FILE"], env["FTPS_SERVER_NAME"]
		src.Addr, src.TLS, src.CAFile, src.ServerName = cfg.Addr, cfg.TLS, cfg.CAFile, cfg.ServerName
	}
	dir := fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	setup, err := ftp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setup.Close() })
	if err := setup.MkdirAll(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	cfg.Root = dir
	fs, err := ftp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	src.Dir = dir
	src.Timeout = config.Duration(10 * time.Second)
	src.Drop = config.Drop{Pattern: "*.edi", PollInterval: config.Duration(50 * time.Millisecond),
		Claim: "move", Archive: "move", Quarantine: "move", Order: "name"}
	return remoteDrop{fs: fs, src: config.Source{FTP: src}}
}

func TestFTPSDropDelivered(t *testing.T) {
	d := newFTPDrop(t, true)
	h := newRemoteHarness(t)
	for i := 1; i <= 3; i++ {
		put(t, d.fs, fmt.Sprintf("ASN%d.edi", i), asn(200+i, 2))
	}
	f := h.flow("ftps-asn", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Archived != 3 || sum.Quarantined != 0 || sum.Events != 6 {
		t.Fatalf("summary %+v, want 3 files archived with 6 events", sum)
	}
	h.checkOneSet("ftps-asn", 6)
	day := time.Now().UTC().Format("2006-01-02")
	if got := safeList(d.fs, "archive/"+day); len(got) != 3 {
		t.Errorf("archive/%s holds %v, want the 3 files", day, got)
	}
}

// TestFTPReadOnlyDrop: a drop the account may only read (claim none,
// archive leave) is delivered once and not again on the next run.
func TestFTPReadOnlyDrop(t *testing.T) {
	d := newFTPDrop(t, false)
	d.src.FTP.Claim, d.src.FTP.Archive, d.src.FTP.Quarantine = "none", "leave", "leave"
	h := newRemoteHarness(t)
	put(t, d.fs, "RO1.edi", asn(301, 2))
	put(t, d.fs, "RO2.edi", asn(302, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for run := 1; run <= 2; run++ {
		sum, err := h.flow("ftp-ro", d.src).RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if run == 2 {
			want = 0
		}
		if sum.Archived != want || sum.Quarantined != 0 {
			t.Fatalf("run %d: summary %+v, want %d files delivered", run, sum, want)
		}
	}
	h.checkOneSet("ftp-ro", 3)
	if got := safeList(d.fs, "."); len(got) != 2 {
		t.Errorf("drop holds %v, want both files left in place", got)
	}
}

// TestFTP2000SmallFiles: a big folder over plain FTP is delivered once.
func TestFTP2000SmallFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	d := newFTPDrop(t, false)
	const n = 2000
	for i := 0; i < n; i++ {
		put(t, d.fs, fmt.Sprintf("F%05d.edi", i), asn(400000+i, 1))
	}
	h := newRemoteHarness(t)
	f := h.flow("ftp-2000", d.src)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	sum, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files over FTP in %v (%.0f files/s)", sum.Archived, time.Since(t0).Round(time.Millisecond), float64(sum.Archived)/time.Since(t0).Seconds())
	if sum.Archived != n || sum.Quarantined != 0 {
		t.Fatalf("summary %+v, want %d archived", sum, n)
	}
	h.checkOneSet("ftp-2000", n)
}

// writeDeliveryConfig writes a config whose flow reads the demo ASN from a
// local drop and whose delivery writes DC07's fixed-width files to dir on
// the CI sshd.
func writeDeliveryConfig(t *testing.T, dir string) string {
	t.Helper()
	env := sftpEnv(t)
	root := repoRoot(t)
	w := t.TempDir()
	drop := filepath.Join(w, "drop")
	os.MkdirAll(drop, 0o755)
	b, err := os.ReadFile(filepath.Join(root, "legacy-fixtures/demo/drops/x12/ASN_ACME_20241202_0815.edi"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(drop, "ASN.edi"), b, 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(drop, "ASN.edi"), old, old)
	cfg := fmt.Sprintf(`
kafka: {brokers: [embedded], embedded_listen: %q}
state_dir: %q
flows:
  - name: asn-in
    source: {local: {dir: %q, poll_interval: 20ms}}
    parser: {format: x12}
    mapping: %q
    topic: asn
    dead_letter_topic: asn.dlt
deliveries:
  - name: dc07
    topic: asn
    format: fixedwidth
    spec: %q
    name_template: 'ASN_{{.Partner}}_{{.ControlNumber}}_{{.Time.Format "20060102T150405"}}{{.FileExt}}'
    partner: DC07
    control_number_path: $.shipmentId
    destination:
      sftp: {addr: %q, user: %q, private_key_file: %q, known_hosts: %q, dir: %q}
`, freePort(t), filepath.Join(w, "state"), drop, filepath.Join(root, "legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml"),
		filepath.Join(root, "legacy-fixtures/outbound/specs/dc07-asn.yaml"),
		env["SFTP_ADDR"], env["SFTP_USER"], env["SFTP_KEY_FILE"], env["SFTP_KNOWN_HOSTS"], dir)
	p := filepath.Join(w, "lb.yaml")
	os.WriteFile(p, []byte(cfg), 0o644)
	return p
}

// TestDeliveryToSFTP: run --once delivers the demo's shipment notices as
// DC07's fixed-width files into a folder on the SFTP server that did not
// exist yet; the files are byte for byte the golden ones.
func TestDeliveryToSFTP(t *testing.T) {
	env := sftpEnv(t)
	sub := fmt.Sprintf("e2e-delivery-%d", time.Now().UnixNano())
	code, out, errOut := run(t, "run", "--config", writeDeliveryConfig(t, path.Join(env["SFTP_DIR"], sub)), "--once")
	if code != 0 || !strings.Contains(out, "2 files written") {
		t.Fatalf("exit %d, stdout %q\nstderr:\n%s", code, out, errOut)
	}
	key, _ := os.ReadFile(env["SFTP_KEY_FILE"])
	fs, err := sftp.New(sftp.Config{Addr: env["SFTP_ADDR"], User: env["SFTP_USER"], PrivateKey: key,
		KnownHostsFile: env["SFTP_KNOWN_HOSTS"], Root: path.Join(env["SFTP_DIR"], sub)})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	want, _ := filepath.Glob(filepath.Join(repoRoot(t), "legacy-fixtures/outbound/expected/*"))
	if got := safeList(fs, "."); len(got) != len(want) {
		t.Fatalf("destination holds %v, want %d files", got, len(want))
	}
	for _, w := range want {
		r, err := fs.Open(context.Background(), filepath.Base(w))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		exp, _ := os.ReadFile(w)
		if string(got) != string(exp) {
			t.Errorf("%s differs from the golden file", filepath.Base(w))
		}
	}
}

// TestDeliveryGivesUpUnderOnce: a destination the account cannot write to
// makes run --once stop after a few attempts with exit 1 and the reason,
// rather than retrying for ever.
func TestDeliveryGivesUpUnderOnce(t *testing.T) {
	// The chroot's root is root-owned: the SFTP user cannot create a folder there.
	code, out, errOut := run(t, "run", "--config", writeDeliveryConfig(t, fmt.Sprintf("/e2e-nope-%d", time.Now().UnixNano())), "--once", "--grace", "2s")
	if code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(errOut, "gave up after 5 failed attempts") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}
