package file

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type registerer = prometheus.Registerer

// WithMetrics registers the delivery's Prometheus metrics with reg (nil:
// no metrics), labelled with Config.Name:
//
//	legacybridge_delivery_files_total{delivery}          files written
//	legacybridge_delivery_bytes_total{delivery}          bytes written
//	legacybridge_delivery_committed_total{delivery}      messages committed
//	legacybridge_delivery_skipped_total{delivery}        events of types not delivered
//	legacybridge_delivery_dead_letters_total{delivery}   events dead-lettered
//	legacybridge_delivery_retries_total{delivery}        failed write attempts retried
//	legacybridge_delivery_write_seconds{delivery}        time to put one file in place, retries included
//
// Several deliveries may share one registry; they then share the series.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) { o.reg = reg }
}

type metrics struct {
	files, bytes, committed, skipped, deadLetters, retries *prometheus.CounterVec
	seconds                                                *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "legacybridge", Subsystem: "delivery", Name: name, Help: help},
			[]string{"delivery"})
	}
	m := &metrics{
		files:       counter("files_total", "Files written to the partner's drop (renamed into place, marker written)."),
		bytes:       counter("bytes_total", "Bytes of the files written."),
		committed:   counter("committed_total", "Messages whose offsets were committed after their file was in place."),
		skipped:     counter("skipped_total", "Events of types the delivery does not write (committed, no file)."),
		deadLetters: counter("dead_letters_total", "Events that could not be delivered, sent to the dead-letter topic."),
		retries:     counter("retries_total", "Failed attempts to write a file or a dead letter, retried."),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "legacybridge", Subsystem: "delivery", Name: "write_seconds",
			Help:    "Time to put one file in place, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18), // 0.5ms .. 65s
		}, []string{"delivery"}),
	}
	var err error
	for _, c := range []**prometheus.CounterVec{&m.files, &m.bytes, &m.committed, &m.skipped, &m.deadLetters, &m.retries} {
		*c = register(reg, *c, &err)
	}
	m.seconds = register(reg, m.seconds, &err)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the identical collector already
// registered, so several deliveries can share a registry.
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

func (m *metrics) delivered(name string, n int, d time.Duration) {
	if m == nil {
		return
	}
	m.files.WithLabelValues(name).Inc()
	m.bytes.WithLabelValues(name).Add(float64(n))
	m.seconds.WithLabelValues(name).Observe(d.Seconds())
}

func (m *metrics) commit(name string, n int) {
	if m != nil {
		m.committed.WithLabelValues(name).Add(float64(n))
	}
}

func (m *metrics) skip(name string) {
	if m != nil {
		m.skipped.WithLabelValues(name).Inc()
	}
}

func (m *metrics) deadLetter(name string) {
	if m != nil {
		m.deadLetters.WithLabelValues(name).Inc()
	}
}

func (m *metrics) retry(name string) {
	if m != nil {
		m.retries.WithLabelValues(name).Inc()
	}
}
