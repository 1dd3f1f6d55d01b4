package kafka

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
)

// TestClientsShareAndClose: a set hands out one client per configuration,
// opens no connection for a configuration it already has, and closes every
// connection on Close, after which Get fails.
func TestClientsShareAndClose(t *testing.T) {
	cluster := kafkatest.StartWith(t, testTopic, kafkatest.Options{Partitions: 2})
	ctx := testCtx(t)
	var set Clients
	a, err := set.Get(ctx, cfgFor(cluster.Brokers))
	if err != nil {
		t.Fatal(err)
	}
	accepted, _ := cluster.Conns()
	if accepted == 0 {
		t.Fatal("the first Get opened no connection")
	}
	tests := []struct {
		name string
		cfg  Config
		same bool
	}{
		{"same configuration", cfgFor(cluster.Brokers), true},
		{"another start position", func() Config { c := cfgFor(cluster.Brokers); c.StartFrom = StartLatest; return c }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := set.Get(ctx, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if (c == a) != tt.same {
				t.Fatalf("same client: %t, want %t", c == a, tt.same)
			}
		})
	}
	if set.Len() != 2 {
		t.Fatalf("%d clients in the set, want 2", set.Len())
	}
	_, open := cluster.Conns()
	if open == 0 {
		t.Fatal("no connection open before Close")
	}
	set.Close()
	if err := cluster.WaitConns(ctx, 0); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := set.Get(ctx, cfgFor(cluster.Brokers)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := a.Fetch(ctx, nil, Limits{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Fetch of a closed client: %v, want ErrClosed", err)
	}
}

// TestClientsUnreachableBrokerDoesNotBlockOthers: while one source's client
// is being opened against a broker that accepts connections and never
// answers, a Get for another configuration (the test broker) returns its
// client; the stuck Get returns when its context is cancelled, and the next
// Get of that configuration tries again.
func TestClientsUnreachableBrokerDoesNotBlockOthers(t *testing.T) {
	cluster := kafkatest.StartWith(t, testTopic, kafkatest.Options{Partitions: 1})
	ctx := testCtx(t)
	silent, accepted := silentListener(t)
	var set Clients
	defer set.Close()

	stuckCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stuck := make(chan error, 1)
	go func() {
		_, err := set.Get(stuckCtx, cfgFor([]string{silent}))
		stuck <- err
	}()
	select {
	case <-accepted:
	case err := <-stuck:
		t.Fatalf("Get of the silent broker returned before connecting: %v", err)
	}
	c, err := set.Get(ctx, cfgFor(cluster.Brokers))
	if err != nil {
		t.Fatalf("Get of the test broker while another is stuck: %v", err)
	}
	if c.Partitions() == nil {
		t.Fatal("the test broker's client lists no partition")
	}
	select {
	case err := <-stuck:
		t.Fatalf("the silent broker's Get returned (%v) before the other's: the test proves nothing", err)
	default:
	}
	cancel()
	if err := <-stuck; err == nil {
		t.Fatal("Get of the silent broker succeeded")
	}
	if set.Len() != 1 {
		t.Fatalf("%d clients open, want 1 (the failed open is forgotten)", set.Len())
	}
	// A failed open is not cached: the next Get opens again (and waits
	// for a silent broker only as long as its own context allows).
	again, cancel2 := context.WithCancel(ctx)
	go func() { <-accepted; cancel2() }()
	if _, err := set.Get(again, cfgFor([]string{silent})); err == nil {
		t.Fatal("second Get of the silent broker succeeded")
	}
}

// silentListener listens on a local port, accepts connections and never
// answers; accepted receives once per connection.
func silentListener(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}
