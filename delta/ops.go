package delta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"

	"github.com/medallionhq/medallion/storage"
)

// WriteOptions are the optional parts of Append and Overwrite.
type WriteOptions struct {
	// Txn makes the write idempotent: if the table already holds a txn for
	// Txn.AppID at Txn.Version or later, nothing is written and the result
	// says Skipped.
	Txn *Txn
	// Txns are further txns committed atomically with the data (one per
	// ingested file, say); the commit is skipped only if all are applied.
	Txns []Txn
	// Operation overrides the commitInfo operation name (default WRITE).
	Operation string
	// Metrics are recorded as operationMetrics (defaults are computed).
	Metrics map[string]string
	// CommitInfo holds extra commitInfo fields, marshalled to JSON.
	CommitInfo map[string]any
	// Metadata, when set, replaces the table's metadata in the same commit
	// (schema evolution).
	Metadata *Metadata
	// Base, when set, is the snapshot the written data was computed from
	// (Append only): the commit starts there, so every commit made since is
	// checked for conflicts — a concurrent commit of the same txns at a
	// lower version fails the append instead of letting it apply the same
	// input twice. Nil starts from the table's cached snapshot.
	Base *Snapshot
	// ChangeData are change data files (already written) committed as cdc
	// actions with the data: see AddCDCFile.
	ChangeData []*AddCDCFile
	// Protocol, when set, upgrades the table's protocol in the same commit.
	Protocol *Protocol
}

