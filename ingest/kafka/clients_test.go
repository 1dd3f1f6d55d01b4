package kafka

import (
	"errors"
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
