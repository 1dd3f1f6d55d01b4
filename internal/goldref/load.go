package goldref

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The landing sources (folders under the landing directory) that the gold
// tables need. geolocation is not read: no gold table uses it.
const (
	srcOrders      = "orders"
	srcItems       = "order_items"
	srcCustomers   = "customers"
	srcPayments    = "payments"
	srcProducts    = "products"
	srcSellers     = "sellers"
	srcTranslation = "category_translation"
	srcReviews     = "reviews"
)

// row is one data row of a CSV file, read by column name.
type row struct {
	cols   map[string]int // lower-case header name -> field index
	fields []string
}

// get returns the named field, trimmed; "" when the file has no such column.
// An empty string means a missing value.
func (r row) get(name string) string {
	i, ok := r.cols[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// readSource reads every CSV file of one landing source, in path order, and
// calls fn for each well-formed data row. required are the columns every
// file must have (the key columns). A source folder that does not exist has
// no rows.
//
// Files: every *.csv (any case) below landingDir/source, at any depth;
// files and folders whose names start with "." or "_" are skipped (hidden
// and temporary files). Path order compares the slash-separated paths
// relative to the source folder with runs of digits compared as numbers, so
// order_month=9 comes before order_month=10.
//
// Rows: a UTF-8 BOM at the start of a file is skipped; the header's names
// are matched case-insensitively after trimming. Rows whose number of
// fields differs from the header's, and rows the strict CSV parser rejects
// (a bare quote inside an unquoted field, ...), are malformed and skipped.
func readSource(ctx context.Context, landingDir, source string, required []string, fn func(row) error) error {
	dir := filepath.Join(landingDir, source)
	files, err := listCSV(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := readCSV(ctx, filepath.Join(dir, filepath.FromSlash(f)), required, fn); err != nil {
			return err
		}
	}
	return nil
}

// listCSV returns the CSV files below dir as slash-separated relative paths,
// in path order (see readSource).
func listCSV(dir string) ([]string, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(name), ".csv") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("goldref: listing %s: %w", dir, err)
	}
	slices.SortFunc(files, comparePaths)
	return files, nil
}

// comparePaths orders paths with runs of ASCII digits compared by numeric
// value ("m=9" < "m=10"); paths equal that way are ordered as plain strings.
func comparePaths(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			ei, ej := i, j
			for ei < len(a) && isDigit(a[ei]) {
				ei++
			}
			for ej < len(b) && isDigit(b[ej]) {
				ej++
			}
			na := strings.TrimLeft(a[i:ei], "0")
			nb := strings.TrimLeft(b[j:ej], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			i, j = ei, ej
			continue
		}
		if a[i] != b[j] {
			return int(a[i]) - int(b[j])
		}
		i++
		j++
	}
	if c := (len(a) - i) - (len(b) - j); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readCSV reads one file; see readSource.
func readCSV(ctx context.Context, path string, required []string, fn func(row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("goldref: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1 // checked below, so a malformed row is skipped, not fatal
	// A quote inside an unquoted field is a literal character, as DuckDB
	// and Spark read it (and as the pipeline does).
	r.LazyQuotes = true
	header, err := r.Read()
	if err == io.EOF {
		return nil // an empty file
	}
	if err != nil {
		return fmt.Errorf("goldref: %s: header: %w", path, err)
	}
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			return fmt.Errorf("goldref: %s: no column %q in header %q", path, c, header)
		}
	}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			continue // malformed row: skipped
		}
		if err != nil {
			return fmt.Errorf("goldref: %s: %w", path, err)
		}
		if len(rec) != len(header) {
			continue // malformed row: skipped
		}
		if err := fn(row{cols: cols, fields: rec}); err != nil {
			return err
		}
	}
}

// parseTime parses a naive timestamp as UTC: "2006-01-02 15:04:05" (with
// optional fractional seconds), the same with a "T", or a bare date
// "2006-01-02" (midnight). ok is false for an empty or unparseable value.
func parseTime(s string) (t time.Time, ok bool) {
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseMoney parses a price or freight value; missing, unparseable or
// non-finite values are 0.
func parseMoney(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
