package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// Classic single-file checkpoints: one Parquet row per action, with one
// optional struct column per action type, in the shape Spark/Delta writes
// and every Delta reader expects (PROTOCOL.md, "Checkpoint Schema").

// ---------------------------------------------------------------------------
// Writing.

const (
	wLeaf = iota
	wStruct
	wList
	wMap
)

// wNode describes one column of the checkpoint schema for the writer.
type wNode struct {
	name     string
	kind     int
	optional bool
	leaf     parquet.Node // wLeaf: the physical/logical type
	fields   []*wNode     // wStruct
	elem     *wNode       // wList: element (optional string)

	index  int   // wLeaf: column index
	rep    int   // wList, wMap: repetition level of the repeated group
	leaves []int // column indexes below the node
}

func wStr(name string) *wNode {
	return &wNode{name: name, kind: wLeaf, optional: true, leaf: parquet.String()}
}
func wLong(name string) *wNode {
	return &wNode{name: name, kind: wLeaf, optional: true, leaf: parquet.Leaf(parquet.Int64Type)}
}
func wInt(name string) *wNode {
	return &wNode{name: name, kind: wLeaf, optional: true, leaf: parquet.Leaf(parquet.Int32Type)}
}
func wBool(name string) *wNode {
	return &wNode{name: name, kind: wLeaf, optional: true, leaf: parquet.Leaf(parquet.BooleanType)}
}
func wStrMap(name string) *wNode { return &wNode{name: name, kind: wMap, optional: true} }
func wStrList(name string) *wNode {
	return &wNode{name: name, kind: wList, optional: true, elem: wStr("element")}
}
func wGroup(name string, fields ...*wNode) *wNode {
	return &wNode{name: name, kind: wStruct, optional: true, fields: fields}
}

// checkpointWriteSchema is the schema writeCheckpointParquet uses; the
// domainMetadata column is added only when there are such actions.
func checkpointWriteSchema(withDomainMetadata bool) *wNode {
	root := &wNode{kind: wStruct, fields: []*wNode{
		wGroup("txn", wStr("appId"), wLong("version"), wLong("lastUpdated")),
		wGroup("add", wStr("path"), wStrMap("partitionValues"), wLong("size"), wLong("modificationTime"),
			wBool("dataChange"), wStrMap("tags"), wStr("stats")),
		wGroup("remove", wStr("path"), wLong("deletionTimestamp"), wBool("dataChange"), wBool("extendedFileMetadata"),
			wStrMap("partitionValues"), wLong("size"), wStrMap("tags")),
		wGroup("metaData", wStr("id"), wStr("name"), wStr("description"),
			wGroup("format", wStr("provider"), wStrMap("options")),
			wStr("schemaString"), wStrList("partitionColumns"), wStrMap("configuration"), wLong("createdTime")),
		wGroup("protocol", wInt("minReaderVersion"), wInt("minWriterVersion"),
			wStrList("readerFeatures"), wStrList("writerFeatures")),
	}}
	if withDomainMetadata {
		root.fields = append(root.fields, wGroup("domainMetadata", wStr("domain"), wStr("configuration"), wBool("removed")))
	}
	next := 0
	root.assign(&next, 0)
	return root
}

// assign numbers the leaves depth-first, in the order the Parquet schema
// lists them, and computes repetition levels.
func (n *wNode) assign(next *int, rep int) {
	switch n.kind {
	case wLeaf:
		n.index = *next
		*next++
		n.leaves = []int{n.index}
	case wStruct:
		for _, f := range n.fields {
			f.assign(next, rep)
			n.leaves = append(n.leaves, f.leaves...)
		}
	case wList:
		n.rep = rep + 1
		n.elem.assign(next, rep+1)
		n.leaves = n.elem.leaves
	case wMap:
		n.rep = rep + 1
		n.leaves = []int{*next, *next + 1} // key, value
		*next += 2
	}
}

