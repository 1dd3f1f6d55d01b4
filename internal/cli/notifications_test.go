package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project writes medallion.yaml into a fresh directory and returns it.
func notifyProject(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestNotificationsSetup(t *testing.T) {
	tests := []struct {
		name, landing, block string
		want                 []string
	}{
		{"azure", "abfss://landing@acct.dfs.core.windows.net/raw", "{queue: landing-events, visibility_timeout: 2m}", []string{
			"az storage queue create --account-name acct --name landing-events",
			"az eventgrid event-subscription create --name medallion-orders",
			"--endpoint-type storagequeue",
			"--included-event-types Microsoft.Storage.BlobCreated",
			"--subject-begins-with /blobServices/default/containers/landing/blobs/raw/orders/",
			"Storage Queue Data Message Processor",
			"visibility_timeout: 2m0s",
		}},
		{"s3", "s3://lake-landing/raw", "{queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/landing-events'}", []string{
			"aws sqs create-queue --queue-name landing-events --region eu-west-1",
			`"Resource\":\"arn:aws:sqs:eu-west-1:123456789012:landing-events\"`,
			"aws s3api put-bucket-notification-configuration --bucket lake-landing",
			`"Events":["s3:ObjectCreated:*"]`,
			`{"Name":"prefix","Value":"raw/orders/"}`,
			"sqs:ReceiveMessage, sqs:DeleteMessage",
			"visibility_timeout: 5m0s",
			"backfill_interval: 1h0m0s",
		}},
		{"gcs", "gs://lake-landing", "{queue: projects/acme/subscriptions/landing-orders}", []string{
			"gcloud pubsub topics create medallion-orders --project acme",
			"gcloud storage buckets notifications create gs://lake-landing --topic=projects/acme/topics/medallion-orders",
			"--event-types=OBJECT_FINALIZE --payload-format=json --object-prefix=orders/",
			"gcloud pubsub subscriptions create landing-orders --project acme --topic=medallion-orders --ack-deadline=300",
			"roles/pubsub.subscriber",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := notifyProject(t, "name: n\nlanding: "+tc.landing+"\nsources:\n  orders:\n    listing: notifications\n    notifications: "+tc.block+"\n")
			out := mustRun(t, "notifications", "setup", "orders", "-C", dir)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

func TestNotificationsConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown source", "name: n\nlanding: s3://b\nsources:\n  orders:\n    listing: notifications\n    notifications: {queue: q}\n", `no source "nope" (sources: orders)`},
		{"source lists", "name: n\nlanding: s3://b\nsources:\n  nope: {}\n", "source nope has listing: full"},
		{"local landing", "name: n\nsources:\n  nope:\n    listing: notifications\n    notifications: {queue: q}\n", `sources.nope: listing: notify: landing "landing" is a local folder`},
		{"no queue", "name: n\nlanding: s3://b\nsources:\n  nope:\n    listing: notifications\n", "sources.nope: listing: notifications needs a notifications block"},
		{"empty queue", "name: n\nlanding: s3://b\nsources:\n  nope:\n    listing: notifications\n    notifications: {visibility_timeout: 1m}\n", "sources.nope: notifications.queue: missing"},
		{"bad subscription", "name: n\nlanding: gs://b\nsources:\n  nope:\n    listing: notifications\n    notifications: {queue: my-sub}\n", `notifications.queue: "my-sub" is not a Pub/Sub subscription`},
		{"short visibility", "name: n\nlanding: s3://b\nsources:\n  nope:\n    listing: notifications\n    notifications: {queue: q, visibility_timeout: 10ms}\n", "notifications.visibility_timeout: 10ms is below 1s"},
		{"bad duration", "name: n\nlanding: s3://b\nsources:\n  nope:\n    listing: notifications\n    notifications: {queue: q, backfill_interval: often}\n", `invalid duration "often"`},
		{"replace mode", "name: n\nlanding: s3://b\nsources:\n  nope:\n    mode: replace\n    listing: notifications\n    notifications: {queue: q}\n", "does not apply to mode replace"},
		{"block without listing", "name: n\nlanding: s3://b\nsources:\n  nope:\n    notifications: {queue: q}\n", "set listing: notifications to use them"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := notifyProject(t, tc.yaml)
			code, _, errOut := medallion(t, "notifications", "setup", "nope", "-C", dir)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want a failure saying %q", code, errOut, tc.want)
			}
			if tc.name != "unknown source" && tc.name != "source lists" && !strings.Contains(errOut, "medallion.yaml") {
				t.Errorf("stderr %q does not name medallion.yaml", errOut)
			}
		})
	}
}
