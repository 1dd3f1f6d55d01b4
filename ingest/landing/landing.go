// Package landing discovers and checks the files of a landing folder: a
// source's files in natural order (List), and what would stop an engine
// reading one (ScanFile). The pipeline records which files it ingested in
// the bronze table's commits; this package only reads the landing store.
package landing

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/storage"
)

// Formats of landing files.
const (
	FormatCSV     = "csv"
	FormatJSON    = "json"
	FormatParquet = "parquet"
)

// CSV is a CSV dialect, as sources.<name>.csv in medallion.yaml gives it.
// Zero values mean: header present, delimiter ",", quote '"', escape '"'.
type CSV struct {
	Delimiter string `yaml:"delimiter"`
	Quote     string `yaml:"quote"`
	Escape    string `yaml:"escape"`
	NoHeader  bool   `yaml:"no_header"`
}

// Spec is what ScanFile needs to know of a source: its format and CSV
// dialect.
type Spec struct {
	Format string // csv, json or parquet
	CSV    CSV
}

// List lists the files below dir/ whose base name matches pattern (a
// path.Match pattern; "" matches every name), in natural order
// (order_month=9 before order_month=10), skipping hidden and temporary
// names (a path element starting with "." or "_"). With start set, the
// listing resumes at that key (included).
func List(ctx context.Context, store *storage.Store, dir, pattern, start string) ([]storage.ObjectInfo, error) {
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("landing: pattern %q: %w", pattern, err)
		}
	}
	objs, err := store.ListFrom(ctx, dir+"/", start)
	if err != nil {
		return nil, fmt.Errorf("landing: %w", err)
	}
	var out []storage.ObjectInfo
	for _, o := range objs {
		if Hidden(strings.TrimPrefix(o.Key, dir+"/")) {
			continue
		}
		if pattern != "" {
			if ok, _ := path.Match(pattern, path.Base(o.Key)); !ok {
				continue
			}
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b storage.ObjectInfo) int { return Compare(a.Key, b.Key) })
	return out, nil
}

// Hidden reports whether a key (relative to the source's folder) has a
// path element starting with "." or "_": files being written, markers.
func Hidden(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
			return true
		}
	}
	return false
}

// Compare orders keys naturally: digit runs compare as numbers, so
// month=9 sorts before month=10.
func Compare(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) - len(tb)
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
