package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Columns of an SCD type 2 table: the sequence value of the change that
// opened a row and of the change that closed it (NULL: the open row).
const (
	ColStartAt = "__start_at"
	ColEndAt   = "__end_at"
)

// Rules a CDC model adds to its expectations: change rows without their key
// (truncates excepted) or without a sequence value go to the quarantine
// table.
const sequenceNotNull = "sequence_by_not_null"

// CDC makes a model apply change rows to its table by key, as Lakeflow's
// AUTO CDC (APPLY CHANGES) does. The model's SQL yields change rows (or, with
// Snapshot, complete snapshots); the model's keys identify a row and its
// sequence_by orders the changes of a key. See README, "Change data
// capture".
type CDC struct {
	// SCD is 1 (default: the table holds the latest row of each key) or 2
	// (the table keeps every version of a row with __start_at and __end_at).
	SCD int `yaml:"scd"`
	// Snapshot says the SQL yields complete snapshots (a replace source):
	// the change set is the difference against the table's current rows.
	Snapshot bool `yaml:"snapshot"`
	// ApplyAsDeletes is an SQL condition over a change row that makes it
	// a delete of its key ("op = 'd'").
	ApplyAsDeletes string `yaml:"apply_as_deletes"`
	// ApplyAsTruncates is an SQL condition that makes a change row a
	// truncate: every key is deleted as of its sequence value.
	ApplyAsTruncates string `yaml:"apply_as_truncates"`
	// ExceptColumns are columns of the change rows the table leaves out
	// (an operation code, for instance).
	ExceptColumns []string `yaml:"except_columns"`
	// TrackHistoryOn (SCD 2) are the columns whose change opens a new
	// version; a change to another column updates the open row in place.
	// TrackHistoryExcept are the columns that do not (all others do).
	TrackHistoryOn     []string `yaml:"track_history_on"`
	TrackHistoryExcept []string `yaml:"track_history_except"`
}

// validate checks a CDC model's header.
func (c *CDC) validate(m *Model) error {
	switch c.SCD {
	case 0:
		c.SCD = 1
	case 1, 2:
	default:
		return fmt.Errorf("scd: %d is not 1 or 2", c.SCD)
	}
	switch {
	case len(m.Keys) == 0:
		return errors.New("a CDC model needs keys (the header's keys: [...])")
	case m.Materialized == View || len(m.IncrementalBy) > 0 || m.Window != nil:
		return errors.New("a CDC model is a table without incremental_by or window (it applies its changes incrementally itself)")
	case c.Snapshot && m.Incremental != "":
		return errors.New("a snapshot model takes no incremental: each run compares the whole snapshot with the table")
	case c.SCD == 1 && (len(c.TrackHistoryOn) > 0 || len(c.TrackHistoryExcept) > 0):
		return errors.New("track_history_on and track_history_except need scd: 2")
	case len(c.TrackHistoryOn) > 0 && len(c.TrackHistoryExcept) > 0:
		return errors.New("track_history_on and track_history_except exclude each other")
	case c.Snapshot && (c.ApplyAsDeletes != "" || c.ApplyAsTruncates != ""):
		return errors.New("a snapshot model takes no apply_as_deletes or apply_as_truncates: a key missing from the next snapshot is deleted")
	}
	for _, list := range [][]string{c.ExceptColumns, c.TrackHistoryOn, c.TrackHistoryExcept} {
		for _, col := range list {
			if !identRE.MatchString(col) {
				return fmt.Errorf("invalid column name %q", col)
			}
		}
	}
	for _, k := range m.Keys {
		if slices.Contains(c.ExceptColumns, k) {
			return fmt.Errorf("except_columns: %s is a key", k)
		}
	}
	return nil
}

// cdcCols are a CDC model's column lists, resolved against its output.
type cdcCols struct {
	keys, seq, arrival, data, tracked []string
	del, trunc                        string              // SQL conditions ("false" when not set)
	q                                 func(string) string // the engine's identifier quoting
}

func (cc *cdcCols) quoteAll(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = cc.q(c)
	}
	return out
}

func (cc *cdcCols) joinIdents(prefix string, cols []string) string {
	parts := cc.quoteAll(cols)
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, ", ")
}

