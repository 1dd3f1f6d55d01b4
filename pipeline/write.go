package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// writeSpec is one table write: rows in an engine relation, where they go
// and the txns committed with them.
type writeSpec struct {
	table       string
	tbl         *delta.Table
	snap        *delta.Snapshot // nil when the table does not exist yet
	relation    engine.Relation
	schema      *delta.StructType
	partitionBy []string
	keys        []string
	sequenceBy  []string
	txns        []delta.Txn
	info        map[string]any
	// indexKeys, for an overwrite, are the keys later runs merge the table
	// by (an upsert source's, an incremental model's): the engine may
	// index them beside the files (engine.Target.KeyIndex). A merge always
	// indexes its keys.
	indexKeys []string
	// Change data feed (cdf.go): the model header's table properties, the
	// columns that identify a row (update pre/postimages), the change data
	// files and protocol upgrade to commit, and whether the rewrite changed
	// no row at all.
	properties   map[string]string
	rowKeys      []string
	changeData   []*delta.AddCDCFile
	protocol     *delta.Protocol
	noDataChange bool
	// written, when set, is called once the rows are written and before
	// they are committed: whole says the files hold exactly the rows of
	// relation (an append; an overwrite, or a merge that rewrote no
	// file, that removed no duplicate), so what their stats say (rows,
	// null counts) is said of relation.
	written func(ctx context.Context, res *engine.WriteResult, whole bool) error
}

// afterWrite calls w.written, when set.
func (w writeSpec) afterWrite(ctx context.Context, res *engine.WriteResult, whole bool) error {
	if w.written == nil {
		return nil
	}
	return w.written(ctx, res, whole)
}

// nonNullCount is the number of non-NULL values of column col in the
// files adds, from their stats; ok is false when a file's stats do not
// give both its row count and the column's null count.
func nonNullCount(adds []*delta.Add, col string) (n int64, ok bool) {
	for _, a := range adds {
		st, err := delta.ParseStats(a.Stats)
		if err != nil || st == nil || st.NumRecords < 0 {
			return 0, false
		}
		nulls, found := st.NullCount[col]
		if !found {
			return 0, false
		}
		num, isNum := nulls.(json.Number)
		if !isNum {
			return 0, false
		}
		k, err := num.Int64()
		if err != nil {
			return 0, false
		}
		n += st.NumRecords - k
	}
	return n, true
}

// ensure creates the table when it does not exist and returns its snapshot
// and, when the schema gained columns, the new metadata to commit.
func (r *run) ensure(ctx context.Context, w *writeSpec) (*delta.Metadata, error) {
	if w.snap == nil {
		props := r.tableProperties(w)
		snap, err := w.tbl.Create(ctx, w.schema, &delta.CreateOptions{PartitionColumns: w.partitionBy, Configuration: props})
		if errors.Is(err, delta.ErrTableExists) {
			snap, err = w.tbl.Snapshot(ctx)
		}
		if err != nil {
			return nil, err
		}
		w.snap = snap
	}
	if !slices.Equal(w.snap.PartitionColumns(), w.partitionBy) && len(w.partitionBy) > 0 {
		return nil, fmt.Errorf("table %s is partitioned by %v, the project says %v: run with --full-refresh to rewrite it", w.table, w.snap.PartitionColumns(), w.partitionBy)
	}
	w.partitionBy = w.snap.PartitionColumns()
	if w.snap.Schema().String() == w.schema.String() {
		return r.configure(w, nil), nil
	}
	for _, f := range w.snap.Schema().Fields {
		nf, ok := w.schema.Field(f.Name)
		if !ok {
			return nil, fmt.Errorf("%w: table %s: column %s is missing from the new rows", delta.ErrSchemaMismatch, w.table, f.Name)
		}
		if nf.Type.String() != f.Type.String() {
			return nil, fmt.Errorf("%w: table %s: column %s is %s in the table but %s in the new rows", delta.ErrSchemaMismatch, w.table, f.Name, f.Type, nf.Type)
		}
	}
	md := *w.snap.Metadata()
	md.SchemaString = w.schema.String()
	return r.configure(w, &md), nil
}

