package spark_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/spark"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// views lists the temporary views of the Spark session eng runs on, by
// asking the server (SHOW VIEWS).
func views(t *testing.T, eng engine.Engine) []string {
	t.Helper()
	res, err := eng.Query(t.Context(), "SHOW VIEWS")
	if err != nil {
		t.Fatalf("SHOW VIEWS: %v", err)
	}
	var out []string
	for _, r := range res.Rows {
		if name, ok := r[1].(string); ok && strings.HasPrefix(name, "__m_") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestOwnerSharesOneSparkSession: the owner of kind spark opens one Spark
// Connect session, and many engine sessions of it, running concurrently
// against the shared test server, all use that session (their views are
// listed by the server in one session), each bound name answering its
// own session's rows although every session binds the same name; closing
// a session drops only its views, Release drops a relation's, and closing
// the owner releases the session on the server.
func TestOwnerSharesOneSparkSession(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	before := spark.SessionsOpened()
	o, err := engine.OpenOwner(ctx, &engine.Config{Kind: spark.Kind, Settings: map[string]any{"remote": remote}})
	if err != nil {
		t.Fatal(err)
	}
	owner, ok := o.(*spark.Owner)
	if !ok {
		t.Fatalf("engine.OpenOwner(spark) gave a %T, want *spark.Owner", o)
	}
	defer owner.Close()

	const n, rounds = 6, 3
	sessions := make([]engine.Engine, n)
	for i := range sessions {
		if sessions[i], err = owner.Session(ctx, engine.SessionOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if owner.Sessions() != n {
		t.Fatalf("owner counts %d sessions open, want %d", owner.Sessions(), n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*rounds)
	for i, eng := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				// Every session binds the same names, to its own rows.
				if err := eng.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW silver.t AS SELECT %d AS session, %d AS round", i, r)); err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
					return
				}
				res, err := eng.Query(ctx, "SELECT session, round FROM silver.t")
				if err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
					return
				}
				if got := sparktest.Canon(res); !slices.Equal(got, []string{fmt.Sprintf("%d|%d", i, r)}) {
					errs <- fmt.Errorf("session %d round %d read %v from silver.t: another session's rows", i, r, got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if got := spark.SessionsOpened() - before; got != 1 {
		t.Fatalf("the owner and %d sessions opened %d Spark Connect sessions, want 1", n, got)
	}
	// The server holds every session's view in one Spark session; each
	// engine session's views are named with the Spark session's tag and
	// the engine session's number.
	tag := spark.OwnerTag(owner)
	if len(tag) != 12 {
		t.Fatalf("the owner's session tag is %q, want 12 hex digits of its session id", tag)
	}
	view := func(session int, name string) string { return fmt.Sprintf("__m_%s_s%d_%s", tag, session, name) }
	all := views(t, sessions[0])
	for i := range n {
		want := view(i+1, "silver__t")
		if !slices.Contains(all, want) {
			t.Fatalf("SHOW VIEWS in session 1's Spark session lists %v, missing session %d's %s: the sessions do not share one Spark session", all, i+1, want)
		}
	}

	// Release drops a relation's view, and only its.
	rel, err := sessions[1].View(ctx, "SELECT 1 AS one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sessions[1].Query(ctx, "SELECT one FROM "+rel.Name); err != nil {
		t.Fatal(err)
	}
	relView := view(2, strings.ToLower(rel.Name))
	if !slices.Contains(views(t, sessions[0]), relView) {
		t.Fatalf("no view %s after reading relation %s", relView, rel.Name)
	}
	if err := sessions[1].Release(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if got := views(t, sessions[0]); slices.Contains(got, relView) || !slices.Contains(got, view(2, "silver__t")) {
		t.Fatalf("after Release of %s the views are %v: want its view gone and the session's others kept", rel.Name, got)
	}

	// Closing a session drops its views only.
	if err := sessions[2].Close(); err != nil {
		t.Fatal(err)
	}
	got := views(t, sessions[0])
	if slices.Contains(got, view(3, "silver__t")) {
		t.Fatalf("session 3 closed but its view remains: %v", got)
	}
	if len(got) != n-1 {
		t.Fatalf("after closing one of %d sessions the views are %v, want the other %d sessions' views", n, got, n-1)
	}
	if owner.Sessions() != n-1 {
		t.Fatalf("owner counts %d sessions open after one closed, want %d", owner.Sessions(), n-1)
	}
	// The others still read their own rows.
	res, err := sessions[3].Query(ctx, "SELECT session FROM silver.t")
	if err != nil || !slices.Equal(sparktest.Canon(res), []string{"3"}) {
		t.Fatalf("session 4 after session 3 closed: %v, %v", res, err)
	}

	// Closing the owner releases the Spark session on the server.
	if err := spark.AskServer(ctx, owner, remote); err != nil {
		t.Fatalf("the server does not know the owner's open session: %v", err)
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	if err := spark.AskServer(ctx, owner, remote); err == nil || !strings.Contains(err.Error(), "SESSION_CLOSED") {
		t.Fatalf("after the owner closed, a request in its session got %v, want the server's SESSION_CLOSED", err)
	}
	if _, err := owner.Session(ctx, engine.SessionOptions{}); err == nil {
		t.Fatal("a closed owner opened a session")
	}
	if _, err := sessions[0].Query(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("a session of a closed owner still ran a query")
	}
	for _, s := range sessions {
		s.Close()
	}
}
