package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/pipeline"
)

func (a *app) generateCmd() *cobra.Command {
	var opts datagen.Options
	var out string
	var st streamFlags
	var rf replayFlags
	cmd := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Write Olist-format CSVs (orders split into order_year=/order_month= folders) into DIR/<source>/",
		Long: `generate writes Olist-format CSVs into DIR/<source>/. With --stream it replays the
orders over time instead — a file of --orders-per-file orders at a time, into
the folder of their purchase month, at --orders-per-second — and emits
clickstream events at --events-per-second, to a Kafka topic (--kafka-brokers,
--kafka-topic) or as JSON-lines files under DIR/clickstream/.

--move-customers and --advance-orders-to replay change into a landing zone
already written (for the CDC models): --move-customers F replaces
DIR/customers/*.csv by a copy in which a share F of the customers moved (took
another customer's zip code, city and state; --seed picks them);
--advance-orders-to T --orders-from SRC writes DIR/orders/as_of_<T>.csv, every
order of SRC/orders purchased by T as it stood at T (later milestones blank,
the status reached so far). Neither writes anything else.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("generate: --out DIR is required")
			}
			if st.stream {
				return a.generateStream(cmd, out, opts, st)
			}
			if cmd.Flags().Changed("move-customers") || rf.advanceTo != "" || rf.ordersFrom != "" {
				return a.generateReplay(cmd, out, opts.Seed, rf)
			}
			start := time.Now()
			rep, err := datagen.Generate(cmd.Context(), out, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "generated %d orders: %d files, %d rows in %s (%s)\n", rep.Options.Orders, rep.Files(), rep.Rows(), out, time.Since(start).Round(time.Millisecond))
			if opts.Dirty {
				d := rep.Dirt()
				fmt.Fprintf(a.stdout, "dirt: %d duplicates, %d null keys, %d malformed, %d wrong types, %d nulls, %d city variants, %d re-landed orders\n",
					d.Duplicates, d.NullKeys, d.Malformed, d.WrongTypes, d.Nulls, d.CityVariants, d.Relanded)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "landing directory to write into")
	cmd.Flags().IntVar(&opts.Orders, "orders", datagen.DefaultOrders, "number of orders (100000 ≈ Olist's size, scale factor 1)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "random seed: the same seed writes the same bytes")
	cmd.Flags().BoolVar(&opts.Dirty, "dirty", false, "add duplicates, nulls, malformed rows, wrong types and variant city spellings")
	cmd.Flags().BoolVar(&st.stream, "stream", false, "replay orders over time and emit clickstream events, until done or interrupted")
	cmd.Flags().Float64Var(&st.ordersPerSecond, "orders-per-second", 100, "with --stream: replay pace (0 = as fast as possible)")
	cmd.Flags().IntVar(&st.ordersPerFile, "orders-per-file", 100, "with --stream: orders in each landed file")
	cmd.Flags().Float64Var(&st.eventsPerSecond, "events-per-second", 0, "with --stream: clickstream events per second (0 = none)")
	cmd.Flags().StringSliceVar(&st.brokers, "kafka-brokers", nil, "with --stream: send events to these Kafka brokers instead of files")
	cmd.Flags().StringVar(&st.topic, "kafka-topic", "clickstream", "with --stream: the events' topic")
	cmd.Flags().Float64Var(&rf.moveCustomers, "move-customers", 0, "replace DIR/customers/*.csv: this share of the customers (0 to 1) moved")
	cmd.Flags().StringVar(&rf.advanceTo, "advance-orders-to", "", "write DIR/orders/as_of_<T>.csv: the orders of --orders-from as they stood at T (2006-01-02, 2006-01-02T15:04:05 or RFC 3339)")
	cmd.Flags().StringVar(&rf.ordersFrom, "orders-from", "", "with --advance-orders-to: the landing directory generate wrote the orders into")
	cmd.Flags().DurationVar(&st.duration, "duration", 0, "with --stream: stop after this long (0 = when the orders are replayed, or when interrupted if events flow)")
	return cmd
}

type streamFlags struct {
	stream                           bool
	ordersPerSecond, eventsPerSecond float64
	ordersPerFile                    int
	brokers                          []string
	topic                            string
	duration                         time.Duration
}

func (a *app) generateStream(cmd *cobra.Command, out string, opts datagen.Options, st streamFlags) error {
	so := datagen.StreamOptions{
		Out: out, Orders: opts.Orders, Seed: opts.Seed, Dirty: opts.Dirty,
		OrdersPerSecond: st.ordersPerSecond, OrdersPerFile: st.ordersPerFile,
		EventsPerSecond: st.eventsPerSecond, Duration: st.duration,
	}
	if st.eventsPerSecond > 0 {
		if len(st.brokers) > 0 {
			p, err := kafka.NewProducer(cmd.Context(), kafka.Config{Brokers: st.brokers, Topic: st.topic})
			if err != nil {
				return err
			}
			defer p.Close()
			so.Events = func(e datagen.Event) error { return p.Produce(cmd.Context(), []byte(e.SessionID), e.JSON()) }
			defer p.Flush(context.WithoutCancel(cmd.Context()))
		} else {
			so.EventFiles = true
		}
	}
	fmt.Fprintf(a.stdout, "streaming into %s (Ctrl-C to stop)\n", out)
	rep, err := datagen.Stream(cmd.Context(), so)
	fmt.Fprintf(a.stdout, "replayed %d orders, emitted %d events (%d late) in %s\n", rep.Orders, rep.Events, rep.LateEvents, rep.Elapsed.Round(time.Millisecond))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (a *app) runCmd() *cobra.Command {
	var full, trace bool
	var sel []string
	var parallelism int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one update: new landing files → bronze → silver → gold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			// Its engine owners: a spark project's Spark session is released
			// (and what it cached uncached) instead of left to expire.
			defer proj.Close()
			// Check what can be checked before anything is created.
			if _, err := proj.Selection(sel); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			if parallelism < 0 {
				return fmt.Errorf("run: --parallelism %d: want 1 or more (0: engine.parallelism, else one per CPU)", parallelism)
			}
			if err := a.checkSomethingToRun(proj); err != nil {
				return err
			}
			prog := newProgress(a.stdout)
			start := time.Now()
			opts := pipeline.RunOptions{FullRefresh: full, Log: prog.line, Select: sel, Parallelism: parallelism}
			if len(sel) == 0 {
				// The headline KPIs, answered by the run's own engine.
				opts.Summary = proj.Config.Summary
			}
			if trace {
				opts.Trace = a.stderr
			}
			rep, runErr := pipeline.Run(cmd.Context(), proj, opts)
			prog.stop()
			if runErr != nil {
				for _, t := range rep.Tables {
					if t.Status == pipeline.StatusFailed {
						fmt.Fprintf(a.stderr, "failed: %s: %s\n", t.Table, t.Error)
					}
				}
				return fmt.Errorf("run %s failed: %w", rep.RunID, runErr)
			}
			changed := 0
			for _, t := range rep.Tables {
				if t.Status == pipeline.StatusOK && t.Kind != "view" {
					changed++
				}
			}
			fmt.Fprintf(a.stdout, "run %s: %d tables updated in %s\n", rep.RunID, changed, time.Since(start).Round(time.Millisecond))
			var waiting []string
			for _, t := range rep.Tables {
				if t.Status == pipeline.StatusWaiting {
					waiting = append(waiting, t.Table)
				}
			}
			if len(waiting) > 0 {
				fmt.Fprintf(a.stdout, "%d tables wait for their inputs (no files in %s/<source>/ yet for the sources they read): %s\n",
					len(waiting), proj.Resolve(proj.Config.Landing), strings.Join(waiting, ", "))
			}
			if opts.Summary == "" {
				return nil
			}
			if err := rep.SummaryErr; err != nil {
				if len(waiting) > 0 {
					fmt.Fprintln(a.stdout, "headline KPIs: not yet (the tables they read wait for their inputs)")
					return nil
				}
				return fmt.Errorf("summary: %w", err)
			}
			return writeResult(a.stdout, rep.Summary, "table")
		},
	}
	cmd.Flags().BoolVar(&full, "full-refresh", false, "recompute every table from all landing files")
	cmd.Flags().BoolVar(&trace, "trace", false, "print every engine statement with its duration and the process CPU time it took (exact with --parallelism 1) to stderr, and each table's span (worker, start, end)")
	cmd.Flags().StringSliceVar(&sel, "select", nil, "run only these tables: t, t+ (and downstream), +t (and upstream); repeatable")
	cmd.Flags().IntVar(&parallelism, "parallelism", 0, "tables updated at once (0: engine.parallelism of medallion.yaml, else one per CPU)")
	return cmd
}

// checkSomethingToRun refuses a run of the built-in project (no
// medallion.yaml) in a folder with no landing files and no lake: most
// likely the wrong folder, and nothing should be created there.
func (a *app) checkSomethingToRun(proj *pipeline.Project) error {
	if _, err := os.Stat(filepath.Join(proj.Dir, pipeline.ConfigFile)); err == nil {
		return nil
	}
	landing, lake := proj.Resolve(proj.Config.Landing), proj.Resolve(proj.Config.Lake)
	if _, err := os.Stat(lake); err == nil {
		return nil
	}
	found := false
	_ = filepath.WalkDir(landing, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	if found {
		return nil
	}
	return fmt.Errorf(`run: nothing to run in %s: no %s (so the built-in e-commerce project would run) and no files in %s
  to see it work:       medallion demo            (generates orders, runs the pipeline, serves the dashboard)
  or, step by step:     medallion generate --out %s && medallion run
  for your own project: medallion init DIR, then put files into DIR/landing/<source>/
  (or pass -C DIR to run the project in DIR)`, proj.Dir, pipeline.ConfigFile, landing, proj.Config.Landing)
}

func (a *app) queryCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   `query [--format table|csv|json] "SQL"`,
		Short: "Run a read-only SQL statement over the lake's tables (layer.table, delta_scan('path'))",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("query: unknown --format %q (table, csv or json)", format)
			}
			proj, err := a.project()
			if err != nil {
				return err
			}
			// The user owns the machine: delta_scan may name a table
			// outside the lake. The session still writes nothing and
			// cannot change its settings.
			s, err := pipeline.OpenSessionWith(cmd.Context(), proj, pipeline.SessionOptions{OutsideLake: true})
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.Query(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeResult(a.stdout, res, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return cmd
}

func (a *app) tablesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tables",
		Short: "List the lake's tables with version, files, rows and size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			lake, err := pipeline.OpenLake(cmd.Context(), proj.Resolve(proj.Config.Lake), nil)
			if err != nil {
				return err
			}
			names, err := lake.Tables(cmd.Context())
			if err != nil {
				return err
			}
			tw := newTable(a.stdout, "TABLE", "VERSION", "FILES", "ROWS", "SIZE", "UPDATED")
			for _, n := range names {
				snap, err := lake.Snapshot(cmd.Context(), n)
				if err != nil {
					return err
				}
				var rows, size int64
				for _, f := range snap.Files() {
					size += f.Size
					if n, ok := f.LiveRows(); ok && n > 0 {
						rows += n
					}
				}
				tw.row(n, snap.Version(), snap.NumFiles(), rows, humanBytes(size), snap.Timestamp().Local().Format("2006-01-02 15:04:05"))
			}
			return tw.flush()
		},
	}
}

func (a *app) table(cmd *cobra.Command, name string) (*delta.Table, error) {
	proj, err := a.project()
	if err != nil {
		return nil, err
	}
	lake, err := pipeline.OpenLake(cmd.Context(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(name, ".") {
		return nil, fmt.Errorf("table %q: give it as layer.table (bronze.orders, gold.daily_revenue)", name)
	}
	t, err := lake.Table(cmd.Context(), name)
	if err != nil {
		return nil, err
	}
	ok, err := t.Exists(cmd.Context())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("table %s does not exist in %s (see medallion tables)", name, proj.Resolve(proj.Config.Lake))
	}
	return t, nil
}

func (a *app) historyCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history TABLE",
		Short: "Show a table's commits, newest first (like DESCRIBE HISTORY)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.table(cmd, args[0])
			if err != nil {
				return err
			}
			hist, err := t.History(cmd.Context(), limit)
			if err != nil {
				return err
			}
			tw := newTable(a.stdout, "VERSION", "TIMESTAMP", "OPERATION", "PARAMETERS", "METRICS")
			for _, h := range hist {
				op, params, metrics := "", "", ""
				if ci := h.CommitInfo; ci != nil {
					op = ci.Operation
					params = compactMap(ci.OperationParameters)
					metrics = compactStrings(ci.OperationMetrics)
				}
				tw.row(h.Version, h.Timestamp.Local().Format("2006-01-02 15:04:05"), op, params, metrics)
			}
			return tw.flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many commits (0 = all)")
	return cmd
}

func (a *app) optimizeCmd() *cobra.Command {
	var target int64
	cmd := &cobra.Command{
		Use:   "optimize TABLE",
		Short: "Compact small files in each partition into files of the target size",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.table(cmd, args[0])
			if err != nil {
				return err
			}
			var res delta.OptimizeResult
			err = a.leased(cmd, "medallion optimize "+args[0], func(ctx context.Context) error {
				res, err = t.Optimize(ctx, &delta.OptimizeOptions{TargetSize: target})
				return err
			})
			if err != nil {
				return err
			}
			if res.Version < 0 {
				fmt.Fprintf(a.stdout, "%s: nothing to compact\n", args[0])
				return nil
			}
			fmt.Fprintf(a.stdout, "%s: version %d: %d files (%s) compacted into %d (%s) in %d partitions\n", args[0], res.Version,
				res.FilesRemoved, humanBytes(res.BytesRemoved), res.FilesAdded, humanBytes(res.BytesAdded), res.PartitionsOptimized)
			return nil
		},
	}
	cmd.Flags().Int64Var(&target, "target-size", 128<<20, "target file size in bytes")
	return cmd
}

func (a *app) vacuumCmd() *cobra.Command {
	var dry, force bool
	var retention time.Duration
	cmd := &cobra.Command{
		Use:   "vacuum TABLE [--dry-run]",
		Short: "Delete data files no longer referenced and older than the retention (default: the table's, 7 days)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.table(cmd, args[0])
			if err != nil {
				return err
			}
			opts := &delta.VacuumOptions{DryRun: dry, Force: force}
			if cmd.Flags().Changed("retention") {
				opts.Retention = &retention
			}
			// Vacuum holds the writer lease: no writer has written files it
			// has yet to commit while it lists what to delete, whatever
			// the retention.
			var res delta.VacuumResult
			err = a.leased(cmd, "medallion vacuum "+args[0], func(ctx context.Context) error {
				res, err = t.Vacuum(ctx, opts)
				return err
			})
			if err != nil {
				return err
			}
			verb := "deleted"
			if dry {
				verb = "would delete"
			}
			for _, f := range res.Files {
				fmt.Fprintln(a.stdout, f)
			}
			fmt.Fprintf(a.stdout, "%s: %s %d files (%s)\n", args[0], verb, len(res.Files), humanBytes(res.Bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list the files without deleting them")
	cmd.Flags().DurationVar(&retention, "retention", 0, "keep unreferenced files younger than this (default: the table's delta.deletedFileRetentionDuration)")
	cmd.Flags().BoolVar(&force, "force", false, "allow a retention shorter than the table's")
	return cmd
}

// progress shows finished tables as lines and, on a terminal, a spinner with
// the count so far; plain lines otherwise.
type progress struct {
	w     *os.File
	plain func(string)
	mu    sync.Mutex
	done  chan struct{}
	n     int
	tty   bool
}

func newProgress(w interface{ Write([]byte) (int, error) }) *progress {
	p := &progress{done: make(chan struct{})}
	f, ok := w.(*os.File)
	p.tty = ok && term.IsTerminal(int(f.Fd()))
	p.plain = func(s string) { fmt.Fprintln(w, s) }
	if p.tty {
		p.w = f
		go p.spin()
	}
	return p
}

func (p *progress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", s)
		return
	}
	p.plain(s)
}

func (p *progress) spin() {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case <-p.done:
			p.mu.Lock()
			fmt.Fprint(p.w, "\r\033[K")
			p.mu.Unlock()
			return
		case <-t.C:
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\033[K%s running… %d tables done, %s", frames[i%len(frames)], p.n, time.Since(start).Round(100*time.Millisecond))
			p.mu.Unlock()
		}
	}
}

func (p *progress) stop() {
	if p.tty {
		close(p.done)
		time.Sleep(120 * time.Millisecond)
	}
}

func (a *app) backfillCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "backfill TABLE --from DATE --to DATE",
		Short: "Recompute a partitioned model for a date range and replace just those rows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := time.Parse(time.DateOnly, from)
			if err != nil {
				return fmt.Errorf("backfill: --from %q: want YYYY-MM-DD", from)
			}
			t, err := time.Parse(time.DateOnly, to)
			if err != nil {
				return fmt.Errorf("backfill: --to %q: want YYYY-MM-DD", to)
			}
			proj, err := a.project()
			if err != nil {
				return err
			}
			tr, err := pipeline.Backfill(cmd.Context(), proj, args[0], f, t, pipeline.RunOptions{})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: recomputed %d rows from %s to %s (version %d, %s)\n", tr.Table, tr.RowsIn, from, to, tr.Version, tr.Duration.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first date of the range (YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "last date of the range (YYYY-MM-DD)")
	return cmd
}
