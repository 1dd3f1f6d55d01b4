package spark_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/internal/scriptservice"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/pipeline"
	_ "github.com/medallionhq/medallion/storage/s3blob" // s3:// lakes for lakeRowsAt
)

// The local S3 server (moto, scripts/s3server.sh) and the credentials
// the Spark server for S3 lakes (scripts/spark-connect-s3.sh) is started
// with: moto accepts any.
var motoAddr = "127.0.0.1:" + cmp.Or(os.Getenv("S3SERVER_PORT"), "10001")

const (
	motoKeyID  = "test"
	motoSecret = "test"
)

// moto is this process's lease on the local S3 server: taken by the
// first test that needs it and released by TestMain, so the server is not
// stopped and started again between tests (a lease belongs to a process).
var moto struct {
	once    sync.Once
	release func()
	err     error
}

// releaseS3 gives up the lease on the local S3 server, if taken.
func releaseS3() {
	if moto.release != nil {
		moto.release()
	}
}

// needS3 starts (or shares) the local S3 server and points this process
// and the medallion processes it starts at it and nothing else, whatever
// the developer's environment and ~/.aws hold. Without the server the
// test is skipped, and fails under CI=true.
func needS3(t *testing.T) {
	t.Helper()
	moto.once.Do(func() { moto.release, moto.err = scriptservice.Acquire(motoAddr, "s3server.sh") })
	if err := moto.err; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the local S3 server is required under CI=true: %v", err)
		}
		t.Skipf("the local S3 server is unavailable: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://"+motoAddr)
	t.Setenv("AWS_ACCESS_KEY_ID", motoKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", motoSecret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "no-aws-credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// s3Client is a client of the local S3 server.
func s3Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + motoAddr),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(motoKeyID, motoSecret, ""),
	})
}

// newBucket creates a fresh bucket, emptied and deleted when the test
// ends, and returns its name.
func newBucket(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "medallion-spark-" + hex.EncodeToString(b)
	c := s3Client()
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, k := range bucketKeys(t, ctx, name) {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: aws.String(k)})
		}
		c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name})
	})
	return name
}

// bucketKeys lists every key of a bucket.
func bucketKeys(t *testing.T, ctx context.Context, bucket string) []string {
	t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(s3Client(), &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing bucket %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// fileCache is a file cache in a folder of the test's, through which
// DuckDB reads the tables of a lake on S3 (lakeRowsAt,
// goldMatchesReferenceAt).
func fileCache(t *testing.T) *filecache.Cache {
	t.Helper()
	c, err := filecache.New(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// useLake sets the project's lake to location.
func useLake(t *testing.T, dir, location string) {
	t.Helper()
	cfg := filepath.Join(dir, pipeline.ConfigFile)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nlake: lake\n") {
		t.Fatalf("%s has no `lake: lake` line to replace", cfg)
	}
	b = []byte(strings.Replace(string(b), "\nlake: lake\n", "\nlake: "+location+"\n", 1))
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunOnSparkOverS3 runs the built-in project with `medallion run`
// (processes of their own) on engine kind spark with its lake in an S3
// bucket (the local S3 server; Spark reaches it as s3a:// with hadoop-aws,
// medallion through its S3 driver), and on duckdb with a local lake, over
// copies of the same landing files: bronze, silver and gold are equal and
// gold equals goldref's independent computation; again after new orders
// land (an incremental run), and after --full-refresh. No staging folder
// is left in the bucket, and `medallion query` answers on the project.
func TestRunOnSparkOverS3(t *testing.T) {
	needS3(t)
	remote := sparkserver.S3Remote(t)
	ctx := t.Context()
	bucket := newBucket(t)
	lakeURL := "s3://" + bucket + "/lake"
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	writeProject(t, duckDir, landing)
	sparkProject(t, sparkDir, landing, remote)
	useLake(t, sparkDir, lakeURL)

	check := func(when string) {
		t.Helper()
		sameRows(t, lakeRows(t, duckDir), lakeRowsAt(t, lakeURL), when)
		goldMatchesReferenceAt(t, filepath.Join(sparkDir, "landing"), lakeURL, when)
		for _, k := range bucketKeys(t, ctx, bucket) {
			if strings.Contains(k, "/.staging-") {
				t.Errorf("%s: staged file %s left in the bucket", when, k)
			}
		}
	}
	// run runs `medallion run` on both projects. On the S3 lake the
	// writer lease keeps its default expiry: medallion's 1 s for local
	// test lakes is shorter than a renewal on a loaded machine takes.
	run := func(args ...string) {
		t.Helper()
		medallion(t, append([]string{"run", "-C", duckDir}, args...)...)
		medallionS3(t, append([]string{"run", "-C", sparkDir}, args...)...)
	}
	run()
	check("first run")

	inc, err := datagen.NewOrders(filepath.Join(duckDir, "landing"), 40, 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{duckDir, sparkDir} {
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			t.Fatal(err)
		}
	}
	run()
	check("incremental run")

	run("--full-refresh")
	check("full refresh")

	const q = "SELECT (SELECT count(*) FROM silver.orders) AS orders, (SELECT count(*) FROM silver.order_items) AS items"
	want := medallion(t, "query", "-C", duckDir, "--format", "csv", q)
	if got := medallionS3(t, "query", "-C", sparkDir, "--format", "csv", q); got != want {
		t.Errorf("medallion query on the S3 lake on spark:\n%s\nwant (duckdb, local lake):\n%s", got, want)
	}
}

// medallionS3 is medallion for a project whose lake is on S3: the same
// process, with the writer lease's default expiry.
func medallionS3(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = clitest.ChildEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("medallion %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestS3LakeOnSparkWithoutS3A runs the project with its lake in an S3
// bucket on the shared Spark server, which has no hadoop-aws: the run
// fails with an error naming the table's s3a:// URL and what the server
// lacks, without the credentials, and commits nothing.
func TestS3LakeOnSparkWithoutS3A(t *testing.T) {
	needS3(t)
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	bucket := newBucket(t)
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "spark")
	sparkProject(t, dir, landing, remote)
	useLake(t, dir, "s3://"+bucket+"/lake")
	const secret = "medallion-secret-key-never-printed"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "-C", dir)
	cmd.Env = clitest.ChildEnv()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("medallion run on a server without s3a succeeded:\n%s", out)
	}
	text := string(out)
	for _, want := range []string{"cannot reach s3a:// URLs", "table s3a://" + bucket + "/lake/", "hadoop-aws"} {
		if !strings.Contains(text, want) {
			t.Errorf("the error does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, secret) {
		t.Errorf("the error prints the secret key:\n%s", text)
	}
	t.Logf("the error: %s", lastLine(text))
	// Tables may have been created (schema only); no data was committed.
	for _, k := range bucketKeys(t, ctx, bucket) {
		if !strings.Contains(k, "/_delta_log/") || !strings.HasSuffix(k, ".json") {
			continue
		}
		obj, err := s3Client().GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `{"add":`) && strings.HasPrefix(k, "lake/bronze/") {
			t.Errorf("a failed run committed data: %s", k)
		}
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
