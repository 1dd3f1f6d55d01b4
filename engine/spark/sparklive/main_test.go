package sparklive_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/sparkserver"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild() // the medallion command line, for the tests' processes
	code := m.Run()
	sparkserver.Release()
	os.Exit(code)
}
