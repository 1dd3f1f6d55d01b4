// Package sparkinterop holds the tests of medallion's tables against real
// Apache Spark (4.2 with delta-spark 4.4, over Spark Connect; the server
// comes from internal/sparkserver): Spark reads every table medallion
// writes, with its history and time travel, and Spark and medallion
// append to one table at once without losing a row. The package has no
// code of its own.
package sparkinterop