// resolveCDC checks the model's columns against its output schema.
func (r *run) resolveCDC(m *Model, out *delta.StructType, quote func(string) string) (*cdcCols, error) {
	c := m.CDC
	has := func(col string) bool { _, ok := out.Field(col); return ok }
	line := func(needle string) int { return m.headerLineOf(needle) }
	for _, col := range []string{ColStartAt, ColEndAt} {
		if has(col) {
			return nil, m.errorAt(line("cdc"), fmt.Sprintf("cdc: the SQL yields a column %s, which the CDC table reserves", col))
		}
	}
	cc := &cdcCols{keys: m.Keys, del: "false", trunc: "false", q: quote}
	cc.seq = m.SequenceBy
	if len(cc.seq) == 0 {
		for _, col := range []string{ColIngestedAt, ColSeq} {
			if has(col) {
				cc.seq = append(cc.seq, col)
			}
		}
	}
	if len(cc.seq) == 0 {
		return nil, m.errorAt(line("cdc"), "cdc: needs sequence_by (the column(s) that order the changes of a key)")
	}
	check := func(what string, cols []string) error {
		for _, col := range cols {
			if !has(col) {
				return m.errorAt(line(what), fmt.Sprintf("%s: the SQL yields no column %s", what, col))
			}
		}
		return nil
	}
	for _, ch := range []struct {
		what string
		cols []string
	}{{"keys", cc.keys}, {"sequence_by", cc.seq}, {"except_columns", c.ExceptColumns}, {"track_history_on", c.TrackHistoryOn}, {"track_history_except", c.TrackHistoryExcept}} {
		if err := check(ch.what, ch.cols); err != nil {
			return nil, err
		}
	}
	for _, col := range []string{ColIngestedAt, ColSeq} {
		if has(col) && !slices.Contains(cc.seq, col) {
			cc.arrival = append(cc.arrival, col)
		}
	}
	for _, f := range out.Fields {
		if slices.Contains(c.ExceptColumns, f.Name) {
			continue
		}
		cc.data = append(cc.data, f.Name)
		switch {
		case slices.Contains(cc.keys, f.Name):
		case len(c.TrackHistoryOn) > 0:
			if slices.Contains(c.TrackHistoryOn, f.Name) {
				cc.tracked = append(cc.tracked, f.Name)
			}
		case slices.Contains(c.TrackHistoryExcept, f.Name), slices.Contains(cc.seq, f.Name), isMeta(f.Name):
		default:
			cc.tracked = append(cc.tracked, f.Name)
		}
	}
	if c.ApplyAsDeletes != "" {
		cc.del = "coalesce((" + c.ApplyAsDeletes + "), false)"
	}
	if c.ApplyAsTruncates != "" {
		cc.trunc = "coalesce((" + c.ApplyAsTruncates + "), false)"
	}
	return cc, nil
}

// cdcExpectations are the model's expectations plus the CDC rules: a change
// row needs its key (a truncate excepted) and its sequence value.
func (cc *cdcCols) expectations(m *Model) []Expectation {
	rules := slices.Clone(m.Expectations)
	var keys, seq []string
	for _, k := range cc.keys {
		keys = append(keys, cc.q(k)+" IS NOT NULL")
	}
	for _, s := range cc.seq {
		seq = append(seq, cc.q(s)+" IS NOT NULL")
	}
	rules = append(rules,
		Expectation{Name: keysNotNull, Expr: "(" + strings.Join(keys, " AND ") + ") OR " + cc.trunc, Action: Quarantine},
		Expectation{Name: sequenceNotNull, Expr: strings.Join(seq, " AND "), Action: Quarantine})
	return rules
}

