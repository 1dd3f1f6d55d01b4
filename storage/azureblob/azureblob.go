// Package azureblob is the storage driver for Azure Blob Storage and ADLS
// Gen2. Importing it registers three URL schemes with package storage:
//
//	abfss://container@account.dfs.core.windows.net/path  (the form Databricks and Spark use)
//	abfs://container@account.dfs.core.windows.net/path   (Spark's plain-HTTP form; the same here)
//	az://container/path                                  (account from the environment)
//	azblob://container/path                              (the same, as gocloud.dev spells it)
//
// The URL's path is the root prefix inside the container; az and azblob URLs
// may also name the account as container@account.blob.core.windows.net.
// Credentials come from the environment as Azure tools read it (see
// OptionsFromEnv and Options): a connection string
// (AZURE_STORAGE_CONNECTION_STRING, including Azurite's form with
// BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1), an account key
// (AZURE_STORAGE_KEY), a SAS token (AZURE_STORAGE_SAS_TOKEN), or else
// azidentity's DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI).
//
// Blob names are the keys verbatim (after the root prefix): a blob another
// tool wrote as "date=2024-01-01%2010%3A00/part-0.parquet" is read under
// exactly that key. This is why the driver talks to the azblob SDK
// directly rather than through gocloud.dev/blob, whose Azure driver rewrites
// '%', '#', '?' and '"' in keys to "__0xNN__" and so cannot read or write
// the partition directories Spark creates.
//
// CreateIfAbsent is one Put Blob with If-None-Match: *, which the service
// applies atomically: of concurrent creators exactly one wins, across
// processes and machines. Write is a single Put Blob (or, above 8 MiB of a
// stream, staged blocks and one Put Block List), so readers never see a
// partial object. Throttling and transient failures (408, 429, 500, 502,
// 503, 504, broken connections) are retried with exponential backoff.
//
// On accounts with a hierarchical namespace (ADLS Gen2), directories are
// objects of the blob API; the driver hides them: List skips them and Stat
// and reads report storage.ErrNotFound for them.
package azureblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// Schemes are the URL schemes the package registers.
var Schemes = []string{"abfss", "abfs", "az", "azblob"}

func init() {
	for _, scheme := range Schemes {
		storage.Register(scheme, func(ctx context.Context, u *url.URL) (storage.Driver, error) {
			return NewDriver(ctx, u, OptionsFromEnv())
		})
	}
}

// DefaultRetry is the retry policy of every driver: up to 6 retries of
// throttled (429, 503), failed (500, 502, 504) and timed-out (408)
// requests and of broken connections, with exponential backoff from 800 ms
// up to 60 s (or as the service's Retry-After header says).
var DefaultRetry = policy.RetryOptions{
	MaxRetries:    6,
	RetryDelay:    800 * time.Millisecond,
	MaxRetryDelay: 60 * time.Second,
	StatusCodes: []int{
		http.StatusRequestTimeout,
		http.StatusTooManyRequests,
		http.StatusInternalServerError,
		http.StatusBadGateway,
		http.StatusServiceUnavailable,
		http.StatusGatewayTimeout,
	},
}

const (
	// singlePutMax is the largest Write sent as one Put Blob when its size
	// is known up front (a *bytes.Reader, as storage.Store.Write passes).
	singlePutMax = 256 << 20
	// blockSize is the size of staged blocks for streams; a stream that
	// ends within one block is sent as a single Put Blob.
	blockSize = 8 << 20
	// uploadConcurrency is how many blocks of one stream are in flight.
	uploadConcurrency = 4
	// readRetries is how often a broken download is resumed.
	readRetries = 3
	// writerMetadata is the metadata key CreateIfAbsent tags its blob with,
	// so that a retried request that finds the blob can tell whether its
	// own earlier attempt created it.
	writerMetadata = "medallioncreator"
	// folderMetadata marks directories on hierarchical-namespace accounts.
	folderMetadata = "hdi_isfolder"
)

// Open opens the store for an abfss, az or azblob URL with explicit
// options; opts nil means OptionsFromEnv. storage.Open does the same with
// options from the environment.
func Open(ctx context.Context, location string, opts *Options) (*storage.Store, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: malformed URL", redactURL(location))
	}
	drv, err := NewDriver(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", location, err)
	}
	return storage.NewStore(location, drv), nil
}

