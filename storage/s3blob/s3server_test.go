package s3blob

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medallionhq/medallion/internal/scriptservice"
	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

// The local S3 server (moto, started by scripts/s3server.sh) on
// 127.0.0.1:10001, or the port in S3SERVER_PORT (which the script honours
// too), and the credentials it accepts (any).
var (
	s3Addr     = "127.0.0.1:" + cmp.Or(os.Getenv("S3SERVER_PORT"), "10001")
	s3Endpoint = "http://" + s3Addr
)

const (
	testKeyID  = "AKIATESTMEDALLION"
	testSecret = "medallion-test-secret-key-0123456789abcdef"
)

// s3Err says why the S3 server is unavailable; nil once it answers.
var s3Err error

func TestMain(m *testing.M) {
	storagetest.MaybeRunChild() // must come first: children run no tests
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// storage.Open, here and in the child processes of the cross-process
	// test, must reach the local server and nothing else, whatever the
	// developer's environment and ~/.aws hold; with IMDS off, a missing
	// credential fails without any request.
	os.Setenv("AWS_ENDPOINT_URL_S3", s3Endpoint)
	os.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	os.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(os.TempDir(), "medallion-no-aws-config"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(os.TempDir(), "medallion-no-aws-credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", EnvForcePathStyle} {
		os.Unsetenv(v)
	}
	// Acquire, not Start: other packages' tests (ingest/notify, the
	// S3 lake on Spark) share this server while they run at the same time.
	release, err := scriptservice.Acquire(s3Addr, "s3server.sh")
	s3Err = err
	code := m.Run()
	if release != nil {
		release()
	}
	return code
}

// needS3 stops the test unless the S3 server is available: under CI it
// fails loudly, elsewhere it skips with the reason.
func needS3(t *testing.T) {
	t.Helper()
	if s3Err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the local S3 server is required under CI=true: %v", s3Err)
	}
	t.Skipf("local S3 server unavailable (run scripts/s3server.sh, which needs python3 and pip): %v", s3Err)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// adminClient is a plain SDK client of the local server, for test setup.
func adminClient() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s3Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
}

// newBucket creates a fresh bucket, emptied and deleted when the test
// ends, and returns its name.
func newBucket(t *testing.T) string {
	t.Helper()
	needS3(t)
	name := "medallion-test-" + randomHex(8)
	c := adminClient()
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &name})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("emptying bucket %s: %v", name, err)
				return
			}
			for _, o := range page.Contents {
				c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: o.Key})
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name}); err != nil {
			t.Errorf("deleting bucket %s: %v", name, err)
		}
	})
	return name
}

func openStore(t *testing.T, location string) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func checkOneLine(t *testing.T, what, msg string) {
	t.Helper()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("%s: error is not one line:\n%s", what, msg)
	}
}

// allOps runs every store operation on s and returns the errors by name.
func allOps(t *testing.T, s *storage.Store) map[string]error {
	t.Helper()
	ctx := t.Context()
	errs := map[string]error{}
	errs["Write"] = s.Write(ctx, "k/obj", []byte("data"))
	errs["CreateIfAbsent"] = s.CreateIfAbsent(ctx, "k/new", []byte("data"))
	_, errs["ReadAll"] = s.ReadAll(ctx, "k/obj")
	_, errs["ReadRange"] = s.ReadRange(ctx, "k/obj", 1, 2)
	_, errs["Stat"] = s.Stat(ctx, "k/obj")
	_, errs["List"] = s.List(ctx, "k/")
	_, errs["ListFrom"] = s.ListFrom(ctx, "k/", "k/a")
	errs["Delete"] = s.Delete(ctx, "k/obj")
	for op, err := range errs {
		if err == nil {
			t.Errorf("%s succeeded, want an error", op)
			delete(errs, op)
		} else if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists) {
			t.Errorf("%s: %v satisfies a storage sentinel, want a plain error", op, err)
		}
	}
	return errs
}
