package bridges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"legacybridge"
)

// Poller watches one drop folder on an FS and claims files once they are
// complete. It is not safe for concurrent use; one flow owns one Poller.
type Poller struct {
	FS FS
	// Dir is the drop folder relative to the FS root. Default "." (the root).
	Dir string
	// Pattern is a path.Match glob on base names. Default "*".
	Pattern string
	// MinAge is how old (by modification time) a file must be. Default 0.
	MinAge time.Duration
	// DoneSuffix, when set, makes a file ready only once NAME+DoneSuffix exists
	// (the stability rule is then not applied). The marker is removed on claim.
	DoneSuffix string
	// ProcessingDir, ArchiveDir and ErrorDir are relative to Dir.
	// Defaults "processing", "archive" and "error".
	ProcessingDir, ArchiveDir, ErrorDir string
	// MaxClaims limits the files claimed per poll. Default 0 = no limit.
	MaxClaims int
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	seen      map[string]Entry // last observation of each candidate
	warned    map[string]bool  // names already reported as refused
	recovered bool
	pending   int
}

// Claim is a file the poller moved into the processing folder. Exactly one
// of Archive or Quarantine must be called once the file is dealt with.
type Claim struct {
	p     *Poller
	Name  string    // original base name
	Path  string    // current path on the FS (inside the processing folder)
	Size  int64     // bytes at claim time
	MTime time.Time // modification time at claim time
	// Recovered is true for files found in the processing folder at start-up
	// (left there by a crash) rather than claimed from the drop folder.
	Recovered bool
}

func (p *Poller) dir(sub string) string { return Join(p.Dir, sub) }

func (p *Poller) defaults() {
	if p.Dir == "" {
		p.Dir = "."
	}
	if p.Pattern == "" {
		p.Pattern = "*"
	}
	if p.ProcessingDir == "" {
		p.ProcessingDir = "processing"
	}
	if p.ArchiveDir == "" {
		p.ArchiveDir = "archive"
	}
	if p.ErrorDir == "" {
		p.ErrorDir = "error"
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.seen == nil {
		p.seen = map[string]Entry{}
	}
	if p.warned == nil {
		p.warned = map[string]bool{}
	}
}

// Validate checks the poller's settings.
func (p *Poller) Validate() error {
	if p.FS == nil {
		return errors.New("bridges: poller has no filesystem")
	}
	pat := p.Pattern
	if pat == "" {
		pat = "*"
	}
	if _, err := path.Match(pat, "x"); err != nil {
		return fmt.Errorf("bridges: bad pattern %q: %w", pat, err)
	}
	return nil
}

// Pending reports how many candidate files the last Poll saw that were not
// yet ready (still changing or younger than MinAge, or waiting for a marker).
func (p *Poller) Pending() int { return p.pending }

// Poll lists the drop folder and claims every file that is complete. The first
// call also returns files left in the processing folder by a crash.
func (p *Poller) Poll(ctx context.Context) ([]legacybridge.FileClaim, error) {
	p.defaults()
	var claims []legacybridge.FileClaim
	if !p.recovered {
		for _, d := range []string{p.ProcessingDir, p.ArchiveDir, p.ErrorDir} {
			if e, err := p.FS.Stat(ctx, p.dir(d)); err == nil && !e.IsDir {
				return nil, fmt.Errorf("bridges: %s is a file, but the flow needs it as a folder; move the file away or set another folder name", p.dir(d))
			}
		}
		if err := p.FS.MkdirAll(ctx, p.dir(p.ProcessingDir)); err != nil {
			return nil, fmt.Errorf("bridges: create processing folder: %w", err)
		}
		left, err := p.FS.List(ctx, p.dir(p.ProcessingDir))
		if err != nil {
			return nil, fmt.Errorf("bridges: list processing folder: %w", err)
		}
		sortEntries(left)
		for _, e := range left {
			if e.IsDir || e.Special || CheckName(e.Name) != nil {
				continue
			}
			claims = append(claims, &Claim{p: p, Name: e.Name, Path: Join(p.dir(p.ProcessingDir), e.Name),
				Size: e.Size, MTime: e.ModTime, Recovered: true})
		}
		p.recovered = true
	}
	entries, err := p.FS.List(ctx, p.Dir)
	if err != nil {
		return claims, fmt.Errorf("bridges: list %s: %w", p.Dir, err)
	}
	sortEntries(entries)
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		if !e.IsDir {
			names[e.Name] = true
		}
	}
	now := p.Now()
	next := make(map[string]Entry)
	p.pending = 0
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		if p.DoneSuffix != "" && strings.HasSuffix(e.Name, p.DoneSuffix) {
			continue
		}
		if ok, _ := path.Match(p.Pattern, e.Name); !ok {
			continue
		}
		// Hidden names are uploads in progress by convention (.name.part,
		// rsync's .name.XXXXXX); never pick them up.
		if strings.HasPrefix(e.Name, ".") {
			continue
		}
		if err := CheckName(e.Name); err != nil {
			p.warnOnce(e.Name, "file name refused; the file is left where it is", "err", err)
			continue
		}
		if e.Special {
			p.warnOnce(e.Name, "not a regular file (a link, pipe or device); left where it is", "file", Join(p.Dir, e.Name))
			continue
		}
		ready := false
		if p.DoneSuffix != "" {
			ready = names[e.Name+p.DoneSuffix]
		} else {
			prev, ok := p.seen[e.Name]
			ready = ok && prev.Size == e.Size && prev.ModTime.Equal(e.ModTime)
		}
		if ready && now.Sub(e.ModTime) < p.MinAge {
			ready = false
		}
		if !ready || (p.MaxClaims > 0 && len(claims) >= p.MaxClaims) {
			next[e.Name] = e
			p.pending++
			continue
		}
		c, err := p.claim(ctx, e)
		if err != nil {
			p.Logger.Warn("claim failed; will retry", "file", Join(p.Dir, e.Name), "err", err)
			next[e.Name] = e
			p.pending++
			continue
		}
		claims = append(claims, c)
	}
	p.seen = next
	return claims, nil
}

