package pgwire

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/pipeline"
)

// lakeState is what a connection's translator asks of the lake: its
// relations (layer.table, views included) and the tables' sizes in bytes
// (the data files of their current Delta snapshots).
type lakeState struct {
	relations func() []string
	sizes     func() map[string]int64
	settings  *settings
}

// connLakeState answers for a connection's session.
func (s *Server) connLakeState(ctx context.Context, ss *pipeline.Session, st *settings) *lakeState {
	lake := ss.Lake()
	return &lakeState{
		settings: st,
		relations: func() []string {
			names, _ := lake.Tables(ctx)
			for _, m := range s.proj.Models {
				if m.Materialized == pipeline.View {
					names = append(names, m.Name)
				}
			}
			return names
		},
		sizes: func() map[string]int64 {
			out := map[string]int64{}
			names, err := lake.Tables(ctx)
			if err != nil {
				return out
			}
			for _, n := range names {
				snap, err := lake.Snapshot(ctx, n)
				if err != nil || snap == nil {
					continue
				}
				var size int64
				for _, f := range snap.Files() {
					size += f.Size
				}
				out[n] = size
			}
			return out
		},
	}
}

var (
	indexesSizeRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_indexes_size\s*\(`)
	relSizeRE     = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_(?:table|relation|total_relation)_size\s*\(`)
	litRelRE      = regexp.MustCompile(`^\s*'([^']*)'\s*(?:::\s*(?:pg_catalog\s*\.\s*)?regclass)?\s*$`)
	infoSchemaRE  = regexp.MustCompile(`(?i)\binformation_schema\s*\.\s*schemata\b(\s*\.)?`)
	cteNameRE     = regexp.MustCompile(`(?i)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^()]*\))?\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(`)
)

// rewriteSizes answers pg_table_size, pg_relation_size and
// pg_total_relation_size with the table's size in its Delta snapshot (the
// lake has no indexes: pg_indexes_size is 0; a view has no size: NULL).
func (t *translator) rewriteSizes(sql string) string {
	sql = rewriteCalls(sql, indexesSizeRE, func(string) string { return "CAST(0 AS BIGINT)" })
	var sizes map[string]int64
	return rewriteCalls(sql, relSizeRE, func(args string) string {
		if t.lake == nil {
			return "CAST(NULL AS BIGINT)"
		}
		if sizes == nil {
			sizes = t.lake.sizes()
		}
		if m := litRelRE.FindStringSubmatch(args); m != nil {
			if n, ok := sizes[strings.ReplaceAll(m[1], `"`, "")]; ok {
				return fmt.Sprintf("CAST(%d AS BIGINT)", n)
			}
			return "CAST(NULL AS BIGINT)"
		}
		if len(sizes) == 0 {
			return "CAST(NULL AS BIGINT)"
		}
		names := make([]string, 0, len(sizes))
		for n := range sizes {
			names = append(names, n)
		}
		slices.Sort(names)
		vals := make([]string, len(names))
		for i, n := range names {
			l, r, _ := strings.Cut(n, ".")
			vals[i] = fmt.Sprintf("(%s, %s, CAST(%d AS BIGINT))", quoteString(l), quoteString(r), sizes[n])
		}
		return "(SELECT __sz.size FROM pg_catalog.pg_class __c JOIN pg_catalog.pg_namespace __n ON __n.oid = __c.relnamespace JOIN (VALUES " +
			strings.Join(vals, ", ") + ") AS __sz(nsp, rel, size) ON __sz.nsp = __n.nspname AND __sz.rel = __c.relname WHERE __c.oid = (" + args + ") LIMIT 1)"
	})
}

// searchPath returns the schemas of the session's search_path that name
// relations ("$user", public and pg_catalog do not).
func (t *translator) searchPath() []string {
	if t.lake == nil || t.lake.settings == nil {
		return nil
	}
	var out []string
	for _, s := range strings.Split(t.lake.settings.get("search_path"), ",") {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		switch strings.ToLower(s) {
		case "", "$user", "public", "pg_catalog", "main":
			continue
		}
		out = append(out, s)
	}
	return out
}
