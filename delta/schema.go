package delta

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Primitive type names of the Delta protocol (Spark SQL's JSON names).
const (
	TypeString       = "string"
	TypeLong         = "long"
	TypeInteger      = "integer"
	TypeShort        = "short"
	TypeByte         = "byte"
	TypeFloat        = "float"
	TypeDouble       = "double"
	TypeBoolean      = "boolean"
	TypeBinary       = "binary"
	TypeDate         = "date"
	TypeTimestamp    = "timestamp"
	TypeTimestampNTZ = "timestamp_ntz"
	TypeDecimal      = "decimal"
	TypeStruct       = "struct"
	TypeArray        = "array"
	TypeMap          = "map"
)

// DataType is a Delta column type. Name is one of the Type constants; the
// other fields are set for decimal (Precision, Scale), struct (Fields), array
// (ElementType, ContainsNull) and map (KeyType, ValueType, ValueContainsNull).
type DataType struct {
	Name              string
	Precision, Scale  int
	Fields            []StructField
	ElementType       *DataType
	ContainsNull      bool
	KeyType           *DataType
	ValueType         *DataType
	ValueContainsNull bool
}

// StructField is one named column or nested field.
type StructField struct {
	Name     string         `json:"name"`
	Type     DataType       `json:"type"`
	Nullable bool           `json:"nullable"`
	Metadata map[string]any `json:"metadata"`
}

// StructType is a table schema: an ordered list of fields.
type StructType struct {
	Fields []StructField
}

// Primitive returns a primitive type by name.
func Primitive(name string) DataType { return DataType{Name: name} }

// Decimal returns decimal(precision, scale).
func Decimal(precision, scale int) DataType {
	return DataType{Name: TypeDecimal, Precision: precision, Scale: scale}
}

// IsPrimitive reports whether t is not a struct, array or map.
func (t DataType) IsPrimitive() bool {
	return t.Name != TypeStruct && t.Name != TypeArray && t.Name != TypeMap
}

// String renders the type as Spark's simple string (decimal(8,5),
// struct<a:int>, …) for messages.
func (t DataType) String() string {
	switch t.Name {
	case TypeDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case TypeStruct:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = f.Name + ":" + f.Type.String()
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	case TypeArray:
		return "array<" + t.ElementType.String() + ">"
	case TypeMap:
		return "map<" + t.KeyType.String() + "," + t.ValueType.String() + ">"
	}
	return t.Name
}

var primitiveNames = map[string]bool{
	TypeString: true, TypeLong: true, TypeInteger: true, TypeShort: true, TypeByte: true,
	TypeFloat: true, TypeDouble: true, TypeBoolean: true, TypeBinary: true, TypeDate: true,
	TypeTimestamp: true, TypeTimestampNTZ: true,
}

// MarshalJSON renders the type as the protocol's schema JSON.
func (t DataType) MarshalJSON() ([]byte, error) {
	switch t.Name {
	case TypeDecimal:
		return json.Marshal(fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale))
	case TypeStruct:
		fields := t.Fields
		if fields == nil {
			fields = []StructField{}
		}
		return json.Marshal(struct {
			Type   string        `json:"type"`
			Fields []StructField `json:"fields"`
		}{TypeStruct, fields})
	case TypeArray:
		return json.Marshal(struct {
			Type         string    `json:"type"`
			ElementType  *DataType `json:"elementType"`
			ContainsNull bool      `json:"containsNull"`
		}{TypeArray, t.ElementType, t.ContainsNull})
	case TypeMap:
		return json.Marshal(struct {
			Type              string    `json:"type"`
			KeyType           *DataType `json:"keyType"`
			ValueType         *DataType `json:"valueType"`
			ValueContainsNull bool      `json:"valueContainsNull"`
		}{TypeMap, t.KeyType, t.ValueType, t.ValueContainsNull})
	}
	if !primitiveNames[t.Name] {
		return nil, fmt.Errorf("delta: unknown type %q", t.Name)
	}
	return json.Marshal(t.Name)
}

