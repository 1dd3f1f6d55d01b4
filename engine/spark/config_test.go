package spark_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/spark"
)

// TestSettings: the engine.spark block's bad settings fail naming the key,
// and a token written into medallion.yaml is refused without repeating it.
func TestSettings(t *testing.T) {
	const secret = "dapiSECRET0123456789"
	for _, tc := range []struct {
		name     string
		settings map[string]any
		key, msg string // "" key: valid
	}{
		{"remote", map[string]any{"remote": "sc://127.0.0.1:15002"}, "", ""},
		{"remote env", map[string]any{"remote_env": "SPARK_REMOTE", "token_env": "DATABRICKS_TOKEN"}, "", ""},
		{"missing", nil, "remote", "missing"},
		{"not sc", map[string]any{"remote": "http://127.0.0.1:15002"}, "remote", "sc://"},
		{"token in file", map[string]any{"remote": "sc://dbc.example:443/;token=" + secret + ";x-databricks-cluster-id=1"}, "remote", "token_env"},
		{"both", map[string]any{"remote": "sc://h:1", "remote_env": "X"}, "remote_env", "not both"},
		{"bad env name", map[string]any{"remote": "sc://h:1", "token_env": "my token"}, "token_env", "environment variable"},
		{"unknown", map[string]any{"remote": "sc://h:1", "cluster": "x"}, "cluster", "unknown setting"},
		{"not a string", map[string]any{"remote": 15002}, "remote", "string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := engine.Check(&engine.Config{Kind: spark.Kind, Settings: tc.settings})
			if tc.key == "" {
				if err != nil {
					t.Fatalf("valid settings refused: %v", err)
				}
				return
			}
			var se *engine.SettingError
			if !errors.As(err, &se) || se.Key != tc.key || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("got %v, want a SettingError on %s saying %q", err, tc.key, tc.msg)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error repeats the token: %v", err)
			}
		})
	}
}

// TestSecretsStayOutOfErrors: a token from the environment (token_env, or
// inside remote_env's address) appears in no error when the connection
// fails, and a missing variable is named, not guessed at.
func TestSecretsStayOutOfErrors(t *testing.T) {
	const secret = "dapiTOPSECRET987654321"
	t.Setenv("MEDALLION_TEST_TOKEN", secret)
	t.Setenv("MEDALLION_TEST_REMOTE", "sc://127.0.0.1:1/;token="+secret+";use_ssl=false")
	for _, tc := range []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"token_env", map[string]any{"remote": "sc://127.0.0.1:1", "token_env": "MEDALLION_TEST_TOKEN"}, "127.0.0.1:1"},
		{"remote_env", map[string]any{"remote_env": "MEDALLION_TEST_REMOTE"}, "127.0.0.1:1"},
		{"unset", map[string]any{"remote": "sc://127.0.0.1:1", "token_env": "MEDALLION_TEST_UNSET"}, "MEDALLION_TEST_UNSET is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			eng, err := engine.Open(ctx, &engine.Config{Kind: spark.Kind, Settings: tc.settings})
			if err == nil {
				eng.Close()
				t.Fatal("opened an engine on a port nothing listens on")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error prints the token: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestCheckQuery: exactly one read-only statement passes; writes, several
// statements and, once sealed, path-based relations and file-reading
// functions are refused naming what was found.
func TestCheckQuery(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		sealed bool
		why    string // "" = accepted
	}{
		{"SELECT 1", false, ""},
		{"  (SELECT * FROM gold.x) ", false, ""},
		{"WITH a AS (SELECT 1) SELECT * FROM a", false, ""},
		{"SELECT 'insert; drop' AS s -- delete\n", false, ""},
		{`SELECT "update" FROM t`, false, ""},
		{"DESCRIBE gold.x", false, ""},
		{"SELECT 1; SELECT 2", false, "2 statements"},
		{"INSERT INTO t VALUES (1)", false, `starting with "INSERT"`},
		{"WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", false, "INSERT"},
		{"SELECT * FROM t; DROP TABLE t", false, "2 statements"},
		{"", false, "no statement"},
		{"SELECT 'unterminated", false, "unterminated"},
		{"SELECT * FROM delta.`/etc/x`", false, ""},
		{"SELECT * FROM delta.`/etc/x`", true, "path-based relation"},
		{"SELECT * FROM csv.`file:/etc/passwd`", true, "path-based relation"},
		{"SELECT * FROM read_files('/etc')", true, "read_files"},
		{"SELECT reflect('java.lang.System', 'exit', '0')", true, "reflect"},
	} {
		e := &spark.Engine{}
		if tc.sealed {
			e.Sandbox(t.Context(), nil)
		}
		err := e.CheckQuery(t.Context(), tc.sql)
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("CheckQuery(%q) refused a read-only query: %v", tc.sql, err)
		case tc.why != "" && (err == nil || !errors.Is(err, engine.ErrNotQuery) || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("CheckQuery(%q, sealed %v) = %v, want ErrNotQuery saying %q", tc.sql, tc.sealed, err, tc.why)
		}
	}
}

// TestExecRefusesWrites: statements that create or change tables fail
// with ErrUnsupported naming the statement (model writes are not on Spark
// yet), before anything reaches Spark.
func TestExecRefusesWrites(t *testing.T) {
	for _, stmt := range []string{
		"CREATE OR REPLACE TEMP TABLE __result AS SELECT 1",
		"CREATE TABLE silver.x AS SELECT 1",
		"INSERT INTO t VALUES (1)",
		"DELETE FROM t",
	} {
		err := (&spark.Engine{}).Exec(t.Context(), stmt)
		if !errors.Is(err, spark.ErrUnsupported) || !strings.Contains(err.Error(), strings.ToUpper(strings.Fields(stmt)[0])) {
			t.Errorf("Exec(%q) = %v, want ErrUnsupported naming the statement", stmt, err)
		}
	}
}

// TestCapabilities: kind spark runs one table at a time by default (its
// engine sessions share one Spark Connect session) and materializes every
// typed batch.
func TestCapabilities(t *testing.T) {
	caps := engine.CapabilitiesOf(spark.Kind)
	if caps.ParallelSessions {
		t.Error("ParallelSessions = true, want false")
	}
	str := []engine.Column{{Name: "s", Type: delta.Primitive(delta.TypeString)}}
	if caps.ViewsTypedBatch(str) {
		t.Error("ViewsTypedBatch(string) = true, want false (materialized)")
	}
}
