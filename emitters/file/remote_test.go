package file_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/ftp"
	"legacybridge/bridges/sftp"
	"legacybridge/emitters/file"
)

// The tests below deliver to the real servers .ci/run starts (settings in
// /tmp/legacybridge-ci/{sftp,ftp}.env). Without the settings they skip,
// unless CI=true: then a missing server is a failure.

func needEnv(t *testing.T, source string, keys ...string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, k := range keys {
		if env[k] = os.Getenv(k); env[k] == "" {
			msg := strings.Join(keys, ", ") + " must be set (source " + source + ")"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return env
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func scratchName() string {
	var b [6]byte
	rand.Read(b[:])
	return "lbdeliver-" + hex.EncodeToString(b[:])
}

func TestDeliverSFTP(t *testing.T) {
	env := needEnv(t, "/tmp/legacybridge-ci/sftp.env", "SFTP_ADDR", "SFTP_USER", "SFTP_DIR", "SFTP_KEY_FILE", "SFTP_KNOWN_HOSTS")
	key, err := os.ReadFile(env["SFTP_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	login := func() bridges.FS {
		fs, err := sftp.New(sftp.Config{Addr: env["SFTP_ADDR"], User: env["SFTP_USER"], PrivateKey: key,
			KnownHostsFile: env["SFTP_KNOWN_HOSTS"], Root: env["SFTP_DIR"], Timeout: 20 * time.Second, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	}
	dir := scratchName()
	fs := login()
	t.Cleanup(func() { removeAll(t, fs, dir, func() error { return fs.Remove(context.Background(), dir) }) })
	deliverRemote(t, fs, login(), dir)
}

func TestDeliverFTPS(t *testing.T) {
	env := needEnv(t, "/tmp/legacybridge-ci/ftp.env", "FTPS_ADDR", "FTP_USER", "FTP_PASS", "FTPS_CA_FILE", "FTPS_SERVER_NAME")
	cfg := ftp.Config{Addr: env["FTPS_ADDR"], User: env["FTP_USER"], Password: env["FTP_PASS"], CAFile: env["FTPS_CA_FILE"],
		ServerName: env["FTPS_SERVER_NAME"], Timeout: 20 * time.Second, MaxConns: 4, Logger: quiet()}
	login := func() bridges.FS {
		fs, err := ftp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	}
	dir := scratchName()
	fs := login()
	t.Cleanup(func() {
		removeAll(t, fs, dir, func() error {
			// The FS removes files only; remove the folder as the FTP
			// package's own tests do.
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			c, err := jftp.Dial(cfg.Addr, jftp.DialWithTimeout(20*time.Second), jftp.DialWithExplicitTLS(&tls.Config{
				RootCAs: pool, ServerName: cfg.ServerName, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(0)}))
			if err != nil {
				return err
			}
			defer c.Quit()
			if err := c.Login(cfg.User, cfg.Password); err != nil {
				return err
			}
			return c.RemoveDir(dir)
		})
	})
	deliverRemote(t, fs, login(), dir)
}

// removeAll removes the files of dir, then dir with rmdir.
func removeAll(t *testing.T, fs bridges.FS, dir string, rmdir func() error) {
	ctx := context.Background()
	es, err := fs.List(ctx, dir)
	if err != nil {
		t.Errorf("cleanup: list %s: %v", dir, err)
		return
	}
	for _, e := range es {
		if err := fs.Remove(ctx, dir+"/"+e.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if err := rmdir(); err != nil {
		t.Errorf("cleanup: remove %s: %v", dir, err)
	}
}

// deliverRemote delivers JSON events with done markers, three at a time,
// while a partner with its own login lists the folder in a loop and reads
// every visible file: no partial file, no marker before its file. Then the
// demo's shipment notices arrive as the golden fixed-width files.
func deliverRemote(t *testing.T, fs, partner bridges.FS, dir string) {
	addr := startBroker(t, 2)
	const n, size = 20, 200_000
	var evs []legacybridge.Event
	for i := range n {
		evs = append(evs, event(typeA, i, string(bigData(i, size))))
	}
	produce(t, addr, "json", evs...)
	want := func(name string) ([]byte, bool) {
		var i int
		if _, err := fmt.Sscanf(name, "ev-%04d.json", &i); err != nil || i >= n || fmt.Sprintf("ev-%04d.json", i) != name {
			return nil, false
		}
		return bigData(i, size), true
	}

	var mu sync.Mutex
	var problems []string
	seen := map[string]bool{}
	problem := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	read := func(ctx context.Context, name string) ([]byte, error) {
		r, err := partner.Open(ctx, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	lists := 0
	go func() {
		defer wg.Done()
		ctx := context.Background()
		for {
			// After stop, one more whole pass: what the delivery wrote
			// last is seen even when a pass is slow (-race, a busy server).
			last := false
			select {
			case <-stop:
				last = true
			default:
			}
			es, err := partner.List(ctx, dir)
			if err != nil {
				if last {
					problem("listing %s after the delivery stopped: %v", dir, err)
					return
				}
				time.Sleep(10 * time.Millisecond) // not created yet
				continue
			}
			lists++
			for _, e := range es {
				if strings.HasPrefix(e.Name, ".") || seen[e.Name] {
					continue
				}
				seen[e.Name] = true
				data := strings.TrimSuffix(e.Name, ".ok")
				w, ok := want(data)
				if !ok {
					problem("unexpected file %s", e.Name)
					continue
				}
				got, err := read(ctx, data)
				switch {
				case err != nil && e.Name != data:
					problem("marker %s listed before its file: %v", e.Name, err)
				case err != nil:
					problem("%s listed but not readable: %v", e.Name, err)
				case !bytes.Equal(got, w):
					problem("%s read with %d bytes, want %d (listed as %s)", data, len(got), len(w), e.Name)
				}
			}
			if last {
				return
			}
		}
	}()
	r := start(t, file.Config{Brokers: []string{addr}, Topic: "json", GroupID: "g", FS: fs, Dir: dir, DoneSuffix: ".ok",
		Encoder: file.JSON{}, Concurrency: 3, MaxWait: 400 * time.Millisecond, RetryMin: 50 * time.Millisecond})
	waitFor(t, "every offset committed", func() bool { return sum(committed(t, addr, "g", "json", 2)) == n })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("the partner saw:\n%s", strings.Join(problems, "\n"))
	}
	if len(seen) != 2*n {
		t.Errorf("the partner saw %d files and markers, want %d", len(seen), 2*n)
	}
	t.Logf("partner listed the folder %d times", lists)

	// The demo: shipment notices to fixed-width files, as the goldens.
	produce(t, addr, "asn", asnEvents(t)...)
	r = start(t, file.Config{Brokers: []string{addr}, Topic: "asn", GroupID: "dc07", FS: fs, Dir: dir, NameTemplate: demoName,
		Partner: "DC07", ControlNumberPath: "$.shipmentId", Encoder: demoEncoder(t), MaxWait: 400 * time.Millisecond})
	waitFor(t, "the notices committed", func() bool { return sum(committed(t, addr, "dc07", "asn", 2)) == 2 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	for name, content := range files(t, filepath.Join(outbound, "expected")) {
		got, err := read(context.Background(), name)
		if err != nil || string(got) != content {
			t.Errorf("%s on the server: %d bytes, %v; want the golden %d bytes", name, len(got), err, len(content))
		}
	}
}
