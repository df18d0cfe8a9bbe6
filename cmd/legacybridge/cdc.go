package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"legacybridge"
	"legacybridge/cdc"
	"legacybridge/cdc/erpsim"
	"legacybridge/cdc/oracle"
	"legacybridge/cdc/postgres"
	"legacybridge/cdc/sqlite"
	"legacybridge/internal/config"
)

// capture is one change-capture flow of the config, built and ready to run.
type capture struct {
	name   string
	cfg    *config.Capture
	db     *sql.DB
	d      cdc.Dialect
	src    *cdc.Source
	runner *cdc.Runner
}

// dialectOf is the dialect registry: one line per database.
func dialectOf(name string) (cdc.Dialect, error) {
	switch name {
	case "sqlite":
		return sqlite.Dialect{}, nil
	case "postgres":
		return postgres.Dialect{}, nil
	case "oracle":
		return oracle.Dialect{}, nil
	}
	return nil, fmt.Errorf("dialect %q is not one of sqlite, postgres, oracle", name)
}

// openDB opens a database of dialect d at dsn (a secret: never logged).
func openDB(d cdc.Dialect, dsn string) (*sql.DB, error) {
	switch d.Name() {
	case "sqlite":
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
		return sqlite.Open(dsn)
	case "postgres":
		return postgres.Open(dsn)
	case "oracle":
		return oracle.OpenDSN(dsn), nil
	}
	return nil, fmt.Errorf("dialect %q is not one of sqlite, postgres, oracle", d.Name())
}

// openCapture opens the capture's database, loading the demo fixture when
// seed_from is set and the tables are missing.
func openCapture(ctx context.Context, p *config.Capture, log *slog.Logger) (*sql.DB, cdc.Dialect, error) {
	d, err := dialectOf(p.Dialect)
	if err != nil {
		return nil, nil, err
	}
	dsn, err := p.ConnString()
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(d, dsn)
	if err != nil {
		return nil, nil, err
	}
	if p.SeedFrom != "" {
		sim := &erpsim.Simulator{DB: db, Dialect: d, Logger: log}
		if err := sim.Setup(ctx, p.SeedFrom); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("seed_from %s: %w", p.SeedFrom, err)
		}
	}
	return db, d, nil
}

// captureMappers loads the capture's mapping files, each limited to its ops.
func captureMappers(p *config.Capture) ([]legacybridge.Mapper, error) {
	loader, err := canonicalLoader()
	if err != nil {
		return nil, err
	}
	var out []legacybridge.Mapper
	var errs []error
	for _, mc := range p.Mappings {
		m, err := loader.Load(mc.File)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if verrs := m.Validate(); len(verrs) > 0 {
			errs = append(errs, fmt.Errorf("mapping %s: %w", mc.File, errors.Join(verrs...)))
			continue
		}
		if f := m.Format(); f != cdc.RecordFormat {
			errs = append(errs, fmt.Errorf("mapping %s is for %s records; a capture needs match.format: cdc (match.type: the table name)", mc.File, f))
			continue
		}
		ops := make([]cdc.Op, len(mc.Ops))
		for i, o := range mc.Ops {
			ops[i] = cdc.Op(o)
		}
		out = append(out, cdc.OnlyOps(m, ops...))
	}
	return out, errors.Join(errs...)
}

