package delta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ChangeDataDir is the folder (under the table root) of the change data
// files a commit writes with cdc actions.
const ChangeDataDir = "_change_data"

// ColChangeType is the column of a change data file that says what a row
// is: ChangeInsert, ChangeUpdatePreimage, ChangeUpdatePostimage or
// ChangeDelete.
const ColChangeType = "_change_type"

// The values of ColChangeType are ChangeInsert, ChangeUpdatePreimage,
// ChangeUpdatePostimage and ChangeDelete (changefeed.go).

// AddCDCFile is the cdc action: a change data file of the commit (a Parquet
// file of the changed rows with ColChangeType, partition columns left out
// as in data files). A commit with cdc actions has its row changes in them;
// a commit without has its added files as inserts and its removed files
// (dataChange) as deletes.
type AddCDCFile struct {
	// Path is relative to the table root (under ChangeDataDir) and
	// percent-encoded.
	Path            string             `json:"path"`
	PartitionValues map[string]*string `json:"partitionValues"`
	Size            int64              `json:"size"`
	// DataChange is always false: change data files hold no table rows.
	DataChange bool              `json:"dataChange"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// ChangeDataFeedEnabled reports whether the table property
// delta.enableChangeDataFeed is true.
func ChangeDataFeedEnabled(m *Metadata) bool {
	return m != nil && strings.EqualFold(m.Configuration[PropEnableChangeDataFeed], "true")
}

// AddChangeData adds cdc actions for change data files already written.
func (tx *Transaction) AddChangeData(files ...*AddCDCFile) {
	tx.cdcs = append(tx.cdcs, files...)
}

// cdcActions renders the transaction's cdc actions.
func (tx *Transaction) cdcActions() []Action {
	var out []Action
	for _, c := range tx.cdcs {
		c.DataChange = false
		if c.PartitionValues == nil {
			c.PartitionValues = map[string]*string{}
		}
		b, _ := json.Marshal(c) // strings and maps: cannot fail
		out = append(out, Action{CDC: b})
	}
	return out
}

// ChangeDataFile is one file holding row changes of a commit, as
// ChangeFiles lists them (by path; Table.ChangeFeed is the reader queries
// use, with deletion vectors and in-commit timestamps).
type ChangeDataFile struct {
	Version   int64
	Timestamp int64 // the commit's timestamp (commitInfo), Unix milliseconds
	Path      string
	// PartitionValues of the file (its rows lack the partition columns).
	PartitionValues map[string]*string
	// ChangeType is "" for a change data file (its rows carry
	// ColChangeType), ChangeInsert for an added data file of a commit
	// without cdc actions, ChangeDelete for a removed one.
	ChangeType string
}

// ChangeFiles lists the files that hold the row changes of versions from
// through to, as the Delta protocol defines them: a commit's cdc files if
// it has any, else its added (inserted) and removed (deleted) data files
// with dataChange. It is a minimal reader of the change data feed (for
// tests and tools); it needs every commit of the range.
func (t *Table) ChangeFiles(ctx context.Context, from, to int64) ([]ChangeDataFile, error) {
	if from > to {
		return nil, nil
	}
	l, err := listLogFrom(ctx, t.store, from)
	if err != nil {
		return nil, err
	}
	if !l.hasCommits(from, to) {
		return nil, fmt.Errorf("%w: commits %d..%d are not all available", ErrVersionNotFound, from, to)
	}
	commits, err := readCommits(ctx, t.store, from, to)
	if err != nil {
		return nil, err
	}
	var out []ChangeDataFile
	for i, acts := range commits {
		v := from + int64(i)
		var ts int64
		var cdc, data []ChangeDataFile
		for _, a := range acts {
			switch {
			case a.CommitInfo != nil:
				ts = a.CommitInfo.Timestamp
			case a.CDC != nil:
				var c AddCDCFile
				if err := json.Unmarshal(a.CDC, &c); err != nil {
					return nil, fmt.Errorf("%w: version %d: cdc action: %v", ErrCorruptLog, v, err)
				}
				cdc = append(cdc, ChangeDataFile{Version: v, Path: c.Path, PartitionValues: c.PartitionValues})
			case a.Add != nil && a.Add.DataChange:
				data = append(data, ChangeDataFile{Version: v, Path: a.Add.Path, PartitionValues: a.Add.PartitionValues, ChangeType: ChangeInsert})
			case a.Remove != nil && a.Remove.DataChange:
				data = append(data, ChangeDataFile{Version: v, Path: a.Remove.Path, PartitionValues: a.Remove.PartitionValues, ChangeType: ChangeDelete})
			}
		}
		files := data
		if len(cdc) > 0 {
			files = cdc
		}
		for _, f := range files {
			f.Timestamp = ts
			out = append(out, f)
		}
	}
	return out, nil
}

// SetProtocol commits a new protocol (an upgrade) with the transaction.
func (tx *Transaction) SetProtocol(p *Protocol) { tx.protocol = p }

// ChangeDataFeedProtocol returns the protocol p upgraded to allow the change
// data feed (writer version 4, or the changeDataFeed writer feature for a
// table-features protocol), or nil when p already allows it.
func ChangeDataFeedProtocol(p *Protocol) *Protocol {
	switch {
	case p == nil:
		return nil
	case p.MinWriterVersion >= tableFeaturesWriterVersion:
		for _, f := range p.WriterFeatures {
			if f == changeDataFeedFeature {
				return nil
			}
		}
		np := *p
		np.WriterFeatures = append(append([]string{}, p.WriterFeatures...), changeDataFeedFeature)
		return &np
	case p.MinWriterVersion >= changeDataFeedWriterVersion:
		return nil
	}
	np := *p
	np.MinWriterVersion = changeDataFeedWriterVersion
	return &np
}
