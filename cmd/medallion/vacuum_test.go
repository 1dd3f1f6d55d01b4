package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
)

// TestVacuumBesideWriters runs `vacuum --force --retention 0h` over every
// table again and again while `run` and `optimize` processes write and
// files land. After each vacuum round — holding the writer lease, so that
// the check sees a settled lake — no table's active file is missing, and
// `tables` and a query of every table succeed.
func TestVacuumBesideWriters(t *testing.T) {
	src := t.TempDir()
	mustMedallion(t, nil, "generate", "--out", src, "--orders", "900", "--seed", "9")
	static, trickle := landingFiles(t, src)
	dir := filepath.Join(t.TempDir(), "proj")
	mustMedallion(t, nil, "init", dir)
	landing := filepath.Join(dir, "landing")
	land(t, landing, src, static)
	drops := chunks(trickle, 5)
	land(t, landing, src, drops[0])
	mustMedallion(t, nil, "run", "-C", dir)
	targets := []string{"bronze.order_items", "silver.orders", "silver.order_items", "gold.daily_revenue"}

	stop := make(chan struct{})
	done := make(chan struct{}, 1)
	results := make(chan []result, 1)
	go func() {
		results <- runLoops(t, nil, stop, done,
			[]string{"run", "-C", dir},
			[]string{"optimize", "-C", dir, "--target-size", "1000000", "silver.order_items"},
			[]string{"optimize", "-C", dir, "--target-size", "1000000", "bronze.order_items"})
	}()
	var vacuumed int
	for _, d := range drops[1:] {
		land(t, landing, src, d)
		// Let a writer process end after the drop (leaving files for
		// vacuum) while the others are midway.
		<-done
		<-done
		for _, tbl := range targets {
			r := mustMedallion(t, nil, "vacuum", "-C", dir, "--force", "--retention", "0h", tbl)
			vacuumed += strings.Count(r.stdout, ".parquet")
		}
		checkLake(t, dir)
	}
	close(stop)
	for _, r := range <-results {
		if r.err != nil {
			t.Error(r)
		}
	}
	mustMedallion(t, nil, "run", "-C", dir)
	checkLake(t, dir)
	checkGoldref(t, dir)
	t.Logf("vacuum deleted %d files beside the writers", vacuumed)
	if vacuumed == 0 {
		t.Fatal("vacuum never deleted a file: the test did not exercise it")
	}
}

// checkLake holds the writer lease while it checks that no table misses an
// active file and that `tables` and a count of every table succeed in
// separate processes.
func checkLake(t *testing.T, dir string) {
	t.Helper()
	ctx := t.Context()
	lake, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := pipeline.AcquireLease(ctx, lake, pipeline.LeaseOptions{Holder: "test check", Log: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	names, err := lake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		tbl, err := lake.Table(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := tbl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		missing, err := tbl.MissingFiles(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Fatalf("%s version %d: active file %s is missing", n, snap.Version(), missing[0].Path)
		}
		mustMedallion(t, nil, "query", "-C", dir, "SELECT count(*) FROM "+n)
	}
	mustMedallion(t, nil, "tables", "-C", dir)
}

// TestDamagedTableIsNamedWithItsRepair deletes an active file of
// silver.order_items behind the lake's back: queries of other tables still
// work, a query of the damaged table and the next run fail naming it and
// the repair command, and after `medallion repair` and a full refresh of it
// and what reads it, gold is right again.
func TestDamagedTableIsNamedWithItsRepair(t *testing.T) {
	src := t.TempDir()
	mustMedallion(t, nil, "generate", "--out", src, "--orders", "400", "--seed", "3")
	static, trickle := landingFiles(t, src)
	dir := filepath.Join(t.TempDir(), "proj")
	mustMedallion(t, nil, "init", dir)
	landing := filepath.Join(dir, "landing")
	land(t, landing, src, static)
	drops := chunks(trickle, 2)
	land(t, landing, src, drops[0])
	mustMedallion(t, nil, "run", "-C", dir)

	ctx := t.Context()
	lake, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx, "silver.order_items")
	if err != nil || snap == nil || snap.NumFiles() == 0 {
		t.Fatalf("silver.order_items: %v", err)
	}
	key, err := delta.FileKey(snap.Files()[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "lake", "silver", "order_items", filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}

	mustMedallion(t, nil, "query", "-C", dir, "SELECT * FROM gold.total_revenue")
	mustMedallion(t, nil, "query", "-C", dir, "SELECT count(*) FROM silver.orders")
	mustMedallion(t, nil, "tables", "-C", dir)
	const hint = "medallion repair silver.order_items"
	for _, args := range [][]string{
		{"query", "-C", dir, "SELECT count(*) FROM silver.order_items"},
		{"run", "-C", dir},
	} {
		if args[0] == "run" {
			land(t, landing, src, drops[1])
		}
		r := medallion(t, nil, args...)
		if r.err == nil || !strings.Contains(r.stderr, "silver.order_items is damaged") || !strings.Contains(r.stderr, hint) {
			t.Fatalf("want a failure naming the damaged table and %q:\n%s", hint, r)
		}
	}
	r := mustMedallion(t, nil, "repair", "-C", dir, "silver.order_items")
	if !strings.Contains(r.stdout, filepath.Base(key)) {
		t.Fatalf("repair does not list the missing file:\n%s", r)
	}
	mustMedallion(t, nil, "run", "-C", dir)
	mustMedallion(t, nil, "run", "-C", dir, "--full-refresh", "--select", "silver.order_items+")
	mustMedallion(t, nil, "query", "-C", dir, "SELECT count(*) FROM silver.order_items")
	checkGoldref(t, dir)
}
