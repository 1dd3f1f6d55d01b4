package ecommerce_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestBuiltInProjectOverChangeFeed runs the built-in project with the
// change data feed on for every table while orders land again and again
// as they advance through their statuses (merges of bronze.orders and
// silver.orders that update rows and move them between groups): the gold
// models read silver.orders' changed rows from its feed, and after every
// run each incremental_by model equals its SQL computed in full.
func TestBuiltInProjectOverChangeFeed(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	landing := filepath.Join(dir, "landing")
	if _, err := datagen.Generate(ctx, src, datagen.Options{Orders: 200, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	landAllBut(t, src, landing, "orders") // orders land as they advance
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	proj.Config.Tables.Properties = map[string]string{delta.PropEnableChangeDataFeed: "true"}
	var grouped []*pipeline.Model
	for _, m := range proj.Models {
		if len(m.IncrementalBy) > 0 {
			grouped = append(grouped, m)
		}
	}
	if len(grouped) == 0 {
		t.Fatal("the built-in project has no incremental_by model")
	}
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for step, at := range []time.Time{
		datagen.DefaultStart.AddDate(0, 8, 0), datagen.DefaultStart.AddDate(0, 12, 0),
		datagen.DefaultStart.AddDate(0, 16, 0), datagen.DefaultStart.AddDate(5, 0, 0),
	} {
		now := clock.Add(time.Duration(step) * time.Hour)
		if _, err := datagen.AdvanceOrders(ctx, src, landing, at, fmt.Sprintf("as_of_%d", step)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		fed, fellBack := map[string]bool{}, []string{}
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Now: func() time.Time { return now }, Log: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			if name, _, ok := strings.Cut(s, ": changed rows of silver.orders"); ok && strings.Contains(s, "from its change data feed") {
				fed[name] = true
			}
			if strings.Contains(s, "change data feed of") && strings.Contains(s, "does not cover") {
				fellBack = append(fellBack, s)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range rep.Tables {
			if tr.Error != "" && !fromClickstream(tr.Table) { // no clickstream lands
				t.Fatalf("step %d: %s: %s", step, tr.Table, tr.Error)
			}
		}
		s, err := pipeline.OpenSession(ctx, proj)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range grouped {
			got := sortedRows(t, s, "SELECT * FROM "+m.Name, 9)
			want := sortedRows(t, s, m.SQL, 9)
			if !slices.Equal(got, want) {
				t.Errorf("step %d: %s (%d rows) differs from its SQL computed in full (%d rows); first differences:\n%s", step, m.Name, len(got), len(want), firstDiffs(got, want))
			}
		}
		s.Close()
		// The changed rows of a table are bound once a run, by the first
		// model that reads them: one gold model says so.
		if step > 0 && len(fed) == 0 {
			t.Errorf("step %d: no gold model read silver.orders' change data feed", step)
		}
		if len(fellBack) > 0 {
			t.Errorf("step %d: fell back from the feed: %v", step, fellBack)
		}
	}
}
