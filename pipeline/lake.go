package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/storage"
)

// Lake is the set of Delta tables under a lake root, addressed as
// layer.table (stored at <root>/<layer>/<table>).
type Lake struct {
	store *storage.Store
	opts  *delta.Options

	mu     sync.Mutex
	tables map[string]*delta.Table
}

// OpenLake opens the lake at location (a path or URL).
func OpenLake(ctx context.Context, location string, opts *delta.Options) (*Lake, error) {
	store, err := storage.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("pipeline: open lake: %w", err)
	}
	return &Lake{store: store, opts: opts, tables: map[string]*delta.Table{}}, nil
}

// Store is the lake's root store.
func (l *Lake) Store() *storage.Store { return l.store }

// Table returns the handle of a table (which may not exist yet).
func (l *Lake) Table(ctx context.Context, name string) (*delta.Table, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tables[name]; ok {
		return t, nil
	}
	sub, err := l.store.Sub(tableKey(name))
	if err != nil {
		return nil, fmt.Errorf("pipeline: table %s: %w", name, err)
	}
	t, err := delta.OpenTable(ctx, sub, l.opts)
	if err != nil {
		return nil, err
	}
	l.tables[name] = t
	return t, nil
}

// Snapshot returns the latest snapshot of a table, or nil if the table does
// not exist yet.
func (l *Lake) Snapshot(ctx context.Context, name string) (*delta.Snapshot, error) {
	t, err := l.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	ok, err := t.Exists(ctx)
	if err != nil || !ok {
		return nil, err
	}
	return t.Snapshot(ctx)
}

// Tables lists the tables that exist in the lake, as layer.table names.
func (l *Lake) Tables(ctx context.Context) ([]string, error) {
	var out []string
	for _, layer := range []string{"bronze", "silver", "gold", "medallion"} {
		if dir, ok := l.store.LocalPath(layer); ok {
			// On local disk, read the layer's folders rather than listing
			// every data file below them.
			ents, err := os.ReadDir(dir)
			if err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("pipeline: list tables: %w", err)
			}
			for _, e := range ents {
				if e.IsDir() {
					if _, err := os.Stat(filepath.Join(dir, e.Name(), "_delta_log")); err == nil {
						out = append(out, layer+"."+e.Name())
					}
				}
			}
			continue
		}
		objs, err := l.store.List(ctx, layer+"/")
		if err != nil {
			return nil, fmt.Errorf("pipeline: list tables: %w", err)
		}
		seen := map[string]bool{}
		for _, o := range objs {
			// layer/table/_delta_log/....json
			rest := o.Key[len(layer)+1:]
			name, after, ok := cutSlash(rest)
			if !ok || seen[name] {
				continue
			}
			if len(after) > len("_delta_log/") && after[:len("_delta_log/")] == "_delta_log/" {
				seen[name] = true
				out = append(out, layer+"."+name)
			}
		}
	}
	return out, nil
}

func cutSlash(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
