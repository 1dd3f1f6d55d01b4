package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	_ "github.com/medallionhq/medallion/storage/azureblob" // az://
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// leaseLakes opens one lake per storage kind the lease must work on: local
// disk and the in-memory store (the object-store semantics every driver
// shares: create-if-absent, write, list, delete).
func leaseLakes(t *testing.T) map[string]func() *pipeline.Lake {
	t.Helper()
	dir := t.TempDir()
	mem := fmt.Sprintf("mem://lease-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	open := func(loc string) func() *pipeline.Lake {
		return func() *pipeline.Lake {
			l, err := pipeline.OpenLake(t.Context(), loc, nil)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	return map[string]func() *pipeline.Lake{"local": open(dir), "memory": open(mem)}
}

// TestLeaseExcludes has goroutines, each with its own lake handle as
// separate processes would, take the lease in turn: never two inside at
// once, and every one gets it.
func TestLeaseExcludes(t *testing.T) {
	for kind, open := range leaseLakes(t) {
		t.Run(kind, func(t *testing.T) { leaseExcludes(t, open) })
	}
}

func leaseExcludes(t *testing.T, open func() *pipeline.Lake) {
	const workers, rounds = 4, 5
	var inside, entered atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		lake := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				l, err := pipeline.AcquireLease(t.Context(), lake, pipeline.LeaseOptions{Holder: fmt.Sprintf("worker %d round %d", w, r), Expiry: time.Minute, Log: func(string) {}})
				if err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("%d holders inside at once", n)
				}
				entered.Add(1)
				time.Sleep(time.Millisecond) // widen the window a second holder would need
				inside.Add(-1)
				if err := l.Release(t.Context()); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := entered.Load(); n != workers*rounds {
		t.Fatalf("%d acquisitions, want %d", n, workers*rounds)
	}
}

// TestLeaseWaiterSaysForWhom holds the lease and starts a second process's
// acquisition: it reports that it waits, naming the holder, and proceeds
// once the lease is released.
func TestLeaseWaiterSaysForWhom(t *testing.T) {
	for kind, open := range leaseLakes(t) {
		t.Run(kind, func(t *testing.T) { leaseWaiterSaysForWhom(t, open) })
	}
}

func leaseWaiterSaysForWhom(t *testing.T, open func() *pipeline.Lake) {
	first, err := pipeline.AcquireLease(t.Context(), open(), pipeline.LeaseOptions{Holder: "medallion run first", Expiry: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 10)
	got := make(chan error, 1)
	go func() {
		l, err := pipeline.AcquireLease(t.Context(), open(), pipeline.LeaseOptions{Holder: "second", Expiry: time.Minute, Log: func(s string) { logs <- s }})
		if err == nil {
			err = l.Release(t.Context())
		}
		got <- err
	}()
	msg := <-logs
	if !strings.Contains(msg, "waiting for the writer lease") || !strings.Contains(msg, "medallion run first") {
		t.Fatalf("waiting message %q does not say it waits and for whom", msg)
	}
	select {
	case err := <-got:
		t.Fatalf("second acquisition returned while the first held the lease: %v", err)
	default:
	}
	if err := first.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := first.Release(t.Context()); err != nil {
		t.Fatalf("second release: %v", err)
	}
}

// TestLeaseExpiredHolderIsTakenOver lets a waiter whose clock has passed the
// holder's expiry take the lease over; the old holder, at its next renewal,
// finds it lost and its work context is cancelled with ErrLeaseLost.
func TestLeaseExpiredHolderIsTakenOver(t *testing.T) {
	for kind, open := range leaseLakes(t) {
		t.Run(kind, func(t *testing.T) { leaseTakenOver(t, open) })
	}
}

func leaseTakenOver(t *testing.T, open func() *pipeline.Lake) {
	old, err := pipeline.AcquireLease(t.Context(), open(), pipeline.LeaseOptions{Holder: "stalled", Expiry: 300 * time.Millisecond, Log: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(time.Hour) }
	var logs []string
	l, err := pipeline.AcquireLease(t.Context(), open(), pipeline.LeaseOptions{Holder: "next", Expiry: time.Hour, Now: later, Log: func(s string) { logs = append(logs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	if len(logs) != 1 || !strings.Contains(logs[0], "stalled") || !strings.Contains(logs[0], "taking it over") {
		t.Fatalf("take-over messages: %q", logs)
	}
	<-old.Context().Done()
	if cause := context.Cause(old.Context()); !errors.Is(cause, pipeline.ErrLeaseLost) {
		t.Fatalf("old holder's context ended with %v, want ErrLeaseLost", cause)
	}
	if err := old.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The old holder's release must not free the new holder's lease.
	waiting := make(chan string, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		_, err := pipeline.AcquireLease(ctx, open(), pipeline.LeaseOptions{Holder: "third", Expiry: time.Hour, Log: func(s string) {
			select {
			case waiting <- s:
			default:
			}
		}})
		if err == nil {
			waiting <- "acquired"
		}
	}()
	if s := <-waiting; !strings.Contains(s, "held by next") {
		t.Fatalf("third process: %q, want it to wait for the new holder", s)
	}
}

// TestLeaseExpiryFromEnvironment checks the MEDALLION_LEASE_EXPIRY setting
// and its error.
func TestLeaseExpiryFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		err  bool
	}{{"", pipeline.DefaultLeaseExpiry, false}, {"2s", 2 * time.Second, false}, {"soon", 0, true}, {"-1s", 0, true}} {
		t.Setenv(pipeline.LeaseExpiryEnv, tc.env)
		got, err := pipeline.LeaseExpiry()
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s=%q: got %v, %v", pipeline.LeaseExpiryEnv, tc.env, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), pipeline.LeaseExpiryEnv) {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}

// TestLeaseOnAzurite runs the lease's guarantees against Azure Blob Storage
// (Azurite): exclusion, waiting and take-over rest on its conditional
// create.
func TestLeaseOnAzurite(t *testing.T) {
	ctr := azuritetest.NewContainer(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", azuritetest.ConnectionString)
	for _, v := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ENDPOINT"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	for name, body := range map[string]func(*testing.T, func() *pipeline.Lake){
		"excludes": leaseExcludes, "waiter": leaseWaiterSaysForWhom, "takeover": leaseTakenOver, "turns": leaseTurns,
	} {
		t.Run(name, func(t *testing.T) {
			loc := "az://" + ctr + "/" + name + "/lake"
			body(t, func() *pipeline.Lake {
				l, err := pipeline.OpenLake(t.Context(), loc, nil)
				if err != nil {
					t.Fatal(err)
				}
				return l
			})
		})
	}
}

// TestLeaseTakesTurns has a holder release the lease and ask for it again
// at once, as a stream does between batches, while another process waits:
// the waiter, who asked first, gets it; the stream says it waits for it.
func TestLeaseTakesTurns(t *testing.T) {
	for kind, open := range leaseLakes(t) {
		t.Run(kind, func(t *testing.T) { leaseTurns(t, open) })
	}
}

func leaseTurns(t *testing.T, open func() *pipeline.Lake) {
	streamLake := open()
	batch1, err := pipeline.AcquireLease(t.Context(), streamLake, pipeline.LeaseOptions{Holder: "stream batch 1", Expiry: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 10)
	got := make(chan *pipeline.Lease, 1)
	go func() {
		l, err := pipeline.AcquireLease(t.Context(), open(), pipeline.LeaseOptions{Holder: "medallion run", Expiry: time.Minute, Log: func(s string) { waiting <- s }})
		if err != nil {
			t.Error(err)
			return
		}
		got <- l
		if err := l.Release(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if s := <-waiting; !strings.Contains(s, "stream batch 1") {
		t.Fatalf("run: %q", s)
	}
	if err := batch1.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	var logs []string
	batch2, err := pipeline.AcquireLease(t.Context(), streamLake, pipeline.LeaseOptions{Holder: "stream batch 2", Expiry: time.Minute, Log: func(s string) { logs = append(logs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer batch2.Release(context.Background())
	select {
	case <-got: // the run held the lease (and released it) before batch 2 got it
	default:
		t.Fatalf("stream batch 2 got the lease before the run that asked first (batch 2 logged %q)", logs)
	}
	if len(logs) == 0 || !strings.Contains(strings.Join(logs, "\n"), "medallion run") {
		t.Fatalf("stream batch 2 did not say it waited for the run: %q", logs)
	}
}
