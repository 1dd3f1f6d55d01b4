package duckdb_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
)

// TestReleaseDropsInOneStatement: relations released together are dropped
// by one statement, newest first (a view before the table it reads), and
// none of them can be read afterwards; one already released is skipped.
func TestReleaseDropsInOneStatement(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds string // t: a table, v: a view over the previous relation (or a constant)
		// statements is how many statements the release runs.
		statements int
	}{
		{"one table", "t", 1},
		{"a table, a view over it, a table", "tvt", 1},
		{"views", "vvv", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var trace bytes.Buffer
			e, err := duckdb.Open(t.Context(), &duckdb.Options{MemoryLimit: "256MB", TempDir: t.TempDir(), Trace: &trace})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var rels []engine.Relation
			for _, k := range tc.kinds {
				from := "(SELECT 1 AS x)"
				if len(rels) > 0 {
					from = rels[len(rels)-1].Name
				}
				var rel engine.Relation
				if k == 't' {
					rel, err = e.Materialize(t.Context(), "SELECT * FROM "+from)
				} else {
					rel, err = e.View(t.Context(), "SELECT * FROM "+from)
				}
				if err != nil {
					t.Fatal(err)
				}
				rels = append(rels, rel)
			}
			trace.Reset()
			if err := e.Release(t.Context(), rels...); err != nil {
				t.Fatal(err)
			}
			if err := e.Release(t.Context(), rels[0]); err != nil {
				t.Fatalf("a second release: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(trace.String()), "\n")
			if len(lines) != tc.statements {
				t.Fatalf("%d statements, want %d:\n%s", len(lines), tc.statements, trace.String())
			}
			drops := regexp.MustCompile(`DROP (?:TABLE|VIEW) IF EXISTS (\S+?)(?:;|$)`).FindAllStringSubmatch(lines[0], -1)
			if len(drops) != len(rels) {
				t.Fatalf("%d drops, want %d: %s", len(drops), len(rels), lines[0])
			}
			for i, d := range drops {
				if want := rels[len(rels)-1-i].Name; d[1] != want {
					t.Errorf("drop %d: %s, want %s (newest first)", i, d[1], want)
				}
			}
			for _, r := range rels {
				if _, err := e.Query(t.Context(), "SELECT * FROM "+r.Name); err == nil {
					t.Errorf("%s can still be read", r.Name)
				}
			}
		})
	}
}
