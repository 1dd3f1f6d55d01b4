package spark

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Writing on Spark (decided for issue 12): Spark writes the result as
// Parquet files into a staging folder inside the table's folder
// (.staging-<uuid>/, partitioned the Hive way by Spark's PARTITIONED BY);
// medallion then reads each file's footer for the add action's stats,
// moves the file to its partition folder and returns the adds. Nothing is
// committed here: the pipeline commits the adds with its own Delta log
// code, so exactly-once markers, conflict rules, checkpoints and stats
// hold as on DuckDB. Files of a write whose commit never happens (a
// killed run) are not in the log: vacuum removes them as orphans.
//
// Spark writes through a transient catalog table (CREATE TABLE … USING
// parquet LOCATION … AS SELECT), since Spark Connect's Go writer has no
// partitionBy; the table is dropped at once (an external table: its files
// stay). The lake must be on local disk, or a path Spark and medallion
// both reach as the same folder, or an object store both reach (stage.go).

// hivePartitionNull is the folder value Spark writes for a NULL
// partition value.
const hivePartitionNull = "__HIVE_DEFAULT_PARTITION__"

// Write runs a query and writes its rows as Parquet files into dst,
// returning the add actions with stats. Nothing is committed.
func (e *Engine) Write(ctx context.Context, text string, dst engine.Target) (*engine.WriteResult, error) {
	stageKey := delta.StagingDirPrefix + uuid.NewString()
	stage, local := dst.Store.LocalPath(stageKey)
	if !local {
		// An object-store table: Spark writes at its URL (stage.go).
		var err error
		if stage, err = sparkURL(dst.Store, stageKey); err != nil {
			return nil, fmt.Errorf("spark: write: table %s: %w", redact(dst.Store.URL(), e.secrets...), err)
		}
	}
	run, err := e.translate(ctx, text, nil)
	if err != nil {
		return nil, fmt.Errorf("spark: write: %w", err)
	}
	e.nextRel++
	tmp := "__write_" + e.prefix + strconv.Itoa(e.nextRel)
	if _, err := e.sess.Sql(ctx, "CREATE OR REPLACE TEMPORARY VIEW "+backtick(tmp)+" AS "+run); err != nil {
		return nil, e.wrap("write", err)
	}
	defer e.sess.Sql(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+backtick(tmp))
	have, err := e.sparkColumns(ctx, "SELECT * FROM "+backtick(tmp))
	if err != nil {
		return nil, fmt.Errorf("spark: write: %w", err)
	}
	type col struct{ name, expr string }
	var cols []col
	schema := dst.Schema
	if schema == nil {
		schema = &delta.StructType{}
		for _, c := range have {
			t, err := e.SQLType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("spark: write: column %q: %w", c.Name, err)
			}
			cols = append(cols, col{c.Name, "CAST(" + backtick(c.Name) + " AS " + t + ")"})
			schema.Fields = append(schema.Fields, delta.StructField{Name: c.Name, Type: c.Type, Nullable: true})
		}
	} else {
		byName := map[string]string{}
		for _, c := range have {
			byName[strings.ToLower(c.Name)] = c.Name
		}
		for _, f := range schema.Fields {
			t, err := e.SQLType(f.Type)
			if err != nil {
				return nil, fmt.Errorf("spark: write: column %q: %w", f.Name, err)
			}
			expr := "CAST(NULL AS " + t + ")"
			if src, ok := byName[strings.ToLower(f.Name)]; ok {
				expr = "CAST(" + backtick(src) + " AS " + t + ")"
				delete(byName, strings.ToLower(f.Name))
			}
			cols = append(cols, col{f.Name, expr})
		}
		if len(byName) > 0 {
			extra := make([]string, 0, len(byName))
			for _, n := range byName {
				extra = append(extra, n)
			}
			slices.Sort(extra)
			return nil, fmt.Errorf("%w: result columns %v are not in the table schema", delta.ErrSchemaMismatch, extra)
		}
	}
	partNames := make([]string, len(dst.PartitionColumns))
	for i, p := range dst.PartitionColumns {
		f, ok := schema.Field(p)
		if !ok {
			return nil, fmt.Errorf("spark: write: partition column %q is not in the result", p)
		}
		if !f.Type.IsPrimitive() {
			return nil, fmt.Errorf("spark: write: partition column %q has type %s", p, f.Type)
		}
		partNames[i] = f.Name
	}
	isPart := func(n string) bool {
		return slices.ContainsFunc(partNames, func(p string) bool { return strings.EqualFold(p, n) })
	}
	var sel, parts []string
	for _, c := range cols {
		if !isPart(c.name) {
			sel = append(sel, c.expr+" AS "+backtick(c.name))
		}
	}
	for _, p := range partNames {
		for _, c := range cols {
			if strings.EqualFold(c.name, p) {
				sel = append(sel, c.expr+" AS "+backtick(p))
			}
		}
		parts = append(parts, backtick(p))
	}
	// One file per partition: the rows of a partition go to one task.
	hint := "/*+ REPARTITION(1) */ "
	clause := ""
	if len(parts) > 0 {
		hint = "/*+ REPARTITION(" + strings.Join(parts, ", ") + ") */ "
		clause = " PARTITIONED BY (" + strings.Join(parts, ", ") + ")"
	}
	catalogTable := "spark_catalog.default." + backtick("__medallion_write_"+strings.ReplaceAll(uuid.NewString(), "-", ""))
	if dst.Compression != "" {
		// Spark's own codec names include these (Target.Compression).
		clause = " OPTIONS (compression " + strLit(dst.Compression) + ")" + clause
	}
	stmt := "CREATE TABLE " + catalogTable + " USING parquet" + clause + " LOCATION " + strLit(stage) +
		" AS SELECT " + hint + strings.Join(sel, ", ") + " FROM " + backtick(tmp)
	var before *logState
	tableDir := ""
	if local {
		// Spark overwrites the LOCATION: it must be a fresh folder inside
		// the table's, and the table's log must come out whole (guard.go).
		tableDir, _ = dst.Store.LocalPath("")
		if err := checkStage(tableDir, stage); err != nil {
			return nil, err
		}
		if before, err = readLogState(tableDir); err != nil {
			return nil, fmt.Errorf("spark: write: %w", err)
		}
		defer os.RemoveAll(stage)
	} else {
		defer removeStaged(ctx, dst.Store, stageKey)
	}
	_, err = e.sess.Sql(ctx, stmt)
	_, dropErr := e.sess.Sql(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+catalogTable)
	if before != nil {
		after, lerr := readLogState(tableDir)
		if lerr != nil {
			return nil, fmt.Errorf("spark: write: %w", lerr)
		}
		if gone := before.lost(after); len(gone) > 0 {
			return nil, fmt.Errorf("spark: write: table %s: Delta log files disappeared while Spark wrote the staging folder %s: %s", tableDir, stage, strings.Join(gone, ", "))
		}
	}
	if err != nil {
		if !local {
			return nil, e.lakeError("write", strings.TrimSuffix(stage, "/"+stageKey), err)
		}
		return nil, e.wrap("write", err)
	}
	if dropErr != nil {
		return nil, e.wrap("write: drop the staging table", dropErr)
	}
	var adds []*delta.Add
	if local {
		adds, err = collectStaged(ctx, stage, partNames, schema, dst)
	} else {
		adds, err = collectStagedObjects(ctx, stageKey, partNames, schema, dst)
	}
	if err != nil {
		return nil, err
	}
	out := &engine.WriteResult{Schema: schema, Adds: adds}
	for _, a := range adds {
		if st, err := delta.ParseStats(a.Stats); err == nil && st != nil {
			out.Rows += st.NumRecords
		}
	}
	return out, nil
}

