// Package ingest holds medallion's sources: what reads new data into a
// bronze table. Landing files are discovered by listing the landing folder
// or from the store's notifications (ingest/notify); stream sources
// (ingest/kafka) implement Stream, so a new kind of stream is an
// implementation of it, not another branch of the pipeline.
//
// Every source records its progress in the bronze table's own Delta
// commits (txn actions committed with the rows), so a batch lands exactly
// once whatever happens to the process.
package ingest

import (
	"context"
	"os"
	"time"

	"github.com/medallionhq/medallion/delta"
)

// Limits bound one batch of a stream; zero means no bound.
type Limits struct {
	MaxRecords int
	MaxBytes   int64
	// MaxWait bounds how long Read waits for records when none are ready.
	MaxWait time.Duration
}

// Stream is a source that is read from explicit positions (a Kafka topic's
// partition offsets): Read returns the records after the positions the
// bronze table recorded, with the txns that record the positions after
// them, to be committed in the same commit as the rows.
type Stream interface {
	// Read reads the next batch. recorded looks up the version the
	// table's last commit recorded for a txn app id (false: never
	// recorded).
	Read(ctx context.Context, recorded func(appID string) (int64, bool), lim Limits) (*Batch, error)
}

// Batch is what a Stream read: local JSON-lines files for the engine to
// load, in order, and the progress to commit with their rows. An empty
// batch (no Files) means the stream is up to date.
type Batch struct {
	// Files hold one JSON value per line. Name is the file's
	// _source_file in the bronze table.
	Files []File
	// Txns record the progress after this batch.
	Txns []delta.Txn
	// Info goes into the commit's medallion commit info (offsets…).
	Info map[string]any
	// Pending is how many records were left for a later batch.
	Pending int
	// Arrival is when the oldest record of the batch arrived.
	Arrival time.Time
	// dir holds the files; Close removes it.
	dir string
}

// File is one local file of a Batch.
type File struct {
	Name  string
	Local string
}

// NewBatch returns an empty batch whose files live in a new temporary
// directory (removed by Close).
func NewBatch() (*Batch, error) {
	dir, err := os.MkdirTemp("", "medallion-stream-")
	if err != nil {
		return nil, err
	}
	return &Batch{dir: dir}, nil
}

// Dir is the batch's directory for its files.
func (b *Batch) Dir() string { return b.dir }

// Close removes the batch's files.
func (b *Batch) Close() error {
	if b == nil || b.dir == "" {
		return nil
	}
	return os.RemoveAll(b.dir)
}
