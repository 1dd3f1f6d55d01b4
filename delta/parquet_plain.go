package delta

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// writerSchema is the schema of a Parquet file read back, for writing its
// rows again: the same columns in the same order, without the encodings
// the file's column chunks list. parquet-go takes a chunk's encodings as
// the column's (e.g. RLE for an INT32 column parquet-mr wrote), which it
// cannot write; the writer's defaults are used instead.
func writerSchema(s *parquet.Schema) *parquet.Schema {
	return parquet.NewSchema(s.Name(), defaultEncodings{s})
}

// defaultEncodings is a node, and its fields, without an encoding.
type defaultEncodings struct{ parquet.Node }

func (n defaultEncodings) Encoding() encoding.Encoding { return nil }

func (n defaultEncodings) Fields() []parquet.Field {
	fs := n.Node.Fields()
	out := make([]parquet.Field, len(fs))
	for i, f := range fs {
		out[i] = defaultEncodingsField{defaultEncodings{f}, f}
	}
	return out
}

// defaultEncodingsField is a field of a defaultEncodings node.
type defaultEncodingsField struct {
	defaultEncodings
	field parquet.Field
}

func (f defaultEncodingsField) Name() string { return f.field.Name() }

func (f defaultEncodingsField) Value(base reflect.Value) reflect.Value { return f.field.Value(base) }
