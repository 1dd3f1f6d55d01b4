package delta

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Protocol is the protocol action: the reader and writer versions a table
// requires and, from reader 3 / writer 7 on, the named features.
type Protocol struct {
	MinReaderVersion int      `json:"minReaderVersion"`
	MinWriterVersion int      `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

// Format names the data files' format (always parquet).
type Format struct {
	Provider string            `json:"provider"`
	Options  map[string]string `json:"options"`
}

// Metadata is the metaData action: the table's identity, schema, partition
// columns and configuration (table properties).
type Metadata struct {
	ID               string            `json:"id"`
	Name             *string           `json:"name,omitempty"`
	Description      *string           `json:"description,omitempty"`
	Format           Format            `json:"format"`
	SchemaString     string            `json:"schemaString"`
	PartitionColumns []string          `json:"partitionColumns"`
	Configuration    map[string]string `json:"configuration"`
	CreatedTime      *int64            `json:"createdTime,omitempty"`
}

// Schema parses the metadata's schemaString.
func (m *Metadata) Schema() (*StructType, error) {
	return ParseSchema(m.SchemaString)
}

// DeletionVector describes a deletion vector attached to an add or remove.
// Its presence in an add is only legal when the table enables the
// deletionVectors feature, which this package refuses.
type DeletionVector struct {
	StorageType    string `json:"storageType"`
	PathOrInlineDv string `json:"pathOrInlineDv"`
	Offset         *int32 `json:"offset,omitempty"`
	SizeInBytes    int32  `json:"sizeInBytes"`
	Cardinality    int64  `json:"cardinality"`
}

// Add is the add action: a data file that becomes part of the table.
type Add struct {
	// Path is relative to the table root and percent-encoded as in the log.
	Path               string             `json:"path"`
	PartitionValues    map[string]*string `json:"partitionValues"`
	Size               int64              `json:"size"`
	ModificationTime   int64              `json:"modificationTime"`
	DataChange         bool               `json:"dataChange"`
	Stats              string             `json:"stats,omitempty"`
	Tags               map[string]string  `json:"tags,omitempty"`
	DeletionVector     *DeletionVector    `json:"deletionVector,omitempty"`
	BaseRowID          *int64             `json:"baseRowId,omitempty"`
	ClusteringProvider *string            `json:"clusteringProvider,omitempty"`
}

// Remove is the remove action: a file that stops being part of the table; it
// stays on disk as a tombstone until vacuum deletes it.
type Remove struct {
	Path                 string             `json:"path"`
	DeletionTimestamp    *int64             `json:"deletionTimestamp,omitempty"`
	DataChange           bool               `json:"dataChange"`
	ExtendedFileMetadata *bool              `json:"extendedFileMetadata,omitempty"`
	PartitionValues      map[string]*string `json:"partitionValues,omitempty"`
	Size                 *int64             `json:"size,omitempty"`
	Stats                string             `json:"stats,omitempty"`
	Tags                 map[string]string  `json:"tags,omitempty"`
	DeletionVector       *DeletionVector    `json:"deletionVector,omitempty"`
}

// Txn is the txn (SetTransaction) action: the latest version an application
// has committed. It is how idempotent, exactly-once writes work.
type Txn struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated *int64 `json:"lastUpdated,omitempty"`
}

// CommitInfo is the commitInfo action: provenance of one commit.
type CommitInfo struct {
	Timestamp           int64             `json:"timestamp"`
	InCommitTimestamp   *int64            `json:"inCommitTimestamp,omitempty"`
	Operation           string            `json:"operation"`
	OperationParameters map[string]any    `json:"operationParameters,omitempty"`
	OperationMetrics    map[string]string `json:"operationMetrics,omitempty"`
	ReadVersion         *int64            `json:"readVersion,omitempty"`
	IsolationLevel      string            `json:"isolationLevel,omitempty"`
	IsBlindAppend       *bool             `json:"isBlindAppend,omitempty"`
	EngineInfo          string            `json:"engineInfo,omitempty"`
	TxnID               string            `json:"txnId,omitempty"`
	// Extra holds fields this package does not model (userId, notebook, …),
	// preserved when a commit is read; medallion puts its own provenance
	// (batch ids, landed files) under the "medallion" key.
	Extra map[string]json.RawMessage `json:"-"`
}

var commitInfoFields = map[string]bool{
	"timestamp": true, "inCommitTimestamp": true, "operation": true, "operationParameters": true,
	"operationMetrics": true, "readVersion": true, "isolationLevel": true, "isBlindAppend": true,
	"engineInfo": true, "txnId": true,
}

// UnmarshalJSON keeps unknown fields in Extra. Operation metrics written as
// numbers by some engines are accepted and kept as strings.
func (c *CommitInfo) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	type plain CommitInfo
	var p struct {
		plain
		OperationMetrics map[string]json.RawMessage `json:"operationMetrics,omitempty"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = CommitInfo(p.plain)
	if p.OperationMetrics != nil {
		c.OperationMetrics = make(map[string]string, len(p.OperationMetrics))
		for k, v := range p.OperationMetrics {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			c.OperationMetrics[k] = s
		}
	}
	for k, v := range raw {
		if !commitInfoFields[k] {
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[k] = v
		}
	}
	return nil
}

