package notify_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/medallionhq/medallion/ingest/notify"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/storage"
	_ "github.com/medallionhq/medallion/storage/azureblob" // az:// landings
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
	_ "github.com/medallionhq/medallion/storage/s3blob" // s3:// landings
)

// azureProject is a project whose landing is a container in Azurite (blob
// service) and whose source orders reads it through Event Grid-shaped
// notifications in an Azurite queue — or, made by newS3Project, a bucket in
// moto whose real S3 event notifications go to an SQS queue in moto. The
// lake is on local disk.
type azureProject struct {
	dir       string
	container string
	landing   *storage.Store // the landing root, to land files with
	be        backend
	// autoNotify: the store itself notifies (moto's S3), so a file cannot
	// land without its notification.
	autoNotify bool
}

func newAzureProject(t testing.TB) *azureProject {
	t.Helper()
	azuritetest.Need(t)
	ctx := context.Background()
	be := azureBackend(t) // the queue, and the connection string with QueueEndpoint
	cont := strings.TrimPrefix(strings.TrimSuffix(be.landing, "/raw"), "az://")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", azuritetest.ConnectionString+"QueueEndpoint="+azuriteQueueURL+";")
	cc, err := container.NewClientFromConnectionString(azuritetest.ConnectionString, cont, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Create(ctx, nil); err != nil {
		t.Fatalf("create container %s in Azurite: %v", cont, err)
	}
	t.Cleanup(func() { cc.Delete(context.Background(), nil) })
	p := writeProject(t, be)
	p.container = cont
	return p
}

// newS3Project is the project on moto: S3 landing, SQS notifications.
func newS3Project(t testing.TB) *azureProject {
	t.Helper()
	p := writeProject(t, sqsBackend(t))
	p.autoNotify = true
	// S3 sends a test event when the notification is configured: clear it.
	loc, _ := notify.ParseLanding(p.be.landing)
	q, err := notify.Open(context.Background(), loc, notify.Config{Queue: p.be.queue})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := 0; p.be.held(t) > 0; i++ {
		if i == 20 {
			t.Fatalf("could not clear the queue: %d messages", p.be.held(t))
		}
		msgs, err := q.Receive(context.Background(), 10, time.Minute, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Delete(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// writeProject writes the project for a backend's landing and queue.
func writeProject(t testing.TB, be backend) *azureProject {
	t.Helper()
	ctx := context.Background()
	t.Setenv(pipeline.LeaseExpiryEnv, "2s") // a killed writer's lease is taken over quickly
	dir := t.TempDir()
	yaml := fmt.Sprintf(`name: notify-test
lake: lake
landing: %s
sources:
  orders:
    format: csv
    listing: notifications
    notifications:
      queue: %s
      visibility_timeout: 1s
      backfill_interval: 1h
`, be.landing, be.queue)
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	model := "-- name: gold.order_totals\nSELECT count(*) AS orders, sum(CAST(amount AS BIGINT)) AS amount FROM bronze.orders\n"
	if err := os.WriteFile(filepath.Join(dir, "models", "order_totals.sql"), []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(ctx, be.landing)
	if err != nil {
		t.Fatal(err)
	}
	return &azureProject{dir: dir, landing: st, be: be}
}

// put lands a CSV file of n orders; notified says whether Event Grid's
// notification reaches the queue (false: it was lost).
func (p *azureProject) put(t testing.TB, key string, n int, notified bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString("order_id,amount\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%d,%d\n", strings.TrimSuffix(filepath.Base(key), ".csv"), i, i)
	}
	if err := p.landing.Write(context.Background(), key, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	switch {
	case p.autoNotify && !notified:
		t.Fatalf("%s: this store notifies every file it gets", key)
	case notified && !p.autoNotify:
		p.be.land(t, key)
	}
}

func (p *azureProject) load(t testing.TB) *pipeline.Project {
	t.Helper()
	proj, err := pipeline.Load(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	return proj
}

// rows returns bronze.orders' row count per landing file.
func rows(t testing.TB, proj *pipeline.Project) map[string]int64 {
	t.Helper()
	s, err := pipeline.OpenSession(context.Background(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(context.Background(), "SELECT _source_file, count(*) FROM bronze.orders GROUP BY 1")
	if err != nil {
		if strings.Contains(err.Error(), "bronze.orders") {
			return map[string]int64{}
		}
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range res.Rows {
		out[fmt.Sprint(r[0])] = r[1].(int64)
	}
	return out
}

func wantRows(t *testing.T, got map[string]int64, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bronze.orders rows per file = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("bronze.orders rows per file = %v, want %v", got, want)
		}
	}
}

// TestNotificationsPipeline runs a stream-like sequence of runs sharing one
// hub against Azurite: the first batch lists (backfill), later ones read
// only notified files; a notification for a file already ingested is
// dropped; a lost notification's file waits for the backfill interval
// (an injected clock) and is then found by the backfill listing; the queue
// is empty once everything is committed.
func TestNotificationsPipeline(t *testing.T) {
	p := newAzureProject(t)
	ctx := context.Background()
	proj := p.load(t)
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	var logs []string
	hub, err := pipeline.NewNotificationHub(ctx, proj, notify.HubOptions{Now: clock, Log: func(s string) { logs = append(logs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	run := func() {
		t.Helper()
		if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Notify: hub}); err != nil {
			t.Fatal(err)
		}
	}
	p.put(t, "orders/before.csv", 2, false) // landed before notifications were set up
	run()
	wantRows(t, rows(t, proj), map[string]int64{"orders/before.csv": 2})

	p.put(t, "orders/a.csv", 3, true)
	p.put(t, "orders/lost.csv", 4, false) // Event Grid's message never came
	p.put(t, "orders/_tmp.csv", 1, true)  // hidden name: notified, never read
	run()
	wantRows(t, rows(t, proj), map[string]int64{"orders/before.csv": 2, "orders/a.csv": 3})
	if n := p.be.held(t); n != 0 {
		t.Fatalf("queue holds %d messages after the commit, want 0", n)
	}

	p.be.land(t, "orders/a.csv") // delivered twice (at-least-once)
	p.be.queueJunk(t)            // a poisoned message
	run()
	wantRows(t, rows(t, proj), map[string]int64{"orders/before.csv": 2, "orders/a.csv": 3})
	if n := p.be.held(t); n != 0 {
		t.Fatalf("queue holds %d messages after a duplicate and a poisoned one, want 0", n)
	}

	clockMu.Lock()
	now = now.Add(time.Hour) // the backfill interval
	clockMu.Unlock()
	run()
	wantRows(t, rows(t, proj), map[string]int64{"orders/before.csv": 2, "orders/a.csv": 3, "orders/lost.csv": 4})
	if st := hub.Stats(); st.Poisoned != 1 {
		t.Fatalf("hub stats %+v, want 1 poisoned message", st)
	}
}

// TestNotificationsRunWithoutHub: medallion run (no hub kept) lists at
// start, so it ingests notified and unnotified files alike, and clears the
// queue.
func TestNotificationsRunWithoutHub(t *testing.T) {
	p := newAzureProject(t)
	proj := p.load(t)
	p.put(t, "orders/a.csv", 3, true)
	p.put(t, "orders/b.csv", 1, false)
	if _, err := pipeline.Run(context.Background(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, rows(t, proj), map[string]int64{"orders/a.csv": 3, "orders/b.csv": 1})
	if n := p.be.held(t); n != 0 {
		t.Fatalf("queue holds %d messages after the run, want 0", n)
	}
}

// Child processes of TestKillBetweenReceiveAndDelete.
const (
	childEnv   = "MEDALLION_NOTIFY_TEST_CHILD" // the project directory
	childBlock = "MEDALLION_NOTIFY_TEST_BLOCK" // "receive" or "delete"
)

// runChild runs one pipeline run in this process when it is a child of the
// kill -9 test: its queue blocks (after printing "BLOCKED <where>") once it
// received messages, or before deleting them, until the test kills it.
func runChild() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	block := os.Getenv(childBlock)
	ctx := context.Background()
	proj, err := pipeline.Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	hub, err := pipeline.NewNotificationHub(ctx, proj, notify.HubOptions{Open: func(ctx context.Context, loc notify.Location, cfg notify.Config) (notify.Queue, error) {
		q, err := notify.Open(ctx, loc, cfg)
		return &blockingQueue{Queue: q, block: block}, err
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Notify: hub}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("DONE")
	os.Exit(0)
	return true
}

// blockingQueue stops the process at a point between receiving messages
// and deleting them.
type blockingQueue struct {
	notify.Queue
	block string
}

func (q *blockingQueue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]notify.Message, error) {
	msgs, err := q.Queue.Receive(ctx, limit, visibility, wait)
	if q.block == "receive" && len(msgs) > 0 {
		fmt.Printf("BLOCKED receive %d\n", len(msgs))
		select {}
	}
	return msgs, err
}

func (q *blockingQueue) Delete(ctx context.Context, msgs []notify.Message) error {
	if q.block == "delete" {
		fmt.Printf("BLOCKED delete %d\n", len(msgs))
		select {}
	}
	return q.Queue.Delete(ctx, msgs)
}

// TestKillBetweenReceiveAndDelete kills (SIGKILL) a medallion run process
// holding received messages: once before its commit, once after the
// commit but before it deleted them. The next process loses no file and
// ingests none twice, and the redelivered messages are dropped.
func TestKillBetweenReceiveAndDelete(t *testing.T) {
	for _, tc := range []struct {
		store, where string
	}{{"azure", "receive"}, {"azure", "delete"}, {"s3", "receive"}, {"s3", "delete"}, {"gcs", "receive"}, {"gcs", "delete"}} {
		where := tc.where
		t.Run(tc.store+"/"+where, func(t *testing.T) {
			p := map[string]func(testing.TB) *azureProject{"azure": newAzureProject, "s3": newS3Project, "gcs": newGCSProject}[tc.store](t)
			ctx := context.Background()
			p.put(t, "orders/a.csv", 3, true)
			p.put(t, "orders/b.csv", 5, true)
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), childEnv+"="+p.dir, childBlock+"="+where)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if !strings.HasPrefix(line, "BLOCKED "+where) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q (%v), want BLOCKED %s; stderr: %s", line, err, where, stderr.String())
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, out)
			cmd.Wait()

			proj := p.load(t)
			committed := rows(t, proj)
			if where == "receive" && len(committed) != 0 {
				t.Fatalf("killed before its commit, the child committed %v", committed)
			}
			if where == "delete" {
				wantRows(t, committed, map[string]int64{"orders/a.csv": 3, "orders/b.csv": 5})
			}
			if n := p.be.held(t); n != 2 {
				t.Fatalf("queue holds %d messages after the kill, want the 2 the child never deleted", n)
			}
			// The next process: its first batch lists, then it takes the
			// redelivered messages (after their 1 s visibility timeout).
			hub, err := pipeline.NewNotificationHub(ctx, proj, notify.HubOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer hub.Close()
			if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Notify: hub}); err != nil {
				t.Fatal(err)
			}
			for i := 0; p.be.held(t) > 0; i++ {
				if i == 30 {
					t.Fatalf("queue still holds %d messages after %d runs", p.be.held(t), i)
				}
				if _, err := hub.Receive(ctx, 2*time.Second); err != nil {
					t.Fatal(err)
				}
				if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Notify: hub}); err != nil {
					t.Fatal(err)
				}
			}
			wantRows(t, rows(t, proj), map[string]int64{"orders/a.csv": 3, "orders/b.csv": 5})
		})
	}
}

// TestNotificationsBoundedBatches: files a bounded run leaves for later
// keep their messages until the run that commits them.
func TestNotificationsBoundedBatches(t *testing.T) {
	p := newAzureProject(t)
	ctx := context.Background()
	proj := p.load(t)
	hub, err := pipeline.NewNotificationHub(ctx, proj, notify.HubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	run := func() *pipeline.Report {
		t.Helper()
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Notify: hub, MaxFiles: 1})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	run() // the start's backfill listing of an empty landing
	p.put(t, "orders/a.csv", 1, true)
	p.put(t, "orders/b.csv", 2, true)
	p.put(t, "orders/c.csv", 3, true)
	for i, want := range []map[string]int64{
		{"orders/a.csv": 1},
		{"orders/a.csv": 1, "orders/b.csv": 2},
		{"orders/a.csv": 1, "orders/b.csv": 2, "orders/c.csv": 3},
	} {
		rep := run()
		if pending := rep.Pending(); pending != 2-i {
			t.Fatalf("run %d left %d files pending, want %d", i+1, pending, 2-i)
		}
		wantRows(t, rows(t, proj), want)
		if n := p.be.held(t); n != 2-i {
			t.Fatalf("queue holds %d messages after run %d, want %d (one per file not yet committed)", n, i+1, 2-i)
		}
	}
}

// TestNotificationHubForSelection: a stream of some tables takes the
// messages of the sources its runs ingest, and no others.
func TestNotificationHubForSelection(t *testing.T) {
	p := newAzureProject(t)
	proj := p.load(t)
	for _, tc := range []struct {
		sel  []string
		want bool
	}{{nil, true}, {[]string{"gold.order_totals"}, false}, {[]string{"+gold.order_totals"}, true}, {[]string{"bronze.orders+"}, true}} {
		hub, err := pipeline.NewNotificationHubFor(context.Background(), proj, tc.sel, notify.HubOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := hub != nil && hub.Has("orders"); got != tc.want {
			t.Errorf("select %v: hub has orders = %v, want %v", tc.sel, got, tc.want)
		}
		if hub != nil {
			hub.Close()
		}
	}
	if _, err := pipeline.NewNotificationHubFor(context.Background(), proj, []string{"gold.nope"}, notify.HubOptions{}); err == nil || !strings.Contains(err.Error(), "gold.nope") {
		t.Errorf("unknown table: err = %v, want one naming gold.nope", err)
	}
}
