// Package ecommerce is the e-commerce project built into medallion: the
// Olist dataset's sources, the silver cleaning and the gold KPI tables of
// the gold table contract, as a medallion.yaml and SQL models.
package ecommerce

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/medallionhq/medallion/pipeline"
)

//go:embed project
var files embed.FS

// FS is the project's files: medallion.yaml and models/.
func FS() fs.FS {
	sub, err := fs.Sub(files, "project")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Project loads the built-in project rooted at dir (where lake and landing
// resolve).
func Project(dir string) (*pipeline.Project, error) {
	p, err := pipeline.LoadFS(FS(), "built-in ecommerce")
	if err != nil {
		return nil, err
	}
	p.Dir = dir
	return p, nil
}

// Init writes the project into dir, with an empty landing folder per source.
// It refuses to overwrite an existing medallion.yaml.
func Init(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, pipeline.ConfigFile)); err == nil {
		return fmt.Errorf("ecommerce: %s already has a %s", dir, pipeline.ConfigFile)
	}
	err := fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(FS(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("ecommerce: init %s: %w", dir, err)
	}
	p, err := Project(dir)
	if err != nil {
		return err
	}
	for _, s := range p.Sources {
		if err := os.MkdirAll(filepath.Join(dir, p.Config.Landing, filepath.FromSlash(s.Path)), 0o755); err != nil {
			return fmt.Errorf("ecommerce: init %s: %w", dir, err)
		}
	}
	return nil
}
