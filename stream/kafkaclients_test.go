package stream_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

const kafkaChildEnv = "MEDALLION_STREAM_KAFKA_CHILD"

// runKafkaChild streams the project in dir in micro-batches of at most 20
// Kafka records until nothing is pending, closes the project and prints how
// many batches ran.
func runKafkaChild(dir string) int {
	proj, err := pipeline.Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	batches := 0
	err = stream.Run(context.Background(), proj, stream.Options{Trigger: stream.AvailableNow, MaxRecords: 20, OnBatch: func(*pipeline.Report) { batches++ }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := proj.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("batches %d\n", batches)
	return 0
}

// TestStreamProcessOneKafkaClientSet: a stream process (an OS process)
// running many micro-batches of a Kafka source connects to the brokers once (one client
// set for the project), not once per batch; counted at the brokers.
func TestStreamProcessOneKafkaClientSet(t *testing.T) {
	cluster := kafkatest.StartWith(t, "clicks", kafkatest.Options{Partitions: 3})
	dir := t.TempDir()
	quoted := make([]string, len(cluster.Brokers))
	for i, b := range cluster.Brokers {
		quoted[i] = fmt.Sprintf("%q", b)
	}
	cfg := fmt.Sprintf("name: k\nsources:\n  clicks:\n    format: json\n    kafka: {brokers: [%s], topic: clicks}\n", strings.Join(quoted, ", "))
	if err := os.WriteFile(dir+"/"+pipeline.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	const records = 800
	p, err := kafka.NewProducer(t.Context(), kafka.Config{Brokers: cluster.Brokers, Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range records {
		if err := p.Produce(t.Context(), []byte(fmt.Sprint(i)), fmt.Appendf(nil, `{"id": %d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := cluster.WaitConns(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	before, _ := cluster.Conns()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), kafkaChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stream process: %v", err)
	}
	var batches int
	if _, err := fmt.Sscanf(string(out), "batches %d", &batches); err != nil {
		t.Fatalf("stream process printed %q", out)
	}
	accepted, _ := cluster.Conns()
	conns := accepted - before
	t.Logf("%d micro-batches, %d broker connections", batches, conns)
	if batches < records/20 {
		t.Fatalf("%d micro-batches, want at least %d (%d records, at most 20 a batch)", batches, records/20, records)
	}
	// One client set reaches each of the 3 brokers over a few connections
	// (bootstrap, requests, fetches: 6 to 10 measured); a client per batch
	// would open at least one per batch.
	if conns == 0 || conns >= batches/2 {
		t.Fatalf("%d connections over %d micro-batches, want one client set's (fewer than %d)", conns, batches, batches/2)
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(t.Context(), "SELECT count(*), count(DISTINCT id) FROM bronze.clicks")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rows[0]) != fmt.Sprintf("[%d %d]", records, records) {
		t.Fatalf("bronze.clicks: %v, want %d distinct records", res.Rows[0], records)
	}
}