// redactURL drops the query of a URL that failed to parse.
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i] + "?..."
	}
	return s
}

// NewDriver returns the driver for an abfss, az or azblob URL; opts nil
// means OptionsFromEnv. It sends no request: a missing container or a wrong
// credential shows in the first operation.
func NewDriver(ctx context.Context, u *url.URL, opts *Options) (storage.Driver, error) {
	return newDriver(ctx, u, opts, hooks{})
}

// hooks replace parts of the HTTP stack in tests.
type hooks struct {
	transport policy.Transporter   // nil: the SDK's default
	retry     *policy.RetryOptions // nil: DefaultRetry
}

// newDriver is NewDriver with test hooks.
func newDriver(ctx context.Context, u *url.URL, opts *Options, h hooks) (*driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "abfss", "abfs", "az", "azblob":
	default:
		return nil, fmt.Errorf("azureblob: unsupported scheme %q (want abfss, abfs, az or azblob)", u.Scheme)
	}
	if opts == nil {
		opts = OptionsFromEnv()
	}
	loc, err := parseLocation(u)
	if err != nil {
		return nil, err
	}
	cfg, err := resolve(loc, opts)
	if err != nil {
		return nil, err
	}
	d := &driver{cfg: cfg, retry: DefaultRetry}
	if h.retry != nil {
		d.retry = *h.retry
	}
	clientOpts := &container.ClientOptions{}
	clientOpts.Retry = d.retry
	clientOpts.Telemetry.ApplicationID = "medallion"
	clientOpts.PerCallPolicies = []policy.Policy{startFromPolicy{}}
	if h.transport != nil {
		clientOpts.Transport = h.transport
	}
	containerURL := cfg.containerURL()
	switch cfg.kind {
	case credSharedKey:
		cred, err := container.NewSharedKeyCredential(cfg.account, cfg.key)
		if err != nil {
			// The SDK's message is about base64; it does not quote the key.
			return nil, fmt.Errorf("%s is not a valid account key (want the base64 key1 or key2 from the portal's Access keys page)", cfg.credDesc)
		}
		d.client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, clientOpts)
		if err != nil {
			return nil, d.fail(ctx, err)
		}
	case credSAS:
		d.client, err = container.NewClientWithNoCredential(containerURL+"?"+cfg.sas, clientOpts)
		if err != nil {
			return nil, d.fail(ctx, err)
		}
	case credToken:
		d.client, err = container.NewClient(containerURL, cfg.token, clientOpts)
		if err != nil {
			return nil, d.fail(ctx, err)
		}
	case credDefault:
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, &blobutil.Error{Msg: d.redact(fmt.Sprintf("no usable Azure credential for storage account %q: %s (%s)", cfg.account, cfg.fixHint, blobutil.FirstLine(err.Error())))}
		}
		d.client, err = container.NewClient(containerURL, cred, clientOpts)
		if err != nil {
			return nil, d.fail(ctx, err)
		}
	}
	return d, nil
}

// driver implements storage.Driver over one container.
type driver struct {
	cfg    *config
	client *container.Client
	retry  policy.RetryOptions
	// noStartFrom is set once the service has refused a listing with
	// startFrom; later ListFrom calls then list everything and filter.
	noStartFrom atomic.Bool
}

var (
	_ storage.Driver     = (*driver)(nil)
	_ storage.FromLister = (*driver)(nil)
)

// blobName is the blob's name for key.
func (d *driver) blobName(key string) string { return d.cfg.root + key }

// isFolder reports whether metadata marks a directory of an account with
// a hierarchical namespace.
func isFolder(md map[string]*string) bool {
	for k, v := range md {
		if strings.EqualFold(k, folderMetadata) && v != nil && strings.EqualFold(*v, "true") {
			return true
		}
	}
	return false
}

