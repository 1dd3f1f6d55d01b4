package sparktest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medallionhq/medallion/internal/scriptservice"
	_ "github.com/medallionhq/medallion/storage/s3blob" // s3:// lakes for LakeRowsAt
)

// MotoAddr is host:port of the local S3 server (moto,
// scripts/s3server.sh); S3SERVER_PORT changes the port.
var MotoAddr = "127.0.0.1:" + cmp.Or(os.Getenv("S3SERVER_PORT"), "10001")

// The credentials of the local S3 server, which accepts any, and which the
// Spark server for S3 lakes (scripts/spark-connect-s3.sh) is started with.
const (
	motoKeyID  = "test"
	motoSecret = "test"
)

// moto is this process's lease on the local S3 server: taken by the
// first test that needs it and released by ReleaseS3 from TestMain, so the
// server is not stopped and started again between tests (a lease belongs
// to a process).
var moto struct {
	once    sync.Once
	release func()
	err     error
}

// ReleaseS3 gives up this process's lease on the local S3 server, if
// taken. TestMain calls it after the tests ran.
func ReleaseS3() {
	if moto.release != nil {
		moto.release()
		moto.release = nil
	}
}

// NeedS3 starts (or shares) the local S3 server and points this process
// and the medallion processes it starts at it and nothing else, whatever
// the developer's environment and ~/.aws hold. Without the server the
// test is skipped, and fails under CI=true.
func NeedS3(t *testing.T) {
	t.Helper()
	moto.once.Do(func() { moto.release, moto.err = scriptservice.Acquire(MotoAddr, "s3server.sh") })
	if err := moto.err; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the local S3 server is required under CI=true: %v", err)
		}
		t.Skipf("the local S3 server is unavailable: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://"+MotoAddr)
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

// S3Client is a client of the local S3 server.
func S3Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + MotoAddr),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(motoKeyID, motoSecret, ""),
	})
}

// NewBucket creates a fresh bucket on the local S3 server, emptied and
// deleted when the test ends, and returns its name.
func NewBucket(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "medallion-spark-" + hex.EncodeToString(b)
	c := S3Client()
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, k := range BucketKeys(t, ctx, name) {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: aws.String(k)})
		}
		c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name})
	})
	return name
}

// BucketKeys lists every key of a bucket of the local S3 server.
func BucketKeys(t testing.TB, ctx context.Context, bucket string) []string {
	t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(S3Client(), &s3.ListObjectsV2Input{Bucket: &bucket})
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
