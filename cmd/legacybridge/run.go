package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"

	"legacybridge"
	"legacybridge/bridges"
	"legacybridge/cdc"
	"legacybridge/emitters/kafka"
	"legacybridge/internal/config"
	"legacybridge/internal/kafkabroker"
	"legacybridge/internal/ledger"
)

const runHelp = `Runs every flow and delivery of the config.

A flow polls its drop folder (local, SFTP or FTP/FTPS), picks a file up only
once it is complete (size and mtime unchanged across polls and older than
min_age, or its done marker exists), claims it into processing/ (or reads it
in place on a read-only drop), parses it, maps every record to a canonical
event and publishes the events to Kafka with acks=all. The file moves to
archive/YYYY-MM-DD/ only after Kafka acknowledged every event; bad input
moves to error/ with NAME.error.json beside it. A server that is down is
retried with backoff while the other flows go on.

A delivery consumes a Kafka topic and writes one file per event into a
partner's folder (temporary name, rename, optional done marker), committing
the offset only once the file is in place.

A capture (captures:) reads the changes of database tables (SQLite,
PostgreSQL, Oracle) by polling a change column or from a trigger journal,
maps each changed row and publishes the events; a position is stored in
STATE_DIR/cdc.db only after Kafka acknowledged everything before it.
/healthz shows each table's phase and lag; /metrics has
legacybridge_cdc_* counters and lag gauges.

With kafka.brokers: [embedded] (the default) an in-process broker listens on
kafka.embedded_listen (127.0.0.1:9092) with its data in STATE_DIR/kafka, so
'legacybridge tail' can watch it from another terminal.

Without --once it runs until SIGINT/SIGTERM and then finishes the file in hand
(up to --grace) before exiting. With --once it processes every complete file
present, waits for all acknowledgements, lets each delivery write out what
its topic holds, and exits: 0 when everything was delivered, 1 when a file
was quarantined or a flow or delivery could not start or stopped. A capture
takes its snapshot and the changes committed before the run started (polled
tables: once the safety lag has passed that moment), publishes no
heartbeats, and stops once Kafka acknowledged them.`

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run --config FILE [--once] [--grace 30s] [--log-format text|json]", runHelp, stderr)
	cfgPath := fs.String("config", "", "config file (YAML); required")
	once := fs.Bool("once", false, "process the files present, wait for all acks, then exit")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	grace := fs.Duration("grace", 30*time.Second, "on shutdown, time allowed to finish the file in hand")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("%s: unexpected argument %q (did you mean --config %s?)", "run", fs.Arg(0), fs.Arg(0))}
	}
	if *cfgPath == "" {
		fs.Usage()
		return &exitError{2, errors.New("run: --config is required")}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := validateAll(cfg); err != nil {
		return fmt.Errorf("config %s is not valid (run 'legacybridge validate --config %s' for the full list):\n%w", *cfgPath, *cfgPath, err)
	}
	if err := validateCaptureMappings(cfg); err != nil {
		return fmt.Errorf("config %s is not valid:\n%w", *cfgPath, err)
	}
	log, err := newLogger(stderr, cfg.LogLevel, *logFormat)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := legacybridge.NewMetrics(reg)

	led, err := ledger.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	defer led.Close()

	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		b, err := kafkabroker.Start(ctx, kafkabroker.Config{
			Listen: cfg.Kafka.EmbeddedListen, DataDir: cfg.Kafka.EmbeddedDataDir, Logger: log.With("component", "embedded-kafka"),
		})
		if err != nil {
			return fmt.Errorf("embedded Kafka broker on %s: %w (is another broker, e.g. 'legacybridge kafka serve', using the port? set kafka.brokers to it, or change kafka.embedded_listen)", cfg.Kafka.EmbeddedListen, err)
		}
		defer b.Close()
		brokers = []string{b.Addr()}
		log.Info("embedded Kafka broker started", "addr", b.Addr(), "data_dir", cfg.Kafka.EmbeddedDataDir,
			"tail", "legacybridge tail --brokers "+b.Addr()+" --topic TOPIC --from-beginning")
	}
	kc := kafka.Config{Brokers: brokers, ClientID: cfg.Kafka.ClientID, Logger: log.With("component", "kafka")}
	if !cfg.Embedded() {
		if kc.TLS, kc.SASL, err = kafkaSecurity(cfg.Kafka); err != nil {
			return err
		}
	}
	em, err := kafka.NewEmitter(kc, kafka.WithMetrics(reg))
	if err != nil {
		return err
	}
	defer em.Close()

	health := &healthState{static: map[string]string{}, flows: map[string]func() (bool, string){}}
	if cfg.MetricsListen != "" {
		stopHTTP, err := serveMetrics(cfg.MetricsListen, reg, health, log)
		if err != nil {
			log.Warn("metrics and health not served; flows run anyway", "err", err)
		} else {
			defer stopHTTP()
		}
	}

	var flows []*legacybridge.Flow
	var startErrs []error
	for _, fc := range cfg.Flows {
		f, closeFS, err := buildFlow(cfg, fc, em, led, log, metrics)
		if closeFS != nil {
			defer closeFS()
		}
		if err != nil {
			startErrs = append(startErrs, fmt.Errorf("flow %s could not start: %w", fc.Name, err))
			health.set(fc.Name, "failed: "+err.Error())
			continue
		}
		flows = append(flows, f)
		health.watch(fc.Name, f.Status)
	}
	var deliveries []*delivery
	for _, dc := range cfg.Deliveries {
		d, err := buildDelivery(dc, brokers, cfg.Kafka.ClientID, kc.TLS, kc.SASL, em, *grace, reg, led, log)
		if err != nil {
			startErrs = append(startErrs, fmt.Errorf("delivery %s could not start: %w", dc.Name, err))
			health.set(dc.Name, "failed: "+err.Error())
			continue
		}
		defer d.closeFS()
		deliveries = append(deliveries, d)
		health.watch(dc.Name, d.status)
	}
	caps, closeCaps, capErrs := buildCaptures(ctx, cfg, em, reg, health, log, *once)
	defer closeCaps()
	startErrs = append(startErrs, capErrs...)
	for _, e := range startErrs {
		log.Error(e.Error())
	}

	if *once {
		client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 30 * time.Second,
			Transport: &kafkago.Transport{TLS: kc.TLS, SASL: kc.SASL, ClientID: cfg.Kafka.ClientID}}
		return runOnce(ctx, flows, deliveries, caps, client, startErrs, log, stdout)
	}
	if len(flows) == 0 && len(deliveries) == 0 && len(caps) == 0 {
		return &exitError{1, errors.Join(startErrs...)}
	}
	log.Info("legacybridge running; stop with Ctrl-C", "flows", len(flows), "deliveries", len(deliveries), "captures", len(caps))
	var wg sync.WaitGroup
	for _, c := range caps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.runner.Run(ctx)
		}()
	}
	for _, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ShutdownGrace = *grace
			_ = f.Run(ctx)
		}()
	}
	if len(deliveries) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = runDeliveries(ctx, deliveries, log)
		}()
	}
	wg.Wait()
	log.Info("stopped")
	return nil
}

