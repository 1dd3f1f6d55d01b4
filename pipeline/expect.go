package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// keysNotNull is the implicit rule of keyed models: a row without its key
// cannot be merged, so it is quarantined.
const keysNotNull = "keys_not_null"

// Quarantine table columns added to the failing row.
const (
	ColQuarantineRule  = "_quarantine_rule"  // the failed rules, comma-separated
	ColQuarantineBatch = "_quarantine_batch" // the run that quarantined the row
	ColQuarantinedAt   = "_quarantined_at"
)

// QuarantineTable is the table that keeps a model's quarantined rows.
func QuarantineTable(table string) string { return table + "_quarantine" }

// expect checks the model's expectations on its result and returns the
// rows to write: quarantined rows go to the quarantine table, dropped rows
// are counted, a failed fail-expectation stops the model. When no row is
// quarantined or dropped the rows to write are result itself.
//
// qs says which earlier quarantined rows the result's failing rows can
// repeat (see quarantineScope); only the copies the quarantine table does
// not hold yet are appended.
func (r *run) expect(ctx context.Context, m *Model, result engine.Relation, tr *TableReport, qs quarantineScope) (engine.Relation, error) {
	return r.checkRows(ctx, m, result, tr, qs, false)
}

// countAndExpect is expect that also sets tr.RowsIn to the rows of
// result, counted in the same pass as the expectations.
func (r *run) countAndExpect(ctx context.Context, m *Model, result engine.Relation, tr *TableReport, qs quarantineScope) (engine.Relation, error) {
	return r.checkRows(ctx, m, result, tr, qs, true)
}

// checkRows is expect, counting result's rows into tr.RowsIn when count.
func (r *run) checkRows(ctx context.Context, m *Model, result engine.Relation, tr *TableReport, qs quarantineScope, count bool) (engine.Relation, error) {
	rules := append([]Expectation{}, m.Expectations...)
	if len(m.Keys) > 0 {
		var conds []string
		for _, k := range m.Keys {
			conds = append(conds, r.eng.Quote(k)+" IS NOT NULL")
		}
		rules = append(rules, Expectation{Name: keysNotNull, Expr: strings.Join(conds, " AND "), Action: Quarantine})
	}
	if len(rules) == 0 {
		if count {
			n, err := r.count(ctx, result, "")
			if err != nil {
				return engine.Relation{}, err
			}
			tr.RowsIn = n
		}
		return result, nil
	}
	failing := func(e Expectation) string { return "(NOT coalesce((" + e.Expr + "), false))" }
	var counts []string
	if count {
		counts = append(counts, "count(*)")
	}
	for _, e := range rules {
		counts = append(counts, "count(*) FILTER (WHERE "+failing(e)+")")
	}
	res, err := r.eng.Query(ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+result.Name)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("expectations: %w", err)
	}
	row := res.Rows[0]
	if count {
		tr.RowsIn, row = engine.Int64(row[0]), row[1:]
	}
	var quarantine, drop []string
	var qNames []string
	// qFailed and dFailed count the rows that fail a quarantine or a drop
	// rule (a row failing several counts more than once): none, and every
	// row is kept.
	var qFailed, dFailed int64
	for i, e := range rules {
		n := engine.Int64(row[i])
		tr.Expectations = append(tr.Expectations, ExpectationResult{Name: e.Name, Action: e.Action, Failed: n})
		switch e.Action {
		case Fail:
			if n > 0 {
				sample, _ := r.eng.Query(ctx, "SELECT * FROM "+result.Name+" WHERE "+failing(e)+" LIMIT 1")
				ex := ""
				if sample != nil && len(sample.Rows) > 0 {
					ex = fmt.Sprintf("; first failing row: %s", formatRow(sample))
				}
				return engine.Relation{}, fmt.Errorf("expectation %q (%s) failed for %d rows (action fail)%s", e.Name, e.Expr, n, ex)
			}
		case Quarantine:
			quarantine = append(quarantine, failing(e))
			qNames = append(qNames, "CASE WHEN "+failing(e)+" THEN "+sqlString(e.Name)+" END")
			qFailed += n
		case Drop:
			drop = append(drop, failing(e))
			dFailed += n
		case Warn:
			if n > 0 {
				r.logf("warning: %s: expectation %s failed for %d rows (kept)", m.Name, e.Name, n)
			}
		}
	}
	if qFailed+dFailed == 0 {
		return result, nil
	}
	keep := []string{"true"}
	if qFailed > 0 {
		q := strings.Join(quarantine, " OR ")
		keep = append(keep, "NOT ("+q+")")
		at, err := r.timeLiteral(r.started)
		if err != nil {
			return engine.Relation{}, err
		}
		// concat_ws skips NULLs: the names of the rules the row failed.
		sel := "SELECT *, concat_ws(', ', " + strings.Join(qNames, ", ") + ") AS " + ColQuarantineRule +
			", " + sqlString(r.batchID) + " AS " + ColQuarantineBatch + ", " + at + " AS " + ColQuarantinedAt +
			" FROM " + result.Name + " WHERE " + q
		quarantined, err := r.table(ctx, sel)
		if err != nil {
			return engine.Relation{}, fmt.Errorf("quarantine: %w", err)
		}
		if tr.Quarantined, err = r.count(ctx, quarantined, ""); err != nil {
			return engine.Relation{}, err
		}
		if tr.Quarantined > 0 {
			if err := r.writeQuarantine(ctx, m, quarantined, qs, tr); err != nil {
				return engine.Relation{}, fmt.Errorf("quarantine: %w", err)
			}
		}
	}
	if dFailed > 0 {
		d := strings.Join(drop, " OR ")
		n, err := r.count(ctx, result, strings.Join(keep, " AND ")+" AND ("+d+")")
		if err != nil {
			return engine.Relation{}, err
		}
		tr.Dropped = n
		keep = append(keep, "NOT ("+d+")")
	}
	return r.view(ctx, "SELECT * FROM "+result.Name+" WHERE "+strings.Join(keep, " AND "))
}

