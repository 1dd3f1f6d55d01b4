package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/medallionhq/medallion/engine"
)

// A process keeps one engine owner per project (and engine configuration):
// runs, stream micro-batches, job-history writes and schema checks take
// sessions of it (openEngine), and so do the sandboxed query sessions of
// `medallion serve` (openQueryEngine), from an owner confined to the lake
// and the file cache before its first session. Owners live as long as the
// process, like the file caches (cacheFor).
var owners = struct {
	sync.Mutex
	m map[string]engine.Owner
}{m: map[string]engine.Owner{}}

// ownerFor returns the project's engine owner for a memory limit ("": the
// project's) and sandbox (nil: none), opening it on first use.
func ownerFor(ctx context.Context, proj *Project, memoryLimit string, sandbox []string) (engine.Owner, error) {
	ec := proj.Config.Engine
	cache, err := cacheFor(proj)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s\x00%s\x00%v\x00%s\x00%q\x00%t\x00%s", proj.Dir, ec.Kind, ec.Settings[ec.Kind], memoryLimit, sandbox, sandbox != nil, cache.Dir())
	owners.Lock()
	defer owners.Unlock()
	if o, ok := owners.m[key]; ok {
		return o, nil
	}
	o, err := engine.OpenOwner(ctx, &engine.Config{Kind: ec.Kind, Settings: ec.Settings[ec.Kind], Dir: proj.Dir, MemoryLimit: memoryLimit, Cache: cache, Sandbox: sandbox})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	owners.m[key] = o
	return o, nil
}

// session opens a session of the project's owner and checks that every
// model is exactly one query.
func session(ctx context.Context, proj *Project, trace io.Writer, memoryLimit string, sandbox []string) (engine.Engine, error) {
	o, err := ownerFor(ctx, proj, memoryLimit, sandbox)
	if err != nil {
		return nil, err
	}
	eng, err := o.Session(ctx, engine.SessionOptions{Trace: trace})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
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
