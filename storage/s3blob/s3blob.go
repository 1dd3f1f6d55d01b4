// Package s3blob is the storage driver for Amazon S3 and S3-compatible
// stores that implement conditional writes. Importing it registers the URL
// schemes "s3" and "s3a" (the Hadoop and Databricks spelling) with package
// storage:
//
//	s3://bucket/path/to/lake
//
// The URL's path is the root prefix inside the bucket. Configuration comes
// from the AWS default chain as the AWS CLI reads it: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; AWS_PROFILE and the shared
// config and credentials files (SSO included); web identity tokens; ECS and
// EC2 instance roles. The region comes from AWS_REGION (or the profile);
// without one, us-east-1 is assumed and a bucket elsewhere gives an error
// naming its region. AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) points the
// driver at another S3-compatible endpoint; loopback and IP-address
// endpoints, and AWS_S3_FORCE_PATH_STYLE=true, use path-style requests.
//
// Keys are object names verbatim after the root prefix.
//
// CreateIfAbsent is one PutObject with If-None-Match: *, which S3 has
// evaluated atomically since August 2024: of concurrent creators exactly one
// wins (the others get 412 PreconditionFailed, or 409
// ConditionalRequestConflict, which is retried). A store that ignores the
// header would silently break this, so use the driver only with S3 or a
// compatible store documented to support conditional writes. Write is one
// PutObject, or for streams above 16 MiB a multipart upload completed in one
// request: readers never see a partial object. Throttling (503 SlowDown,
// 429) and transient errors are retried with exponential backoff.
package s3blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// Schemes are the URL schemes the package registers.
var Schemes = []string{"s3", "s3a"}

func init() {
	for _, scheme := range Schemes {
		storage.Register(scheme, func(ctx context.Context, u *url.URL) (storage.Driver, error) {
			return NewDriver(ctx, u, nil)
		})
	}
}

// EnvForcePathStyle set to "true" makes requests path-style
// (https://endpoint/bucket/key) rather than virtual-hosted.
const EnvForcePathStyle = "AWS_S3_FORCE_PATH_STYLE"

// MaxAttempts is how many times a request is tried in all: throttled
// (429, 503 SlowDown), failed (500, 502, 504) and broken requests are
// retried with exponential backoff and jitter, up to 20 s apart.
const MaxAttempts = 7

const (
	// singlePutMax is the largest Write of known size sent as one
	// PutObject (S3 allows 5 GiB).
	singlePutMax = 1 << 30
	// partSize is the part size of multipart uploads; a stream that ends
	// within one part is one PutObject. 10,000 parts make 160 GiB.
	partSize = 16 << 20
	// creatorMetadata is the metadata key CreateIfAbsent tags its object
	// with, so that a retried request that finds the object can tell
	// whether its own earlier attempt created it.
	creatorMetadata = "medallion-creator"
)

// Options adjust the default AWS configuration. The zero value (or nil)
// means the AWS default chain.
type Options struct {
	// Config replaces the AWS configuration loaded from the environment.
	Config *aws.Config
	// Endpoint overrides the S3 endpoint, such as "http://127.0.0.1:9000".
	Endpoint string
	// UsePathStyle forces path-style requests.
	UsePathStyle bool
}

// hooks replace parts of the HTTP stack in tests.
type hooks struct {
	httpClient  aws.HTTPClient // nil: the SDK's default
	maxAttempts int            // 0: MaxAttempts
	maxBackoff  time.Duration  // 0: 20 s
}

// Open opens the store for an s3 or s3a URL with explicit options; nil
// means the environment's. storage.Open does the same with nil options.
func Open(ctx context.Context, location string, opts *Options) (*storage.Store, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: malformed URL", location)
	}
	drv, err := NewDriver(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", location, err)
	}
	return storage.NewStore(location, drv), nil
}

