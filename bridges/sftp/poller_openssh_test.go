package sftp

import (
	"context"
	"errors"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
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

// Claim "auto" on a folder the sftp user may not write (chmod 0555 on the
// real sshd, which runs the session as that user): the poller falls back to
// the ledger and leaves the files in place.
func TestOpenSSHPollerClaimAutoReadOnly(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	cfg := e.scratch(t)
	f := mustNew(t, cfg)
	ctx := ctxT(t)
	c, err := f.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.MkdirAll(ctx, "in"); err != nil {
		t.Fatal(err)
	}
	put(t, f, "in/a.edi", []byte("aaa"))
	put(t, f, "in/b.edi", []byte("bbb"))
	in := path.Join(cfg.Root, "in")
	if err := c.sftp.Chmod(in, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.sftp.Chmod(in, 0o755) })
	now := time.Now().Add(time.Hour)
	var logs strings.Builder
	p := &bridges.Poller{FS: f, Dir: "in", Pattern: "*.edi", Now: func() time.Time { return now },
		Claim: bridges.ClaimAuto, Marks: &memMarks{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	var cs []legacybridge.FileClaim
	for range 2 {
		got, err := p.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		cs = append(cs, got...)
	}
	if len(cs) != 2 || cs[0].Info().Path != "in/a.edi" || cs[1].Info().Path != "in/b.edi" {
		t.Fatalf("claimed %d files; want in/a.edi and in/b.edi read in place:\n%s", len(cs), logs.String())
	}
	if to, err := cs[0].Archive(ctx); err != nil || to != "in/a.edi" {
		t.Fatalf("Archive = %q, %v; want left in place", to, err)
	}
	if to, err := cs[1].Quarantine(ctx, legacybridge.QuarantineReport{Reason: "broken"}); err != nil || to != "in/b.edi" {
		t.Fatalf("Quarantine = %q, %v; want left in place", to, err)
	}
	for range 2 {
		if got, err := p.Poll(ctx); err != nil || len(got) != 0 {
			t.Fatalf("after handling: claimed %d, %v; want nothing", len(got), err)
		}
	}
	if n := strings.Count(logs.String(), "claimed by the ledger alone"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "broken") {
		t.Errorf("the error report is not in the log although error/ cannot be created:\n%s", logs.String())
	}
	if es, err := f.List(ctx, "in"); err != nil || len(es) != 2 {
		t.Errorf("the read-only folder holds %+v, %v; want a.edi and b.edi untouched", es, err)
	}
}

type memMarks struct{ m map[string]bool }

func (m *memMarks) Has(_ context.Context, key string) (bool, error) { return m.m[key], nil }
func (m *memMarks) Put(_ context.Context, key string) error {
	if m.m == nil {
		m.m = map[string]bool{}
	}
	m.m[key] = true
	return nil
}

// Names near the 255-byte limit on the real sshd (ext4/tmpfs NAME_MAX).
func TestOpenSSHLongNames(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	f := mustNew(t, e.scratch(t))
	bridgestest.TestLongNames(t, f, func(name string) { put(t, f, name, []byte("x")) })
}

// OpenSSH offers fsync@openssh.com: Create's Close flushes before renaming.
func TestOpenSSHCreateSyncs(t *testing.T) {
	t.Parallel()
	e := openSSH(t)
	f := mustNew(t, e.scratch(t))
	put(t, f, "a.json", []byte("{}"))
	if got := f.syncs.Load(); got != 1 {
		t.Fatalf("fsync@openssh.com calls after one Create+Close = %d, want 1", got)
	}
}
