package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
	"github.com/medallionhq/medallion/web"
)

func (a *app) serveCmd() *cobra.Command {
	var opts web.Options
	var noStream bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--token T]",
		Short: "Serve the JSON API and live commit events, keeping the project fresh with a continuous stream",
		Long: `serve answers the JSON API (/api/tables, /api/tables/{name}, /api/query,
/api/runs, /api/pipeline), pushes a Server-Sent Event (/api/events) for every
commit, and exposes /metrics, /healthz and /readyz, while a continuous stream
keeps every table fresh as files land. It binds to 127.0.0.1:8080 by default;
binding to any other address requires --token (clients send
"Authorization: Bearer <token>"). SQL through the API is read-only, time- and
row-limited, and cannot read files outside the project.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			opts.Registry = reg
			opts.Log = func(s string) { fmt.Fprintln(a.stderr, s) }
			srv, err := web.New(proj, opts)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			streamDone := make(chan error, 1)
			if noStream {
				streamDone <- nil
			} else {
				metrics := stream.NewMetrics(reg)
				go func() {
					streamDone <- stream.Run(ctx, proj, stream.Options{
						Trigger: stream.Continuous, Interval: interval, Metrics: metrics,
						Log: func(s string) { fmt.Fprintln(a.stderr, s) },
						OnBatch: func(rep *pipeline.Report) {
							for _, t := range rep.Tables {
								if t.Status == pipeline.StatusOK && t.Kind != "view" {
									srv.Notify(t.Table, t.Version)
								}
							}
						},
					})
				}()
			}
			fmt.Fprintf(a.stdout, "serving on http://%s (API under /api/, events at /api/events)\n", srv.Addr())
			err = srv.Serve(ctx)
			cancel()
			if serr := <-streamDone; serr != nil && !errors.Is(serr, context.Canceled) {
				err = errors.Join(err, serr)
			}
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&opts.Token, "token", "", "access token, required when --addr is not a loopback address")
	cmd.Flags().DurationVar(&opts.QueryTimeout, "query-timeout", 10*time.Second, "time limit of an API query")
	cmd.Flags().IntVar(&opts.QueryMaxRows, "query-max-rows", 10000, "row limit of an API query")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "serve only: do not run the continuous stream")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "polling period of the stream when file notifications are unavailable")
	return cmd
}
