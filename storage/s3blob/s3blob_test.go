package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

func TestConformance(t *testing.T) {
	needS3(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "s3://"+newBucket(t)+"/lake/root")
	})
}

func TestConformanceS3ABucketRoot(t *testing.T) {
	needS3(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "s3a://"+newBucket(t))
	})
}

func TestCrossProcessCreate(t *testing.T) {
	// Eight test binaries race CreateIfAbsent through storage.Open, with
	// the endpoint and credentials TestMain put in their environment.
	storagetest.RunCrossProcessCreate(t, "s3://"+newBucket(t)+"/xproc", 8)
}

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct{ url, bucket, root string }{
		{"s3://my-bucket/a/b", "my-bucket", "a/b/"},
		{"s3a://my.bucket", "my.bucket", ""},
		{"s3://bkt/", "bkt", ""},
	} {
		u, _ := url.Parse(tc.url)
		b, r, err := parseLocation(u)
		if err != nil || b != tc.bucket || r != tc.root {
			t.Errorf("parseLocation(%s) = %q, %q, %v", tc.url, b, r, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"s3:///x", "without a bucket"},
		{"s3://My_Bucket/x", "invalid bucket name"},
		{"s3://bkt/a/../b", "not a clean path"},
		{"s3://bkt/x?versionId=1", "not supported"},
		{"s3://user@bkt/x", "malformed"},
	} {
		u, _ := url.Parse(tc.url)
		if _, _, err := parseLocation(u); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseLocation(%s) = %v, want an error containing %q", tc.url, err, tc.want)
		}
	}
}

