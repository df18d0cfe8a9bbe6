// Package kafkabroker runs a single-node, Kafka-protocol broker in process
// (franz-go's kfake) for tests, demos and dry runs: `legacybridge kafka serve`.
//
// It is not a production broker: it listens on a loopback address only,
// keeps its data in memory unless Config.DataDir is set, and has no
// replication. Topics are created on first use.
package kafkabroker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultListen is the address a zero Config listens on.
const DefaultListen = "127.0.0.1:9092"

// Config configures a broker. The zero value is a memory-only broker on
// 127.0.0.1:9092.
type Config struct {
	// Listen is the host:port to listen on. The host must be a loopback
	// address (127.0.0.1, localhost, ::1): kfake advertises the listening
	// address to clients and cannot serve other interfaces. Port 0 picks a
	// free port; read it back with Broker.Addr. Default 127.0.0.1:9092.
	Listen string

	// DataDir persists topics, records and committed group offsets in this
	// directory (created if needed) and reloads them on Start. Empty keeps
	// everything in memory, lost on Close. Default empty.
	DataDir string

	// Partitions is the partition count of auto-created topics. Default 4.
	Partitions int

	// Discard acknowledges produced records without storing them: offsets
	// advance but nothing can be consumed. For throughput benchmarks of
	// producers, where storage would only grow the heap. Default false.
	Discard bool

	// Logger receives the broker's own log lines (group membership at
	// Info, persistence failures at Error). Default: none.
	Logger *slog.Logger
}

// Broker is a running in-process broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
	log  *logAdapter
	once sync.Once
	err  error
}

// Start starts a broker with cfg and returns once it accepts connections.
// ctx bounds the start only; stop the broker with Close.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kafkabroker: start: %w", err)
	}
	host, port, err := loopback(cfg.Listen)
	if err != nil {
		return nil, err
	}
	parts := cfg.Partitions
	if parts <= 0 {
		parts = 4
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(parts),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			// kfake asks for 127.0.0.1:<port>; honour the loopback host
			// the caller chose (::1, 127.0.0.2, ...).
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
	}
	if cfg.DataDir != "" {
		// SyncWrites: a produce is acknowledged only once it is on disk, so an
		// archived file's events survive a crash of the process or machine.
		opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
	}
	if cfg.Discard {
		opts = append(opts, kfake.BlackholeProduce())
	}
	log := &logAdapter{l: cfg.Logger}
	opts = append(opts, kfake.WithLogger(log))
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		listen := net.JoinHostPort(host, strconv.Itoa(port))
		if cfg.DataDir != "" {
			return nil, fmt.Errorf("kafkabroker: start on %s with data dir %s: %w", listen, cfg.DataDir, err)
		}
		return nil, fmt.Errorf("kafkabroker: start on %s: %w", listen, err)
	}
	if cfg.DataDir != "" {
		persistAutoCreatedTopics(c, int32(parts))
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("kafkabroker: expected 1 listener, kfake reports %d", len(addrs))
	}
	if err := ctx.Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("kafkabroker: start: %w", err)
	}
	return &Broker{c: c, addr: addrs[0], log: log}, nil
}

// Addr returns the host:port clients connect to (the bootstrap address).
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker. With a DataDir it first writes its state to disk,
// so a later Start on the same directory sees every acknowledged record and
// committed offset; it reports a failure to do so. Close is safe to call
// more than once.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.log.closing.Store(true)
		b.c.Close()
		if errs := b.log.closeErrors(); len(errs) > 0 {
			b.err = fmt.Errorf("kafkabroker: close %s: %s", b.addr, strings.Join(errs, "; "))
		}
	})
	return b.err
}

// Serve starts a broker, writes "listening on <addr>" to stdout, and blocks
// until ctx is done; then it closes the broker (flushing DataDir). It
// returns an error if the broker cannot start or cannot flush on close.
func Serve(ctx context.Context, cfg Config, stdout io.Writer) error {
	b, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	data := "memory only"
	if cfg.DataDir != "" {
		data = "data dir " + cfg.DataDir
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s (%s)\n", b.Addr(), data); err != nil {
		b.Close()
		return fmt.Errorf("kafkabroker: %w", err)
	}
	<-ctx.Done()
	return b.Close()
}

// loopback validates a Listen value and returns its host and port.
func loopback(listen string) (string, int, error) {
	if listen == "" {
		listen = DefaultListen
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("kafkabroker: listen address %q: %w (want host:port, e.g. %s)", listen, err, DefaultListen)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("kafkabroker: listen address %q: bad port %q", listen, p)
	}
	switch {
	case host == "localhost":
		host = "127.0.0.1"
	case host == "":
		return "", 0, fmt.Errorf("kafkabroker: listen address %q binds every interface; the in-process broker only serves loopback, use 127.0.0.1:%d", listen, port)
	default:
		ip := net.ParseIP(host)
		if ip == nil {
			return "", 0, fmt.Errorf("kafkabroker: listen address %q: host must be a loopback IP or localhost", listen)
		}
		if !ip.IsLoopback() {
			return "", 0, fmt.Errorf("kafkabroker: listen address %q is not loopback; the in-process broker only serves loopback (127.0.0.1, ::1), use 127.0.0.1:%d", listen, port)
		}
	}
	return host, port, nil
}

// logAdapter sends kfake's log lines to slog at the matching level, and
// keeps the errors kfake logs while closing (it has no other way to report
// a failed flush).
type logAdapter struct {
	l       *slog.Logger // nil: discard
	closing atomic.Bool
	mu      sync.Mutex
	errs    []string
}

func (a *logAdapter) closeErrors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errs
}

func (a *logAdapter) Logf(level kfake.LogLevel, format string, args ...any) {
	if level == kfake.LogLevelError && a.closing.Load() {
		a.mu.Lock()
		a.errs = append(a.errs, fmt.Sprintf(format, args...))
		a.mu.Unlock()
	}
	if a.l == nil {
		return
	}
	var l slog.Level
	switch level {
	case kfake.LogLevelError:
		l = slog.LevelError
	case kfake.LogLevelWarn:
		l = slog.LevelWarn
	case kfake.LogLevelInfo:
		l = slog.LevelInfo
	case kfake.LogLevelDebug:
		l = slog.LevelDebug
	default:
		return
	}
	ctx := context.Background()
	if !a.l.Enabled(ctx, l) {
		return
	}
	a.l.Log(ctx, l, "kfake: "+fmt.Sprintf(format, args...))
}

// persistAutoCreatedTopics makes topics that clients auto-create durable at
// once. kfake's own auto-creation (from a Metadata request) writes the topic
// list only on a clean Close, so after a kill -9 the records of such a topic
// were on disk but the topic was unknown on restart. Creating the topic
// through CreateTopic before kfake handles the request persists it
// immediately. The control function runs outside kfake's loop, which keeps
// serving admin calls meanwhile.
func persistAutoCreatedTopics(c *kfake.Cluster, partitions int32) {
	c.ControlKey(kmsg.Metadata.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		mr, ok := req.(*kmsg.MetadataRequest)
		if !ok || !mr.AllowAutoTopicCreation {
			return nil, nil, false
		}
		for _, t := range mr.Topics {
			if t.Topic == nil || *t.Topic == "" {
				continue
			}
			if c.TopicInfo(*t.Topic) == nil {
				// An invalid name or a race with another creator is left to
				// kfake's normal handling of the request.
				_ = c.CreateTopic(*t.Topic, partitions, nil)
			}
		}
		return nil, nil, false
	})
}
