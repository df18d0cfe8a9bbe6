package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"

	"github.com/jlaffaye/ftp"
)

// open starts the download of p (SIZE, then RETR). The reader owns s.
func (s *conn) open(p string) (*reader, error) {
	size := int64(-1)
	n, err := s.sc.FileSize(p)
	switch {
	case err == nil:
		size = n
	case !isReply(err):
		return nil, s.fail("open "+p+": SIZE", err)
	case replyCode(err) >= 500 && s.missing(p):
		return nil, s.notExist("open "+p, err)
	}
	// Otherwise SIZE is not offered, or p is no plain file: RETR tells.
	var resp *ftp.Response
	err = s.dataRetry(func() (err error) {
		resp, err = s.sc.Retr(p)
		return err
	})
	if err != nil {
		if isReply(err) && s.missing(p) {
			return nil, s.notExist("open "+p, err)
		}
		return nil, s.fail("open "+p, err)
	}
	return &reader{s: s, resp: resp, path: p, size: size}, nil
}

var errAbandoned = errors.New("the reader was closed before the end of the file")

// reader streams one RETR. It holds its connection until the transfer ends,
// fails, or is closed.
type reader struct {
	s    *conn
	resp *ftp.Response
	path string
	size int64 // from SIZE; -1 if unknown
	n    int64 // bytes read so far
	err  error // sticky: io.EOF after a complete transfer, or the failure
	done bool  // the connection has been released
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.s.ctx.Err() != nil { // data already buffered must not hide it
		r.fail(r.s.fail(fmt.Sprintf("download %s (after %d bytes)", r.path, r.n), context.Cause(r.s.ctx)))
		return 0, r.err
	}
	n, err := r.resp.Read(p)
	r.n += int64(n)
	switch {
	case r.size >= 0 && r.n > r.size:
		r.fail(fmt.Errorf("ftp: download of %s from %s: more than the %d bytes SIZE reported arrived: the file "+
			"changed while it was downloaded; try again once it is complete", r.path, r.s.f.server, r.size))
	case err == io.EOF:
		r.finish()
	case err != nil:
		r.fail(r.s.fail(fmt.Sprintf("download %s (after %d bytes)", r.path, r.n), err))
	}
	return n, r.err
}

// finish checks a transfer whose data connection ended: every byte SIZE
// promised arrived, and the server's final reply says the transfer is
// complete (226).
func (r *reader) finish() {
	f := r.s.f
	if r.size >= 0 && r.n < r.size {
		// The server's final reply, if it sends one, may say why.
		reply := "226, so the data connection was cut on the way"
		if err := r.resp.Close(); err != nil {
			reply = err.Error()
		}
		r.fail(fmt.Errorf("ftp: download of %s from %s ended after %d of %d bytes: %w (%w); the server's final "+
			"reply: %s; try again", r.path, f.server, r.n, r.size, ErrIncomplete, io.ErrUnexpectedEOF, reply))
		return
	}
	if err := r.resp.Close(); err != nil {
		if isReply(err) {
			r.fail(fmt.Errorf("ftp: download of %s from %s: %w: the server ended the transfer after %d bytes with %w; "+
				"try again", r.path, f.server, ErrIncomplete, r.n, err))
		} else {
			r.fail(r.s.fail("download "+r.path+": final reply", err))
		}
		return
	}
	r.err = io.EOF
	r.release()
}

func (r *reader) fail(err error) {
	r.err = err
	r.s.kill(err)
	r.release()
}

func (r *reader) release() {
	if !r.done {
		r.done = true
		r.s.end()
		r.s.f.release(r.s)
	}
}

// Close ends the download. After a complete transfer it returns nil; after a
// failed one, the failure again. Before the end it confirms the transfer if
// every byte arrived, and otherwise aborts it (dropping the connection)
// without error: the caller chose to stop.
func (r *reader) Close() error {
	if r.done {
		if r.err == io.EOF {
			return nil
		}
		return r.err
	}
	if r.size >= 0 && r.n == r.size {
		r.finish()
		if r.err == io.EOF {
			return nil
		}
		return r.err
	}
	r.err = fmt.Errorf("ftp: read of %s after Close", r.path)
	r.s.kill(errAbandoned)
	r.release()
	return nil
}

