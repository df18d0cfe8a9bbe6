package bridgestest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
	"legacybridge/bridges/local"
)

// The suite is only worth something if it fails for broken transports. Each
// case below breaks one rule of the contract on top of the local transport;
// the suite runs in a child process (a failing *testing.T cannot be caught in
// process) and must fail exactly in the subtest that checks that rule.

type broken struct {
	bridges.FS
	kind string
}

func (b broken) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	es, err := b.FS.List(ctx, dir)
	switch b.kind {
	case "dots":
		if err == nil {
			es = append(es, bridges.Entry{Name: ".", IsDir: true}, bridges.Entry{Name: "..", IsDir: true})
		}
	case "minute":
		for i := range es {
			es[i].ModTime = es[i].ModTime.Truncate(time.Minute)
		}
	case "short":
		if len(es) > 1000 {
			es = es[:1000]
		}
	}
	return es, err
}

func (b broken) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	e, err := b.FS.Stat(ctx, name)
	if b.kind == "minute" {
		e.ModTime = e.ModTime.Truncate(time.Minute)
	}
	if b.kind == "plainerrors" && err != nil {
		err = errors.New(err.Error())
	}
	return e, err
}

func (b broken) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := b.FS.Open(ctx, name)
	if b.kind == "plainerrors" && err != nil {
		err = errors.New(err.Error())
	}
	return r, err
}

// Create in "direct" mode writes straight to the final name.
func (b broken) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	if b.kind != "direct" {
		return b.FS.Create(ctx, name)
	}
	if _, err := bridges.CleanPath(name); err != nil {
		return nil, err
	}
	l := b.FS.(*local.FS)
	return os.Create(l.Dir() + "/" + name)
}

func (b broken) Rename(ctx context.Context, from, to string) error {
	if b.kind == "noreplace" {
		if _, err := b.FS.Stat(ctx, to); err == nil {
			return errors.New("target exists")
		}
	}
	return b.FS.Rename(ctx, from, to)
}

func (b broken) MkdirAll(ctx context.Context, dir string) error {
	if b.kind == "unchecked" && strings.Contains(dir, "..") {
		return errors.New("refused, but not as ErrUnsafeName")
	}
	return b.FS.MkdirAll(ctx, dir)
}

func TestBrokenChild(t *testing.T) {
	kind := os.Getenv("BRIDGESTEST_BROKEN")
	if kind == "" {
		t.Skip("run by TestSuiteCatches")
	}
	fsys, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	opts := []bridgestest.Option{bridgestest.ManyFiles(1100)}
	bridgestest.TestFS(t, broken{FS: fsys, kind: kind}, opts...)
}

func TestSuiteCatches(t *testing.T) {
	if os.Getenv("BRIDGESTEST_BROKEN") != "" {
		t.Skip("child")
	}
	for kind, subtest := range map[string]string{
		"dots":        "EmptyRoot",
		"minute":      "ModTime",
		"short":       "ManyFiles",
		"plainerrors": "NotExist",
		"direct":      "AtomicCreate",
		"noreplace":   "Rename",
		"unchecked":   "UnsafeNames",
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "BRIDGESTEST_BROKEN="+kind)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a transport broken by %q; want it to fail in %s\n%s", kind, subtest, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenChild/"+subtest+" ") {
				t.Errorf("the suite did not fail subtest %s for a transport broken by %q:\n%s", subtest, kind, out)
			}
		})
	}
}

// TestLocal is the reference run: the local transport passes.
func TestLocal(t *testing.T) {
	fsys, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	bridgestest.TestFS(t, fsys)
}

// TestMemFS: the in-memory FS used by the poller and runner tests follows
// the contract too, at second precision like the remote transports.
func TestMemFS(t *testing.T) {
	bridgestest.TestFS(t, &bridgestest.MemFS{Precision: time.Second})
}
