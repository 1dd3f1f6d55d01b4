package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// BindChanges creates the view name over a table's change data feed (see
// delta.Table.ChangeFeed): the columns of snap's schema followed by
// _change_type, _commit_version and _commit_timestamp, as Spark's
// table_changes gives them. A cdc file's rows carry their own change type;
// a data file added or removed in a commit without cdc files is all
// inserts or all deletes (a removed file without the rows its deletion
// vector had already deleted).
func (e *Engine) BindChanges(ctx context.Context, name string, snap *delta.Snapshot, files []delta.ChangeFile) error {
	tsType, err := SQLType(delta.Primitive(delta.TypeTimestamp))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		body, err := emptySQL(snap.Schema())
		if err != nil {
			return fmt.Errorf("duckdb: bind %s: %w", name, err)
		}
		body = strings.Replace(body, " WHERE false", ", CAST(NULL AS VARCHAR) AS _change_type, CAST(NULL AS BIGINT) AS _commit_version, CAST(NULL AS "+tsType+") AS _commit_timestamp WHERE false", 1)
		return e.createView(ctx, name, body)
	}
	type key struct {
		version int64
		kind    string
	}
	var order []key
	groups := map[key][]*delta.Add{}
	ts := map[int64]string{}
	for _, f := range files {
		k := key{f.Version, f.ChangeType}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f.File)
		ts[f.Version] = f.Timestamp.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	}
	var parts []string
	for _, k := range order {
		ct := "CAST(" + quoteIdent("_change_type") + " AS VARCHAR)"
		if k.kind != "" {
			ct = quoteString(k.kind)
		}
		extra := []string{
			ct + " AS _change_type",
			"CAST(" + strconv.FormatInt(k.version, 10) + " AS BIGINT) AS _commit_version",
			"CAST(" + quoteString(ts[k.version]) + " AS " + tsType + ") AS _commit_timestamp",
		}
		body, err := e.snapshotSQLWith(ctx, snap, groups[k], extra)
		if err != nil {
			return fmt.Errorf("duckdb: bind %s: %w", name, err)
		}
		parts = append(parts, body)
	}
	return e.createView(ctx, name, strings.Join(parts, "\nUNION ALL\n"))
}
