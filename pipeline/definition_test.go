package pipeline_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

var fingerprintProject = map[string]string{
	"medallion.yaml": "name: fp\nvars: {rate: 2, unused: 1}\nsources:\n  items: {}\n",
	"models/silver/items.sql": "-- name: silver.items\n-- description: typed items\n-- keys: [id]\n" +
		"SELECT id, qty * ${rate} AS qty FROM bronze.items\n",
	"models/silver/big.sql": "-- name: silver.big\n-- materialized: view\nSELECT * FROM silver.items WHERE qty > 10\n",
	"models/gold/total.sql": "-- name: gold.total\nSELECT sum(qty) AS qty FROM silver.big\n",
	"models/gold/other.sql": "-- name: gold.other\nSELECT count(*) AS n FROM bronze.items\n",
}

// TestFingerprint: a model's fingerprint changes with its SQL, its header,
// the vars it uses and the models it reads (views and tables, transitively),
// and with nothing else.
func TestFingerprint(t *testing.T) {
	fps := func(files map[string]string) map[string]string {
		_, proj := writeProject(t, files)
		out := map[string]string{}
		for _, m := range proj.Models {
			out[m.Name] = proj.Fingerprint(m)
		}
		return out
	}
	base := fps(fingerprintProject)
	all := []string{"silver.items", "silver.big", "gold.total", "gold.other"}
	for _, c := range []struct {
		name, file, old, new string
		changed              []string
	}{
		{"SQL", "models/silver/items.sql", "qty * ${rate}", "qty * ${rate} + 0", []string{"silver.items", "silver.big", "gold.total"}},
		{"a var it uses", "medallion.yaml", "rate: 2", "rate: 3", []string{"silver.items", "silver.big", "gold.total"}},
		{"a var it does not use", "medallion.yaml", "unused: 1", "unused: 5", nil},
		{"a header setting", "models/silver/items.sql", "keys: [id]", "keys: [id, qty]", []string{"silver.items", "silver.big", "gold.total"}},
		{"the description", "models/silver/items.sql", "typed items", "the typed items", nil},
		{"a view", "models/silver/big.sql", "qty > 10", "qty > 20", []string{"silver.big", "gold.total"}},
		{"a leaf", "models/gold/other.sql", "count(*)", "count(id)", []string{"gold.other"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := maps.Clone(fingerprintProject)
			if !strings.Contains(files[c.file], c.old) {
				t.Fatalf("%s lacks %q", c.file, c.old)
			}
			files[c.file] = strings.Replace(files[c.file], c.old, c.new, 1)
			got := fps(files)
			for _, m := range all {
				want := false
				for _, x := range c.changed {
					want = want || x == m
				}
				if (got[m] != base[m]) != want {
					t.Errorf("%s: fingerprint changed %v, want %v", m, got[m] != base[m], want)
				}
			}
		})
	}
}

// TestModelErrorNamesTheUsersLine: a model whose SQL does not bind fails
// the run with a ModelError at the line of the user's file, in the user's
// table names, and nothing is written.
func TestModelErrorNamesTheUsersLine(t *testing.T) {
	files := maps.Clone(fingerprintProject)
	files["landing/items/a.csv"] = "id,qty\n1,5\n2,50\n"
	dir, proj := writeProject(t, files)
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	files["models/silver/items.sql"] = "-- name: silver.items\n-- keys: [id]\n-- incremental: bronze.items\n\n" +
		"SELECT id,\n       qty * ${rate} AS qty,\n       colour\nFROM bronze.items\n"
	addFiles(t, dir, map[string]string{"models/silver/items.sql": files["models/silver/items.sql"], "landing/items/b.csv": "id,qty\n3,7\n"})
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	var merr *pipeline.ModelError
	if !errors.As(err, &merr) {
		t.Fatalf("run: %v, want a ModelError", err)
	}
	if merr.File != "models/silver/items.sql" || merr.Line != 7 || merr.Model != "silver.items" || !strings.Contains(merr.Msg, "colour") || merr.Text != "       colour" {
		t.Errorf("ModelError %+v, want models/silver/items.sql line 7 naming colour", *merr)
	}
	if strings.Contains(err.Error(), "__") {
		t.Errorf("the error shows internal names: %v", err)
	}
	for _, tr := range rep.Tables {
		if tr.Status != pipeline.StatusFailed || tr.Table != "silver.items" {
			t.Errorf("%s: %s; a run whose check failed runs no table", tr.Table, tr.Status)
		}
	}
	if rows := query(t, proj, "SELECT count(*) FROM bronze.items"); rows[0][0] != int64(2) {
		t.Errorf("bronze.items holds %v rows; the failed run ingested the waiting file", rows[0][0])
	}
}
