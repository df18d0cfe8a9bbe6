package legacybridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Flow moves files from one drop through a parser and mappings to topics.
// Build it, Validate it, then Run or RunOnce. A Flow is used by one goroutine.
type Flow struct {
	Name string
	// EventSource is the CloudEvents source attribute.
	// Default "urn:legacybridge:flow:" + Name.
	EventSource string
	Topic       string // where events go
	DeadLetter  string // where records that fail mapping go
	Files       FileSource
	Parser      Parser
	// Mappers are tried in order; the first that applies to a record wins.
	// A record no mapper applies to is skipped (counted).
	Mappers []Mapper
	Emitter Emitter
	Ledger  Ledger
	// PollInterval between polls of the drop. Default 1s.
	PollInterval time.Duration
	// BatchSize is how many messages go to the emitter at once. Default 500.
	BatchSize int
	Logger    *slog.Logger
	Metrics   *Metrics // nil = no metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ShutdownGrace is how long Run lets the file in hand finish after ctx
	// is done (it stays claimed and is redone next start if cut off).
	// Default 30s.
	ShutdownGrace time.Duration
	// RetryBackoff is the first wait after a transient failure of a file;
	// it doubles up to 30s. Default 500ms.
	RetryBackoff time.Duration
	// DuplicateInterchanges is the check for EDI interchanges sent again.
	// Default off (the config turns it on with a 30-day window).
	DuplicateInterchanges DuplicateInterchanges
	// Acks, when set, acknowledges EDI files (see Acknowledgements).
	Acks *Acknowledgements

	deferred   []*deferredClaim
	failStreak int        // consecutive failed attempts, across files
	pollErr    error      // the last poll's error
	pollDown   time.Time  // when polls started failing
	pollFails  int        // failed polls in a row
	mu         sync.Mutex // guards status
	status     string
	icWarned   bool      // the ledger cannot remember interchanges; said once
	icPruned   time.Time // when interchanges outside the window were last forgotten
}

// DuplicateInterchanges is the check for re-sent EDI interchanges: an
// interchange (sender, receiver and control number; see Interchange) whose
// file was delivered within Window is not posted again. Its records are
// skipped and counted (Summary.DuplicateRecords), it is logged once with the
// file that delivered it first, and a file whose interchanges were all
// delivered before is archived as a duplicate. Other interchanges in the
// same file are posted as usual, with the event ids they would have had
// anyway. Interchanges are recorded once every event of their file was
// acknowledged, just before the file is archived: a crash before that
// re-posts them with the same ids, never loses them.
//
// The check needs a Ledger that implements InterchangeLedger
// (internal/ledger does); with another ledger it is off, with a warning.
// Records without an interchange (fixed-width, say) are never duplicates.
type DuplicateInterchanges struct {
	// Window is how long after its delivery an interchange counts as
	// delivered. Default 0: the check is off (interchanges are neither
	// checked nor recorded). The config's default is 720h (30 days).
	Window time.Duration
	// Allow posts re-sent interchanges again, logging each at WARN.
	// Default false: they are not posted.
	Allow bool
	// OnDuplicate, if set, is called for each interchange not posted again,
	// once its file was archived: the seam for acknowledging it again
	// (997/999/CONTRL). An error is logged, not retried: the file is done.
	// Default nil.
	OnDuplicate func(ctx context.Context, d DuplicateInterchange) error
}

// DuplicateInterchange is a re-sent interchange that was not posted again.
type DuplicateInterchange struct {
	Interchange Interchange
	Flow        string
	File        string            // the file that carried it again
	Hash        string            // that file's sha256
	Records     int               // its records in File (none posted)
	Envelope    map[string]string // the envelope of its first record in File
	First       InterchangeRecord // the delivery it repeats
}

// Skipper is implemented by mappers that may not apply to a record. A Mapper
// without it applies to every record.
type Skipper interface {
	Applies(rec Record) bool
}

// ErrNoMapping is returned for a record that no mapper of the flow applies to.
var ErrNoMapping = errors.New("no mapping applies to this record")

// Summary counts what a run did.
type Summary struct {
	Files       int // files finished (archived, duplicate or quarantined)
	Archived    int
	Duplicates  int
	Quarantined int
	Events      int // events acknowledged by the emitter
	DeadLetters int // records sent to the dead-letter topic
	Skipped     int // records no mapping applied to
	// DuplicateRecords are records of interchanges delivered before (see
	// Flow.DuplicateInterchanges), not posted again.
	DuplicateRecords int
	// Rejected are EDI transaction sets / messages rejected by the
	// acknowledgement (see Flow.Acks), not posted.
	Rejected int
	// Acks are acknowledgement events posted (see Flow.Acks).
	Acks int
}

// Add adds o to s.
func (s *Summary) Add(o Summary) {
	s.Files += o.Files
	s.Archived += o.Archived
	s.Duplicates += o.Duplicates
	s.Quarantined += o.Quarantined
	s.Events += o.Events
	s.DeadLetters += o.DeadLetters
	s.Skipped += o.Skipped
	s.DuplicateRecords += o.DuplicateRecords
	s.Rejected += o.Rejected
	s.Acks += o.Acks
}

// Validate reports every missing piece of the flow.
func (f *Flow) Validate() error {
	var errs []error
	if f.Name == "" {
		errs = append(errs, errors.New("flow has no name"))
	}
	if f.Topic == "" {
		errs = append(errs, fmt.Errorf("flow %q: no topic", f.Name))
	}
	if f.Files == nil {
		errs = append(errs, fmt.Errorf("flow %q: no source", f.Name))
	}
	if f.Parser == nil {
		errs = append(errs, fmt.Errorf("flow %q: no parser", f.Name))
	}
	if len(f.Mappers) == 0 {
		errs = append(errs, fmt.Errorf("flow %q: no mapping", f.Name))
	}
	if f.Emitter == nil {
		errs = append(errs, fmt.Errorf("flow %q: no emitter", f.Name))
	}
	return errors.Join(errs...)
}

