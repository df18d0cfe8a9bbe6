// Package local is the file-drop transport for folders on this machine.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"legacybridge/bridges"
)

// FS is a bridges.FS rooted at a folder; every name passes bridges.CleanPath
// and os.Root keeps every operation inside the folder (symlinks included).
// It is safe for concurrent use.
type FS struct {
	root     *os.Root
	dir      string
	dirSyncs atomic.Int64 // folder fsyncs done (for tests)
}

var _ bridges.FS = (*FS)(nil)

// Open roots a filesystem at dir, creating the folder if needed.
func Open(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return &FS{root: r, dir: dir}, nil
}

// Dir is the folder the FS is rooted at.
func (f *FS) Dir() string { return f.dir }

// Close releases the root.
func (f *FS) Close() error { return f.root.Close() }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: %w: %w", bridges.ErrNotExist, err)
	}
	return fmt.Errorf("local: %w", err)
}

// clean checks name with bridges.CleanPath and returns it in OS form.
func clean(name string) (string, error) {
	c, err := bridges.CleanPath(name)
	if err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	return filepath.FromSlash(c), nil
}

func entry(info fs.FileInfo) bridges.Entry {
	return bridges.Entry{Name: info.Name(), Size: info.Size(), ModTime: info.ModTime(), IsDir: info.IsDir(),
		Special: !info.IsDir() && !info.Mode().IsRegular()}
}

func (f *FS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	p, err := clean(dir)
	if err != nil {
		return nil, err
	}
	d, err := f.root.Open(p)
	if err != nil {
		return nil, mapErr(err)
	}
	defer d.Close()
	var out []bridges.Entry
	for {
		des, err := d.ReadDir(1024)
		for _, de := range des {
			info, ierr := de.Info()
			if ierr != nil {
				continue // vanished between readdir and stat
			}
			out = append(out, entry(info))
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, mapErr(err)
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
}

func (f *FS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	p, err := clean(name)
	if err != nil {
		return bridges.Entry{}, err
	}
	info, err := f.root.Stat(p)
	if err != nil {
		return bridges.Entry{}, mapErr(err)
	}
	return entry(info), nil
}

var _ bridges.Lstater = (*FS)(nil)

// Lstat describes name without following a final symbolic link: a link is
// Special.
func (f *FS) Lstat(ctx context.Context, name string) (bridges.Entry, error) {
	p, err := clean(name)
	if err != nil {
		return bridges.Entry{}, err
	}
	info, err := f.root.Lstat(p)
	if err != nil {
		return bridges.Entry{}, mapErr(err)
	}
	return entry(info), nil
}

func (f *FS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := clean(name)
	if err != nil {
		return nil, err
	}
	r, err := f.root.Open(p)
	if err != nil {
		return nil, mapErr(err)
	}
	return r, nil
}

// Create writes to bridges.TempName(name) and renames it into place on Close,
// after an fsync, so a reader never sees a partial file under its final name.
// A failed Write or Close, or ctx cancelled before Close, removes the
// temporary file and publishes nothing.
func (f *FS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	p, err := clean(name)
	if err != nil {
		return nil, err
	}
	if p == "." {
		return nil, fmt.Errorf("local: create %q: the root is a folder", name)
	}
	tmp := filepath.FromSlash(bridges.TempName(filepath.ToSlash(p)))
	w, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, mapErr(err)
	}
	return &atomicFile{ctx: ctx, f: w, fs: f, tmp: tmp, name: p}, nil
}

type atomicFile struct {
	ctx       context.Context
	f         *os.File
	fs        *FS
	tmp, name string

	mu     sync.Mutex
	err    error // first write error: Close then publishes nothing
	closed bool
}

func (a *atomicFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, fmt.Errorf("local: write %s: %w", a.name, os.ErrClosed)
	}
	if a.err == nil {
		a.err = a.ctx.Err()
	}
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.f.Write(p)
	if err != nil {
		a.err = fmt.Errorf("local: write %s: %w", a.name, err)
		return n, a.err
	}
	return n, nil
}

func (a *atomicFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("local: close %s: %w", a.name, os.ErrClosed)
	}
	a.closed = true
	err := a.err
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if cerr := a.ctx.Err(); cerr != nil {
			err = fmt.Errorf("local: create %s abandoned, nothing written: %w", a.name, cerr)
		}
	}
	if err == nil {
		err = a.fs.root.Rename(a.tmp, a.name)
	}
	if err != nil {
		_ = a.fs.root.Remove(a.tmp)
		return mapErr(err)
	}
	// The rename is durable only once the folder is synced: a caller that
	// commits after Close (the file emitter) must not lose the file to a
	// power cut.
	if err := a.fs.syncDir(filepath.Dir(a.name)); err != nil {
		return fmt.Errorf("local: sync the folder of %s after renaming it into place: %w", a.name, err)
	}
	return nil
}

// syncDir fsyncs a folder (OS form, inside the root).
func (f *FS) syncDir(p string) error {
	d, err := f.root.Open(p)
	if err != nil {
		return mapErr(err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		f.dirSyncs.Add(1)
	}
	return err
}

// SyncDir makes the entries of dir durable (fsync of the folder). Create's
// Close already does this for the file's folder; SyncDir is for callers that
// rename or remove through the FS (it implements the file emitter's
// DirSyncer).
func (f *FS) SyncDir(ctx context.Context, dir string) error {
	p, err := clean(dir)
	if err != nil {
		return err
	}
	if err := f.syncDir(p); err != nil {
		return fmt.Errorf("local: sync folder %s: %w", dir, err)
	}
	return nil
}

func (f *FS) Rename(ctx context.Context, from, to string) error {
	pf, err := clean(from)
	if err != nil {
		return err
	}
	pt, err := clean(to)
	if err != nil {
		return err
	}
	return mapErr(f.root.Rename(pf, pt))
}

func (f *FS) Remove(ctx context.Context, name string) error {
	p, err := clean(name)
	if err != nil {
		return err
	}
	return mapErr(f.root.Remove(p))
}

func (f *FS) MkdirAll(ctx context.Context, dir string) error {
	p, err := clean(dir)
	if err != nil {
		return err
	}
	if p == "." {
		return nil
	}
	return mapErr(f.root.MkdirAll(p, 0o755))
}
