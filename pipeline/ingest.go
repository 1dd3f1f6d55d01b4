package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/ingest/landing"
	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/storage"
)

// Bronze metadata columns, added to every row at ingestion.
const (
	ColSourceFile  = "_source_file"  // landing key of the file the row came from
	ColSeq         = "_seq"          // arrival order within the batch (file, then line)
	ColIngestedAt  = "_ingested_at"  // when the batch was ingested
	ColBatchID     = "_batch_id"     // the run that ingested it
	ColRescuedData = "_rescued_data" // JSON of values that did not fit the schema, or of an unparseable record
)

var metaColumns = []string{ColSourceFile, ColSeq, ColIngestedAt, ColBatchID, ColRescuedData}

func isMeta(c string) bool { return slices.Contains(metaColumns, c) }

// landingTxn is the txn appId that records a landing file as ingested; its
// version is the file's modification time in milliseconds, so a file that
// is replaced is ingested again.
func landingTxn(key string) string { return "medallion/landing/" + key }

// landedFile is one file of a source in the landing zone.
type landedFile struct {
	key     string
	local   string
	version int64
	size    int64
	// offset and lineBase are the bytes and lines of the file ingested
	// before (append_new reads on from there); cut and lines are where
	// this read ends and the lines up to it.
	offset, lineBase int64
	cut, lines       int64
	// ranged: local is a copy of part of the file (the store's object is
	// not what the engine reads).
	ranged bool
	// read is how the engine's Load named the file (LoadResult.Files):
	// its rows' _source_file and its rejects' File.
	read string
}

// object is the file as the engine reads it: the landing object (with its
// local copy when the pipeline has one), or the local copy of a range.
func (f landedFile) object(landing *storage.Store) engine.Object {
	if f.ranged || landing == nil {
		return engine.LocalObject(f.local)
	}
	return engine.Object{Store: landing, Key: f.key, Size: f.size, ModTime: time.UnixMilli(f.version), Local: f.local}
}

// loadLanded loads files into the engine (src's objects are theirs, in
// order) and records how the engine named each one.
func (r *run) loadLanded(ctx context.Context, src engine.Source, files []landedFile, landing *storage.Store) (*engine.LoadResult, error) {
	src.Objects = make([]engine.Object, len(files))
	for i, f := range files {
		src.Objects[i] = f.object(landing)
	}
	lr, err := r.eng.Load(ctx, src)
	if err != nil {
		return nil, err
	}
	if len(lr.Files) != len(files) {
		_ = r.eng.Release(ctx, lr.Relation)
		return nil, fmt.Errorf("pipeline: the engine named %d files of the %d it loaded", len(lr.Files), len(files))
	}
	for i := range files {
		files[i].read = lr.Files[i]
	}
	return lr, nil
}

