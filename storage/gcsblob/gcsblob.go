// Package gcsblob is the storage driver for Google Cloud Storage. Importing
// it registers the URL scheme "gs" with package storage:
//
//	gs://bucket/path/to/lake
//
// The URL's path is the root prefix inside the bucket. Credentials come from
// Application Default Credentials as every Google client library reads
// them: GOOGLE_APPLICATION_CREDENTIALS (a service-account key or any other
// credential file), the file `gcloud auth application-default login`
// writes, or the service account attached to a Google Cloud VM, Cloud Run
// service or GKE workload. GOOGLE_CLOUD_QUOTA_PROJECT picks the project
// billed for quota. STORAGE_EMULATOR_HOST (such as 127.0.0.1:4443 or
// http://127.0.0.1:4443) sends every request to an emulator, without
// authentication.
//
// Keys are object names verbatim after the root prefix. Requests use the
// JSON API (reads too), whose errors say what went wrong.
//
// CreateIfAbsent is one upload with the precondition ifGenerationMatch=0,
// which Cloud Storage evaluates atomically: of concurrent creators exactly
// one wins, across processes and machines; the others get 412, reported as
// storage.ErrExists. Write is one upload (a single request up to 16 MiB, a
// resumable upload above, finalized in its last request): readers never see
// a partial object. Throttling (429), server errors (5xx), timeouts (408)
// and broken connections are retried with exponential backoff, up to
// MaxAttempts tries of a request, uploads included. A request whose
// response was lost is safe to repeat: CreateIfAbsent recognizes its own
// object by a creator ID in its metadata, and Delete deletes one generation.
//
// The driver writes objects without a Content-Encoding. An object that
// another tool stored with Content-Encoding: gzip is served decompressed
// (decompressive transcoding), and range reads of it are not supported.
package gcsblob

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	gcs "cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// Scheme is the URL scheme the package registers.
const Scheme = "gs"

func init() {
	storage.Register(Scheme, func(ctx context.Context, u *url.URL) (storage.Driver, error) {
		return NewDriver(ctx, u, nil)
	})
}

// EnvEmulatorHost is the variable that points the client at an emulator,
// as the Google client libraries read it.
const EnvEmulatorHost = "STORAGE_EMULATOR_HOST"

// MaxAttempts is how many times a request is tried in all: throttled (429),
// failed (5xx), timed-out (408) and broken requests are retried with
// exponential backoff from 500 ms, doubling, up to 20 s apart.
const MaxAttempts = 7

// UploadRetryDeadline additionally bounds the retries of one request of a
// resumable upload.
const UploadRetryDeadline = 2 * time.Minute

const (
	// chunkSize is the size of the requests of a resumable upload; content
	// up to this size is one request.
	chunkSize = 16 << 20
	// creatorMetadata is the metadata key CreateIfAbsent tags its object
	// with, so that a retried upload that meets the object can tell whether
	// its own earlier attempt created it.
	creatorMetadata = "medallion-creator"
)

// Options adjust the client. The zero value (or nil) means Application
// Default Credentials, or the emulator of STORAGE_EMULATOR_HOST.
type Options struct {
	// ClientOptions are passed to the Cloud Storage client after the
	// driver's own, such as option.WithCredentialsFile or
	// option.WithEndpoint.
	ClientOptions []option.ClientOption
	// UserProject is the project billed for requests to a requester-pays
	// bucket. Leave it empty for other buckets: it needs the
	// serviceusage.services.use permission in that project.
	UserProject string
}

// hooks replace parts of the client in tests.
type hooks struct {
	httpClient    *http.Client  // nil: authenticated default
	maxAttempts   int           // 0: MaxAttempts
	backoff       gax.Backoff   // zero: 500 ms doubling up to 20 s
	uploadRetry   time.Duration // 0: UploadRetryDeadline
	chunkSize     int           // 0: chunkSize
	clientOptions []option.ClientOption
}

// Open opens the store for a gs URL with explicit options; nil means the
// environment's. storage.Open does the same with nil options.
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

