package stream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

// kafkaProject writes a project whose clickstream source reads topic, with
// the built-in window models over it.
func kafkaProject(b testing.TB, brokers []string, topic string) *pipeline.Project {
	b.Helper()
	dir := b.TempDir()
	cfg := fmt.Sprintf(`name: clicks
sources:
  clickstream:
    format: json
    mode: append
    schema: {event_id: string, event_type: string, event_time: timestamp, session_id: string, customer_id: string, product_id: string}
    kafka: {brokers: ["%s"], topic: %s}
`, strings.Join(brokers, `", "`), topic)
	files := map[string]string{"medallion.yaml": cfg}
	for _, m := range []string{"clickstream_events_1m", "clickstream_conversion_1m", "active_sessions_5m"} {
		sql, err := os.ReadFile(filepath.Join("..", "pipeline", "ecommerce", "project", "models", "gold", m+".sql"))
		if err != nil {
			b.Fatal(err)
		}
		files["models/"+m+".sql"] = string(sql)
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	return proj
}

func produceEvents(b testing.TB, brokers []string, topic string, n int, start time.Time) {
	b.Helper()
	p, err := kafka.NewProducer(context.Background(), kafka.Config{Brokers: brokers, Topic: topic})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	cs := datagen.NewClickstream(datagen.ClickstreamOptions{Seed: 1, Start: start, Rate: 1000})
	for range n {
		e := cs.Next()
		if err := p.Produce(context.Background(), []byte(e.SessionID), e.JSON()); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkKafkaToBronze ingests 200,000 clickstream events from a Kafka
// broker (kfake over TCP) into bronze, exactly once, in one run (the window
// models are left out: this is the ingest path). Target ≥ 100k events/s.
// Reported with BenchmarkKafkaFetchReference: the same records merely read
// by the Kafka client.
func BenchmarkKafkaToBronze(b *testing.B) {
	const n = 200_000
	brokers := kafkatest.Start(b, "clicks", 4)
	produceEvents(b, brokers, "clicks", n, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	for b.Loop() {
		b.StopTimer()
		proj := kafkaProject(b, brokers, "clicks")
		proj.Models = nil
		b.StartTimer()
		rep, err := pipeline.Run(context.Background(), proj, pipeline.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if got := rep.Tables[0].RowsIn; got != n {
			b.Fatalf("ingested %d events, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkKafkaFetchReference reads the same 200,000 records with the
// Kafka client alone: the floor for BenchmarkKafkaToBronze.
func BenchmarkKafkaFetchReference(b *testing.B) {
	const n = 200_000
	brokers := kafkatest.Start(b, "clicks", 4)
	produceEvents(b, brokers, "clicks", n, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	for b.Loop() {
		cl, err := kafka.Open(context.Background(), kafka.Config{Brokers: brokers, Topic: "clicks"})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		from := map[int32]int64{}
		for got < n {
			batch, err := cl.Fetch(context.Background(), from, kafka.Limits{MaxWait: 200 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			got += len(batch.Records)
			from = batch.Next
		}
		cl.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFreshness1000 streams clickstream events produced at 1,000
// events/s for 10 s through a processing-time stream (100 ms) into bronze
// and the window tables, and reports the 95th percentile of freshness: the
// commit of a batch's last table minus the produce time of its oldest event.
// Target p95 ≤ 1 s.
func BenchmarkFreshness1000(b *testing.B) {
	for b.Loop() {
		brokers := kafkatest.Start(b, "clicks", 2)
		proj := kafkaProject(b, brokers, "clicks")
		ctx, cancel := context.WithCancel(context.Background())
		var fresh []time.Duration
		done := make(chan error, 1)
		go func() {
			done <- stream.Run(ctx, proj, stream.Options{Trigger: stream.ProcessingTime, Interval: 100 * time.Millisecond, CompactAfter: -1,
				OnBatch: func(r *pipeline.Report) {
					for _, t := range r.Tables {
						if t.Kind == "source" && t.RowsIn > 0 && !t.Arrival.IsZero() {
							fresh = append(fresh, r.Finished.Sub(t.Arrival))
						}
					}
				}})
		}()
		p, err := kafka.NewProducer(ctx, kafka.Config{Brokers: brokers, Topic: "clicks"})
		if err != nil {
			b.Fatal(err)
		}
		cs := datagen.NewClickstream(datagen.ClickstreamOptions{Seed: 2, Start: time.Now(), Rate: 1000})
		tick := time.NewTicker(10 * time.Millisecond)
		end := time.Now().Add(10 * time.Second)
		for time.Now().Before(end) {
			<-tick.C
			for range 10 { // 10 events every 10 ms
				e := cs.Next()
				if err := p.Produce(ctx, []byte(e.SessionID), e.JSON()); err != nil {
					b.Fatal(err)
				}
			}
		}
		tick.Stop()
		_ = p.Flush(ctx)
		time.Sleep(time.Second)
		cancel()
		<-done
		p.Close()
		if len(fresh) == 0 {
			b.Fatal("no batch ingested anything")
		}
		slices.Sort(fresh)
		p95 := fresh[len(fresh)*95/100]
		b.ReportMetric(p95.Seconds(), "p95_freshness_s")
		b.ReportMetric(fresh[len(fresh)/2].Seconds(), "p50_freshness_s")
		b.ReportMetric(float64(len(fresh)), "batches")
	}
}
