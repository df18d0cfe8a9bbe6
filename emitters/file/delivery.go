// Package file delivers events from a Kafka topic to a partner's file drop
// (local, SFTP or FTP: any bridges.FS), one file per event: the outbound
// half of a legacy file interface.
//
// For each message of the topic (read as a consumer group with kafka-go),
// Delivery decodes the CloudEvent (binary content mode, as
// legacybridge.Event.Message and emitters/kafka produce it, or structured
// mode), names the file from a template, encodes the content in memory
// (JSON as it is, or fixed-width records with FixedWidth), and writes it
// with bridges.FS.Create: under a hidden temporary name, renamed into place
// on Close, so a partner polling the folder never sees a partial file under
// its final name. Then the optional done marker (NAME+DoneSuffix) is
// written the same way, and only then is the message's offset committed.
//
// Delivery is at least once. File names must be deterministic per event
// (the default template is the event id): a crash after the rename but
// before the commit redelivers the message, which rewrites the same file
// with the same content instead of adding a second one. Likewise when the
// consumer group rebalances: offsets are committed only through the group
// generation that fetched them, so the files a delivery had in hand when it
// gave a partition up are written again by the partition's next owner, and
// the group's committed offsets never move back.
//
// Failures:
//   - Writing (transport down, disk full, permissions) is retried with
//     capped exponential backoff (Config.RetryMin to RetryMax), for ever:
//     the message is neither skipped nor committed meanwhile, and later
//     messages wait (their offsets cannot be committed past it anyway),
//     until the partition goes to another member in a rebalance.
//   - An event that cannot be delivered (not a CloudEvent, a name the
//     template cannot make or that is unsafe — a path separator or ".." from
//     the event's content —, data the encoder refuses) goes to
//     Config.DeadLetterTopic with the reason in headers and is committed.
//     Without a dead-letter topic, Run stops with an *EventError and commits
//     nothing for it: a restart meets the same event again. An event is
//     never dropped silently.
//   - Events of types the encoder does not write (Config.Types) are
//     committed and skipped, counted and logged at debug level.
package file

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"legacybridge"
	"legacybridge/bridges"
)

// DefaultBroker is the bootstrap address of a zero Config.
const DefaultBroker = "127.0.0.1:9092"

// Config configures a Delivery. Topic, GroupID, FS and Encoder are
// required; every other field works at its zero value.
type Config struct {
	// Name names the delivery in logs, metrics and dead-letter headers.
	// Default "file".
	Name string

	// Brokers are bootstrap host:port addresses. Default [127.0.0.1:9092].
	Brokers []string
	// Topic is read; required.
	Topic string
	// GroupID is the consumer group whose committed offsets say what was
	// delivered; required. Several Deliveries with one group share the
	// partitions.
	GroupID string
	// ClientID names this client to the brokers. Default "legacybridge".
	ClientID string
	// TLS enables TLS with this configuration. Default nil: plaintext.
	TLS *tls.Config
	// SASL authenticates with this mechanism. Default nil: none.
	SASL sasl.Mechanism
	// StartFromLatest makes a group without committed offsets start at the
	// end of the topic. Default false: at the oldest message kept.
	StartFromLatest bool
	// MaxBytes is the most bytes one fetch returns (a larger single
	// message still comes). Default 4 MiB.
	MaxBytes int
	// MaxWait bounds one fetch. kafka-go asks the broker to wait up to
	// MaxWait-1s for data (3/4 of MaxWait below 1s) and gives the answer
	// the rest to start arriving: at 1s exactly the broker does not wait at
	// all (a busy loop on an idle topic), and a short MaxWait with large
	// messages on a slow link never gets a batch in. Stopping waits for
	// the fetch in flight. Default 2s.
	MaxWait time.Duration

	// FS is the partner's drop; required.
	FS bridges.FS
	// Dir is the folder files are written to, relative to the FS root;
	// created when missing. Default "" (the root).
	Dir string
	// NameTemplate is a text/template executed with NameData, e.g.
	// ASN_{{.Partner}}_{{.ControlNumber}}_{{.Time.Format "20060102T150405"}}{{.FileExt}}.
	// Functions: upper, lower. The result must be one visible file name.
	// Default DefaultNameTemplate ({{.ID}}{{.FileExt}}).
	NameTemplate string
	// DoneSuffix, when set, writes an empty marker file NAME+DoneSuffix
	// after each file is in place (e.g. ".done", ".ok"). Default none.
	DoneSuffix string
	// Encoder makes the file content; required (JSON{}, a *FixedWidth).
	Encoder Encoder
	// Types are the event types delivered; others are committed and
	// skipped. Default: the encoder's Types() if it is a TypedEncoder,
	// else every type.
	Types []string

	// Partner is {{.Partner}}. Default none.
	Partner string
	// PartnerExtension names a CloudEvents extension attribute that, when
	// an event carries it, gives {{.Partner}} instead. Default none.
	PartnerExtension string
	// ControlNumberPath is a path into the event data (e.g.
	// $.source.interchangeControlNumber) for {{.ControlNumber}}. Default none.
	ControlNumberPath string
	// ControlNumberExtension names a CloudEvents extension attribute for
	// {{.ControlNumber}} instead. Default none.
	ControlNumberExtension string

	// DeadLetter and DeadLetterTopic, both set, receive the events that
	// cannot be delivered (the original key, headers and value, plus
	// x-bridge-* and __connect.errors.* reason headers). Default none: Run
	// stops at such an event.
	DeadLetter      legacybridge.Emitter
	DeadLetterTopic string

	// RetryMin and RetryMax bound the wait between attempts to write a file
	// (or a dead letter), which doubles from RetryMin. Defaults 500ms, 30s.
	RetryMin time.Duration
	RetryMax time.Duration
	// Concurrency is how many files are written at once. Events whose file
	// names are equal are written one after the other, in offset order.
	// Offsets are committed in order per partition whatever finishes first.
	// Default 1.
	Concurrency int
	// ShutdownGrace is how long Run lets the files being written finish
	// after ctx is done (no new file is started); what is cut off is not
	// committed and is delivered next time. Default 30s.
	ShutdownGrace time.Duration

	// Logger receives a line per file (Info), retries (Warn), skipped
	// events (Debug) and dead letters (Error). Default: none.
	Logger *slog.Logger
}

