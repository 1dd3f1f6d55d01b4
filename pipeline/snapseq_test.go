package pipeline_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// TestCDCSnapshotSCD1BoundedTxns: an SCD 1 snapshot model applies many
// snapshots (changed and unchanged); its table's log holds a bounded set of
// txn entries (one per input, none per snapshot), the last sequence value
// is the table's PropSnapshotSequence, and a stale snapshot after them is
// still skipped.
func TestCDCSnapshotSCD1BoundedTxns(t *testing.T) {
	_, proj := writeProject(t, snapshotProject)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 12
	var counts []int
	var seqs []string
	for i := range n {
		// Every third snapshot repeats the one before (no row changes).
		v := i - i%3/2
		snapshotRun(t, proj, fmt.Sprintf("id,city,note\n1,rio,v%d\n2,sao,b\n", v), base.Add(time.Duration(i+1)*time.Hour))
		snap := tableSnapshot(t, proj, "silver.customers_current")
		counts = append(counts, len(snap.Txns()))
		seqs = append(seqs, snap.Metadata().Configuration[pipeline.PropSnapshotSequence])
	}
	if slices.Max(counts) != counts[0] || counts[0] > 2 {
		t.Fatalf("txn entries after each of %d snapshots: %v, want a constant (one per input)", n, counts)
	}
	for i, got := range seqs {
		if want := base.Add(time.Duration(i+1) * time.Hour); !strings.Contains(got, want.Format("2006-01-02")) || !strings.Contains(got, want.Format("15:04:05")) {
			t.Fatalf("snapshot %d: %s = %q, want the time %s", i, pipeline.PropSnapshotSequence, got, want)
		}
	}
	want := []string{fmt.Sprintf("1|rio|v%d", n-1-(n-1)%3/2), "2|sao|b"}
	if got := tableRows(t, proj, currentSQL); !slices.Equal(got, want) {
		t.Fatalf("current: %v, want %v", got, want)
	}
	log := snapshotRun(t, proj, "id,city,note\n1,old,old\n", base.Add(time.Duration(n)*time.Hour-time.Minute))
	if !logHas(log, "warning: silver.customers_current: the snapshot's _ingested_at is not after the last one applied; skipped") {
		t.Errorf("no warning for the stale snapshot:\n%s", strings.Join(log, "\n"))
	}
	if got := tableRows(t, proj, currentSQL); !slices.Equal(got, want) {
		t.Errorf("the stale snapshot changed silver.customers_current: %v, want %v", got, want)
	}
}
