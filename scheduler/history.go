package scheduler

import (
	"context"
	"sync"
)

// History persists runs. The server stores them in a Delta table; tests and
// single-process setups use MemoryHistory. Implementations must be safe for
// concurrent use.
type History interface {
	// Append records one run.
	Append(ctx context.Context, r Run) error
	// List returns up to limit runs of job (all jobs when job is ""), newest
	// first; limit <= 0 means no limit.
	List(ctx context.Context, job string, limit int) ([]Run, error)
}

// MemoryHistory is an in-memory History. Sharing one between Scheduler
// instances models a restart over persistent history.
type MemoryHistory struct {
	mu   sync.Mutex
	runs []Run
}

// NewMemoryHistory returns an empty MemoryHistory.
func NewMemoryHistory() *MemoryHistory { return &MemoryHistory{} }

// Append implements History.
func (h *MemoryHistory) Append(_ context.Context, r Run) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs = append(h.runs, r)
	return nil
}

// List implements History: newest (last appended) first.
func (h *MemoryHistory) List(_ context.Context, job string, limit int) ([]Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Run
	for i := len(h.runs) - 1; i >= 0; i-- {
		if job != "" && h.runs[i].Job != job {
			continue
		}
		out = append(out, h.runs[i])
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}
