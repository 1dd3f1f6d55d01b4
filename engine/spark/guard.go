package spark

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/medallionhq/medallion/delta"
)

// Guards around Spark's writes (issue 12): Spark writes a result with
// CREATE TABLE … LOCATION <staging folder> AS SELECT, which overwrites
// that folder (Spark's CTAS saves with SaveMode.Overwrite). A location
// that is, or holds, the table's folder would lose its Delta log, so a
// write checks, before the statement, that its staging folder is a fresh
// folder right inside the table's and, after it, on local disk, that no
// file of the table's _delta_log went missing while Spark wrote: a loss
// becomes an error naming the files, not a silent gap in the log found
// later ("commit 0 is missing").

// logDir is a Delta table's log folder.
const logDir = "_delta_log"

// checkStage refuses a staging location unless it is a folder, not yet
// there, right inside the table folder table (both local paths).
func checkStage(table, stage string) error {
	table, stage = filepath.Clean(table), filepath.Clean(stage)
	if filepath.Dir(stage) != table || stage == table {
		return fmt.Errorf("spark: write: staging folder %s is not a folder inside the table folder %s", stage, table)
	}
	if strings.EqualFold(filepath.Base(stage), logDir) {
		return fmt.Errorf("spark: write: staging folder %s is the table's Delta log", stage)
	}
	if _, err := os.Lstat(stage); err == nil {
		return fmt.Errorf("spark: write: staging folder %s exists already: Spark would overwrite it", stage)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spark: write: %w", err)
	}
	return nil
}

// logState is what a table's _delta_log folder held: its inode and the
// names of its commits and checkpoints by version.
type logState struct {
	dir     string
	ino     uint64 // 0: no log folder
	commits map[int64]string
	cps     map[int64][]string
}

// readLogState reads the _delta_log folder of the local table folder
// table: names only (one readdir, no stat per file), cheap for long logs.
func readLogState(table string) (*logState, error) {
	st := &logState{dir: filepath.Join(table, logDir), commits: map[int64]string{}, cps: map[int64][]string{}}
	f, err := os.Open(st.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = uint64(sys.Ino)
	} else {
		st.ino = 1
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		switch v, commit, ok := delta.LogFileName(n); {
		case !ok:
		case commit:
			st.commits[v] = n
		default:
			st.cps[v] = append(st.cps[v], n)
		}
	}
	return st, nil
}

// lost returns the commits and checkpoints of before missing from after
// that no log clean-up could have removed: clean-up deletes only what
// lies before a checkpoint, so a file at or after after's newest
// checkpoint (any file, when after has none) must still be there. It also
// names a log folder that was deleted or replaced (a new inode).
func (before *logState) lost(after *logState) []string {
	if before.ino == 0 {
		return nil
	}
	if after.ino == 0 {
		return []string{before.dir + " (the whole folder)"}
	}
	var out []string
	if after.ino != before.ino {
		out = append(out, before.dir+" (deleted and created again)")
	}
	newestCP := int64(-1)
	for v := range after.cps {
		newestCP = max(newestCP, v)
	}
	for v, n := range before.commits {
		if _, ok := after.commits[v]; !ok && v >= newestCP {
			out = append(out, n)
		}
	}
	for v, ns := range before.cps {
		for _, n := range ns {
			if !slices.Contains(after.cps[v], n) && v >= newestCP {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}
