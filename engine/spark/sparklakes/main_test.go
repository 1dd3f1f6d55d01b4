package sparklakes_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild() // the medallion command line, for the tests' processes
	code := m.Run()
	sparktest.ReleaseS3()
	releaseGCSEmulator()
	azuritetest.Release()
	sparkserver.Release()
	os.Exit(code)
}