// dedupe keeps the newest row per key (by sequenceBy) in relation and
// returns the deduplicated relation and how many rows it removed. Rows with
// a NULL key are all kept.
func (r *run) dedupe(ctx context.Context, w writeSpec) (engine.Relation, int64, error) {
	if len(w.keys) == 0 {
		return w.relation, 0, nil
	}
	// Most batches hold each key once (a full refresh of clean data): a
	// pass over the key columns alone finds that, and the relation is then
	// its own deduplication, without the engine's dedupe over whole rows.
	keys := make([]string, len(w.keys))
	nulls := make([]string, len(w.keys))
	for i, k := range w.keys {
		keys[i] = r.eng.Quote(k)
		nulls[i] = keys[i] + " IS NULL"
	}
	res, err := r.eng.Query(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+w.relation.Name+" WHERE NOT ("+strings.Join(nulls, " OR ")+") GROUP BY "+strings.Join(keys, ", ")+" HAVING count(*) > 1) AS repeated")
	if err != nil {
		return engine.Relation{}, 0, err
	}
	if engine.Int64(res.Rows[0][0]) == 0 {
		return w.relation, 0, nil
	}
	rel, err := r.keep(r.eng.Dedupe(ctx, w.relation, w.keys, w.sequenceBy))
	if err != nil {
		return engine.Relation{}, 0, err
	}
	res, err = r.eng.Query(ctx, "SELECT (SELECT count(*) FROM "+w.relation.Name+") - (SELECT count(*) FROM "+rel.Name+")")
	if err != nil {
		return engine.Relation{}, 0, err
	}
	return rel, engine.Int64(res.Rows[0][0]), nil
}

func (r *run) writeOptions(w writeSpec, md *delta.Metadata, op string) *delta.WriteOptions {
	return &delta.WriteOptions{Txns: w.txns, Operation: op, Metadata: md, CommitInfo: map[string]any{"medallion": w.info}, ChangeData: w.changeData, Protocol: w.protocol}
}

// appendRows appends the relation's rows.
func (r *run) appendRows(ctx context.Context, w writeSpec, tr *TableReport) (delta.CommitResult, error) {
	md, err := r.ensure(ctx, &w)
	if err != nil {
		return delta.CommitResult{}, err
	}
	res, err := r.eng.Write(ctx, "SELECT * FROM "+w.relation.Name, r.target(w))
	if err != nil {
		return delta.CommitResult{}, err
	}
	tr.RowsOut = res.Rows
	if err := w.afterWrite(ctx, res, true); err != nil {
		return delta.CommitResult{}, err
	}
	wo := r.writeOptions(w, md, "WRITE")
	wo.Base = w.snap // the state the rows were computed from: see delta.WriteOptions.Base
	return w.tbl.Append(ctx, res.Adds, wo)
}

// overwrite replaces the table's rows with the relation's (deduplicated by
// key when the spec has keys).
func (r *run) overwrite(ctx context.Context, w writeSpec, tr *TableReport) (delta.CommitResult, error) {
	rel, dups, err := r.dedupe(ctx, w)
	if err != nil {
		return delta.CommitResult{}, err
	}
	tr.Duplicates += dups
	var md *delta.Metadata
	if w.snap != nil && r.full(w.table) {
		// A full refresh may change the schema or partitioning outright.
		m := *w.snap.Metadata()
		m.SchemaString = w.schema.String()
		m.PartitionColumns = slices.Clone(w.partitionBy)
		if m.PartitionColumns == nil {
			m.PartitionColumns = []string{}
		}
		if m.SchemaString != w.snap.Metadata().SchemaString || !slices.Equal(m.PartitionColumns, w.snap.PartitionColumns()) {
			md = &m
		}
		md = r.configure(&w, md)
	} else {
		if md, err = r.ensure(ctx, &w); err != nil {
			return delta.CommitResult{}, err
		}
	}
	target := r.target(w)
	target.KeyIndex = w.indexKeys // the keys later runs merge by
	res, err := r.eng.Write(ctx, "SELECT * FROM "+rel.Name, target)
	if err != nil {
		return delta.CommitResult{}, err
	}
	tr.RowsOut = res.Rows
	if err := w.afterWrite(ctx, res, dups == 0 && rel == w.relation); err != nil {
		return delta.CommitResult{}, err
	}
	if w.snap != nil && w.snap.NumFiles() > 0 && r.changeFeedOn(&w) { // removing no file: inserts only (changeData)
		old, err := r.keep(r.eng.BindRelation(ctx, w.snap, nil))
		if err != nil {
			return delta.CommitResult{}, err
		}
		if err := r.changeData(ctx, &w, old, "SELECT * FROM "+rel.Name); err != nil {
			return delta.CommitResult{}, err
		}
	}
	return w.tbl.Overwrite(ctx, res.Adds, nil, r.writeOptions(w, md, "WRITE"))
}

