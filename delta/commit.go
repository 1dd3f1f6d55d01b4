package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/storage"
)

// Transaction collects the actions of one commit. Begin one from a snapshot,
// add and remove files, declare what was read (for conflict detection) and
// Commit. A Transaction is not safe for concurrent use.
type Transaction struct {
	table    *Table
	base     *Snapshot // nil only for Create
	metadata *Metadata
	protocol *Protocol
	adds     []*Add
	removes  []*Remove
	cdcs     []*AddCDCFile
	txns     []Txn

	readWhole bool
	readPreds []Predicate
	readFiles map[string]bool
	op        string
	params    map[string]any
	metrics   map[string]string
	extra     map[string]json.RawMessage
	// keepsVectors: the transaction adds only files without deletion
	// vectors and removes files with theirs (Optimize), so a table with
	// deletion vectors may take it.
	keepsVectors bool
}

// CommitResult tells what a commit did.
type CommitResult struct {
	// Version is the committed version, or for a skipped commit the
	// snapshot version at which the txn was found already applied.
	Version int64
	// Skipped is true when the commit's txn (appId, version) had already
	// been committed: nothing was written. This is what makes retried
	// ingestion exactly-once.
	Skipped bool
	// Attempts is how many versions the commit tried to claim.
	Attempts int
	// Snapshot is the table state right after the commit.
	Snapshot *Snapshot
}

// Begin starts a transaction on top of snap, which must come from this
// table.
func (t *Table) Begin(snap *Snapshot) *Transaction {
	return &Transaction{table: t, base: snap, readFiles: map[string]bool{}, op: "WRITE"}
}

// AddFiles adds data files. Their paths are relative to the table root and
// percent-encoded; the files must already be written.
func (tx *Transaction) AddFiles(adds ...*Add) { tx.adds = append(tx.adds, adds...) }

// RemoveFiles removes files by remove actions.
func (tx *Transaction) RemoveFiles(removes ...*Remove) { tx.removes = append(tx.removes, removes...) }

// RemoveAdd removes an active file, marking dataChange as given. The file
// also counts as read by the transaction: a concurrent commit that removes it
// conflicts.
func (tx *Transaction) RemoveAdd(a *Add, dataChange bool) {
	ts := tx.table.opts.Now().UnixMilli()
	size := a.Size
	ext := true
	tx.removes = append(tx.removes, &Remove{
		Path: a.Path, DeletionTimestamp: &ts, DataChange: dataChange, ExtendedFileMetadata: &ext,
		PartitionValues: a.PartitionValues, Size: &size, Tags: a.Tags, DeletionVector: a.DeletionVector,
	})
	tx.readFiles[fileID(a.Path)] = true
}

// SetMetadata replaces the table's metadata (schema evolution, properties).
// A concurrent commit of any kind that also changed metadata conflicts.
func (tx *Transaction) SetMetadata(m *Metadata) { tx.metadata = m }

// SetTxn records that application appID has committed version. A
// transaction may carry several txns (one per ingested landing file, say).
// If the table already holds every one of them at that version or a newer
// one, Commit does nothing and reports Skipped; if it holds only some, Commit
// fails with ErrConcurrentModification.
func (tx *Transaction) SetTxn(appID string, version int64) {
	now := tx.table.opts.Now().UnixMilli()
	for i := range tx.txns {
		if tx.txns[i].AppID == appID {
			tx.txns[i].Version = version
			return
		}
	}
	tx.txns = append(tx.txns, Txn{AppID: appID, Version: version, LastUpdated: &now})
}

// applied counts how many of the transaction's txns the snapshot already
// holds at their version or a newer one.
func (tx *Transaction) applied(s *Snapshot) int {
	n := 0
	for _, t := range tx.txns {
		if v, ok := s.TxnVersion(t.AppID); ok && v >= t.Version {
			n++
		}
	}
	return n
}

func (tx *Transaction) checkApplied(s *Snapshot) (skipped bool, err error) {
	n := tx.applied(s)
	switch {
	case n == 0:
		return false, nil
	case n == len(tx.txns):
		return true, nil
	}
	return false, fmt.Errorf("%w: %d of the transaction's %d txns were already committed (by version %d or earlier)", ErrConcurrentModification, n, len(tx.txns), s.version)
}

// ReadAll declares that the transaction depends on the whole table: any
// concurrent commit that adds or removes data conflicts with it.
func (tx *Transaction) ReadAll() {
	tx.readWhole = true
	if tx.base != nil {
		for id := range tx.base.files {
			tx.readFiles[id] = true
		}
	}
}

