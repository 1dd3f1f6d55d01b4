package gcsblob

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

// The tests run against fake-gcs-server, started in this process as a
// library and listening on a TCP port of 127.0.0.1, so that the child
// processes of the cross-process test reach the same server over real HTTP
// through STORAGE_EMULATOR_HOST.
var (
	emu    *fakestorage.Server
	emuErr error // why the emulator is unavailable; nil once it runs
)

func TestMain(m *testing.M) {
	storagetest.MaybeRunChild() // must come first: children run no tests
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// Whatever the developer's environment holds, storage.Open talks to
	// the emulator only (here and in the children, which inherit the
	// environment), without credentials.
	for _, v := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_QUOTA_PROJECT", "GCE_METADATA_HOST",
		"GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_CLOUD_UNIVERSE_DOMAIN"} {
		os.Unsetenv(v)
	}
	emu, emuErr = startEmulator()
	if emuErr == nil {
		os.Setenv(EnvEmulatorHost, emu.URL())
		defer emu.Stop()
	} else {
		// Never fall back to Google's service.
		os.Setenv(EnvEmulatorHost, "http://127.0.0.1:1")
	}
	return m.Run()
}

// startEmulator starts fake-gcs-server over plain HTTP on a free port of
// 127.0.0.1. A port found free may be taken before the server binds it, so
// it tries a few.
func startEmulator() (*fakestorage.Server, error) {
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no TCP port on 127.0.0.1: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
			Scheme: "http",
			Host:   "127.0.0.1",
			Port:   uint16(port),
		})
		if err != nil {
			lastErr = err
			continue
		}
		if u, err := url.Parse(srv.URL()); err != nil || u.Hostname() != "127.0.0.1" {
			srv.Stop()
			return nil, fmt.Errorf("the emulator listens at %q, want 127.0.0.1", srv.URL())
		}
		return srv, nil
	}
	return nil, fmt.Errorf("starting fake-gcs-server on 127.0.0.1: %v", lastErr)
}

// needEmulator stops the test unless the emulator runs: under CI=true it
// fails, elsewhere it skips with the reason.
func needEmulator(t *testing.T) {
	t.Helper()
	if emuErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the GCS emulator (fake-gcs-server, in-process) is required under CI=true: %v", emuErr)
	}
	t.Skipf("GCS emulator unavailable: %v", emuErr)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// newBucket creates a fresh bucket in the emulator and returns its name.
func newBucket(t *testing.T) string {
	t.Helper()
	needEmulator(t)
	name := "medallion-test-" + randomHex(8)
	emu.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name}) // panics on failure
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

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// upload sends one media upload to the emulator with plain net/http,
// optionally with ifGenerationMatch, and returns the status.
func upload(bucket, name, content, ifGenerationMatch string) (int, error) {
	q := url.Values{"uploadType": {"media"}, "name": {name}}
	if ifGenerationMatch != "" {
		q.Set("ifGenerationMatch", ifGenerationMatch)
	}
	u := emu.URL() + "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?" + q.Encode()
	resp, err := http.Post(u, "application/octet-stream", strings.NewReader(content))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestEmulatorEnforcesDoesNotExist checks, with raw HTTP requests and no
// driver code, what the cross-process test relies on: the emulator
// evaluates ifGenerationMatch=0 atomically, so of concurrent uploads of one
// new name exactly one gets 200 and every other 412, and the object holds
// the winner's content. Without the precondition all uploads succeed,
// which shows the check can tell the difference.
func TestEmulatorEnforcesDoesNotExist(t *testing.T) {
	bucket := newBucket(t)
	const writers, rounds = 8, 25
	race := func(name, cond string) (ok, failed int, winner string) {
		start := make(chan struct{})
		type result struct {
			status  int
			content string
			err     error
		}
		results := make(chan result, writers)
		for w := range writers {
			content := fmt.Sprintf("writer %d", w)
			go func() {
				<-start
				status, err := upload(bucket, name, content, cond)
				results <- result{status, content, err}
			}()
		}
		close(start)
		for range writers {
			r := <-results
			switch {
			case r.err != nil:
				t.Fatalf("upload of %s: %v", name, r.err)
			case r.status == http.StatusOK:
				ok++
				winner = r.content
			case r.status == http.StatusPreconditionFailed:
				failed++
			default:
				t.Fatalf("upload of %s: HTTP %d, want 200 or 412", name, r.status)
			}
		}
		return ok, failed, winner
	}
	for round := range rounds {
		name := fmt.Sprintf("_delta_log/%020d.json", round)
		ok, failed, winner := race(name, "0")
		if ok != 1 || failed != writers-1 {
			t.Fatalf("%s: %d uploads with ifGenerationMatch=0 succeeded and %d got 412; want 1 and %d", name, ok, failed, writers-1)
		}
		r, err := emu.GetObject(bucket, name)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Content) != winner {
			t.Fatalf("%s holds %q, want the winner's %q", name, r.Content, winner)
		}
	}
	if ok, _, _ := race("unconditional", ""); ok != writers {
		t.Fatalf("%d of %d unconditional uploads succeeded, want all", ok, writers)
	}
	if status, err := upload(bucket, "unconditional", "again", "0"); err != nil || status != http.StatusPreconditionFailed {
		t.Fatalf("ifGenerationMatch=0 over an existing object: HTTP %d, %v; want 412", status, err)
	}
}

func TestEmulatorListensOnLoopbackTCP(t *testing.T) {
	needEmulator(t)
	host := os.Getenv(EnvEmulatorHost)
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("%s=%q, want http://127.0.0.1:PORT", EnvEmulatorHost, host)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Fatalf("the emulator does not accept TCP connections at %s: %v", u.Host, err)
	}
	c.Close()
}
