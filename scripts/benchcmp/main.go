// Command benchcmp is `make bench`'s comparison: the built-in e-commerce
// project run by medallion against two hand-written contenders, each a
// separate OS process started from an empty output folder on the same
// landing zone (hard-linked):
//
//   - medallion: `medallion run -C DIR` — bronze, silver and gold Delta
//     tables with exactly-once ingestion, expectations and the run report;
//   - duckdb-gold: pipeline/ecommerce/testdata/reference.sql in one
//     in-memory DuckDB (this binary re-run as `benchcmp reference`), the
//     gold tables straight from the CSVs written as Parquet (with
//     -reference-layers it also writes its bronze and silver as Parquet);
//   - polars: scripts/bench/polars_peer.py, polars + deltalake writing the
//     same three layers as Delta.
//
// Repetitions are interleaved (medallion, duckdb-gold, polars, medallion,
// …); the table shows each contender's median wall time, its ratio to
// medallion's median and its peak resident set size (the process's
// ru_maxrss). After every run the contender's 18 gold tables are compared
// with medallion's (internal/goldref.Diff): a difference fails the
// benchmark. The increment is medallion only: a lake loaded with SF1, then
// 1,000 new orders of existing customers landed as new files (an orders
// file in a new month, an order_items file and a payments file) and
// `medallion run`; then a run with nothing new. same and same10 land the
// orders in the lake's newest month instead (a file beside that month's):
// a daily run in the middle of a month, where incr is the first day of one.
//
//	go run ./scripts/benchcmp -scales sf1,incr,sf10 -reps 3
//
// sf30 (3,000,000 orders, one run) is medallion alone.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

const referenceFile = "pipeline/ecommerce/testdata/reference.sql"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "reference" {
		if err := referenceMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "benchcmp reference:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, python, peer, work string
	seed, reps, incrOrders  int
	sf1Orders               int
	scales                  []string
	refLayers, keep         bool
	// The spark suite (spark.go).
	suite, sparkScript, notebooks string
	sparkPort                     int
}

type measure struct {
	wall   time.Duration
	cpu    time.Duration // user + system, all threads
	maxRSS int64         // bytes
}

type contender struct {
	name string
	cmd  func(landing, dir string) []string
	gold func(ctx context.Context, dir string) (map[string]*goldref.Table, error)
}

