package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// noWatermark is the watermark of a window model before its first run, in
// Unix milliseconds; the watermark txn's version is the watermark minus it.
const noWatermark int64 = -1 << 62

// watermarkTxn is the txn appId under which a window model records its
// watermark (the version is the watermark in Unix milliseconds), committed
// with the windows it finalized.
// The appId ends with the fingerprint of the model's definition.
func watermarkTxn(model, fingerprint string) string {
	return "medallion/watermark/" + model + "/" + fingerprint
}

// window runs an event-time window model: it finds the rows its source
// gained since the last run, moves the ones whose windows were all
// finalized before they arrived to the late table (first, so that a crash
// between the two commits is repaired by the next run with the same
// watermark), advances the watermark to the newest event time minus the
// allowed lateness, and appends the rows of the windows that closed in
// between — each window exactly once.
//
// A changed definition recomputes every window from scratch and replaces the
// table; the watermark is recorded per definition (watermarkTxn), so the
// new definition's watermark starts afresh. The late table keeps its rows.
func (r *run) window(ctx context.Context, m *Model, tr *TableReport, tbl *delta.Table, own *delta.Snapshot, versions map[string]int64, snaps map[string]*delta.Snapshot, txns []delta.Txn, fp string) (*TableReport, error) {
	w := m.Window
	src := w.Source
	size, slide, lateness := w.Size.Milliseconds(), w.Slide.Milliseconds(), w.Lateness.Milliseconds()
	t := r.eng.EpochMillis(r.eng.Quote(w.Time))

	var w0 int64 = noWatermark
	last := int64(-1)
	if own != nil && !r.refresh[m.Name] {
		if v, ok := own.TxnVersion(watermarkTxn(m.Name, fp)); ok {
			w0 = v + noWatermark
		}
		if v, ok := own.TxnVersion(modelTxn(m.Name, src)); ok {
			last = v
		}
	}
	// The rows the source gained since the window table last ran.
	changes, err := r.changesOf(ctx, src, last, versions[src], snaps[src])
	if err != nil {
		return tr, err
	}
	res, err := r.eng.Query(ctx, "SELECT count(*), max("+t+") FROM "+changes.Name)
	if err != nil {
		return tr, fmt.Errorf("window: %w", err)
	}
	tr.RowsIn = engine.Int64(res.Rows[0][0])
	w1 := w0
	if res.Rows[0][1] != nil {
		w1 = max(w0, engine.Int64(res.Rows[0][1])-lateness)
	}
	// lastEnd is when the last window holding a row closes.
	lastEnd := fmt.Sprintf("(floor(%s / %d) * %d + %d)", t, slide, slide, size)

	// 1. Late rows: every window holding them closed at or before w0.
	if err := r.lateRows(ctx, m, changes, lastEnd, w0, versions, snaps); err != nil {
		return tr, err
	}

	// 2. The windows closing in (w0, w1], over every row of the source that
	// has arrived (rows arriving later are late for them).
	full, err := r.keep(r.eng.BindRelation(ctx, snaps[src], nil))
	if err != nil {
		return tr, err
	}
	input, err := r.keep(r.eng.ExpandWindows(ctx, full.Name, engine.Windows{Time: w.Time, Size: w.Size.Duration, Slide: w.Slide.Duration, After: w0, Until: w1}))
	if err != nil {
		return tr, fmt.Errorf("window: %w", err)
	}
	sqlText := replaceTableRef(m.SQL, src, input.Name)
	result, err := r.table(ctx, sqlText)
	if err != nil {
		if ctx.Err() != nil {
			return tr, err
		}
		return tr, m.sqlError(err, 1, map[string]string{input.Name: src})
	}
	checked, err := r.expect(ctx, m, result, tr, quarantineScope{recomputed: r.full(m.Name), own: own}) // windows are final once written, unless rebuilt
	if err != nil {
		return tr, err
	}
	if tr.quarantineTxn != nil {
		txns = append(txns, *tr.quarantineTxn)
	}
	schema, err := r.relationSchema(ctx, checked)
	if err != nil {
		return tr, err
	}
	if own == nil || r.refresh[m.Name] || w1 != w0 {
		// Only a watermark that moved (or a new definition's first) is
		// committed: re-committing the same one (a batch that brings no
		// newer event, say after a compaction of the source) would be a
		// txn already applied next to a new one, which Commit rejects as a
		// partial replay.
		txns = append(txns, delta.Txn{AppID: watermarkTxn(m.Name, fp), Version: w1 - noWatermark})
	}
	info := map[string]any{"batch_id": r.batchID, "model": m.Name, "inputs": versions, "watermark": time.UnixMilli(w1).UTC(), "definition": fp}
	ws := writeSpec{table: m.Name, tbl: tbl, snap: own, relation: checked, schema: schema, partitionBy: m.PartitionBy, txns: txns, info: info}
	var cr delta.CommitResult
	if r.refresh[m.Name] {
		cr, err = r.overwrite(ctx, ws, tr)
	} else {
		cr, err = r.appendRows(ctx, ws, tr)
	}
	if err != nil {
		return tr, err
	}
	tr.Watermark = time.UnixMilli(w1).UTC()
	committed(cr, tr)
	return tr, nil
}

