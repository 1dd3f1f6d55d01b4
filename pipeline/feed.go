package pipeline

import (
	"context"
	"errors"
	"strings"

	"github.com/medallionhq/medallion/delta"
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
// logged when the table has the feed on now.
func (r *run) bindFeed(ctx context.Context, model, table, name string, tbl *delta.Table, from, to int64, snap *delta.Snapshot) (bool, error) {
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
	if err := r.eng.BindQuery(ctx, name, "SELECT "+strings.Join(cols, ", ")+" FROM "+raw, false); err != nil {
		return false, err
	}
	cdcFiles := 0
	for _, f := range files {
		if f.ChangeType == "" {
			cdcFiles++
		}
	}
	r.logf("%s: changed rows of %s (versions %d to %d) from its change data feed: %d files, %d of them change data files", model, table, from+1, to, len(files), cdcFiles)
	return true, nil
}
