package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/storage"
)

// Snapshot is the state of a table at one version: protocol, metadata, the
// active data files, tombstones and the txn versions of applications. A
// Snapshot is immutable and safe for concurrent use.
type Snapshot struct {
	store      *storage.Store
	version    int64
	timestamp  time.Time
	protocol   *Protocol
	metadata   *Metadata
	schema     *StructType
	files      map[string]*Add    // by logicalID: decoded path and deletion vector
	tombstones map[string]*Remove // by logicalID
	txns       map[string]Txn

	sortedOnce sync.Once
	sorted     []*Add
}

// Version is the snapshot's table version.
func (s *Snapshot) Version() int64 { return s.version }

// Timestamp is the commit time of the snapshot's version: the modification
// time of its commit file, as the protocol defines it.
func (s *Snapshot) Timestamp() time.Time { return s.timestamp }

// Protocol is the table's protocol action.
func (s *Snapshot) Protocol() *Protocol { return s.protocol }

// Metadata is the table's metaData action.
func (s *Snapshot) Metadata() *Metadata { return s.metadata }

// Schema is the parsed table schema.
func (s *Snapshot) Schema() *StructType { return s.schema }

// PartitionColumns are the table's partition columns, in order.
func (s *Snapshot) PartitionColumns() []string { return s.metadata.PartitionColumns }

// PhysicalPartitionColumns are the partition columns by their physical
// names, the keys of the files' partitionValues: the same as
// PartitionColumns unless the table maps columns (delta.columnMapping.mode
// name or id).
func (s *Snapshot) PhysicalPartitionColumns() []string {
	out := make([]string, len(s.metadata.PartitionColumns))
	for i, c := range s.metadata.PartitionColumns {
		out[i] = s.schema.PhysicalColumn(c)
	}
	return out
}

// Store is the storage the table lives in, rooted at the table.
func (s *Snapshot) Store() *storage.Store { return s.store }

// Files returns the active data files, sorted by path. Callers must not
// modify the returned actions.
func (s *Snapshot) Files() []*Add {
	s.sortedOnce.Do(func() {
		s.sorted = slices.Collect(maps.Values(s.files))
		slices.SortFunc(s.sorted, func(a, b *Add) int { return strings.Compare(a.Path, b.Path) })
	})
	return s.sorted
}

// NumFiles is the number of active data files.
func (s *Snapshot) NumFiles() int { return len(s.files) }

