package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/web"
)

func (a *app) dashboardCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Work with the project's dashboards (export a static snapshot)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.dashboardExportCmd())
	return cmd
}

// exportOptions configure `medallion dashboard export`.
type exportOptions struct {
	Out       string
	Dashboard string
	Width     int
	Height    int
	Budget    time.Duration
	Chromium  string
}

func (a *app) dashboardExportCmd() *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export --out DIR [--dashboard NAME]",
		Short: "Write a static snapshot of the dashboards: PNG screenshots and an index.html with every panel's data",
		Long: `export serves the project in-process on a free loopback port (no stream:
the lake is read as it is), takes a screenshot of each dashboard page and of
the pipeline page with headless Chromium, and writes into --out:

  <dashboard>.png   the dashboard page (one per dashboard, or --dashboard)
  pipeline.png      the pipeline page
  index.html        a self-contained page with the images, the dashboard
                    titles, the time of the snapshot and every panel's data
                    as HTML tables

It needs Chromium (Debian: apt-get install chromium); set CHROMIUM to use
another Chromium or Chrome binary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return errors.New("--out DIR is required")
			}
			proj, err := a.project()
			if err != nil {
				return err
			}
			return a.exportDashboards(cmd.Context(), proj, o)
		},
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "directory to write the snapshot into (created if missing)")
	cmd.Flags().StringVar(&o.Dashboard, "dashboard", "", "export only this dashboard (default: every dashboard)")
	cmd.Flags().IntVar(&o.Width, "width", 1360, "screenshot width in pixels")
	cmd.Flags().IntVar(&o.Height, "height", 1800, "screenshot height in pixels")
	cmd.Flags().DurationVar(&o.Budget, "render-time", 8*time.Second, "virtual time a page gets to load and render before its screenshot")
	return cmd
}

// findChromium returns the browser to drive: $CHROMIUM, or chromium /
// chromium-browser on PATH, or /usr/bin/chromium.
func findChromium() (string, error) {
	if c := os.Getenv("CHROMIUM"); c != "" {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("CHROMIUM=%s is not an executable; install Debian's chromium: apt-get install chromium", c)
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (dashboard export takes its screenshots with headless Chromium): install Debian's chromium: apt-get install chromium (or set CHROMIUM to a Chromium/Chrome binary)")
}

var fileNameRE = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// exportPanel is a panel of GET /api/dashboards/{name}.
type exportPanel struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Type    string `json:"type"`
	Unit    string `json:"unit"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows      [][]any `json:"rows"`
	Truncated bool    `json:"truncated"`
	Error     string  `json:"error"`
}