func (tx *Transaction) applyWriteOptions(o *WriteOptions, mode string) error {
	params := map[string]any{"mode": mode, "partitionBy": jsonList(tx.base.metadata.PartitionColumns)}
	tx.SetOperation("WRITE", params)
	if o == nil {
		return nil
	}
	if o.Operation != "" {
		tx.op = o.Operation
	}
	if o.Txn != nil {
		tx.SetTxn(o.Txn.AppID, o.Txn.Version)
	}
	for _, t := range o.Txns {
		tx.SetTxn(t.AppID, t.Version)
	}
	if o.Metrics != nil {
		tx.SetMetrics(o.Metrics)
	}
	if o.Metadata != nil {
		tx.SetMetadata(o.Metadata)
	}
	tx.AddChangeData(o.ChangeData...)
	if o.Protocol != nil {
		tx.SetProtocol(o.Protocol)
	}
	for k, v := range o.CommitInfo {
		if err := tx.SetCommitInfo(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Append commits data files that were already written to the table's
// storage, as a blind append: it conflicts with nothing but a concurrent
// metadata change. It starts from the table's cached snapshot without
// listing the log: if other writers have committed since, claiming the next
// version fails and the commit reads their commits (txns included) before
// retrying, so a stale start costs a retry, never correctness.
func (t *Table) Append(ctx context.Context, adds []*Add, opts *WriteOptions) (CommitResult, error) {
	t.mu.Lock()
	snap := t.cache
	t.mu.Unlock()
	if opts != nil && opts.Base != nil {
		snap = opts.Base
	}
	if snap == nil {
		var err error
		if snap, err = t.Snapshot(ctx); err != nil {
			return CommitResult{}, err
		}
	}
	tx := t.Begin(snap)
	if err := tx.applyWriteOptions(opts, "Append"); err != nil {
		return CommitResult{}, err
	}
	tx.AddFiles(adds...)
	return tx.Commit(ctx)
}

// Overwrite replaces the table's data with adds: all of it when where is
// empty, otherwise only the files in partitions matching where (Spark's
// replaceWhere). Every added file must match where. A concurrent commit that
// adds or removes data in the replaced partitions conflicts.
func (t *Table) Overwrite(ctx context.Context, adds []*Add, where Predicate, opts *WriteOptions) (CommitResult, error) {
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return CommitResult{}, err
	}
	if err := where.Validate(snap.schema, snap.PartitionColumns()); err != nil {
		return CommitResult{}, err
	}
	tx := t.Begin(snap)
	if err := tx.applyWriteOptions(opts, "Overwrite"); err != nil {
		return CommitResult{}, err
	}
	if len(where) > 0 {
		tx.params["predicate"] = jsonList([]string{where.String()})
		for _, a := range adds {
			ok, err := where.Match(snap.schema, a.PartitionValues)
			if err != nil {
				return CommitResult{}, err
			}
			if !ok {
				return CommitResult{}, fmt.Errorf("delta: overwrite: file %s (partition %s) does not match the predicate %s", a.Path, fmtPartition(a.PartitionValues), where)
			}
		}
		if err := tx.ReadWhere(where); err != nil {
			return CommitResult{}, err
		}
	} else {
		tx.ReadAll()
	}
	for _, a := range snap.Files() {
		ok, err := where.Match(snap.schema, a.PartitionValues)
		if err != nil {
			return CommitResult{}, err
		}
		if ok {
			tx.RemoveAdd(a, true)
		}
	}
	tx.AddFiles(adds...)
	return tx.Commit(ctx)
}

func fmtPartition(pv map[string]*string) string {
	keys := make([]string, 0, len(pv))
	for k := range pv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := "NULL"
		if pv[k] != nil {
			v = *pv[k]
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, "/")
}

// HistoryEntry is one commit as DESCRIBE HISTORY shows it.
type HistoryEntry struct {
	Version   int64
	Timestamp time.Time
	// CommitInfo is nil for commits written without one.
	CommitInfo *CommitInfo
}

// History returns the table's commits, newest first, at most limit of them
// (all when limit <= 0). Commits removed by log cleanup are not shown.
func (t *Table) History(ctx context.Context, limit int) ([]HistoryEntry, error) {
	l, err := listLog(ctx, t.store)
	if err != nil {
		return nil, err
	}
	times := l.commitTimes()
	if len(times) == 0 {
		return nil, fmt.Errorf("%w: no commits in %s/%s", ErrNotATable, t.store.URL(), logDir)
	}
	slices.Reverse(times)
	if limit > 0 && len(times) > limit {
		times = times[:limit]
	}
	out := make([]HistoryEntry, 0, len(times))
	for _, vt := range times {
		acts, err := readCommit(ctx, t.store, vt.version)
		if err != nil {
			return nil, err
		}
		e := HistoryEntry{Version: vt.version, Timestamp: vt.ts}
		for _, a := range acts {
			if a.CommitInfo != nil {
				e.CommitInfo = a.CommitInfo
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// VacuumOptions tune Vacuum.
type VacuumOptions struct {
	// Retention keeps unreferenced files younger than this. Nil means the
	// table's delta.deletedFileRetentionDuration (default 7 days); zero
	// (with Force) deletes every unreferenced file.
	Retention *time.Duration
	// DryRun lists what would be deleted without deleting.
	DryRun bool
	// Force allows a retention shorter than the table's property, which can
	// break readers of older versions and concurrent writers.
	Force bool
}

// VacuumResult lists the files vacuum deleted (or would delete).
type VacuumResult struct {
	Files  []string
	Bytes  int64
	DryRun bool
}

// Vacuum deletes data files that the latest version does not reference and
// that are older than the retention period. Files removed from the table
// within the retention period are kept so time travel to those versions
// still works. Change data files (_change_data/) older than the retention
// period are deleted too, as Spark's VACUUM does: the change feed of the
// versions they belong to is then gone, and so are the index files
// (IndexDir) of the data files deleted. The log and other hidden
// directories (_delta_log, names starting with _ or .) are never touched.
func (t *Table) Vacuum(ctx context.Context, opts *VacuumOptions) (VacuumResult, error) {
	if opts == nil {
		opts = &VacuumOptions{}
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return VacuumResult{}, err
	}
	// Vacuum writes no data: deletion vectors need no writer support here,
	// only that the vector files still in use are kept (below).
	if err := checkWriteSupport(snap.protocol, snap.metadata, snap.schema); err != nil && !onlyFeatures(err, deletionVectorsFeature) {
		return VacuumResult{}, err
	}
	tableRetention, err := durationProperty(snap.metadata, PropDeletedFileRetention, defaultDeletedFileRetention)
	if err != nil {
		return VacuumResult{}, err
	}
	retention := tableRetention
	if opts.Retention != nil {
		retention = *opts.Retention
	}
	if retention < 0 {
		return VacuumResult{}, fmt.Errorf("delta: vacuum: negative retention %s", retention)
	}
	if retention < tableRetention && !opts.Force {
		return VacuumResult{}, fmt.Errorf("delta: vacuum: retention %s is shorter than the table's %s (%s); readers of older versions and concurrent writers could lose files: use force to override", retention, PropDeletedFileRetention, tableRetention)
	}
	cutoff := t.opts.Now().Add(-retention)
	keep := make(map[string]bool, len(snap.files)+len(snap.tombstones))
	// Keep a file and the file of its deletion vector, if it has one.
	keepFile := func(path string, dv *DeletionVector) {
		keep[fileID(path)] = true
		if dv != nil && dv.StorageType == DVUUID {
			if k, err := DVFileKey(dv); err == nil {
				keep[k] = true
			}
		}
	}
	for _, a := range snap.files {
		keepFile(a.Path, a.DeletionVector)
	}
	for _, r := range snap.tombstones {
		if r.DeletionTimestamp == nil || time.UnixMilli(*r.DeletionTimestamp).After(cutoff) {
			keepFile(r.Path, r.DeletionVector)
		}
	}
	objs, err := t.store.List(ctx, "")
	if err != nil {
		return VacuumResult{}, fmt.Errorf("delta: vacuum: %w", err)
	}
	res := VacuumResult{DryRun: opts.DryRun}
	for _, o := range objs {
		if data, ok := indexedFile(o.Key); ok {
			// An index file goes with its data file.
			if keep[data] || o.ModTime.After(cutoff) {
				continue
			}
		} else if hiddenPath(o.Key) && !strings.HasPrefix(o.Key, ChangeDataDir+"/") && !strings.HasPrefix(o.Key, StagingDirPrefix) || keep[o.Key] || o.ModTime.After(cutoff) {
			continue
		}
		res.Files = append(res.Files, o.Key)
		res.Bytes += o.Size
	}
	if opts.DryRun {
		return res, nil
	}
	for _, k := range res.Files {
		if err := t.store.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return res, fmt.Errorf("delta: vacuum: %w", err)
		}
	}
	return res, nil
}

// IndexDir is the hidden folder of a table where an engine may keep an
// index file for a data file (engine/duckdb's key indexes), at
// IndexDir/<kind>/<the data file's key>. Readers ignore it; Vacuum deletes
// an index file with its data file (and one whose data file was never
// committed, once it is older than the retention).
const IndexDir = "_medallion_keys"

// indexedFile returns the key of the data file an index file (under
// IndexDir) belongs to.
func indexedFile(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, IndexDir+"/")
	if !ok {
		return "", false
	}
	_, data, ok := strings.Cut(rest, "/")
	if !ok || data == "" {
		return "", false
	}
	return strings.TrimSuffix(data, ".tmp"), true
}

// StagingDirPrefix begins the name of a folder in a table's root where an
// engine stages data files before it commits them (engine/duckdb,
// engine/spark). A write killed before its commit leaves such a folder;
// Vacuum removes its files once they are older than the retention.
const StagingDirPrefix = ".staging-"

// onlyFeatures reports whether err is an UnsupportedFeatureError naming
// only the given features.
func onlyFeatures(err error, features ...string) bool {
	var ufe *UnsupportedFeatureError
	if !errors.As(err, &ufe) {
		return false
	}
	for _, f := range ufe.Features {
		if !slices.Contains(features, f) {
			return false
		}
	}
	return true
}

// hiddenPath reports whether any element of key starts with "_" or "." and is
// not a partition directory (name=value).
func hiddenPath(key string) bool {
	els := strings.Split(key, "/")
	for i, el := range els {
		if strings.HasPrefix(el, "_") || strings.HasPrefix(el, ".") {
			if i < len(els)-1 && strings.Contains(el, "=") {
				continue
			}
			return true
		}
	}
	return false
}

// OptimizeOptions tune Optimize.
type OptimizeOptions struct {
	// TargetSize is the size compacted files aim for. Default 128 MiB.
	TargetSize int64
	// MinFiles is the fewest small files in a partition worth compacting.
	// Default 2.
	MinFiles int
	// Where limits compaction to matching partitions.
	Where Predicate
}

// OptimizeResult says what Optimize did.
type OptimizeResult struct {
	// Version is the commit's version; -1 when there was nothing to do.
	Version                  int64
	FilesRemoved, FilesAdded int
	BytesRemoved, BytesAdded int64
	PartitionsOptimized      int
}

// Optimize compacts small files: in each partition, files smaller than the
// target size are bin-packed into groups of about the target size and each
// group with at least MinFiles files is rewritten as one file. Rows are
// copied as they are (same Parquet schema only), except the rows a file's
// deletion vector deletes, which are left out; each old file's remove
// action carries its vector, and the new files carry none (vacuum later
// drops the vector files no file uses). The commit marks the change
// dataChange=false, so it conflicts only with a concurrent removal of the
// same files (a DELETE that adds a vector to one of them included).
func (t *Table) Optimize(ctx context.Context, opts *OptimizeOptions) (OptimizeResult, error) {
	o := OptimizeOptions{TargetSize: 128 << 20, MinFiles: 2}
	if opts != nil {
		if opts.TargetSize > 0 {
			o.TargetSize = opts.TargetSize
		}
		if opts.MinFiles > 1 {
			o.MinFiles = opts.MinFiles
		}
		o.Where = opts.Where
	}
	res := OptimizeResult{Version: -1}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return res, err
	}
	// Deletion vectors: the rows a file's vector deletes are not copied,
	// and the file's remove action carries its vector (compact).
	if err := checkWriteSupport(snap.protocol, snap.metadata, snap.schema); err != nil && !onlyFeatures(err, deletionVectorsFeature) {
		return res, err
	}
	if err := o.Where.Validate(snap.schema, snap.PartitionColumns()); err != nil {
		return res, err
	}
	groups := map[string][]*Add{}
	var order []string
	for _, a := range snap.Files() {
		if a.Size >= o.TargetSize {
			continue
		}
		ok, err := o.Where.Match(snap.schema, a.PartitionValues)
		if err != nil {
			return res, err
		}
		if !ok {
			continue
		}
		k := fmtPartition(a.PartitionValues)
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], a)
	}
	tx := t.Begin(snap)
	tx.keepsVectors = true
	tx.SetOperation("OPTIMIZE", map[string]any{"predicate": jsonList([]string{o.Where.String()}), "zOrderBy": "[]"})
	for _, k := range order {
		files := groups[k]
		if len(files) < o.MinFiles {
			continue
		}
		bins := binPack(files, o.TargetSize)
		optimized := false
		for _, bin := range bins {
			if len(bin) < o.MinFiles {
				continue
			}
			added, err := t.compact(ctx, snap, bin, o.MinFiles)
			if err != nil {
				return res, err
			}
			for _, a := range added.removed {
				tx.RemoveAdd(a, false)
				res.FilesRemoved++
				res.BytesRemoved += a.Size
			}
			for _, a := range added.added {
				tx.AddFiles(a)
				res.FilesAdded++
				res.BytesAdded += a.Size
				optimized = true
			}
		}
		if optimized {
			res.PartitionsOptimized++
		}
	}
	if res.FilesAdded == 0 {
		return res, nil
	}
	tx.SetMetrics(map[string]string{
		"numRemovedFiles": strconv.Itoa(res.FilesRemoved), "numAddedFiles": strconv.Itoa(res.FilesAdded),
		"numRemovedBytes": strconv.FormatInt(res.BytesRemoved, 10), "numAddedBytes": strconv.FormatInt(res.BytesAdded, 10),
	})
	cr, err := tx.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Version = cr.Version
	return res, nil
}

// binPack groups files (smallest first) into bins of about target bytes.
func binPack(files []*Add, target int64) [][]*Add {
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b *Add) int { return cmpOrdered(a.Size, b.Size) })
	var bins [][]*Add
	var cur []*Add
	var size int64
	for _, f := range sorted {
		if len(cur) > 0 && size+f.Size > target {
			bins = append(bins, cur)
			cur, size = nil, 0
		}
		cur = append(cur, f)
		size += f.Size
	}
	if len(cur) > 0 {
		bins = append(bins, cur)
	}
	return bins
}

