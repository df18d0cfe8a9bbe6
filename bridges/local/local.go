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

	"legacybridge/bridges"
)

// FS is a bridges.FS rooted at a folder; os.Root keeps every operation inside it.
type FS struct {
	root *os.Root
	dir  string
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
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", bridges.ErrNotExist, err)
	}
	return err
}

func clean(name string) string { return filepath.FromSlash(name) }

func (f *FS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	d, err := f.root.Open(clean(dir))
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
			out = append(out, bridges.Entry{Name: de.Name(), Size: info.Size(), ModTime: info.ModTime(), IsDir: de.IsDir(),
				Special: !de.IsDir() && !info.Mode().IsRegular()})
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
}

func (f *FS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	info, err := f.root.Stat(clean(name))
	if err != nil {
		return bridges.Entry{}, mapErr(err)
	}
	return bridges.Entry{Name: info.Name(), Size: info.Size(), ModTime: info.ModTime(), IsDir: info.IsDir(),
		Special: !info.IsDir() && !info.Mode().IsRegular()}, nil
}

func (f *FS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := f.root.Open(clean(name))
	return r, mapErr(err)
}

// Create writes to a temporary name and renames it into place on Close, after
// an fsync, so a reader never sees a partial file under its final name.
func (f *FS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	tmp := name + ".tmp-legacybridge"
	w, err := f.root.OpenFile(clean(tmp), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, mapErr(err)
	}
	return &atomicFile{f: w, fs: f, tmp: tmp, name: name}, nil
}

type atomicFile struct {
	f         *os.File
	fs        *FS
	tmp, name string
}

func (a *atomicFile) Write(p []byte) (int, error) { return a.f.Write(p) }

func (a *atomicFile) Close() error {
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.fs.root.Rename(clean(a.tmp), clean(a.name))
	}
	if err != nil {
		_ = a.fs.root.Remove(clean(a.tmp))
	}
	return err
}

func (f *FS) Rename(ctx context.Context, from, to string) error {
	return mapErr(f.root.Rename(clean(from), clean(to)))
}

func (f *FS) Remove(ctx context.Context, name string) error {
	return mapErr(f.root.Remove(clean(name)))
}

func (f *FS) MkdirAll(ctx context.Context, dir string) error {
	if dir == "" || dir == "." {
		return nil
	}
	return f.root.MkdirAll(clean(dir), 0o755)
}
