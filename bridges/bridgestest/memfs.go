package bridgestest

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"legacybridge/bridges"
)

// MemFS is an in-memory bridges.FS for tests of code that sits on top of a
// transport (the poller, the flow runner), in the spirit of fstest.MapFS. It
// passes TestFS itself. Its zero value is an empty, usable filesystem; it is
// safe for concurrent use.
//
// Unlike a real drop, the clock and the mtime precision are the test's:
// Now stamps writes and Precision truncates the stamps (time.Second to act
// like SFTP or FTP). Fault lets a test make any operation fail.
type MemFS struct {
	// Now stamps files when they are written. Default time.Now.
	Now func() time.Time
	// Precision truncates modification times. Default 0 (as Now gives them).
	Precision time.Duration
	// Fault, when set, is called before every operation with its name
	// ("list", "stat", "open", "create", "rename", "remove", "mkdir") and the
	// cleaned path; a non-nil result is returned as the operation's error.
	Fault func(op, name string) error

	mu   sync.Mutex
	root *memNode
}

type memNode struct {
	dir      bool
	data     []byte
	mtime    time.Time
	children map[string]*memNode
}

var _ bridges.FS = (*MemFS)(nil)

func (m *MemFS) now() time.Time {
	t := time.Now()
	if m.Now != nil {
		t = m.Now()
	}
	if m.Precision > 0 {
		t = t.Truncate(m.Precision)
	}
	return t
}

// begin checks name, runs Fault and locks m; the caller unlocks.
func (m *MemFS) begin(op, name string) (string, error) {
	p, err := bridges.CleanPath(name)
	if err != nil {
		return "", fmt.Errorf("memfs: %s: %w", op, err)
	}
	if m.Fault != nil {
		if err := m.Fault(op, p); err != nil {
			return "", err
		}
	}
	m.mu.Lock()
	if m.root == nil {
		m.root = &memNode{dir: true, children: map[string]*memNode{}, mtime: m.now()}
	}
	return p, nil
}

func notExist(op, p string) error {
	return fmt.Errorf("memfs: %s %s: %w", op, p, bridges.ErrNotExist)
}

// lookup finds the node at p (locked).
func (m *MemFS) lookup(p string) *memNode {
	n := m.root
	if p == "." {
		return n
	}
	for _, el := range strings.Split(p, "/") {
		if n == nil || !n.dir {
			return nil
		}
		n = n.children[el]
	}
	return n
}

// parent finds the folder holding p and p's base name (locked).
func (m *MemFS) parent(p string) (*memNode, string) {
	dir, base := path.Split(p)
	d := m.lookup(path.Clean(strings.TrimSuffix(dir, "/") + "/."))
	if dir == "" {
		d = m.root
	}
	if d == nil || !d.dir {
		return nil, base
	}
	return d, base
}

func entry(name string, n *memNode) bridges.Entry {
	return bridges.Entry{Name: name, Size: int64(len(n.data)), ModTime: n.mtime, IsDir: n.dir}
}

// WriteFile stores a file at name with the given modification time (zero:
// now), creating its folders — a partner's upload, written in one step.
func (m *MemFS) WriteFile(name string, data []byte, mtime time.Time) error {
	p, err := m.begin("write", name)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if mtime.IsZero() {
		mtime = m.now()
	}
	d := m.root
	dir, base := path.Split(p)
	if dir != "" {
		for _, el := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
			c := d.children[el]
			if c == nil {
				c = &memNode{dir: true, children: map[string]*memNode{}, mtime: mtime}
				d.children[el] = c
			}
			if !c.dir {
				return fmt.Errorf("memfs: write %s: %s is a file", p, el)
			}
			d = c
		}
	}
	if c := d.children[base]; c != nil && c.dir {
		return fmt.Errorf("memfs: write %s: is a folder", p)
	}
	d.children[base] = &memNode{data: append([]byte(nil), data...), mtime: mtime}
	return nil
}

func (m *MemFS) List(ctx context.Context, dir string) ([]bridges.Entry, error) {
	p, err := m.begin("list", dir)
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	d := m.lookup(p)
	if d == nil || !d.dir {
		return nil, notExist("list", p)
	}
	out := make([]bridges.Entry, 0, len(d.children))
	for name, n := range d.children { // map order: callers must not rely on any
		out = append(out, entry(name, n))
	}
	return out, nil
}

