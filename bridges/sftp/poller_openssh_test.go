package sftp

import (
	"errors"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
)

// The poller over the real sshd. The drop's account can write the drop, so
// it can also replace the processing, archive or error folder with a link
// to another folder; the poller must move nothing through such a link.
func TestOpenSSHPollerRefusesLinkedFolders(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	now := time.Now().Add(time.Hour)
	for _, tc := range []struct{ link, step string }{
		{"processing", "claim"},
		{"archive", "archive"},
		{"archive/DATE", "archive"},
		{"error", "quarantine"},
	} {
		t.Run(strings.ReplaceAll(tc.link, "/", "_"), func(t *testing.T) {
			t.Parallel()
			cfg := e.scratch(t)
			f := mustNew(t, cfg)
			ctx := ctxT(t)
			c, err := f.connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.MkdirAll(ctx, "other-partner"); err != nil {
				t.Fatal(err)
			}
			link := strings.ReplaceAll(tc.link, "DATE", now.UTC().Format("2006-01-02"))
			if d := path.Dir(link); d != "." {
				if err := f.MkdirAll(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.sftp.Symlink(path.Join(cfg.Root, "other-partner"), path.Join(cfg.Root, link)); err != nil {
				t.Fatal(err)
			}
			if le, err := f.Lstat(ctx, link); err != nil || !le.Special {
				t.Fatalf("Lstat(%s) = %+v, %v; want a Special entry", link, le, err)
			}
			put(t, f, "a.edi", []byte("x"))
			p := &bridges.Poller{FS: f, Pattern: "*.edi", Now: func() time.Time { return now },
				Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))}
			p.Poll(ctx)
			cs, err := p.Poll(ctx)
			if tc.step != "claim" {
				if err != nil || len(cs) != 1 {
					t.Fatalf("claim: %d claims, %v", len(cs), err)
				}
				if tc.step == "archive" {
					_, err = cs[0].Archive(ctx)
				} else {
					_, err = cs[0].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "bad"})
				}
			}
			if !errors.Is(err, bridges.ErrLinkedFolder) {
				t.Fatalf("%s through a linked %s: err = %v; want ErrLinkedFolder", tc.step, tc.link, err)
			}
			if es, err := f.List(ctx, "other-partner"); err != nil || len(es) != 0 {
				t.Fatalf("other-partner holds %+v (%v): files went through the link", es, err)
			}
		})
	}
}
