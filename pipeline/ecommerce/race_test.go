package ecommerce_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestRacingRunsWithoutTheLease checks the second line of defence: runs
// that do not coordinate through the writer lease (each is handed a lease of
// an unrelated lake, so none waits) race on one project while files land,
// and the commit conflict rules alone keep every layer right — no doubled
// silver row, gold equal to the independent computation. (The lease itself
// and racing CLI processes are tested in cmd/medallion; the rule that
// catches two runs of one model over the same input is pinned by
// delta.TestConflicts.)
func TestRacingRunsWithoutTheLease(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	if _, err := datagen.Generate(ctx, src, datagen.Options{Orders: 900, Seed: 13}); err != nil {
		t.Fatal(err)
	}
	var static, orders, items []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case strings.HasPrefix(rel, "orders"+string(filepath.Separator)):
			orders = append(orders, rel)
		case strings.HasPrefix(rel, "order_items"+string(filepath.Separator)):
			items = append(items, rel)
		default:
			static = append(static, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(orders)
	slices.Sort(items)
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	landAll := func(files []string) {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(landing, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(landing, filepath.Dir(f), "."+filepath.Base(f))
			if err := os.WriteFile(tmp, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(landing, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	const drops = 4
	part := func(files []string, i int) []string { return files[i*len(files)/drops : (i+1)*len(files)/drops] }
	landAll(static)
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	replans := 0
	for d := range drops {
		// Each file of the drop lands just before one more run starts:
		// the runs overlap, each seeing more of bronze than the last.
		var wg sync.WaitGroup
		for w, f := range slices.Concat(part(orders, d), part(items, d)) {
			landAll([]string{f})
			// The lease of another lake, one per run: Run does not take
			// this project's, and no run waits for another.
			other, err := pipeline.OpenLake(ctx, fmt.Sprintf("mem://race-without-lease-%d-%d", d, w), nil)
			if err != nil {
				t.Fatal(err)
			}
			lease, err := pipeline.AcquireLease(ctx, other, pipeline.LeaseOptions{Holder: "unrelated", Log: func(string) {}})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer lease.Release(context.Background())
				rep, err := pipeline.Run(lease.Context(), proj, pipeline.RunOptions{Lease: lease, Log: func(s string) {
					if strings.Contains(s, "planning again") {
						mu.Lock()
						replans++
						mu.Unlock()
					}
				}})
				if err != nil {
					t.Errorf("drop %d, run %d (%s): %v", d, w, rep.RunID, err)
				}
			})
		}
		wg.Wait()
	}
	t.Logf("%d tables planned again after a conflict", replans)
	if replans == 0 {
		t.Fatal("no commit ever conflicted: the runs did not race")
	}
	s, err := pipeline.OpenSession(ctx, proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		"SELECT count(*) - count(DISTINCT order_id) FROM silver.orders",
		"SELECT count(*) - count(DISTINCT (order_id, order_item_id)) FROM silver.order_items",
		"SELECT count(*) - count(DISTINCT (order_id, order_item_id)) FROM bronze.order_items",
	} {
		res, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows[0][0] != int64(0) {
			t.Errorf("%s: %v duplicate rows", q, res.Rows[0][0])
		}
	}
	want, err := goldref.Compute(ctx, landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range goldref.Names {
		got := readTable(t, ctx, dir, name)
		if d := goldref.Diff(want[name], got); d != "" {
			t.Errorf("%s differs from the independent computation:\n%s", name, d)
		}
	}
}