// cdc runs a CDC model (see CDC). The table is a function of every change
// row the model's SQL yields: each run recomputes the history of the keys
// its inputs' new rows touch from all their change rows (all keys on the
// first run, after a truncate, or when an input was replaced), so changes
// that arrive late, twice or out of order give the same table as if they had
// arrived in order, and a rerun after a crash changes nothing. A snapshot
// model diffs the new snapshot against the table's current rows instead.
func (r *run) cdc(ctx context.Context, m *Model, tr *TableReport, tbl *delta.Table, own *delta.Snapshot, versions map[string]int64, snaps map[string]*delta.Snapshot, txns []delta.Txn, fp string) (*TableReport, error) {
	for _, d := range m.Deps {
		if err := r.materialize(ctx, d); err != nil {
			return tr, err
		}
	}
	// The columns the SQL yields.
	sqlRel, err := r.view(ctx, m.SQL)
	if err != nil {
		if ctx.Err() != nil {
			return tr, err
		}
		return tr, m.sqlError(err, 1, nil)
	}
	outSchema, err := r.relationSchema(ctx, sqlRel)
	if err != nil {
		return tr, err
	}
	cc, err := r.resolveCDC(m, outSchema, r.eng.Quote)
	if err != nil {
		return tr, err
	}
	info := map[string]any{"batch_id": r.batchID, "model": m.Name, "inputs": versions, "definition": fp, "cdc": fmt.Sprintf("scd%d", m.CDC.SCD)}
	w := writeSpec{table: m.Name, tbl: tbl, snap: own, partitionBy: m.PartitionBy, txns: txns, info: info, properties: m.Properties, rowKeys: m.Keys}
	if m.CDC.SCD == 2 {
		w.rowKeys = append(slices.Clone(m.Keys), ColStartAt) // a version of a key
	}
	if m.CDC.Snapshot {
		return r.cdcSnapshot(ctx, m, tr, cc, w)
	}

	// Which keys changed since the last run?
	filter, incremental, sqlText, newKeys, newRows := "", false, m.SQL, false, false
	var groups engine.Relation // the keys touched, when incremental
	if own != nil && !r.full(m.Name) {
		var changed []string
		for _, in := range r.tableInputs(m) {
			if v, ok := own.TxnVersion(modelTxn(m.Name, in)); !ok || v != versions[in] {
				changed = append(changed, in)
			}
		}
		byKey := *m
		byKey.IncrementalBy = m.Keys
		g, f, ok, err := r.changedGroups(ctx, &byKey, own, changed, versions, snaps)
		if err != nil {
			return tr, err
		}
		if ok && cc.trunc != "false" {
			// A new truncate changes every key.
			n, err := r.cdcNewTruncates(ctx, m, own, changed, versions, cc)
			if err != nil {
				return tr, err
			}
			if n > 0 {
				r.logf("%s: the new changes truncate the table; recomputing every key", m.Name)
				ok = false
			}
		}
		filter, incremental, groups = f, ok, g
		if incremental && m.Incremental != "" && cc.trunc == "false" && slices.Equal(changed, []string{m.Incremental}) {
			// The model's incremental input is a stream whose new rows hold
			// every change row of the keys they touch (the header says so):
			// read those rows, not the whole input. (A truncate among the
			// older rows would end the touched keys' histories too: with
			// apply_as_truncates the whole input is read.)
			last, _ := own.TxnVersion(modelTxn(m.Name, m.Incremental))
			name := newRowsName(m.Incremental)
			bound, appended, err := r.bindNewRows(ctx, m.Name, m.Incremental, name, last, versions[m.Incremental], snaps[m.Incremental])
			if err != nil {
				return tr, err
			}
			if bound {
				r.logf("%s: recomputing the touched keys from the new rows of %s", m.Name, m.Incremental)
				sqlText, newRows = replaceTableRef(m.SQL, m.Incremental, name), true
				// Appended rows only: a touched key had no change row
				// before (all of them are new rows), so the table holds
				// no row of it to replace.
				newKeys = appended
			}
		}
	}
	if incremental {
		// Every change row of the touched keys, and every truncate.
		sqlText = "SELECT * FROM (" + sqlText + ") AS __m WHERE " + filter + " OR " + cc.trunc
	}
	result, err := r.table(ctx, sqlText)
	if err != nil {
		if ctx.Err() != nil {
			return tr, err
		}
		return tr, m.sqlError(err, 1, nil)
	}
	rules := *m
	rules.Keys = nil // the CDC rules replace the plain keys rule
	rules.Expectations = cc.expectations(m)
	// Every change row of the keys it applies, unless read from the new
	// rows alone.
	checked, err := r.countAndExpect(ctx, &rules, result, tr, quarantineScope{recomputed: !newRows, own: own})
	if err != nil {
		return tr, err
	}
	if tr.quarantineTxn != nil {
		w.txns = append(w.txns, *tr.quarantineTxn)
	}
	out, err := r.keep(r.eng.ApplyChanges(ctx, checked, cc.changeSpec(m.CDC)))
	if err != nil {
		return tr, fmt.Errorf("cdc: %w", err)
	}
	if w.schema, err = r.relationSchema(ctx, out); err != nil {
		return tr, err
	}
	w.relation = out
	info["incremental"] = incremental
	var cr delta.CommitResult
	if incremental {
		w.keys = m.Keys
		cr, err = r.replaceGroups(ctx, w, groups, heldRows{known: newKeys}, tr)
	} else {
		cr, err = r.overwrite(ctx, w, tr)
	}
	if err != nil {
		return tr, err
	}
	committed(cr, tr)
	return tr, nil
}