type compaction struct {
	removed, added []*Add
}

// compact rewrites a bin of files into one file per distinct Parquet schema
// (files written under different schemas are not merged together).
func (t *Table) compact(ctx context.Context, snap *Snapshot, bin []*Add, minFiles int) (compaction, error) {
	type opened struct {
		add  *Add
		file *parquet.File
	}
	bySchema := map[string][]opened{}
	var order []string
	for _, a := range bin {
		key, err := FileKey(a.Path)
		if err != nil {
			return compaction{}, err
		}
		b, err := t.store.ReadAll(ctx, key)
		if err != nil {
			return compaction{}, fmt.Errorf("delta: optimize: %w", err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return compaction{}, fmt.Errorf("delta: optimize: open %s: %w", key, err)
		}
		sk := f.Schema().String()
		if _, seen := bySchema[sk]; !seen {
			order = append(order, sk)
		}
		bySchema[sk] = append(bySchema[sk], opened{a, f})
	}
	var out compaction
	for _, sk := range order {
		group := bySchema[sk]
		if len(group) < minFiles {
			continue
		}
		var buf bytes.Buffer
		w := parquet.NewWriter(&buf, writerSchema(group[0].file.Schema()), parquet.Compression(&parquet.Snappy))
		for _, g := range group {
			if err := t.copyLiveRows(ctx, w, g.add, g.file); err != nil {
				return compaction{}, err
			}
		}
		if err := w.Close(); err != nil {
			return compaction{}, fmt.Errorf("delta: optimize: write: %w", err)
		}
		first, err := FileKey(group[0].add.Path)
		if err != nil {
			return compaction{}, err
		}
		dir := path.Dir(first)
		name := "part-00000-" + uuid.NewString() + "-c000.snappy.parquet"
		key := name
		if dir != "." {
			key = dir + "/" + name
		}
		data := buf.Bytes()
		stats, err := StatsFromParquet(bytes.NewReader(data), int64(len(data)), snap.schema)
		if err != nil {
			return compaction{}, fmt.Errorf("delta: optimize: stats: %w", err)
		}
		if err := t.store.Write(ctx, key, data); err != nil {
			return compaction{}, fmt.Errorf("delta: optimize: %w", err)
		}
		add := &Add{
			Path: EncodePath(key), PartitionValues: group[0].add.PartitionValues, Size: int64(len(data)),
			ModificationTime: t.opts.Now().UnixMilli(), DataChange: false, Stats: stats.JSON(),
		}
		out.added = append(out.added, add)
		for _, g := range group {
			out.removed = append(out.removed, g.add)
		}
	}
	return out, nil
}

// copyLiveRows copies the rows of file a (opened as f) to w, leaving out
// the rows a's deletion vector deletes (the vector counts rows from 0
// across the file's row groups).
func (t *Table) copyLiveRows(ctx context.Context, w *parquet.Writer, a *Add, f *parquet.File) error {
	var deleted *roaring64.Bitmap
	if a.DeletionVector != nil {
		bm, err := ReadDeletionVector(ctx, t.store, a.DeletionVector)
		if err != nil {
			return fmt.Errorf("delta: optimize: %s: %w", a.Path, err)
		}
		deleted = bm
	}
	var index uint64
	buf := make([]parquet.Row, 256)
	live := make([]parquet.Row, 0, len(buf))
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		if deleted == nil {
			_, err := parquet.CopyRows(w, rows)
			rows.Close()
			if err != nil {
				return fmt.Errorf("delta: optimize: copy rows of %s: %w", a.Path, err)
			}
			continue
		}
		for {
			n, err := rows.ReadRows(buf)
			live = live[:0]
			for _, r := range buf[:n] {
				if !deleted.Contains(index) {
					live = append(live, r)
				}
				index++
			}
			if len(live) > 0 {
				if _, werr := w.WriteRows(live); werr != nil {
					rows.Close()
					return fmt.Errorf("delta: optimize: copy rows of %s: %w", a.Path, werr)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("delta: optimize: read rows of %s: %w", a.Path, err)
			}
		}
		rows.Close()
	}
	if deleted != nil && index != uint64(f.NumRows()) {
		return fmt.Errorf("delta: optimize: %s: read %d rows of %d", a.Path, index, f.NumRows())
	}
	return nil
}

// EncodePath percent-encodes a storage key for an add action's path, one
// path element at a time.
func EncodePath(key string) string {
	els := strings.Split(key, "/")
	for i, el := range els {
		els[i] = pathEscape(el)
	}
	return strings.Join(els, "/")
}

// pathEscape escapes what a URI path segment cannot hold, keeping "=" and
// the other characters Spark leaves alone in partition directories.
func pathEscape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~=!$&'()*+,;:@", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

// PartitionPath is the directory Spark and delta-rs use for a file with
// these partition values: col=value/… in partition column order, values
// escaped as Hive does and NULL as __HIVE_DEFAULT_PARTITION__.
func PartitionPath(columns []string, values map[string]*string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		v := values[c]
		s := "__HIVE_DEFAULT_PARTITION__"
		if v != nil && *v != "" {
			s = hiveEscape(*v)
		}
		parts[i] = hiveEscape(c) + "=" + s
	}
	return strings.Join(parts, "/")
}