func (f *Flow) defaults() {
	if f.EventSource == "" {
		f.EventSource = "urn:legacybridge:flow:" + f.Name
	}
	if f.PollInterval <= 0 {
		f.PollInterval = time.Second
	}
	if f.BatchSize <= 0 {
		f.BatchSize = 500
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	f.Logger = f.Logger.With("flow", f.Name)
	if f.Now == nil {
		f.Now = time.Now
	}
}

// Run polls until ctx is done. Transport and emitter errors are logged and
// retried with capped backoff; they never stop the flow. While polls fail
// (the source is unreachable) they back off from PollInterval, doubling up
// to 30 poll intervals or 30s, whichever is less; Status reports "source
// unreachable: ..." and the log has one line when polls start failing and
// one when they recover.
func (f *Flow) Run(ctx context.Context) error {
	f.defaults()
	grace := f.ShutdownGrace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	defer stopGrace()
	// While the source is unreachable, polls back off: doubling from the
	// poll interval up to 30 polls' worth, at most 30s.
	maxBackoff := max(min(30*time.Second, 30*f.PollInterval), f.PollInterval)
	backoff := f.PollInterval
	for {
		_, err := f.pollOnce(work, ctx, 0)
		if ctx.Err() != nil {
			return nil
		}
		wait := f.PollInterval
		if err != nil {
			f.Metrics.pollError(f.Name)
			wait = backoff
			backoff = min(backoff*2, maxBackoff)
		} else {
			backoff = f.PollInterval
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// RunOnce processes every complete file present and returns when none is
// left (files still being written are given a few polls to settle). A file
// that cannot be delivered after 5 attempts stays in the processing folder
// (the next run redoes it) and RunOnce returns an error naming it, after
// finishing every other file.
func (f *Flow) RunOnce(ctx context.Context) (Summary, error) {
	f.defaults()
	const maxAttempts = 5
	var total Summary
	idle := 0
	for {
		s, err := f.pollOnce(ctx, ctx, maxAttempts)
		total.Add(s)
		if err != nil {
			return total, err
		}
		if s.Files > 0 {
			idle = 0
		} else {
			idle++
		}
		retrying := 0
		for _, d := range f.deferred {
			if d.attempts < maxAttempts {
				retrying++
			}
		}
		if f.failStreak >= maxAttempts {
			retrying = 0 // the broker (or disk) keeps failing: stop, don't wait out every file
		}
		if retrying == 0 && (f.Files.Pending() == 0 && idle >= 2 || idle > 5) {
			if p := f.Files.Pending(); p > 0 {
				f.Logger.Warn("files left in the drop that never became complete", "files", p)
			}
			break
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(f.PollInterval):
		}
	}
	if n := len(f.deferred); n > 0 {
		d := f.deferred[0]
		for _, x := range f.deferred {
			if x.err != nil {
				d = x
				break
			}
		}
		return total, fmt.Errorf("flow %s: %d file(s) left in the processing folder after %d failed attempts in a row (the next run redoes them); %s: %v",
			f.Name, n, f.failStreak, d.c.Info().Name, d.err)
	}
	return total, nil
}

// deferredClaim is a claimed file whose processing failed for a transient
// reason (broker down, I/O); it stays claimed and is retried with backoff
// while other files go on.
type deferredClaim struct {
	c        FileClaim
	attempts int
	next     time.Time
	err      error
}

// pollOnce retries deferred files that are due, then claims new files with
// ctx and processes them with work (which may outlive ctx by a grace
// period); it stops taking files once stop is done. A file that fails is
// deferred, never blocking the others. maxAttempts > 0 stops retrying a
// file after that many attempts (it stays in the processing folder).
func (f *Flow) pollOnce(ctx, stop context.Context, maxAttempts int) (Summary, error) {
	var sum Summary
	// Claim first, so every claimed file is on the waiting list (and in the
	// health status) until it is finished.
	claims, err := f.Files.Poll(ctx)
	f.notePoll(err)
	for _, c := range claims {
		f.deferred = append(f.deferred, &deferredClaim{c: c, next: f.Now()})
	}
	f.setStatus()
	// While attempts keep failing (broker down, say) only one file per pass
	// probes, and the file that just failed moves to the back, so a file
	// that fails on its own never holds up the others: the next probe is
	// another file, and its success lets the rest through.
	var waiting, failed []*deferredClaim
	probed := false
	for _, d := range f.deferred {
		due := !f.Now().Before(d.next) && (maxAttempts == 0 || d.attempts < maxAttempts)
		if stop.Err() != nil || !due || (f.failStreak > 0 && probed) {
			waiting = append(waiting, d)
			continue
		}
		s, ok := f.attempt(ctx, stop, d)
		sum.Add(s)
		if !ok {
			failed = append(failed, d)
			probed = true
		}
		f.setStatusWith(append(waiting, failed...), d)
	}
	f.deferred = append(waiting, failed...)
	if stop.Err() != nil {
		for _, d := range f.deferred {
			if d.attempts == 0 {
				f.Logger.Info("shutting down; file left claimed for the next start", "file", d.c.Info().Name)
			}
		}
	}
	f.setStatus()
	return sum, err
}

// notePoll records a poll's outcome and logs only when the source goes from
// reachable to unreachable or back, not on every failed poll.
func (f *Flow) notePoll(err error) {
	switch {
	case err != nil && f.pollErr == nil:
		f.pollDown = f.Now()
		f.pollFails = 1
		f.Logger.Error("source unreachable; polls are retried with backoff and this is logged again when it recovers", "err", err)
	case err != nil:
		f.pollFails++
	case f.pollErr != nil:
		f.Logger.Info("source reachable again", "down_for", f.Now().Sub(f.pollDown).Round(time.Second), "failed_polls", f.pollFails)
		f.pollFails = 0
	}
	f.pollErr = err
}

// errGone marks a claimed file that disappeared (removed by someone else).
var errGone = errors.New("the claimed file disappeared from the processing folder")

// attempt processes a claim once; on failure it schedules the next try.
// It reports true when the file is dealt with (or gone for good).
func (f *Flow) attempt(ctx, stop context.Context, d *deferredClaim) (Summary, bool) {
	s, err := f.Process(ctx, d.c)
	if err == nil {
		f.failStreak = 0
		return s, true
	}
	if errors.Is(err, errGone) || errors.Is(err, fs.ErrNotExist) {
		f.Logger.Error("claimed file was removed by someone else; not retried", "file", d.c.Info().Path, "err", err)
		return s, true
	}
	if ctx.Err() != nil || stop.Err() != nil {
		f.Logger.Warn("stopped before the file was finished; it stays in the processing folder and is redone on the next start",
			"file", d.c.Info().Name, "err", err)
		return s, false
	}
	f.failStreak++
	d.attempts++
	d.err = err
	backoff := f.RetryBackoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	for i := 1; i < d.attempts && backoff < 30*time.Second; i++ {
		backoff *= 2
	}
	backoff = min(backoff, 30*time.Second)
	d.next = f.Now().Add(backoff)
	f.Logger.Error("file not finished; it stays claimed and is retried", "file", d.c.Info().Path,
		"attempt", d.attempts, "err", err, "retry_in", backoff)
	f.Metrics.retry(f.Name)
	return s, false
}

// Status reports whether the flow is healthy: false while files wait for a
// retry, with a description.
func (f *Flow) Status() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status == "" {
		return true, "running"
	}
	return false, f.status
}

func (f *Flow) setStatus() { f.setStatusWith(f.deferred, nil) }

// setStatusWith describes files still waiting: those in waiting, plus the
// one in hand when it has failed.
func (f *Flow) setStatusWith(waiting []*deferredClaim, current *deferredClaim) {
	var failed []*deferredClaim
	pending := 0
	for _, d := range waiting {
		if d.attempts > 0 {
			failed = append(failed, d)
		} else {
			pending++
		}
	}
	if current != nil && current.attempts > 0 && !slices.Contains(failed, current) {
		failed = append(failed, current)
	}
	var st string
	switch {
	case f.pollErr != nil:
		st = fmt.Sprintf("source unreachable: %v (since %s, %d failed polls; retrying)", f.pollErr,
			f.pollDown.UTC().Format(time.RFC3339), f.pollFails)
	case len(failed) > 0:
		d := failed[0]
		st = fmt.Sprintf("%d file(s) waiting for a retry in the processing folder (%d more claimed); %s: %v", len(failed), pending, d.c.Info().Name, d.err)
	}
	f.mu.Lock()
	f.status = st
	f.mu.Unlock()
}

// hashingReader hashes and counts what is read through it, and keeps the
// first error the transport returned, so a cut connection is recognised
// however the parser reports (or wraps, or swallows) it.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error // first error other than io.EOF from r
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF && h.err == nil {
		h.err = err
	}
	return n, err
}

// errTransfer marks a read of a claimed file that the transport cut short
// (an error from Read or Close, or fewer bytes than the file holds): the
// file is retried, never quarantined.
var errTransfer = errors.New("reading the file failed in transit")

// finishRead drains r (parsers may stop before EOF), closes it, and reports
// a transfer problem: an error the transport returned while reading or on
// Close, or a byte count that differs from want while the file itself still
// has want bytes (a transfer that ended early without saying so). want < 0
// skips the count check. A file that really changed size is not a transfer
// problem; the caller deals with it.
func (f *Flow) finishRead(ctx context.Context, c FileClaim, hr *hashingReader, r io.ReadCloser, want int64) error {
	path := c.Info().Path
	_, derr := io.Copy(io.Discard, hr)
	cerr := r.Close()
	switch {
	case hr.err != nil:
		return fmt.Errorf("%w: read %s after %d bytes: %w; it is read again later", errTransfer, path, hr.n, hr.err)
	case derr != nil:
		return fmt.Errorf("%w: read %s after %d bytes: %w; it is read again later", errTransfer, path, hr.n, derr)
	case cerr != nil:
		return fmt.Errorf("%w: closing %s after %d bytes: %w; it is read again later", errTransfer, path, hr.n, cerr)
	}
	if want < 0 || hr.n == want {
		return nil
	}
	st, ok := c.(Stater)
	if !ok {
		return nil
	}
	now, err := st.Stat(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: read %d bytes of %d, and the file cannot be checked: %w", errTransfer, path, hr.n, want, err)
	}
	if now.Size == want {
		return fmt.Errorf("%w: %s: read %d bytes, but the file holds %d (the transfer ended early); it is read again later", errTransfer, path, hr.n, want)
	}
	return nil
}

// Process handles one claimed file: a validation pass (content hash + full
// parse, so a structurally broken file emits nothing), then the emit pass.
// The file is archived only after every event was acknowledged. Bad input is
// quarantined and returns nil; a returned error is transient (retry later).
func (f *Flow) Process(ctx context.Context, c FileClaim) (Summary, error) {
	info := c.Info()
	log := f.Logger.With("file", info.Name)
	start := f.Now()
	rec := FileRecord{Flow: f.Name, File: info.Name, Size: info.Size, Started: start.UTC()}
	if info.Recovered {
		log.Info("re-processing file left by an interrupted run", "path", info.Path)
	}

	// Pass 1: hash and validate (and list the file's interchanges).
	il := f.interchangeLedger()
	var found *fileInterchanges
	if il != nil {
		found = &fileInterchanges{byKey: map[string]*fileInterchange{}}
	}
	hash, nrec, nbytes, perr, err := f.validate(ctx, c, found)
	if err != nil {
		if fileProblem(err) && !errors.Is(err, errTransfer) {
			return f.quarantine(ctx, c, rec, fmt.Errorf("cannot read the file: %w", err), nil)
		}
		return Summary{}, err
	}
	rec.Hash, rec.Records = hash, nrec
	// With acknowledgements, problems of the input are what the
	// acknowledgement reports (below): the accepted sets are posted anyway.
	if f.Acks == nil {
		if perr != nil {
			return f.quarantine(ctx, c, rec, perr, nil)
		}
		if nrec == 0 {
			return f.quarantine(ctx, c, rec, errEmpty, nil)
		}
	}
	if f.Ledger != nil {
		prev, ok, err := f.Ledger.Lookup(f.Name, hash)
		if err != nil {
			return Summary{}, fmt.Errorf("ledger: %w", err)
		}
		if ok && prev.Outcome == OutcomeArchived {
			to, err := c.Archive(ctx)
			if err != nil {
				return Summary{}, err
			}
			log.Info("identical content was already delivered; skipped", "sha256", hash, "first_file", prev.File, "first_delivered", prev.Finished, "archived_to", to)
			rec.Outcome, rec.MovedTo, rec.Finished = OutcomeDuplicate, to, f.Now().UTC()
			rec.Reason = "identical content delivered before as " + prev.File
			f.Metrics.file(f.Name, OutcomeDuplicate)
			return Summary{Files: 1, Duplicates: 1}, f.Ledger.Put(rec)
		}
	}
	// Interchanges delivered before are not posted again.
	var resent map[string]*fileInterchange
	if il != nil && len(found.order) > 0 {
		resent, err = f.resent(il, found, hash)
		if err != nil {
			return Summary{}, fmt.Errorf("ledger: %w", err)
		}
		for _, k := range found.order {
			if d := resent[k]; d != nil {
				msg := "interchange was delivered before; its records are not posted again"
				if f.DuplicateInterchanges.Allow {
					msg = "interchange was delivered before; posted again (duplicate_interchanges allows it)"
				}
				log.Warn(msg, "interchange", d.ic.String(), "records", d.records,
					"first_file", d.first.File, "first_delivered", d.first.Delivered, "first_sha256", d.first.Hash)
			}
		}
		if f.DuplicateInterchanges.Allow {
			resent = nil
		}
	}
	var report *AckReport
	if f.Acks != nil {
		// Interchanges sent before, or repeated in this file, are not
		// acknowledged again (unless asked) and take no control number.
		skip := func(ic Interchange, seg int) bool {
			if f.Acks.Resent || found == nil || f.DuplicateInterchanges.Allow {
				return false
			}
			k := ic.Key()
			fi := found.byKey[k]
			return resent[k] != nil || fi != nil && seg != 0 && fi.seg != 0 && seg != fi.seg
		}
		report, err = f.acknowledge(ctx, c, hash, nbytes, skip)
		if err != nil {
			return Summary{}, err
		}
	}
	if found != nil && len(resent) > 0 && len(resent) == len(found.order) && found.keyed == nrec {
		return f.resentFile(ctx, c, rec, found, report)
	}
	// With acknowledgements, a file whose every set is rejected (or that
	// is unreadable from its envelope on) still goes through the emit pass:
	// its sets are dead-lettered there and its acknowledgements sent.
	if nrec == 0 && perr == nil {
		return f.quarantine(ctx, c, rec, errEmpty, nil)
	}
	if f.Ledger != nil {
		rec.Outcome = OutcomeProcessing
		if err := f.Ledger.Put(rec); err != nil {
			return Summary{}, fmt.Errorf("ledger: %w", err)
		}
	}

	// Pass 2: map and emit. The bytes are hashed again: what was emitted
	// must be what was validated.
	r, err := c.Open(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("open %s: %w", info.Path, err)
	}
	closed := false
	defer func() {
		if !closed {
			r.Close()
		}
	}()
	hr := &hashingReader{r: r, h: sha256.New()}
	rr := f.Parser.NewReader(hr, info.Name)
	var (
		sum      Summary
		batch    []Message
		failures []string
		firstBad error
	)
	flush := func() error {
		if err := f.emitAll(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	corr := EventID(f.Name, hash, -1, -1)
	lastProgress := time.Now()
	var posted map[string]bool // interchanges of which records were posted (acknowledgements)
	if report != nil {
		posted = map[string]bool{}
	}
	for idx := -1; ; {
		if time.Since(lastProgress) >= 10*time.Second {
			log.Info("progress", "records", idx+1, "of", nrec, "events", sum.Events)
			lastProgress = time.Now()
		}
		record, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pl Placer
			if report == nil || hr.err != nil || !errors.As(err, &pl) {
				// The validation pass succeeded, so this is an I/O problem
				// (or the file changed): retried either way.
				if hr.err != nil {
					err = hr.err
				}
				return sum, fmt.Errorf("%w: re-read %s after %d bytes: %w; it is read again later", errTransfer, info.Path, hr.n, err)
			}
			// A problem of the input, which the acknowledgement reports.
			if record.Format == "" {
				continue
			}
		}
		idx++
		// A full batch goes out only once the next record has been read:
		// the last record before a transfer that ends early (and may be
		// cut off) is never emitted before the end of the file is checked.
		if len(batch) >= f.BatchSize {
			if err := flush(); err != nil {
				return f.emitFailed(ctx, c, rec, err)
			}
		}
		parserIndex := record.Pos.Index
		record.Pos.Index = idx
		if record.Pos.File == "" {
			record.Pos.File = info.Name
		}
		if resent != nil {
			if ic, ok := InterchangeOf(record); ok && resent[ic.Key()] != nil {
				sum.DuplicateRecords++
				continue
			}
		}
		// The same interchange again later in this file: not posted twice.
		if found != nil && !f.DuplicateInterchanges.Allow && record.Interchange != 0 {
			if ic, ok := InterchangeOf(record); ok {
				if fi := found.byKey[ic.Key()]; fi != nil && fi.seg != 0 && fi.seg != record.Interchange {
					if fi.warnedAt != record.Interchange {
						fi.warnedAt = record.Interchange
						log.Warn("interchange repeated in the file; its records are not posted again", "interchange", ic.String(),
							"first_at_segment", fi.seg, "again_at_segment", record.Interchange)
					}
					sum.DuplicateRecords++
					continue
				}
			}
		}
		if report != nil {
			if why, ok := report.Rejected[parserIndex]; ok {
				sum.Rejected++
				cause := &RejectedError{Pos: record.Pos, Reason: why}
				failures = addFailure(failures, cause.Error())
				if firstBad == nil {
					firstBad = cause
				}
				if f.DeadLetter != "" {
					batch = append(batch, f.deadLetter(record, cause, info.Name, hash))
					sum.DeadLetters++
				}
				log.Warn("transaction set rejected by its acknowledgement; not posted", "place", record.Pos.String(), "reason", why)
				continue
			}
			if ic, ok := InterchangeOf(record); ok {
				posted[ic.Key()] = true
			}
		}
		events, merr := f.mapRecord(record)
		if errors.Is(merr, ErrNoMapping) {
			sum.Skipped++
			continue
		}
		if merr != nil {
			sum.DeadLetters++
			failures = addFailure(failures, merr.Error())
			if firstBad == nil {
				firstBad = merr
			}
			if f.DeadLetter != "" {
				batch = append(batch, f.deadLetter(record, merr, info.Name, hash))
			}
			log.Warn("record failed mapping; dead-lettered", "place", record.Pos.String(), "err", merr)
		}
		for i, ev := range events {
			ev.ID = EventID(f.Name, hash, idx, i)
			ev.Source = f.EventSource
			if ev.Time.IsZero() {
				ev.Time = info.ModTime
			}
			if ev.Extensions == nil {
				ev.Extensions = map[string]string{}
			}
			ev.Extensions["correlationid"] = corr
			batch = append(batch, ev.Message(f.Topic))
			sum.Events++
		}
	}
	closed = true
	if err := f.finishRead(ctx, c, hr, r, nbytes); err != nil {
		return sum, err
	}
	var ackDocs []AckDocument
	if report != nil {
		msgs, docs, err := f.ackMessages(report, info, hash, corr)
		if err != nil {
			return sum, err
		}
		batch = append(batch, msgs...)
		sum.Acks, ackDocs = len(msgs), docs
	}
	if err := flush(); err != nil {
		return f.emitFailed(ctx, c, rec, err)
	}
	if report != nil {
		f.Metrics.acknowledged(f.Name, ackDocs, sum.Rejected)
	}
	rec.Events = sum.Events
	rec.Failed = sum.DeadLetters
	rec.Resent = sum.DuplicateRecords
	if report != nil && (len(failures) > 0 || perr != nil) {
		// Something was posted: those interchanges are delivered.
		if il != nil && len(posted) > 0 {
			if err := f.recordInterchanges(il, found, resent, posted, info.Name, hash); err != nil {
				return Summary{}, fmt.Errorf("ledger: %w; the file is processed again (same event ids)", err)
			}
		}
		if perr != nil && firstBad == nil {
			firstBad = perr
		}
		if perr != nil {
			failures = addFailure(failures, perr.Error())
		}
	}
	if len(failures) > 0 {
		s, err := f.quarantine(ctx, c, rec, firstBad, failures)
		s.Events, s.DeadLetters, s.Skipped, s.DuplicateRecords = sum.Events, sum.DeadLetters, sum.Skipped, sum.DuplicateRecords
		s.Rejected, s.Acks = sum.Rejected, sum.Acks
		return s, err
	}
	changed := ""
	if st, ok := c.(Stater); ok {
		if now, err := st.Stat(ctx); err == nil && now.Size != nbytes {
			changed = fmt.Sprintf("%d bytes read, now %d", nbytes, now.Size)
		}
	}
	if changed == "" && (hr.n != nbytes || hex.EncodeToString(hr.h.Sum(nil)) != hash) {
		changed = fmt.Sprintf("%d bytes validated, %d bytes with other content emitted", nbytes, hr.n)
	}
	if changed != "" {
		err := fmt.Errorf("%w (%s): its writer was still writing; the events of what was read were published", errChanged, changed)
		s, qerr := f.quarantine(ctx, c, rec, err, nil)
		s.Events, s.Skipped, s.DuplicateRecords = sum.Events, sum.Skipped, sum.DuplicateRecords
		return s, qerr
	}
	// Every event was acknowledged: the interchanges posted count as
	// delivered from now on. Recorded before the file is archived, with
	// this file's hash, so a retry or a crash before the archive re-posts
	// them (same ids) rather than taking them for duplicates of themselves.
	if il != nil && len(found.order) > 0 {
		if err := f.recordInterchanges(il, found, resent, nil, info.Name, hash); err != nil {
			return Summary{}, fmt.Errorf("ledger: %w; the file is processed again (same event ids)", err)
		}
	}
	if len(resent) > 0 {
		rec.Reason = resentReason(found, resent)
	}
	to, err := c.Archive(ctx)
	if err != nil {
		return Summary{}, err
	}
	rec.Outcome, rec.MovedTo, rec.Finished = OutcomeArchived, to, f.Now().UTC()
	log.Info("file delivered", "records", nrec, "events", sum.Events, "skipped", sum.Skipped, "not_posted_again", sum.DuplicateRecords,
		"archived_to", to, "took", f.Now().Sub(start).Round(time.Millisecond))
	f.notifyResent(ctx, found, resent, info.Name, hash)
	f.Metrics.file(f.Name, OutcomeArchived)
	sum.Files, sum.Archived = 1, 1
	if f.Ledger != nil {
		if err := f.Ledger.Put(rec); err != nil {
			return sum, fmt.Errorf("ledger: %w", err)
		}
	}
	return sum, nil
}

// validate reads the whole file once: it hashes it, counts its records and
// stops at the first parse error; with ics set it also lists the
// interchanges of the records read.
func (f *Flow) validate(ctx context.Context, c FileClaim, ics *fileInterchanges) (hash string, n int, size int64, parseErr, err error) {
	r, err := c.Open(ctx)
	if err != nil {
		return "", 0, 0, nil, fmt.Errorf("open %s: %w", c.Info().Path, err)
	}
	hr := &hashingReader{r: r, h: sha256.New()}
	rr := f.Parser.NewReader(hr, c.Info().Name)
	last := time.Now()
	stuck, at := 0, int64(-1) // errors in a row without progress
	for {
		record, rerr := rr.Read()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			var pl Placer
			if hr.err == nil && !errors.As(rerr, &pl) && isTransient(rerr) {
				r.Close()
				return "", n, 0, nil, rerr
			}
			// A transport error (hr.err) is dealt with by finishRead,
			// however the parser wrapped it.
			if parseErr == nil {
				parseErr = rerr
			}
			// With acknowledgements, reading goes on: the acknowledgement
			// says which sets the problems reject.
			if f.Acks == nil || hr.err != nil || pl == nil {
				break
			}
			if hr.n == at {
				if stuck++; stuck >= 1000 {
					break // a parser that does not get past its error
				}
			} else {
				stuck, at = 0, hr.n
			}
			if record.Format == "" {
				continue
			}
		}
		if ics != nil {
			ics.add(record)
		}
		n++
		if n%1024 == 0 {
			if ctx.Err() != nil {
				r.Close()
				return "", n, 0, nil, ctx.Err()
			}
			if time.Since(last) >= 10*time.Second {
				f.Logger.Info("validating", "file", c.Info().Name, "records", n, "bytes", hr.n, "of", c.Info().Size)
				last = time.Now()
			}
		}
	}
	// Hash the whole file even when parsing stopped early; a cut transfer
	// is retried whatever the parser made of it.
	if err := f.finishRead(ctx, c, hr, r, c.Info().Size); err != nil {
		return "", n, 0, nil, err
	}
	return hex.EncodeToString(hr.h.Sum(nil)), n, hr.n, parseErr, nil
}

// maxReported caps the failures listed in one NAME.error.json.
const maxReported = 100

// errChanged quarantines files that grew or shrank after they were claimed.
var errChanged = errors.New("the file changed after it was picked up")

// errEmpty quarantines files without a single record.
var errEmpty = errors.New("the file holds no records (empty, blank, or a truncated transfer); nothing was published")

// fileProblem reports errors opening a claimed file that retrying cannot
// fix: no permission, or a link that leads outside the drop folder.
func fileProblem(err error) bool {
	return errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "path escapes from parent") ||
		strings.Contains(err.Error(), "not a regular file")
}

// rejected reports emitter errors that say the messages themselves were
// refused (too large, say), so retrying the same file cannot succeed.
func rejected(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && !t.Temporary()
}

type rejectedError struct{ err error }

func (e *rejectedError) Error() string {
	return "Kafka refused messages of this file: " + e.err.Error()
}
func (e *rejectedError) Unwrap() error { return e.err }

// emitFailed quarantines a file whose messages Kafka refused for what they
// are; any other emit failure is returned (transient: the file is retried).
func (f *Flow) emitFailed(ctx context.Context, c FileClaim, rec FileRecord, err error) (Summary, error) {
	var re *rejectedError
	if errors.As(err, &re) {
		return f.quarantine(ctx, c, rec, re, nil)
	}
	return Summary{}, err
}

// isTransient reports errors that are about reading, not about the content.
func isTransient(err error) bool {
	var pe interface{ Timeout() bool }
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrClosedPipe) || errors.As(err, &pe)
}

