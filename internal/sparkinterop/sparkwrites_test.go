package sparkinterop_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
)

// TestMedallionReadsSparkWrites: Spark writes Delta tables over Spark
// Connect with the operations other writers use on a shared lake — MERGE,
// DELETE and UPDATE (deletion vectors off), INSERT … REPLACE WHERE,
// partition values with NULL, space, =, % and ü, a CHECK constraint,
// generated and identity columns, the change data feed — and `medallion
// query` reads each table's rows as stated here (and as Spark reads them).
func TestMedallionReadsSparkWrites(t *testing.T) {
	s := sparkserver.Session(t)
	ctx := t.Context()
	project := t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "medallion.yaml"), []byte("name: reader\nlake: lake\nlanding: landing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	const noDV = "TBLPROPERTIES ('delta.enableDeletionVectors' = 'false')"
	for _, tc := range []struct {
		name  string
		stmts []string // %T is the table
		cols  string
		rows  []string // sorted, values joined by |
	}{
		{"merge_delete_update", []string{
			"CREATE TABLE %T (id BIGINT, v STRING) USING delta " + noDV,
			"INSERT INTO %T VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')",
			"MERGE INTO %T t USING (SELECT * FROM VALUES (2, 'x'), (6, 'new') AS s(id, v)) s ON t.id = s.id " +
				"WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *",
			"DELETE FROM %T WHERE id = 1",
			"UPDATE %T SET v = 'u' WHERE id = 3",
		}, "id,v", []string{"2|x", "3|u", "4|d", "5|e", "6|new"}},
		{"replace_where", []string{
			"CREATE TABLE %T (id BIGINT, part STRING) USING delta PARTITIONED BY (part) " + noDV,
			"INSERT INTO %T VALUES (1, 'a'), (2, 'a'), (3, 'b')",
			"INSERT INTO %T REPLACE WHERE part = 'a' SELECT * FROM VALUES (10, 'a') AS s(id, part)",
		}, "id,part", []string{"10|a", "3|b"}},
		{"partition_values", []string{
			"CREATE TABLE %T (id BIGINT, p STRING) USING delta PARTITIONED BY (p)",
			"INSERT INTO %T VALUES (1, NULL), (2, 'a b'), (3, 'k=v'), (4, '50%'), (5, 'züri'), (6, '')",
		}, "id,p", []string{"1|", "2|a b", "3|k=v", "4|50%", "5|züri", "6|"}},
		{"check_constraint", []string{
			"CREATE TABLE %T (id BIGINT, qty INT) USING delta",
			"ALTER TABLE %T ADD CONSTRAINT positive CHECK (qty > 0)",
			"INSERT INTO %T VALUES (1, 5), (2, 7)",
		}, "id,qty", []string{"1|5", "2|7"}},
		{"generated_identity", []string{
			"CREATE TABLE %T (id BIGINT GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 1), v INT, twice INT GENERATED ALWAYS AS (v * 2)) USING delta",
			"INSERT INTO %T (v) VALUES (1)",
			"INSERT INTO %T (v) VALUES (2)",
		}, "id,v,twice", []string{"100|1|2", "101|2|4"}},
		{"change_data_feed", []string{
			"CREATE TABLE %T (id BIGINT, v STRING) USING delta TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true', 'delta.enableDeletionVectors' = 'false')",
			"INSERT INTO %T VALUES (1, 'a'), (2, 'b'), (3, 'c')",
			"UPDATE %T SET v = 'bb' WHERE id = 2",
			"DELETE FROM %T WHERE id = 3",
		}, "id,v", []string{"1|a", "2|bb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(base, tc.name)
			for _, st := range tc.stmts {
				st = strings.ReplaceAll(st, "%T", "delta.`"+path+"`")
				if _, err := s.Sql(ctx, st); err != nil {
					t.Fatalf("Spark: %s: %v", st, err)
				}
			}
			want := answer{cols: strings.Split(tc.cols, ",")}
			for _, r := range tc.rows {
				want.rows = append(want.rows, strings.ReplaceAll(r, "|", sep))
			}
			if tc.name == "generated_identity" {
				// Identity values are only promised unique and increasing.
				want.rows = nil
			}
			got := medallionRows(t, project, path)
			spark, err := sparkRows(ctx, s, path, -1)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(got, spark); d != "" {
				t.Errorf("medallion reads the table differently from Spark: %s", d)
			}
			if want.rows != nil {
				if d := diff(got, want); d != "" {
					t.Errorf("medallion reads: %s", d)
				}
			} else if len(got.rows) != len(tc.rows) {
				t.Errorf("medallion reads %d rows, want %d", len(got.rows), len(tc.rows))
			}
		})
	}
}
