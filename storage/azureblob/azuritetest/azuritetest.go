// Package azuritetest starts Azurite, the Azure Storage emulator, for tests
// that need real Azure Blob Storage behaviour on this machine.
package azuritetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Azurite's blob endpoint and its well-known development account.
const (
	Addr     = "127.0.0.1:10000"
	account  = "devstoreaccount1"
	key      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	Endpoint = "http://" + Addr + "/" + account
	// ConnectionString reaches Azurite's development account.
	ConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + account + ";AccountKey=" + key + ";BlobEndpoint=" + Endpoint + ";"
)

// Listening reports whether something accepts connections on addr.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Start makes sure Azurite listens on 127.0.0.1:10000, starting it with
// scripts/azurite.sh (which installs it from npm on first use) if nothing
// does. stop, if not nil, stops the Azurite it started.
func Start() (stop func(), err error) {
	if Listening(Addr) {
		return nil, nil
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "azurite.sh")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("nothing listens on %s and the start script is missing: %v", Addr, err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return nil, fmt.Errorf("nothing listens on %s and bash, needed to run scripts/azurite.sh, is missing", Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nothing listens on %s and scripts/azurite.sh failed (%v): %s", Addr, err, strings.TrimSpace(stderr.String()))
	}
	fields := strings.Fields(stdout.String())
	if len(fields) > 0 {
		if pid, err := strconv.Atoi(fields[len(fields)-1]); err == nil {
			stop = func() {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	}
	if !Listening(Addr) {
		return stop, fmt.Errorf("scripts/azurite.sh succeeded but nothing listens on %s: %s", Addr, strings.TrimSpace(stderr.String()))
	}
	return stop, nil
}

// Need starts Azurite if needed for t, or stops the test: under CI=true it
// fails loudly, elsewhere it skips with the reason. An Azurite it starts
// keeps running for the tests and benchmarks that follow
// (scripts/azurite.sh stop ends it).
func Need(t testing.TB) {
	t.Helper()
	_, err := Start()
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
