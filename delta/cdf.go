package delta

import (
	"encoding/json"
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
