package spark

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/spark-connect-go/spark/sql"
)

// tracedSession writes every statement the engine sends to Spark, with
// the time its round trip took, to w (`medallion run --trace`): "sql" for
// the ExecutePlan of a statement (DDL and CACHE TABLE run there), "fetch"
// for reading a query's rows (ToArrow, where a query runs).
type tracedSession struct {
	sql.SparkSession
	w io.Writer
}

// traced wraps sess so that it traces to w; sess itself when w is nil.
func traced(sess sql.SparkSession, w io.Writer) sql.SparkSession {
	if w == nil {
		return sess
	}
	return &tracedSession{SparkSession: sess, w: w}
}

func (t *tracedSession) trace(start time.Time, what, stmt string) {
	stmt = strings.Join(strings.Fields(stmt), " ")
	if len(stmt) > 400 {
		stmt = stmt[:400] + "…"
	}
	fmt.Fprintf(t.w, "engine %7.1fms  spark %s: %s\n", float64(time.Since(start).Microseconds())/1000, what, stmt)
}

// Sql runs query, tracing the round trip.
func (t *tracedSession) Sql(ctx context.Context, query string) (sql.DataFrame, error) {
	start := time.Now()
	df, err := t.SparkSession.Sql(ctx, query)
	t.trace(start, "sql", query)
	if err != nil {
		return nil, err
	}
	return &tracedFrame{DataFrame: df, s: t, query: query}, nil
}

// tracedFrame traces the fetch of a traced statement's rows.
type tracedFrame struct {
	sql.DataFrame
	s     *tracedSession
	query string
}

// ToArrow runs the query and fetches its rows, tracing the round trip.
func (f *tracedFrame) ToArrow(ctx context.Context) (*arrow.Table, error) {
	start := time.Now()
	tbl, err := f.DataFrame.ToArrow(ctx)
	f.s.trace(start, "fetch", f.query)
	return tbl, err
}