func run(ctx context.Context) error {
	var c config
	var scales string
	flag.StringVar(&c.bin, "bin", "bin/medallion", "the medallion binary")
	flag.StringVar(&c.python, "python", ".venv/bin/python", "the Python with polars and deltalake (make bench-deps)")
	flag.StringVar(&c.peer, "peer", "scripts/bench/polars_peer.py", "the polars + deltalake peer script")
	flag.StringVar(&c.work, "work", "", "working folder (default: a new temporary folder, removed at the end)")
	flag.IntVar(&c.seed, "seed", 7, "datagen seed")
	flag.IntVar(&c.reps, "reps", 3, "interleaved repetitions at SF1 and for the increment (SF10 runs once)")
	flag.IntVar(&c.sf1Orders, "sf1-orders", 100_000, "orders at SF1 and under the increment (smaller for a quick check of the harness)")
	flag.IntVar(&c.incrOrders, "incr-orders", 1000, "orders in the increment")
	flag.StringVar(&scales, "scales", "sf1,incr", "comma-separated: sf1 (100,000 orders), incr (the increment over SF1), sf10 (1,000,000 orders), sf30 (3,000,000 orders, medallion only), incr10 (the increment over SF10, one run), same and same10 (the increment in the lake's newest month, over SF1 and SF10)")
	flag.BoolVar(&c.refLayers, "reference-layers", false, "the DuckDB reference also writes its bronze and silver tables (as Parquet)")
	flag.BoolVar(&c.keep, "keep", false, "keep the working folder")
	flag.StringVar(&c.suite, "suite", "polars", "polars (medallion vs the DuckDB reference and the polars peer) or spark (medallion on spark and on duckdb vs the PySpark notebooks script, on one Spark Connect server)")
	flag.StringVar(&c.sparkScript, "spark-script", "scripts/spark-connect.sh", "-suite spark: the script starting the Spark Connect server")
	flag.IntVar(&c.sparkPort, "spark-port", 15099, "-suite spark: the port of the bench's own Spark Connect server (must be free)")
	flag.StringVar(&c.notebooks, "notebooks", "scripts/bench/spark_notebooks.py", "-suite spark: the PySpark notebooks reference script")
	flag.Parse()
	if c.suite != "polars" && c.suite != "spark" {
		return fmt.Errorf("-suite: unknown suite %q (want polars or spark)", c.suite)
	}
	for _, s := range strings.Split(scales, ",") {
		switch s = strings.TrimSpace(s); s {
		case "sf1", "sf10", "sf30", "incr", "incr10", "same", "same10":
			c.scales = append(c.scales, s)
		case "":
		default:
			return fmt.Errorf("-scales: unknown scale %q (want sf1, incr, sf10, sf30, incr10, same or same10)", s)
		}
	}
	if c.suite == "spark" {
		for _, s := range c.scales {
			if s != "sf1" && s != "sf10" && s != "incr" {
				return fmt.Errorf("-scales: %s is not measured by -suite spark (sf1, sf10, incr)", s)
			}
		}
	}
	if c.reps < 1 {
		return fmt.Errorf("-reps: %d, want at least 1", c.reps)
	}
	checked := []*string{&c.bin, &c.python, &c.peer}
	if c.suite == "spark" {
		checked = checked[:2]
	}
	for _, p := range checked {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%w (make build bench-deps)", err)
		}
		*p = abs
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	refSQL, err := filepath.Abs(referenceFile)
	if err != nil {
		return err
	}
	if c.work == "" {
		if c.work, err = os.MkdirTemp("", "medallion-benchcmp-"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(c.work)
		}
	}
	if c.suite == "spark" {
		return runSpark(ctx, c)
	}
	fmt.Printf("load before: %s\n", loadavg())

	contenders := []contender{
		{name: "medallion run (bronze+silver+gold Delta)",
			cmd: func(_, dir string) []string { return []string{c.bin, "run", "-C", dir} },
			gold: func(ctx context.Context, dir string) (map[string]*goldref.Table, error) {
				return deltaGold(ctx, filepath.Join(dir, "lake"))
			}},
		{name: "DuckDB reference.sql (gold from CSV, Parquet)",
			cmd: func(landing, dir string) []string {
				return []string{self, "reference", "-sql", refSQL, "-landing", landing, "-out", filepath.Join(dir, "out"), "-layers=" + strconv.FormatBool(c.refLayers)}
			},
			gold: func(ctx context.Context, dir string) (map[string]*goldref.Table, error) {
				return parquetGold(ctx, filepath.Join(dir, "out", "gold"))
			}},
		{name: "polars + deltalake peer (3 layers Delta)",
			cmd: func(landing, dir string) []string {
				return []string{c.python, c.peer, landing, filepath.Join(dir, "lake")}
			},
			gold: func(ctx context.Context, dir string) (map[string]*goldref.Table, error) {
				return deltaGold(ctx, filepath.Join(dir, "lake"))
			}},
	}

	type row struct {
		label string
		cells []string
	}
	var lines []string
	for _, scale := range c.scales {
		switch scale {
		case "sf1", "sf10", "sf30":
			orders, reps := c.sf1Orders, c.reps
			contenders := contenders
			switch scale {
			case "sf10":
				orders, reps = 1_000_000, 1
			case "sf30":
				// Past the peers' reach on a small machine: medallion
				// alone, under its default engine.memory_limit (2GB),
				// must finish by spilling, not be killed.
				orders, reps, contenders = 3_000_000, 1, contenders[:1]
			}
			landing := filepath.Join(c.work, scale, "landing")
			if err := generate(ctx, c.bin, landing, orders, c.seed); err != nil {
				return err
			}
			res := make([][]measure, len(contenders))
			for r := range reps {
				var want map[string]*goldref.Table
				for i, k := range contenders {
					dir := filepath.Join(c.work, scale, fmt.Sprintf("c%d-r%d", i, r))
					if err := fstree.Link(landing, filepath.Join(dir, "landing")); err != nil {
						return err
					}
					m, err := timed(ctx, dir, k.cmd(filepath.Join(dir, "landing"), dir))
					if err != nil {
						return fmt.Errorf("%s %s: %w", scale, k.name, err)
					}
					fmt.Printf("%s rep %d %-46s %7.2fs wall %7.2fs CPU %6.0f MB\n", scale, r+1, k.name, m.wall.Seconds(), m.cpu.Seconds(), mb(m.maxRSS))
					res[i] = append(res[i], m)
					got, err := k.gold(ctx, dir)
					if err != nil {
						return fmt.Errorf("%s %s: gold: %w", scale, k.name, err)
					}
					if i == 0 {
						want = got
					} else if err := sameGold(want, got); err != nil {
						return fmt.Errorf("%s: %s's gold differs from medallion's: %w", scale, k.name, err)
					}
					if !c.keep {
						_ = os.RemoveAll(dir)
					}
				}
			}
			base := median(res[0]).wall
			lines = append(lines, fmt.Sprintf("\n%s: %d orders (seed %d), %d run(s) each, interleaved; gold of every contender equal to medallion's", strings.ToUpper(scale), orders, c.seed, reps))
			baseCPU := medianCPU(res[0])
			lines = append(lines, "| contender | median wall | × medallion | median CPU (user+sys) | × medallion | peak RSS (max) |", "|---|---|---|---|---|---|")
			for i, k := range contenders {
				m, cpu := median(res[i]), medianCPU(res[i])
				lines = append(lines, fmt.Sprintf("| %s | %.2f s | %.2f | %.2f s | %.2f | %.2f GB |", k.name, m.wall.Seconds(), m.wall.Seconds()/base.Seconds(),
					cpu.Seconds(), cpu.Seconds()/baseCPU.Seconds(), gb(maxRSS(res[i]))))
			}
		case "incr":
			inc, err := incremental(ctx, c, "incr", c.sf1Orders, c.reps, datagen.NewOrders)
			if err != nil {
				return err
			}
			lines = append(lines, inc...)
		case "incr10":
			// The same increment over a lake ten times larger: it should
			// take as long as over SF1 (flat), not grow with the lake.
			inc, err := incremental(ctx, c, "incr10", 1_000_000, 1, datagen.NewOrders)
			if err != nil {
				return err
			}
			lines = append(lines, inc...)
		case "same", "same10":
			// The increment in the month the lake is filling: its
			// partitions are rewritten, not added beside the others.
			orders, reps := c.sf1Orders, c.reps
			if scale == "same10" {
				orders, reps = 1_000_000, 1
			}
			inc, err := incremental(ctx, c, scale, orders, reps, datagen.NewOrdersInLastMonth)
			if err != nil {
				return err
			}
			lines = append(lines, inc...)
		}
	}
	fmt.Printf("\nload after: %s\n", loadavg())
	fmt.Println(strings.Join(lines, "\n"))
	return nil
}

