package sparkserver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sparkserver.Release()
	os.Exit(code)
}

// TestServerWritesAndReadsDelta: the shared server runs SQL and has the
// Delta extension and catalog (a table written as delta reads back, with
// its history).
func TestServerWritesAndReadsDelta(t *testing.T) {
	s := sparkserver.Session(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "t")
	for _, stmt := range []string{
		"CREATE TABLE delta.`" + dir + "` (id BIGINT, s STRING) USING delta",
		"INSERT INTO delta.`" + dir + "` VALUES (1, 'a'), (2, 'b')",
	} {
		if _, err := s.Sql(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	df, err := s.Sql(ctx, "DESCRIBE HISTORY delta.`"+dir+"`")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := df.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].At(0) != int64(1) || rows[1].At(0) != int64(0) {
		t.Errorf("history: got %v, want versions 1 and 0", rows)
	}
	df, err = s.Sql(ctx, "SELECT sum(id) AS n, max(s) AS s FROM delta.`"+dir+"`")
	if err != nil {
		t.Fatal(err)
	}
	if rows, err = df.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].At(0) != int64(3) || rows[0].At(1) != "b" {
		t.Errorf("rows: got %v, want sum 3, max b", rows)
	}
	if _, err := os.Stat(filepath.Join(dir, "_delta_log", "00000000000000000001.json")); err != nil {
		t.Errorf("Spark wrote no Delta log: %v", err)
	}
}

// TestMissingNamesWhatIsMissing: without java on PATH the reason to skip
// (or, under CI, to fail) names it.
func TestMissingNamesWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if got := sparkserver.Missing(); !strings.Contains(got, "java") {
		t.Errorf("Missing() = %q, want it to name java", got)
	}
}
