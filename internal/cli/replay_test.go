package cli_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readCSVFile reads a CSV file whole: its header and rows.
func readCSVFile(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows[0], rows[1:]
}

// TestGenerateReplaysChange: generate --move-customers replaces the
// customers file with some customers at another customer's address and
// nothing else changed; generate --advance-orders-to writes the orders
// purchased by then, as they stood then (no milestone after it), checked
// against the source orders; bad replay flags fail naming the flag.
func TestGenerateReplaysChange(t *testing.T) {
	dir := t.TempDir()
	src, landing := filepath.Join(dir, "src"), filepath.Join(dir, "landing")
	mustRun(t, "generate", "--out", src, "--orders", "80", "--seed", "4")
	mustRun(t, "generate", "--out", landing, "--orders", "80", "--seed", "4")

	// Customers move.
	files, _ := filepath.Glob(filepath.Join(landing, "customers", "*.csv"))
	if len(files) != 1 {
		t.Fatalf("customers files: %v", files)
	}
	header, before := readCSVFile(t, files[0])
	out := mustRun(t, "generate", "--out", landing, "--move-customers", "0.5", "--seed", "7")
	var moved int
	if _, err := fmt.Sscanf(out, "moved %d customers", &moved); err != nil || moved == 0 {
		t.Fatalf("generate --move-customers printed %q: want a count of moved customers", out)
	}
	h2, after := readCSVFile(t, files[0])
	if !slices.Equal(header, h2) || len(after) != len(before) {
		t.Fatalf("the customers file changed shape: %v %d rows, was %v %d rows", h2, len(after), header, len(before))
	}
	addr := map[string]bool{}
	col := func(n string) int { return slices.Index(header, n) }
	zip, city, state := col("customer_zip_code_prefix"), col("customer_city"), col("customer_state")
	for _, r := range before {
		addr[r[zip]+"|"+r[city]+"|"+r[state]] = true
	}
	changed := 0
	for i, r := range after {
		b := before[i]
		if r[0] != b[0] || r[1] != b[1] {
			t.Fatalf("row %d: customer %v became %v", i, b[:2], r[:2])
		}
		if !slices.Equal(r, b) {
			changed++
			if !addr[r[zip]+"|"+r[city]+"|"+r[state]] {
				t.Errorf("customer %s moved to an address no customer had: %v", r[0], r)
			}
		}
	}
	if changed == 0 || changed > moved {
		t.Errorf("%d customers' rows changed; generate said %d moved", changed, moved)
	}

	// Orders advance: as of a time in the middle of the purchases.
	ordFiles, _ := filepath.Glob(filepath.Join(src, "orders", "*", "*", "*.csv"))
	var oh []string
	var orders [][]string
	for _, f := range ordFiles {
		h, rows := readCSVFile(t, f)
		oh, orders = h, append(orders, rows...)
	}
	pc := slices.Index(oh, "order_purchase_timestamp")
	var times []string
	for _, r := range orders {
		times = append(times, r[pc])
	}
	slices.Sort(times)
	at, err := time.Parse(time.DateTime, times[len(times)/2])
	if err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "generate", "--out", landing, "--advance-orders-to", at.Format("2006-01-02T15:04:05"), "--orders-from", src)
	name := filepath.Join(landing, "orders", "as_of_"+at.Format("20060102T150405")+".csv")
	if !strings.Contains(out, name) {
		t.Errorf("generate --advance-orders-to printed %q, want the file %s", out, name)
	}
	ah, advanced := readCSVFile(t, name)
	if !slices.Equal(ah, oh) {
		t.Fatalf("header %v, want %v", ah, oh)
	}
	want := map[string][]string{} // order id -> its source row, purchased by at
	for _, r := range orders {
		if ts, err := time.Parse(time.DateTime, r[pc]); err == nil && !ts.After(at) {
			want[r[0]] = r
		}
	}
	if len(advanced) != len(want) {
		t.Errorf("%d orders as of %s, want the %d purchased by then", len(advanced), at, len(want))
	}
	blanked := 0
	for _, r := range advanced {
		s, ok := want[r[0]]
		if !ok {
			t.Errorf("order %s was not purchased by %s", r[0], at)
			continue
		}
		for i, c := range oh {
			if !strings.HasPrefix(c, "order_") || !strings.HasSuffix(c, "_date") && !strings.HasSuffix(c, "_at") && !strings.HasSuffix(c, "_timestamp") || c == "order_estimated_delivery_date" {
				continue
			}
			ts, err := time.Parse(time.DateTime, s[i])
			switch {
			case err != nil:
			case ts.After(at) && r[i] != "":
				t.Errorf("order %s: %s = %q is after %s", r[0], c, r[i], at)
			case ts.After(at):
				blanked++
			case r[i] != s[i]:
				t.Errorf("order %s: %s = %q, was %q", r[0], c, r[i], s[i])
			}
		}
	}
	if blanked == 0 {
		t.Errorf("no milestone of the %d orders as of %s was after it: the replay shows no order advancing", len(advanced), at)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--move-customers", "1.5"}, "--move-customers 1.5"},
		{[]string{"--move-customers", "0"}, "--move-customers 0"},
		{[]string{"--advance-orders-to", "yesterday", "--orders-from", src}, `--advance-orders-to "yesterday"`},
		{[]string{"--advance-orders-to", "2018-01-01"}, "needs --orders-from"},
		{[]string{"--orders-from", src}, "--orders-from goes with --advance-orders-to"},
		{[]string{"--move-customers", "0.1", "--orders", "5"}, "--orders does not go with"},
	} {
		args := append([]string{"generate", "--out", landing}, tc.args...)
		if code, _, errOut := medallion(t, args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("medallion %v: exit %d, stderr %q; want a failure naming %q", args, code, errOut, tc.want)
		}
	}
}
