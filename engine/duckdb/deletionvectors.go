package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// deletedRowsFilter is the WHERE condition that keeps the rows of a data
// file its deletion vector does not delete, over DuckDB's file_row_number
// (the 0-based row position in the file, as the vector counts). Runs of
// deleted rows become ranges.
func deletedRowsFilter(ctx context.Context, snap *delta.Snapshot, a *delta.Add) (string, error) {
	dv, err := delta.ReadDeletionVector(ctx, snap.Store(), a.DeletionVector)
	if err != nil {
		return "", fmt.Errorf("duckdb: data file %s: %w", a.Path, err)
	}
	if dv.IsEmpty() {
		return "true", nil
	}
	var ranges, singles []string
	flush := func(lo, hi uint64) {
		if lo == hi {
			singles = append(singles, strconv.FormatUint(lo, 10))
			return
		}
		ranges = append(ranges, "file_row_number BETWEEN "+strconv.FormatUint(lo, 10)+" AND "+strconv.FormatUint(hi, 10))
	}
	it := dv.Iterator()
	lo := it.Next()
	hi := lo
	for it.HasNext() {
		v := it.Next()
		if v == hi+1 {
			hi = v
			continue
		}
		flush(lo, hi)
		lo, hi = v, v
	}
	flush(lo, hi)
	conds := ranges
	if len(singles) > 0 {
		conds = append(conds, "file_row_number IN ("+strings.Join(singles, ", ")+")")
	}
	return "NOT (" + strings.Join(conds, " OR ") + ")", nil
}
