package delta

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Table properties this package reads (metaData configuration keys).
const (
	PropCheckpointInterval        = "delta.checkpointInterval"
	PropLogRetentionDuration      = "delta.logRetentionDuration"
	PropDeletedFileRetention      = "delta.deletedFileRetentionDuration"
	PropEnableExpiredLogCleanup   = "delta.enableExpiredLogCleanup"
	PropAppendOnly                = "delta.appendOnly"
	PropEnableChangeDataFeed      = "delta.enableChangeDataFeed"
	PropColumnMappingMode         = "delta.columnMapping.mode"
	PropEnableDeletionVectors     = "delta.enableDeletionVectors"
	defaultCheckpointInterval     = 10
	defaultLogRetention           = 30 * 24 * time.Hour
	defaultDeletedFileRetention   = 7 * 24 * time.Hour
	maxSupportedReaderVersion     = 3
	maxSupportedWriterVersion     = 7
	tableFeaturesReaderVersion    = 3
	tableFeaturesWriterVersion    = 7
	columnMappingReaderVersion    = 2
	checkConstraintsWriterVersion = 3
	changeDataFeedWriterVersion   = 4
	columnMappingWriterVersion    = 5
	identityColumnsWriterVersion  = 6
	constraintPropertyPrefix      = "delta.constraints."
	generationExpressionMetaKey   = "delta.generationExpression"
	identityStartMetaKey          = "delta.identity.start"
	invariantsMetaKey             = "delta.invariants"
	timestampNtzFeature           = "timestampNtz"
	vacuumProtocolCheckFeature    = "vacuumProtocolCheck"
	appendOnlyFeature             = "appendOnly"
	invariantsFeature             = "invariants"
	checkConstraintsFeature       = "checkConstraints"
	changeDataFeedFeature         = "changeDataFeed"
	generatedColumnsFeature       = "generatedColumns"
	columnMappingFeature          = "columnMapping"
	identityColumnsFeature        = "identityColumns"
	deletionVectorsFeature        = "deletionVectors"
	variantTypeFeature            = "variantType"
	v2CheckpointFeature           = "v2Checkpoint"
	typeWideningFeature           = "typeWidening"
	typeWideningPreviewFeature    = "typeWidening-preview"
)

// readerFeaturesSupported are the reader features this package reads
// correctly. Everything else is refused by name.
var readerFeaturesSupported = []string{columnMappingFeature, timestampNtzFeature, vacuumProtocolCheckFeature, deletionVectorsFeature, v2CheckpointFeature, typeWideningFeature, typeWideningPreviewFeature}

// writerFeaturesSupported are the writer features this package honours when
// it writes. appendOnly is enforced; invariants only when none are declared.
var writerFeaturesSupported = []string{appendOnlyFeature, changeDataFeedFeature, invariantsFeature, timestampNtzFeature, vacuumProtocolCheckFeature}

