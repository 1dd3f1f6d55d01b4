package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path"
	"strings"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/medallionhq/medallion/storage"
)

// Deletion vectors (reader and writer feature deletionVectors): an add may
// carry a vector naming the rows of its data file that are deleted, by their
// 0-based position in the file. The vector is a 64-bit RoaringBitmap in its
// portable serialization behind Delta's magic number, stored inline in the
// log (storageType "i", Z85-encoded) or in a file of the table
// (storageType "u": deletion_vector_<uuid>.bin, or "p": an absolute path),
// framed by a size and a CRC-32 checksum.

// Storage types of a deletion vector.
const (
	DVInline   = "i"
	DVUUID     = "u"
	DVAbsolute = "p"
)

// dvMagic is the little-endian magic number before a portable
// RoaringBitmapArray (64-bit portable format).
const dvMagic = 1681511377

// dvFileVersion is the format version byte that starts a deletion vector
// file.
const dvFileVersion = 1

// ErrBadDeletionVector marks a deletion vector that cannot be decoded: a
// wrong checksum, size, magic number or encoding.
var ErrBadDeletionVector = errors.New("delta: bad deletion vector")

// z85Alphabet is the Z85 alphabet Delta encodes vectors and UUIDs with.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

var z85Decode = func() [256]int {
	var t [256]int
	for i := range t {
		t[i] = -1
	}
	for i := range len(z85Alphabet) {
		t[z85Alphabet[i]] = i
	}
	return t
}()

// z85DecodeString decodes Z85 text (a multiple of 5 characters) into 4
// bytes per 5 characters.
func z85DecodeString(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("z85 text of %d characters, not a multiple of 5", len(s))
	}
	out := make([]byte, 0, len(s)/5*4)
	for i := 0; i < len(s); i += 5 {
		var v uint64
		for j := range 5 {
			d := z85Decode[s[i+j]]
			if d < 0 {
				return nil, fmt.Errorf("z85: bad character %q at %d", s[i+j], i+j)
			}
			v = v*85 + uint64(d)
		}
		if v > 0xFFFFFFFF {
			return nil, fmt.Errorf("z85: block at %d overflows 32 bits", i)
		}
		out = binary.BigEndian.AppendUint32(out, uint32(v))
	}
	return out, nil
}

// z85EncodeBytes encodes b, zero-padded to a multiple of 4 bytes.
func z85EncodeBytes(b []byte) string {
	for len(b)%4 != 0 {
		b = append(b[:len(b):len(b)], 0)
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		v := uint64(binary.BigEndian.Uint32(b[i:]))
		var blk [5]byte
		for j := 4; j >= 0; j-- {
			blk[j] = z85Alphabet[v%85]
			v /= 85
		}
		sb.Write(blk[:])
	}
	return sb.String()
}

// DVFileKey returns the storage key, relative to the table root, of the
// file that holds an on-disk deletion vector (storage type "u"): the random
// prefix (if any) as a folder and deletion_vector_<uuid>.bin.
func DVFileKey(dv *DeletionVector) (string, error) {
	if dv.StorageType != DVUUID {
		return "", fmt.Errorf("%w: storage type %q has no file in the table", ErrBadDeletionVector, dv.StorageType)
	}
	p := dv.PathOrInlineDv
	if len(p) < 20 {
		return "", fmt.Errorf("%w: pathOrInlineDv %q is shorter than an encoded UUID", ErrBadDeletionVector, p)
	}
	prefix, enc := p[:len(p)-20], p[len(p)-20:]
	u, err := z85DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("%w: pathOrInlineDv %q: %w", ErrBadDeletionVector, p, err)
	}
	name := fmt.Sprintf("deletion_vector_%x-%x-%x-%x-%x.bin", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	if prefix == "" {
		return name, nil
	}
	return path.Join(prefix, name), nil
}

// ReadDeletionVector reads and decodes the deletion vector of a data file:
// the positions of its deleted rows. store is the table's storage. A nil
// vector is an empty bitmap.
func ReadDeletionVector(ctx context.Context, store *storage.Store, dv *DeletionVector) (*roaring64.Bitmap, error) {
	if dv == nil {
		return roaring64.New(), nil
	}
	var data []byte
	where := ""
	switch dv.StorageType {
	case DVInline:
		b, err := z85DecodeString(dv.PathOrInlineDv)
		if err != nil {
			return nil, fmt.Errorf("%w: inline vector: %w", ErrBadDeletionVector, err)
		}
		if dv.SizeInBytes < 0 || int(dv.SizeInBytes) > len(b) {
			return nil, fmt.Errorf("%w: inline vector of %d bytes says sizeInBytes %d", ErrBadDeletionVector, len(b), dv.SizeInBytes)
		}
		data, where = b[:dv.SizeInBytes], "inline vector"
	case DVUUID, DVAbsolute:
		key := ""
		if dv.StorageType == DVUUID {
			k, err := DVFileKey(dv)
			if err != nil {
				return nil, err
			}
			key = k
		} else {
			return nil, &UnsupportedFeatureError{Features: []string{"deletionVectors (absolute path " + dv.PathOrInlineDv + ")"}, Op: "read"}
		}
		b, err := store.ReadAll(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("delta: deletion vector %s: %w", key, err)
		}
		d, err := dvFromFile(b, dv)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadDeletionVector, key, err)
		}
		data, where = d, key
	default:
		return nil, fmt.Errorf("%w: unknown storage type %q", ErrBadDeletionVector, dv.StorageType)
	}
	bm, err := decodeDV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadDeletionVector, where, err)
	}
	if int64(bm.GetCardinality()) != dv.Cardinality {
		return nil, fmt.Errorf("%w: %s holds %d rows, the log says cardinality %d", ErrBadDeletionVector, where, bm.GetCardinality(), dv.Cardinality)
	}
	return bm, nil
}

