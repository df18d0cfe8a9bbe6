package legacybridge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the flow runner's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	files       *prometheus.CounterVec
	events      *prometheus.CounterVec
	emitSeconds *prometheus.HistogramVec
	pollErrors  *prometheus.CounterVec
	retries     *prometheus.CounterVec
	acks        *prometheus.CounterVec
	rejected    *prometheus.CounterVec
}

// NewMetrics registers the runner's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_files_total", Help: "Files finished, by flow and outcome (archived, duplicate, quarantined).",
		}, []string{"flow", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_messages_acked_total", Help: "Messages (events and dead letters) acknowledged by the emitter, by flow.",
		}, []string{"flow"}),
		emitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "legacybridge_emit_batch_seconds", Help: "Time for one batch to be acknowledged.", Buckets: prometheus.DefBuckets,
		}, []string{"flow"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_poll_errors_total", Help: "Failed polls of a file drop, by flow.",
		}, []string{"flow"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_file_retries_total", Help: "Transient failures while processing a file (it stays claimed and is retried).",
		}, []string{"flow"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_edi_acknowledgements_total", Help: "EDI acknowledgements sent (997, 999, TA1, CONTRL), by flow, type and status.",
		}, []string{"flow", "type", "status"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "legacybridge_edi_sets_rejected_total", Help: "EDI transaction sets / messages rejected by their acknowledgement (not posted), by flow.",
		}, []string{"flow"}),
	}
	reg.MustRegister(m.files, m.events, m.emitSeconds, m.pollErrors, m.retries, m.acks, m.rejected)
	return m
}

func (m *Metrics) file(flow, outcome string) {
	if m != nil {
		m.files.WithLabelValues(flow, outcome).Inc()
	}
}

func (m *Metrics) emitted(flow string, n int, d time.Duration) {
	if m != nil {
		m.events.WithLabelValues(flow).Add(float64(n))
		m.emitSeconds.WithLabelValues(flow).Observe(d.Seconds())
	}
}

func (m *Metrics) pollError(flow string) {
	if m != nil {
		m.pollErrors.WithLabelValues(flow).Inc()
	}
}

func (m *Metrics) retry(flow string) {
	if m != nil {
		m.retries.WithLabelValues(flow).Inc()
	}
}

// acknowledged counts acknowledgements sent and sets rejected.
func (m *Metrics) acknowledged(flow string, docs []AckDocument, rejected int) {
	if m == nil {
		return
	}
	for _, d := range docs {
		m.acks.WithLabelValues(flow, d.Type, d.Status).Inc()
	}
	if rejected > 0 {
		m.rejected.WithLabelValues(flow).Add(float64(rejected))
	}
}
