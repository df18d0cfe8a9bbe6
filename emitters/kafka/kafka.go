// Package kafka delivers legacybridge messages to Kafka with
// segmentio/kafka-go, acknowledged by all in-sync replicas, and tails topics
// as JSON lines.
//
// Emit is synchronous and at least once: it returns nil only when the
// brokers acknowledged every message (acks=all). Messages that failed for a
// reason that may pass (network, broker restart, leader change, not enough
// replicas) are re-sent, only they, with capped backoff, until
// Config.MaxAttempts or ctx ends; messages refused for good (authorization,
// size) are not. Either way a *DeliveryError says which messages of the
// call were not acknowledged. kafka-go has no idempotent producer, so a
// message whose ack was lost is stored twice; consumers dedupe on the
// CloudEvents id (ce_id header).
//
// Messages with the same key go to the same partition (Config.Balancer), so
// a business key keeps its order across sequential Emit calls, provided one
// call's messages for a partition fit one batch (Config.BatchSize,
// Config.BatchBytes): otherwise a retried batch can land after a later one.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"legacybridge"
)

// DefaultBroker is the bootstrap address of a zero Config.
const DefaultBroker = "127.0.0.1:9092"

// Config configures an Emitter. The zero value talks plaintext to
// 127.0.0.1:9092.
type Config struct {
	// Brokers are bootstrap host:port addresses. Default [127.0.0.1:9092].
	Brokers []string

	// ClientID names this client to the brokers. Default "legacybridge".
	ClientID string

	// Balancer maps a message to a partition. Default &kafka.Hash{}: the
	// FNV-1a hash of the key (Sarama-compatible), round robin for nil keys.
	// Use kafka.Murmur2Balancer{} to match the Java client's partitioning.
	Balancer kafka.Balancer

	// BatchSize is the most messages sent to one partition in one produce
	// request. Size it to the largest Emit call so that a call's messages
	// for a partition travel together. Default 1000.
	BatchSize int

	// BatchBytes is the most bytes sent to one partition in one produce
	// request; a larger single message fails without being retried. It
	// must not exceed the broker's message.max.bytes. Default 1 MiB.
	BatchBytes int64

	// BatchTimeout is how long a partial batch waits for more messages
	// before it is sent; every Emit waits this long at least. Default 2ms.
	BatchTimeout time.Duration

	// MaxAttempts is how many times a message is sent before Emit gives up
	// on it. Default 10 (about 7 s of retrying with the default backoff).
	MaxAttempts int

	// WriteBackoffMin and WriteBackoffMax bound the wait between attempts,
	// which doubles from Min up to Max. Defaults 100ms and 1s.
	WriteBackoffMin time.Duration
	WriteBackoffMax time.Duration

	// WriteTimeout bounds one produce request. Default 10s.
	WriteTimeout time.Duration

	// DialTimeout bounds connecting (TCP, TLS, SASL) to a broker.
	// Default 5s.
	DialTimeout time.Duration

	// MetadataTTL is how long cluster metadata (topics, partitions,
	// leaders) is cached; it also bounds how long a client that started
	// while the brokers were down keeps reporting that. Default 2s.
	MetadataTTL time.Duration

	// Compression of produced batches. Default none.
	Compression kafka.Compression

	// TLS enables TLS with this configuration. Default nil: plaintext.
	TLS *tls.Config

	// SASL authenticates with this mechanism, e.g. plain.Mechanism from
	// github.com/segmentio/kafka-go/sasl/plain. Default nil: none.
	SASL sasl.Mechanism

	// Logger receives a warning for each retry. Default: none.
	Logger *slog.Logger
}

// Emitter delivers messages to Kafka. It is safe for concurrent use:
// concurrent Emit calls share batches.
type Emitter struct {
	cfg       Config // defaults applied
	brokers   string // for messages
	w         *kafka.Writer
	transport *kafka.Transport
	m         *metrics // nil: no metrics
}

var _ legacybridge.Emitter = (*Emitter)(nil)

// Option configures an Emitter beyond its Config.
type Option func(*options)

type options struct {
	reg registerer
}

