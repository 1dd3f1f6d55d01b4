package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
)

var errOpened = errors.New("test backend opened")

// Two test backends: "alpha" opens by returning errOpened (it records the
// config it was given) and checks that its settings hold only "size";
// "beta" has no check.
var alphaGot *engine.Config

func init() {
	engine.Register("alpha", func(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
		alphaGot = cfg
		return nil, errOpened
	}, func(cfg *engine.Config) error {
		for k := range cfg.Settings {
			if k != "size" {
				return &engine.SettingError{Key: k, Msg: "unknown setting"}
			}
		}
		return nil
	})
	engine.Register("beta", func(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
		return nil, errors.New("beta: cannot open")
	}, nil)
}

func TestKinds(t *testing.T) {
	if got := strings.Join(engine.Kinds(), ","); got != "alpha,beta,persession" {
		t.Errorf("Kinds() = %s, want alpha,beta,persession", got)
	}
}

// TestOpen opens registered and unknown kinds: a registered kind's open
// function gets the config as given; an unknown kind fails with
// ErrUnknownKind and the registered kinds, without opening anything.
func TestOpen(t *testing.T) {
	cases := []struct {
		name    string
		cfg     *engine.Config
		wantErr string
		unknown bool
		opened  bool
	}{
		{"registered", &engine.Config{Kind: "alpha", Settings: map[string]any{"size": 3}, Dir: "/p"}, errOpened.Error(), false, true},
		{"registered backend's error", &engine.Config{Kind: "beta"}, "beta: cannot open", false, false},
		{"unknown kind", &engine.Config{Kind: "spark"}, `engine: unknown engine kind "spark" (registered: alpha, beta, persession)`, true, false},
		{"empty kind", &engine.Config{}, `engine: unknown engine kind "" (registered: alpha, beta, persession)`, true, false},
		{"nil config", nil, `engine: unknown engine kind "" (registered: alpha, beta, persession)`, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alphaGot = nil
			eng, err := engine.Open(context.Background(), c.cfg)
			if eng != nil {
				t.Fatalf("Open returned an engine %v", eng)
			}
			if err == nil || err.Error() != c.wantErr {
				t.Fatalf("Open error = %v, want %q", err, c.wantErr)
			}
			if errors.Is(err, engine.ErrUnknownKind) != c.unknown {
				t.Errorf("errors.Is(err, ErrUnknownKind) = %v, want %v", !c.unknown, c.unknown)
			}
			if (alphaGot != nil) != c.opened {
				t.Fatalf("alpha opened = %v, want %v", alphaGot != nil, c.opened)
			}
			if c.opened && alphaGot != c.cfg {
				t.Errorf("alpha got config %+v, want the one given %+v", alphaGot, c.cfg)
			}
		})
	}
}

// TestCheck validates settings without opening: the backend's check names
// the bad key; a kind without a check accepts anything; an unknown kind
// fails.
func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		cfg     *engine.Config
		wantErr string
		key     string
	}{
		{"good settings", &engine.Config{Kind: "alpha", Settings: map[string]any{"size": 1}}, "", ""},
		{"no settings", &engine.Config{Kind: "alpha"}, "", ""},
		{"bad key", &engine.Config{Kind: "alpha", Settings: map[string]any{"colour": "red"}}, "colour: unknown setting", "colour"},
		{"kind without check", &engine.Config{Kind: "beta", Settings: map[string]any{"anything": 1}}, "", ""},
		{"unknown kind", &engine.Config{Kind: "gamma"}, `engine: unknown engine kind "gamma" (registered: alpha, beta, persession)`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alphaGot = nil
			err := engine.Check(c.cfg)
			if alphaGot != nil {
				t.Fatal("Check opened an engine")
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != c.wantErr {
				t.Fatalf("Check = %v, want %q", err, c.wantErr)
			}
			var se *engine.SettingError
			if errors.As(err, &se) != (c.key != "") || (se != nil && se.Key != c.key) {
				t.Errorf("SettingError = %+v, want key %q", se, c.key)
			}
		})
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "twice for kind alpha") {
			t.Errorf("recover() = %v, want a panic about registering alpha twice", r)
		}
	}()
	engine.Register("alpha", func(ctx context.Context, cfg *engine.Config) (engine.Engine, error) { return nil, nil }, nil)
}
