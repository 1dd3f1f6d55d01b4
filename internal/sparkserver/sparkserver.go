// Package sparkserver gives tests a real Spark Connect server with Delta
// Lake: scripts/spark-connect.sh starts one (pip's pyspark from the
// repository's .venv, the delta-spark jars from .cache/spark-jars, local[2],
// bound to 127.0.0.1) the first time a test of any package asks for it, and
// test processes share it through internal/scriptservice's leases: the last
// one out stops it. A server takes about 17 s to start and 1.1 GB of memory,
// so a test run starts one, not one per package.
//
// When Java, pyspark or the jars are missing the test is skipped with the
// reason, except under CI=true, where it fails naming what is missing.
package sparkserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/spark-connect-go/spark/sql"

	"github.com/medallionhq/medallion/internal/scriptservice"
)

// Script is the start script, in scripts/.
const Script = "spark-connect.sh"

// DefaultPort is the port the server listens on unless SPARK_CONNECT_PORT
// says otherwise.
const DefaultPort = 15002

const installHint = "run `make test-deps` from the repository root"

var (
	mu      sync.Mutex
	started bool
	addr    string
	reason  string // unavailable: skip, or fail under CI
	failure error
	release func()
)

// Addr is host:port of the shared server (not necessarily running).
func Addr() string {
	port := DefaultPort
	if p, err := strconv.Atoi(os.Getenv("SPARK_CONNECT_PORT")); err == nil && p > 0 {
		port = p
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// Remote returns the Spark Connect address ("sc://127.0.0.1:15002") of
// the shared server, starting it if no process runs it yet and
// registering this process as a user. It skips the test when the server's
// dependencies are missing (fails under CI=true). Call Release from
// TestMain after the tests ran.
func Remote(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		addr = Addr()
		if r := Missing(); r != "" {
			reason = r
		} else {
			release, failure = scriptservice.Acquire(addr, Script)
			if failure != nil {
				failure = fmt.Errorf("sparkserver: %w", failure)
			}
		}
	}
	switch {
	case reason != "":
		msg := "Spark Connect server unavailable: " + reason + "; " + installHint
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	case failure != nil:
		tb.Fatal(failure)
	}
	return "sc://" + addr
}

// Session connects a new Spark Connect session to the shared server
// (starting it as Remote does) and stops the session when the test ends.
func Session(tb testing.TB) sql.SparkSession {
	tb.Helper()
	remote := Remote(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := sql.NewSessionBuilder().Remote(remote).Build(ctx)
	if err != nil {
		tb.Fatalf("sparkserver: connect to %s: %v", remote, err)
	}
	tb.Cleanup(func() { s.Stop() })
	return s
}

// Release unregisters this process as a user of the server (and of the
// S3, GCS and ADLS lake servers of S3Remote, GCSRemote and ABFSRemote);
// the last user out stops a server a user started. TestMain calls it after
// the tests ran; it does nothing if no test asked for the server.
func Release() {
	releaseS3()
	releaseLakes()
	mu.Lock()
	defer mu.Unlock()
	if release != nil {
		release()
		release = nil
	}
}

// Missing says what the server needs and this machine lacks ("" when
// nothing): java (and javac and jar, which build the server's cache
// reaper), the .venv's pyspark with the Spark Connect jar, the delta-spark
// jars.
func Missing() string {
	for _, tool := range []string{"java", "javac", "jar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("%s is not in PATH (%v)", tool, err)
		}
	}
	root, err := Root()
	if err != nil {
		return err.Error()
	}
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		return "no Python venv at " + filepath.Join(root, ".venv")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))").Output()
	if err != nil {
		return fmt.Sprintf("%s cannot import pyspark (%v)", py, err)
	}
	home := string(trimNL(out))
	if m, _ := filepath.Glob(filepath.Join(home, "jars", "spark-connect_*.jar")); len(m) == 0 {
		return "pyspark in " + home + " has no Spark Connect server jar"
	}
	jars := os.Getenv("SPARK_JARS")
	if jars == "" {
		jars = filepath.Join(root, ".cache", "spark-jars")
	}
	if m, _ := filepath.Glob(filepath.Join(jars, "delta-spark_*.jar")); len(m) == 0 {
		return "no delta-spark jar in " + jars
	}
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Root is the repository root (where go.mod is), found from this file.
func Root() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("sparkserver: cannot locate the repository")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("sparkserver: no go.mod at %s: %w", root, err)
	}
	return filepath.Clean(root), nil
}
