package azureblob

import (
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

func TestConformanceAZ(t *testing.T) {
	needAzurite(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "az://"+newContainer(t)+"/lake/root")
	})
}

func TestConformanceABFSS(t *testing.T) {
	needAzurite(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "abfss://"+newContainer(t)+"@"+devAccount+".dfs.core.windows.net/lake")
	})
}

func TestConformanceContainerRoot(t *testing.T) {
	needAzurite(t)
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return openStore(t, "azblob://"+newContainer(t))
	})
}

func TestCrossProcessCreate(t *testing.T) {
	// Eight test binaries race CreateIfAbsent through storage.Open, with
	// the connection string TestMain put in their environment.
	storagetest.RunCrossProcessCreate(t, "abfss://"+newContainer(t)+"@"+devAccount+".dfs.core.windows.net/xproc", 8)
}

// TestBlobNamesAreKeysVerbatim checks interoperability with other writers:
// a blob whose name has characters that other libraries escape ('%', '#',
// '?', '"', spaces, non-ASCII) is read under exactly its name, and a key
// written through the store is the blob name, unchanged.
func TestBlobNamesAreKeysVerbatim(t *testing.T) {
	name := newContainer(t)
	admin := adminClient(t, name)
	ctx := t.Context()
	keys := []string{
		"city=S%C3%A3o Paulo/part-0.parquet",
		`odd/a#b?c"d.json`,
		"ünï/ключ.json",
		"ts=2024-01-01 10%3A00%3A00/x.parquet",
	}
	for _, k := range keys {
		bb := admin.NewBlockBlobClient("lake/" + k)
		if _, err := bb.Upload(ctx, streaming.NopCloser(strings.NewReader("by sdk "+k)), nil); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, "az://"+name+"/lake")
	for _, k := range keys {
		got, err := s.ReadAll(ctx, k)
		if err != nil || string(got) != "by sdk "+k {
			t.Errorf("ReadAll(%q) = %q, %v; want the blob written by the SDK", k, got, err)
		}
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range objs {
		listed = append(listed, o.Key)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("List = %q, want %q", listed, want)
	}
	const written = "w%41/x#y.json"
	if err := s.Write(ctx, written, []byte("by store")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.NewBlobClient("lake/"+written).GetProperties(ctx, nil); err != nil {
		t.Errorf("blob %q written through the store is not there under its exact name: %v", "lake/"+written, err)
	}
}

// TestDirectoryMarkersAreHidden simulates the directory objects of an ADLS
// Gen2 account (zero-length blobs with metadata hdi_isfolder=true): they
// are not objects of the store.
func TestDirectoryMarkersAreHidden(t *testing.T) {
	name := newContainer(t)
	admin := adminClient(t, name)
	ctx := t.Context()
	yes := "true"
	for _, dir := range []string{"lake/t", "lake/t/_delta_log"} {
		_, err := admin.NewBlockBlobClient(dir).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)),
			&blockblob.UploadOptions{Metadata: map[string]*string{"hdi_isfolder": &yes}})
		if err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, "az://"+name+"/lake")
	if err := s.Write(ctx, "t/_delta_log/00000000000000000000.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != "t/_delta_log/00000000000000000000.json" {
		t.Errorf("List = %v, want only the commit file", objs)
	}
	for _, dir := range []string{"t", "t/_delta_log"} {
		_, err := s.Stat(ctx, dir)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%q) of a directory marker: %v, want ErrNotFound", dir, err)
		}
		_, err = s.ReadAll(ctx, dir)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("ReadAll(%q) of a directory marker: %v, want ErrNotFound", dir, err)
		}
	}
}

// wrongKey returns a well-formed account key that is not Azurite's.
func wrongKey() string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// closedEndpoint returns an http endpoint on the loopback where nothing
// listens.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/" + devAccount
}

