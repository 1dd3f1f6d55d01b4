package spark

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/engine"
)

// Loading landing files on Spark. Each file is a temporary view of the
// session over Spark's own reader (CSV in PERMISSIVE mode with a
// corrupt-record column, JSON lines through the text reader, Parquet), the
// files' rows are combined by column name in file order, and the result is
// cached: the relation Load returns reads the files once. Its rows carry
// their load order in a hidden relation (ordered) that TypeText and Probe
// read.
//
// Spark reads the paths itself; medallion reads a CSV file's header line
// and, for a rejected record, finds its line in the file by its text.

const corruptCol = "__corrupt_record"

var simpleKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fileView creates a temporary view of one landing file and returns its
// name.
func (e *Engine) fileView(ctx context.Context, base string, i int, using, schema string, opts [][2]string) (string, error) {
	v := base + "_f" + strconv.Itoa(i)
	var o []string
	for _, kv := range opts {
		o = append(o, kv[0]+" "+optionString(kv[1]))
	}
	stmt := "CREATE OR REPLACE TEMPORARY VIEW " + backtick(v)
	if schema != "" {
		stmt += " (" + schema + ")"
	}
	stmt += " USING " + using + " OPTIONS (" + strings.Join(o, ", ") + ")"
	if _, err := e.sess.Sql(ctx, stmt); err != nil {
		return "", err
	}
	return v, nil
}

// optionString is a literal for an OPTIONS clause, which takes no
// expressions: '…', or "…" for a value holding a single quote.
func optionString(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + s + "'"
}

// Load reads landing files into a new cached relation of text columns plus
// _source_file, returning the records Spark could not parse as rejects.
func (e *Engine) Load(ctx context.Context, src engine.Source) (*engine.LoadResult, error) {
	lf, err := resolveFiles(src)
	if err != nil {
		return nil, fmt.Errorf("spark: load: %w", err)
	}
	if len(lf.where) == 0 {
		return nil, fmt.Errorf("spark: load: no files")
	}
	switch src.Format {
	case engine.CSV, "", engine.JSON, engine.Parquet:
	default:
		return nil, fmt.Errorf("spark: load: unknown format %q (known: csv, json, parquet)", src.Format)
	}
	for _, f := range lf.local {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("spark: load: %w", err)
		}
	}
	pub := e.handle()
	base := "__ld" + e.prefix + strings.TrimPrefix(pub.Name, "__rel")
	var views []string
	ok := false
	defer func() {
		if !ok {
			for _, v := range views {
				if _, err := e.sess.Sql(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+backtick(v)); err == nil {
					e.remote().cachedView(v, false)
				}
			}
			_ = e.Release(context.WithoutCancel(ctx), pub)
		}
	}()
	var (
		raw  string   // SELECT of every record: columns, _source_file, __file, __mono[, corrupt]
		cols []string // data columns in order
		good = "true" // which records of raw are rows
		// A reject's line (NULL: found in the file later) and text, and
		// how its rows become rejects.
		rejLine, rejText = "CAST(NULL AS BIGINT)", "CAST(NULL AS STRING)"
		rejects          func([]engine.Reject) ([]engine.Reject, error)
	)
	switch src.Format {
	case engine.CSV, "":
		var err error
		raw, cols, views, err = e.loadCSV(ctx, base, src, lf)
		if err != nil {
			return nil, err
		}
		good = corruptCol + " IS NULL"
		rejText = corruptCol
		rejects = func(rs []engine.Reject) ([]engine.Reject, error) { return csvRejects(ctx, rs, cols, lf) }
	case engine.JSON:
		var err error
		raw, cols, views, err = e.loadJSON(ctx, base, lf)
		if err != nil {
			return nil, err
		}
		good = "__ok"
		rejLine, rejText = "__lineno", "__line"
		rejects = jsonRejects
	case engine.Parquet:
		var err error
		raw, cols, views, err = e.loadParquet(ctx, base, lf)
		if err != nil {
			return nil, err
		}
		rejects = func(rs []engine.Reject) ([]engine.Reject, error) { return rs, nil }
	}
	sel := make([]string, 0, len(cols)+1)
	for _, c := range cols {
		sel = append(sel, backtick(c))
	}
	sel = append(sel, "_source_file")
	// Every record read once, cached, with __ord: the position of a row
	// among the rows (not the rejects) in load order.
	all := e.handle()
	e.set(all.Name, &relation{create: "SELECT *, CASE WHEN " + good + " THEN count_if(" + good + ") OVER (ORDER BY __file, __mono ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS __ord FROM (" + raw + ") AS __raw"})
	allView := backtick(e.viewName(all.Name))
	if err := e.Cache(ctx, all.Name); err != nil {
		_ = e.Release(context.WithoutCancel(ctx), all)
		return nil, fmt.Errorf("spark: load: %w", err)
	}
	ord := e.newRel("SELECT "+strings.Join(sel, ", ")+", __ord FROM "+allView+" WHERE "+good, all.Name)
	e.rels[strings.ToLower(ord.Name)].owned = []string{strings.ToLower(all.Name)}
	e.set(pub.Name, &relation{create: "SELECT " + strings.Join(sel, ", ") + " FROM " + backtick(e.viewName(ord.Name)),
		deps: []string{strings.ToLower(ord.Name)}, ordered: ord.Name, owned: []string{strings.ToLower(ord.Name)}, ownedViews: views})
	res := &engine.LoadResult{Relation: pub, Columns: cols, Files: lf.where}
	// The count of rows and the rejects in file order, in one query (one
	// round trip and one Spark job) over the cached records. Naming a data
	// column too: should Spark read the files again rather than the cache,
	// it refuses a query of the corrupt-record column alone.
	anyCol := "CAST(NULL AS STRING)"
	if len(cols) > 0 {
		anyCol = "CAST(" + backtick(cols[0]) + " AS STRING)"
	}
	rows, err := e.rawRows(ctx, "SELECT __n, _source_file, __line, __text FROM ("+
		"SELECT 0 AS __k, count(*) AS __n, CAST(count("+anyCol+") AS STRING) AS __d, CAST(NULL AS STRING) AS _source_file, CAST(NULL AS BIGINT) AS __line, CAST(NULL AS STRING) AS __text, 0 AS __file, CAST(0 AS BIGINT) AS __mono FROM "+allView+" WHERE "+good+
		" UNION ALL SELECT 1, 0, "+anyCol+", _source_file, "+rejLine+", "+rejText+", __file, __mono FROM "+allView+" WHERE NOT ("+good+")"+
		") AS __loaded ORDER BY __k, __file, __mono")
	if err != nil {
		return nil, e.wrap("load: count and rejects", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("spark: load: no count row")
	}
	res.Rows = engine.Int64(rows[0][0])
	var rs []engine.Reject
	for _, r := range rows[1:] {
		rs = append(rs, engine.Reject{File: fmt.Sprint(r[1]), Line: engine.Int64(r[2]), Raw: fmt.Sprint(r[3])})
	}
	if res.Rejects, err = rejects(rs); err != nil {
		return nil, fmt.Errorf("spark: load: rejects: %w", err)
	}
	ok = true
	return res, nil
}

