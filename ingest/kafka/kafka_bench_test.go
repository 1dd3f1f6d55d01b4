package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Benchmarks read benchRecords JSON records of about benchSize bytes from a
// 3-partition topic on a local kfake cluster (real TCP on 127.0.0.1; the
// broker runs in the benchmark's process and shares its CPUs).
const (
	benchRecords    = 200_000
	benchSize       = 200
	benchPartitions = 3
)

func benchCluster(b *testing.B) Config {
	b.Helper()
	cfg := cfgFor(kafkatest.Start(b, testTopic, benchPartitions))
	produce(b, cfg, 0, benchRecords, benchSize)
	return cfg
}

// BenchmarkFetch reads the whole topic per iteration with a new Client
// (Open, Fetch from offset 0 until every record is read, Close), in batches
// bounded as named: the same work as BenchmarkRawPoll plus batching.
func BenchmarkFetch(b *testing.B) {
	cfg := benchCluster(b)
	ctx := context.Background()
	for _, lim := range []Limits{{MaxRecords: 10_000}, {MaxRecords: 100_000}, {MaxBytes: 4 << 20}, {}} {
		name := fmt.Sprintf("records=%d/bytes=%d", lim.MaxRecords, lim.MaxBytes)
		b.Run(name, func(b *testing.B) {
			var records, batches int
			for b.Loop() {
				c, err := Open(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				from := make(map[int32]int64)
				for _, p := range c.Partitions() {
					from[p] = 0
				}
				n := 0
				for n < benchRecords {
					batch, err := c.Fetch(ctx, from, lim)
					if err != nil {
						b.Fatal(err)
					}
					n += len(batch.Records)
					batches++
					from = batch.Next
				}
				c.Close()
				if n != benchRecords {
					b.Fatalf("%d records, want %d", n, benchRecords)
				}
				records += n
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(records)/float64(batches), "records/batch")
		})
	}
}

// BenchmarkRawPoll is the reference: plain kgo polling the same records
// (a new client per iteration consuming the partitions from offset 0, with
// the same fetch sizes as Client).
func BenchmarkRawPoll(b *testing.B) {
	cfg := benchCluster(b)
	ctx := context.Background()
	var records int
	for b.Loop() {
		parts := make(map[int32]kgo.Offset, benchPartitions)
		for p := range int32(benchPartitions) {
			parts[p] = kgo.NewOffset().At(0)
		}
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(cfg.Brokers...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: parts}),
			kgo.FetchMaxPartitionBytes(4<<20),
		)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for n < benchRecords {
			fs := cl.PollFetches(ctx)
			if err := fs.Err(); err != nil {
				b.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				n++
				_ = r.Value
			})
		}
		cl.Close()
		if n != benchRecords {
			b.Fatalf("%d records, want %d", n, benchRecords)
		}
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
