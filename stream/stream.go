// Package stream runs a project continuously: micro-batches of new landing
// files (and, through the pipeline's sources, Kafka records) flow through
// bronze, silver and gold in one pass each, exactly once, on a trigger —
// available-now, a processing-time interval, or continuous (as soon as a
// file lands). Each micro-batch is a pipeline run, so only the tables
// downstream of what changed are touched and every table's progress is
// committed with its data.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/ingest/notify"
	"github.com/medallionhq/medallion/pipeline"
)

// Trigger says when a micro-batch starts.
type Trigger string

// Triggers.
const (
	// AvailableNow processes everything pending, in bounded batches, then
	// stops: what `medallion run` does, in batches.
	AvailableNow Trigger = "available-now"
	// ProcessingTime starts a batch every interval (sooner while a backlog
	// remains).
	ProcessingTime Trigger = "processing-time"
	// Continuous starts a batch as soon as a file lands (file-system
	// notifications, with a polling fallback) and back to back while a
	// backlog remains.
	Continuous Trigger = "continuous"
)

// ParseTrigger parses a trigger name.
func ParseTrigger(s string) (Trigger, error) {
	switch t := Trigger(s); t {
	case AvailableNow, ProcessingTime, Continuous:
		return t, nil
	}
	return "", fmt.Errorf("stream: unknown trigger %q (available-now, processing-time or continuous)", s)
}

