package activation

import (
	"context"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bundle and decision series. NewMetrics registers them.
type Metrics struct {
	activations prometheus.Counter
	rejected    *prometheus.CounterVec
	fetchErrors prometheus.Counter
	info        *prometheus.GaugeVec
	commitTime  prometheus.Gauge
	decisions   *prometheus.CounterVec
	overdue     *prometheus.CounterVec
	latency     prometheus.Histogram
}

// NewMetrics creates the series and registers them with reg. ageSeconds
// reports the bundle age (time since it was last confirmed current).
func NewMetrics(reg prometheus.Registerer, ageSeconds func() float64) *Metrics {
	m := &Metrics{
		activations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mandate_bundle_activations_total",
			Help: "Bundles verified and activated.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mandate_bundle_rejected_total",
			Help: "Bundles refused, by reason; the active bundle stayed.",
		}, []string{"reason"}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mandate_bundle_fetch_errors_total",
			Help: "Failed attempts to fetch a bundle from its source.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mandate_bundle_info",
			Help: "1 for the active bundle revision.",
		}, []string{"revision"}),
		commitTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mandate_bundle_commit_timestamp_seconds",
			Help: "Policy commit time of the active bundle, Unix seconds.",
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mandate_decisions_total",
			Help: "Decisions by result (allow, deny, needs_approval, error).",
		}, []string{"result"}),
		overdue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mandate_review_overdue_decisions_total",
			Help: "Decisions that named a role whose review is overdue with on_overdue = \"warn\", by role.",
		}, []string{"role"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mandate_decision_duration_seconds",
			Help:    "Time to decide one input.",
			Buckets: []float64{1e-6, 5e-6, 2e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 2e-2, 0.1},
		}),
	}
	for _, r := range []string{ReasonUnsigned, ReasonTampered, ReasonWrongKey, ReasonWrongScope, ReasonTruncated, ReasonOversized, ReasonRollback, ReasonInvalid} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range []string{model.Allow, model.Deny, model.NeedsApproval, "error"} {
		m.decisions.WithLabelValues(r)
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mandate_bundle_age_seconds",
		Help: "Seconds since the active bundle was last confirmed current (compared with max_age).",
	}, ageSeconds)
	reg.MustRegister(m.activations, m.rejected, m.fetchErrors, m.info, m.commitTime, m.decisions, m.overdue, m.latency, age)
	return m
}

// instrumented counts and times the decisions of an engine.
type instrumented struct {
	Engine
	m *Metrics
}

var _ Engine = (*instrumented)(nil)

func (e *instrumented) Decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	start := time.Now()
	d, err := e.Engine.Decide(ctx, in)
	e.m.latency.Observe(time.Since(start).Seconds())
	result := d.Result
	if err != nil {
		result = "error"
	}
	e.m.decisions.WithLabelValues(result).Inc()
	for _, role := range d.Overdue {
		e.m.overdue.WithLabelValues(role).Inc()
	}
	return d, err
}
