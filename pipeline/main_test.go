package pipeline_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// TestMain releases the Azurite the lease tests held, so that the last
// test package using it stops the one the tests started.
func TestMain(m *testing.M) {
	clitest.RunIfChild() // a child process of a test runs the command line
	code := m.Run()
	azuritetest.Release()
	os.Exit(code)
}