// TestErrorsDoNotRevealSecrets drives every operation into an error with
// each kind of credential and checks that no key, SAS token, signature or
// connection string shows in any message.
func TestErrorsDoNotRevealSecrets(t *testing.T) {
	name := newContainer(t)
	key := wrongKey()
	sig := base64.StdEncoding.EncodeToString([]byte("not-a-real-signature-0123456789abcdef"))
	sas := "sv=2023-11-03&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https,http&sig=" + url.QueryEscape(sig)
	badConn := "DefaultEndpointsProtocol=http;AccountName=" + devAccount + ";AccountKey=" + key + ";BlobEndpoint=" + azuriteEndpoint + ";"
	secrets := []string{key, url.QueryEscape(key), sig, url.QueryEscape(sig), sas, badConn}
	cases := []struct {
		name     string
		env      map[string]string
		location string
		wantHint string
	}{
		{
			name:     "connection string with a wrong key",
			env:      map[string]string{EnvConnectionString: badConn},
			location: "az://" + name + "/lake",
			wantHint: EnvConnectionString,
		},
		{
			name:     "account key",
			env:      map[string]string{EnvConnectionString: "", EnvAccount: devAccount, EnvKey: key, EnvEndpoint: azuriteEndpoint},
			location: "abfss://" + name + "@" + devAccount + ".dfs.core.windows.net/lake",
			wantHint: EnvKey,
		},
		{
			name:     "SAS token",
			env:      map[string]string{EnvConnectionString: "", EnvAccount: devAccount, EnvSASToken: sas, EnvEndpoint: azuriteEndpoint},
			location: "az://" + name + "/lake",
			wantHint: EnvSASToken,
		},
		{
			name:     "SAS token, endpoint down",
			env:      map[string]string{EnvConnectionString: "", EnvAccount: devAccount, EnvSASToken: sas, EnvEndpoint: closedEndpoint(t)},
			location: "az://" + name + "/lake",
			wantHint: "connection refused",
		},
		{
			name:     "connection string, endpoint down",
			env:      map[string]string{EnvConnectionString: "AccountName=" + devAccount + ";AccountKey=" + key + ";BlobEndpoint=" + closedEndpoint(t)},
			location: "az://" + name + "/lake",
			wantHint: "is Azurite running?",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// The options of the environment, as storage.Open reads them,
			// with short retries: a refused connection is retried too.
			u, _ := url.Parse(tc.location)
			d, err := newDriver(t.Context(), u, OptionsFromEnv(), hooks{retry: fastRetry(1)})
			if err != nil {
				t.Fatal(err)
			}
			s := storage.NewStore(tc.location, d)
			for op, err := range allOps(t, s) {
				msg := err.Error()
				mustNotContain(t, op, msg, secrets...)
				checkOneLine(t, op, msg)
				if !strings.Contains(msg, tc.wantHint) {
					t.Errorf("%s: error %q does not mention %q", op, msg, tc.wantHint)
				}
				if !strings.HasPrefix(msg, "storage: ") || !strings.Contains(msg, tc.location) {
					t.Errorf("%s: error %q does not start with storage: and name the URL %s", op, msg, tc.location)
				}
			}
		})
	}
	t.Run("open errors", func(t *testing.T) {
		for _, conn := range []string{
			"AccountName=" + devAccount + ";AccountKey=" + key + ";garbage-without-equals",
			"AccountName=" + devAccount + ";AccountKey=" + key + ";BlobEndpoint=ftp://" + key + "/x",
			"BlobEndpoint=http://127.0.0.1:10000/x?sig=" + sig,
		} {
			t.Setenv(EnvConnectionString, conn)
			_, err := storage.Open(t.Context(), "az://"+name+"/lake")
			if err == nil {
				t.Errorf("Open with a malformed connection string succeeded")
				continue
			}
			mustNotContain(t, "Open", err.Error(), key, sig, conn)
			checkOneLine(t, "Open", err.Error())
			if !strings.Contains(err.Error(), EnvConnectionString) && !strings.Contains(err.Error(), "endpoint") {
				t.Errorf("Open error %q names neither %s nor the endpoint", err, EnvConnectionString)
			}
		}
		t.Setenv(EnvConnectionString, "")
		t.Setenv(EnvAccount, devAccount)
		t.Setenv(EnvKey, "not base64 "+key)
		_, err := storage.Open(t.Context(), "az://"+name+"/lake")
		if err == nil || !strings.Contains(err.Error(), EnvKey) {
			t.Errorf("Open with a key that is not base64: %v, want an error naming %s", err, EnvKey)
		} else {
			mustNotContain(t, "Open", err.Error(), key)
		}
		_, err = storage.Open(t.Context(), "az://"+name+"/lake?sig="+sig)
		if err == nil {
			t.Errorf("Open of a URL with a query succeeded")
		} else if !strings.Contains(err.Error(), EnvSASToken) {
			t.Errorf("Open of a URL with a query: %v, want a hint to %s", err, EnvSASToken)
		}
	})
}

