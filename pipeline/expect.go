package pipeline

import (
	"context"
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

// expect checks the model's expectations on __result and leaves the rows to
// write in __checked: quarantined rows go to the quarantine table, dropped
// rows are counted, a failed fail-expectation stops the model.
func (r *run) expect(ctx context.Context, m *Model, _ *delta.Table, tr *TableReport) error {
	rules := append([]Expectation{}, m.Expectations...)
	if len(m.Keys) > 0 {
		var conds []string
		for _, k := range m.Keys {
			conds = append(conds, sqlIdent(k)+" IS NOT NULL")
		}
		rules = append(rules, Expectation{Name: keysNotNull, Expr: strings.Join(conds, " AND "), Action: Quarantine})
	}
	if len(rules) == 0 {
		return r.eng.Exec(ctx, "CREATE OR REPLACE TEMP VIEW __checked AS SELECT * FROM __result")
	}
	failing := func(e Expectation) string { return "(NOT coalesce((" + e.Expr + "), false))" }
	counts := make([]string, len(rules))
	for i, e := range rules {
		counts[i] = "count(*) FILTER (WHERE " + failing(e) + ")"
	}
	res, err := r.eng.Query(ctx, "SELECT "+strings.Join(counts, ", ")+" FROM __result")
	if err != nil {
		return fmt.Errorf("expectations: %w", err)
	}
	var quarantine, drop []string
	var qNames []string
	for i, e := range rules {
		n := toInt(res.Rows[0][i])
		tr.Expectations = append(tr.Expectations, ExpectationResult{Name: e.Name, Action: e.Action, Failed: n})
		switch e.Action {
		case Fail:
			if n > 0 {
				sample, _ := r.eng.Query(ctx, "SELECT * FROM __result WHERE "+failing(e)+" LIMIT 1")
				ex := ""
				if sample != nil && len(sample.Rows) > 0 {
					ex = fmt.Sprintf("; first failing row: %s", formatRow(sample))
				}
				return fmt.Errorf("expectation %q (%s) failed for %d rows (action fail)%s", e.Name, e.Expr, n, ex)
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
	keep := []string{"true"}
	if len(quarantine) > 0 {
		q := strings.Join(quarantine, " OR ")
		keep = append(keep, "NOT ("+q+")")
		sel := "SELECT *, array_to_string(list_filter([" + strings.Join(qNames, ", ") + "], x -> x IS NOT NULL), ', ') AS " + ColQuarantineRule +
			", " + sqlString(r.batchID) + " AS " + ColQuarantineBatch + ", " + sqlString(r.started.UTC().Format("2006-01-02 15:04:05.000000")) + "::TIMESTAMPTZ AS " + ColQuarantinedAt +
			" FROM __result WHERE " + q
		if err := r.eng.Exec(ctx, "CREATE OR REPLACE TEMP TABLE __quarantine AS "+sel); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		n, err := r.eng.Query(ctx, "SELECT count(*) FROM __quarantine")
		if err != nil {
			return err
		}
		tr.Quarantined = toInt(n.Rows[0][0])
		if tr.Quarantined > 0 {
			if err := r.writeQuarantine(ctx, m); err != nil {
				return fmt.Errorf("quarantine: %w", err)
			}
		}
	}
	if len(drop) > 0 {
		d := strings.Join(drop, " OR ")
		n, err := r.eng.Query(ctx, "SELECT count(*) FROM __result WHERE "+strings.Join(keep, " AND ")+" AND ("+d+")")
		if err != nil {
			return err
		}
		tr.Dropped = toInt(n.Rows[0][0])
		keep = append(keep, "NOT ("+d+")")
	}
	return r.eng.Exec(ctx, "CREATE OR REPLACE TEMP VIEW __checked AS SELECT * FROM __result WHERE "+strings.Join(keep, " AND "))
}

// writeQuarantine appends __quarantine to the model's quarantine table.
func (r *run) writeQuarantine(ctx context.Context, m *Model) error {
	name := QuarantineTable(m.Name)
	tbl, err := r.lake.Table(ctx, name)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, name)
	if err != nil {
		return err
	}
	schema, err := r.relationSchema(ctx, "__quarantine")
	if err != nil {
		return err
	}
	if snap != nil {
		schema = mergeSchema(snap.Schema(), schema)
	}
	w := writeSpec{table: name, tbl: tbl, snap: snap, relation: "__quarantine", schema: schema, info: map[string]any{"batch_id": r.batchID, "model": m.Name}}
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
