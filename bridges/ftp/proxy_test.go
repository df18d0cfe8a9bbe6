package ftp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"legacybridge/bridges"
)

// ftpProxy sits between the FS and the plain-FTP server. It records the
// commands clients send, can route data connections through itself (by
// rewriting the server's EPSV 229 and PASV 227 replies to point at a data
// proxy of its own) and cut the next one after a number of bytes, and can
// drop every connection or stop accepting new ones.
type ftpProxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	addr   string

	mu       sync.Mutex
	cmds     []string
	viaData  bool  // route data connections through a data proxy
	cutAfter int64 // >= 0: cut the next data connection after this many bytes from the server
	refuse   int   // replace this many passive (229/227) replies with 425
	hideMLST bool  // leave MLST out of FEAT replies (like vsftpd)
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

func newProxy(t testing.TB, target string) *ftpProxy {
	p := &ftpProxy{t: t, target: target, cutAfter: -1, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.stop()
		p.dropAll()
		p.wg.Wait()
	})
	return p
}

func (p *ftpProxy) serve(ln net.Listener) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.control(c) }()
		}
	}()
}

// stop closes the listener: new connections are refused.
func (p *ftpProxy) stop() { p.ln.Close() }

// restart listens again on the same address.
func (p *ftpProxy) restart() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.ln = ln
	p.serve(ln)
}

// dropAll closes every connection the proxy carries.
func (p *ftpProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *ftpProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *ftpProxy) commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cmds...)
}

func (p *ftpProxy) set(viaData bool, cutAfter int64) {
	p.mu.Lock()
	p.viaData, p.cutAfter = viaData, cutAfter
	p.mu.Unlock()
}

func (p *ftpProxy) control(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, server)
	defer client.Close()
	defer server.Close()
	go func() { // client -> server, one command per line
		defer server.Close()
		r := bufio.NewReader(client)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimRight(line, "\r\n")
			if strings.HasPrefix(strings.ToUpper(cmd), "PASS ") {
				cmd = "PASS ****"
			}
			p.mu.Lock()
			p.cmds = append(p.cmds, cmd)
			p.mu.Unlock()
			if _, err := io.WriteString(server, line); err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(server) // server -> client, rewriting passive replies
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		p.mu.Lock()
		via := p.viaData
		refuse := p.refuse > 0 && (strings.HasPrefix(line, "229 ") || strings.HasPrefix(line, "227 "))
		if refuse {
			p.refuse--
		}
		hide := p.hideMLST
		p.mu.Unlock()
		switch {
		case hide && strings.HasPrefix(line, " MLST"):
			continue
		case refuse:
			line = "425 Unable to open a passive port (refused by the test proxy)\r\n"
		case via:
			line = p.rewrite(line)
		}
		if _, err := io.WriteString(client, line); err != nil {
			return
		}
	}
}

// rewrite points a 229 or 227 reply at a new data proxy for the port it
// names.
func (p *ftpProxy) rewrite(line string) string {
	var port int
	switch {
	case strings.HasPrefix(line, "229 "):
		i, j := strings.Index(line, "(|||"), strings.LastIndex(line, "|)")
		if i < 0 || j < i {
			return line
		}
		port, _ = strconv.Atoi(line[i+4 : j])
	case strings.HasPrefix(line, "227 "):
		i, j := strings.Index(line, "("), strings.LastIndex(line, ")")
		f := strings.Split(line[i+1:j], ",")
		if i < 0 || j < i || len(f) != 6 {
			return line
		}
		hi, _ := strconv.Atoi(f[4])
		lo, _ := strconv.Atoi(f[5])
		port = hi*256 + lo
	default:
		return line
	}
	mine := p.dataProxy(port)
	if strings.HasPrefix(line, "229 ") {
		return fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", mine)
	}
	return fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n", mine/256, mine%256)
}

// dataProxy accepts one data connection and relays it to the server's
// passive port; the server-to-client direction stops after cutAfter bytes
// (if set, once), closing both sides.
func (p *ftpProxy) dataProxy(port int) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Error(err)
		return 0
	}
	p.mu.Lock()
	limit := p.cutAfter
	p.cutAfter = -1
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer ln.Close()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
		client, err := ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			client.Close()
			return
		}
		p.track(client, server)
		go func() { io.Copy(server, client); server.(*net.TCPConn).CloseWrite() }()
		if limit >= 0 {
			io.CopyN(client, server, limit)
			client.Close()
			server.Close()
			return
		}
		io.Copy(client, server)
		client.(*net.TCPConn).CloseWrite()
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// proxied returns a plain-FTP config (scratch-rooted) that goes through a
// new proxy.
func proxied(t *testing.T, mod func(*Config)) (*FS, *ftpProxy) {
	e := ftpd(t)
	cfg := scratch(t, e.plain())
	p := newProxy(t, cfg.Addr)
	cfg.Addr = p.addr
	if mod != nil {
		mod(&cfg)
	}
	return newFS(t, cfg), p
}

