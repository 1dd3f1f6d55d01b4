package spark_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine/spark"
)

// TestWriteStageGuard: Write refuses a staging location Spark would
// overwrite unless it is a fresh folder right inside the table's.
func TestWriteStageGuard(t *testing.T) {
	table := t.TempDir()
	if err := os.MkdirAll(filepath.Join(table, "_delta_log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(table, ".staging-old"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, stage, want string
	}{
		{"fresh folder inside", filepath.Join(table, ".staging-new"), ""},
		{"the table folder", table, "is not a folder inside"},
		{"the table folder, trailing slash", table + "/", "is not a folder inside"},
		{"the parent", filepath.Dir(table), "is not a folder inside"},
		{"deeper", filepath.Join(table, "a", ".staging-x"), "is not a folder inside"},
		{"the log", filepath.Join(table, "_delta_log"), "is the table's Delta log"},
		{"an existing folder", filepath.Join(table, ".staging-old"), "exists already"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := spark.CheckStage(table, c.stage)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestWriteLogGuard: the files Write's guard reports lost from a table's
// _delta_log while Spark wrote: a commit gone with no checkpoint after
// it, the whole folder, a folder made again without its commits; not
// what log clean-up may delete (before the newest checkpoint), nor new
// files.
func TestWriteLogGuard(t *testing.T) {
	commit := func(v int) string { return fmt.Sprintf("%020d.json", v) }
	cp := func(v int) string { return fmt.Sprintf("%020d.checkpoint.parquet", v) }
	for _, c := range []struct {
		name   string
		have   []string
		change func(log string) error
		want   []string
	}{
		{"nothing changes", []string{commit(0), commit(1)}, func(string) error { return nil }, nil},
		{"a concurrent commit and checkpoint", []string{commit(0), commit(1)}, func(log string) error {
			for _, n := range []string{commit(2), cp(2), "_last_checkpoint"} {
				if err := os.WriteFile(filepath.Join(log, n), nil, 0o644); err != nil {
					return err
				}
			}
			return nil
		}, nil},
		{"commit 0 deleted", []string{commit(0), commit(1)}, func(log string) error {
			return os.Remove(filepath.Join(log, commit(0)))
		}, []string{commit(0)}},
		{"clean-up before a checkpoint", []string{commit(0), commit(1), commit(2), cp(2)}, func(log string) error {
			return os.Remove(filepath.Join(log, commit(0)))
		}, nil},
		{"the checkpoint's own commit deleted", []string{commit(0), commit(1), commit(2), cp(2)}, func(log string) error {
			return os.Remove(filepath.Join(log, commit(2)))
		}, []string{commit(2)}},
		{"the log folder deleted", []string{commit(0)}, func(log string) error {
			return os.RemoveAll(log)
		}, []string{"(the whole folder)"}},
		{"the log folder made again", []string{commit(0)}, func(log string) error {
			if err := os.RemoveAll(log); err != nil {
				return err
			}
			if err := os.Mkdir(log, 0o755); err != nil {
				return err
			}
			// The new folder's inode may be the old one's: the lost commit
			// is what must be reported.
			return os.WriteFile(filepath.Join(log, commit(1)), nil, 0o644)
		}, []string{commit(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := t.TempDir()
			log := filepath.Join(table, "_delta_log")
			if err := os.Mkdir(log, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.have {
				if err := os.WriteFile(filepath.Join(log, n), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var changeErr error
			got, err := spark.LogLostDuring(table, func() { changeErr = c.change(log) })
			if err != nil || changeErr != nil {
				t.Fatal(err, changeErr)
			}
			if (len(got) == 0) != (len(c.want) == 0) {
				t.Fatalf("lost %v, want %v", got, c.want)
			}
			for _, w := range c.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, w) }) {
					t.Fatalf("lost %v, want %v", got, c.want)
				}
			}
		})
	}
}
