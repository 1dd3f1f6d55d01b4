package azureblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
	"github.com/medallionhq/medallion/storage/storagetest"
)

// Azurite's blob endpoint and its well-known development account.
var (
	azuriteAddr     = azuritetest.Addr
	azuriteEndpoint = azuritetest.Endpoint
	azuriteConnStr  = azuritetest.ConnectionString
)

// azuriteErr says why Azurite is unavailable; nil once it answers.
var azuriteErr error

func TestMain(m *testing.M) {
	storagetest.MaybeRunChild() // must come first: children run no tests
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// Every store opened through storage.Open (here and in the child
	// processes of the cross-process test, which inherit the environment)
	// talks to Azurite, whatever the developer's environment holds.
	os.Setenv(EnvConnectionString, azuriteConnStr)
	for _, v := range []string{EnvAccount, EnvAccountName, EnvKey, EnvSASToken, EnvEndpoint} {
		os.Unsetenv(v)
	}
	// Other test packages (pipeline/ecommerce) may use the same Azurite at
	// the same time: the last one to release it stops it.
	azuriteErr = azuritetest.Start()
	defer azuritetest.Release()
	return m.Run()
}

// needAzurite stops the test unless Azurite is available: under CI it
// fails loudly, elsewhere it skips with the reason.
func needAzurite(t *testing.T) {
	t.Helper()
	if azuriteErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Azurite is required under CI=true: %v", azuriteErr)
	}
	t.Skipf("Azurite unavailable (run scripts/azurite.sh, which needs npm): %v", azuriteErr)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// adminClient is an SDK client for a container in Azurite, for test setup
// and for looking at blobs behind the driver's back.
func adminClient(t *testing.T, name string) *container.Client {
	t.Helper()
	c, err := container.NewClientFromConnectionString(azuriteConnStr, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newContainer creates a fresh container in Azurite, deleted when the test
// ends, and returns its name.
func newContainer(t *testing.T) string {
	t.Helper()
	needAzurite(t)
	name := "medallion-test-" + randomHex(8)
	c := adminClient(t, name)
	if _, err := c.Create(t.Context(), nil); err != nil {
		t.Fatalf("creating container %s in Azurite: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := c.Delete(ctx, nil); err != nil {
			t.Errorf("deleting container %s: %v", name, err)
		}
	})
	return name
}

// openStore opens location through storage.Open (so with the options of
// the environment) and closes it when the test ends.
func openStore(t *testing.T, location string) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkOneLine fails unless msg is a single line.
func checkOneLine(t *testing.T, what, msg string) {
	t.Helper()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("%s: error is not one line:\n%s", what, msg)
	}
}

// mustNotContain fails if msg contains any of the secrets.
func mustNotContain(t *testing.T, what, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("%s: error reveals a secret (%.6s...): %s", what, s, msg)
		}
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