// buildCapture wires one capture. once turns heartbeats off.
func buildCapture(ctx context.Context, p *config.Capture, store *cdc.Store, em legacybridge.Emitter, log *slog.Logger, once bool) (*capture, error) {
	log = log.With("capture", p.Name)
	mappers, err := captureMappers(p)
	if err != nil {
		return nil, err
	}
	loc, err := p.Location()
	if err != nil {
		return nil, err
	}
	var lobs *cdc.LOBStore
	if p.References() {
		if lobs, err = cdc.NewLOBStore(p.LOBStoreDir(store.Dir()), p.LOBURL); err != nil {
			return nil, err
		}
	}
	db, d, err := openCapture(ctx, p, log)
	if err != nil {
		return nil, err
	}
	src, err := cdc.NewSource(cdc.Config{
		Flow: p.Name, DB: db, Dialect: d, Store: store, Tables: p.CDCTables(), Journal: p.Journal,
		BatchSize: p.BatchSize, PollInterval: time.Duration(p.PollInterval), SafetyLag: time.Duration(p.SafetyLag),
		TimeZone: loc, ReconcileEvery: time.Duration(p.ReconcileEvery), LOBStore: lobs, Logger: log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	r := &cdc.Runner{
		Flow: p.Name, EventSource: p.EventSource, Topic: p.Topic, DeadLetter: p.DeadLetterTopic,
		Source: src, Mappers: mappers, Emitter: em, Heartbeat: time.Duration(p.Heartbeat),
		HeartbeatTopic: p.HeartbeatTopic, Logger: log,
	}
	if once {
		r.Heartbeat = -1
	}
	if err := r.Validate(); err != nil {
		db.Close()
		return nil, err
	}
	return &capture{name: p.Name, cfg: p, db: db, d: d, src: src, runner: r}, nil
}

// buildCaptures wires every capture of cfg; the returned func closes them
// and the position store. Captures that cannot start are reported in errs
// and on /healthz.
func buildCaptures(ctx context.Context, cfg *config.Config, em legacybridge.Emitter, reg prometheus.Registerer, health *healthState, log *slog.Logger, once bool) ([]*capture, func(), []error) {
	if len(cfg.Captures) == 0 {
		return nil, func() {}, nil
	}
	store, err := cdc.OpenStore(cfg.StateDir)
	if err != nil {
		var errs []error
		for _, p := range cfg.Captures {
			errs = append(errs, fmt.Errorf("capture %s could not start: %w", p.Name, err))
			health.set(p.Name, "failed: "+err.Error())
		}
		return nil, func() {}, errs
	}
	var caps []*capture
	var errs []error
	for i := range cfg.Captures {
		p := &cfg.Captures[i]
		c, err := buildCapture(ctx, p, store, em, log, once)
		if err != nil {
			errs = append(errs, fmt.Errorf("capture %s could not start: %w", p.Name, err))
			health.set(p.Name, "failed: "+err.Error())
			continue
		}
		caps = append(caps, c)
		health.watch(c.name, c.status)
	}
	if len(caps) > 0 {
		reg.MustRegister(captureCollector{caps: caps})
	}
	return caps, func() {
		for _, c := range caps {
			c.src.Close()
			c.db.Close()
		}
		store.Close()
	}, errs
}

// status is the capture's /healthz line: the runner's state and each
// table's phase and lag.
func (c *capture) status() (bool, string) {
	ok, st := c.runner.Status()
	var parts []string
	for _, t := range c.src.Status() {
		s := fmt.Sprintf("%s %s", t.Table, t.Phase)
		if t.Phase == "stream" && !t.CaughtUp.IsZero() {
			s += fmt.Sprintf(" lag %.1fs", t.Lag)
		}
		if t.Phase == "snapshot" {
			s += fmt.Sprintf(" %d rows", t.Rows)
		}
		parts = append(parts, s)
	}
	return ok, st + " (" + strings.Join(parts, "; ") + ")"
}

// runOnce captures the snapshot and every change committed before it
// started, waits until Kafka acknowledged them, and returns.
//
// "Caught up" is: every table is past its snapshot, each table's
// caught-up time (every change stamped or journalled before it was read)
// is at or after the database clock read at the start, nothing is waiting
// for an acknowledgement, the last acknowledgement succeeded, and no batch
// was read for two poll intervals (so a full pass found nothing after a
// rewind). Polled tables reach the start time only once the safety lag
// has passed it, so a run takes at least safety_lag. Five failed attempts
// in a row give up.
func (c *capture) runOnce(ctx context.Context) (cdc.RunnerStats, error) {
	if err := waitReady(ctx, c.db, c.d, 30*time.Second, c.runner.Logger); err != nil {
		return cdc.RunnerStats{}, err
	}
	h, err := c.d.Horizon(ctx, c.db)
	if err != nil {
		return cdc.RunnerStats{}, fmt.Errorf("read the database clock: %w", err)
	}
	start := h.Now
	w := &watchedSource{Source: c.src}
	c.runner.Source = w
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.runner.Run(rctx) }()
	quiet := 2 * time.Duration(c.cfg.PollInterval)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var progress, failuresAtProgress int
	for {
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			return c.runner.Stats(), err
		case <-tick.C:
		}
		st := c.runner.Stats()
		if st.Batches != progress {
			progress, failuresAtProgress = st.Batches, st.Failures
		}
		if st.Failures-failuresAtProgress >= 5 {
			_, msg := c.runner.Status()
			cancel()
			<-done
			return c.runner.Stats(), fmt.Errorf("gave up after 5 failed attempts in a row: %s", msg)
		}
		if w.settled(quiet) && c.src.InFlight() == 0 && tablesCaughtUp(c.src.Status(), start) {
			cancel()
			<-done
			return c.runner.Stats(), nil
		}
	}
}