// MarshalJSON writes the modelled fields and Extra.
func (c CommitInfo) MarshalJSON() ([]byte, error) {
	type plain CommitInfo
	b, err := json.Marshal(plain(c))
	if err != nil || len(c.Extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range c.Extra {
		if !commitInfoFields[k] {
			m[k] = v
		}
	}
	return marshalSorted(m)
}

func marshalSorted(m map[string]json.RawMessage) ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			sb.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		sb.Write(kb)
		sb.WriteByte(':')
		sb.Write(m[k])
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

// DomainMetadata is the domainMetadata action (writer feature
// domainMetadata). It is parsed so that such tables can be refused clearly.
type DomainMetadata struct {
	Domain        string `json:"domain"`
	Configuration string `json:"configuration"`
	Removed       bool   `json:"removed"`
}

// Action is one line of a commit file: exactly one field is set. Actions this
// package does not interpret (cdc, checkpointMetadata, sidecar) are kept raw.
type Action struct {
	Protocol           *Protocol       `json:"protocol,omitempty"`
	MetaData           *Metadata       `json:"metaData,omitempty"`
	Add                *Add            `json:"add,omitempty"`
	Remove             *Remove         `json:"remove,omitempty"`
	Txn                *Txn            `json:"txn,omitempty"`
	CommitInfo         *CommitInfo     `json:"commitInfo,omitempty"`
	DomainMetadata     *DomainMetadata `json:"domainMetadata,omitempty"`
	CDC                json.RawMessage `json:"cdc,omitempty"`
	CheckpointMetadata json.RawMessage `json:"checkpointMetadata,omitempty"`
	Sidecar            json.RawMessage `json:"sidecar,omitempty"`
}

// kind names the action's type, for error messages.
func (a *Action) kind() string {
	switch {
	case a.Protocol != nil:
		return "protocol"
	case a.MetaData != nil:
		return "metaData"
	case a.Add != nil:
		return "add"
	case a.Remove != nil:
		return "remove"
	case a.Txn != nil:
		return "txn"
	case a.CommitInfo != nil:
		return "commitInfo"
	case a.DomainMetadata != nil:
		return "domainMetadata"
	case a.CDC != nil:
		return "cdc"
	case a.CheckpointMetadata != nil:
		return "checkpointMetadata"
	case a.Sidecar != nil:
		return "sidecar"
	}
	return ""
}

// ParseActions parses the newline-delimited JSON of one commit file. name is
// used in errors, which give the file and the 1-based line of the bad action.
func ParseActions(name string, data []byte) ([]Action, error) {
	var out []Action
	line := 0
	for len(data) > 0 {
		line++
		i := strings.IndexByte(string(data), '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		if len(strings.TrimSpace(string(l))) == 0 {
			continue
		}
		a, err := parseAction(l)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %w", ErrCorruptLog, name, line, err)
		}
		if a.kind() == "" {
			// Unknown action types are ignored, as the protocol allows.
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAction(l []byte) (Action, error) {
	var a Action
	if err := json.Unmarshal(l, &a); err != nil {
		return a, err
	}
	switch {
	case a.Add != nil:
		if a.Add.Path == "" {
			return a, fmt.Errorf("add action without path")
		}
		if a.Add.Size < 0 {
			return a, fmt.Errorf("add %s: negative size %d", a.Add.Path, a.Add.Size)
		}
	case a.Remove != nil:
		if a.Remove.Path == "" {
			return a, fmt.Errorf("remove action without path")
		}
	case a.MetaData != nil:
		if a.MetaData.SchemaString == "" {
			return a, fmt.Errorf("metaData action without schemaString")
		}
		// A schema with a type this package lacks (variant) is well formed:
		// the snapshot refuses the table naming the feature.
		if _, err := ParseSchema(a.MetaData.SchemaString); err != nil && !errors.Is(err, ErrUnsupportedFeature) {
			return a, fmt.Errorf("metaData schemaString: %w", err)
		}
	case a.Protocol != nil:
		if a.Protocol.MinReaderVersion < 1 || a.Protocol.MinWriterVersion < 1 {
			return a, fmt.Errorf("protocol with invalid versions %d/%d", a.Protocol.MinReaderVersion, a.Protocol.MinWriterVersion)
		}
	case a.Txn != nil:
		if a.Txn.AppID == "" {
			return a, fmt.Errorf("txn action without appId")
		}
	}
	return a, nil
}

// MarshalActions renders actions as the newline-delimited JSON of a commit.
func MarshalActions(actions []Action) ([]byte, error) {
	var sb strings.Builder
	for i := range actions {
		b, err := json.Marshal(&actions[i])
		if err != nil {
			return nil, fmt.Errorf("delta: marshal %s action: %w", actions[i].kind(), err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return []byte(sb.String()), nil
}
