package stream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medallionhq/medallion/pipeline"
)

// Metrics are a stream's Prometheus metrics: input and processing rates,
// batch duration, backlog, freshness (gold commit time − arrival time) and
// compactions. Register them with the registry serve exposes on /metrics.
type Metrics struct {
	batches        prometheus.Counter
	failures       prometheus.Counter
	rowsIn         *prometheus.CounterVec
	batchDuration  prometheus.Histogram
	freshness      prometheus.Histogram
	backlogFiles   prometheus.Gauge
	inputRate      prometheus.Gauge
	processingRate prometheus.Gauge
	compactions    *prometheus.CounterVec
	watermark      *prometheus.GaugeVec

	lastStart time.Time
	// Last holds the most recent batch's figures, for terminal display.
	Last Snapshot
}

// Snapshot is one batch's figures.
type Snapshot struct {
	Batches        int
	RowsIn         int64
	Duration       time.Duration
	Freshness      time.Duration
	BacklogFiles   int
	InputRate      float64 // rows/s arriving, over the time since the previous batch started
	ProcessingRate float64 // rows/s processed, over the batch's duration
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batches:        prometheus.NewCounter(prometheus.CounterOpts{Name: "medallion_stream_batches_total", Help: "Micro-batches run."}),
		failures:       prometheus.NewCounter(prometheus.CounterOpts{Name: "medallion_stream_batch_failures_total", Help: "Micro-batches that failed (and were retried)."}),
		rowsIn:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medallion_stream_rows_in_total", Help: "Rows ingested, per bronze table."}, []string{"table"}),
		batchDuration:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "medallion_stream_batch_duration_seconds", Help: "Micro-batch duration.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		freshness:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: "medallion_stream_freshness_seconds", Help: "Gold commit time minus the arrival time of the oldest file of the batch.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
		backlogFiles:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "medallion_stream_backlog_files", Help: "Landing files waiting for a later batch."}),
		inputRate:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "medallion_stream_input_rows_per_second", Help: "Rows arriving per second."}),
		processingRate: prometheus.NewGauge(prometheus.GaugeOpts{Name: "medallion_stream_processing_rows_per_second", Help: "Rows processed per second of batch time."}),
		compactions:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medallion_stream_compactions_total", Help: "Background compactions, per table."}, []string{"table"}),
		watermark:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "medallion_stream_watermark_seconds", Help: "Event-time watermark of each window model, Unix seconds."}, []string{"table"}),
	}
	if reg != nil {
		reg.MustRegister(m.batches, m.failures, m.rowsIn, m.batchDuration, m.freshness, m.backlogFiles, m.inputRate, m.processingRate, m.compactions, m.watermark)
	}
	return m
}

func (m *Metrics) observe(rep *pipeline.Report, start, end time.Time) {
	m.batches.Inc()
	if rep.Status == pipeline.StatusFailed {
		m.failures.Inc()
	}
	var in int64
	var arrival time.Time
	for _, t := range rep.Tables {
		if !t.Watermark.IsZero() {
			m.watermark.WithLabelValues(t.Table).Set(float64(t.Watermark.UnixMilli()) / 1000)
		}
		if t.Kind != "source" {
			continue
		}
		in += t.RowsIn
		if t.RowsIn > 0 {
			m.rowsIn.WithLabelValues(t.Table).Add(float64(t.RowsIn))
		}
		if !t.Arrival.IsZero() && (arrival.IsZero() || t.Arrival.Before(arrival)) {
			arrival = t.Arrival
		}
	}
	d := end.Sub(start)
	m.batchDuration.Observe(d.Seconds())
	m.backlogFiles.Set(float64(rep.Pending()))
	s := Snapshot{Batches: m.Last.Batches + 1, RowsIn: in, Duration: d, BacklogFiles: rep.Pending()}
	if d > 0 {
		s.ProcessingRate = float64(in) / d.Seconds()
		m.processingRate.Set(s.ProcessingRate)
	}
	if !m.lastStart.IsZero() {
		if since := start.Sub(m.lastStart); since > 0 {
			s.InputRate = float64(in) / since.Seconds()
			m.inputRate.Set(s.InputRate)
		}
	}
	m.lastStart = start
	if !arrival.IsZero() && rep.Changed() {
		s.Freshness = rep.Finished.Sub(arrival)
		m.freshness.Observe(s.Freshness.Seconds())
	}
	m.Last = s
}
