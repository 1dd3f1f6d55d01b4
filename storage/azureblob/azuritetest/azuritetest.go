// Package azuritetest starts Azurite, the Azure Storage emulator, for tests
// that need real Azure Blob Storage behaviour on this machine.
package azuritetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/medallionhq/medallion/internal/scriptservice"
)

// Azurite's well-known development account.
const (
	account = "devstoreaccount1"
	key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite's blob endpoint: 127.0.0.1:10000, or the port in
// AZURITE_BLOB_PORT (which scripts/azurite.sh honours too), so that a run
// can have an Azurite of its own on a machine where another one listens.
var (
	Addr     = "127.0.0.1:" + port()
	Endpoint = "http://" + Addr + "/" + account
	// ConnectionString reaches Azurite's development account.
	ConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + account + ";AccountKey=" + key + ";BlobEndpoint=" + Endpoint + ";"
)

func port() string {
	if p := os.Getenv("AZURITE_BLOB_PORT"); p != "" {
		return p
	}
	return "10000"
}

// Listening reports whether something accepts connections on addr.
func Listening(addr string) bool { return scriptservice.Listening(addr) }

var (
	mu      sync.Mutex
	release func()
)

// Start makes sure Azurite listens on Addr, starting it with
// scripts/azurite.sh (which installs it from npm on first use) if nothing
// does, and holds it for this test process until Release. Test packages
// share one Azurite: the last one to release it stops it, if a test
// started it (see scriptservice.Acquire).
func Start() error {
	mu.Lock()
	defer mu.Unlock()
	if release != nil {
		return nil
	}
	r, err := scriptservice.Acquire(Addr, "azurite.sh")
	if err != nil {
		return err
	}
	release = r
	return nil
}

// Release gives up this process's hold on Azurite; TestMain calls it after
// the tests ran. The last holder stops an Azurite the tests started.
func Release() {
	mu.Lock()
	defer mu.Unlock()
	if release != nil {
		release()
		release = nil
	}
}

// Need starts Azurite if needed for t, or stops the test: under CI=true it
// fails loudly, elsewhere it skips with the reason. The package's TestMain
// must call Release after the tests ran.
func Need(t testing.TB) {
	t.Helper()
	err := Start()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Azurite is required under CI=true: %v", err)
	}
	t.Skipf("Azurite unavailable (run scripts/azurite.sh, which needs npm): %v", err)
}

// NewContainer creates a fresh container in Azurite, deleted when the test
// ends, and returns its name.
func NewContainer(t testing.TB) string {
	t.Helper()
	Need(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "medallion-test-" + hex.EncodeToString(b)
	c, err := container.NewClientFromConnectionString(ConnectionString, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
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

// NewContainerForProcess creates a fresh container that lives as long as
// Azurite does (for benchmarks that share data across sub-benchmarks). It
// panics if Azurite is not reachable; call Need first.
func NewContainerForProcess() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "medallion-bench-" + hex.EncodeToString(b)
	c, err := container.NewClientFromConnectionString(ConnectionString, name, nil)
	if err != nil {
		panic(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		panic(fmt.Sprintf("creating container %s in Azurite: %v", name, err))
	}
	return name
}