// FileColumns lists the data columns of landing files: the header line of
// CSV files, the footers of Parquet files (read by Spark), the keys of
// JSON objects (a load).
func (e *Engine) FileColumns(ctx context.Context, src engine.Source) ([]string, error) {
	lf, err := resolveFiles(src)
	if err != nil {
		return nil, fmt.Errorf("spark: file columns: %w", err)
	}
	if len(lf.where) == 0 {
		return nil, fmt.Errorf("spark: file columns: no files")
	}
	switch src.Format {
	case engine.CSV, "":
		var out []string
		for _, f := range lf.where {
			l, err := lf.localOf(f)
			if err != nil {
				return nil, fmt.Errorf("spark: file columns: %w", err)
			}
			cols, err := csvHeader(l, src)
			if err != nil {
				return nil, fmt.Errorf("spark: file columns: %w", err)
			}
			out = mergeColumns(out, cols)
		}
		return out, nil
	case engine.Parquet:
		var out []string
		for _, f := range lf.where {
			cols, err := e.sparkColumns(ctx, "SELECT * FROM parquet."+backtick(f))
			if err != nil {
				return nil, fmt.Errorf("spark: file columns of %s: %w", f, err)
			}
			var names []string
			for _, c := range cols {
				names = append(names, c.Name)
			}
			out = mergeColumns(out, names)
		}
		return out, nil
	}
	lr, err := e.Load(ctx, src)
	if err != nil {
		return nil, err
	}
	return lr.Columns, e.Release(ctx, lr.Relation)
}

// mergeColumns appends to cols the names of more it lacks (case-blind).
func mergeColumns(cols, more []string) []string {
	for _, c := range more {
		if !slices.ContainsFunc(cols, func(x string) bool { return strings.EqualFold(x, c) }) {
			cols = append(cols, c)
		}
	}
	return cols
}

