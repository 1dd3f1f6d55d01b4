package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// DamagedTableError says that a table's latest version lists data files
// that storage no longer holds (deleted outside a commit), and how to
// repair it. Queries and runs that do not read the table are not affected.
type DamagedTableError struct {
	// Table is the damaged table (layer.table).
	Table string
	// Missing are the paths of the missing files, relative to the table.
	Missing []string
}

func (e *DamagedTableError) Error() string {
	first := e.Missing[0]
	if len(e.Missing) > 1 {
		first += fmt.Sprintf(" and %d more", len(e.Missing)-1)
	}
	return fmt.Sprintf("pipeline: table %s is damaged: %d of its active files are missing from storage (%s); repair it with `medallion repair %s` (its rows in those files are then gone: recompute them with `medallion run --full-refresh --select %s+`)",
		e.Table, len(e.Missing), first, e.Table, e.Table)
}

// checkDamage returns a *DamagedTableError when snap, the latest snapshot of
// table name, lists files missing from storage, and nil otherwise
// (including when the check itself fails: the caller's error stands).
func checkDamage(ctx context.Context, lake *Lake, name string, snap *delta.Snapshot) error {
	if snap == nil {
		return nil
	}
	tbl, err := lake.Table(ctx, name)
	if err != nil {
		return nil
	}
	missing, err := tbl.MissingFiles(ctx, snap)
	if err != nil || len(missing) == 0 {
		return nil
	}
	paths := make([]string, len(missing))
	for i, a := range missing {
		paths[i] = a.Path
	}
	return &DamagedTableError{Table: name, Missing: paths}
}

// explainDamage replaces err, the failure of a step that read tables, by a
// DamagedTableError when one of those tables is damaged.
func (r *run) explainDamage(ctx context.Context, err error, tables ...string) error {
	for _, n := range tables {
		snap, serr := r.lake.Snapshot(ctx, n)
		if serr != nil {
			continue
		}
		if derr := checkDamage(ctx, r.lake, n, snap); derr != nil {
			return derr
		}
	}
	return err
}

// brokenRef reports the first damaged table the SQL names.
func brokenRef(sql string, broken map[string]error) error {
	if len(broken) == 0 {
		return nil
	}
	for _, mm := range tableRefRE.FindAllStringSubmatch(sql, -1) {
		if err, ok := broken[strings.ToLower(mm[1])+"."+mm[2]]; ok {
			return err
		}
	}
	for name, err := range broken {
		if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(name) + `\b`).MatchString(sql) {
			return err
		}
	}
	return nil
}