// node renders the description as a Parquet schema node. Struct fields keep
// their order (parquet.Group would sort them by name).
func (n *wNode) node() parquet.Node {
	var out parquet.Node
	switch n.kind {
	case wLeaf:
		out = n.leaf
	case wStruct:
		g := make(orderedGroup, len(n.fields))
		for i, f := range n.fields {
			g[i] = orderedField{Node: f.node(), name: f.name}
		}
		out = g
	case wList:
		out = parquet.List(n.elem.node())
	case wMap:
		out = parquet.Map(parquet.String(), parquet.Optional(parquet.String()))
	}
	if n.optional {
		return parquet.Optional(out)
	}
	return parquet.Required(out)
}

// orderedGroup is a Parquet group node whose fields keep the given order.
type orderedGroup []parquet.Field

type orderedField struct {
	parquet.Node
	name string
}

func (f orderedField) Name() string                           { return f.name }
func (f orderedField) Value(base reflect.Value) reflect.Value { return base.FieldByName(f.name) }

func (g orderedGroup) ID() int { return 0 }
func (g orderedGroup) String() string {
	names := make([]string, len(g))
	for i, f := range g {
		names[i] = f.Name()
	}
	return "group{" + strings.Join(names, ",") + "}"
}
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

// shredder turns one value per column description into levelled Parquet
// values, one slice per leaf column.
type shredder struct {
	cols [][]parquet.Value
}

func (s *shredder) null(n *wNode, r, d int) {
	for _, l := range n.leaves {
		s.cols[l] = append(s.cols[l], parquet.NullValue().Level(r, d, l))
	}
}

// shred writes v (nil for null) under n; r and d are the repetition and
// definition levels of n's parent position.
func (s *shredder) shred(n *wNode, v any, r, d int) error {
	if v == nil {
		s.null(n, r, d)
		return nil
	}
	if n.optional {
		d++
	}
	switch n.kind {
	case wLeaf:
		var pv parquet.Value
		switch x := v.(type) {
		case string:
			pv = parquet.ByteArrayValue([]byte(x))
		case int64:
			pv = parquet.Int64Value(x)
		case int32:
			pv = parquet.Int32Value(x)
		case bool:
			pv = parquet.BooleanValue(x)
		default:
			return fmt.Errorf("column %s: unexpected value of type %T", n.name, v)
		}
		s.cols[n.index] = append(s.cols[n.index], pv.Level(r, d, n.index))
	case wStruct:
		vals := v.([]any)
		for i, f := range n.fields {
			if err := s.shred(f, vals[i], r, d); err != nil {
				return err
			}
		}
	case wList:
		list := v.([]string)
		if len(list) == 0 {
			s.null(n, r, d)
			return nil
		}
		for i, e := range list {
			rr := r
			if i > 0 {
				rr = n.rep
			}
			if err := s.shred(n.elem, e, rr, d+1); err != nil {
				return err
			}
		}
	case wMap:
		var keys []string
		var get func(string) *string
		switch m := v.(type) {
		case map[string]*string:
			keys = slices.Sorted(maps.Keys(m))
			get = func(k string) *string { return m[k] }
		case map[string]string:
			keys = slices.Sorted(maps.Keys(m))
			get = func(k string) *string { x := m[k]; return &x }
		default:
			return fmt.Errorf("column %s: unexpected map of type %T", n.name, v)
		}
		if len(keys) == 0 {
			s.null(n, r, d)
			return nil
		}
		kc, vc := n.leaves[0], n.leaves[1]
		for i, k := range keys {
			rr := r
			if i > 0 {
				rr = n.rep
			}
			s.cols[kc] = append(s.cols[kc], parquet.ByteArrayValue([]byte(k)).Level(rr, d+1, kc))
			if val := get(k); val != nil {
				s.cols[vc] = append(s.cols[vc], parquet.ByteArrayValue([]byte(*val)).Level(rr, d+2, vc))
			} else {
				s.cols[vc] = append(s.cols[vc], parquet.NullValue().Level(rr, d+1, vc))
			}
		}
	}
	return nil
}

