package delta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/medallionhq/medallion/storage"
)

// Options tune a Table. A nil *Options means all defaults.
type Options struct {
	// CheckpointInterval writes a checkpoint every N commits when the table
	// does not set delta.checkpointInterval. Default 10.
	CheckpointInterval int
	// MaxCommitAttempts bounds how often a commit that lost a race to a
	// non-conflicting commit is retried. Default 50.
	MaxCommitAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff (with
	// full jitter) between commit attempts. Defaults 2 ms and 500 ms.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// EngineInfo is written as commitInfo.engineInfo. Default "medallion".
	EngineInfo string
	// Now is the clock; default time.Now. Tests set it to age files.
	Now func() time.Time
	// SyncCheckpoints writes a due checkpoint inside the commit that makes
	// it due, before Commit returns, instead of in the background after it
	// (see WaitCheckpoints). Default false.
	SyncCheckpoints bool
	// Logger receives warnings about work that failed after a commit had
	// already succeeded (checkpoints, log cleanup). Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.CheckpointInterval <= 0 {
		r.CheckpointInterval = defaultCheckpointInterval
	}
	if r.MaxCommitAttempts <= 0 {
		r.MaxCommitAttempts = 50
	}
	if r.RetryBaseDelay <= 0 {
		r.RetryBaseDelay = 2 * time.Millisecond
	}
	if r.RetryMaxDelay <= 0 {
		r.RetryMaxDelay = 500 * time.Millisecond
	}
	if r.EngineInfo == "" {
		r.EngineInfo = "medallion"
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

// Table is a handle to one Delta table: a store rooted at the table's
// directory. It caches the latest snapshot it has seen, so reopening after
// new commits reads only those commits. A Table is safe for concurrent use;
// other processes may commit to the same table at the same time.
type Table struct {
	store *storage.Store
	opts  Options

	mu    sync.Mutex
	cache *Snapshot
	// oldestCheckpoint is the modification time of the oldest checkpoint
	// the last log clean-up that deleted nothing saw (zero: no such
	// clean-up yet). Until the retention cutoff passes it no checkpoint can
	// be old enough to make log files expendable (a checkpoint written
	// since is newer), so clean-up skips listing the log.
	oldestCheckpoint time.Time
	// bg is the background checkpoint queue (bgcheckpoint.go).
	bg bgState
}

// OpenTable returns a handle to the table rooted at store. It does no I/O:
// the table may not exist yet (see Create and Exists).
func OpenTable(_ context.Context, store *storage.Store, opts *Options) (*Table, error) {
	if store == nil {
		return nil, errors.New("delta: OpenTable: nil store")
	}
	return &Table{store: store, opts: opts.withDefaults()}, nil
}

// Store is the storage the table lives in, rooted at the table.
func (t *Table) Store() *storage.Store { return t.store }

// Exists reports whether the table has at least one commit or checkpoint.
func (t *Table) Exists(ctx context.Context) (bool, error) {
	l, err := listLog(ctx, t.store)
	if err != nil {
		return false, err
	}
	return l.latestVersion() >= 0, nil
}

// Snapshot returns the latest snapshot. When the table has a cached
// snapshot, only the log after it is listed and read; otherwise listing
// starts at the checkpoint _last_checkpoint names, falling back to the whole
// log when that hint is missing, stale or wrong.
func (t *Table) Snapshot(ctx context.Context) (*Snapshot, error) {
	t.mu.Lock()
	cached := t.cache
	t.mu.Unlock()
	if cached != nil {
		l, err := listLogFrom(ctx, t.store, cached.version+1)
		if err != nil {
			return nil, err
		}
		latest := l.latestVersion()
		if latest < 0 {
			return cached, nil
		}
		if l.hasCommits(cached.version+1, latest) {
			commits, err := readCommits(ctx, t.store, cached.version+1, latest)
			if err != nil {
				return nil, err
			}
			snap, err := cached.next(commits, latest, l.timestampOf(latest))
			if err != nil {
				return nil, err
			}
			t.remember(snap)
			return snap, nil
		}
	} else if hint := readLastCheckpoint(ctx, t.store); hint > 0 {
		l, err := listLogFrom(ctx, t.store, hint)
		if err != nil {
			return nil, err
		}
		latest := l.latestVersion()
		if cv, _, ok := l.checkpointAtOrBefore(latest); ok && l.hasCommits(cv+1, latest) {
			snap, err := loadSnapshot(ctx, t.store, l, -1)
			if err != nil {
				return nil, err
			}
			t.remember(snap)
			return snap, nil
		}
	}
	l, err := listLog(ctx, t.store)
	if err != nil {
		return nil, err
	}
	snap, err := loadSnapshot(ctx, t.store, l, -1)
	if err != nil {
		return nil, err
	}
	t.remember(snap)
	return snap, nil
}

func (t *Table) remember(s *Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cache == nil || s.version > t.cache.version {
		t.cache = s
	}
}

func (l *logListing) hasCommits(from, to int64) bool {
	for v := from; v <= to; v++ {
		if _, ok := l.commits[v]; !ok {
			return false
		}
	}
	return true
}

// SnapshotAt returns the snapshot at version (time travel). A version whose
// commits and checkpoints are gone gives ErrVersionNotFound.
func (t *Table) SnapshotAt(ctx context.Context, version int64) (*Snapshot, error) {
	if version < 0 {
		return nil, fmt.Errorf("%w: negative version %d", ErrVersionNotFound, version)
	}
	t.mu.Lock()
	cached := t.cache
	t.mu.Unlock()
	if cached != nil && cached.version == version {
		return cached, nil
	}
	l, err := listLog(ctx, t.store)
	if err != nil {
		return nil, err
	}
	return loadSnapshot(ctx, t.store, l, version)
}

// SnapshotAsOf returns the snapshot of the newest version committed at or
// before ts (time travel by timestamp). Commit times are the commit files'
// modification times, made strictly increasing as the protocol requires.
func (t *Table) SnapshotAsOf(ctx context.Context, ts time.Time) (*Snapshot, error) {
	l, err := listLog(ctx, t.store)
	if err != nil {
		return nil, err
	}
	versions := l.commitTimes()
	if len(versions) == 0 {
		return nil, fmt.Errorf("%w: no commits in %s/%s", ErrNotATable, t.store.URL(), logDir)
	}
	if err := t.inCommitTimes(ctx, l, versions); err != nil {
		return nil, err
	}
	oldest := l.oldestReconstructable()
	best := int64(-1)
	for _, vt := range versions {
		if vt.version >= oldest && !vt.ts.After(ts) {
			best = vt.version
		}
	}
	if best < 0 {
		first := versions[0].ts
		for _, vt := range versions {
			if vt.version >= oldest {
				first = vt.ts
				break
			}
		}
		return nil, fmt.Errorf("%w: timestamp %s is before the earliest available commit (%s)", ErrVersionNotFound, ts.UTC().Format(time.RFC3339Nano), first.UTC().Format(time.RFC3339Nano))
	}
	return loadSnapshot(ctx, t.store, l, best)
}

// Table properties of in-commit timestamps (writer feature
// inCommitTimestamp).
const (
	PropEnableInCommitTimestamps     = "delta.enableInCommitTimestamps"
	propInCommitTimestampEnablementV = "delta.inCommitTimestampEnablementVersion"
)

// inCommitTimes replaces, in versions, the modification times of the
// commits made with in-commit timestamps on by the timestamps in their
// commitInfo, as the protocol requires of readers once the latest version
// has them on: from the enablement version on, the commit files' times do
// not count.
func (t *Table) inCommitTimes(ctx context.Context, l *logListing, versions []versionTime) error {
	latest, err := loadSnapshot(ctx, t.store, l, -1)
	if err != nil {
		return err
	}
	if !boolProperty(latest.metadata, PropEnableInCommitTimestamps, false) {
		return nil
	}
	from := int64(0)
	if v, ok := latest.Property(propInCommitTimestampEnablementV); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			from = n
		}
	}
	first := slices.IndexFunc(versions, func(vt versionTime) bool { return vt.version >= from })
	if first < 0 {
		return nil
	}
	commits, err := readCommits(ctx, t.store, versions[first].version, versions[len(versions)-1].version)
	if err != nil {
		return err
	}
	for i, acts := range commits {
		vt := &versions[first+i]
		ts := commitTime(acts, time.Time{})
		if ts.IsZero() {
			return fmt.Errorf("%w: version %d has no inCommitTimestamp though %s is on from version %d", ErrCorruptLog, vt.version, PropEnableInCommitTimestamps, from)
		}
		vt.ts = ts
	}
	return nil
}