func (f *Flow) mapRecord(rec Record) ([]Event, error) {
	for _, m := range f.Mappers {
		if s, ok := m.(Skipper); ok && !s.Applies(rec) {
			continue
		}
		return m.Map(rec)
	}
	return nil, ErrNoMapping
}

func (f *Flow) deadLetter(rec Record, cause error, file, hash string) Message {
	stage := "mapping"
	var rj *RejectedError
	if errors.As(cause, &rj) {
		stage = "acknowledgement"
	}
	v, _ := json.Marshal(rec)
	truncated := false
	if len(v) > maxDeadLetter {
		// Kafka would refuse it (1 MB by default) and the reason would be
		// lost with it: the record stays whole in the quarantined file.
		v, _ = json.Marshal(map[string]any{"format": rec.Format, "type": rec.Type, "position": rec.Pos,
			"envelope": rec.Envelope, "truncated": true, "bytes": len(v),
			"note": "the record is too large for a dead letter; it is in the quarantined file " + file})
		truncated = true
	}
	h := []Header{
		{Key: "__connect.errors.exception.message", Value: []byte(cause.Error())},
		{Key: "__connect.errors.connector.name", Value: []byte(f.Name)},
		{Key: "__connect.errors.stage", Value: []byte(stage)},
		{Key: "x-bridge-flow", Value: []byte(f.Name)},
		{Key: "x-bridge-stage", Value: []byte(stage)},
		{Key: "x-bridge-error", Value: []byte(cause.Error())},
		{Key: "x-bridge-source-file", Value: []byte(file)},
		{Key: "x-bridge-source-sha256", Value: []byte(hash)},
		{Key: "x-bridge-place", Value: []byte(rec.Pos.String())},
		{Key: "x-bridge-record-index", Value: []byte(strconv.Itoa(rec.Pos.Index))},
		{Key: "content-type", Value: []byte("application/json")},
	}
	if truncated {
		h = append(h, Header{Key: "x-bridge-truncated", Value: []byte("true")})
	}
	return Message{Topic: f.DeadLetter, Key: []byte(file + "#" + strconv.Itoa(rec.Pos.Index)), Headers: h, Value: v}
}

