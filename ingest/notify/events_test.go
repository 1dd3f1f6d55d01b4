package notify_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/ingest/notify"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	gcsAttrs := map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": "landing-bucket", "objectId": "raw/orders/orders-0001.csv", "payloadFormat": "JSON_API_V1", "notificationConfig": "projects/_/buckets/landing-bucket/notificationConfigs/1", "objectGeneration": "1764745200123456", "eventTime": "2026-12-03T07:00:00.123456Z"}
	blobCreated := fixture(t, "eventgrid-blobcreated.json")
	s3Put := []notify.Event{{Bucket: "landing-bucket", Object: "raw/orders/orders 0001=1.csv", Size: 1024, Time: at("2026-12-03T07:00:00.123Z")}}
	tests := []struct {
		name    string
		kind    notify.Kind
		msg     notify.Message
		want    []notify.Event
		wantErr string
	}{
		{"event grid schema, as Event Grid writes it (Base64)", notify.AzureQueue,
			notify.NewMessage("1", []byte(base64.StdEncoding.EncodeToString(blobCreated)), nil, 1, "r"),
			[]notify.Event{{Bucket: "landing", Object: "orders/2026/12/03/orders 0001.csv", Size: 524288, Time: at("2026-12-03T07:00:00.1234567Z")}}, ""},
		{"event grid schema, plain JSON", notify.AzureQueue, notify.NewMessage("1", blobCreated, nil, 1, "r"),
			[]notify.Event{{Bucket: "landing", Object: "orders/2026/12/03/orders 0001.csv", Size: 524288, Time: at("2026-12-03T07:00:00.1234567Z")}}, ""},
		{"cloud events schema, ADLS FlushWithClose", notify.AzureQueue, notify.NewMessage("1", fixture(t, "cloudevents-flushwithclose.json"), nil, 1, "r"),
			[]notify.Event{{Bucket: "landing", Object: "orders/orders-0002.csv", Size: 100, Time: at("2026-12-03T07:00:01Z")}}, ""},
		{"ADLS CreateFile (empty until flushed) is no file yet", notify.AzureQueue, notify.NewMessage("1", fixture(t, "eventgrid-createfile.json"), nil, 1, "r"), nil, ""},
		{"BlobDeleted is no new file", notify.AzureQueue, notify.NewMessage("1", fixture(t, "eventgrid-blobdeleted.json"), nil, 1, "r"), nil, ""},
		{"Azure: not JSON, not Base64", notify.AzureQueue, notify.NewMessage("1", []byte("hello, world!"), nil, 1, "r"), nil, "neither JSON nor Base64"},
		{"Azure: JSON but no event", notify.AzureQueue, notify.NewMessage("1", []byte(`{"hello":"world"}`), nil, 1, "r"), nil, "no eventType or subject"},
		{"Azure: bad subject", notify.AzureQueue, notify.NewMessage("1", []byte(`{"subject":"/x","eventType":"Microsoft.Storage.BlobCreated"}`), nil, 1, "r"), nil, `subject "/x"`},
		{"S3 event notification, key URL-encoded", notify.SQS, notify.NewMessage("1", fixture(t, "s3-put.json"), nil, 1, "r"), s3Put, ""},
		{"S3 through SNS", notify.SQS, notify.NewMessage("1", fixture(t, "sns-s3-put.json"), nil, 1, "r"), s3Put, ""},
		{"S3 test event", notify.SQS, notify.NewMessage("1", fixture(t, "s3-testevent.json"), nil, 1, "r"), nil, ""},
		{"S3: not JSON", notify.SQS, notify.NewMessage("1", []byte("<xml/>"), nil, 1, "r"), nil, "not an S3 event notification"},
		{"S3: JSON without Records", notify.SQS, notify.NewMessage("1", []byte(`{"a":1}`), nil, 1, "r"), nil, "no Records"},
		{"GCS OBJECT_FINALIZE", notify.PubSub, notify.NewMessage("1", fixture(t, "gcs-finalize.json"), gcsAttrs, 1, "r"),
			[]notify.Event{{Bucket: "landing-bucket", Object: "raw/orders/orders-0001.csv", Size: 2048, Time: at("2026-12-03T07:00:00.123Z")}}, ""},
		{"GCS OBJECT_DELETE", notify.PubSub, notify.NewMessage("1", nil, map[string]string{"eventType": "OBJECT_DELETE", "bucketId": "b", "objectId": "o"}, 1, "r"), nil, ""},
		{"GCS: no attributes", notify.PubSub, notify.NewMessage("1", []byte("{}"), nil, 1, "r"), nil, "no eventType attribute"},
		{"GCS: payload not JSON", notify.PubSub, notify.NewMessage("1", []byte("{"), gcsAttrs, 1, "r"), nil, "payload is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := notify.Parse(tc.kind, tc.msg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "notify: ") {
					t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %+v\nwant    %+v", got, tc.want)
			}
		})
	}
}

func TestParseLanding(t *testing.T) {
	tests := []struct {
		landing string
		want    notify.Location
		wantErr string
	}{
		{"abfss://landing@acct.dfs.core.windows.net/raw", notify.Location{Kind: notify.AzureQueue, Scheme: "abfss", Account: "acct", Bucket: "landing", Prefix: "raw/"}, ""},
		{"az://landing", notify.Location{Kind: notify.AzureQueue, Scheme: "az", Bucket: "landing"}, ""},
		{"s3://bucket/a/b/", notify.Location{Kind: notify.SQS, Scheme: "s3", Bucket: "bucket", Prefix: "a/b/"}, ""},
		{"gs://bucket/x", notify.Location{Kind: notify.PubSub, Scheme: "gs", Bucket: "bucket", Prefix: "x/"}, ""},
		{"landing", notify.Location{}, "is a local folder"},
		{"file:///tmp/landing", notify.Location{}, `no file notifications for scheme "file"`},
	}
	for _, tc := range tests {
		got, err := notify.ParseLanding(tc.landing)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseLanding(%q) error = %v, want %q", tc.landing, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLanding(%q) = %+v, %v; want %+v", tc.landing, got, err, tc.want)
		}
	}
	loc, _ := notify.ParseLanding("s3://bucket/raw")
	for _, c := range []struct {
		bucket, object, key string
		ok                  bool
	}{{"bucket", "raw/orders/a.csv", "orders/a.csv", true}, {"other", "raw/orders/a.csv", "", false}, {"bucket", "rawx/a.csv", "", false}, {"bucket", "raw/", "", false}} {
		if k, ok := loc.Key(c.bucket, c.object); k != c.key || ok != c.ok {
			t.Errorf("Key(%q, %q) = %q, %v; want %q, %v", c.bucket, c.object, k, ok, c.key, c.ok)
		}
	}
}