// Helpers turning optional Go fields into shredder values.
func optStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func optInt64(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

func optBool(v *bool) any {
	if v == nil {
		return nil
	}
	return *v
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strMapOrNil(m map[string]string) any {
	if m == nil {
		return nil
	}
	return m
}

func pvMapOrNil(m map[string]*string) any {
	if m == nil {
		return nil
	}
	return m
}

func strListOrNil(l []string) any {
	if l == nil {
		return nil
	}
	return l
}

// writeCheckpointParquet writes actions as a classic single-file Delta
// checkpoint: one row per action with the optional struct columns txn, add,
// remove, metaData and protocol (and domainMetadata when there are such
// actions). commitInfo and cdc actions are not part of a table's state and
// are skipped. Add's partitionValues is always written (nil as an empty
// map); other nil maps and lists are written as null, so that
// readCheckpointParquet gives back the same actions. Deletion vectors are
// refused (this package does not support them); add/remove fields outside
// the classic checkpoint schema (baseRowId, clusteringProvider, remove
// stats) are not written. Columns are in Spark's order; the file is
// Snappy-compressed, with data page v1 and PLAIN-encoded strings, which
// every Parquet reader supports.
func writeCheckpointParquet(w io.Writer, actions []Action) error {
	withDM := slices.ContainsFunc(actions, func(a Action) bool { return a.DomainMetadata != nil })
	root := checkpointWriteSchema(withDM)
	schema := parquet.NewSchema("spark_schema", root.node())
	pw := parquet.NewWriter(w, schema,
		parquet.Compression(&parquet.Snappy),
		parquet.DataPageVersion(1),
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
		parquet.CreatedBy("medallion", "delta", ""),
	)
	nleaves := len(root.leaves)
	sh := &shredder{cols: make([][]parquet.Value, nleaves)}
	batch := make([]parquet.Row, 0, 256)
	// The rows of a batch are reused for the next one: WriteRows copies
	// their values into the writer's column buffers.
	spare := make([]parquet.Row, cap(batch))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := pw.WriteRows(batch); err != nil {
			return fmt.Errorf("delta: write checkpoint: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	top := make([]any, len(root.fields))
	for i := range actions {
		a := &actions[i]
		clear(top)
		switch {
		case a.Txn != nil:
			top[0] = []any{a.Txn.AppID, a.Txn.Version, optInt64(a.Txn.LastUpdated)}
		case a.Add != nil:
			x := a.Add
			if x.Path == "" {
				return errors.New("delta: write checkpoint: add action without path")
			}
			if x.DeletionVector != nil {
				return &UnsupportedFeatureError{Features: []string{"deletionVectors"}, Op: "write"}
			}
			pv := x.PartitionValues
			if pv == nil {
				pv = map[string]*string{}
			}
			top[1] = []any{x.Path, pv, x.Size, x.ModificationTime, x.DataChange, strMapOrNil(x.Tags), nonEmpty(x.Stats)}
		case a.Remove != nil:
			x := a.Remove
			if x.Path == "" {
				return errors.New("delta: write checkpoint: remove action without path")
			}
			if x.DeletionVector != nil {
				return &UnsupportedFeatureError{Features: []string{"deletionVectors"}, Op: "write"}
			}
			top[2] = []any{x.Path, optInt64(x.DeletionTimestamp), x.DataChange, optBool(x.ExtendedFileMetadata),
				pvMapOrNil(x.PartitionValues), optInt64(x.Size), strMapOrNil(x.Tags)}
		case a.MetaData != nil:
			x := a.MetaData
			top[3] = []any{x.ID, optStr(x.Name), optStr(x.Description),
				[]any{x.Format.Provider, strMapOrNil(x.Format.Options)},
				x.SchemaString, strListOrNil(x.PartitionColumns), strMapOrNil(x.Configuration), optInt64(x.CreatedTime)}
		case a.Protocol != nil:
			x := a.Protocol
			top[4] = []any{int32(x.MinReaderVersion), int32(x.MinWriterVersion),
				strListOrNil(x.ReaderFeatures), strListOrNil(x.WriterFeatures)}
		case a.DomainMetadata != nil:
			x := a.DomainMetadata
			top[5] = []any{x.Domain, x.Configuration, x.Removed}
		default:
			continue // commitInfo, cdc, …: not part of the state
		}
		for c := range sh.cols {
			sh.cols[c] = sh.cols[c][:0]
		}
		for j, f := range root.fields {
			if err := sh.shred(f, top[j], 0, 0); err != nil {
				return fmt.Errorf("delta: write checkpoint: %w", err)
			}
		}
		row := spare[len(batch)][:0]
		for _, c := range sh.cols {
			row = append(row, c...)
		}
		spare[len(batch)] = row
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("delta: write checkpoint: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reading.

func strT() DataType  { return Primitive(TypeString) }
func longT() DataType { return Primitive(TypeLong) }
func boolT() DataType { return Primitive(TypeBoolean) }
func strMapT() DataType {
	k, v := strT(), strT()
	return DataType{Name: TypeMap, KeyType: &k, ValueType: &v, ValueContainsNull: true}
}
func strListT() DataType {
	e := strT()
	return DataType{Name: TypeArray, ElementType: &e, ContainsNull: true}
}
func structT(names []string, types ...DataType) DataType {
	t := DataType{Name: TypeStruct}
	for i, n := range names {
		t.Fields = append(t.Fields, StructField{Name: n, Type: types[i], Nullable: true})
	}
	return t
}

var (
	dvReadT = structT([]string{"storageType", "pathOrInlineDv", "offset", "sizeInBytes", "cardinality"},
		strT(), strT(), longT(), longT(), longT())
	txnReadT = structT([]string{"appId", "version", "lastUpdated"}, strT(), longT(), longT())
	addReadT = structT([]string{"path", "partitionValues", "size", "modificationTime", "dataChange", "stats",
		"tags", "deletionVector", "baseRowId", "clusteringProvider"},
		strT(), strMapT(), longT(), longT(), boolT(), strT(), strMapT(), dvReadT, longT(), strT())
	removeReadT = structT([]string{"path", "deletionTimestamp", "dataChange", "extendedFileMetadata",
		"partitionValues", "size", "tags", "deletionVector", "stats"},
		strT(), longT(), boolT(), boolT(), strMapT(), longT(), strMapT(), dvReadT, strT())
	metaDataReadT = structT([]string{"id", "name", "description", "format", "schemaString", "partitionColumns",
		"configuration", "createdTime"},
		strT(), strT(), strT(), structT([]string{"provider", "options"}, strT(), strMapT()),
		strT(), strListT(), strMapT(), longT())
	protocolReadT = structT([]string{"minReaderVersion", "minWriterVersion", "readerFeatures", "writerFeatures"},
		longT(), longT(), strListT(), strListT())
	domainMetadataReadT = structT([]string{"domain", "configuration", "removed"}, strT(), strT(), boolT())
	sidecarReadT        = structT([]string{"path", "sizeInBytes", "modificationTime"}, strT(), longT(), longT())
)

// sidecarFromRow renders a sidecar row as the sidecar action's JSON.
func sidecarFromRow(s []any) (json.RawMessage, error) {
	p, ok := getStr(s, 0)
	if !ok || p == "" {
		return nil, errors.New("sidecar without path")
	}
	return json.Marshal(SidecarFile{Path: p, SizeInBytes: derefInt64(getInt64Ptr(s, 1)), ModificationTime: derefInt64(getInt64Ptr(s, 2))})
}

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// readCheckpointParquet reads one classic checkpoint file (or one part of a
// multi-part checkpoint) written by this package, Spark/Delta or delta-rs. It
// returns the protocol, metaData, txn, add, remove and domainMetadata actions
// in file order; other columns (commitInfo, cdc, stats_parsed when stats is
// present, partitionValues_parsed, …) are ignored. An add whose stats JSON is
// absent gets stats rebuilt from stats_parsed when the checkpoint has it.
// Add.DeletionVector is set when the file holds one. The sidecar actions of
// a v2 checkpoint are returned for the caller to read the sidecars they
// name; checkpointMetadata is skipped. Every failure wraps ErrCorruptLog.
func readCheckpointParquet(r io.ReaderAt, size int64) ([]Action, error) {
	acts, err := readCheckpointActions(r, size)
	if err != nil {
		var ufe *UnsupportedFeatureError
		if errors.As(err, &ufe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: checkpoint: %w", ErrCorruptLog, err)
	}
	return acts, nil
}

const (
	ckTxn = iota
	ckAdd
	ckRemove
	ckMetaData
	ckProtocol
	ckDomainMetadata
	ckSidecar
	ckCheckpointMetadata
	ckColumns
)

var ckNames = [ckColumns]string{"txn", "add", "remove", "metaData", "protocol", "domainMetadata", "sidecar", "checkpointMetadata"}

func readCheckpointActions(r io.ReaderAt, size int64) ([]Action, error) {
	f, err := openParquet(r, size)
	if err != nil {
		return nil, err
	}
	asm := newAssembler(f)
	asm.slices = true
	var nodes [ckColumns]*pqNode
	types := [ckColumns]DataType{txnReadT, addReadT, removeReadT, metaDataReadT, protocolReadT, domainMetadataReadT}
	for i, name := range ckNames {
		col := childByName(f.Root(), name)
		if col == nil {
			continue
		}
		t := types[i]
		switch i {
		case ckSidecar:
			t = sidecarReadT
		case ckCheckpointMetadata:
			if t, err = naturalType(col); err != nil {
				return nil, fmt.Errorf("column %s: %w", name, err)
			}
		}
		if nodes[i], err = asm.compile(col, t, 0, 0, false); err != nil {
			return nil, fmt.Errorf("column %s: %w", name, err)
		}
	}
	if err := asm.load(context.Background()); err != nil {
		return nil, err
	}
	nrows := int(f.NumRows())
	out := make([]Action, 0, nrows)
	var missingStats []int // rows of adds without stats JSON
	var vals [ckColumns]any
	for row := range nrows {
		for i, n := range nodes {
			vals[i] = nil
			if n == nil {
				continue
			}
			if i == ckAdd {
				add, err := asm.decodeAdd(n)
				if re := (errRow{}); errors.As(err, &re) {
					return nil, fmt.Errorf("row %d: %w", row, re.err)
				}
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", ckNames[i], err)
				}
				if add != nil {
					vals[i] = add
				}
				continue
			}
			v, err := asm.decode(n)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", ckNames[i], err)
			}
			vals[i] = v
		}
		vals[ckCheckpointMetadata] = nil // the version is the file name's
		for i, v := range vals {
			if v == nil {
				continue
			}
			var a Action
			var err error
			if i == ckAdd {
				a.Add = v.(*Add)
				if a.Add.Stats == "" {
					missingStats = append(missingStats, row, len(out))
				}
				out = append(out, a)
				continue
			}
			s := v.([]any)
			switch i {
			case ckTxn:
				a.Txn, err = txnFromRow(s)
			case ckAdd:
				a.Add, err = addFromRow(s)
				if err == nil && a.Add.Stats == "" {
					missingStats = append(missingStats, row, len(out))
				}
			case ckRemove:
				a.Remove, err = removeFromRow(s)
			case ckMetaData:
				a.MetaData, err = metadataFromRow(s)
			case ckProtocol:
				a.Protocol, err = protocolFromRow(s)
			case ckDomainMetadata:
				a.DomainMetadata, err = domainMetadataFromRow(s)
			case ckSidecar:
				a.Sidecar, err = sidecarFromRow(s)
			}
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", row, err)
			}
			out = append(out, a)
		}
	}
	if err := asm.finish(); err != nil {
		return nil, err
	}
	if len(missingStats) > 0 {
		if err := fillParsedStats(f, nrows, out, missingStats); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func getStr(s []any, i int) (string, bool) {
	v, ok := s[i].(string)
	return v, ok
}

func getStrPtr(s []any, i int) *string {
	if v, ok := s[i].(string); ok {
		return &v
	}
	return nil
}

func getInt64Ptr(s []any, i int) *int64 {
	if v, ok := s[i].(int64); ok {
		return &v
	}
	return nil
}

func getBoolPtr(s []any, i int) *bool {
	if v, ok := s[i].(bool); ok {
		return &v
	}
	return nil
}

func getPV(s []any, i int) map[string]*string {
	m, _ := s[i].(map[string]*string)
	return m
}

// getStrMap converts a map column whose values must not be null.
func getStrMap(s []any, i int) map[string]string {
	m, ok := s[i].(map[string]*string)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func getStrList(s []any, i int) []string {
	l, ok := s[i].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		if x, ok := e.(string); ok {
			out = append(out, x)
		}
	}
	return out
}

func txnFromRow(s []any) (*Txn, error) {
	id, ok := getStr(s, 0)
	if !ok || id == "" {
		return nil, errors.New("txn without appId")
	}
	v, _ := s[1].(int64)
	return &Txn{AppID: id, Version: v, LastUpdated: getInt64Ptr(s, 2)}, nil
}

func dvFromRow(v any) (*DeletionVector, error) {
	s, ok := v.([]any)
	if !ok {
		return nil, nil
	}
	st, _ := getStr(s, 0)
	p, _ := getStr(s, 1)
	dv := &DeletionVector{StorageType: st, PathOrInlineDv: p}
	if o, ok := s[2].(int64); ok {
		o32 := int32(o)
		dv.Offset = &o32
	}
	sz, _ := s[3].(int64)
	dv.SizeInBytes = int32(sz)
	dv.Cardinality, _ = s[4].(int64)
	return dv, nil
}

func addFromRow(s []any) (*Add, error) {
	p, ok := getStr(s, 0)
	if !ok || p == "" {
		return nil, errors.New("add without path")
	}
	a := &Add{Path: p, PartitionValues: getPV(s, 1)}
	a.Size, _ = s[2].(int64)
	if a.Size < 0 {
		return nil, fmt.Errorf("add %s: negative size %d", p, a.Size)
	}
	a.ModificationTime, _ = s[3].(int64)
	a.DataChange, _ = s[4].(bool)
	a.Stats, _ = getStr(s, 5)
	a.Tags = getStrMap(s, 6)
	dv, err := dvFromRow(s[7])
	if err != nil {
		return nil, err
	}
	a.DeletionVector = dv
	a.BaseRowID = getInt64Ptr(s, 8)
	a.ClusteringProvider = getStrPtr(s, 9)
	if a.PartitionValues == nil {
		a.PartitionValues = map[string]*string{}
	}
	return a, nil
}

func removeFromRow(s []any) (*Remove, error) {
	p, ok := getStr(s, 0)
	if !ok || p == "" {
		return nil, errors.New("remove without path")
	}
	rm := &Remove{Path: p, DeletionTimestamp: getInt64Ptr(s, 1), ExtendedFileMetadata: getBoolPtr(s, 3),
		PartitionValues: getPV(s, 4), Size: getInt64Ptr(s, 5), Tags: getStrMap(s, 6)}
	rm.DataChange, _ = s[2].(bool)
	dv, err := dvFromRow(s[7])
	if err != nil {
		return nil, err
	}
	rm.DeletionVector = dv
	rm.Stats, _ = getStr(s, 8)
	return rm, nil
}

func metadataFromRow(s []any) (*Metadata, error) {
	m := &Metadata{Name: getStrPtr(s, 1), Description: getStrPtr(s, 2), PartitionColumns: getStrList(s, 5),
		Configuration: getStrMap(s, 6), CreatedTime: getInt64Ptr(s, 7)}
	m.ID, _ = getStr(s, 0)
	if f, ok := s[3].([]any); ok {
		m.Format.Provider, _ = getStr(f, 0)
		m.Format.Options = getStrMap(f, 1)
	}
	m.SchemaString, _ = getStr(s, 4)
	if m.SchemaString == "" {
		return nil, errors.New("metaData without schemaString")
	}
	if _, err := ParseSchema(m.SchemaString); err != nil {
		return nil, fmt.Errorf("metaData schemaString: %w", err)
	}
	return m, nil
}

func protocolFromRow(s []any) (*Protocol, error) {
	rv, _ := s[0].(int64)
	wv, _ := s[1].(int64)
	if rv < 1 || wv < 1 {
		return nil, fmt.Errorf("protocol with invalid versions %d/%d", rv, wv)
	}
	return &Protocol{MinReaderVersion: int(rv), MinWriterVersion: int(wv),
		ReaderFeatures: getStrList(s, 2), WriterFeatures: getStrList(s, 3)}, nil
}

func domainMetadataFromRow(s []any) (*DomainMetadata, error) {
	d := &DomainMetadata{}
	d.Domain, _ = getStr(s, 0)
	d.Configuration, _ = getStr(s, 1)
	d.Removed, _ = s[2].(bool)
	if d.Domain == "" {
		return nil, errors.New("domainMetadata without domain")
	}
	return d, nil
}

// fillParsedStats rebuilds the stats JSON of adds that lack it from the
// add.stats_parsed column, in a second pass that reads only that column.
// pairs holds (file row, index in out) pairs.
func fillParsedStats(f *parquet.File, nrows int, out []Action, pairs []int) error {
	addCol := childByName(f.Root(), "add")
	if addCol == nil {
		return nil
	}
	spCol := childByName(addCol, "stats_parsed")
	if spCol == nil {
		return nil
	}
	spType, err := naturalType(spCol)
	if err != nil {
		return fmt.Errorf("column add.stats_parsed: %w", err)
	}
	asm := newAssembler(f)
	asm.slices = true
	n, err := asm.compile(addCol, structT([]string{"stats_parsed"}, spType), 0, 0, false)
	if err != nil {
		return fmt.Errorf("column add.stats_parsed: %w", err)
	}
	if err := asm.load(context.Background()); err != nil {
		return err
	}
	want := make(map[int]int, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		want[pairs[i]] = pairs[i+1]
	}
	for row := range nrows {
		v, err := asm.decode(n)
		if err != nil {
			return fmt.Errorf("column add.stats_parsed: %w", err)
		}
		idx, ok := want[row]
		if !ok {
			continue
		}
		s, ok := v.([]any)
		if !ok || s[0] == nil {
			continue
		}
		out[idx].Add.Stats = parsedStatsJSON(s[0], spType)
	}
	return asm.finish()
}

// parsedStatsJSON renders a decoded stats_parsed struct as stats JSON,
// leaving out null values.
func parsedStatsJSON(v any, t DataType) string {
	var sb strings.Builder
	appendStatsJSON(&sb, v, t)
	return sb.String()
}

func appendStatsJSON(sb *strings.Builder, v any, t DataType) bool {
	if v == nil {
		return false
	}
	switch t.Name {
	case TypeStruct:
		s, ok := v.([]any)
		if !ok {
			return false
		}
		sb.WriteByte('{')
		n := 0
		for i, f := range t.Fields {
			if i >= len(s) || s[i] == nil {
				continue
			}
			var inner strings.Builder
			if !appendStatsJSON(&inner, s[i], f.Type) {
				continue
			}
			if n > 0 {
				sb.WriteByte(',')
			}
			appendJSONString(sb, f.Name)
			sb.WriteByte(':')
			sb.WriteString(inner.String())
			n++
		}
		sb.WriteByte('}')
		return true
	case TypeTimestamp, TypeTimestampNTZ:
		tm, ok := v.(time.Time)
		if !ok {
			return false
		}
		layout := "2006-01-02T15:04:05.000Z07:00"
		if t.Name == TypeTimestampNTZ {
			layout = "2006-01-02T15:04:05.000"
		}
		appendJSONString(sb, tm.UTC().Format(layout))
		return true
	case TypeBinary, TypeArray, TypeMap:
		return false
	case TypeFloat, TypeDouble:
		s := FormatValue(v, t)
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			return false
		}
		sb.WriteString(s)
		return true
	case TypeBoolean, TypeByte, TypeShort, TypeInteger, TypeLong, TypeDecimal:
		sb.WriteString(FormatValue(v, t))
		return true
	}
	appendJSONString(sb, FormatValue(v, t))
	return true
}
