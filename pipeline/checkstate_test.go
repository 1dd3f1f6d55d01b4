package pipeline_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
)

// TestCheckRememberedAcrossProcesses: `medallion run`, each in a process of
// its own, checks the models only when the check has not passed before with
// the same models, input schemas, engine settings and binary, on an engine
// embedded in the binary. Its trace
// says which: "checked" (a session of the engine compiled the models) or
// "passed before" (none did). An edit that breaks a model, or makes it two
// statements, is caught by the next process's run, which names the file
// (and line) and writes nothing.
func TestCheckRememberedAcrossProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const config = "name: shop\nsources:\n  items:\n    keys: [sku]\n    schema: {qty: long}\n"
	const model = "-- name: silver.items\n-- keys: [sku]\nSELECT sku, qty, _ingested_at, _seq FROM bronze.items\n"
	dir, _ := writeProject(t, map[string]string{
		"medallion.yaml":    config,
		"models/silver.sql": model,
		"models/gold.sql":   "-- name: gold.total\nSELECT sum(qty) AS qty FROM silver.items\n",
	})
	checkLine := regexp.MustCompile(`(?m)^check  .*  (checked|passed before|\d+ broken)$`)
	for i, step := range []struct {
		name  string
		files map[string]string
		// checks are the trace's check statuses, in order.
		checks []string
		// wantErr, when set, is in the failed run's output.
		wantErr string
	}{
		{"first run: inputs missing, then made by the source", map[string]string{"landing/items/a.csv": "sku,qty\na,1\n"}, []string{"checked", "checked"}, ""},
		{"new landing file", map[string]string{"landing/items/b.csv": "sku,qty\nb,2\n"}, []string{"passed before"}, ""},
		{"nothing new", nil, []string{"passed before"}, ""},
		{"model edited", map[string]string{"models/silver.sql": strings.Replace(model, "qty,", "qty, qty * 2 AS double_qty,", 1)}, []string{"checked"}, ""},
		{"engine settings changed", map[string]string{"medallion.yaml": config + "engine:\n  threads: 1\n"}, []string{"checked"}, ""},
		{"model broken", map[string]string{
			"models/silver.sql":   "-- name: silver.items\n-- keys: [sku]\nSELECT sku,\n       colour,\n       _ingested_at, _seq\nFROM bronze.items\n",
			"landing/items/c.csv": "sku,qty\nc,3\n",
		}, []string{"1 broken"}, "models/silver.sql:4: model silver.items"},
		{"model made two statements", map[string]string{
			"models/silver.sql": strings.Replace(model, "qty,", "qty, qty * 2 AS double_qty,", 1) + ";\nDROP TABLE bronze.items\n",
		}, nil, "a model must be exactly one SELECT"},
		{"model fixed as before", map[string]string{"models/silver.sql": strings.Replace(model, "qty,", "qty, qty * 2 AS double_qty,", 1)}, []string{"passed before"}, ""},
		// An engine not in the binary (no Capabilities.Embedded) may change
		// between processes: its checks are not remembered.
		{"an engine kind not embedded", map[string]string{"medallion.yaml": config + "engine:\n  kind: " + kindPlain + "\n"}, []string{"checked"}, ""},
		{"not embedded, new landing file", map[string]string{"landing/items/d.csv": "sku,qty\nd,4\n"}, []string{"checked"}, ""},
	} {
		addFiles(t, dir, step.files)
		lake := filepath.Join(dir, "lake")
		before := commits(t, filepath.Join(lake, "bronze", "items", "_delta_log")) + commits(t, filepath.Join(lake, "silver", "items", "_delta_log"))
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(exe, "run", "--trace", "-C", dir)
		cmd.Env = clitest.ChildEnv()
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var got []string
		for _, m := range checkLine.FindAllStringSubmatch(stderr.String(), -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, ", ") != strings.Join(step.checks, ", ") {
			t.Errorf("run %d (%s): checks %q, want %q", i, step.name, got, step.checks)
		}
		if step.wantErr == "" {
			if err != nil {
				t.Fatalf("run %d (%s): %v\n%s%s", i, step.name, err, stdout.String(), stderr.String())
			}
			continue
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(stderr.String(), step.wantErr) {
			t.Fatalf("run %d (%s): %v, want a failed run naming %q; output:\n%s%s", i, step.name, err, step.wantErr, stdout.String(), stderr.String())
		}
		if after := commits(t, filepath.Join(lake, "bronze", "items", "_delta_log")) + commits(t, filepath.Join(lake, "silver", "items", "_delta_log")); after != before {
			t.Errorf("run %d (%s): %d commits to bronze.items and silver.items, %d before: a run whose check failed wrote", i, step.name, after, before)
		}
	}
}
