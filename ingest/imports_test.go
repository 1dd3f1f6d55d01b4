package ingest_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoImportOfInternal: the ingest packages import nothing of
// medallion's internal/ tree (nor the pipeline), so sources stay
// implementations below the pipeline.
func TestNoImportOfInternal(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/medallionhq/medallion/ingest/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/medallionhq/medallion/ingest/kafka") || !slices.Contains(deps, "github.com/medallionhq/medallion/ingest/landing") {
		t.Fatalf("go list listed %d packages without the ingest packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/medallionhq/medallion/internal/") || p == "github.com/medallionhq/medallion/pipeline" || strings.HasPrefix(p, "github.com/medallionhq/medallion/engine") {
			t.Errorf("ingest depends on %s", p)
		}
	}
}