func tablesCaughtUp(tables []cdc.TableStatus, start time.Time) bool {
	for _, t := range tables {
		if t.Phase != "stream" || t.CaughtUp.IsZero() || t.CaughtUp.Before(start) {
			return false
		}
	}
	return len(tables) > 0
}

// watchedSource tells runOnce whether batches are waiting for their
// acknowledgement and when the last one was read.
type watchedSource struct {
	*cdc.Source
	mu          sync.Mutex
	outstanding int
	failed      bool
	lastRead    time.Time
}

var _ cdc.ChangeSource = (*watchedSource)(nil)

func (w *watchedSource) Read(ctx context.Context) ([]cdc.Change, legacybridge.AckFunc, error) {
	changes, ack, err := w.Source.Read(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastRead = time.Now()
	if err != nil {
		w.failed = true
		return nil, nil, err
	}
	w.outstanding++
	return changes, func(ctx context.Context, aerr error) error {
		err := ack(ctx, aerr)
		w.mu.Lock()
		w.outstanding--
		w.failed = aerr != nil || err != nil
		w.lastRead = time.Now()
		w.mu.Unlock()
		return err
	}, nil
}

func (w *watchedSource) settled(quiet time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outstanding == 0 && !w.failed && time.Since(w.lastRead) >= quiet
}

// captureCollector exposes the runners' counters and the tables' lag.
type captureCollector struct{ caps []*capture }

var (
	cdcChangesDesc  = prometheus.NewDesc("legacybridge_cdc_changes_total", "Captured changes acknowledged by Kafka, by capture.", []string{"capture"}, nil)
	cdcEventsDesc   = prometheus.NewDesc("legacybridge_cdc_events_total", "Events published from captured changes, by capture.", []string{"capture"}, nil)
	cdcDeadDesc     = prometheus.NewDesc("legacybridge_cdc_dead_letters_total", "Changes whose mapping failed, sent to the dead-letter topic, by capture.", []string{"capture"}, nil)
	cdcSkippedDesc  = prometheus.NewDesc("legacybridge_cdc_skipped_total", "Changes no mapping applies to, by capture.", []string{"capture"}, nil)
	cdcFailDesc     = prometheus.NewDesc("legacybridge_cdc_failures_total", "Failed attempts (read, map, emit, store), retried, by capture.", []string{"capture"}, nil)
	cdcAckDesc      = prometheus.NewDesc("legacybridge_cdc_last_ack_timestamp_seconds", "When Kafka last acknowledged a batch of the capture (Unix time).", []string{"capture"}, nil)
	cdcLagDesc      = prometheus.NewDesc("legacybridge_cdc_lag_seconds", "Database clock minus the time up to which every change of the table was read.", []string{"capture", "table"}, nil)
	cdcSnapRowsDesc = prometheus.NewDesc("legacybridge_cdc_snapshot_rows", "Rows delivered by the table's current or last snapshot.", []string{"capture", "table"}, nil)
)

func (captureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cdcChangesDesc, cdcEventsDesc, cdcDeadDesc, cdcSkippedDesc, cdcFailDesc, cdcAckDesc, cdcLagDesc, cdcSnapRowsDesc} {
		ch <- d
	}
}

