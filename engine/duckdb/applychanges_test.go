package duckdb_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
)

// TestSCD2WithoutDeletesEqualsGeneralQuery: SCD 2 over change rows with no
// Delete condition takes a query of its own (run edges instead of numbered
// runs); its result must equal the general query's, which a Delete
// condition that is never true still takes. Random change rows: keys with
// one to eight changes, repeated sequence values (superseded by arrival),
// runs of equal tracked values, NULL sequence values and NULL tracked and
// untracked values; with and without tracked columns, one and two
// sequence columns.
func TestSCD2WithoutDeletesEqualsGeneralQuery(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	rng := rand.New(rand.NewPCG(7, 17))
	var rows []string
	arrival := 0
	for id := range 400 {
		for range 1 + rng.IntN(8) {
			arrival++
			seq := fmt.Sprint(rng.IntN(6))
			if rng.IntN(25) == 0 {
				seq = "NULL"
			}
			v := fmt.Sprintf("'%c'", 'a'+rng.IntN(3))
			if rng.IntN(15) == 0 {
				v = "NULL"
			}
			note := fmt.Sprintf("'n%d'", rng.IntN(4))
			if rng.IntN(10) == 0 {
				note = "NULL"
			}
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, %s, %d, %d)", id, v, note, seq, rng.IntN(2), arrival))
		}
	}
	changes, err := e.View(ctx, "SELECT * FROM (VALUES "+strings.Join(rows, ", ")+") AS c(id, v, note, seq, seq2, arrival)")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range scd2Cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := engine.ChangeSpec{SCD: 2, Keys: []string{"id"}, Sequence: tc.sequence, Arrival: []string{"arrival"},
				Columns: []string{"id", "v", "note"}, Tracked: tc.tracked, StartAt: "start_at", EndAt: "end_at"}
			sameAsGeneralQuery(t, e, changes, spec)
		})
	}
}

// TestSCD2WithoutArrivalEqualsGeneralQuery: SCD 2 over change rows with
// neither a Delete condition nor arrival columns reads a key's neighbouring
// changes from peer groups of one sort (scd2Peers); its result must equal
// the general query's. Random change rows: keys with one to eight changes,
// repeated sequence values (the repeats equal, so that which one is kept
// does not matter), runs of equal tracked values, NULL sequence values next
// to others, NULL tracked and untracked values; with and without tracked
// columns, one and two sequence columns.
func TestSCD2WithoutArrivalEqualsGeneralQuery(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	rng := rand.New(rand.NewPCG(11, 3))
	var rows []string
	for id := range 400 {
		seen := map[string]string{}
		for range 1 + rng.IntN(8) {
			seq := fmt.Sprint(rng.IntN(6))
			if rng.IntN(20) == 0 {
				seq = "NULL"
			}
			seq2 := rng.IntN(2)
			v := fmt.Sprintf("'%c'", 'a'+rng.IntN(3))
			if rng.IntN(15) == 0 {
				v = "NULL"
			}
			note := fmt.Sprintf("'n%d'", rng.IntN(4))
			if rng.IntN(10) == 0 {
				note = "NULL"
			}
			// A repeated (seq, seq2) repeats the whole change; and so
			// does a repeated seq: the one-sequence-column cases order by
			// seq alone.
			if prev, ok := seen[seq]; ok {
				rows = append(rows, prev)
				continue
			}
			row := fmt.Sprintf("(%d, %s, %s, %s, %d)", id, v, note, seq, seq2)
			seen[seq] = row
			rows = append(rows, row)
		}
	}
	changes, err := e.View(ctx, "SELECT * FROM (VALUES "+strings.Join(rows, ", ")+") AS c(id, v, note, seq, seq2)")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range scd2Cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := engine.ChangeSpec{SCD: 2, Keys: []string{"id"}, Sequence: tc.sequence,
				Columns: []string{"id", "v", "note"}, Tracked: tc.tracked, StartAt: "start_at", EndAt: "end_at"}
			sameAsGeneralQuery(t, e, changes, spec)
		})
	}
}

// scd2Rows are a relation's SCD 2 rows as text, sorted.
func scd2Rows(t *testing.T, e *duckdb.Engine, rel string) []string {
	t.Helper()
	res, err := e.Query(t.Context(), "SELECT id, v, note, start_at, end_at FROM "+rel)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = fmt.Sprint(r...)
	}
	slices.Sort(out)
	return out
}

// sameAsGeneralQuery applies changes by spec, and by the general SCD 2
// query (a Delete condition that is never true), and fails unless both
// give the same versions, at least 400 of them.
func sameAsGeneralQuery(t *testing.T, e *duckdb.Engine, changes engine.Relation, spec engine.ChangeSpec) {
	t.Helper()
	ctx := t.Context()
	fast, err := e.ApplyChanges(ctx, changes, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Delete = "false" // never a delete, but the general query
	general, err := e.ApplyChanges(ctx, changes, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, want := scd2Rows(t, e, fast.Name), scd2Rows(t, e, general.Name)
	if len(want) < 400 {
		t.Fatalf("the general query made %d versions of 400 keys", len(want))
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%d versions, want %d; first difference: %s, want %s", len(got), len(want), got[i], want[i])
			}
		}
		t.Fatalf("%d versions, want %d", len(got), len(want))
	}
}

// scd2Cases are the tracked and sequence columns both SCD 2 fast-path
// tests apply their random changes with.
var scd2Cases = []struct {
	name     string
	tracked  []string
	sequence []string
}{
	{"tracked v", []string{"v"}, []string{"seq"}},
	{"tracked v and note", []string{"v", "note"}, []string{"seq"}},
	{"nothing tracked", nil, []string{"seq"}},
	{"two sequence columns", []string{"v"}, []string{"seq", "seq2"}},
}
