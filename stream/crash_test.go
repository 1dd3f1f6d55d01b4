package stream_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	"github.com/medallionhq/medallion/stream"
)

const childEnv = "MEDALLION_STREAM_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	if dir := os.Getenv(kafkaChildEnv); dir != "" {
		os.Exit(runKafkaChild(dir))
	}
	os.Exit(m.Run())
}

// runChild streams the project in dir until killed.
func runChild(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	proj, err := pipeline.Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = stream.Run(ctx, proj, stream.Options{Trigger: stream.Continuous, Interval: 200 * time.Millisecond, MaxFiles: 4})
	if err != nil && err != context.Canceled {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKilledStreamLosesNothing SIGKILLs a streaming process again and again
// while order files keep landing, restarts it, and finally checks that
// every gold table equals the independent computation over all landed
// files: nothing lost, nothing counted twice.
func TestKilledStreamLosesNothing(t *testing.T) {
	src := t.TempDir()
	if _, err := datagen.Generate(t.Context(), src, datagen.Options{Orders: 1500, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	// The built-in project, with its clickstream read from a Kafka topic
	// that receives events while the stream is being killed.
	brokers := kafkatest.Start(t, "clicks", 3)
	if err := ecommerce.Init(dir); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, pipeline.ConfigFile)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(brokers))
	for i, b := range brokers {
		quoted[i] = fmt.Sprintf("%q", b)
	}
	kafkaCfg := "    kafka: {brokers: [" + strings.Join(quoted, ", ") + "], topic: clicks}\n"
	cfg = []byte(strings.Replace(string(cfg), "    format: json\n", "    format: json\n"+kafkaCfg, 1))
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(t.Context(), kafka.Config{Brokers: brokers, Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	clicks := datagen.NewClickstream(datagen.ClickstreamOptions{Seed: 3, Start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Rate: 5, LateFraction: 0.05, MaxLateness: 4 * time.Minute})
	produced := 0
	emit := func(n int) {
		for range n {
			e := clicks.Next()
			if err := producer.Produce(t.Context(), []byte(e.SessionID), e.JSON()); err != nil {
				t.Fatal(err)
			}
			produced++
		}
		if err := producer.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// Static sources land first; orders and items trickle in.
	var trickle []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, "orders"+string(filepath.Separator)) || strings.HasPrefix(rel, "order_items"+string(filepath.Separator)) {
			trickle = append(trickle, rel)
			return nil
		}
		return copyFile(filepath.Join(landing, rel), p)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(trickle)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	next := 0
	for round := 0; next < len(trickle) || round < 4; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		// A killed child leaves the writer lease held: the next one takes
		// it over once it expires, so keep the expiry short.
		cmd.Env = append(os.Environ(), childEnv+"="+dir, pipeline.LeaseExpiryEnv+"=2s")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Land a few files while it runs, then kill it mid-flight.
		for k := 0; k < 3 && next < len(trickle); k++ {
			if err := copyFile(filepath.Join(landing, trickle[next]), filepath.Join(src, trickle[next])); err != nil {
				t.Fatal(err)
			}
			next++
			emit(400) // 80 s of event time
			time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
		}
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	// A last, undisturbed pass over whatever is left.
	t.Setenv(pipeline.LeaseExpiryEnv, "2s")
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Run(t.Context(), proj, stream.Options{Trigger: stream.AvailableNow}); err != nil {
		t.Fatal(err)
	}
	want, err := goldref.Compute(t.Context(), landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range goldref.Names {
		res, err := s.Query(t.Context(), "SELECT * FROM "+name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := &goldref.Table{Name: name, Rows: res.Rows}
		for _, c := range res.Columns {
			got.Columns = append(got.Columns, c.Name)
		}
		if d := goldref.Diff(want[name], got); d != "" {
			t.Errorf("%s after the kills differs from the batch computation:\n%s", name, d)
		}
	}
	res, err := s.Query(t.Context(), "SELECT count(*), count(DISTINCT order_id) FROM bronze.orders")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != res.Rows[0][1] {
		t.Fatalf("bronze.orders holds %v rows for %v orders: an order was ingested twice", res.Rows[0][0], res.Rows[0][1])
	}
	// Every event exactly once in bronze.
	res, err = s.Query(t.Context(), "SELECT count(*), count(DISTINCT event_id) FROM bronze.clickstream")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(produced) || res.Rows[0][1] != int64(produced) {
		t.Fatalf("bronze.clickstream holds %v rows (%v distinct) for %d events produced", res.Rows[0][0], res.Rows[0][1], produced)
	}
	// The per-minute windows equal a batch computation over the same
	// events: every event not in the late table, in every window the
	// final watermark has passed — none missing, none twice.
	const batch = `SELECT date_trunc('minute', event_time) AS window_start, event_type, count(*) AS events
FROM bronze.clickstream
WHERE event_id NOT IN (SELECT event_id FROM gold.clickstream_late_events)
  AND date_trunc('minute', event_time) + INTERVAL 1 MINUTE <= (SELECT max(event_time) - INTERVAL 2 MINUTE FROM bronze.clickstream)
GROUP BY ALL`
	res, err = s.Query(t.Context(), "SELECT count(*) FROM ((SELECT window_start, event_type, events FROM gold.clickstream_events_1m EXCEPT ALL "+batch+") UNION ALL ("+batch+" EXCEPT ALL SELECT window_start, event_type, events FROM gold.clickstream_events_1m))")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(0) {
		t.Fatalf("gold.clickstream_events_1m differs from the batch computation in %v rows", res.Rows[0][0])
	}
	res, err = s.Query(t.Context(), "SELECT count(*), (SELECT count(*) FROM gold.clickstream_late_events) FROM gold.clickstream_events_1m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %v windows, %v late events", produced, res.Rows[0][0], res.Rows[0][1])
	if res.Rows[0][0] == int64(0) {
		t.Fatal("no window was finalized: the test did not exercise the windows")
	}
}

// copyFile copies src to dst atomically (a hidden temporary name, then a
// rename), as a well-behaved producer lands files.
func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
