package stream_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

// leaseGenerations is the newest generation of the lake's writer lease (each
// acquisition creates the next one), read from the lake's lease objects.
func leaseGenerations(t *testing.T, proj *pipeline.Project) int64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(proj.Resolve(proj.Config.Lake), "_medallion", "lease"))
	if err != nil {
		t.Fatal(err)
	}
	var top int64
	for _, e := range ents {
		num, ext, _ := strings.Cut(e.Name(), ".")
		if g, err := strconv.ParseInt(num, 10, 64); err == nil && ext == "json" {
			top = max(top, g)
		}
	}
	return top
}

// TestIdleStreamKeepsLease: an idle stream polling often takes the writer
// lease once for all its idle batches (no generation per poll), yet a
// writer that asks for the lease gets it while the stream runs, and the
// stream carries on after it.
func TestIdleStreamKeepsLease(t *testing.T) {
	dir, proj := newProject(t)
	land(t, dir, 0, 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	batches := make(chan *pipeline.Report, 1000)
	done := make(chan error, 1)
	go func() {
		done <- stream.Run(ctx, proj, stream.Options{Trigger: stream.ProcessingTime, Interval: time.Millisecond, OnBatch: func(r *pipeline.Report) {
			select {
			case batches <- r:
			default:
			}
		}})
	}()
	// Wait for the first file to be in gold, then for idle batches.
	for n, _ := totals(t, proj); n != 10; n, _ = totals(t, proj) {
		<-batches
	}
	idle := func(k int) {
		for i := 0; i < k; {
			if r := <-batches; !r.Changed() {
				i++
			}
		}
	}
	idle(2)
	before := leaseGenerations(t, proj)
	idle(20)
	if after := leaseGenerations(t, proj); after != before {
		t.Fatalf("20 idle batches took the writer lease %d times, want 0 (kept while idle)", after-before)
	}

	// Another writer asks for the lease: it gets it while the stream
	// runs; a file landed meanwhile is processed once it releases.
	lake, err := pipeline.OpenLake(t.Context(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := pipeline.AcquireLease(t.Context(), lake, pipeline.LeaseOptions{Holder: "test writer", Log: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	land(t, dir, 1, 10)
	if n, _ := totals(t, proj); n != 10 {
		t.Fatalf("gold counts %d rows while another writer holds the lease, want 10", n)
	}
	if err := lease.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	for n, _ := totals(t, proj); n != 20; n, _ = totals(t, proj) {
		<-batches
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("stream returned %v, want context.Canceled", err)
	}
}