type versionTime struct {
	version int64
	ts      time.Time
}

// commitTimes lists the commits in version order with monotonic times.
func (l *logListing) commitTimes() []versionTime {
	vs := make([]int64, 0, len(l.commits))
	for v := range l.commits {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	out := make([]versionTime, len(vs))
	for i, v := range vs {
		// Milliseconds, as Delta's commit timestamps and Spark's
		// timestampAsOf count.
		ts := l.commits[v].modTime.Truncate(time.Millisecond)
		if i > 0 && !ts.After(out[i-1].ts) {
			ts = out[i-1].ts.Add(time.Millisecond)
		}
		out[i] = versionTime{v, ts}
	}
	return out
}

// CreateOptions describe a new table.
type CreateOptions struct {
	// PartitionColumns are top-level primitive columns of the schema.
	PartitionColumns []string
	// Configuration holds table properties (delta.checkpointInterval, …).
	Configuration map[string]string
	// Name and Description are optional metadata.
	Name, Description string
}

// Create commits version 0 of a new table with the given schema. It fails
// with ErrTableExists if the table already has a version 0.
func (t *Table) Create(ctx context.Context, schema *StructType, opts *CreateOptions) (*Snapshot, error) {
	if opts == nil {
		opts = &CreateOptions{}
	}
	if schema == nil || len(schema.Fields) == 0 {
		return nil, errors.New("delta: create: empty schema")
	}
	if _, err := ParseSchema(schema.String()); err != nil {
		return nil, fmt.Errorf("delta: create: %w", err)
	}
	for _, pc := range opts.PartitionColumns {
		f, ok := schema.Field(pc)
		if !ok {
			return nil, fmt.Errorf("delta: create: partition column %q is not in the schema", pc)
		}
		if !f.Type.IsPrimitive() {
			return nil, fmt.Errorf("delta: create: partition column %q has non-primitive type %s", pc, f.Type)
		}
	}
	now := t.opts.Now().UnixMilli()
	md := &Metadata{
		ID:               uuid.NewString(),
		Format:           Format{Provider: "parquet", Options: map[string]string{}},
		SchemaString:     schema.String(),
		PartitionColumns: append([]string{}, opts.PartitionColumns...),
		Configuration:    map[string]string{},
		CreatedTime:      &now,
	}
	if opts.Name != "" {
		md.Name = &opts.Name
	}
	if opts.Description != "" {
		md.Description = &opts.Description
	}
	for k, v := range opts.Configuration {
		md.Configuration[k] = v
	}
	if v, ok := md.Configuration[PropCheckpointInterval]; ok {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			return nil, fmt.Errorf("delta: create: table property %s=%q must be a positive integer", PropCheckpointInterval, v)
		}
	}
	for _, k := range []string{PropLogRetentionDuration, PropDeletedFileRetention} {
		if _, err := durationProperty(md, k, 0); err != nil {
			return nil, fmt.Errorf("delta: create: %w", err)
		}
	}
	proto := &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}
	if ChangeDataFeedEnabled(md) {
		proto.MinWriterVersion = changeDataFeedWriterVersion
	}
	tx := &Transaction{table: t, metadata: md, protocol: proto, op: "CREATE TABLE",
		params: map[string]any{"partitionBy": jsonList(opts.PartitionColumns), "isManaged": "false"}}
	res, err := tx.Commit(ctx)
	if err != nil {
		return nil, err
	}
	return res.Snapshot, nil
}