// NewRangeReader implements storage.Driver.
func (d *driver) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bc := d.client.NewBlobClient(d.blobName(key))
	if length == 0 {
		// A zero-length range cannot be asked for; check existence.
		if _, err := d.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	opts := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}}
	if length > 0 {
		opts.Range.Count = length
	}
	resp, err := bc.DownloadStream(ctx, opts)
	if err != nil {
		if status, _, ok := responseStatus(err); ok && status == http.StatusRequestedRangeNotSatisfiable {
			// The range starts at or past the end of an existing blob
			// (every range of an empty blob does).
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, d.fail(ctx, err)
	}
	if isFolder(resp.Metadata) {
		resp.Body.Close()
		return nil, &blobutil.Error{Msg: "not found (a directory)", Sentinel: storage.ErrNotFound}
	}
	return &reader{d: d, ctx: ctx, rc: resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: readRetries})}, nil
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
		err = r.d.fail(r.ctx, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }

// Write implements storage.Driver. Content of known size up to 256 MiB,
// and streams that end within 8 MiB, go in one Put Blob; longer streams
// are staged as blocks and committed with one Put Block List. Either way
// the new content replaces the old in one step, and a failed write leaves
// the old content (or no object) in place.
func (d *driver) Write(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bb := d.client.NewBlockBlobClient(d.blobName(key))
	if br, ok := r.(*bytes.Reader); ok && br.Len() <= singlePutMax {
		if pos, err := br.Seek(0, io.SeekCurrent); err == nil && pos == 0 {
			_, err := bb.Upload(ctx, streaming.NopCloser(br), nil)
			return d.fail(ctx, err)
		}
	}
	// Read up to one block (into a buffer that grows as needed): a stream
	// that ends within it is one request.
	var head bytes.Buffer
	n, err := head.ReadFrom(io.LimitReader(blobutil.ContextReader(ctx, r), blockSize+1))
	if err != nil {
		return blobutil.ReadError(ctx, err)
	}
	if n <= blockSize {
		_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(head.Bytes())), nil)
		return d.fail(ctx, err)
	}
	body := io.MultiReader(bytes.NewReader(head.Bytes()), blobutil.ContextReader(ctx, r))
	_, err = bb.UploadStream(ctx, body, &blockblob.UploadStreamOptions{BlockSize: blockSize, Concurrency: uploadConcurrency})
	if err != nil {
		if _, _, isResp := responseStatus(err); !isResp && ctx.Err() == nil && !isTransport(err) {
			return blobutil.ReadError(ctx, err) // the source failed
		}
		return d.fail(ctx, err)
	}
	return nil
}

// isTransport reports whether err is a network failure.
func isTransport(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// CreateIfAbsent implements storage.Driver with one Put Blob carrying
// If-None-Match: *, which the service evaluates atomically with the write.
// The blob is tagged with a random creator ID in its metadata: when the
// service reports that the blob exists (409 BlobAlreadyExists or 412), the
// tag tells whether it exists because an earlier attempt of this very call
// succeeded before its response was lost and the SDK retried.
func (d *driver) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := blobutil.CreatorID()
	if err != nil {
		return err
	}
	bb := d.client.NewBlockBlobClient(d.blobName(key))
	etagAny := azcore.ETagAny
	_, err = bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Metadata: map[string]*string{writerMetadata: &id},
		AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &etagAny},
		},
	})
	if err == nil {
		return nil
	}
	status, _, ok := responseStatus(err)
	if !ok || (status != http.StatusConflict && status != http.StatusPreconditionFailed) {
		return d.fail(ctx, err)
	}
	props, perr := bb.GetProperties(ctx, nil)
	if perr == nil {
		for k, v := range props.Metadata {
			if strings.EqualFold(k, writerMetadata) && v != nil && *v == id {
				return nil // our own earlier attempt created it
			}
		}
	}
	return &blobutil.Error{Msg: "already exists", Sentinel: storage.ErrExists}
}

// List implements storage.Driver with a flat listing of the blobs whose
// names start with the root prefix plus prefix.
func (d *driver) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, "")
}

// ListFrom implements storage.FromLister with the List Blobs startFrom
// parameter, which skips the blobs sorting before start on the service
// side. Should the service refuse the parameter (400), the driver lists
// everything from then on and filters; either way the result only holds
// keys >= start.
func (d *driver) ListFrom(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	return d.list(ctx, prefix, start)
}