// collectStaged turns the Parquet files Spark wrote under stage into add
// actions: partition values from the folder names, stats from the
// footers; each file moves to its partition folder in the table. Files
// without rows are dropped.
func collectStaged(ctx context.Context, stage string, partNames []string, schema *delta.StructType, dst engine.Target) ([]*delta.Add, error) {
	var adds []*delta.Add
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != stage && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir // Spark's _temporary, if any
			}
			return nil
		}
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".parquet") {
			return nil // _SUCCESS, .crc checksums
		}
		rel, err := filepath.Rel(stage, filepath.Dir(p))
		if err != nil {
			return err
		}
		values := map[string]*string{}
		if len(partNames) > 0 {
			segs := strings.Split(filepath.ToSlash(rel), "/")
			if len(segs) != len(partNames) {
				return fmt.Errorf("spark: write: file %s is not in a partition folder of %v", p, partNames)
			}
			for i, seg := range segs {
				k, v, ok := strings.Cut(seg, "=")
				if !ok || !strings.EqualFold(unescapeHive(k), partNames[i]) {
					return fmt.Errorf("spark: write: folder %q is not the partition %s", seg, partNames[i])
				}
				if v == hivePartitionNull {
					values[partNames[i]] = nil
					continue
				}
				s := unescapeHive(v)
				values[partNames[i]] = &s
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		st, err := delta.StatsFromParquet(fh, fi.Size(), schema)
		fh.Close()
		if err != nil {
			return fmt.Errorf("spark: write: stats of %s: %w", p, err)
		}
		if st.NumRecords == 0 {
			return nil
		}
		dir := ""
		if len(partNames) > 0 {
			dir = delta.PartitionPath(partNames, values)
		}
		key := path.Join(dir, name)
		final, _ := dst.Store.LocalPath(key)
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, final); err != nil {
			return err
		}
		adds = append(adds, &delta.Add{
			Path: delta.EncodePath(key), PartitionValues: values, Size: fi.Size(),
			ModificationTime: fi.ModTime().UnixMilli(), DataChange: true, Stats: st.JSON(),
		})
		return nil
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "spark:") {
			return nil, fmt.Errorf("spark: write: %w", err)
		}
		return nil, err
	}
	return adds, nil
}

