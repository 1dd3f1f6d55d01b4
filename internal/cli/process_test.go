package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild()
	os.Exit(m.Run())
}

// proc is medallion running in a process of its own.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line ('\r' ends a line too)
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	done   chan struct{}
}

// startMedallion starts medallion with args in a separate OS process.
func startMedallion(t *testing.T, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, lines: make(chan string, 10000), done: make(chan struct{})}
	p.cmd = exec.Command(exe, args...)
	p.cmd.Env = clitest.ChildEnv()
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		sc.Split(scanLinesOrCR)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		defer wg.Done()
		b, _ := io.ReadAll(errPipe)
		p.mu.Lock()
		p.stderr.Write(b)
		p.mu.Unlock()
	}()
	go func() { wg.Wait(); close(p.done) }()
	return p
}

// scanLinesOrCR splits at '\n' or '\r'.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' || c == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// waitLine returns the first stdout line from now on matching re, or
// fails if the output ends first.
func (p *proc) waitLine(re *regexp.Regexp) []string {
	p.t.Helper()
	for l := range p.lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	p.t.Fatalf("medallion ended without printing a line matching %s\nstdout:\n%s\nstderr:\n%s", re, p.output(), p.errors())
	return nil
}

// interrupt sends Ctrl-C (SIGINT) and waits for the exit code.
func (p *proc) interrupt() int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatal(err)
	}
	go func() {
		for range p.lines {
		}
	}()
	<-p.done
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return 0
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) errors() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// landingFiles lists the files under dir with their size and modification
// time.
func landingFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%d %s", info.Size(), info.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	stoppedLine = regexp.MustCompile(`^stopped: ([\d,]+) of ([\d,]+) orders landed; run the demo again to continue the replay$`)
	// What a stop must not print.
	stopNoise = regexp.MustCompile(`(?i)context canceled|checkpoint failed|waiting +input`)
)

func atoiGrouped(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDemoStopsCleanlyAndResumes runs `medallion demo` as its own process,
// stops it with Ctrl-C part-way through the replay, starts it again and
// stops it again. Each stop exits 0 without failure lines and prints the
// headline KPIs; the second demo resumes after the orders the first landed
// and rewrites none of their files; on a terminal (forced with
// --status-line on) the status is one line rewritten in place; and after a
// final run bronze holds every landed item row exactly once.
func TestDemoStopsCleanlyAndResumes(t *testing.T) {
	dir := t.TempDir()
	args := []string{"demo", "-C", dir, "--orders", "2000", "--orders-per-second", "20", "--events-per-second", "0"}

	first := startMedallion(t, append(args, "--addr", freeAddr(t), "--status-line", "off")...)
	// A line at a tenth of the replay that shows a commit and the KPIs.
	first.waitLine(regexp.MustCompile(`^replay: [\d,]+/2,000 orders \(\d+%\) · last commit .* · revenue [\d,.]+ · orders`))
	if code := first.interrupt(); code != 0 {
		t.Fatalf("first demo: exit %d after Ctrl-C\n%s", code, first.errors())
	}
	out1 := first.output()
	if stopNoise.MatchString(out1 + first.errors()) {
		t.Errorf("the first stop printed failure or waiting lines:\nstdout:\n%s\nstderr:\n%s", out1, first.errors())
	}
	var landed int
	for _, l := range strings.Split(out1, "\n") {
		if m := stoppedLine.FindStringSubmatch(l); m != nil {
			landed = atoiGrouped(t, m[1])
		}
	}
	if landed == 0 || landed == 2000 {
		t.Fatalf("the first demo did not say how far the replay got (or it had finished):\n%s", out1)
	}
	if !strings.Contains(out1, "headline KPIs:") || !strings.Contains(out1, "cancellation_rate_pct") {
		t.Errorf("the first stop printed no headline KPIs:\n%s", out1)
	}
	if n := strings.Count(out1, "\n"); n > 25 {
		t.Errorf("the first demo printed %d lines; want a quiet output:\n%s", n, out1)
	}

	landing := filepath.Join(dir, "landing")
	before := landingFiles(t, landing)
	second := startMedallion(t, append(args, "--addr", freeAddr(t), "--status-line", "on")...)
	m := second.waitLine(regexp.MustCompile(`^(?:\x1b\[K)?replay: resuming after the ([\d,]+) orders already in landing/ \(of 2,000\)$`))
	if got := atoiGrouped(t, m[1]); got != landed {
		t.Errorf("the second demo resumed after %d orders; the first landed %d", got, landed)
	}
	// A status line showing orders this run landed, and a commit.
	for {
		m := second.waitLine(regexp.MustCompile(`^\x1b\[Kreplay: ([\d,]+)/2,000 orders .*last commit`))
		if atoiGrouped(t, m[1]) > landed {
			break
		}
	}
	if code := second.interrupt(); code != 0 {
		t.Fatalf("second demo: exit %d after Ctrl-C\n%s", code, second.errors())
	}
	out2 := second.output()
	if stopNoise.MatchString(out2 + second.errors()) {
		t.Errorf("the second stop printed failure or waiting lines:\nstdout:\n%s\nstderr:\n%s", out2, second.errors())
	}
	if !strings.Contains(out2, "\x1b[K") { // '\r' ends a line in out2
		t.Errorf("with --status-line on the status is not rewritten in place:\n%q", out2)
	}
	if !strings.Contains(out2, "headline KPIs:") {
		t.Errorf("the second stop printed no headline KPIs:\n%s", out2)
	}
	after := landingFiles(t, landing)
	for f, v := range before {
		if after[f] != v {
			t.Errorf("the resumed demo rewrote %s (%s, was %s)", f, after[f], v)
		}
	}
	if len(after) <= len(before) {
		t.Errorf("the resumed demo landed no new files")
	}

	// Every landed item row is in bronze once.
	mustRun(t, "run", "-C", dir)
	items := 0
	for f := range after {
		if strings.Contains(f, string(filepath.Separator)+"order_items"+string(filepath.Separator)) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			items += strings.Count(string(b), "\n") - 1
		}
	}
	got := strings.TrimSpace(mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT count(*) AS n FROM bronze.order_items"))
	if got != "n\n"+strconv.Itoa(items) {
		t.Errorf("bronze.order_items: %q, want %d rows (the landed item rows, once)", got, items)
	}
}