// maxDeadLetter is the largest record a dead letter carries whole: below
// Kafka's default 1 MB message limit, with room for the headers.
const maxDeadLetter = 900 << 10

func (f *Flow) quarantine(ctx context.Context, c FileClaim, rec FileRecord, cause error, all []string) (Summary, error) {
	info := c.Info()
	rep := QuarantineReport{Flow: f.Name, File: info.Name, Reason: cause.Error(), Errors: all, Time: f.Now().UTC(), Hash: rec.Hash}
	var pl Placer
	if errors.As(cause, &pl) {
		p := pl.Place()
		if p.File == "" {
			p.File = info.Name
		}
		rep.Place = &p
	}
	var re *rejectedError
	var rj *RejectedError
	switch {
	case errors.As(cause, &rj):
		rep.Next = "the transaction sets listed were rejected in the acknowledgement sent to the partner (the accepted ones were posted" +
			"; rejected ones are in the dead-letter topic " + f.DeadLetter + "); the partner re-sends them corrected in a new interchange" +
			" (a new ISA13 / UNB 0020) — if it does not, ask it to. An interchange of which anything was posted counts as delivered:" +
			" dropping this file again, even corrected, posts nothing of it; to post corrected sets by hand, put them in an interchange" +
			" with a new control number"
	case len(all) > 0:
		rep.Next = "the records listed failed mapping and were sent to the dead-letter topic " + f.DeadLetter +
			"; fix the mapping or the data, then drop the file again"
	case errors.As(cause, &re):
		rep.Next = "Kafka refused these messages (see the reason); fix the cause (message size, topic policy or ACLs), then drop the file again"
	case errors.Is(cause, errChanged):
		rep.Next = "have the sender write a done marker (done_suffix) or raise min_age above its longest pause, then drop the complete file again"
	case errors.Is(cause, errEmpty):
		rep.Next = "check that the sender's transfer completed, then drop the complete file again"
	case rep.Place == nil:
		rep.Next = "fix the cause given, then drop the file again"
	default:
		rep.Next = "fix the file at the place given (or ask the sender for a corrected one) and drop it again"
	}
	to, err := c.Quarantine(ctx, rep)
	if err != nil {
		return Summary{}, err
	}
	f.Logger.Error("file quarantined", "file", info.Name, "reason", cause.Error(), "moved_to", to)
	f.Metrics.file(f.Name, OutcomeQuarantined)
	rec.Outcome, rec.Reason, rec.MovedTo, rec.Finished = OutcomeQuarantined, cause.Error(), to, f.Now().UTC()
	if f.Ledger != nil {
		if err := f.Ledger.Put(rec); err != nil {
			return Summary{Files: 1, Quarantined: 1}, fmt.Errorf("ledger: %w", err)
		}
	}
	return Summary{Files: 1, Quarantined: 1}, nil
}