// NewDriver returns the driver for an s3 or s3a URL. It sends no request:
// a missing bucket or a wrong credential shows in the first operation.
func NewDriver(ctx context.Context, u *url.URL, opts *Options) (storage.Driver, error) {
	return newDriver(ctx, u, opts, hooks{})
}

func newDriver(ctx context.Context, u *url.URL, opts *Options, h hooks) (*driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	bucket, root, err := parseLocation(u)
	if err != nil {
		return nil, err
	}
	attempts, backoff := MaxAttempts, 20*time.Second
	if h.maxAttempts > 0 {
		attempts = h.maxAttempts
	}
	if h.maxBackoff > 0 {
		backoff = h.maxBackoff
	}
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = backoff
			// No client-side retry quota: a busy lake must not turn
			// throttling into failures.
			o.RateLimiter = ratelimit.None
			// S3 asks for a retry when conditional writes collide.
			o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: map[string]struct{}{"ConditionalRequestConflict": {}}})
		})
	}
	var cfg aws.Config
	if opts.Config != nil {
		cfg = opts.Config.Copy()
		cfg.Retryer = retryer
	} else {
		// The SDK's own warnings would go to standard error; the driver
		// reports what matters in its errors.
		cfg, err = config.LoadDefaultConfig(ctx, config.WithRetryer(retryer), config.WithLogger(logging.Nop{}))
		if err != nil {
			// Such errors name a profile or a file, not a secret.
			return nil, fmt.Errorf("loading the AWS configuration (AWS_PROFILE, ~/.aws/config): %v", blobutil.FirstLine(err.Error()))
		}
	}
	if h.httpClient != nil {
		cfg.HTTPClient = h.httpClient
	}
	d := &driver{bucket: bucket, root: root, attempts: attempts}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
		d.regionGuessed = true
	}
	d.region = cfg.Region
	d.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if o.BaseEndpoint != nil {
			d.endpoint = *o.BaseEndpoint
			// Third-party stores differ in their support of the newer
			// default checksums (aws-chunked trailers); send them only
			// when an operation requires them.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		force, _ := strconv.ParseBool(os.Getenv(EnvForcePathStyle))
		o.UsePathStyle = opts.UsePathStyle || force || localEndpoint(d.endpoint)
	})
	d.secrets = secretsOf(opts)
	return d, nil
}

// localEndpoint reports whether an endpoint is a loopback name or an IP
// address, where virtual-hosted bucket names cannot resolve.
func localEndpoint(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || net.ParseIP(h) != nil
}

// secretsOf returns the secrets the environment or the options hold, for
// redaction. (The SDK does not put them in errors; this is a safety net.)
func secretsOf(opts *Options) []string {
	s := []string{os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")}
	if opts.Config != nil {
		if p, ok := opts.Config.Credentials.(credentials.StaticCredentialsProvider); ok {
			s = append(s, p.Value.SecretAccessKey, p.Value.SessionToken)
		}
	}
	return s
}

// parseLocation reads s3://bucket/path.
func parseLocation(u *url.URL) (bucket, root string, err error) {
	if u.Scheme != "s3" && u.Scheme != "s3a" {
		return "", "", fmt.Errorf("s3blob: unsupported scheme %q (want s3 or s3a)", u.Scheme)
	}
	if u.Opaque != "" || u.User != nil || u.Port() != "" {
		return "", "", fmt.Errorf("malformed URL: write %s://bucket/path", u.Scheme)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "", fmt.Errorf("query parameters and fragments are not supported in %s URLs (set the endpoint with AWS_ENDPOINT_URL_S3)", u.Scheme)
	}
	bucket = u.Host
	if bucket == "" {
		return "", "", fmt.Errorf("%s URL without a bucket: write %s://bucket/path", u.Scheme, u.Scheme)
	}
	if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", "", fmt.Errorf("invalid bucket name %q: use 3 to 63 lowercase letters, digits, dots and hyphens", bucket)
	}
	if r := strings.Trim(u.Path, "/"); r != "" {
		if err := storage.ValidateKey(r); err != nil {
			return "", "", fmt.Errorf("path %q is not a clean path inside the bucket (no empty, \".\" or \"..\" elements)", r)
		}
		root = r + "/"
	}
	return bucket, root, nil
}

