package delta

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/medallionhq/medallion/storage"
)

// TestZ85 checks the codec against the Z85 specification's test vector and
// Delta's UUID file naming.
func TestZ85(t *testing.T) {
	// ZeroMQ RFC 32: 0x86 0x4F 0xD2 0x6F 0xB5 0x59 0xF7 0x5B is "HelloWorld".
	raw := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	if got := z85EncodeBytes(raw); got != "HelloWorld" {
		t.Fatalf("encode = %q, want HelloWorld", got)
	}
	got, err := z85DecodeString("HelloWorld")
	if err != nil || !slices.Equal(got, raw) {
		t.Fatalf("decode = %x, %v", got, err)
	}
	for _, bad := range []string{"HelloWorl", "Hell~World", "%%%%%"} {
		if _, err := z85DecodeString(bad); err == nil {
			t.Errorf("decode(%q): no error", bad)
		}
	}
	// A UUID of all zeros encodes as 20 zeros; a prefix becomes a folder.
	for _, tc := range []struct{ in, want string }{
		{"00000000000000000000", "deletion_vector_00000000-0000-0000-0000-000000000000.bin"},
		{"ab00000000000000000000", "ab/deletion_vector_00000000-0000-0000-0000-000000000000.bin"},
	} {
		k, err := DVFileKey(&DeletionVector{StorageType: DVUUID, PathOrInlineDv: tc.in})
		if err != nil || k != tc.want {
			t.Errorf("DVFileKey(%q) = %q, %v; want %q", tc.in, k, err, tc.want)
		}
	}
	if _, err := DVFileKey(&DeletionVector{StorageType: DVUUID, PathOrInlineDv: "short"}); !errors.Is(err, ErrBadDeletionVector) {
		t.Errorf("short UUID: err = %v", err)
	}
}

// dvFile frames serialized vectors as a deletion vector file; it returns
// the file and each vector's offset.
func dvFile(vecs ...[]byte) ([]byte, []int32) {
	b := []byte{dvFileVersion}
	var offs []int32
	for _, v := range vecs {
		offs = append(offs, int32(len(b)))
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(v))
	}
	return b, offs
}

// TestReadDeletionVector reads inline and on-disk vectors, rows beyond 32
// bits included, and refuses damaged ones naming what is wrong.
func TestReadDeletionVector(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	small := roaring64.BitmapOf(0, 3, 4, 5, 1000)
	big := roaring64.BitmapOf(1, 1<<33, 1<<33+1)
	big.AddRange(70000, 140000)
	enc := func(bm *roaring64.Bitmap) []byte {
		b, err := EncodeDeletionVector(bm)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	file, offs := dvFile(enc(small), enc(big))
	const uuidZ85 = "00000000000000000000"
	if err := store.Write(ctx, "p/deletion_vector_00000000-0000-0000-0000-000000000000.bin", file); err != nil {
		t.Fatal(err)
	}
	onDisk := func(i int, bm *roaring64.Bitmap) *DeletionVector {
		off := offs[i]
		return &DeletionVector{StorageType: DVUUID, PathOrInlineDv: "p" + uuidZ85, Offset: &off, SizeInBytes: int32(len(enc(bm))), Cardinality: int64(bm.GetCardinality())}
	}
	inline, err := InlineDeletionVector(big)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		dv   *DeletionVector
		want *roaring64.Bitmap
	}{
		"on disk, first":  {onDisk(0, small), small},
		"on disk, second": {onDisk(1, big), big},
		"inline":          {inline, big},
		"none":            {nil, roaring64.New()},
	} {
		got, err := ReadDeletionVector(ctx, store, tc.dv)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equals(tc.want) {
			t.Errorf("%s: got %v, want %v", name, got.ToArray()[:min(10, got.GetCardinality())], tc.want.ToArray()[:min(10, tc.want.GetCardinality())])
		}
	}

	// Damage: each case must fail with ErrBadDeletionVector and a message
	// naming the problem.
	corrupt := func(mut func([]byte)) string {
		b := append([]byte{}, file...)
		mut(b)
		k := "deletion_vector_00000000-0000-0000-0000-000000000000.bin"
		if err := store.Write(ctx, k, b); err != nil {
			t.Fatal(err)
		}
		return uuidZ85
	}
	badInline := *inline
	badInline.PathOrInlineDv = "~" + badInline.PathOrInlineDv[1:]
	wrongCard := *inline
	wrongCard.Cardinality++
	for name, tc := range map[string]struct {
		dv   func() *DeletionVector
		want string
	}{
		"checksum": {func() *DeletionVector {
			p := corrupt(func(b []byte) { b[offs[0]+10] ^= 0xFF })
			d := onDisk(0, small)
			d.PathOrInlineDv = p
			return d
		}, "checksum"},
		"version byte": {func() *DeletionVector {
			p := corrupt(func(b []byte) { b[0] = 9 })
			d := onDisk(0, small)
			d.PathOrInlineDv = p
			return d
		}, "format version"},
		"size": {func() *DeletionVector {
			d := onDisk(0, small)
			d.SizeInBytes++
			return d
		}, "the log says"},
		"offset past the end": {func() *DeletionVector {
			d := onDisk(0, small)
			off := int32(len(file))
			d.Offset = &off
			return d
		}, "outside the file"},
		"bad inline character": {func() *DeletionVector { return &badInline }, "bad character"},
		"cardinality":          {func() *DeletionVector { return &wrongCard }, "cardinality"},
		"magic": {func() *DeletionVector {
			b := enc(small)
			b[0] ^= 1
			return &DeletionVector{StorageType: DVInline, PathOrInlineDv: z85EncodeBytes(b), SizeInBytes: int32(len(b)), Cardinality: 5}
		}, "magic number"},
		"huge bitmap count": {func() *DeletionVector {
			b := enc(small)
			binary.LittleEndian.PutUint64(b[4:], 1<<40)
			return &DeletionVector{StorageType: DVInline, PathOrInlineDv: z85EncodeBytes(b), SizeInBytes: int32(len(b)), Cardinality: 5}
		}, "bitmaps announced"},
		"storage type": {func() *DeletionVector { return &DeletionVector{StorageType: "x"} }, "unknown storage type"},
	} {
		_, err := ReadDeletionVector(ctx, store, tc.dv())
		if !errors.Is(err, ErrBadDeletionVector) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrBadDeletionVector mentioning %q", name, err, tc.want)
		}
	}
	if _, err := ReadDeletionVector(ctx, store, &DeletionVector{StorageType: DVUUID, PathOrInlineDv: "zz" + uuidZ85, SizeInBytes: 1}); err == nil || !strings.Contains(err.Error(), "zz/deletion_vector_") {
		t.Errorf("missing vector file: err = %v, want one naming the file", err)
	}
}
