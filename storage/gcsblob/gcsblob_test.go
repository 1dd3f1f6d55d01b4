package gcsblob

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

func TestConformance(t *testing.T) {
	needEmulator(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "gs://"+newBucket(t)+"/lake/root")
	})
}

func TestConformanceBucketRoot(t *testing.T) {
	needEmulator(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "gs://"+newBucket(t))
	})
}

func TestCrossProcessCreate(t *testing.T) {
	// Eight test binaries race CreateIfAbsent through storage.Open, each
	// talking over HTTP to the emulator this process runs (their
	// STORAGE_EMULATOR_HOST, inherited, points at it). The emulator
	// evaluates ifGenerationMatch=0 under one lock (see
	// TestEmulatorEnforcesDoesNotExist): the test shows that the driver
	// sends the precondition on every create and maps 412 to ErrExists in
	// separate processes, not how Cloud Storage itself serializes.
	storagetest.RunCrossProcessCreate(t, "gs://"+newBucket(t)+"/xproc", 8)
}

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct{ url, bucket, root string }{
		{"gs://my-bucket/a/b", "my-bucket", "a/b/"},
		{"gs://my_bucket.example.com", "my_bucket.example.com", ""},
		{"gs://bkt/", "bkt", ""},
	} {
		u, _ := url.Parse(tc.url)
		b, r, err := parseLocation(u)
		if err != nil || b != tc.bucket || r != tc.root {
			t.Errorf("parseLocation(%s) = %q, %q, %v", tc.url, b, r, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"gs:///x", "without a bucket"},
		{"gs://My_Bucket/x", "invalid bucket name"},
		{"gs://-bucket/x", "invalid bucket name"},
		{"gs://" + strings.Repeat("a", 64) + "/x", "invalid bucket name"},
		{"gs://bkt/a/../b", "not a clean path"},
		{"gs://bkt/x?generation=1", "not supported"},
		{"gs://user@bkt/x", "malformed"},
		{"gs://bkt:443/x", "malformed"},
		{"s3://bkt/x", "unsupported scheme"},
	} {
		u, _ := url.Parse(tc.url)
		if _, _, err := parseLocation(u); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseLocation(%s) = %v, want an error containing %q", tc.url, err, tc.want)
		}
	}
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
	errs["WriteFrom"] = s.WriteFrom(ctx, "k/stream", struct{ io.Reader }{strings.NewReader("data")})
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

// fastHooks retry quickly.
func fastHooks() hooks {
	return hooks{maxAttempts: 3, backoff: gax.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Multiplier: 2}, uploadRetry: time.Second}
}

