package spark

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// A table on an object store (S3, ADLS, GCS): Spark writes the staged
// Parquet files at the store's URL in its own scheme (s3a://, abfss://,
// gs://) with the server's credentials, and medallion reads their footers
// and moves them into place through its storage driver (object stores
// have no rename: a copy and a delete). Both must reach the same bucket.

// collectStagedObjects is collectStaged for a table whose folder is not
// on local disk: the Parquet files under stageKey of dst.Store become add
// actions (partition values from the folder names, stats from the
// footers), each file copied to its partition folder and deleted from the
// staging folder. Files without rows are dropped.
func collectStagedObjects(ctx context.Context, stageKey string, partNames []string, schema *delta.StructType, dst engine.Target) ([]*delta.Add, error) {
	objs, err := dst.Store.List(ctx, stageKey+"/")
	if err != nil {
		return nil, fmt.Errorf("spark: write: %w", err)
	}
	var adds []*delta.Add
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, stageKey+"/")
		dir, name := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		if hiddenPath(rel) || !strings.HasSuffix(name, ".parquet") {
			continue // _SUCCESS, .crc checksums, Spark's _temporary
		}
		values, err := partitionValues(dir, partNames)
		if err != nil {
			return nil, fmt.Errorf("spark: write: file %s: %w", o.Key, err)
		}
		data, err := dst.Store.ReadAll(ctx, o.Key)
		if err != nil {
			return nil, fmt.Errorf("spark: write: %w", err)
		}
		st, err := delta.StatsFromParquet(bytes.NewReader(data), int64(len(data)), schema)
		if err != nil {
			return nil, fmt.Errorf("spark: write: stats of %s: %w", o.Key, err)
		}
		if st.NumRecords == 0 {
			continue
		}
		key := name
		if len(partNames) > 0 {
			key = path.Join(delta.PartitionPath(partNames, values), name)
		}
		if err := dst.Store.Write(ctx, key, data); err != nil {
			return nil, fmt.Errorf("spark: write: %w", err)
		}
		info, err := dst.Store.Stat(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("spark: write: %w", err)
		}
		adds = append(adds, &delta.Add{
			Path: delta.EncodePath(key), PartitionValues: values, Size: int64(len(data)),
			ModificationTime: info.ModTime.UnixMilli(), DataChange: true, Stats: st.JSON(),
		})
	}
	return adds, nil
}

// hiddenPath reports whether a path below the staging folder has an
// element Spark and Hadoop treat as hidden (_temporary, _SUCCESS, .crc).
func hiddenPath(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, "_") || strings.HasPrefix(el, ".") {
			return true
		}
	}
	return false
}

// partitionValues reads the Hive-style partition folders of dir
// ("p=1/q=__HIVE_DEFAULT_PARTITION__") in the order of partNames.
func partitionValues(dir string, partNames []string) (map[string]*string, error) {
	values := map[string]*string{}
	if len(partNames) == 0 {
		if dir != "" {
			return nil, fmt.Errorf("in folder %q of an unpartitioned write", dir)
		}
		return values, nil
	}
	segs := strings.Split(dir, "/")
	if dir == "" || len(segs) != len(partNames) {
		return nil, fmt.Errorf("not in a partition folder of %v", partNames)
	}
	for i, seg := range segs {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || !strings.EqualFold(unescapeHive(k), partNames[i]) {
			return nil, fmt.Errorf("folder %q is not the partition %s", seg, partNames[i])
		}
		if v == hivePartitionNull {
			values[partNames[i]] = nil
			continue
		}
		s := unescapeHive(v)
		values[partNames[i]] = &s
	}
	return values, nil
}

// removeStaged deletes what is left under stageKey of store (files moved
// already, Spark's markers and checksums, a failed write's files), with a
// context of its own: it runs when the write ends, cancelled or not.
func removeStaged(ctx context.Context, store *storage.Store, stageKey string) {
	ctx = context.WithoutCancel(ctx)
	objs, err := store.List(ctx, stageKey+"/")
	if err != nil {
		return // vacuum removes abandoned staging folders
	}
	for _, o := range objs {
		// A key this fails on (a directory marker, "dir/") stays for vacuum.
		_ = store.Delete(ctx, o.Key)
	}
}

// unreachable matches Spark's errors for a URL scheme the server has no
// file system for (no hadoop-aws, hadoop-azure or GCS connector jar, or
// no settings for it).
var unreachable = regexp.MustCompile(`No FileSystem for scheme|UnsupportedFileSystemException|ClassNotFoundException: [\w.]*(S3AFileSystem|AzureBlobFileSystem|GoogleHadoopFileSystem)|(S3AFileSystem|AzureBlobFileSystem|GoogleHadoopFileSystem) not found`)

// lakeError is the error of a Spark statement that reads or writes the
// table at loc (a URL in Spark's scheme): when the server cannot reach
// that scheme it says so, naming the table's URL and what the server
// needs; otherwise Spark's error. Both without secrets.
func (e *Engine) lakeError(op, loc string, err error) error {
	msg := redact(err.Error(), e.secrets...)
	if scheme, _, ok := strings.Cut(loc, "://"); ok && unreachable.MatchString(msg) {
		return fmt.Errorf("spark: %s: table %s: the Spark server cannot reach %s:// URLs (it needs the file system's jars and settings: hadoop-aws and fs.s3a.* for s3a, hadoop-azure and fs.azure.* for abfss and abfs, the GCS connector for gs; see the README): %s",
			op, redact(loc, e.secrets...), scheme, rootCause(msg))
	}
	return fmt.Errorf("spark: %s: table %s: %s", op, redact(loc, e.secrets...), msg)
}

// rootCause is the innermost error of a Spark Connect error ("… failed
// to execute sql: <statement>: execution error: [Internal] java.lang.…"),
// first line only (Spark's errors may carry a stack trace).
func rootCause(s string) string {
	const sep = "execution error: "
	if i := strings.LastIndex(s, sep); i >= 0 {
		s = s[i+len(sep):]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
