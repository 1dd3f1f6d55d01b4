package pipeline

import (
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/medallionhq/medallion/delta"
)

// Sources start largest first: a run's tables are spread over its workers
// and the models wait for every source, so the sources take least wall time
// when the longest one starts first rather than last (an SF1 landing's
// geolocation file holds 988k of its 1.5M rows and came seventh in the
// project's order).

// landedBytes is the size of the files in a source's landing folder, the
// estimate of its work this run: a walk of the folder when the landing
// zone is a local folder the source lists in full anyway (no file is
// opened), else 0 (an object store, or a source listed incrementally or
// told of files by notifications, is not listed an extra time for it).
func (r *run) landedBytes(s *Source) int64 {
	if r.landing == nil || s.Listing != "full" {
		return 0
	}
	dir, ok := r.landing.LocalPath(s.Path)
	if !ok {
		return 0
	}
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // an unreadable folder only lowers the estimate
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n
}

// modelWeights estimate each model's work this run: the bytes landed for
// the sources whose bronze tables it reads (landedBytes: each source's
// folder walked once more, no file opened), else 0. Of the models ready
// when the sources are done, those over the largest landings start first:
// at SF1 silver.geolocation (988k bronze rows, deduplicated to 19k) ran
// last, alone on one worker while the other sat idle, after every model
// before it in the project's order.
func (r *run) modelWeights(models []*Model) map[string]int64 {
	landed := map[string]int64{}
	out := map[string]int64{}
	for _, m := range models {
		for _, s := range r.proj.Sources {
			if !slices.Contains(m.Deps, s.Table) {
				continue
			}
			n, ok := landed[s.Table]
			if !ok {
				n = r.landedBytes(s)
				landed[s.Table] = n
			}
			out[m.Name] += n
		}
	}
	return out
}

// startOrder is the order runSteps considers steps in: by weight, heaviest
// first, else in the steps' own order.
func startOrder(steps []*step) []int {
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		wa, wb := steps[a].weight, steps[b].weight
		switch {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return 0
	})
	return order
}

// hintTypes are the source's schema hints as types (engine.Source.Types):
// an engine may read those columns typed.
func (s *Source) hintTypes() map[string]delta.DataType {
	var out map[string]delta.DataType
	for c, h := range s.Schema {
		t, err := parseTypeName(h)
		if err != nil {
			continue // refused when the project loaded
		}
		if out == nil {
			out = map[string]delta.DataType{}
		}
		out[c] = t
	}
	return out
}
