package fstree_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/fstree"
)

// TestTrees copies and links a tree: the same files with the same bytes
// and modification times; a copy is independent of its source, a link
// shares its file; a missing source is an error naming it.
func TestTrees(t *testing.T) {
	src := t.TempDir()
	old := time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)
	files := map[string]string{"a.csv": "x,y\n1,2\n", "sub/deeper/b.json": `{"k":1}`}
	for rel, body := range files {
		p := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		do     func(src, dst string) error
		shared bool
	}{
		{"copy", fstree.Copy, false},
		{"link", fstree.Link, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			if err := tc.do(src, dst); err != nil {
				t.Fatal(err)
			}
			for rel, body := range files {
				p := filepath.Join(dst, filepath.FromSlash(rel))
				got, err := os.ReadFile(p)
				if err != nil || string(got) != body {
					t.Fatalf("%s: %q, %v; want %q", rel, got, err, body)
				}
				info, err := os.Stat(p)
				if err != nil || !info.ModTime().Equal(old) {
					t.Errorf("%s: modified %v, want %v (%v)", rel, info.ModTime(), old, err)
				}
			}
			if info, err := os.Stat(filepath.Join(dst, "empty")); err != nil || !info.IsDir() {
				t.Errorf("empty folder not recreated: %v", err)
			}
			a, _ := os.Stat(filepath.Join(src, "a.csv"))
			b, _ := os.Stat(filepath.Join(dst, "a.csv"))
			if got := os.SameFile(a, b); got != tc.shared {
				t.Errorf("same file as the source: %v, want %v", got, tc.shared)
			}
		})
	}
	if err := fstree.Copy(filepath.Join(src, "missing"), t.TempDir()); err == nil {
		t.Error("Copy of a missing folder: want an error")
	}
}
