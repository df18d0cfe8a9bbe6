package ftp

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkDownload measures Open + io.Copy(io.Discard) + Close of a 100 MB
// file over plain FTP and explicit FTPS against the CI proftpd, and the same
// download with jlaffaye/ftp alone (Retr on a logged-in connection, no SIZE,
// no pool), in the same run, alternating. It reports both throughputs and
// their ratio (ours / reference); the time per operation covers both
// downloads.
//
//	go test -run '^$' -bench Download -benchtime 5x ./bridges/ftp/
func BenchmarkDownload(b *testing.B) {
	e := ftpd(b)
	const size = 100 << 20
	for _, mode := range []struct {
		name string
		cfg  Config
	}{{"FTP", e.plain()}, {"FTPS", e.ftps()}} {
		cfg := scratch(b, mode.cfg)
		f := newFS(b, cfg)
		w, err := f.Create(ctxT(b), "big.bin")
		if err != nil {
			b.Fatal(err)
		}
		block := bytes.Repeat([]byte("legacybridge-ftp-benchmark-data\n"), 1<<15) // 1 MiB
		for range size / len(block) {
			if _, err := w.Write(block); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		raw := rawDial(b, cfg)
		remote := "/" + cfg.Root + "/big.bin"

		b.Run(mode.name, func(b *testing.B) {
			var ours, ref time.Duration
			download := func(open func() (io.ReadCloser, error)) time.Duration {
				start := time.Now()
				r, err := open()
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if cerr := r.Close(); err == nil {
					err = cerr
				}
				if err != nil || n != size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				return time.Since(start)
			}
			fs := func() (io.ReadCloser, error) { return f.Open(ctxT(b), "big.bin") }
			jl := func() (io.ReadCloser, error) { return raw.Retr(remote) }
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					ours += download(fs)
					ref += download(jl)
				} else {
					ref += download(jl)
					ours += download(fs)
				}
			}
			mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
			b.ReportMetric(mbps(ours), "MB/s")
			b.ReportMetric(mbps(ref), "ref-MB/s")
			b.ReportMetric(mbps(ours)/mbps(ref), "ratio")
		})
		raw.Quit()
	}
}
