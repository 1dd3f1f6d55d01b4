package pipeline

import (
	"context"

	"github.com/medallionhq/medallion/engine"
)

// typedRows names a source's typed batch (typedSQL) for its bronze write:
// a view or a materialized copy, as the engine's capabilities choose
// (engine.Capabilities.ViewTypedBatch; DuckDB: a view when no column needs
// a cast from text). The batch is read twice, by a count and the write.
func (r *run) typedRows(ctx context.Context, typedSQL string, cols []column) (engine.Relation, error) {
	typed := make([]engine.Column, len(cols))
	for i, c := range cols {
		typed[i] = engine.Column{Name: c.name, Type: c.typ}
	}
	if r.proj.capabilities().ViewsTypedBatch(typed) {
		return r.view(ctx, typedSQL)
	}
	return r.table(ctx, typedSQL)
}