// ReadWhere declares that the transaction depends on the partitions matching
// pred: a concurrent commit that adds data there, or removes a file read
// there, conflicts.
func (tx *Transaction) ReadWhere(pred Predicate) error {
	if tx.base == nil {
		return nil
	}
	tx.readPreds = append(tx.readPreds, pred)
	for id, a := range tx.base.files {
		ok, err := pred.Match(tx.base.schema, a.PartitionValues)
		if err != nil {
			return err
		}
		if ok {
			tx.readFiles[id] = true
		}
	}
	return nil
}

// ReadFiles declares that the transaction read these files: a concurrent
// commit that removes one of them conflicts.
func (tx *Transaction) ReadFiles(adds ...*Add) {
	for _, a := range adds {
		tx.readFiles[fileID(a.Path)] = true
	}
}

// SetOperation names the operation and its parameters for commitInfo and
// history (WRITE, MERGE, OPTIMIZE, …).
func (tx *Transaction) SetOperation(name string, params map[string]any) {
	tx.op, tx.params = name, params
}

// SetMetrics records operationMetrics.
func (tx *Transaction) SetMetrics(m map[string]string) { tx.metrics = m }

// SetCommitInfo adds a field to commitInfo (for example "medallion" with the
// batch's provenance). v is marshalled to JSON.
func (tx *Transaction) SetCommitInfo(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("delta: commitInfo %s: %w", key, err)
	}
	if tx.extra == nil {
		tx.extra = map[string]json.RawMessage{}
	}
	tx.extra[key] = b
	return nil
}

// Commit writes the transaction as the next version. If another writer
// claimed that version first, Commit reads the winning commits, fails with
// ErrConcurrentModification if one conflicts (it changed metadata, removed a
// file this transaction read or removes, or added data where this
// transaction read), and otherwise retries on the next version with backoff
// and jitter.
func (tx *Transaction) Commit(ctx context.Context) (CommitResult, error) {
	t := tx.table
	o := t.opts
	if tx.base != nil {
		if err := tx.validate(); err != nil {
			return CommitResult{}, err
		}
		skipped, err := tx.checkApplied(tx.base)
		if err != nil {
			return CommitResult{}, err
		}
		if skipped {
			return CommitResult{Version: tx.base.version, Skipped: true, Snapshot: tx.base}, nil
		}
	}
	version := int64(0)
	if tx.base != nil {
		version = tx.base.version + 1
	}
	base := tx.base
	for attempt := 1; ; attempt++ {
		actions := tx.actions(base, o.Now())
		data, err := MarshalActions(actions)
		if err != nil {
			return CommitResult{}, err
		}
		err = t.store.CreateIfAbsent(ctx, commitKey(version), data)
		if err == nil {
			snap, err := tx.newSnapshot(base, actions, version)
			if err != nil {
				return CommitResult{}, err
			}
			t.remember(snap)
			t.postCommit(ctx, snap)
			return CommitResult{Version: version, Attempts: attempt, Snapshot: snap}, nil
		}
		if !errors.Is(err, storage.ErrExists) {
			return CommitResult{}, fmt.Errorf("delta: commit version %d: %w", version, err)
		}
		if base == nil {
			return CommitResult{}, fmt.Errorf("%w: %s", ErrTableExists, t.store.URL())
		}
		if attempt >= o.MaxCommitAttempts {
			return CommitResult{}, fmt.Errorf("%w: gave up after %d attempts (last tried version %d)", ErrConcurrentModification, attempt, version)
		}
		// Someone else won this version: read what they committed.
		l, err := listLogFrom(ctx, t.store, version)
		if err != nil {
			return CommitResult{}, err
		}
		latest := max(l.maxCommit, version)
		winners, err := readCommits(ctx, t.store, version, latest)
		if err != nil {
			return CommitResult{}, err
		}
		for i, acts := range winners {
			if err := tx.checkConflict(version+int64(i), acts); err != nil {
				return CommitResult{}, err
			}
		}
		base, err = base.next(winners, latest, l.timestampOf(latest))
		if err != nil {
			return CommitResult{}, err
		}
		skipped, err := tx.checkApplied(base)
		if err != nil {
			return CommitResult{}, err
		}
		if skipped {
			return CommitResult{Version: base.version, Skipped: true, Attempts: attempt, Snapshot: base}, nil
		}
		version = latest + 1
		if err := sleepBackoff(ctx, o.RetryBaseDelay, o.RetryMaxDelay, attempt); err != nil {
			return CommitResult{}, fmt.Errorf("delta: commit: %w", err)
		}
	}
}