func runOnce(ctx context.Context, flows []*legacybridge.Flow, deliveries []*delivery, caps []*capture, client *kafkago.Client, startErrs []error, log *slog.Logger, stdout io.Writer) error {
	type result struct {
		name string
		sum  legacybridge.Summary
		err  error
	}
	results := make([]result, len(flows))
	var wg sync.WaitGroup
	capStats := make([]cdc.RunnerStats, len(caps))
	capErrs := make([]error, len(caps))
	for i, c := range caps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			capStats[i], capErrs[i] = c.runOnce(ctx)
		}()
	}
	for i, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := f.RunOnce(ctx)
			results[i] = result{f.Name, s, err}
		}()
	}
	wg.Wait()
	var total legacybridge.Summary
	failed := len(startErrs)
	for _, r := range results {
		total.Add(r.sum)
		if r.err != nil {
			failed++
			log.Error("flow stopped with an error", "flow", r.name, "err", r.err)
		}
	}
	var capChanges, capEvents, capDead int
	for i, c := range caps {
		if capErrs[i] != nil {
			failed++
			log.Error("capture stopped with an error", "capture", c.name, "err", capErrs[i])
		}
		capChanges += capStats[i].Changes
		capEvents += capStats[i].Events
		capDead += capStats[i].DeadLetters
	}
	// Deliveries run after the flows, so what the flows published is
	// delivered too, and stop once they have committed all the topic holds.
	var files, dead int64
	dfailed := 0
	derrs := make([]error, len(deliveries))
	for i, d := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			derrs[i] = d.drain(ctx, client, log)
		}()
	}
	wg.Wait()
	for i, d := range deliveries {
		if derrs[i] != nil {
			dfailed++
			log.Error("delivery stopped with an error", "delivery", d.name, "err", derrs[i])
		}
		st := d.d.Stats()
		files += st.Delivered
		dead += st.DeadLettered
	}
	fmt.Fprintf(stdout, "summary: %d flow(s), %d failed to run; files: %d archived, %d duplicate, %d quarantined; events: %d published, %d dead-lettered, %d records skipped",
		len(flows)+len(caps)+len(startErrs), failed, total.Archived, total.Duplicates, total.Quarantined, total.Events, total.DeadLetters, total.Skipped)
	if total.Acks > 0 || total.Rejected > 0 {
		fmt.Fprintf(stdout, "; acknowledgements: %d sent, %d transaction sets rejected", total.Acks, total.Rejected)
	}
	if len(caps) > 0 {
		fmt.Fprintf(stdout, "; captures: %d, %d changes, %d events published, %d dead-lettered", len(caps), capChanges, capEvents, capDead)
	}
	if len(deliveries) > 0 {
		fmt.Fprintf(stdout, "; deliveries: %d, %d failed, %d files written, %d events dead-lettered", len(deliveries), dfailed, files, dead)
	}
	fmt.Fprintln(stdout)
	if failed > 0 || dfailed > 0 || total.Quarantined > 0 {
		return &exitError{1, nil}
	}
	return nil
}

