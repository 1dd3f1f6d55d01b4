package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/medallionhq/medallion/engine"
)

// A process keeps one engine owner per project (and engine configuration):
// runs, stream micro-batches, job-history writes and schema checks take
// sessions of it (openEngine), and so do the sandboxed query sessions of
// `medallion serve` (OpenSession), from an owner confined to the lake and
// the file cache before its first session. Owners stay open between
// sessions (a stream's batches share one), up to maxIdleOwners idle ones.
var owners = struct {
	sync.Mutex
	m map[string]*owned
	// tick orders the owners by last use.
	tick int64
}{m: map[string]*owned{}}

// owned is an owner with its open sessions and when it was last used.
type owned struct {
	engine.Owner
	sessions int
	used     int64
	// closed: the project was closed (Project.Close); the owner closes
	// when its last session does.
	closed bool
}

// maxIdleOwners bounds the owners kept open without a session: a process
// serving one or two projects keeps them all; a test binary going through
// hundreds of projects closes the least recently used.
const maxIdleOwners = 4

// ownerFor returns the project's engine owner for a memory limit ("": the
// project's) and sandbox (nil: none), opening it on first use, and counts
// a session of it (release uncounts it).
func ownerFor(ctx context.Context, proj *Project, memoryLimit string, sandbox []string) (o engine.Owner, release func(), err error) {
	ec := proj.Config.Engine
	cache, err := cacheFor(proj)
	if err != nil {
		return nil, nil, err
	}
	key := fmt.Sprintf("%s\x00%s\x00%v\x00%s\x00%q\x00%t\x00%s", proj.Dir, ec.Kind, ec.Settings[ec.Kind], memoryLimit, sandbox, sandbox != nil, cache.Dir())
	owners.Lock()
	defer owners.Unlock()
	w, ok := owners.m[key]
	if !ok {
		eo, err := engine.OpenOwner(ctx, &engine.Config{Kind: ec.Kind, Settings: ec.Settings[ec.Kind], Dir: proj.Dir, MemoryLimit: memoryLimit, Cache: cache, Sandbox: sandbox})
		if err != nil {
			return nil, nil, fmt.Errorf("pipeline: %w", err)
		}
		w = &owned{Owner: eo}
		owners.m[key] = w
	}
	owners.tick++
	w.used = owners.tick
	w.sessions++
	var once sync.Once
	return w.Owner, func() {
		once.Do(func() {
			owners.Lock()
			defer owners.Unlock()
			w.sessions--
			if w.closed && w.sessions == 0 {
				w.Close()
			}
			closeIdleOwners()
		})
	}, nil
}

// closeIdleOwners closes the least recently used owners without sessions
// beyond maxIdleOwners. owners is locked.
func closeIdleOwners() {
	var idle []string
	for k, w := range owners.m {
		if w.sessions == 0 {
			idle = append(idle, k)
		}
	}
	if len(idle) <= maxIdleOwners {
		return
	}
	slices.SortFunc(idle, func(a, b string) int { return cmp.Compare(owners.m[a].used, owners.m[b].used) })
	for _, k := range idle[:len(idle)-maxIdleOwners] {
		owners.m[k].Close()
		delete(owners.m, k)
	}
}

// closeOwners closes the project's engine owners: those without sessions
// now, the others when their last session closes. The next session opens
// a new owner.
func closeOwners(proj *Project) error {
	owners.Lock()
	defer owners.Unlock()
	var errs []error
	for k, w := range owners.m {
		if !strings.HasPrefix(k, proj.Dir+"\x00") {
			continue
		}
		delete(owners.m, k)
		w.closed = true
		if w.sessions == 0 {
			errs = append(errs, w.Close())
		}
	}
	return errors.Join(errs...)
}

// ownedSession is a session that tells its owner when it closes.
type ownedSession struct {
	engine.Engine
	release func()
}

// Close closes the session.
func (s *ownedSession) Close() error {
	err := s.Engine.Close()
	s.release()
	return err
}

// Describe is the engine's Describe when it has one (see Session.Describe).
func (s *ownedSession) Describe(ctx context.Context, sql string) ([]string, []engine.Column, error) {
	return engine.Describe(ctx, s.Engine, sql)
}

// session opens a session of the project's owner and checks that every
// model is exactly one query.
func session(ctx context.Context, proj *Project, trace io.Writer, memoryLimit string, sandbox []string) (engine.Engine, error) {
	o, release, err := ownerFor(ctx, proj, memoryLimit, sandbox)
	if err != nil {
		return nil, err
	}
	inner, err := o.Session(ctx, engine.SessionOptions{Trace: trace})
	if err != nil {
		release()
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	eng := &ownedSession{Engine: inner, release: release}
	if err := checkModels(ctx, eng, proj); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}

// queryDirs are the local directories a query session may read: the lake
// (when local) and the file cache (the engine adds its temp directory).
func queryDirs(proj *Project) []string {
	dirs := []string{}
	if root := proj.Resolve(proj.Config.Lake); !strings.Contains(root, "://") {
		dirs = append(dirs, root)
	} else if p, ok := strings.CutPrefix(root, "file://"); ok {
		dirs = append(dirs, p)
	}
	if c, err := cacheFor(proj); err == nil {
		dirs = append(dirs, c.Dir())
	}
	return dirs
}
