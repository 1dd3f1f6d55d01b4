// Package fstree copies folder trees for benchmarks and tests that start
// many runs from one prepared landing zone or lake: hard links where the
// file system allows them, copies otherwise, modification times kept (the
// pipeline's exactly-once ingestion records them).
package fstree

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Link recreates src's folders under dst and hard-links its regular files
// there, copying a file where a link fails.
func Link(src, dst string) error {
	return walk(src, dst, func(from, to string) error {
		if err := os.Link(from, to); err == nil {
			return nil
		}
		return copyFile(from, to)
	})
}

// Copy recreates src's folders under dst and copies its regular files.
func Copy(src, dst string) error { return walk(src, dst, copyFile) }

// walk calls file for every regular file of src with its place under dst,
// creating dst's folders on the way; other kinds of files are skipped.
func walk(src, dst string, file func(from, to string) error) error {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return file(p, to)
	})
	if err != nil {
		return fmt.Errorf("fstree: %s to %s: %w", src, dst, err)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(to, info.ModTime(), info.ModTime())
}
