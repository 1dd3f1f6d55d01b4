package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
)

// leased runs fn holding the project's writer lease (see
// pipeline.AcquireLease), saying on stderr while it waits for another
// process and for whom.
func (a *app) leased(cmd *cobra.Command, holder string, fn func(ctx context.Context) error) error {
	proj, err := a.project()
	if err != nil {
		return err
	}
	lake, err := pipeline.OpenLake(cmd.Context(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return err
	}
	l, err := pipeline.AcquireLease(cmd.Context(), lake, pipeline.LeaseOptions{Holder: holder, Log: func(s string) { fmt.Fprintln(a.stderr, s) }})
	if err != nil {
		return err
	}
	defer l.Release(context.WithoutCancel(cmd.Context()))
	return fn(l.Context())
}

func (a *app) repairCmd() *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "repair TABLE [--dry-run]",
		Short: "Remove from a table the files its latest version lists but storage lacks (FSCK), so it can be read again",
		Long: `repair removes from TABLE the active files that are missing from storage
(deleted outside a commit), in one commit (operation FSCK) that names them,
so the table can be read and written again. The rows of those files are gone
from the table: re-run the pipeline with --full-refresh --select TABLE+ to
recompute a model (and what reads it) from its inputs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.table(cmd, args[0])
			if err != nil {
				return err
			}
			var res delta.RepairResult
			err = a.leased(cmd, "medallion repair "+args[0], func(ctx context.Context) error {
				res, err = t.Repair(ctx, dry)
				return err
			})
			if err != nil {
				return err
			}
			for _, f := range res.Removed {
				fmt.Fprintln(a.stdout, f.Path)
			}
			rows := "unknown number of"
			if res.Rows >= 0 {
				rows = fmt.Sprint(res.Rows)
			}
			switch {
			case len(res.Removed) == 0:
				fmt.Fprintf(a.stdout, "%s: no missing files\n", args[0])
			case dry:
				fmt.Fprintf(a.stdout, "%s: would remove %d missing files (%s rows)\n", args[0], len(res.Removed), rows)
			default:
				fmt.Fprintf(a.stdout, "%s: version %d: removed %d missing files (%s rows); recompute with: medallion run --full-refresh --select %s+\n", args[0], res.Version, len(res.Removed), rows, args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list the missing files without changing the table")
	return cmd
}