func (d *driver) list(ctx context.Context, prefix, start string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	full := d.blobName(prefix)
	useStartFrom := start > prefix && !d.noStartFrom.Load()
	for {
		opts := &container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
		if full != "" {
			opts.Prefix = &full
		}
		lctx := ctx
		if useStartFrom {
			lctx = context.WithValue(ctx, startFromKey{}, d.blobName(start))
		}
		objs, err := d.listPages(lctx, opts, start)
		if err != nil && useStartFrom {
			if status, _, ok := responseStatus(err); ok && status == http.StatusBadRequest {
				d.noStartFrom.Store(true)
				useStartFrom = false
				continue
			}
		}
		if err != nil {
			return nil, d.fail(ctx, err)
		}
		return objs, nil
	}
}

// startFromKey is the context key of the startFrom parameter of a
// listing.
type startFromKey struct{}

// startFromPolicy adds the startFrom parameter of List Blobs to the
// requests whose context carries one. The SDK has the field
// (ListBlobsFlatOptions.StartFrom) but its pager (azblob v1.8) does not
// send it. The parameter is appended to the query as is, leaving the rest
// (a SAS token) byte for byte unchanged; with a shared key it is signed like
// any other parameter, since this policy runs before the signing one.
type startFromPolicy struct{}

func (startFromPolicy) Do(req *policy.Request) (*http.Response, error) {
	if sf, ok := req.Raw().Context().Value(startFromKey{}).(string); ok && sf != "" {
		u := req.Raw().URL
		if !u.Query().Has("startFrom") {
			sep := "&"
			if u.RawQuery == "" {
				sep = ""
			}
			u.RawQuery += sep + "startFrom=" + url.QueryEscape(sf)
		}
	}
	return req.Next()
}

// listPages collects every page of a flat listing, keeping keys >= start.
func (d *driver) listPages(ctx context.Context, opts *container.ListBlobsFlatOptions, start string) ([]storage.ObjectInfo, error) {
	var objs []storage.ObjectInfo
	pager := d.client.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		if page.Segment == nil {
			continue
		}
		for _, item := range page.Segment.BlobItems {
			if item == nil || item.Name == nil || item.Properties == nil {
				continue
			}
			key, ok := strings.CutPrefix(*item.Name, d.cfg.root)
			if !ok || key < start || storage.ValidateKey(key) != nil {
				continue // not expressible as a key
			}
			p := item.Properties
			if isFolder(item.Metadata) || (p.ResourceType != nil && strings.EqualFold(*p.ResourceType, "directory")) {
				continue
			}
			oi := storage.ObjectInfo{Key: key}
			if p.ContentLength != nil {
				oi.Size = *p.ContentLength
			}
			if p.LastModified != nil {
				oi.ModTime = *p.LastModified
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
	props, err := d.client.NewBlobClient(d.blobName(key)).GetProperties(ctx, nil)
	if err != nil {
		return storage.ObjectInfo{}, d.fail(ctx, err)
	}
	if isFolder(props.Metadata) {
		return storage.ObjectInfo{}, &blobutil.Error{Msg: "not found (a directory)", Sentinel: storage.ErrNotFound}
	}
	oi := storage.ObjectInfo{Key: key}
	if props.ContentLength != nil {
		oi.Size = *props.ContentLength
	}
	if props.LastModified != nil {
		oi.ModTime = *props.LastModified
	}
	return oi, nil
}

// Delete implements storage.Driver. Snapshots of the blob go with it. On
// accounts with a hierarchical namespace a non-empty directory is not an
// object, and deleting it gives storage.ErrNotFound.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	include := blob.DeleteSnapshotsOptionTypeInclude
	_, err := d.client.NewBlobClient(d.blobName(key)).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: &include})
	if err != nil {
		if status, code, ok := responseStatus(err); ok && status == http.StatusConflict && code == "DirectoryIsNotEmpty" {
			return &blobutil.Error{Msg: "not found (a directory)", Sentinel: storage.ErrNotFound}
		}
		return d.fail(ctx, err)
	}
	return nil
}

// Close implements storage.Driver; the driver holds no resources beyond
// pooled connections.
func (d *driver) Close() error { return nil }
