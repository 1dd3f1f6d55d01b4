// Package sparklakes holds no code, only tests: `medallion run` on engine
// kind spark as OS processes of the test binary, with the lake in a GCS
// bucket (fake-gcs-server and a Spark server with the GCS connector) and
// in an ADLS container (Azurite, reached by hadoop-azure's ABFS in its
// Blob endpoint mode), equal to a DuckDB run over the same landing files;
// and the error a read gives when the Spark server cannot reach the lake.
// The S3 lake runs the built-in project in engine/spark/sparkruns; these
// run a small project (testdata/lake) through the same write path — a
// partitioned upsert source, a merged and a recomputed model, an
// incremental run — so the suite stays short. They live apart from the
// other spark test packages so that `go test ./...` runs them side by
// side.
package sparklakes
