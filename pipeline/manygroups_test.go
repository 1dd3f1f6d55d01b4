package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestManyTouchedGroupsEqualFullRecompute: when an increment touches more
// groups than are written into the recompute as literals (64), they are
// matched as a semi-join with the touched groups' relation (an IN
// subquery, or EXISTS … IS NOT DISTINCT FROM where a group of several
// columns holds a NULL). Whether or not the touched groups include the
// NULL group, and for one group column or two, the incremental run must
// leave the model equal to its full recompute: the touched groups
// replaced, every other group (the NULL one included) kept.
func TestManyTouchedGroupsEqualFullRecompute(t *testing.T) {
	const config = `
name: shop
sources:
  items:
    schema: {a: string, b: string, qty: long}
`
	one := "SELECT nullif(a, '') AS a, count(*) AS n, sum(qty) AS qty FROM bronze.items GROUP BY 1"
	two := "SELECT nullif(a, '') AS a, nullif(b, '') AS b, count(*) AS n, sum(qty) AS qty FROM bronze.items GROUP BY 1, 2"
	// rows renders CSV rows for groups g<from>..g<to-1> (b alternating x
	// and y), each with quantity qty.
	rows := func(from, to, qty int) string {
		var sb strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&sb, "g%03d,%s,%d\n", i, []string{"x", "y"}[i%2], qty)
		}
		return sb.String()
	}
	// The first run: 200 groups, the NULL group (a empty) and, for two
	// columns, a group with b NULL.
	base := "a,b,qty\n" + rows(0, 200, 1) + ",x,7\n,x,8\ng000,,9\n"
	for _, tc := range []struct {
		name, sql, by string
		more          string // the increment's rows
	}{
		{"one column, the NULL group untouched", one, "[a]", rows(50, 150, 2)},
		{"one column, the NULL group touched", one, "[a]", rows(50, 150, 2) + ",y,3\n"},
		{"two columns, no NULL touched", two, "[a, b]", rows(50, 150, 2)},
		{"two columns, a NULL touched", two, "[a, b]", rows(50, 150, 2) + "g001,,4\n,x,5\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			_, proj := writeProject(t, map[string]string{
				"medallion.yaml":      config,
				"models/gold.sql":     "-- name: gold.by_group\n-- incremental_by: " + tc.by + "\n" + tc.sql + "\n",
				"landing/items/a.csv": base,
			})
			if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			addFiles(t, proj.Dir, map[string]string{"landing/items/b.csv": "a,b,qty\n" + tc.more})
			var mu sync.Mutex
			var log []string
			rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			if tr := tableReport(rep, "gold.by_group"); tr == nil || tr.Status != pipeline.StatusOK {
				t.Fatalf("gold.by_group after the increment: %+v", tr)
			}
			// The increment recomputed its touched groups (more than are
			// inlined as literals), not the whole model.
			if !slices.Contains(log, "gold.by_group: more than 64 groups touched by changes") {
				t.Fatalf("the run did not recompute more than 64 touched groups:\n%s", strings.Join(log, "\n"))
			}
			cols := "a, n, qty"
			if tc.by != "[a]" {
				cols = "a, b, n, qty"
			}
			order := " ORDER BY a NULLS FIRST"
			if tc.by != "[a]" {
				order += ", b NULLS FIRST"
			}
			got := rowsText(query(t, proj, "SELECT "+cols+" FROM gold.by_group"+order))
			want := rowsText(query(t, proj, "SELECT "+cols+" FROM ("+tc.sql+")"+order))
			if got != want {
				t.Errorf("gold.by_group after the increment:\n%s\nfull recompute:\n%s", got, want)
			}
			// The NULL group of a and the increment's groups are there.
			if !strings.HasPrefix(want, "<nil>,") || !strings.Contains(want, "g100,") {
				t.Errorf("full recompute lacks the NULL group or g100: %s", want)
			}
		})
	}
}
