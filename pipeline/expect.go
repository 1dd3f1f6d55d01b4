package pipeline

import (
	"context"
	"fmt"
	"strings"

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
// are counted, a failed fail-expectation stops the model.
func (r *run) expect(ctx context.Context, m *Model, result engine.Relation, tr *TableReport) (engine.Relation, error) {
	rules := append([]Expectation{}, m.Expectations...)
	if len(m.Keys) > 0 {
		var conds []string
		for _, k := range m.Keys {
			conds = append(conds, r.eng.Quote(k)+" IS NOT NULL")
		}
		rules = append(rules, Expectation{Name: keysNotNull, Expr: strings.Join(conds, " AND "), Action: Quarantine})
	}
	if len(rules) == 0 {
		return result, nil
	}
	failing := func(e Expectation) string { return "(NOT coalesce((" + e.Expr + "), false))" }
	counts := make([]string, len(rules))
	for i, e := range rules {
		counts[i] = "count(*) FILTER (WHERE " + failing(e) + ")"
	}
	res, err := r.eng.Query(ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+result.Name)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("expectations: %w", err)
	}
	var quarantine, drop []string
	var qNames []string
	failed := false // a row fails a quarantine or drop rule
	for i, e := range rules {
		n := engine.Int64(res.Rows[0][i])
		failed = failed || n > 0 && (e.Action == Quarantine || e.Action == Drop)
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
		case Drop:
			drop = append(drop, failing(e))
		case Warn:
			if n > 0 {
				r.logf("warning: %s: expectation %s failed for %d rows (kept)", m.Name, e.Name, n)
			}
		}
	}
	if !failed {
		// No row to set aside: the rows are the result as it is.
		return result, nil
	}
	keep := []string{"true"}
	if len(quarantine) > 0 {
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
			if err := r.writeQuarantine(ctx, m, quarantined); err != nil {
				return engine.Relation{}, fmt.Errorf("quarantine: %w", err)
			}
		}
	}
	if len(drop) > 0 {
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

// writeQuarantine appends the quarantined rows to the model's quarantine
// table.
func (r *run) writeQuarantine(ctx context.Context, m *Model, rows engine.Relation) error {
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
		schema = mergeSchema(snap.Schema(), schema)
	}
	w := writeSpec{table: name, tbl: tbl, snap: snap, relation: rows, schema: schema, info: map[string]any{"batch_id": r.batchID, "model": m.Name}}
	_, err = r.appendRows(ctx, w, &TableReport{})
	return err
}

// formatRow renders the first row of a result as col=value pairs.
func formatRow(res *engine.Result) string {
	parts := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		parts[i] = fmt.Sprintf("%s=%v", c.Name, res.Rows[0][i])
	}
	return strings.Join(parts, ", ")
}
