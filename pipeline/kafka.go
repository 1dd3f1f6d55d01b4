package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/ingest/kafka"
)

// kafkaTxn is the txn appId that records how far a topic partition has been
// ingested; its version is the next offset to read.
func kafkaTxn(topic string, partition int32) string {
	return fmt.Sprintf("medallion/kafka/%s/%d", topic, partition)
}

// kafkaSets keeps one set of Kafka clients per project (by directory) for
// the life of the process, or until the project is closed
// (Project.Close), so a stream's micro-batches do not reconnect.
var kafkaSets = struct {
	sync.Mutex
	m map[string]*kafka.Clients
}{m: map[string]*kafka.Clients{}}

// kafkaClient returns the project's client for cfg.
func kafkaClient(ctx context.Context, proj *Project, cfg kafka.Config) (*kafka.Client, error) {
	kafkaSets.Lock()
	set, ok := kafkaSets.m[proj.Dir]
	if !ok {
		set = &kafka.Clients{}
		kafkaSets.m[proj.Dir] = set
	}
	kafkaSets.Unlock()
	return set.Get(ctx, cfg)
}

// closeKafkaClients closes the project's Kafka clients; the next run opens
// new ones.
func closeKafkaClients(proj *Project) {
	kafkaSets.Lock()
	set := kafkaSets.m[proj.Dir]
	delete(kafkaSets.m, proj.Dir)
	kafkaSets.Unlock()
	if set != nil {
		set.Close()
	}
}

// ingestKafka reads the records a topic gained since the offsets the bronze
// table records and commits them with the new offsets in one commit, so
// each record lands exactly once whatever happens to the process.
func (r *run) ingestKafka(ctx context.Context, s *Source, rep *TableReport) (*TableReport, error) {
	tbl, err := r.lake.Table(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	snap, err := r.lake.Snapshot(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	cl, err := kafkaClient(ctx, r.proj, *s.Kafka)
	if err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	from := map[int32]int64{}
	if snap != nil {
		for _, p := range cl.Partitions() {
			if v, ok := snap.TxnVersion(kafkaTxn(s.Kafka.Topic, p)); ok {
				from[p] = v
			}
		}
	}
	batch, err := cl.Fetch(ctx, from, kafka.Limits{MaxRecords: r.opts.MaxRecords, MaxBytes: r.opts.MaxBytes, MaxWait: 50 * time.Millisecond})
	if err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	for _, lag := range batch.Lag {
		rep.Pending += int(lag)
	}
	if len(batch.Records) == 0 {
		rep.Status = StatusUpToDate
		if snap != nil {
			rep.Version = snap.Version()
		}
		return rep, nil
	}
	// One JSON-lines file per partition, in offset order: _source_file
	// names the partition and offsets, _seq follows the offsets.
	dir, err := os.MkdirTemp("", "medallion-kafka-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	byPart := map[int32][]kafka.Record{}
	for _, rec := range batch.Records {
		byPart[rec.Partition] = append(byPart[rec.Partition], rec)
		if rep.Arrival.IsZero() || rec.Timestamp.Before(rep.Arrival) {
			rep.Arrival = rec.Timestamp
		}
	}
	parts := make([]int32, 0, len(byPart))
	for p := range byPart {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	var load []landedFile
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
		local := filepath.Join(dir, fmt.Sprintf("p%d.jsonl", p))
		if err := os.WriteFile(local, []byte(sb.String()), 0o600); err != nil {
			return rep, err
		}
		key := fmt.Sprintf("kafka:%s/%d@%d-%d", s.Kafka.Topic, p, recs[0].Offset, recs[len(recs)-1].Offset)
		load = append(load, landedFile{key: key, local: local})
	}
	var txns []delta.Txn
	offsets := map[string]int64{}
	for p, next := range batch.Next {
		if prev, ok := from[p]; !ok || next > prev {
			txns = append(txns, delta.Txn{AppID: kafkaTxn(s.Kafka.Topic, p), Version: next})
			offsets[fmt.Sprint(p)] = next
		}
	}
	src := engine.Source{Format: engine.JSON} // land loads load's local files
	info := map[string]any{"batch_id": r.batchID, "source": s.Name, "topic": s.Kafka.Topic, "offsets": offsets}
	if err := r.land(ctx, s, rep, tbl, snap, src, load, txns, info, false, nil); err != nil {
		return rep, err
	}
	return rep, nil
}
