// Package notify finds new landing files from the object store's own file
// notifications instead of listing the landing folder: an Azure Storage
// queue fed by Event Grid BlobCreated events (abfss://, az://, azblob://
// landings), an SQS queue fed by S3 event notifications (s3://) and a
// Pub/Sub subscription fed by GCS notifications (gs://).
//
// A Hub receives the messages with a visibility timeout and keeps them
// until the Delta commit that ingests their files; only then (Settle) are
// they deleted. Exactly once still comes from the landing txn markers: a
// message for a file already ingested is simply deleted. A poisoned
// message (one that cannot be read) is deleted and reported; any file a
// lost or poisoned message named is found by the backfill listing the Hub
// asks for at start and every backfill interval.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Kind is a notification service.
type Kind string

// The notification services, one per object store.
const (
	AzureQueue Kind = "azure-queue" // Azure Storage queue fed by Event Grid
	SQS        Kind = "sqs"         // Amazon SQS fed by S3 event notifications
	PubSub     Kind = "pubsub"      // Google Pub/Sub fed by GCS notifications
)

// Defaults of a source's notifications block.
const (
	DefaultVisibility       = 5 * time.Minute
	DefaultBackfillInterval = time.Hour
)

// Location is what a landing URL names: the store's bucket (container) and
// the key prefix of the landing root inside it.
type Location struct {
	Kind    Kind
	Scheme  string
	Account string // Azure: the storage account when the URL names one
	Bucket  string // S3 or GCS bucket, Azure container
	Prefix  string // "" or a key prefix ending in "/"
}

// ParseLanding reads a landing URL (abfss://container@account.dfs.core.windows.net/path,
// az://container/path, azblob://container/path, s3://bucket/path,
// gs://bucket/path). A local path has no notifications: it is an error.
func ParseLanding(landing string) (Location, error) {
	var loc Location
	if !strings.Contains(landing, "://") {
		return loc, fmt.Errorf("notify: landing %q is a local folder: listing: notifications needs a landing on an object store (abfss://, az://, s3:// or gs://)", landing)
	}
	u, err := url.Parse(landing)
	if err != nil {
		return loc, fmt.Errorf("notify: landing URL: %w", err)
	}
	loc.Scheme = strings.ToLower(u.Scheme)
	switch loc.Scheme {
	case "abfss", "abfs", "az", "azblob":
		loc.Kind = AzureQueue
		if u.User != nil {
			loc.Bucket = u.User.Username()
			loc.Account, _, _ = strings.Cut(strings.ToLower(u.Hostname()), ".")
		} else {
			loc.Bucket = u.Host
		}
	case "s3", "s3a":
		loc.Kind, loc.Bucket = SQS, u.Host
	case "gs", "gcs":
		loc.Kind, loc.Bucket = PubSub, u.Host
	default:
		return loc, fmt.Errorf("notify: landing %s: no file notifications for scheme %q (abfss, az, azblob, s3 or gs)", landing, u.Scheme)
	}
	if loc.Bucket == "" {
		return loc, fmt.Errorf("notify: landing %s: the URL names no bucket or container", landing)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		loc.Prefix = p + "/"
	}
	return loc, nil
}

// Key returns the landing key of an object the store notified about, and
// false when the object is outside the landing root.
func (l Location) Key(bucket, object string) (string, bool) {
	if bucket != l.Bucket || !strings.HasPrefix(object, l.Prefix) || len(object) == len(l.Prefix) {
		return "", false
	}
	return object[len(l.Prefix):], true
}

// Message is one message received from a queue.
type Message struct {
	// ID is the queue's message id, stable across deliveries.
	ID string
	// Body is the message's content; Attributes its attributes (Pub/Sub).
	Body       []byte
	Attributes map[string]string
	// Deliveries is how many times the queue delivered the message (0
	// when the queue does not say).
	Deliveries int
	// receipt is what deleting this delivery takes (Azure pop receipt,
	// SQS receipt handle, Pub/Sub ack id).
	receipt string
}

