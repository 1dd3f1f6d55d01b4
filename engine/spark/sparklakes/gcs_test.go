package sparklakes_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/scriptservice"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
	"github.com/medallionhq/medallion/storage"
	_ "github.com/medallionhq/medallion/storage/gcsblob" // gs:// lakes for lakeRowsAt
)

// The local GCS emulator (fake-gcs-server, scripts/gcsserver.sh) at the
// fixed address the Spark server for GCS lakes
// (scripts/spark-connect-gcs.sh) is started with.
var gcsAddr = "127.0.0.1:" + cmp.Or(os.Getenv("GCSSERVER_PORT"), "10003")

// gcsEmu is this process's lease on the local GCS emulator, taken by the
// first test that needs it and released by TestMain.
var gcsEmu struct {
	once    sync.Once
	release func()
	err     error
}

// releaseGCSEmulator gives up the lease on the GCS emulator, if taken.
func releaseGCSEmulator() {
	if gcsEmu.release != nil {
		gcsEmu.release()
	}
}

// needGCS starts (or shares) the local GCS emulator and points this
// process and the medallion processes it starts at it and nothing else
// (no Google credentials, whatever the environment holds). Without the
// emulator the test is skipped, and fails under CI=true.
func needGCS(t *testing.T) {
	t.Helper()
	gcsEmu.once.Do(func() { gcsEmu.release, gcsEmu.err = scriptservice.Acquire(gcsAddr, "gcsserver.sh") })
	if err := gcsEmu.err; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the local GCS emulator is required under CI=true: %v", err)
		}
		t.Skipf("the local GCS emulator is unavailable: %v", err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+gcsAddr)
	for _, v := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_QUOTA_PROJECT", "GCE_METADATA_HOST",
		"GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_CLOUD_UNIVERSE_DOMAIN"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// newGCSBucket creates a fresh bucket in the GCS emulator (its JSON API),
