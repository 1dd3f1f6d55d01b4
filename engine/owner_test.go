package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
)

// perSessionEngine is the engine of the test kind "persession", which registers no
// owner: it records its Sandbox calls and, when describes is set, answers
// Describe. The embedded Engine is nil: any other method panics.
type perSessionEngine struct {
	engine.Engine
	sandboxes [][]string
}

func (g *perSessionEngine) Sandbox(ctx context.Context, dirs []string) error {
	if len(g.sandboxes) > 0 {
		// Like DuckDB's: a confined engine's configuration is locked.
		return os.ErrPermission
	}
	g.sandboxes = append(g.sandboxes, slices.Clone(dirs))
	return nil
}

func (g *perSessionEngine) Close() error { return nil }

type describingEngine struct{ *perSessionEngine }

func (d describingEngine) Describe(ctx context.Context, sql string) ([]string, []engine.Column, error) {
	return []string{"BIGINT"}, []engine.Column{{Name: sql}}, nil
}

var perSessionOpened []*perSessionEngine

func init() {
	engine.Register("persession", func(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
		g := &perSessionEngine{}
		perSessionOpened = append(perSessionOpened, g)
		if cfg.Settings["describes"] == true {
			return describingEngine{g}, nil
		}
		return g, nil
	}, nil)
}

// TestOwnerWithoutOwnerFuncConfinesOnce: a kind that registers no owner
// gets one engine per session; with a sandbox, each engine is confined
// once when it opens, and the session's own Sandbox call (the pipeline's
// query sessions make one) only confirms directories under the owner's —
// it neither confines the engine again (which a locked engine refuses) nor
// lets a directory outside, or a symlink out, through. Describe reaches
// the engine's own, when it has one.
func TestOwnerWithoutOwnerFuncConfinesOnce(t *testing.T) {
	ctx := context.Background()
	lake := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(lake, "silver"), 0o755); err != nil {
		t.Fatal(err)
	}
	escape := filepath.Join(lake, "escape")
	if err := os.Symlink(outside, escape); err != nil {
		t.Fatal(err)
	}
	for _, describes := range []bool{false, true} {
		perSessionOpened = nil
		o, err := engine.OpenOwner(ctx, &engine.Config{Kind: "persession", Sandbox: []string{lake}, Settings: map[string]any{"describes": describes}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := o.Session(ctx, engine.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(perSessionOpened) != 1 || len(perSessionOpened[0].sandboxes) != 1 || !slices.Equal(perSessionOpened[0].sandboxes[0], []string{lake}) {
			t.Fatalf("describes=%v: the session's engine was not confined once to the lake when it opened: %+v", describes, perSessionOpened)
		}
		for _, tc := range []struct {
			dirs    []string
			wantErr string
		}{
			{[]string{lake}, ""},
			{[]string{filepath.Join(lake, "silver"), filepath.Join(lake, "not-yet")}, ""},
			{[]string{filepath.Join(lake, "silver", "..", "..")}, "is outside the directories"},
			{[]string{outside}, "is outside the directories"},
			{[]string{lake, escape}, "is outside the directories"},
			{[]string{lake + "-sibling"}, "is outside the directories"},
		} {
			err := s.Sandbox(ctx, tc.dirs)
			if tc.wantErr == "" && err != nil {
				t.Errorf("describes=%v: Sandbox(%v) = %v, want nil", describes, tc.dirs, err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("describes=%v: Sandbox(%v) = %v, want an error saying %q", describes, tc.dirs, err, tc.wantErr)
			}
		}
		if n := len(perSessionOpened[0].sandboxes); n != 1 {
			t.Errorf("describes=%v: the engine was confined %d times, want once", describes, n)
		}
		params, cols, err := engine.Describe(ctx, s, "x")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(params) == 1 && len(cols) == 1; got != describes {
			t.Errorf("describes=%v: Describe through the session gave %v, %v", describes, params, cols)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
