package notify_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/ingest/notify"
)

// memQueue is an in-memory queue for the Hub's own logic; the services
// are tested against their emulators (queues_test.go).
type memQueue struct {
	mu      sync.Mutex
	next    int
	visible []notify.Message
	hidden  map[string]notify.Message
	deleted []string
}

func (q *memQueue) send(body string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	id := fmt.Sprint(q.next)
	q.visible = append(q.visible, notify.NewMessage(id, []byte(body), nil, 0, "r"+id))
}

func (q *memQueue) Receive(_ context.Context, limit int, _, _ time.Duration) ([]notify.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit, len(q.visible))
	out := slices.Clone(q.visible[:n])
	q.visible = q.visible[n:]
	for _, m := range out {
		q.hidden[m.ID] = m
	}
	return out, nil
}

func (q *memQueue) Delete(_ context.Context, msgs []notify.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		delete(q.hidden, m.ID)
		q.deleted = append(q.deleted, m.ID)
	}
	return nil
}

func (q *memQueue) Close() error { return nil }

func s3Body(key string) string {
	return fmt.Sprintf(`{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-12-03T07:00:00Z","s3":{"bucket":{"name":"b"},"object":{"key":%q,"size":1}}}]}`, key)
}

// TestHubSettlesOnlyWhatItsBatchSaw: a message that arrives after a
// batch took its files (perhaps about a newer version of one of them)
// survives that batch's Settle and is taken by the next batch.
func TestHubSettlesOnlyWhatItsBatchSaw(t *testing.T) {
	ctx := context.Background()
	q := &memQueue{hidden: map[string]notify.Message{}}
	hub, err := notify.NewHub("s3://b/raw", notify.HubOptions{Open: func(context.Context, notify.Location, notify.Config) (notify.Queue, error) { return q, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(ctx, notify.Source{Name: "orders", Path: "orders", Config: notify.Config{Queue: "q", Visibility: time.Minute, BackfillInterval: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	q.send(s3Body("raw/orders/a.csv"))
	if _, err := hub.Receive(ctx, 0); err != nil {
		t.Fatal(err)
	}
	b1, _ := hub.Take("orders")
	q.send(s3Body("raw/orders/a.csv")) // a.csv rewritten while the batch runs
	if _, err := hub.Receive(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := hub.Settle(ctx, "orders", b1.Backfill, func(k string) bool { return slices.Contains(b1.Keys, k) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.deleted, []string{"1"}) {
		t.Fatalf("deleted %v, want only message 1 (message 2 came after the batch took a.csv)", q.deleted)
	}
	b2, _ := hub.Take("orders")
	if b2.Backfill || !slices.Equal(b2.Keys, []string{"orders/a.csv"}) {
		t.Fatalf("next batch %+v, want orders/a.csv again, no backfill", b2)
	}
	if err := hub.Settle(ctx, "orders", false, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.deleted, []string{"1", "2"}) || len(q.hidden) != 0 {
		t.Fatalf("deleted %v, hidden %d; want both deleted", q.deleted, len(q.hidden))
	}
}
