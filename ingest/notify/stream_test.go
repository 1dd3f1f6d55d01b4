package notify_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

// streamWatch runs a continuous stream over the project until the test
// ends and reports each batch on a channel.
func streamWatch(t testing.TB, proj *pipeline.Project) <-chan *pipeline.Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan *pipeline.Report, 1000)
	done := make(chan error, 1)
	go func() {
		done <- stream.Run(ctx, proj, stream.Options{Trigger: stream.Continuous, Interval: time.Second, OnBatch: func(r *pipeline.Report) { batches <- r }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stream: %v", err)
		}
	})
	return batches
}

// table returns the report of table in rep, nil if absent.
func table(rep *pipeline.Report, name string) *pipeline.TableReport {
	for _, t := range rep.Tables {
		if t.Table == name {
			return t
		}
	}
	return nil
}

// TestStreamReactsToNotifications: a continuous stream over an object
// store landing ingests a file when its notification arrives, without
// listing: a file landed at the same time whose notification was lost
// stays out until the backfill.
func TestStreamReactsToNotifications(t *testing.T) {
	p := newAzureProject(t)
	proj := p.load(t)
	p.put(t, "orders/before.csv", 2, false)
	batches := streamWatch(t, proj)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// waitFor returns the first batch that committed gold.order_totals.
	waitFor := func(what string) *pipeline.Report {
		for {
			select {
			case <-ctx.Done():
				t.Fatalf("no batch committed %s", what)
			case rep := <-batches:
				if g := table(rep, "gold.order_totals"); g != nil && g.Status == pipeline.StatusOK {
					return rep
				}
			}
		}
	}
	first := waitFor("the files landed before the start (backfill listing)")
	if b := table(first, "bronze.orders"); b.Files != 1 {
		t.Fatalf("first batch read %d files, want 1 (orders/before.csv)", b.Files)
	}
	p.put(t, "orders/lost.csv", 4, false)
	p.put(t, "orders/a.csv", 3, true)
	next := waitFor("the notified file")
	if b := table(next, "bronze.orders"); b.Files != 1 {
		t.Fatalf("the batch after the notification read %d files, want 1 (orders/a.csv)", b.Files)
	}
	wantRows(t, rows(t, proj), map[string]int64{"orders/before.csv": 2, "orders/a.csv": 3})
	if n := p.be.held(t); n != 0 {
		t.Fatalf("queue holds %d messages after the batch, want 0", n)
	}
}

// TestServeReactsToNotifications runs `medallion serve` as a process of
// its own: a notified file reaches gold; a file whose notification was
// lost does not (until the backfill interval, an hour away).
func TestServeReactsToNotifications(t *testing.T) {
	p := newAzureProject(t)
	proj := p.load(t)
	p.put(t, "orders/before.csv", 2, false) // found by the start's backfill listing
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", "-C", p.dir, "--addr", "127.0.0.1:0")
	cmd.Env = clitest.ChildEnv()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		t.Logf("serve output:\n%s", out.String())
	}()
	// waitRows polls the lake (from this process) until bronze.orders has
	// want, within a generous deadline: the stream's speed is measured by
	// BenchmarkFileToGold, not here.
	waitRows := func(want map[string]int64) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			got := rows(t, proj)
			if len(got) == len(want) {
				wantRows(t, got, want)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("bronze.orders rows per file = %v, want %v", got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitRows(map[string]int64{"orders/before.csv": 2})
	p.put(t, "orders/lost.csv", 4, false)
	p.put(t, "orders/a.csv", 3, true)
	waitRows(map[string]int64{"orders/before.csv": 2, "orders/a.csv": 3})
	s, err := pipeline.OpenSession(context.Background(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(context.Background(), "SELECT orders FROM gold.order_totals")
	for i := 0; err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(5); i++ {
		// gold commits right after bronze in the same batch
		if i == 600 {
			t.Fatalf("gold.order_totals = %v (%v), want 5 orders", res, err)
		}
		time.Sleep(200 * time.Millisecond)
		if err = s.Refresh(context.Background()); err == nil {
			res, err = s.Query(context.Background(), "SELECT orders FROM gold.order_totals")
		}
	}
}