func (p *Poller) warnOnce(name, msg string, args ...any) {
	if p.warned[name] {
		return
	}
	p.warned[name] = true
	p.Logger.Warn(msg, args...)
}

func (p *Poller) claim(ctx context.Context, e Entry) (*Claim, error) {
	to := Join(p.dir(p.ProcessingDir), e.Name)
	if _, err := p.FS.Stat(ctx, to); err == nil {
		return nil, fmt.Errorf("%s is still being processed", to)
	}
	if err := p.FS.Rename(ctx, Join(p.Dir, e.Name), to); err != nil {
		return nil, err
	}
	if p.DoneSuffix != "" {
		if err := p.FS.Remove(ctx, Join(p.Dir, e.Name+p.DoneSuffix)); err != nil && !errors.Is(err, ErrNotExist) {
			p.Logger.Warn("done marker not removed", "file", e.Name+p.DoneSuffix, "err", err)
		}
	}
	return &Claim{p: p, Name: e.Name, Path: to, Size: e.Size, MTime: e.ModTime}, nil
}

var (
	_ legacybridge.FileSource = (*Poller)(nil)
	_ legacybridge.FileClaim  = (*Claim)(nil)
)

// Info describes the claimed file.
func (c *Claim) Info() legacybridge.FileInfo {
	return legacybridge.FileInfo{Name: c.Name, Path: c.Path, Size: c.Size, ModTime: c.MTime, Recovered: c.Recovered}
}

var _ legacybridge.Stater = (*Claim)(nil)

// Stat describes the claimed file as it is now.
func (c *Claim) Stat(ctx context.Context) (legacybridge.FileInfo, error) {
	e, err := c.p.FS.Stat(ctx, c.Path)
	if err != nil {
		return legacybridge.FileInfo{}, err
	}
	return legacybridge.FileInfo{Name: c.Name, Path: c.Path, Size: e.Size, ModTime: e.ModTime, Recovered: c.Recovered}, nil
}

// Open opens the claimed file for reading.
func (c *Claim) Open(ctx context.Context) (io.ReadCloser, error) { return c.p.FS.Open(ctx, c.Path) }

// Archive moves the file to ARCHIVE/YYYY-MM-DD/NAME (never overwriting) and
// returns its new path.
func (c *Claim) Archive(ctx context.Context) (string, error) {
	dir := Join(c.p.dir(c.p.ArchiveDir), c.p.Now().UTC().Format("2006-01-02"))
	to, err := c.moveInto(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("bridges: archive %s: %w", c.Path, err)
	}
	return to, nil
}

// Quarantine moves the file to ERROR/NAME and writes NAME.error.json beside it.
func (c *Claim) Quarantine(ctx context.Context, r legacybridge.QuarantineReport) (string, error) {
	to, err := c.moveInto(ctx, c.p.dir(c.p.ErrorDir))
	if err != nil {
		return "", fmt.Errorf("bridges: quarantine %s: %w", c.Path, err)
	}
	if r.Time.IsZero() {
		r.Time = c.p.Now().UTC()
	}
	if r.File == "" {
		r.File = c.Name
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	w, err := c.p.FS.Create(ctx, to+".error.json")
	if err == nil {
		_, err = w.Write(append(b, '\n'))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return to, fmt.Errorf("bridges: write %s.error.json: %w", to, err)
	}
	return to, nil
}

func (c *Claim) moveInto(ctx context.Context, dir string) (string, error) {
	if err := c.p.FS.MkdirAll(ctx, dir); err != nil {
		return "", err
	}
	to := Join(dir, c.Name)
	for i := 1; ; i++ {
		if _, err := c.p.FS.Stat(ctx, to); err != nil {
			break
		}
		to = Join(dir, c.Name+"."+strconv.Itoa(i))
	}
	if err := c.p.FS.Rename(ctx, c.Path, to); err != nil {
		return "", err
	}
	c.Path = to
	return to, nil
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
}