// create starts the upload of tmp (STOR) and returns the writer that
// publishes it as name. The writer owns s.
func (s *conn) create(ctx context.Context, tmp, name string) (*writer, error) {
	pr, pw := io.Pipe()
	sr := &startReader{r: pr, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		// A 425 comes before the server reads any data, so STOR can be
		// sent again with the same reader.
		err := s.dataRetry(func() error {
			err := s.sc.Stor(tmp, sr)
			if err != nil && sr.began() {
				return finalErr{err} // the data is partly sent: STOR cannot be repeated
			}
			return err
		})
		if err != nil {
			pr.CloseWithError(err) // a blocked Write returns
		} else {
			pr.CloseWithError(errors.New("the upload has ended"))
		}
		done <- err
	}()
	select {
	case <-sr.started: // the server accepted STOR and reads the data
		return &writer{s: s, ctx: ctx, tmp: tmp, name: name, pw: pw, done: done}, nil
	case err := <-done:
		pw.Close()
		var e error
		if isReply(err) && s.missing(path.Dir(tmp)) {
			e = s.notExist("create "+name+": the folder "+path.Dir(tmp), err)
		} else {
			e = s.fail("create "+name+": STOR "+tmp, err)
		}
		s.end()
		s.f.release(s)
		return nil, e
	}
}

// startReader reports the first Read, which jlaffaye/ftp makes once the
// server accepted STOR.
type startReader struct {
	r       io.Reader
	once    sync.Once
	started chan struct{}
}

func (s *startReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	return s.r.Read(p)
}

func (s *startReader) began() bool {
	select {
	case <-s.started:
		return true
	default:
		return false
	}
}

// writer feeds one STOR through a pipe and renames the temporary file into
// place on Close.
type writer struct {
	s         *conn
	ctx       context.Context
	tmp, name string
	pw        *io.PipeWriter
	done      chan error // the STOR's result
	err       error      // sticky
	closed    bool
}

func (w *writer) Write(p []byte) (int, error) {
	switch {
	case w.err != nil:
		return 0, w.err
	case w.closed:
		return 0, fmt.Errorf("ftp: write to %s after Close", w.name)
	case w.ctx.Err() != nil:
		w.abort(context.Cause(w.ctx))
		return 0, w.err
	}
	n, err := w.pw.Write(p)
	if err != nil {
		w.abort(err)
		return n, w.err
	}
	return n, nil
}

// abort stops the upload, drops the connection and removes the temporary
// file.
func (w *writer) abort(cause error) {
	w.pw.CloseWithError(cause)
	err := <-w.done
	if err == nil {
		err = cause
	}
	e := w.s.fail("upload "+w.tmp, err)
	w.s.kill(cause)
	w.s.end()
	w.s.f.release(w.s)
	w.err = fmt.Errorf("%w; nothing was published under %s%s", e, w.name, w.removeTemp())
}

// Close finishes the upload and renames the temporary file over name. On any
// failure the temporary file is removed and name is left as it was.
func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	switch {
	case w.err != nil:
		return w.err
	case w.ctx.Err() != nil:
		w.abort(context.Cause(w.ctx))
		return w.err
	}
	w.pw.Close()
	err := w.s.fail("upload "+w.tmp, <-w.done)
	if err == nil && w.ctx.Err() != nil {
		err = w.s.fail("upload "+w.tmp, context.Cause(w.ctx))
	}
	if err == nil {
		err = w.s.rename(w.tmp, w.name)
	}
	w.s.end()
	w.s.f.release(w.s)
	if err != nil {
		w.err = fmt.Errorf("%w; nothing was published under %s%s", err, w.name, w.removeTemp())
	}
	return w.err
}

// removeTemp deletes the temporary file on a connection of its own (the
// writer's may be broken), within Timeout even if the writer's ctx ended. It
// returns a note for the error message when that fails.
func (w *writer) removeTemp() string {
	f := w.s.f
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), f.timeout)
	defer cancel()
	err := f.with(ctx, false, func(s *conn) error {
		err := s.sc.Delete(w.tmp)
		if isReply(err) && s.missing(w.tmp) {
			return nil
		}
		return s.fail("remove "+w.tmp, err)
	})
	if err != nil {
		f.log.Warn("ftp: temporary file left behind; it is replaced by the next upload of the same name, or remove it by hand",
			"server", f.server, "file", w.tmp, "error", err)
		return fmt.Sprintf(" (the temporary file %s could not be removed: %v)", w.tmp, err)
	}
	return ""
}
