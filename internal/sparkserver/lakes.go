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

// lakeServer is a Spark Connect server of its own with the jars and
// settings of one object store's Hadoop file system (GCSRemote,
// ABFSRemote), shared among test processes through scriptservice.
type lakeServer struct {
	what    string // "GCS lakes", in messages
	script  string // its start script in scripts/
	port    int    // its default port
	portEnv string // the variable that overrides the port
	jarsEnv string // the variable naming the jars' folder
	jarsDir string // the default jars folder under .cache
	jarGlob string // a jar that must be there
	mu      sync.Mutex
	started bool
	reason  string
	failure error
	release func()
}

// GCSScript starts the Spark Connect server that reaches gs:// lakes on
// the local GCS emulator (scripts/gcsserver.sh), in scripts/.
const GCSScript = "spark-connect-gcs.sh"

// GCSDefaultPort is the port of that server unless SPARK_GCS_PORT says
// otherwise.
const GCSDefaultPort = 15022

// ABFSScript starts the Spark Connect server that reaches abfs:// lakes
// on Azurite (scripts/azurite.sh), in scripts/.
const ABFSScript = "spark-connect-abfs.sh"

// ABFSDefaultPort is the port of that server unless SPARK_ABFS_PORT says
// otherwise.
const ABFSDefaultPort = 15032

var (
	gcs = &lakeServer{what: "GCS lakes", script: GCSScript, port: GCSDefaultPort, portEnv: "SPARK_GCS_PORT",
		jarsEnv: "SPARK_GCS_JARS", jarsDir: "spark-gcs-jars", jarGlob: "gcs-connector-*.jar"}
	abfs = &lakeServer{what: "ADLS lakes", script: ABFSScript, port: ABFSDefaultPort, portEnv: "SPARK_ABFS_PORT",
		jarsEnv: "SPARK_AZURE_JARS", jarsDir: "spark-azure-jars", jarGlob: "hadoop-azure-*.jar"}
)

// GCSAddr is host:port of the GCS lake server (not necessarily running).
func GCSAddr() string { return gcs.addr() }

// GCSRemote is Remote for a server of its own that reads and writes gs://
// URLs on the local GCS emulator (the GCS connector's shaded jar from
// .cache/spark-gcs-jars; fs.gs.storage.root.url http://127.0.0.1:10003/ or
// GCSSERVER_PORT, no authentication), so the shared server of Remote stays
// as it is. The caller makes sure the emulator runs. Skips when the jar is
// missing, fails under CI=true. Release stops it after its last user.
func GCSRemote(tb testing.TB) string { tb.Helper(); return gcs.remote(tb) }

// MissingGCS is Missing for the GCS lake server: also the gcs-connector
// jar in .cache/spark-gcs-jars (or SPARK_GCS_JARS).
func MissingGCS() string { return gcs.missing() }

// ABFSAddr is host:port of the ADLS lake server (not necessarily running).
func ABFSAddr() string { return abfs.addr() }

// ABFSRemote is Remote for a server of its own that reads and writes
// abfs:// URLs of Azurite's development account (hadoop-azure from
// .cache/spark-azure-jars in the Blob endpoint mode, fs.azure.abfs.endpoint
// 127.0.0.1:10000 or AZURITE_BLOB_PORT, the account's well-known key). The
// caller makes sure Azurite runs. Skips when the jar is missing, fails
// under CI=true. Release stops it after its last user.
func ABFSRemote(tb testing.TB) string { tb.Helper(); return abfs.remote(tb) }

// MissingABFS is Missing for the ADLS lake server: also the hadoop-azure
// jar in .cache/spark-azure-jars (or SPARK_AZURE_JARS).
func MissingABFS() string { return abfs.missing() }

func (s *lakeServer) addr() string {
	port := s.port
	if p, err := strconv.Atoi(os.Getenv(s.portEnv)); err == nil && p > 0 {
		port = p
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

func (s *lakeServer) remote(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.addr()
	if !s.started {
		s.started = true
		if r := s.missing(); r != "" {
			s.reason = r
		} else {
			s.release, s.failure = scriptservice.Acquire(addr, s.script)
			if s.failure != nil {
				s.failure = fmt.Errorf("sparkserver: %w", s.failure)
			}
		}
	}
	switch {
	case s.reason != "":
		msg := "Spark Connect server for " + s.what + " unavailable: " + s.reason + "; " + installHint
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	case s.failure != nil:
		tb.Fatal(s.failure)
	}
	return "sc://" + addr
}

func (s *lakeServer) missing() string {
	if r := Missing(); r != "" {
		return r
	}
	root, err := Root()
	if err != nil {
		return err.Error()
	}
	jars := cmp.Or(os.Getenv(s.jarsEnv), filepath.Join(root, ".cache", s.jarsDir))
	if m, _ := filepath.Glob(filepath.Join(jars, s.jarGlob)); len(m) == 0 {
		return "no " + s.jarGlob + " in " + jars
	}
	return ""
}

// releaseLakes is Release for the GCS and ADLS lake servers.
func releaseLakes() {
	for _, s := range []*lakeServer{gcs, abfs} {
		s.mu.Lock()
		if s.release != nil {
			s.release()
			s.release = nil
		}
		s.mu.Unlock()
	}
}
