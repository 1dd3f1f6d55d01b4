package landing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/ingest/landing"
	"github.com/medallionhq/medallion/storage"
)

// TestList: a source's files in natural order, hidden and temporary names
// and names the pattern rejects left out, resuming at start.
func TestList(t *testing.T) {
	ctx := t.Context()
	store, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, k := range []string{
		"orders/order_month=10/a.csv", "orders/order_month=9/a.csv", "orders/order_month=9/b.csv",
		"orders/_tmp/c.csv", "orders/.d.csv", "orders/order_month=9/_SUCCESS", "orders/notes.txt",
		"other/x.csv",
	} {
		if err := store.Write(ctx, k, []byte("id\n1\n")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, pattern, start string
		want                 []string
	}{
		{"csv files in natural order", "*.csv", "", []string{"orders/order_month=9/a.csv", "orders/order_month=9/b.csv", "orders/order_month=10/a.csv"}},
		{"every visible name", "", "", []string{"orders/notes.txt", "orders/order_month=9/a.csv", "orders/order_month=9/b.csv", "orders/order_month=10/a.csv"}},
		{"resumed at a key, included", "*.csv", "orders/order_month=9/b.csv", []string{"orders/order_month=9/b.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := landing.List(ctx, store, "orders", tt.pattern, tt.start)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Key)
				if o.Size != 5 || o.ModTime.IsZero() {
					t.Fatalf("%s: size %d, modified %v", o.Key, o.Size, o.ModTime)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("listed %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := landing.List(ctx, store, "orders", "[", ""); err == nil || !strings.Contains(err.Error(), `"["`) {
		t.Fatalf("a bad pattern: %v, want an error naming it", err)
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"m=9/a.csv", "m=10/a.csv", true},
		{"m=10/a.csv", "m=9/a.csv", false},
		{"part-007.csv", "part-10.csv", true},
		{"a.csv", "b.csv", true},
		{"x2", "x2a", true},
	}
	for _, tt := range tests {
		if got := landing.Compare(tt.a, tt.b) < 0; got != tt.less {
			t.Errorf("Compare(%q, %q) < 0 = %t, want %t", tt.a, tt.b, got, tt.less)
		}
	}
}

// TestScanFile: what would stop an engine reading a file is found before
// it reads it, with the line where it is.
func TestScanFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		spec       landing.Spec
		complete   bool
		bad        string
		badLine    int64
		header     []string
		cut        int64
		records    int64
	}{
		{name: "empty", body: "", spec: landing.Spec{Format: "csv"}, bad: "empty file"},
		{name: "csv", body: "id,name\n1,a\n2,b\n", spec: landing.Spec{Format: "csv"}, header: []string{"id", "name"}, cut: 16, records: 2},
		{name: "duplicate column", body: "id,ID\n1,2\n", spec: landing.Spec{Format: "csv"}, bad: `duplicate column "ID"`, badLine: 1},
		{name: "semicolons", body: "id;name\n1;a\n", spec: landing.Spec{Format: "csv", CSV: landing.CSV{Delimiter: ";"}}, header: []string{"id", "name"}, cut: 12, records: 1},
		{name: "json, an incomplete last line waits", body: "{\"id\":1}\n{\"id\":", spec: landing.Spec{Format: "json"}, complete: true, cut: 9, records: 1},
		{name: "not parquet", body: "PAR1 but not the end", spec: landing.Spec{Format: "parquet"}, bad: "not a Parquet file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err := landing.ScanFile(t.Context(), p, tt.spec, 0, 0, tt.complete)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bad != "" {
				if !strings.Contains(sc.Bad, tt.bad) || sc.BadLine != tt.badLine {
					t.Fatalf("bad %q at line %d, want %q at line %d", sc.Bad, sc.BadLine, tt.bad, tt.badLine)
				}
				return
			}
			if sc.Bad != "" || strings.Join(sc.Header, ",") != strings.Join(tt.header, ",") || sc.Cut != tt.cut || sc.Records != tt.records {
				t.Fatalf("scan %+v, want header %v, cut %d, %d records", sc, tt.header, tt.cut, tt.records)
			}
		})
	}
}