// TestCutDownload cuts a download's data connection part-way. Read (or
// Close) must fail — never a clean EOF — and the next Open must read the
// whole file. For the small file the server has sent everything before the
// cut and replies 226, so only the count against SIZE can notice; for the
// big one the server notices too.
func TestCutDownload(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, cut int64
		epsv      bool
	}{
		{"SmallEPSV", 10_000, 1_000, true},
		{"SmallPASV", 10_000, 1_000, false},
		{"BigEPSV", 8 << 20, 100_000, true},
		{"NothingEPSV", 10_000, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, p := proxied(t, func(cfg *Config) { cfg.DisableEPSV = !c.epsv })
			data := bytes.Repeat([]byte("ISA*00*~"), int(c.size/8))
			put(t, f, "cut.edi", data)
			p.set(true, c.cut)
			r, err := f.Open(ctxT(t), "cut.edi")
			if err != nil {
				t.Fatal(err)
			}
			got, rerr := io.ReadAll(r)
			cerr := r.Close()
			switch {
			case rerr == nil && cerr == nil:
				t.Fatalf("a download cut after %d of %d bytes read %d bytes and closed without error", c.cut, c.size, len(got))
			case rerr == nil:
				t.Errorf("Read gave a clean EOF after %d of %d bytes (Close: %v); want the error from Read", len(got), c.size, cerr)
			case !errors.Is(rerr, ErrIncomplete) || !strings.Contains(rerr.Error(), "cut.edi"):
				t.Errorf("Read error %q; want ErrIncomplete naming the file", rerr)
			}
			if int64(len(got)) > c.cut {
				t.Errorf("read %d bytes through a connection cut after %d", len(got), c.cut)
			}
			t.Logf("Read: %v", rerr)
			if got := get(t, f, "cut.edi"); !bytes.Equal(got, data) {
				t.Errorf("the next Open read %d bytes, want the %d written", len(got), len(data))
			}
			if want := map[bool]string{true: "EPSV", false: "PASV"}[c.epsv]; !slicesContain(p.commands(), want) {
				t.Errorf("no %s command was sent: %q", want, p.commands())
			}
		})
	}
}

func slicesContain(ss []string, want string) bool {
	for _, s := range ss {
		if s == want {
			return true
		}
	}
	return false
}

