package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadDashboardsBuiltIn(t *testing.T) {
	ds, err := LoadDashboards(os.DirFS(filepath.Join("ecommerce", "project")))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Name != "ecommerce" {
		t.Fatalf("dashboards = %+v", ds)
	}
	types := map[string]int{}
	for _, p := range ds[0].Panels {
		types[p.Type]++
		if len(p.Tables) == 0 {
			t.Errorf("panel %s reads no table", p.ID)
		}
	}
	if types[PanelKPI] != 4 || types[PanelLine] < 2 || types[PanelBar] < 2 || types[PanelPie] < 1 || types[PanelTable] < 2 {
		t.Errorf("panel types = %v", types)
	}
	aov := ds[0].Panels[5]
	if aov.ID != "aov_daily" || len(aov.Y) != 2 {
		t.Errorf("multi-series y: %+v", aov)
	}
	// Every tile and the daily charts follow both filters; what cannot
	// follow the state is marked so.
	follows := map[string]string{}
	for _, p := range ds[0].Panels {
		follows[p.ID] = strings.Join(p.Follows, ",")
	}
	for _, id := range []string{"revenue", "orders", "aov", "cancellation_rate", "daily_revenue", "aov_daily", "revenue_by_state"} {
		if follows[id] != "date_range,state" {
			t.Errorf("panel %s follows %q, want date_range,state", id, follows[id])
		}
	}
	if follows["customer_segments"] != "date_range" || follows["payment_mix"] != "" {
		t.Errorf("customer_segments follows %q, payment_mix %q; want date_range and nothing", follows["customer_segments"], follows["payment_mix"])
	}
	sql := ds[0].Panels[7].Substitute(map[string]string{"from": "2017-01-01", "to": "2017-12-31", "state": "SP"})
	if strings.Contains(sql, "${") || !strings.Contains(sql, "'SP'") || !strings.Contains(sql, "DATE '2017-12-31'") {
		t.Errorf("substituted: %s", sql)
	}
}

func TestLoadDashboardsErrors(t *testing.T) {
	const good = "name: d\nfilters: {date_range: {table: gold.t, column: date}}\npanels:\n"
	for _, tc := range []struct{ yaml, want string }{
		{"name: d\npanels: [{id: a, type: kpi, y: v, sql: SELECT 1 AS v, colour: red}]\n", `dashboards/d.yaml: `},
		{"name: d\npanels: [{id: a, type: kpi, y: v, sql: SELECT 1 AS v, colour: red}]\n", `colour`},
		{good + "  - {id: a, type: donut, x: k, y: v, sql: SELECT 1}\n", `panels[0] (id a).type: "donut" is not one of kpi, line, bar, pie, table`},
		{good + "  - {id: a, type: bar, y: v, sql: SELECT 1}\n", `panels[0] (id a).x: a bar panel needs x`},
		{good + "  - {id: a, type: kpi, y: v, sql: \"SELECT '${state}'\"}\n", `panels[0] (id a).sql: uses ${state} but the dashboard has no filters.state`},
		{good + "  - {id: a, type: kpi, y: v, sql: \"SELECT '${evil}'\"}\n", `unknown placeholder ${evil}`},
		{good + "  - {id: a, type: table, sql: SELECT 1}\n  - {id: a, type: table, sql: SELECT 2}\n", `panels[1] (id a).id: duplicate panel id "a"`},
		{good + "  - {id: a, type: line, x: k, y: [v, w], sql: \"\"}\n", `panels[0] (id a).sql: missing`},
		{"name: d\nfilters: {state: {table: orders, column: s}}\npanels: [{id: a, type: table, sql: SELECT 1}]\n", `filters.state.table: "orders" is not a layer.table name`},
		{"name: d e\npanels: [{id: a, type: table, sql: SELECT 1}]\n", `name: "d e" is not a valid dashboard name`},
		{"name: d\npanels: []\n", `panels: a dashboard needs at least one panel`},
	} {
		_, err := LoadDashboards(fstest.MapFS{"dashboards/d.yaml": {Data: []byte(tc.yaml)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n  error %v\n  want it to contain %q", tc.yaml, err, tc.want)
		}
	}
	_, err := LoadDashboards(fstest.MapFS{
		"dashboards/a.yaml": {Data: []byte("name: x\npanels: [{id: a, type: table, sql: SELECT 1}]\n")},
		"dashboards/b.yml":  {Data: []byte("name: x\npanels: [{id: a, type: table, sql: SELECT 1}]\n")},
	})
	if err == nil || !strings.Contains(err.Error(), `dashboards/b.yml: name: dashboard "x" is already defined in dashboards/a.yaml`) {
		t.Errorf("duplicate name: %v", err)
	}
	ds, err := LoadDashboards(fstest.MapFS{"models/x.sql": {Data: []byte("SELECT 1")}})
	if err != nil || len(ds) != 0 {
		t.Errorf("no dashboards folder: %v %v", ds, err)
	}
}
