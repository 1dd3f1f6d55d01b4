package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// azureQueue is an Azure Storage queue.
type azureQueue struct {
	c    *azqueue.QueueClient
	name string // for messages: the queue URL without credentials
}

// Azurite's well-known development account ("UseDevelopmentStorage=true").
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// openAzure connects to a queue given as a URL
// (https://ACCOUNT.queue.core.windows.net/NAME, or an emulator's
// http://127.0.0.1:10001/devstoreaccount1/NAME) or a name in the landing's
// account. Credentials as for the lake: AZURE_STORAGE_CONNECTION_STRING
// (its QueueEndpoint names the endpoint for a bare name),
// AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, then DefaultAzureCredential.
func openAzure(_ context.Context, loc Location, queue string) (Queue, error) {
	cs := parseAzureConn(os.Getenv("AZURE_STORAGE_CONNECTION_STRING"))
	account := loc.Account
	if account == "" {
		account = firstNonEmpty(os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_ACCOUNT_NAME"), cs["accountname"])
	}
	queueURL := queue
	if !strings.Contains(queue, "://") {
		switch {
		case cs["queueendpoint"] != "":
			queueURL = strings.TrimRight(cs["queueendpoint"], "/") + "/" + queue
		case account != "":
			queueURL = "https://" + account + ".queue.core.windows.net/" + queue
		default:
			return nil, fmt.Errorf("notify: Azure queue %q: no account: give the queue's URL, a landing URL with an account, AZURE_STORAGE_ACCOUNT or a connection string with QueueEndpoint", queue)
		}
	}
	u, err := url.Parse(queueURL)
	if err != nil || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("notify: Azure queue %q is not a queue URL (https://ACCOUNT.queue.core.windows.net/NAME) or a name", queue)
	}
	// The URL's account: the host's first label, or (emulator) the first
	// path element.
	urlAccount, _, _ := strings.Cut(u.Hostname(), ".")
	if strings.Count(strings.Trim(u.Path, "/"), "/") == 1 {
		urlAccount, _, _ = strings.Cut(strings.Trim(u.Path, "/"), "/")
	}
	q := &azureQueue{name: queueURL}
	key := ""
	switch {
	case cs["accountkey"] != "" && strings.EqualFold(cs["accountname"], urlAccount):
		key = cs["accountkey"]
	case os.Getenv("AZURE_STORAGE_KEY") != "":
		key = strings.TrimSpace(os.Getenv("AZURE_STORAGE_KEY"))
	case strings.EqualFold(urlAccount, devAccount) && strings.Contains(strings.ToLower(os.Getenv("AZURE_STORAGE_CONNECTION_STRING")), "usedevelopmentstorage=true"):
		key = devKey
	}
	switch sas := strings.TrimPrefix(firstNonEmpty(cs["sharedaccesssignature"], os.Getenv("AZURE_STORAGE_SAS_TOKEN")), "?"); {
	case key != "":
		cred, err := azqueue.NewSharedKeyCredential(urlAccount, key)
		if err != nil {
			return nil, fmt.Errorf("notify: Azure queue %s: account key: %w", queueURL, err)
		}
		q.c, err = azqueue.NewQueueClientWithSharedKeyCredential(queueURL, cred, nil)
		if err != nil {
			return nil, fmt.Errorf("notify: Azure queue %s: %w", queueURL, err)
		}
	case sas != "":
		q.c, err = azqueue.NewQueueClientWithNoCredential(queueURL+"?"+sas, nil)
		if err != nil {
			return nil, fmt.Errorf("notify: Azure queue %s: %w", queueURL, err)
		}
	default:
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("notify: Azure queue %s: no credentials: %w", queueURL, err)
		}
		q.c, err = azqueue.NewQueueClient(queueURL, cred, nil)
		if err != nil {
			return nil, fmt.Errorf("notify: Azure queue %s: %w", queueURL, err)
		}
	}
	return q, nil
}

// parseAzureConn reads a connection string's fields (keys lowercased).
func parseAzureConn(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func (q *azureQueue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]Message, error) {
	n := int32(min(max(limit, 1), 32))
	vis := int32(max(int64(visibility/time.Second), 1))
	step := 50 * time.Millisecond
	for {
		resp, err := q.c.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			return nil, fmt.Errorf("notify: receive from Azure queue %s: %w", q.name, azureErr(err))
		}
		var out []Message
		for _, m := range resp.Messages {
			if m == nil || m.MessageID == nil || m.PopReceipt == nil {
				continue
			}
			msg := Message{ID: *m.MessageID, receipt: *m.PopReceipt}
			if m.MessageText != nil {
				msg.Body = []byte(*m.MessageText)
			}
			if m.DequeueCount != nil {
				msg.Deliveries = int(*m.DequeueCount)
			}
			out = append(out, msg)
		}
		// The queue service has no long polling: poll while waiting, at
		// most every half second.
		if len(out) > 0 || wait <= 0 {
			return out, nil
		}
		step = min(wait, step*2, 500*time.Millisecond)
		wait -= step
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(step):
		}
	}
}

func (q *azureQueue) Delete(ctx context.Context, msgs []Message) error {
	for _, m := range msgs {
		if _, err := q.c.DeleteMessage(ctx, m.ID, m.receipt, nil); err != nil {
			var re *azcore.ResponseError
			if errors.As(err, &re) && (re.StatusCode == 404 || re.ErrorCode == "PopReceiptMismatch") {
				continue // gone, or delivered again: the next delivery settles it
			}
			return fmt.Errorf("notify: delete message %s from Azure queue %s: %w", m.ID, q.name, azureErr(err))
		}
	}
	return nil
}

func (q *azureQueue) Close() error { return nil }

// azureErr shortens an Azure response error to its status and code.
func azureErr(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%d %s", re.StatusCode, re.ErrorCode)
	}
	return err
}
