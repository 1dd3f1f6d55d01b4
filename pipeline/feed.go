package pipeline

import (
	"context"
	"errors"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// bindFeed binds name to the rows that changed in table between versions
// from (exclusive) and to, read from the table's change data feed: every
// row the feed records — inserts and update post-images (where rows are
// now) and deletes and update pre-images (where they were, so that the
// groups they left are recomputed too) — with the table's columns at snap.
// It reports false, leaving name unbound, when the table has no feed for
// the whole range (the feed was off for a version, a commit or a change
// file is gone, the engine cannot read feeds); the caller then finds the
// changed rows in the added and removed data files. That fallback is
// logged when the table has the feed on now. With newOnly, name holds only
// the rows as they are now (inserts and update post-images): what a model
// that reads the table as a stream (incremental) merges.
func (r *run) bindFeed(ctx context.Context, model, table, name string, tbl *delta.Table, from, to int64, snap *delta.Snapshot, newOnly bool) (bool, error) {
	if snap == nil || to <= from || !delta.ChangeDataFeedEnabled(snap.Metadata()) {
		return false, nil
	}
	fallback := func(err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		r.logf("%s: the change data feed of %s does not cover versions %d to %d (%v); reading its changed files instead", model, table, from+1, to, err)
		return false, nil
	}
	files, err := tbl.ChangeFeed(ctx, from+1, to)
	switch {
	case errors.Is(err, delta.ErrChangeDataFeedOff), errors.Is(err, delta.ErrVersionNotFound), errors.Is(err, delta.ErrChangeDataGone):
		return fallback(err)
	case err != nil:
		return false, err
	}
	raw := name + "_feed"
	if err := r.eng.BindChanges(ctx, raw, snap, files); err != nil {
		return fallback(err)
	}
	cols := make([]string, len(snap.Schema().Fields))
	for i, f := range snap.Schema().Fields {
		cols[i] = r.eng.Quote(f.Name)
	}
	sel := "SELECT " + strings.Join(cols, ", ") + " FROM " + raw
	if newOnly {
		isNew := delta.ColChangeType + " IN (" + sqlString(delta.ChangeInsert) + ", " + sqlString(delta.ChangeUpdatePostimage) + ")"
		res, err := r.eng.Query(ctx, "SELECT count(*) FROM "+raw+" WHERE NOT "+isNew)
		if err != nil {
			return false, err
		}
		keys := r.rowKeysOf(table)
		switch {
		case engine.Int64(res.Rows[0][0]) == 0:
			// Only inserts (appends): every one is a new row, as the
			// added files are.
			sel += " WHERE " + isNew
		case len(keys) == 0:
			// Without keys a row changed twice in the range cannot be told
			// from two rows.
			return fallback(errors.New("it updates or deletes rows of a table without keys"))
		default:
			// A key's row as it is at the end of the range: its last change,
			// when that is an insert or an update's post-image.
			qk := make([]string, len(keys))
			for i, k := range keys {
				qk[i] = r.eng.Quote(k)
			}
			sel = "SELECT " + strings.Join(cols, ", ") + " FROM (SELECT *, row_number() OVER (PARTITION BY " + strings.Join(qk, ", ") +
				" ORDER BY _commit_version DESC, CASE WHEN " + isNew + " THEN 0 ELSE 1 END) AS __feed_rn FROM " + raw + ") AS __f WHERE __feed_rn = 1 AND " + isNew
		}
	}
	if err := r.eng.BindQuery(ctx, name, sel, false); err != nil {
		return false, err
	}
	if r.feeds == nil {
		r.feeds = map[string]string{}
	}
	r.feeds[name] = raw
	cdcFiles := 0
	for _, f := range files {
		if f.ChangeType == "" {
			cdcFiles++
		}
	}
	r.logf("%s: changed rows of %s (versions %d to %d) from its change data feed: %d files, %d of them change data files", model, table, from+1, to, len(files), cdcFiles)
	return true, nil
}

// feedInsertsOnly reports whether the changes relation name was bound
// from its table's change data feed and every change in it is an insert:
// rows were only added, even where files were rewritten (a partition
// recomputed with the rows it held and new ones).
func (r *run) feedInsertsOnly(ctx context.Context, name string) (bool, error) {
	raw, ok := r.feeds[name]
	if !ok {
		return false, nil
	}
	if only, ok := r.feedInserts[name]; ok {
		return only, nil
	}
	res, err := r.eng.Query(ctx, "SELECT count(*) FROM "+raw+" WHERE "+delta.ColChangeType+" <> "+sqlString(delta.ChangeInsert))
	if err != nil {
		return false, err
	}
	if r.feedInserts == nil {
		r.feedInserts = map[string]bool{}
	}
	r.feedInserts[name] = engine.Int64(res.Rows[0][0]) == 0
	return r.feedInserts[name], nil
}

// rowKeysOf names the columns that identify a row of a lake table: a
// source's keys, a model's keys (with __start_at for an SCD 2 table), or
// none.
func (r *run) rowKeysOf(table string) []string {
	for _, s := range r.proj.Sources {
		if s.Table == table {
			return s.Keys
		}
	}
	if m := r.proj.Model(table); m != nil {
		if m.CDC != nil && m.CDC.SCD == 2 {
			return append(append([]string{}, m.Keys...), ColStartAt)
		}
		return m.Keys
	}
	return nil
}
