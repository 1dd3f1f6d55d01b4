package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/storage"
)

// Object is a file an engine reads, as a storage object: a landing file on
// the landing store, or a file that exists only on local disk (a Kafka
// batch the pipeline wrote, the new bytes of a landing file that grew).
// Each engine decides whether to copy it locally (DuckDB: LocalPaths,
// through the file cache) or to read it in place (Spark: URL, in the
// scheme of its own file systems).
type Object struct {
	// Store and Key locate the object; Store is nil for a local-only
	// file (then Local is set).
	Store *storage.Store
	Key   string
	// Size and ModTime are the object's as listed; they version the
	// cached copy.
	Size    int64
	ModTime time.Time
	// Local, when set, is a local file holding the object's bytes (the
	// file of a local store, a copy already fetched, or a local-only
	// file): an engine that reads local files reads it without a copy.
	Local string
}

// URL is where the object lives: the store's URL joined with the key
// ("s3://bucket/landing/orders/1.csv", "/data/landing/orders/1.csv" for a
// local store opened by path), or Local for a local-only file.
func (o Object) URL() string {
	if o.Store == nil {
		return o.Local
	}
	return strings.TrimSuffix(o.Store.URL(), "/") + "/" + o.Key
}

// String names the object in messages: its URL.
func (o Object) String() string { return o.URL() }

// LocalObject is a local-only file as an Object.
func LocalObject(path string) Object { return Object{Local: path} }

// LocalPaths returns a local path for each object, in order: Local when
// set, else a copy in cache, downloaded (up to 8 at a time) when missing.
// A cached copy is keyed by store, key, size and modification time, so a
// rewritten object is fetched again.
func LocalPaths(ctx context.Context, cache *filecache.Cache, objs []Object) ([]string, error) {
	out := make([]string, len(objs))
	var fetch []filecache.Object
	var at []int
	for i, o := range objs {
		switch {
		case o.Local != "":
			out[i] = o.Local
		case o.Store == nil:
			return nil, fmt.Errorf("engine: object %d has neither a store nor a local path", i)
		default:
			if p, ok := o.Store.LocalPath(o.Key); ok {
				out[i] = p
				continue
			}
			fetch = append(fetch, filecache.Object{Store: o.Store, Key: o.Key, Version: fmt.Sprintf("%d-%d", o.Size, o.ModTime.UnixMilli()), Size: o.Size})
			at = append(at, i)
		}
	}
	if len(fetch) == 0 {
		return out, nil
	}
	if cache == nil {
		return nil, fmt.Errorf("engine: %s: %w, and the engine has no file cache", objs[at[0]], ErrNotLocal)
	}
	paths, err := cache.Paths(ctx, fetch)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	for j, i := range at {
		out[i] = paths[j]
	}
	return out, nil
}
