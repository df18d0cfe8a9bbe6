package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafka "github.com/segmentio/kafka-go"
)

type registerer = prometheus.Registerer

// WithMetrics registers the emitter's Prometheus metrics with reg (nil: no
// metrics):
//
//	legacybridge_kafka_messages_emitted_total{topic}  messages acknowledged
//	legacybridge_kafka_messages_failed_total{topic}   messages Emit gave up on
//	legacybridge_kafka_retries_total                  messages sent again
//	legacybridge_kafka_emit_errors_total              Emit calls that failed
//	legacybridge_kafka_emit_duration_seconds          Emit call latency
//
// Several emitters may share one registry; they then share the series.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) { o.reg = reg }
}

type metrics struct {
	emittedMsgs *prometheus.CounterVec
	failedMsgs  *prometheus.CounterVec
	retries     prometheus.Counter
	errs        prometheus.Counter
	latency     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		emittedMsgs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "legacybridge", Subsystem: "kafka", Name: "messages_emitted_total",
			Help: "Messages acknowledged by the Kafka brokers (acks=all).",
		}, []string{"topic"}),
		failedMsgs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "legacybridge", Subsystem: "kafka", Name: "messages_failed_total",
			Help: "Messages Emit gave up on (attempts exhausted, rejected, or context ended).",
		}, []string{"topic"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "legacybridge", Subsystem: "kafka", Name: "retries_total",
			Help: "Messages sent again after a failed or unanswered attempt.",
		}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "legacybridge", Subsystem: "kafka", Name: "emit_errors_total",
			Help: "Emit calls that returned an error.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "legacybridge", Subsystem: "kafka", Name: "emit_duration_seconds",
			Help:    "Duration of Emit calls, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15), // 1ms .. 16s
		}),
	}
	var err error
	m.emittedMsgs = register(reg, m.emittedMsgs, &err)
	m.failedMsgs = register(reg, m.failedMsgs, &err)
	m.retries = register(reg, m.retries, &err)
	m.errs = register(reg, m.errs, &err)
	m.latency = register(reg, m.latency, &err)
	if err != nil {
		return nil, fmt.Errorf("kafka: registering metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the identical collector already
// registered, so several emitters can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if *errp != nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		*errp = err
	}
	return c
}

// The methods below do nothing on a nil *metrics.

func (m *metrics) emitted(msgs []kafka.Message) {
	if m == nil {
		return
	}
	countByTopic(m.emittedMsgs, msgs)
}

func (m *metrics) failed(msgs []kafka.Message) {
	if m == nil {
		return
	}
	countByTopic(m.failedMsgs, msgs)
}

func (m *metrics) retried(n int) {
	if m == nil {
		return
	}
	m.retries.Add(float64(n))
}

func (m *metrics) observe(start time.Time, err error) {
	if m == nil {
		return
	}
	m.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		m.errs.Inc()
	}
}

func countByTopic(c *prometheus.CounterVec, msgs []kafka.Message) {
	if len(msgs) == 0 {
		return
	}
	topic, n := msgs[0].Topic, 0
	for _, m := range msgs {
		if m.Topic != topic {
			c.WithLabelValues(topic).Add(float64(n))
			topic, n = m.Topic, 0
		}
		n++
	}
	c.WithLabelValues(topic).Add(float64(n))
}
