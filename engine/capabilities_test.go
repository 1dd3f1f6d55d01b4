package engine_test

import (
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

func init() {
	// alpha says its sessions run at once and wants views of batches
	// without a long column; beta registers no capabilities.
	engine.RegisterCapabilities("alpha", engine.Capabilities{
		ParallelSessions: true,
		ViewTypedBatch: func(cols []engine.Column) bool {
			for _, c := range cols {
				if c.Type.Name == delta.TypeLong {
					return false
				}
			}
			return true
		},
	})
}

// TestCapabilities: a kind's capabilities are what it registered; a kind
// that registered none, or an unknown kind, has the zero value, which
// runs sessions one at a time and materializes every typed batch.
func TestCapabilities(t *testing.T) {
	str := []engine.Column{{Name: "s", Type: delta.Primitive(delta.TypeString)}}
	long := append([]engine.Column{{Name: "n", Type: delta.Primitive(delta.TypeLong)}}, str...)
	cases := []struct {
		kind                  string
		parallel              bool
		viewStrings, viewLong bool
	}{
		{"alpha", true, true, false},
		{"beta", false, false, false},
		{"no-such-kind", false, false, false},
		{"", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			caps := engine.CapabilitiesOf(c.kind)
			if caps.ParallelSessions != c.parallel {
				t.Errorf("ParallelSessions = %v, want %v", caps.ParallelSessions, c.parallel)
			}
			if got := caps.ViewsTypedBatch(str); got != c.viewStrings {
				t.Errorf("ViewsTypedBatch(string) = %v, want %v", got, c.viewStrings)
			}
			if got := caps.ViewsTypedBatch(long); got != c.viewLong {
				t.Errorf("ViewsTypedBatch(long, string) = %v, want %v", got, c.viewLong)
			}
		})
	}
}

func TestRegisterCapabilitiesTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "twice for kind alpha") {
			t.Errorf("recover() = %v, want a panic about registering alpha's capabilities twice", r)
		}
	}()
	engine.RegisterCapabilities("alpha", engine.Capabilities{})
}
