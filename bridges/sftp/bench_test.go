package sftp

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchSize = 200 << 20

// BenchmarkOpenSSHRead reads a 200 MiB file from the CI sshd through FS.Open
// (io.Copy to io.Discard) and, as the reference in the same run, fetches it
// with OpenSSH's sftp CLI to a local file and reads that (a new process and
// login each time, as a script would). ns/op and MB/s are the FS read alone.
// Metrics: fs-MB/s; cli-MB/s and the ratio fs/cli; the same for the CLI
// forced to aes128-gcm (cli-gcm-MB/s, fs/cli-gcm); peak-heap-MB during the
// FS read and base-heap-MB just before it; upload-MB/s of the FS.Create
// that made the file.
//
//	source /tmp/legacybridge-ci/sftp.env
//	go test -run '^$' -bench OpenSSHRead -benchtime 3x ./bridges/sftp/
func BenchmarkOpenSSHRead(b *testing.B) {
	e := openSSH(b)
	if _, err := exec.LookPath("sftp"); err != nil {
		b.Skip("OpenSSH's sftp client is not installed")
	}
	cfg := e.scratch(b)
	f := mustNew(b, cfg)
	ctx := ctxT(b)
	upload := makeBenchFile(b, f, "big.bin")
	defer f.Remove(ctx, "big.bin")

	host, port, err := net.SplitHostPort(e.addr)
	if err != nil {
		b.Fatal(err)
	}
	local := filepath.Join(b.TempDir(), "big.bin")
	// The CLI with its default cipher (chacha20-poly1305), and with the one
	// x/crypto/ssh negotiates (aes128-gcm, AES-NI), to separate cipher cost
	// from transfer design.
	cliCiphers := []string{"", "aes128-gcm@openssh.com"}
	var fsTime time.Duration
	var base uint64
	cliTime := make([]time.Duration, len(cliCiphers))
	var peak uint64
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		stop := sampleHeapFrom(&peak, &base)
		start := time.Now()
		r, err := f.Open(ctx, "big.bin")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		fsTime += time.Since(start)
		stop()
		if err != nil || n != benchSize {
			b.Fatalf("FS read %d of %d bytes: %v", n, benchSize, err)
		}

		b.StopTimer()
		for i, cipher := range cliCiphers {
			start = time.Now()
			args := []string{"-q", "-b", "-", "-i", e.keyFile, "-P", port,
				"-o", "UserKnownHostsFile=" + e.knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
				"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"}
			if cipher != "" {
				args = append(args, "-c", cipher)
			}
			cmd := exec.Command("sftp", append(args, e.user+"@"+host)...)
			cmd.Stdin = strings.NewReader(fmt.Sprintf("get %s %s\n", path.Join(cfg.Root, "big.bin"), local))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("sftp CLI: %v\n%s", err, out)
			}
			lf, err := os.Open(local)
			if err != nil {
				b.Fatal(err)
			}
			n, err = io.Copy(io.Discard, lf)
			lf.Close()
			cliTime[i] += time.Since(start)
			os.Remove(local)
			if err != nil || n != benchSize {
				b.Fatalf("sftp CLI fetched %d of %d bytes: %v", n, benchSize, err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	mb := float64(benchSize) * float64(b.N) / 1e6
	fsRate := mb / fsTime.Seconds()
	cliRate, gcmRate := mb/cliTime[0].Seconds(), mb/cliTime[1].Seconds()
	b.ReportMetric(fsRate, "fs-MB/s")
	b.ReportMetric(cliRate, "cli-MB/s")
	b.ReportMetric(fsRate/cliRate, "fs/cli")
	b.ReportMetric(gcmRate, "cli-gcm-MB/s")
	b.ReportMetric(fsRate/gcmRate, "fs/cli-gcm")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
	b.ReportMetric(upload, "upload-MB/s")
}

// BenchmarkOpenSSHReadVariants measures the ways pkg/sftp can read, on the
// same file, to show why Open runs File.WriteTo behind a pipe: File.Read with
// a small buffer waits one round trip per 32 KiB or less.
func BenchmarkOpenSSHReadVariants(b *testing.B) {
	e := openSSH(b)
	cfg := e.scratch(b)
	f := mustNew(b, cfg)
	ctx := ctxT(b)
	makeBenchFile(b, f, "big.bin")
	defer f.Remove(ctx, "big.bin")
	c, err := f.connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := path.Join(cfg.Root, "big.bin")
	for _, v := range []struct {
		name string
		read func() (int64, error)
	}{
		{"FS.Open+io.Copy", func() (int64, error) {
			r, err := f.Open(ctx, "big.bin")
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return io.Copy(io.Discard, r)
		}},
		{"FS.Open+Read-4KiB", func() (int64, error) {
			r, err := f.Open(ctx, "big.bin")
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 4<<10))
		}},
		{"File.WriteTo", func() (int64, error) {
			r, err := c.sftp.Open(p)
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return r.WriteTo(io.Discard)
		}},
		{"File.Read-32KiB", func() (int64, error) {
			r, err := c.sftp.Open(p)
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 32<<10))
		}},
		{"File.Read-1MiB", func() (int64, error) {
			r, err := c.sftp.Open(p)
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 1<<20))
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			var peak uint64
			b.SetBytes(benchSize)
			for range b.N {
				stop := sampleHeap(&peak)
				n, err := v.read()
				stop()
				if err != nil || n != benchSize {
					b.Fatalf("read %d of %d bytes: %v", n, benchSize, err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// makeBenchFile writes benchSize bytes through FS.Create (the CI server's
// folder is chrooted away from this machine) and returns the upload MB/s.
func makeBenchFile(b *testing.B, f *FS, name string) float64 {
	b.Helper()
	block := payload(1<<20, 42)
	start := time.Now()
	w, err := f.Create(ctxT(b), name)
	if err != nil {
		b.Fatal(err)
	}
	for range benchSize / len(block) {
		if _, err := w.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return float64(benchSize) / 1e6 / time.Since(start).Seconds()
}

// sampleHeap records the largest HeapAlloc seen every few milliseconds until
// the returned stop is called, and the heap in use before (after a GC) in
// base.
func sampleHeap(peak *uint64) (stop func()) {
	return sampleHeapFrom(peak, new(uint64))
}

func sampleHeapFrom(peak, base *uint64) (stop func()) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	*base = max(*base, before.HeapAlloc)
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for !done.Load() {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapAlloc)
			time.Sleep(5 * time.Millisecond)
		}
	})
	return func() { done.Store(true); wg.Wait() }
}
