package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// TailConfig configures Tail. Topic is required.
type TailConfig struct {
	// Brokers are bootstrap host:port addresses. Default [127.0.0.1:9092].
	Brokers []string

	// Topic to read.
	Topic string

	// Group, when set, reads as this consumer group and commits each
	// record after printing it, so a second Tail with the same group goes
	// on where the first stopped. Empty reads every partition without a
	// group and commits nothing.
	Group string

	// FromBeginning starts at the oldest record; otherwise Tail prints
	// only records written after it starts. With a Group it applies only
	// to partitions the group has no committed offset for.
	FromBeginning bool

	// Max stops after this many records. Default 0: no limit.
	Max int

	// Timeout stops after this long without a record (counted from the
	// start, then from each record). Default 0: wait until ctx is done.
	Timeout time.Duration

	// TLS and SASL as in Config. Default nil: plaintext, no auth.
	TLS  *tls.Config
	SASL sasl.Mechanism
}

// Tail prints the records of a topic to w, one JSON line each:
//
//	{"topic":"t","partition":0,"offset":7,"key":"k","headers":{"h":"v"},"value":{"a":1}}
//
// The value is embedded as JSON when it is valid JSON (compacted to one
// line), else as a JSON string, and null for a tombstone; the key is a
// string, null when absent; headers are a string map (of repeated keys the
// last wins). Invalid UTF-8 becomes U+FFFD.
//
// Tail returns the number of records printed, with a nil error once Max
// records are printed or Timeout passes in silence. When ctx ends first it
// returns ctx's error. Broker errors while reading are retried; if the
// silence ends a read that never got a record, the last one is returned.
func Tail(ctx context.Context, cfg TailConfig, w io.Writer) (int, error) {
	if cfg.Topic == "" {
		return 0, errors.New("kafka: tail: no topic")
	}
	if len(cfg.Brokers) == 0 {
		cfg.Brokers = []string{DefaultBroker}
	}
	if cfg.Max < 0 || cfg.Timeout < 0 {
		return 0, fmt.Errorf("kafka: tail: negative Max (%d) or Timeout (%v)", cfg.Max, cfg.Timeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	t := &tailer{cfg: cfg, ctx: ctx, recs: make(chan kafka.Message)}
	dialer := &kafka.Dialer{Timeout: 5 * time.Second, DualStack: true, ClientID: "legacybridge-tail", TLS: cfg.TLS, SASLMechanism: cfg.SASL}
	base := kafka.ReaderConfig{
		Brokers:  cfg.Brokers,
		Topic:    cfg.Topic,
		Dialer:   dialer,
		MaxWait:  250 * time.Millisecond, // else Close waits out a 10 s long poll
		MaxBytes: 10 << 20,
	}
	var readers []*kafka.Reader
	if cfg.Group != "" {
		rc := base
		rc.GroupID = cfg.Group
		rc.StartOffset = kafka.LastOffset
		if cfg.FromBeginning {
			rc.StartOffset = kafka.FirstOffset
		}
		rc.JoinGroupBackoff = time.Second
		readers = append(readers, kafka.NewReader(rc))
	} else {
		parts, err := partitions(ctx, cfg)
		if err != nil {
			return 0, err
		}
		for _, p := range parts {
			rc := base
			rc.Partition = p
			r := kafka.NewReader(rc)
			start := kafka.LastOffset
			if cfg.FromBeginning {
				start = kafka.FirstOffset
			}
			if err := r.SetOffset(start); err != nil {
				return 0, fmt.Errorf("kafka: tail %s partition %d: %w", cfg.Topic, p, err)
			}
			readers = append(readers, r)
		}
	}
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.read(r)
		}()
	}
	n, err := t.print(w, readers[0])
	cancel()
	wg.Wait()
	var closeWG sync.WaitGroup
	for _, r := range readers {
		closeWG.Add(1)
		go func() {
			defer closeWG.Done()
			r.Close()
		}()
	}
	closeWG.Wait()
	return n, err
}

type tailer struct {
	cfg  TailConfig
	ctx  context.Context // cancelled when Tail is done
	recs chan kafka.Message

	mu      sync.Mutex
	lastErr error
}

