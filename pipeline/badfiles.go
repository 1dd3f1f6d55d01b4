package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// BadFilesTable is the system table of landing files set aside because
// they cannot be ingested (empty, binary, a duplicate header column,
// invalid UTF-8, an unclosed quote, a column the models read missing).
// One row per source and file: a file that changes is tried again, and its
// row is marked resolved (resolved_at) once it is ingested.
const BadFilesTable = "medallion.bad_files"

// badFilesSchema is medallion.bad_files' schema (what recordBadFiles writes).
func badFilesSchema() *delta.StructType {
	field := func(name, typ string) delta.StructField {
		return delta.StructField{Name: name, Type: delta.Primitive(typ), Nullable: true}
	}
	return &delta.StructType{Fields: []delta.StructField{
		field("source", delta.TypeString), field("path", delta.TypeString), field("size", delta.TypeLong),
		field("modified_at", delta.TypeTimestamp), field("reason", delta.TypeString), field("line", delta.TypeLong),
		field("first_seen", delta.TypeTimestamp), field("last_seen", delta.TypeTimestamp),
		field("resolved_at", delta.TypeTimestamp), field("run_id", delta.TypeString),
	}}
}

// badFile is a landing file set aside: the version (size, modification
// time) that was found bad, and why.
type badFile struct {
	key       string
	size      int64
	mtime     int64 // milliseconds
	reason    string
	line      int64
	firstSeen time.Time
}

// sameVersion reports whether f is the version of the file that was found bad.
func (b badFile) sameVersion(f landedFile) bool { return b.size == f.size && b.mtime == f.version }

// badFiles reads the source's files that are set aside (not resolved).
func (r *run) badFiles(ctx context.Context, s *Source) (map[string]badFile, error) {
	out := map[string]badFile{}
	_, ok, err := r.bind(ctx, BadFilesTable)
	if err != nil || !ok {
		return out, err
	}
	res, err := r.eng.Query(ctx, "SELECT path, size, "+r.eng.EpochMillis("modified_at")+", reason, coalesce(line, 0), "+r.eng.EpochMillis("first_seen")+" FROM "+BadFilesTable+
		" WHERE source = "+sqlString(s.Name)+" AND resolved_at IS NULL")
	if err != nil {
		return nil, fmt.Errorf("pipeline: read %s: %w", BadFilesTable, err)
	}
	for _, row := range res.Rows {
		b := badFile{key: fmt.Sprint(row[0]), size: engine.Int64(row[1]), mtime: engine.Int64(row[2]), reason: fmt.Sprint(row[3]), line: engine.Int64(row[4]), firstSeen: time.UnixMilli(engine.Int64(row[5]))}
		out[b.key] = b
	}
	return out, nil
}

// recordBadFiles upserts the source's newly set-aside files into
// medallion.bad_files (first_seen kept for a file already set aside) and
// marks resolved the files that were set aside and are now ingested.
func (r *run) recordBadFiles(ctx context.Context, s *Source, prev map[string]badFile, bad []badFile, resolved []string) error {
	if len(bad) == 0 && len(resolved) == 0 {
		return nil
	}
	// Sources run at once; their merges into the one table take turns.
	defer r.lockBadFiles()()
	now := r.started.UTC()
	ts := func(t time.Time) string { return tsLit(r.eng, t) }
	nullLine := nullOf(r.eng, delta.Primitive(delta.TypeLong))
	var rows []string
	for _, b := range bad {
		first := now
		if p, ok := prev[b.key]; ok {
			first = p.firstSeen
		}
		line := nullLine
		if b.line > 0 {
			line = fmt.Sprintf("CAST(%d AS BIGINT)", b.line)
		}
		rows = append(rows, fmt.Sprintf("(%s, %s, CAST(%d AS BIGINT), %s, %s, %s, %s, %s, %s, %s)",
			sqlString(s.Name), sqlString(b.key), b.size, ts(time.UnixMilli(b.mtime)), sqlString(b.reason), line, ts(first), ts(now), ts(time.Time{}), sqlString(r.batchID)))
	}
	for _, key := range resolved {
		p := prev[key]
		line := nullLine
		if p.line > 0 {
			line = fmt.Sprintf("CAST(%d AS BIGINT)", p.line)
		}
		rows = append(rows, fmt.Sprintf("(%s, %s, CAST(%d AS BIGINT), %s, %s, %s, %s, %s, %s, %s)",
			sqlString(s.Name), sqlString(key), p.size, ts(time.UnixMilli(p.mtime)), sqlString(p.reason), line, ts(p.firstSeen), ts(now), ts(now), sqlString(r.batchID)))
	}
	q := "SELECT * FROM (VALUES " + strings.Join(rows, ", ") + ") AS v(source, path, size, modified_at, reason, line, first_seen, last_seen, resolved_at, run_id)"
	tbl, err := r.lake.Table(ctx, BadFilesTable)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, BadFilesTable)
	if err != nil {
		return err
	}
	defer r.scope(ctx)()
	batch, err := r.table(ctx, q)
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", BadFilesTable, err)
	}
	schema, err := r.relationSchema(ctx, batch)
	if err != nil {
		return err
	}
	w := writeSpec{table: BadFilesTable, tbl: tbl, snap: snap, relation: batch, schema: schema, keys: []string{"source", "path"},
		info: map[string]any{"batch_id": r.batchID, "source": s.Name}}
	if _, err := r.merge(ctx, w, &TableReport{}); err != nil {
		return fmt.Errorf("pipeline: %s: %w", BadFilesTable, err)
	}
	return nil
}
