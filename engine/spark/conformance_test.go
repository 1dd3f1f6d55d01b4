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
// Spark Connect server. Window expansion and CDC change application are
// not implemented on Spark (README, engine section): their cases fail
// with ErrUnsupported and are skipped here by name, nothing else.
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
