// Package delta implements the Delta Lake transaction log to the public
// PROTOCOL.md: snapshots at a version or a timestamp from JSON commits and
// Parquet checkpoints, optimistic concurrent commits that claim a version
// with an atomic create-if-absent, idempotent (txn) writes, checkpoints, log
// cleanup, and the table operations built on them (append, overwrite,
// history, vacuum, optimize).
//
// The package depends on storage for bytes and on a Parquet library for
// checkpoints and compaction; it does not depend on any query engine.
package delta

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers can test with errors.Is.
var (
	// ErrNotATable means the location has no _delta_log commits.
	ErrNotATable = errors.New("delta: not a Delta table")
	// ErrVersionNotFound means a requested version cannot be rebuilt: it is
	// newer than the latest, or its commits and checkpoints are gone.
	ErrVersionNotFound = errors.New("delta: version not found")
	// ErrCorruptLog means a commit or checkpoint could not be parsed.
	ErrCorruptLog = errors.New("delta: corrupt log")
	// ErrUnsupportedFeature means the table needs a protocol feature this
	// package does not implement. The error names the feature.
	ErrUnsupportedFeature = errors.New("delta: unsupported table feature")
	// ErrConcurrentModification means a commit lost a race to a commit that
	// conflicts with it, or ran out of retries. The error says what collided.
	ErrConcurrentModification = errors.New("delta: concurrent modification")
	// ErrTableExists means Create found a table already there.
	ErrTableExists = errors.New("delta: table already exists")
	// ErrSchemaMismatch means written data does not match the table schema.
	ErrSchemaMismatch = errors.New("delta: schema mismatch")
)

// UnsupportedFeatureError names the features a table needs that this
// package lacks. It matches ErrUnsupportedFeature with errors.Is.
type UnsupportedFeatureError struct {
	// Features are the unsupported feature names, as the protocol spells
	// them (deletionVectors, columnMapping, v2Checkpoint, …).
	Features []string
	// Op is "read" or "write".
	Op string
}

func (e *UnsupportedFeatureError) Error() string {
	return fmt.Sprintf("delta: cannot %s table: unsupported table feature(s): %s", e.Op, strings.Join(e.Features, ", "))
}

// Is makes the error match ErrUnsupportedFeature.
func (e *UnsupportedFeatureError) Is(target error) bool { return target == ErrUnsupportedFeature }
