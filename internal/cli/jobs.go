package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) jobsCmd() *cobra.Command {
	var server, token string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the jobs of a running `medallion serve`, or start one by hand",
	}
	call := func(cmd *cobra.Command, method, path string) ([]byte, error) {
		var reqBody io.Reader
		if method == http.MethodPost {
			reqBody = strings.NewReader("{}")
		}
		req, err := http.NewRequestWithContext(cmd.Context(), method, strings.TrimSuffix(server, "/")+path, reqBody)
		if err != nil {
			return nil, err
		}
		if reqBody != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("jobs: is `medallion serve` running at %s? %w", server, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 300 {
			var e struct{ Error string }
			_ = json.Unmarshal(body, &e)
			return nil, fmt.Errorf("jobs: %s %s: %s %s", method, path, resp.Status, e.Error)
		}
		return body, nil
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the jobs and their latest runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := call(cmd, http.MethodGet, "/api/jobs")
			if err != nil {
				return err
			}
			var jobs []struct {
				Name     string
				Select   []string
				Schedule string
				Runs     []struct{ Status, Trigger string }
			}
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&jobs); err != nil {
				return fmt.Errorf("jobs: %w", err)
			}
			tw := newTable(a.stdout, "JOB", "SELECT", "SCHEDULE", "LAST RUN", "TRIGGER")
			for _, j := range jobs {
				last, trig := "", ""
				if len(j.Runs) > 0 {
					last, trig = j.Runs[0].Status, j.Runs[0].Trigger
				}
				tw.row(j.Name, strings.Join(j.Select, " "), j.Schedule, last, trig)
			}
			return tw.flush()
		},
	}
	run := &cobra.Command{
		Use:   "run JOB",
		Short: "Start a job now (it runs after a run in progress)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := call(cmd, http.MethodPost, "/api/jobs/"+args[0]+"/run"); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "job %s triggered\n", args[0])
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&server, "server", "http://127.0.0.1:8080", "the URL of `medallion serve`")
	cmd.PersistentFlags().StringVar(&token, "token", "", "its access token, if it has one")
	cmd.AddCommand(list, run)
	return cmd
}
