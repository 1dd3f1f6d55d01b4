package notify

import (
	"context"
	"fmt"
	"time"

	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pubsubQueue is a Pub/Sub subscription, pulled synchronously.
type pubsubQueue struct {
	c   *vkit.SubscriptionAdminClient
	sub string
}

// openPubSub connects to a subscription "projects/P/subscriptions/S" with
// Application Default Credentials (PUBSUB_EMULATOR_HOST for an emulator).
func openPubSub(ctx context.Context, sub string) (Queue, error) {
	if _, _, err := parseSubscription(sub); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	c, err := vkit.NewSubscriptionAdminClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: Pub/Sub subscription %s: %w", sub, err)
	}
	return &pubsubQueue{c: c, sub: sub}, nil
}

func (q *pubsubQueue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]Message, error) {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if wait > 0 {
		pctx, cancel = context.WithTimeout(ctx, wait)
	}
	defer cancel()
	resp, err := q.c.Pull(pctx, &pb.PullRequest{Subscription: q.sub, MaxMessages: int32(max(limit, 1)), ReturnImmediately: wait <= 0})
	if err != nil {
		if ctx.Err() == nil && (pctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded) {
			return nil, nil // nothing arrived while waiting
		}
		return nil, fmt.Errorf("notify: pull from Pub/Sub subscription %s: %w", q.sub, err)
	}
	var out []Message
	var ackIDs []string
	for _, rm := range resp.ReceivedMessages {
		m := rm.GetMessage()
		out = append(out, Message{ID: m.GetMessageId(), Body: m.GetData(), Attributes: m.GetAttributes(), Deliveries: int(rm.GetDeliveryAttempt()), receipt: rm.GetAckId()})
		ackIDs = append(ackIDs, rm.GetAckId())
	}
	if len(ackIDs) > 0 {
		// The visibility timeout is the ack deadline of these messages.
		secs := int32(min(max(visibility/time.Second, 10), 600))
		if err := q.c.ModifyAckDeadline(ctx, &pb.ModifyAckDeadlineRequest{Subscription: q.sub, AckIds: ackIDs, AckDeadlineSeconds: secs}); err != nil {
			return nil, fmt.Errorf("notify: set the ack deadline on Pub/Sub subscription %s: %w", q.sub, err)
		}
	}
	return out, nil
}

func (q *pubsubQueue) Delete(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.receipt
	}
	if err := q.c.Acknowledge(ctx, &pb.AcknowledgeRequest{Subscription: q.sub, AckIds: ids}); err != nil {
		return fmt.Errorf("notify: acknowledge on Pub/Sub subscription %s: %w", q.sub, err)
	}
	return nil
}

func (q *pubsubQueue) Close() error { return q.c.Close() }