func hiveEscape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || strings.IndexByte("\"#%'*/:=?\\\x7f{[]^", c) >= 0 {
			fmt.Fprintf(&sb, "%%%02X", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// MissingFiles returns the files of snap that are not in the table's
// storage: files deleted outside a commit (by hand, or by a vacuum that ran
// with too short a retention while a writer was committing). One listing
// of the table's storage, whatever the number of files.
func (t *Table) MissingFiles(ctx context.Context, snap *Snapshot) ([]*Add, error) {
	objs, err := t.store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("delta: check files: %w", err)
	}
	present := make(map[string]bool, len(objs))
	for _, o := range objs {
		present[o.Key] = true
	}
	var missing []*Add
	for _, a := range snap.files {
		if !present[fileID(a.Path)] {
			missing = append(missing, a)
		}
	}
	slices.SortFunc(missing, func(a, b *Add) int { return strings.Compare(a.Path, b.Path) })
	return missing, nil
}

// RepairResult says what Repair did.
type RepairResult struct {
	// Version is the commit's version; -1 when nothing was missing (or for
	// a dry run).
	Version int64
	// Removed are the missing files the commit removed from the table.
	Removed []*Add
	// Rows is the number of rows those files held, per their statistics
	// (-1 when some file had none).
	Rows   int64
	DryRun bool
}

// Repair removes from the table the files that its latest version
// references but that are missing from storage (like Databricks' FSCK
// REPAIR TABLE): the table is readable again, without the rows of those
// files. The commit (operation FSCK) records each removed path, so what was
// lost stays visible in the history. Its removals carry dataChange=false,
// so Changes does not list them (their rows cannot be read): whatever was
// computed from the table must be recomputed in full.
func (t *Table) Repair(ctx context.Context, dryRun bool) (RepairResult, error) {
	res := RepairResult{Version: -1, DryRun: dryRun}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return res, err
	}
	missing, err := t.MissingFiles(ctx, snap)
	if err != nil {
		return res, err
	}
	res.Removed = missing
	for _, a := range missing {
		st, err := ParseStats(a.Stats)
		if err != nil || st == nil || res.Rows < 0 {
			res.Rows = -1
			continue
		}
		res.Rows += st.NumRecords
	}
	if dryRun || len(missing) == 0 {
		return res, nil
	}
	tx := t.Begin(snap)
	paths := make([]string, len(missing))
	for i, a := range missing {
		// dataChange=false: readers of changes (incremental models) cannot
		// read the removed rows to learn what they changed, so the removal
		// is not offered to them as a change; the caller recomputes what
		// depends on the table.
		tx.RemoveAdd(a, false)
		paths[i] = a.Path
	}
	tx.SetOperation("FSCK", map[string]any{"missingFiles": jsonList(paths)})
	cr, err := tx.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Version = cr.Version
	return res, nil
}
