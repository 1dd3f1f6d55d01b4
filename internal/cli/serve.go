package cli

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/engine/spark"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/scheduler"
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
"Authorization: Bearer <token>"). SQL through the API must be one read-only
query, runs in an engine sandboxed to the lake, and is limited in time, rows,
answer size and memory. Requests with a foreign Host or Origin are refused, and
POST bodies must be application/json. With --pg-addr (or serve.pg_addr) it also
serves the lake read-only over the Postgres wire protocol, for psql and BI tools.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			defer proj.Close() // its Kafka clients and engine owners
			return a.serve(cmd.Context(), proj, opts, noStream, interval, serveHooks{})
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&opts.Token, "token", "", "access token, required when --addr is not a loopback address")
	cmd.Flags().DurationVar(&opts.QueryTimeout, "query-timeout", 10*time.Second, "time limit of an API query")
	cmd.Flags().IntVar(&opts.QueryMaxRows, "query-max-rows", 10000, "row limit of an API query")
	var maxBytes string
	cmd.Flags().StringVar(&maxBytes, "query-max-bytes", "", "size limit of an API query's answer, e.g. 32MB (default serve.query_max_bytes, else 32MB)")
	cmd.Flags().StringVar(&opts.QueryMemoryLimit, "query-memory-limit", "", "engine memory limit of an API query, e.g. 1GB (default serve.query_memory_limit, else 1GB)")
	cmd.Flags().StringArrayVar(&opts.AllowedHosts, "allowed-host", nil, "a further host name requests may address the server by (repeatable; adds to serve.allowed_hosts)")
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if maxBytes == "" {
			return nil
		}
		n, err := pipeline.ParseBytes(maxBytes)
		if err != nil || n <= 0 {
			return fmt.Errorf("serve: --query-max-bytes %q is not a positive size (e.g. 32MB)", maxBytes)
		}
		opts.QueryMaxBytes = n
		return nil
	}

	a.pgFlags(cmd)
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "serve only: do not run the continuous stream")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "polling period of the stream when file notifications are unavailable")
	return cmd
}

// serveHooks let a command watch serve: each is optional.
type serveHooks struct {
	// ready is called with the server's URL once it listens.
	ready func(url string)
	// log receives the log lines (default: stderr).
	log func(string)
	// onBatch receives each batch of the continuous stream.
	onBatch func(*pipeline.Report)
	// building reports work that will build tables besides a running
	// batch (the demo's replay landing files).
	building func() bool
}