// fileInterchanges lists the interchanges of one file, in file order.
type fileInterchanges struct {
	order []string // keys
	byKey map[string]*fileInterchange
	keyed int // records that belong to an interchange
}

// fileInterchange is one interchange of a file.
type fileInterchange struct {
	ic       Interchange
	envelope map[string]string // of its first record
	records  int
	first    InterchangeRecord // set when it was delivered before
	seg      int               // segment number of its (first) header, 0 = unknown
	warnedAt int               // the repeat last logged
}

func (fi *fileInterchanges) add(rec Record) {
	ic, ok := InterchangeOf(rec)
	if !ok {
		return
	}
	fi.keyed++
	k := ic.Key()
	if x := fi.byKey[k]; x != nil {
		x.records++
		return
	}
	fi.order = append(fi.order, k)
	fi.byKey[k] = &fileInterchange{ic: ic, envelope: rec.Envelope, records: 1, seg: rec.Interchange}
}

// interchangeLedger returns the ledger that remembers interchanges, or nil
// when the check is off (or the ledger cannot, which is said once).
func (f *Flow) interchangeLedger() InterchangeLedger {
	if f.DuplicateInterchanges.Window <= 0 || f.Ledger == nil {
		return nil
	}
	il, ok := f.Ledger.(InterchangeLedger)
	if !ok && !f.icWarned {
		f.icWarned = true
		f.Logger.Warn("the ledger cannot remember EDI interchanges, so re-sent interchanges are not recognised (only identical files are)",
			"ledger", fmt.Sprintf("%T", f.Ledger))
	}
	return il
}

