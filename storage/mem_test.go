package storage_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

// memNames makes mem:// names unique across tests and -count repetitions,
// since named memory stores live as long as the process.
var memNames atomic.Int64

func uniqueMemURL() string {
	return fmt.Sprintf("mem://test-%d", memNames.Add(1))
}

func TestMemoryConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		return storage.NewMemory()
	})
}

func TestMemoryOpenConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(t.Context(), uniqueMemURL())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMemorySubConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		s, err := storage.NewMemory().Sub("lake")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMemoryOpenShared(t *testing.T) {
	ctx := t.Context()
	loc := uniqueMemURL()
	a, err := storage.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := storage.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("second Open of %s: ReadAll = %q, %v; want the first store's object", loc, got, err)
	}
	if err := b.CreateIfAbsent(ctx, "k", []byte("w")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("CreateIfAbsent through the second Open = %v, want ErrExists", err)
	}

	other, err := storage.Open(ctx, uniqueMemURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Stat(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another name sees the object: %v", err)
	}
	if _, err := storage.NewMemory().Stat(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("NewMemory sees the object: %v", err)
	}
	if _, err := storage.Open(ctx, "mem://"); err == nil {
		t.Error("Open(mem://) succeeded, want an error for the missing name")
	}
	if _, ok := b.LocalPath("k"); ok {
		t.Error("memory store claims local paths")
	}
}

func TestMemoryCopiesData(t *testing.T) {
	ctx := t.Context()
	s := storage.NewMemory()
	data := []byte("original")
	if err := s.Write(ctx, "w", data); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIfAbsent(ctx, "c", data); err != nil {
		t.Fatal(err)
	}
	copy(data, "CHANGED!")
	got, err := s.ReadAll(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "CHANGED!")
	for _, key := range []string{"w", "c"} {
		if b, err := s.ReadAll(ctx, key); err != nil || string(b) != "original" {
			t.Errorf("ReadAll(%q) = %q, %v; the store must not share the caller's slices", key, b, err)
		}
	}
}
