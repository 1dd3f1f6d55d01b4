package delta_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
)

// TestLostCommitZeroIsNamed: a log that lost its commit 0 without a
// checkpoint (files deleted from under the table, issue 12's "commit 0 is
// missing (oldest available version is -1)") fails to open with an error
// that says so and what the log still holds, not as time travel past
// log clean-up.
func TestLostCommitZeroIsNamed(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	for _, part := range []string{"a", "b"} {
		if _, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, part, testRow{1, "x"})}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "_delta_log", "00000000000000000000.json")); err != nil {
		t.Fatal(err)
	}
	_, err := openTable(t, dir, nil).Snapshot(ctx)
	if !errors.Is(err, delta.ErrVersionNotFound) {
		t.Fatalf("got %v, want ErrVersionNotFound", err)
	}
	for _, want := range []string{"commit 0 is missing", "neither commit 0 nor a checkpoint", "files of it were deleted", "holds commits 1-2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