// NewDriver returns the driver for a gs URL. It finds the credentials but
// sends no request: a missing bucket or a missing permission shows in the
// first operation.
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
	d := &driver{
		bucketName:  bucket,
		root:        root,
		attempts:    MaxAttempts,
		uploadRetry: UploadRetryDeadline,
		chunkSize:   chunkSize,
		emulator:    os.Getenv(EnvEmulatorHost),
	}
	backoff := gax.Backoff{Initial: 500 * time.Millisecond, Max: 20 * time.Second, Multiplier: 2}
	if h.maxAttempts > 0 {
		d.attempts = h.maxAttempts
	}
	if h.backoff != (gax.Backoff{}) {
		backoff = h.backoff
	}
	if h.uploadRetry > 0 {
		d.uploadRetry = h.uploadRetry
	}
	if h.chunkSize > 0 {
		d.chunkSize = h.chunkSize
	}
	// JSON reads: errors of reads then carry the service's reason, as
	// those of every other request do.
	clientOpts := []option.ClientOption{gcs.WithJSONReads()}
	if h.httpClient != nil {
		clientOpts = append(clientOpts, option.WithHTTPClient(h.httpClient))
	}
	clientOpts = append(clientOpts, h.clientOptions...)
	clientOpts = append(clientOpts, opts.ClientOptions...)
	client, err := gcs.NewClient(ctx, clientOpts...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, credentialsError(err)
	}
	client.SetRetry(
		gcs.WithBackoff(backoff),
		gcs.WithMaxAttempts(d.attempts),
		// Every request the driver sends may be repeated: reads, listings
		// and conditional writes are idempotent, and a repeated plain
		// Write stores the same content again.
		gcs.WithPolicy(gcs.RetryAlways),
		gcs.WithErrorFunc(gcs.ShouldRetry),
	)
	d.client = client
	d.bucket = client.Bucket(bucket)
	if opts.UserProject != "" {
		d.userProject = opts.UserProject
		d.bucket = d.bucket.UserProject(opts.UserProject)
	}
	return d, nil
}

// parseLocation reads gs://bucket/path.
func parseLocation(u *url.URL) (bucket, root string, err error) {
	if u.Scheme != Scheme {
		return "", "", fmt.Errorf("gcsblob: unsupported scheme %q (want gs)", u.Scheme)
	}
	if u.Opaque != "" || u.User != nil || u.Port() != "" {
		return "", "", fmt.Errorf("malformed URL: write gs://bucket/path")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "", fmt.Errorf("query parameters and fragments are not supported in gs URLs (point at an emulator with %s)", EnvEmulatorHost)
	}
	bucket = u.Host
	if bucket == "" {
		return "", "", fmt.Errorf("gs URL without a bucket: write gs://bucket/path")
	}
	if !validBucketName(bucket) {
		return "", "", fmt.Errorf("invalid bucket name %q: use 3 to 63 lowercase letters, digits, hyphens and underscores (up to 222 with dots), starting and ending with a letter or digit", bucket)
	}
	if r := strings.Trim(u.Path, "/"); r != "" {
		if err := storage.ValidateKey(r); err != nil {
			return "", "", fmt.Errorf("path %q is not a clean path inside the bucket (no empty, \".\" or \"..\" elements)", r)
		}
		root = r + "/"
	}
	return bucket, root, nil
}

// validBucketName applies Cloud Storage's naming rules.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 222 || strings.Trim(b, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return false
	}
	for _, part := range strings.Split(b, ".") {
		if part == "" || len(part) > 63 {
			return false
		}
	}
	return strings.Contains(b, ".") || len(b) <= 63
}

// driver implements storage.Driver over one bucket.
type driver struct {
	client      *gcs.Client
	bucket      *gcs.BucketHandle
	bucketName  string
	root        string
	userProject string
	emulator    string // STORAGE_EMULATOR_HOST, "" for Google's service
	attempts    int
	uploadRetry time.Duration
	chunkSize   int
	// bucketSeen is set once the bucket is known to exist, so that a 404
	// for an object means a missing object.
	bucketSeen atomic.Bool
}

var (
	_ storage.Driver     = (*driver)(nil)
	_ storage.FromLister = (*driver)(nil)
)

func (d *driver) object(key string) *gcs.ObjectHandle { return d.bucket.Object(d.root + key) }

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
	r, err := d.object(key).NewRangeReader(ctx, offset, length)
	if err != nil {
		if statusOf(err) == http.StatusRequestedRangeNotSatisfiable {
			// The range starts at or past the end of an existing object
			// (every range of an empty object does).
			d.bucketSeen.Store(true)
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, d.fail(ctx, err, opRead)
	}
	d.bucketSeen.Store(true)
	return &reader{d: d, ctx: ctx, r: r}, nil
}

// reader passes read errors through the driver's error mapping.
type reader struct {
	d   *driver
	ctx context.Context
	r   *gcs.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.d.fail(r.ctx, err, opRead)
	}
	return n, err
}

func (r *reader) Close() error { return r.r.Close() }

