package main

// The spark suite (`benchcmp -suite spark`, `make bench-spark`): the
// built-in project on one local Spark Connect server, started for the run
// (scripts/spark-connect.sh on its own port) and stopped at the end:
//
//   - medallion on engine kind spark: `medallion run -C DIR` where DIR is
//     `medallion init`'s project with engine: {kind: spark, spark: {remote}};
//   - the PySpark notebooks reference, scripts/bench/spark_notebooks.py
//     (Bronze, Silver and Gold notebooks' work as a Spark Connect client;
//     --incremental for the increment);
//   - medallion on engine kind duckdb (the built-in project), whose gold is
//     the one the others are checked against.
//
// For SF1 every contender starts from an empty lake; for the increment every
// contender loads SF1 once (untimed; when sf1 runs in the same invocation,
// its last full refresh is that load), then each repetition copies that
// loaded project, lands datagen.NewOrders' files and times the contender's
// incremental run; its gold must equal a duckdb full refresh of the same
// landing. Repetitions are interleaved. Each measure has the contender
// process's CPU (user+sys) and the Spark server's (from /proc/PID/stat
// before and after: the server's CPU is part of a Spark contender's cost).
// A contender that fails (its command exits non-zero or its gold differs)
// is reported as failed with its error, never timed, and the others go on;
// benchcmp then exits non-zero.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/goldref"
)

// sparkContender is one contender of the spark suite.
type sparkContender struct {
	name string
	// prepare makes dir a project (landing already linked into dir/landing).
	prepare func(ctx context.Context, dir string) error
	// run is the argv of a full run (incremental=false) or of an
	// incremental run over a loaded dir.
	run func(dir string, incremental bool) []string
}

// sparkMeasure is a measure plus the Spark server's CPU over the run.
type sparkMeasure struct {
	measure
	server time.Duration
}

// sparkServer is the Spark Connect server of a bench run.
type sparkServer struct {
	script, port, cache string
	pid                 int
	remote              string
}

// startSpark starts a server on port with scripts/spark-connect.sh and
// returns it; it refuses a port something else already listens on (that
// server's CPU could not be told apart from the run's).
func startSpark(ctx context.Context, script string, port int, work string) (*sparkServer, error) {
	s := &sparkServer{script: script, port: strconv.Itoa(port), cache: filepath.Join(work, "spark-connect")}
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), "SPARK_CONNECT_PORT="+s.port, "SPARK_CONNECT_CACHE="+s.cache)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("starting the Spark Connect server: %w\n%s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || strings.Contains(stderr.String(), "already listens") {
		return nil, fmt.Errorf("port %d: another server already listens there (%s); its CPU cannot be measured: pick a free port with -spark-port", port, strings.TrimSpace(stderr.String()))
	}
	s.pid = pid
	s.remote = "sc://127.0.0.1:" + s.port
	fmt.Printf("Spark Connect server PID %d on %s\n", pid, s.remote)
	return s, nil
}

func (s *sparkServer) stop() {
	cmd := exec.Command("bash", s.script, "stop")
	cmd.Env = append(os.Environ(), "SPARK_CONNECT_PORT="+s.port, "SPARK_CONNECT_CACHE="+s.cache)
	_ = cmd.Run()
}