// driver implements storage.Driver over one bucket.
type driver struct {
	client        *s3.Client
	bucket, root  string
	region        string
	regionGuessed bool
	endpoint      string // "" for AWS's own
	attempts      int
	secrets       []string
	// bucketSeen is set once the bucket is known to exist, so that a 404
	// without a body (HEAD) means a missing key.
	bucketSeen atomic.Bool
}

var (
	_ storage.Driver     = (*driver)(nil)
	_ storage.FromLister = (*driver)(nil)
)

func (d *driver) objectKey(key string) string { return d.root + key }

// NewRangeReader implements storage.Driver.
func (d *driver) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if length == 0 {
		if _, err := d.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	in := &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String(d.objectKey(key))}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := d.client.GetObject(ctx, in)
	if err != nil {
		if status, _ := statusOf(err); status == http.StatusRequestedRangeNotSatisfiable {
			// The range starts at or past the end of an existing object
			// (every range of an empty object does).
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, d.fail(ctx, err, key)
	}
	d.bucketSeen.Store(true)
	return &reader{d: d, ctx: ctx, rc: out.Body}, nil
}

// reader passes read errors through the driver's redaction.
type reader struct {
	d   *driver
	ctx context.Context
	rc  io.ReadCloser
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.d.fail(r.ctx, err, "")
	}
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }

// Write implements storage.Driver: one PutObject for content of known size
// up to 1 GiB and for streams that end within 16 MiB, else a multipart
// upload whose parts become visible together at CompleteMultipartUpload. A
// failed multipart upload is aborted.
func (d *driver) Write(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if br, ok := r.(*bytes.Reader); ok && br.Len() <= singlePutMax {
		if pos, err := br.Seek(0, io.SeekCurrent); err == nil && pos == 0 {
			return d.put(ctx, key, br, int64(br.Len()))
		}
	}
	// Read up to one part (into a buffer that grows as needed): a stream
	// that ends within it is one request.
	var head bytes.Buffer
	n, err := head.ReadFrom(io.LimitReader(blobutil.ContextReader(ctx, r), partSize+1))
	if err != nil {
		return blobutil.ReadError(ctx, err)
	}
	if n <= partSize {
		return d.put(ctx, key, bytes.NewReader(head.Bytes()), n)
	}
	return d.multipart(ctx, key, io.MultiReader(bytes.NewReader(head.Bytes()), blobutil.ContextReader(ctx, r)))
}

func (d *driver) put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	_, err := d.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &d.bucket, Key: aws.String(d.objectKey(key)), Body: body, ContentLength: aws.Int64(size),
	})
	if err != nil {
		return d.fail(ctx, err, key)
	}
	d.bucketSeen.Store(true)
	return nil
}

// multipart uploads r as parts of partSize, one at a time.
func (d *driver) multipart(ctx context.Context, key string, r io.Reader) (err error) {
	name := aws.String(d.objectKey(key))
	created, err := d.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &d.bucket, Key: name})
	if err != nil {
		return d.fail(ctx, err, key)
	}
	defer func() {
		if err != nil {
			// Abort even if ctx is done, so no parts are left billed.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			d.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &d.bucket, Key: name, UploadId: created.UploadId})
		}
	}()
	var parts []types.CompletedPart
	buf := make([]byte, partSize)
	for num := int32(1); ; num++ {
		n, rerr := io.ReadFull(r, buf)
		if rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			return blobutil.ReadError(ctx, rerr)
		}
		if num > 10000 {
			return fmt.Errorf("object larger than 10,000 parts of %d MiB", partSize>>20)
		}
		out, err := d.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &d.bucket, Key: name, UploadId: created.UploadId, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n)),
		})
		if err != nil {
			return d.fail(ctx, err, key)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		if rerr == io.ErrUnexpectedEOF {
			break
		}
	}
	_, err = d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &d.bucket, Key: name, UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return d.fail(ctx, err, key)
	}
	d.bucketSeen.Store(true)
	return nil
}