// cdcNewTruncates counts the truncates among the rows the model's changed
// inputs gained (their changes were bound by changedGroups).
func (r *run) cdcNewTruncates(ctx context.Context, m *Model, own *delta.Snapshot, changed []string, versions map[string]int64, cc *cdcCols) (int64, error) {
	var total int64
	for _, in := range changed {
		last, _ := own.TxnVersion(modelTxn(m.Name, in))
		name := fmt.Sprintf("__chg_%s_%d_%d", strings.ReplaceAll(in, ".", "_"), last, versions[in])
		if !r.bound[name] {
			return 0, fmt.Errorf("cdc: changes of %s are not bound", in)
		}
		q, err := r.rewriteForChanges(ctx, m.SQL, in, name)
		if err != nil {
			return 0, err
		}
		res, err := r.eng.Query(ctx, "SELECT count(*) FROM ("+q+") AS __m WHERE "+cc.trunc)
		if err != nil {
			return 0, fmt.Errorf("cdc: apply_as_truncates: %w", err)
		}
		total += engine.Int64(res.Rows[0][0])
	}
	return total, nil
}

// changeSpec is the engine's ApplyChanges spec of the model (see
// engine.ChangeSpec for the order of changes and SCD 1 and 2).
func (cc *cdcCols) changeSpec(c *CDC) engine.ChangeSpec {
	return engine.ChangeSpec{SCD: c.SCD, Keys: cc.keys, Sequence: cc.seq, Arrival: cc.arrival, Columns: cc.data, Tracked: cc.tracked,
		Delete: c.ApplyAsDeletes, Truncate: c.ApplyAsTruncates, StartAt: ColStartAt, EndAt: ColEndAt}
}