// resent returns the interchanges of the file that were delivered within
// the window by another file (content hash): a record made by this very
// content is an earlier attempt at this file that was cut off before the
// archive, and is posted again.
func (f *Flow) resent(il InterchangeLedger, found *fileInterchanges, hash string) (map[string]*fileInterchange, error) {
	prev, err := il.Interchanges(f.Name, found.order)
	if err != nil {
		return nil, err
	}
	since := f.Now().Add(-f.DuplicateInterchanges.Window)
	out := map[string]*fileInterchange{}
	for k, p := range prev {
		x := found.byKey[k]
		if x == nil || p.Hash == hash || !p.Delivered.After(since) {
			continue
		}
		x.first = p
		out[k] = x
	}
	return out, nil
}

// recordInterchanges records the interchanges of the file that were posted.
func (f *Flow) recordInterchanges(il InterchangeLedger, found *fileInterchanges, resent map[string]*fileInterchange, only map[string]bool, file, hash string) error {
	now := f.Now().UTC()
	var recs []InterchangeRecord
	for _, k := range found.order {
		if resent[k] != nil || only != nil && !only[k] {
			continue
		}
		recs = append(recs, InterchangeRecord{Key: k, Name: found.byKey[k].ic.String(), File: file, Hash: hash, Delivered: now})
	}
	if len(recs) == 0 {
		return nil
	}
	if err := il.PutInterchanges(f.Name, recs); err != nil {
		return err
	}
	// Forget interchanges outside the window, at most once a day (a ledger
	// that cannot keeps them; they only take room).
	if p, ok := il.(interchangePruner); ok && now.Sub(f.icPruned) >= 24*time.Hour {
		f.icPruned = now
		n, err := p.PruneInterchanges(f.Name, now.Add(-f.DuplicateInterchanges.Window))
		if err != nil {
			f.Logger.Warn("forgetting interchanges older than the window failed; tried again tomorrow", "err", err)
		} else if n > 0 {
			f.Logger.Info("forgot interchanges delivered before the window", "interchanges", n, "window", f.DuplicateInterchanges.Window)
		}
	}
	return nil
}