// merge upserts the relation's rows by key: the newest row of each key
// replaces the table's row with that key. Only files holding one of the
// keys are rewritten (copy on write).
func (r *run) merge(ctx context.Context, w writeSpec, tr *TableReport) (delta.CommitResult, error) {
	rel, dups, err := r.dedupe(ctx, w)
	if err != nil {
		return delta.CommitResult{}, err
	}
	tr.Duplicates += dups
	fresh := w.snap == nil
	md, err := r.ensure(ctx, &w)
	if err != nil {
		return delta.CommitResult{}, err
	}
	target := r.target(w)
	target.KeyIndex = w.keys // MatchFiles reads the index instead of every key
	var touched []*delta.Add
	if !fresh && w.snap.NumFiles() > 0 {
		if touched, err = r.eng.MatchFiles(ctx, w.snap, w.snap.Files(), w.keys, rel, false); err != nil {
			return delta.CommitResult{}, err
		}
	}
	query := "SELECT * FROM " + rel.Name
	var kept int64
	var old engine.Relation // the rows of the touched files
	if len(touched) > 0 {
		old, err = r.keep(r.eng.BindRelation(ctx, w.snap, touched))
		if err != nil {
			return delta.CommitResult{}, err
		}
		var conds []string
		for _, k := range w.keys {
			conds = append(conds, "t."+r.eng.Quote(k)+" = b."+r.eng.Quote(k))
		}
		match := "EXISTS (SELECT 1 FROM " + rel.Name + " b WHERE " + strings.Join(conds, " AND ") + ")"
		res, err := r.eng.Query(ctx, "SELECT count(*) FROM "+old.Name+" t WHERE "+match)
		if err != nil {
			return delta.CommitResult{}, err
		}
		tr.Replaced = engine.Int64(res.Rows[0][0])
		if kept, err = r.count(ctx, old, ""); err != nil {
			return delta.CommitResult{}, err
		}
		merged, err := r.keep(r.eng.UnionByName(ctx, "SELECT * FROM "+old.Name+" t WHERE NOT "+match, "SELECT * FROM "+rel.Name))
		if err != nil {
			return delta.CommitResult{}, err
		}
		query = "SELECT * FROM " + merged.Name
	}
	res, err := r.eng.Write(ctx, query, target)
	if err != nil {
		return delta.CommitResult{}, err
	}
	if err := r.changeData(ctx, &w, old, query); err != nil {
		return delta.CommitResult{}, err
	}
	// With no file rewritten and no duplicate removed, the files hold
	// exactly the new rows.
	if err := w.afterWrite(ctx, res, len(touched) == 0 && dups == 0 && rel == w.relation); err != nil {
		return delta.CommitResult{}, err
	}
	newRows := res.Rows
	if len(touched) > 0 {
		newRows -= kept - tr.Replaced
	}
	tr.RowsOut = newRows - tr.Replaced // rows the merge added; Replaced rows were updated
	return commitRewrite(ctx, w, md, map[string]any{"predicate": jsonKeys(w.keys), "matchedPredicates": `[{"actionType":"update"}]`, "notMatchedPredicates": `[{"actionType":"insert"}]`}, touched, res.Adds)
}

// commitRewrite commits a MERGE that removes the rewritten files and adds
// their replacements, with the spec's txns, metadata and commit info.
func commitRewrite(ctx context.Context, w writeSpec, md *delta.Metadata, params map[string]any, removed, added []*delta.Add) (delta.CommitResult, error) {
	tx := w.tbl.Begin(w.snap)
	tx.SetOperation("MERGE", params)
	// A MERGE read the whole table to match keys: it is never a blind
	// append, and any concurrent data change conflicts with it.
	tx.ReadAll()
	for _, a := range removed {
		tx.RemoveAdd(a, !w.noDataChange)
	}
	for _, a := range added {
		a.DataChange = a.DataChange && !w.noDataChange
	}
	tx.AddFiles(added...)
	tx.AddChangeData(w.changeData...)
	if w.protocol != nil {
		tx.SetProtocol(w.protocol)
	}
	for _, t := range w.txns {
		tx.SetTxn(t.AppID, t.Version)
	}
	if md != nil {
		tx.SetMetadata(md)
	}
	if err := tx.SetCommitInfo("medallion", w.info); err != nil {
		return delta.CommitResult{}, err
	}
	return tx.Commit(ctx)
}

func jsonKeys(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "t." + k + " = s." + k
	}
	return `["` + strings.Join(parts, " AND ") + `"]`
}

// relationSchema is the schema of an engine relation as a table schema:
// its columns and types, every field nullable.
func (r *run) relationSchema(ctx context.Context, relation engine.Relation) (*delta.StructType, error) {
	res, err := r.eng.Query(ctx, "SELECT * FROM "+relation.Name+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	schema := &delta.StructType{}
	for _, c := range res.Columns {
		schema.Fields = append(schema.Fields, delta.StructField{Name: c.Name, Type: c.Type, Nullable: true})
	}
	return schema, nil
}