// cdcSnapshot applies a snapshot model: the new snapshot (every row the SQL
// yields, all with one sequence value: the greatest sequence_by value among
// them) is compared with the table's current rows.
//
// SCD 1: the table becomes the snapshot. SCD 2: a key missing from the
// snapshot has its open row closed; a key whose tracked columns changed has
// its open row closed and a new one opened at the snapshot's sequence
// value; a key whose other columns changed has its open row updated in
// place; a new key gets an open row. A snapshot whose sequence value is not
// after every one the table holds is older than what was applied: it is
// skipped and its input version recorded. An empty snapshot is skipped too
// (a lost or truncated file must not delete every key).
func (r *run) cdcSnapshot(ctx context.Context, m *Model, tr *TableReport, cc *cdcCols, w writeSpec) (*TableReport, error) {
	result, err := r.table(ctx, m.SQL)
	if err != nil {
		if ctx.Err() != nil {
			return tr, err
		}
		return tr, m.sqlError(err, 1, nil)
	}
	rules := *m
	rules.Keys = nil // the CDC rules replace the plain keys rule
	rules.Expectations = cc.expectations(m)
	checked, err := r.expect(ctx, &rules, result, tr, quarantineScope{recomputed: true}) // the whole snapshot
	if err != nil {
		return tr, err
	}
	k := cc.joinIdents("", cc.keys)
	res, err := r.eng.Query(ctx, "SELECT count(*), (SELECT count(*) FROM (SELECT "+k+" FROM "+checked.Name+" GROUP BY "+k+" HAVING count(*) > 1) AS __d) FROM "+checked.Name)
	if err != nil {
		return tr, fmt.Errorf("cdc: %w", err)
	}
	tr.RowsIn = engine.Int64(res.Rows[0][0])
	if dups := engine.Int64(res.Rows[0][1]); dups > 0 {
		sample, _ := r.eng.Query(ctx, "SELECT "+k+" FROM "+checked.Name+" GROUP BY "+k+" HAVING count(*) > 1 LIMIT 1")
		ex := ""
		if sample != nil && len(sample.Rows) > 0 {
			ex = ": " + formatRow(sample)
		}
		return tr, fmt.Errorf("cdc: the snapshot holds %d keys more than once (a snapshot has one row per key)%s", dups, ex)
	}
	if tr.RowsIn == 0 {
		r.logf("warning: %s: the snapshot is empty; skipped (an empty snapshot does not delete every key)", m.Name)
		return r.cdcSkip(ctx, m, tr, w)
	}
	if checked, cc, err = r.keepLostColumns(ctx, m, cc, checked, w); err != nil {
		return tr, err
	}
	seq1 := cc.q(cc.seq[0])
	data := cc.joinIdents("", cc.data)
	if m.CDC.SCD == 1 {
		seq, stale, err := r.scd1SnapshotSeq(ctx, m, cc, checked, w)
		if err != nil {
			return tr, err
		}
		if stale {
			r.logf("warning: %s: the snapshot's %s is not after the last one applied; skipped", m.Name, cc.seq[0])
			return r.cdcSkip(ctx, m, tr, w)
		}
		w.properties = withProperty(w.properties, PropSnapshotSequence, seq)
		out, err := r.table(ctx, "SELECT "+data+" FROM "+checked.Name)
		if err != nil {
			return tr, fmt.Errorf("cdc: %w", err)
		}
		return r.cdcWrite(ctx, m, tr, w, out)
	}
	seqVal := "(SELECT max(" + seq1 + ") FROM " + checked.Name + ")"
	if w.snap == nil || r.refresh[m.Name] {
		// __end_at: NULL of the sequence column's type.
		q := "SELECT " + data + ", " + seqVal + " AS " + cc.q(ColStartAt) + ", CASE WHEN false THEN " + seqVal + " END AS " + cc.q(ColEndAt) + " FROM " + checked.Name
		out, err := r.table(ctx, q)
		if err != nil {
			return tr, fmt.Errorf("cdc: %w", err)
		}
		return r.cdcWrite(ctx, m, tr, w, out)
	}
	target, err := r.keep(r.eng.BindRelation(ctx, w.snap, nil))
	if err != nil {
		return tr, err
	}
	last, err := r.eng.Query(ctx, "SELECT "+seqVal+" <= (SELECT max(greatest("+cc.q(ColStartAt)+", coalesce("+cc.q(ColEndAt)+", "+cc.q(ColStartAt)+"))) FROM "+target.Name+")")
	if err != nil {
		return tr, fmt.Errorf("cdc: %w", err)
	}
	if stale, _ := last.Rows[0][0].(bool); stale {
		r.logf("warning: %s: the snapshot's %s is not after the last one applied; skipped", m.Name, cc.seq[0])
		return r.cdcSkip(ctx, m, tr, w)
	}
	// Columns the snapshot gained are added to the table: NULL in the rows
	// before, and not history (the open rows take their values in place).
	target, gained, err := r.widenTarget(ctx, cc, checked, target, w)
	if err != nil {
		return tr, err
	}
	if len(gained) > 0 {
		r.logf("%s: the snapshot adds the column(s) %s", m.Name, strings.Join(gained, ", "))
	}
	tracked := without(cc.tracked, gained)
	on := make([]string, len(cc.keys))
	for i, key := range cc.keys {
		on[i] = "p." + cc.q(key) + " = n." + cc.q(key)
	}
	same := func(cols []string) string {
		if len(cols) == 0 {
			return "true"
		}
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = "p." + cc.q(c) + " IS NOT DISTINCT FROM n." + cc.q(c)
		}
		return "(" + strings.Join(parts, " AND ") + ")"
	}
	var compared []string // every column but keys, sequence and ingestion metadata
	for _, c := range cc.data {
		if !slices.Contains(cc.keys, c) && !slices.Contains(cc.seq, c) && !isMeta(c) {
			compared = append(compared, c)
		}
	}
	st, en := cc.q(ColStartAt), cc.q(ColEndAt)
	// Portable SQL (a UNION ALL of joins, columns by position): the rows
	// that stay closed, the open rows kept or updated in place, the open
	// rows closed (the key is gone or a tracked column changed), the new
	// versions.
	inPlace := make([]string, len(cc.data))
	for i, c := range cc.data {
		inPlace[i] = "CASE WHEN " + same(compared) + " THEN p." + cc.q(c) + " ELSE n." + cc.q(c) + " END"
	}
	open := "(SELECT * FROM " + target.Name + " WHERE " + en + " IS NULL)"
	snapRows := "(SELECT " + data + " FROM " + checked.Name + ")"
	key0 := cc.q(cc.keys[0])
	q := "SELECT " + data + ", " + st + ", " + en + " FROM " + target.Name + " WHERE " + en + " IS NOT NULL" +
		"\nUNION ALL SELECT " + strings.Join(inPlace, ", ") + ", p." + st + ", p." + en + " FROM " + open + " p JOIN " + snapRows + " n ON " + strings.Join(on, " AND ") + " WHERE " + same(tracked) +
		"\nUNION ALL SELECT " + cc.joinIdents("p.", cc.data) + ", p." + st + ", " + seqVal + " FROM " + open + " p LEFT JOIN " + snapRows + " n ON " + strings.Join(on, " AND ") + " WHERE n." + key0 + " IS NULL OR NOT " + same(tracked) +
		"\nUNION ALL SELECT " + cc.joinIdents("n.", cc.data) + ", " + seqVal + ", NULL FROM " + snapRows + " n LEFT JOIN " + open + " p ON " + strings.Join(on, " AND ") + " WHERE p." + key0 + " IS NULL OR NOT " + same(tracked)
	out, err := r.table(ctx, q)
	if err != nil {
		return tr, fmt.Errorf("cdc: %w", err)
	}
	return r.cdcWrite(ctx, m, tr, w, out)
}

