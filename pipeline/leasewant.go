package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medallionhq/medallion/storage"
)

// Wanted reports whether another process is waiting for the lease (a live
// marker in its queue). A holder that keeps the lease between units of
// work, as an idle stream does between polls, gives it up when it is
// wanted.
func (l *Lease) Wanted(ctx context.Context) (bool, error) {
	st, err := l.state(ctx)
	if err != nil {
		return false, err
	}
	own := queueDir + l.rec.ID + ".json"
	for _, k := range st.queue {
		if k == own {
			continue
		}
		b, err := l.store.ReadAll(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("pipeline: writer lease queue: %w", err)
		}
		var rec leaseRecord
		if json.Unmarshal(b, &rec) != nil || l.now().After(rec.Expires) {
			continue
		}
		return true, nil
	}
	return false, nil
}

// Generation is the lease's generation: each acquisition of a lake's lease
// creates the next one.
func (l *Lease) Generation() int64 { return l.gen }