// read feeds recs from r until the tail ends. Read errors are not fatal
// (the broker may come back): they are remembered and retried.
func (t *tailer) read(r *kafka.Reader) {
	for {
		m, err := r.FetchMessage(t.ctx)
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			t.mu.Lock()
			t.lastErr = err
			t.mu.Unlock()
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		select {
		case t.recs <- m:
		case <-t.ctx.Done():
			return
		}
	}
}

// print writes records until Max, Timeout or ctx. groupReader commits
// when reading as a group.
func (t *tailer) print(w io.Writer, groupReader *kafka.Reader) (int, error) {
	var silence <-chan time.Time
	var timer *time.Timer
	if t.cfg.Timeout > 0 {
		timer = time.NewTimer(t.cfg.Timeout)
		defer timer.Stop()
		silence = timer.C
	}
	n := 0
	var buf []byte
	for t.cfg.Max == 0 || n < t.cfg.Max {
		select {
		case <-t.ctx.Done():
			return n, fmt.Errorf("kafka: tail %s: %w", t.cfg.Topic, t.ctx.Err())
		case <-silence:
			if n == 0 {
				t.mu.Lock()
				err := t.lastErr
				t.mu.Unlock()
				if err != nil {
					return 0, fmt.Errorf("kafka: tail %s on %s: no record within %v; last error: %w",
						t.cfg.Topic, strings.Join(t.cfg.Brokers, ","), t.cfg.Timeout, err)
				}
			}
			return n, nil
		case m := <-t.recs:
			var err error
			buf, err = appendRecord(buf[:0], m)
			if err != nil {
				return n, fmt.Errorf("kafka: tail %s: partition %d offset %d: %w", m.Topic, m.Partition, m.Offset, err)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return n, fmt.Errorf("kafka: tail %s: %w", t.cfg.Topic, err)
			}
			n++
			if t.cfg.Group != "" {
				if err := groupReader.CommitMessages(t.ctx, m); err != nil {
					return n, fmt.Errorf("kafka: tail %s: commit partition %d offset %d for group %s: %w",
						m.Topic, m.Partition, m.Offset, t.cfg.Group, err)
				}
			}
			if timer != nil {
				timer.Reset(t.cfg.Timeout)
			}
		}
	}
	return n, nil
}

// partitions lists the topic's partitions.
func partitions(ctx context.Context, cfg TailConfig) ([]int, error) {
	tr := &kafka.Transport{ClientID: "legacybridge-tail", TLS: cfg.TLS, SASL: cfg.SASL}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	brokers := strings.Join(cfg.Brokers, ",")
	res, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka: tail %s: metadata from %s: %w; check that the brokers are reachable", cfg.Topic, brokers, err)
	}
	for _, tp := range res.Topics {
		if tp.Name != cfg.Topic {
			continue
		}
		if tp.Error != nil {
			return nil, fmt.Errorf("kafka: tail %s on %s: %w", cfg.Topic, brokers, tp.Error)
		}
		ps := make([]int, 0, len(tp.Partitions))
		for _, p := range tp.Partitions {
			ps = append(ps, p.ID)
		}
		if len(ps) == 0 {
			break
		}
		return ps, nil
	}
	return nil, fmt.Errorf("kafka: tail %s: no such topic on %s", cfg.Topic, brokers)
}

type record struct {
	Topic     string            `json:"topic"`
	Partition int               `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Headers   map[string]string `json:"headers"`
	Value     json.RawMessage   `json:"value"`
}

// appendRecord appends m's JSON line, without newline, to dst.
func appendRecord(dst []byte, m kafka.Message) ([]byte, error) {
	r := record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Headers: make(map[string]string, len(m.Headers))}
	if m.Key != nil {
		k := string(m.Key)
		r.Key = &k
	}
	for _, h := range m.Headers {
		r.Headers[h.Key] = string(h.Value)
	}
	switch {
	case m.Value == nil:
	case json.Valid(m.Value):
		r.Value = m.Value // the encoder compacts it
	default:
		s, _ := json.Marshal(string(m.Value))
		r.Value = s
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return dst, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
