package filecache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/storage"
)

func TestCacheDownloadsOnceAndEvicts(t *testing.T) {
	ctx := context.Background()
	store := storage.NewMemory()
	for _, k := range []string{"a.parquet", "b.parquet", "c.parquet"} {
		if err := store.Write(ctx, k, bytes.Repeat([]byte(k[:1]), 100)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := filecache.New(filepath.Join(t.TempDir(), "cache"), 250)
	if err != nil {
		t.Fatal(err)
	}
	c.SetKeep(0)
	obj := func(k string) filecache.Object { return filecache.Object{Store: store, Key: k, Version: "1"} }
	// Concurrent requests for one object download it once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Path(ctx, obj("a.parquet")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if hits, misses := c.Stats(); misses != 1 || hits != 7 {
		t.Fatalf("hits %d misses %d, want 7 and 1", hits, misses)
	}
	// One at a time, so that the least recently used is a.
	var paths []string
	for _, k := range []string{"a.parquet", "b.parquet", "c.parquet"} {
		p, err := c.Path(ctx, obj(k))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	b, err := os.ReadFile(paths[2])
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte("c"), 100)) {
		t.Fatalf("content of c: %q %v", b, err)
	}
	// 300 bytes > 250: the least recently used (a) is evicted.
	if c.Size() > 250 {
		t.Fatalf("cache holds %d bytes, bound 250", c.Size())
	}
	if _, err := os.Stat(paths[0]); !os.IsNotExist(err) {
		t.Fatalf("a should have been evicted: %v", err)
	}
	// A new version of an object is a new copy.
	if err := store.Write(ctx, "c.parquet", []byte("new")); err != nil {
		t.Fatal(err)
	}
	p, err := c.Path(ctx, filecache.Object{Store: store, Key: "c.parquet", Version: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("version 2 reads %q", b)
	}
}

func TestPathsDownloadsInParallel(t *testing.T) {
	ctx := context.Background()
	store := storage.NewMemory()
	var objs []filecache.Object
	for i := range 20 {
		k := fmt.Sprintf("f%02d.parquet", i)
		if err := store.Write(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, filecache.Object{Store: store, Key: k, Version: "1"})
	}
	c, err := filecache.New(filepath.Join(t.TempDir(), "cache"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := c.Paths(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		if b, err := os.ReadFile(p); err != nil || string(b) != objs[i].Key {
			t.Fatalf("%s: read %q, %v", objs[i].Key, b, err)
		}
	}
	if _, err := c.Paths(ctx, []filecache.Object{{Store: store, Key: "missing.parquet", Version: "1"}}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a missing object: got %v, want ErrNotFound", err)
	}
}