// DirSyncer is implemented by transports that can make a folder's entries
// durable (fsync of the directory). When Config.FS implements it, Delivery
// calls it after the rename (and the marker), before the commit.
type DirSyncer interface {
	SyncDir(ctx context.Context, dir string) error
}

// Delivery consumes events from a topic and writes them as files. Build it
// with New, then call Run once.
type Delivery struct {
	cfg         Config
	brokers     string
	dialer      *kafka.Dialer
	tmpl        *template.Template
	types       map[string]bool // nil: every type
	controlPath *path
	log         *slog.Logger
	m           *metrics

	dirReady atomic.Bool
	ran      atomic.Bool
	recent   map[string]string // file name → event id of late events (dispatcher only)

	delivered, skipped, deadLettered, retries, committed atomic.Int64
	failing                                              atomic.Bool
	mu                                                   sync.Mutex
	lastErr                                              string
}

// Option configures a Delivery beyond its Config.
type Option func(*options)

type options struct {
	reg registerer
}

// New checks cfg and returns a Delivery. It connects to nothing.
func New(cfg Config, opts ...Option) (*Delivery, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Name == "" {
		cfg.Name = "file"
	}
	fail := func(format string, args ...any) (*Delivery, error) {
		return nil, fmt.Errorf("file: delivery %s: %s", cfg.Name, fmt.Sprintf(format, args...))
	}
	if len(cfg.Brokers) == 0 {
		cfg.Brokers = []string{DefaultBroker}
	}
	for _, b := range cfg.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fail("broker address %q: %v (want host:port)", b, err)
		}
	}
	switch {
	case cfg.Topic == "":
		return fail("no topic")
	case cfg.GroupID == "":
		return fail("no group id: the group's committed offsets are what says which events were delivered")
	case cfg.FS == nil:
		return fail("no FS to deliver to")
	case cfg.Encoder == nil:
		return fail("no encoder")
	case (cfg.DeadLetter == nil) != (cfg.DeadLetterTopic == ""):
		return fail("set both DeadLetter and DeadLetterTopic, or neither")
	case cfg.DeadLetterTopic != "" && cfg.DeadLetterTopic == cfg.Topic:
		return fail("the dead-letter topic must differ from the topic")
	case cfg.ControlNumberPath != "" && cfg.ControlNumberExtension != "":
		return fail("set ControlNumberPath or ControlNumberExtension, not both")
	}
	dir, err := bridges.CleanPath(cfg.Dir)
	if err != nil {
		return fail("dir: %v", err)
	}
	cfg.Dir = dir
	if cfg.ClientID == "" {
		cfg.ClientID = "legacybridge"
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 4 << 20
	}
	if cfg.NameTemplate == "" {
		cfg.NameTemplate = DefaultNameTemplate
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&cfg.MaxWait, 2*time.Second)
	def(&cfg.RetryMin, 500*time.Millisecond)
	def(&cfg.RetryMax, 30*time.Second)
	def(&cfg.ShutdownGrace, 30*time.Second)
	for _, f := range []struct {
		name string
		v    int64
	}{{"MaxBytes", int64(cfg.MaxBytes)}, {"MaxWait", int64(cfg.MaxWait)}, {"RetryMin", int64(cfg.RetryMin)},
		{"RetryMax", int64(cfg.RetryMax)}, {"Concurrency", int64(cfg.Concurrency)}, {"ShutdownGrace", int64(cfg.ShutdownGrace)}} {
		if f.v < 0 {
			return fail("%s is negative (%d)", f.name, f.v)
		}
	}
	if cfg.RetryMax < cfg.RetryMin {
		return fail("RetryMax %v is below RetryMin %v", cfg.RetryMax, cfg.RetryMin)
	}
	if cfg.DoneSuffix != "" {
		if err := bridges.CheckName("x" + cfg.DoneSuffix); err != nil {
			return fail("done suffix %q: %v", cfg.DoneSuffix, err)
		}
	}
	d := &Delivery{cfg: cfg, log: cfg.Logger}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("delivery", cfg.Name)
	if d.tmpl, err = parseNameTemplate(cfg.NameTemplate); err != nil {
		return fail("name template: %v", err)
	}
	if cfg.ControlNumberPath != "" {
		if d.controlPath, err = parsePath(cfg.ControlNumberPath); err != nil {
			return fail("control number: %v", err)
		}
		if d.controlPath.root != "" || d.controlPath.wild {
			return fail("control number path %q must start with $. and pick one value", cfg.ControlNumberPath)
		}
	}
	types := cfg.Types
	if len(types) == 0 {
		if te, ok := cfg.Encoder.(TypedEncoder); ok {
			types = te.Types()
		}
	}
	if len(types) > 0 {
		d.types = map[string]bool{}
		for _, t := range types {
			d.types[t] = true
		}
	}
	d.cfg.Types = types
	d.brokers = strings.Join(cfg.Brokers, ",")
	d.dialer = &kafka.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DualStack: true,
		TLS: cfg.TLS, SASLMechanism: cfg.SASL}
	gc := d.groupConfig()
	if err := gc.Validate(); err != nil {
		return fail("kafka consumer group: %v", err)
	}
	pc := d.partitionConfig(0)
	if err := pc.Validate(); err != nil {
		return fail("kafka reader: %v", err)
	}
	if o.reg != nil {
		if d.m, err = newMetrics(o.reg); err != nil {
			return fail("%v", err)
		}
	}
	return d, nil
}

