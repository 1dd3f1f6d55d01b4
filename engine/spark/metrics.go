package spark

import "github.com/prometheus/client_golang/prometheus"

// SessionsMetric counts, as medallion_spark_sessions_opened_total, the
// Spark Connect sessions this process opened: `medallion serve` exports it
// on /metrics, where a server holding one owner per project shows 1 however
// many HTTP, dashboard and Postgres queries it answered.
var SessionsMetric prometheus.Collector = prometheus.NewCounterFunc(prometheus.CounterOpts{
	Name: "medallion_spark_sessions_opened_total",
	Help: "Spark Connect sessions this process opened (engine kind spark).",
}, func() float64 { return float64(sessionsOpened.Load()) })
