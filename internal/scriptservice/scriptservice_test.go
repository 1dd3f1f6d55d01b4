package scriptservice

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Child users are this test binary started again with childEnv set: each
// acquires the fake server, says "acquired", and releases it when its
// standard input closes.
const childEnv = "SCRIPTSERVICE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	release, err := acquire(os.Getenv("FAKE_ADDR"), os.Getenv("FAKE_SCRIPT"), "fakeserver.sh", os.Getenv("FAKE_LEASES"))
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("acquired\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	release()
	return 0
}

type fake struct {
	t                 *testing.T
	addr, dir, leases string
	script            string
	env               []string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 (the fake server) is not in PATH")
		}
		t.Skip("python3 (the fake server) is not in PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	script, _ := filepath.Abs(filepath.Join("testdata", "fakeserver.sh"))
	f := &fake{t: t, addr: addr, dir: dir, leases: filepath.Join(dir, "leases"), script: script}
	if err := os.MkdirAll(f.leases, 0o755); err != nil {
		t.Fatal(err)
	}
	f.env = append(os.Environ(), "FAKE_PORT="+port, "FAKE_DIR="+dir, "FAKE_ADDR="+addr, "FAKE_SCRIPT="+script, "FAKE_LEASES="+f.leases)
	t.Cleanup(func() {
		if Listening(addr) {
			f.runScript("stop")
		}
	})
	return f
}

func (f *fake) runScript(args ...string) {
	f.t.Helper()
	cmd := exec.Command("bash", append([]string{f.script}, args...)...)
	cmd.Env = f.env
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("fakeserver.sh %v: %v: %s", args, err, out)
	}
}

func (f *fake) stops() int {
	b, _ := os.ReadFile(filepath.Join(f.dir, "stops"))
	return strings.Count(string(b), "stopped")
}

// user is a child process holding a lease.
type user struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (f *fake) user() *user {
	f.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(f.env, childEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "acquired\n" {
		cmd.Process.Kill()
		cmd.Wait()
		f.t.Fatalf("child did not acquire: %q %v", line, err)
	}
	return &user{cmd: cmd, stdin: stdin}
}

// release makes the user release and waits for it to exit.
func (u *user) release(t *testing.T) {
	t.Helper()
	u.stdin.Close()
	if err := u.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

func TestAcquireLastUserStopsWhatUsersStarted(t *testing.T) {
	f := newFake(t)
	a := f.user() // starts the server
	if !Listening(f.addr) {
		t.Fatal("not listening after the first Acquire")
	}
	b := f.user() // shares it
	a.release(t)
	if !Listening(f.addr) || f.stops() != 0 {
		t.Fatal("the server stopped while a user still held it")
	}
	b.release(t)
	if Listening(f.addr) || f.stops() != 1 {
		t.Fatalf("after the last release: listening %v, %d stops; want stopped once", Listening(f.addr), f.stops())
	}
	// A new user starts it again.
	c := f.user()
	if !Listening(f.addr) {
		t.Fatal("not listening after a new Acquire")
	}
	c.release(t)
	if Listening(f.addr) || f.stops() != 2 {
		t.Fatalf("after the second round: listening %v, %d stops", Listening(f.addr), f.stops())
	}
}

func TestAcquireLeavesAServerItDidNotStart(t *testing.T) {
	f := newFake(t)
	f.runScript() // started by hand, before any test
	a := f.user()
	a.release(t)
	if !Listening(f.addr) || f.stops() != 0 {
		t.Fatal("a server the users did not start was stopped")
	}
}

func TestAcquireIgnoresKilledUsers(t *testing.T) {
	f := newFake(t)
	a := f.user()
	b := f.user()
	b.cmd.Process.Kill() // kill -9: b never releases
	b.cmd.Wait()
	a.release(t)
	if Listening(f.addr) || f.stops() != 1 {
		t.Fatalf("a killed user kept the server: listening %v, %d stops", Listening(f.addr), f.stops())
	}
	ents, _ := os.ReadDir(f.leases)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "user-") {
			t.Errorf("user file %s left behind", e.Name())
		}
	}
}