// cpu is the server's user+system CPU so far, its threads and waited-for
// children included (/proc/PID/stat fields 14–17, in USER_HZ = 100 ticks).
func (s *sparkServer) cpu() (time.Duration, error) {
	return procCPU(s.pid)
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("the Spark server's CPU: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("the Spark server's CPU: cannot read /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, fmt.Errorf("the Spark server's CPU: short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} { // fields 14–17
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("the Spark server's CPU: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// timedSpark is timed plus the server's CPU over the run.
func timedSpark(ctx context.Context, srv *sparkServer, dir string, argv []string) (sparkMeasure, error) {
	before, err := srv.cpu()
	if err != nil {
		return sparkMeasure{}, err
	}
	m, err := timed(ctx, dir, argv)
	if err != nil {
		return sparkMeasure{}, err
	}
	after, err := srv.cpu()
	if err != nil {
		return sparkMeasure{}, err
	}
	return sparkMeasure{measure: m, server: after - before}, nil
}

var engineBlock = regexp.MustCompile(`(?m)^engine:\n(?:[ \t]+.*\n)*`)

// sparkProject writes `medallion init`'s project into dir with the engine
// block replaced by engine kind spark at remote.
func sparkProject(ctx context.Context, bin, dir, remote string) error {
	if out, err := exec.CommandContext(ctx, bin, "init", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("medallion init: %w\n%s", err, out)
	}
	file := filepath.Join(dir, "medallion.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !engineBlock.Match(b) {
		return fmt.Errorf("%s: no engine: block to replace", file)
	}
	b = engineBlock.ReplaceAll(b, []byte("engine:\n  kind: spark\n  spark:\n    remote: "+remote+"\n"))
	return os.WriteFile(file, b, 0o644)
}

// projectCopy recreates a loaded project: landing hard-linked, the rest
// (lake, .medallion, medallion.yaml, models) copied.
func projectCopy(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case e.Name() == "landing":
			err = fstree.Link(from, to)
		case e.IsDir():
			err = fstree.Copy(from, to)
		case e.Type().IsRegular():
			err = copyOne(from, to)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyOne(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// sparkResult is a contender's measures at one scale, or its failure.
type sparkResult struct {
	ms     []sparkMeasure
	failed error
}

func runSpark(ctx context.Context, c config) error {
	for _, p := range []*string{&c.sparkScript, &c.notebooks} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return err
		}
		*p = abs
	}
	fmt.Printf("load before: %s\n", loadavg())
	srv, err := startSpark(ctx, c.sparkScript, c.sparkPort, c.work)
	if err != nil {
		return err
	}
	defer srv.stop()

	contenders := []sparkContender{
		{name: "medallion, engine duckdb",
			prepare: func(context.Context, string) error { return nil },
			run:     func(dir string, _ bool) []string { return []string{c.bin, "run", "-C", dir} }},
		{name: "medallion, engine spark",
			prepare: func(ctx context.Context, dir string) error { return sparkProject(ctx, c.bin, dir, srv.remote) },
			run:     func(dir string, _ bool) []string { return []string{c.bin, "run", "-C", dir} }},
		{name: "PySpark notebooks (spark_notebooks.py)",
			prepare: func(context.Context, string) error { return nil },
			run: func(dir string, incr bool) []string {
				argv := []string{c.python, c.notebooks, "--remote", srv.remote}
				if incr {
					argv = append(argv, "--incremental")
				}
				return append(argv, filepath.Join(dir, "landing"), filepath.Join(dir, "lake"))
			}},
	}

	var lines []string
	failures := 0
	// sf1Lakes are the SF1 full refresh's projects (one per contender, ""
	// for one that failed), the increment's bases when both scales run.
	var sf1Lakes []string
	sf1Landing := ""
	reuse := slices.Contains(c.scales, "sf1") && slices.Contains(c.scales, "incr")
	for _, scale := range c.scales {
		var res []sparkResult
		var title string
		switch scale {
		case "sf1", "sf10":
			orders, reps := c.sf1Orders, c.reps
			if scale == "sf10" {
				orders, reps = 1_000_000, 1
			}
			var kept []string
			if res, kept, err = sparkFull(ctx, c, srv, contenders, scale, orders, reps, reuse && scale == "sf1"); err != nil {
				return err
			}
			if scale == "sf1" && reuse {
				sf1Lakes, sf1Landing = kept, filepath.Join(c.work, scale, "landing")
			}
			title = fmt.Sprintf("%s full refresh: %d orders (seed %d), %d run(s) each, interleaved, one local[2] Spark Connect server", strings.ToUpper(scale), orders, c.seed, reps)
		case "incr":
			if res, err = sparkIncr(ctx, c, srv, contenders, sf1Lakes, sf1Landing); err != nil {
				return err
			}
			title = fmt.Sprintf("INCREMENT: %d new orders over a lake loaded with %d orders, %d run(s) each, interleaved; gold checked against a duckdb full refresh of the same landing", c.incrOrders, c.sf1Orders, c.reps)
		}
		lines = append(lines, "\n"+title,
			"| contender | median wall | × duckdb | median CPU, process | median CPU, Spark server | CPU total | × duckdb | peak RSS, process |",
			"|---|---|---|---|---|---|---|---|")
		var base sparkMeasure
		if res[0].failed == nil {
			base = medianSpark(res[0].ms)
		}
		for i, k := range contenders {
			r := res[i]
			if r.failed != nil {
				failures++
				msg := strings.ReplaceAll(lastLines(r.failed.Error(), 2), "|", "\\|")
				lines = append(lines, fmt.Sprintf("| %s | FAILED: %s | | | | | | |", k.name, msg))
				continue
			}
			m := medianSpark(r.ms)
			total := m.cpu + m.server
			lines = append(lines, fmt.Sprintf("| %s | %.2f s | %s | %.2f s | %.2f s | %.2f s | %s | %.2f GB |", k.name,
				m.wall.Seconds(), ratio(m.wall, base.wall), m.cpu.Seconds(), m.server.Seconds(), total.Seconds(),
				ratio(total, base.cpu+base.server), gb(maxRSSSpark(r.ms))))
		}
	}
	fmt.Printf("\nload after: %s\n", loadavg())
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Println("\nCPU, Spark server: the server process's user+sys over the run (/proc/PID/stat), idle work included; medallion on duckdb does not use it.")
	if failures > 0 {
		return fmt.Errorf("%d contender result(s) failed (see the table)", failures)
	}
	return nil
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
}

// lastLines is the last n non-empty lines of s (a failed command's
// error is its output's end), joined by " / ".
func lastLines(s string, n int) string {
	var out []string
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append([]string{l}, out...)
		}
	}
	return strings.Join(out, " / ")
}

// sparkFull times full refreshes from an empty lake, interleaved, checking
// each contender's gold against the duckdb contender's of the same rep.
// With keepLast, each contender's last successful project is kept and
// returned (the increment's base; "" for a contender that failed).
func sparkFull(ctx context.Context, c config, srv *sparkServer, contenders []sparkContender, scale string, orders, reps int, keepLast bool) ([]sparkResult, []string, error) {
	landing := filepath.Join(c.work, scale, "landing")
	if err := generate(ctx, c.bin, landing, orders, c.seed); err != nil {
		return nil, nil, err
	}
	res := make([]sparkResult, len(contenders))
	kept := make([]string, len(contenders))
	for r := range reps {
		var want map[string]*goldref.Table
		for i, k := range contenders {
			if res[i].failed != nil {
				continue // a contender that failed is not run again
			}
			dir := filepath.Join(c.work, scale, fmt.Sprintf("c%d-r%d", i, r))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, err
			}
			if err := k.prepare(ctx, dir); err != nil {
				return nil, nil, err
			}
			if err := fstree.Link(landing, filepath.Join(dir, "landing")); err != nil {
				return nil, nil, err
			}
			m, err := timedSpark(ctx, srv, dir, k.run(dir, false))
			if err == nil {
				fmt.Printf("%s rep %d %-40s %7.2fs wall %7.2fs CPU %7.2fs server CPU %6.0f MB\n", scale, r+1, k.name, m.wall.Seconds(), m.cpu.Seconds(), m.server.Seconds(), mb(m.maxRSS))
				err = checkGold(ctx, dir, i == 0, &want)
			}
			if err != nil {
				fmt.Printf("%s rep %d %-40s FAILED: %s\n", scale, r+1, k.name, lastLines(err.Error(), 3))
				res[i].failed = err
			} else {
				res[i].ms = append(res[i].ms, m)
			}
			switch {
			case keepLast && err == nil:
				if kept[i] != "" && !c.keep {
					_ = os.RemoveAll(kept[i])
				}
				kept[i] = dir
			case !c.keep:
				_ = os.RemoveAll(dir)
			}
		}
		if want == nil {
			return nil, nil, errors.New(scale + ": medallion on duckdb failed, so no gold to check the others against: " + res[0].failed.Error())
		}
	}
	return res, kept, nil
}