func sleepBackoff(ctx context.Context, base, maxDelay time.Duration, attempt int) error {
	d := base << min(attempt-1, 20)
	if d > maxDelay || d <= 0 {
		d = maxDelay
	}
	d = time.Duration(rand.Int64N(int64(d)) + 1) // full jitter
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// validate checks the transaction against the table before writing.
func (tx *Transaction) validate() error {
	b := tx.base
	md := b.metadata
	schema := b.schema
	if tx.metadata != nil {
		md = tx.metadata
		s, err := md.Schema()
		if err != nil {
			return fmt.Errorf("delta: new metadata: %w", err)
		}
		schema = s
	}
	if err := checkWriteSupport(b.protocol, md, schema); err != nil &&
		!(tx.keepsVectors && tx.metadata == nil && onlyFeatures(err, deletionVectorsFeature)) {
		return err
	}
	if tx.metadata != nil && b.metadata != nil && b.metadata.ColumnMappingMode() != "none" {
		// New metadata over a column-mapped table: refused, never a
		// commit that drops the mapping.
		return &UnsupportedFeatureError{Features: []string{columnMappingFeature}, Op: "write"}
	}
	if boolProperty(md, PropAppendOnly, false) {
		for _, r := range tx.removes {
			if r.DataChange {
				return fmt.Errorf("delta: table is append-only (%s=true): cannot remove %s", PropAppendOnly, r.Path)
			}
		}
	}
	for _, a := range tx.adds {
		if a.Path == "" || strings.HasPrefix(a.Path, "/") {
			return fmt.Errorf("delta: add: invalid path %q", a.Path)
		}
		if len(a.PartitionValues) != len(md.PartitionColumns) {
			return fmt.Errorf("%w: add %s has partition values for %d columns, table is partitioned by %v", ErrSchemaMismatch, a.Path, len(a.PartitionValues), md.PartitionColumns)
		}
		for _, pc := range md.PartitionColumns {
			if _, ok := a.PartitionValues[pc]; !ok {
				return fmt.Errorf("%w: add %s lacks a value for partition column %q", ErrSchemaMismatch, a.Path, pc)
			}
		}
	}
	return nil
}

// actions renders the commit: commitInfo first, then protocol, metadata,
// txn, removes and adds.
func (tx *Transaction) actions(base *Snapshot, now time.Time) []Action {
	blind := tx.base != nil && len(tx.removes) == 0 && !tx.readWhole && len(tx.readPreds) == 0 && len(tx.readFiles) == 0 && tx.metadata == nil
	ci := &CommitInfo{
		Timestamp:           now.UnixMilli(),
		Operation:           tx.op,
		OperationParameters: tx.params,
		OperationMetrics:    tx.metrics,
		IsolationLevel:      "Serializable",
		IsBlindAppend:       &blind,
		EngineInfo:          tx.table.opts.EngineInfo,
		Extra:               tx.extra,
	}
	if base != nil {
		rv := base.version
		ci.ReadVersion = &rv
	}
	if ci.OperationMetrics == nil {
		ci.OperationMetrics = tx.defaultMetrics()
	}
	out := []Action{{CommitInfo: ci}}
	if tx.protocol != nil {
		out = append(out, Action{Protocol: tx.protocol})
	}
	if tx.metadata != nil {
		out = append(out, Action{MetaData: tx.metadata})
	}
	for i := range tx.txns {
		out = append(out, Action{Txn: &tx.txns[i]})
	}
	for _, r := range tx.removes {
		out = append(out, Action{Remove: r})
	}
	for _, a := range tx.adds {
		out = append(out, Action{Add: a})
	}
	return append(out, tx.cdcActions()...)
}

func (tx *Transaction) defaultMetrics() map[string]string {
	var bytesAdded, bytesRemoved int64
	var rows int64
	for _, a := range tx.adds {
		bytesAdded += a.Size
		if st, err := ParseStats(a.Stats); err == nil && st != nil && st.NumRecords > 0 {
			rows += st.NumRecords
		}
	}
	for _, r := range tx.removes {
		if r.Size != nil {
			bytesRemoved += *r.Size
		}
	}
	m := map[string]string{
		"numFiles":       strconv.Itoa(len(tx.adds)),
		"numOutputBytes": strconv.FormatInt(bytesAdded, 10),
		"numOutputRows":  strconv.FormatInt(rows, 10),
	}
	if len(tx.removes) > 0 {
		m["numRemovedFiles"] = strconv.Itoa(len(tx.removes))
		m["numRemovedBytes"] = strconv.FormatInt(bytesRemoved, 10)
	}
	return m
}

// checkConflict decides whether a winning commit at version v conflicts
// with this transaction. A winner that committed this transaction's txns is
// not a conflict: Commit then reports Skipped.
//
// The rules, in order:
//   - a winner that changed the protocol or the metadata conflicts;
//   - a winner that committed one of this transaction's txns (same appId) at
//     a lower version conflicts: both processed the same input from the
//     same starting point (two runs of one model), and committing would
//     apply that input twice;
//   - a winner that removed a file this transaction also removes conflicts
//     (whatever its dataChange);
//   - a winner that removed, with dataChange=true, a file this transaction
//     read conflicts; a removal with dataChange=false (OPTIMIZE) does not:
//     the rows live on in the winner's new files;
//   - a winner that added data (dataChange=true) where this transaction
//     read (the whole table, or partitions matching a read predicate)
//     conflicts; compaction's adds (dataChange=false) never do.
//
// So compaction conflicts only with a writer that rewrites the same files,
// and a MERGE or overwrite — which read the table — conflicts with any
// concurrent data change.
func (tx *Transaction) checkConflict(v int64, winner []Action) error {
	op := "unknown operation"
	for _, a := range winner {
		if a.CommitInfo != nil {
			op = a.CommitInfo.Operation
		}
	}
	conflict := func(format string, args ...any) error {
		return fmt.Errorf("%w: version %d (%s) %s", ErrConcurrentModification, v, op, fmt.Sprintf(format, args...))
	}
	for _, a := range winner {
		switch {
		case a.Protocol != nil:
			return conflict("changed the table's protocol")
		case a.MetaData != nil:
			return conflict("changed the table's metadata (schema or properties)")
		}
	}
	for _, a := range winner {
		switch {
		case a.Txn != nil:
			// A txn records how far its application has got (a model: the
			// input version it has processed). A winner that moved one of
			// this transaction's txns, but not as far, processed part of
			// what this transaction processed: committing would apply it
			// twice. A winner that went as far or further is handled by
			// checkApplied (skipped when it holds all of them).
			for _, t := range tx.txns {
				if t.AppID == a.Txn.AppID && a.Txn.Version < t.Version {
					return conflict("committed txn %s at version %d while this transaction, planned on an older state, commits it at %d: re-plan on the new state", t.AppID, a.Txn.Version, t.Version)
				}
			}
		case a.Remove != nil:
			id := fileID(a.Remove.Path)
			for _, r := range tx.removes {
				if fileID(r.Path) == id {
					return conflict("also removed file %s", a.Remove.Path)
				}
			}
			// A removal without a data change (compaction) keeps the rows
			// this transaction read in the winner's new files: no conflict
			// unless both remove the file (checked above).
			if a.Remove.DataChange && tx.readFiles[id] {
				return conflict("removed file %s that this transaction read", a.Remove.Path)
			}
		case a.Add != nil && a.Add.DataChange:
			if tx.readWhole {
				return conflict("added file %s to a table this transaction read whole", a.Add.Path)
			}
			for _, p := range tx.readPreds {
				ok, err := p.Match(tx.base.schema, a.Add.PartitionValues)
				if err != nil {
					return err
				}
				if ok {
					return conflict("added file %s in partitions this transaction read (%s)", a.Add.Path, p)
				}
			}
		}
	}
	return nil
}

func (tx *Transaction) newSnapshot(base *Snapshot, actions []Action, version int64) (*Snapshot, error) {
	now := tx.table.opts.Now()
	if base == nil {
		r := newReplay()
		r.apply(actions)
		return r.snapshot(tx.table.store, version, now)
	}
	return base.next([][]Action{actions}, version, now)
}

// postCommit writes a checkpoint when the version is due: in the background
// (bgcheckpoint.go), or inside the commit with Options.SyncCheckpoints.
// Failures are logged, not returned: the commit itself has succeeded.
func (t *Table) postCommit(ctx context.Context, snap *Snapshot) {
	interval := t.opts.CheckpointInterval
	if v, ok := snap.Property(PropCheckpointInterval); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			interval = n
		}
	}
	if snap.version == 0 || snap.version%int64(interval) != 0 {
		return
	}
	if !t.opts.SyncCheckpoints {
		t.scheduleCheckpoint(ctx, snap) // see bgcheckpoint.go
		return
	}
	// The commit has happened: a stop (ctx ending) does not cut its
	// checkpoint short.
	if err := t.Checkpoint(context.WithoutCancel(ctx), snap); err != nil {
		t.opts.Logger.Warn("delta: checkpoint failed after commit", "table", t.store.URL(), "version", snap.version, "err", err)
	}
}

