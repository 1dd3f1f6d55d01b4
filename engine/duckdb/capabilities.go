package duckdb

import (
	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

func init() {
	engine.RegisterCapabilities(Kind, engine.Capabilities{
		// The sessions of an Owner are connections of one database.
		ParallelSessions: true,
		ViewTypedBatch:   viewTypedBatch,
		// Parser and binder are linked into the binary.
		Embedded: true,
	})
}

// viewTypedBatch: a source's typed batch is a view when no column needs a
// cast from text (strings, and doubles, which a CSV scan reads typed:
// csvtyped.go). Read twice — a cheap count (no cast to compute) and the
// Parquet write — it makes no typed copy of every landed row. SF1's
// bronze.geolocation (988k rows), --parallelism 1: 1.57 s of CPU as a
// copy, 0.79 s as a view (the copy took 0.30 s, and a COPY reading the
// view takes less than one reading the copy). A batch with columns to cast
// is materialized: as a view its casts would be computed twice (SF1's
// bronze.orders, five timestamps: 0.49 s → 0.85 s as a view).
func viewTypedBatch(cols []engine.Column) bool {
	for _, c := range cols {
		if c.Type.Name != delta.TypeString && c.Type.Name != delta.TypeDouble {
			return false
		}
	}
	return true
}
