package pipeline

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
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
}

// discover lists a source's files in natural order (order_month=9 before
// order_month=10), skipping hidden and temporary names.
func discover(ctx context.Context, landing *storage.Store, s *Source, snap *delta.Snapshot) ([]landedFile, error) {
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
	objs, err := landing.ListFrom(ctx, s.Path+"/", start)
	if err != nil {
		return nil, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	var out []landedFile
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, s.Path+"/")
		hidden := false
		for _, el := range strings.Split(rel, "/") {
			if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
				hidden = true
			}
		}
		if hidden {
			continue
		}
		if ok, _ := path.Match(s.Pattern, path.Base(o.Key)); !ok {
			continue
		}
		local, _ := landing.LocalPath(o.Key) // "" on an object store: fetched when loaded
		out = append(out, landedFile{key: o.Key, local: local, version: o.ModTime.UnixMilli(), size: o.Size})
	}
	slices.SortFunc(out, func(a, b landedFile) int { return naturalCompare(a.key, b.key) })
	return out, nil
}

// naturalCompare orders strings with digit runs compared as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) - len(tb)
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// ingest brings a source's new landing files into its bronze table in one
// commit that also records each file as ingested (txn), so a file is
// ingested exactly once even if a run dies and is retried.
func (r *run) ingest(ctx context.Context, s *Source) (*TableReport, error) {
	rep := &TableReport{Table: s.Table, Kind: "source"}
	if s.Kafka != nil {
		return r.ingestKafka(ctx, s, rep)
	}
	tbl, err := r.lake.Table(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	snap, err := r.lake.Snapshot(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	files, err := discover(ctx, r.landing, s, snap)
	if err != nil {
		return rep, err
	}
	var pending []landedFile
	for _, f := range files {
		if snap != nil && !r.opts.FullRefresh {
			if v, ok := snap.TxnVersion(landingTxn(f.key)); ok && v >= f.version {
				continue
			}
		}
		pending = append(pending, f)
	}
	if len(pending) == 0 {
		rep.Status = StatusUpToDate
		if snap != nil {
			rep.Version = snap.Version()
		}
		return rep, nil
	}
	if s.Mode != ModeReplace && !r.opts.FullRefresh {
		// Bounded batches: the oldest files first, the rest next time.
		n, size := 0, int64(0)
		for _, f := range pending {
			if (r.opts.MaxFiles > 0 && n >= r.opts.MaxFiles) || (r.opts.MaxBytes > 0 && n > 0 && size+f.size > r.opts.MaxBytes) {
				break
			}
			n++
			size += f.size
		}
		rep.Pending = len(pending) - n
		pending = pending[:n]
	}
	for _, f := range pending {
		if t := time.UnixMilli(f.version); rep.Arrival.IsZero() || t.Before(rep.Arrival) {
			rep.Arrival = t
		}
	}
	load := pending
	replace := s.Mode == ModeReplace || (r.opts.FullRefresh && s.Mode != ModeUpsert)
	if s.Mode == ModeReplace {
		load = files // the table becomes the current files' content
	}
	if r.opts.FullRefresh {
		load = files
	}
	rep.Files = len(load)
	if err := r.fetchRemote(ctx, load); err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	src := engine.Source{Format: engine.Format(s.Format), Delimiter: s.CSV.Delimiter, Quote: s.CSV.Quote, Escape: s.CSV.Escape, NoHeader: s.CSV.NoHeader}
	for _, f := range load {
		src.Files = append(src.Files, f.local)
	}
	var txns []delta.Txn
	keys := make([]string, len(load))
	for i, f := range load {
		keys[i] = f.key
		if snap != nil {
			if v, ok := snap.TxnVersion(landingTxn(f.key)); ok && v >= f.version {
				continue // already recorded (a full refresh or a replace reloads it)
			}
		}
		txns = append(txns, delta.Txn{AppID: landingTxn(f.key), Version: f.version})
	}
	info := map[string]any{"batch_id": r.batchID, "source": s.Name, "files": keys}
	if err := r.land(ctx, s, rep, tbl, snap, src, load, txns, info, replace); err != nil {
		return rep, err
	}
	return rep, nil
}

// land loads files into the source's bronze table: reads them, types the
// columns (rescuing what does not fit), and commits the rows with txns in
// one commit, by the source's mode.
func (r *run) land(ctx context.Context, s *Source, rep *TableReport, tbl *delta.Table, snap *delta.Snapshot, src engine.Source, load []landedFile, txns []delta.Txn, info map[string]any, replace bool) error {
	lr, err := r.eng.Load(ctx, "__landed", src)
	if err != nil {
		return fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	rep.Rejected = int64(len(lr.Rejects))
	rep.RowsIn = lr.Rows + rep.Rejected
	for _, rj := range lr.Rejects {
		r.logf("warning: %s: %s line %d: %s", s.Table, r.relKey(rj.File, load), rj.Line, rj.Error)
	}
	// Schema: the table's types for known columns, inferred for new ones.
	var existing *delta.StructType
	if snap != nil {
		existing = snap.Schema()
	}
	cols, err := r.columnTypes(ctx, s, lr.Columns, existing)
	if err != nil {
		return err
	}
	typedSQL, err := r.typedSQL(s, cols, lr.Rejects, load)
	if err != nil {
		return err
	}
	if err := r.eng.Exec(ctx, "CREATE OR REPLACE TEMP TABLE __typed AS "+typedSQL); err != nil {
		return fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	res, err := r.eng.Query(ctx, "SELECT count(*), count("+ColRescuedData+") FROM __typed")
	if err != nil {
		return err
	}
	rep.Rescued = toInt(res.Rows[0][1]) - rep.Rejected
	schema, err := r.bronzeSchema(ctx, s, existing)
	if err != nil {
		return err
	}
	info["rows"], info["rescued"], info["rejected"] = rep.RowsIn, rep.Rescued, rep.Rejected
	w := writeSpec{table: s.Table, tbl: tbl, snap: snap, relation: "__typed", schema: schema, partitionBy: s.PartitionBy, txns: txns, info: info}
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
		w.keys = s.Keys
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

func (r *run) relKey(local string, files []landedFile) string {
	for _, f := range files {
		if f.local == local {
			return f.key
		}
	}
	return local
}

// column is a data column with its storage type.
type column struct {
	name string
	typ  delta.DataType
}

// columnTypes decides each loaded column's type: a schema hint, else the
// table's existing type, else inferred from the values.
func (r *run) columnTypes(ctx context.Context, s *Source, loaded []string, existing *delta.StructType) ([]column, error) {
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
	types, err := r.infer(ctx, names)
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
func (r *run) infer(ctx context.Context, cols []string) ([]delta.DataType, error) {
	const probes = 6
	var sel []string
	for _, col := range cols {
		v := "NULLIF(trim(" + sqlIdent(col) + "), '')"
		sel = append(sel, "count("+v+")", "count(CASE WHEN regexp_full_match("+v+", '[+-]?[0-9]+') THEN TRY_CAST("+v+" AS BIGINT) END)", "count(TRY_CAST("+v+" AS DOUBLE))",
			"count(TRY_CAST("+v+" AS TIMESTAMP))", "count(CASE WHEN regexp_full_match("+v+", '\\d{4}-\\d{2}-\\d{2}') THEN 1 END)",
			"count(CASE WHEN lower("+v+") IN ('true', 'false') THEN 1 END)")
	}
	res, err := r.eng.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM (SELECT * FROM __landed LIMIT "+strconv.Itoa(inferSample)+")")
	if err != nil {
		return nil, fmt.Errorf("pipeline: infer types: %w", err)
	}
	out := make([]delta.DataType, len(cols))
	for i := range cols {
		row := res.Rows[0][i*probes : (i+1)*probes]
		n := float64(toInt(row[0]))
		fits := func(k int) bool { return n > 0 && float64(toInt(row[k])) >= inferThreshold*n }
		switch {
		case fits(1):
			out[i] = delta.Primitive(delta.TypeLong)
		case fits(2):
			out[i] = delta.Primitive(delta.TypeDouble)
		case fits(3) && fits(4):
			out[i] = delta.Primitive(delta.TypeDate)
		case fits(3):
			out[i] = delta.Primitive(delta.TypeTimestamp)
		case fits(5):
			out[i] = delta.Primitive(delta.TypeBoolean)
		default:
			out[i] = delta.Primitive(delta.TypeString)
		}
	}
	return out, nil
}

// typedSQL casts the loaded text columns to their types, moving values that
// do not fit into _rescued_data, adds derived and metadata columns, and
// turns rejected records into rows that keep the raw text.
func (r *run) typedSQL(s *Source, cols []column, rejects []engine.Reject, files []landedFile) (string, error) {
	var sel, rescue, fails []string
	for _, c := range cols {
		id := sqlIdent(c.name)
		v := "NULLIF(" + id + ", '')"
		t, err := sqlTypeName(c.typ)
		if err != nil {
			return "", fmt.Errorf("pipeline: column %s: %w", c.name, err)
		}
		if c.typ.Name == delta.TypeString {
			sel = append(sel, v+" AS "+id)
			continue
		}
		cast := "TRY_CAST(trim(" + v + ") AS " + t + ")"
		switch c.typ.Name {
		case delta.TypeLong, delta.TypeInteger, delta.TypeShort, delta.TypeByte:
			// The engine would round "10.5" into an integer: only whole
			// numbers cast, the rest is rescued.
			cast = "CASE WHEN regexp_full_match(trim(" + v + "), '[+-]?[0-9]+') THEN " + cast + " END"
		}
		sel = append(sel, cast+" AS "+id)
		fail := "(" + v + " IS NOT NULL AND " + cast + " IS NULL)"
		fails = append(fails, fail)
		rescue = append(rescue, "{'k': "+sqlString(c.name)+", 'v': CASE WHEN "+fail+" THEN "+id+" END}")
	}
	rescued := "NULL::VARCHAR"
	if len(rescue) > 0 {
		rescued = "CAST(to_json(map_from_entries(list_filter([" + strings.Join(rescue, ", ") + "], x -> x.v IS NOT NULL))) AS VARCHAR)"
		rescued = "CASE WHEN " + strings.Join(fails, " OR ") + " THEN " + rescued + " END"
	}
	var mapping []string
	for i, f := range files {
		mapping = append(mapping, "("+sqlString(f.local)+", "+sqlString(f.key)+", "+strconv.Itoa(i)+")")
	}
	files_ := "(VALUES " + strings.Join(mapping, ", ") + ") AS f(local, key, idx)"
	meta := "f.key AS " + ColSourceFile + ", l.rowid + 1 AS " + ColSeq +
		", " + sqlString(r.started.UTC().Format("2006-01-02 15:04:05.000000")) + "::TIMESTAMPTZ AS " + ColIngestedAt +
		", " + sqlString(r.batchID) + " AS " + ColBatchID
	typed := "SELECT " + strings.Join(sel, ", ") + ", " + meta + ", " + rescued + " AS " + ColRescuedData +
		" FROM __landed l JOIN " + files_ + " ON l._source_file = f.local"
	// Rejected records: every data column NULL, the raw text rescued.
	if len(rejects) > 0 {
		var rows []string
		for i, rj := range rejects {
			idx := slices.IndexFunc(files, func(f landedFile) bool { return f.local == rj.File })
			key := rj.File
			if idx >= 0 {
				key = files[idx].key
			}
			raw := fmt.Sprintf(`{"_corrupt_record": %s, "_error": %s, "_line": %d}`, jsonString(rj.Raw), jsonString(rj.Error), rj.Line)
			rows = append(rows, "("+sqlString(key)+", "+strconv.FormatInt(int64(1)<<40+int64(i), 10)+", "+sqlString(raw)+")")
		}
		var nulls []string
		for _, c := range cols {
			t, _ := sqlTypeName(c.typ)
			nulls = append(nulls, "NULL::"+t+" AS "+sqlIdent(c.name))
		}
		rej := "SELECT " + strings.Join(nulls, ", ") + ", j.k AS " + ColSourceFile + ", j.s AS " + ColSeq +
			", " + sqlString(r.started.UTC().Format("2006-01-02 15:04:05.000000")) + "::TIMESTAMPTZ AS " + ColIngestedAt +
			", " + sqlString(r.batchID) + " AS " + ColBatchID + ", j.raw AS " + ColRescuedData +
			" FROM (VALUES " + strings.Join(rows, ", ") + ") AS j(k, s, raw)"
		typed = typed + " UNION ALL " + rej
	}
	// Derived columns over the typed values; metadata columns last.
	var derived []string
	for _, item := range s.Derive {
		derived = append(derived, "("+item.Value.(string)+") AS "+sqlIdent(item.Key.(string)))
	}
	dataCols := make([]string, len(cols))
	for i, c := range cols {
		dataCols[i] = sqlIdent(c.name)
	}
	out := append(append(dataCols, derived...), metaColumns...)
	return "SELECT " + strings.Join(out, ", ") + " FROM (" + typed + ") AS typed", nil
}

// bronzeSchema is the table schema for the typed batch: the existing schema
// plus any new columns (schema evolution adds them at the end, nullable).
func (r *run) bronzeSchema(ctx context.Context, s *Source, existing *delta.StructType) (*delta.StructType, error) {
	batch, err := r.relationSchema(ctx, "__typed")
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

func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

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
// can be ingested from text.
func sqlTypeName(t delta.DataType) (string, error) {
	switch t.Name {
	case delta.TypeArray, delta.TypeMap, delta.TypeStruct, delta.TypeTimestampNTZ:
		return "", fmt.Errorf("type %s cannot be ingested from text", t)
	}
	name, err := duckdb.SQLType(t)
	if err != nil {
		return "", fmt.Errorf("type %s cannot be ingested from text: %w", t, err)
	}
	return name, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}