// quarantineScope is what a model run's failing rows may repeat of the rows
// its quarantine table holds.
type quarantineScope struct {
	// recomputed: the result holds every row of the part of the table it
	// replaces (a whole or group recompute, a backfill, a snapshot, the
	// touched keys of a CDC model), not only rows new since the last run,
	// so its failing rows were quarantined by earlier runs already.
	recomputed bool
	// own is the model's table as the run found it (nil: not created yet).
	// Its commits record the quarantine table's version after the run's
	// append (quarantineTxn); rows appended after that version were
	// quarantined by a run that stopped before the model committed (killed,
	// or failed after its quarantine append), and this run, reading the
	// same new rows again, must not append them a second time.
	own *delta.Snapshot
}

// quarantineTxn is the txn appId under which a model's commit records the
// version of its quarantine table that holds its quarantined rows.
func quarantineTxn(model string) string { return "medallion/model/" + model + "/quarantine" }

// writeQuarantine appends the quarantined rows to the model's quarantine
// table and leaves in tr the txn the model's commit must carry.
//
// A row the table holds already under the same rules — the same values in
// every column both have, but for the batch columns (_ingested_at,
// _batch_id, _seq, which --full-refresh gives re-ingested rows anew) — is
// appended only for the copies beyond those held: among all of the table's
// rows when the run recomputed (so a model recomputed run after run, or by
// --full-refresh, quarantines each failing row once, and a row that really
// arrived twice is kept twice), among the rows appended after the model's
// last commit otherwise.
func (r *run) writeQuarantine(ctx context.Context, m *Model, rows engine.Relation, qs quarantineScope, tr *TableReport) error {
	name := QuarantineTable(m.Name)
	tbl, err := r.lake.Table(ctx, name)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, name)
	if err != nil {
		return err
	}
	schema, err := r.relationSchema(ctx, rows)
	if err != nil {
		return err
	}
	if snap != nil {
		held, err := r.heldQuarantine(ctx, m.Name, tbl, snap, qs)
		if err != nil {
			return err
		}
		if held != nil {
			if rows, err = r.newQuarantined(ctx, rows, schema, snap, *held); err != nil {
				return err
			}
			n, err := r.count(ctx, rows, "")
			if err != nil {
				return err
			}
			if n == 0 {
				qs.record(m.Name, snap.Version(), tr)
				return nil
			}
		}
		schema = mergeSchema(snap.Schema(), schema)
	}
	w := writeSpec{table: name, tbl: tbl, snap: snap, relation: rows, schema: schema, info: map[string]any{"batch_id": r.batchID, "model": m.Name}}
	cr, err := r.appendRows(ctx, w, &TableReport{})
	if err != nil {
		return err
	}
	qs.record(m.Name, cr.Version, tr)
	return nil
}

