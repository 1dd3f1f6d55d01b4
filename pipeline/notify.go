package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/ingest/landing"
	"github.com/medallionhq/medallion/ingest/notify"
	"github.com/medallionhq/medallion/storage"
)

// NotificationsConfig is a source's notifications block (listing:
// notifications): the queue the object store's file notifications go to.
type NotificationsConfig struct {
	// Queue is an Azure queue URL or name (abfss/az landings), an SQS
	// queue URL or name (s3), or a Pub/Sub subscription
	// projects/P/subscriptions/S (gs).
	Queue string `yaml:"queue"`
	// VisibilityTimeout hides a received message from other receivers
	// until its files are committed. Default 5m.
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
	// BackfillInterval is how often a full listing catches files whose
	// notification was lost; the first batch of every process lists too.
	// Default 1h.
	BackfillInterval Duration `yaml:"backfill_interval"`
}

// notifyConfig checks a notifications source against the landing URL and
// returns its notify configuration.
func (s *Source) notifyConfig(landing string) (notify.Config, error) {
	var cfg notify.Config
	if s.Listing != "notifications" {
		if s.Notifications != nil {
			return cfg, fmt.Errorf("notifications: set listing: notifications to use them (listing is %s)", s.Listing)
		}
		return cfg, nil
	}
	if s.Notifications == nil {
		return cfg, errors.New("listing: notifications needs a notifications block with the queue (notifications: {queue: ...})")
	}
	if s.Kafka != nil {
		return cfg, errors.New("listing: notifications is for landing files, not a Kafka source")
	}
	if s.Mode == ModeReplace {
		return cfg, errors.New("listing: notifications does not apply to mode replace (a replace source reads all its files every time): use listing: full")
	}
	loc, err := notify.ParseLanding(landing)
	if err != nil {
		return cfg, fmt.Errorf("listing: %w", err)
	}
	cfg = notify.Config{Queue: s.Notifications.Queue, Visibility: s.Notifications.VisibilityTimeout.Duration, BackfillInterval: s.Notifications.BackfillInterval.Duration}
	if err := cfg.Validate(loc.Kind); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// NewNotificationHub returns the hub that receives the file notifications
// of the project's sources with listing: notifications, or nil when it has
// none. A stream or serve keeps one across runs (RunOptions.Notify) so that
// it lists only every backfill_interval; a run without one lists at start.
func NewNotificationHub(ctx context.Context, proj *Project, opts notify.HubOptions) (*notify.Hub, error) {
	return NewNotificationHubFor(ctx, proj, nil, opts)
}

// NewNotificationHubFor is NewNotificationHub for the sources that runs
// with these selectors (RunOptions.Select) ingest, so that a stream of some
// tables holds no messages it would never settle.
func NewNotificationHubFor(ctx context.Context, proj *Project, selectors []string, opts notify.HubOptions) (*notify.Hub, error) {
	sel, err := proj.Selection(selectors)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var hub *notify.Hub
	landing := proj.Resolve(proj.Config.Landing)
	for _, s := range proj.Sources {
		if s.Listing != "notifications" || sel != nil && !sel[s.Table] {
			continue
		}
		cfg, err := s.notifyConfig(landing)
		if err != nil {
			return nil, fmt.Errorf("pipeline: sources.%s: %w", s.Name, err)
		}
		if hub == nil {
			if hub, err = notify.NewHub(landing, opts); err != nil {
				return nil, fmt.Errorf("pipeline: %w", err)
			}
		}
		if err := hub.Add(ctx, notify.Source{Name: s.Name, Path: s.Path, Config: cfg}); err != nil {
			hub.Close()
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	return hub, nil
}

// notifyBatch is what a notifications source's run took from the hub.
type notifyBatch struct {
	hub      *notify.Hub
	backfill bool
	// considered are the keys this run decided about; deferred those it
	// left for the next run (bounded batches).
	considered map[string]bool
	deferred   map[string]bool
}

// postpone records files a bounded run leaves for the next one.
func (nb *notifyBatch) postpone(files []landedFile) {
	if nb == nil {
		return
	}
	for _, f := range files {
		nb.deferred[f.key] = true
	}
}

// notifications returns the run's hub for source s: the caller's if it
// has s, else a one-shot one (closed when the run ends) opened on first use.
func (r *run) notifications(ctx context.Context, s *Source) (*notify.Hub, error) {
	if r.opts.Notify != nil && r.opts.Notify.Has(s.Name) {
		return r.opts.Notify, nil
	}
	if r.parent != nil {
		return r.parent.notifications(ctx, s) // one hub for the run's workers
	}
	r.notifyOnce.Do(func() {
		r.notifyHub, r.notifyErr = NewNotificationHub(ctx, r.proj, notify.HubOptions{Log: func(s string) { r.logf("%s", s) }, Now: r.opts.Now})
	})
	return r.notifyHub, r.notifyErr
}

// discoverFiles lists a source's files, or for listing: notifications
// takes the files its notifications named (a full listing at start and
// every backfill interval). The batch, not nil for notifications, is
// settled after the source's commit.
func (r *run) discoverFiles(ctx context.Context, s *Source, snap *delta.Snapshot) ([]landedFile, *notifyBatch, error) {
	if s.Listing != "notifications" {
		files, err := discover(ctx, r.landing, s, snap)
		return files, nil, err
	}
	hub, err := r.notifications(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	if hub == nil {
		return nil, nil, fmt.Errorf("pipeline: source %s: no notification hub", s.Name)
	}
	if _, err := hub.Receive(ctx, 0); err != nil {
		return nil, nil, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	if snap != nil {
		// The backfill follows backfill_interval across processes: a
		// one-shot run lists only when the last backfill is that old.
		if v, ok := snap.TxnVersion(notifyBackfillTxn(s.Name)); ok {
			hub.Backfilled(s.Name, time.UnixMilli(v))
		}
	}
	b, err := hub.Take(s.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	nb := &notifyBatch{hub: hub, backfill: b.Backfill, considered: map[string]bool{}, deferred: map[string]bool{}}
	for _, k := range b.Keys {
		nb.considered[k] = true // settled below unless deferred
	}
	var files []landedFile
	if b.Backfill {
		if files, err = discover(ctx, r.landing, s, snap); err != nil {
			return nil, nil, err
		}
	} else {
		files, err = r.statNotified(ctx, s, b.Keys)
		if err != nil {
			return nil, nil, err
		}
	}
	for i := range files {
		// Versions in whole seconds: a HEAD and a listing of one object may
		// differ below the second (S3).
		files[i].version = time.UnixMilli(files[i].version).Truncate(time.Second).UnixMilli()
		nb.considered[files[i].key] = true
	}
	return files, nb, nil
}

// statNotified returns the notified keys that are files of the source and
// still exist, in natural order.
func (r *run) statNotified(ctx context.Context, s *Source, keys []string) ([]landedFile, error) {
	var (
		mu    sync.Mutex
		out   []landedFile
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
	)
	for _, k := range keys {
		if !notify.Wanted(k, s.Path, s.Pattern) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			oi, err := r.landing.Stat(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, storage.ErrNotFound):
				// Deleted since: nothing to ingest.
			case err != nil:
				if first == nil {
					first = fmt.Errorf("pipeline: source %s: %w", s.Name, err)
				}
			default:
				local, _ := r.landing.LocalPath(k)
				out = append(out, landedFile{key: k, local: local, version: oi.ModTime.UnixMilli(), size: oi.Size})
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	slices.SortFunc(out, func(a, b landedFile) int { return landing.Compare(a.key, b.key) })
	return out, nil
}

// settleNotifications tells the hub which notified files this run
// settled, after the source's commit: their messages are deleted. A failed
// delete is a warning, not a failed run.
func (r *run) settleNotifications(ctx context.Context, s *Source, nb *notifyBatch) error {
	if nb == nil {
		return nil
	}
	err := nb.hub.Settle(ctx, s.Name, nb.backfill, func(key string) bool {
		return nb.considered[key] && !nb.deferred[key]
	})
	if err != nil {
		// The files are committed: the messages left come back after the
		// visibility timeout and are dropped then.
		r.logf("warning: %s: %v (the messages come back after the visibility timeout and are dropped then)", s.Table, err)
		return nil
	}
	if nb.backfill {
		if err := r.recordBackfill(ctx, s, nb.hub.LastBackfill(s.Name)); err != nil {
			// The next process lists again: more work, nothing lost.
			r.logf("warning: %s: record the backfill listing: %v", s.Table, err)
		}
	}
	return nil
}

// notifyBackfillTxn is the txn appId in a notifications source's table
// whose version is when (Unix milliseconds) its last backfill listing
// started.
func notifyBackfillTxn(source string) string { return "medallion/notify-backfill/" + source }

// recordBackfill records in the source's table when the backfill listing
// that was just settled started, so that the next process's run lists only
// a backfill interval later. A table that does not exist yet (the listing
// found nothing) records nothing.
func (r *run) recordBackfill(ctx context.Context, s *Source, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	tbl, err := r.lake.Table(ctx, s.Table)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, s.Table)
	if err != nil || snap == nil {
		return err
	}
	if v, ok := snap.TxnVersion(notifyBackfillTxn(s.Name)); ok && v >= at.UnixMilli() {
		return nil
	}
	_, err = tbl.Append(ctx, nil, &delta.WriteOptions{Txns: []delta.Txn{{AppID: notifyBackfillTxn(s.Name), Version: at.UnixMilli()}}, Operation: "WRITE",
		CommitInfo: map[string]any{"medallion": map[string]any{"batch_id": r.batchID, "source": s.Name, "backfill_listing": at.UTC().Format(time.RFC3339Nano)}}})
	return err
}

// closeNotifications closes a one-shot hub.
func (r *run) closeNotifications() {
	if r.notifyHub != nil {
		r.notifyHub.Close()
	}
}

// NotificationSetup returns what the user must create so that the object
// store notifies source's queue of new files (see notify.Setup).
func (p *Project) NotificationSetup(source string) (string, error) {
	var names []string
	for _, s := range p.Sources {
		names = append(names, s.Name)
		if s.Name != source {
			continue
		}
		if s.Listing != "notifications" {
			return "", fmt.Errorf("pipeline: source %s has listing: %s: set listing: notifications and notifications: {queue: ...} in %s first", source, s.Listing, ConfigFile)
		}
		landing := p.Resolve(p.Config.Landing)
		cfg, err := s.notifyConfig(landing)
		if err != nil {
			return "", fmt.Errorf("pipeline: sources.%s: %w", source, err)
		}
		loc, err := notify.ParseLanding(landing)
		if err != nil {
			return "", fmt.Errorf("pipeline: %w", err)
		}
		return notify.Setup(loc, s.Name, s.Path, cfg), nil
	}
	return "", fmt.Errorf("pipeline: no source %q (sources: %s)", source, strings.Join(names, ", "))
}
