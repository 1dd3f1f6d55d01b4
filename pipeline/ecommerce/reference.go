package ecommerce

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/medallionhq/medallion/pipeline"
)

// ReferenceStatements prepares the hand-written reference script the
// benchmarks compare medallion with (testdata/reference.sql, named name in
// errors): it substitutes ${landing}, ${out} and the project's vars, and
// splits the text into statements (each ends with ';' at the end of a line;
// '--' comment lines are dropped). A placeholder left over is an error.
func ReferenceStatements(name, tmpl string, proj *pipeline.Project, landing, out string) ([]string, error) {
	pairs := []string{"${landing}", sqlPath(landing), "${out}", sqlPath(out)}
	for k, v := range proj.Config.Vars {
		pairs = append(pairs, "${"+k+"}", fmt.Sprint(v))
	}
	text := strings.NewReplacer(pairs...).Replace(tmpl)
	if i := strings.Index(text, "${"); i >= 0 {
		return nil, fmt.Errorf("ecommerce: %s: unknown placeholder at %q", name, text[i:min(len(text), i+40)])
	}
	var stmts []string
	var cur strings.Builder
	for line := range strings.Lines(text) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || (t == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(t, ";") {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts, nil
}

// sqlPath makes a path safe inside a SQL string literal.
func sqlPath(p string) string { return strings.ReplaceAll(filepath.ToSlash(p), "'", "''") }
