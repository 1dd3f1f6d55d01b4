// Package cli is medallion's command line: the cobra commands behind
// cmd/medallion.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/delta"
	_ "github.com/medallionhq/medallion/engine/duckdb" // engine kind duckdb
	_ "github.com/medallionhq/medallion/engine/spark"  // engine kind spark (Spark Connect)
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	_ "github.com/medallionhq/medallion/storage/azureblob" // abfss://, az:// lakes and landing zones
	_ "github.com/medallionhq/medallion/storage/gcsblob"   // gs:// lakes and landing zones
	_ "github.com/medallionhq/medallion/storage/s3blob"    // s3:// lakes and landing zones
	"github.com/medallionhq/medallion/web/pgwire"
)

// Version is set at build time with -ldflags "-X ...cli.Version=…".
var Version = "dev"

// Main runs the command line with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	// Checkpoints are written in the background after the commits that
	// make them due: let them finish before the process exits.
	defer func() { _ = delta.WaitCheckpoints(context.WithoutCancel(ctx)) }() // no deadline: cannot fail
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "medallion:", err)
		return 1
	}
	return 0
}

type app struct {
	dir    string
	pg     pgwire.Options // serve --pg-* flags
	stdout io.Writer
	stderr io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "medallion",
		Short: "A lakehouse pipeline in one binary: landing files → bronze → silver → gold Delta tables",
		Long: `medallion ingests landing-zone files into Delta Lake tables in three layers
(bronze, silver, gold), keeps them fresh incrementally and exactly once, and
answers SQL over them. With no medallion.yaml in the project directory, the
built-in e-commerce project runs (landing ./landing, lake ./lake).`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&a.dir, "project-dir", "C", ".", "project directory")
	root.AddCommand(a.initCmd(), a.generateCmd(), a.runCmd(), a.backfillCmd(), a.streamCmd(), a.serveCmd(), a.demoCmd(), a.dashboardCmd(), a.jobsCmd(), a.queryCmd(), a.tablesCmd(), a.historyCmd(), a.optimizeCmd(), a.vacuumCmd(), a.repairCmd(), a.notificationsCmd())
	return root
}

// project loads the project in the project directory, or the built-in
// e-commerce project when it has no medallion.yaml.
func (a *app) project() (*pipeline.Project, error) {
	dir, err := filepath.Abs(a.dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, pipeline.ConfigFile)); errors.Is(err, os.ErrNotExist) {
		return ecommerce.Project(dir)
	}
	return pipeline.Load(dir)
}

func (a *app) initCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Write the e-commerce project (medallion.yaml, models, empty landing folders) into DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ecommerce.Init(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote the e-commerce project to %s\nnext: medallion generate --out %s; medallion run -C %s\n",
				args[0], filepath.Join(args[0], "landing"), args[0])
			return nil
		},
	}
}
