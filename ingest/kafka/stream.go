package kafka

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/ingest"
)

// TxnAppID is the Delta txn app id that records how far a topic partition
// has been ingested; its version is the next offset to read.
func TxnAppID(topic string, partition int32) string {
	return fmt.Sprintf("medallion/kafka/%s/%d", topic, partition)
}

// Stream reads the client's topic as an ingest.Stream: each batch is one
// JSON-lines file per partition, in offset order, named
// "kafka:TOPIC/PARTITION@FIRST-LAST" (the rows' _source_file), with one
// txn per partition that moved (see TxnAppID).
func (c *Client) Stream() ingest.Stream { return stream{c} }

type stream struct{ c *Client }

// Read implements ingest.Stream.
func (s stream) Read(ctx context.Context, recorded func(appID string) (int64, bool), lim ingest.Limits) (*ingest.Batch, error) {
	topic := s.c.cfg.Topic
	from := map[int32]int64{}
	for _, p := range s.c.Partitions() {
		if v, ok := recorded(TxnAppID(topic, p)); ok {
			from[p] = v
		}
	}
	fetched, err := s.c.Fetch(ctx, from, Limits{MaxRecords: lim.MaxRecords, MaxBytes: lim.MaxBytes, MaxWait: lim.MaxWait})
	if err != nil {
		return nil, err
	}
	b, err := ingest.NewBatch()
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	for _, lag := range fetched.Lag {
		b.Pending += int(lag)
	}
	if len(fetched.Records) == 0 {
		return b, nil
	}
	byPart := map[int32][]Record{}
	for _, rec := range fetched.Records {
		byPart[rec.Partition] = append(byPart[rec.Partition], rec)
		if b.Arrival.IsZero() || rec.Timestamp.Before(b.Arrival) {
			b.Arrival = rec.Timestamp
		}
	}
	parts := make([]int32, 0, len(byPart))
	for p := range byPart {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for _, p := range parts {
		recs := byPart[p]
		var sb strings.Builder
		for _, rec := range recs {
			v := strings.TrimSpace(string(rec.Value))
			if v == "" {
				v = "null" // kept as a rejected record, not dropped
			}
			sb.WriteString(strings.ReplaceAll(v, "\n", " "))
			sb.WriteByte('\n')
		}
		local := filepath.Join(b.Dir(), fmt.Sprintf("p%d.jsonl", p))
		if err := os.WriteFile(local, []byte(sb.String()), 0o600); err != nil {
			b.Close()
			return nil, fmt.Errorf("kafka: %w", err)
		}
		name := fmt.Sprintf("kafka:%s/%d@%d-%d", topic, p, recs[0].Offset, recs[len(recs)-1].Offset)
		b.Files = append(b.Files, ingest.File{Name: name, Local: local})
	}
	offsets := map[string]int64{}
	for p, next := range fetched.Next {
		if prev, ok := from[p]; !ok || next > prev {
			b.Txns = append(b.Txns, delta.Txn{AppID: TxnAppID(topic, p), Version: next})
			offsets[fmt.Sprint(p)] = next
		}
	}
	b.Info = map[string]any{"topic": topic, "offsets": offsets}
	return b, nil
}