// dvFromFile cuts one vector out of a deletion vector file: at the offset a
// big-endian size, the serialized vector and its big-endian CRC-32.
func dvFromFile(b []byte, dv *DeletionVector) ([]byte, error) {
	if len(b) == 0 || b[0] != dvFileVersion {
		return nil, fmt.Errorf("not a deletion vector file of format version %d", dvFileVersion)
	}
	off := int64(1)
	if dv.Offset != nil {
		off = int64(*dv.Offset)
	}
	if off < 1 || off+4 > int64(len(b)) {
		return nil, fmt.Errorf("offset %d outside the file of %d bytes", off, len(b))
	}
	size := int64(binary.BigEndian.Uint32(b[off:]))
	if size != int64(dv.SizeInBytes) {
		return nil, fmt.Errorf("vector at offset %d has %d bytes, the log says %d", off, size, dv.SizeInBytes)
	}
	start := off + 4
	if start+size+4 > int64(len(b)) {
		return nil, fmt.Errorf("vector at offset %d of %d bytes runs past the end of the file (%d bytes)", off, size, len(b))
	}
	data := b[start : start+size]
	if got, want := crc32.ChecksumIEEE(data), binary.BigEndian.Uint32(b[start+size:]); got != want {
		return nil, fmt.Errorf("checksum mismatch at offset %d: computed %08x, stored %08x", off, got, want)
	}
	return data, nil
}

// decodeDV decodes the magic number and the portable 64-bit bitmap.
func decodeDV(data []byte) (*roaring64.Bitmap, error) {
	if len(data) < 12 {
		return nil, fmt.Errorf("%d bytes are too few for a vector", len(data))
	}
	if m := binary.LittleEndian.Uint32(data); m != dvMagic {
		return nil, fmt.Errorf("magic number %d, want %d (portable RoaringBitmapArray)", m, dvMagic)
	}
	body := data[4:]
	// Each of the n 32-bit bitmaps takes a 4-byte key and at least 8 bytes:
	// refuse a count the data cannot hold before allocating for it.
	if n := binary.LittleEndian.Uint64(body); n > uint64(len(body)-8)/12 {
		return nil, fmt.Errorf("%d bitmaps announced in %d bytes", n, len(body))
	}
	bm := roaring64.New()
	if _, err := bm.ReadFrom(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("roaring bitmap: %w", err)
	}
	return bm, nil
}

// EncodeDeletionVector serializes row positions as a deletion vector's
// bytes (magic number and portable bitmap), as stored inline or in a file.
func EncodeDeletionVector(bm *roaring64.Bitmap) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(binary.LittleEndian.AppendUint32(nil, dvMagic))
	if _, err := bm.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("delta: encode deletion vector: %w", err)
	}
	return buf.Bytes(), nil
}

// InlineDeletionVector returns an inline deletion vector (storage type "i")
// holding bm.
func InlineDeletionVector(bm *roaring64.Bitmap) (*DeletionVector, error) {
	b, err := EncodeDeletionVector(bm)
	if err != nil {
		return nil, err
	}
	return &DeletionVector{StorageType: DVInline, PathOrInlineDv: z85EncodeBytes(b), SizeInBytes: int32(len(b)), Cardinality: int64(bm.GetCardinality())}, nil
}

// UniqueID identifies a deletion vector within the table, as Delta's
// protocol defines it: storage type, path or inline data, and offset.
func (dv *DeletionVector) UniqueID() string {
	if dv == nil {
		return ""
	}
	id := dv.StorageType + dv.PathOrInlineDv
	if dv.Offset != nil {
		id += fmt.Sprintf("@%d", *dv.Offset)
	}
	return id
}

// LiveRows is the number of rows of the data file that are in the table:
// numRecords of its stats less the rows its deletion vector deletes. ok is
// false when the stats do not count the rows.
func (a *Add) LiveRows() (n int64, ok bool) {
	st, err := ParseStats(a.Stats)
	if err != nil || st == nil || st.NumRecords < 0 {
		return 0, false
	}
	n = st.NumRecords
	if a.DeletionVector != nil {
		n -= a.DeletionVector.Cardinality
	}
	return n, true
}
