package main

import (
	"os"
	"reflect"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestSparkProjectEngineBlock: the built-in project's medallion.yaml with
// its engine block replaced names engine kind spark at the bench's server
// and keeps every other key as it was.
func TestSparkProjectEngineBlock(t *testing.T) {
	orig, err := os.ReadFile("../../pipeline/ecommerce/project/medallion.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !engineBlock.Match(orig) {
		t.Fatal("the built-in medallion.yaml has no engine block the bench can replace")
	}
	got := engineBlock.ReplaceAll(orig, []byte("engine:\n  kind: spark\n  spark:\n    remote: sc://127.0.0.1:15099\n"))
	var before, after map[string]any
	if err := yaml.Unmarshal(orig, &before); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(got, &after); err != nil {
		t.Fatalf("the rewritten medallion.yaml does not parse: %v\n%s", err, got)
	}
	want := map[string]any{"kind": "spark", "spark": map[string]any{"remote": "sc://127.0.0.1:15099"}}
	if !reflect.DeepEqual(after["engine"], want) {
		t.Fatalf("engine block %v, want %v", after["engine"], want)
	}
	delete(before, "engine")
	delete(after, "engine")
	if !reflect.DeepEqual(before, after) {
		t.Fatal("replacing the engine block changed other keys")
	}
}

// TestProcCPU reads the CPU time of a process from /proc, the way the
// Spark server's is read: this process's own, which cannot go down, and a
// missing process is an error.
func TestProcCPU(t *testing.T) {
	first, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	_ = x
	second, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if first < 0 || second < first {
		t.Fatalf("CPU went from %v to %v", first, second)
	}
	if second == 0 {
		t.Fatal("a process that computed for a while shows no CPU time")
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\n\nc\n", 2, "b / c"},
		{"only", 3, "only"},
		{"", 2, ""},
	} {
		if got := lastLines(tc.in, tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