// incremental loads a lake with SF1 once (untimed), then per repetition
// copies it, lands the increment and times `medallion run`, then times a
// run with nothing new; the full refresh it compares with is timed in the
// same repetition on the same landing (interleaved).
func incremental(ctx context.Context, c config, scale string, baseOrders, reps int, newOrders func(string, int, uint64) (*datagen.Increment, error)) ([]string, error) {
	base := filepath.Join(c.work, scale, "base")
	landing := filepath.Join(c.work, scale, "landing")
	if err := generate(ctx, c.bin, landing, baseOrders, c.seed); err != nil {
		return nil, err
	}
	if err := fstree.Link(landing, filepath.Join(base, "landing")); err != nil {
		return nil, err
	}
	if _, err := timed(ctx, base, []string{c.bin, "run", "-C", base}); err != nil {
		return nil, fmt.Errorf("%s: loading the base lake: %w", scale, err)
	}
	inc, err := newOrders(landing, c.incrOrders, uint64(c.seed))
	if err != nil {
		return nil, err
	}
	var full, incr, idle []measure
	for r := range reps {
		dir := filepath.Join(c.work, scale, fmt.Sprintf("full-r%d", r))
		if err := fstree.Link(landing, filepath.Join(dir, "landing")); err != nil {
			return nil, err
		}
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			return nil, err
		}
		m, err := timed(ctx, dir, []string{c.bin, "run", "-C", dir})
		if err != nil {
			return nil, fmt.Errorf("incr full refresh: %w", err)
		}
		full = append(full, m)
		fullDir := dir

		dir = filepath.Join(c.work, scale, fmt.Sprintf("incr-r%d", r))
		if err := fstree.Link(landing, filepath.Join(dir, "landing")); err != nil {
			return nil, err
		}
		if err := fstree.Copy(filepath.Join(base, "lake"), filepath.Join(dir, "lake")); err != nil {
			return nil, err
		}
		if err := fstree.Copy(filepath.Join(base, ".medallion"), filepath.Join(dir, ".medallion")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			return nil, err
		}
		m, err = timed(ctx, dir, []string{c.bin, "run", "-C", dir})
		if err != nil {
			return nil, fmt.Errorf("incr: %w", err)
		}
		incr = append(incr, m)
		m2, err := timed(ctx, dir, []string{c.bin, "run", "-C", dir})
		if err != nil {
			return nil, fmt.Errorf("incr nothing new: %w", err)
		}
		idle = append(idle, m2)
		fmt.Printf("%s rep %d: full refresh %.2fs (CPU %.2fs), increment %.2fs (CPU %.2fs), nothing new %.2fs (CPU %.2fs)\n", scale, r+1,
			full[r].wall.Seconds(), full[r].cpu.Seconds(), m.wall.Seconds(), m.cpu.Seconds(), m2.wall.Seconds(), m2.cpu.Seconds())
		// The incremental lake's gold must equal the full refresh's of
		// the same landing (this repetition's); checked on the first
		// repetition.
		if r == 0 {
			want, err := deltaGold(ctx, filepath.Join(fullDir, "lake"))
			if err != nil {
				return nil, err
			}
			got, err := deltaGold(ctx, filepath.Join(dir, "lake"))
			if err != nil {
				return nil, err
			}
			if err := sameGold(want, got); err != nil {
				return nil, fmt.Errorf("%s: the incremental lake's gold differs from a full refresh's: %w", scale, err)
			}
		}
		if !c.keep {
			_ = os.RemoveAll(fullDir)
		}
		if !c.keep {
			_ = os.RemoveAll(dir)
		}
	}
	f, i, n := median(full), median(incr), median(idle)
	where := "in a new month"
	if strings.HasPrefix(scale, "same") {
		where = "in the lake's newest month"
	}

	return []string{
		fmt.Sprintf("\n%s: %d new orders of existing customers (orders, order_items and payments files; %s) over a lake of %d orders, medallion, %d interleaved run(s); its gold equal to a full refresh's", strings.ToUpper(scale), c.incrOrders, where, baseOrders, reps),
		"| run | median wall | % of full refresh | median CPU | % of full refresh | peak RSS (max) |", "|---|---|---|---|---|---|",
		fmt.Sprintf("| full refresh (base + increment) | %.2f s | 100 %% | %.2f s | 100 %% | %.2f GB |", f.wall.Seconds(), medianCPU(full).Seconds(), gb(maxRSS(full))),
		fmt.Sprintf("| the increment | %.2f s | %.0f %% | %.2f s | %.0f %% | %.2f GB |", i.wall.Seconds(), 100*i.wall.Seconds()/f.wall.Seconds(),
			medianCPU(incr).Seconds(), 100*medianCPU(incr).Seconds()/medianCPU(full).Seconds(), gb(maxRSS(incr))),
		fmt.Sprintf("| nothing new | %.2f s | %.0f %% | %.2f s | %.0f %% | %.2f GB |", n.wall.Seconds(), 100*n.wall.Seconds()/f.wall.Seconds(),
			medianCPU(idle).Seconds(), 100*medianCPU(idle).Seconds()/medianCPU(full).Seconds(), gb(maxRSS(idle))),
	}, nil
}

