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

// S3Script starts the Spark Connect server that reaches s3a:// lakes on
// the local S3 server (scripts/s3server.sh), in scripts/.
const S3Script = "spark-connect-s3.sh"

// S3DefaultPort is the port of that server unless SPARK_S3_PORT says
// otherwise.
const S3DefaultPort = 15012

var s3 struct {
	mu      sync.Mutex
	started bool
	reason  string
	failure error
	release func()
}

// S3Addr is host:port of the S3 lake server (not necessarily running).
func S3Addr() string {
	port := S3DefaultPort
	if p, err := strconv.Atoi(os.Getenv("SPARK_S3_PORT")); err == nil && p > 0 {
		port = p
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// S3Remote is Remote for a server of its own that reads and writes
// s3a:// URLs on the local S3 server (hadoop-aws and the AWS SDK modules
// from .cache/spark-s3a-jars; fs.s3a.endpoint http://127.0.0.1:10001 or
// S3SERVER_PORT, path-style, credentials test/test), so the shared server
// of Remote stays as it is. The caller makes sure the S3 server runs.
// Skips when the jars are missing, fails under CI=true. Release stops it
// after its last user.
func S3Remote(tb testing.TB) string {
	tb.Helper()
	s3.mu.Lock()
	defer s3.mu.Unlock()
	addr := S3Addr()
	if !s3.started {
		s3.started = true
		if r := MissingS3(); r != "" {
			s3.reason = r
		} else {
			s3.release, s3.failure = scriptservice.Acquire(addr, S3Script)
			if s3.failure != nil {
				s3.failure = fmt.Errorf("sparkserver: %w", s3.failure)
			}
		}
	}
	switch {
	case s3.reason != "":
		msg := "Spark Connect server for S3 lakes unavailable: " + s3.reason + "; " + installHint
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	case s3.failure != nil:
		tb.Fatal(s3.failure)
	}
	return "sc://" + addr
}

// MissingS3 is Missing for the S3 lake server: also the hadoop-aws jar
// in .cache/spark-s3a-jars (or SPARK_S3A_JARS).
func MissingS3() string {
	if r := Missing(); r != "" {
		return r
	}
	root, err := Root()
	if err != nil {
		return err.Error()
	}
	jars := cmp.Or(os.Getenv("SPARK_S3A_JARS"), filepath.Join(root, ".cache", "spark-s3a-jars"))
	if m, _ := filepath.Glob(filepath.Join(jars, "hadoop-aws-*.jar")); len(m) == 0 {
		return "no hadoop-aws jar in " + jars
	}
	return ""
}

// releaseS3 is Release for the S3 lake server.
func releaseS3() {
	s3.mu.Lock()
	defer s3.mu.Unlock()
	if s3.release != nil {
		s3.release()
		s3.release = nil
	}
}
