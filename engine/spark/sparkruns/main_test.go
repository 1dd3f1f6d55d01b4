package sparkruns_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild() // the medallion command line, for the tests' processes
	code := m.Run()
	sparktest.ReleaseS3()
	sparkserver.Release()
	os.Exit(code)
}
