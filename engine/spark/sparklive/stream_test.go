package sparklive_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
	"github.com/medallionhq/medallion/pipeline"
)

// streamProject copies testdata/stream into dir with the Kafka brokers and
// the engine block filled in (remote "": duckdb).
func streamProject(t *testing.T, dir string, brokers []string, remote string) {
	t.Helper()
	if err := fstree.Copy(filepath.Join("testdata", "stream"), dir); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, pipeline.ConfigFile)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(brokers))
	for i, br := range brokers {
		quoted[i] = fmt.Sprintf("%q", br)
	}
	s := strings.Replace(string(b), "BROKERS", strings.Join(quoted, ", "), 1)
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if remote != "" {
		sparktest.UseSpark(t, dir, remote)
	}
}

// streamUntil starts `medallion stream -C dir` (continuous, small
// batches) as a process of its own and SIGKILLs it in the middle of a
// micro-batch: once it reported batches micro-batches and then a table of
// the next one (or when it ended first). It returns how many batches it
// reported. land is called after each batch reported.
func streamUntil(t *testing.T, dir string, batches int, land func(batch int)) int {
	t.Helper()
	cmd := sparktest.Command(t, []string{sparktest.ShortLease}, "stream", "-C", dir, "--trigger", "continuous", "--interval", "200ms", "--max-files", "1", "--max-records", "60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Batch reports come on stdout, the tables a batch commits on stderr.
	lines := make(chan string)
	var wg sync.WaitGroup
	for _, r := range []io.Reader{out, errOut} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
	}
	go func() { wg.Wait(); close(lines) }()
	n := 0
	for line := range lines {
		if strings.HasPrefix(line, "batch ") && strings.Contains(line, "rows/s processed") {
			n++
			t.Logf("spark stream: %s", line)
			if land != nil && n <= batches {
				land(n)
			}
			continue
		}
		if n >= batches && strings.Contains(line, " ok ") {
			t.Logf("killing the stream after %q", line)
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	_ = cmd.Wait()
	return n
}

// TestStreamOnSpark runs `medallion stream` on a spark project as a
// process of its own: clickstream events from a Kafka broker over TCP and
// order files landing while it runs, in micro-batches of at most 60
// records and one file; it is SIGKILLed mid-stream, twice, and restarted.
// Every table then equals what `medallion stream` on duckdb gives for the
// same input, bronze.clickstream holds each event once, and the windowed
// gold table equals a batch computation over the events.
func TestStreamOnSpark(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	src, orders := generatedOrders(t, filepath.Join(root, "generated"), 9)
	// One partition: the events arrive in event-time order, so no event is
	// late however the batches cut, and the windows are the same on both
	// engines.
	brokers := kafkatest.Start(t, "clicks", 1)
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	streamProject(t, duckDir, brokers, "")
	streamProject(t, sparkDir, brokers, remote)

	producer, err := kafka.NewProducer(ctx, kafka.Config{Brokers: brokers, Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	// In event-time order (LateFraction -1: no late events), so which
	// events a window holds does not depend on where the batches cut.
	clicks := datagen.NewClickstream(datagen.ClickstreamOptions{Seed: 4, Start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Rate: 0.5, LateFraction: -1})
	produced := 0
	emit := func(n int) {
		for range n {
			e := clicks.Next()
			if err := producer.Produce(ctx, []byte(e.SessionID), e.JSON()); err != nil {
				t.Fatal(err)
			}
			produced++
		}
		if err := producer.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	landed := 0
	land := func() {
		if landed < len(orders) {
			rel, _ := filepath.Rel(src, orders[landed])
			if err := sparktest.CopyLanding(filepath.Join(sparkDir, "landing", rel), orders[landed]); err != nil {
				t.Fatal(err)
			}
			landed++
		}
	}
	emit(150)
	land()
	got := streamUntil(t, sparkDir, 2, func(int) { land(); emit(40) })
	t.Logf("killed the spark stream after %d batches", got)
	got = streamUntil(t, sparkDir, 2, func(int) { land(); emit(40) })
	t.Logf("killed the restarted spark stream after %d batches", got)
	for landed < len(orders) {
		land()
	}
	emit(50)
	// The rest, undisturbed; then the same input on duckdb.
	if err := fstree.Copy(filepath.Join(sparkDir, "landing"), filepath.Join(duckDir, "landing")); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{sparkDir, duckDir} {
		sparktest.Medallion(t, "stream", "-C", dir, "--trigger", "available-now", "--max-records", "100")
	}
	sparktest.LakesEqual(t, duckDir, sparkDir, []string{"bronze.orders", "bronze.clickstream", "silver.orders", "gold.orders_by_status", "gold.clickstream_events_1m"}, "after the streams",
		// Where the batches cut: a row's position in its batch, and a
		// Kafka batch's offset range (exactly once is checked below).
		pipeline.ColSeq, pipeline.ColSourceFile)

	res := sparktest.QueryLake(t, sparkDir, "SELECT count(*), count(DISTINCT event_id) FROM bronze.clickstream")
	if res.Rows[0][0] != int64(produced) || res.Rows[0][1] != int64(produced) {
		t.Fatalf("spark: bronze.clickstream holds %v rows (%v distinct) for %d events produced", res.Rows[0][0], res.Rows[0][1], produced)
	}
	const batch = `SELECT date_trunc('minute', event_time) AS window_start, event_type, count(*) AS events
FROM bronze.clickstream
WHERE date_trunc('minute', event_time) + INTERVAL 1 MINUTE <= (SELECT max(event_time) - INTERVAL 2 MINUTE FROM bronze.clickstream)
GROUP BY ALL`
	res = sparktest.QueryLake(t, sparkDir, "SELECT count(*), (SELECT count(*) FROM gold.clickstream_events_1m), (SELECT count(*) FROM gold.clickstream_late_events) FROM ((SELECT window_start, event_type, events FROM gold.clickstream_events_1m EXCEPT ALL "+batch+") UNION ALL ("+batch+" EXCEPT ALL SELECT window_start, event_type, events FROM gold.clickstream_events_1m))")
	if res.Rows[0][0] != int64(0) || res.Rows[0][1] == int64(0) || res.Rows[0][2] != int64(0) {
		t.Fatalf("spark: gold.clickstream_events_1m differs from the batch computation in %v rows (%v windows, %v late events)", res.Rows[0][0], res.Rows[0][1], res.Rows[0][2])
	}
	t.Logf("%d events, %d order files, %v windows", produced, landed, res.Rows[0][1])
}

// generatedOrders generates 60 orders with seed into src and returns src
// and its orders files, sorted (at least three, to land one by one).
func generatedOrders(t *testing.T, src string, seed int64) (string, []string) {
	t.Helper()
	if _, err := datagen.Generate(t.Context(), src, datagen.Options{Orders: 60, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	var orders []string
	err := filepath.WalkDir(filepath.Join(src, "orders"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			orders = append(orders, p)
		}
		return err
	})
	if err != nil || len(orders) < 3 {
		t.Fatalf("orders files %v: %v", orders, err)
	}
	slices.Sort(orders)
	return src, orders
}
