package sparkinterop_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
)

// TestSparkAndMedallionAppendAtOnce: a medallion process loads landing
// files into bronze.events (one `medallion run` per file, each an OS
// process of its own) while Spark appends rows to the same Delta table
// over Spark Connect. Both commit into one log at once; afterwards every
// row of both writers is there exactly once, as Spark and medallion read
// it, and the log holds every commit of both.
func TestSparkAndMedallionAppendAtOnce(t *testing.T) {
	s := sparkserver.Session(t)
	ctx := t.Context()
	dir := t.TempDir()
	cfg := `name: concurrent
lake: lake
landing: landing
engine:
  threads: 1
sources:
  events:
    format: csv
    mode: append
    schema: {id: long, who: string}
`
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	landing := filepath.Join(dir, "landing", "events")
	if err := os.MkdirAll(landing, 0o755); err != nil {
		t.Fatal(err)
	}
	const perBatch = 5
	writeFile := func(n int) error {
		var b strings.Builder
		b.WriteString("id,who\n")
		for i := range perBatch {
			fmt.Fprintf(&b, "%d,medallion\n", n*100+i)
		}
		return os.WriteFile(filepath.Join(landing, fmt.Sprintf("events-%03d.csv", n)), []byte(b.String()), 0o644)
	}
	// The table exists before the race: the first file, loaded.
	if err := writeFile(0); err != nil {
		t.Fatal(err)
	}
	medallion(t, "run", "-C", dir)
	table := filepath.Join(dir, "lake", "bronze", "events")

	// Spark's rows: every column of the table, id and who set, the rest NULL.
	df, err := s.Sql(ctx, "SELECT * FROM delta.`"+table+"` LIMIT 0")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := df.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sparkRow := func(id int) string {
		var cols []string
		for _, f := range schema.Fields {
			switch f.Name {
			case "id":
				cols = append(cols, fmt.Sprintf("CAST(%d AS BIGINT) AS id", id))
			case "who":
				cols = append(cols, "'spark' AS who")
			default:
				cols = append(cols, "CAST(NULL AS "+f.DataType.TypeName()+") AS `"+f.Name+"`")
			}
		}
		return "SELECT " + strings.Join(cols, ", ")
	}

	const medallionRuns, sparkAppends = 6, 6
	// The writers interleave for sure (medallion's first load, then Spark's
	// first append, then the rest of both as fast as they go) and race for
	// the same versions after that.
	medallionFirst, sparkFirst := make(chan struct{}), make(chan struct{})
	var medallionOnce, sparkOnce sync.Once
	medallionDone := func() { medallionOnce.Do(func() { close(medallionFirst) }) }
	sparkDone := func() { sparkOnce.Do(func() { close(sparkFirst) }) }
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer medallionDone()
		for n := 1; n <= medallionRuns; n++ {
			if err := writeFile(n); err != nil {
				errs <- err
				return
			}
			if _, err := medallionErr(ctx, "run", "-C", dir); err != nil {
				errs <- err
				medallionDone()
				return
			}
			if n == 1 {
				medallionDone()
				<-sparkFirst
			}
		}
	}()
	go func() {
		defer wg.Done()
		<-medallionFirst
		defer sparkDone()
		for j := 1; j <= sparkAppends; j++ {
			var rows []string
			for i := range perBatch {
				rows = append(rows, sparkRow(100000+j*100+i))
			}
			if _, err := s.Sql(ctx, "INSERT INTO delta.`"+table+"` "+strings.Join(rows, " UNION ALL ")); err != nil {
				errs <- fmt.Errorf("Spark append %d: %w", j, err)
				return
			}
			if j == 1 {
				sparkDone()
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	wantMedallion := (medallionRuns + 1) * perBatch
	wantSpark := sparkAppends * perBatch
	const q = "SELECT who, count(*) AS n, count(DISTINCT id) AS ids FROM %s GROUP BY who ORDER BY who"
	got, err := sparkRows(ctx, s, table, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.rows) != wantMedallion+wantSpark {
		t.Errorf("Spark reads %d rows, want %d (%d from medallion, %d from Spark)", len(got.rows), wantMedallion+wantSpark, wantMedallion, wantSpark)
	}
	out := medallion(t, "query", "-C", dir, "--format", "csv", fmt.Sprintf(q, "bronze.events"))
	want := fmt.Sprintf("who,n,ids\nmedallion,%d,%d\nspark,%d,%d\n", wantMedallion, wantMedallion, wantSpark, wantSpark)
	if out != want {
		t.Errorf("medallion reads\n%s\nwant\n%s", out, want)
	}
	// Every commit of both writers is in the log: medallion's loads (one
	// per run) and Spark's appends, after the creating commit's version 0.
	last := deltaTables(t, filepath.Join(dir, "lake"))[table]
	var writers []string
	spark := 0
	for v := int64(0); v <= last; v++ {
		commit, err := os.ReadFile(filepath.Join(table, "_delta_log", fmt.Sprintf("%020d.json", v)))
		if err != nil {
			t.Fatal(err)
		}
		w := "medallion"
		if strings.Contains(string(commit), `"engineInfo":"Apache-Spark`) {
			w = "spark"
			spark++
		}
		writers = append(writers, w)
	}
	if spark != sparkAppends || len(writers)-spark < medallionRuns+1 {
		t.Errorf("the log holds %d Spark and %d medallion commits, want %d and at least %d: %v", spark, len(writers)-spark, sparkAppends, medallionRuns+1, writers)
	}
	if i := slices.Index(writers, "spark"); i < 0 || !slices.Contains(writers[i:], "medallion") {
		t.Errorf("the commits do not interleave (a medallion load after a Spark append): %v", writers)
	}
	t.Logf("writers by version: %v", writers)
}
