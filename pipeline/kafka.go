package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/ingest"
	"github.com/medallionhq/medallion/ingest/kafka"
)

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

// streamSource returns how to open the source's stream (ingest.Stream),
// or nil for a source of landing files. A new kind of stream source is a
// case here and an implementation of ingest.Stream.
func (r *run) streamSource(s *Source) func(ctx context.Context) (ingest.Stream, error) {
	switch {
	case s.Kafka != nil:
		return func(ctx context.Context) (ingest.Stream, error) {
			cl, err := kafkaClient(ctx, r.proj, *s.Kafka)
			if err != nil {
				return nil, err
			}
			return cl.Stream(), nil
		}
	}
	return nil
}

// ingestStream reads the records a stream gained since the positions the
// bronze table records and commits them with the new positions in one
// commit, so each record lands exactly once whatever happens to the
// process.
func (r *run) ingestStream(ctx context.Context, s *Source, open func(context.Context) (ingest.Stream, error), rep *TableReport) (*TableReport, error) {
	tbl, err := r.lake.Table(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	snap, err := r.lake.Snapshot(ctx, s.Table)
	if err != nil {
		return rep, err
	}
	st, err := open(ctx)
	if err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	recorded := func(string) (int64, bool) { return 0, false }
	if snap != nil {
		recorded = snap.TxnVersion
	}
	batch, err := st.Read(ctx, recorded, ingest.Limits{MaxRecords: r.opts.MaxRecords, MaxBytes: r.opts.MaxBytes, MaxWait: 50 * time.Millisecond})
	if err != nil {
		return rep, fmt.Errorf("pipeline: source %s: %w", s.Name, err)
	}
	defer batch.Close()
	rep.Pending += batch.Pending
	if len(batch.Files) == 0 {
		rep.Status = StatusUpToDate
		if snap != nil {
			rep.Version = snap.Version()
		}
		return rep, nil
	}
	rep.Arrival = batch.Arrival
	load := make([]landedFile, len(batch.Files))
	for i, f := range batch.Files {
		load[i] = landedFile{key: f.Name, local: f.Local}
	}
	info := map[string]any{"batch_id": r.batchID, "source": s.Name}
	for k, v := range batch.Info {
		info[k] = v
	}
	src := engine.Source{Format: engine.JSON} // land loads load's local files
	if err := r.land(ctx, s, rep, tbl, snap, src, load, batch.Txns, info, false, nil); err != nil {
		return rep, err
	}
	return rep, nil
}
