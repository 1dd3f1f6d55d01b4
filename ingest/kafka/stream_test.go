package kafka

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/ingest"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
)

// TestStreamBatches: the Stream reads every record once across batches
// that resume at the recorded txn versions: one JSON-lines file per
// partition named by its offsets, a txn per partition that moved, Pending
// counting what is left, and Close removing the files.
func TestStreamBatches(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	produce(t, cfg, 0, 300, 80)
	st := open(t, cfg).Stream()
	recorded := map[string]int64{}
	lookup := func(app string) (int64, bool) { v, ok := recorded[app]; return v, ok }
	name := regexp.MustCompile(`^kafka:` + testTopic + `/(\d+)@(\d+)-(\d+)$`)
	seen := map[string]bool{}
	for range 1000 {
		b, err := st.Read(testCtx(t), lookup, ingest.Limits{MaxRecords: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Files) == 0 {
			if len(b.Txns) != 0 {
				t.Fatalf("an empty batch moves txns %v", b.Txns)
			}
			b.Close()
			if b.Pending == 0 {
				break
			}
			continue // records left that this fetch did not return
		}
		lines := 0
		for _, f := range b.Files {
			m := name.FindStringSubmatch(f.Name)
			if m == nil {
				t.Fatalf("file name %q, want kafka:%s/PARTITION@FIRST-LAST", f.Name, testTopic)
			}
			if v, ok := recorded[TxnAppID(testTopic, int32(atoi(t, m[1])))]; ok && int64(atoi(t, m[2])) < v {
				t.Fatalf("%s starts before the recorded offset %d", f.Name, v)
			}
			fh, err := os.Open(f.Local)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				lines++
				var id int
				if _, err := fmt.Sscanf(sc.Text(), `{"id":%d,`, &id); err != nil {
					t.Fatalf("%s: line %q", f.Name, sc.Text())
				}
				if seen[fmt.Sprint(id)] {
					t.Fatalf("id %d read twice", id)
				}
				seen[fmt.Sprint(id)] = true
			}
			fh.Close()
		}
		if lines > 40 {
			t.Fatalf("a batch of %d records, want at most 40", lines)
		}
		if len(b.Txns) == 0 || b.Info["topic"] != testTopic {
			t.Fatalf("batch txns %v, info %v", b.Txns, b.Info)
		}
		for _, tx := range b.Txns {
			if !strings.HasPrefix(tx.AppID, "medallion/kafka/"+testTopic+"/") {
				t.Fatalf("txn %q", tx.AppID)
			}
			recorded[tx.AppID] = tx.Version
		}
		dir := b.Dir()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("batch files left after Close: %v", err)
		}
	}
	if len(seen) != 300 {
		t.Fatalf("%d distinct records read, want 300", len(seen))
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