// Checkpoint writes a single-file checkpoint of snap and _last_checkpoint,
// then deletes expired log files when the table allows it
// (delta.enableExpiredLogCleanup, delta.logRetentionDuration).
func (t *Table) Checkpoint(ctx context.Context, snap *Snapshot) error {
	return t.checkpoint(ctx, snap, nil)
}

// checkpoint is Checkpoint with a test hook called at each stage (see
// checkpointHook).
func (t *Table) checkpoint(ctx context.Context, snap *Snapshot, hook func(int64, string)) error {
	if hook != nil {
		hook(snap.version, "start")
	}
	retention, err := durationProperty(snap.metadata, PropDeletedFileRetention, defaultDeletedFileRetention)
	if err != nil {
		return err
	}
	now := t.opts.Now()
	cutoff := now.Add(-retention).UnixMilli()
	actions := make([]Action, 0, 2+len(snap.txns)+len(snap.files)+len(snap.tombstones))
	actions = append(actions, Action{Protocol: snap.protocol}, Action{MetaData: snap.metadata})
	for _, txn := range snap.txns {
		actions = append(actions, Action{Txn: &txn})
	}
	for _, a := range snap.Files() {
		c := *a
		c.DataChange = false
		actions = append(actions, Action{Add: &c})
	}
	for _, r := range snap.Tombstones() {
		if r.DeletionTimestamp != nil && *r.DeletionTimestamp < cutoff {
			continue // expired: vacuum may already have deleted it
		}
		c := *r
		c.DataChange = false
		actions = append(actions, Action{Remove: &c})
	}
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, actions); err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", snap.version, err)
	}
	size := int64(buf.Len())
	if err := t.store.Write(ctx, checkpointKey(snap.version), buf.Bytes()); err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", snap.version, err)
	}
	if hook != nil {
		hook(snap.version, "written")
	}
	nAdds := int64(len(snap.files))
	if err := writeLastCheckpoint(ctx, t.store, lastCheckpoint{
		Version: snap.version, Size: int64(len(actions)), SizeInBytes: &size, NumOfAddFiles: &nAdds,
	}); err != nil {
		return err
	}
	if boolProperty(snap.metadata, PropEnableExpiredLogCleanup, true) {
		return t.cleanupLogs(ctx, snap)
	}
	return nil
}