// NewEmitter returns an emitter for cfg. It validates cfg but does not
// connect: the first Emit does.
func NewEmitter(cfg Config, opts ...Option) (*Emitter, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &kafka.Transport{
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		MetadataTTL: cfg.MetadataTTL,
		TLS:         cfg.TLS,
		SASL:        cfg.SASL,
	}
	w := &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Balancer:               cfg.Balancer,
		MaxAttempts:            1, // Emit retries, ctx-aware, only what failed
		BatchSize:              cfg.BatchSize,
		BatchBytes:             cfg.BatchBytes,
		BatchTimeout:           cfg.BatchTimeout,
		ReadTimeout:            cfg.WriteTimeout,
		WriteTimeout:           cfg.WriteTimeout,
		RequiredAcks:           kafka.RequireAll,
		Compression:            cfg.Compression,
		Transport:              t,
		AllowAutoTopicCreation: true,
	}
	e := &Emitter{cfg: cfg, brokers: strings.Join(cfg.Brokers, ","), w: w, transport: t}
	if o.reg != nil {
		m, err := newMetrics(o.reg)
		if err != nil {
			return nil, err
		}
		e.m = m
	}
	return e, nil
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{DefaultBroker}
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return c, fmt.Errorf("kafka: broker address %q: %w (want host:port)", b, err)
		}
	}
	if c.ClientID == "" {
		c.ClientID = "legacybridge"
	}
	if c.Balancer == nil {
		c.Balancer = &kafka.Hash{}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"BatchSize", int64(c.BatchSize)}, {"BatchBytes", c.BatchBytes}, {"BatchTimeout", int64(c.BatchTimeout)},
		{"MaxAttempts", int64(c.MaxAttempts)}, {"WriteBackoffMin", int64(c.WriteBackoffMin)},
		{"WriteBackoffMax", int64(c.WriteBackoffMax)}, {"WriteTimeout", int64(c.WriteTimeout)},
		{"DialTimeout", int64(c.DialTimeout)}, {"MetadataTTL", int64(c.MetadataTTL)},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("kafka: config %s is negative (%d)", f.name, f.v)
		}
	}
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	def(&c.BatchTimeout, 2*time.Millisecond)
	def(&c.WriteBackoffMin, 100*time.Millisecond)
	def(&c.WriteBackoffMax, time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.MetadataTTL, 2*time.Second)
	if c.WriteBackoffMax < c.WriteBackoffMin {
		return c, fmt.Errorf("kafka: config WriteBackoffMax %v is below WriteBackoffMin %v", c.WriteBackoffMax, c.WriteBackoffMin)
	}
	return c, nil
}

// Emit delivers msgs and returns nil once every one is acknowledged by all
// in-sync replicas. Messages may go to several topics; topics are created
// on first use where the cluster allows it. On failure it returns a
// *DeliveryError. When ctx ends first, messages still in flight may be
// stored anyway.
func (e *Emitter) Emit(ctx context.Context, msgs ...legacybridge.Message) (err error) {
	if len(msgs) == 0 {
		return nil
	}
	start := time.Now()
	if e.m != nil {
		defer func() { e.m.observe(start, err) }()
	}
	pending := make([]kafka.Message, len(msgs))
	idx := make([]int, len(msgs)) // idx[i]: pending[i]'s index in msgs
	nh := 0
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("kafka: message %d has no topic", i)
		}
		nh += len(m.Headers)
	}
	headers := make([]kafka.Header, 0, nh) // one allocation for all headers
	for i, m := range msgs {
		var hs []kafka.Header
		if len(m.Headers) > 0 {
			for _, h := range m.Headers {
				headers = append(headers, kafka.Header{Key: h.Key, Value: h.Value})
			}
			hs = headers[len(headers)-len(m.Headers) : len(headers) : len(headers)]
		}
		pending[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: hs}
		idx[i] = i
	}

	var (
		lastErr     error // the latest error that is not ctx's own
		rejected    []int // indexes the brokers refused for good
		rejectedErr error
	)
	for attempt := 1; ; attempt++ {
		werr := e.w.WriteMessages(ctx, pending...)
		fail := func(failed []kafka.Message, failedIdx []int, err error) error {
			e.m.failed(failed)
			if len(rejected) > 0 {
				failedIdx = append(slices.Clone(failedIdx), rejected...)
				slices.Sort(failedIdx)
				if err == nil || retryable(err) {
					err = rejectedErr // the reason that will not go away
				}
			}
			de := &DeliveryError{Failed: len(failedIdx), Total: len(msgs), Indexes: failedIdx, Attempts: attempt, Brokers: e.brokers, Err: err}
			if ctx.Err() != nil {
				de.Ctx = context.Cause(ctx)
			}
			return de
		}
		if werr == nil {
			e.m.emitted(pending)
			if len(rejected) > 0 {
				return fail(nil, nil, rejectedErr)
			}
			return nil
		}
		var (
			failed    []kafka.Message
			failedIdx []int
			wes       kafka.WriteErrors
			tooBig    kafka.MessageTooLargeError
		)
		switch {
		case errors.As(werr, &wes) && len(wes) == len(pending):
			acked := make([]kafka.Message, 0, len(pending)-wes.Count())
			var errAt error
			for i, err := range wes {
				if err == nil {
					acked = append(acked, pending[i])
					continue
				}
				if !retryable(err) {
					e.m.failed(pending[i : i+1])
					rejected = append(rejected, idx[i])
					rejectedErr = err
					continue
				}
				failed = append(failed, pending[i])
				failedIdx = append(failedIdx, idx[i])
				if errAt == nil || (isNetwork(errAt) && !isNetwork(err)) {
					errAt = err // prefer a broker's answer over a dial error
				}
			}
			e.m.emitted(acked)
			if errAt != nil {
				lastErr = errAt
			}
			if len(failed) == 0 { // the rest is acknowledged or refused
				return fail(nil, nil, rejectedErr)
			}
		case errors.As(werr, &tooBig):
			// kafka-go refuses the whole call; name the culprit.
			what := "a message"
			for i, p := range pending {
				if sameMessage(p, tooBig.Message) {
					what = fmt.Sprintf("message %d", idx[i])
					break
				}
			}
			return fail(pending, idx, fmt.Errorf("%s (topic %s) is larger than BatchBytes (%d bytes): %w",
				what, tooBig.Message.Topic, e.cfg.BatchBytes, werr))
		case errors.Is(werr, io.ErrClosedPipe):
			return fail(pending, idx, errors.New("emitter is closed"))
		default: // ctx, metadata or dial: nothing is known to be stored
			failed, failedIdx = pending, idx
			if ctx.Err() == nil || !errors.Is(werr, ctx.Err()) {
				lastErr = werr
			}
		}
		if ctx.Err() != nil || !retryable(lastErr) || attempt >= e.cfg.MaxAttempts {
			return fail(failed, failedIdx, lastErr)
		}
		delay := backoff(attempt, e.cfg.WriteBackoffMin, e.cfg.WriteBackoffMax)
		if e.cfg.Logger != nil {
			e.cfg.Logger.WarnContext(ctx, "kafka: retrying unacknowledged messages",
				"failed", len(failed), "total", len(msgs), "attempt", attempt, "backoff", delay,
				"brokers", e.brokers, "error", lastErr)
		}
		e.m.retried(len(failed))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(failed, failedIdx, lastErr)
		case <-t.C:
		}
		pending, idx = failed, failedIdx
	}
}