// groupConfig is the consumer group: Run joins it and is handed, per
// generation, the partitions it reads and the committed offsets to start
// from.
func (d *Delivery) groupConfig() kafka.ConsumerGroupConfig {
	start := kafka.FirstOffset
	if d.cfg.StartFromLatest {
		start = kafka.LastOffset
	}
	return kafka.ConsumerGroupConfig{
		ID:               d.cfg.GroupID,
		Brokers:          d.cfg.Brokers,
		Dialer:           d.dialer,
		Topics:           []string{d.cfg.Topic},
		StartOffset:      start,
		JoinGroupBackoff: time.Second,
		Timeout:          10 * time.Second, // each request to the coordinator, commits included
		ErrorLogger:      d.kafkaLogger("kafka consumer group: "),
	}
}

// partitionConfig reads one partition of the topic (no group: offsets are
// committed through the generation that assigned the partition).
func (d *Delivery) partitionConfig(partition int) kafka.ReaderConfig {
	return kafka.ReaderConfig{
		Brokers:         d.cfg.Brokers,
		Topic:           d.cfg.Topic,
		Partition:       partition,
		Dialer:          d.dialer,
		MinBytes:        1,
		MaxBytes:        d.cfg.MaxBytes,
		MaxWait:         d.cfg.MaxWait,
		IsolationLevel:  kafka.ReadCommitted,
		ReadLagInterval: -1, // no lag polling
		ErrorLogger:     d.kafkaLogger("kafka reader: "),
	}
}

func (d *Delivery) kafkaLogger(prefix string) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		d.log.Warn(prefix + strings.TrimSpace(fmt.Sprintf(msg, args...)))
	})
}

// Stats counts what a Delivery did since it was built.
type Stats struct {
	Delivered    int64 // files written (and markers), before their commit
	Committed    int64 // messages whose offsets were committed
	Skipped      int64 // events of types not delivered
	DeadLettered int64 // events sent to the dead-letter topic
	Retries      int64 // failed attempts to write a file or a dead letter
	// Failing is true while the latest attempt failed and is being retried.
	Failing   bool
	LastError string // the latest failure, "" if none
}

// Stats returns the counters; safe to call while Run runs (for /healthz).
func (d *Delivery) Stats() Stats {
	d.mu.Lock()
	last := d.lastErr
	d.mu.Unlock()
	return Stats{Delivered: d.delivered.Load(), Committed: d.committed.Load(), Skipped: d.skipped.Load(),
		DeadLettered: d.deadLettered.Load(), Retries: d.retries.Load(), Failing: d.failing.Load(), LastError: last}
}

// EventError is returned by Run when an event cannot be delivered and no
// dead-letter topic is set. Its offset is not committed.
type EventError struct {
	Delivery  string
	ID        string // CloudEvents id, "" if the message is not a CloudEvent
	Type      string
	Topic     string
	Partition int
	Offset    int64
	Stage     string // "decode", "name" or "encode"
	Err       error
}