func (cc captureCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cc.caps {
		st := c.runner.Stats()
		for _, m := range []struct {
			d *prometheus.Desc
			v int
		}{{cdcChangesDesc, st.Changes}, {cdcEventsDesc, st.Events}, {cdcDeadDesc, st.DeadLetters}, {cdcSkippedDesc, st.Skipped}, {cdcFailDesc, st.Failures}} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v), c.name)
		}
		if !st.LastAck.IsZero() {
			ch <- prometheus.MustNewConstMetric(cdcAckDesc, prometheus.GaugeValue, float64(st.LastAck.UnixNano())/1e9, c.name)
		}
		for _, t := range c.src.Status() {
			ch <- prometheus.MustNewConstMetric(cdcLagDesc, prometheus.GaugeValue, t.Lag, c.name, t.Table)
			ch <- prometheus.MustNewConstMetric(cdcSnapRowsDesc, prometheus.GaugeValue, float64(t.Rows), c.name, t.Table)
		}
	}
}

const cdcHelp = `Change capture (captures: in the config) commands.

  legacybridge cdc install --config FILE --flow NAME [--apply] [--columns FILE] [--uninstall]
      Prints the journal table and capture triggers for the capture's tables
      with strategy journal, for the database's own client (sqlite3, psql,
      SQL*Plus: PL/SQL blocks end with a line '/'). --apply runs them instead.
      SQLite and Oracle triggers list the columns: they are read from the
      database, or from --columns (lines TABLE COLUMN DATA_TYPE, e.g. from
      SELECT table_name, column_name, data_type FROM all_tab_columns) to
      prepare the script without a connection. Large objects of tables with
      lobs skip or reference (CLOB/BLOB, and lob_columns) are left out of the
      journal's images. Needs CREATE TRIGGER on the tables' schema; a DBA
      usually reviews and applies it.

  legacybridge cdc resnapshot --config FILE [--wait 30s] FLOW TABLE
      Asks for a new snapshot of TABLE of capture FLOW: every row is delivered
      again (op snapshot, new event ids), then the stream goes on with no gap
      and no double (a journal table's rows deleted meanwhile are delivered as
      deletes). With the bridge stopped the request is stored in
      STATE_DIR/cdc.db and the snapshot starts at the next 'legacybridge run'.
      A running bridge holds cdc.db, so the request goes into
      STATE_DIR/cdc-requests/FLOW/TABLE.resnapshot; the running capture takes
      it at its next poll and the command says so (or, after --wait, that it
      is still queued).`

func cmdCDC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: legacybridge cdc install|resnapshot [flags]\n\n"+cdcHelp)
		if len(args) == 0 {
			return &exitError{2, errors.New("cdc: name a subcommand: install or resnapshot")}
		}
		return nil
	}
	switch args[0] {
	case "install":
		return cmdCDCInstall(ctx, args[1:], stdout, stderr)
	case "resnapshot":
		return cmdCDCResnapshot(ctx, args[1:], stdout, stderr)
	}
	return &exitError{2, fmt.Errorf("cdc: unknown subcommand %q (install or resnapshot)", args[0])}
}

// loadCapture loads the config and finds the capture named flow, checking
// the config's own shape.
func loadCapture(path, flow string) (*config.Config, *config.Capture, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("config %s is not valid (run 'legacybridge validate --config %s'):\n%w", path, path, err)
	}
	p := cfg.Capture(flow)
	if p == nil {
		var names []string
		for _, c := range cfg.Captures {
			names = append(names, c.Name)
		}
		return nil, nil, fmt.Errorf("config %s has no capture %q (captures: %s)", path, flow, strings.Join(names, ", "))
	}
	return cfg, p, nil
}

func cmdCDCInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cdc install", "cdc install --config FILE --flow NAME [--apply] [--columns FILE] [--uninstall]",
		"Prints (or with --apply runs) the DDL of the trigger journal for the capture's\ntables with strategy journal.\n\n"+cdcHelp, stderr)
	cfgPath := fs.String("config", "", "config file (YAML); required")
	flow := fs.String("flow", "", "name of the capture (captures[].name); required")
	apply := fs.Bool("apply", false, "run the statements against the database instead of printing them")
	columns := fs.String("columns", "", "read table columns from this file (lines TABLE COLUMN DATA_TYPE) instead of the database")
	uninstall := fs.Bool("uninstall", false, "drop the triggers and the journal instead")
	connectTimeout := fs.Duration("connect-timeout", 30*time.Second, "give up when the database does not answer within this time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" || *flow == "" || fs.NArg() > 0 {
		fs.Usage()
		return &exitError{2, errors.New("cdc install: --config and --flow are required")}
	}
	if *apply && *columns != "" {
		return &exitError{2, errors.New("cdc install: --columns is for printing without a connection; --apply reads the columns from the database")}
	}
	_, p, err := loadCapture(*cfgPath, *flow)
	if err != nil {
		return err
	}
	d, err := dialectOf(p.Dialect)
	if err != nil {
		return err
	}
	journal, err := cdc.ParseName(p.Journal)
	if err != nil {
		return err
	}
	var offline map[string][]cdc.Column
	if *columns != "" {
		if offline, err = readColumns(*columns); err != nil {
			return err
		}
	}
	var db *sql.DB
	if *apply || (offline == nil && d.Name() != "postgres") {
		dsn, err := p.ConnString()
		if err != nil {
			return err
		}
		if db, err = openDB(d, dsn); err != nil {
			return err
		}
		defer db.Close()
		if err := waitReady(ctx, db, d, *connectTimeout, slog.New(slog.NewTextHandler(stderr, nil))); err != nil {
			return fmt.Errorf("capture %s: %w", p.Name, err)
		}
	}
	var defs []cdc.TableDef
	for _, t := range p.Tables {
		if t.Strategy != "journal" {
			continue
		}
		n, err := cdc.ParseName(t.Name)
		if err != nil {
			return err
		}
		def := cdc.TableDef{Name: n, Key: t.Key}
		switch {
		case offline != nil:
			def.Columns = offline[n.Type()]
			if len(def.Columns) == 0 && d.Name() != "postgres" {
				return fmt.Errorf("--columns %s lists no columns of %s", *columns, n.Type())
			}
		case db != nil:
			if def.Columns, err = cdc.Columns(ctx, db, d, n); err != nil {
				return fmt.Errorf("columns of %s: %w", n, err)
			}
			if !*uninstall {
				if err := cdc.CheckKey(ctx, db, d, n, t.Key); err != nil {
					return fmt.Errorf("capture %s: %w", p.Name, err)
				}
			}
		}
		if t.LOBs == "skip" || t.LOBs == "reference" {
			// The journal need not copy large objects the capture skips or
			// reads from the table itself.
			omit := map[string]bool{}
			for _, c := range t.LOBColumns {
				omit[strings.ToUpper(c)] = true
			}
			for _, c := range def.Columns {
				if c.Kind.IsLOB() {
					omit[strings.ToUpper(c.Name)] = true
				}
			}
			for c := range omit {
				def.Omit = append(def.Omit, c)
			}
			sort.Strings(def.Omit)
		}
		defs = append(defs, def)
	}
	if len(defs) == 0 {
		return fmt.Errorf("capture %s has no table with strategy journal: polled tables need no triggers", p.Name)
	}
	var stmts []string
	if *uninstall {
		stmts, err = cdc.Uninstall(d, journal, defs)
	} else {
		stmts, err = cdc.Install(d, journal, defs)
	}
	if err != nil {
		return err
	}
	if !*apply {
		fmt.Fprintf(stdout, "-- legacybridge cdc install: capture %s, %s, journal %s, %d table(s)\n\n", p.Name, d.Name(), journal, len(defs))
		fmt.Fprint(stdout, cdc.Script(stmts))
		return nil
	}
	for i, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("statement %d of %d failed (the ones before it were applied; print the script with 'legacybridge cdc install' without --apply to review): %w\n%s", i+1, len(stmts), err, s)
		}
	}
	fmt.Fprintf(stdout, "capture %s: %d statement(s) applied (journal %s, %d table(s))\n", p.Name, len(stmts), journal, len(defs))
	return nil
}