// cleanupLogs deletes log files older than delta.logRetentionDuration that no
// retained version needs: everything before the newest checkpoint whose own
// commit is already expired.
func (t *Table) cleanupLogs(ctx context.Context, snap *Snapshot) error {
	retention, err := durationProperty(snap.metadata, PropLogRetentionDuration, defaultLogRetention)
	if err != nil {
		return err
	}
	cutoff := t.opts.Now().Add(-retention)
	t.mu.Lock()
	oldest := t.oldestCheckpoint
	t.mu.Unlock()
	if !oldest.IsZero() && cutoff.Before(oldest) {
		return nil // no checkpoint is old enough yet (see Table.oldestCheckpoint)
	}
	l, err := listLog(ctx, t.store)
	if err != nil {
		return err
	}
	boundary := int64(-1)
	oldest = time.Time{}
	for cv := range l.checkpoints {
		ts := l.timestampOf(cv)
		if oldest.IsZero() || ts.Before(oldest) {
			oldest = ts
		}
		if cv > snap.version {
			continue
		}
		if !ts.After(cutoff) && cv > boundary {
			boundary = cv
		}
	}
	if boundary <= 0 {
		if boundary < 0 {
			t.mu.Lock()
			t.oldestCheckpoint = oldest
			t.mu.Unlock()
		}
		return nil
	}
	var victims []logFile
	for v, c := range l.commits {
		if v < boundary {
			victims = append(victims, c)
		}
	}
	for v, parts := range l.checkpoints {
		if v < boundary {
			victims = append(victims, parts...)
		}
	}
	for _, o := range l.others {
		if o.version < boundary {
			victims = append(victims, o)
		}
	}
	for _, f := range victims {
		if f.modTime.After(cutoff) {
			continue
		}
		if err := t.store.Delete(ctx, f.key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delta: clean up log: %w", err)
		}
	}
	return nil
}

func jsonList(s []string) string {
	if s == nil {
		s = []string{}
	}
	b, _ := json.Marshal(s)
	return string(b)
}