// Tombstones returns the remove actions of files that are no longer active
// and have not been re-added, sorted by path.
func (s *Snapshot) Tombstones() []*Remove {
	out := slices.Collect(maps.Values(s.tombstones))
	slices.SortFunc(out, func(a, b *Remove) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// TxnVersion returns the latest version committed by appID through a txn
// action, and whether there is one.
func (s *Snapshot) TxnVersion(appID string) (int64, bool) {
	t, ok := s.txns[appID]
	return t.Version, ok
}

// Txns returns every application's latest txn version (a copy).
func (s *Snapshot) Txns() map[string]int64 {
	out := make(map[string]int64, len(s.txns))
	for k, t := range s.txns {
		out[k] = t.Version
	}
	return out
}

// Property returns a table property (metaData configuration) and whether it
// is set.
func (s *Snapshot) Property(key string) (string, bool) {
	v, ok := s.metadata.Configuration[key]
	return v, ok
}

// FileKey returns the storage key of a data file: the add's path
// percent-decoded exactly once, as the protocol specifies.
func FileKey(path string) (string, error) {
	k, err := url.PathUnescape(path)
	if err != nil {
		return "", fmt.Errorf("delta: bad file path %q: %w", path, err)
	}
	return k, nil
}

func fileID(path string) string {
	if k, err := url.PathUnescape(path); err == nil {
		return k
	}
	return path
}

// logicalID is a file's identity in the log: its path and the unique id of
// its deletion vector, as the protocol reconciles actions (a DELETE with
// deletion vectors removes the file with its old vector and adds it with a
// new one, in either order within the commit).
func logicalID(path string, dv *DeletionVector) string {
	if dv == nil {
		return fileID(path)
	}
	return fileID(path) + "\x00" + dv.UniqueID()
}

// replay builds snapshot state from a starting point and ordered commits.
type replay struct {
	protocol   *Protocol
	metadata   *Metadata
	files      map[string]*Add
	tombstones map[string]*Remove
	txns       map[string]Txn
}

func newReplay() *replay {
	return &replay{files: map[string]*Add{}, tombstones: map[string]*Remove{}, txns: map[string]Txn{}}
}

func (s *Snapshot) toReplay() *replay {
	return &replay{
		protocol: s.protocol, metadata: s.metadata,
		files: maps.Clone(s.files), tombstones: maps.Clone(s.tombstones), txns: maps.Clone(s.txns),
	}
}

func (r *replay) apply(actions []Action) {
	for i := range actions {
		a := &actions[i]
		switch {
		case a.Add != nil:
			id := logicalID(a.Add.Path, a.Add.DeletionVector)
			r.files[id] = a.Add
			delete(r.tombstones, id)
		case a.Remove != nil:
			id := logicalID(a.Remove.Path, a.Remove.DeletionVector)
			delete(r.files, id)
			r.tombstones[id] = a.Remove
		case a.MetaData != nil:
			r.metadata = a.MetaData
		case a.Protocol != nil:
			r.protocol = a.Protocol
		case a.Txn != nil:
			r.txns[a.Txn.AppID] = *a.Txn
		}
	}
}

func (r *replay) snapshot(store *storage.Store, version int64, ts time.Time) (*Snapshot, error) {
	if r.protocol == nil {
		return nil, fmt.Errorf("%w: version %d has no protocol action", ErrCorruptLog, version)
	}
	if r.metadata == nil {
		return nil, fmt.Errorf("%w: version %d has no metaData action", ErrCorruptLog, version)
	}
	if err := checkReadSupport(r.protocol, r.metadata); err != nil {
		return nil, err
	}
	schema, err := r.metadata.Schema()
	if ufe := (*UnsupportedFeatureError)(nil); errors.As(err, &ufe) {
		return nil, ufe // a valid type this package cannot read (variant)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: version %d: %w", ErrCorruptLog, version, err)
	}
	return &Snapshot{
		store: store, version: version, timestamp: ts,
		protocol: r.protocol, metadata: r.metadata, schema: schema,
		files: r.files, tombstones: r.tombstones, txns: r.txns,
	}, nil
}

// readCommit reads and parses one commit file.
func readCommit(ctx context.Context, store *storage.Store, v int64) ([]Action, error) {
	b, err := store.ReadAll(ctx, commitKey(v))
	if err != nil {
		return nil, fmt.Errorf("delta: read commit %d: %w", v, err)
	}
	acts, err := ParseActions(fmt.Sprintf("%s (version %d)", commitKey(v), v), b)
	if err != nil {
		return nil, err
	}
	return acts, nil
}

// readCommits reads versions [from, to] concurrently and returns them in
// order.
func readCommits(ctx context.Context, store *storage.Store, from, to int64) ([][]Action, error) {
	if to < from {
		return nil, nil
	}
	n := int(to - from + 1)
	if n == 1 {
		acts, err := readCommit(ctx, store, from)
		if err != nil {
			return nil, err
		}
		return [][]Action{acts}, nil
	}
	out := make([][]Action, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		errOnce  sync.Once
	)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			acts, err := readCommit(ctx, store, from+int64(i))
			if err != nil {
				errOnce.Do(func() { firstErr = err }) // the cause, not the cancellations it triggers
				cancel()
				return
			}
			out[i] = acts
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// readCheckpoint reads every part of a checkpoint: the parts of a classic
// one, or a v2 checkpoint (JSON or Parquet) and the sidecars it names.
func readCheckpoint(ctx context.Context, store *storage.Store, parts []logFile) ([]Action, error) {
	var all []Action
	for _, p := range parts {
		b, err := store.ReadAll(ctx, p.key)
		if err != nil {
			return nil, fmt.Errorf("delta: read checkpoint %d: %w", p.version, err)
		}
		var acts []Action
		if strings.HasSuffix(p.key, ".json") {
			acts, err = ParseActions(p.key, b)
		} else {
			acts, err = readCheckpointParquet(bytes.NewReader(b), int64(len(b)))
		}
		if err != nil {
			return nil, fmt.Errorf("delta: checkpoint %s (version %d): %w", p.key, p.version, err)
		}
		for _, a := range acts {
			if a.Sidecar == nil {
				all = append(all, a)
				continue
			}
			side, err := readSidecar(ctx, store, p, a.Sidecar)
			if err != nil {
				return nil, err
			}
			all = append(all, side...)
		}
	}
	return all, nil
}

// SidecarFile is the sidecar action of a v2 checkpoint: a Parquet file
// under _delta_log/_sidecars holding add and remove actions.
type SidecarFile struct {
	Path             string `json:"path"`
	SizeInBytes      int64  `json:"sizeInBytes"`
	ModificationTime int64  `json:"modificationTime"`
}

// readSidecar reads the add and remove actions of one sidecar a v2
// checkpoint names.
func readSidecar(ctx context.Context, store *storage.Store, cp logFile, raw json.RawMessage) ([]Action, error) {
	var sc SidecarFile
	if err := json.Unmarshal(raw, &sc); err != nil || sc.Path == "" {
		return nil, fmt.Errorf("%w: checkpoint %s: bad sidecar action %s", ErrCorruptLog, cp.key, raw)
	}
	if strings.Contains(sc.Path, "://") || strings.HasPrefix(sc.Path, "/") || slices.Contains(strings.Split(sc.Path, "/"), "..") {
		return nil, fmt.Errorf("%w: checkpoint %s: sidecar %q outside %s/_sidecars", ErrUnsupportedFeature, cp.key, sc.Path, logDir)
	}
	key, err := FileKey(sc.Path)
	if err != nil {
		return nil, err
	}
	key = logDir + "/_sidecars/" + key
	b, err := store.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("delta: checkpoint %s (version %d): sidecar: %w", cp.key, cp.version, err)
	}
	acts, err := readCheckpointParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("delta: sidecar %s of checkpoint %d: %w", key, cp.version, err)
	}
	for _, a := range acts {
		if a.Add == nil && a.Remove == nil {
			return nil, fmt.Errorf("%w: sidecar %s holds a %s action (only add and remove belong there)", ErrCorruptLog, key, a.kind())
		}
	}
	return acts, nil
}

// loadSnapshot rebuilds the table at version (latest when version < 0) from
// the newest complete checkpoint at or before it and the commits after it.
func loadSnapshot(ctx context.Context, store *storage.Store, l *logListing, version int64) (*Snapshot, error) {
	latest := l.latestVersion()
	if latest < 0 {
		return nil, fmt.Errorf("%w: no commits in %s/%s", ErrNotATable, store.URL(), logDir)
	}
	if version < 0 {
		version = latest
	}
	if version > latest {
		return nil, fmt.Errorf("%w: version %d does not exist (latest is %d)", ErrVersionNotFound, version, latest)
	}
	r := newReplay()
	start := int64(0)
	if cv, parts, ok := l.checkpointAtOrBefore(version); ok {
		acts, err := readCheckpoint(ctx, store, parts)
		if err != nil {
			return nil, err
		}
		r.files = make(map[string]*Add, len(acts)) // mostly adds: no rehashing while it fills
		r.apply(acts)
		start = cv + 1
	}
	for v := start; v <= version; v++ {
		if _, ok := l.commits[v]; !ok {
			oldest := l.oldestReconstructable()
			if oldest < 0 {
				// No version can be rebuilt: not time travel past log
				// clean-up (which deletes only before a checkpoint) but log
				// files deleted from under the table. Say what is there.
				return nil, fmt.Errorf("%w: version %d cannot be rebuilt: commit %d is missing (oldest available version is -1: the log of %s has neither commit 0 nor a checkpoint, so files of it were deleted; it holds %s)", ErrVersionNotFound, version, v, store.URL(), l.summary())
			}
			return nil, fmt.Errorf("%w: version %d cannot be rebuilt: commit %d is missing (oldest available version is %d)", ErrVersionNotFound, version, v, oldest)
		}
	}
	commits, err := readCommits(ctx, store, start, version)
	if err != nil {
		return nil, err
	}
	for _, acts := range commits {
		r.apply(acts)
	}
	ts := l.timestampOf(version)
	if len(commits) > 0 {
		ts = commitTime(commits[len(commits)-1], ts)
	} else if _, ok := l.commits[version]; ok && r.metadata != nil && boolProperty(r.metadata, PropEnableInCommitTimestamps, false) {
		// Rebuilt from a checkpoint alone: the commit holds the time.
		acts, err := readCommit(ctx, store, version)
		if err != nil {
			return nil, err
		}
		ts = commitTime(acts, ts)
	}
	return r.snapshot(store, version, ts)
}

// summary names the commits of the listing (ranges of versions) and the
// number of other log files, for errors about a damaged log.
func (l *logListing) summary() string {
	vs := slices.Sorted(maps.Keys(l.commits))
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(vs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", vs[i], vs[j]))
		}
		i = j + 1
	}
	if len(parts) > 8 {
		parts = append(parts[:4], "…")
	}
	return fmt.Sprintf("commits %s and %d other files", strings.Join(parts, ", "), len(l.others))
}

