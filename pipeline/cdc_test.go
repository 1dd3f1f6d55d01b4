package pipeline_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/pipeline"
)

// change is one Debezium-style change event of a customer.
type change struct {
	ID               int
	TS               int64
	Op               string // c, u, r (read), d, t (truncate)
	Name, City, Note string
}

func (c change) json() string {
	row := map[string]any{"id": c.ID, "name": c.Name, "city": c.City, "note": c.Note}
	ev := map[string]any{"op": c.Op, "ts_ms": c.TS, "before": nil, "after": nil}
	switch c.Op {
	case "d":
		ev["before"] = map[string]any{"id": c.ID}
	case "t":
	default:
		ev["after"] = row
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// arrived is a change with its arrival order (file, then line).
type arrived struct {
	change
	file, line int
}

// cdcProject is a project with a Debezium JSON source and an SCD 1 and an
// SCD 2 model over it.
var cdcProject = map[string]string{
	"medallion.yaml": "name: cdc\nsources:\n  customer_changes:\n    format: json\n",
	"models/customers_latest.sql": `-- name: silver.customers_latest
-- keys: [id]
-- sequence_by: [ts_ms]
-- cdc: {scd: 1, apply_as_deletes: "op = 'd'", apply_as_truncates: "op = 't'", except_columns: [op, _ingested_at, _seq]}
SELECT CAST(coalesce(after->>'id', before->>'id') AS BIGINT) AS id, after->>'name' AS name, after->>'city' AS city,
       after->>'note' AS note, op, ts_ms, _ingested_at, _seq
FROM bronze.customer_changes
`,
	"models/customers_history.sql": `-- name: silver.customers_history
-- keys: [id]
-- sequence_by: [ts_ms]
-- cdc:
--   scd: 2
--   apply_as_deletes: "op = 'd'"
--   apply_as_truncates: "op = 't'"
--   except_columns: [op, _ingested_at, _seq]
--   track_history_except: [note]
SELECT CAST(coalesce(after->>'id', before->>'id') AS BIGINT) AS id, after->>'name' AS name, after->>'city' AS city,
       after->>'note' AS note, op, ts_ms, _ingested_at, _seq
FROM bronze.customer_changes
`,
}

// genChanges makes change files: random updates, deletes and a truncate of
// a few keys over time, shuffled across files (so most arrive out of
// order, some late), with some changes sent twice and some pairs of changes
// of one key at the same ts_ms.
func genChanges(seed uint64, files int) [][]change {
	rng := rand.New(rand.NewPCG(seed, 1))
	var all []change
	names, cities, notes := []string{"ana", "bia"}, []string{"rio", "sao", "bh"}, []string{"n1", "n2", "n3"}
	for i := 0; i < 140; i++ {
		c := change{ID: 1 + rng.IntN(10), TS: int64(1000 * (1 + rng.IntN(90))), Name: names[rng.IntN(2)], City: cities[rng.IntN(3)], Note: notes[rng.IntN(3)]}
		switch p := rng.IntN(100); {
		case p < 20:
			c.Op = "d"
			c.Name, c.City, c.Note = "", "", ""
		case p < 30:
			c.Op = "c"
		case p < 33:
			c.Op = "r"
		default:
			c.Op = "u"
		}
		all = append(all, c)
	}
	all = append(all, change{Op: "t", TS: 45500})
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	out := make([][]change, files)
	for i, c := range all {
		out[i%files] = append(out[i%files], c)
	}
	// Changes sent again in a later file (at-least-once delivery).
	for f := 1; f < files; f++ {
		for k := 0; k < 4; k++ {
			prev := out[rng.IntN(f)]
			out[f] = append(out[f], prev[rng.IntN(len(prev))])
		}
	}
	return out
}

// refEvents are the changes of one key in the order they apply: by ts_ms,
// a delete after an upsert at equal ts_ms, then by arrival; of equal ts_ms
// only the last counts. A truncate is a delete of every key.
func refEvents(all []arrived, id int) []arrived {
	var evs []arrived
	for _, a := range all {
		if a.ID == id && a.Op != "t" {
			evs = append(evs, a)
		}
		if a.Op == "t" {
			d := a
			d.ID, d.Op = id, "d"
			evs = append(evs, d)
		}
	}
	isDel := func(a arrived) int {
		if a.Op == "d" {
			return 1
		}
		return 0
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		if isDel(a) != isDel(b) {
			return isDel(a) < isDel(b)
		}
		if a.file != b.file {
			return a.file < b.file
		}
		return a.line < b.line
	})
	var out []arrived
	for i, e := range evs {
		if i+1 < len(evs) && evs[i+1].TS == e.TS {
			continue // a later change at the same ts_ms wins
		}
		out = append(out, e)
	}
	return out
}

func keysOf(all []arrived) []int {
	var ids []int
	for _, a := range all {
		if a.Op != "t" && !slices.Contains(ids, a.ID) {
			ids = append(ids, a.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// refSCD1 is the latest row of each key whose last change is not a delete.
func refSCD1(all []arrived) []string {
	var rows []string
	for _, id := range keysOf(all) {
		evs := refEvents(all, id)
		last := evs[len(evs)-1]
		if last.Op != "d" {
			rows = append(rows, fmt.Sprintf("%d|%s|%s|%s|%d", id, last.Name, last.City, last.Note, last.TS))
		}
	}
	slices.Sort(rows)
	return rows
}

// refSCD2 walks each key's changes: an upsert opens a version when none is
// open or name/city changed (note is not tracked: it is updated in place,
// as ts_ms is), a delete closes the open version.
func refSCD2(all []arrived) []string {
	var rows []string
	for _, id := range keysOf(all) {
		type version struct {
			name, city, note string
			ts, start        int64
			end              *int64
		}
		var vs []*version
		var open *version
		for _, e := range refEvents(all, id) {
			switch {
			case e.Op == "d":
				if open != nil {
					ts := e.TS
					open.end = &ts
					open = nil
				}
			case open == nil || open.name != e.Name || open.city != e.City:
				if open != nil {
					ts := e.TS
					open.end = &ts
				}
				open = &version{name: e.Name, city: e.City, note: e.Note, ts: e.TS, start: e.TS}
				vs = append(vs, open)
			default:
				open.note, open.ts = e.Note, e.TS
			}
		}
		for _, v := range vs {
			end := "NULL"
			if v.end != nil {
				end = fmt.Sprint(*v.end)
			}
			rows = append(rows, fmt.Sprintf("%d|%s|%s|%s|%d|%d|%s", id, v.name, v.city, v.note, v.ts, v.start, end))
		}
	}
	slices.Sort(rows)
	return rows
}

// tableRows renders a table's rows as sorted "a|b|c" lines.
func tableRows(t *testing.T, proj *pipeline.Project, sql string) []string {
	t.Helper()
	var out []string
	for _, row := range query(t, proj, sql) {
		parts := make([]string, len(row))
		for i, v := range row {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	slices.Sort(out)
	return out
}

const (
	latestSQL  = "SELECT id, name, city, note, ts_ms FROM silver.customers_latest"
	historySQL = "SELECT id, name, city, note, ts_ms, __start_at, __end_at FROM silver.customers_history"
)

// checkCDC compares both CDC tables with the reference over the changes
// landed so far.
func checkCDC(t *testing.T, proj *pipeline.Project, landed []arrived, when string) {
	t.Helper()
	if got, want := tableRows(t, proj, latestSQL), refSCD1(landed); !slices.Equal(got, want) {
		t.Errorf("%s: silver.customers_latest (SCD 1)\n got %v\nwant %v", when, got, want)
	}
	if got, want := tableRows(t, proj, historySQL), refSCD2(landed); !slices.Equal(got, want) {
		t.Errorf("%s: silver.customers_history (SCD 2)\n got %v\nwant %v", when, got, want)
	}
}

func writeChanges(t *testing.T, dir string, f int, cs []change) []arrived {
	t.Helper()
	var lines []string
	var out []arrived
	for i, c := range cs {
		lines = append(lines, c.json())
		out = append(out, arrived{change: c, file: f, line: i})
	}
	addFiles(t, dir, map[string]string{fmt.Sprintf("landing/customer_changes/%03d.json", f): strings.Join(lines, "\n") + "\n"})
	return out
}

// TestCDCOutOfOrderDuplicateLateChanges lands Debezium change files one at
// a time — shuffled, with duplicates, ties, deletes and a truncate — and
// after each run compares the SCD 1 and SCD 2 tables with the reference
// computation over every change landed so far; a second run changes
// nothing, and a full refresh gives the same tables.
func TestCDCOutOfOrderDuplicateLateChanges(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			dir, proj := writeProject(t, cdcProject)
			var landed []arrived
			for f, cs := range genChanges(seed, 6) {
				landed = append(landed, writeChanges(t, dir, f, cs)...)
				if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
					t.Fatal(err)
				}
				checkCDC(t, proj, landed, fmt.Sprintf("after file %d", f))
				// Exactly once: a rerun with nothing new commits nothing.
				rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, tab := range []string{"silver.customers_latest", "silver.customers_history"} {
					if tr := tableReport(rep, tab); tr == nil || tr.Status != pipeline.StatusUpToDate {
						t.Errorf("after file %d: rerun of %s: %+v, want up-to-date", f, tab, tr)
					}
				}
			}
			if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{FullRefresh: true}); err != nil {
				t.Fatal(err)
			}
			checkCDC(t, proj, landed, "after a full refresh")
		})
	}
}

// TestCDCQuarantinesChangesWithoutKeyOrSequence: a change row without its
// key or sequence value is set aside in the quarantine table, not applied
// and not lost.
func TestCDCQuarantinesChangesWithoutKeyOrSequence(t *testing.T) {
	dir, proj := writeProject(t, cdcProject)
	addFiles(t, dir, map[string]string{"landing/customer_changes/001.json": `{"op":"c","ts_ms":1000,"before":null,"after":{"id":1,"name":"a","city":"x","note":"n"}}
{"op":"c","ts_ms":1000,"before":null,"after":{"name":"nokey","city":"x","note":"n"}}
{"op":"u","ts_ms":null,"before":null,"after":{"id":1,"name":"noseq","city":"y","note":"n"}}
`})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := tableRows(t, proj, historySQL), []string{"1|a|x|n|1000|1000|NULL"}; !slices.Equal(got, want) {
		t.Errorf("history: got %v, want %v", got, want)
	}
	got := tableRows(t, proj, "SELECT name, _quarantine_rule FROM silver.customers_history_quarantine")
	if want := []string{"noseq|sequence_by_not_null", "nokey|keys_not_null"}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("quarantine: got %v, want %v", got, want)
	}
}

// snapshotProject keeps the history of a customers file that is replaced
// from time to time (AUTO CDC FROM SNAPSHOT): the sequence is the time the
// snapshot was ingested.
var snapshotProject = map[string]string{
	"medallion.yaml": "name: snap\nsources:\n  customers:\n    mode: replace\n    schema: {id: long}\n",
	"models/customers_history.sql": `-- name: silver.customers_history
-- keys: [id]
-- sequence_by: [_ingested_at]
-- cdc: {scd: 2, snapshot: true, track_history_except: [note]}
SELECT id, city, note, _ingested_at FROM bronze.customers
`,
	"models/customers_current.sql": `-- name: silver.customers_current
-- keys: [id]
-- sequence_by: [_ingested_at]
-- cdc: {scd: 1, snapshot: true, except_columns: [_ingested_at]}
SELECT id, city, note, _ingested_at FROM bronze.customers
`,
}

// TestCDCSnapshots replaces the customers file again and again (keys
// added, removed, moved to another city, their note edited) and compares
// the SCD 2 table with the reference history of the snapshots: a key that
// leaves is closed, a changed city opens a version, a changed note updates
// the open row in place, an unchanged key is untouched. An empty snapshot
// and one older than the last applied are skipped.
func TestCDCSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	dir, proj := writeProject(t, snapshotProject)
	type cust struct{ city, note string }
	type version struct {
		id                     int
		city, note, ingestedAt string
		start                  time.Time
		end                    *time.Time
	}
	var history []*version
	open := map[int]*version{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	file := filepath.Join(dir, "landing", "customers", "customers.csv")
	cur := map[int]cust{}
	for step := 0; step < 8; step++ {
		next := map[int]cust{}
		for id := 1; id <= 12; id++ {
			c, had := cur[id]
			switch p := rng.IntN(100); {
			case !had && p < 50, had && p < 10:
				continue // absent / removed
			case !had:
				c = cust{city: []string{"rio", "sao"}[rng.IntN(2)], note: "new"}
			case p < 35:
				c.city = c.city + "+"
			case p < 60:
				c.note = fmt.Sprintf("edit%d", step)
			}
			next[id] = c
		}
		cur = next
		var sb strings.Builder
		sb.WriteString("id,city,note\n")
		for id := 1; id <= 12; id++ {
			if c, ok := cur[id]; ok {
				fmt.Fprintf(&sb, "%d,%s,%s\n", id, c.city, c.note)
			}
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(step) * time.Hour)
		if err := os.Chtimes(file, at, at); err != nil {
			t.Fatal(err)
		}
		if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Now: func() time.Time { return at }}); err != nil {
			t.Fatal(err)
		}
		// The reference: diff the snapshot against the open versions.
		for id := 1; id <= 12; id++ {
			c, in := cur[id]
			v := open[id]
			switch {
			case v != nil && !in:
				v.end = &at
				delete(open, id)
			case v != nil && v.city != c.city:
				v.end = &at
				open[id] = &version{id: id, city: c.city, note: c.note, start: at}
				history = append(history, open[id])
			case v != nil && v.note != c.note:
				v.note = c.note
			case v == nil && in:
				open[id] = &version{id: id, city: c.city, note: c.note, start: at}
				history = append(history, open[id])
			}
		}
		var want []string
		for _, v := range history {
			end := "NULL"
			if v.end != nil {
				end = v.end.Format(time.RFC3339)
			}
			want = append(want, fmt.Sprintf("%d|%s|%s|%s|%s", v.id, v.city, v.note, v.start.Format(time.RFC3339), end))
		}
		slices.Sort(want)
		got := tableRows(t, proj, `SELECT id, city, note, strftime(__start_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
			coalesce(strftime(__end_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), 'NULL') FROM silver.customers_history`)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: silver.customers_history\n got %v\nwant %v", step, got, want)
		}
		var wantCur []string
		for id, c := range cur {
			wantCur = append(wantCur, fmt.Sprintf("%d|%s|%s", id, c.city, c.note))
		}
		slices.Sort(wantCur)
		if got := tableRows(t, proj, "SELECT id, city, note FROM silver.customers_current"); !slices.Equal(got, wantCur) {
			t.Fatalf("step %d: silver.customers_current\n got %v\nwant %v", step, got, wantCur)
		}
	}
	before := tableRows(t, proj, "SELECT * FROM silver.customers_history")
	// An empty snapshot, then an older one: both skipped.
	for i, stale := range []struct {
		body string
		at   time.Time
	}{{"id,city,note\n", base.Add(20 * time.Hour)}, {"id,city,note\n1,old,old\n", base.Add(-time.Hour)}} {
		if err := os.WriteFile(file, []byte(stale.body), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(30+i) * time.Hour)
		if err := os.Chtimes(file, mt, mt); err != nil {
			t.Fatal(err)
		}
		if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Now: func() time.Time { return stale.at }}); err != nil {
			t.Fatal(err)
		}
		if got := tableRows(t, proj, "SELECT * FROM silver.customers_history"); !slices.Equal(got, before) {
			t.Errorf("stale snapshot %d changed the history:\n got %v\nwant %v", i, got, before)
		}
	}
}

