package recorder

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	written, failures, rejected, checkpoints prometheus.Counter
	batchSize, commitSeconds                 prometheus.Histogram
	collectors                               []prometheus.Collector
}

func newMetrics(r *Recorder) *metrics {
	m := &metrics{
		written:     prometheus.NewCounter(prometheus.CounterOpts{Name: "mandate_recorder_events_written_total", Help: "Events committed to the record."}),
		failures:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mandate_recorder_write_failures_total", Help: "Commits to the record that failed."}),
		rejected:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mandate_recorder_events_rejected_total", Help: "Events refused because the recorder was unavailable or its queue full."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{Name: "mandate_recorder_checkpoints_total", Help: "Signed checkpoints written."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mandate_recorder_batch_events", Help: "Events per commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mandate_recorder_commit_seconds", Help: "Duration of one commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mandate_recorder_queue_depth", Help: "Events waiting for commit."},
		func() float64 { return float64(len(r.slots)) })
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mandate_recorder_lag_seconds", Help: "Age of the oldest event waiting for commit."},
		func() float64 {
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.pending) == 0 {
				return 0
			}
			return time.Since(r.pending[0].queued).Seconds()
		})
	healthy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mandate_recorder_healthy", Help: "1 when the recorder accepts events."},
		func() float64 {
			if r.Healthy() != nil {
				return 0
			}
			return 1
		})
	m.collectors = []prometheus.Collector{m.written, m.failures, m.rejected, m.checkpoints, m.batchSize, m.commitSeconds, depth, lag, healthy}
	return m
}

// Collectors returns the recorder's Prometheus metrics.
func (r *Recorder) Collectors() []prometheus.Collector { return r.m.collectors }

// Register registers the recorder's metrics on reg.
func (r *Recorder) Register(reg prometheus.Registerer) error {
	for _, c := range r.m.collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