// TestClearErrors checks the messages of the mistakes users make.
func TestClearErrors(t *testing.T) {
	t.Run("missing bucket", func(t *testing.T) {
		needEmulator(t)
		missing := "no-such-bucket-" + randomHex(4)
		loc := "gs://" + missing + "/lake"
		s := openStore(t, loc)
		errs := allOps(t, s)
		if len(errs) != 9 {
			t.Fatalf("%d operations failed, want 9", len(errs))
		}
		for op, err := range errs {
			msg := err.Error()
			checkOneLine(t, op, msg)
			want := fmt.Sprintf("bucket %q does not exist at the emulator %s (HTTP 404): create it (gcloud storage buckets create gs://%s)", missing, os.Getenv(EnvEmulatorHost), missing)
			if !strings.Contains(msg, want) || !strings.Contains(msg, loc+"/k/") {
				t.Errorf("%s: error %q, want one naming %s and saying %q", op, msg, loc, want)
			}
		}
		t.Log(errs["ReadAll"])
	})
	t.Run("emulator down", func(t *testing.T) {
		addr := "http://" + closedAddr(t)
		t.Setenv(EnvEmulatorHost, addr)
		loc := "gs://some-bucket/lake"
		u, _ := url.Parse(loc)
		d, err := newDriver(t.Context(), u, nil, fastHooks())
		if err != nil {
			t.Fatal(err)
		}
		s := storage.NewStore(loc, d)
		defer s.Close()
		for op, err := range allOps(t, s) {
			msg := err.Error()
			checkOneLine(t, op, msg)
			if !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "is the emulator running? (STORAGE_EMULATOR_HOST="+addr+")") {
				t.Errorf("%s: error %q, want connection refused and the hint", op, msg)
			}
		}
	})
	t.Run("credentials file missing", func(t *testing.T) {
		t.Setenv(EnvEmulatorHost, "")
		file := filepath.Join(t.TempDir(), "missing-key.json")
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
		loc := "gs://some-bucket/lake"
		_, err := storage.Open(t.Context(), loc)
		if err == nil {
			t.Fatal("Open with a missing credentials file succeeded")
		}
		msg := err.Error()
		checkOneLine(t, "Open", msg)
		want := "cannot use the credentials file GOOGLE_APPLICATION_CREDENTIALS=" + file
		if !strings.HasPrefix(msg, "storage: open "+loc+": ") || !strings.Contains(msg, want) || !strings.Contains(msg, "no such file") {
			t.Errorf("Open: %q, want one naming %s and saying %q", msg, loc, want)
		}
		t.Log(msg)
	})
	t.Run("credentials file malformed", func(t *testing.T) {
		t.Setenv(EnvEmulatorHost, "")
		const key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
		file := filepath.Join(t.TempDir(), "key.json")
		body, _ := json.Marshal(map[string]string{"type": "service_account", "private_key": key, "client_email": "x@p.iam.gserviceaccount.com", "token_uri": "::bad"})
		if err := os.WriteFile(file, body[:len(body)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
		_, err := storage.Open(t.Context(), "gs://some-bucket/lake")
		if err == nil {
			t.Fatal("Open with a truncated credentials file succeeded")
		}
		msg := err.Error()
		checkOneLine(t, "Open", msg)
		if !strings.Contains(msg, "GOOGLE_APPLICATION_CREDENTIALS="+file) || strings.Contains(msg, "MIIEvQIBADAN") {
			t.Errorf("Open: %q, want one naming the file and no key material", msg)
		}
		t.Log(msg)
	})
	t.Run("no token from the metadata server", func(t *testing.T) {
		// Off Google Cloud without any credential, the client asks the
		// metadata server for one. GCE_METADATA_HOST points at a closed
		// loopback port (no request leaves the machine), and so does the
		// endpoint, should a token ever be had.
		closed := closedAddr(t)
		t.Setenv(EnvEmulatorHost, "")
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
		t.Setenv("HOME", t.TempDir())
		t.Setenv("GCE_METADATA_HOST", closed)
		loc := "gs://some-bucket/lake"
		u, _ := url.Parse(loc)
		h := fastHooks()
		h.clientOptions = []option.ClientOption{option.WithEndpoint("http://" + closed + "/storage/v1/")}
		d, err := newDriver(t.Context(), u, nil, h)
		if err != nil {
			t.Fatalf("newDriver: %v", err)
		}
		s := storage.NewStore(loc, d)
		defer s.Close()
		_, err = s.ReadAll(t.Context(), "k")
		if err == nil {
			t.Fatal("ReadAll without credentials succeeded")
		}
		msg := err.Error()
		checkOneLine(t, "ReadAll", msg)
		if !strings.Contains(msg, "metadata server") || !strings.Contains(msg, "gcloud auth application-default login") || !strings.Contains(msg, loc) {
			t.Errorf("ReadAll: %q, want one about the metadata server and the fix", msg)
		}
		t.Log(msg)
	})
}

// TestNoDefaultCredentials checks the message for a machine without any
// credential. The real condition cannot be produced here without the
// client probing the metadata server's link-local address, so the test
// feeds the driver the error the Google auth library gives in that case.
func TestNoDefaultCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	err := credentialsError(fmt.Errorf("dialing: %w", errors.New("credentials: could not find default credentials. See https://cloud.google.com/docs/authentication/external/set-up-adc for more information")))
	msg := err.Error()
	if !strings.Contains(msg, "no Google Cloud credentials found") || !strings.Contains(msg, "gcloud auth application-default login") ||
		!strings.Contains(msg, "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("credentialsError = %q", msg)
	}
}