// CreateIfAbsent implements storage.Driver with one PutObject carrying
// If-None-Match: *. The object is tagged with a random creator ID: when S3
// answers 412 (the key exists), the tag tells whether it exists because an
// earlier attempt of this very call succeeded before its response was lost
// and the SDK retried.
func (d *driver) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := blobutil.CreatorID()
	if err != nil {
		return err
	}
	name := aws.String(d.objectKey(key))
	_, err = d.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &d.bucket, Key: name, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch: aws.String("*"),
		Metadata:    map[string]string{creatorMetadata: id},
	})
	if err == nil {
		d.bucketSeen.Store(true)
		return nil
	}
	if status, _ := statusOf(err); status != http.StatusPreconditionFailed {
		return d.fail(ctx, err, key)
	}
	head, herr := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: name})
	if herr == nil {
		for k, v := range head.Metadata {
			if strings.EqualFold(k, creatorMetadata) && v == id {
				return nil // our own earlier attempt created it
			}
		}
	}
	return &blobutil.Error{Msg: "already exists", Sentinel: storage.ErrExists}
}

// List implements storage.Driver with ListObjectsV2.
func (d *driver) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, "")
}

// ListFrom implements storage.FromLister with ListObjectsV2's StartAfter,
// which S3 applies on its side. StartAfter is exclusive; to include start
// itself, the listing starts after start without its last character and
// the few keys between are dropped here.
func (d *driver) ListFrom(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, start)
}

func (d *driver) list(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &d.bucket}
	if full := d.objectKey(prefix); full != "" {
		in.Prefix = aws.String(full)
	}
	if start > prefix {
		_, size := utf8.DecodeLastRuneInString(start)
		in.StartAfter = aws.String(d.objectKey(start[:len(start)-size]))
	}
	var objs []storage.ObjectInfo
	pages := s3.NewListObjectsV2Paginator(d.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, d.fail(ctx, err, "")
		}
		d.bucketSeen.Store(true)
		for _, o := range page.Contents {
			if o.Key == nil {
				continue
			}
			key, ok := strings.CutPrefix(*o.Key, d.root)
			if !ok || key < start || storage.ValidateKey(key) != nil {
				continue // folder markers ("dir/") and names no key can have
			}
			oi := storage.ObjectInfo{Key: key}
			if o.Size != nil {
				oi.Size = *o.Size
			}
			if o.LastModified != nil {
				oi.ModTime = *o.LastModified
			}
			objs = append(objs, oi)
		}
	}
	return objs, nil
}

// Stat implements storage.Driver.
func (d *driver) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: aws.String(d.objectKey(key))})
	if err != nil {
		return storage.ObjectInfo{}, d.fail(ctx, err, key)
	}
	d.bucketSeen.Store(true)
	oi := storage.ObjectInfo{Key: key}
	if out.ContentLength != nil {
		oi.Size = *out.ContentLength
	}
	if out.LastModified != nil {
		oi.ModTime = *out.LastModified
	}
	return oi, nil
}

// Delete implements storage.Driver. S3 deletes missing keys without
// complaint, so the driver checks first: two concurrent deletes of one key
// may then both succeed.
func (d *driver) Delete(ctx context.Context, key string) error {
	if _, err := d.Stat(ctx, key); err != nil {
		return err
	}
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: aws.String(d.objectKey(key))})
	return d.fail(ctx, err, key)
}

// Close implements storage.Driver.
func (d *driver) Close() error { return nil }

func headBucketInput(bucket string) *s3.HeadBucketInput {
	return &s3.HeadBucketInput{Bucket: aws.String(bucket)}
}
