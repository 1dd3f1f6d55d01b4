// Package sparkruns holds no code, only tests: `medallion run` on engine
// kind spark as OS processes of the test binary against a real Spark
// Connect server — the built-in project equal to a DuckDB run and to
// goldref (first, incremental and full-refresh runs) on a local lake and
// on a lake on S3 (the local S3 server and a Spark server of its own with
// hadoop-aws), and models reading change data feeds. They live apart from
// engine/spark's own tests and engine/spark/sparklive so that `go test
// ./...` runs the packages side by side.
package sparkruns