// emptied and deleted when the test ends, and returns its name.
func newGCSBucket(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "medallion-spark-" + hex.EncodeToString(b)
	body := fmt.Sprintf(`{"name": %q}`, name)
	resp, err := http.Post("http://"+gcsAddr+"/storage/v1/b?project=medallion-test", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating bucket %s: HTTP %s", name, resp.Status)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := storage.Open(ctx, "gs://"+name)
		if err != nil {
			return
		}
		defer s.Close()
		objs, _ := s.List(ctx, "")
		for _, o := range objs {
			s.Delete(ctx, o.Key)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+gcsAddr+"/storage/v1/b/"+name, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return name
}

// objectKeys lists every key under the store at location.
func objectKeys(t *testing.T, location string) []string {
	t.Helper()
	s, err := storage.Open(t.Context(), location)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	objs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatalf("listing %s: %v", location, err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// sameAsDuckDBAt fails unless the lake at lakeURL holds the tables and
// rows of the duckdb project's local lake in duckDir and no staged file
// is left under it.
func sameAsDuckDBAt(t *testing.T, duckDir, lakeURL, when string) {
	t.Helper()
	sparktest.SameRows(t, sparktest.LakeRows(t, duckDir), sparktest.LakeRowsAt(t, lakeURL), when)
	for _, k := range objectKeys(t, lakeURL) {
		if strings.Contains(k, ".staging-") {
			t.Errorf("%s: staged file %s left in the lake", when, k)
		}
	}
}

// TestRunOnSparkOverGCS runs testdata/lake with `medallion run`
// (processes of their own) on engine kind spark with its lake in a GCS
// bucket (the local GCS emulator; Spark reaches it as gs:// with the GCS
// connector, medallion through its GCS driver), and on duckdb with a local
// lake, over copies of the same landing files: bronze, silver and gold are
// equal after the first run and again after an incremental run.
func TestRunOnSparkOverGCS(t *testing.T) {
	needGCS(t)
	remote := sparkserver.GCSRemote(t)
	runOnObjectLake(t, remote, "gs://"+newGCSBucket(t)+"/lake")
}

// runOnObjectLake runs testdata/lake on the spark server of remote with
// its lake at lakeURL, and on duckdb with a local lake, over the same
// landing files, and checks the lakes equal (sameAsDuckDBAt) after each
// run: the first (80 orders as they stood on 2017-09-01, their items),
// then an incremental one in which every order lands again in its final
// state (the upsert rewrites files in many partitions, the merge and the
// recomputed days read the tables at their versions) and new orders'
// items are appended.
func runOnObjectLake(t *testing.T, remote, lakeURL string) {
	t.Helper()
	ctx := t.Context()
	root := t.TempDir()
	src := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, src, datagen.Options{Orders: 80, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	for _, dir := range []string{duckDir, sparkDir} {
		if err := fstree.Copy(filepath.Join("testdata", "lake"), dir); err != nil {
			t.Fatal(err)
		}
		if err := fstree.Copy(filepath.Join(src, "order_items"), filepath.Join(dir, "landing", "order_items")); err != nil {
			t.Fatal(err)
		}
		if _, err := datagen.AdvanceOrders(ctx, src, filepath.Join(dir, "landing"), time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC), "advance_1"); err != nil {
			t.Fatal(err)
		}
	}
	sparktest.UseSpark(t, sparkDir, remote)
	sparktest.UseLake(t, sparkDir, lakeURL)

	// On an object store lake the writer lease keeps its default expiry,
	// as on S3.
	run := func() {
		t.Helper()
		sparktest.Medallion(t, "run", "-C", duckDir)
		sparktest.MedallionEnv(t, nil, "run", "-C", sparkDir)
	}
	run()
	sameAsDuckDBAt(t, duckDir, lakeURL, "first run")

	inc, err := datagen.NewOrders(src, 20, 13)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{duckDir, sparkDir} {
		if _, err := datagen.AdvanceOrders(ctx, src, filepath.Join(dir, "landing"), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "advance_2"); err != nil {
			t.Fatal(err)
		}
		items := map[string][]byte{}
		for rel, data := range inc.Files {
			if strings.HasPrefix(rel, "order_items/") {
				items[rel] = data
			}
		}
		if len(items) == 0 {
			t.Fatalf("the increment has no order_items file: %v", inc.Files)
		}
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), items); err != nil {
			t.Fatal(err)
		}
	}
	run()
	sameAsDuckDBAt(t, duckDir, lakeURL, "incremental run")
}

// TestObjectStoreReadOnSparkWithoutConnector reads tables that medallion
// wrote on duckdb into a GCS bucket and into an S3 bucket (the local
// emulators) with `medallion query` on engine kind spark, on the shared
// Spark server, which has neither the GCS connector nor hadoop-aws: the
// query fails with an error naming the table, its URL in Spark's scheme
// and what the server lacks, without the secret key of the environment.
func TestObjectStoreReadOnSparkWithoutConnector(t *testing.T) {
	cases := []struct {
		scheme string
		need   func(*testing.T)
		bucket func(*testing.T) string
		url    string // the tables' URL scheme on Spark
		needs  string // what the error says the server needs
	}{
		{"gs", needGCS, newGCSBucket, "gs", "the GCS connector"},
		{"s3", sparktest.NeedS3, sparktest.NewBucket, "s3a", "hadoop-aws"},
	}
	for _, c := range cases {
		t.Run(c.scheme, func(t *testing.T) {
			c.need(t)
			remote := sparkserver.Remote(t)
			const secret = "medallion-secret-key-never-printed"
			t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
			bucket := c.bucket(t)
			lakeURL := c.scheme + "://" + bucket + "/lake"
			root := t.TempDir()
			landing := filepath.Join(root, "generated")
			if _, err := datagen.Generate(t.Context(), landing, datagen.Options{Orders: 20, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
			sparktest.WriteProject(t, duckDir, landing)
			sparktest.UseLake(t, duckDir, lakeURL)
			sparktest.MedallionEnv(t, nil, "run", "-C", duckDir)
			sparktest.SparkProject(t, sparkDir, landing, remote)
			sparktest.UseLake(t, sparkDir, lakeURL)

			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, "query", "-C", sparkDir, "--format", "csv", "SELECT count(*) AS n FROM silver.orders")
			cmd.Env = clitest.ChildEnv()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("medallion query on a server without the %s:// file system succeeded:\n%s", c.scheme, out)
			}
			text := string(out)
			// The table whose view Spark could not create, and its URL.
			re := regexp.MustCompile(`spark: bind (\w+)\.(\w+): table ` + regexp.QuoteMeta(c.url+"://"+bucket+"/lake/") +
				`(\w+)/(\w+): the Spark server cannot reach ` + regexp.QuoteMeta(c.url+"://") + ` URLs`)
			m := re.FindStringSubmatch(text)
			switch {
			case m == nil:
				t.Errorf("the error does not name the table, its %s:// URL and that the server cannot reach it:\n%s", c.url, text)
			case m[1] != m[3] || m[2] != m[4]:
				t.Errorf("the error names table %s.%s with the URL of %s/%s:\n%s", m[1], m[2], m[3], m[4], text)
			}
			if !strings.Contains(text, c.needs) {
				t.Errorf("the error does not say the server needs %s:\n%s", c.needs, text)
			}
			if strings.Contains(text, secret) {
				t.Errorf("the error prints the secret key:\n%s", text)
			}
			t.Logf("the error: %s", lastLine(text))
		})
	}
}

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
