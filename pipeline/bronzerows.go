package pipeline

import (
	"context"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// typedRows names a source's typed batch (typedSQL) for its bronze write.
//
// On DuckDB, when no column needs a cast from text (strings, and doubles,
// which its CSV scan reads typed: csvtyped.go), the batch is a view over
// the loaded rows: it is read twice, by a cheap count (no cast to compute)
// and by the Parquet write, and no typed copy of every landed row is made.
// SF1's bronze.geolocation (988k rows), --parallelism 1: 1.57 s of CPU
// before, 0.79 s after (the copy took 0.30 s, and a COPY reading the view
// takes less than one reading the copy). A batch with columns to cast is
// still materialized: read twice as a view, its casts are computed twice
// (SF1's bronze.orders, five timestamps: 0.49 s → 0.85 s as a view).
// Other engines keep the materialized batch.
func (r *run) typedRows(ctx context.Context, typedSQL string, cols []column) (engine.Relation, error) {
	if k := r.proj.Config.Engine.Kind; k != "" && k != "duckdb" {
		return r.table(ctx, typedSQL)
	}
	for _, c := range cols {
		if c.typ.Name != delta.TypeString && c.typ.Name != delta.TypeDouble {
			return r.table(ctx, typedSQL)
		}
	}
	return r.view(ctx, typedSQL)
}