// TestCDCHeaderErrors: a CDC header that cannot work is refused with the
// model's file and what to fix.
func TestCDCHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"-- cdc: {scd: 3}\n-- keys: [id]", "scd: 3 is not 1 or 2"},
		{"-- cdc: {scd: 2}", "needs keys"},
		{"-- keys: [id]\n-- cdc: {scd: 1, track_history_on: [a]}", "need scd: 2"},
		{"-- keys: [id]\n-- cdc: {scd: 2, track_history_on: [a], track_history_except: [b]}", "exclude each other"},
		{"-- keys: [id]\n-- cdc: {snapshot: true, apply_as_deletes: \"op = 'd'\"}", "snapshot model takes no apply_as_deletes"},
		{"-- keys: [id]\n-- cdc: {except_columns: [id]}", "except_columns: id is a key"},
		{"-- keys: [id]\n-- incremental_by: [id]\n-- cdc: {}", "without incremental_by"},
		{"-- keys: [id]\n-- incremental: bronze.x\n-- cdc: {snapshot: true}", "snapshot model takes no incremental"},
		{"-- keys: [id]\n-- cdc: {scd: 2, track_history: [a]}", "unknown field"},
	} {
		text := "-- name: silver.h\n" + tc.header + "\nSELECT * FROM bronze.x\n"
		_, err := pipeline.ParseModel("models/h.sql", text, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "models/h.sql") {
			t.Errorf("%q: got %v, want an error naming models/h.sql with %q", tc.header, err, tc.want)
		}
	}
}

