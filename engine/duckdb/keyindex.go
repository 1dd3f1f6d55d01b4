package duckdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Key indexes: beside each data file of a table written with
// engine.Target.KeyIndex, a Parquet file of the 64-bit hashes of its rows'
// key columns, under the table's hidden folder
// _medallion_keys/<tag>/ at the data file's own relative path. MatchFiles
// then joins the hashes of a batch's keys with those files — fixed-width
// integers, already hashed — instead of reading and hashing every key of
// every file (an SF10 upsert into bronze.orders: 1M order ids, ~70 ms, for
// a 1,000-row batch), and reads the keys of the files whose hashes match
// only, to answer exactly.
//
// An index file is a cache of an immutable data file: a file without one
// (written by another engine or writer, or before indexes existed) is
// read as before, and the tag — the key columns, their types and the
// DuckDB version whose hash() made it — keeps an index from being read
// with other keys or another hash function. Delta readers ignore the
// folder (it starts with "_"), and VACUUM removes an index with its data
// file (delta.Table.Vacuum). Only tables on local disk are indexed.

// KeyIndexDir is the hidden folder of a table that holds its key indexes.
const KeyIndexDir = delta.IndexDir

// libVersion is the linked DuckDB's version once read.
var libVersion atomic.Pointer[string]

// libraryVersion is the linked DuckDB's version, read once.
func (e *Engine) libraryVersion(ctx context.Context) (string, error) {
	if v := libVersion.Load(); v != nil {
		return *v, nil
	}
	res, err := e.Query(ctx, "SELECT library_version FROM pragma_version()")
	if err != nil {
		return "", err
	}
	if len(res.Rows) != 1 {
		return "", errors.New("duckdb: no library version")
	}
	v := fmt.Sprint(res.Rows[0][0])
	libVersion.Store(&v)
	return v, nil
}

// keyIndex is how a table's keys are hashed: the key columns in the files
// and their SQL types, and the folder of the index files for them.
type keyIndex struct {
	exprs []string // CAST("col" AS type), in key order
	dir   string   // _medallion_keys/<tag>
}

// newKeyIndex describes the index of keys (one or more data columns of
// schema) with the alias qualifying the columns ("" for none).
func (e *Engine) newKeyIndex(ctx context.Context, schema *delta.StructType, keys []string, alias string) (*keyIndex, error) {
	ver, err := e.libraryVersion(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "duckdb %s hash\n", ver)
	ki := &keyIndex{}
	for _, k := range keys {
		f, ok := schema.Field(k)
		if !ok {
			return nil, fmt.Errorf("duckdb: key index: no column %q", k)
		}
		t, err := SQLType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("duckdb: key index: column %q: %w", k, err)
		}
		fmt.Fprintf(h, "%s %s\n", strings.ToLower(f.Name), t)
		col := quoteIdent(f.Name)
		if alias != "" {
			col = alias + "." + col
		}
		ki.exprs = append(ki.exprs, "CAST("+col+" AS "+t+")")
	}
	ki.dir = KeyIndexDir + "/v1-" + hex.EncodeToString(h.Sum(nil))[:16]
	return ki, nil
}

// hashExpr is the SQL of a row's key hash.
func (ki *keyIndex) hashExpr() string { return "hash(" + strings.Join(ki.exprs, ", ") + ")" }

// indexKey is the key (relative to the table) of a data file's index
// file, or "" when the file has none (an absolute path: another table's).
func (ki *keyIndex) indexKey(a *delta.Add) string {
	key, err := delta.FileKey(a.Path)
	if err != nil || strings.Contains(key, "://") || strings.HasPrefix(key, "/") {
		return ""
	}
	return ki.dir + "/" + key
}

