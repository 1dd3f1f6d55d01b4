package datagen

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Replays of change: customers who move (the customers file replaced with
// new addresses) and orders that advance through their statuses (orders
// landing again as they are approved, shipped and delivered), for the CDC
// models (silver.customers_history, silver.order_status_history).

// MoveCustomers replaces the customers file under dir/customers (the one CSV
// file Generate wrote there)
// by a copy in which about fraction of the customers moved: each takes the
// zip code prefix, city and state of another customer picked at random. The
// new file is written aside and renamed into place (a reader sees the old or
// the new file, never a part), with modification time now. It returns how
// many customers moved. The same file, fraction and seed move the same
// customers.
func MoveCustomers(ctx context.Context, dir string, fraction float64, seed int64, now time.Time) (int, error) {
	if fraction < 0 || fraction > 1 {
		return 0, fmt.Errorf("datagen: move customers: fraction %v is not between 0 and 1", fraction)
	}
	files, err := filepath.Glob(filepath.Join(dir, SourceCustomers, "*.csv"))
	if err != nil || len(files) != 1 {
		return 0, fmt.Errorf("datagen: move customers: want one CSV file in %s, found %v (%v)", filepath.Join(dir, SourceCustomers), files, err)
	}
	path := files[0]
	header, rows, err := readCSV(path)
	if err != nil {
		return 0, err
	}
	col := func(name string) int { return slices.Index(header, name) }
	zip, city, state := col("customer_zip_code_prefix"), col("customer_city"), col("customer_state")
	if zip < 0 || city < 0 || state < 0 {
		return 0, fmt.Errorf("datagen: move customers: %s has no customer_zip_code_prefix, customer_city and customer_state columns", path)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d6f7665))
	moved := 0
	for _, r := range rows {
		if len(r) != len(header) || rng.Float64() >= fraction {
			continue
		}
		if err := ctx.Err(); err != nil {
			return moved, err
		}
		other := rows[rng.IntN(len(rows))]
		if len(other) != len(header) || other[city] == r[city] && other[zip] == r[zip] {
			continue
		}
		r[zip], r[city], r[state] = other[zip], other[city], other[state]
		moved++
	}
	return moved, writeCSV(path, header, rows, now)
}

// Order milestones, in order: the statuses an order advances through and
// the column that says when it reached each.
var orderMilestones = []struct{ status, column string }{
	{"created", "order_purchase_timestamp"},
	{"approved", "order_approved_at"},
	{"shipped", "order_delivered_carrier_date"},
	{"delivered", "order_delivered_customer_date"},
}

// AdvanceOrders writes dst/orders/<name>.csv: every order of the orders
// files under src/orders (as Generate wrote them) purchased by at, as it
// stood at that time — the milestone timestamps after at blank and the
// status the last milestone reached (an order that ended canceled or
// unavailable keeps that status once it has no later milestone left to
// reach). Landing such files for increasing times replays orders advancing
// through their statuses: the orders source (mode upsert) keeps each order's
// newest row, and the last file with at after every timestamp lands the
// final rows. It returns how many orders the file holds.
func AdvanceOrders(ctx context.Context, src, dst string, at time.Time, name string) (int, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(src, SourceOrders), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".csv") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("datagen: advance orders: %w", err)
	}
	slices.Sort(files)
	var header []string
	var out [][]string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		h, rows, err := readCSV(f)
		if err != nil {
			return 0, err
		}
		if header == nil {
			header = h
		} else if !slices.Equal(header, h) {
			return 0, fmt.Errorf("datagen: advance orders: %s: header %v differs from %v", f, h, header)
		}
		status := slices.Index(h, "order_status")
		if status < 0 {
			return 0, fmt.Errorf("datagen: advance orders: %s has no order_status column", f)
		}
		for _, r := range rows {
			if len(r) != len(h) {
				continue // a malformed row (--dirty) stays out
			}
			row, ok := asOf(h, r, at, status)
			if ok {
				out = append(out, row)
			}
		}
	}
	if header == nil {
		return 0, fmt.Errorf("datagen: advance orders: no orders files under %s", filepath.Join(src, SourceOrders))
	}
	if err := os.MkdirAll(filepath.Join(dst, SourceOrders), 0o755); err != nil {
		return 0, fmt.Errorf("datagen: advance orders: %w", err)
	}
	return len(out), writeCSV(filepath.Join(dst, SourceOrders, name+".csv"), header, out, at)
}

// asOf is an order row as it stood at time at: the milestone timestamps
// after at blank and the status the last milestone reached, or the row as
// it is once every milestone it has was reached. ok is false when it was
// not purchased by at (or its purchase time does not parse).
func asOf(header, r []string, at time.Time, status int) ([]string, bool) {
	row := slices.Clone(r)
	reached, blanked := "", false
	for i, m := range orderMilestones {
		c := slices.Index(header, m.column)
		if c < 0 {
			continue
		}
		ts, err := time.Parse(time.DateTime, strings.TrimSpace(row[c]))
		switch {
		case i == 0 && (err != nil || ts.After(at)):
			return nil, false
		case err != nil:
			// not reached ever: nothing to blank
		case ts.After(at):
			row[c], blanked = "", true
		default:
			reached = m.status
		}
	}
	if blanked {
		row[status] = reached
	}
	return row, true
}

func readCSV(path string) ([]string, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datagen: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("datagen: %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("datagen: %s: no header", path)
	}
	return rows[0], rows[1:], nil
}

// writeCSV writes header and rows to path through a hidden temporary file
// renamed into place, with modification time mtime.
func writeCSV(path string, header []string, rows [][]string, mtime time.Time) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("datagen: %w", err)
	}
	w := csv.NewWriter(f)
	err = w.Write(header)
	if err == nil {
		err = w.WriteAll(rows)
	}
	err = errors.Join(err, f.Close())
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(tmp, mtime, mtime)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("datagen: write %s: %w", path, err)
	}
	return nil
}