// scripted answers requests from a script before (or instead of) passing
// them to the emulator.
type scripted struct {
	mu       sync.Mutex
	requests int
	respond  func(req *http.Request, n int, forwarded *http.Response) *http.Response
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	if resp := s.respond(req, n, nil); resp != nil {
		if req.Body != nil {
			io.Copy(io.Discard, req.Body)
			req.Body.Close()
		}
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

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// gcsError is a JSON API error response.
func gcsError(req *http.Request, status int, reason, message string) *http.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": status, "message": message,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": message}},
	}})
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// scriptedStore returns a store over a fresh emulator bucket whose
// requests go through c.
func scriptedStore(t *testing.T, c *scripted, h hooks) (*storage.Store, string) {
	t.Helper()
	bucket := newBucket(t)
	loc := "gs://" + bucket + "/lake"
	u, _ := url.Parse(loc)
	h.httpClient = &http.Client{Transport: c}
	d, err := newDriver(t.Context(), u, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	s := storage.NewStore(loc, d)
	t.Cleanup(func() { s.Close() })
	return s, bucket
}

// TestServiceErrors answers every request with the errors Cloud Storage
// gives for permissions, projects and credentials, their messages quoting
// an access token, a refresh token and a JWT (the service never does; this
// is the worst case): no message shows them, and each says what to fix.
func TestServiceErrors(t *testing.T) {
	const (
		accessToken  = "ya29.a0AfB_byEXAMPLEACCESSTOKEN0123456789abcdef"
		refreshToken = "1//0gEXAMPLEREFRESHTOKEN0123456789"
		jwt          = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4QHAuaWFtIn0.c2lnbmF0dXJl"
	)
	secrets := " (debug: Authorization: Bearer " + accessToken + " refresh " + refreshToken + " assertion=" + jwt + ")"
	for _, tc := range []struct {
		name           string
		status         int
		reason, msg    string
		hint           string
		everyOpMatches bool
	}{
		{"permission denied", http.StatusForbidden, "forbidden",
			"svc@proj.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object.",
			"grant the account in use roles/storage.objectUser on the bucket", true},
		{"wrong quota project", http.StatusForbidden, "forbidden",
			"Caller does not have required permission to use project other-proj. Grant the caller the roles/serviceusage.serviceUsageConsumer role",
			"set GOOGLE_CLOUD_QUOTA_PROJECT, or run `gcloud auth application-default set-quota-project PROJECT`", true},
		{"billing disabled", http.StatusForbidden, "accountDisabled",
			"The billing account for the owning project is disabled in state absent",
			"enable billing for the project", true},
		{"requester pays", http.StatusBadRequest, "required",
			"Bucket is a requester pays bucket but no user project provided.",
			"Options.UserProject", true},
		{"invalid credentials", http.StatusUnauthorized, "authError", "Invalid Credentials",
			"rejected the credentials", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
				if fwd == nil {
					return gcsError(req, tc.status, tc.reason, tc.msg+secrets)
				}
				return nil
			}}
			s, _ := scriptedStore(t, c, hooks{maxAttempts: 1})
			errs := allOps(t, s)
			t.Log(errs["ReadAll"])
			for op, err := range errs {
				msg := err.Error()
				checkOneLine(t, op, msg)
				for _, secret := range []string{accessToken, refreshToken, jwt, "a0AfB_by", "0gEXAMPLE"} {
					if strings.Contains(msg, secret) {
						t.Errorf("%s: error reveals a secret: %s", op, msg)
					}
				}
				if !strings.Contains(msg, tc.hint) || !strings.Contains(msg, s.URL()) {
					t.Errorf("%s: error %q, want one naming %s and saying %q", op, msg, s.URL(), tc.hint)
				}
			}
		})
	}
}

// TestThrottlingIsRetried answers two of every three requests with 429 or
// 503: the operations still succeed. A service that never recovers gives
// a throttling error after the configured attempts.
func TestThrottlingIsRetried(t *testing.T) {
	var throttled atomic.Int32
	c := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil && n%3 != 0 {
			throttled.Add(1)
			if n%2 == 0 {
				return gcsError(req, http.StatusTooManyRequests, "rateLimitExceeded", "The rate of change requests to the object is too high.")
			}
			return gcsError(req, http.StatusServiceUnavailable, "backendError", "Backend Error")
		}
		return nil
	}}
	h := fastHooks()
	h.maxAttempts = 7
	s, _ := scriptedStore(t, c, h)
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
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if throttled.Load() == 0 {
		t.Fatal("no request was throttled")
	}

	always := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil {
			return gcsError(req, http.StatusServiceUnavailable, "backendError", "Backend Error")
		}
		return nil
	}}
	h = fastHooks()
	s2, _ := scriptedStore(t, always, h)
	_, err := s2.Stat(ctx, "a")
	if err == nil || !strings.Contains(err.Error(), "throttling or unavailable") || !strings.Contains(err.Error(), "HTTP 503 backendError") {
		t.Fatalf("Stat against a busy service: %v, want a throttling error", err)
	}
	if always.count() != h.maxAttempts {
		t.Errorf("%d attempts, want %d", always.count(), h.maxAttempts)
	}
	t.Logf("gave up with: %v", err)
	before := always.count()
	err = s2.Write(ctx, "a", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "throttling or unavailable") {
		t.Fatalf("Write against a busy service: %v, want a throttling error", err)
	}
	if always.count()-before < 2 {
		t.Errorf("Write tried %d times, want retries", always.count()-before)
	}
}

