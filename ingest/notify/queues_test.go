package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/medallionhq/medallion/ingest/notify"
)

// backend is one notification service with its emulator, set up for a
// landing root: land makes the store notify that an object was created
// under the root; held counts the messages still in the queue (visible
// or hidden); expire makes hidden messages visible again where the
// emulator's clock can be moved (Pub/Sub), and is nil where only waiting
// for the visibility timeout does it.
type backend struct {
	landing string
	queue   string
	land    func(t testing.TB, key string)
	held    func(t testing.TB) int
	expire  func()
}

type backendSetup struct {
	name  string
	setup func(t testing.TB) backend
}

var backends = []backendSetup{
	{"azure-queue", azureBackend},
	{"sqs", sqsBackend},
	{"pubsub", pubsubBackend},
}

// eventGridMessage is a BlobCreated event as Event Grid writes it to a
// storage queue (Event Grid schema, Base64).
func eventGridMessage(container, blob string, size int) string {
	ev := map[string]any{
		"topic":     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lakehouse/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
		"subject":   "/blobServices/default/containers/" + container + "/blobs/" + blob,
		"eventType": "Microsoft.Storage.BlobCreated",
		"id":        unique("event"),
		"data": map[string]any{
			"api": "PutBlob", "contentType": "text/csv", "contentLength": size, "blobType": "BlockBlob",
			"url":       "https://devstoreaccount1.blob.core.windows.net/" + container + "/" + blob,
			"sequencer": "00000000000004420000000000028963",
		},
		"dataVersion": "", "metadataVersion": "1", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
	}
	b, _ := json.Marshal(ev)
	return base64.StdEncoding.EncodeToString(b)
}

func azureBackend(t testing.TB) backend {
	need(t, azuriteQueueAddr, "azurite-queue.sh")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", devConn+"QueueEndpoint="+azuriteQueueURL+";")
	name := unique("landing-events")
	q, err := azqueue.NewQueueClientFromConnectionString(devConn+"QueueEndpoint="+azuriteQueueURL+";", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Create(context.Background(), nil); err != nil {
		t.Fatalf("create queue %s in Azurite: %v", name, err)
	}
	container := unique("landing")
	return backend{
		landing: "az://" + container + "/raw",
		queue:   name, // resolved against the connection string's QueueEndpoint
		land: func(t testing.TB, key string) {
			if _, err := q.EnqueueMessage(context.Background(), eventGridMessage(container, "raw/"+key, 10), nil); err != nil {
				t.Fatal(err)
			}
		},
		held: func(t testing.TB) int {
			p, err := q.GetProperties(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return int(*p.ApproximateMessagesCount)
		},
	}
}

func awsConfig(t testing.TB) aws.Config {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func sqsBackend(t testing.TB) backend {
	need(t, motoAddr, "s3server.sh")
	ctx := context.Background()
	cfg := awsConfig(t)
	sc := sqs.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	name, bucket := unique("landing-events"), unique("landing")
	qo, err := sc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create SQS queue in moto: %v", err)
	}
	attrs, err := sc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qo.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket in moto: %v", err)
	}
	// The bucket notifies the queue of every created object, as a user
	// sets it up (medallion notifications setup prints this).
	_, err = s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
			Events:   []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	if err != nil {
		t.Fatalf("put bucket notification configuration: %v", err)
	}
	return backend{
		landing: "s3://" + bucket + "/raw",
		queue:   aws.ToString(qo.QueueUrl),
		land: func(t testing.TB, key string) {
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("raw/" + key), Body: strings.NewReader("id\n1\n")}); err != nil {
				t.Fatal(err)
			}
		},
		held: func(t testing.TB) int {
			a, err := sc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qo.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
			h, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
			return v + h
		},
	}
}

// pubsubClock is the pstest server's clock, moved by expire.
var (
	pubsubClockMu sync.Mutex
	pubsubSkew    time.Duration
)