// exportDashboard is GET /api/dashboards/{name}, plus the screenshot.
type exportDashboard struct {
	Name        string           `json:"name"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	AsOf        *time.Time       `json:"as_of"`
	Tables      map[string]int64 `json:"tables"`
	Panels      []exportPanel    `json:"panels"`
	Image       string           `json:"-"`
}

func (a *app) exportDashboards(ctx context.Context, proj *pipeline.Project, o exportOptions) error {
	chromium := o.Chromium
	if chromium == "" {
		var err error
		if chromium, err = findChromium(); err != nil {
			return err
		}
	}
	if o.Width <= 0 || o.Height <= 0 {
		return fmt.Errorf("--width and --height must be positive, got %dx%d", o.Width, o.Height)
	}
	if o.Budget <= 0 {
		o.Budget = 8 * time.Second
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The server, in-process on a free loopback port, without the stream.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dashboard export: listen: %w", err)
	}
	srv, err := web.New(proj, web.Options{Addr: ln.Addr().String(), Log: func(s string) { fmt.Fprintln(a.stderr, s) }})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv.SnapshotHandler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	snapshotAt := time.Now()
	var list []pipeline.Dashboard
	if err := getJSON(ctx, base+"/api/dashboards", &list); err != nil {
		return err
	}
	if o.Dashboard != "" {
		var names []string
		var keep []pipeline.Dashboard
		for _, d := range list {
			names = append(names, d.Name)
			if d.Name == o.Dashboard {
				keep = append(keep, d)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("no dashboard named %q (the project has: %s)", o.Dashboard, strings.Join(names, ", "))
		}
		list = keep
	}
	profile, err := os.MkdirTemp("", "medallion-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)

	var dashboards []exportDashboard
	for _, d := range list {
		var data exportDashboard
		if err := getJSON(ctx, base+"/api/dashboards/"+url.PathEscape(d.Name), &data); err != nil {
			return err
		}
		data.Image = fileNameRE.ReplaceAllString(d.Name, "_") + ".png"
		if data.Image == "pipeline.png" {
			data.Image = "dashboard-pipeline.png"
		}
		if err := screenshot(ctx, chromium, profile, o, base+"/#/dashboard/"+url.PathEscape(d.Name), filepath.Join(o.Out, data.Image)); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote %s\n", filepath.Join(o.Out, data.Image))
		dashboards = append(dashboards, data)
	}
	if err := screenshot(ctx, chromium, profile, o, base+"/#/pipeline", filepath.Join(o.Out, "pipeline.png")); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s\n", filepath.Join(o.Out, "pipeline.png"))

	var buf bytes.Buffer
	err = exportTmpl.Execute(&buf, map[string]any{
		"Project":    proj.Config.Name,
		"At":         snapshotAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		"Dashboards": dashboards,
		"Pipeline":   "pipeline.png",
	})
	if err != nil {
		return fmt.Errorf("dashboard export: index.html: %w", err)
	}
	index := filepath.Join(o.Out, "index.html")
	if err := os.WriteFile(index, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s\n", index)
	return nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers as the API wrote them
	return dec.Decode(v)
}

// screenshot loads url in headless Chromium and writes a PNG of the
// viewport to file.
func screenshot(ctx context.Context, chromium, profile string, o exportOptions, u, file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	os.Remove(abs)
	ctx, cancel := context.WithTimeout(ctx, o.Budget+90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
		"--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, "--hide-scrollbars",
		fmt.Sprintf("--window-size=%d,%d", o.Width, o.Height),
		fmt.Sprintf("--virtual-time-budget=%d", o.Budget.Milliseconds()),
		"--screenshot="+abs, u)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("chromium: screenshot of %s timed out", u)
	}
	if st, serr := os.Stat(abs); serr != nil || st.Size() == 0 {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("chromium wrote no screenshot of %s (%v): %s", u, err, msg)
	}
	return nil
}

var exportTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"cell": func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case json.Number:
			return x.String()
		case bool:
			return fmt.Sprint(x)
		}
		b, _ := json.Marshal(v)
		return string(b)
	},
	"isNum": func(v any) bool { _, ok := v.(json.Number); return ok },
	"time": func(t *time.Time) string {
		if t == nil {
			return "no data yet"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Project}} dashboards — snapshot of {{.At}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 16px 24px; color: #1d2330; }
h1 { margin: 0 0 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
.muted { color: #667; } img { max-width: 100%; border: 1px solid #dde; }
table { border-collapse: collapse; margin: 4px 0 16px; } th, td { border: 1px solid #dde; padding: 2px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f5f9; }
.error { color: #c93434; } section.panel { display: inline-block; vertical-align: top; margin-right: 24px; }
</style>
</head>
<body>
<h1>{{.Project}}: dashboards</h1>
<p class="muted">Snapshot taken {{.At}} by <code>medallion dashboard export</code>.</p>
{{range .Dashboards}}
<h2 id="{{.Name}}">{{.Title}}</h2>
{{with .Description}}<p class="muted">{{.}}</p>{{end}}
<p class="muted">Data as of {{time .AsOf}}{{if .Tables}} — tables: {{range $t, $v := .Tables}}{{$t}} v{{$v}} {{end}}{{end}}</p>
<p><img src="{{.Image}}" alt="{{.Title}} dashboard"></p>
{{range .Panels}}
<section class="panel" id="{{.ID}}">
<h3>{{.Title}}{{with .Unit}} ({{.}}){{end}}</h3>
{{if .Error}}<p class="error">{{.Error}}</p>{{else if not .Rows}}<p class="muted">No rows.</p>{{else}}
<table>
<thead><tr>{{range .Columns}}<th>{{.Name}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{if isNum .}} class="num"{{end}}>{{cell .}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{if .Truncated}}<p class="muted">(truncated)</p>{{end}}{{end}}
</section>
{{end}}
{{else}}
<p class="muted">This project defines no dashboards.</p>
{{end}}
<h2 id="pipeline">Pipeline</h2>
<p><img src="{{.Pipeline}}" alt="pipeline"></p>
</body>
</html>
`))