// checkReadSupport refuses tables whose protocol needs reader features this
// package lacks, naming them.
func checkReadSupport(p *Protocol, m *Metadata) error {
	var missing []string
	switch {
	case p.MinReaderVersion > maxSupportedReaderVersion:
		for _, f := range p.ReaderFeatures {
			if !slices.Contains(readerFeaturesSupported, f) {
				missing = append(missing, f)
			}
		}
		if len(missing) == 0 {
			missing = append(missing, fmt.Sprintf("readerVersion %d", p.MinReaderVersion))
		}
	case p.MinReaderVersion == tableFeaturesReaderVersion:
		for _, f := range p.ReaderFeatures {
			if !slices.Contains(readerFeaturesSupported, f) {
				missing = append(missing, f)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &UnsupportedFeatureError{Features: slices.Compact(missing), Op: "read"}
	}
	return checkColumnMapping(p, m)
}

// ColumnMappingMode is the table's delta.columnMapping.mode: "none" (also
// when unset), "name" or "id".
func (m *Metadata) ColumnMappingMode() string {
	if mode := m.Configuration[PropColumnMappingMode]; mode != "" {
		return mode
	}
	return "none"
}

// checkColumnMapping checks that a table whose column mapping mode is name
// or id says so in its protocol (reader version 2, or 3 listing the
// columnMapping feature) and gives every field, nested ones included, a
// physical name, so that data files are read by their physical names.
func checkColumnMapping(p *Protocol, m *Metadata) error {
	mode := m.ColumnMappingMode()
	switch mode {
	case "none":
		return nil
	case "name", "id":
	default:
		return fmt.Errorf("%w: table property %s = %q (want none, name or id)", ErrCorruptLog, PropColumnMappingMode, mode)
	}
	if p.MinReaderVersion < columnMappingReaderVersion ||
		(p.MinReaderVersion >= tableFeaturesReaderVersion && !slices.Contains(p.ReaderFeatures, columnMappingFeature)) {
		return fmt.Errorf("%w: %s = %s but the protocol (reader version %d, features %v) lacks columnMapping", ErrCorruptLog, PropColumnMappingMode, mode, p.MinReaderVersion, p.ReaderFeatures)
	}
	schema, err := m.Schema()
	if err != nil {
		return nil // reported by the caller, which parses the schema too
	}
	var walk func(path string, t DataType) error
	walk = func(path string, t DataType) error {
		switch t.Name {
		case TypeStruct:
			for _, f := range t.Fields {
				if s, _ := f.Metadata[MetaColumnMappingPhysicalName].(string); s == "" {
					return fmt.Errorf("%w: column mapping mode %s: field %s%s has no %s", ErrCorruptLog, mode, path, f.Name, MetaColumnMappingPhysicalName)
				}
				if err := walk(path+f.Name+".", f.Type); err != nil {
					return err
				}
			}
		case TypeArray:
			return walk(path, *t.ElementType)
		case TypeMap:
			if err := walk(path, *t.KeyType); err != nil {
				return err
			}
			return walk(path, *t.ValueType)
		}
		return nil
	}
	return walk("", DataType{Name: TypeStruct, Fields: schema.Fields})
}

// checkWriteSupport refuses writes to tables whose writer protocol needs
// features this package does not implement.
func checkWriteSupport(p *Protocol, m *Metadata, schema *StructType) error {
	var missing []string
	add := func(f string) {
		if !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	w := p.MinWriterVersion
	if w >= tableFeaturesWriterVersion {
		for _, f := range p.WriterFeatures {
			if !slices.Contains(writerFeaturesSupported, f) {
				add(f)
			}
		}
	} else {
		if w > maxSupportedWriterVersion {
			add(fmt.Sprintf("writerVersion %d", w))
		}
		if w >= checkConstraintsWriterVersion {
			for k := range m.Configuration {
				if strings.HasPrefix(k, constraintPropertyPrefix) {
					add(checkConstraintsFeature)
				}
			}
		}
		if w >= changeDataFeedWriterVersion {
			// changeDataFeed is written (AddChangeData, cdf.go).
			if schemaHasMeta(schema, generationExpressionMetaKey) {
				add(generatedColumnsFeature)
			}
		}
		if w >= columnMappingWriterVersion {
			if mode := m.Configuration[PropColumnMappingMode]; mode != "" && mode != "none" {
				add(columnMappingFeature)
			}
		}
		if w >= identityColumnsWriterVersion && schemaHasMeta(schema, identityStartMetaKey) {
			add(identityColumnsFeature)
		}
	}
	if schemaHasMeta(schema, invariantsMetaKey) {
		add(invariantsFeature)
	}
	// Writing a column-mapped table needs physical names for new files,
	// partition values and stats: not implemented, so refused whatever the
	// protocol says, never a commit that drops the mapping.
	if m.ColumnMappingMode() != "none" || schemaHasMeta(schema, MetaColumnMappingPhysicalName) || slices.Contains(p.WriterFeatures, columnMappingFeature) {
		add(columnMappingFeature)
	}
	if err := checkReadSupport(p, m); err != nil {
		var ufe *UnsupportedFeatureError
		if !errors.As(err, &ufe) {
			return err
		}
		return &UnsupportedFeatureError{Features: ufe.Features, Op: "write"}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &UnsupportedFeatureError{Features: missing, Op: "write"}
	}
	return nil
}

func schemaHasMeta(s *StructType, key string) bool {
	if s == nil {
		return false
	}
	var walk func(fields []StructField) bool
	walk = func(fields []StructField) bool {
		for _, f := range fields {
			if _, ok := f.Metadata[key]; ok {
				return true
			}
			if f.Type.Name == TypeStruct && walk(f.Type.Fields) {
				return true
			}
		}
		return false
	}
	return walk(s.Fields)
}

// ParseInterval parses a Delta interval property such as "interval 7 days",
// "30 days" or "interval 1 week".
func ParseInterval(s string) (time.Duration, error) {
	f := strings.Fields(strings.ToLower(strings.TrimSpace(s)))
	if len(f) > 0 && f[0] == "interval" {
		f = f[1:]
	}
	if len(f) != 2 {
		return 0, fmt.Errorf("delta: invalid interval %q (want e.g. \"interval 7 days\")", s)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("delta: invalid interval %q: bad number", s)
	}
	units := map[string]time.Duration{
		"nanosecond": time.Nanosecond, "microsecond": time.Microsecond, "millisecond": time.Millisecond,
		"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
	}
	u, ok := units[strings.TrimSuffix(f[1], "s")]
	if !ok {
		return 0, fmt.Errorf("delta: invalid interval %q: unknown unit %q", s, f[1])
	}
	return time.Duration(n) * u, nil
}

// durationProperty reads an interval property with a default.
func durationProperty(m *Metadata, key string, def time.Duration) (time.Duration, error) {
	v, ok := m.Configuration[key]
	if !ok {
		return def, nil
	}
	d, err := ParseInterval(v)
	if err != nil {
		return 0, fmt.Errorf("delta: table property %s: %w", key, err)
	}
	return d, nil
}

func boolProperty(m *Metadata, key string, def bool) bool {
	v, ok := m.Configuration[key]
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}