// Options tune a stream.
type Options struct {
	Trigger Trigger
	// Interval is the processing-time trigger's period (default 1s) and the
	// polling period of the continuous trigger when notifications are not
	// available (object-store landing zones) or missed.
	Interval time.Duration
	// MaxFiles and MaxBytes bound each micro-batch per source.
	MaxFiles int
	MaxBytes int64
	// MaxRecords bounds each micro-batch's Kafka records per source.
	MaxRecords int
	// Select limits the stream to some tables (pipeline.RunOptions.Select).
	Select []string
	// CompactAfter compacts a table once one of its partitions holds more
	// than this many files (default 16; negative disables compaction).
	CompactAfter int
	// TargetFileSize is the size compaction aims for (default 128 MiB).
	TargetFileSize int64
	// Log receives progress lines.
	Log func(string)
	// Metrics, when set, are updated after every batch.
	Metrics *Metrics
	// OnBatch, when set, is called after every batch with its report.
	OnBatch func(*pipeline.Report)
	// OnBatchStart, when set, is called as every batch starts.
	OnBatchStart func()
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Trigger == "" {
		o.Trigger = ProcessingTime
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.CompactAfter == 0 {
		o.CompactAfter = 16
	}
	if o.TargetFileSize <= 0 {
		o.TargetFileSize = 128 << 20
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Run streams the project until ctx ends (or, with AvailableNow, until
// nothing is pending). A failed batch is logged and retried with backoff:
// its commits either happened whole or not at all, so nothing is lost or
// done twice. It returns ctx's error when cancelled.
func Run(ctx context.Context, proj *pipeline.Project, opts Options) error {
	opts.defaults()
	// Sources with listing: notifications keep one hub for the whole
	// stream: it lists at start and every backfill interval only.
	hub, err := pipeline.NewNotificationHubFor(ctx, proj, opts.Select, notify.HubOptions{Log: opts.Log, Now: opts.Now})
	if err != nil {
		return err
	}
	if hub != nil {
		defer hub.Close()
	}
	var w *watcher
	switch {
	case opts.Trigger == Continuous && hub != nil: // a hub means an object-store landing
		w = newHubWatcher(ctx, hub, opts.Log)
		defer w.close()
	case opts.Trigger == Continuous:
		var err error
		w, err = newWatcher(proj.Resolve(proj.Config.Landing))
		if err != nil {
			opts.Log(fmt.Sprintf("stream: file notifications unavailable (%v); polling every %s", err, opts.Interval))
		} else {
			defer w.close()
		}
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return err
	}
	failures := 0
	// An idle stream keeps the lease between polls (taking and releasing
	// it every poll churns the lease's objects); it releases it after a
	// batch that changed something, and when another writer waits for it.
	var lease *pipeline.Lease
	release := func() {
		if lease == nil {
			return
		}
		if rerr := lease.Release(context.WithoutCancel(ctx)); rerr != nil {
			opts.Log(fmt.Sprintf("stream: %v", rerr))
		}
		lease = nil
	}
	defer release()
	for batch := 1; ; batch++ {
		start := opts.Now()
		if opts.OnBatchStart != nil {
			opts.OnBatchStart()
		}
		// Each batch, with the compaction after it, holds the project's
		// writer lease: other streams, runs, optimize and vacuum take
		// turns with it (see pipeline.AcquireLease).
		if lease != nil && lease.Context().Err() != nil {
			release() // lost while idle
		}
		if lease == nil {
			lease, err = pipeline.AcquireLease(ctx, lake, pipeline.LeaseOptions{Holder: fmt.Sprintf("medallion stream (batch %d)", batch), Log: opts.Log})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
		}
		rep, err := pipeline.Run(lease.Context(), proj, pipeline.RunOptions{MaxFiles: opts.MaxFiles, MaxBytes: opts.MaxBytes, MaxRecords: opts.MaxRecords, Select: opts.Select, Log: opts.Log, Now: opts.Now, Quiet: true, Lease: lease, Notify: hub})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if opts.Metrics != nil && rep != nil {
			opts.Metrics.observe(rep, start, opts.Now())
		}
		if opts.OnBatch != nil && rep != nil {
			opts.OnBatch(rep)
		}
		if err == nil && rep.Changed() {
			opts.Log(summary(batch, rep, opts.Now().Sub(start)))
			if opts.CompactAfter > 0 {
				compact(lease.Context(), lake, rep, opts)
			}
		}
		keep := err == nil && !rep.Changed() && rep.Pending() == 0 && opts.Trigger != AvailableNow
		if keep {
			wanted, werr := lease.Wanted(ctx)
			keep = werr == nil && !wanted
		}
		if !keep {
			release()
		}
		if err != nil {
			failures++
			wait := min(time.Duration(1<<min(failures, 6))*opts.Interval/4, time.Minute)
			opts.Log(fmt.Sprintf("stream: batch %d failed (retrying in %s): %v", batch, wait, err))
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		failures = 0
		pending := rep.Pending()
		switch opts.Trigger {
		case AvailableNow:
			// A batch carries its changes through every layer, so only
			// files left by the batch bounds call for another one.
			if pending == 0 {
				return nil
			}
		case ProcessingTime:
			if pending == 0 {
				stop := yieldWhenWanted(ctx, lease, opts.Log)
				err := sleep(ctx, time.Until(start.Add(opts.Interval)))
				stop()
				if err != nil {
					return err
				}
			}
		case Continuous:
			if pending == 0 && !rep.Changed() {
				stop := yieldWhenWanted(ctx, lease, opts.Log)
				err := w.wait(ctx, opts.Interval)
				stop()
				if err != nil {
					return err
				}
			}
		}
	}
}

// leaseCheck is how often an idle stream that keeps the writer lease looks
// for another writer waiting for it.
const leaseCheck = 250 * time.Millisecond

// yieldWhenWanted watches, while the stream idles with the lease held
// (nil: not held), for another writer waiting for it, and releases the
// lease then; the next batch takes it again in turn. stop ends the watch.
func yieldWhenWanted(ctx context.Context, lease *pipeline.Lease, log func(string)) (stop func()) {
	if lease == nil {
		return func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseCheck)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-lease.Context().Done():
				return
			case <-t.C:
			}
			if wanted, err := lease.Wanted(wctx); err == nil && wanted {
				if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
					log(fmt.Sprintf("stream: %v", err))
				}
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

func summary(batch int, rep *pipeline.Report, took time.Duration) string {
	var in, out int64
	var tables []string
	for _, t := range rep.Tables {
		if t.Kind == "source" {
			in += t.RowsIn
		}
		if t.Status == pipeline.StatusOK && t.Kind != "view" {
			out += t.RowsOut
			tables = append(tables, t.Table)
		}
	}
	return fmt.Sprintf("batch %d: %d rows in, %d tables updated (%s) in %s, %d files pending", batch, in, len(tables), strings.Join(tables, ", "), took.Round(time.Millisecond), rep.Pending())
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// compact optimizes the tables the batch updated whose busiest partition
// holds more than CompactAfter files. A compaction that loses a race to a
// concurrent commit is skipped; the next batch tries again.
func compact(ctx context.Context, lake *pipeline.Lake, rep *pipeline.Report, opts Options) {
	for _, t := range rep.Tables {
		if t.Status != pipeline.StatusOK || t.Kind == "view" {
			continue
		}
		tbl, err := lake.Table(ctx, t.Table)
		if err != nil {
			continue
		}
		snap, err := tbl.Snapshot(ctx)
		if err != nil {
			continue
		}
		perPartition := map[string]int{}
		most := 0
		for _, f := range snap.Files() {
			k := fmt.Sprint(f.PartitionValues)
			perPartition[k]++
			most = max(most, perPartition[k])
		}
		if most <= opts.CompactAfter {
			continue
		}
		res, err := tbl.Optimize(ctx, &delta.OptimizeOptions{TargetSize: opts.TargetFileSize})
		switch {
		case errors.Is(err, delta.ErrConcurrentModification):
			opts.Log(fmt.Sprintf("stream: compaction of %s lost a race; retrying after the next batch", t.Table))
		case err != nil:
			opts.Log(fmt.Sprintf("stream: compaction of %s failed: %v", t.Table, err))
		case res.FilesAdded > 0:
			opts.Log(fmt.Sprintf("stream: compacted %s: %d files into %d (version %d)", t.Table, res.FilesRemoved, res.FilesAdded, res.Version))
			if opts.Metrics != nil {
				opts.Metrics.compactions.WithLabelValues(t.Table).Inc()
			}
		}
	}
}

// WatchLanding calls onArrival whenever a file lands under root (local disk
// only), until ctx ends. Bursts are passed on as they come; callers
// debounce.
func WatchLanding(ctx context.Context, root string, onArrival func()) error {
	w, err := newWatcher(root)
	if err != nil {
		return fmt.Errorf("stream: watch %s: %w", root, err)
	}
	defer w.close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
			onArrival()
		}
	}
}

// watcher turns file-system notifications under the landing root into a
// wake-up signal.
type watcher struct {
	w    *fsnotify.Watcher
	wake chan struct{}
	done chan struct{}
}

func newWatcher(root string) (*watcher, error) {
	if strings.Contains(root, "://") {
		return nil, errors.New("landing is not on local disk")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{w: fw, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// addTree watches dir and every folder below it (fsnotify is not
// recursive).
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile
		}
		if d.IsDir() {
			return w.w.Add(p)
		}
		return nil
	})
}

func (w *watcher) loop() {
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.addTree(ev.Name)
				}
			}
			if strings.HasPrefix(filepath.Base(ev.Name), ".") {
				continue // temporary names: the rename into place follows
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Rename) {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
		case <-w.w.Errors:
		}
	}
}

// wait blocks until a file lands, or poll passes (a safety net for missed
// events), or ctx ends. Without a watcher it just polls.
func (w *watcher) wait(ctx context.Context, poll time.Duration) error {
	if w == nil {
		return sleep(ctx, poll)
	}
	t := time.NewTimer(max(poll, 5*time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.wake:
		// Let a burst of files land before the batch starts.
		return sleep(ctx, 20*time.Millisecond)
	case <-t.C:
		return nil
	}
}

func (w *watcher) close() {
	close(w.done)
	if w.w != nil {
		w.w.Close()
	}
}
