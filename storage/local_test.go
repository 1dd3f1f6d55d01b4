package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/storage"
	"github.com/medallionhq/medallion/storage/storagetest"
)

func TestMain(m *testing.M) {
	storagetest.MaybeRunChild()
	os.Exit(m.Run())
}

// newLocal returns a local store over a fresh temporary directory.
func newLocal(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLocalConformance(t *testing.T) {
	storagetest.RunConformance(t, newLocal)
}

func TestLocalSubConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		sub, err := newLocal(t).Sub("lake/tables")
		if err != nil {
			t.Fatal(err)
		}
		return sub
	})
}

func TestLocalOpenURLConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(t.Context(), fileURL(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestLocalCrossProcessCreate(t *testing.T) {
	storagetest.RunCrossProcessCreate(t, t.TempDir(), 8)
}

// fileURL returns the file:// URL of an absolute directory.
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letter
	}
	return "file://" + p
}

// dirNames returns the sorted names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func listKeys(t *testing.T, s *storage.Store, prefix string) []string {
	t.Helper()
	objs, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	keys := []string{}
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func TestLocalTempFilesHidden(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	s, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "_delta_log/00000000000000000000.json", []byte("commit")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIfAbsent(ctx, "_delta_log/00000000000000000001.json", []byte("commit")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIfAbsent(ctx, "_delta_log/00000000000000000001.json", []byte("lost")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second CreateIfAbsent: %v", err)
	}
	// Successful and failed operations leave no temporary files.
	want := []string{"00000000000000000000.json", "00000000000000000001.json"}
	if got := dirNames(t, filepath.Join(root, "_delta_log")); !slices.Equal(got, want) {
		t.Fatalf("_delta_log holds %q, want %q", got, want)
	}

	// Files left by writers that crashed before renaming.
	for _, name := range []string{"_delta_log/.tmp-0123abcd", ".tmp-top", "_delta_log/.tmp-"} {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), []byte("partial"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := listKeys(t, s, ""), []string{"_delta_log/00000000000000000000.json", "_delta_log/00000000000000000001.json"}; !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
	for _, prefix := range []string{"_delta_log/.tmp", "_delta_log/.", ".tmp-", "."} {
		if got := listKeys(t, s, prefix); len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing", prefix, got)
		}
	}
	const tmpKey = "_delta_log/.tmp-0123abcd"
	if _, err := s.Stat(ctx, tmpKey); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(temporary file) = %v, want ErrNotFound", err)
	}
	if _, err := s.ReadAll(ctx, tmpKey); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ReadAll(temporary file) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, tmpKey); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete(temporary file) = %v, want ErrNotFound", err)
	}
	if err := s.Write(ctx, tmpKey, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Write(temporary name) = %v, want ErrInvalidKey", err)
	}
	if err := s.CreateIfAbsent(ctx, "x/.tmp-new", []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("CreateIfAbsent(temporary name) = %v, want ErrInvalidKey", err)
	}
	// Names merely containing the marker are ordinary keys.
	for _, key := range []string{"a.tmp-b", ".tmp-dir/file", "x/.tmp"} {
		if err := s.Write(ctx, key, []byte("ok")); err != nil {
			t.Errorf("Write(%q): %v", key, err)
		}
	}
	if got, want := listKeys(t, s, ""), []string{".tmp-dir/file", "_delta_log/00000000000000000000.json", "_delta_log/00000000000000000001.json", "a.tmp-b", "x/.tmp"}; !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
}