// Changes returns the data files added with dataChange between two versions
// (after from, up to and including to) that are still active at to, and the
// files removed with dataChange in that range. It reads only those commits;
// if one is gone (log cleanup), it fails with ErrVersionNotFound and the
// caller should fall back to a full read.
func (t *Table) Changes(ctx context.Context, from, to int64) (added []*Add, removed []*Remove, err error) {
	if to <= from {
		return nil, nil, nil
	}
	l, err := listLogFrom(ctx, t.store, from+1)
	if err != nil {
		return nil, nil, err
	}
	if !l.hasCommits(from+1, to) {
		return nil, nil, fmt.Errorf("%w: commits %d..%d are not all available", ErrVersionNotFound, from+1, to)
	}
	commits, err := readCommits(ctx, t.store, from+1, to)
	if err != nil {
		return nil, nil, err
	}
	live := map[string]*Add{}
	for _, acts := range commits {
		// A rearrangement (OPTIMIZE: dataChange=false) that rewrites a
		// changed file carries its rows into the new files, so those count
		// as changed too (with the unchanged rows they were merged with).
		carried := false
		for _, a := range acts {
			if a.Remove != nil && !a.Remove.DataChange {
				if _, ok := live[logicalID(a.Remove.Path, a.Remove.DeletionVector)]; ok {
					carried = true
				}
			}
		}
		for _, a := range acts {
			switch {
			case a.Add != nil && (a.Add.DataChange || carried):
				live[logicalID(a.Add.Path, a.Add.DeletionVector)] = a.Add
			case a.Remove != nil:
				delete(live, logicalID(a.Remove.Path, a.Remove.DeletionVector))
				if a.Remove.DataChange {
					removed = append(removed, a.Remove)
				}
			}
		}
	}
	for _, a := range live {
		added = append(added, a)
	}
	slices.SortFunc(added, func(a, b *Add) int { return strings.Compare(a.Path, b.Path) })
	return added, removed, nil
}
