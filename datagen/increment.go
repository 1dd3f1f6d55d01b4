package datagen

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Increment is a batch of new orders for a landing zone Generate wrote:
// the benchmarks' "1,000-order increment".
type Increment struct {
	// Files are the new files by landing-relative path (WriteFiles lands
	// them): an orders file in the month after the landing's newest
	// order_year=/order_month= folder, an order_items file and a payments
	// file.
	Files map[string][]byte
	// Orders, Items and Payments count the records of each file.
	Orders, Items, Payments int
}

// NewOrders makes n new delivered orders of the landing's existing
// customers, products and sellers (one or two items and one payment each),
// purchased in the month after its newest order_month folder. The same
// landing and seed give the same bytes.
func NewOrders(landing string, n int, seed uint64) (*Increment, error) {
	return newOrders(landing, n, seed, 1)
}

// NewOrdersInLastMonth is NewOrders with the orders purchased in the
// landing's newest month, in a file of their own beside that month's
// (olist_orders_dataset_new-0001.csv): a day's orders landing in the month
// the lake is filling, the common case of a daily run, where NewOrders's
// is the first day of a month.
func NewOrdersInLastMonth(landing string, n int, seed uint64) (*Increment, error) {
	return newOrders(landing, n, seed, 0)
}

// newOrders makes the orders in the month after (ahead 1) or in (ahead 0)
// the landing's newest month.
func newOrders(landing string, n int, seed uint64, ahead int) (*Increment, error) {
	customers, err := csvColumn(filepath.Join(landing, "customers"), "customer_id")
	if err != nil {
		return nil, err
	}
	products, err := csvColumn(filepath.Join(landing, "products"), "product_id")
	if err != nil {
		return nil, err
	}
	sellers, err := csvColumn(filepath.Join(landing, "sellers"), "seller_id")
	if err != nil {
		return nil, err
	}
	year, month, err := lastOrderMonth(filepath.Join(landing, "orders"))
	if err != nil {
		return nil, err
	}
	first := time.Date(year, time.Month(month+ahead), 1, 0, 0, 0, 0, time.UTC)
	span := first.AddDate(0, 1, 0).Sub(first)
	rng := rand.New(rand.NewPCG(seed, 0x1ce))
	const ts = "2006-01-02 15:04:05"
	inc := &Increment{Orders: n}
	var ob, ib, pb bytes.Buffer
	ow, iw, pw := csv.NewWriter(&ob), csv.NewWriter(&ib), csv.NewWriter(&pb)
	_ = ow.Write([]string{"order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
		"order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date"})
	_ = iw.Write([]string{"order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"})
	_ = pw.Write([]string{"order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"})
	types := []string{"credit_card", "boleto", "voucher", "debit_card"}
	for i := range n {
		// 32 hex digits, unique by the index; Generate's ids are random.
		id := fmt.Sprintf("be9c%04x%08x%016x", i, rng.Uint32(), rng.Uint64())
		bought := first.Add(time.Duration(rng.Int64N(int64(span))).Truncate(time.Second))
		approved := bought.Add(time.Duration(10+rng.IntN(600)) * time.Minute)
		carrier := approved.Add(time.Duration(12+rng.IntN(72)) * time.Hour)
		delivered := carrier.Add(time.Duration(24+rng.IntN(24*14)) * time.Hour)
		estimated := time.Date(bought.Year(), bought.Month(), bought.Day()+20+rng.IntN(10), 0, 0, 0, 0, time.UTC)
		_ = ow.Write([]string{id, customers[rng.IntN(len(customers))], "delivered", bought.Format(ts), approved.Format(ts),
			carrier.Format(ts), delivered.Format(ts), estimated.Format(ts)})
		k := 1 + rng.IntN(2)
		var total float64
		for j := 1; j <= k; j++ {
			price := float64(990+rng.IntN(30000)) / 100
			freight := float64(500+rng.IntN(4000)) / 100
			total += price + freight
			_ = iw.Write([]string{id, strconv.Itoa(j), products[rng.IntN(len(products))], sellers[rng.IntN(len(sellers))],
				bought.Add(6 * 24 * time.Hour).Format(ts), strconv.FormatFloat(price, 'f', 2, 64), strconv.FormatFloat(freight, 'f', 2, 64)})
		}
		inc.Items += k
		_ = pw.Write([]string{id, "1", types[rng.IntN(len(types))], strconv.Itoa(1 + rng.IntN(6)), strconv.FormatFloat(total, 'f', 2, 64)})
		inc.Payments++
	}
	ow.Flush()
	iw.Flush()
	pw.Flush()
	if err := errors.Join(ow.Error(), iw.Error(), pw.Error()); err != nil {
		return nil, fmt.Errorf("datagen: new orders: %w", err)
	}
	name := "olist_orders_dataset.csv"
	if ahead == 0 {
		name = "olist_orders_dataset_new-0001.csv" // beside the month's own file
	}
	inc.Files = map[string][]byte{
		fmt.Sprintf("orders/order_year=%d/order_month=%d/%s", first.Year(), int(first.Month()), name): ob.Bytes(),
		"order_items/olist_order_items_dataset_new-0001.csv":                                          ib.Bytes(),
		"payments/olist_order_payments_dataset_new-0001.csv":                                          pb.Bytes(),
	}
	return inc, nil
}

// WriteFiles writes files (by landing-relative path) under root.
func WriteFiles(root string, files map[string][]byte) error {
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("datagen: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("datagen: %w", err)
		}
	}
	return nil
}

// lastOrderMonth finds the newest order_year=/order_month= folder.
func lastOrderMonth(dir string) (year, month int, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		var y, m int
		if _, e := fmt.Sscanf(filepath.Base(filepath.Dir(p))+"/"+d.Name(), "order_year=%d/order_month=%d", &y, &m); e == nil {
			if y > year || (y == year && m > month) {
				year, month = y, m
			}
		}
		return nil
	})
	if err == nil && year == 0 {
		err = fmt.Errorf("datagen: no order_year=/order_month= folders in %s", dir)
	}
	return year, month, err
}

// csvColumn reads one column of every CSV file under dir.
func csvColumn(dir, col string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".csv") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		header, err := r.Read()
		if err != nil {
			return fmt.Errorf("datagen: %s: %w", p, err)
		}
		idx := slices.Index(header, col)
		if idx < 0 {
			return fmt.Errorf("datagen: %s: no column %s", p, col)
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("datagen: %s: %w", p, err)
			}
			if idx < len(rec) && rec[idx] != "" {
				out = append(out, rec[idx])
			}
		}
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("datagen: no %s values under %s", col, dir)
	}
	return out, err
}
