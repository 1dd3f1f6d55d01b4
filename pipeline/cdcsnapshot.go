package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// PropSnapshotSequence is the table property in which an SCD 1 snapshot
// model records the sequence value (as text) of the last snapshot it
// applied: its table need not keep the sequence column. The property is
// committed with the snapshot's rows, so it moves exactly with them, and a
// table holds one value however many snapshots it applied.
const PropSnapshotSequence = "medallion.cdc.snapshotSequence"

// snapshotSeqTxnPrefix starts the txn appIds in which earlier versions
// recorded the sequence value (one appId per snapshot, which accumulated
// in the log without bound); a table without PropSnapshotSequence falls
// back to them: the txn of the greatest version is the last.
func snapshotSeqTxnPrefix(model string) string {
	return "medallion/cdc-snapshot/" + model + "/"
}

// lastSnapshotSeq returns the text of the sequence value of the last
// snapshot applied to the table, and whether one is recorded.
func lastSnapshotSeq(snap *delta.Snapshot, model string) (string, bool) {
	if snap == nil {
		return "", false
	}
	if v, ok := snap.Metadata().Configuration[PropSnapshotSequence]; ok {
		return v, true
	}
	prefix := snapshotSeqTxnPrefix(model)
	best, bestV, ok := "", int64(-1), false
	for app, v := range snap.Txns() {
		if s, found := strings.CutPrefix(app, prefix); found && v > bestV {
			best, bestV, ok = s, v, true
		}
	}
	return best, ok
}

// withProperty returns a copy of props with key set to value.
func withProperty(props map[string]string, key, value string) map[string]string {
	out := maps.Clone(props)
	if out == nil {
		out = map[string]string{}
	}
	out[key] = value
	return out
}

// scd1SnapshotSeq checks an SCD 1 snapshot (checked) against the last one
// applied: stale is true when its sequence value is not after that one's.
// Otherwise it returns the text of its sequence value, to record
// (PropSnapshotSequence) with the table's new rows.
func (r *run) scd1SnapshotSeq(ctx context.Context, m *Model, cc *cdcCols, checked engine.Relation, w writeSpec) (seq string, stale bool, err error) {
	schema, err := r.relationSchema(ctx, checked)
	if err != nil {
		return "", false, err
	}
	f, ok := schema.Field(cc.seq[0])
	if !ok {
		return "", false, fmt.Errorf("cdc: the snapshot has no column %s", cc.seq[0])
	}
	seqType, err := r.eng.SQLType(f.Type)
	if err != nil {
		return "", false, fmt.Errorf("cdc: %w", err)
	}
	strType, err := r.eng.SQLType(delta.Primitive(delta.TypeString))
	if err != nil {
		return "", false, fmt.Errorf("cdc: %w", err)
	}
	seq1 := cc.q(cc.seq[0])
	if last, ok := lastSnapshotSeq(w.snap, m.Name); ok && !r.refresh[m.Name] {
		res, err := r.eng.Query(ctx, "SELECT max("+seq1+") <= CAST("+sqlString(last)+" AS "+seqType+") FROM "+checked.Name)
		if err != nil {
			return "", false, fmt.Errorf("cdc: compare with the last snapshot's %s %s: %w", cc.seq[0], last, err)
		}
		if s, _ := res.Rows[0][0].(bool); s {
			return "", true, nil
		}
	}
	res, err := r.eng.Query(ctx, "SELECT CAST(max("+seq1+") AS "+strType+") FROM "+checked.Name)
	if err != nil {
		return "", false, fmt.Errorf("cdc: %w", err)
	}
	text, _ := res.Rows[0][0].(string)
	return text, false, nil
}

// widenTarget returns the SCD 2 table's rows (target) with the columns the
// snapshot gained (among cc.data, not in the table yet) added as NULLs of
// their type in checked, and those columns.
func (r *run) widenTarget(ctx context.Context, cc *cdcCols, checked, target engine.Relation, w writeSpec) (engine.Relation, []string, error) {
	var gained []string
	for _, c := range cc.data {
		if _, ok := w.snap.Schema().Field(c); !ok {
			gained = append(gained, c)
		}
	}
	if len(gained) == 0 {
		return target, nil, nil
	}
	schema, err := r.relationSchema(ctx, checked)
	if err != nil {
		return target, nil, err
	}
	cols := []string{"*"}
	for _, c := range gained {
		f, _ := schema.Field(c)
		typ, err := r.eng.SQLType(f.Type)
		if err != nil {
			return target, nil, fmt.Errorf("cdc: column %s: %w", c, err)
		}
		cols = append(cols, "CAST(NULL AS "+typ+") AS "+cc.q(c))
	}
	wide, err := r.keep(r.eng.View(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+target.Name))
	return wide, gained, err
}

// sameRows reports whether the table (w.snap) holds exactly the rows of out,
// with the same columns: then a snapshot changed nothing and commits no
// rewrite.
func (r *run) sameRows(ctx context.Context, w writeSpec, out engine.Relation, schema *delta.StructType) (bool, error) {
	if w.snap == nil || w.snap.Schema().String() != schema.String() {
		return false, nil
	}
	cols := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		cols[i] = r.eng.Quote(f.Name)
	}
	sel := "SELECT " + strings.Join(cols, ", ") + " FROM "
	old, err := r.keep(r.eng.BindRelation(ctx, w.snap, nil))
	if err != nil {
		return false, err
	}
	res, err := r.eng.Query(ctx, "SELECT NOT EXISTS ("+r.multisetDiffSQL(sel+old.Name, sel+out.Name, cols)+")")
	if err != nil {
		return false, fmt.Errorf("cdc: %w", err)
	}
	same, _ := res.Rows[0][0].(bool)
	return same, nil
}

// without returns cols without the ones in drop.
func without(cols, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return slices.Contains(drop, c) })
}

// keepLostColumns keeps the columns a snapshot lost (in the table, not in
// the snapshot's columns): checked gets them as NULLs of the table's type,
// and cc a copy whose data columns include them. Dropping a column is a
// schema change, not a data change: the table keeps the column (SCD 2:
// closed rows keep their values; open rows and new versions hold NULL, and
// the loss closes no row) and the run logs a warning naming it.
func (r *run) keepLostColumns(ctx context.Context, m *Model, cc *cdcCols, checked engine.Relation, w writeSpec) (engine.Relation, *cdcCols, error) {
	if w.snap == nil || r.full(m.Name) {
		return checked, cc, nil
	}
	var lost []string
	cols := []string{"*"}
	for _, f := range w.snap.Schema().Fields {
		if slices.Contains(cc.data, f.Name) || (m.CDC.SCD == 2 && (f.Name == ColStartAt || f.Name == ColEndAt)) {
			continue
		}
		typ, err := r.eng.SQLType(f.Type)
		if err != nil {
			return checked, cc, fmt.Errorf("cdc: column %s: %w", f.Name, err)
		}
		lost = append(lost, f.Name)
		cols = append(cols, "CAST(NULL AS "+typ+") AS "+cc.q(f.Name))
	}
	if len(lost) == 0 {
		return checked, cc, nil
	}
	r.logf("warning: %s: the snapshot lost the column(s) %s; the table keeps them, NULL for the snapshot's rows", m.Name, strings.Join(lost, ", "))
	wide, err := r.keep(r.eng.View(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+checked.Name))
	if err != nil {
		return checked, cc, fmt.Errorf("cdc: %w", err)
	}
	c := *cc
	c.data = append(slices.Clone(cc.data), lost...)
	return wide, &c, nil
}
