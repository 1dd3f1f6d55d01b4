// Package scriptservice starts the emulators that tests need (Azurite, the
// local S3 server) through the repository's start scripts in scripts/,
// which install them on first use and leave them running for the tests
// that follow.
package scriptservice

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Listening reports whether something accepts connections on addr.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Start makes sure something listens on addr, running scripts/<script>
// with bash if nothing does. The script prints the PID of the server it
// started last on its standard output; stop, if not nil, kills that
// server.
func Start(addr, script string) (stop func(), err error) {
	if Listening(addr) {
		return nil, nil
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "scripts", script)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("nothing listens on %s and the start script is missing: %v", addr, err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return nil, fmt.Errorf("nothing listens on %s and bash, needed to run scripts/%s, is missing", addr, script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nothing listens on %s and scripts/%s failed (%v): %s", addr, script, err, strings.TrimSpace(stderr.String()))
	}
	if fields := strings.Fields(stdout.String()); len(fields) > 0 {
		if pid, err := strconv.Atoi(fields[len(fields)-1]); err == nil {
			stop = func() {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	}
	if !Listening(addr) {
		return stop, fmt.Errorf("scripts/%s succeeded but nothing listens on %s: %s", script, addr, strings.TrimSpace(stderr.String()))
	}
	return stop, nil
}
