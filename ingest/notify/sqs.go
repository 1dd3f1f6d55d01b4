package notify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsQueue is an Amazon SQS queue.
type sqsQueue struct {
	c   *sqs.Client
	url string
}

// openSQS connects to a queue given as its URL or its name, with the AWS
// default credential chain (AWS_ENDPOINT_URL_SQS for an emulator).
func openSQS(ctx context.Context, queue string) (Queue, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: SQS queue %s: AWS configuration: %w", queue, err)
	}
	q := &sqsQueue{c: sqs.NewFromConfig(cfg), url: queue}
	if !strings.Contains(queue, "://") {
		out, err := q.c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
		if err != nil {
			return nil, fmt.Errorf("notify: SQS queue %s: %w", queue, err)
		}
		q.url = aws.ToString(out.QueueUrl)
	}
	return q, nil
}

func (q *sqsQueue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]Message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(min(max(limit, 1), 10)),
		VisibilityTimeout:           int32(max(visibility/time.Second, 1)),
		WaitTimeSeconds:             int32(min(wait/time.Second, 20)),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	}
	out, err := q.c.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("notify: receive from SQS queue %s: %w", q.url, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg := Message{ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body)), receipt: aws.ToString(m.ReceiptHandle)}
		msg.Deliveries, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

func (q *sqsQueue) Delete(ctx context.Context, msgs []Message) error {
	for len(msgs) > 0 {
		n := min(len(msgs), 10)
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url)}
		for i, m := range msgs[:n] {
			in.Entries = append(in.Entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt)})
		}
		out, err := q.c.DeleteMessageBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("notify: delete from SQS queue %s: %w", q.url, err)
		}
		for _, f := range out.Failed {
			if aws.ToString(f.Code) == "ReceiptHandleIsInvalid" {
				continue // delivered again: the next delivery settles it
			}
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			return fmt.Errorf("notify: delete message %s from SQS queue %s: %s %s", msgs[i].ID, q.url, aws.ToString(f.Code), aws.ToString(f.Message))
		}
		msgs = msgs[n:]
	}
	return nil
}

func (q *sqsQueue) Close() error { return nil }
