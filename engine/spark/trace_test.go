package spark

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/spark-connect-go/spark/sql"
)

// fakeSession answers Sql with a frame whose ToArrow fails with errFetch.
type fakeSession struct {
	sql.SparkSession
	got []string
}

var errFetch = errors.New("fetch failed")

func (f *fakeSession) Sql(ctx context.Context, q string) (sql.DataFrame, error) {
	f.got = append(f.got, q)
	if strings.HasPrefix(q, "BAD") {
		return nil, errors.New("bad statement")
	}
	return fakeFrame{}, nil
}

type fakeFrame struct{ sql.DataFrame }

func (fakeFrame) ToArrow(ctx context.Context) (*arrow.Table, error) { return nil, errFetch }

func TestTracedSession(t *testing.T) {
	fake := &fakeSession{}
	if got := traced(fake, nil); got != sql.SparkSession(fake) {
		t.Fatal("traced without a writer wraps the session")
	}
	var buf bytes.Buffer
	s := traced(fake, &buf)
	ctx := t.Context()
	long := "SELECT " + strings.Repeat("x, ", 300) + "1"
	for _, tc := range []struct {
		stmt    string
		fetch   bool
		wantErr bool
		lines   []string
	}{
		{stmt: "SELECT\n  1", fetch: true, lines: []string{"spark sql: SELECT 1", "spark fetch: SELECT 1"}},
		{stmt: "DROP VIEW v", lines: []string{"spark sql: DROP VIEW v"}},
		{stmt: "BAD statement", wantErr: true, lines: []string{"spark sql: BAD statement"}},
		{stmt: long, lines: []string{"spark sql: " + long[:400] + "…"}},
	} {
		buf.Reset()
		df, err := s.Sql(ctx, tc.stmt)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%q: error %v", tc.stmt, err)
		}
		if tc.fetch {
			if _, err := df.ToArrow(ctx); !errors.Is(err, errFetch) {
				t.Fatalf("%q: fetch error %v, want the session's", tc.stmt, err)
			}
		}
		out := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(out) != len(tc.lines) {
			t.Fatalf("%q: trace %q, want %d lines", tc.stmt, buf.String(), len(tc.lines))
		}
		for i, want := range tc.lines {
			if !strings.HasPrefix(out[i], "engine ") || !strings.HasSuffix(out[i], "ms  "+want) {
				t.Fatalf("%q: trace line %q, want engine <duration>ms  %q", tc.stmt, out[i], want)
			}
		}
	}
	if len(fake.got) != 4 || fake.got[0] != "SELECT\n  1" {
		t.Fatalf("the session got %q, want the statements unchanged", fake.got)
	}
}
