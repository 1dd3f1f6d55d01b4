package notify_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/medallionhq/medallion/ingest/notify"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// benchFiles is how many files the discovery benchmark lands
// (MEDALLION_NOTIFY_BENCH_FILES, default 100,000).
func benchFiles(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("MEDALLION_NOTIFY_BENCH_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("MEDALLION_NOTIFY_BENCH_FILES=%q: want a positive number", v)
		}
	}
	return n
}

var (
	benchOnce    sync.Once
	benchProject *azureProject
	benchErr     error
)

// landMany uploads n small files under orders/ in the project's
// container, 64 at a time.
func landMany(ctx context.Context, p *azureProject, n int) error {
	client, err := azblob.NewClientFromConnectionString(azuritetest.ConnectionString, nil)
	if err != nil {
		return err
	}
	keys := make(chan int)
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				if _, err := client.UploadBuffer(ctx, p.container, fmt.Sprintf("raw/orders/day=%03d/orders-%07d.csv", i/1000, i), []byte("order_id,amount\n1,1\n"), nil); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	for i := range n {
		select {
		case keys <- i:
		case err := <-errs:
			close(keys)
			wg.Wait()
			return err
		}
	}
	close(keys)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// BenchmarkDiscovery compares the two ways a batch finds the new files
// when many files have landed already: listing the source's folder (what
// listing: full does every run; incremental saves little when names do not
// only grow) against receiving the notifications of the new files
// (receive, then a HEAD of each file). Against Azurite (blob and queue
// services); 100 new files a batch.
func BenchmarkDiscovery(b *testing.B) {
	n := benchFiles(b)
	ctx := context.Background()
	p := newAzureProject(b)
	start := time.Now()
	if err := landMany(ctx, p, n); err != nil {
		b.Fatalf("landing %d files in Azurite: %v", n, err)
	}
	b.Logf("landed %d files in Azurite in %s", n, time.Since(start).Round(time.Millisecond))
	const fresh = 100
	b.Run(fmt.Sprintf("listing/files=%d", n), func(b *testing.B) {
		for b.Loop() {
			objs, err := p.landing.ListFrom(ctx, "orders/", "")
			if err != nil {
				b.Fatal(err)
			}
			if len(objs) != n {
				b.Fatalf("listed %d files, want %d", len(objs), n)
			}
		}
	})
	b.Run(fmt.Sprintf("notifications/files=%d/new=%d", n, fresh), func(b *testing.B) {
		proj := p.load(b)
		hub, err := pipeline.NewNotificationHub(ctx, proj, notify.HubOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer hub.Close()
		batch := 0
		for b.Loop() {
			b.StopTimer()
			batch++
			want := make([]string, fresh)
			for i := range fresh {
				idx := (batch*fresh + i) % n // an existing file, notified again
				want[i] = fmt.Sprintf("orders/day=%03d/orders-%07d.csv", idx/1000, idx)
				p.be.land(b, want[i])
			}
			slices.Sort(want)
			b.StartTimer()
			got := 0
			for got < fresh {
				k, err := hub.Receive(ctx, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				got += k
			}
			bt, err := hub.Take("orders")
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for _, k := range bt.Keys {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					if _, err := p.landing.Stat(ctx, k); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if !slices.Equal(bt.Keys, want) {
				b.Fatalf("took %d keys, want the %d notified", len(bt.Keys), len(want))
			}
			if err := hub.Settle(ctx, "orders", true, func(string) bool { return true }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

// BenchmarkFileToGold measures file created → gold commit with a
// continuous stream: a file is uploaded to Azurite (with its Event
// Grid-shaped notification queued) and the time until the batch that
// committed gold with it ends is recorded; p50 and p95 over the files (one
// at a time). For comparison, the same stream on listing: full, which polls
// the landing every second (--interval 1s) since an object store gives no
// file-system events.
func BenchmarkFileToGold(b *testing.B) {
	for _, listing := range []string{"notifications", "full"} {
		b.Run("listing="+listing, func(b *testing.B) {
			p := newAzureProject(b)
			if listing == "full" {
				cfg := filepath.Join(p.dir, "medallion.yaml")
				y, err := os.ReadFile(cfg)
				if err != nil {
					b.Fatal(err)
				}
				y = []byte(strings.Split(strings.Replace(string(y), "listing: notifications", "listing: full", 1), "    notifications:")[0])
				if err := os.WriteFile(cfg, y, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			proj := p.load(b)
			batches := streamWatch(b, proj)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			// The first batch (the backfill listing) first.
			p.put(b, "orders/warmup.csv", 1, true)
			waitGold(b, ctx, batches, "orders/warmup.csv")
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				key := fmt.Sprintf("orders/file-%05d.csv", i)
				// Files arrive at random moments, not in step with the
				// stream's batches and polls.
				b.StopTimer()
				time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
				b.StartTimer()
				t0 := time.Now()
				p.put(b, key, 10, true)
				waitGold(b, ctx, batches, key)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
			b.ReportMetric(float64(pct(0.50).Milliseconds()), "p50-ms")
			b.ReportMetric(float64(pct(0.95).Milliseconds()), "p95-ms")
			b.Logf("listing: %s: file created → gold commit over %d files: p50 %s, p95 %s, max %s", listing, len(lat), pct(0.50), pct(0.95), lat[len(lat)-1])
		})
	}
}

// waitGold waits for the batch that read key and committed gold.
func waitGold(b *testing.B, ctx context.Context, batches <-chan *pipeline.Report, key string) {
	b.Helper()
	for {
		select {
		case <-ctx.Done():
			b.Fatalf("no batch committed gold with %s", key)
		case rep := <-batches:
			if br := table(rep, "bronze.orders"); br == nil || br.Files == 0 {
				continue
			}
			if g := table(rep, "gold.order_totals"); g != nil && g.Status == pipeline.StatusOK {
				return
			}
		}
	}
}
