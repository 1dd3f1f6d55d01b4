package notify

import (
	"fmt"
	"net/url"
	"strings"
)

// Setup returns what the user must create so that the store notifies the
// source's queue of new files: the queue, the Event Grid subscription, S3
// bucket notification or GCS notification and topic, and the permissions
// medallion needs, as commands to run (az, aws, gcloud). folder is the
// source's folder under the landing root.
func Setup(loc Location, name, folder string, cfg Config) string {
	var b strings.Builder
	prefix := loc.Prefix + strings.Trim(folder, "/") + "/"
	switch loc.Kind {
	case AzureQueue:
		account, queue := loc.Account, cfg.Queue
		if u, err := url.Parse(cfg.Queue); err == nil && u.Host != "" {
			parts := strings.Split(strings.Trim(u.Path, "/"), "/")
			queue = parts[len(parts)-1]
			if a, _, ok := strings.Cut(u.Hostname(), "."); ok && account == "" {
				account = a
			}
		}
		if account == "" {
			account = "ACCOUNT" // az:// URLs do not name it
		}
		fmt.Fprintf(&b, "Source %s: Event Grid BlobCreated events of %s/%s → Azure Storage queue %s\n\n", name, loc.Bucket, prefix, queue)
		fmt.Fprintf(&b, "1. The queue (in the storage account %s, or any account medallion can reach):\n\n", account)
		fmt.Fprintf(&b, "   az storage queue create --account-name %s --name %s --auth-mode login\n\n", account, queue)
		fmt.Fprintf(&b, "2. The Event Grid subscription that sends the landing's new blobs to it:\n\n")
		fmt.Fprintf(&b, "   ACCOUNT_ID=$(az storage account show --name %s --query id -o tsv)\n", account)
		fmt.Fprintf(&b, "   az eventgrid event-subscription create --name medallion-%s \\\n", strings.ReplaceAll(name, "_", "-"))
		fmt.Fprintf(&b, "     --source-resource-id \"$ACCOUNT_ID\" \\\n")
		fmt.Fprintf(&b, "     --endpoint-type storagequeue --endpoint \"$ACCOUNT_ID/queueservices/default/queues/%s\" \\\n", queue)
		fmt.Fprintf(&b, "     --included-event-types Microsoft.Storage.BlobCreated \\\n")
		fmt.Fprintf(&b, "     --subject-begins-with /blobServices/default/containers/%s/blobs/%s \\\n", loc.Bucket, prefix)
		fmt.Fprintf(&b, "     --advanced-filter data.api StringIn PutBlob PutBlockList FlushWithClose CopyBlob\n\n")
		fmt.Fprintf(&b, "   (Event Grid schema or CloudEvents 1.0 both work. ADLS Gen2 also sends CreateFile for an\n")
		fmt.Fprintf(&b, "   empty new file; medallion ignores it and takes FlushWithClose.)\n\n")
		fmt.Fprintf(&b, "3. Permissions of medallion's identity: Storage Queue Data Message Processor on the queue\n")
		fmt.Fprintf(&b, "   (receive and delete), Storage Blob Data Reader on the container. Credentials are found as\n")
		fmt.Fprintf(&b, "   for the lake (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,\n")
		fmt.Fprintf(&b, "   then the default Azure credential chain).\n")
	case SQS:
		region, acct, queue := "REGION", "ACCOUNT_ID", cfg.Queue
		if u, err := url.Parse(cfg.Queue); err == nil && u.Host != "" {
			parts := strings.Split(strings.Trim(u.Path, "/"), "/")
			if len(parts) == 2 {
				acct, queue = parts[0], parts[1]
			}
			if h := strings.Split(u.Hostname(), "."); len(h) >= 3 && h[0] == "sqs" {
				region = h[1]
			}
		}
		arn := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, acct, queue)
		fmt.Fprintf(&b, "Source %s: S3 event notifications of s3://%s/%s → SQS queue %s\n\n", name, loc.Bucket, prefix, queue)
		fmt.Fprintf(&b, "1. The queue, with a policy that lets the bucket send to it:\n\n")
		fmt.Fprintf(&b, "   aws sqs create-queue --queue-name %s --region %s\n", queue, region)
		policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"%s","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::%s"}}}]}`, arn, loc.Bucket)
		fmt.Fprintf(&b, "   aws sqs set-queue-attributes --queue-url https://sqs.%s.amazonaws.com/%s/%s \\\n", region, acct, queue)
		fmt.Fprintf(&b, "     --attributes '{\"Policy\":%q}'\n\n", policy)
		fmt.Fprintf(&b, "2. The bucket notification (this replaces the bucket's notification configuration: merge it\n")
		fmt.Fprintf(&b, "   with the output of get-bucket-notification-configuration if the bucket has one):\n\n")
		fmt.Fprintf(&b, "   aws s3api put-bucket-notification-configuration --bucket %s --notification-configuration \\\n", loc.Bucket)
		fmt.Fprintf(&b, "     '{\"QueueConfigurations\":[{\"Id\":\"medallion-%s\",\"QueueArn\":\"%s\",\"Events\":[\"s3:ObjectCreated:*\"],\"Filter\":{\"Key\":{\"FilterRules\":[{\"Name\":\"prefix\",\"Value\":\"%s\"}]}}}]}'\n\n", name, arn, prefix)
		fmt.Fprintf(&b, "   (S3 → SNS → SQS works too: medallion unwraps the SNS envelope.)\n\n")
		fmt.Fprintf(&b, "3. Permissions of medallion's identity: sqs:ReceiveMessage, sqs:DeleteMessage and\n")
		fmt.Fprintf(&b, "   sqs:GetQueueUrl on %s; s3:GetObject and s3:ListBucket on the bucket. Credentials: the\n", arn)
		fmt.Fprintf(&b, "   AWS default chain, as for the lake.\n")
	case PubSub:
		project, sub, _ := parseSubscription(cfg.Queue)
		topic := "medallion-" + strings.ReplaceAll(name, "_", "-")
		fmt.Fprintf(&b, "Source %s: Cloud Storage notifications of gs://%s/%s → Pub/Sub subscription %s\n\n", name, loc.Bucket, prefix, cfg.Queue)
		fmt.Fprintf(&b, "1. The topic and the bucket's notification (OBJECT_FINALIZE, JSON payload) to it:\n\n")
		fmt.Fprintf(&b, "   gcloud pubsub topics create %s --project %s\n", topic, project)
		fmt.Fprintf(&b, "   gcloud storage buckets notifications create gs://%s --topic=projects/%s/topics/%s \\\n", loc.Bucket, project, topic)
		fmt.Fprintf(&b, "     --event-types=OBJECT_FINALIZE --payload-format=json --object-prefix=%s\n\n", prefix)
		fmt.Fprintf(&b, "   (gcloud grants the bucket's service agent roles/pubsub.publisher on the topic.)\n\n")
		fmt.Fprintf(&b, "2. The subscription medallion pulls, its ack deadline the visibility timeout:\n\n")
		fmt.Fprintf(&b, "   gcloud pubsub subscriptions create %s --project %s --topic=%s --ack-deadline=%d\n\n", sub, project, topic, int(max(min(cfg.Visibility.Seconds(), 600), 10)))
		fmt.Fprintf(&b, "3. Permissions of medallion's identity: roles/pubsub.subscriber on the subscription,\n")
		fmt.Fprintf(&b, "   roles/storage.objectViewer on the bucket. Credentials: Application Default Credentials.\n")
	}
	fmt.Fprintf(&b, "\nmedallion.yaml:\n\n  sources:\n    %s:\n      listing: notifications\n      notifications:\n        queue: %s\n", name, cfg.Queue)
	fmt.Fprintf(&b, "        visibility_timeout: %s\n        backfill_interval: %s\n", cfg.Visibility, cfg.BackfillInterval)
	return b.String()
}
