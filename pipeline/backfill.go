package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Backfill recomputes a partitioned model for a date range from its full
// inputs and replaces, in the partitions those dates fall in, exactly the
// rows of the range (rows of other dates in the same partitions are kept;
// other partitions are not touched). The model needs partition_by and
// backfill_date. The commit carries no progress txns: it does not change
// what later incremental runs will read.
func Backfill(ctx context.Context, proj *Project, table string, from, to time.Time, opts RunOptions) (*TableReport, error) {
	m := proj.Model(table)
	switch {
	case m == nil:
		return nil, fmt.Errorf("pipeline: backfill: no model writes %s", table)
	case m.Materialized == View:
		return nil, fmt.Errorf("pipeline: backfill: %s is a view: nothing is stored to backfill", table)
	case len(m.PartitionBy) == 0 || m.BackfillDate == "":
		return nil, fmt.Errorf("pipeline: backfill: %s (%s) needs partition_by and backfill_date in its header", table, m.File)
	case to.Before(from):
		return nil, fmt.Errorf("pipeline: backfill: --from %s is after --to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	r, err := newRun(ctx, proj, opts, "-backfill-"+randomHex(3))
	if err != nil {
		return nil, err
	}
	// The models are checked as by a run, before anything is written.
	broken, err := r.validate(ctx)
	r.closeValidation()
	if err != nil || len(broken) > 0 {
		return &TableReport{Table: table, Kind: "model", Status: StatusFailed}, errors.Join(err, modelErrors(broken))
	}
	if opts.Lease == nil {
		lease, err := AcquireLease(ctx, r.lake, LeaseOptions{Holder: "medallion backfill " + table, Log: opts.Log})
		if err != nil {
			return nil, err
		}
		defer lease.Release(context.WithoutCancel(ctx))
		ctx = lease.Context()
	}
	if r.eng, err = openEngine(ctx, proj, opts.Trace); err != nil {
		return nil, err
	}
	defer r.eng.Close()
	tr := &TableReport{Table: table, Kind: "model"}
	start := r.opts.Now()
	own, err := r.lake.Snapshot(ctx, table)
	if err != nil {
		return tr, err
	}
	if own == nil {
		return tr, fmt.Errorf("pipeline: backfill: %s does not exist yet: run the pipeline first", table)
	}
	tbl, err := r.lake.Table(ctx, table)
	if err != nil {
		return tr, err
	}
	for _, in := range r.tableInputs(m) {
		if _, ok, err := r.bind(ctx, in); err != nil || !ok {
			return tr, errors.Join(err, fmt.Errorf("pipeline: backfill: input %s does not exist", in))
		}
	}
	for _, d := range m.Deps {
		if err := r.materialize(ctx, d); err != nil {
			return tr, err
		}
	}
	inRange := fmt.Sprintf("(%s) BETWEEN DATE '%s' AND DATE '%s'", m.BackfillDate, from.Format(time.DateOnly), to.Format(time.DateOnly))
	defer r.scope(ctx)()
	result, err := r.table(ctx, "SELECT * FROM ("+m.SQL+") AS __m WHERE "+inRange)
	if err != nil {
		return tr, fmt.Errorf("pipeline: backfill %s: %w", table, err)
	}
	if tr.RowsIn, err = r.count(ctx, result, ""); err != nil {
		return tr, err
	}
	checked, err := r.expect(ctx, m, result, tr, quarantineScope{recomputed: true}) // a date range recomputed
	if err != nil {
		return tr, err
	}
	w := writeSpec{table: table, tbl: tbl, snap: own, relation: checked, schema: own.Schema(), partitionBy: m.PartitionBy, keys: m.Keys}
	rel, dups, err := r.dedupe(ctx, w)
	if err != nil {
		return tr, err
	}
	tr.Duplicates = dups
	// The partitions the range touches, before and after; their new content
	// is the recomputed rows plus their rows of other dates.
	ownRel, err := r.keep(r.eng.BindRelation(ctx, own, nil))
	if err != nil {
		return tr, err
	}
	parts := make([]string, len(m.PartitionBy))
	for i, p := range m.PartitionBy {
		parts[i] = r.eng.Quote(p)
	}
	cols := strings.Join(parts, ", ")
	conds := make([]string, len(parts))
	for i, p := range parts {
		conds[i] = "g." + p + " IS NOT DISTINCT FROM o." + p
	}
	groups, err := r.table(ctx, "SELECT DISTINCT "+cols+" FROM "+rel.Name+" UNION SELECT DISTINCT "+cols+" FROM "+ownRel.Name+" WHERE "+inRange)
	if err != nil {
		return tr, fmt.Errorf("pipeline: backfill %s: %w", table, err)
	}
	union, err := r.keep(r.eng.UnionByName(ctx, "SELECT * FROM "+rel.Name,
		"SELECT * FROM "+ownRel.Name+" o WHERE EXISTS (SELECT 1 FROM "+groups.Name+" g WHERE "+strings.Join(conds, " AND ")+") AND NOT coalesce("+inRange+", false)"))
	if err != nil {
		return tr, fmt.Errorf("pipeline: backfill %s: %w", table, err)
	}
	backfill, err := r.table(ctx, "SELECT * FROM "+union.Name)
	if err != nil {
		return tr, fmt.Errorf("pipeline: backfill %s: %w", table, err)
	}
	w.relation, w.keys = backfill, m.PartitionBy
	w.info = map[string]any{"batch_id": r.batchID, "model": m.Name, "backfill": map[string]string{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}}
	cr, err := r.replaceGroups(ctx, w, groups, heldRows{}, tr)
	if err != nil {
		return tr, err
	}
	tr.Version, tr.Status, tr.Duration = cr.Version, StatusOK, r.opts.Now().Sub(start)
	return tr, nil
}