// TestCreateIfAbsentLostResponse makes the first conditional upload reach
// the emulator but lose its response, so the client retries and meets its
// own object (412): CreateIfAbsent still succeeds; another creator gets
// ErrExists.
func TestCreateIfAbsentLostResponse(t *testing.T) {
	var lost atomic.Bool
	c := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd != nil && req.Method == http.MethodPost && req.URL.Query().Get("ifGenerationMatch") == "0" &&
			fwd.StatusCode == http.StatusOK && lost.CompareAndSwap(false, true) {
			return gcsError(req, http.StatusServiceUnavailable, "backendError", "lost")
		}
		return nil
	}}
	h := fastHooks()
	s, bucket := scriptedStore(t, c, h)
	ctx := t.Context()
	key := "_delta_log/00000000000000000001.json"
	if err := s.CreateIfAbsent(ctx, key, []byte("mine")); err != nil {
		t.Fatalf("CreateIfAbsent whose first response was lost: %v, want success", err)
	}
	if !lost.Load() {
		t.Fatal("no response was lost")
	}
	other := openStore(t, "gs://"+bucket+"/lake")
	err := other.CreateIfAbsent(ctx, key, []byte("theirs"))
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CreateIfAbsent over an existing object: %v, want ErrExists", err)
	}
	if got, _ := other.ReadAll(ctx, key); string(got) != "mine" {
		t.Errorf("content %q, want %q", got, "mine")
	}
}

// TestDeleteLostResponse makes the first delete reach the emulator but
// lose its response: the retried delete finds the generation gone, and
// Delete succeeds.
func TestDeleteLostResponse(t *testing.T) {
	var lost atomic.Bool
	c := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd != nil && req.Method == http.MethodDelete && fwd.StatusCode/100 == 2 && lost.CompareAndSwap(false, true) {
			return gcsError(req, http.StatusServiceUnavailable, "backendError", "lost")
		}
		return nil
	}}
	s, _ := scriptedStore(t, c, fastHooks())
	ctx := t.Context()
	if err := s.Write(ctx, "k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete whose first response was lost: %v, want success", err)
	}
	if !lost.Load() {
		t.Fatal("no response was lost")
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
}

// TestListFromUsesStartOffset checks that ListFrom lets the service skip
// the names before the start.
func TestListFromUsesStartOffset(t *testing.T) {
	var startOffset atomic.Value
	c := &scripted{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil && req.Method == http.MethodGet && req.URL.Query().Has("startOffset") {
			startOffset.Store(req.URL.Query().Get("startOffset"))
		}
		return nil
	}}
	s, _ := scriptedStore(t, c, hooks{})
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
	if so, _ := startOffset.Load().(string); so != "lake/"+all[7] {
		t.Errorf("startOffset = %q, want %q", so, "lake/"+all[7])
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestResumableWrite writes streams longer than one upload request (the
// chunk size made small), so that they go as resumable uploads, and checks
// that a source failing midway leaves the previous object.
func TestResumableWrite(t *testing.T) {
	needEmulator(t)
	bucket := newBucket(t)
	loc := "gs://" + bucket + "/lake"
	u, _ := url.Parse(loc)
	h := hooks{chunkSize: 256 << 10}
	d, err := newDriver(t.Context(), u, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	s := storage.NewStore(loc, d)
	defer s.Close()
	ctx := t.Context()
	data := make([]byte, 3*h.chunkSize+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := s.WriteFrom(ctx, "big.bin", struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(ctx, "big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll of a resumable upload: %d bytes, %v", len(got), err)
	}
	part, err := s.ReadRange(ctx, "big.bin", int64(h.chunkSize)-10, 20)
	if err != nil || !bytes.Equal(part, data[h.chunkSize-10:h.chunkSize+10]) {
		t.Fatalf("ReadRange across chunks: %v", err)
	}
	boom := errors.New("source broke")
	err = s.WriteFrom(ctx, "big.bin", io.MultiReader(bytes.NewReader(data[:2*h.chunkSize+1]), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFrom with a failing source: %v, want the source's error", err)
	}
	if got, err := s.ReadAll(ctx, "big.bin"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after a failed overwrite: %d bytes, %v; want the old object", len(got), err)
	}
	err = s.CreateIfAbsent(ctx, "big.bin", data[:h.chunkSize*2])
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CreateIfAbsent (resumable) over an object: %v, want ErrExists", err)
	}
	if err := s.CreateIfAbsent(ctx, "big2.bin", data); err != nil {
		t.Fatalf("CreateIfAbsent (resumable): %v", err)
	}
	if got, err := s.ReadAll(ctx, "big2.bin"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll after a resumable CreateIfAbsent: %d bytes, %v", len(got), err)
	}
}
