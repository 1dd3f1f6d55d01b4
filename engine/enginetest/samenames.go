package enginetest

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// collidingParts are the partition values of the table collidingTable
// writes: folder names that need escaping (space, '%', '=', '+', ':', a
// non-ASCII letter) next to a plain one. Value i holds the ids 10(i+1)+1
// and 10(i+1)+2.
var collidingParts = []string{"a b", "50%", "k=v", "x+y", "12:30", "ü", "plain"}

// collidingName is the base name of the j-th data file of every partition:
// Spark names a write task's files alike in every partition folder it
// writes (part-00000-<one uuid>.c000.snappy.parquet), so a table's files
// are told apart by their paths, never by their names.
func collidingName(j int) string {
	return fmt.Sprintf("part-%05d-0b7c3d1e-5a2f-4c8e-9d61-3f0e2a4b6c8d.c000.snappy.parquet", j)
}

// collidingTable writes a table partitioned by the string column p whose
// data files, one set per value of collidingParts, have the same base
// names in every partition folder (Hive-escaped, as Spark and delta-rs
// name them; add paths percent-encoded). It returns the table, its
// snapshot after the append (version 1, change data feed enabled) and the
// add actions by partition value.
func collidingTable(t *testing.T, e engine.Engine) (*delta.Table, *delta.Snapshot, map[string][]*delta.Add) {
	t.Helper()
	ctx := t.Context()
	scratch := newStore(t)
	tbl, err := delta.OpenTable(ctx, newStore(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var schema *delta.StructType
	var adds []*delta.Add
	for i, v := range collidingParts {
		id := int64(10 * (i + 1))
		q := fmt.Sprintf("SELECT * FROM (VALUES (CAST(%d AS BIGINT), 'r%d'), (CAST(%d AS BIGINT), 'r%d')) AS v(id, name)", id+1, id+1, id+2, id+2)
		res, err := e.Write(ctx, q, engine.Target{Store: scratch})
		if err != nil {
			t.Fatalf("write %s: %v", q, err)
		}
		if len(res.Adds) == 0 {
			t.Fatalf("write %s: no file", q)
		}
		schema = res.Schema
		dir := delta.PartitionPath([]string{"p"}, map[string]*string{"p": &v})
		for j, a := range res.Adds {
			b, err := scratch.ReadAll(ctx, mustKey(t, a.Path))
			if err != nil {
				t.Fatal(err)
			}
			key := dir + "/" + collidingName(j)
			if err := tbl.Store().Write(ctx, key, b); err != nil {
				t.Fatal(err)
			}
			info, err := tbl.Store().Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			pv := v
			adds = append(adds, &delta.Add{
				Path: delta.EncodePath(key), PartitionValues: map[string]*string{"p": &pv},
				Size: info.Size, ModificationTime: info.ModTime.UnixMilli(), DataChange: true, Stats: a.Stats,
			})
		}
	}
	full := &delta.StructType{Fields: append(slices.Clone(schema.Fields), delta.StructField{Name: "p", Type: delta.Primitive(delta.TypeString), Nullable: true})}
	if _, err := tbl.Create(ctx, full, &delta.CreateOptions{PartitionColumns: []string{"p"}, Configuration: map[string]string{delta.PropEnableChangeDataFeed: "true"}}); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[string][]*delta.Add{}
	names := map[string]int{}
	for _, a := range cr.Snapshot.Files() {
		v := a.PartitionValues["p"]
		if v == nil {
			t.Fatalf("file %s has no partition value", a.Path)
		}
		byPart[*v] = append(byPart[*v], a)
		names[path.Base(mustKey(t, a.Path))]++
	}
	if len(byPart) != len(collidingParts) {
		t.Fatalf("partitions %q, want %q", keys(byPart), collidingParts)
	}
	if n := names[collidingName(0)]; n != len(collidingParts) {
		t.Fatalf("%d files named %s, want one per partition (%d)", n, collidingName(0), len(collidingParts))
	}
	return tbl, cr.Snapshot, byPart
}

// collidingRows are the rows (id|name|p) of the given partitions of the
// table collidingTable writes, ordered by id.
func collidingRows(parts ...string) []string {
	var out []string
	for i, v := range collidingParts {
		if !slices.Contains(parts, v) {
			continue
		}
		id := 10 * (i + 1)
		out = append(out, fmt.Sprintf("%d|r%d|%s", id+1, id+1, v), fmt.Sprintf("%d|r%d|%s", id+2, id+2, v))
	}
	return out
}

// filesOf are the add actions of the given partitions.
func filesOf(byPart map[string][]*delta.Add, parts ...string) []*delta.Add {
	var out []*delta.Add
	for _, v := range parts {
		out = append(out, byPart[v]...)
	}
	return out
}

// testSameNamedFiles: a partitioned table whose files in different
// partition folders have the same base name (as Spark writes them), with
// partition values that need escaping. Bind and BindRelation with a file
// subset read exactly the subset, MatchFiles returns exactly the files
// holding a matching key (by path: the same name is in every folder), and
// the change data feed of whole added and removed files holds the rows of
// exactly those files.
func testSameNamedFiles(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	tbl, snap, byPart := collidingTable(t, e)
	const sel = "SELECT id, name, p FROM "
	if err := e.Bind(ctx, "silver.same", snap, nil); err != nil {
		t.Fatal(err)
	}
	want(t, "whole table", query(t, e, sel+"silver.same ORDER BY id"), collidingRows(collidingParts...))
	t.Run("Bind", func(t *testing.T) {
		for _, sub := range [][]string{{"a b"}, {"50%"}, {"k=v", "ü"}, {"x+y", "12:30", "plain"}, {"ü"}} {
			name := strings.Join(sub, ",")
			files := filesOf(byPart, sub...)
			if err := e.Bind(ctx, "silver.same", snap, files); err != nil {
				t.Fatal(err)
			}
			want(t, "bound file subset "+name, query(t, e, sel+"silver.same ORDER BY id"), collidingRows(sub...))
			rel, err := e.BindRelation(ctx, snap, files)
			if err != nil {
				t.Fatal(err)
			}
			want(t, "bound relation of file subset "+name, query(t, e, sel+rel.Name+" ORDER BY id"), collidingRows(sub...))
			if err := e.Release(ctx, rel); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("MatchFiles", func(t *testing.T) {
		// MatchFiles by a data key: ids 21 ("50%") and 52 ("12:30"); 99 is
		// in no file.
		updates, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(21 AS BIGINT), 'u'), (CAST(52 AS BIGINT), 'u'), (CAST(99 AS BIGINT), 'u')) AS v(id, name)")
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.MatchFiles(ctx, snap, snap.Files(), []string{"id"}, updates, false)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "files holding ids 21 and 52", paths(got), paths(filesOf(byPart, "50%", "12:30")))
		// Among candidates that leave out the "50%" file of the same name.
		var candidates []*delta.Add
		for _, a := range snap.Files() {
			if *a.PartitionValues["p"] != "50%" {
				candidates = append(candidates, a)
			}
		}
		got, err = e.MatchFiles(ctx, snap, candidates, []string{"id"}, updates, false)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "files holding ids 21 and 52 among all but 50%", paths(got), paths(filesOf(byPart, "12:30")))
		// By the partition column: its values decide, escaped folders or not.
		sel2, err := e.View(ctx, "SELECT * FROM (VALUES ('x+y'), ('ü'), ('k=v'), ('nowhere')) AS v(p)")
		if err != nil {
			t.Fatal(err)
		}
		got, err = e.MatchFiles(ctx, snap, snap.Files(), []string{"p"}, sel2, true)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "files of partitions x+y, ü and k=v", paths(got), paths(filesOf(byPart, "x+y", "ü", "k=v")))
		// By the partition column and a data key.
		both, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(11 AS BIGINT), 'a b'), (CAST(62 AS BIGINT), 'ü')) AS v(id, p)")
		if err != nil {
			t.Fatal(err)
		}
		got, err = e.MatchFiles(ctx, snap, snap.Files(), []string{"p", "id"}, both, false)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "files holding (a b, 11) and (ü, 62)", paths(got), paths(filesOf(byPart, "a b", "ü")))
	})
	t.Run("ChangeFeed", func(t *testing.T) {
		// The change data feed: version 2 removes the files of "k=v" and
		// "12:30", whose names every other partition's files have too.
		tx := tbl.Begin(snap)
		for _, a := range filesOf(byPart, "k=v", "12:30") {
			tx.RemoveAdd(a, true)
		}
		cr, err := tx.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := tbl.ChangeFeed(ctx, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.BindChanges(ctx, "silver.same_changes", cr.Snapshot, feed); err != nil {
			t.Fatal(err)
		}
		var wantFeed []string
		for _, r := range collidingRows(collidingParts...) {
			wantFeed = append(wantFeed, "1|insert|"+r)
		}
		for _, r := range collidingRows("k=v", "12:30") {
			wantFeed = append(wantFeed, "2|delete|"+r)
		}
		want(t, "change feed of versions 1-2", query(t, e, "SELECT _commit_version, _change_type, id, name, p FROM silver.same_changes ORDER BY _commit_version, id"), wantFeed)
		// The feed of version 2 alone: the deletes only.
		feed, err = tbl.ChangeFeed(ctx, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.BindChanges(ctx, "silver.same_changes", cr.Snapshot, feed); err != nil {
			t.Fatal(err)
		}
		want(t, "change feed of version 2", query(t, e, "SELECT _commit_version, _change_type, id, name, p FROM silver.same_changes ORDER BY id"), wantFeed[len(collidingParts)*2:])
		// The table after the removal reads without the removed partitions.
		if err := e.Bind(ctx, "silver.same", cr.Snapshot, nil); err != nil {
			t.Fatal(err)
		}
		want(t, "table after removal", query(t, e, sel+"silver.same ORDER BY id"), collidingRows("a b", "50%", "x+y", "ü", "plain"))
	})
}