// csvHeader reads the column names of a CSV file from its first line
// (column0, column1, … without a header, or for an empty name).
func csvHeader(file string, src engine.Source) ([]string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	buf := make([]byte, 64<<10)
	n, _ := io.ReadFull(fh, buf)
	line := buf[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	h := strings.TrimSuffix(strings.TrimPrefix(string(line), "\ufeff"), "\r")
	r := csv.NewReader(strings.NewReader(h))
	r.Comma = []rune(or(src.Delimiter, ","))[0]
	r.LazyQuotes = true
	names, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header of %s: %w", file, err)
	}
	seen := map[string]bool{}
	for i, nm := range names {
		nm = strings.TrimSpace(nm)
		if src.NoHeader || nm == "" {
			nm = fmt.Sprintf("column%d", i)
		}
		if seen[strings.ToLower(nm)] {
			return nil, fmt.Errorf("header of %s: duplicate column %q", file, nm)
		}
		seen[strings.ToLower(nm)] = true
		names[i] = nm
	}
	return names, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// loadCSV makes a view per file and returns the SELECT combining them.
func (e *Engine) loadCSV(ctx context.Context, base string, src engine.Source, lf *landingFiles) (string, []string, []string, error) {
	var cols []string
	var views []string
	perFile := make([][]string, len(lf.where))
	for i, f := range lf.where {
		l, err := lf.localOf(f)
		if err != nil {
			return "", nil, views, fmt.Errorf("spark: load: %w", err)
		}
		h, err := csvHeader(l, src)
		if err != nil {
			return "", nil, views, fmt.Errorf("spark: load: %w", err)
		}
		perFile[i] = h
		cols = mergeColumns(cols, h)
	}
	var parts []string
	for i, f := range lf.where {
		schema := make([]string, 0, len(perFile[i])+1)
		for _, c := range perFile[i] {
			schema = append(schema, backtick(c)+" STRING")
		}
		schema = append(schema, corruptCol+" STRING")
		v, err := e.fileView(ctx, base, i, "csv", strings.Join(schema, ", "), [][2]string{
			{"path", f}, {"header", strconv.FormatBool(!src.NoHeader)}, {"sep", or(src.Delimiter, ",")},
			{"quote", or(src.Quote, `"`)}, {"escape", or(src.Escape, `"`)}, {"mode", "PERMISSIVE"},
			{"columnNameOfCorruptRecord", corruptCol}, {"multiLine", "true"}, {"encoding", "UTF-8"},
		})
		if err != nil {
			return "", nil, views, e.wrap("load "+f, err)
		}
		views = append(views, v)
		// Every scan reads a data column too: Spark refuses a scan of the
		// corrupt-record column alone (a count, or _source_file only), and
		// its cache never matches a plan holding monotonically_increasing_id.
		parts = append(parts, fileSelect(v, f, i, cols, perFile[i], corruptCol)+" WHERE length(coalesce("+backtick(perFile[i][0])+", '')) >= 0")
	}
	return strings.Join(parts, " UNION ALL "), cols, views, nil
}

// fileSelect selects, from the view of file i, the columns cols (NULL for
// those it lacks) as text, then _source_file, __file, __mono and extra.
func fileSelect(view, file string, i int, cols, own []string, extra string) string {
	sel := make([]string, 0, len(cols)+4)
	for _, c := range cols {
		j := slices.IndexFunc(own, func(x string) bool { return strings.EqualFold(x, c) })
		if j < 0 {
			sel = append(sel, "CAST(NULL AS STRING) AS "+backtick(c))
			continue
		}
		sel = append(sel, "CAST("+backtick(own[j])+" AS STRING) AS "+backtick(c))
	}
	sel = append(sel, strLit(file)+" AS _source_file", strconv.Itoa(i)+" AS __file", "monotonically_increasing_id() AS __mono")
	if extra != "" {
		sel = append(sel, extra)
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM " + backtick(view)
}

// csvRejects completes the records Spark marked corrupt (file, text, in
// file order) with the line each starts on.
func csvRejects(ctx context.Context, rs []engine.Reject, cols []string, lf *landingFiles) ([]engine.Reject, error) {
	for i := range rs {
		rs[i].Line = 0
		rs[i].Raw = strings.TrimRight(rs[i].Raw, "\r\n")
		rs[i].Error = fmt.Sprintf("malformed CSV record: not %d fields, or bad quoting", len(cols))
	}
	if err := engine.RejectLines(ctx, rs, lf.localOf); err != nil {
		return nil, err
	}
	return rs, nil
}

// loadJSON reads JSON lines files: each line is a record; lines that are
// not a JSON object are rejects, blank lines are skipped.
func (e *Engine) loadJSON(ctx context.Context, base string, lf *landingFiles) (string, []string, []string, error) {
	var views, parts []string
	for i, f := range lf.where {
		v, err := e.fileView(ctx, base, i, "text", "", [][2]string{{"path", f}})
		if err != nil {
			return "", nil, views, e.wrap("load "+f, err)
		}
		views = append(views, v)
		parts = append(parts, "SELECT value AS __line, "+strLit(f)+" AS _source_file, "+strconv.Itoa(i)+" AS __file, monotonically_increasing_id() AS __mono FROM "+backtick(v))
	}
	// Lines numbered per file (blank lines counted), keys parsed once.
	lines := "SELECT *, row_number() OVER (PARTITION BY __file ORDER BY __mono) AS __lineno, json_object_keys(__line) AS __keys FROM (" + strings.Join(parts, " UNION ALL ") + ")"
	lv := base + "_lines"
	if _, err := e.sess.Sql(ctx, "CREATE OR REPLACE TEMPORARY VIEW "+backtick(lv)+" AS "+lines); err != nil {
		return "", nil, views, e.wrap("load", err)
	}
	views = append(views, lv)
	if _, err := e.sess.Sql(ctx, "CACHE LAZY TABLE "+backtick(lv)); err != nil {
		return "", nil, views, e.wrap("load", err)
	}
	e.remote().cachedView(lv, true)
	keys, err := e.rawRows(ctx, "SELECT k FROM (SELECT explode(__keys) AS k, __file, __mono FROM "+backtick(lv)+") GROUP BY k ORDER BY min(struct(__file, __mono)), k")
	if err != nil {
		return "", nil, views, e.wrap("load: keys", err)
	}
	var cols, sel []string
	for _, k := range keys {
		key := fmt.Sprint(k[0])
		if slices.ContainsFunc(cols, func(x string) bool { return strings.EqualFold(x, key) }) {
			continue
		}
		cols = append(cols, key)
		p := "$." + key
		if !simpleKey.MatchString(key) {
			p = "$['" + key + "']"
		}
		sel = append(sel, "get_json_object(__line, "+strLit(p)+") AS "+backtick(key))
	}
	sel = append(sel, "_source_file", "__file", "__mono", "__lineno", "__line", "__keys IS NOT NULL AS __ok")
	raw := "SELECT " + strings.Join(sel, ", ") + " FROM " + backtick(lv) + " WHERE trim(__line) <> ''"
	return raw, cols, views, nil
}

// jsonRejects completes the lines that are not a JSON object.
func jsonRejects(rs []engine.Reject) ([]engine.Reject, error) {
	for i := range rs {
		rs[i].Error = "invalid JSON object"
	}
	return rs, nil
}

// loadParquet reads Parquet files, every column cast to text, combined by
// column name.
func (e *Engine) loadParquet(ctx context.Context, base string, lf *landingFiles) (string, []string, []string, error) {
	var views, cols []string
	perFile := make([][]string, len(lf.where))
	for i, f := range lf.where {
		v, err := e.fileView(ctx, base, i, "parquet", "", [][2]string{{"path", f}})
		if err != nil {
			return "", nil, views, e.wrap("load "+f, err)
		}
		views = append(views, v)
		cs, err := e.sparkColumns(ctx, "SELECT * FROM "+backtick(v))
		if err != nil {
			return "", nil, views, fmt.Errorf("spark: load %s: %w", f, err)
		}
		for _, c := range cs {
			perFile[i] = append(perFile[i], c.Name)
		}
		cols = mergeColumns(cols, perFile[i])
	}
	var parts []string
	for i, f := range lf.where {
		parts = append(parts, fileSelect(views[i], f, i, cols, perFile[i], ""))
	}
	return strings.Join(parts, " UNION ALL "), cols, views, nil
}

// landingFiles are the landing objects of a Load: where Spark reads each
// (objectLocation: in place, which is also how _source_file and rejects
// name it) and the local file medallion reads a CSV header or a rejected
// record's line from.
type landingFiles struct {
	where []string
	local map[string]string // by where; "" when no local copy exists
}

// resolveFiles resolves src's objects for Spark.
func resolveFiles(src engine.Source) (*landingFiles, error) {
	lf := &landingFiles{local: map[string]string{}}
	for _, o := range src.Objects {
		w, err := objectLocation(o)
		if err != nil {
			return nil, err
		}
		l := o.Local
		if l == "" && o.Store != nil {
			l, _ = o.Store.LocalPath(o.Key)
		}
		lf.where = append(lf.where, w)
		lf.local[w] = l
	}
	return lf, nil
}

// localOf is the local file of the object Spark reads at where.
func (lf *landingFiles) localOf(where string) (string, error) {
	if l := lf.local[where]; l != "" {
		return l, nil
	}
	return "", fmt.Errorf("%s: no local copy to read its header and rejected lines from", where)
}
