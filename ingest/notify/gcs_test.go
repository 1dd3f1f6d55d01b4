package notify_test

import (
	"context"
	"net"
	"testing"

	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	_ "github.com/medallionhq/medallion/storage/gcsblob" // gs:// landings
)

// newGCSProject is the project on a gs:// landing in fake-gcs-server (in
// this process), which publishes real Cloud Storage notifications
// (OBJECT_FINALIZE, JSON_API_V1) to a topic of the pstest Pub/Sub fake;
// the source pulls its subscription.
func newGCSProject(t testing.TB) *azureProject {
	t.Helper()
	srv := pubsubServer(t) // sets PUBSUB_EMULATOR_HOST, which fake-gcs-server's publisher uses
	ctx := context.Background()
	topicID, bucket := unique("landing"), unique("landing")
	topic := "projects/medallion-test/topics/" + topicID
	sub := "projects/medallion-test/subscriptions/" + unique("landing")
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
	if _, err := tc.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CreateSubscription(ctx, &pb.Subscription{Name: sub, Topic: topic, AckDeadlineSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the server
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: uint16(port),
		EventOptions: fakestorage.EventManagerOptions{ProjectID: "medallion-test", TopicName: topicID, Bucket: bucket, NotifyOn: fakestorage.EventNotificationOptions{Finalize: true}},
	})
	if err != nil {
		t.Fatalf("fake-gcs-server: %v", err)
	}
	t.Cleanup(gcs.Stop)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	t.Setenv("STORAGE_EMULATOR_HOST", gcs.URL())
	be := backend{
		landing: "gs://" + bucket + "/raw",
		queue:   sub,
		held: func(t testing.TB) int {
			n := 0
			for _, m := range srv.Messages() {
				if m.Topic == topic && m.Acks == 0 {
					n++
				}
			}
			return n
		},
	}
	p := writeProject(t, be)
	p.autoNotify = true
	return p
}
