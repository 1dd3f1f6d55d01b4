package sparkruns_test

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// TestRunOnSparkOverS3 runs the built-in project with `medallion run`
// (processes of their own) on engine kind spark with its lake in an S3
// bucket (the local S3 server; Spark reaches it as s3a:// with hadoop-aws,
// medallion through its S3 driver), and on duckdb with a local lake, over
// copies of the same landing files: bronze, silver and gold are equal and
// gold equals goldref's independent computation; again after new orders
// land (an incremental run, which reads the tables over s3a at their
// bound versions). No staging folder is left in the bucket, and
// `medallion query` answers on the project.
func TestRunOnSparkOverS3(t *testing.T) {
	sparktest.NeedS3(t)
	remote := sparkserver.S3Remote(t)
	ctx := t.Context()
	bucket := sparktest.NewBucket(t)
	lakeURL := "s3://" + bucket + "/lake"
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	sparktest.WriteProject(t, duckDir, landing)
	sparktest.SparkProject(t, sparkDir, landing, remote)
	sparktest.UseLake(t, sparkDir, lakeURL)

	check := func(when string) {
		t.Helper()
		sparktest.SameRows(t, sparktest.LakeRows(t, duckDir), sparktest.LakeRowsAt(t, lakeURL), when)
		sparktest.GoldMatchesReferenceAt(t, filepath.Join(sparkDir, "landing"), lakeURL, when)
		for _, k := range sparktest.BucketKeys(t, ctx, bucket) {
			if strings.Contains(k, "/.staging-") {
				t.Errorf("%s: staged file %s left in the bucket", when, k)
			}
		}
	}
	// run runs `medallion run` on both projects. On the S3 lake the
	// writer lease keeps its default expiry (30 s): nothing is killed
	// here, and a renewal is a round trip to the S3 server (see
	// sparktest.ShortLease).
	run := func(args ...string) {
		t.Helper()
		sparktest.Medallion(t, append([]string{"run", "-C", duckDir}, args...)...)
		sparktest.MedallionEnv(t, nil, append([]string{"run", "-C", sparkDir}, args...)...)
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
	// No --full-refresh here: it writes through the same staging folders
	// and moves as the first run (TestRunOnSparkEqualsDuckDB runs one on a
	// local lake).

	const q = "SELECT (SELECT count(*) FROM silver.orders) AS orders, (SELECT count(*) FROM silver.order_items) AS items"
	want := sparktest.Medallion(t, "query", "-C", duckDir, "--format", "csv", q)
	if got := sparktest.MedallionEnv(t, nil, "query", "-C", sparkDir, "--format", "csv", q); got != want {
		t.Errorf("medallion query on the S3 lake on spark:\n%s\nwant (duckdb, local lake):\n%s", got, want)
	}
}

// TestS3LakeOnSparkWithoutS3A runs the project with its lake in an S3
// bucket on the shared Spark server, which has no hadoop-aws: the run
// fails with an error naming the table's s3a:// URL and what the server
// lacks, without the credentials, and commits nothing.
func TestS3LakeOnSparkWithoutS3A(t *testing.T) {
	sparktest.NeedS3(t)
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	bucket := sparktest.NewBucket(t)
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "spark")
	sparktest.SparkProject(t, dir, landing, remote)
	sparktest.UseLake(t, dir, "s3://"+bucket+"/lake")
	const secret = "medallion-secret-key-never-printed"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)

	cmd := sparktest.Command(t, nil, "run", "-C", dir)
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
	for _, k := range sparktest.BucketKeys(t, ctx, bucket) {
		if !strings.Contains(k, "/_delta_log/") || !strings.HasSuffix(k, ".json") {
			continue
		}
		obj, err := sparktest.S3Client().GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(k)})
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
