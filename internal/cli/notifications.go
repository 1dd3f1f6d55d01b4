package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) notificationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "File notifications of sources with listing: notifications",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "setup SOURCE",
		Short: "Print what to create so that the object store notifies SOURCE's queue of new files",
		Long: `Print the cloud resources SOURCE's listing: notifications needs, as commands:
the Azure queue and Event Grid subscription (abfss://, az:// landings), the SQS
queue, its policy and the S3 bucket notification (s3://), or the Pub/Sub topic,
GCS notification and subscription (gs://), and the permissions medallion needs.
Nothing is created.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			proj, err := a.project()
			if err != nil {
				return err
			}
			text, err := proj.NotificationSetup(args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(a.stdout, text)
			return nil
		},
	})
	return cmd
}