// record leaves in tr the txn that records quarantine version v in the
// model's commit, unless the model's table records it already (a commit's
// txns must all be new).
func (qs quarantineScope) record(model string, v int64, tr *TableReport) {
	if qs.own != nil {
		if have, ok := qs.own.TxnVersion(quarantineTxn(model)); ok && have >= v {
			return
		}
	}
	tr.quarantineTxn = &delta.Txn{AppID: quarantineTxn(model), Version: v}
}

// heldQuarantine is the relation of quarantined rows this run's may repeat
// (see writeQuarantine), or nil when there are none.
func (r *run) heldQuarantine(ctx context.Context, model string, tbl *delta.Table, snap *delta.Snapshot, qs quarantineScope) (*engine.Relation, error) {
	if snap.NumFiles() == 0 {
		return nil, nil
	}
	if qs.recomputed {
		rel, err := r.keep(r.eng.BindRelation(ctx, snap, nil))
		return &rel, err
	}
	if qs.own == nil {
		return nil, nil
	}
	recorded, ok := qs.own.TxnVersion(quarantineTxn(model))
	if ok && recorded >= snap.Version() {
		return nil, nil // nothing appended since the model's last commit
	}
	// Without a record the model never committed after a quarantine append
	// (or was written before medallion recorded it): every row counts.
	var added []*delta.Add // nil: every file
	if ok {
		var err error
		added, _, err = tbl.Changes(ctx, recorded, snap.Version())
		switch {
		case errors.Is(err, delta.ErrVersionNotFound):
			added = nil // the log was cleaned up since: compare with every row
		case err != nil:
			return nil, err
		case len(added) == 0:
			return nil, nil
		}
	}
	rel, err := r.keep(r.eng.BindRelation(ctx, snap, added))
	return &rel, err
}

// newQuarantined is rows less the copies held already: rows are compared on
// the rule column and every model column both have but the batch columns
// (NULLs equal), and of k identical rows of which held has j, k-j are kept.
func (r *run) newQuarantined(ctx context.Context, rows engine.Relation, schema *delta.StructType, snap *delta.Snapshot, held engine.Relation) (engine.Relation, error) {
	var all, cols, same []string
	for _, f := range schema.Fields {
		all = append(all, "n."+r.eng.Quote(f.Name))
		switch f.Name {
		case ColQuarantineBatch, ColQuarantinedAt, ColIngestedAt, ColBatchID, ColSeq:
			continue // they say when, not what: a re-ingested row gets new ones
		}
		if _, ok := snap.Schema().Field(f.Name); !ok {
			continue
		}
		q := r.eng.Quote(f.Name)
		cols = append(cols, q)
		same = append(same, "n."+q+" IS NOT DISTINCT FROM o."+q)
	}
	rule := r.eng.Quote(ColQuarantineRule)
	list := strings.Join(cols, ", ")
	return r.table(ctx, "SELECT "+strings.Join(all, ", ")+" FROM (SELECT *, row_number() OVER (PARTITION BY "+list+" ORDER BY "+rule+") AS __copy FROM "+rows.Name+") AS n"+
		" LEFT JOIN (SELECT "+list+", count(*) AS __held FROM "+held.Name+" GROUP BY "+list+") AS o ON "+strings.Join(same, " AND ")+
		" WHERE n.__copy > coalesce(o.__held, 0)")
}

// formatRow renders the first row of a result as col=value pairs.
func formatRow(res *engine.Result) string {
	parts := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		parts[i] = fmt.Sprintf("%s=%v", c.Name, res.Rows[0][i])
	}
	return strings.Join(parts, ", ")
}