// discover lists a source's files in natural order (order_month=9 before
// order_month=10), skipping hidden and temporary names.
func discover(ctx context.Context, store *storage.Store, s *Source, snap *delta.Snapshot) ([]landedFile, error) {
	start := ""
	if s.Listing == "incremental" && snap != nil && s.Mode != ModeReplace {
		// Resume the listing at the newest file ingested (included, so a
		// rewrite of it is seen): the record is the table's own txns.
		prefix := landingTxn(s.Path + "/")
		for app := range snap.Txns() {
			if k, ok := strings.CutPrefix(app, prefix); ok {
				start = max(start, s.Path+"/"+k)
			}
		}
	}
	objs, err := landing.List(ctx, store, s.Path, s.Pattern, start)
	if err != nil {
		return nil, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	out := make([]landedFile, len(objs))
	for i, o := range objs {
		local, _ := store.LocalPath(o.Key) // "" on an object store: fetched when loaded
		out[i] = landedFile{key: o.Key, local: local, version: o.ModTime.UnixMilli(), size: o.Size}
	}
	return out, nil
}

// scanLanding checks a landing file (see landing.ScanFile).
func scanLanding(ctx context.Context, path string, s *Source, offset, lineBase int64, completeLines bool) (landing.Scan, error) {
	return landing.ScanFile(ctx, path, landing.Spec{Format: s.Format, CSV: s.CSV}, offset, lineBase, completeLines)
}

// Txn appIds that record, in the bronze table's own log, what was ingested
// of a landing file, committed with the rows so that a crash between
// reading and committing ingests nothing twice: the file's modification
// time and size as last seen, and how many of its bytes and lines were
// ingested (append_new reads on from there). A txn's version may only
// grow, so each holds a generation (bits 40 and up, one more at every
// change of the file's record) above the value (the low 40 bits).
func landingGenTxn(key string) string    { return "medallion/landing-gen/" + key }
func landingMtimeTxn(key string) string  { return "medallion/landing-mtime/" + key }
func landingSizeTxn(key string) string   { return "medallion/landing-size/" + key }
func landingOffsetTxn(key string) string { return "medallion/landing-offset/" + key }
func landingLinesTxn(key string) string  { return "medallion/landing-lines/" + key }

const (
	stateBits = 40
	stateMask = int64(1)<<stateBits - 1
)

// fileState is what the bronze table's log records of a landing file.
type fileState struct {
	ingested bool
	marker   int64 // the landingTxn version: the newest modification time ingested
	gen      int64 // generation of the record (0: written before sizes were recorded)
	// mtime (milliseconds, low 40 bits) and size as last seen; offset and
	// lines ingested. -1 when not recorded.
	mtime, size, offset, lines int64
}

func recordedState(snap *delta.Snapshot, key string) fileState {
	st := fileState{mtime: -1, size: -1, offset: -1, lines: -1}
	if snap == nil {
		return st
	}
	st.marker, st.ingested = snap.TxnVersion(landingTxn(key))
	for _, x := range []struct {
		app string
		to  *int64
	}{{landingMtimeTxn(key), &st.mtime}, {landingSizeTxn(key), &st.size}, {landingOffsetTxn(key), &st.offset}, {landingLinesTxn(key), &st.lines}} {
		if v, ok := snap.TxnVersion(x.app); ok {
			*x.to = v & stateMask
			st.gen = max(st.gen, v>>stateBits)
		}
	}
	return st
}

// changed reports whether the file is not the version last seen. Tables
// written before sizes were recorded compare modification times only.
func (st fileState) changed(f landedFile) bool {
	if st.size < 0 || st.mtime < 0 {
		return f.version > st.marker
	}
	return f.version&stateMask != st.mtime || f.size&stateMask != st.size
}

// stateTxns record f's current version as seen, with offset and lines
// ingested (-1: leave them as recorded).
func (st fileState) stateTxns(f landedFile, offset, lines int64) []delta.Txn {
	// The generation alone as well: a racing run that recorded the same
	// generation with other values makes this commit fail its txn check
	// (some txns already committed) instead of ingesting bytes twice.
	out := []delta.Txn{{AppID: landingGenTxn(f.key), Version: st.gen + 1}}
	gen := (st.gen + 1) << stateBits
	out = append(out, delta.Txn{AppID: landingMtimeTxn(f.key), Version: gen | f.version&stateMask}, delta.Txn{AppID: landingSizeTxn(f.key), Version: gen | f.size&stateMask})
	if offset < 0 {
		offset, lines = st.offset, st.lines
	}
	if offset >= 0 {
		out = append(out, delta.Txn{AppID: landingOffsetTxn(f.key), Version: gen | offset&stateMask}, delta.Txn{AppID: landingLinesTxn(f.key), Version: gen | lines&stateMask})
	}
	if !st.ingested || f.version > st.marker {
		out = append(out, delta.Txn{AppID: landingTxn(f.key), Version: f.version})
	}
	return out
}

// ingest brings a source's new landing files into its bronze table in one
// commit that also records each file as ingested (txns), so a file is
// ingested exactly once even if a run dies and is retried. A file that
// changed after it was ingested is handled by the source's on_change; a
// file that cannot be read is set aside in medallion.bad_files and the
// rest of the source goes on.
func (r *run) ingest(ctx context.Context, s *Source) (*TableReport, error) {
	defer r.scope(ctx)()
	rep := &TableReport{Table: s.Table, Kind: "source"}
	if open := r.streamSource(s); open != nil {
		return r.ingestStream(ctx, s, open, rep)
	}
	tbl, err := r.lake.Table(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	snap, err := r.lake.Snapshot(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	files, nb, err := r.discoverFiles(ctx, s, snap)
	if err != nil {
		return rep, err
	}
	prevBad, err := r.badFiles(ctx, s)
	if err != nil {
		return rep, err
	}
	var plans []landedFile // files (or their new lines) to read
	var seen []delta.Txn   // changed files left as they were ingested
	var resolved []string  // set-aside files that are now ingested
	appendNew := s.OnChange == OnChangeAppendNew
	for _, f := range files {
		st := recordedState(snap, f.key)
		if r.opts.FullRefresh {
			plans = append(plans, f) // set-aside files are tried again too
			continue
		}
		b, wasBad := prevBad[f.key]
		if wasBad && b.sameVersion(f) {
			continue // set aside, unchanged since
		}
		if wasBad && st.ingested && !st.changed(f) {
			resolved = append(resolved, f.key) // ingested by a run that died before recording it
			continue
		}
		switch {
		case !st.ingested:
			plans = append(plans, f)
		case !st.changed(f):
		case s.Mode == ModeReplace:
			plans = append(plans, f)
		case s.OnChange == OnChangeReingest:
			rep.ChangedFiles++
			r.logf("warning: %s: %s changed since it was ingested (%s); ingesting it again in full (on_change: reingest): its earlier rows stay in the table", s.Table, f.key, changeText(st, f))
			plans = append(plans, f)
		case appendNew && st.offset >= 0 && f.size > st.offset:
			f.offset, f.lineBase = st.offset, st.lines
			plans = append(plans, f)
		default:
			rep.ChangedFiles++
			how := "on_change: ignore"
			switch {
			case appendNew && st.offset < 0:
				how = "on_change: append_new, but the table does not record how much of it was ingested (it was ingested by an older medallion)"
			case appendNew:
				how = "on_change: append_new, and it did not grow past the " + strconv.FormatInt(st.offset, 10) + " bytes ingested"
			}
			r.logf("warning: %s: %s changed since it was ingested (%s); not ingested again (%s)", s.Table, f.key, changeText(st, f), how)
			seen = append(seen, st.stateTxns(f, -1, -1)...)
		}
	}
	if s.Mode == ModeReplace && len(plans) > 0 && !r.opts.FullRefresh {
		// The table becomes the current files' content: read them all.
		plans = plans[:0]
		for _, f := range files {
			if b, ok := prevBad[f.key]; !ok || !b.sameVersion(f) {
				plans = append(plans, f)
			}
		}
	}
	if s.Mode != ModeReplace && !r.opts.FullRefresh {
		// Bounded batches: the oldest files first, the rest next time.
		n, size := 0, int64(0)
		for _, f := range plans {
			fs := f.size - f.offset
			if (r.opts.MaxFiles > 0 && n >= r.opts.MaxFiles) || (r.opts.MaxBytes > 0 && n > 0 && size+fs > r.opts.MaxBytes) {
				break
			}
			n++
			size += fs
		}
		rep.Pending = len(plans) - n
		nb.postpone(plans[n:])
		plans = plans[:n]
	}
	if err := r.fetchRemote(ctx, plans); err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	good, bad, cleanup, err := r.prepare(ctx, s, snap, plans)
	defer cleanup()
	if err != nil {
		return rep, err
	}
	src := engine.Source{Format: engine.Format(s.Format), Delimiter: s.CSV.Delimiter, Quote: s.CSV.Quote, Escape: s.CSV.Escape, NoHeader: s.CSV.NoHeader, Types: s.hintTypes()}
	var lr *engine.LoadResult
	if len(good) > 0 {
		var unreadable []badFile
		lr, good, unreadable, err = r.loadFiles(ctx, s, src, good)
		if err != nil {
			return rep, err
		}
		bad = append(bad, unreadable...)
	}
	for _, f := range good {
		if t := time.UnixMilli(f.version); rep.Arrival.IsZero() || t.Before(rep.Arrival) {
			rep.Arrival = t
		}
	}
	replace := s.Mode == ModeReplace || (r.opts.FullRefresh && s.Mode != ModeUpsert)
	txns := seen
	keys := make([]string, len(good))
	for i, f := range good {
		if f.offset > 0 {
			rep.ChangedFiles++
			r.logf("%s: %s grew since it was ingested: reading its lines %d to %d (on_change: append_new)", s.Table, f.key, f.lineBase+1, f.lines)
		}
		keys[i] = f.key
		txns = append(txns, recordedState(snap, f.key).stateTxns(f, f.cut, f.lines)...)
		if _, ok := prevBad[f.key]; ok {
			resolved = append(resolved, f.key)
		}
	}
	rep.Files = len(good)
	rep.BadFiles = len(bad)
	if snap != nil {
		rep.Version = snap.Version()
	}
	rep.Status = StatusUpToDate
	switch {
	case len(good) > 0:
		info := map[string]any{"batch_id": r.batchID, "source": s.Name, "files": keys}
		if err := r.land(ctx, s, rep, tbl, snap, src, good, txns, info, replace, lr); err != nil {
			return rep, err
		}
	case len(seen) > 0:
		// Only changes left as they were: record them as seen, so that
		// the warning is given once per change.
		cr, err := tbl.Append(ctx, nil, &delta.WriteOptions{Txns: seen, Operation: "WRITE", CommitInfo: map[string]any{"medallion": map[string]any{"batch_id": r.batchID, "source": s.Name, "changed_files": rep.ChangedFiles}}})
		if err != nil {
			return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
		}
		rep.Version = cr.Version
	}
	// The bronze commit first: a run that dies here sets the files aside
	// again (or resolves them) next time.
	if err := r.recordBadFiles(ctx, s, prevBad, bad, resolved); err != nil {
		return rep, err
	}
	// Only now may the notifications of the settled files go.
	if err := r.settleNotifications(ctx, s, nb); err != nil {
		return rep, err
	}
	return rep, nil
}

// loadFiles reads the files into an engine relation. When the
// engine cannot read the batch, each file is tried alone: those it cannot
// read are set aside (with the engine's error), the rest are read.
func (r *run) loadFiles(ctx context.Context, s *Source, src engine.Source, files []landedFile) (*engine.LoadResult, []landedFile, []badFile, error) {
	lr, err := r.loadLanded(ctx, src, files, r.landing)
	if err == nil {
		r.rels = append(r.rels, lr.Relation)
		return lr, files, nil, nil
	}
	if ctx.Err() != nil {
		return nil, nil, nil, ctx.Err()
	}
	batchErr := err
	var good []landedFile
	var bad []badFile
	for _, f := range files {
		probe, err := r.loadLanded(ctx, src, []landedFile{f}, r.landing)
		if err == nil {
			err = r.eng.Release(ctx, probe.Relation)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			msg := fileEngineMessage(err, f)
			bad = append(bad, badFile{key: f.key, size: f.size, mtime: f.version, reason: "the engine cannot read it: " + msg})
			r.logf("warning: %s: %s set aside (see %s): the engine cannot read it: %s", s.Table, f.key, BadFilesTable, msg)
			continue
		}
		good = append(good, f)
	}
	if len(bad) == 0 {
		return nil, nil, nil, fmt.Errorf("pipeline: source %s: %w", s.Name, batchErr)
	}
	if len(good) == 0 {
		return nil, nil, bad, nil
	}
	lr, err = r.loadLanded(ctx, src, good, r.landing)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	r.rels = append(r.rels, lr.Relation)
	return lr, good, bad, nil
}

// fileEngineMessage is the first line of an engine error about a file, with
// the file's landing key for its local path.
func fileEngineMessage(err error, f landedFile) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = strings.TrimPrefix(msg, "duckdb: load: ")
	if f.local != "" {
		msg = strings.ReplaceAll(msg, f.local, f.key)
	}
	return strings.TrimSpace(msg)
}

// changeText describes how a file changed since it was last seen.
func changeText(st fileState, f landedFile) string {
	var parts []string
	if st.size >= 0 && st.size != f.size {
		parts = append(parts, fmt.Sprintf("%d → %d bytes", st.size, f.size))
	}
	if f.version != st.mtime {
		parts = append(parts, "modified "+time.UnixMilli(f.version).UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "touched"
	}
	return strings.Join(parts, ", ")
}

// prepare checks the files to read and sets aside those that cannot be
// ingested (logging a warning for each); files read from an offset or up to
// their last complete line get a local copy of that range. cleanup removes
// the copies.
func (r *run) prepare(ctx context.Context, s *Source, snap *delta.Snapshot, plans []landedFile) (good []landedFile, bad []badFile, cleanup func(), err error) {
	var tmps []string
	cleanup = func() {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	setAside := func(f landedFile, reason string, line int64) {
		bad = append(bad, badFile{key: f.key, size: f.size, mtime: f.version, reason: reason, line: line})
		if line > 0 && !strings.Contains(reason, "line") {
			reason += fmt.Sprintf(" (line %d)", line)
		}
		r.logf("warning: %s: %s set aside (see %s): %s", s.Table, f.key, BadFilesTable, reason)
	}
	appendNew := s.OnChange == OnChangeAppendNew
	needed := r.neededColumns(s, snap)
	known := map[string]bool{}
	for c := range needed {
		if needed[c].known {
			known[c] = true
		}
	}
	for _, f := range plans {
		sc, err := scanLanding(ctx, f.local, s, f.offset, f.lineBase, appendNew)
		if err != nil {
			return nil, nil, cleanup, fmt.Errorf("pipeline: source %s: %s: %w", s.Name, f.key, err)
		}
		if sc.Bad != "" {
			setAside(f, sc.Bad, sc.BadLine)
			continue
		}
		cols := sc.Header
		if s.Format == "parquet" {
			if cols, err = r.eng.FileColumns(ctx, engine.Source{Format: engine.Parquet, Objects: []engine.Object{f.object(r.landing)}}); err != nil {
				if ctx.Err() != nil {
					return nil, nil, cleanup, ctx.Err()
				}
				setAside(f, "the engine cannot read it: "+fileEngineMessage(err, f), 0)
				continue
			}
		}
		if cols != nil {
			// A file without a column that earlier files had and a model
			// reads would become NULLs (or a model's default) downstream.
			have := map[string]bool{}
			for _, c := range cols {
				have[strings.ToLower(c)] = true
			}
			var missing []string
			for c := range known {
				if !have[c] && needed[c].by != "" {
					missing = append(missing, needed[c].name+" (read by "+needed[c].by+")")
				}
			}
			if len(missing) > 0 {
				slices.Sort(missing)
				line := int64(0)
				if s.Format == "csv" && !s.CSV.NoHeader {
					line = 1 // the header
				}
				setAside(f, "lacks column "+strings.Join(missing, ", "), line)
				continue
			}
			for c := range have {
				known[c] = true
			}
		}
		f.cut, f.lines = sc.Cut, sc.Lines
		if f.cut <= f.offset || (appendNew && sc.Records == 0) {
			if f.offset == 0 && f.cut == f.size && !appendNew {
				good = append(good, f) // a header-only file: no rows
			}
			continue // no complete line yet past what was ingested
		}
		if f.offset > 0 || f.cut < f.size {
			tmp, err := r.copyRange(ctx, s, f)
			if err != nil {
				return nil, nil, cleanup, fmt.Errorf("pipeline: source %s: %s: %w", s.Name, f.key, err)
			}
			tmps = append(tmps, tmp)
			f.local, f.ranged = tmp, true
		}
		good = append(good, f)
	}
	return good, bad, cleanup, nil
}

// copyRange copies the bytes [offset, cut) of a landing file to a
// temporary file (after the header line for CSV) for the engine to read.
func (r *run) copyRange(ctx context.Context, s *Source, f landedFile) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir := r.proj.Resolve(r.proj.Config.Engine.CacheDir)
	if r.proj.Dir == "" && !filepath.IsAbs(dir) {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(f.local)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "range-*"+path.Ext(f.key))
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		out.Close()
		if !ok {
			os.Remove(out.Name())
		}
	}()
	if s.Format == "csv" && !s.CSV.NoHeader && f.offset > 0 {
		hdr, n, err := landing.ReadFirstLine(in)
		if err != nil {
			return "", err
		}
		_ = n
		if _, err := out.Write(append(hdr, '\n')); err != nil {
			return "", err
		}
	}
	if _, err := in.Seek(f.offset, io.SeekStart); err != nil {
		return "", err
	}
	if _, err := io.CopyN(out, in, f.cut-f.offset); err != nil {
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	ok = true
	return out.Name(), nil
}

// originalLine maps a line of the file the engine read to the landing
// file's own line number.
func originalLine(s *Source, f landedFile, line int64) int64 {
	if f.offset == 0 || line <= 0 {
		return line
	}
	if s.Format == "csv" && !s.CSV.NoHeader {
		return f.lineBase + line - 1 // the copy's line 1 is the header
	}
	return f.lineBase + line
}

// neededColumn is a column the source's files must have: known (in the
// table or its schema hints) and read by a model (by names one).
type neededColumn struct {
	name  string
	known bool
	by    string
}

// neededColumns returns, by lower-case name, the source's columns that the
// models downstream (or its own derive, keys and partitioning) read, and
// which of them the table or the schema hints already have.
func (r *run) neededColumns(s *Source, snap *delta.Snapshot) map[string]neededColumn {
	out := map[string]neededColumn{}
	derived := map[string]bool{}
	for _, item := range s.Derive {
		derived[strings.ToLower(item.Key.(string))] = true
	}
	refs := map[string]string{} // identifier → who reads it
	add := func(ident, by string) {
		if _, ok := refs[ident]; !ok {
			refs[ident] = by
		}
	}
	for _, item := range s.Derive {
		for _, id := range sqlIdentifiers(item.Value.(string)) {
			add(id, "derive "+item.Key.(string))
		}
	}
	for _, k := range s.Keys {
		add(strings.ToLower(k), "keys")
	}
	for _, k := range s.PartitionBy {
		add(strings.ToLower(k), "partition_by")
	}
	down, err := r.proj.Selection([]string{s.Table + "+"})
	if err == nil {
		// The models that read the table name the column first.
		for _, direct := range []bool{true, false} {
			for _, m := range r.proj.Models {
				if down[m.Name] && slices.Contains(m.Deps, s.Table) == direct {
					for _, id := range sqlIdentifiers(m.SQL) {
						add(id, m.Name)
					}
				}
			}
		}
	}
	optional := map[string]bool{}
	for _, c := range s.OptionalColumns {
		optional[strings.ToLower(c)] = true
	}
	mark := func(name string) {
		lc := strings.ToLower(name)
		if isMeta(name) || derived[lc] || optional[lc] {
			return
		}
		out[lc] = neededColumn{name: name, known: true, by: refs[lc]}
	}
	if snap != nil {
		for _, f := range snap.Schema().Fields {
			mark(f.Name)
		}
	}
	for c := range s.Schema {
		mark(c)
	}
	// Columns first seen in this batch: named when a file lacks them.
	for id, by := range refs {
		if _, ok := out[id]; !ok && !optional[id] {
			out[id] = neededColumn{name: id, by: by}
		}
	}
	return out
}

// sqlIdentifiers lists the identifiers (lower case) in SQL text, outside
// comments and string literals.
func sqlIdentifiers(sql string) []string {
	var out []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '\'':
			i++
			for i < len(sql) && (sql[i] != '\'' || (i+1 < len(sql) && sql[i+1] == '\'')) {
				if sql[i] == '\'' {
					i++
				}
				i++
			}
			i++
		case c == '"':
			end := strings.IndexByte(sql[i+1:], '"')
			if end < 0 {
				return out
			}
			out = append(out, strings.ToLower(sql[i+1:i+1+end]))
			i += end + 2
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(sql) && (sql[j] == '_' || sql[j] == '$' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			out = append(out, strings.ToLower(sql[i:j]))
			i = j
		default:
			i++
		}
	}
	return out
}

// land loads files into the source's bronze table: reads them, types the
// columns (rescuing what does not fit), and commits the rows with txns in
// one commit, by the source's mode.
func (r *run) land(ctx context.Context, s *Source, rep *TableReport, tbl *delta.Table, snap *delta.Snapshot, src engine.Source, load []landedFile, txns []delta.Txn, info map[string]any, replace bool, lr *engine.LoadResult) error {
	if lr == nil {
		var err error
		if lr, err = r.loadLanded(ctx, src, load, nil); err != nil {
			return fmt.Errorf("pipeline: source %s: %w", s.Name, err)
		}
		r.rels = append(r.rels, lr.Relation)
	}
	rep.Rejected = int64(len(lr.Rejects))
	rep.RowsIn = lr.Rows + rep.Rejected
	for i, rj := range lr.Rejects {
		if j := slices.IndexFunc(load, func(f landedFile) bool { return f.read == rj.File }); j >= 0 {
			lr.Rejects[i].Line = originalLine(s, load[j], rj.Line)
		}
		r.logf("warning: %s: %s line %d: %s", s.Table, r.relKey(rj.File, load), lr.Rejects[i].Line, rj.Error)
	}
	// Schema: the table's types for known columns, inferred for new ones.
	var existing *delta.StructType
	if snap != nil {
		existing = snap.Schema()
	}
	cols, err := r.columnTypes(ctx, s, lr.Relation, lr.Columns, existing)
	if err != nil {
		return err
	}
	typedSQL, err := r.typedSQL(ctx, s, lr.Relation, cols, lr.Rejects, load)
	if err != nil {
		return err
	}
	typed, err := r.typedRows(ctx, typedSQL, cols)
	if err != nil {
		return fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	schema, err := r.bronzeSchema(ctx, s, typed, existing)
	if err != nil {
		return err
	}
	info["rows"], info["rejected"] = rep.RowsIn, rep.Rejected
	// The rows that kept values in _rescued_data (rejected records are
	// among them) are counted on the files written when those hold the
	// whole batch: their footers' null counts say it, and the batch is
	// not read a second time for it (a view's casts computed again).
	rescued := func(ctx context.Context, res *engine.WriteResult, whole bool) error {
		n, ok := int64(0), false
		if whole {
			n, ok = nonNullCount(res.Adds, ColRescuedData)
		}
		if !ok {
			c, err := r.eng.Query(ctx, "SELECT count("+ColRescuedData+") FROM "+typed.Name)
			if err != nil {
				return err
			}
			n = engine.Int64(c.Rows[0][0])
		}
		rep.Rescued = n - rep.Rejected
		info["rescued"] = rep.Rescued
		return nil
	}
	w := writeSpec{table: s.Table, tbl: tbl, snap: snap, relation: typed, schema: schema, partitionBy: s.PartitionBy, txns: txns, info: info, written: rescued}
	var cr delta.CommitResult
	switch {
	case s.Mode == ModeUpsert && !r.opts.FullRefresh:
		w.keys = s.Keys
		w.sequenceBy = []string{ColSeq}
		cr, err = r.merge(ctx, w, rep)
	case replace:
		cr, err = r.overwrite(ctx, w, rep)
	case s.Mode == ModeUpsert:
		// Full refresh of an upsert source: rebuild from every file, the
		// newest row of each key winning.
		w.keys, w.indexKeys = s.Keys, s.Keys
		w.sequenceBy = []string{ColSeq}
		cr, err = r.overwrite(ctx, w, rep)
	default:
		cr, err = r.appendRows(ctx, w, rep)
	}
	if err != nil {
		return fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	rep.Version = cr.Version
	rep.Status = StatusOK
	if cr.Skipped {
		rep.Status = StatusUpToDate
	}
	return nil
}

// fetchRemote gives landing files on an object store a local copy (the
// engine reads local files), downloading them in parallel into the cache.
func (r *run) fetchRemote(ctx context.Context, files []landedFile) error {
	var objs []filecache.Object
	var at []int
	for i, f := range files {
		if f.local == "" {
			objs = append(objs, filecache.Object{Store: r.landing, Key: f.key, Version: fmt.Sprintf("%d-%d", f.size, f.version), Size: f.size})
			at = append(at, i)
		}
	}
	if len(objs) == 0 {
		return nil
	}
	cache, err := cacheFor(r.proj)
	if err != nil {
		return err
	}
	paths, err := cache.Paths(ctx, objs)
	if err != nil {
		return err
	}
	for j, i := range at {
		files[i].local = paths[j]
	}
	return nil
}

// relKey is the landing key of the file the engine read as read.
func (r *run) relKey(read string, files []landedFile) string {
	for _, f := range files {
		if f.read == read {
			return f.key
		}
	}
	return read
}

// column is a data column with its storage type.
type column struct {
	name string
	typ  delta.DataType
}

// columnTypes decides each loaded column's type: a schema hint, else the
// table's existing type, else inferred from the values.
func (r *run) columnTypes(ctx context.Context, s *Source, rel engine.Relation, loaded []string, existing *delta.StructType) ([]column, error) {
	var out []column
	var unknown []int
	for _, c := range loaded {
		if isMeta(c) {
			continue
		}
		if h, ok := s.Schema[c]; ok {
			t, _ := parseTypeName(h)
			out = append(out, column{c, t})
			continue
		}
		if existing != nil {
			if f, ok := existing.Field(c); ok {
				out = append(out, column{f.Name, f.Type})
				continue
			}
		}
		unknown = append(unknown, len(out))
		out = append(out, column{name: c})
	}
	if len(unknown) == 0 {
		return out, nil
	}
	names := make([]string, len(unknown))
	for i, j := range unknown {
		names[i] = out[j].name
	}
	types, err := r.infer(ctx, rel, names)
	if err != nil {
		return nil, err
	}
	for i, j := range unknown {
		out[j].typ = types[i]
	}
	return out, nil
}

// inferThreshold is the share of non-empty values that must fit a type for
// it to be chosen; the rest go to the rescued-data column.
const inferThreshold = 0.98

// inferSample is how many rows type inference looks at; values of later
// rows that do not fit the inferred type are rescued, not lost.
const inferSample = 20000

// infer picks, for each text column, the narrowest type most of its values
// fit: long, double, date, timestamp, boolean, else string. One scan.
func (r *run) infer(ctx context.Context, rel engine.Relation, cols []string) ([]delta.DataType, error) {
	probes, err := r.eng.Probe(ctx, rel, cols, inferSample)
	if err != nil {
		return nil, fmt.Errorf("pipeline: infer types: %w", err)
	}
	out := make([]delta.DataType, len(cols))
	for i, p := range probes {
		n := float64(p.NonEmpty)
		fits := func(k int64) bool { return n > 0 && float64(k) >= inferThreshold*n }
		switch {
		case fits(p.Long):
			out[i] = delta.Primitive(delta.TypeLong)
		case fits(p.Double):
			out[i] = delta.Primitive(delta.TypeDouble)
		case fits(p.Timestamp) && fits(p.Date):
			out[i] = delta.Primitive(delta.TypeDate)
		case fits(p.Timestamp):
			out[i] = delta.Primitive(delta.TypeTimestamp)
		case fits(p.Boolean):
			out[i] = delta.Primitive(delta.TypeBoolean)
		default:
			out[i] = delta.Primitive(delta.TypeString)
		}
	}
	return out, nil
}

// caseMaxFiles is the most files typedSQL maps to their keys with a CASE.
const caseMaxFiles = 64

// typedSQL casts the loaded text columns to their types, moving values that
// do not fit into _rescued_data, adds derived and metadata columns, and
// turns rejected records into rows that keep the raw text.
func (r *run) typedSQL(ctx context.Context, s *Source, loaded engine.Relation, cols []column, rejects []engine.Reject, files []landedFile) (string, error) {
	spec := engine.TypeSpec{Ordinal: ColSeq, Rescue: ColRescuedData}
	for _, c := range cols {
		if _, err := sqlTypeName(r.eng, c.typ); err != nil {
			return "", fmt.Errorf("pipeline: column %s: %w", c.name, err)
		}
		spec.Columns = append(spec.Columns, engine.Column{Name: c.name, Type: c.typ})
	}
	typedRel, err := r.keep(r.eng.TypeText(ctx, loaded, spec))
	if err != nil {
		return "", fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "l." + r.eng.Quote(c.name)
	}
	// Each row's landing key by the file the engine read: for a batch of a few files
	// a CASE over them (cheaper than hashing every row's path into a join);
	// for many, a join with a VALUES list of them. Either way rows of no
	// listed file are left out.
	from := typedRel.Name + " l"
	var keyOf string
	if len(files) <= caseMaxFiles {
		var whens, locals []string
		for _, f := range files {
			whens = append(whens, " WHEN "+sqlString(f.read)+" THEN "+sqlString(f.key))
			locals = append(locals, sqlString(f.read))
		}
		keyOf, from = "CASE l._source_file"+strings.Join(whens, "")+" END", from+" WHERE l._source_file IN ("+strings.Join(locals, ", ")+")"
		if len(files) == 0 {
			keyOf, from = nullOf(r.eng, delta.DataType{Name: delta.TypeString}), typedRel.Name+" l WHERE false"
		}
	} else {
		var mapping []string
		for i, f := range files {
			mapping = append(mapping, "("+sqlString(f.read)+", "+sqlString(f.key)+", "+strconv.Itoa(i)+")")
		}
		keyOf, from = "f.key", from+" JOIN (VALUES "+strings.Join(mapping, ", ")+") AS f(local, key, idx) ON l._source_file = f.local"
	}
	ingestedAt, err := r.timeLiteral(r.started)
	if err != nil {
		return "", err
	}
	meta := keyOf + " AS " + ColSourceFile + ", l." + ColSeq + " AS " + ColSeq +
		", " + ingestedAt + " AS " + ColIngestedAt +
		", " + sqlString(r.batchID) + " AS " + ColBatchID
	typed := "SELECT " + strings.Join(append(sel, meta, "l."+ColRescuedData+" AS "+ColRescuedData), ", ") +
		" FROM " + from
	// Rejected records: every data column NULL, the raw text rescued.
	if len(rejects) > 0 {
		var rows []string
		for i, rj := range rejects {
			idx := slices.IndexFunc(files, func(f landedFile) bool { return f.read == rj.File })
			key := rj.File
			if idx >= 0 {
				key = files[idx].key
			}
			raw := fmt.Sprintf(`{"_corrupt_record": %s, "_error": %s, "_line": %d}`, jsonString(rj.Raw), jsonString(rj.Error), rj.Line)
			rows = append(rows, "("+sqlString(key)+", "+strconv.FormatInt(int64(1)<<40+int64(i), 10)+", "+sqlString(raw)+")")
		}
		var nulls []string
		for _, c := range cols {
			nulls = append(nulls, nullOf(r.eng, c.typ)+" AS "+r.eng.Quote(c.name))
		}
		rej := "SELECT " + strings.Join(nulls, ", ") + ", j.k AS " + ColSourceFile + ", j.s AS " + ColSeq +
			", " + ingestedAt + " AS " + ColIngestedAt +
			", " + sqlString(r.batchID) + " AS " + ColBatchID + ", j.raw AS " + ColRescuedData +
			" FROM (VALUES " + strings.Join(rows, ", ") + ") AS j(k, s, raw)"
		typed = typed + " UNION ALL " + rej
	}
	// Derived columns over the typed values; metadata columns last.
	var derived []string
	for _, item := range s.Derive {
		derived = append(derived, "("+item.Value.(string)+") AS "+r.eng.Quote(item.Key.(string)))
	}
	dataCols := make([]string, len(cols))
	for i, c := range cols {
		dataCols[i] = r.eng.Quote(c.name)
	}
	out := append(append(dataCols, derived...), metaColumns...)
	return "SELECT " + strings.Join(out, ", ") + " FROM (" + typed + ") AS typed", nil
}

// bronzeSchema is the table schema for the typed batch: the existing schema
// plus any new columns (schema evolution adds them at the end, nullable).
func (r *run) bronzeSchema(ctx context.Context, s *Source, typed engine.Relation, existing *delta.StructType) (*delta.StructType, error) {
	batch, err := r.relationSchema(ctx, typed)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		return batch, nil
	}
	merged := &delta.StructType{Fields: slices.Clone(existing.Fields)}
	for _, f := range batch.Fields {
		if _, ok := merged.Field(f.Name); !ok {
			merged.Fields = append(merged.Fields, f)
			r.logf("%s: new column %s %s (schema evolved)", s.Table, f.Name, f.Type)
		}
	}
	return merged, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func jsonString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || !unicode.IsPrint(r) && r < 0x80:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// sqlTypeName is the SQL type a text column is cast to; only scalar types
// can be ingested from text. The engine names the type.
func sqlTypeName(eng engine.Engine, t delta.DataType) (string, error) {
	switch t.Name {
	case delta.TypeArray, delta.TypeMap, delta.TypeStruct, delta.TypeTimestampNTZ:
		return "", fmt.Errorf("type %s cannot be ingested from text", t)
	}
	name, err := eng.SQLType(t)
	if err != nil {
		return "", fmt.Errorf("type %s cannot be ingested from text: %w", t, err)
	}
	return name, nil
}
