package bridges

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"legacybridge"
)

// ClaimMode says how the poller takes a complete file.
type ClaimMode string

const (
	// ClaimMove renames the file into the processing folder (the default):
	// the drop shows what was picked up, and a crash leaves the file there to
	// be redone on the next start.
	ClaimMove ClaimMode = "move"
	// ClaimNone reads the file where it is, for drops this bridge may only
	// read. The poller remembers handled files by name, size and
	// modification time in Marks; a file not yet marked when the process
	// stops is simply processed again (same event ids).
	ClaimNone ClaimMode = "none"
	// ClaimAuto claims like ClaimMove when the account may write to the drop,
	// otherwise like ClaimNone: if the processing folder cannot be created,
	// or the server refuses the rename into it, for lack of permission, the
	// poller logs that once (with the server's reason) and from then on
	// claims by the ledger alone; files claimed so are left in place when
	// delivered or quarantined, whatever Archive and Quarantine say (the
	// error report goes to ErrorDir when that folder is writable, else to the
	// log). Needs Marks. The right default for remote drops, whose
	// permissions the partner controls.
	ClaimAuto ClaimMode = "auto"
)

// ArchiveAction says what happens to a file once every event is delivered.
type ArchiveAction string

const (
	ArchiveMove   ArchiveAction = "move"   // into ArchiveDir/YYYY-MM-DD/ (default)
	ArchiveLeave  ArchiveAction = "leave"  // left where it is and marked handled (ClaimNone only)
	ArchiveDelete ArchiveAction = "delete" // removed
)

// QuarantineAction says what happens to a file that cannot be delivered.
type QuarantineAction string

const (
	// QuarantineMove moves the file into ErrorDir with NAME.error.json beside
	// it (the default).
	QuarantineMove QuarantineAction = "move"
	// QuarantineLeave leaves the file where it is and marks it handled
	// (ClaimNone only); the report goes to ErrorDir/NAME.error.json when that
	// folder is writable, else to the log.
	QuarantineLeave QuarantineAction = "leave"
)

// Order is the order in which complete files are claimed.
type Order string

const (
	OrderName  Order = "name"  // by name (default)
	OrderMTime Order = "mtime" // oldest modification time first, then by name
)

// Marks remembers the files a ClaimNone poller has handled. Keys come from
// MarkKey. internal/ledger keeps them in the flow's bbolt bucket.
type Marks interface {
	Has(ctx context.Context, key string) (bool, error)
	Put(ctx context.Context, key string) error
}

