package duckdb_test

import (
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// TestCapabilities: kind duckdb runs its sessions at once (connections of
// one database), runs in the process (Embedded) and wants a source's typed batch as a view exactly when no
// column needs a cast from text: strings, and doubles its CSV scan reads
// typed.
func TestCapabilities(t *testing.T) {
	caps := engine.CapabilitiesOf("duckdb")
	if !caps.ParallelSessions {
		t.Error("ParallelSessions = false, want true")
	}
	if !caps.Embedded {
		t.Error("Embedded = false, want true")
	}
	col := func(name, typ string) engine.Column {
		return engine.Column{Name: name, Type: delta.Primitive(typ)}
	}
	for _, tc := range []struct {
		name string
		cols []engine.Column
		view bool
	}{
		{"strings", []engine.Column{col("a", delta.TypeString), col("b", delta.TypeString)}, true},
		{"strings and doubles", []engine.Column{col("a", delta.TypeString), col("d", delta.TypeDouble)}, true},
		{"no columns", nil, true},
		{"a long", []engine.Column{col("a", delta.TypeString), col("n", delta.TypeLong)}, false},
		{"a timestamp", []engine.Column{col("t", delta.TypeTimestamp), col("d", delta.TypeDouble)}, false},
		{"a date", []engine.Column{col("d", delta.TypeDate)}, false},
		{"a boolean", []engine.Column{col("b", delta.TypeBoolean)}, false},
	} {
		if got := caps.ViewsTypedBatch(tc.cols); got != tc.view {
			t.Errorf("%s: ViewsTypedBatch = %v, want %v", tc.name, got, tc.view)
		}
	}
}
