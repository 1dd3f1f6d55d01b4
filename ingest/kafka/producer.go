package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer writes records to the configured topic, for demos, tests and
// benchmarks. Produce is asynchronous and batches; Flush waits for every
// record produced so far and reports the first failure.
type Producer struct {
	cl *kgo.Client

	mu  sync.Mutex
	err error // first asynchronous failure
}

// NewProducer connects to the brokers (checking that they answer within ctx)
// and returns a Producer for cfg.Topic. Records with a key are partitioned by
// the key's hash; records without one are spread across partitions.
func NewProducer(ctx context.Context, cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := append(cfg.clientOpts(),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(100_000),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: connect: %w", err)
	}
	return &Producer{cl: cl}, nil
}

// Produce queues one record. It blocks only while the client's buffer is
// full. key and value must not be modified until Flush returns. ctx bounds
// the wait for buffer space and also cancels the record while it is still
// buffered, so it should outlive the Flush. A failure is reported by this or
// a later Produce, or by Flush.
func (p *Producer) Produce(ctx context.Context, key, value []byte) error {
	if err := p.firstErr(); err != nil {
		return err
	}
	p.cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, p.promise)
	return nil
}

func (p *Producer) promise(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = fmt.Errorf("kafka: produce: %w", err)
	}
	p.mu.Unlock()
}

func (p *Producer) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Flush waits until every record produced so far is acknowledged (or ctx is
// done) and returns the first failure.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: flush: %w", err)
	}
	return p.firstErr()
}

// Close releases the connections; records not yet flushed are failed.
func (p *Producer) Close() { p.cl.Close() }
