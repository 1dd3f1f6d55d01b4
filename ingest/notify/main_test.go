package notify_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/scriptservice"
)

// The emulators: Azurite's queue service (scripts/azurite-queue.sh), moto
// (scripts/s3server.sh: S3 and SQS in one server, S3 sending real event
// notifications to SQS) and, for Pub/Sub, the Go client's pstest server —
// an in-process fake of the Pub/Sub API, not Google's emulator.
var (
	azuriteQueueAddr = "127.0.0.1:" + cmp.Or(os.Getenv("AZURITE_QUEUE_PORT"), "10012")
	azuriteQueueURL  = "http://" + azuriteQueueAddr + "/devstoreaccount1"
	motoAddr         = "127.0.0.1:" + cmp.Or(os.Getenv("S3SERVER_PORT"), "10001")
	motoEndpoint     = "http://" + motoAddr
)

// Azurite's well-known development account.
const devConn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"

var (
	svcMu    sync.Mutex
	releases []func()
	started  = map[string]error{}
	psrv     *pstest.Server
)

func TestMain(m *testing.M) {
	clitest.RunIfChild() // medallion commands run as processes (serve test)
	if runChild() {      // the kill -9 test's child processes run no tests
		return
	}
	// Every client here and in child processes reaches the emulators and
	// nothing else, whatever the developer's environment holds.
	os.Setenv("AWS_ENDPOINT_URL_S3", motoEndpoint)
	os.Setenv("AWS_ENDPOINT_URL_SQS", motoEndpoint)
	os.Setenv("AWS_ACCESS_KEY_ID", "test")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(os.TempDir(), "medallion-no-aws-config"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(os.TempDir(), "medallion-no-aws-credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ACCOUNT"} {
		os.Unsetenv(v)
	}
	code := m.Run()
	svcMu.Lock()
	for _, r := range releases {
		r()
	}
	if psrv != nil {
		psrv.Close()
	}
	svcMu.Unlock()
	os.Exit(code)
}

// need starts the server of scripts/<script> on addr for this test
// process, or stops the test: under CI=true it fails loudly, elsewhere it
// skips with the reason.
func need(t testing.TB, addr, script string) {
	t.Helper()
	svcMu.Lock()
	err, done := started[script]
	if !done {
		var release func()
		release, err = scriptservice.Acquire(addr, script)
		if release != nil {
			releases = append(releases, release)
		}
		started[script] = err
	}
	svcMu.Unlock()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("scripts/%s is required under CI=true: %v", script, err)
	}
	t.Skipf("scripts/%s unavailable: %v", script, err)
}

// pubsubServer starts the in-process pstest server once and points
// PUBSUB_EMULATOR_HOST at it.
func pubsubServer(t testing.TB) *pstest.Server {
	t.Helper()
	svcMu.Lock()
	defer svcMu.Unlock()
	if psrv == nil {
		psrv = pstest.NewServer()
		os.Setenv("PUBSUB_EMULATOR_HOST", psrv.Addr)
	}
	return psrv
}

// unique returns prefix-<random hex>, a fresh name for a queue or bucket.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s", prefix, hex.EncodeToString(b))
}

var _ = context.Background