// TestCDCKilledRunsLoseNothing runs `medallion run` as separate processes
// and SIGKILLs them at different points (before, between and after the
// bronze and CDC commits) while change files land; after a clean run the
// tables equal the reference computation over every landed change.
func TestCDCKilledRunsLoseNothing(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, proj := writeProject(t, cdcProject)
	var landed []arrived
	for f, cs := range genChanges(9, 8) {
		landed = append(landed, writeChanges(t, dir, f, cs)...)
		cmd := exec.Command(exe, "run", "-C", dir)
		cmd.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=1s")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after the f%4-th table line: 0 before any commit, 1 after
		// bronze, 2 after the first CDC table, 3 after both.
		sc := bufio.NewScanner(out)
		for n := 0; n < f%4 && sc.Scan(); {
			if strings.Contains(sc.Text(), " ok ") {
				n++
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if f%3 == 2 {
			continue // the next file lands before any clean run
		}
		clean := exec.Command(exe, "run", "-C", dir)
		clean.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=1s")
		if b, err := clean.CombinedOutput(); err != nil {
			t.Fatalf("run after the kill: %v\n%s", err, b)
		}
		checkCDC(t, proj, landed, fmt.Sprintf("after file %d and a kill", f))
	}
	t.Setenv(pipeline.LeaseExpiryEnv, "1s")
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	checkCDC(t, proj, landed, "at the end")
}