// interchangePruner is implemented by interchange ledgers that can forget
// deliveries older than a cutoff.
type interchangePruner interface {
	PruneInterchanges(flow string, cutoff time.Time) (int, error)
}

// resentFile archives a file whose interchanges were all delivered before.
func (f *Flow) resentFile(ctx context.Context, c FileClaim, rec FileRecord, found *fileInterchanges, report *AckReport) (Summary, error) {
	acks := 0
	if report != nil && f.Acks.Resent {
		msgs, docs, err := f.ackMessages(report, c.Info(), rec.Hash, EventID(f.Name, rec.Hash, -1, -1))
		if err != nil {
			return Summary{}, err
		}
		if err := f.emitAll(ctx, msgs); err != nil {
			return f.emitFailed(ctx, c, rec, err)
		}
		f.Metrics.acknowledged(f.Name, docs, 0)
		acks = len(msgs)
	}
	to, err := c.Archive(ctx)
	if err != nil {
		return Summary{}, err
	}
	resent := found.byKey
	rec.Outcome, rec.MovedTo, rec.Finished = OutcomeDuplicate, to, f.Now().UTC()
	rec.Resent = found.keyed
	rec.Reason = resentReason(found, resent)
	f.Logger.Info("every interchange of the file was delivered before; nothing posted", "file", rec.File,
		"interchanges", len(found.order), "records", found.keyed, "archived_to", to)
	f.Metrics.file(f.Name, OutcomeDuplicate)
	f.notifyResent(ctx, found, resent, rec.File, rec.Hash)
	sum := Summary{Files: 1, Duplicates: 1, DuplicateRecords: found.keyed, Acks: acks}
	if err := f.Ledger.Put(rec); err != nil {
		return sum, fmt.Errorf("ledger: %w", err)
	}
	return sum, nil
}

