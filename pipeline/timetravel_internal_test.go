package pipeline

import (
	"strconv"
	"strings"
	"testing"
)

// TestFindTimeTravel: references are found where Spark SQL puts them and
// nowhere else (strings, quoted identifiers, comments); the rewritten text
// keeps everything around them and names the table when no alias is given.
func TestFindTimeTravel(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string // table|path@version/timestamp[..end] alias
		err  string
	}{
		{sql: "SELECT * FROM gold.daily_revenue VERSION AS OF 3", want: []string{"gold.daily_revenue@3 daily_revenue"}},
		{sql: "SELECT r.x FROM gold.daily_revenue version as of 3 r WHERE 1=1", want: []string{"gold.daily_revenue@3 "}},
		{sql: "SELECT * FROM gold.daily_revenue VERSION AS OF 3 AS r", want: []string{"gold.daily_revenue@3 "}},
		{sql: `SELECT * FROM "Gold"."Daily Revenue" TIMESTAMP AS OF '2026-12-01 10:00' JOIN x.y ON true`, want: []string{"Gold.Daily Revenue@'2026-12-01 10:00' Daily Revenue"}},
		{sql: "SELECT * FROM GOLD.Rev VERSION AS OF 1 UNION ALL SELECT * FROM gold.rev VERSION AS OF 2", want: []string{"gold.rev@1 rev", "gold.rev@2 rev"}},
		{sql: "SELECT * FROM delta_scan('/tmp/t''s') VERSION AS OF 0", want: []string{"/tmp/t's@0 "}},
		{sql: "SELECT * FROM delta_scan('/t', version => 2) d", want: []string{"/t@2 "}},
		{sql: "SELECT * FROM delta_scan('/t', version => x)", err: "version number"},
		{sql: "SELECT * FROM table_changes('silver.orders', 3)", want: []string{"silver.orders@3..-1 "}},
		{sql: "SELECT * FROM table_changes( 'silver.orders' , 3 , 5 ) c", want: []string{"silver.orders@3..5 "}},
		{sql: "SELECT 'gold.x VERSION AS OF 3', \"gold.x VERSION AS OF 3\" FROM t -- gold.x VERSION AS OF 3\n/* gold.x VERSION AS OF 3 */", want: nil},
		{sql: "SELECT $$gold.x VERSION AS OF 3$$", want: nil},
		{sql: "SELECT * FROM gold.x", want: nil},
		{sql: "SELECT * FROM a.gold.x VERSION AS OF 3", want: nil}, // not a lake name: left to the parser
		{sql: "SELECT * FROM gold.x VERSION AS OF 'three'", err: "version number"},
		{sql: "SELECT * FROM gold.x VERSION AS OF -1", err: "version number"},
		{sql: "SELECT * FROM gold.x TIMESTAMP AS OF 3", err: "quoted timestamp"},
		{sql: "SELECT * FROM table_changes('silver.orders')", err: "start version"},
		{sql: "SELECT * FROM table_changes('silver.orders', '2026-01-01')", err: "whole numbers"},
		{sql: "SELECT * FROM table_changes(silver.orders, 1)", err: "quoted table name"},
	} {
		refs, err := findTimeTravel(tc.sql)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want one mentioning %q", tc.sql, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		var got []string
		for _, r := range refs {
			s := r.table + r.path + "@"
			if r.timestamp != "" {
				s += "'" + r.timestamp + "'"
			} else {
				s += itoa(r.version)
			}
			if r.changes {
				s += ".." + itoa(r.endVersion)
			}
			got = append(got, s+" "+r.alias)
			if !strings.HasPrefix(strings.ToLower(tc.sql[r.start:]), "table_changes") && !strings.HasPrefix(strings.ToLower(tc.sql[r.start:]), "delta_scan") && !strings.ContainsAny(tc.sql[r.start:r.start+1], `"gGa`) {
				t.Errorf("%s: span starts at %q", tc.sql, tc.sql[r.start:])
			}
		}
		if strings.Join(got, ";") != strings.Join(tc.want, ";") {
			t.Errorf("%s:\n got %q\nwant %q", tc.sql, got, tc.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
