package legacybridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
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
// retried with capped backoff; they never stop the flow.
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
	backoff := f.PollInterval
	for {
		_, err := f.pollOnce(work, ctx, 0)
		if ctx.Err() != nil {
			return nil
		}
		wait := f.PollInterval
		if err != nil {
			f.Logger.Error("poll failed; retrying", "err", err, "retry_in", backoff)
			f.Metrics.pollError(f.Name)
			wait = backoff
			backoff = min(backoff*2, time.Minute)
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
// left (files still being written are given a few polls to settle).
func (f *Flow) RunOnce(ctx context.Context) (Summary, error) {
	f.defaults()
	var total Summary
	idle := 0
	for {
		s, err := f.pollOnce(ctx, ctx, 5)
		total.Add(s)
		if err != nil {
			return total, err
		}
		if s.Files > 0 {
			idle = 0
		} else {
			idle++
			if f.Files.Pending() == 0 && idle >= 2 || idle > 5 {
				if p := f.Files.Pending(); p > 0 {
					f.Logger.Warn("files left in the drop that never became complete", "files", p)
				}
				return total, nil
			}
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(f.PollInterval):
		}
	}
}

// pollOnce claims files with ctx and processes them with work (which may
// outlive ctx by a grace period); it stops taking new files once stop is done.
func (f *Flow) pollOnce(ctx, stop context.Context, attempts int) (Summary, error) {
	var sum Summary
	claims, err := f.Files.Poll(ctx)
	for _, c := range claims {
		if stop.Err() != nil {
			f.Logger.Info("shutting down; file left claimed for the next start", "file", c.Info().Name)
			continue
		}
		s, perr := f.processWithRetry(ctx, stop, c, attempts)
		sum.Add(s)
		if perr != nil {
			return sum, perr
		}
	}
	return sum, err
}

// processWithRetry retries transient failures (emitter, transport) of one
// file with capped backoff; the file stays claimed meanwhile.
// maxAttempts 0 retries until ctx is done.
func (f *Flow) processWithRetry(ctx, stop context.Context, c FileClaim, maxAttempts int) (Summary, error) {
	backoff := f.RetryBackoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		s, err := f.Process(ctx, c)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil || stop.Err() != nil {
			return s, context.Cause(ctx)
		}
		if maxAttempts > 0 && attempt >= maxAttempts {
			return s, fmt.Errorf("flow %s: %s left in the processing folder after %d attempts (it is retried on the next run): %w", f.Name, c.Info().Name, attempt, err)
		}
		f.Logger.Error("file not finished; retrying", "file", c.Info().Path, "attempt", attempt, "err", err, "retry_in", backoff)
		f.Metrics.retry(f.Name)
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
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

	// Pass 1: hash and validate.
	hash, nrec, perr, err := f.validate(ctx, c)
	if err != nil {
		return Summary{}, err
	}
	rec.Hash, rec.Records = hash, nrec
	if perr != nil {
		return f.quarantine(ctx, c, rec, perr, nil)
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
		rec.Outcome = OutcomeProcessing
		if err := f.Ledger.Put(rec); err != nil {
			return Summary{}, fmt.Errorf("ledger: %w", err)
		}
	}

	// Pass 2: map and emit.
	r, err := c.Open(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("open %s: %w", info.Path, err)
	}
	defer r.Close()
	rr := f.Parser.NewReader(r, info.Name)
	var (
		sum      Summary
		batch    []Message
		failures []string
		firstBad *Position
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		t0 := time.Now()
		if err := f.Emitter.Emit(ctx, batch...); err != nil {
			return fmt.Errorf("emit: %w", err)
		}
		f.Metrics.emitted(f.Name, len(batch), time.Since(t0))
		batch = batch[:0]
		return nil
	}
	corr := EventID(f.Name, hash, -1, -1)
	lastProgress := time.Now()
	for idx := 0; ; idx++ {
		if time.Since(lastProgress) >= 10*time.Second {
			log.Info("progress", "records", idx, "of", nrec, "events", sum.Events)
			lastProgress = time.Now()
		}
		record, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The validation pass succeeded, so this is an I/O problem.
			return sum, fmt.Errorf("re-read %s: %w", info.Path, err)
		}
		record.Pos.Index = idx
		if record.Pos.File == "" {
			record.Pos.File = info.Name
		}
		events, merr := f.mapRecord(record)
		if errors.Is(merr, ErrNoMapping) {
			sum.Skipped++
			continue
		}
		if merr != nil {
			sum.DeadLetters++
			failures = append(failures, merr.Error())
			if firstBad == nil {
				p := record.Pos
				firstBad = &p
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
		if len(batch) >= f.BatchSize {
			if err := flush(); err != nil {
				return Summary{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return Summary{}, err
	}
	rec.Events = sum.Events
	rec.Failed = sum.DeadLetters
	if len(failures) > 0 {
		s, err := f.quarantine(ctx, c, rec, errors.New(failures[0]), failures)
		s.Events, s.DeadLetters, s.Skipped = sum.Events, sum.DeadLetters, sum.Skipped
		return s, err
	}
	to, err := c.Archive(ctx)
	if err != nil {
		return Summary{}, err
	}
	rec.Outcome, rec.MovedTo, rec.Finished = OutcomeArchived, to, f.Now().UTC()
	log.Info("file delivered", "records", nrec, "events", sum.Events, "skipped", sum.Skipped, "archived_to", to, "took", f.Now().Sub(start).Round(time.Millisecond))
	f.Metrics.file(f.Name, OutcomeArchived)
	sum.Files, sum.Archived = 1, 1
	if f.Ledger != nil {
		if err := f.Ledger.Put(rec); err != nil {
			return sum, fmt.Errorf("ledger: %w", err)
		}
	}
	return sum, nil
}

func (f *Flow) validate(ctx context.Context, c FileClaim) (hash string, n int, parseErr, err error) {
	r, err := c.Open(ctx)
	if err != nil {
		return "", 0, nil, fmt.Errorf("open %s: %w", c.Info().Path, err)
	}
	defer r.Close()
	hr := &hashingReader{r: r, h: sha256.New()}
	rr := f.Parser.NewReader(hr, c.Info().Name)
	last := time.Now()
	for {
		_, rerr := rr.Read()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			var pl Placer
			if !errors.As(rerr, &pl) && isTransient(rerr) {
				return "", n, nil, rerr
			}
			parseErr = rerr
			break
		}
		n++
		if n%1024 == 0 {
			if ctx.Err() != nil {
				return "", n, nil, ctx.Err()
			}
			if time.Since(last) >= 10*time.Second {
				f.Logger.Info("validating", "file", c.Info().Name, "records", n, "bytes", hr.n, "of", c.Info().Size)
				last = time.Now()
			}
		}
	}
	// Hash the whole file even when parsing stopped early.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return "", n, nil, fmt.Errorf("read %s: %w", c.Info().Path, err)
	}
	return hex.EncodeToString(hr.h.Sum(nil)), n, parseErr, nil
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
	v, _ := json.Marshal(rec)
	h := []Header{
		{Key: "__connect.errors.exception.message", Value: []byte(cause.Error())},
		{Key: "__connect.errors.connector.name", Value: []byte(f.Name)},
		{Key: "__connect.errors.stage", Value: []byte("mapping")},
		{Key: "x-bridge-flow", Value: []byte(f.Name)},
		{Key: "x-bridge-stage", Value: []byte("mapping")},
		{Key: "x-bridge-error", Value: []byte(cause.Error())},
		{Key: "x-bridge-source-file", Value: []byte(file)},
		{Key: "x-bridge-source-sha256", Value: []byte(hash)},
		{Key: "x-bridge-place", Value: []byte(rec.Pos.String())},
		{Key: "x-bridge-record-index", Value: []byte(strconv.Itoa(rec.Pos.Index))},
		{Key: "content-type", Value: []byte("application/json")},
	}
	return Message{Topic: f.DeadLetter, Key: []byte(file + "#" + strconv.Itoa(rec.Pos.Index)), Headers: h, Value: v}
}

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
	if len(all) > 0 {
		rep.Next = "the records listed failed mapping and were sent to the dead-letter topic " + f.DeadLetter +
			"; fix the mapping or the data, then drop the file again"
	} else {
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