// readColumns reads lines "TABLE COLUMN DATA_TYPE" (whitespace separated;
// # comments and a header line starting with TABLE_NAME are skipped).
func readColumns(path string) (map[string][]cdc.Column, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--columns: %w", err)
	}
	defer f.Close()
	out := map[string][]cdc.Column{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(strings.ToUpper(l), "TABLE_NAME") {
			continue
		}
		fs := strings.Fields(l)
		if len(fs) < 3 {
			return nil, fmt.Errorf("%s:%d: want TABLE COLUMN DATA_TYPE", path, line)
		}
		n, err := cdc.ParseName(fs[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := cdc.CheckIdent(fs[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		typ := strings.ToUpper(strings.Join(fs[2:], " "))
		out[n.Type()] = append(out[n.Type()], cdc.Column{Name: strings.ToUpper(fs[1]), Kind: declKind(typ), DBType: baseType(typ)})
	}
	return out, sc.Err()
}

func baseType(t string) string {
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(t)
}

// declKind classifies a declared SQL type (ALL_TAB_COLUMNS.DATA_TYPE).
func declKind(t string) cdc.Kind {
	b := baseType(t)
	switch {
	case b == "BLOB" || b == "BFILE":
		return cdc.KindBLOB
	case b == "CLOB" || b == "NCLOB":
		return cdc.KindLOB
	case b == "DATE":
		return cdc.KindTime
	case strings.HasPrefix(b, "TIMESTAMP") && strings.Contains(t, "ZONE"):
		return cdc.KindTimeTZ
	case strings.HasPrefix(b, "TIMESTAMP"):
		return cdc.KindTime
	case b == "RAW" || b == "LONG RAW":
		return cdc.KindBytes
	case b == "NUMBER" || b == "NUMERIC" || b == "DECIMAL":
		return cdc.KindDecimal
	case strings.Contains(b, "INT"):
		return cdc.KindInt
	case b == "FLOAT" || b == "BINARY_FLOAT" || b == "BINARY_DOUBLE":
		return cdc.KindFloat
	}
	return cdc.KindText
}

func cmdCDCResnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cdc resnapshot", "cdc resnapshot --config FILE [--wait 30s] FLOW TABLE",
		"Asks for a new snapshot of TABLE of capture FLOW, of a running bridge or at the next start.\n\n"+cdcHelp, stderr)
	cfgPath := fs.String("config", "", "config file (YAML); required")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for a running bridge to take the request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() != 2 {
		fs.Usage()
		return &exitError{2, errors.New("cdc resnapshot: want --config FILE FLOW TABLE")}
	}
	flow, table := fs.Arg(0), fs.Arg(1)
	cfg, p, err := loadCapture(*cfgPath, flow)
	if err != nil {
		return err
	}
	n, err := cdc.ParseName(table)
	if err != nil {
		return err
	}
	found := false
	var names []string
	for _, t := range p.Tables {
		tn, err := cdc.ParseName(t.Name)
		if err == nil && tn.Type() == n.Type() {
			found = true
		}
		names = append(names, t.Name)
	}
	if !found {
		return fmt.Errorf("capture %s does not capture %s (its tables: %s)", flow, table, strings.Join(names, ", "))
	}
	res, err := cdc.Resnapshot(ctx, cfg.StateDir, flow, n.Type(), *wait)
	if err != nil {
		return err
	}
	switch res.State {
	case cdc.ResnapshotStored:
		fmt.Fprintf(stdout, "capture %s: new snapshot of %s requested; no bridge is running (%s is free), so it starts when 'legacybridge run' next starts\n",
			flow, n.Type(), filepath.Join(cfg.StateDir, "cdc.db"))
	case cdc.ResnapshotTaken:
		fmt.Fprintf(stdout, "capture %s: the running bridge took the request; %s is snapshotted again once its batches in flight are acknowledged, then its stream goes on\n", flow, n.Type())
	case cdc.ResnapshotQueued:
		fmt.Fprintf(stdout, "capture %s: a process holds %s but no running capture %s took the request within %s; it stays queued in %s and is taken when the capture next polls or starts (is capture %s running in that bridge?)\n",
			flow, filepath.Join(cfg.StateDir, "cdc.db"), flow, *wait, res.File, flow)
	}
	return nil
}

// waitReady is cdc.WaitReady that gives up after timeout.
func waitReady(ctx context.Context, db *sql.DB, d cdc.Dialect, timeout time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := cdc.WaitReady(ctx, db, d, 5*time.Second, log); err != nil {
		return fmt.Errorf("%w (gave up after %s)", err, timeout)
	}
	return nil
}

// validateCaptureMappings checks every capture's mapping files (loadable,
// valid, for records of format cdc); 'run' calls it after validateAll.
func validateCaptureMappings(cfg *config.Config) error {
	var errs []error
	for i := range cfg.Captures {
		p := &cfg.Captures[i]
		if _, err := captureMappers(p); err != nil {
			errs = append(errs, fmt.Errorf("capture %q: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkCaptureDatabases runs, for `validate`, the checks a capture makes
// of its database when it starts: each table can be read, its configured
// columns exist and fit, its key is the primary key or a unique index
// (cdc.CheckTable), and the journal exists where a table needs it.
// Databases that cannot be reached within timeout (or a SQLite file that
// does not exist yet) are not checked: notes say so and why. Nothing is
// written: SQLite files are opened read-only.
func checkCaptureDatabases(ctx context.Context, cfg *config.Config, timeout time.Duration) (problems []error, notes []string) {
	for i := range cfg.Captures {
		p := &cfg.Captures[i]
		probs, note := checkCaptureDatabase(ctx, p, timeout)
		problems = append(problems, probs...)
		if note != "" {
			notes = append(notes, note)
		}
	}
	return problems, notes
}

func checkCaptureDatabase(ctx context.Context, p *config.Capture, timeout time.Duration) ([]error, string) {
	notChecked := func(why string) ([]error, string) {
		return nil, fmt.Sprintf("capture %s: keys and tables not checked: %s; 'legacybridge run' checks them when it starts", p.Name, why)
	}
	d, err := dialectOf(p.Dialect)
	if err != nil {
		return []error{fmt.Errorf("capture %q: %w", p.Name, err)}, ""
	}
	dsn, err := p.ConnString()
	if err != nil {
		return notChecked(err.Error())
	}
	var db *sql.DB
	if d.Name() == "sqlite" {
		st, err := os.Stat(dsn)
		if err != nil {
			why := fmt.Sprintf("SQLite database %s: %v", dsn, err)
			if p.SeedFrom != "" {
				why = fmt.Sprintf("SQLite database %s does not exist yet (seed_from creates it at the first run)", dsn)
			}
			return notChecked(why)
		}
		if st.IsDir() {
			return notChecked(fmt.Sprintf("%s is a folder", dsn))
		}
		if strings.ContainsAny(dsn, "?#") {
			return notChecked(fmt.Sprintf("SQLite path %q holds ? or #", dsn))
		}
		// Read-only. Without a -wal file (no writer has the database open,
		// everything is in the main file) immutable=1 keeps SQLite from
		// creating -wal and -shm files that a read-only connection cannot
		// remove again; with one, a writer is at work and those files exist.
		mode := "immutable=1"
		if _, err := os.Stat(dsn + "-wal"); err == nil {
			mode = "mode=ro&_pragma=busy_timeout(5000)"
		}
		db, err = sql.Open(sqlite.DriverName, "file:"+dsn+"?"+mode)
	} else {
		db, err = openDB(d, dsn)
	}
	if err != nil {
		return notChecked(err.Error())
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		c := d.Classify(err)
		why := fmt.Sprintf("the database did not answer within %s (%v)", timeout, err)
		if ctx.Err() == nil {
			why = fmt.Sprintf("cannot connect to the database (%s: %v)", c.Kind, err)
		}
		return notChecked(why)
	}
	var problems []error
	journal := false
	for _, t := range p.CDCTables() {
		if t.Strategy == cdc.StrategyJournal {
			journal = true
		}
		if err := cdc.CheckTable(ctx, db, d, t); err != nil {
			if ctx.Err() != nil {
				return notChecked(fmt.Sprintf("the database did not answer within %s", timeout))
			}
			problems = append(problems, fmt.Errorf("capture %q: %w", p.Name, err))
		}
	}
	if journal {
		if err := cdc.CheckJournal(ctx, db, d, p.Journal); err != nil {
			problems = append(problems, fmt.Errorf("capture %q: %w", p.Name, err))
		}
	}
	if len(problems) > 0 {
		return problems, ""
	}
	return nil, fmt.Sprintf("capture %s: %d table(s) checked against the database: columns present, keys unique", p.Name, len(p.Tables))
}