func generate(ctx context.Context, bin, landing string, orders, seed int) error {
	cmd := exec.CommandContext(ctx, bin, "generate", "--out", landing, "--orders", strconv.Itoa(orders), "--seed", strconv.Itoa(seed))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("generate: %w\n%s", err, out)
	}
	return nil
}

// timed runs argv in dir and returns its wall time and peak RSS.
func timed(ctx context.Context, dir string, argv []string) (measure, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return measure{}, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(out.String(), 2000))
	}
	m := measure{wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func median(ms []measure) measure {
	s := slices.Clone(ms)
	sort.Slice(s, func(i, j int) bool { return s[i].wall < s[j].wall })
	return s[len(s)/2]
}

func medianCPU(ms []measure) time.Duration {
	s := slices.Clone(ms)
	sort.Slice(s, func(i, j int) bool { return s[i].cpu < s[j].cpu })
	return s[len(s)/2].cpu
}

func maxRSS(ms []measure) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.maxRSS)
	}
	return m
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
func gb(b int64) float64 { return float64(b) / (1 << 30) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return fmt.Sprintf("load average %s %s %s (1, 5, 15 min)", f[0], f[1], f[2])
}

// --- gold tables ---

// deltaGold reads the 18 contract gold tables of the Delta lake at root.
func deltaGold(ctx context.Context, root string) (map[string]*goldref.Table, error) {
	lake, err := pipeline.OpenLake(ctx, root, nil)
	if err != nil {
		return nil, err
	}
	eng, err := duckdb.Open(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	out := map[string]*goldref.Table{}
	for _, name := range goldref.Names {
		snap, err := lake.Snapshot(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if snap == nil {
			return nil, fmt.Errorf("%s: no such table under %s", name, root)
		}
		if err := eng.Bind(ctx, name, snap, nil); err != nil {
			return nil, err
		}
		res, err := eng.Query(ctx, "SELECT * FROM "+name)
		if err != nil {
			return nil, err
		}
		t := &goldref.Table{Name: name, Rows: res.Rows}
		for _, col := range res.Columns {
			t.Columns = append(t.Columns, col.Name)
		}
		out[name] = t
	}
	return out, nil
}

// parquetGold reads the reference's gold Parquet files (dir/<table>.parquet).
func parquetGold(ctx context.Context, dir string) (map[string]*goldref.Table, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "SET TimeZone='UTC'"); err != nil {
		return nil, err
	}
	out := map[string]*goldref.Table{}
	for _, name := range goldref.Names {
		file := filepath.Join(dir, strings.TrimPrefix(name, "gold.")+".parquet")
		rows, err := db.QueryContext(ctx, "SELECT * FROM read_parquet('"+sqlPath(file)+"')")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, err
		}
		t := &goldref.Table{Name: name, Columns: cols}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			t.Rows = append(t.Rows, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// sameGold compares every contract table of got with want's.
func sameGold(want, got map[string]*goldref.Table) error {
	var errs []error
	for _, name := range goldref.Names {
		if d := goldref.Diff(want[name], got[name]); d != "" {
			errs = append(errs, fmt.Errorf("%s:\n%s", name, d))
		}
	}
	return errors.Join(errs...)
}

// --- the DuckDB reference (a child process) ---

func referenceMain(args []string) error {
	fl := flag.NewFlagSet("reference", flag.ContinueOnError)
	sqlFile := fl.String("sql", referenceFile, "the reference script")
	landing := fl.String("landing", "", "the landing root")
	out := fl.String("out", "", "the output folder")
	layers := fl.Bool("layers", false, "also write bronze and silver as Parquet")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *landing == "" || *out == "" {
		return errors.New("-landing and -out are required")
	}
	tmpl, err := os.ReadFile(*sqlFile)
	if err != nil {
		return err
	}
	proj, err := ecommerce.Project(filepath.Dir(*out))
	if err != nil {
		return err
	}
	stmts, err := ecommerce.ReferenceStatements(*sqlFile, string(tmpl), proj, *landing, *out)
	if err != nil {
		return err
	}
	for _, d := range []string{"bronze", "silver", "gold"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			return err
		}
	}
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	ec := proj.Config.Engine
	settings := []string{"SET TimeZone='UTC'", "SET preserve_insertion_order=true"}
	if ec.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit='"+ec.MemoryLimit+"'")
	}
	if ec.TempDir != "" {
		tmp := proj.Resolve(ec.TempDir)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		settings = append(settings, "SET temp_directory='"+sqlPath(tmp)+"'")
	}
	if ec.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads=%d", ec.Threads))
	}
	for _, s := range append(settings, stmts...) {
		if !*layers && writesLayer(s, *out) {
			continue
		}
		if _, err := conn.ExecContext(ctx, s); err != nil {
			first, _, _ := strings.Cut(s, "\n")
			return fmt.Errorf("%s: %w\nin: %s", *sqlFile, err, first)
		}
	}
	return nil
}

// writesLayer reports whether s is a COPY of a bronze or silver table.
func writesLayer(s, out string) bool {
	if !strings.HasPrefix(s, "COPY ") {
		return false
	}
	o := sqlPath(out)
	return strings.Contains(s, "'"+o+"/bronze/") || strings.Contains(s, "'"+o+"/silver/")
}

func sqlPath(p string) string { return strings.ReplaceAll(filepath.ToSlash(p), "'", "''") }
