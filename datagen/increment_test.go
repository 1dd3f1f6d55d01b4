package datagen_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
)

// TestNewOrders lands an increment over a generated landing: its records
// count as reported, they reference the landing's customers, products and
// sellers, its orders fall in the month after the newest order_month
// folder (NewOrdersInLastMonth: in that month, in a file beside the
// month's own, which is left as it was), and the same seed gives the same
// bytes.
func TestNewOrders(t *testing.T) {
	dir, _ := generate(t, cleanOpts)
	newest := monthAfter(t, dir, 0)
	newestFiles, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(newest), "*.csv"))
	if err != nil || len(newestFiles) == 0 {
		t.Fatalf("no orders file in %s (%v)", newest, err)
	}
	for _, tc := range []struct {
		name   string
		newInc func(string, int, uint64) (*datagen.Increment, error)
		folder string
	}{
		{"NewOrders", datagen.NewOrders, monthAfter(t, dir, 1)},
		{"NewOrdersInLastMonth", datagen.NewOrdersInLastMonth, newest},
	} {
		t.Run(tc.name, func(t *testing.T) { checkNewOrders(t, dir, tc.newInc, tc.folder, newestFiles) })
	}
	if _, err := datagen.NewOrders(t.TempDir(), 5, 1); err == nil {
		t.Error("NewOrders over an empty folder: want an error")
	}
}

// checkNewOrders checks the increments make gives over dir: their orders
// file is in folder and is none of the files that were there (existing).
func checkNewOrders(t *testing.T, dir string, newInc func(string, int, uint64) (*datagen.Increment, error), folder string, existing []string) {
	for _, n := range []int{1, 50} {
		inc, err := newInc(dir, n, 9)
		if err != nil {
			t.Fatal(err)
		}
		again, err := newInc(dir, n, 9)
		if err != nil {
			t.Fatal(err)
		}
		for p, b := range inc.Files {
			if !bytes.Equal(b, again.Files[p]) {
				t.Errorf("n=%d: %s differs between two calls with the same seed", n, p)
			}
		}
		records := map[string][][]string{}
		for p, b := range inc.Files {
			recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			records[strings.SplitN(p, "/", 2)[0]] = recs[1:]
			if strings.HasPrefix(p, "orders/") && !strings.HasPrefix(p, folder+"/") {
				t.Errorf("orders file %s: want it in %s", p, folder)
			}
			if slices.Contains(existing, filepath.Join(dir, filepath.FromSlash(p))) {
				t.Errorf("orders file %s: would replace a file of the landing", p)
			}
			if strings.HasPrefix(p, "orders/") {
				y, m := folderMonth(t, folder)
				for _, o := range recs[1:] {
					if bought, err := time.Parse("2006-01-02 15:04:05", o[3]); err != nil || bought.Year() != y || int(bought.Month()) != m {
						t.Errorf("order %s bought %s, not in %d-%02d (%v)", o[0], o[3], y, m, err)
					}
				}
			}
		}
		if got := len(records["orders"]); got != n || inc.Orders != n {
			t.Errorf("n=%d: %d order records, reported %d", n, got, inc.Orders)
		}
		if got := len(records["order_items"]); got != inc.Items || got < n || got > 2*n {
			t.Errorf("n=%d: %d item records, reported %d", n, got, inc.Items)
		}
		if got := len(records["payments"]); got != inc.Payments || got != n {
			t.Errorf("n=%d: %d payment records, reported %d", n, got, inc.Payments)
		}
		customers := column(t, filepath.Join(dir, "customers", "olist_customers_dataset.csv"), "customer_id")
		for _, o := range records["orders"] {
			if !slices.Contains(customers, o[1]) {
				t.Errorf("order %s: customer %s is not in the landing", o[0], o[1])
			}
		}
		land := t.TempDir()
		if err := datagen.WriteFiles(land, inc.Files); err != nil {
			t.Fatal(err)
		}
		for p, b := range inc.Files {
			got, err := os.ReadFile(filepath.Join(land, filepath.FromSlash(p)))
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("WriteFiles: %s not written as given (%v)", p, err)
			}
		}
	}
}

// folderMonth reads an orders folder's year and month.
func folderMonth(t *testing.T, folder string) (year, month int) {
	t.Helper()
	if _, err := fmt.Sscanf(folder, "orders/order_year=%d/order_month=%d", &year, &month); err != nil {
		t.Fatalf("%s: %v", folder, err)
	}
	return year, month
}

// monthAfter is the orders folder of the month ahead months after dir's
// newest one (0: that one).
func monthAfter(t *testing.T, dir string, ahead int) string {
	t.Helper()
	folders, err := filepath.Glob(filepath.Join(dir, "orders", "order_year=*", "order_month=*"))
	if err != nil || len(folders) == 0 {
		t.Fatalf("no order month folders in %s (%v)", dir, err)
	}
	var newest time.Time
	for _, f := range folders {
		var y, m int
		if _, err := fmt.Sscanf(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), "order_year=%d/order_month=%d", &y, &m); err != nil {
			t.Fatal(err)
		}
		if d := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC); d.After(newest) {
			newest = d
		}
	}
	next := newest.AddDate(0, ahead, 0)
	return fmt.Sprintf("orders/order_year=%d/order_month=%d", next.Year(), int(next.Month()))
}

func column(t *testing.T, file, name string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(recs[0], name)
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[i])
	}
	return out
}
