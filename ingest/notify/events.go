package notify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event is one object a notification says was created (or replaced).
type Event struct {
	Bucket string // S3 or GCS bucket, Azure container
	Object string // the object's key in the bucket
	Size   int64  // -1 when the notification does not say
	Time   time.Time
}

// Parse reads the created-object events out of a message of kind k.
// Notifications that are not about a created object (deletions, S3's test
// event, other Event Grid event types) give no events and no error; a
// message that is not a notification at all is an error naming what is
// wrong.
func Parse(k Kind, m Message) ([]Event, error) {
	switch k {
	case AzureQueue:
		return parseEventGrid(m.Body)
	case SQS:
		return parseS3Event(m.Body)
	case PubSub:
		return parseGCS(m.Attributes, m.Body)
	}
	return nil, fmt.Errorf("notify: unknown kind %q", k)
}

// eventGridEvent is an event in the Event Grid schema or the CloudEvents
// 1.0 schema (the fields both use for a storage event).
type eventGridEvent struct {
	Subject   string `json:"subject"`
	EventType string `json:"eventType"` // Event Grid schema
	Type      string `json:"type"`      // CloudEvents schema
	EventTime string `json:"eventTime"` // Event Grid schema
	Time      string `json:"time"`      // CloudEvents schema
	Data      struct {
		API           string `json:"api"`
		ContentLength *int64 `json:"contentLength"`
		URL           string `json:"url"`
	} `json:"data"`
}

// parseEventGrid reads what Event Grid writes to a storage queue: one
// event as JSON, Base64-encoded or as it is (either schema), or an array
// of events.
func parseEventGrid(body []byte) ([]Event, error) {
	raw := bytes.TrimSpace(body)
	if len(raw) > 0 && raw[0] != '{' && raw[0] != '[' {
		dec, err := base64.StdEncoding.DecodeString(string(raw))
		if err != nil {
			return nil, errors.New("notify: not an Event Grid event: neither JSON nor Base64")
		}
		raw = bytes.TrimSpace(dec)
	}
	var evs []eventGridEvent
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &evs); err != nil {
			return nil, fmt.Errorf("notify: not an Event Grid event array: %w", err)
		}
	} else {
		var ev eventGridEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("notify: not an Event Grid event: %w", err)
		}
		evs = []eventGridEvent{ev}
	}
	var out []Event
	for i, ev := range evs {
		typ := ev.EventType
		if typ == "" {
			typ = ev.Type
		}
		if typ == "" || ev.Subject == "" {
			return nil, fmt.Errorf("notify: Event Grid event %d has no eventType or subject", i)
		}
		if typ != "Microsoft.Storage.BlobCreated" {
			continue // deletions, tier changes, subscription validation...
		}
		if ev.Data.API == "CreateFile" {
			// ADLS Gen2: the file is created empty; its content comes with
			// the FlushWithClose event.
			continue
		}
		// /blobServices/default/containers/{container}/blobs/{path}
		rest, ok := strings.CutPrefix(ev.Subject, "/blobServices/default/containers/")
		container, blob, ok2 := strings.Cut(rest, "/blobs/")
		if !ok || !ok2 || container == "" || blob == "" {
			return nil, fmt.Errorf("notify: Event Grid BlobCreated subject %q is not /blobServices/default/containers/CONTAINER/blobs/PATH", ev.Subject)
		}
		e := Event{Bucket: container, Object: blob, Size: -1}
		if ev.Data.ContentLength != nil {
			e.Size = *ev.Data.ContentLength
		}
		e.Time = parseTime(ev.EventTime, ev.Time)
		out = append(out, e)
	}
	return out, nil
}

// s3Event is an S3 event notification (also wrapped in an SNS envelope).
type s3Event struct {
	Records []struct {
		EventName string `json:"eventName"`
		EventTime string `json:"eventTime"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size *int64 `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
	Event string `json:"Event"` // "s3:TestEvent" when a notification is configured
	// SNS envelope, when the bucket notifies a topic that feeds the queue.
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

// parseS3Event reads an S3 event notification as SQS delivers it.
func parseS3Event(body []byte) ([]Event, error) {
	var ev s3Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("notify: not an S3 event notification: %w", err)
	}
	if ev.Type == "Notification" && ev.Message != "" {
		return parseS3Event([]byte(ev.Message))
	}
	if ev.Event == "s3:TestEvent" {
		return nil, nil
	}
	if ev.Records == nil {
		return nil, errors.New("notify: not an S3 event notification: no Records")
	}
	var out []Event
	for i, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		// Keys are URL-encoded as in a form: "+" is a space.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil || r.S3.Bucket.Name == "" || key == "" {
			return nil, fmt.Errorf("notify: S3 event record %d: bad bucket or key %q", i, r.S3.Object.Key)
		}
		e := Event{Bucket: r.S3.Bucket.Name, Object: key, Size: -1, Time: parseTime(r.EventTime)}
		if r.S3.Object.Size != nil {
			e.Size = *r.S3.Object.Size
		}
		out = append(out, e)
	}
	return out, nil
}

// parseGCS reads a Cloud Storage Pub/Sub notification: the attributes say
// what happened; the JSON_API_V1 payload is the object resource.
func parseGCS(attrs map[string]string, body []byte) ([]Event, error) {
	typ := attrs["eventType"]
	if typ == "" {
		return nil, errors.New("notify: not a Cloud Storage notification: no eventType attribute")
	}
	if typ != "OBJECT_FINALIZE" {
		return nil, nil
	}
	bucket, object := attrs["bucketId"], attrs["objectId"]
	if bucket == "" || object == "" {
		return nil, errors.New("notify: Cloud Storage notification without bucketId or objectId")
	}
	e := Event{Bucket: bucket, Object: object, Size: -1}
	if attrs["payloadFormat"] == "JSON_API_V1" && len(body) > 0 {
		var obj struct {
			Size    string `json:"size"`
			Updated string `json:"updated"`
		}
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, fmt.Errorf("notify: Cloud Storage notification for %s: payload is not JSON: %w", object, err)
		}
		if n, err := strconv.ParseInt(obj.Size, 10, 64); err == nil {
			e.Size = n
		}
		e.Time = parseTime(obj.Updated)
	}
	if e.Time.IsZero() {
		e.Time = parseTime(attrs["eventTime"])
	}
	return []Event{e}, nil
}

// parseTime returns the first of the RFC 3339 times that parses.
func parseTime(vals ...string) time.Time {
	for _, v := range vals {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return time.Time{}
}