// newWriter returns a writer for key, with the precondition conds if it is
// not nil, whose upload is abandoned when cancel is called before Close.
//
// The client retries an upload request until its context ends: a
// single-request upload has no other bound, and a resumable one only
// Writer.ChunkRetryDeadline per request. The writer's own copy of the
// retry configuration therefore also counts failed attempts, allowing
// d.attempts in a row (the count starts again whenever a resumable upload
// gets a chunk through).
func (d *driver) newWriter(ctx context.Context, key string, conds *gcs.Conditions) (*gcs.Writer, context.CancelFunc) {
	var failures atomic.Int64
	limit := int64(d.attempts)
	// Client.Bucket copies the client's retry configuration, so Retryer
	// changes this call's copy only.
	b := d.client.Bucket(d.bucketName)
	if d.userProject != "" {
		b = b.UserProject(d.userProject)
	}
	obj := b.Object(d.root + key).Retryer(gcs.WithErrorFunc(func(err error) bool {
		return gcs.ShouldRetry(err) && failures.Add(1) < limit
	}))
	if conds != nil {
		obj = obj.If(*conds)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := obj.NewWriter(wctx)
	w.ChunkSize = d.chunkSize
	w.ChunkRetryDeadline = d.uploadRetry
	w.ContentType = "application/octet-stream"
	w.ProgressFunc = func(int64) { failures.Store(0) }
	return w, cancel
}

// Write implements storage.Driver: content that ends within 16 MiB is one
// request; longer content is a resumable upload, which creates the object
// only with its last request. A failure of r abandons the upload, leaving
// any previous object as it was.
func (d *driver) Write(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w, cancel := d.newWriter(ctx, key, nil)
	defer cancel()
	src := &sourceReader{ctx: ctx, r: r}
	if _, err := io.Copy(w, src); err != nil {
		cancel() // abandons the upload: nothing becomes visible
		w.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if src.err != nil {
			return fmt.Errorf("reading the content to write: %w", src.err)
		}
		return d.fail(ctx, err, opWrite) // the upload failed mid-stream
	}
	if err := w.Close(); err != nil {
		return d.fail(ctx, err, opWrite)
	}
	d.bucketSeen.Store(true)
	return nil
}

// sourceReader reads the content of a Write, stopping once its context is
// done, and records its own failure apart from the upload's.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// CreateIfAbsent implements storage.Driver with one upload carrying
// ifGenerationMatch=0. The object is tagged with a random creator ID: when
// the service answers 412 (the object exists), the tag tells whether it
// exists because an earlier attempt of this very call succeeded before its
// response was lost and the client retried.
func (d *driver) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := blobutil.CreatorID()
	if err != nil {
		return err
	}
	w, cancel := d.newWriter(ctx, key, &gcs.Conditions{DoesNotExist: true})
	defer cancel()
	w.Metadata = map[string]string{creatorMetadata: id}
	w.CRC32C = crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	w.SendCRC32C = true
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		d.bucketSeen.Store(true)
		return nil
	}
	if statusOf(err) != http.StatusPreconditionFailed {
		return d.fail(ctx, err, opWrite)
	}
	d.bucketSeen.Store(true)
	if attrs, aerr := d.object(key).Attrs(ctx); aerr == nil && attrs.Metadata[creatorMetadata] == id {
		return nil // our own earlier attempt created it
	}
	return &blobutil.Error{Msg: "already exists", Sentinel: storage.ErrExists}
}

// List implements storage.Driver.
func (d *driver) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, "")
}

// ListFrom implements storage.FromLister with the listing's StartOffset
// (inclusive), which the service applies on its side.
func (d *driver) ListFrom(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, start)
}

func (d *driver) list(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := &gcs.Query{Prefix: d.root + prefix, Projection: gcs.ProjectionNoACL}
	if start > prefix {
		q.StartOffset = d.root + start
	}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return nil, err
	}
	var objs []storage.ObjectInfo
	it := d.bucket.Objects(ctx, q)
	for {
		o, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, d.fail(ctx, err, opList)
		}
		d.bucketSeen.Store(true)
		key, ok := strings.CutPrefix(o.Name, d.root)
		if !ok || key < start || storage.ValidateKey(key) != nil {
			continue // folder placeholders ("dir/") and names no key can have
		}
		objs = append(objs, storage.ObjectInfo{Key: key, Size: o.Size, ModTime: o.Updated})
	}
	d.bucketSeen.Store(true)
	return objs, nil
}

// Stat implements storage.Driver.
func (d *driver) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	attrs, err := d.object(key).Attrs(ctx)
	if err != nil {
		return storage.ObjectInfo{}, d.fail(ctx, err, opRead)
	}
	d.bucketSeen.Store(true)
	return storage.ObjectInfo{Key: key, Size: attrs.Size, ModTime: attrs.Updated}, nil
}

// Delete implements storage.Driver. It reads the object's generation and
// deletes that generation, a request that may safely be retried: a 404 or
// 412 then means the generation is gone already (deleted by a lost attempt
// of this call or by another deleter, or replaced by a writer), and the
// Delete succeeds. A missing key gives storage.ErrNotFound.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	obj := d.object(key)
	attrs, err := obj.Attrs(ctx)
	if err != nil {
		return d.fail(ctx, err, opRead)
	}
	d.bucketSeen.Store(true)
	err = obj.If(gcs.Conditions{GenerationMatch: attrs.Generation}).Delete(ctx)
	if s := statusOf(err); err == nil || s == http.StatusNotFound || s == http.StatusPreconditionFailed {
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
			return ctxErr
		}
		return nil
	}
	return d.fail(ctx, err, opWrite)
}

// Close implements storage.Driver.
func (d *driver) Close() error { return d.client.Close() }
