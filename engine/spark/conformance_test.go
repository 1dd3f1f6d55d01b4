package spark_test

import (
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/enginetest"
	"github.com/medallionhq/medallion/engine/spark"
	"github.com/medallionhq/medallion/internal/sparkserver"
)

// TestConformance runs the engine conformance suite on Spark, opened the
// way the pipeline opens it (through the registry), against the shared
// Spark Connect server: every case, the change data feed (BindChanges)
// included.
func TestConformance(t *testing.T) {
	remote := sparkserver.Remote(t)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		e, err := engine.Open(t.Context(), &engine.Config{Kind: spark.Kind, Settings: map[string]any{"remote": remote}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	})
}