func TestLocalSub(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	lake, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	table, err := lake.Sub("warehouse/sales")
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Write(ctx, "part=1/f.parquet", []byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := lake.Write(ctx, "warehouse/salesman/x", []byte("sibling")); err != nil {
		t.Fatal(err)
	}
	if got, want := listKeys(t, table, ""), []string{"part=1/f.parquet"}; !slices.Equal(got, want) {
		t.Errorf("Sub List = %q, want %q", got, want)
	}
	if got, want := listKeys(t, table, "part=1/"), []string{"part=1/f.parquet"}; !slices.Equal(got, want) {
		t.Errorf("Sub List(part=1/) = %q, want %q", got, want)
	}
	oi, err := table.Stat(ctx, "part=1/f.parquet")
	if err != nil || oi.Key != "part=1/f.parquet" || oi.Size != 4 {
		t.Errorf("Sub Stat = %+v, %v", oi, err)
	}
	p, ok := table.LocalPath("part=1/f.parquet")
	if want := filepath.Join(root, "warehouse", "sales", "part=1", "f.parquet"); !ok || p != want {
		t.Errorf("Sub LocalPath = %q, %v; want %q, true", p, ok, want)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "data" {
		t.Errorf("reading the local path: %q, %v", b, err)
	}
	if _, ok := lake.Driver().(storage.LocalPather); !ok {
		t.Error("the local driver does not implement LocalPather")
	}
	if got := table.URL(); got != root+"/warehouse/sales" {
		t.Errorf("Sub URL = %q", got)
	}
}

func TestLocalOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t.Chdir(dir)

	rel, err := storage.Open(ctx, filepath.Join("relative", "lake"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rel.Write(ctx, "a.json", []byte("rel")); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "relative", "lake")
	p, ok := rel.LocalPath("a.json")
	if !ok || !filepath.IsAbs(p) || p != filepath.Join(abs, "a.json") {
		t.Errorf("LocalPath = %q, %v; want %q", p, ok, filepath.Join(abs, "a.json"))
	}
	// The relative store stays where it was opened when the directory changes.
	t.Chdir(t.TempDir())
	if b, err := rel.ReadAll(ctx, "a.json"); err != nil || string(b) != "rel" {
		t.Errorf("ReadAll after chdir = %q, %v", b, err)
	}

	for _, loc := range []string{abs, fileURL(abs), "file://localhost" + strings.TrimPrefix(fileURL(abs), "file://")} {
		s, err := storage.Open(ctx, loc)
		if err != nil {
			t.Errorf("Open(%q): %v", loc, err)
			continue
		}
		if b, err := s.ReadAll(ctx, "a.json"); err != nil || string(b) != "rel" {
			t.Errorf("Open(%q): ReadAll = %q, %v", loc, b, err)
		}
		if s.URL() != loc {
			t.Errorf("Open(%q).URL() = %q", loc, s.URL())
		}
	}

	created := filepath.Join(dir, "new", "nested", "root")
	if _, err := storage.Open(ctx, fileURL(created)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(created); err != nil || !fi.IsDir() {
		t.Errorf("Open did not create the root directory: %v", err)
	}

	if _, err := storage.Open(ctx, "file://otherhost/x"); err == nil {
		t.Error("Open(file://otherhost/x) succeeded, want an error")
	}
	if _, err := storage.Open(ctx, "nope://x"); !errors.Is(err, storage.ErrUnsupportedScheme) {
		t.Errorf("Open(nope://x) = %v, want ErrUnsupportedScheme", err)
	}
	if _, err := storage.Open(ctx, ""); err == nil {
		t.Error("Open(\"\") succeeded, want an error")
	}
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.NewLocal(file); err == nil || !strings.HasPrefix(err.Error(), "storage: ") {
		t.Errorf("NewLocal(regular file) = %v, want a storage error", err)
	}
	if _, err := storage.Open(ctx, file); err == nil {
		t.Error("Open(regular file) succeeded, want an error")
	}
}

func TestLocalDeletePrunesEmptyDirectories(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	s, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a/b/c/f.parquet", "a/g.parquet"} {
		if err := s.Write(ctx, key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a/b/c/f.parquet"); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, filepath.Join(root, "a")); !slices.Equal(got, []string{"g.parquet"}) {
		t.Errorf("a holds %q after deleting a/b/c/f.parquet, want only g.parquet", got)
	}
	if err := s.Delete(ctx, "a/g.parquet"); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, root); len(got) != 0 {
		t.Errorf("root holds %q after deleting everything, want nothing", got)
	}
	// Deleting through a Sub store never removes the parent store's root.
	sub, err := s.Sub("t")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Write(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	if err := sub.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed: %v", err)
	}
}

// TestLocalWriteDeleteRace checks that writers recreate directories that
// concurrent deletes prune.
func TestLocalWriteDeleteRace(t *testing.T) {
	ctx := t.Context()
	s := newLocal(t)
	const goroutines, iterations = 6, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range iterations {
				key := fmt.Sprintf("p/q/r/g%d-%d", g, i)
				var err error
				if i%2 == 0 {
					err = s.Write(ctx, key, []byte("x"))
				} else {
					err = s.CreateIfAbsent(ctx, key, []byte("x"))
				}
				if err != nil {
					t.Errorf("create %s: %v", key, err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Errorf("delete %s: %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List = %q, want nothing", got)
	}
}
