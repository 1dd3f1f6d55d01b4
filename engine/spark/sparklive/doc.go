// Package sparklive holds no code, only tests: medallion processes on
// engine kind spark that keep running or get killed, as OS processes of
// the test binary against a real Spark Connect server — `medallion serve`
// (its HTTP API, dashboards and Postgres endpoint equal to a duckdb
// project's, hostile SQL refused), `medallion stream` SIGKILLed mid-batch
// and restarted, and `medallion run` SIGKILLed and rerun, losing and
// repeating nothing. They live apart from engine/spark's own tests and
// engine/spark/sparkruns so that `go test ./...` runs the packages side
// by side.
package sparklive
