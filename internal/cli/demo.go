package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/web"
)

func (a *app) demoCmd() *cobra.Command {
	var (
		opts            web.Options
		orders          int
		ordersPerSecond float64
		eventsPerSecond float64
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate data, run the pipeline and serve it, with orders and clickstream events streaming in",
		Long: `demo makes a fresh directory useful in one command: it replays --orders
Olist-format orders into ./landing (a file at a time, at --orders-per-second)
with clickstream events at --events-per-second, keeps every table fresh with
a continuous stream, and serves the API and live commit events. Stop it with
Ctrl-C; run it again to continue where it stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			replayDone := make(chan error, 1)
			go func() {
				_, err := datagen.Stream(ctx, datagen.StreamOptions{
					Out: proj.Resolve(proj.Config.Landing), Orders: orders, Seed: 1,
					OrdersPerSecond: ordersPerSecond, OrdersPerFile: max(1, int(ordersPerSecond)),
					EventsPerSecond: eventsPerSecond, EventFiles: eventsPerSecond > 0,
				})
				replayDone <- err
			}()
			err = a.serve(ctx, proj, opts, false, time.Second, func(url string) {
				fmt.Fprintf(a.stdout, "medallion demo: open %s — data lands in %s and flows into %s\n", url,
					filepath.Clean(proj.Resolve(proj.Config.Landing)), filepath.Clean(proj.Resolve(proj.Config.Lake)))
				go a.printSummaryWhenReady(ctx, proj)
			})
			cancel()
			if rerr := <-replayDone; rerr != nil && !errors.Is(rerr, context.Canceled) {
				err = errors.Join(err, rerr)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&opts.Token, "token", "", "access token, required when --addr is not a loopback address")
	cmd.Flags().IntVar(&orders, "orders", 20000, "orders to replay")
	cmd.Flags().Float64Var(&ordersPerSecond, "orders-per-second", 50, "replay pace")
	cmd.Flags().Float64Var(&eventsPerSecond, "events-per-second", 20, "clickstream events per second (0 = none)")
	return cmd
}

// printSummaryWhenReady prints the project's headline KPIs once the tables
// its summary reads exist.
func (a *app) printSummaryWhenReady(ctx context.Context, proj *pipeline.Project) {
	if proj.Config.Summary == "" {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range 120 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, err := pipeline.OpenSession(ctx, proj)
		if err != nil {
			continue
		}
		res, err := s.Query(ctx, proj.Config.Summary)
		s.Close()
		if err == nil && len(res.Rows) > 0 {
			fmt.Fprintln(a.stdout, "headline KPIs so far (they grow as orders keep landing):")
			_ = writeResult(a.stdout, res, "table")
			return
		}
	}
}
