package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

const shopDashboard = `
name: shop
title: Shop
filters:
  date_range: {table: silver.items, column: sku}
  state: {table: silver.items, column: sku}
panels:
  - {id: stock, type: kpi, y: qty, sql: "SELECT qty FROM gold.stock WHERE '${from}' <= '${to}'"}
  - {id: by_sku, type: bar, x: sku, y: qty, sql: "SELECT sku, qty FROM silver.items WHERE '${state}' = 'all' OR upper(sku) = '${state}' ORDER BY sku"}
  - {id: missing, type: table, sql: "SELECT * FROM gold.nothing_here"}
  - {id: sneaky, type: table, sql: "SELECT * FROM read_csv('/etc/passwd')"}
`

func TestDashboardsAPI(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var list []pipeline.Dashboard
	code, body := do(t, h, "GET", "/api/dashboards", "", &list)
	wantStatus(t, code, body, 200)
	if len(list) != 0 {
		t.Fatalf("shop project has no dashboards: %s", body)
	}

	d, err := pipeline.ParseDashboard("dashboards/shop.yaml", []byte(shopDashboard))
	if err != nil {
		t.Fatal(err)
	}
	h = newServer(t, proj, Options{Dashboards: []pipeline.Dashboard{d}}).Handler()
	code, body = do(t, h, "GET", "/api/dashboards", "", &list)
	wantStatus(t, code, body, 200)
	if len(list) != 1 || len(list[0].Panels) != 4 || strings.Contains(body, "SELECT") {
		t.Fatalf("list (without SQL): %s", body)
	}
	var data dashboardData
	code, body = do(t, h, "GET", "/api/dashboards/shop", "", &data)
	wantStatus(t, code, body, 200)
	if data.AsOf == nil || data.Filters.State != "all" || len(data.Panels) != 4 {
		t.Fatalf("data: %s", body)
	}
	p := data.Panels
	if p[0].Error != "" || len(p[0].Rows) != 1 || p[1].Error != "" || len(p[1].Rows) < 2 {
		t.Fatalf("panels: %s", body)
	}
	if !strings.Contains(p[2].Pending, "no data yet") || p[2].Error != "" || !strings.Contains(p[3].Error, "disabled by configuration") || strings.Contains(p[3].Error, "root:") {
		t.Fatalf("missing table / forbidden SQL: %q %q %q", p[2].Pending, p[2].Error, p[3].Error)
	}
	all := len(p[1].Rows)
	code, body = do(t, h, "GET", "/api/dashboards/shop?state=AB&from=2017-01-01&to=2017-12-31", "", &data)
	wantStatus(t, code, body, 200)
	if len(data.Panels[1].Rows) >= all || data.Filters.From != "2017-01-01" || data.Filters.State != "AB" {
		t.Fatalf("state filter: %s", body)
	}
	for _, c := range []struct{ q, want string }{
		{"from=2017-13-01", "from must be a date"},
		{"to=2017-01-01'%20OR%201=1", "to must be a date"},
		{"from=2018-01-01&to=2017-01-01", "is after"},
		{"state=sp", "state must be two capital letters"},
		{"state=SP'", "state must be two capital letters"},
	} {
		code, body = do(t, h, "GET", "/api/dashboards/shop?"+c.q, "", nil)
		wantStatus(t, code, body, 400)
		wantError(t, body, c.want)
	}
	code, body = do(t, h, "GET", "/api/dashboards/nope", "", nil)
	wantStatus(t, code, body, 404)
	wantError(t, body, "unknown dashboard")
}

func TestDashboardsFromProjectDir(t *testing.T) {
	// A project directory with dashboards/: they are read on each request,
	// and a broken one is reported with its file and field.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755)
	os.WriteFile(filepath.Join(dir, "dashboards", "a.yaml"), []byte("name: a\npanels: [{id: x, type: table, sql: SELECT 1}]\n"), 0o644)
	proj := &pipeline.Project{Dir: dir, Config: pipeline.Config{Name: "p", Lake: "lake"}}
	h := newServer(t, proj, Options{}).Handler()
	var list []pipeline.Dashboard
	code, body := do(t, h, "GET", "/api/dashboards", "", &list)
	wantStatus(t, code, body, 200)
	if len(list) != 1 || list[0].File != "dashboards/a.yaml" {
		t.Fatalf("list: %s", body)
	}
	os.WriteFile(filepath.Join(dir, "dashboards", "b.yaml"), []byte("name: b\npanels: [{id: x, type: gauge, sql: SELECT 1}]\n"), 0o644)
	code, body = do(t, h, "GET", "/api/dashboards", "", nil)
	wantStatus(t, code, body, 500)
	wantError(t, body, `dashboards/b.yaml: panels[0] (id x).type: "gauge" is not one of`)
}