func (e *EventError) Error() string {
	id := "message"
	if e.ID != "" {
		id = "event " + e.ID
		if e.Type != "" {
			id += " (" + e.Type + ")"
		}
	}
	return fmt.Sprintf("file: delivery %s: %s at %s partition %d offset %d cannot be delivered (%s): %v; "+
		"its offset is not committed: fix the cause (the producer, the name template or the encoder spec) or set a dead-letter topic, then restart",
		e.Delivery, id, e.Topic, e.Partition, e.Offset, e.Stage, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

// job is one fetched message on its way to a file.
type job struct {
	msg   kafka.Message
	gen   *generation // the group generation that assigned the partition
	ev    legacybridge.Event
	name  string
	skip  bool
	bad   error  // cannot be delivered
	stage string // where bad comes from

	// committer's state
	done, orphan bool
}

// generation is one generation of the consumer group as this delivery
// takes part in it: the partitions it was given, each read from its
// committed offset. Offsets are committed only through the generation that
// fetched them: the broker accepts a commit for any partition from a member
// of the current generation, so a file of an earlier generation committed
// later would move the offset of a partition that another member now owns
// back below what that member delivered.
type generation struct {
	kg *kafka.Generation
	// ended is set (and end closed) when the group rebalances or Run
	// stops: workers do not start this generation's jobs any more, nor
	// retry a failed one (it would not be committed).
	ended atomic.Bool
	end   chan struct{}
	// dropped is set once the committer has forgotten the generation's jobs
	// (committer only).
	dropped bool
}

// revoked reports that the generation that fetched j has ended: j is not
// committed by this delivery any more.
func (j *job) revoked() bool { return j.gen != nil && j.gen.ended.Load() }

// sleep waits d, unless ctx is done or j's generation ends first (false).
func (j *job) sleep(ctx context.Context, d time.Duration) bool {
	if j.gen == nil {
		return sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-j.gen.end:
		return false
	case <-t.C:
		return true
	}
}

// fetchedMsg is a message read from a partition of gen.
type fetchedMsg struct {
	m   kafka.Message
	gen *generation
}

// revoke asks the committer to commit what gen delivered and forget the
// rest; done is closed then.
type revoke struct {
	gen  *generation
	done chan struct{}
}

type trackKind int

const (
	fetched trackKind = iota
	finished
)

type trackEvent struct {
	kind trackKind
	j    *job
}

var errGraceOver = errors.New("shutdown grace period is over")

// Run delivers until ctx is done (it then returns nil once the files in
// hand are written and committed, or ShutdownGrace has passed) or an event
// cannot be delivered without a dead-letter topic (*EventError). Errors
// talking to Kafka are logged and retried. Run may be called once.
//
// When the group rebalances, the offsets of files already written are
// committed before the partitions are given up; jobs of the old generation
// not started yet are dropped, and those being written are finished but not
// committed: the partition's next owner (maybe this delivery again) delivers
// them from the committed offset, under the same names.
func (d *Delivery) Run(ctx context.Context) error {
	if !d.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("file: delivery %s: Run called twice", d.cfg.Name)
	}
	cg, err := kafka.NewConsumerGroup(d.groupConfig())
	if err != nil {
		return fmt.Errorf("file: delivery %s: consumer group %s: %w", d.cfg.Name, d.cfg.GroupID, err)
	}
	d.sweepTemp(ctx)

	work, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	stopGrace := context.AfterFunc(ctx, func() {
		time.AfterFunc(d.cfg.ShutdownGrace, func() { cancelWork(errGraceOver) })
	})
	defer stopGrace()
	fetchCtx, cancelFetch := context.WithCancel(ctx)
	defer cancelFetch()

	var (
		fatalOnce sync.Once
		fatal     error
	)
	fail := func(err error) {
		fatalOnce.Do(func() {
			fatal = err
			d.log.Error("delivery stopped", "err", err)
			cancelFetch()
			cancelWork(err)
		})
	}

	n := d.cfg.Concurrency
	inflight := max(16, 8*n)
	sem := make(chan struct{}, inflight)
	events := make(chan trackEvent, 4*inflight)
	revokes := make(chan revoke)
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		d.commitLoop(events, revokes, sem)
	}()
	msgs := make(chan fetchedMsg)
	joinerDone := make(chan struct{})
	go func() {
		defer close(joinerDone)
		d.joinLoop(fetchCtx, cg, msgs, revokes, committerDone)
	}()
	// Leave the group only after the last commit (the generation's
	// connection carries it); this ends the generation's readers.
	defer func() {
		cg.Close()
		<-joinerDone
	}()

	queues := make([]chan *job, n)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan *job, inflight)
		wg.Add(1)
		go func(q chan *job) {
			defer wg.Done()
			for j := range q {
				if ctx.Err() != nil || work.Err() != nil {
					continue // stopping: not started, not committed
				}
				if j.revoked() {
					continue // its partition was given up: the next owner delivers it
				}
				ok, err := d.process(work, j)
				if err != nil {
					fail(err)
					continue
				}
				if ok {
					j.msg.Value, j.ev.Data = nil, nil
					events <- trackEvent{finished, j}
				}
			}
		}(queues[i])
	}