// UnmarshalJSON parses the protocol's schema JSON for a type.
func (t *DataType) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return t.parsePrimitive(s)
	}
	var obj struct {
		Type              string        `json:"type"`
		Fields            []StructField `json:"fields"`
		ElementType       *DataType     `json:"elementType"`
		ContainsNull      bool          `json:"containsNull"`
		KeyType           *DataType     `json:"keyType"`
		ValueType         *DataType     `json:"valueType"`
		ValueContainsNull bool          `json:"valueContainsNull"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	*t = DataType{Name: obj.Type}
	switch obj.Type {
	case TypeStruct:
		t.Fields = obj.Fields
	case TypeArray:
		if obj.ElementType == nil {
			return fmt.Errorf("array type without elementType")
		}
		t.ElementType, t.ContainsNull = obj.ElementType, obj.ContainsNull
	case TypeMap:
		if obj.KeyType == nil || obj.ValueType == nil {
			return fmt.Errorf("map type without keyType or valueType")
		}
		t.KeyType, t.ValueType, t.ValueContainsNull = obj.KeyType, obj.ValueType, obj.ValueContainsNull
	default:
		return fmt.Errorf("unknown complex type %q", obj.Type)
	}
	return nil
}

func (t *DataType) parsePrimitive(s string) error {
	if primitiveNames[s] {
		*t = DataType{Name: s}
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "decimal("); ok && strings.HasSuffix(rest, ")") {
		p, sc, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ",")
		if ok {
			prec, err1 := strconv.Atoi(strings.TrimSpace(p))
			scale, err2 := strconv.Atoi(strings.TrimSpace(sc))
			if err1 == nil && err2 == nil && prec >= 1 && prec <= 38 && scale >= 0 && scale <= prec {
				*t = Decimal(prec, scale)
				return nil
			}
		}
		return fmt.Errorf("invalid decimal type %q", s)
	}
	if s == "decimal" {
		*t = Decimal(10, 0)
		return nil
	}
	if s == "variant" {
		// A valid Delta type this package cannot read: refused by the
		// feature's name, not as a corrupt log.
		return &UnsupportedFeatureError{Features: []string{variantTypeFeature}, Op: "read"}
	}
	return fmt.Errorf("unknown type %q", s)
}

// MarshalJSON renders the schema as a schemaString.
func (s *StructType) MarshalJSON() ([]byte, error) {
	return DataType{Name: TypeStruct, Fields: s.Fields}.MarshalJSON()
}

// UnmarshalJSON parses a schemaString.
func (s *StructType) UnmarshalJSON(b []byte) error {
	var t DataType
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	if t.Name != TypeStruct {
		return fmt.Errorf("schema is a %s, not a struct", t.Name)
	}
	s.Fields = t.Fields
	return nil
}

// ParseSchema parses a metaData schemaString.
func ParseSchema(schemaString string) (*StructType, error) {
	var s StructType
	if err := json.Unmarshal([]byte(schemaString), &s); err != nil {
		return nil, fmt.Errorf("delta: parse schema: %w", err)
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if f.Name == "" {
			return nil, fmt.Errorf("delta: parse schema: field without a name")
		}
		k := strings.ToLower(f.Name)
		if seen[k] {
			return nil, fmt.Errorf("delta: parse schema: duplicate column %q", f.Name)
		}
		seen[k] = true
	}
	return &s, nil
}

// String renders the schema as its schemaString.
func (s *StructType) String() string {
	b, err := json.Marshal(s)
	if err != nil {
		return "<invalid schema: " + err.Error() + ">"
	}
	return string(b)
}

// Field returns the field named name (case-insensitively, as Spark resolves
// columns) and whether it exists.
func (s *StructType) Field(name string) (StructField, bool) {
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return StructField{}, false
}

// MarshalJSON gives fields an empty metadata object rather than null, as
// Spark writes them.
func (f StructField) MarshalJSON() ([]byte, error) {
	type plain StructField
	if f.Metadata == nil {
		f.Metadata = map[string]any{}
	}
	return json.Marshal(plain(f))
}

// Field metadata keys of column mapping (reader feature columnMapping).
const (
	// MetaColumnMappingID is the field's column id (delta.columnMapping.id).
	MetaColumnMappingID = "delta.columnMapping.id"
	// MetaColumnMappingPhysicalName is the field's name in the data files
	// (delta.columnMapping.physicalName).
	MetaColumnMappingPhysicalName = "delta.columnMapping.physicalName"
)

// PhysicalName is the name of the field in the data files, in
// partitionValues and in stats: its delta.columnMapping.physicalName when
// the table maps columns, else its name.
func (f StructField) PhysicalName() string {
	if s, ok := f.Metadata[MetaColumnMappingPhysicalName].(string); ok && s != "" {
		return s
	}
	return f.Name
}

// ColumnID is the field's delta.columnMapping.id (the Parquet field_id in
// mode id) and whether it has one.
func (f StructField) ColumnID() (int64, bool) {
	switch v := f.Metadata[MetaColumnMappingID].(type) {
	case float64:
		return int64(v), v == float64(int64(v))
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// PhysicalSchema returns the schema with every field, nested ones included,
// renamed to its PhysicalName: the schema of the data files of a table with
// column mapping. Without column mapping it equals s.
func (s *StructType) PhysicalSchema() *StructType {
	return &StructType{Fields: physicalFields(s.Fields)}
}

func physicalFields(fields []StructField) []StructField {
	out := make([]StructField, len(fields))
	for i, f := range fields {
		f.Name = f.PhysicalName()
		f.Type = physicalType(f.Type)
		out[i] = f
	}
	return out
}

func physicalType(t DataType) DataType {
	switch t.Name {
	case TypeStruct:
		t.Fields = physicalFields(t.Fields)
	case TypeArray:
		e := physicalType(*t.ElementType)
		t.ElementType = &e
	case TypeMap:
		k, v := physicalType(*t.KeyType), physicalType(*t.ValueType)
		t.KeyType, t.ValueType = &k, &v
	}
	return t
}

// PhysicalColumn returns the physical name of the top-level column named
// name (case-insensitively), or name itself when the schema has no such
// column.
func (s *StructType) PhysicalColumn(name string) string {
	if f, ok := s.Field(name); ok {
		return f.PhysicalName()
	}
	return name
}