// Close flushes nothing (Emit is synchronous), waits for in-flight
// requests and closes the connections.
func (e *Emitter) Close() error {
	err := e.w.Close()
	e.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("kafka: close: %w", err)
	}
	return nil
}

// DeliveryError reports messages Emit could not get acknowledged.
type DeliveryError struct {
	Failed   int    // messages not acknowledged
	Total    int    // messages in the Emit call
	Indexes  []int  // the failed messages' indexes in the Emit call, ascending
	Attempts int    // attempts the Emit call made
	Brokers  string // bootstrap addresses, comma-separated
	Err      error  // the last error seen for them (nil if only Ctx)
	Ctx      error  // the cause of ctx ending, if it did
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	attempts := "attempts"
	if e.Attempts == 1 {
		attempts = "attempt"
	}
	fmt.Fprintf(&b, "kafka: %d of %d messages not acknowledged by %s after %d %s: ", e.Failed, e.Total, e.Brokers, e.Attempts, attempts)
	switch {
	case e.Ctx != nil && e.Err != nil:
		fmt.Fprintf(&b, "%v (last error: %v)", e.Ctx, e.Err)
	case e.Ctx != nil:
		b.WriteString(e.Ctx.Error())
	default:
		fmt.Fprint(&b, e.Err)
	}
	h := hint(e.Err)
	if h == "" && e.Err == nil && errors.Is(e.Ctx, context.DeadlineExceeded) {
		h = "no answer from the brokers in time; check that they are reachable and healthy"
	}
	if h != "" {
		b.WriteString("; ")
		b.WriteString(h)
	}
	return b.String()
}

// Unwrap returns the ctx cause and the last error, for errors.Is/As.
func (e *DeliveryError) Unwrap() []error {
	var errs []error
	if e.Ctx != nil {
		errs = append(errs, e.Ctx)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Temporary reports whether a later Emit of the same messages may succeed:
// false when the broker or the client rejected them for what they are.
func (e *DeliveryError) Temporary() bool { return e.Err == nil || retryable(e.Err) }

func hint(err error) string {
	var ke kafka.Error
	var tooBig kafka.MessageTooLargeError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &tooBig):
		return "send smaller messages (a claim check) or raise BatchBytes and the topic's max.message.bytes"
	case isNetwork(err):
		return "check that the brokers are reachable"
	case errors.As(err, &ke):
		switch ke {
		case kafka.TopicAuthorizationFailed, kafka.ClusterAuthorizationFailed, kafka.SASLAuthenticationFailed,
			kafka.UnsupportedSASLMechanism, kafka.IllegalSASLState:
			return "check the credentials and the ACLs"
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge:
			return "raise the topic's max.message.bytes or send smaller messages"
		case kafka.UnknownTopicOrPartition:
			return "create the topic or enable auto.create.topics.enable on the brokers"
		case kafka.NotEnoughReplicas, kafka.NotEnoughReplicasAfterAppend:
			return "fewer in-sync replicas than the topic's min.insync.replicas"
		}
	}
	return ""
}

// retryable says whether sending again may help.
func retryable(err error) bool {
	var ke kafka.Error
	var tooBig kafka.MessageTooLargeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig), errors.Is(err, io.ErrClosedPipe):
		return false
	case errors.As(err, &ke):
		return ke.Temporary()
	}
	return true // network and protocol trouble: the next attempt may work
}

func isNetwork(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return false // a broker's answer (kafka.Error also looks like a net.Error)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// sameMessage reports whether a and b are the same message (kafka-go
// copies the struct, not the bytes).
func sameMessage(a, b kafka.Message) bool {
	same := func(x, y []byte) bool {
		return len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return a.Topic == b.Topic && same(a.Key, b.Key) && same(a.Value, b.Value)
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
