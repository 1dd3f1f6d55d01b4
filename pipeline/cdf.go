package pipeline

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// tableProperties are the Delta properties a table is to have: medallion.yaml's
// tables.properties, then the model header's properties.
func (r *run) tableProperties(w *writeSpec) map[string]string {
	props := map[string]string{}
	maps.Copy(props, r.proj.Config.Tables.Properties)
	maps.Copy(props, w.properties)
	return props
}

// configure brings an existing table's properties up to what the project
// says (a property added to medallion.yaml or a model header later): it
// returns md (or, when md is nil, a copy of the table's metadata) with the
// properties set, or md unchanged when nothing differs; turning the change
// data feed on also upgrades the protocol (w.protocol). Properties removed
// from the project stay on the table.
func (r *run) configure(w *writeSpec, md *delta.Metadata) *delta.Metadata {
	cur := w.snap.Metadata()
	if md != nil {
		cur = md
	}
	var out *delta.Metadata
	for k, v := range r.tableProperties(w) {
		if cur.Configuration[k] == v {
			continue
		}
		if out == nil {
			c := *cur
			c.Configuration = maps.Clone(cur.Configuration)
			if c.Configuration == nil {
				c.Configuration = map[string]string{}
			}
			out = &c
		}
		out.Configuration[k] = v
	}
	if out == nil {
		return md
	}
	if delta.ChangeDataFeedEnabled(out) {
		w.protocol = delta.ChangeDataFeedProtocol(w.snap.Protocol())
	}
	return out
}

// changeFeedOn reports whether writes to the table record its change data
// feed (delta.enableChangeDataFeed, on the table or about to be set).
func (r *run) changeFeedOn(w *writeSpec) bool {
	if w.snap != nil && delta.ChangeDataFeedEnabled(w.snap.Metadata()) {
		return true
	}
	return strings.EqualFold(r.tableProperties(w)[delta.PropEnableChangeDataFeed], "true")
}

// changeData writes the change data files of a commit that replaces the
// rows of old (the rows of the files it removes; the zero Relation when it
// removes none: see below) by the rows of the query newQuery (the rows of the files it
// adds), when the table's change data feed is on. A row only in the old rows
// is a delete, only in the new ones an insert; when w.rowKeys identify a
// row, a deleted and an inserted row with the same key are an update
// (update_preimage, update_postimage). It sets w.changeData to their cdc
// actions, or, when no row changed (the files were rewritten with the same
// rows), w.noDataChange.
//
// A commit that removes no file only inserts rows, and the Delta protocol
// reads the added files of a commit without cdc actions as inserts (as
// Spark writes its appends): such a commit gets no change data files, so
// the feed costs nothing on a table's creation and on appends.
func (r *run) changeData(ctx context.Context, w *writeSpec, old engine.Relation, newQuery string) error {
	if !r.changeFeedOn(w) || old.Name == "" {
		return nil
	}
	cols := make([]string, len(w.schema.Fields))
	for i, f := range w.schema.Fields {
		cols[i] = r.eng.Quote(f.Name)
	}
	sel := strings.Join(cols, ", ")
	newRel, err := r.table(ctx, "SELECT "+sel+" FROM ("+newQuery+") AS __n")
	if err != nil {
		return fmt.Errorf("change data feed: %w", err)
	}
	oldRows, newRows := "SELECT "+sel+" FROM "+old.Name, "SELECT "+sel+" FROM "+newRel.Name
	diff, err := r.diffRows(ctx, newRows, oldRows, cols, engine.Relation{})
	if err != nil {
		return fmt.Errorf("change data feed: %w", err)
	}
	ins, del, err := r.sides(ctx, diff, newRows, oldRows, cols)
	if err != nil {
		return fmt.Errorf("change data feed: %w", err)
	}
	return r.writeChangeData(ctx, w, del, ins)
}

// writeChangeData writes the change data files of a commit whose deleted
// rows are del and inserted rows ins (the table's columns, in its order),
// pairing a deleted and an inserted row of one key (w.rowKeys) as an
// update; see changeData.
func (r *run) writeChangeData(ctx context.Context, w *writeSpec, del, ins engine.Relation) error {
	match := func(other engine.Relation) string {
		if len(w.rowKeys) == 0 {
			return "false"
		}
		conds := make([]string, len(w.rowKeys))
		for i, k := range w.rowKeys {
			conds[i] = "o." + r.eng.Quote(k) + " IS NOT DISTINCT FROM c." + r.eng.Quote(k)
		}
		return "EXISTS (SELECT 1 FROM " + other.Name + " o WHERE " + strings.Join(conds, " AND ") + ")"
	}
	changes, err := r.table(ctx, "SELECT c.*, CASE WHEN "+match(ins)+" THEN "+sqlString(delta.ChangeUpdatePreimage)+" ELSE "+sqlString(delta.ChangeDelete)+" END AS "+r.eng.Quote(delta.ColChangeType)+" FROM "+del.Name+" c\n"+
		"UNION ALL SELECT c.*, CASE WHEN "+match(del)+" THEN "+sqlString(delta.ChangeUpdatePostimage)+" ELSE "+sqlString(delta.ChangeInsert)+" END FROM "+ins.Name+" c")
	if err != nil {
		return fmt.Errorf("change data feed: %w", err)
	}
	n, err := r.count(ctx, changes, "")
	if err != nil {
		return err
	}
	if n == 0 {
		w.noDataChange = true
		return nil
	}
	sub, err := w.tbl.Store().Sub(delta.ChangeDataDir)
	if err != nil {
		return err
	}
	schema := &delta.StructType{Fields: append(append([]delta.StructField{}, w.schema.Fields...),
		delta.StructField{Name: delta.ColChangeType, Type: delta.Primitive(delta.TypeString), Nullable: true})}
	// The table's target (partitions, codec) under _change_data, with
	// the change type column.
	target := r.target(*w)
	target.Store, target.Schema = sub, schema
	res, err := r.eng.Write(ctx, "SELECT * FROM "+changes.Name, target)
	if err != nil {
		return fmt.Errorf("change data feed: %w", err)
	}
	for _, a := range res.Adds {
		w.changeData = append(w.changeData, &delta.AddCDCFile{Path: delta.ChangeDataDir + "/" + a.Path, PartitionValues: a.PartitionValues, Size: a.Size})
	}
	return nil
}
