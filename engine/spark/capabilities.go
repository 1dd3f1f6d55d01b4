package spark

import "github.com/medallionhq/medallion/engine"

func init() {
	// The zero value, said out loud: the engine sessions of an Owner share
	// one Spark Connect session (parallelism 1 unless engine.parallelism
	// says otherwise), and a source's typed batch is materialized (kept in
	// Spark's memory), not recomputed from the landing files by each of
	// its two readers.
	engine.RegisterCapabilities(Kind, engine.Capabilities{})
}
