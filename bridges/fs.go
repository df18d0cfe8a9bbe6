// Package bridges holds the transport seam every legacy file drop implements
// (FS), the shared poller that decides when a file is complete, and the
// claim → archive / quarantine lifecycle that sits on top of it.
//
// Transports live in sub-packages (local, and later ftp and sftp); the poller
// and its rules work unchanged over each of them.
package bridges

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// Lstater is implemented by transports that can describe a name without
// following a symbolic link: Entry.Special is true when name itself is a link
// (or a pipe, socket or device). The poller uses it to refuse to move files
// through a processing, archive or error folder that someone with write
// access to the drop replaced by a link to another folder. Missing name →
// an error wrapping ErrNotExist.
type Lstater interface {
	Lstat(ctx context.Context, name string) (Entry, error)
}

// ErrNotExist is returned (wrapped) by transports for a missing file. It
// also matches fs.ErrNotExist, so code that knows only the standard library
// (the flow runner) recognises a missing file from any transport.
var ErrNotExist error = notExist{}

type notExist struct{}

func (notExist) Error() string        { return "file does not exist" }
func (notExist) Is(target error) bool { return target == fs.ErrNotExist }

// ErrUnsafeName is returned for remote names that could escape the drop folder.
var ErrUnsafeName = errors.New("unsafe file name")

// CheckName rejects names that are not a single, plain path element: empty,
// "." or "..", containing a slash or backslash, control characters or Unicode
// format characters (Cf).
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrUnsafeName, name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: %q contains a path separator", ErrUnsafeName, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q contains a control character", ErrUnsafeName, name)
	case strings.IndexFunc(name, isFormat) >= 0:
		return fmt.Errorf("%w: %q contains an invisible formatting character (Unicode Cf, e.g. a right-to-left override that makes the name display as another)", ErrUnsafeName, name)
	}
	return nil
}

// isFormat reports Unicode format characters (category Cf: bidirectional
// overrides such as U+202E, zero-width joiners, BOM): invisible, they make a
// name display as another one in logs and listings.
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// Join joins a folder and a checked base name.
func Join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return path.Join(dir, name)
}

// CleanPath checks a slash-separated name relative to a transport's root and
// returns it cleaned. Absolute names, ".." elements, backslashes and control
// characters are refused with ErrUnsafeName, so no name (from config or from
// a remote listing) can reach outside the root. "" and "." mean the root.
func CleanPath(name string) (string, error) {
	if name == "" || name == "." {
		return ".", nil
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: %q is absolute; names are relative to the drop's root", ErrUnsafeName, name)
	}
	for _, el := range strings.Split(name, "/") {
		switch {
		case el == "..":
			return "", fmt.Errorf("%w: %q climbs out of the drop's root", ErrUnsafeName, name)
		case strings.Contains(el, `\`):
			return "", fmt.Errorf("%w: %q contains a backslash", ErrUnsafeName, name)
		case strings.IndexFunc(el, unicode.IsControl) >= 0:
			return "", fmt.Errorf("%w: %q contains a control character", ErrUnsafeName, name)
		case strings.IndexFunc(el, isFormat) >= 0:
			return "", fmt.Errorf("%w: %q contains an invisible formatting character (Unicode Cf)", ErrUnsafeName, name)
		}
	}
	return path.Clean(name), nil
}

// TempName returns a new name for a transport's Create to write under before
// renaming the file into place on Close: hidden (leading dot) and in the
// same folder, so pollers (ours and a partner's) skip it and the rename
// stays atomic; and different at each call (8 random hex digits), so two
// writers of one name at once — two deliveries of a consumer group during
// a rebalance, two processes sharing a drop — never open, truncate or
// rename away each other's temporary file.
//
// The form is ".NAME.XXXXXXXX.legacybridge-tmp". For a base name near
// MaxNameLen the NAME part is shortened by FitName, so the temporary name
// stays within the limit.
//
// A temporary file left by a crash is not reused by a later Create (it was
// when the name was fixed): it stays, hidden, until removed.
func TempName(name string) string {
	dir, base := path.Split(name)
	return dir + FitName("."+base, fmt.Sprintf(".%08x", rand.Uint32())+tempSuffix)
}

const tempSuffix = ".legacybridge-tmp"

// MaxNameLen is the longest base name, in bytes, that the filesystems behind
// drops accept (NAME_MAX on Linux and BSD, and so on most SFTP and FTP
// servers).
const MaxNameLen = 255

// FitName returns stem+suffix when that fits in MaxNameLen bytes. Otherwise
// it cuts the stem (at a UTF-8 boundary) and puts "~" and 8 hex digits of
// the whole stem's SHA-256 before suffix, so that different long stems keep
// different names, and the same stem always gets the same one.
func FitName(stem, suffix string) string {
	if len(stem)+len(suffix) <= MaxNameLen {
		return stem + suffix
	}
	sum := sha256.Sum256([]byte(stem))
	tag := "~" + hex.EncodeToString(sum[:4])
	keep := max(MaxNameLen-len(suffix)-len(tag), 0)
	cut := stem[:min(keep, len(stem))]
	for len(cut) > 0 && !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return cut + tag + suffix
}
