package ecommerce_test

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

const utcSecond = "'%Y-%m-%d %H:%M:%S'"

func fmtTS(col string) string {
	return "coalesce(strftime(" + col + " AT TIME ZONE 'UTC', " + utcSecond + "), 'NULL')"
}

// orderMilestones are the columns of an order's status timeline.
var orderMilestones = []struct{ status, column string }{
	{"purchased", "order_purchase_timestamp"},
	{"approved", "order_approved_at"},
	{"shipped", "order_delivered_carrier_date"},
	{"delivered", "order_delivered_customer_date"},
}

// generatedOrders reads the orders files Generate wrote: order_id →
// milestone timestamps (zero: none).
func generatedOrders(t *testing.T, dir string) map[string][4]time.Time {
	t.Helper()
	out := map[string][4]time.Time{}
	err := filepath.WalkDir(filepath.Join(dir, "orders"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			return err
		}
		h := rows[0]
		for _, r := range rows[1:] {
			var ts [4]time.Time
			for i, m := range orderMilestones {
				if v, err := time.Parse(time.DateTime, r[slices.Index(h, m.column)]); err == nil {
					ts[i] = v
				}
			}
			out[r[slices.Index(h, "order_id")]] = ts
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCustomersMoveAndOrdersAdvance replays the built-in project's CDC
// tables: orders land again and again as they advance (datagen
// AdvanceOrders at later and later times) while customers move (datagen
// MoveCustomers replaces customers.csv). After every run
// silver.order_status_history equals each order's milestones reached so
// far, silver.customers_history equals the SCD 2 history of the customer
// snapshots, and at the end gold.order_status_durations equals the medians
// computed here from the generated orders.
func TestCustomersMoveAndOrdersAdvance(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	landing := filepath.Join(dir, "landing")
	if _, err := datagen.Generate(ctx, src, datagen.Options{Orders: 400, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	// Every source but orders lands as generated.
	landAllBut(t, src, landing, "orders")
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	orders := generatedOrders(t, src)

	type version struct {
		id, zip, city, state string
		start                time.Time
		end                  *time.Time
	}
	var history []*version
	open := map[string]*version{}
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ats := []time.Time{
		datagen.DefaultStart.AddDate(0, 8, 0), datagen.DefaultStart.AddDate(0, 14, 0),
		datagen.DefaultStart.AddDate(0, 20, 0), datagen.DefaultStart.AddDate(5, 0, 0),
	}
	for step, at := range ats {
		now := clock.Add(time.Duration(step) * time.Hour)
		if step > 0 {
			moved, err := datagen.MoveCustomers(ctx, landing, 0.2, int64(step), now)
			if err != nil || moved == 0 {
				t.Fatalf("move customers: %d moved, %v", moved, err)
			}
		}
		if _, err := datagen.AdvanceOrders(ctx, src, landing, at, fmt.Sprintf("as_of_%d", step)); err != nil {
			t.Fatal(err)
		}
		if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Now: func() time.Time { return now }}); err != nil {
			t.Fatal(err)
		}

		// Orders: the milestones reached by at, each until the next.
		var want []string
		for id, ts := range orders {
			if ts[0].IsZero() || ts[0].After(at) {
				continue
			}
			type ev struct {
				i  int
				at time.Time
			}
			var evs []ev
			for i, v := range ts {
				if !v.IsZero() && !v.After(at) {
					evs = append(evs, ev{i, v})
				}
			}
			sort.Slice(evs, func(a, b int) bool {
				if !evs[a].at.Equal(evs[b].at) {
					return evs[a].at.Before(evs[b].at)
				}
				return evs[a].i < evs[b].i
			})
			for k, e := range evs {
				end := "NULL"
				if k+1 < len(evs) {
					end = evs[k+1].at.Format(time.DateTime)
				}
				want = append(want, fmt.Sprintf("%s|%s|%s|%s", id, orderMilestones[e.i].status, e.at.Format(time.DateTime), end))
			}
		}
		slices.Sort(want)
		got := rowsOf(t, proj, "SELECT order_id, order_status, "+fmtTS("__start_at")+", "+fmtTS("__end_at")+" FROM silver.order_status_history")
		if !slices.Equal(got, want) {
			t.Fatalf("step %d (orders as of %s): silver.order_status_history has %d rows, want %d; first differences:\n%s",
				step, at.Format(time.DateOnly), len(got), len(want), firstDiffs(got, want))
		}

		// Customers: diff the (cleaned) snapshot against the open versions.
		snap := rowsOf(t, proj, "SELECT customer_id, coalesce(customer_zip_code_prefix, 'NULL'), coalesce(customer_city, 'NULL'), coalesce(customer_state, 'NULL') FROM silver.customers")
		seen := map[string]bool{}
		for _, line := range snap {
			f := strings.Split(line, "|")
			id := f[0]
			seen[id] = true
			v := open[id]
			if v != nil && v.zip == f[1] && v.city == f[2] && v.state == f[3] {
				continue
			}
			if v != nil {
				v.end = &now
			}
			open[id] = &version{id: id, zip: f[1], city: f[2], state: f[3], start: now}
			history = append(history, open[id])
		}
		for id, v := range open {
			if !seen[id] {
				v.end = &now
				delete(open, id)
			}
		}
		var wantC []string
		for _, v := range history {
			end := "NULL"
			if v.end != nil {
				end = v.end.Format(time.DateTime)
			}
			wantC = append(wantC, fmt.Sprintf("%s|%s|%s|%s|%s|%s", v.id, v.zip, v.city, v.state, v.start.Format(time.DateTime), end))
		}
		slices.Sort(wantC)
		gotC := rowsOf(t, proj, "SELECT customer_id, coalesce(customer_zip_code_prefix, 'NULL'), coalesce(customer_city, 'NULL'), coalesce(customer_state, 'NULL'), "+
			fmtTS("__start_at")+", "+fmtTS("__end_at")+" FROM silver.customers_history")
		if !slices.Equal(gotC, wantC) {
			t.Fatalf("step %d: silver.customers_history has %d rows, want %d; first differences:\n%s", step, len(gotC), len(wantC), firstDiffs(gotC, wantC))
		}
	}
	if n := len(history) - len(open); n == 0 {
		t.Errorf("no customer moved: the test proves nothing")
	}

	// gold.order_status_durations: per purchase month, median hours (the
	// median in seconds, rounded to hundredths of an hour).
	type month struct{ toApproval, toCarrier, toDelivery []float64 }
	months := map[string]*month{}
	for _, ts := range orders {
		if ts[0].IsZero() {
			continue
		}
		key := ts[0].Format("2006-01") + "-01"
		m := months[key]
		if m == nil {
			m = &month{}
			months[key] = m
		}
		for i, list := range []*[]float64{&m.toApproval, &m.toCarrier, &m.toDelivery} {
			if !ts[i+1].IsZero() {
				*list = append(*list, ts[i+1].Sub(ts[0]).Seconds())
			}
		}
		months[key] = m
	}
	median := func(xs []float64) string {
		if len(xs) == 0 {
			return "NULL"
		}
		slices.Sort(xs)
		v := xs[len(xs)/2]
		if len(xs)%2 == 0 {
			v = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		return strconv.FormatFloat(math.Round(v/36)/100, 'f', 2, 64) // seconds to hundredths of an hour
	}
	var want []string
	for key, m := range months {
		n := 0
		for _, ts := range orders {
			if !ts[0].IsZero() && ts[0].Format("2006-01")+"-01" == key {
				n++
			}
		}
		want = append(want, fmt.Sprintf("%s|%d|%s|%s|%s", key, n, median(m.toApproval), median(m.toCarrier), median(m.toDelivery)))
	}
	slices.Sort(want)
	got := rowsOf(t, proj, `SELECT strftime(purchase_month, '%Y-%m-%d'), orders, coalesce(printf('%.2f', median_hours_to_approval), 'NULL'),
		coalesce(printf('%.2f', median_hours_to_carrier), 'NULL'), coalesce(printf('%.2f', median_hours_to_delivery), 'NULL') FROM gold.order_status_durations`)
	if !slices.Equal(got, want) {
		t.Errorf("gold.order_status_durations:\n%s", firstDiffs(got, want))
	}
}

// firstDiffs lists up to 10 lines only in got or only in want.
func firstDiffs(got, want []string) string {
	var out []string
	for _, g := range got {
		if !slices.Contains(want, g) && len(out) < 10 {
			out = append(out, "  got only:  "+g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) && len(out) < 20 {
			out = append(out, "  want only: "+w)
		}
	}
	return strings.Join(out, "\n")
}
