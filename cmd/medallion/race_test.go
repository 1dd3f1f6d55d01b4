package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chunks splits files into n drops, each with about 1/n of every source's
// files (a source is the first folder of a file's path).
func chunks(files []string, n int) [][]string {
	bySource := map[string][]string{}
	var sources []string
	for _, f := range files {
		src, _, _ := strings.Cut(filepath.ToSlash(f), "/")
		if _, ok := bySource[src]; !ok {
			sources = append(sources, src)
		}
		bySource[src] = append(bySource[src], f)
	}
	out := make([][]string, n)
	for _, src := range sources {
		fs := bySource[src]
		for i, f := range fs {
			out[i*n/len(fs)] = append(out[i*n/len(fs)], f)
		}
	}
	return out
}

// TestRacingWritersEqualOneCleanRun races two `medallion run` loops and a
// `medallion stream --trigger available-now` loop on one project while
// order and item files land between and during them, then compares bronze,
// silver and gold, table by table, with one clean run over the same files,
// and gold with the independent computation. Before the writer lease and
// the commit rules, silver MERGE commits were blind appends and runs
// re-processed the same bronze range: doubled silver rows, wrong gold.
func TestRacingWritersEqualOneCleanRun(t *testing.T) {
	src := t.TempDir()
	mustMedallion(t, nil, "generate", "--out", src, "--orders", "1200", "--seed", "21")
	static, trickle := landingFiles(t, src)
	dir := filepath.Join(t.TempDir(), "racing")
	mustMedallion(t, nil, "init", dir)
	landing := filepath.Join(dir, "landing")
	land(t, landing, src, static)
	drops := chunks(trickle, 6)
	land(t, landing, src, drops[0])

	stop := make(chan struct{})
	done := make(chan struct{}, 1)
	results := make(chan []result, 1)
	go func() {
		results <- runLoops(t, nil, stop, done,
			[]string{"run", "-C", dir},
			[]string{"run", "-C", dir},
			[]string{"stream", "--trigger", "available-now", "-C", dir})
	}()
	// A drop lands each time a writer process ends: the others are
	// midway through their runs, or about to start.
	for _, d := range drops[1:] {
		<-done
		land(t, landing, src, d)
	}
	close(stop)
	waited := 0
	for _, r := range <-results {
		if r.err != nil {
			t.Error(r)
		}
		if strings.Contains(r.stdout+r.stderr, "waiting for the writer lease") {
			waited++
		}
	}
	if waited == 0 {
		t.Fatal("no writer ever waited for another: the processes did not race")
	}
	t.Logf("%d writer processes waited for the lease", waited)

	clean := filepath.Join(t.TempDir(), "clean")
	mustMedallion(t, nil, "init", clean)
	land(t, filepath.Join(clean, "landing"), src, append(static, trickle...))
	mustMedallion(t, nil, "run", "-C", clean)
	for _, d := range compareLakes(t, dir, clean, "bronze", "silver", "gold") {
		t.Error(d)
	}
	checkGoldref(t, dir)
}

// TestKilledLeaseHolderBlocksOnlyUntilExpiry kills a run with SIGKILL while
// it holds the writer lease; the next run says it takes the expired lease
// over (naming the dead holder) and completes, and gold is right.
func TestKilledLeaseHolderBlocksOnlyUntilExpiry(t *testing.T) {
	src := t.TempDir()
	mustMedallion(t, nil, "generate", "--out", src, "--orders", "800", "--seed", "5")
	dir := filepath.Join(t.TempDir(), "proj")
	mustMedallion(t, nil, "init", dir)
	static, trickle := landingFiles(t, src)
	land(t, filepath.Join(dir, "landing"), src, append(static, trickle...))
	env := []string{"MEDALLION_LEASE_EXPIRY=2s"}

	victim, _, _ := command(t.Context(), env, "run", "-C", dir)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the lease to be taken (an event: its object appears), then
	// kill the holder.
	exited := make(chan error, 1)
	go func() { exited <- victim.Wait() }()
	leaseDir := filepath.Join(dir, "lake", "_medallion", "lease")
	for held := false; !held; {
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before it was seen holding the lease", err)
		case <-time.After(5 * time.Millisecond): // poll interval, not an assertion
		}
		ents, _ := os.ReadDir(leaseDir)
		for _, e := range ents {
			held = held || strings.HasSuffix(e.Name(), ".json")
		}
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	next := mustMedallion(t, env, "run", "-C", dir)
	out := next.stdout + next.stderr
	if !strings.Contains(out, "expired") || !strings.Contains(out, "taking it over") || !strings.Contains(out, "pid "+strconv.Itoa(victim.Process.Pid)) {
		t.Fatalf("the next run does not say it took over the killed holder's lease:\n%s", next)
	}
	checkGoldref(t, dir)
}
