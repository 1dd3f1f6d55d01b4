package ecommerce_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

var azureLanding struct {
	once      sync.Once
	container string
	local     string
	err       error
}

// azureSF1 uploads an SF1 landing zone (100,000 orders) to an Azurite
// container once per process.
func azureSF1(b *testing.B) (container, local string) {
	b.Helper()
	azuritetest.Need(b)
	b.Setenv("AZURE_STORAGE_CONNECTION_STRING", azuritetest.ConnectionString)
	azureLanding.once.Do(func() {
		ctx := context.Background()
		azureLanding.container = azuritetest.NewContainerForProcess()
		azureLanding.local, azureLanding.err = os.MkdirTemp("", "medallion-azure-bench")
		if azureLanding.err != nil {
			return
		}
		if _, azureLanding.err = datagen.Generate(ctx, azureLanding.local, datagen.Options{Orders: 100_000, Seed: 1}); azureLanding.err != nil {
			return
		}
		var st *storage.Store
		if st, azureLanding.err = storage.Open(ctx, "az://"+azureLanding.container+"/landing"); azureLanding.err != nil {
			return
		}
		azureLanding.err = filepath.WalkDir(azureLanding.local, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(azureLanding.local, p)
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return st.WriteFrom(ctx, filepath.ToSlash(rel), f)
		})
	})
	if azureLanding.err != nil {
		b.Fatal(azureLanding.err)
	}
	return azureLanding.container, azureLanding.local
}

// BenchmarkAzuriteSF1 runs the SF1 full refresh with landing and lake in
// Azure Blob Storage (Azurite on loopback), reading through the local cache:
// cold (an empty cache: every landing file downloaded) and warm (the landing
// files already cached). Compare with BenchmarkLocalDiskSF1.
func BenchmarkAzuriteSF1(b *testing.B) {
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			ctr, _ := azureSF1(b)
			cacheDir := filepath.Join(b.TempDir(), "cache")
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				dir := b.TempDir()
				proj, err := ecommerce.Project(dir)
				if err != nil {
					b.Fatal(err)
				}
				proj.Config.Landing = "az://" + ctr + "/landing"
				proj.Config.Lake = fmt.Sprintf("az://%s/lake-%s-%d", ctr, mode, i)
				proj.Config.Engine.CacheDir = cacheDir
				if mode == "cold" {
					proj.Config.Engine.CacheDir = filepath.Join(dir, "cache")
				} else if i == 1 {
					// Warm the cache with one untimed run.
					warm := *proj
					warm.Config.Lake = fmt.Sprintf("az://%s/lake-warmup", ctr)
					if _, err := pipeline.Run(context.Background(), &warm, pipeline.RunOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := pipeline.Run(context.Background(), proj, pipeline.RunOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLocalDiskSF1 is BenchmarkAzuriteSF1's reference: the same data,
// landing and lake on local disk.
func BenchmarkLocalDiskSF1(b *testing.B) {
	_, local := azureSF1(b)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		proj, err := ecommerce.Project(dir)
		if err != nil {
			b.Fatal(err)
		}
		proj.Config.Landing = local
		b.StartTimer()
		if _, err := pipeline.Run(context.Background(), proj, pipeline.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
