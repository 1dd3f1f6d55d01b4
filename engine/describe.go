package engine

import "context"

// Describer is an optional interface of an Engine (a session): Describe
// returns, without running sql, the engine's type name for each of its
// parameters ($1, $2, …) and its result columns, or nil, nil when it
// cannot tell. The Postgres endpoint uses it to answer a client's Describe
// before Execute. Backends: duckdb.
type Describer interface {
	Describe(ctx context.Context, sql string) ([]string, []Column, error)
}

// Describe asks e's Describer; nil, nil, nil when e has none.
func Describe(ctx context.Context, e Engine, sql string) ([]string, []Column, error) {
	if d, ok := e.(Describer); ok {
		return d.Describe(ctx, sql)
	}
	return nil, nil, nil
}