// oldestReconstructable is the oldest version that a checkpoint plus
// contiguous commits can rebuild, or -1.
func (l *logListing) oldestReconstructable() int64 {
	best := int64(-1)
	for cv := range l.checkpoints {
		if best < 0 || cv < best {
			best = cv
		}
	}
	if _, ok := l.commits[0]; ok {
		return 0
	}
	return best
}

// timestampOf is the commit time of version v: its commit file's modification
// time, or its checkpoint's when the commit is gone.
func (l *logListing) timestampOf(v int64) time.Time {
	if c, ok := l.commits[v]; ok {
		return c.modTime
	}
	if parts, ok := l.checkpoints[v]; ok {
		return parts[0].modTime
	}
	return time.Time{}
}

// next applies commits after s, in order, giving the snapshot at the last.
func (s *Snapshot) next(commits [][]Action, version int64, ts time.Time) (*Snapshot, error) {
	if len(commits) > 0 {
		ts = commitTime(commits[len(commits)-1], ts)
	}
	r := s.toReplay()
	for _, acts := range commits {
		r.apply(acts)
	}
	return r.snapshot(s.store, version, ts)
}

// commitTime is a commit's time: its in-commit timestamp (writer feature
// inCommitTimestamp) when its commitInfo carries one, else fallback (the
// commit file's modification time).
func commitTime(acts []Action, fallback time.Time) time.Time {
	for _, a := range acts {
		if a.CommitInfo != nil && a.CommitInfo.InCommitTimestamp != nil {
			return time.UnixMilli(*a.CommitInfo.InCommitTimestamp)
		}
	}
	return fallback
}
