package pipeline_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// TestMain releases the Azurite the lease tests held, so that the last
// test package using it stops the one the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	azuritetest.Release()
	os.Exit(code)
}