fetch:
	for {
		select {
		case sem <- struct{}{}:
		case <-fetchCtx.Done():
			break fetch
		}
		var f fetchedMsg
		select {
		case f = <-msgs:
		case <-fetchCtx.Done():
			break fetch
		}
		if f.gen.ended.Load() {
			<-sem
			continue
		}
		j := d.prepare(f.m)
		j.gen = f.gen
		events <- trackEvent{fetched, j}
		if j.skip {
			d.skipped.Add(1)
			d.m.skip(d.cfg.Name)
			d.log.Debug("event type not delivered; skipped", "type", j.ev.Type, "id", j.ev.ID,
				"partition", f.m.Partition, "offset", f.m.Offset)
			events <- trackEvent{finished, j}
			continue
		}
		select {
		case queues[shard(j, n)] <- j:
		case <-fetchCtx.Done():
			break fetch
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	close(events)
	<-committerDone
	return fatal
}

// joinLoop takes part in the consumer group until ctx is done: for each
// generation, it starts a reader per assigned partition, feeding msgs, and
// a hook that has the committer settle the generation when it ends (the
// group rejoins only after that).
func (d *Delivery) joinLoop(ctx context.Context, cg *kafka.ConsumerGroup, msgs chan<- fetchedMsg, revokes chan<- revoke, committerDone <-chan struct{}) {
	for {
		kg, err := cg.Next(ctx)
		if err != nil {
			switch {
			case ctx.Err() != nil, errors.Is(err, kafka.ErrGroupClosed):
				return
			case errors.Is(err, kafka.RebalanceInProgress):
				d.log.Debug("consumer group rebalancing; joining again", "group", d.cfg.GroupID)
			default:
				// kafka-go waits JoinGroupBackoff before the next attempt.
				d.log.Warn("joining the consumer group failed; retrying", "group", d.cfg.GroupID, "brokers", d.brokers, "err", err)
			}
			continue
		}
		g := &generation{kg: kg, end: make(chan struct{})}
		parts := kg.Assignments[d.cfg.Topic]
		ids := make([]int, len(parts))
		for i, a := range parts {
			ids[i] = a.ID
		}
		d.log.Info("consumer group joined", "group", d.cfg.GroupID, "generation", kg.ID, "member", kg.MemberID,
			"topic", d.cfg.Topic, "partitions", ids)
		kg.Start(func(gctx context.Context) {
			<-gctx.Done()
			g.ended.Store(true)
			close(g.end)
			rv := revoke{gen: g, done: make(chan struct{})}
			select {
			case revokes <- rv:
				<-rv.done
			case <-committerDone:
			}
		})
		for _, a := range parts {
			kg.Start(func(gctx context.Context) { d.readPartition(gctx, g, a, msgs) })
		}
	}
}

// readPartition sends the messages of one assigned partition, from its
// committed offset, until the generation ends. It must not return before:
// kafka-go ends a generation when one of its routines returns.
func (d *Delivery) readPartition(gctx context.Context, g *generation, a kafka.PartitionAssignment, msgs chan<- fetchedMsg) {
	r := kafka.NewReader(d.partitionConfig(a.ID))
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		d.log.Error("kafka reader: cannot set the offset; the partition is read again after the next rebalance",
			"topic", d.cfg.Topic, "partition", a.ID, "offset", a.Offset, "err", err)
		<-gctx.Done()
		return
	}
	failures := 0
	for {
		m, err := r.FetchMessage(gctx)
		if gctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			delay := backoff(failures, d.cfg.RetryMin, d.cfg.RetryMax)
			d.log.Warn("kafka fetch failed; retrying", "topic", d.cfg.Topic, "partition", a.ID, "brokers", d.brokers,
				"retry_in", delay, "err", err)
			if !sleep(gctx, delay) {
				return
			}
			continue
		}
		failures = 0
		select {
		case msgs <- fetchedMsg{m: m, gen: g}:
		case <-gctx.Done():
			return
		}
	}
}

// shard sends events with the same file name to the same worker, so they
// are written in offset order.
func shard(j *job, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	if j.name != "" {
		h.Write([]byte(j.name))
	} else {
		h.Write([]byte(j.msg.Topic + "/" + strconv.Itoa(j.msg.Partition)))
	}
	return int(h.Sum32() % uint32(n))
}