// TestClearErrors checks the messages of the mistakes users make.
func TestClearErrors(t *testing.T) {
	name := newContainer(t)
	t.Run("missing container", func(t *testing.T) {
		missing := "no-such-container-" + randomHex(4)
		loc := "az://" + missing + "/lake"
		s := openStore(t, loc)
		for op, err := range allOps(t, s) {
			msg := err.Error()
			checkOneLine(t, op, msg)
			want := fmt.Sprintf("container %q does not exist in storage account %q", missing, devAccount)
			if !strings.Contains(msg, want) || !strings.Contains(msg, loc) || !strings.Contains(msg, "create it") {
				t.Errorf("%s: error %q, want one naming %s and saying %q and to create it", op, msg, loc, want)
			}
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Setenv(EnvConnectionString, "DefaultEndpointsProtocol=http;AccountName="+devAccount+";AccountKey="+wrongKey()+";BlobEndpoint="+azuriteEndpoint+";")
		loc := "abfss://" + name + "@" + devAccount + ".dfs.core.windows.net/lake"
		s := openStore(t, loc)
		err := s.Write(t.Context(), "x", []byte("x"))
		if err == nil {
			t.Fatal("Write with a wrong key succeeded")
		}
		msg := err.Error()
		checkOneLine(t, "Write", msg)
		for _, want := range []string{loc, devAccount, "check the AccountKey in " + EnvConnectionString} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		t.Logf("wrong key: %s", msg)
	})
	t.Run("no account", func(t *testing.T) {
		t.Setenv(EnvConnectionString, "")
		_, err := storage.Open(t.Context(), "az://"+name+"/lake")
		if err == nil || !strings.Contains(err.Error(), EnvAccount) {
			t.Errorf("Open without an account: %v, want an error naming %s", err, EnvAccount)
		}
	})
	t.Run("connection string of another account", func(t *testing.T) {
		// The connection string names devstoreaccount1; the URL another
		// account, so the string does not apply and, with nothing else
		// set, DefaultAzureCredential would be used: over https to the
		// real service, which this test must not contact. Stop at Open.
		u, _ := url.Parse("abfss://" + name + "@otheraccount.dfs.core.windows.net/lake")
		d, err := newDriver(t.Context(), u, OptionsFromEnv(), hooks{})
		if err != nil {
			t.Fatal(err)
		}
		if d.cfg.kind != credDefault || d.cfg.endpoint != "https://otheraccount.blob.core.windows.net" {
			t.Errorf("credential kind %d, endpoint %s; want DefaultAzureCredential at https://otheraccount.blob.core.windows.net", d.cfg.kind, d.cfg.endpoint)
		}
	})
}

// scriptedTransport answers requests from a script before (or instead of)
// passing them to Azurite.
type scriptedTransport struct {
	mu       sync.Mutex
	requests []*http.Request
	// respond returns a response to send instead of forwarding the
	// request, or, after forwarding it (forwarded != nil), one to send
	// instead of Azurite's.
	respond func(req *http.Request, n int, forwarded *http.Response) *http.Response
}

func (s *scriptedTransport) Do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	n := len(s.requests)
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

func (s *scriptedTransport) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// statusResponse is a storage error response.
func statusResponse(req *http.Request, status int, code string) *http.Response {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>scripted</Message></Error>`, code)
	h := http.Header{}
	h.Set("x-ms-error-code", code)
	h.Set("Content-Type", "application/xml")
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// scriptedDriver returns a driver for a fresh container whose requests go
// through tr.
func scriptedDriver(t *testing.T, tr *scriptedTransport, retry *policy.RetryOptions) (*storage.Store, string) {
	t.Helper()
	name := newContainer(t)
	loc := "az://" + name + "/lake"
	u, _ := url.Parse(loc)
	d, err := newDriver(t.Context(), u, &Options{ConnectionString: azuriteConnStr}, hooks{transport: tr, retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	return storage.NewStore(loc, d), name
}

func fastRetry(n int32) *policy.RetryOptions {
	r := DefaultRetry
	r.MaxRetries, r.RetryDelay, r.MaxRetryDelay = n, 5*time.Millisecond, 20*time.Millisecond
	return &r
}

// TestThrottlingIsRetried answers the first requests with 503 ServerBusy
// and 429: the operations still succeed.
func TestThrottlingIsRetried(t *testing.T) {
	var throttled atomic.Int32
	tr := &scriptedTransport{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil && n%3 != 0 { // two of every three attempts are throttled
			throttled.Add(1)
			if n%2 == 0 {
				return statusResponse(req, http.StatusTooManyRequests, "TooManyRequests")
			}
			return statusResponse(req, http.StatusServiceUnavailable, "ServerBusy")
		}
		return nil
	}}
	s, _ := scriptedDriver(t, tr, fastRetry(6))
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
	t.Logf("%d requests, %d throttled", tr.count(), throttled.Load())

	// A service that never recovers: a clear error after the retries.
	always := &scriptedTransport{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd == nil {
			return statusResponse(req, http.StatusServiceUnavailable, "ServerBusy")
		}
		return nil
	}}
	s2, _ := scriptedDriver(t, always, fastRetry(2))
	err := s2.Write(ctx, "a", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "throttling") || !strings.Contains(err.Error(), "503 ServerBusy") {
		t.Fatalf("Write against a busy service: %v, want a throttling error", err)
	}
	if always.count() != 3 {
		t.Errorf("%d attempts, want 3 (1 + 2 retries)", always.count())
	}
	t.Logf("gave up with: %v", err)
}

// TestCreateIfAbsentLostResponse makes the first conditional create reach
// Azurite but lose its response (503), so the SDK retries and meets its
// own blob: CreateIfAbsent still reports success. A blob created by
// someone else still gives ErrExists.
func TestCreateIfAbsentLostResponse(t *testing.T) {
	var lost atomic.Bool
	tr := &scriptedTransport{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if fwd != nil && req.Method == http.MethodPut && req.Header.Get("If-None-Match") == "*" &&
			fwd.StatusCode == http.StatusCreated && lost.CompareAndSwap(false, true) {
			return statusResponse(req, http.StatusServiceUnavailable, "ServerBusy")
		}
		return nil
	}}
	s, name := scriptedDriver(t, tr, fastRetry(3))
	ctx := t.Context()
	if err := s.CreateIfAbsent(ctx, "_delta_log/00000000000000000001.json", []byte("mine")); err != nil {
		t.Fatalf("CreateIfAbsent whose first response was lost: %v, want success", err)
	}
	if !lost.Load() {
		t.Fatal("no response was lost")
	}
	other := openStore(t, "az://"+name+"/lake")
	err := other.CreateIfAbsent(ctx, "_delta_log/00000000000000000001.json", []byte("theirs"))
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CreateIfAbsent over an existing blob: %v, want ErrExists", err)
	}
	if got, _ := other.ReadAll(ctx, "_delta_log/00000000000000000001.json"); string(got) != "mine" {
		t.Errorf("content %q, want %q", got, "mine")
	}
}

// TestListFromUsesStartFrom checks that ListFrom asks the service to start
// at the key, and falls back to filtering when the service refuses.
func TestListFromUsesStartFrom(t *testing.T) {
	var refuse atomic.Bool
	var sawStartFrom, blobsSent atomic.Int32
	tr := &scriptedTransport{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		if !req.URL.Query().Has("startFrom") {
			return nil
		}
		if fwd == nil {
			sawStartFrom.Add(1)
			if refuse.Load() {
				return statusResponse(req, http.StatusBadRequest, "InvalidQueryParameterValue")
			}
			return nil
		}
		// Count the blobs the service sent, and pass the body on.
		body, _ := io.ReadAll(fwd.Body)
		fwd.Body.Close()
		blobsSent.Store(int32(strings.Count(string(body), "<Blob>")))
		fwd.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}}
	s, _ := scriptedDriver(t, tr, fastRetry(1))
	ctx := t.Context()
	var all []string
	for i := range 12 {
		k := fmt.Sprintf("_delta_log/%020d.json", i)
		all = append(all, k)
		if err := s.Write(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
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
	}
	check()
	if sawStartFrom.Load() != 1 {
		t.Fatalf("%d listings with startFrom, want 1", sawStartFrom.Load())
	}
	if got, want := blobsSent.Load(), int32(len(all)-7); got != want {
		t.Errorf("the service sent %d blobs for a listing from key 7, want %d (startFrom skipped nothing?)", got, want)
	}
	refuse.Store(true)
	check() // refused once, then filtered
	check() // no more startFrom
	if sawStartFrom.Load() != 2 {
		t.Errorf("%d listings with startFrom, want 2 (none after the refusal)", sawStartFrom.Load())
	}
}

// TestLargeStreamWrite writes a stream longer than one block (staged
// blocks and one commit) and checks content and atomic replacement.
func TestLargeStreamWrite(t *testing.T) {
	s := openStore(t, "az://"+newContainer(t)+"/lake")
	ctx := t.Context()
	data := make([]byte, blockSize*2+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := s.WriteFrom(ctx, "big.bin", struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(ctx, "big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll of a staged upload: %d bytes, %v", len(got), err)
	}
	part, err := s.ReadRange(ctx, "big.bin", blockSize-10, 20)
	if err != nil || !bytes.Equal(part, data[blockSize-10:blockSize+10]) {
		t.Fatalf("ReadRange across blocks: %v", err)
	}
	// A stream that fails after more than a block leaves the old content.
	boom := errors.New("source broke")
	err = s.WriteFrom(ctx, "big.bin", io.MultiReader(bytes.NewReader(data[:blockSize+1]), iotestErrReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFrom with a failing source: %v, want the source's error", err)
	}
	if oi, err := s.Stat(ctx, "big.bin"); err != nil || oi.Size != int64(len(data)) {
		t.Fatalf("after a failed overwrite Stat = %+v, %v; want the old object", oi, err)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestContextCanceledBeforeRequest(t *testing.T) {
	// A cancelled context fails at once, without a request: this works
	// without Azurite, against an endpoint that does not exist.
	u, _ := url.Parse("az://somecontainer/lake")
	tr := &scriptedTransport{respond: func(req *http.Request, n int, fwd *http.Response) *http.Response {
		return statusResponse(req, http.StatusInternalServerError, "Unexpected")
	}}
	d, err := newDriver(context.Background(), u, &Options{ConnectionString: "AccountName=x;AccountKey=" + wrongKey() + ";BlobEndpoint=http://127.0.0.1:9/x"}, hooks{transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := storage.NewStore("az://somecontainer/lake", d)
	if err := s.Write(ctx, "k", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: %v", err)
	}
	if tr.count() != 0 {
		t.Errorf("%d requests sent with a cancelled context", tr.count())
	}
}