// buildFlow wires one flow; the returned func closes its transport.
func buildFlow(cfg *config.Config, fc config.Flow, em legacybridge.Emitter, led legacybridge.Ledger, log *slog.Logger, m *legacybridge.Metrics) (*legacybridge.Flow, func() error, error) {
	p, err := newParserFor(cfg, fc.Parser, log.With("flow", fc.Name))
	if err != nil {
		return nil, nil, err
	}
	mappers, err := newMappers(fc, p)
	if err != nil {
		return nil, nil, err
	}
	d := fc.Source.Drop()
	if d == nil {
		return nil, nil, fmt.Errorf("no source configured")
	}
	dropFS, closeFS, err := openDrop(fc.Source, log.With("flow", fc.Name))
	if err != nil {
		return nil, nil, err
	}
	poller := &bridges.Poller{
		FS: dropFS, Pattern: d.Pattern, MinAge: time.Duration(d.MinAge), DoneSuffix: d.DoneSuffix,
		ProcessingDir: d.ProcessingDir, ArchiveDir: d.ArchiveDir, ErrorDir: d.ErrorDir,
		MaxClaims: d.MaxFilesPerPoll, Logger: log.With("flow", fc.Name),
		Claim: bridges.ClaimMode(d.Claim), Archive: bridges.ArchiveAction(d.Archive),
		Quarantine: bridges.QuarantineAction(d.Quarantine), Order: bridges.Order(d.Order),
	}
	if l, ok := led.(*ledger.Ledger); ok {
		poller.Marks = l.Marks(fc.Name)
	}
	if err := poller.Validate(); err != nil {
		closeFS()
		return nil, nil, err
	}
	f := &legacybridge.Flow{
		Name: fc.Name, EventSource: fc.EventSource, Topic: fc.Topic, DeadLetter: fc.DeadLetterTopic,
		Files: poller, Parser: p, Mappers: mappers, Emitter: em, Ledger: led,
		PollInterval: time.Duration(d.PollInterval), BatchSize: fc.BatchSize, Logger: log, Metrics: m,
		DuplicateInterchanges: legacybridge.DuplicateInterchanges{Window: time.Duration(fc.DuplicateInterchanges.Window), Allow: fc.DuplicateInterchanges.Action == "allow"},
	}
	if f.Acks, err = buildAcks(cfg, fc, led); err != nil {
		closeFS()
		return nil, nil, err
	}
	if err := f.Validate(); err != nil {
		closeFS()
		return nil, nil, err
	}
	return f, closeFS, nil
}

// healthState answers /healthz: every flow's status.
type healthState struct {
	mu     sync.Mutex
	static map[string]string                // flows that could not start
	flows  map[string]func() (bool, string) // running flows
}

func (h *healthState) set(flow, state string) {
	h.mu.Lock()
	h.static[flow] = state
	h.mu.Unlock()
}

func (h *healthState) watch(flow string, status func() (bool, string)) {
	h.mu.Lock()
	h.flows[flow] = status
	h.mu.Unlock()
}

// report returns whether all flows are healthy and one line per flow.
func (h *healthState) report() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := true
	var lines []string
	for name, st := range h.static {
		ok = false
		lines = append(lines, name+": "+st)
	}
	for name, fn := range h.flows {
		fok, st := fn()
		ok = ok && fok
		lines = append(lines, name+": "+st)
	}
	slices.Sort(lines)
	return ok, strings.Join(lines, "\n") + "\n"
}

func serveMetrics(addr string, reg *prometheus.Registry, h *healthState, log *slog.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, body := h.report()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, body)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w (change metrics_listen, or set it to \"\" to turn metrics off)", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics and health served", "metrics", "http://"+ln.Addr().String()+"/metrics", "health", "http://"+ln.Addr().String()+"/healthz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// kafkaSecurity builds TLS and SASL settings; secrets come from files or the
// environment and are never logged.
func kafkaSecurity(k config.Kafka) (*tls.Config, sasl.Mechanism, error) {
	var tc *tls.Config
	if t := k.TLS; t != nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file %s: no PEM certificates in it", t.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	var mech sasl.Mechanism
	if s := k.SASL; s != nil {
		pw, err := s.Password()
		if err != nil {
			return nil, nil, err
		}
		mech = plain.Mechanism{Username: s.Username, Password: pw}
	}
	return tc, mech, nil
}