// NewMessage returns a received message; receipt is what Delete needs.
// Queue implementations outside this package (test wrappers) use it.
func NewMessage(id string, body []byte, attrs map[string]string, deliveries int, receipt string) Message {
	return Message{ID: id, Body: body, Attributes: attrs, Deliveries: deliveries, receipt: receipt}
}

// Receipt is what deleting this delivery of the message takes.
func (m Message) Receipt() string { return m.receipt }

// Queue is a notification queue.
type Queue interface {
	// Receive returns up to limit messages (at least 1), hiding them from
	// other receivers for visibility; it waits up to wait for one to
	// arrive (0: returns at once).
	Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]Message, error)
	// Delete removes messages for good (acknowledges them). A message
	// whose receipt expired is left for its next delivery.
	Delete(ctx context.Context, msgs []Message) error
	// Close releases the client.
	Close() error
}

// Config is one source's notifications block.
type Config struct {
	// Queue names the queue: an Azure queue URL or name, an SQS queue URL
	// or name, a Pub/Sub subscription "projects/P/subscriptions/S".
	Queue string `yaml:"queue"`
	// Visibility is how long a received message stays hidden from other
	// receivers (the visibility timeout; Pub/Sub's ack deadline).
	Visibility time.Duration `yaml:"visibility_timeout"`
	// BackfillInterval is how often a full listing catches files whose
	// notification was lost; the first batch of a process always lists.
	// Negative: only at start.
	BackfillInterval time.Duration `yaml:"backfill_interval"`
}

// Validate checks the block for a landing of kind k and fills defaults.
// Errors name the key.
func (c *Config) Validate(k Kind) error {
	c.Queue = strings.TrimSpace(c.Queue)
	if c.Queue == "" {
		return errors.New("notifications.queue: missing (the queue the store's notifications go to)")
	}
	switch {
	case c.Visibility == 0:
		c.Visibility = DefaultVisibility
	case c.Visibility < time.Second:
		return fmt.Errorf("notifications.visibility_timeout: %s is below 1s", c.Visibility)
	case c.Visibility > 12*time.Hour:
		return fmt.Errorf("notifications.visibility_timeout: %s is above 12h (SQS's limit)", c.Visibility)
	case c.Visibility%time.Second != 0:
		return fmt.Errorf("notifications.visibility_timeout: %s is not a whole number of seconds", c.Visibility)
	}
	if k == PubSub && c.Visibility > 10*time.Minute {
		return fmt.Errorf("notifications.visibility_timeout: %s is above 10m (Pub/Sub's ack deadline limit)", c.Visibility)
	}
	if c.BackfillInterval == 0 {
		c.BackfillInterval = DefaultBackfillInterval
	}
	if k == PubSub {
		if _, _, err := parseSubscription(c.Queue); err != nil {
			return fmt.Errorf("notifications.queue: %w", err)
		}
	}
	return nil
}

// parseSubscription reads "projects/P/subscriptions/S".
func parseSubscription(s string) (project, sub string, err error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "subscriptions" || parts[1] == "" || parts[3] == "" {
		return "", "", fmt.Errorf("%q is not a Pub/Sub subscription: write projects/PROJECT/subscriptions/NAME", s)
	}
	return parts[1], parts[3], nil
}

// Open connects to the queue cfg names, for a landing at loc, with
// credentials as for the lake (see the README).
func Open(ctx context.Context, loc Location, cfg Config) (Queue, error) {
	switch loc.Kind {
	case AzureQueue:
		return openAzure(ctx, loc, cfg.Queue)
	case SQS:
		return openSQS(ctx, cfg.Queue)
	case PubSub:
		return openPubSub(ctx, cfg.Queue)
	}
	return nil, fmt.Errorf("notify: unknown kind %q", loc.Kind)
}
