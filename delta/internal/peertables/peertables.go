// Package peertables writes Delta tables with other engines for the tests of
// package delta: Apache Spark with delta-spark, and delta-rs (the Python
// deltalake package). The writers are the scripts in delta/testdata/peers;
// each runs at most once per test process, into a fresh temporary folder
// that Cleanup removes. What the tables must hold is asserted by the tests.
//
// The peers come from `make test-deps`: the Python packages of
// scripts/requirements-test.txt in the repository's .venv, Java, and the
// delta-spark jars in .cache/spark-jars. When a peer is missing a test is
// skipped, except under CI=true, where it fails naming what is missing.
package peertables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// installHint says how to get the peers.
const installHint = "run `make test-deps` from the repository root"

// Timeouts of the writer scripts: Spark starts a JVM and runs some hundred
// small jobs, which on a busy 2-core machine takes minutes.
const (
	sparkTimeout   = 25 * time.Minute
	deltaRSTimeout = 3 * time.Minute
)

type result struct {
	dir    string
	err    error
	reason string // peer unavailable: skip (or fail under CI)
}

var (
	mu      sync.Mutex
	results = map[string]*result{}
	tmpDirs []string
)

// Root returns the repository root: the nearest folder above the working
// directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("peertables: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("peertables: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Python returns the Python interpreter of the peers: the repository's
// .venv when it exists, else python3 from PATH. It checks that the modules
// import; when they do not, the test is skipped, or fails under CI=true.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	py, reason := python(modules...)
	if reason != "" {
		unavailable(t, reason)
	}
	return py
}

func python(modules ...string) (string, string) {
	py := ""
	if root, err := Root(); err == nil {
		if p := filepath.Join(root, ".venv", "bin", "python"); fileExists(p) {
			py = p
		}
	}
	if py == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", fmt.Sprintf("no .venv and no python3 in PATH (%v)", err)
		}
		py = p
	}
	if len(modules) == 0 {
		return py, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
	out, err := exec.CommandContext(ctx, py, append([]string{"-c", code}, modules...)...).CombinedOutput()
	if err != nil {
		return py, fmt.Sprintf("%s cannot import %v (%v): %s", py, modules, err, bytes.TrimSpace(out))
	}
	return py, ""
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	msg := "Delta peer unavailable: " + reason + "; " + installHint
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// SparkJars returns the folder of the delta-spark jars: $MEDALLION_SPARK_JARS
// or .cache/spark-jars under the repository root.
func SparkJars() (string, error) {
	if d := os.Getenv("MEDALLION_SPARK_JARS"); d != "" {
		return d, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "spark-jars"), nil
}

// Spark returns the folder of the tables spark_tables.py wrote (one
// sub-folder per table), writing them on the first call, or the folder
// $MEDALLION_SPARK_TABLES names.
func Spark(t testing.TB) string {
	t.Helper()
	return tables(t, "spark", func() *result {
		// A folder spark_tables.py wrote before (by hand, from the current
		// script): saves the minutes Spark takes, when iterating on a test.
		if d := os.Getenv("MEDALLION_SPARK_TABLES"); d != "" {
			return &result{dir: d}
		}
		py, reason := python("pyspark")
		if reason != "" {
			return &result{reason: reason}
		}
		if _, err := exec.LookPath("java"); err != nil {
			return &result{reason: fmt.Sprintf("java is not in PATH (%v)", err)}
		}
		jars, err := SparkJars()
		if err != nil {
			return &result{err: err}
		}
		if m, _ := filepath.Glob(filepath.Join(jars, "delta-spark_*.jar")); len(m) == 0 {
			return &result{reason: "no delta-spark jar in " + jars}
		}
		return run(py, "spark_tables.py", sparkTimeout, "SPARK_JARS="+jars, "SPARK_LOCAL_IP=127.0.0.1")
	})
}

// DeltaRS returns the folder of the tables deltars_tables.py wrote, writing
// them on the first call.
func DeltaRS(t testing.TB) string {
	t.Helper()
	return tables(t, "deltars", func() *result {
		py, reason := python("deltalake", "pyarrow")
		if reason != "" {
			return &result{reason: reason}
		}
		return run(py, "deltars_tables.py", deltaRSTimeout)
	})
}

func tables(t testing.TB, kind string, write func() *result) string {
	t.Helper()
	mu.Lock()
	r := results[kind]
	if r == nil {
		r = write()
		results[kind] = r
	}
	mu.Unlock()
	switch {
	case r.reason != "":
		unavailable(t, r.reason)
	case r.err != nil:
		t.Fatal(r.err)
	}
	return r.dir
}

// run runs a script of delta/testdata/peers with a new output folder.
func run(py, script string, timeout time.Duration, env ...string) *result {
	root, err := Root()
	if err != nil {
		return &result{err: err}
	}
	dir, err := os.MkdirTemp("", "delta-peers-")
	if err != nil {
		return &result{err: fmt.Errorf("peertables: %w", err)}
	}
	tmpDirs = append(tmpDirs, dir)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	path := filepath.Join(root, "delta", "testdata", "peers", script)
	cmd := exec.CommandContext(ctx, py, path, dir)
	cmd.Dir = dir // whatever the engine leaves in its working folder goes with it
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), env...)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		tail := stderr.Bytes()
		if len(tail) > 8000 {
			tail = tail[len(tail)-8000:]
		}
		return &result{err: fmt.Errorf("peertables: %s %s: %w\n--- stderr (end) ---\n%s\n--- stdout ---\n%s", script, dir, err, tail, stdout.Bytes())}
	}
	fmt.Fprintf(os.Stderr, "peertables: %s wrote %s in %s: %s", script, dir, time.Since(start).Round(time.Second), lastLine(stdout.Bytes()))
	return &result{dir: dir}
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return append(b, '\n')
}

// Cleanup removes the folders the writers wrote. TestMain calls it after
// the tests ran.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	for _, d := range tmpDirs {
		os.RemoveAll(d)
	}
	tmpDirs = nil
}
