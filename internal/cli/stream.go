package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

func (a *app) streamCmd() *cobra.Command {
	var (
		trigger     string
		opts        stream.Options
		metricsAddr string
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Run the project continuously: each micro-batch of new files flows bronze → silver → gold, exactly once",
		Long: `stream runs until interrupted (Ctrl-C, SIGTERM). Triggers:
  available-now    process everything pending in bounded batches, then stop
  processing-time  a batch every --interval (default 1s), back to back while a backlog remains
  continuous       a batch as soon as a file lands (file notifications; polling as a fallback)
Every batch commits its progress with its data, so a stream killed at any
moment and restarted loses nothing and does nothing twice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := stream.ParseTrigger(trigger)
			if err != nil {
				return err
			}
			opts.Trigger = t
			proj, err := a.project()
			if err != nil {
				return err
			}
			defer proj.Close() // its Kafka clients and engine owners
			reg := prometheus.NewRegistry()
			opts.Metrics = stream.NewMetrics(reg)
			if metricsAddr != "" {
				stop, err := serveMetrics(cmd.Context(), metricsAddr, reg)
				if err != nil {
					return err
				}
				defer stop()
				fmt.Fprintf(a.stderr, "metrics on http://%s/metrics\n", metricsAddr)
			}
			opts.Log = func(s string) {
				if cmd.Context().Err() == nil { // not the work a stop cut short
					fmt.Fprintln(a.stderr, s)
				}
			}
			opts.OnBatch = func(rep *pipeline.Report) {
				if !rep.Changed() {
					return
				}
				m := opts.Metrics.Last
				fmt.Fprintf(a.stdout, "batch %d: %d rows in %s (%.0f rows/s processed, %.0f rows/s arriving), backlog %d files, freshness %s\n",
					m.Batches, m.RowsIn, m.Duration.Round(time.Millisecond), m.ProcessingRate, m.InputRate, m.BacklogFiles, m.Freshness.Round(time.Millisecond))
			}
			err = stream.Run(cmd.Context(), proj, opts)
			if errors.Is(err, context.Canceled) {
				fmt.Fprintln(a.stderr, "stream: stopped")
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&trigger, "trigger", string(stream.Continuous), "available-now, processing-time or continuous")
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Second, "processing-time period, and polling period of the continuous trigger")
	cmd.Flags().IntVar(&opts.MaxFiles, "max-files", 0, "at most this many new files per source per batch (0 = no bound)")
	cmd.Flags().Int64Var(&opts.MaxBytes, "max-bytes", 0, "at most this many bytes of new files (or Kafka records) per source per batch (0 = no bound)")
	cmd.Flags().IntVar(&opts.MaxRecords, "max-records", 0, "at most this many Kafka records per source per batch (0 = no bound)")
	cmd.Flags().IntVar(&opts.CompactAfter, "compact-after", 16, "compact a table when a partition holds more files than this (-1 = never)")
	cmd.Flags().Int64Var(&opts.TargetFileSize, "target-file-size", 128<<20, "file size compaction aims for, in bytes")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9464)")
	return cmd
}

// serveMetrics serves reg on addr until stop is called.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