func pubsubBackend(t testing.TB) backend {
	srv := pubsubServer(t)
	srv.SetTimeNowFunc(func() time.Time {
		pubsubClockMu.Lock()
		defer pubsubClockMu.Unlock()
		return time.Now().Add(pubsubSkew)
	})
	ctx := context.Background()
	tc, err := vkit.NewTopicAdminClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	sc, err := vkit.NewSubscriptionAdminClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	topic := "projects/medallion-test/topics/" + unique("landing")
	sub := "projects/medallion-test/subscriptions/" + unique("landing")
	if _, err := tc.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CreateSubscription(ctx, &pb.Subscription{Name: sub, Topic: topic, AckDeadlineSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	bucket := unique("landing")
	var ids []string
	var mu sync.Mutex
	return backend{
		landing: "gs://" + bucket + "/raw",
		queue:   sub,
		land: func(t testing.TB, key string) {
			// A Cloud Storage notification (JSON_API_V1) as GCS publishes it.
			obj := map[string]any{"kind": "storage#object", "name": "raw/" + key, "bucket": bucket, "size": "5", "updated": time.Now().UTC().Format(time.RFC3339Nano), "generation": "1"}
			data, _ := json.Marshal(obj)
			id := srv.Publish(topic, data, map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": bucket, "objectId": "raw/" + key, "payloadFormat": "JSON_API_V1", "objectGeneration": "1", "notificationConfig": "projects/_/buckets/" + bucket + "/notificationConfigs/1"})
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		},
		held: func(t testing.TB) int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, id := range ids {
				if m := srv.Message(id); m != nil && m.Acks == 0 {
					n++
				}
			}
			return n
		},
		expire: func() {
			pubsubClockMu.Lock()
			pubsubSkew += 30 * time.Second // past the 10 s ack deadline, within the 10 min retention
			pubsubClockMu.Unlock()
		},
	}
}

// receiveFiles receives until the hub holds n more files, waiting on the
// queue (no fixed sleeps); it fails after a bounded number of receives.
func receiveFiles(t testing.TB, ctx context.Context, hub *notify.Hub, n int) {
	t.Helper()
	got := 0
	for i := 0; got < n; i++ {
		if i == 50 {
			t.Fatalf("received %d files' notifications, want %d", got, n)
		}
		k, err := hub.Receive(ctx, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got += k
	}
}

// TestQueueSemantics checks each service against its emulator: received
// messages stay hidden from other receivers, are deleted only when all
// their files are settled, a message about other folders is dropped, and
// a message a dead receiver held comes back.
func TestQueueSemantics(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			be := b.setup(t)
			var logs []string
			var logMu sync.Mutex
			src := notify.Source{Name: "orders", Path: "orders", Config: notify.Config{Queue: be.queue, Visibility: time.Minute, BackfillInterval: time.Hour}}
			hub, err := notify.NewHub(be.landing, notify.HubOptions{Log: func(s string) { logMu.Lock(); logs = append(logs, s); logMu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			defer hub.Close()
			if err := hub.Add(ctx, src); err != nil {
				t.Fatal(err)
			}
			be.land(t, "orders/a.csv")
			be.land(t, "orders/b.csv")
			be.land(t, "customers/c.csv") // no source reads it
			receiveFiles(t, ctx, hub, 2)
			batch, err := hub.Take("orders")
			if err != nil {
				t.Fatal(err)
			}
			if !batch.Backfill || !slices.Equal(batch.Keys, []string{"orders/a.csv", "orders/b.csv"}) {
				t.Fatalf("Take = %+v, want a backfill (first batch) and orders/a.csv, orders/b.csv", batch)
			}
			// Wait until the foreign message was received and dropped too.
			for i := 0; hub.Stats().Foreign < 1; i++ {
				if i == 50 {
					t.Fatalf("the message about customers/c.csv was not received and dropped: %+v", hub.Stats())
				}
				if _, err := hub.Receive(ctx, 2*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if n := be.held(t); n != 2 {
				t.Fatalf("queue holds %d messages after the receive, want 2 (a.csv, b.csv hidden; the foreign one deleted)", n)
			}
			// Another receiver sees nothing while the messages are hidden.
			other, err := notify.Open(ctx, hub.Location(), src.Config)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if msgs, err := other.Receive(ctx, 10, time.Minute, 0); err != nil || len(msgs) != 0 {
				t.Fatalf("second receiver got %d messages (%v) while the first holds them, want 0", len(msgs), err)
			}
			// Only a.csv committed: only its message goes.
			if err := hub.Settle(ctx, "orders", true, func(k string) bool { return k == "orders/a.csv" }); err != nil {
				t.Fatal(err)
			}
			if n := be.held(t); n != 1 {
				t.Fatalf("queue holds %d messages after settling a.csv, want 1", n)
			}
			batch, _ = hub.Take("orders")
			if batch.Backfill || !slices.Equal(batch.Keys, []string{"orders/b.csv"}) {
				t.Fatalf("Take after settling a.csv = %+v, want no backfill (done an hour ago at most) and orders/b.csv", batch)
			}
			if err := hub.Settle(ctx, "orders", false, func(string) bool { return true }); err != nil {
				t.Fatal(err)
			}
			if n := be.held(t); n != 0 {
				t.Fatalf("queue holds %d messages after settling everything, want 0", n)
			}
		})
	}
}

// TestRedeliveryAfterLostReceiver: a receiver that dies holding messages
// (never deletes them) loses nothing: they come back after the visibility
// timeout to the next receiver.
func TestRedeliveryAfterLostReceiver(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			be := b.setup(t)
			src := notify.Source{Name: "orders", Path: "orders", Config: notify.Config{Queue: be.queue, Visibility: time.Second, BackfillInterval: time.Hour}}
			dead, err := notify.NewHub(be.landing, notify.HubOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := dead.Add(ctx, src); err != nil {
				t.Fatal(err)
			}
			be.land(t, "orders/d.csv")
			receiveFiles(t, ctx, dead, 1)
			dead.Close() // dies without settling
			if be.expire != nil {
				be.expire()
			}
			next, err := notify.NewHub(be.landing, notify.HubOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer next.Close()
			if err := next.Add(ctx, src); err != nil {
				t.Fatal(err)
			}
			receiveFiles(t, ctx, next, 1)
			batch, _ := next.Take("orders")
			if !slices.Equal(batch.Keys, []string{"orders/d.csv"}) {
				t.Fatalf("next receiver took %v, want orders/d.csv", batch.Keys)
			}
			if err := next.Settle(ctx, "orders", true, func(string) bool { return true }); err != nil {
				t.Fatal(err)
			}
			if n := be.held(t); n != 0 {
				t.Fatalf("queue holds %d messages after the next receiver settled, want 0", n)
			}
		})
	}
}

// TestPoisonedMessageDoesNotBlock: a message that is not a notification is
// dropped (deleted and logged) and the good ones behind it go through.
func TestPoisonedMessageDoesNotBlock(t *testing.T) {
	need(t, azuriteQueueAddr, "azurite-queue.sh")
	ctx := context.Background()
	be := azureBackend(t)
	q, err := azqueue.NewQueueClientFromConnectionString(devConn+"QueueEndpoint="+azuriteQueueURL+";", be.queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(ctx, "this is not an event", nil); err != nil {
		t.Fatal(err)
	}
	be.land(t, "orders/e.csv")
	var logs []string
	hub, err := notify.NewHub(be.landing, notify.HubOptions{Log: func(s string) { logs = append(logs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	if err := hub.Add(ctx, notify.Source{Name: "orders", Path: "orders", Config: notify.Config{Queue: be.queue, Visibility: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	receiveFiles(t, ctx, hub, 1)
	if st := hub.Stats(); st.Poisoned != 1 || st.Deleted != 1 {
		t.Fatalf("stats %+v, want 1 poisoned message deleted", st)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "neither JSON nor Base64") || !strings.Contains(logs[0], "backfill") {
		t.Fatalf("log = %q, want the poisoned message named with why and that the backfill covers it", logs)
	}
	if n := be.held(t); n != 1 {
		t.Fatalf("queue holds %d messages, want 1 (e.csv's, hidden)", n)
	}
}

// queueJunk puts a message that is no notification into the backend's
// queue (Azure only).
func (b backend) queueJunk(t testing.TB) {
	t.Helper()
	q, err := azqueue.NewQueueClientFromConnectionString(devConn+"QueueEndpoint="+azuriteQueueURL+";", b.queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(context.Background(), "not an event", nil); err != nil {
		t.Fatal(err)
	}
}
