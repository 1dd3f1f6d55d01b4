package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/web"
)

func (a *app) demoCmd() *cobra.Command {
	var (
		opts            web.Options
		orders          int
		ordersPerSecond float64
		eventsPerSecond float64
		statusLine      string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate data, run the pipeline and serve it, with orders and clickstream events streaming in",
		Long: `demo makes a fresh directory useful in one command: it replays --orders
Olist-format orders into ./landing (a file at a time, at --orders-per-second)
with clickstream events at --events-per-second, keeps every table fresh with
a continuous stream, and serves the API and live commit events.

On a terminal one status line updates in place: replay progress, the last
commit, freshness and the headline KPIs (--status-line on|off forces it);
otherwise it prints a line at every tenth of the replay. Problems are
printed as they happen. Ctrl-C stops it and prints the headline KPIs; run
it again with the same --orders to continue the replay where it stopped
(the files already in ./landing are kept, not landed again).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var tty bool
			switch statusLine {
			case "auto":
				f, ok := a.stdout.(*os.File)
				tty = ok && term.IsTerminal(int(f.Fd()))
			case "on":
				tty = true
			case "off":
			default:
				return fmt.Errorf("demo: unknown --status-line %q (auto, on or off)", statusLine)
			}
			proj, err := a.project()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			st := &demoStatus{w: a.stdout, tty: tty, start: time.Now()}
			landing := filepath.Clean(proj.Resolve(proj.Config.Landing))
			replayDone := make(chan error, 1)
			var launched atomic.Bool
			startReplay := func() {
				launched.Store(true)
				go func() {
					_, err := datagen.Stream(ctx, datagen.StreamOptions{
						Out: landing, Orders: orders, Seed: 1,
						OrdersPerSecond: ordersPerSecond, OrdersPerFile: max(1, int(ordersPerSecond)),
						EventsPerSecond: eventsPerSecond, EventFiles: eventsPerSecond > 0,
						Progress: st.replayed,
					})
					if err != nil && !errors.Is(err, context.Canceled) {
						cancel() // the demo cannot go on without its data
					}
					replayDone <- err
				}()
			}
			kpis := &demoKPIs{proj: proj, st: st}
			hooks := serveHooks{
				ready: func(url string) {
					st.println(fmt.Sprintf("medallion demo: open %s — data lands in %s and flows into %s (Ctrl-C stops)", url,
						landing, filepath.Clean(proj.Resolve(proj.Config.Lake))))
					startReplay()
					go st.tick(ctx)
				},
				log: func(s string) {
					if ctx.Err() != nil || !demoWorthPrinting(s) {
						return
					}
					st.println(s)
				},
				onBatch: func(rep *pipeline.Report) {
					if st.committed(rep) {
						kpis.refresh(ctx)
					}
				},
				building: st.replaying,
			}
			err = a.serve(ctx, proj, opts, false, time.Second, hooks)
			stopped := cmd.Context().Err() != nil
			cancel()
			var rerr error
			if launched.Load() {
				rerr = <-replayDone
			}
			if rerr != nil && !errors.Is(rerr, context.Canceled) {
				err = errors.Join(err, rerr)
			}
			st.finish(stopped)
			if err == nil {
				// The KPIs as they stand, from what has committed.
				qctx, qcancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 30*time.Second)
				defer qcancel()
				a.printFinalKPIs(qctx, proj)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&opts.Token, "token", "", "access token, required when --addr is not a loopback address")
	cmd.Flags().IntVar(&orders, "orders", 20000, "orders to replay")
	cmd.Flags().Float64Var(&ordersPerSecond, "orders-per-second", 50, "replay pace")
	cmd.Flags().Float64Var(&eventsPerSecond, "events-per-second", 20, "clickstream events per second (0 = none)")
	cmd.Flags().StringVar(&statusLine, "status-line", "auto", "one status line updated in place: auto (on a terminal), on or off")
	return cmd
}

// tableLine is a run's per-table log line ("gold.x   failed   …"); a
// failure is reported again, whole, by the batch's line.
var tableLine = regexp.MustCompile(`^[a-z_][a-z0-9_]*\.[A-Za-z0-9_]+ +(ok|up-to-date|waiting|failed|skipped|view)\b`)

// demoWorthPrinting keeps the stream's problems and warnings and drops its
// routine lines (tables updated, waiting for their inputs, compactions) and
// the per-table lines of a failed batch (its own line says it all).
func demoWorthPrinting(s string) bool {
	if tableLine.MatchString(s) {
		return false
	}
	l := strings.ToLower(s)
	return strings.Contains(l, "failed") || strings.Contains(l, "warning") || strings.Contains(l, "error") ||
		strings.Contains(l, "unavailable") || strings.Contains(l, "set aside")
}

// printFinalKPIs prints the project's headline KPIs, if its tables exist.
func (a *app) printFinalKPIs(ctx context.Context, proj *pipeline.Project) {
	if proj.Config.Summary == "" {
		return
	}
	s, err := pipeline.OpenSession(ctx, proj)
	if err != nil {
		return
	}
	defer s.Close()
	res, err := s.Query(ctx, proj.Config.Summary)
	if err != nil || len(res.Rows) == 0 {
		fmt.Fprintln(a.stdout, "headline KPIs: none yet (the gold tables are not built)")
		return
	}
	fmt.Fprintln(a.stdout, "headline KPIs:")
	_ = writeResult(a.stdout, res, "table")
}

// demoStatus is what the demo shows: on a terminal one line rewritten in
// place, otherwise a line at every tenth of the replay.
type demoStatus struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	start time.Time

	replayStarted  bool // the first progress report came
	landed, total  int
	replayDone     bool
	lastTable      string
	lastVersion    int64
	lastCommit     time.Time
	freshness      time.Duration
	kpis           string
	lastTenth      int
	statusOnScreen bool
}

// replaying reports whether the replay is still landing orders (or has
// not started): the tables are being built.
func (s *demoStatus) replaying() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.replayDone
}

// replayed is datagen's progress callback.
func (s *demoStatus) replayed(landed, total int, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.landed, s.total = landed, total
	if !s.replayStarted {
		s.replayStarted = true
		s.lastTenth = tenth(landed, total)
		switch {
		case landed > 0 && landed == total:
			s.replayDone = true
			s.printLocked(fmt.Sprintf("replay: all %s orders landed in an earlier run (landing/ is kept as it is)", group(total)))
			return
		case landed > 0:
			s.printLocked(fmt.Sprintf("replay: resuming after the %s orders already in landing/ (of %s)", group(landed), group(total)))
			return
		}
	}
	if done && !s.replayDone {
		s.replayDone = true
		s.printLocked(fmt.Sprintf("replay finished: all %s orders have landed; the stream keeps the tables fresh (Ctrl-C stops)", group(total)))
		return
	}
	if t := tenth(landed, total); !s.tty && t > s.lastTenth {
		s.lastTenth = t
		s.printLocked(s.lineLocked(time.Now()))
		return
	}
	s.renderLocked()
}

func tenth(landed, total int) int {
	if total <= 0 {
		return 0
	}
	return landed * 10 / total
}

// committed records a batch; it reports whether a gold table changed.
func (s *demoStatus) committed(rep *pipeline.Report) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	gold := false
	var arrival time.Time
	for _, t := range rep.Tables {
		if t.Kind == "source" && t.RowsIn > 0 && !t.Arrival.IsZero() && (arrival.IsZero() || t.Arrival.Before(arrival)) {
			arrival = t.Arrival
		}
		if t.Status != pipeline.StatusOK || t.Kind == "view" {
			continue
		}
		s.lastTable, s.lastVersion, s.lastCommit = t.Table, t.Version, rep.Finished
		gold = gold || strings.HasPrefix(t.Table, "gold.")
	}
	if !arrival.IsZero() && rep.Changed() {
		s.freshness = rep.Finished.Sub(arrival)
	}
	s.renderLocked()
	return gold
}

func (s *demoStatus) setKPIs(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kpis = k
	s.renderLocked()
}

// tick refreshes the terminal line every second (its "ago" figures).
func (s *demoStatus) tick(ctx context.Context) {
	if !s.tty {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.renderLocked()
			s.mu.Unlock()
		}
	}
}

// println prints a line above the status line.
func (s *demoStatus) println(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.printLocked(line)
}

func (s *demoStatus) printLocked(line string) {
	if s.tty && s.statusOnScreen {
		fmt.Fprint(s.w, "\r\033[K")
		s.statusOnScreen = false
	}
	fmt.Fprintln(s.w, line)
	s.renderLocked()
}

func (s *demoStatus) renderLocked() {
	if !s.tty {
		return
	}
	line := s.lineLocked(time.Now())
	if width := termWidth(s.w); width > 0 && len([]rune(line)) >= width {
		line = string([]rune(line)[:width-2]) + "…"
	}
	fmt.Fprint(s.w, "\r\033[K"+line)
	s.statusOnScreen = true
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			return width
		}
	}
	return 0
}

// lineLocked is the status: replay progress, last commit, freshness, KPIs.
func (s *demoStatus) lineLocked(now time.Time) string {
	var parts []string
	switch {
	case !s.replayStarted:
		parts = append(parts, "replay: generating the data…")
	case s.replayDone:
		parts = append(parts, fmt.Sprintf("replay: done, %s orders", group(s.total)))
	default:
		pct := 0.0
		if s.total > 0 {
			pct = 100 * float64(s.landed) / float64(s.total)
		}
		parts = append(parts, fmt.Sprintf("replay: %s/%s orders (%.0f%%)", group(s.landed), group(s.total), math.Floor(pct)))
	}
	if s.lastCommit.IsZero() {
		parts = append(parts, "no commit yet")
	} else {
		parts = append(parts, fmt.Sprintf("last commit %s v%d %s ago", s.lastTable, s.lastVersion, max(0, now.Sub(s.lastCommit)).Round(time.Second)))
	}
	if s.freshness > 0 {
		parts = append(parts, "freshness "+s.freshness.Round(100*time.Millisecond).String())
	}
	if s.kpis != "" {
		parts = append(parts, s.kpis)
	}
	return strings.Join(parts, " · ")
}

// finish ends the status line and says how the demo ended.
func (s *demoStatus) finish(stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty && s.statusOnScreen {
		fmt.Fprint(s.w, "\r\033[K")
		s.statusOnScreen = false
	}
	s.tty = false // nothing more in place
	if !stopped {
		return
	}
	switch {
	case !s.replayStarted:
		fmt.Fprintln(s.w, "stopped before the replay started")
	case s.replayDone:
		fmt.Fprintf(s.w, "stopped: all %s orders had landed\n", group(s.total))
	default:
		fmt.Fprintf(s.w, "stopped: %s of %s orders landed; run the demo again to continue the replay\n", group(s.landed), group(s.total))
	}
}

// demoKPIs queries the headline KPIs after gold commits, one query at a
// time (a commit while one runs asks for one more afterwards).
type demoKPIs struct {
	proj    *pipeline.Project
	st      *demoStatus
	mu      sync.Mutex
	running bool
	again   bool
}

func (k *demoKPIs) refresh(ctx context.Context) {
	if k.proj.Config.Summary == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.running {
		k.again = true
		return
	}
	k.running = true
	go func() {
		for {
			if line, err := k.query(ctx); err == nil && line != "" {
				k.st.setKPIs(line)
			}
			k.mu.Lock()
			if !k.again || ctx.Err() != nil {
				k.running = false
				k.mu.Unlock()
				return
			}
			k.again = false
			k.mu.Unlock()
		}
	}()
}

// query runs the project's summary and renders its first row as
// "name value · name value".
func (k *demoKPIs) query(ctx context.Context) (string, error) {
	s, err := pipeline.OpenSession(ctx, k.proj)
	if err != nil {
		return "", err
	}
	defer s.Close()
	res, err := s.Query(ctx, k.proj.Config.Summary)
	if err != nil || len(res.Rows) == 0 {
		return "", err
	}
	var parts []string
	for i, c := range res.Columns {
		if name, ok := strings.CutSuffix(c.Name, "_pct"); ok {
			parts = append(parts, name+" "+kpiValue(res.Rows[0][i])+"%")
			continue
		}
		parts = append(parts, c.Name+" "+kpiValue(res.Rows[0][i]))
	}
	return strings.Join(parts, " · "), nil
}

// kpiValue renders a KPI: integers and two-decimal numbers with grouped
// digits.
func kpiValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case float64:
		s := strconv.FormatFloat(math.Abs(x), 'f', 2, 64)
		whole, frac, _ := strings.Cut(s, ".")
		sign := ""
		if x < 0 {
			sign = "-"
		}
		return sign + groupDigits(whole) + "." + frac
	case float32:
		return kpiValue(float64(x))
	case int64:
		return group(int(x))
	case int32:
		return group(int(x))
	case int:
		return group(x)
	}
	return fmt.Sprint(v)
}

// group writes n with thousands separators.
func group(n int) string {
	if n < 0 {
		return "-" + groupDigits(strconv.Itoa(-n))
	}
	return groupDigits(strconv.Itoa(n))
}

func groupDigits(d string) string {
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
