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

// modelWeights estimate each model's work this run and what waits for it:
// the bytes landed for the sources upstream of it (landedBytes, through
// any models; each source's folder walked once more, no file opened), plus
// the weight of the heaviest model that reads it (the critical path). Of
// the models ready at once, the heaviest starts first: at SF1
// silver.geolocation (988k bronze rows, deduplicated to 19k) ran last,
// alone on one worker while the other sat idle, after every model before
// it in the project's order; and silver.orders_items, which ten gold
// tables wait for, started after gold tables that were ready beside it
// because the project's files list gold before silver. An SCD 2 CDC model
// weighs four times its inputs (below).
func (r *run) modelWeights(models []*Model) map[string]int64 {
	landed := map[string]int64{}
	for _, s := range r.proj.Sources {
		landed[s.Table] = -1 // walked when first needed
	}
	byName := map[string]*Model{}
	for _, m := range models {
		byName[m.Name] = m
	}
	// upstream: the sources a table reads, directly or through models.
	upstream := map[string][]string{}
	var sources func(table string) []string
	sources = func(table string) []string {
		if ss, ok := upstream[table]; ok {
			return ss
		}
		var out []string
		m := byName[table]
		if v := r.proj.Model(table); m == nil && v != nil && v.Materialized == View {
			m = v
		}
		if _, ok := landed[table]; ok {
			out = []string{table}
		} else if m != nil {
			for _, d := range m.Deps {
				for _, s := range sources(d) {
					if !slices.Contains(out, s) {
						out = append(out, s)
					}
				}
			}
		}
		upstream[table] = out
		return out
	}
	own := map[string]int64{}
	readers := map[string][]string{} // table → the models that read it
	for _, m := range models {
		for _, s := range sources(m.Name) {
			if landed[s] < 0 {
				landed[s] = 0
				for _, src := range r.proj.Sources {
					if src.Table == s {
						landed[s] = r.landedBytes(src)
					}
				}
			}
			own[m.Name] += landed[s]
		}
		if m.CDC != nil && m.CDC.SCD == 2 {
			// An SCD 2 apply sorts every change row of its keys and writes
			// a version per change: at SF1 silver.order_status_history
			// (400k changes from 100k orders) took 0.5 s, the longest
			// model, against 0.05–0.15 s for a gold table over the same
			// orders. Without this it started last and ran alone.
			own[m.Name] *= 4
		}
		for _, d := range m.Deps {
			readers[d] = append(readers[d], m.Name)
		}
	}
	// Models come in dependency order: their readers come after them.
	out := map[string]int64{}
	for i := len(models) - 1; i >= 0; i-- {
		m := models[i]
		var next int64
		for _, rd := range readers[m.Name] {
			next = max(next, out[rd])
		}
		out[m.Name] = own[m.Name] + next
	}
	return out
}

// sourceWeights adds to each source step's weight (its landed bytes) the
// heaviest weight of the model steps that read its table: sources and
// models are scheduled together, and a source that the longest chain of
// models waits for starts first.
func sourceWeights(sources, models []*step) {
	for _, s := range sources {
		var next int64
		for _, m := range models {
			if slices.Contains(m.after, s.table) {
				next = max(next, m.weight)
			}
		}
		s.weight += next
	}
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