// TestCancelDownload: cancelling Open's ctx fails the next Read with the
// ctx's error, and the FS goes on working.
func TestCancelDownload(t *testing.T) {
	f, _ := proxied(t, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	put(t, f, "big.bin", data)
	ctx, cancel := context.WithCancel(ctxT(t))
	r, err := f.Open(ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(r)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v; want context.Canceled", err)
	}
	r.Close()
	if got := get(t, f, "big.bin"); !bytes.Equal(got, data) {
		t.Errorf("Open after a cancelled download read %d bytes, want %d", len(got), len(data))
	}
}

// TestReconnect: connections the network drops are detected and replaced (a
// read-only call is retried on a fresh connection; an idle connection is
// checked with NOOP); while the server is down calls fail with
// ErrUnreachable, then fast with a *BackoffError; once it is back and the
// backoff has passed, the FS works again.
func TestReconnect(t *testing.T) {
	f, p := proxied(t, nil)
	clock := &fakeClock{t: time.Now()}
	f.now = clock.now
	ctx := ctxT(t)
	put(t, f, "a.edi", []byte("a"))

	// A connection that died while idle for a moment: List fails on it and
	// is retried on a fresh connection.
	p.dropAll()
	if _, err := f.List(ctx, ""); err != nil {
		t.Fatalf("List after the connections were dropped: %v", err)
	}
	// Idle long enough to be checked: NOOP finds it dead before use.
	p.dropAll()
	clock.add(time.Minute)
	before := len(p.commands())
	if _, err := f.Stat(ctx, "a.edi"); err != nil {
		t.Fatalf("Stat after the connections were dropped while idle: %v", err)
	}
	if cmds := p.commands()[before:]; len(cmds) == 0 || cmds[0] != "USER "+ftpd(t).user {
		t.Errorf("commands after an idle drop = %q; want a fresh login (the NOOP went to a dead connection)", cmds)
	}
	clock.add(time.Minute)
	before = len(p.commands())
	if _, err := f.Stat(ctx, "a.edi"); err != nil {
		t.Fatal(err)
	}
	if cmds := p.commands()[before:]; len(cmds) == 0 || cmds[0] != "NOOP" {
		t.Errorf("commands on an idle connection = %q; want NOOP first", cmds)
	}

	// The server goes away.
	p.stop()
	p.dropAll()
	_, err := f.Stat(ctx, "a.edi")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Stat with the server down = %v; want ErrUnreachable", err)
	}
	_, err = f.Stat(ctx, "a.edi")
	var be *BackoffError
	if !errors.As(err, &be) || be.Failures != 1 {
		t.Fatalf("Stat right after = %v; want a *BackoffError after 1 failure", err)
	}
	p.restart()
	if _, err := f.Stat(ctx, "a.edi"); !errors.As(err, &be) {
		t.Errorf("Stat before the backoff passed = %v; want a *BackoffError (no dial)", err)
	}
	clock.add(be.Next.Sub(clock.now()))
	e, err := f.Stat(ctx, "a.edi")
	if err != nil || e.Size != 1 {
		t.Fatalf("Stat once the server is back = %+v, %v", e, err)
	}
	if f.failures != 0 {
		t.Errorf("failures = %d after a good dial, want 0", f.failures)
	}
}

// TestManyFilesListing lists 5,000 files with LIST (DisableMLSD): every
// entry has its exact time (compared with MLSD's), the first listing asks
// MDTM once per file, and the second only for the few files whose listed
// minute may not have ended on the server (the commands are counted by the
// proxy).
func TestManyFilesListing(t *testing.T) {
	const n = 5000
	e := ftpd(t)
	if testing.Short() {
		t.Skip("writes 5,000 files (about 20 s); runs without -short")
	}
	cfg := scratch(t, e.plain())
	mlsd := newFS(t, cfg)
	ctx := ctxT(t)

	// Write the files through the FS, then give them distinct times in the
	// past (three days ago, 7 s apart, not on minute boundaries) with MFMT.
	var wg sync.WaitGroup
	names := make(chan int)
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i := range names {
				w, err := mlsd.Create(ctx, fmt.Sprintf("f%05d.edi", i))
				if err == nil {
					_, err = w.Write([]byte(strconv.Itoa(i)))
					if cerr := w.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					errs <- err
					for range names {
					}
					return
				}
			}
		})
	}
	for i := range n {
		names <- i
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour).Add(13 * time.Second)
	raw := rawDial(t, cfg)
	for i := range n {
		if err := raw.SetTime(fmt.Sprintf("/%s/f%05d.edi", cfg.Root, i), base.Add(time.Duration(i)*7*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	raw.Quit()

	p := newProxy(t, cfg.Addr)
	listCfg := cfg
	listCfg.Addr = p.addr
	listCfg.DisableMLSD = true
	f := newFS(t, listCfg)
	check := func(what string, es []bridges.Entry) {
		t.Helper()
		if len(es) != n {
			t.Fatalf("%s listing has %d entries, want %d", what, len(es), n)
		}
		for _, e := range es {
			i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(e.Name, "f"), ".edi"))
			if err != nil {
				t.Fatalf("%s listing: unexpected entry %+v", what, e)
			}
			if want := base.Add(time.Duration(i) * 7 * time.Second); !e.ModTime.Equal(want) || e.Size != int64(len(strconv.Itoa(i))) {
				t.Fatalf("%s listing: %s = %v, %d bytes; want %v, %d bytes", what, e.Name, e.ModTime, e.Size, want, len(strconv.Itoa(i)))
			}
		}
	}
	es, err := mlsd.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	check("MLSD", es)

	count := func() map[string]int {
		m := map[string]int{}
		for _, c := range p.commands() {
			verb, _, _ := strings.Cut(c, " ")
			m[verb]++
		}
		return m
	}
	es, err = f.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	check("first LIST", es)
	first := count()
	if first["MDTM"] != n || first["LIST"] != 1 {
		t.Errorf("first listing sent %v; want one LIST and %d MDTM", first, n)
	}
	es, err = f.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	check("second LIST", es)
	second := count()
	total := 0
	for verb, k := range second {
		second[verb] = k - first[verb]
		total += second[verb]
	}
	// The newest minute holds 9 files (7 s apart); they are asked again.
	if second["LIST"] != 1 || second["MDTM"] > 9 || total > 15 {
		t.Errorf("second listing sent %v (%d commands); want one LIST and at most 9 MDTM", second, total)
	}
	t.Logf("first listing: %v; second listing: %v", first, second)
}