// MarkKey identifies one version of a file in a drop: its base name, size
// and modification time to the second (remote transports are no more
// precise, and a listing must give the same key every time).
func MarkKey(e Entry) string {
	return e.Name + "\x00" + strconv.FormatInt(e.Size, 10) + "\x00" + e.ModTime.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// Poller watches one drop folder on an FS and claims files once they are
// complete. It is not safe for concurrent use; one flow owns one Poller.
//
// A file is complete when a done marker exists (DoneSuffix) or, without one,
// when two polls saw the same size and modification time, that state has
// lasted MinAge on this machine's clock, and the modification time is
// MinAge old. Listing costs one List per poll (plus one of the processing
// folder at start-up) whatever the folder holds; every other call is per
// claimed file.
type Poller struct {
	FS FS
	// Dir is the drop folder relative to the FS root. Default "." (the root).
	Dir string
	// Pattern is a path.Match glob on base names. Default "*".
	Pattern string
	// MinAge is how long a file must have stayed unchanged (same size and
	// modification time, measured on this machine's clock from the first
	// poll that saw it so) and how old its modification time must be before
	// it is claimed. Default 0: unchanged across two polls is enough.
	//
	// A sender that pauses mid-upload for longer than the poll interval
	// leaves a file that looks finished; only MinAge covers such pauses, so
	// set it above the poll interval and above the sender's longest pause
	// (remote drops default to 30s in the config). Remote mtimes are often
	// whole seconds: a file growing by a byte a second still changes size
	// between polls a second apart, a slower one may not. The unchanged-for
	// test runs on this machine's clock, so a server clock that lags cannot
	// shorten MinAge; one that runs ahead delays pickup by its lead (the
	// mtime test).
	MinAge time.Duration
	// DoneSuffix, when set, makes a file ready only once NAME+DoneSuffix exists
	// (the stability rule is then not applied). The marker is removed when
	// the file is claimed (ClaimMove) or archived, moved or deleted (ClaimNone).
	DoneSuffix string
	// ProcessingDir, ArchiveDir and ErrorDir are relative to Dir.
	// Defaults "processing", "archive" and "error".
	ProcessingDir, ArchiveDir, ErrorDir string
	// MaxClaims limits the files claimed per poll. Default 0 = no limit.
	MaxClaims int
	// Claim is how a file is taken. Default ClaimMove. ClaimNone and
	// ClaimAuto need Marks.
	Claim ClaimMode
	// Archive is what happens to a delivered file. Default ArchiveMove.
	// ArchiveLeave needs ClaimNone (with ClaimMove the file would stay in
	// the processing folder and be redone on every start).
	Archive ArchiveAction
	// Quarantine is what happens to a file that cannot be delivered.
	// Default QuarantineMove. QuarantineLeave needs ClaimNone.
	Quarantine QuarantineAction
	// Order of claims within a poll. Default OrderName.
	Order Order
	// Marks remembers handled files for ClaimNone. Default nil.
	Marks Marks
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	checked   bool
	seen      map[string]observation // last observation of each candidate
	warned    map[string]bool        // names already reported as refused
	warnedNow map[string]bool        // ... and still listed in this poll
	recovered bool
	pending   int
	inflight  map[string]bool // ClaimNone: names claimed and not yet finished
	handled   map[string]bool // ClaimNone: mark keys known to be marked
	verified  map[string]bool // folders checked to be real folders, not links, since the last Poll began
	readOnly  bool            // ClaimAuto: the drop proved read-only; claiming by the ledger alone
}

// claimMode is how files are claimed now: ClaimAuto resolves to ClaimMove,
// or to ClaimNone once the drop proved read-only.
func (p *Poller) claimMode() ClaimMode {
	if p.Claim == ClaimAuto {
		if p.readOnly {
			return ClaimNone
		}
		return ClaimMove
	}
	return p.Claim
}

// fallBack switches a ClaimAuto poller to claiming by the ledger alone,
// when err (from creating the processing folder or renaming into it) says
// the account lacks permission. It reports whether it did.
func (p *Poller) fallBack(err error) bool {
	if p.Claim != ClaimAuto || p.readOnly || !errors.Is(err, fs.ErrPermission) {
		return false
	}
	p.readOnly = true
	p.Logger.Warn("bridges: this account may not write to the drop, so files are claimed by the ledger alone "+
		"(claim \"auto\" acting as \"none\"): they stay where they are and are remembered as handled; archive and "+
		"quarantine leave them in place, error reports go to the error folder if it can be written, else to this "+
		"log. Give the account write access and restart to have files moved again",
		"drop", p.Dir, "processing", p.dir(p.ProcessingDir), "reason", err)
	return true
}

// ErrLinkedFolder is wrapped by the error the poller returns when a folder it
// moves files into (processing, archive, error, or one under them) is a
// symbolic link or other special file rather than a real folder. Anyone who
// can write to the drop can make such a link, and following it would move
// files into another folder (another partner's drop, say).
var ErrLinkedFolder = errors.New("folder is a link, not a real folder")

type observation struct {
	e     Entry
	since time.Time // first poll that saw this size and mtime
}

// Claim is a file the poller took. Exactly one of Archive or Quarantine must
// be called once the file is dealt with.
type Claim struct {
	p     *Poller
	Name  string    // original base name
	Path  string    // current path on the FS (processing folder, or the drop with ClaimNone)
	Size  int64     // bytes at claim time
	MTime time.Time // modification time at claim time
	// Recovered is true for files found in the processing folder at start-up
	// (left there by a crash) rather than claimed from the drop folder.
	Recovered bool

	key    string // ClaimNone: the mark key
	marker string // ClaimNone: the done marker to remove when the file goes
	leave  bool   // ClaimAuto on a read-only drop: archive and quarantine leave the file
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
	if p.Claim == "" {
		p.Claim = ClaimMove
	}
	if p.Archive == "" {
		p.Archive = ArchiveMove
	}
	if p.Quarantine == "" {
		p.Quarantine = QuarantineMove
	}
	if p.Order == "" {
		p.Order = OrderName
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.seen == nil {
		p.seen = map[string]observation{}
	}
	if p.warned == nil {
		p.warned = map[string]bool{}
	}
	if p.inflight == nil {
		p.inflight = map[string]bool{}
	}
	if p.handled == nil {
		p.handled = map[string]bool{}
	}
}

// Validate checks the poller's settings and their combination.
func (p *Poller) Validate() error {
	var errs []error
	if p.FS == nil {
		errs = append(errs, errors.New("bridges: poller has no filesystem"))
	}
	pat := cmp.Or(p.Pattern, "*")
	if _, err := path.Match(pat, "x"); err != nil {
		errs = append(errs, fmt.Errorf("bridges: bad pattern %q: %w", pat, err))
	}
	for _, d := range []struct{ what, v string }{{"drop folder", p.Dir}, {"processing folder", p.ProcessingDir},
		{"archive folder", p.ArchiveDir}, {"error folder", p.ErrorDir}} {
		if _, err := CleanPath(d.v); err != nil {
			errs = append(errs, fmt.Errorf("bridges: %s: %w", d.what, err))
		}
	}
	if p.MinAge < 0 || p.MaxClaims < 0 {
		errs = append(errs, errors.New("bridges: min age and max claims must not be negative"))
	}
	claim, archive, quarantine := cmp.Or(p.Claim, ClaimMove), cmp.Or(p.Archive, ArchiveMove), cmp.Or(p.Quarantine, QuarantineMove)
	switch claim {
	case ClaimMove:
	case ClaimNone, ClaimAuto:
		if p.Marks == nil {
			errs = append(errs, fmt.Errorf(`bridges: claim %q needs a ledger (Marks) to remember which files were handled`, claim))
		}
	default:
		errs = append(errs, fmt.Errorf(`bridges: claim %q: want "move", "none" or "auto"`, p.Claim))
	}
	switch archive {
	case ArchiveMove, ArchiveDelete:
	case ArchiveLeave:
		if claim != ClaimNone {
			errs = append(errs, errors.New(`bridges: archive "leave" needs claim "none": with claim "move" the file would stay in the processing folder and be redone on every start`))
		}
	default:
		errs = append(errs, fmt.Errorf(`bridges: archive %q: want "move", "leave" or "delete"`, p.Archive))
	}
	switch quarantine {
	case QuarantineMove:
	case QuarantineLeave:
		if claim != ClaimNone {
			errs = append(errs, errors.New(`bridges: quarantine "leave" needs claim "none": with claim "move" the file would stay in the processing folder and be redone on every start`))
		}
	default:
		errs = append(errs, fmt.Errorf(`bridges: quarantine %q: want "move" or "leave"`, p.Quarantine))
	}
	switch cmp.Or(p.Order, OrderName) {
	case OrderName, OrderMTime:
	default:
		errs = append(errs, fmt.Errorf(`bridges: order %q: want "name" or "mtime"`, p.Order))
	}
	return errors.Join(errs...)
}

// Pending reports how many candidate files the last Poll saw that were not
// yet ready (still changing or younger than MinAge, waiting for a marker, or
// beyond MaxClaims). Handled and in-flight files do not count.
func (p *Poller) Pending() int { return p.pending }

// Poll lists the drop folder and claims every file that is complete. The first
// call also returns files left in the processing folder by a crash. When the
// FS fails (server down), Poll returns the error and loses nothing: the next
// Poll carries on where this one stopped.
func (p *Poller) Poll(ctx context.Context) ([]legacybridge.FileClaim, error) {
	if !p.checked {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		p.checked = true
	}
	p.defaults()
	p.verified = map[string]bool{} // check the folders again in this poll
	var claims []legacybridge.FileClaim
	if !p.recovered {
		left, err := p.recover(ctx)
		if err != nil {
			return nil, err
		}
		claims = left
		p.recovered = true
	}
	entries, err := p.FS.List(ctx, p.Dir)
	if err != nil {
		return claims, fmt.Errorf("bridges: list %s: %w", p.Dir, err)
	}
	var names map[string]bool
	if p.DoneSuffix != "" {
		names = make(map[string]bool, len(entries))
		for _, e := range entries {
			if !e.IsDir {
				names[e.Name] = true
			}
		}
	}
	p.warnedNow = map[string]bool{}
	cands := p.candidates(entries)
	now := p.Now()
	next := make(map[string]observation, len(cands))
	handled := make(map[string]bool)
	listed := make(map[string]bool)
	p.pending = 0
	var firstErr error
	// skip reports whether a ClaimNone poller has nothing to do with e:
	// in flight, or marked handled (or the ledger failed).
	skip := func(e Entry) bool {
		if p.inflight[e.Name] {
			return true // claimed earlier, still in the runner's hands
		}
		key := MarkKey(e)
		done := p.handled[key]
		if !done {
			var err error
			done, err = p.Marks.Has(ctx, key)
			if err != nil {
				firstErr = cmp.Or(firstErr, fmt.Errorf("bridges: look up %s in the ledger: %w", Join(p.Dir, e.Name), err))
				return true
			}
		}
		if done {
			handled[key] = true
		}
		return done
	}
	for _, e := range cands {
		listed[e.Name] = true
		if p.claimMode() == ClaimNone && skip(e) {
			continue
		}
		o := observation{e: e, since: now}
		prev, ok := p.seen[e.Name]
		if ok && prev.e.Size == e.Size && prev.e.ModTime.Equal(e.ModTime) {
			o.since = prev.since
		} else {
			ok = false
		}
		next[e.Name] = o
		var ready bool
		if p.DoneSuffix != "" {
			ready = names[e.Name+p.DoneSuffix]
		} else {
			ready = ok && now.Sub(o.since) >= p.MinAge
		}
		ready = ready && now.Sub(e.ModTime) >= p.MinAge
		if !ready || (p.MaxClaims > 0 && len(claims) >= p.MaxClaims) {
			p.pending++
			continue
		}
		c, err := p.claim(ctx, e)
		if err != nil && p.fallBack(err) {
			if skip(e) {
				delete(next, e.Name)
				continue
			}
			c, err = p.claim(ctx, e)
		}
		if err != nil {
			p.Logger.Warn("claim failed; will retry", "file", Join(p.Dir, e.Name), "err", err)
			p.pending++
			continue
		}
		delete(next, e.Name)
		claims = append(claims, c)
	}
	p.seen = next
	p.handled = handled
	p.warned = p.warnedNow
	for name := range p.inflight {
		if !listed[name] {
			delete(p.inflight, name) // gone from the drop: nothing left to skip
		}
	}
	return claims, firstErr
}

// recover checks the folders the flow writes and returns the files a crash
// left in the processing folder (ClaimMove).
func (p *Poller) recover(ctx context.Context) ([]legacybridge.FileClaim, error) {
	var dirs []string
	if p.Claim == ClaimMove || p.Claim == ClaimAuto {
		dirs = append(dirs, p.ProcessingDir)
	}
	if p.Archive == ArchiveMove {
		dirs = append(dirs, p.ArchiveDir)
	}
	dirs = append(dirs, p.ErrorDir)
	for _, d := range dirs {
		if e, err := p.FS.Stat(ctx, p.dir(d)); err == nil && !e.IsDir {
			return nil, fmt.Errorf("bridges: %s is a file, but the flow needs it as a folder; move the file away or set another folder name", p.dir(d))
		}
	}
	if p.claimMode() != ClaimMove {
		return nil, nil
	}
	if err := p.ensureFolder(ctx, "processing folder", p.ProcessingDir); err != nil {
		if p.fallBack(err) {
			return nil, nil
		}
		return nil, err
	}
	left, err := p.FS.List(ctx, p.dir(p.ProcessingDir))
	if err != nil {
		return nil, fmt.Errorf("bridges: list processing folder: %w", err)
	}
	slices.SortFunc(left, p.compare)
	var claims []legacybridge.FileClaim
	for _, e := range left {
		if e.IsDir || e.Special || strings.HasPrefix(e.Name, ".") || CheckName(e.Name) != nil {
			continue
		}
		claims = append(claims, &Claim{p: p, Name: e.Name, Path: Join(p.dir(p.ProcessingDir), e.Name),
			Size: e.Size, MTime: e.ModTime, Recovered: true})
	}
	return claims, nil
}

// candidates filters a listing down to the files the pattern picks up, in
// claim order.
func (p *Poller) candidates(entries []Entry) []Entry {
	out := make([]Entry, 0, len(entries))
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
		// rsync's .name.XXXXXX, our own bridges.TempName); never pick them up.
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
		out = append(out, e)
	}
	slices.SortFunc(out, p.compare)
	return out
}

func (p *Poller) compare(a, b Entry) int {
	if p.Order == OrderMTime {
		if c := a.ModTime.Compare(b.ModTime); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Name, b.Name)
}

func (p *Poller) warnOnce(name, msg string, args ...any) {
	p.warnedNow[name] = true
	if p.warned[name] {
		return
	}
	p.warned[name] = true
	p.Logger.Warn(msg, args...)
}

func (p *Poller) claim(ctx context.Context, e Entry) (*Claim, error) {
	from := Join(p.Dir, e.Name)
	if p.claimMode() == ClaimNone {
		c := &Claim{p: p, Name: e.Name, Path: from, Size: e.Size, MTime: e.ModTime, key: MarkKey(e), leave: p.readOnly}
		if p.DoneSuffix != "" {
			c.marker = from + p.DoneSuffix
		}
		p.inflight[e.Name] = true
		return c, nil
	}
	to := Join(p.dir(p.ProcessingDir), e.Name)
	if err := p.refuseLinks(ctx, "processing folder", p.ProcessingDir); err != nil {
		return nil, err
	}
	if _, err := p.FS.Stat(ctx, to); err == nil {
		return nil, fmt.Errorf("%s is still being processed", to)
	}
	if err := p.FS.Rename(ctx, from, to); err != nil {
		return nil, err
	}
	if p.DoneSuffix != "" {
		p.removeMarker(ctx, from+p.DoneSuffix)
	}
	return &Claim{p: p, Name: e.Name, Path: to, Size: e.Size, MTime: e.ModTime}, nil
}

func (p *Poller) removeMarker(ctx context.Context, marker string) {
	if err := p.FS.Remove(ctx, marker); err != nil && !errors.Is(err, ErrNotExist) {
		p.Logger.Warn("done marker not removed", "file", marker, "err", err)
	}
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

// mark records a ClaimNone file as handled. It is a no-op for ClaimMove,
// whose files leave the drop folder.
func (c *Claim) mark(ctx context.Context) error {
	if c.key == "" {
		return nil
	}
	if err := c.p.Marks.Put(ctx, c.key); err != nil {
		return err
	}
	c.p.handled[c.key] = true
	return nil
}

// finish forgets a ClaimNone file as in flight.
func (c *Claim) finish() {
	if c.key != "" {
		delete(c.p.inflight, c.Name)
	}
}

// Archive deals with a delivered file as the poller's Archive action says
// and returns where the file is now: ARCHIVE/YYYY-MM-DD/NAME (move, never
// overwriting), its place in the drop (leave), or "" (delete).
func (c *Claim) Archive(ctx context.Context) (string, error) {
	p := c.p
	archive := p.Archive
	if c.leave {
		archive = ArchiveLeave
	}
	switch archive {
	case ArchiveLeave:
		if err := c.mark(ctx); err != nil {
			return "", fmt.Errorf("bridges: mark %s handled: %w", c.Path, err)
		}
		c.finish()
		return c.Path, nil
	case ArchiveDelete:
		if err := p.FS.Remove(ctx, c.Path); err != nil {
			return "", fmt.Errorf("bridges: delete delivered %s: %w", c.Path, err)
		}
		c.gone(ctx)
		return "", nil
	}
	to, err := c.moveInto(ctx, "archive folder", Join(p.ArchiveDir, p.Now().UTC().Format("2006-01-02")))
	if err != nil {
		return "", fmt.Errorf("bridges: archive %s: %w", c.Path, err)
	}
	c.gone(ctx)
	return to, nil
}

// gone finishes a ClaimNone file that left the drop: its done marker goes
// too, and it is marked (a failure only matters if the same name, size and
// mtime come back, so it is logged, not returned).
func (c *Claim) gone(ctx context.Context) {
	if c.key == "" {
		return
	}
	if c.marker != "" {
		c.p.removeMarker(ctx, c.marker)
	}
	if err := c.mark(ctx); err != nil {
		c.p.Logger.Warn("file moved out of the drop but not marked handled", "file", c.Name, "err", err)
	}
	c.finish()
}

// Quarantine deals with a file that cannot be delivered as the poller's
// Quarantine action says: move it to ERROR/NAME and write NAME.error.json
// beside it (for a name too long for that, a shortened name made by
// FitName, which is logged), or leave it (marked handled) with the report in ERROR when that
// folder can be written, else in the log. It returns where the file is now.
func (c *Claim) Quarantine(ctx context.Context, r legacybridge.QuarantineReport) (string, error) {
	p := c.p
	if r.Time.IsZero() {
		r.Time = p.Now().UTC()
	}
	if r.File == "" {
		r.File = c.Name
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	b = append(b, '\n')
	if p.Quarantine == QuarantineLeave || c.leave {
		if err := c.mark(ctx); err != nil {
			return "", fmt.Errorf("bridges: mark %s handled: %w", c.Path, err)
		}
		c.finish()
		report, err := c.leaveReport(ctx, b)
		if err != nil {
			p.Logger.Error("quarantined file left in the drop; its error report could not be written, so here it is",
				"file", c.Path, "report_err", err, "reason", r.Reason, "report", string(b))
			return c.Path, nil
		}
		p.Logger.Info("quarantined file left in the drop", "file", c.Path, "report", report)
		return c.Path, nil
	}
	to, err := c.moveInto(ctx, "error folder", p.ErrorDir)
	if err != nil {
		return "", fmt.Errorf("bridges: quarantine %s: %w", c.Path, err)
	}
	c.gone(ctx)
	report := reportName(to)
	if err := writeFile(ctx, p.FS, report, b); err != nil {
		return to, fmt.Errorf("bridges: write %s: %w", report, err)
	}
	if report != to+".error.json" {
		p.Logger.Info("bridges: the file's name is too long for NAME.error.json; its error report has a shortened name",
			"file", to, "report", report)
	}
	return to, nil
}

// leaveReport writes ERROR/NAME.error.json (NAME.1.error.json, ... when
// taken) for a file left in place.
func (c *Claim) leaveReport(ctx context.Context, b []byte) (string, error) {
	dir := c.p.dir(c.p.ErrorDir)
	if err := c.p.ensureFolder(ctx, "error folder", c.p.ErrorDir); err != nil {
		return "", err
	}
	to := Join(dir, FitName(c.Name, ".error.json"))
	for i := 1; ; i++ {
		if _, err := c.p.FS.Stat(ctx, to); errors.Is(err, ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		to = Join(dir, FitName(c.Name, "."+strconv.Itoa(i)+".error.json"))
	}
	return to, writeFile(ctx, c.p.FS, to, b)
}

func writeFile(ctx context.Context, fsys FS, name string, b []byte) error {
	w, err := fsys.Create(ctx, name)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// moveInto moves the file into sub, a folder relative to the drop (what
// names it in errors), created if needed and refused if it is a link.
func (c *Claim) moveInto(ctx context.Context, what, sub string) (string, error) {
	if err := c.p.ensureFolder(ctx, what, sub); err != nil {
		return "", err
	}
	dir := c.p.dir(sub)
	if path.Dir(c.Path) == path.Clean(dir) {
		return c.Path, nil // already there: a retry after a failure that followed the move
	}
	to := Join(dir, c.Name)
	for i := 1; ; i++ {
		if _, err := c.p.FS.Stat(ctx, to); errors.Is(err, ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		to = Join(dir, FitName(c.Name, "."+strconv.Itoa(i)))
	}
	if err := c.p.FS.Rename(ctx, c.Path, to); err != nil {
		return "", err
	}
	c.Path = to
	return to, nil
}

// ensureFolder creates sub (a folder relative to the drop; what names it in
// errors) and makes sure that neither it nor any folder between the drop and
// it is a symbolic link, when the FS can tell (Lstater). A folder found sound
// is not checked again until the next Poll, so the check costs at most a
// few Lstat calls per poll, not one per file.
//
// The drop folder itself may be a link (an administrator's choice in the
// configuration); only what lies under it is checked. Between the check and
// the move, someone with write access to the drop could still swap a folder
// for a link: the check narrows that window to one poll, it cannot close it
// over a protocol without openat-style calls.
func (p *Poller) ensureFolder(ctx context.Context, what, sub string) error {
	full := p.dir(sub)
	if p.verified[full] {
		return nil
	}
	if err := p.refuseLinks(ctx, what, sub); err != nil {
		return err
	}
	if p.verified[full] {
		return nil // there, and a real folder
	}
	if err := p.FS.MkdirAll(ctx, full); err != nil {
		if lerr := p.refuseLinks(ctx, what, sub); lerr != nil {
			return lerr
		}
		return fmt.Errorf("bridges: create %s %s: %w", what, full, err)
	}
	if err := p.refuseLinks(ctx, what, sub); err != nil {
		return err
	}
	p.verified[full] = true
	return nil
}

// refuseLinks checks each folder from the drop down to sub with Lstat. A
// missing one ends the check (MkdirAll creates it; ensureFolder checks again).
func (p *Poller) refuseLinks(ctx context.Context, what, sub string) error {
	l, ok := p.FS.(Lstater)
	if !ok {
		return nil
	}
	clean, err := CleanPath(sub)
	if err != nil || clean == "." {
		return err
	}
	cur := ""
	for _, el := range strings.Split(clean, "/") {
		cur = Join(cur, el)
		full := p.dir(cur)
		if p.verified[full] {
			continue
		}
		e, err := l.Lstat(ctx, full)
		switch {
		case errors.Is(err, ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("bridges: check %s %s: %w", what, full, err)
		case e.Special:
			return fmt.Errorf("bridges: %s %s: %w: %s is a symbolic link (or another special file) in the drop, "+
				"and following it could move files into another folder, so the flow moves nothing through it. "+
				"Someone with write access to the drop made it: remove the link, create %s as a real folder "+
				"(or set another folder name), and find out who changed it", what, p.dir(sub), ErrLinkedFolder, full, full)
		case !e.IsDir:
			return fmt.Errorf("bridges: %s %s: %s is a file, but the flow needs it as a folder; move the file away "+
				"or set another folder name", what, p.dir(sub), full)
		}
		p.verified[full] = true
	}
	return nil
}

// reportName is the error report's path for a file quarantined at to:
// NAME.error.json, shortened by FitName when that would be too long.
func reportName(to string) string {
	dir, base := path.Split(to)
	return dir + FitName(base, ".error.json")
}
