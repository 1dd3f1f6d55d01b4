// Package scriptservice starts the emulators that tests need (Azurite, the
// local S3 server) through the repository's start scripts in scripts/,
// which install them on first use. Start leaves a server to its caller;
// Acquire shares one among test processes and stops it after the last.
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
	"syscall"
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
	_, file, _, _ := runtime.Caller(0)
	return start(addr, filepath.Join(filepath.Dir(file), "..", "..", "scripts", script), script)
}

// start is Start with the script's path.
func start(addr, path, script string) (stop func(), err error) {
	if Listening(addr) {
		return nil, nil
	}
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

// Acquire makes sure the server of scripts/<script> listens on addr, like
// Start, and registers this test process as one of its users. Test
// packages run as separate processes, several at once, so a server one
// package started may be in use by another: release unregisters, and the
// last user out stops the server if a user started it. A server that was
// already running when the first user came (started by hand, or by the
// machine) is left alone. Users are files named by PID in a lease folder
// under .cache, guarded by a file lock; a user that died (kill -9) no
// longer counts.
func Acquire(addr, script string) (release func(), err error) {
	dir, err := leaseDir(addr, script)
	if err != nil {
		return nil, err
	}
	path, err := scriptPath(script)
	if err != nil {
		return nil, err
	}
	return acquire(addr, path, script, dir)
}

// acquire is Acquire with the script's path and the lease folder.
func acquire(addr, path, script, dir string) (release func(), err error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	stop, err := start(addr, path, script)
	if err != nil {
		return nil, err
	}
	marker := filepath.Join(dir, "started")
	if stop != nil {
		// Started by this user: the last user out stops it.
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			stop()
			return nil, fmt.Errorf("scriptservice: %w", err)
		}
	}
	self := filepath.Join(dir, "user-"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(self, nil, 0o644); err != nil {
		return nil, fmt.Errorf("scriptservice: %w", err)
	}
	return func() { releaseLease(dir, self, marker, path, script) }, nil
}

func releaseLease(dir, self, marker, path, script string) {
	unlock, err := lockDir(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scriptservice: %v; leaving scripts/%s's server running\n", err, script)
		return
	}
	defer unlock()
	os.Remove(self)
	if liveUsers(dir) > 0 {
		return
	}
	if _, err := os.Stat(marker); err != nil {
		return // not started by a user: not ours to stop
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", path, "stop").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scriptservice: scripts/%s stop: %v: %s\n", script, err, out)
		return
	}
	os.Remove(marker)
}

// liveUsers counts the user files whose process still runs a Go test
// binary, removing the others.
func liveUsers(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		pidText, ok := strings.CutPrefix(e.Name(), "user-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err == nil && processAlive(pid) {
			n++
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
	return n
}

// processAlive reports whether pid runs (and, where /proc tells, runs a
// test binary, so that a reused PID does not count).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// "pid (comm) S ...": a zombie has exited.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return true
	}
	return strings.HasSuffix(strings.TrimSuffix(exe, " (deleted)"), ".test")
}

func scriptPath(script string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "scripts", script)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("scriptservice: %w", err)
	}
	return path, nil
}

// leaseDir is the folder of a server's users: .cache/leases/<script>-<port>.
func leaseDir(addr, script string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	_, port, _ := net.SplitHostPort(addr)
	dir := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "leases", strings.TrimSuffix(script, ".sh")+"-"+port)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("scriptservice: %w", err)
	}
	return dir, nil
}

// lockDir takes the lease folder's file lock, waiting for other users.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("scriptservice: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("scriptservice: lock %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