// unescapeHive undoes Hive's escaping of partition folder names (%XX).
func unescapeHive(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MatchFiles returns the files among files of snap holding a row whose
// keys equal those of a row of rel: Spark reads the snapshot's files (by
// their paths: inFilesSQL) joined with rel on the keys.
func (e *Engine) MatchFiles(ctx context.Context, snap *delta.Snapshot, files []*delta.Add, keys []string, r engine.Relation, nullSafe bool) ([]*delta.Add, error) {
	if len(files) == 0 || len(keys) == 0 {
		return nil, nil
	}
	src, err := e.source(ctx, r.Name)
	if err != nil {
		return nil, fmt.Errorf("spark: match files: %w", err)
	}
	byPath := newFilesByPath(files)
	loc, err := location(snap)
	if err != nil {
		return nil, fmt.Errorf("spark: match files: %w", err)
	}
	op := " = "
	if nullSafe {
		op = " <=> "
	}
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = "f." + backtick(k) + op + "r." + backtick(k)
	}
	q := "SELECT DISTINCT f.__file_path FROM (SELECT *, " + filePathSQL + " AS __file_path FROM delta." + backtick(loc) +
		" VERSION AS OF " + strconv.FormatInt(snap.Version(), 10) + " WHERE " + inFilesSQL(files) + ") AS f LEFT SEMI JOIN " +
		backtick(src) + " AS r ON " + strings.Join(conds, " AND ")
	rows, err := e.rawRows(ctx, q)
	if err != nil {
		return nil, e.wrap("match files", err)
	}
	var out []*delta.Add
	for _, row := range rows {
		if a := byPath.lookup(fmt.Sprint(row[0])); a != nil && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	// In the order of files, as the caller listed them.
	slices.SortFunc(out, func(a, b *delta.Add) int {
		return slices.Index(files, a) - slices.Index(files, b)
	})
	return out, nil
}
