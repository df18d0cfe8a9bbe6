package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/pkg/sftp"

	"legacybridge/bridges"
)

// reader streams a remote file. A goroutine runs sftp.File.WriteTo, which
// keeps up to 64 read requests in flight, into a pipe; Read takes from the
// pipe. Memory stays bounded by the requests in flight whatever the caller's
// buffer size, and a slow caller just stalls the transfer.
type reader struct {
	fs   *FS
	c    *conn
	file *sftp.File
	path string
	ctx  context.Context
	pr   *io.PipeReader
	stop func() bool // stops the ctx watch; false once ctx has fired

	done chan struct{} // the copy goroutine has ended; err is set
	err  error         // the transfer's error (nil: complete, or stopped by the caller)

	eof       atomic.Bool // Read returned io.EOF
	closeOnce sync.Once
	closeErr  error
}

func (c *conn) open(ctx context.Context, f *FS, p string) (io.ReadCloser, error) {
	file, err := c.sftp.Open(p)
	if err != nil {
		return nil, f.fail(c, "open "+p, err)
	}
	fi, err := file.Stat()
	switch {
	case err != nil:
		file.Close()
		return nil, f.fail(c, "open "+p, err)
	case fi.IsDir():
		file.Close()
		return nil, fmt.Errorf("sftp: open %s on %s: is a folder, not a file", p, f.server)
	}
	pr, pw := io.Pipe()
	r := &reader{fs: f, c: c, file: file, path: p, ctx: ctx, pr: pr, done: make(chan struct{})}
	r.stop = context.AfterFunc(ctx, func() {
		pw.CloseWithError(fmt.Errorf("sftp: read %s on %s: %w", p, f.server, context.Cause(ctx)))
	})
	go r.copy(fi.Size(), pw)
	return r, nil
}

// sink is the pipe's write end as WriteTo sees it; it remembers whether a
// failure came from the reading side (Close, ctx) rather than the server.
type sink struct {
	pw  *io.PipeWriter
	err error
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.pw.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

func (r *reader) copy(size int64, pw *io.PipeWriter) {
	defer close(r.done)
	s := &sink{pw: pw}
	n, err := r.file.WriteTo(s)
	switch {
	case s.err != nil:
		return // the reading side stopped; the pipe is closed already
	case err != nil:
		r.err = r.fs.fail(r.c, fmt.Sprintf("read %s (after %d of %d bytes)", r.path, n, size), err)
	case n < size:
		r.err = fmt.Errorf("sftp: read %s on %s: the transfer ended after %d of %d bytes: %w",
			r.path, r.fs.server, n, size, io.ErrUnexpectedEOF)
	}
	pw.CloseWithError(r.err) // nil: a clean io.EOF
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.pr.Read(p)
	if err == io.EOF {
		r.eof.Store(true)
	}
	return n, err
}

// Close ends the transfer. It reports a transfer that failed or was cut
// short by ctx, even when Read already did; a caller that stops reading
// early gets nil.
func (r *reader) Close() error {
	r.closeOnce.Do(func() {
		cancelled := !r.stop()
		r.pr.CloseWithError(errors.New("sftp: reader closed"))
		<-r.done
		if err := r.file.Close(); err != nil {
			// The content is complete (or no longer wanted): a failed close
			// matters only as a sign the connection is gone.
			_ = r.fs.fail(r.c, "close "+r.path, err)
		}
		switch {
		case r.err != nil:
			r.closeErr = r.err
		case cancelled && !r.eof.Load():
			r.closeErr = fmt.Errorf("sftp: read %s on %s: %w", r.path, r.fs.server, context.Cause(r.ctx))
		}
	})
	return r.closeErr
}

// writer uploads to the temporary name through a pipe into
// sftp.File.ReadFromWithConcurrency (up to 64 write requests in flight), and
// renames into place on Close.
type writer struct {
	fs        *FS
	c         *conn
	file      *sftp.File
	tmp, path string
	ctx       context.Context
	pw        *io.PipeWriter
	stop      func() bool

	done chan struct{} // the upload goroutine has ended; err is set
	err  error

	closeOnce sync.Once
	closeErr  error
}

func (c *conn) create(ctx context.Context, f *FS, p string) (io.WriteCloser, error) {
	tmp := bridges.TempName(p)
	file, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, f.fail(c, "create "+tmp, err)
	}
	pr, pw := io.Pipe()
	w := &writer{fs: f, c: c, file: file, tmp: tmp, path: p, ctx: ctx, pw: pw, done: make(chan struct{})}
	w.stop = context.AfterFunc(ctx, func() {
		pw.CloseWithError(fmt.Errorf("sftp: write %s on %s: %w", p, f.server, context.Cause(ctx)))
	})
	go w.upload(pr)
	return w, nil
}

// source is the pipe's read end as ReadFrom sees it; it remembers errors
// from the writing side (ctx), which are not the server's.
type source struct {
	pr  *io.PipeReader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.pr.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

func (w *writer) upload(pr *io.PipeReader) {
	defer close(w.done)
	s := &source{pr: pr}
	n, err := w.file.ReadFromWithConcurrency(s, 0)
	switch {
	case err == nil:
		return
	case s.err != nil && errors.Is(err, s.err):
		w.err = err // already says what and why
	default:
		w.err = w.fs.fail(w.c, fmt.Sprintf("write %s (after %d bytes)", w.tmp, n), err)
	}
	pr.CloseWithError(w.err) // Write fails with it from now on
}

func (w *writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close waits for the upload, closes the temporary file and renames it over
// the final name. On any failure, or when ctx was cancelled, it removes the
// temporary file instead and returns the error.
func (w *writer) Close() error {
	w.closeOnce.Do(func() {
		w.stop()
		w.pw.Close() // io.EOF for the upload, after what was written
		<-w.done
		err := w.err
		if err == nil && w.c.fsync {
			// The content is on the server's disk before the name appears
			// (a caller that commits after Close must not lose the file to
			// a server crash). Servers without fsync@openssh.com give no
			// such promise.
			if serr := w.file.Sync(); serr != nil {
				err = w.fs.fail(w.c, "fsync "+w.tmp, serr)
			} else {
				w.fs.syncs.Add(1)
			}
		}
		if cerr := w.file.Close(); err == nil && cerr != nil {
			err = w.fs.fail(w.c, "close "+w.tmp, cerr)
		}
		if err == nil && w.ctx.Err() != nil {
			err = fmt.Errorf("sftp: write %s on %s: %w", w.path, w.fs.server, context.Cause(w.ctx))
		}
		if err == nil {
			err = w.c.rename(w.fs, w.tmp, w.path)
		}
		if err != nil {
			w.removeTemp()
		}
		w.closeErr = err
	})
	return w.closeErr
}

// removeTemp deletes the temporary file, over a new connection if the old
// one is gone. A file it cannot remove stays, hidden (dot name, never picked
// up by a poller); it is logged with its name.
func (w *writer) removeTemp() {
	c := w.c
	if !c.alive() {
		var err error
		if c, err = w.fs.connect(context.WithoutCancel(w.ctx)); err != nil {
			w.fs.log.Warn("sftp: temporary file left behind", "server", w.fs.server, "file", w.tmp, "error", err)
			return
		}
	}
	if err := c.sftp.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		err = w.fs.fail(c, "remove "+w.tmp, err)
		w.fs.log.Warn("sftp: temporary file left behind", "server", w.fs.server, "file", w.tmp, "error", err)
	}
}