// lateRows appends the changed rows whose windows all closed at or before
// the watermark w0 to the late table, with their lateness. The late table
// records the source version it has processed, so each row lands once.
func (r *run) lateRows(ctx context.Context, m *Model, changes engine.Relation, lastEnd string, w0 int64, versions map[string]int64, snaps map[string]*delta.Snapshot) error {
	w := m.Window
	name := w.LateTable
	tbl, err := r.lake.Table(ctx, name)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, name)
	if err != nil {
		return err
	}
	src := w.Source
	rel := changes
	if snap != nil {
		lateLast := int64(-1)
		if v, ok := snap.TxnVersion(modelTxn(name, src)); ok {
			lateLast = v
		}
		if lateLast >= versions[src] {
			return nil // done by an earlier, interrupted run
		}
		// The late table may be ahead of the window table (a crash between
		// their commits): look only at rows it has not seen.
		if rel, err = r.changesOf(ctx, src, lateLast, versions[src], snaps[src]); err != nil {
			return err
		}
	}
	t := r.eng.EpochMillis(r.eng.Quote(w.Time))
	// Without a watermark yet (w0 is its floor), no row is late.
	watermark := nullOf(r.eng, delta.Primitive(delta.TypeTimestamp))
	if w0 > noWatermark {
		watermark = tsLit(r.eng, time.UnixMilli(w0))
	}
	q := fmt.Sprintf("SELECT *, %s AS _watermark, (%d - %s) AS _lateness_ms FROM %s WHERE %s IS NOT NULL AND %s <= %d",
		watermark, w0, t, rel.Name, r.eng.Quote(w.Time), lastEnd, w0)
	late, err := r.table(ctx, q)
	if err != nil {
		return fmt.Errorf("late rows: %w", err)
	}
	n, err := r.count(ctx, late, "")
	if err != nil {
		return err
	}
	if n > 0 {
		r.logf("%s: %d rows arrived after their windows closed (watermark %s)", m.Name, n, time.UnixMilli(w0).UTC().Format(time.RFC3339))
	}
	schema, err := r.relationSchema(ctx, late)
	if err != nil {
		return err
	}
	if snap != nil {
		schema = mergeSchema(snap.Schema(), schema)
	}
	ws := writeSpec{table: name, tbl: tbl, snap: snap, relation: late, schema: schema,
		txns: []delta.Txn{{AppID: modelTxn(name, src), Version: versions[src]}}, info: map[string]any{"batch_id": r.batchID, "model": m.Name}}
	tr := &TableReport{Table: name, Kind: "model"}
	_, err = r.appendRows(ctx, ws, tr)
	return err
}

// changesOf binds the rows table gained after version from up to to (all
// of it when from < 0) as a relation of the current scope.
func (r *run) changesOf(ctx context.Context, table string, from, to int64, snap *delta.Snapshot) (engine.Relation, error) {
	if from < 0 {
		return r.keep(r.eng.BindRelation(ctx, snap, nil))
	}
	tbl, err := r.lake.Table(ctx, table)
	if err != nil {
		return engine.Relation{}, err
	}
	added, _, err := tbl.Changes(ctx, from, to)
	if errors.Is(err, delta.ErrVersionNotFound) {
		return engine.Relation{}, fmt.Errorf("window: the changes of %s since version %d are gone (log cleaned up); run with --full-refresh", table, from)
	}
	if err != nil {
		return engine.Relation{}, err
	}
	if added == nil {
		added = []*delta.Add{}
	}
	return r.keep(r.eng.BindRelation(ctx, snap, added))
}
