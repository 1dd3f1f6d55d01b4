package pgwire_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchQueries are the e-commerce dashboard's panel queries (its default
// whole range), as a BI tool would send them.
var benchQueries = []string{
	"SELECT round(coalesce(sum(revenue), 0), 2) AS revenue FROM gold.daily_revenue WHERE date BETWEEN DATE '2016-01-01' AND DATE '2019-01-01'",
	"SELECT coalesce(sum(orders), 0) AS orders FROM gold.daily_revenue WHERE date BETWEEN DATE '2016-01-01' AND DATE '2019-01-01'",
	"SELECT date, revenue, orders FROM gold.daily_revenue ORDER BY date",
	"SELECT * FROM gold.revenue_by_category ORDER BY revenue DESC LIMIT 10",
	"SELECT customer_state, sum(revenue) AS revenue FROM gold.revenue_by_state GROUP BY 1 ORDER BY 2 DESC",
}

const benchClients = 50

// BenchmarkPgWire runs the dashboard's queries from 50 concurrent clients
// over the Postgres endpoint (one connection each) and the same over the
// HTTP API (POST /api/query), against one `medallion serve`, and reports
// each side's p95 latency and queries per second, and their ratios.
func BenchmarkPgWire(b *testing.B) {
	srv := startServe(b, "--pg-max-conns", "64")
	ctx := context.Background()
	conns := make([]*pgx.Conn, benchClients)
	for i := range conns {
		conns[i] = connect(b, srv.url("bench", "", ""))
	}
	run := func(query func(client int, sql string) error) (p95 time.Duration, qps float64) {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for c := range benchClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range b.N {
					sql := benchQueries[(c+i)%len(benchQueries)]
					t0 := time.Now()
					if err := query(c, sql); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		total := time.Since(start)
		slices.Sort(lat)
		if len(lat) == 0 {
			b.Fatal("no query answered")
		}
		return lat[len(lat)*95/100], float64(len(lat)) / total.Seconds()
	}
	b.ResetTimer()
	pgP95, pgQPS := run(func(c int, sql string) error {
		rows, err := conns[c].Query(ctx, sql)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		return rows.Err()
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	httpP95, httpQPS := run(func(c int, sql string) error {
		body, _ := json.Marshal(map[string]string{"sql": sql})
		resp, err := client.Post(srv.httpURL+"/api/query", "application/json", strings.NewReader(string(body)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Rows []any `json:"rows"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
		}
		return nil
	})
	b.StopTimer()
	b.ReportMetric(float64(pgP95.Microseconds())/1000, "pg-p95-ms")
	b.ReportMetric(pgQPS, "pg-qps")
	b.ReportMetric(float64(httpP95.Microseconds())/1000, "http-p95-ms")
	b.ReportMetric(httpQPS, "http-qps")
	b.ReportMetric(pgQPS/httpQPS, "qps-ratio")
	b.ReportMetric(float64(httpP95)/float64(pgP95), "p95-ratio")
}
