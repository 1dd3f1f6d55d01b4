// Package filecache keeps local copies of objects from remote stores, for
// engines that read only local files (DuckDB over an ADLS, S3 or GCS lake).
// Copies are keyed by store, key and a version (size and modification time
// for immutable Delta data files, or an ETag), downloaded in parallel, and
// evicted least recently used beyond a size bound.
package filecache

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/storage"
)

// Object names one version of one object.
type Object struct {
	Store   *storage.Store
	Key     string
	Version string // changes whenever the content may have changed
	Size    int64  // for the size bound; 0 if unknown
}

// Cache is a bounded local cache. It is safe for concurrent use.
type Cache struct {
	dir      string
	maxBytes int64
	// keep protects entries used recently from eviction, so files a bound
	// query may still read are not removed under it.
	keep time.Duration

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // front = most recently used
	size    int64
	loading map[string]*load

	hits, misses int64
}

type entry struct {
	name     string
	path     string
	size     int64
	lastUsed time.Time
}

type load struct {
	done chan struct{}
	err  error
}

// New opens a cache in dir (created if missing) holding at most maxBytes.
// Copies left by an earlier process are removed (only the cache's own
// files: anything else in dir is left alone).
func New(dir string, maxBytes int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("filecache: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("filecache: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && (ownName.MatchString(n) || strings.HasPrefix(n, ".part-")) {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return &Cache{dir: dir, maxBytes: maxBytes, keep: 10 * time.Minute, entries: map[string]*list.Element{}, lru: list.New(), loading: map[string]*load{}}, nil
}

// Dir is the directory holding the cached copies.
func (c *Cache) Dir() string { return c.dir }

// Stats returns the cache's hits and misses so far.
func (c *Cache) Stats() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// ownName matches the names of cached copies.
var ownName = regexp.MustCompile(`^[0-9a-f]{32}(\.[A-Za-z0-9]+)?$`)

func name(o Object) string {
	h := sha256.Sum256([]byte(o.Store.URL() + "\x00" + o.Key + "\x00" + o.Version))
	return hex.EncodeToString(h[:16]) + filepath.Ext(o.Key)
}

// Paths returns local paths for objects, in order, downloading the missing
// ones with up to 8 transfers at a time.
func (c *Cache) Paths(ctx context.Context, objs []Object) ([]string, error) {
	out := make([]string, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, o := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = c.Path(ctx, o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Path returns a local path holding the object's bytes.
func (c *Cache) Path(ctx context.Context, o Object) (string, error) {
	n := name(o)
	for {
		c.mu.Lock()
		if el, ok := c.entries[n]; ok {
			e := el.Value.(*entry)
			e.lastUsed = time.Now()
			c.lru.MoveToFront(el)
			c.hits++
			c.mu.Unlock()
			return e.path, nil
		}
		if l, ok := c.loading[n]; ok {
			c.mu.Unlock()
			<-l.done
			if l.err != nil {
				return "", l.err
			}
			continue
		}
		l := &load{done: make(chan struct{})}
		c.loading[n] = l
		c.misses++
		c.mu.Unlock()

		path, size, err := c.download(ctx, o, n)
		c.mu.Lock()
		delete(c.loading, n)
		if err == nil {
			e := &entry{name: n, path: path, size: size, lastUsed: time.Now()}
			c.entries[n] = c.lru.PushFront(e)
			c.size += size
			c.evictLocked()
		}
		l.err = err
		close(l.done)
		c.mu.Unlock()
		return path, err
	}
}

func (c *Cache) download(ctx context.Context, o Object, n string) (string, int64, error) {
	rc, err := o.Store.NewRangeReader(ctx, o.Key, 0, -1)
	if err != nil {
		return "", 0, fmt.Errorf("filecache: %w", err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(c.dir, ".part-*")
	if err != nil {
		return "", 0, fmt.Errorf("filecache: %w", err)
	}
	size, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, fmt.Errorf("filecache: download %s/%s: %w", o.Store.URL(), o.Key, err)
	}
	path := filepath.Join(c.dir, n)
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return "", 0, fmt.Errorf("filecache: %w", err)
	}
	return path, size, nil
}

// evictLocked removes least recently used files, never ones used within
// the keep period, until the cache is within its bound.
func (c *Cache) evictLocked() {
	cutoff := time.Now().Add(-c.keep)
	for el := c.lru.Back(); el != nil && c.size > c.maxBytes; {
		e := el.Value.(*entry)
		prev := el.Prev()
		if e.lastUsed.Before(cutoff) {
			os.Remove(e.path)
			c.size -= e.size
			delete(c.entries, e.name)
			c.lru.Remove(el)
		}
		el = prev
	}
}

// SetKeep changes how long a used file is protected from eviction (tests).
func (c *Cache) SetKeep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keep = d
}

// Size is the bytes the cache holds.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
