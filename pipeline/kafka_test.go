package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/pipeline"
)

func produce(t *testing.T, brokers []string, topic string, from, n int) {
	t.Helper()
	p, err := kafka.NewProducer(t.Context(), kafka.Config{Brokers: brokers, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := from; i < from+n; i++ {
		v := fmt.Sprintf(`{"id": %d, "event_time": "2026-11-25T10:%02d:%02dZ", "event_type": "view"}`, i, (i/60)%60, i%60)
		if i%97 == 5 {
			v = `{"id": ` // a broken record: kept, not lost
		}
		if err := p.Produce(t.Context(), []byte(fmt.Sprint(i)), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSourceExactlyOnce ingests a topic over a real broker (kfake over
// TCP) in bounded runs: every record lands once, the offsets are committed
// with the rows, broken records are kept as rejected rows.
func TestKafkaSourceExactlyOnce(t *testing.T) {
	brokers := kafkatest.Start(t, "clicks", 3)
	cfg := fmt.Sprintf("name: k\nsources:\n  clicks:\n    format: json\n    schema: {event_time: timestamp}\n    kafka:\n      brokers: [%s]\n      topic: clicks\n", strings.Join(brokers, ", "))
	_, proj := writeProject(t, map[string]string{"medallion.yaml": cfg})
	produce(t, brokers, "clicks", 0, 500)
	total := int64(0)
	for i := 0; i < 10; i++ {
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{MaxRecords: 200})
		if err != nil {
			t.Fatal(err)
		}
		tr := tableReport(rep, "bronze.clicks")
		total += tr.RowsIn
		if tr.Status == pipeline.StatusUpToDate {
			break
		}
		if tr.RowsIn > 200 {
			t.Fatalf("a run read %d records, want at most 200", tr.RowsIn)
		}
	}
	if total != 500 {
		t.Fatalf("ingested %d records over the runs, want 500", total)
	}
	produce(t, brokers, "clicks", 500, 100)
	// A run takes what the broker returns in one fetch, which need not be
	// every partition's records: run until up to date.
	second := int64(0)
	for i := 0; i < 10; i++ {
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr := tableReport(rep, "bronze.clicks")
		second += tr.RowsIn
		if tr.Status == pipeline.StatusUpToDate {
			break
		}
	}
	if second != 100 {
		t.Fatalf("second burst: %d records, want 100", second)
	}
	rows := query(t, proj, `SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE _rescued_data LIKE '%_corrupt_record%'), min(_source_file) LIKE 'kafka:clicks/%' FROM bronze.clicks`)
	broken := int64(0)
	for i := 0; i < 600; i++ {
		if i%97 == 5 {
			broken++
		}
	}
	if rows[0][0] != int64(600) || rows[0][1] != 600-broken || rows[0][2] != broken || rows[0][3] != true {
		t.Fatalf("bronze: %v, want 600 rows, %d distinct ids, %d broken, kafka source names", rows[0], 600-broken, broken)
	}
}

// TestKafkaClientsPerProject: the runs of a project in one process (a
// stream's micro-batches) share one set of Kafka clients, counted as
// connections at the brokers; closing the project closes them, and a run
// after that opens a new set.
func TestKafkaClientsPerProject(t *testing.T) {
	cluster := kafkatest.StartWith(t, "clicks", kafkatest.Options{Partitions: 3})
	cfg := fmt.Sprintf("name: k\nsources:\n  clicks:\n    format: json\n    schema: {event_time: timestamp}\n    kafka:\n      brokers: [%s]\n      topic: clicks\n", strings.Join(cluster.Brokers, ", "))
	_, proj := writeProject(t, map[string]string{"medallion.yaml": cfg})
	// The producer's connections are closed before counting starts.
	produce(t, cluster.Brokers, "clicks", 0, 300)
	if err := cluster.WaitConns(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	base, _ := cluster.Conns()
	const runs = 24
	var total int64
	var afterFirst, producer int
	for i := range runs {
		if i == runs/2 {
			// Records arriving while the stream runs; the producer's
			// connections are not the project's.
			before, open := cluster.Conns()
			produce(t, cluster.Brokers, "clicks", 300, 100)
			if err := cluster.WaitConns(t.Context(), open); err != nil {
				t.Fatal(err)
			}
			after, _ := cluster.Conns()
			producer = after - before
		}
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{MaxRecords: 20})
		if err != nil {
			t.Fatal(err)
		}
		total += tableReport(rep, "bronze.clicks").RowsIn
		acc, open := cluster.Conns()
		t.Logf("run %d: %d connections accepted (%d by a producer), %d open", i+1, acc-base, producer, open)
		if i == 0 {
			afterFirst = acc
		}
	}
	if total != 400 {
		t.Fatalf("ingested %d records over %d runs, want 400", total, runs)
	}
	accepted, open := cluster.Conns()
	if open == 0 {
		t.Fatal("no connection open between runs: the runs' client was closed")
	}
	// One client per run would add at least one connection per run; one
	// client for the project adds at most its connections to brokers it
	// had not reached yet (0 to 1 measured).
	if more := accepted - afterFirst - producer; more >= runs/2 {
		t.Fatalf("%d connections opened after the first of %d runs, want the first run's client reused", more, runs)
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
	// A deadlock guard, not a timing: the brokers see the close at once.
	wait, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := cluster.WaitConns(wait, 0); err != nil {
		t.Fatalf("after Project.Close: %v", err)
	}
	// The project stays usable: a run opens a new set.
	produce(t, cluster.Brokers, "clicks", 400, 10)
	for i := 0; i < 10; i++ {
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		total += tableReport(rep, "bronze.clicks").RowsIn
		if total == 410 {
			break
		}
	}
	if total != 410 {
		t.Fatalf("after reopening: %d records in all, want 410", total)
	}
	if acc, _ := cluster.Conns(); acc == accepted {
		t.Fatal("a run after Project.Close opened no connection")
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitConns(wait, 0); err != nil {
		t.Fatalf("after the second Project.Close: %v", err)
	}
}
