package ecommerce_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// sortedRows runs a query in s and renders each row as "a|b|NULL", sorted.
// With digits > 0, floating-point values are rendered to that many
// significant digits (a sum's last bits depend on the order it adds in).
func sortedRows(t *testing.T, s *pipeline.Session, sql string, digits int) []string {
	t.Helper()
	res, err := s.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	for _, r := range res.Rows {
		parts := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case float64:
				if digits > 0 {
					parts[i] = strconv.FormatFloat(x, 'g', digits, 64)
				} else {
					parts[i] = fmt.Sprint(x)
				}
			case float32:
				if digits > 0 {
					parts[i] = strconv.FormatFloat(float64(x), 'g', digits, 32)
				} else {
					parts[i] = fmt.Sprint(x)
				}
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	slices.Sort(out)
	return out
}

// projectRows is sortedRows in a new session of proj.
func projectRows(t *testing.T, proj *pipeline.Project, sql string, digits int) []string {
	t.Helper()
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return sortedRows(t, s, sql, digits)
}

// rowsOf is projectRows with values as the engine gives them.
func rowsOf(t *testing.T, proj *pipeline.Project, sql string) []string {
	t.Helper()
	return projectRows(t, proj, sql, 0)
}

// stableRows is projectRows with doubles to 12 significant digits: a sum's
// last bits depend on the order the engine's threads add in, in any run.
func stableRows(t *testing.T, proj *pipeline.Project, sql string) []string {
	t.Helper()
	return projectRows(t, proj, sql, 12)
}

// landAllBut copies the generated files under src into landing, except the
// sources named in skip (which a test lands itself).
func landAllBut(t *testing.T, src, landing string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if first, _, _ := strings.Cut(rel, string(filepath.Separator)); slices.Contains(skip, first) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(landing, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(landing, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
