package cdc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"legacybridge"
)

// Config configures a Source.
type Config struct {
	// Flow names the flow; positions are stored under it (required).
	Flow string
	// DB is the database (required); Dialect its dialect (required).
	DB      *sql.DB
	Dialect Dialect
	// Store keeps positions (required).
	Store *Store
	// Tables to capture (at least one).
	Tables []Table
	// Journal is the journal table the triggers write (StrategyJournal),
	// TABLE or SCHEMA.TABLE. Default "LB_JOURNAL".
	Journal string
	// BatchSize is the most changes one Read returns. Default 500.
	BatchSize int
	// PollInterval is the wait between polls when nothing changed.
	// Default 1s.
	PollInterval time.Duration
	// SafetyLag is subtracted from the transaction horizon (see Horizon):
	// it covers clock steps and second-precision DATE columns. Default 2s;
	// negative means none.
	SafetyLag time.Duration
	// TimeZone is the zone in which the database writes date/times that
	// carry none (Oracle DATE, which EBS fills with SYSDATE in the
	// server's zone; PostgreSQL timestamp; SQLite text). Default UTC.
	TimeZone *time.Location
	// ReconcileEvery is how often polled tables check their delivered keys
	// for deleted rows. Default 10m; negative disables it.
	ReconcileEvery time.Duration
	// LOBStore keeps the large objects of tables with LOBReference
	// (required for them).
	LOBStore *LOBStore
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// Source captures the changes of the configured tables. Read returns
// batches; a batch's ack stores its position once every batch before it
// was acknowledged too (positions advance only to the highest position
// below which everything is acknowledged). A negative ack (or a failure to
// store) rewinds the source to the last stored position: the changes come
// again, with the same event ids.
//
// Read is called from one goroutine; acks, Resnapshot and Status may come
// from others.
type Source struct {
	cfg     Config
	d       Dialect
	db      *sql.DB
	loc     *time.Location
	log     *slog.Logger
	journal Name
	tables  []*table
	byType  map[string]*table

	opened  bool
	horizon horizonTracker
	safe    time.Time
	dbNow   time.Time
	rr      int
	jq      journalQueries

	mu       sync.Mutex
	inflight []*batch
	gen      uint64
	rewind   bool
	requests map[string]bool
	pending  map[string]map[string]int // table → encoded key → in-flight changes (op detection, reconciliation)
	status   map[string]TableStatus
	closed   bool

	requestDirWarned bool
}

var _ interface {
	Read(ctx context.Context) ([]Change, legacybridge.AckFunc, error)
	Close() error
} = (*Source)(nil)

// NewSource checks cfg and returns a source. It does not touch the
// database: the first Read does.
func NewSource(cfg Config) (*Source, error) {
	var errs []error
	if cfg.Flow == "" {
		errs = append(errs, errors.New("cdc: no flow name"))
	}
	if cfg.DB == nil {
		errs = append(errs, errors.New("cdc: no database"))
	}
	if cfg.Dialect == nil {
		errs = append(errs, errors.New("cdc: no dialect"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("cdc: no position store"))
	}
	if len(cfg.Tables) == 0 {
		errs = append(errs, errors.New("cdc: no tables"))
	}
	if cfg.Journal == "" {
		cfg.Journal = "LB_JOURNAL"
	}
	j, err := ParseName(cfg.Journal)
	if err != nil {
		errs = append(errs, fmt.Errorf("cdc: journal: %w", err))
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	switch {
	case cfg.SafetyLag == 0:
		cfg.SafetyLag = 2 * time.Second
	case cfg.SafetyLag < 0:
		cfg.SafetyLag = 0
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.ReconcileEvery == 0 {
		cfg.ReconcileEvery = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Source{cfg: cfg, d: cfg.Dialect, db: cfg.DB, loc: cfg.TimeZone, journal: j,
		byType: map[string]*table{}, requests: map[string]bool{}, pending: map[string]map[string]int{},
		status: map[string]TableStatus{}}
	s.log = cfg.Logger.With("flow", cfg.Flow)
	s.horizon.lag = cfg.SafetyLag
	for i, tc := range cfg.Tables {
		t, err := newTable(tc, cfg.ReconcileEvery)
		if err != nil {
			errs = append(errs, fmt.Errorf("cdc: tables[%d]: %w", i, err))
			continue
		}
		if s.byType[t.typ] != nil {
			errs = append(errs, fmt.Errorf("cdc: table %s is listed twice", t.typ))
			continue
		}
		if t.cfg.LOBs == LOBReference && cfg.LOBStore == nil {
			errs = append(errs, fmt.Errorf("cdc: table %s: lobs: reference needs a large object store (Config.LOBStore)", t.typ))
		}
		s.byType[t.typ] = t
		s.tables = append(s.tables, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func newTable(tc Table, reconcileEvery time.Duration) (*table, error) {
	n, err := ParseName(tc.Name)
	if err != nil {
		return nil, err
	}
	if tc.Strategy == "" {
		tc.Strategy = StrategyPoll
	}
	if tc.LOBs == "" {
		tc.LOBs = LOBSkip
	}
	if tc.Snapshot == "" {
		tc.Snapshot = SnapshotInitial
	}
	if tc.MaxLOBBytes <= 0 {
		tc.MaxLOBBytes = 1 << 20
	}
	if tc.Reconcile == 0 {
		tc.Reconcile = reconcileEvery
	}
	t := &table{cfg: tc, name: n, typ: n.Type(), reconcile: tc.Reconcile, maxLOB: tc.MaxLOBBytes}
	var errs []error
	switch tc.Strategy {
	case StrategyPoll:
		if tc.ChangeColumn == "" {
			errs = append(errs, fmt.Errorf("table %s: polling needs change_column (EBS: LAST_UPDATE_DATE)", n))
		}
	case StrategyJournal:
		if tc.ChangeColumn != "" || tc.CreatedColumn != "" {
			errs = append(errs, fmt.Errorf("table %s: change_column and created_column are for polling only", n))
		}
	case StrategyLogMiner:
		errs = append(errs, fmt.Errorf("table %s: the logminer strategy is a source of its own (cdc/oracle LogMinerSource, tested against a fake driver only) and not part of this source; use poll or journal", n))
	default:
		errs = append(errs, fmt.Errorf("table %s: unknown strategy %q (poll or journal)", n, tc.Strategy))
	}
	if tc.LOBs == LOBInclude {
		tc.LOBs = LOBInline
		t.cfg.LOBs = LOBInline
	}
	switch tc.LOBs {
	case LOBSkip, LOBInline, LOBReference:
	default:
		errs = append(errs, fmt.Errorf("table %s: unknown lobs %q (skip, inline or reference)", n, tc.LOBs))
	}
	switch tc.Snapshot {
	case SnapshotInitial, SnapshotNone:
	default:
		errs = append(errs, fmt.Errorf("table %s: unknown snapshot %q (initial or none)", n, tc.Snapshot))
	}
	if len(tc.Key) == 0 {
		errs = append(errs, fmt.Errorf("table %s: no key columns", n))
	}
	check := func(what, c string) {
		if err := CheckIdent(c); err != nil {
			errs = append(errs, fmt.Errorf("table %s: %s: %w", n, what, err))
		}
	}
	for _, k := range tc.Key {
		check("key", k)
		t.keyNames = append(t.keyNames, columnName(k))
	}
	for _, c := range tc.Columns {
		check("columns", c)
	}
	if tc.ChangeColumn != "" {
		check("change_column", tc.ChangeColumn)
		t.change = columnName(tc.ChangeColumn)
	}
	if tc.CreatedColumn != "" {
		check("created_column", tc.CreatedColumn)
		t.created = columnName(tc.CreatedColumn)
	}
	t.lobCols = map[string]bool{}
	for _, c := range tc.LOBColumns {
		check("lob_columns", c)
		t.lobCols[columnName(c)] = true
		for _, k := range t.keyNames {
			if k == columnName(c) {
				errs = append(errs, fmt.Errorf("table %s: key column %s cannot be a large object (lob_columns)", n, k))
			}
		}
	}
	return t, errors.Join(errs...)
}

// open discovers the tables and loads their positions.
func (s *Source) open(ctx context.Context) error {
	journal := false
	for _, t := range s.tables {
		if err := t.discover(ctx, s.db, s.d); err != nil {
			return err
		}
		if t.cfg.Strategy == StrategyJournal {
			journal = true
		}
	}
	if journal {
		s.jq = newJournalQueries(s.d, s.journal)
		if err := s.checkJournal(ctx); err != nil {
			return err
		}
	}
	if err := s.loadStates(); err != nil {
		return err
	}
	s.opened = true
	return nil
}

func (s *Source) loadStates() error {
	for _, t := range s.tables {
		st, _, err := s.cfg.Store.load(s.cfg.Flow, t.typ)
		if err != nil {
			return err
		}
		t.state = st
		if err := t.decodeAttempts(); err != nil {
			return fmt.Errorf("cdc: state of %s: %w", t.typ, err)
		}
		if st.Resnapshot {
			s.mu.Lock()
			s.requests[t.typ] = true
			s.mu.Unlock()
		}
	}
	reqs, err := s.cfg.Store.requests(s.cfg.Flow)
	if err != nil {
		return fmt.Errorf("cdc: re-snapshot requests of %s: %w", s.cfg.Flow, err)
	}
	for _, r := range reqs {
		if s.byType[r] == nil {
			s.log.Warn("stored re-snapshot request of a table the capture does not have; ignored", "table", r)
			continue
		}
		s.mu.Lock()
		s.requests[r] = true
		s.mu.Unlock()
	}
	return nil
}

// Read returns the next batch of changes, waiting (PollInterval between
// polls) until there is one or ctx is done. A batch may hold no changes
// when it only moves a position (rows the snapshot already delivered,
// journal rows it already covered); ack it all the same.
func (s *Source) Read(ctx context.Context) ([]Change, legacybridge.AckFunc, error) {
	for {
		b, err := s.next(ctx)
		if err != nil {
			return nil, nil, err
		}
		if b != nil {
			return b.changes, s.ackFunc(b), nil
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// next makes one pass over the tables and returns the first batch found,
// or nil.
func (s *Source) next(ctx context.Context) (*batch, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("cdc: source is closed")
	}
	rewind := s.rewind
	s.rewind = false
	s.mu.Unlock()
	if rewind && s.opened {
		if err := s.reset(); err != nil {
			return nil, err
		}
	}
	s.takeRequests()
	if !s.opened {
		if err := s.open(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.sampleHorizon(ctx); err != nil {
		return nil, err
	}
	if err := s.startSnapshots(ctx); err != nil {
		return nil, err
	}
	streams := len(s.tables) + 1 // every table, then the journal
	for i := range streams {
		k := (s.rr + i) % streams
		var b *batch
		var err error
		if k == len(s.tables) {
			b, err = s.journalNext(ctx)
		} else {
			b, err = s.tableNext(ctx, s.tables[k])
		}
		if err != nil {
			return nil, err
		}
		if b != nil {
			s.rr = k + 1
			s.push(b)
			s.updateStatus()
			return b, nil
		}
	}
	s.updateStatus()
	return nil, nil
}

func (s *Source) sampleHorizon(ctx context.Context) error {
	h, err := s.d.Horizon(ctx, s.db)
	if err != nil {
		c := s.d.Classify(err)
		if c.Kind == ErrBusy {
			s.log.Debug("transaction horizon not sampled (database busy); using the previous one", "err", err)
			return nil
		}
		return &Error{Op: "horizon", Class: c, Err: err}
	}
	s.dbNow = h.Now
	s.safe = s.horizon.observe(h)
	return nil
}

func (s *Source) tableNext(ctx context.Context, t *table) (*batch, error) {
	if t.state.Snap != nil && !t.state.Snap.Done {
		if t.cfg.Strategy == StrategyJournal {
			return s.journalSnapshot(ctx, t)
		}
		return s.pollSnapshot(ctx, t)
	}
	if t.cfg.Strategy != StrategyPoll || !t.started() {
		return nil, nil
	}
	if b, err := s.reconcileNext(ctx, t); b != nil || err != nil {
		return b, err
	}
	return s.poll(ctx, t)
}

func (t *table) started() bool { return t.state.Snap != nil || t.state.Cursor != nil }

// startSnapshots begins initial snapshots of new tables and requested
// re-snapshots of tables with nothing in flight. The start (generation,
// boundary) is stored at once: a restart must continue the same snapshot,
// with the same event ids.
func (s *Source) startSnapshots(ctx context.Context) error {
	s.mu.Lock()
	var reqs []string
	for t := range s.requests {
		reqs = append(reqs, t)
	}
	s.mu.Unlock()
	sort.Strings(reqs)
	for _, t := range s.tables {
		requested := false
		for _, r := range reqs {
			requested = requested || r == t.typ
		}
		if t.started() && !requested {
			continue
		}
		if s.busy(t.typ) {
			continue
		}
		if t.cfg.Strategy == StrategyPoll && s.safe.IsZero() {
			continue // no safe boundary yet
		}
		now := time.Now().UTC()
		st := t.state.clone()
		st.Resnapshot = false
		switch {
		case !requested && t.cfg.Snapshot == SnapshotNone && t.cfg.Strategy == StrategyPoll:
			st.Cursor = &cursorState{Floor: s.safe}
		case !requested && t.cfg.Snapshot == SnapshotNone:
			st.Snap = &snapState{Gen: "none", Done: true, Started: now}
		default:
			st.Snap = &snapState{Gen: newGen(now), Started: now, Requested: requested && t.started()}
			if t.cfg.Strategy == StrategyPoll {
				st.Snap.Boundary = s.safe
			}
		}
		if t.jsnap != nil {
			t.jsnap.close()
			t.jsnap = nil
		}
		if err := s.cfg.Store.startSnapshot(s.cfg.Flow, t.typ, st); err != nil {
			return err
		}
		t.state = st
		if err := t.decodeAttempts(); err != nil {
			return err
		}
		s.mu.Lock()
		delete(s.requests, t.typ)
		s.mu.Unlock()
		if st.Snap != nil && !st.Snap.Done {
			s.log.Info("snapshot started", "table", t.typ, "generation", st.Snap.Gen, "requested", requested)
		}
	}
	return nil
}

func newGen(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Resnapshot asks for a new snapshot of one table of the running source
// (in process; `legacybridge cdc resnapshot` reaches it through a request
// file, see the package function Resnapshot). The request is stored at
// once, so a restart before the snapshot starts still makes it. It
// starts once the table's batches in flight are acknowledged; meanwhile
// and during the snapshot the table's stream waits, then continues
// without gap or double.
func (s *Source) Resnapshot(table string) error {
	n, err := ParseName(table)
	if err != nil {
		return fmt.Errorf("cdc: resnapshot: %w", err)
	}
	if s.byType[n.Type()] == nil {
		return fmt.Errorf("cdc: resnapshot: flow %s does not capture %s", s.cfg.Flow, n.Type())
	}
	if err := s.cfg.Store.putRequest(s.cfg.Flow, n.Type(), "api"); err != nil {
		return err
	}
	s.mu.Lock()
	s.requests[n.Type()] = true
	s.mu.Unlock()
	return nil
}

// Close ends open snapshot reads. In-flight batches may still be acked.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, t := range s.tables {
		if t.jsnap != nil {
			t.jsnap.close()
			t.jsnap = nil
		}
	}
	return nil
}

// reset drops everything read ahead and reloads the stored positions.
func (s *Source) reset() error {
	for _, t := range s.tables {
		if t.jsnap != nil {
			t.jsnap.close()
			t.jsnap = nil
		}
		t.rec = nil
	}
	s.log.Warn("re-reading from the last stored position (a batch was not delivered)")
	return s.loadStates()
}

// busy reports whether table has batches in flight.
func (s *Source) busy(table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.inflight {
		if b.touches(table) {
			return true
		}
	}
	return false
}

// TableStatus is one table's progress, for heartbeats and health.
type TableStatus struct {
	Table    string    `json:"table"`
	Strategy Strategy  `json:"strategy"`
	Phase    string    `json:"phase"` // new, snapshot, stream
	Position string    `json:"position,omitempty"`
	CaughtUp time.Time `json:"caughtUpTo,omitzero"` // every change before it is read
	Lag      float64   `json:"lagSeconds"`          // database clock minus CaughtUp
	Rows     int64     `json:"snapshotRows,omitempty"`
}

// Status reports every table's progress.
func (s *Source) Status() []TableStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TableStatus, 0, len(s.status))
	for _, t := range s.tables {
		if st, ok := s.status[t.typ]; ok {
			out = append(out, st)
		} else {
			out = append(out, TableStatus{Table: t.typ, Strategy: t.cfg.Strategy, Phase: "new"})
		}
	}
	return out
}

func (s *Source) updateStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tables {
		st := TableStatus{Table: t.typ, Strategy: t.cfg.Strategy, Phase: t.state.phase(), CaughtUp: t.caughtUp}
		if t.state.Cursor != nil {
			st.Position = t.state.Cursor.Text
		}
		if t.state.Snap != nil {
			st.Rows = t.state.Snap.Rows
		}
		if !t.caughtUp.IsZero() && !s.dbNow.IsZero() {
			st.Lag = max(0, s.dbNow.Sub(t.caughtUp).Seconds())
		}
		s.status[t.typ] = st
	}
}