// prepare decodes the event and names its file.
func (d *Delivery) prepare(m kafka.Message) *job {
	j := &job{msg: m}
	ev, err := decodeEvent(m)
	j.ev = ev
	if err != nil {
		j.bad, j.stage = err, "decode"
		return j
	}
	if d.types != nil && !d.types[ev.Type] {
		j.skip = true
		return j
	}
	name, err := renderName(d.tmpl, d.nameData(ev, m), d.cfg.DoneSuffix)
	if err != nil {
		j.bad, j.stage = err, "name"
		return j
	}
	j.name = name
	// Two events with one name: the later overwrites the earlier file.
	// That is right for an update of the same document, and wrong for a
	// template that is not unique enough: say so.
	if prev, ok := d.recent[name]; ok && prev != ev.ID {
		d.log.Warn("two events map to one file name; the later replaces the earlier file (add {{.ID}} to the name template if they are different documents)",
			"file", name, "id", ev.ID, "earlier_id", prev)
	}
	if d.recent == nil || len(d.recent) >= 10000 {
		d.recent = make(map[string]string)
	}
	d.recent[name] = ev.ID
	return j
}

// process delivers one job: true once the file (or the dead letter) is in
// place. false with a nil error means ctx ended first; an error stops the
// delivery.
func (d *Delivery) process(ctx context.Context, j *job) (bool, error) {
	var content []byte
	for attempt := 1; j.bad == nil; attempt++ {
		var buf bytes.Buffer
		err := d.cfg.Encoder.Encode(&buf, j.ev)
		if err == nil {
			content = buf.Bytes()
			break
		}
		if !errors.Is(err, ErrTemporary) {
			j.bad, j.stage = err, "encode"
			break
		}
		// Not about the event (the encoder's store failed): retried.
		delay := backoff(attempt, d.cfg.RetryMin, d.cfg.RetryMax)
		d.retry(err)
		d.log.Warn("encoding failed for a reason outside the event; retrying", "attempt", attempt, "retry_in", delay,
			"id", j.ev.ID, "partition", j.msg.Partition, "offset", j.msg.Offset, "err", err)
		if !sleep(ctx, delay) {
			return false, nil
		}
	}
	if j.bad != nil {
		return d.reject(ctx, j)
	}
	path := bridges.Join(d.cfg.Dir, j.name)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := d.put(ctx, path, content)
		if err == nil {
			d.failing.Store(false)
			d.delivered.Add(1)
			d.m.delivered(d.cfg.Name, len(content), time.Since(start))
			d.log.Info("file delivered", "file", path, "bytes", len(content), "id", j.ev.ID, "type", j.ev.Type,
				"partition", j.msg.Partition, "offset", j.msg.Offset)
			return true, nil
		}
		if ctx.Err() != nil || j.revoked() {
			return false, nil
		}
		if errors.Is(err, bridges.ErrUnsafeName) {
			return false, fmt.Errorf("file: delivery %s: %w", d.cfg.Name, err)
		}
		delay := backoff(attempt, d.cfg.RetryMin, d.cfg.RetryMax)
		d.retry(err)
		d.log.Warn("writing a file failed; retrying", "file", path, "attempt", attempt, "retry_in", delay,
			"id", j.ev.ID, "partition", j.msg.Partition, "offset", j.msg.Offset, "err", err)
		if !j.sleep(ctx, delay) {
			return false, nil
		}
	}
}

func (d *Delivery) retry(err error) {
	d.retries.Add(1)
	d.failing.Store(true)
	d.m.retry(d.cfg.Name)
	d.mu.Lock()
	d.lastErr = err.Error()
	d.mu.Unlock()
}

// put writes one file and its marker; one attempt.
func (d *Delivery) put(ctx context.Context, path string, content []byte) error {
	fs := d.cfg.FS
	if !d.dirReady.Load() && d.cfg.Dir != "." {
		if err := fs.MkdirAll(ctx, d.cfg.Dir); err != nil {
			return fmt.Errorf("create folder %s: %w", d.cfg.Dir, err)
		}
		d.dirReady.Store(true)
	}
	if err := writeFile(ctx, fs, path, content); err != nil {
		if errors.Is(err, bridges.ErrNotExist) {
			d.dirReady.Store(false) // the folder went away: create it again
		}
		return err
	}
	if d.cfg.DoneSuffix != "" {
		if err := writeFile(ctx, fs, path+d.cfg.DoneSuffix, nil); err != nil {
			return err
		}
	}
	if s, ok := fs.(DirSyncer); ok {
		if err := s.SyncDir(ctx, d.cfg.Dir); err != nil {
			return fmt.Errorf("sync folder %s: %w", d.cfg.Dir, err)
		}
	}
	return nil
}