// serve runs the web server over proj, with a continuous stream (or the
// project's jobs) keeping it fresh, until ctx ends. Lines logged once ctx
// has ended (work cut short by the stop) are dropped.
func (a *app) serve(ctx context.Context, proj *pipeline.Project, opts web.Options, noStream bool, interval time.Duration, hooks serveHooks) error {
	var err error
	reg := prometheus.NewRegistry()
	reg.MustRegister(spark.SessionsMetric)
	opts.Registry = reg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logf := func(s string) {
		if ctx.Err() != nil {
			return // a stop, not a failure
		}
		if hooks.log != nil {
			hooks.log(s)
			return
		}
		fmt.Fprintln(a.stderr, s)
	}
	opts.Log = logf
	ready := hooks.ready
	var building atomic.Bool
	opts.Building = func() bool { return building.Load() || hooks.building != nil && hooks.building() }
	var sched *scheduler.Scheduler
	var jobs *jobsAPI
	if len(proj.Config.Jobs) > 0 {
		jobs = &jobsAPI{proj: proj, hist: pipeline.NewJobHistory(proj)}
		if sched, err = scheduler.New(scheduler.RealClock{}, jobs.hist, scheduler.Options{MaxConcurrent: 1, Log: logf}); err != nil {
			return err
		}
		jobs.sched = sched
		opts.Jobs = jobs
	}
	srv, err := web.New(proj, opts)
	if err != nil {
		return err
	}
	streamDone := make(chan error, 1)
	switch {
	case sched != nil:
		// Jobs: the scheduler runs them; files landing trigger the
		// jobs that ask for it.
		if err := addJobs(sched, proj, srv, logf); err != nil {
			return err
		}
		sched.Start(ctx)
		go watchTables(ctx, proj, sched, interval)
		for _, j := range proj.JobOrder() {
			if !j.Continuous {
				continue
			}
			go func() {
				err := stream.Run(ctx, proj, stream.Options{
					Trigger: stream.Continuous, Interval: interval, Select: j.Select, Log: logf,
					OnBatch: func(rep *pipeline.Report) {
						for _, t := range rep.Tables {
							if t.Status == pipeline.StatusOK && t.Kind != "view" {
								srv.Notify(t.Table, t.Version)
							}
						}
					},
				})
				if err != nil && !errors.Is(err, context.Canceled) {
					logf(fmt.Sprintf("job %s: %v", j.Name, err))
				}
			}()
		}
		go func() {
			err := stream.WatchLanding(ctx, proj.Resolve(proj.Config.Landing), func() {
				for _, j := range proj.JobOrder() {
					if j.OnFileArrival {
						_ = sched.Trigger(j.Name, scheduler.TriggerFileArrival)
					}
				}
			})
			sched.Wait()
			streamDone <- err
		}()
	case noStream:
		streamDone <- nil
	default:
		metrics := stream.NewMetrics(reg)
		building.Store(true)
		go func() {
			streamDone <- stream.Run(ctx, proj, stream.Options{
				Trigger: stream.Continuous, Interval: interval, Metrics: metrics,
				Log:          logf,
				OnBatchStart: func() { building.Store(true) },
				OnBatch: func(rep *pipeline.Report) {
					// Another batch follows at once when this one changed
					// something or left files.
					building.Store(rep.Changed() || rep.Pending() > 0)
					for _, t := range rep.Tables {
						if t.Status == pipeline.StatusOK && t.Kind != "view" {
							srv.Notify(t.Table, t.Version)
						}
					}
					if hooks.onBatch != nil {
						hooks.onBatch(rep)
					}
				},
			})
		}()
	}
	pgDone, err := a.startPg(ctx, proj, opts, logf)
	if err != nil {
		return err
	}
	if ready == nil {
		fmt.Fprintf(a.stdout, "serving on http://%s (API under /api/, events at /api/events)\n", srv.Addr())
	} else {
		ready("http://" + srv.Addr())
	}
	err = srv.Serve(ctx)
	cancel()
	if pgDone != nil {
		err = errors.Join(err, <-pgDone)
	}
	if serr := <-streamDone; serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// addJobs turns the project's jobs into scheduler jobs that run the
// pipeline on their selection and announce each commit.
func addJobs(sched *scheduler.Scheduler, proj *pipeline.Project, srv *web.Server, logf func(string)) error {
	for _, j := range proj.JobOrder() {
		if j.Continuous {
			continue // a stream of its own, started by serve
		}
		err := sched.Add(scheduler.Job{
			Name: j.Name, Schedule: j.Schedule, Timezone: j.Timezone, Debounce: j.Debounce.Duration,
			Retries: j.Retries, Backoff: j.Backoff.Duration, Timeout: j.Timeout.Duration, After: j.After,
			Run: func(ctx context.Context, attempt int) (scheduler.Result, error) {
				rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Select: j.Select, Quiet: true, Log: logf})
				res := scheduler.Result{Tables: map[string]string{}}
				if rep != nil {
					for _, t := range rep.Tables {
						res.Tables[t.Table] = t.Status
						if t.Status == pipeline.StatusOK && t.Kind != "view" {
							srv.Notify(t.Table, t.Version)
						}
					}
					res.Detail = rep.RunID
				}
				return res, err
			},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// jobsAPI serves the scheduler to the web API.
type jobsAPI struct {
	proj  *pipeline.Project
	sched *scheduler.Scheduler
	hist  scheduler.History
}

func (j *jobsAPI) List(ctx context.Context) ([]web.JobStatus, error) {
	var out []web.JobStatus
	for _, jc := range j.proj.JobOrder() {
		runs, err := j.hist.List(ctx, jc.Name, 20)
		if err != nil {
			return nil, err
		}
		st := web.JobStatus{Name: jc.Name, Select: jc.Select, Schedule: jc.Schedule, Runs: []any{}}
		if jc.Continuous {
			st.Schedule = "continuous"
		}
		for _, r := range runs {
			st.Runs = append(st.Runs, r)
		}
		out = append(out, st)
	}
	return out, nil
}

func (j *jobsAPI) Trigger(name string) error {
	jc := j.proj.Config.Jobs[name]
	if jc == nil {
		return fmt.Errorf("no job named %q", name)
	}
	if jc.Continuous {
		return fmt.Errorf("job %q is continuous: it already runs as files land", name)
	}
	return j.sched.Trigger(name, scheduler.TriggerManual)
}

// watchTables triggers the jobs with on_table_update when one of their
// tables gets a new version, whoever committed it, polling every interval.
func watchTables(ctx context.Context, proj *pipeline.Project, sched *scheduler.Scheduler, interval time.Duration) {
	watched := map[string][]string{} // table → jobs
	for _, j := range proj.JobOrder() {
		for _, t := range j.OnTableUpdate {
			watched[t] = append(watched[t], j.Name)
		}
	}
	if len(watched) == 0 {
		return
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return
	}
	seen := map[string]int64{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for first := true; ; first = false {
		for table, jobs := range watched {
			snap, err := lake.Snapshot(ctx, table)
			if err != nil || snap == nil {
				continue
			}
			v, ok := seen[table]
			seen[table] = snap.Version()
			if !first && (!ok || snap.Version() > v) {
				for _, j := range jobs {
					_ = sched.Trigger(j, scheduler.TriggerTableUpdate+": "+table)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