func (m *MemFS) Stat(ctx context.Context, name string) (bridges.Entry, error) {
	p, err := m.begin("stat", name)
	if err != nil {
		return bridges.Entry{}, err
	}
	defer m.mu.Unlock()
	n := m.lookup(p)
	if n == nil {
		return bridges.Entry{}, notExist("stat", p)
	}
	return entry(path.Base(p), n), nil
}

func (m *MemFS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := m.begin("open", name)
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	n := m.lookup(p)
	if n == nil {
		return nil, notExist("open", p)
	}
	if n.dir {
		return nil, fmt.Errorf("memfs: open %s: is a folder", p)
	}
	// Files are replaced, never changed in place, so the slice is stable.
	return io.NopCloser(strings.NewReader(string(n.data))), nil
}

// Create writes under bridges.TempName(name), visible while writing, and
// renames it into place on Close.
func (m *MemFS) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	p, err := m.begin("create", name)
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if p == "." {
		return nil, fmt.Errorf("memfs: create: the root is a folder")
	}
	d, base := m.parent(p)
	if d == nil {
		return nil, notExist("create", p)
	}
	tmp := path.Base(bridges.TempName(p))
	n := &memNode{mtime: m.now()}
	d.children[tmp] = n
	return &memWriter{ctx: ctx, m: m, dir: d, tmp: tmp, base: base, n: n, name: p}, nil
}

type memWriter struct {
	ctx       context.Context
	m         *MemFS
	dir       *memNode
	n         *memNode
	tmp, base string
	name      string
	done      bool
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.done {
		return 0, fmt.Errorf("memfs: write %s: closed", w.name)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("memfs: write %s: %w", w.name, err)
	}
	w.n.data = append(w.n.data, p...)
	w.n.mtime = w.m.now()
	return len(p), nil
}

func (w *memWriter) Close() error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.done {
		return fmt.Errorf("memfs: close %s: closed twice", w.name)
	}
	w.done = true
	if w.dir.children[w.tmp] == w.n {
		delete(w.dir.children, w.tmp)
	}
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("memfs: create %s abandoned, nothing written: %w", w.name, err)
	}
	if c := w.dir.children[w.base]; c != nil && c.dir {
		return fmt.Errorf("memfs: create %s: a folder has that name", w.name)
	}
	w.n.mtime = w.m.now()
	w.dir.children[w.base] = w.n
	return nil
}

func (m *MemFS) Rename(ctx context.Context, from, to string) error {
	pt, err := bridges.CleanPath(to)
	if err != nil {
		return fmt.Errorf("memfs: rename: %w", err)
	}
	pf, err := m.begin("rename", from)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	fd, fb := m.parent(pf)
	if fd == nil || fd.children[fb] == nil {
		return notExist("rename", pf)
	}
	td, tb := m.parent(pt)
	if td == nil {
		return notExist("rename to", pt)
	}
	n := fd.children[fb]
	if c := td.children[tb]; c != nil && c.dir && c != n {
		return fmt.Errorf("memfs: rename %s to %s: a folder has that name", pf, pt)
	}
	delete(fd.children, fb)
	td.children[tb] = n
	return nil
}

func (m *MemFS) Remove(ctx context.Context, name string) error {
	p, err := m.begin("remove", name)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	d, b := m.parent(p)
	if d == nil || d.children[b] == nil {
		return notExist("remove", p)
	}
	if n := d.children[b]; n.dir && len(n.children) > 0 {
		return fmt.Errorf("memfs: remove %s: folder not empty", p)
	}
	delete(d.children, b)
	return nil
}

func (m *MemFS) MkdirAll(ctx context.Context, dir string) error {
	p, err := m.begin("mkdir", dir)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if p == "." {
		return nil
	}
	d := m.root
	for _, el := range strings.Split(p, "/") {
		c := d.children[el]
		if c == nil {
			c = &memNode{dir: true, children: map[string]*memNode{}, mtime: m.now()}
			d.children[el] = c
		}
		if !c.dir {
			return fmt.Errorf("memfs: mkdir %s: %s is a file", p, el)
		}
		d = c
	}
	return nil
}