// writeFile creates path through the FS, whose Create publishes the content
// under path only when Close succeeds (bridges.FS contract).
func writeFile(ctx context.Context, fs bridges.FS, path string, content []byte) error {
	w, err := fs.Create(ctx, path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if len(content) > 0 {
		if _, err := w.Write(content); err != nil {
			// A failed write is never published: Close reports it and
			// removes the temporary file (contract).
			w.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// reject dead-letters a job, or stops the delivery when there is no
// dead-letter topic.
func (d *Delivery) reject(ctx context.Context, j *job) (bool, error) {
	ee := &EventError{Delivery: d.cfg.Name, ID: j.ev.ID, Type: j.ev.Type, Topic: j.msg.Topic, Partition: j.msg.Partition,
		Offset: j.msg.Offset, Stage: j.stage, Err: j.bad}
	if d.cfg.DeadLetter == nil {
		return false, ee
	}
	msg := d.deadLetter(j)
	for attempt := 1; ; attempt++ {
		err := d.cfg.DeadLetter.Emit(ctx, msg)
		if err == nil {
			d.failing.Store(false)
			d.deadLettered.Add(1)
			d.m.deadLetter(d.cfg.Name)
			d.log.Error("event cannot be delivered; dead-lettered", "topic", d.cfg.DeadLetterTopic, "id", j.ev.ID,
				"partition", j.msg.Partition, "offset", j.msg.Offset, "stage", j.stage, "err", j.bad)
			return true, nil
		}
		if ctx.Err() != nil || j.revoked() {
			return false, nil
		}
		var t interface{ Temporary() bool }
		if errors.As(err, &t) && !t.Temporary() {
			return false, fmt.Errorf("%w; and Kafka refused it on the dead-letter topic %s: %v", ee, d.cfg.DeadLetterTopic, err)
		}
		delay := backoff(attempt, d.cfg.RetryMin, d.cfg.RetryMax)
		d.retry(err)
		d.log.Warn("dead-lettering failed; retrying", "topic", d.cfg.DeadLetterTopic, "attempt", attempt, "retry_in", delay, "err", err)
		if !j.sleep(ctx, delay) {
			return false, nil
		}
	}
}

func (d *Delivery) deadLetter(j *job) legacybridge.Message {
	m := j.msg
	h := make([]legacybridge.Header, 0, len(m.Headers)+12)
	for _, x := range m.Headers {
		h = append(h, legacybridge.Header{Key: x.Key, Value: x.Value})
	}
	reason := j.bad.Error()
	part, off := strconv.Itoa(m.Partition), strconv.FormatInt(m.Offset, 10)
	h = append(h,
		legacybridge.Header{Key: "__connect.errors.topic", Value: []byte(m.Topic)},
		legacybridge.Header{Key: "__connect.errors.partition", Value: []byte(part)},
		legacybridge.Header{Key: "__connect.errors.offset", Value: []byte(off)},
		legacybridge.Header{Key: "__connect.errors.connector.name", Value: []byte(d.cfg.Name)},
		legacybridge.Header{Key: "__connect.errors.stage", Value: []byte(j.stage)},
		legacybridge.Header{Key: "__connect.errors.exception.message", Value: []byte(reason)},
		legacybridge.Header{Key: "x-bridge-delivery", Value: []byte(d.cfg.Name)},
		legacybridge.Header{Key: "x-bridge-stage", Value: []byte(j.stage)},
		legacybridge.Header{Key: "x-bridge-error", Value: []byte(reason)},
		legacybridge.Header{Key: "x-bridge-source-topic", Value: []byte(m.Topic)},
		legacybridge.Header{Key: "x-bridge-source-partition", Value: []byte(part)},
		legacybridge.Header{Key: "x-bridge-source-offset", Value: []byte(off)},
	)
	return legacybridge.Message{Topic: d.cfg.DeadLetterTopic, Key: m.Key, Headers: h, Value: m.Value}
}

// genPartition is a partition as one generation assigned it.
type genPartition struct {
	gen       *generation
	partition int
}

// pendingCommit is what is finished on a partition and not committed yet.
type pendingCommit struct {
	next  int64 // the offset to commit: the last finished message's + 1
	count int   // messages finished since the last commit
}

// commitLoop tracks fetched jobs per partition and generation and commits,
// after each burst of finished jobs, the offset below which every job is
// finished, through the generation that fetched them. When a generation
// ends (revokes), it commits what that generation finished and forgets the
// rest. It returns when events is closed, after a last commit.
func (d *Delivery) commitLoop(events <-chan trackEvent, revokes <-chan revoke, sem <-chan struct{}) {
	parts := map[genPartition][]*job{}
	pending := map[genPartition]pendingCommit{}
	handle := func(e trackEvent) {
		j := e.j
		if j.orphan {
			return // finished after its generation was settled: not committed
		}
		if j.gen.dropped {
			// Fetched as its generation ended; the worker does not start it.
			j.orphan = true
			<-sem
			return
		}
		k := genPartition{j.gen, j.msg.Partition}
		switch e.kind {
		case fetched:
			parts[k] = append(parts[k], j)
		case finished:
			j.done = true
			q := parts[k]
			for len(q) > 0 && q[0].done {
				p := pending[k]
				p.next, p.count = q[0].msg.Offset+1, p.count+1
				pending[k] = p
				q[0] = nil
				q = q[1:]
				<-sem
			}
			parts[k] = q
		}
	}
	// commit commits the pending offsets of gen (all generations if nil).
	commit := func(gen *generation) error {
		byGen := map[*generation]map[int]int64{}
		for k, p := range pending {
			if gen != nil && k.gen != gen {
				continue
			}
			if byGen[k.gen] == nil {
				byGen[k.gen] = map[int]int64{}
			}
			byGen[k.gen][k.partition] = p.next
		}
		for g, offsets := range byGen {
			if err := g.kg.CommitOffsets(map[string]map[int]int64{d.cfg.Topic: offsets}); err != nil {
				return err
			}
			n := 0
			for part := range offsets {
				k := genPartition{g, part}
				n += pending[k].count
				delete(pending, k)
			}
			d.committed.Add(int64(n))
			d.m.commit(d.cfg.Name, n)
		}
		return nil
	}
	settle := func(rv revoke) {
		defer close(rv.done)
		g := rv.gen
		// The group is preparing the rebalance: the broker still takes this
		// generation's commits until every member has joined again.
		err := commit(g)
		notCommitted, dropped := 0, 0
		for k, p := range pending {
			if k.gen == g {
				notCommitted += p.count
				delete(pending, k)
			}
		}
		for k, q := range parts {
			if k.gen != g {
				continue
			}
			for _, j := range q {
				j.orphan = true
				<-sem
				dropped++
			}
			delete(parts, k)
		}
		g.dropped = true
		if err != nil {
			d.log.Warn("offsets of delivered files not committed before the group rebalanced; the partitions' next owners deliver them again (same names)",
				"group", d.cfg.GroupID, "generation", g.kg.ID, "files", notCommitted, "err", err)
		}
		d.log.Info("consumer group generation ended; files in hand are not committed, the partitions' next owners deliver them",
			"group", d.cfg.GroupID, "generation", g.kg.ID, "files_in_hand", dropped)
	}
	var retry <-chan time.Time
	failures := 0
	for {
		select {
		case e, ok := <-events:
			if !ok {
				d.finalCommit(func() int { return len(pending) }, func() error { return commit(nil) })
				return
			}
			handle(e)
		case rv := <-revokes:
			settle(rv)
		case <-retry:
			retry = nil
		}
	drain:
		for {
			select {
			case e, ok := <-events:
				if !ok {
					d.finalCommit(func() int { return len(pending) }, func() error { return commit(nil) })
					return
				}
				handle(e)
			default:
				break drain
			}
		}
		if len(pending) == 0 || retry != nil {
			continue
		}
		if err := commit(nil); err != nil {
			failures++
			delay := backoff(failures, d.cfg.RetryMin, d.cfg.RetryMax)
			if rebalancing(err) {
				d.log.Info("offsets not committed: the group is rebalancing; they are committed before the partitions are given up",
					"group", d.cfg.GroupID, "err", err)
			} else {
				d.log.Warn("committing offsets failed; files are in place, retrying the commit", "group", d.cfg.GroupID,
					"retry_in", delay, "err", err)
			}
			retry = time.After(delay)
			continue
		}
		failures = 0
	}
}

// rebalancing reports commit errors that mean the generation is over or
// about to be.
func rebalancing(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId)
}

func (d *Delivery) finalCommit(partitions func() int, commit func() error) {
	for attempt := 1; partitions() > 0; attempt++ {
		err := commit()
		if err == nil {
			return
		}
		if attempt == 3 {
			d.log.Warn("offsets of delivered files not committed at shutdown; they are delivered again (same names) on the next start",
				"group", d.cfg.GroupID, "partitions", partitions(), "err", err)
			return
		}
	}
}

// backoff returns the wait after attempt n (1-based): min·2^(n-1), at most max.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sweepTemp removes temporary files that writers cut off by a crash left
// in the destination folder more than an hour ago (a writer at work keeps
// its file newer). A failure is logged: the folder may not exist yet, or
// the transport may be down, and delivering matters more.
func (d *Delivery) sweepTemp(ctx context.Context) {
	removed, err := bridges.SweepTemp(ctx, d.cfg.FS, d.cfg.Dir, time.Now().Add(-time.Hour))
	if err != nil && !errors.Is(err, bridges.ErrNotExist) {
		d.log.Warn("could not remove temporary files left by an earlier crash; they stay hidden", "dir", d.cfg.Dir, "err", err)
	}
	if len(removed) > 0 {
		d.log.Info("removed temporary files left by an earlier crash", "dir", d.cfg.Dir, "files", len(removed))
	}
}
