package spark

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// BindChanges makes name the change data feed of a table (see
// delta.Table.ChangeFeed): snap's columns, then _change_type,
// _commit_version and _commit_timestamp, as Spark's table_changes gives
// them. Spark reads the files in place: a commit's change data files
// (Parquet under _change_data/, each row with its _change_type; partition
// values from the cdc action) with its Parquet reader; the data files a
// commit without change data files added (inserts) or removed (deletes)
// through Delta at the version that holds them (the commit's for an add,
// the one before for a remove), so deletion vectors and column mapping
// apply as Delta reads them. A column snap has and an older file lacks is
// NULL.
func (e *Engine) BindChanges(ctx context.Context, name string, snap *delta.Snapshot, files []delta.ChangeFile) error {
	schema := snap.Schema()
	if len(files) == 0 {
		var cols []string
		for _, f := range schema.Fields {
			t, err := e.SQLType(f.Type)
			if err != nil {
				return fmt.Errorf("spark: bind %s: %w", name, err)
			}
			cols = append(cols, "CAST(NULL AS "+t+") AS "+backtick(f.Name))
		}
		cols = append(cols, "CAST(NULL AS STRING) AS `_change_type`", "CAST(NULL AS BIGINT) AS `_commit_version`", "CAST(NULL AS TIMESTAMP) AS `_commit_timestamp`")
		e.set(name, &relation{create: "SELECT " + strings.Join(cols, ", ") + " WHERE false"})
		return nil
	}
	type key struct {
		version int64
		kind    string
	}
	var order []key
	groups := map[key][]delta.ChangeFile{}
	for _, f := range files {
		k := key{f.Version, f.ChangeType}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	loc, err := location(snap)
	if err != nil {
		return fmt.Errorf("spark: bind %s: %w", name, err)
	}
	var parts []string
	for _, k := range order {
		g := groups[k]
		ts, err := e.Literal(g[0].Timestamp)
		if err != nil {
			return err
		}
		meta := fmt.Sprintf("CAST(%dL AS BIGINT) AS `_commit_version`, %s AS `_commit_timestamp`", k.version, ts)
		if k.kind == "" {
			// Change data files: one part per file (its partition values).
			for _, f := range g {
				p, err := e.changeDataPart(ctx, snap, loc, f.File, meta)
				if err != nil {
					return fmt.Errorf("spark: bind %s: change data of version %d: %w", name, k.version, err)
				}
				parts = append(parts, p)
			}
			continue
		}
		at := k.version
		if k.kind == delta.ChangeDelete {
			at--
		}
		adds := make([]*delta.Add, len(g))
		for i, f := range g {
			adds[i] = &delta.Add{Path: f.File.Path}
		}
		src := "SELECT * FROM delta." + backtick(loc) + " VERSION AS OF " + strconv.FormatInt(at, 10) +
			" WHERE " + inFilesSQL(adds)
		have, err := e.sparkColumns(ctx, src)
		if err != nil {
			return fmt.Errorf("spark: bind %s: files of version %d: %w", name, k.version, err)
		}
		sel, err := e.feedColumns(schema, have, nil, nil)
		if err != nil {
			return fmt.Errorf("spark: bind %s: %w", name, err)
		}
		parts = append(parts, "SELECT "+sel+", "+sparkString(k.kind)+" AS `_change_type`, "+meta+" FROM ("+src+") AS __f")
	}
	e.set(name, &relation{create: strings.Join(parts, "\nUNION ALL\n")})
	return nil
}

// changeDataPart is the SELECT of one change data file.
func (e *Engine) changeDataPart(ctx context.Context, snap *delta.Snapshot, loc string, f *delta.Add, meta string) (string, error) {
	rel, err := url.PathUnescape(f.Path)
	if err != nil {
		rel = f.Path
	}
	src := "SELECT * FROM parquet." + backtick(loc+"/"+rel)
	have, err := e.sparkColumns(ctx, src)
	if err != nil {
		return "", err
	}
	parts := map[string]bool{}
	for _, p := range snap.PartitionColumns() {
		parts[strings.ToLower(p)] = true
	}
	sel, err := e.feedColumns(snap.Schema(), have, parts, f.PartitionValues)
	if err != nil {
		return "", err
	}
	return "SELECT " + sel + ", CAST(`_change_type` AS STRING) AS `_change_type`, " + meta + " FROM (" + src + ") AS __f", nil
}

// feedColumns selects schema's columns from a file's columns have, by
// physical name, cast to their types: a partition column (parts) from the
// file's partition values, a column the file lacks as NULL.
func (e *Engine) feedColumns(schema *delta.StructType, have []engine.Column, parts map[string]bool, values map[string]*string) (string, error) {
	present := map[string]string{}
	for _, c := range have {
		present[strings.ToLower(c.Name)] = c.Name
	}
	var cols []string
	for _, f := range schema.Fields {
		t, err := e.SQLType(f.Type)
		if err != nil {
			return "", err
		}
		phys := f.PhysicalName()
		switch {
		case parts[strings.ToLower(f.Name)]:
			v := values[phys]
			if v == nil {
				v = values[f.Name]
			}
			lit := "NULL"
			if v != nil {
				lit = sparkString(*v)
			}
			cols = append(cols, "CAST("+lit+" AS "+t+") AS "+backtick(f.Name))
		case present[strings.ToLower(f.Name)] != "":
			cols = append(cols, "CAST(__f."+backtick(present[strings.ToLower(f.Name)])+" AS "+t+") AS "+backtick(f.Name))
		case present[strings.ToLower(phys)] != "":
			cols = append(cols, "CAST(__f."+backtick(present[strings.ToLower(phys)])+" AS "+t+") AS "+backtick(f.Name))
		default:
			cols = append(cols, "CAST(NULL AS "+t+") AS "+backtick(f.Name))
		}
	}
	return strings.Join(cols, ", "), nil
}