// closedEndpoint returns a loopback endpoint where nothing listens.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestClearErrors checks the messages of the mistakes users make.
func TestClearErrors(t *testing.T) {
	needS3(t)
	t.Run("missing bucket", func(t *testing.T) {
		missing := "no-such-bucket-" + randomHex(4)
		loc := "s3://" + missing + "/lake"
		s := openStore(t, loc)
		for op, err := range allOps(t, s) {
			msg := err.Error()
			checkOneLine(t, op, msg)
			if want := fmt.Sprintf("bucket %q does not exist", missing); !strings.Contains(msg, want) || !strings.Contains(msg, loc) {
				t.Errorf("%s: error %q, want one naming %s and saying %q", op, msg, loc, want)
			}
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		loc := "s3://" + newBucket(t) + "/lake"
		s := openStore(t, loc)
		for op, err := range allOps(t, s) {
			msg := err.Error()
			checkOneLine(t, op, msg)
			if !strings.Contains(msg, "no usable AWS credentials") || !strings.Contains(msg, "AWS_ACCESS_KEY_ID") {
				t.Errorf("%s: error %q, want one about missing credentials", op, msg)
			}
		}
	})
	t.Run("server down", func(t *testing.T) {
		loc := "s3://some-bucket/lake"
		u, _ := url.Parse(loc)
		d, err := newDriver(t.Context(), u, &Options{Endpoint: closedEndpoint(t)}, hooks{maxAttempts: 2, maxBackoff: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for op, err := range allOps(t, storage.NewStore(loc, d)) {
			if msg := err.Error(); !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "scripts/s3server.sh") {
				t.Errorf("%s: error %q, want connection refused and the hint", op, msg)
			}
		}
	})
}

// scriptedClient answers requests from a script before (or instead of)
// passing them to the local server.
type scriptedClient struct {
	mu       sync.Mutex
	requests int
	respond  func(req *http.Request, n int, forwarded *http.Response) *http.Response
}

func (s *scriptedClient) Do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	if resp := s.respond(req, n, nil); resp != nil {
		return resp, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if override := s.respond(req, n, resp); override != nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return override, nil
	}
	return resp, nil
}

func (s *scriptedClient) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// s3Error is an S3 error response.
func s3Error(req *http.Request, status int, code, message string, header ...string) *http.Response {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>r</RequestId></Error>`, code, message)
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	if req.Method == http.MethodHead {
		body = ""
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// scriptedStore returns a store over a fresh bucket whose requests go
// through c.
func scriptedStore(t *testing.T, c *scriptedClient, attempts int) (*storage.Store, string) {
	t.Helper()
	bucket := newBucket(t)
	loc := "s3://" + bucket + "/lake"
	u, _ := url.Parse(loc)
	d, err := newDriver(t.Context(), u, nil, hooks{httpClient: c, maxAttempts: attempts, maxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return storage.NewStore(loc, d), bucket
}

// TestErrorsDoNotRevealSecrets makes the server answer every request with
// the credential errors S3 gives, their messages quoting the secret key and
// session token (S3 never does; this is the worst case): no message shows
// them, and each says what to fix.
func TestErrorsDoNotRevealSecrets(t *testing.T) {
	const token = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"
	t.Setenv("AWS_SESSION_TOKEN", token)
	for _, tc := range []struct{ code, hint string }{
		{"SignatureDoesNotMatch", "check AWS_SECRET_ACCESS_KEY"},
		{"InvalidAccessKeyId", "check AWS_ACCESS_KEY_ID"},
		{"ExpiredToken", "aws sso login"},
		{"AccessDenied", "allow s3:GetObject"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
				if fwd == nil {
					return s3Error(req, http.StatusForbidden, tc.code, "secret "+testSecret+" token "+token)
				}
				return nil
			}}
			bucket := newBucket(t)
			loc := "s3://" + bucket + "/lake"
			u, _ := url.Parse(loc)
			d, err := newDriver(t.Context(), u, nil, hooks{httpClient: c, maxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			for op, err := range allOps(t, storage.NewStore(loc, d)) {
				msg := err.Error()
				checkOneLine(t, op, msg)
				if strings.Contains(msg, testSecret) || strings.Contains(msg, token) {
					t.Errorf("%s: error reveals a secret: %s", op, msg)
				}
				hint := tc.hint
				if op == "Stat" || op == "Delete" {
					// HEAD answers have no body, so no error code: S3
					// says only 403.
					hint = "check the credentials in use (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE)"
				}
				if !strings.Contains(msg, hint) || !strings.Contains(msg, loc) {
					t.Errorf("%s: error %q, want one naming %s and saying %q", op, msg, loc, hint)
				}
			}
		})
	}
}

// TestWrongRegion answers with S3's redirect for a bucket in another region.
func TestWrongRegion(t *testing.T) {
	c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil {
			return s3Error(req, http.StatusMovedPermanently, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.", "X-Amz-Bucket-Region", "eu-west-1")
		}
		return nil
	}}
	s, _ := scriptedStore(t, c, 1)
	_, err := s.ReadAll(t.Context(), "x")
	if err == nil || !strings.Contains(err.Error(), "set AWS_REGION=eu-west-1") {
		t.Fatalf("ReadAll from a bucket in another region: %v, want the region named", err)
	}
	t.Log(err)
}

// TestThrottlingIsRetried answers two of every three requests with 503
// SlowDown: the operations still succeed.
func TestThrottlingIsRetried(t *testing.T) {
	var throttled atomic.Int32
	c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil && n%3 != 0 {
			throttled.Add(1)
			return s3Error(req, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		}
		return nil
	}}
	s, _ := scriptedStore(t, c, 7)
	ctx := t.Context()
	if err := s.Write(ctx, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIfAbsent(ctx, "b", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadAll(ctx, "a"); err != nil || string(got) != "x" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if objs, err := s.List(ctx, ""); err != nil || len(objs) != 2 {
		t.Fatalf("List = %v, %v", objs, err)
	}
	if throttled.Load() == 0 {
		t.Fatal("no request was throttled")
	}
	always := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil {
			return s3Error(req, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		}
		return nil
	}}
	s2, _ := scriptedStore(t, always, 3)
	err := s2.Write(ctx, "a", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "throttling") || !strings.Contains(err.Error(), "503 SlowDown") {
		t.Fatalf("Write against a busy service: %v, want a throttling error", err)
	}
	if always.count() != 3 {
		t.Errorf("%d attempts, want 3", always.count())
	}
	t.Logf("gave up with: %v", err)
}

// TestCreateIfAbsentLostResponse makes the first conditional PUT reach the
// server but lose its response, so the SDK retries and meets its own
// object (412): CreateIfAbsent still succeeds; another creator gets
// ErrExists.
func TestCreateIfAbsentLostResponse(t *testing.T) {
	var lost atomic.Bool
	c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd != nil && req.Method == http.MethodPut && req.Header.Get("If-None-Match") == "*" &&
			fwd.StatusCode == http.StatusOK && lost.CompareAndSwap(false, true) {
			return s3Error(req, http.StatusServiceUnavailable, "SlowDown", "lost")
		}
		return nil
	}}
	s, bucket := scriptedStore(t, c, 4)
	ctx := t.Context()
	key := "_delta_log/00000000000000000001.json"
	if err := s.CreateIfAbsent(ctx, key, []byte("mine")); err != nil {
		t.Fatalf("CreateIfAbsent whose first response was lost: %v, want success", err)
	}
	if !lost.Load() {
		t.Fatal("no response was lost")
	}
	other := openStore(t, "s3://"+bucket+"/lake")
	if err := other.CreateIfAbsent(ctx, key, []byte("theirs")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CreateIfAbsent over an existing object: %v, want ErrExists", err)
	}
	if got, _ := other.ReadAll(ctx, key); string(got) != "mine" {
		t.Errorf("content %q, want %q", got, "mine")
	}
}

// TestListFromUsesStartAfter checks that ListFrom lets S3 skip the keys
// before the start.
func TestListFromUsesStartAfter(t *testing.T) {
	var startAfter atomic.Value
	c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil && req.URL.Query().Has("start-after") {
			startAfter.Store(req.URL.Query().Get("start-after"))
		}
		return nil
	}}
	s, _ := scriptedStore(t, c, 1)
	ctx := t.Context()
	var all []string
	for i := range 12 {
		k := fmt.Sprintf("_delta_log/%020d.json", i)
		all = append(all, k)
		if err := s.Write(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := s.ListFrom(ctx, "_delta_log/", all[7])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	if !slices.Equal(got, all[7:]) {
		t.Fatalf("ListFrom = %q, want %q", got, all[7:])
	}
	if sa, _ := startAfter.Load().(string); sa != "lake/"+strings.TrimSuffix(all[7], "n") {
		t.Errorf("start-after = %q, want %q", sa, "lake/"+strings.TrimSuffix(all[7], "n"))
	}
}

// TestLargeStreamWrite writes a stream of several parts (a multipart
// upload) and checks that a failing source leaves the old content and no
// upload behind.
func TestLargeStreamWrite(t *testing.T) {
	bucket := newBucket(t)
	s := openStore(t, "s3://"+bucket+"/lake")
	ctx := t.Context()
	data := make([]byte, partSize*2+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := s.WriteFrom(ctx, "big.bin", struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(ctx, "big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll of a multipart upload: %d bytes, %v", len(got), err)
	}
	part, err := s.ReadRange(ctx, "big.bin", partSize-10, 20)
	if err != nil || !bytes.Equal(part, data[partSize-10:partSize+10]) {
		t.Fatalf("ReadRange across parts: %v", err)
	}
	boom := errors.New("source broke")
	err = s.WriteFrom(ctx, "big.bin", io.MultiReader(bytes.NewReader(data[:partSize+1]), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFrom with a failing source: %v, want the source's error", err)
	}
	if oi, err := s.Stat(ctx, "big.bin"); err != nil || oi.Size != int64(len(data)) {
		t.Fatalf("after a failed overwrite Stat = %+v, %v; want the old object", oi, err)
	}
	ups, err := adminClient().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left after a failed write, want 0 (aborted)", len(ups.Uploads))
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestContextCanceledBeforeRequest(t *testing.T) {
	c := &scriptedClient{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		return s3Error(req, http.StatusInternalServerError, "InternalError", "unexpected")
	}}
	u, _ := url.Parse("s3://some-bucket/lake")
	d, err := newDriver(context.Background(), u, nil, hooks{httpClient: c})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := storage.NewStore("s3://some-bucket/lake", d)
	if err := s.Write(ctx, "k", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	if c.count() != 0 {
		t.Errorf("%d requests sent with a cancelled context", c.count())
	}
}
