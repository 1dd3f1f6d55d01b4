package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// A model's commit records the fingerprint of the definition it was
// computed with as a txn (SetTransaction) action whose appId is
// definitionTxn(model, fingerprint) and whose version grows with every
// change (the table's version before the commit, plus one). Txns live in the
// table's snapshot (and its checkpoints), so reading the fingerprint costs
// nothing; the newest appId of the model's prefix is the definition the table
// holds. The commit info's medallion.definition repeats it for people
// reading the history.

// definitionTxnPrefix starts the appIds of a model's definition txns.
func definitionTxnPrefix(model string) string { return "medallion/model/" + model + "/definition/" }

// definitionTxn is the appId recording that model was computed with the
// definition of that fingerprint.
func definitionTxn(model, fingerprint string) string { return definitionTxnPrefix(model) + fingerprint }

// StoredFingerprint returns the fingerprint of the definition a model's
// table was last computed with ("" when the table records none: it predates
// fingerprints or does not exist).
func StoredFingerprint(snap *delta.Snapshot, model string) string {
	if snap == nil {
		return ""
	}
	prefix := definitionTxnPrefix(model)
	best, bestV := "", int64(-1)
	for app, v := range snap.Txns() {
		if fp, ok := strings.CutPrefix(app, prefix); ok && v > bestV {
			best, bestV = fp, v
		}
	}
	return best
}

// Fingerprint is a digest of what a model computes: its header settings
// (everything but description and backfill_date), its SQL with the values
// of the ${vars} it uses substituted, and the fingerprints of the models it
// reads (so, transitively, of everything upstream). An edit to any of them changes it, and the next run recomputes the
// model in full and everything downstream of it.
func (p *Project) Fingerprint(m *Model) string {
	upstream := map[string]string{}
	for _, d := range m.Deps {
		if dm := p.Model(d); dm != nil {
			upstream[d] = p.Fingerprint(dm)
		}
	}
	def := struct {
		Name          string
		Materialized  Materialization
		Keys          []string
		SequenceBy    []string
		Incremental   string
		IncrementalBy []string
		Window        *Window
		PartitionBy   []string
		Expectations  []Expectation
		CDC           *CDC              `json:",omitempty"`
		Properties    map[string]string `json:",omitempty"`
		SQL           string
		Upstream      map[string]string
	}{m.Name, m.Materialized, m.Keys, m.SequenceBy, m.Incremental, m.IncrementalBy, m.Window, m.PartitionBy, m.Expectations, m.CDC, m.Properties, m.SQL, upstream}
	b, _ := json.Marshal(def) // plain strings, slices and maps: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ModelError is a model that does not compile against the current schemas
// of its inputs, located in the user's own file.
type ModelError struct {
	// Model is the table the model writes; File its file; Line the line of
	// File (0 when unknown).
	Model string
	File  string
	Line  int
	// Msg is the engine's message with internal names translated back.
	Msg string
	// Text is the line of the file the error points at.
	Text string
}

func (e *ModelError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	s := "pipeline: " + loc + ": model " + e.Model + ": " + e.Msg
	if e.Text != "" {
		s += "\n  " + strconv.Itoa(e.Line) + " | " + e.Text
	}
	return s
}

var (
	engineLineRE = regexp.MustCompile(`(?s)\n*LINE (\d+):.*$`)
	// Names the runner gives relations it rewrites a model's SQL to read.
	changesNameRE = regexp.MustCompile(`__changes_(bronze|silver|gold)_([A-Za-z0-9_]+)`)
	chgNameRE     = regexp.MustCompile(`__chg_(bronze|silver|gold)_([A-Za-z0-9_]+?)_\d+_\d+`)
	enginePrefix  = regexp.MustCompile(`^(duckdb|engine|pipeline): `)
)

// sqlError turns an engine error about a statement built around the model's
// SQL into a ModelError at the user's line. bodyLine is the line of the
// statement on which the model's SQL starts; names maps internal relation
// names back to the table names the user wrote.
func (m *Model) sqlError(err error, bodyLine int, names map[string]string) *ModelError {
	msg := err.Error()
	line := 0
	if mm := engineLineRE.FindStringSubmatch(msg); mm != nil {
		n, _ := strconv.Atoi(mm[1])
		msg = msg[:len(msg)-len(mm[0])]
		if k := n - bodyLine; k >= 0 {
			last := strings.Count(m.SQL, "\n")
			if k > last { // past the SQL: the statement's closing text
				k = last
				msg = strings.Replace(msg, `syntax error at or near ")"`, "syntax error at the end of the query", 1)
			}
			line = m.SQLLine + k
		}
	}
	return m.errorAt(line, translateNames(msg, names))
}

// errorAt is a ModelError at a line of the model's file.
func (m *Model) errorAt(line int, msg string) *ModelError {
	for enginePrefix.MatchString(msg) {
		msg = enginePrefix.ReplaceAllString(msg, "")
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	e := &ModelError{Model: m.Name, File: m.File, Line: line, Msg: msg}
	if text := m.fileLine(line); text != "" {
		e.Text = text
	}
	return e
}

// translateNames replaces the runner's internal relation names in an engine
// message by the user's table names.
func translateNames(msg string, names map[string]string) string {
	for from, to := range names {
		msg = strings.ReplaceAll(msg, from, to)
	}
	msg = chgNameRE.ReplaceAllString(msg, "$1.$2")
	return changesNameRE.ReplaceAllString(msg, "$1.$2")
}

// fileLine returns line n of the model's file as the user wrote it (the SQL
// lines with ${vars} substituted), or "".
func (m *Model) fileLine(n int) string {
	if k := n - m.SQLLine; n > 0 && k >= 0 {
		lines := strings.Split(m.SQL, "\n")
		if k < len(lines) {
			return strings.TrimRight(lines[k], " \t\r")
		}
		return ""
	}
	if k := n - m.headerLine; m.headerLine > 0 && k >= 0 && k < len(m.header) {
		return "-- " + m.header[k]
	}
	return ""
}

// headerLineOf is the file line of the first header line containing all of
// needles (the first header line when none does).
func (m *Model) headerLineOf(needles ...string) int {
	for k, h := range m.header {
		all := true
		for _, n := range needles {
			all = all && strings.Contains(h, n)
		}
		if all {
			return m.headerLine + k
		}
	}
	return m.headerLine
}