// TestPassiveRefused: a server that answers EPSV and PASV with 425 (its
// passive port range is busy) gets the data command again shortly after, for
// listings, downloads and uploads; the connection, which jlaffaye/ftp has
// switched to PASV for good, is not reused.
func TestPassiveRefused(t *testing.T) {
	f, p := proxied(t, nil)
	ctx := ctxT(t)
	put(t, f, "a.edi", []byte("content a"))
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"List", func() error { _, err := f.List(ctx, ""); return err }},
		{"Open", func() error {
			if got := get(t, f, "a.edi"); string(got) != "content a" {
				return fmt.Errorf("read %q", got)
			}
			return nil
		}},
		{"Create", func() error {
			put(t, f, "b.edi", []byte("content b"))
			if got := get(t, f, "b.edi"); string(got) != "content b" {
				return fmt.Errorf("read back %q", got)
			}
			return nil
		}},
	} {
		p.mu.Lock()
		p.refuse = 3 // EPSV, then PASV twice
		p.mu.Unlock()
		before := len(p.commands())
		if err := op.run(); err != nil {
			t.Errorf("%s with the first 3 passive replies refused: %v", op.name, err)
		}
		cmds := strings.Join(p.commands()[before:], " ")
		if n := strings.Count(cmds, "PASV"); n < 3 {
			t.Errorf("%s: commands %q; want EPSV, then PASV until one is accepted", op.name, cmds)
		}
		f.mu.Lock()
		idle := len(f.idle)
		f.mu.Unlock()
		if op.name == "List" && idle != 0 {
			t.Errorf("the connection that lost EPSV went back to the pool")
		}
	}
	// Refused more often than the retries: the 425 is reported.
	p.mu.Lock()
	p.refuse = 100
	p.mu.Unlock()
	_, err := f.List(ctx, "")
	if err == nil || !strings.Contains(err.Error(), "425") || !strings.Contains(err.Error(), "passive ports") {
		t.Errorf("List with every passive reply refused = %v; want the 425 and what to check", err)
	}
	p.mu.Lock()
	p.refuse = 0
	p.mu.Unlock()
}

// TestNoMLSD: against a server without MLSD (here: the proxy hides MLST in
// FEAT, as vsftpd offers none) the FS learns it on the first login, dials
// again so that it lists with "LIST -a" (dot files included: the temporary
// files of Create), and gets exact times by MDTM.
func TestNoMLSD(t *testing.T) {
	f, p := proxied(t, nil)
	p.mu.Lock()
	p.hideMLST = true
	p.mu.Unlock()
	ctx := ctxT(t)
	w, err := f.Create(ctx, "a.edi")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("abc"))
	es, err := f.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || !strings.HasPrefix(es[0].Name, ".a.edi.") || !strings.HasSuffix(es[0].Name, ".legacybridge-tmp") {
		t.Errorf("List while writing = %+v; want the temporary (dot) file", es)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	es, err = f.List(ctx, "")
	if err != nil || len(es) != 1 || es[0].Name != "a.edi" || es[0].Size != 3 {
		t.Fatalf("List = %+v, %v; want a.edi of 3 bytes", es, err)
	}
	st, err := f.Stat(ctx, "a.edi")
	if err != nil || !st.ModTime.Equal(es[0].ModTime) || st.Size != 3 {
		t.Errorf("Stat = %+v, %v; want the listing's exact time %v", st, err, es[0].ModTime)
	}
	f.mu.Lock()
	learnt := f.noMLST
	f.mu.Unlock()
	cmds := strings.Join(p.commands(), "\n")
	if !learnt || !strings.Contains(cmds, "LIST -a ") || strings.Contains(cmds, "MLSD") || strings.Contains(cmds, "MLST") ||
		!strings.Contains(cmds, "MDTM ") {
		t.Errorf("learnt no MLSD: %v; commands:\n%s", learnt, cmds)
	}
}
