package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medallionhq/medallion/storage"
)

// Change types of the change data feed (the _change_type column).
const (
	ChangeInsert          = "insert"
	ChangeDelete          = "delete"
	ChangeUpdatePreimage  = "update_preimage"
	ChangeUpdatePostimage = "update_postimage"
)

// ChangeFeedColumns are the columns the change data feed adds to a table's
// own, as Spark's table_changes names them.
var ChangeFeedColumns = []string{"_change_type", "_commit_version", "_commit_timestamp"}

// ChangeFile is one file of a table's change data feed between two
// versions: a cdc file (its rows carry their own _change_type column), or,
// in a commit without cdc files, a data file added (every row inserted) or
// removed (every row deleted).
type ChangeFile struct {
	// File is the data or cdc file; a removed file keeps the deletion
	// vector it had, so only the rows it still held are deleted.
	File *Add
	// ChangeType is ChangeInsert or ChangeDelete for a whole file; empty
	// for a cdc file, whose rows say it in their _change_type column.
	ChangeType string
	Version    int64
	// Timestamp is the commit's time: its inCommitTimestamp when the
	// commit has one, else the commit file's modification time.
	Timestamp time.Time
}

// ErrChangeDataFeedOff means the change data feed was not on for a version
// asked for.
var ErrChangeDataFeedOff = errors.New("delta: change data feed not enabled")

// ErrChangeDataGone means a file of the change data feed asked for is no
// longer in storage (VACUUM deleted it after its retention).
var ErrChangeDataGone = errors.New("delta: change data file gone")

// ChangeFeed returns the change data feed of versions from..to (both
// included), as Spark's table_changes reads it: per commit, its cdc files
// when it has some, else its data files added and removed with dataChange.
// Every version must have the feed on (delta.enableChangeDataFeed) and its
// commit still in the log; a version past the latest is ErrVersionNotFound.
// A file of the feed that is no longer in storage (vacuumed) is
// ErrChangeDataGone.
func (t *Table) ChangeFeed(ctx context.Context, from, to int64) ([]ChangeFile, error) {
	if from < 0 || to < from {
		return nil, fmt.Errorf("%w: change data feed of versions %d to %d: the start must be at least 0 and at most the end", ErrVersionNotFound, from, to)
	}
	l, err := listLog(ctx, t.store)
	if err != nil {
		return nil, err
	}
	if latest := l.latestVersion(); to > latest {
		return nil, fmt.Errorf("%w: version %d does not exist (latest is %d)", ErrVersionNotFound, to, latest)
	}
	if !l.hasCommits(from, to) {
		return nil, fmt.Errorf("%w: commits %d..%d are not all in the log any more", ErrVersionNotFound, from, to)
	}
	// The feed must be on at every version read: replay the metadata from
	// the snapshot before from.
	snap, err := loadSnapshot(ctx, t.store, l, from)
	if err != nil {
		return nil, err
	}
	md := snap.metadata
	commits, err := readCommits(ctx, t.store, from, to)
	if err != nil {
		return nil, err
	}
	var out []ChangeFile
	for i, acts := range commits {
		v := from + int64(i)
		ts := l.commits[v].modTime
		var cdcs, adds, removes []ChangeFile
		for _, a := range acts {
			switch {
			case a.MetaData != nil:
				md = a.MetaData
			case a.CommitInfo != nil && a.CommitInfo.InCommitTimestamp != nil:
				ts = time.UnixMilli(*a.CommitInfo.InCommitTimestamp)
			}
		}
		if !boolProperty(md, PropEnableChangeDataFeed, false) {
			return nil, fmt.Errorf("%w at version %d (table property %s)", ErrChangeDataFeedOff, v, PropEnableChangeDataFeed)
		}
		for _, a := range acts {
			switch {
			case a.CDC != nil:
				var c AddCDCFile
				if err := json.Unmarshal(a.CDC, &c); err != nil || c.Path == "" {
					return nil, fmt.Errorf("%w: version %d: bad cdc action %s", ErrCorruptLog, v, a.CDC)
				}
				cdcs = append(cdcs, ChangeFile{File: &Add{Path: c.Path, PartitionValues: c.PartitionValues, Size: c.Size}, Version: v})
			case a.Add != nil && a.Add.DataChange:
				adds = append(adds, ChangeFile{File: a.Add, ChangeType: ChangeInsert, Version: v})
			case a.Remove != nil && a.Remove.DataChange:
				r := a.Remove
				removes = append(removes, ChangeFile{File: &Add{Path: r.Path, PartitionValues: r.PartitionValues, DeletionVector: r.DeletionVector}, ChangeType: ChangeDelete, Version: v})
			}
		}
		files := cdcs
		if len(cdcs) == 0 {
			files = append(adds, removes...)
		}
		for j := range files {
			files[j].Timestamp = ts
			key, err := FileKey(files[j].File.Path)
			if err != nil {
				return nil, err
			}
			if _, err := t.store.Stat(ctx, key); errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("%w: version %d: %s", ErrChangeDataGone, v, files[j].File.Path)
			} else if err != nil {
				return nil, err
			}
		}
		out = append(out, files...)
	}
	return out, nil
}