// cdcWrite replaces the table's rows with the rows of out.
func (r *run) cdcWrite(ctx context.Context, m *Model, tr *TableReport, w writeSpec, out engine.Relation) (*TableReport, error) {
	schema, err := r.relationSchema(ctx, out)
	if err != nil {
		return tr, err
	}
	w.schema, w.relation = schema, out
	if !r.refresh[m.Name] {
		// A snapshot that changes no row commits no rewrite (no delete and
		// insert of the same rows): only the inputs' versions.
		same, err := r.sameRows(ctx, w, out, schema)
		if err != nil {
			return tr, err
		}
		if same {
			r.logf("%s: the snapshot changes no row", m.Name)
			return r.cdcSkip(ctx, m, tr, w)
		}
	}
	cr, err := r.overwrite(ctx, w, tr)
	if err != nil {
		return tr, err
	}
	committed(cr, tr)
	return tr, nil
}

// cdcSkip records the inputs' versions (and the definition) without
// changing the table's rows, so the skipped snapshot is not looked at again.
func (r *run) cdcSkip(ctx context.Context, m *Model, tr *TableReport, w writeSpec) (*TableReport, error) {
	if w.snap == nil {
		tr.Status = StatusUpToDate
		return tr, nil
	}
	// No data: the inputs' versions, and the table's properties (an
	// unchanged snapshot's sequence value).
	cr, err := r.commitNoData(ctx, w, "CDC SNAPSHOT SKIPPED", nil, false)
	if err != nil {
		return tr, err
	}
	committed(cr, tr)
	return tr, nil
}

// checkCDC is the pre-run check of a CDC model (validate.go): its columns
// and conditions against the SQL's output (target, an empty table of it),
// which it then reshapes into the CDC table's columns for the models
// downstream.
func (r *run) checkCDC(ctx context.Context, v *validation, m *Model, target, wrapped string, cols []string) (*ModelError, error) {
	out := &delta.StructType{}
	for _, c := range cols {
		out.Fields = append(out.Fields, delta.StructField{Name: c})
	}
	cc, err := r.resolveCDC(m, out, v.eng.Quote)
	if err != nil {
		var me *ModelError
		if errors.As(err, &me) {
			return me, nil
		}
		return nil, err
	}
	for _, cond := range []struct{ key, expr string }{{"apply_as_deletes", m.CDC.ApplyAsDeletes}, {"apply_as_truncates", m.CDC.ApplyAsTruncates}} {
		if cond.expr == "" {
			continue
		}
		if _, err := v.eng.Query(ctx, "SELECT count(*) FILTER (WHERE (\n"+cond.expr+"\n)) FROM "+target); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return m.errorAt(m.headerLineOf(cond.key), fmt.Sprintf("cdc %s (%s): %s", cond.key, cond.expr, engineMessage(err, nil))), nil
		}
	}
	shape := "SELECT " + cc.joinIdents("", cc.data)
	if m.CDC.SCD == 2 {
		shape += ", " + cc.q(cc.seq[0]) + " AS " + cc.q(ColStartAt) + ", " + cc.q(cc.seq[0]) + " AS " + cc.q(ColEndAt)
	}
	if err := v.eng.BindQuery(ctx, m.Name, shape+" FROM (\n"+wrapped+"\n) AS __w", true); err != nil {
		return nil, fmt.Errorf("pipeline: validate %s: %w", m.File, err)
	}
	return nil, nil
}