// resentReason says which interchanges were not posted again, and where
// they were delivered first (the first three named).
func resentReason(found *fileInterchanges, resent map[string]*fileInterchange) string {
	var parts []string
	n := 0
	for _, k := range found.order {
		d := resent[k]
		if d == nil {
			continue
		}
		n++
		if len(parts) < 3 {
			parts = append(parts, fmt.Sprintf("%s (delivered in %s at %s)", d.ic, d.first.File, d.first.Delivered.UTC().Format(time.RFC3339)))
		}
	}
	more := ""
	if n > len(parts) {
		more = fmt.Sprintf(" and %d more", n-len(parts))
	}
	return fmt.Sprintf("%d of %d interchange(s) delivered before, not posted again: %s%s", n, len(found.order), strings.Join(parts, "; "), more)
}

// notifyResent hands each interchange not posted again to OnDuplicate.
func (f *Flow) notifyResent(ctx context.Context, found *fileInterchanges, resent map[string]*fileInterchange, file, hash string) {
	h := f.DuplicateInterchanges.OnDuplicate
	if h == nil || len(resent) == 0 {
		return
	}
	for _, k := range found.order {
		d := resent[k]
		if d == nil {
			continue
		}
		err := h(ctx, DuplicateInterchange{Interchange: d.ic, Flow: f.Name, File: file, Hash: hash,
			Records: d.records, Envelope: d.envelope, First: d.first})
		if err != nil {
			f.Logger.Error("handling a re-sent interchange failed (OnDuplicate); not retried", "file", file, "interchange", d.ic.String(), "err", err)
		}
	}
}