// checkGold reads dir's lake's gold: the reference when first, else
// compared with *want.
func checkGold(ctx context.Context, dir string, first bool, want *map[string]*goldref.Table) error {
	got, err := deltaGold(ctx, filepath.Join(dir, "lake"))
	if err != nil {
		return fmt.Errorf("reading its gold: %w", err)
	}
	if first {
		*want = got
		return nil
	}
	if *want == nil {
		return errors.New("no reference gold")
	}
	if err := sameGold(*want, got); err != nil {
		return fmt.Errorf("its gold differs from medallion on duckdb's: %w", err)
	}
	return nil
}

// sparkIncr loads each contender with SF1 once, then times the increment
// per repetition on a copy of the loaded project. When the SF1 full refresh
// ran before in the same invocation (sf1Lakes, over sf1Landing: the same
// orders and seed), its projects are the loaded bases and a contender that
// failed there is failed here, instead of loading SF1 a second time.
func sparkIncr(ctx context.Context, c config, srv *sparkServer, contenders []sparkContender, sf1Lakes []string, sf1Landing string) ([]sparkResult, error) {
	landing := filepath.Join(c.work, "incr", "landing")
	if sf1Lakes != nil {
		landing = sf1Landing
	} else if err := generate(ctx, c.bin, landing, c.sf1Orders, c.seed); err != nil {
		return nil, err
	}
	inc, err := datagen.NewOrders(landing, c.incrOrders, uint64(c.seed))
	if err != nil {
		return nil, err
	}
	// The gold every incremental lake must reach: a duckdb full refresh.
	ref := filepath.Join(c.work, "incr", "reference")
	if err := fstree.Link(landing, filepath.Join(ref, "landing")); err != nil {
		return nil, err
	}
	if err := datagen.WriteFiles(filepath.Join(ref, "landing"), inc.Files); err != nil {
		return nil, err
	}
	if _, err := timed(ctx, ref, []string{c.bin, "run", "-C", ref}); err != nil {
		return nil, fmt.Errorf("incr: the reference full refresh: %w", err)
	}
	want, err := deltaGold(ctx, filepath.Join(ref, "lake"))
	if err != nil {
		return nil, err
	}
	_ = os.RemoveAll(ref)

	res := make([]sparkResult, len(contenders))
	bases := make([]string, len(contenders))
	for i, k := range contenders {
		if sf1Lakes != nil {
			bases[i] = sf1Lakes[i]
			if bases[i] == "" {
				res[i].failed = errors.New("loading SF1: its SF1 full refresh failed (see the SF1 table)")
			}
			continue
		}
		base := filepath.Join(c.work, "incr", fmt.Sprintf("base-c%d", i))
		bases[i] = base
		if err := os.MkdirAll(base, 0o755); err != nil {
			return nil, err
		}
		if err := k.prepare(ctx, base); err != nil {
			return nil, err
		}
		if err := fstree.Link(landing, filepath.Join(base, "landing")); err != nil {
			return nil, err
		}
		if _, err := timed(ctx, base, k.run(base, false)); err != nil {
			fmt.Printf("incr %-40s FAILED loading SF1: %s\n", k.name, lastLines(err.Error(), 3))
			res[i].failed = fmt.Errorf("loading SF1: %w", err)
		}
	}
	for r := range c.reps {
		for i, k := range contenders {
			if res[i].failed != nil {
				continue
			}
			dir := filepath.Join(c.work, "incr", fmt.Sprintf("c%d-r%d", i, r))
			if err := projectCopy(bases[i], dir); err != nil {
				return nil, err
			}
			if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
				return nil, err
			}
			m, err := timedSpark(ctx, srv, dir, k.run(dir, true))
			if err == nil {
				fmt.Printf("incr rep %d %-40s %7.2fs wall %7.2fs CPU %7.2fs server CPU %6.0f MB\n", r+1, k.name, m.wall.Seconds(), m.cpu.Seconds(), m.server.Seconds(), mb(m.maxRSS))
				var got map[string]*goldref.Table
				if got, err = deltaGold(ctx, filepath.Join(dir, "lake")); err == nil {
					if d := sameGold(want, got); d != nil {
						err = fmt.Errorf("its incremental gold differs from a duckdb full refresh's: %w", d)
					}
				}
			}
			if err != nil {
				fmt.Printf("incr rep %d %-40s FAILED: %s\n", r+1, k.name, lastLines(err.Error(), 3))
				res[i].failed = err
			} else {
				res[i].ms = append(res[i].ms, m)
			}
			if !c.keep {
				_ = os.RemoveAll(dir)
			}
		}
	}
	if res[0].failed != nil {
		return nil, fmt.Errorf("incr: medallion on duckdb failed: %w", res[0].failed)
	}
	return res, nil
}

// medianSpark is the measure of median wall time, with the median CPU
// figures of the same runs (each median taken separately).
func medianSpark(ms []sparkMeasure) sparkMeasure {
	plain := make([]measure, len(ms))
	server := make([]measure, len(ms))
	for i, m := range ms {
		plain[i] = m.measure
		server[i] = measure{wall: m.server}
	}
	out := sparkMeasure{measure: median(plain), server: median(server).wall}
	out.cpu = medianCPU(plain)
	return out
}

func maxRSSSpark(ms []sparkMeasure) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.maxRSS)
	}
	return m
}
