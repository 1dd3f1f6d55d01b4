package sparkserver

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/internal/scriptservice"
)

// GCSScript starts the Spark Connect server that reaches gs:// lakes on
// the local GCS emulator (scripts/gcsserver.sh), in scripts/.
const GCSScript = "spark-connect-gcs.sh"

// GCSDefaultPort is the port of that server unless SPARK_GCS_PORT says
// otherwise.
const GCSDefaultPort = 15022

var gcs struct {
	mu      sync.Mutex
	started bool
	reason  string
	failure error
	release func()
}

// GCSAddr is host:port of the GCS lake server (not necessarily running).
func GCSAddr() string {
	port := GCSDefaultPort
	if p, err := strconv.Atoi(os.Getenv("SPARK_GCS_PORT")); err == nil && p > 0 {
		port = p
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// GCSRemote is Remote for a server of its own that reads and writes gs://
// URLs on the local GCS emulator (the GCS connector's shaded jar from
// .cache/spark-gcs-jars; fs.gs.storage.root.url http://127.0.0.1:10003/ or
// GCSSERVER_PORT, no authentication), so the shared server of Remote stays
// as it is. The caller makes sure the emulator runs. Skips when the jar is
// missing, fails under CI=true. Release stops it after its last user.
func GCSRemote(tb testing.TB) string {
	tb.Helper()
	gcs.mu.Lock()
	defer gcs.mu.Unlock()
	addr := GCSAddr()
	if !gcs.started {
		gcs.started = true
		if r := MissingGCS(); r != "" {
			gcs.reason = r
		} else {
			gcs.release, gcs.failure = scriptservice.Acquire(addr, GCSScript)
			if gcs.failure != nil {
				gcs.failure = fmt.Errorf("sparkserver: %w", gcs.failure)
			}
		}
	}
	switch {
	case gcs.reason != "":
		msg := "Spark Connect server for GCS lakes unavailable: " + gcs.reason + "; " + installHint
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	case gcs.failure != nil:
		tb.Fatal(gcs.failure)
	}
	return "sc://" + addr
}

// MissingGCS is Missing for the GCS lake server: also the gcs-connector
// jar in .cache/spark-gcs-jars (or SPARK_GCS_JARS).
func MissingGCS() string {
	if r := Missing(); r != "" {
		return r
	}
	root, err := Root()
	if err != nil {
		return err.Error()
	}
	jars := cmp.Or(os.Getenv("SPARK_GCS_JARS"), filepath.Join(root, ".cache", "spark-gcs-jars"))
	if m, _ := filepath.Glob(filepath.Join(jars, "gcs-connector-*.jar")); len(m) == 0 {
		return "no gcs-connector jar in " + jars
	}
	return ""
}

// releaseGCS is Release for the GCS lake server.
func releaseGCS() {
	gcs.mu.Lock()
	defer gcs.mu.Unlock()
	if gcs.release != nil {
		gcs.release()
		gcs.release = nil
	}
}
