package ecommerce_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	"github.com/medallionhq/medallion/storage"
	_ "github.com/medallionhq/medallion/storage/azureblob" // az://
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// TestPipelineOnAzurite runs the whole e-commerce pipeline with its landing
// zone and its lake in Azure Blob Storage (Azurite): files are discovered by
// listing the container, read through the local cache, tables are written
// with conditional creates; every gold table must equal the independent
// computation, before and after one more file lands.
func TestPipelineOnAzurite(t *testing.T) {
	ctr := azuritetest.NewContainer(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", azuritetest.ConnectionString)
	for _, v := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ENDPOINT"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	ctx := t.Context()
	local := t.TempDir()
	if _, err := datagen.Generate(ctx, local, datagen.Options{Orders: 800, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	landing, err := storage.Open(ctx, "az://"+ctr+"/landing")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(rel string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(local, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := landing.Write(ctx, filepath.ToSlash(rel), b); err != nil {
			t.Fatal(err)
		}
	}
	// Everything but the last month of orders lands first.
	var all []string
	last, lastKey := "", 0
	err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		all = append(all, rel)
		var y, m int
		if n, _ := fmt.Sscanf(filepath.ToSlash(rel), "orders/order_year=%d/order_month=%d/", &y, &m); n == 2 && y*100+m > lastKey {
			last, lastKey = rel, y*100+m
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last == "" {
		t.Fatal("no orders file generated")
	}
	for _, rel := range all {
		if rel != last {
			upload(rel)
		}
	}
	proj, err := ecommerce.Project(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proj.Config.Lake = "az://" + ctr + "/lake"
	proj.Config.Landing = "az://" + ctr + "/landing"

	check := func(landed string) {
		t.Helper()
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range rep.Tables {
			if tr.Status == pipeline.StatusFailed {
				t.Fatalf("%s failed: %s", tr.Table, tr.Error)
			}
		}
		want, err := goldref.Compute(ctx, landed, goldref.DefaultOptions)
		if err != nil {
			t.Fatal(err)
		}
		s, err := pipeline.OpenSession(ctx, proj)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, name := range goldref.Names {
			res, err := s.Query(ctx, "SELECT * FROM "+name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := &goldref.Table{Name: name, Rows: res.Rows}
			for _, c := range res.Columns {
				got.Columns = append(got.Columns, c.Name)
			}
			if d := goldref.Diff(want[name], got); d != "" {
				t.Errorf("%s on Azurite differs from the independent computation:\n%s", name, d)
			}
		}
	}
	// goldref reads a local copy of exactly what has landed.
	mirror := t.TempDir()
	for _, rel := range all {
		if rel == last {
			continue
		}
		copyTo(t, filepath.Join(mirror, rel), filepath.Join(local, rel))
	}
	check(mirror)
	upload(last)
	copyTo(t, filepath.Join(mirror, last), filepath.Join(local, last))
	check(mirror)
	// The tables are in the container, as Delta logs.
	lake, err := storage.Open(ctx, "az://"+ctr+"/lake")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := lake.List(ctx, "gold/daily_revenue/_delta_log/")
	if err != nil || len(objs) < 2 {
		t.Fatalf("gold.daily_revenue's log in Azure: %d objects, %v", len(objs), err)
	}
}

func copyTo(t *testing.T, dst, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