func TestBuiltInDashboardAndUI(t *testing.T) {
	// The built-in project (a directory without medallion.yaml) gets the
	// built-in dashboard; before a run every panel says there is no data.
	proj, err := ecommerce.Project(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, proj, Options{Addr: "0.0.0.0:0", Token: "tok"}).Handler()
	auth := []string{"Authorization", "Bearer tok"}
	var data dashboardData
	code, body := do(t, h, "GET", "/api/dashboards/ecommerce", "", &data, auth...)
	wantStatus(t, code, body, 200)
	if data.Title != "E-commerce" || len(data.Panels) < 12 || data.AsOf != nil {
		t.Fatalf("built-in dashboard: %s", body)
	}
	for _, p := range data.Panels {
		if !strings.Contains(p.Pending, "no data yet") || p.Error != "" {
			t.Errorf("panel %s before any run: pending %q, error %q", p.ID, p.Pending, p.Error)
		}
	}
	// While a run is in progress the same panels say they are building.
	building := newServer(t, proj, Options{Building: func() bool { return true }}).Handler()
	code, body = do(t, building, "GET", "/api/dashboards/ecommerce", "", &data)
	wantStatus(t, code, body, 200)
	for _, p := range data.Panels {
		if !strings.HasPrefix(p.Pending, "building…") || p.Error != "" {
			t.Errorf("panel %s during the first run: pending %q, error %q", p.ID, p.Pending, p.Error)
		}
	}
	code, body = do(t, h, "GET", "/api/dashboards/ecommerce", "", nil)
	wantStatus(t, code, body, 401)

	// The static UI needs the token too: the page takes it as ?token=
	// and hands it back as a strict same-site cookie its assets carry.
	code, body = do(t, h, "GET", "/", "", nil)
	wantStatus(t, code, body, 401)
	r := httptest.NewRequest("GET", "/?token=tok", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body = w.Body.String()
	wantStatus(t, w.Code, body, 200)
	if !strings.Contains(body, `<script type="module" src="assets/app.js">`) {
		t.Fatalf("index: %s", body)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value != "tok" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("index with ?token= set cookies %v, want one HttpOnly SameSite=Strict token cookie", cookies)
	}
	for _, a := range []string{"/assets/app.js", "/assets/dashboard.js", "/assets/style.css", "/assets/vendor/echarts.min.js"} {
		code, body = do(t, h, "GET", a, "", nil)
		wantStatus(t, code, body[:min(len(body), 200)], 401)
		code, body = do(t, h, "GET", a, "", nil, "Cookie", tokenCookie+"=tok")
		wantStatus(t, code, body[:min(len(body), 200)], 200)
	}
	// The cookie opens only the static UI, never the API.
	code, body = do(t, h, "GET", "/api/dashboards/ecommerce", "", nil, "Cookie", tokenCookie+"=tok")
	wantStatus(t, code, body, 401)
	code, body = do(t, h, "GET", "/assets/nope.js", "", nil, auth...)
	wantStatus(t, code, body, 404)
	code, body = do(t, h, "POST", "/", "", nil, "Content-Type", "application/json")
	wantStatus(t, code, body, 401)
}

// TestDatesAreDays: a DATE value comes out of the API as "2017-11-06", a
// TIMESTAMP as an instant.
func TestDatesAreDays(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var res QueryResult
	code, body := do(t, h, "POST", "/api/query", `{"sql": "SELECT DATE '2017-11-06' AS d, TIMESTAMP '2017-11-06 10:30:00' AS ts"}`, &res)
	wantStatus(t, code, body, 200)
	if len(res.Rows) != 1 || res.Rows[0][0] != "2017-11-06" || res.Rows[0][1] != "2017-11-06T10:30:00Z" {
		t.Fatalf("DATE and TIMESTAMP: %s", body)
	}
}