// writeKeyIndex writes the key index of each file of adds (dst on local
// disk, dst.KeyIndex set): the hash of each row's keys, read back from the
// file as written.
func (e *Engine) writeKeyIndex(ctx context.Context, dst engine.Target, schema *delta.StructType, adds []*delta.Add) error {
	// The keys in the files: MatchFiles matches partition keys by the
	// files' partition values.
	var keys []string
	for _, k := range dst.KeyIndex {
		if !isPartitionColumn(dst.PartitionColumns, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 || len(adds) == 0 {
		return nil
	}
	if _, local := dst.Store.LocalPath(""); !local {
		return nil
	}
	ki, err := e.newKeyIndex(ctx, schema, keys, "")
	if err != nil {
		return err
	}
	for _, a := range adds {
		rel := ki.indexKey(a)
		if rel == "" {
			continue
		}
		key, _ := delta.FileKey(a.Path)
		src, _ := dst.Store.LocalPath(key)
		out, _ := dst.Store.LocalPath(rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("duckdb: key index: %w", err)
		}
		// Written under a temporary name and renamed: a file under the
		// index's name is always whole. The hashes as they come: sorting
		// them or removing repeats (keys of a merged table are unique
		// anyway) cost 3.7 times as much (SF10 silver.order_items: 250
		// against 68 ms of CPU) and saves the lookups nothing; random
		// 64-bit numbers do not compress.
		tmp := out + ".tmp"
		q := "COPY (SELECT " + ki.hashExpr() + " AS h FROM read_parquet(" + quoteString(src) + ")) TO " + quoteString(tmp) + " (FORMAT parquet, COMPRESSION uncompressed)"
		if err := e.Exec(ctx, q); err != nil {
			return fmt.Errorf("duckdb: key index: %w", err)
		}
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("duckdb: key index: %w", err)
		}
	}
	return nil
}

// indexedMatch splits files into those whose key index holds the hash of
// a key of the relation rel (their keys may match: candidates) and those
// without an index (rest); the files whose index holds none of them hold
// none of its keys and are in neither. ok is false when no file has an
// index.
func (e *Engine) indexedMatch(ctx context.Context, snap *delta.Snapshot, files []*delta.Add, keys []string, rel string, nullSafe bool) (candidates, rest []*delta.Add, ok bool, err error) {
	if _, local := snap.Store().LocalPath(""); !local {
		return nil, files, false, nil
	}
	ki, err := e.newKeyIndex(ctx, snap.Schema(), keys, "r")
	if err != nil {
		return nil, files, false, err
	}
	byIndex := map[string]*delta.Add{}
	var list []string
	for _, a := range files {
		k := ki.indexKey(a)
		if k == "" {
			rest = append(rest, a)
			continue
		}
		p, _ := snap.Store().LocalPath(k)
		if _, err := os.Stat(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, false, fmt.Errorf("duckdb: key index: %w", err)
			}
			rest = append(rest, a)
			continue
		}
		byIndex[p] = a
		list = append(list, quoteString(p))
	}
	if len(list) == 0 {
		return nil, files, false, nil
	}
	where := ""
	if !nullSafe {
		// A NULL key matches nothing: its hash need not be looked up.
		conds := make([]string, len(keys))
		for i, k := range keys {
			conds[i] = "r." + quoteIdent(k) + " IS NOT NULL"
		}
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	q := "SELECT DISTINCT s.filename FROM read_parquet([" + strings.Join(list, ", ") + "], filename=true) s SEMI JOIN (SELECT " + ki.hashExpr() + " AS h FROM " + rel + " r" + where + ") b ON s.h = b.h"
	res, err := e.Query(ctx, q)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, false, err
		}
		// An index is a cache: one that cannot be read (damaged, or
		// written by another program) leaves the keys to be read.
		return nil, files, false, nil
	}
	for _, row := range res.Rows {
		if a, found := byIndex[fmt.Sprint(row[0])]; found {
			candidates = append(candidates, a)
		}
	}
	return candidates, rest, true, nil
}

// isPartitionColumn reports whether name is one of parts (case-insensitive).
func isPartitionColumn(parts []string, name string) bool {
	return slices.ContainsFunc(parts, func(p string) bool { return strings.EqualFold(p, name) })
}
