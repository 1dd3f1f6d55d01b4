package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// Session answers read-only SQL over a project's lake: every table as
// layer.table at its latest version, the project's views, and any Delta
// table by path through delta_scan('path').
type Session struct {
	proj *Project
	lake *Lake
	eng  engine.Engine
	seq  int
	// broken holds the damaged tables (see DamagedTableError): left
	// unbound, so that the other tables stay queryable.
	broken map[string]error
}

// OpenSession opens an engine over the project's lake.
func OpenSession(ctx context.Context, proj *Project) (*Session, error) {
	lake, err := OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return nil, err
	}
	eng, err := openEngine(ctx, proj, nil)
	if err != nil {
		return nil, err
	}
	s := &Session{proj: proj, lake: lake, eng: eng, broken: map[string]error{}}
	if err := s.Refresh(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return s, nil
}

// Lake is the session's lake.
func (s *Session) Lake() *Lake { return s.lake }

// Close releases the engine.
func (s *Session) Close() error { return s.eng.Close() }

// Refresh rebinds every table to its latest snapshot.
func (s *Session) Refresh(ctx context.Context) error {
	names, err := s.lake.Tables(ctx)
	if err != nil {
		return err
	}
	bound := map[string]bool{}
	s.broken = map[string]error{}
	for _, n := range names {
		snap, err := s.lake.Snapshot(ctx, n)
		if err != nil {
			return err
		}
		if snap == nil {
			continue
		}
		if err := s.eng.Bind(ctx, n, snap, nil); err != nil {
			if derr := checkDamage(ctx, s.lake, n, snap); derr != nil {
				s.broken[n] = derr
				continue
			}
			return err
		}
		bound[n] = true
	}
	order, err := s.proj.Order()
	if err != nil {
		return err
	}
	for _, m := range order {
		if m.Materialized != View {
			continue
		}
		ok := true
		for _, d := range m.Deps {
			ok = ok && bound[d]
		}
		if !ok {
			for _, d := range m.Deps {
				if err, damaged := s.broken[d]; damaged {
					s.broken[m.Name] = err
				}
			}
			continue
		}
		if err := s.eng.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+sqlIdent(Layer(m.Name))+"; CREATE OR REPLACE VIEW "+qualifiedIdent(m.Name)+" AS "+m.SQL); err != nil {
			return fmt.Errorf("pipeline: view %s: %w", m.Name, err)
		}
		bound[m.Name] = true
	}
	return nil
}

var deltaScanRE = regexp.MustCompile(`(?i)\bdelta_scan\s*\(\s*'((?:[^']|'')*)'\s*\)`)
var writeRE = regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE|COPY|ATTACH|DETACH|INSTALL|LOAD|SET|RESET|PRAGMA|EXPORT|IMPORT|CALL|CHECKPOINT|VACUUM|USE|GRANT)\b`)
var readOnlyRE = regexp.MustCompile(`(?is)^\s*(\(\s*)*(SELECT|WITH|FROM|VALUES|DESCRIBE|SUMMARIZE|SHOW|TABLE)\b`)

// ErrNotReadOnly means a statement would change something.
var ErrNotReadOnly = fmt.Errorf("pipeline: only read-only statements (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, SHOW) are allowed")

// Query runs one read-only statement.
func (s *Session) Query(ctx context.Context, sql string) (*engine.Result, error) {
	sql = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql), ";"))
	if clean := stripSQL(sql); !readOnlyRE.MatchString(clean) || strings.Contains(clean, ";") || writeRE.MatchString(clean) {
		return nil, ErrNotReadOnly
	}
	var rerr error
	sql = deltaScanRE.ReplaceAllStringFunc(sql, func(m string) string {
		loc := strings.ReplaceAll(deltaScanRE.FindStringSubmatch(m)[1], "''", "'")
		name, err := s.bindPath(ctx, loc)
		if err != nil {
			rerr = err
			return m
		}
		return name
	})
	if rerr != nil {
		return nil, rerr
	}
	if err := brokenRef(sql, s.broken); err != nil {
		return nil, err
	}
	res, err := s.eng.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("pipeline: query: %w", err)
	}
	return res, nil
}

// bindPath binds the Delta table at loc under a fresh name.
func (s *Session) bindPath(ctx context.Context, loc string) (string, error) {
	store, err := storage.Open(ctx, loc)
	if err != nil {
		return "", err
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		return "", err
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		return "", fmt.Errorf("pipeline: delta_scan('%s'): %w", loc, err)
	}
	s.seq++
	name := fmt.Sprintf("__delta_scan_%d", s.seq)
	if err := s.eng.Bind(ctx, name, snap, nil); err != nil {
		return "", err
	}
	return name, nil
}
