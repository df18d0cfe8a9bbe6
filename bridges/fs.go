// Package bridges holds the transport seam every legacy file drop implements
// (FS), the shared poller that decides when a file is complete, and the
// claim → archive / quarantine lifecycle that sits on top of it.
//
// Transports live in sub-packages (local, and later ftp and sftp); the poller
// and its rules work unchanged over each of them.
package bridges

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
)

// Entry is one directory entry as a transport lists it.
type Entry struct {
	Name    string    // base name, never a path
	Size    int64     // bytes
	ModTime time.Time // as precise as the transport allows
	IsDir   bool
	// Special is a link, pipe, socket or device: never picked up.
	Special bool
}

// FS is the small filesystem every file-drop transport implements. Names are
// slash-separated and relative to the transport's root; implementations must
// refuse to reach outside that root.
type FS interface {
	List(ctx context.Context, dir string) ([]Entry, error)
	Stat(ctx context.Context, name string) (Entry, error)
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	Create(ctx context.Context, name string) (io.WriteCloser, error)
	Rename(ctx context.Context, from, to string) error
	Remove(ctx context.Context, name string) error
	MkdirAll(ctx context.Context, dir string) error
}

// ErrNotExist is returned (wrapped) by transports for a missing file.
var ErrNotExist = errors.New("file does not exist")

// ErrUnsafeName is returned for remote names that could escape the drop folder.
var ErrUnsafeName = errors.New("unsafe file name")

// CheckName rejects names that are not a single, plain path element: empty,
// "." or "..", containing a slash or backslash, or containing control characters.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrUnsafeName, name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: %q contains a path separator", ErrUnsafeName, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q contains a control character", ErrUnsafeName, name)
	}
	return nil
}

// Join joins a folder and a checked base name.
func Join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return path.Join(dir, name)
}
