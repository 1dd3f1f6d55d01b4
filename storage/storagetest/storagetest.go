// Package storagetest checks that storage drivers keep the contracts of
// storage.Driver. Every driver runs RunConformance; drivers of shared
// backends (the local directory, ADLS Gen2, S3, GCS) also run
// RunCrossProcessCreate, which races CreateIfAbsent between real OS
// processes.
//
// A driver's test file typically reads:
//
//	func TestMain(m *testing.M) {
//		storagetest.MaybeRunChild() // must come first: see RunCrossProcessCreate
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		storagetest.RunConformance(t, func(t *testing.T) *storage.Store {
//			s, err := storage.NewLocal(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
//	func TestCrossProcessCreate(t *testing.T) {
//		storagetest.RunCrossProcessCreate(t, t.TempDir(), 8)
//	}
package storagetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/storage"
)

// RunConformance runs the driver conformance tests as subtests of t.
//
// newStore is called once per subtest and must return an empty store that
// no other subtest uses (for a shared backend, typically a Sub store under a
// fresh random prefix). It receives the subtest's t, so it can register
// cleanup, including closing the store; RunConformance closes nothing.
//
// Beyond what storage.Driver documents, the suite requires that an
// operation given an already cancelled context fails with an error
// satisfying errors.Is(err, context.Canceled) and has no effect.
func RunConformance(t *testing.T, newStore func(t *testing.T) *storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"RangeRead", testRangeRead},
		{"ReadMissing", testReadMissing},
		{"Stat", testStat},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"CreateIfAbsent", testCreateIfAbsent},
		{"CreateIfAbsentRace", testCreateIfAbsentRace},
		{"FailedWriteLeavesNoTrace", testFailedWrite},
		{"ConcurrentWriteRead", testConcurrentWriteRead},
		{"ContextCanceled", testContextCanceled},
		{"Sub", testSub},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// mustWrite writes data under key or stops the test.
func mustWrite(t *testing.T, s *storage.Store, key string, data []byte) {
	t.Helper()
	if err := s.Write(t.Context(), key, data); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
}

// wantContent checks that key holds exactly want.
func wantContent(t *testing.T, s *storage.Store, key string, want []byte) {
	t.Helper()
	got, err := s.ReadAll(t.Context(), key)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadAll(%q) = %s, want %s", key, describe(got), describe(want))
	}
}

// wantErr checks that err satisfies errors.Is(err, target) and reads well.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want one satisfying errors.Is(err, %v)", what, err, target)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "storage: ") || strings.Contains(msg, "storage: storage:") {
		t.Errorf("%s: error message %q should start with a single %q", what, msg, "storage: ")
	}
}

// describe summarizes content for failure messages.
func describe(b []byte) string {
	if len(b) <= 64 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%d bytes starting %q", len(b), b[:32])
}

func testRoundTrip(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	binary := make([]byte, 3*256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name, key string
		data      []byte
	}{
		{"empty", "empty.bin", []byte{}},
		{"text", "dir/hello.txt", []byte("hello, lake\n")},
		{"binary", "bin/all-bytes.bin", binary},
		{"5MB", "big/object.bin", randomBytes(5<<20, 1)},
		{"spaces", "date=2024-01-01/part-00000 copy.snappy.parquet", []byte("space")},
		{"percent", "city=S%C3%A3o%20Paulo/x.parquet", []byte("escaped partition value")},
		{"unicode", "ünï/ключ-鍵.json", []byte("unicode")},
		{"plus", "a+b/c=d+e.json", []byte("plus")},
		{"deep", "a/b/c/d/e/f/g.json", []byte("deep")},
		{"dots", "v1..2/file..json", []byte("dots inside names")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustWrite(t, s, tc.key, tc.data)
			wantContent(t, s, tc.key, tc.data)
			oi, err := s.Stat(ctx, tc.key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if oi.Key != tc.key || oi.Size != int64(len(tc.data)) {
				t.Errorf("Stat = {Key:%q Size:%d}, want {Key:%q Size:%d}", oi.Key, oi.Size, tc.key, len(tc.data))
			}
			objs, err := s.List(ctx, tc.key)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(objs) != 1 || objs[0].Key != tc.key || objs[0].Size != int64(len(tc.data)) {
				t.Errorf("List(%q) = %v, want the one object", tc.key, objs)
			}
		})
	}
	t.Run("WriteFrom", func(t *testing.T) {
		data := randomBytes(100_000, 2)
		// A reader without WriterTo or Len, as a network body would be.
		r := struct{ io.Reader }{bytes.NewReader(data)}
		if err := s.WriteFrom(ctx, "from/reader.bin", r); err != nil {
			t.Fatalf("WriteFrom: %v", err)
		}
		wantContent(t, s, "from/reader.bin", data)
	})
}

func testOverwrite(t *testing.T, s *storage.Store) {
	const key = "_delta_log/_last_checkpoint"
	long := bytes.Repeat([]byte("long content "), 1000)
	short := []byte("short")
	mustWrite(t, s, key, long)
	mustWrite(t, s, key, short)
	wantContent(t, s, key, short)
	oi, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if oi.Size != int64(len(short)) {
		t.Errorf("Stat size after overwrite = %d, want %d", oi.Size, len(short))
	}
	mustWrite(t, s, key, nil)
	wantContent(t, s, key, []byte{})
	objs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != key {
		t.Errorf("List after overwrites = %v, want only %q", objs, key)
	}
}

func testRangeRead(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") // 62 bytes
	size := int64(len(data))
	mustWrite(t, s, "r/obj", data)
	mustWrite(t, s, "r/empty", nil)
	tests := []struct {
		name           string
		key            string
		offset, length int64
		want           string
	}{
		{"start", "r/obj", 0, 10, "0123456789"},
		{"middle", "r/obj", 10, 26, "abcdefghijklmnopqrstuvwxyz"},
		{"to end", "r/obj", 36, -1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		{"whole", "r/obj", 0, -1, string(data)},
		{"exact end", "r/obj", 52, 10, "QRSTUVWXYZ"},
		{"zero length", "r/obj", 5, 0, ""},
		{"length past end", "r/obj", 58, 100, "WXYZ"},
		{"offset at end", "r/obj", size, -1, ""},
		{"offset at end with length", "r/obj", size, 5, ""},
		{"offset past end", "r/obj", size + 100, 10, ""},
		{"offset past end to end", "r/obj", size + 100, -1, ""},
		{"empty object", "r/empty", 0, -1, ""},
		{"empty object with length", "r/empty", 0, 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReadRange(ctx, tc.key, tc.offset, tc.length)
			if err != nil {
				t.Fatalf("ReadRange(%q, %d, %d): %v", tc.key, tc.offset, tc.length, err)
			}
			if string(got) != tc.want {
				t.Errorf("ReadRange(%q, %d, %d) = %q, want %q", tc.key, tc.offset, tc.length, got, tc.want)
			}
			rc, err := s.NewRangeReader(ctx, tc.key, tc.offset, tc.length)
			if err != nil {
				t.Fatalf("NewRangeReader: %v", err)
			}
			got, err = io.ReadAll(rc)
			if cerr := rc.Close(); err == nil {
				err = cerr
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("NewRangeReader content = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("negative offset", func(t *testing.T) {
		if _, err := s.ReadRange(ctx, "r/obj", -1, 5); err == nil {
			t.Error("ReadRange with offset -1 succeeded, want an error")
		}
	})
	t.Run("large object", func(t *testing.T) {
		big := randomBytes(1<<20+3, 3)
		mustWrite(t, s, "r/big", big)
		got, err := s.ReadRange(ctx, "r/big", 700_001, 300_000)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, big[700_001:1_000_001]) {
			t.Errorf("range of a large object: got %s", describe(got))
		}
	})
}

func testReadMissing(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	mustWrite(t, s, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "no/such/dir/file", "dir", "dir/present/below"} {
		t.Run(key, func(t *testing.T) {
			_, err := s.ReadAll(ctx, key)
			wantErr(t, "ReadAll", err, storage.ErrNotFound)
			_, err = s.ReadRange(ctx, key, 1, 2)
			wantErr(t, "ReadRange", err, storage.ErrNotFound)
			rc, err := s.NewRangeReader(ctx, key, 0, -1)
			if err == nil {
				rc.Close()
			}
			wantErr(t, "NewRangeReader", err, storage.ErrNotFound)
			_, err = s.Stat(ctx, key)
			wantErr(t, "Stat", err, storage.ErrNotFound)
		})
	}
}

func testStat(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	before := time.Now()
	mustWrite(t, s, "stat/a.json", []byte("12345"))
	if err := s.CreateIfAbsent(ctx, "stat/b.json", []byte("1234567")); err != nil {
		t.Fatal(err)
	}
	for key, size := range map[string]int64{"stat/a.json": 5, "stat/b.json": 7} {
		oi, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if oi.Key != key || oi.Size != size {
			t.Errorf("Stat(%q) = {Key:%q Size:%d}, want size %d", key, oi.Key, oi.Size, size)
		}
		// A sanity check, not a timing assertion: the window is wide enough
		// for any clock skew between the test and a remote backend.
		if oi.ModTime.IsZero() || oi.ModTime.Before(before.Add(-24*time.Hour)) || oi.ModTime.After(time.Now().Add(24*time.Hour)) {
			t.Errorf("Stat(%q).ModTime = %v, want about %v", key, oi.ModTime, before)
		}
	}
}

func testDelete(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	mustWrite(t, s, "del/a", []byte("a"))
	mustWrite(t, s, "del/sub/b", []byte("b"))
	mustWrite(t, s, "keep", []byte("k"))
	if err := s.Delete(ctx, "del/sub/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.ReadAll(ctx, "del/sub/b")
	wantErr(t, "ReadAll after Delete", err, storage.ErrNotFound)
	_, err = s.Stat(ctx, "del/sub/b")
	wantErr(t, "Stat after Delete", err, storage.ErrNotFound)
	wantErr(t, "second Delete", s.Delete(ctx, "del/sub/b"), storage.ErrNotFound)
	wantErr(t, "Delete missing", s.Delete(ctx, "never/was"), storage.ErrNotFound)
	wantErr(t, "Delete of a directory-like prefix", s.Delete(ctx, "del"), storage.ErrNotFound)
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(objs); !slices.Equal(got, []string{"del/a", "keep"}) {
		t.Errorf("List after deletes = %q, want [del/a keep]", got)
	}
	// A deleted key can be written and created again.
	mustWrite(t, s, "del/sub/b", []byte("b2"))
	wantContent(t, s, "del/sub/b", []byte("b2"))
	if err := s.Delete(ctx, "del/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIfAbsent(ctx, "del/a", []byte("a2")); err != nil {
		t.Fatalf("CreateIfAbsent after Delete: %v", err)
	}
	wantContent(t, s, "del/a", []byte("a2"))
}

// keys returns the keys of objs in order.
func keys(objs []storage.ObjectInfo) []string {
	ks := make([]string, len(objs))
	for i, o := range objs {
		ks[i] = o.Key
	}
	return ks
}

func testList(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	all := []string{
		"_delta_log/00000000000000000000.json",
		"_delta_log/00000000000000000001.json",
		"_delta_log/00000000000000000009.json",
		"_delta_log/00000000000000000010.checkpoint.parquet",
		"_delta_log/00000000000000000010.json",
		"_delta_log/_last_checkpoint",
		"a.json",
		"part=1/f1.parquet",
		"part=1/sub/deeper/f2.parquet",
		"part=10/f3.parquet",
		"partx.json",
	}
	sizes := map[string]int64{}
	// Write in reverse order so that sorted output is not an accident of
	// insertion order.
	for i := len(all) - 1; i >= 0; i-- {
		data := bytes.Repeat([]byte{'x'}, i*7+1)
		mustWrite(t, s, all[i], data)
		sizes[all[i]] = int64(len(data))
	}
	tests := []struct{ name, prefix string }{
		{"everything", ""},
		{"directory", "_delta_log/"},
		{"partial name", "_delta_log/000000000000000000"},
		{"partial name one digit more", "_delta_log/0000000000000000001"},
		{"exact key", "a.json"},
		{"partial top-level name", "part"},
		{"partial across directories", "part=1"},
		{"directory with nested keys", "part=1/"},
		{"partial name of a subdirectory", "part=1/s"},
		{"nested directory", "part=1/sub/deeper/"},
		{"no match", "nomatch"},
		{"missing directory", "nodir/"},
		{"file as directory", "a.json/"},
		{"underscore", "_"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, k := range all {
				if strings.HasPrefix(k, tc.prefix) {
					want = append(want, k)
				}
			}
			objs, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			if got := keys(objs); !slices.Equal(got, want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, got, want)
			}
			// ListFrom with every start key (and one between keys) returns
			// the tail of the same listing.
			for _, start := range append(slices.Clone(all), "", "_delta_log/00000000000000000005", "part=1/sub/", "zzz") {
				var wantFrom []string
				for _, k := range want {
					if k >= start {
						wantFrom = append(wantFrom, k)
					}
				}
				from, err := s.ListFrom(ctx, tc.prefix, start)
				if err != nil {
					t.Fatalf("ListFrom(%q, %q): %v", tc.prefix, start, err)
				}
				if got := keys(from); !slices.Equal(got, wantFrom) {
					t.Fatalf("ListFrom(%q, %q) = %q, want %q", tc.prefix, start, got, wantFrom)
				}
			}
			for _, o := range objs {
				if o.Size != sizes[o.Key] {
					t.Errorf("List(%q): %q has size %d, want %d", tc.prefix, o.Key, o.Size, sizes[o.Key])
				}
				if o.ModTime.IsZero() {
					t.Errorf("List(%q): %q has a zero ModTime", tc.prefix, o.Key)
				}
			}
		})
	}
	t.Run("invalid prefix", func(t *testing.T) {
		for _, prefix := range []string{"/", "/a", "a/../", "../x"} {
			_, err := s.List(ctx, prefix)
			wantErr(t, fmt.Sprintf("List(%q)", prefix), err, storage.ErrInvalidKey)
		}
	})
}

// invalidKeys are keys every store must reject.
var invalidKeys = []string{"", "/a", "a/../b", "a//b", "./a", "a/", ".", "..", "a/.", "../a", `a\b`, "a\x00b"}

func testInvalidKeys(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	for _, key := range invalidKeys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			wantErr(t, "Write", s.Write(ctx, key, []byte("x")), storage.ErrInvalidKey)
			wantErr(t, "WriteFrom", s.WriteFrom(ctx, key, strings.NewReader("x")), storage.ErrInvalidKey)
			wantErr(t, "CreateIfAbsent", s.CreateIfAbsent(ctx, key, []byte("x")), storage.ErrInvalidKey)
			_, err := s.ReadAll(ctx, key)
			wantErr(t, "ReadAll", err, storage.ErrInvalidKey)
			rc, err := s.NewRangeReader(ctx, key, 0, -1)
			if err == nil {
				rc.Close()
			}
			wantErr(t, "NewRangeReader", err, storage.ErrInvalidKey)
			_, err = s.Stat(ctx, key)
			wantErr(t, "Stat", err, storage.ErrInvalidKey)
			wantErr(t, "Delete", s.Delete(ctx, key), storage.ErrInvalidKey)
			_, err = s.Sub(key)
			wantErr(t, "Sub", err, storage.ErrInvalidKey)
		})
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Errorf("invalid keys left objects behind: %q", keys(objs))
	}
}

func testCreateIfAbsent(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	const key = "_delta_log/00000000000000000000.json"
	first := []byte(`{"commitInfo":{"n":1}}`)
	if err := s.CreateIfAbsent(ctx, key, first); err != nil {
		t.Fatalf("first CreateIfAbsent: %v", err)
	}
	wantContent(t, s, key, first)
	wantErr(t, "second CreateIfAbsent", s.CreateIfAbsent(ctx, key, []byte("second")), storage.ErrExists)
	wantContent(t, s, key, first)

	mustWrite(t, s, "written", []byte("w"))
	wantErr(t, "CreateIfAbsent over Write", s.CreateIfAbsent(ctx, "written", []byte("c")), storage.ErrExists)
	wantContent(t, s, "written", []byte("w"))

	if err := s.CreateIfAbsent(ctx, "empty", nil); err != nil {
		t.Fatalf("CreateIfAbsent of empty content: %v", err)
	}
	wantContent(t, s, "empty", []byte{})
	wantErr(t, "CreateIfAbsent over empty object", s.CreateIfAbsent(ctx, "empty", nil), storage.ErrExists)
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(objs), []string{key, "empty", "written"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q (no temporary objects)", got, want)
	}
}

func testCreateIfAbsentRace(t *testing.T, s *storage.Store) {
	const goroutines, rounds = 16, 5
	ctx := t.Context()
	for round := range rounds {
		key := fmt.Sprintf("_delta_log/%020d.json", round)
		start := make(chan struct{})
		errs := make([]error, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				<-start
				errs[g] = s.CreateIfAbsent(ctx, key, []byte(fmt.Sprintf("writer %d", g)))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("%s: writers %d and %d both succeeded", key, winner, g)
			case err == nil:
				winner = g
			case !errors.Is(err, storage.ErrExists):
				t.Errorf("%s: writer %d: %v, want success or ErrExists", key, g, err)
			}
		}
		if winner < 0 {
			t.Fatalf("%s: no writer succeeded", key)
		}
		wantContent(t, s, key, []byte(fmt.Sprintf("writer %d", winner)))
	}
}

// failingReader yields some data and then fails.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testFailedWrite(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	boom := errors.New("reader broke")
	old := []byte("old content")
	mustWrite(t, s, "fw/existing", old)
	for _, key := range []string{"fw/existing", "fw/new", "fw/newdir/new"} {
		err := s.WriteFrom(ctx, key, &failingReader{data: randomBytes(256<<10, 4), err: boom})
		if err == nil {
			t.Fatalf("WriteFrom(%q) with a failing reader succeeded", key)
		}
	}
	wantContent(t, s, "fw/existing", old)
	for _, key := range []string{"fw/new", "fw/newdir/new"} {
		_, err := s.Stat(ctx, key)
		wantErr(t, "Stat after failed write", err, storage.ErrNotFound)
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(objs); !slices.Equal(got, []string{"fw/existing"}) {
		t.Errorf("List after failed writes = %q, want only fw/existing", got)
	}
}

func testConcurrentWriteRead(t *testing.T, s *storage.Store) {
	const (
		key     = "cw/object"
		size    = 256 << 10
		writes  = 20
		readers = 4
	)
	ctx := t.Context()
	versions := [][]byte{bytes.Repeat([]byte{'a'}, size), bytes.Repeat([]byte{'b'}, size/2)}
	mustWrite(t, s, key, versions[0])
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for {
				got, err := s.ReadAll(ctx, key)
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("reader %d saw a partial or mixed object: %s", r, describe(got))
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	for i := range writes {
		if err := s.Write(ctx, key, versions[(i+1)%2]); err != nil {
			t.Errorf("write %d: %v", i, err)
			break
		}
	}
	close(done)
	wg.Wait()
}

func testContextCanceled(t *testing.T, s *storage.Store) {
	live := t.Context()
	mustWrite(t, s, "cc/existing", []byte("x"))
	ctx, cancel := context.WithCancel(live)
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want one satisfying errors.Is(err, context.Canceled)", op, err)
		}
	}
	check("Write", s.Write(ctx, "cc/new-write", []byte("x")))
	check("WriteFrom", s.WriteFrom(ctx, "cc/new-writefrom", strings.NewReader("x")))
	check("CreateIfAbsent", s.CreateIfAbsent(ctx, "cc/new-create", []byte("x")))
	_, err := s.ReadAll(ctx, "cc/existing")
	check("ReadAll", err)
	_, err = s.Stat(ctx, "cc/existing")
	check("Stat", err)
	_, err = s.List(ctx, "")
	check("List", err)
	_, err = s.List(ctx, "cc/")
	check("List with prefix", err)
	check("Delete", s.Delete(ctx, "cc/existing"))

	wantContent(t, s, "cc/existing", []byte("x"))
	objs, err := s.List(live, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(objs); !slices.Equal(got, []string{"cc/existing"}) {
		t.Errorf("after cancelled operations List = %q, want only cc/existing", got)
	}
}

func testSub(t *testing.T, s *storage.Store) {
	ctx := t.Context()
	table, err := s.Sub("lake/table")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, table, "_delta_log/00000000000000000000.json", []byte("commit"))
	mustWrite(t, table, "part=1/f.parquet", []byte("data"))
	mustWrite(t, s, "lake/tablex/other", []byte("sibling"))
	mustWrite(t, s, "lake/table.json", []byte("sibling file"))

	wantContent(t, s, "lake/table/part=1/f.parquet", []byte("data"))
	objs, err := table.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(objs), []string{"_delta_log/00000000000000000000.json", "part=1/f.parquet"}; !slices.Equal(got, want) {
		t.Errorf("Sub List(\"\") = %q, want %q", got, want)
	}
	objs, err = table.List(ctx, "_delta_log/0000")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(objs), []string{"_delta_log/00000000000000000000.json"}; !slices.Equal(got, want) {
		t.Errorf("Sub List(prefix) = %q, want %q", got, want)
	}
	oi, err := table.Stat(ctx, "part=1/f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if oi.Key != "part=1/f.parquet" || oi.Size != 4 {
		t.Errorf("Sub Stat = {Key:%q Size:%d}, want {Key:%q Size:4}", oi.Key, oi.Size, "part=1/f.parquet")
	}
	wantErr(t, "Sub CreateIfAbsent", table.CreateIfAbsent(ctx, "_delta_log/00000000000000000000.json", nil), storage.ErrExists)

	log, err := table.Sub("_delta_log")
	if err != nil {
		t.Fatal(err)
	}
	wantContent(t, log, "00000000000000000000.json", []byte("commit"))
	if err := log.Delete(ctx, "00000000000000000000.json"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(ctx, "lake/table/_delta_log/00000000000000000000.json")
	wantErr(t, "Stat after Sub Delete", err, storage.ErrNotFound)
}

// Environment variables that turn a test binary into a RunCrossProcessCreate
// child and tell it what to do.
const (
	envChild    = "MEDALLION_STORAGETEST_CHILD"    // the child mode, childMode
	envLocation = "MEDALLION_STORAGETEST_LOCATION" // passed to storage.Open
	envPrefix   = "MEDALLION_STORAGETEST_PREFIX"   // key prefix of the race
	envRounds   = "MEDALLION_STORAGETEST_ROUNDS"   // number of keys raced on
	envID       = "MEDALLION_STORAGETEST_ID"       // content the child writes
)

const (
	childMode = "create-if-absent"
	// lineTag starts every line of the child protocol on standard output,
	// so that anything else a test binary prints there is ignored.
	lineTag = "storagetest-child:"
	// crossProcessRounds is the number of keys RunCrossProcessCreate races
	// on, one after the other.
	crossProcessRounds = 20
)

// MaybeRunChild turns the process into a RunCrossProcessCreate child when
// the environment says it is one: it then runs the child's part of the race
// and exits without returning. Otherwise it returns at once.
//
// Call it first thing in the TestMain of every test binary that uses
// RunCrossProcessCreate, before m.Run, so that children start quickly and
// run no tests. (Without it RunCrossProcessCreate still works: the child
// runs only the calling test, which plays the child's part and is skipped.)
func MaybeRunChild() {
	if os.Getenv(envChild) == "" {
		return
	}
	os.Exit(runChild(os.Stdin, os.Stdout))
}

// roundKey is the key raced on in one round.
func roundKey(prefix string, round int) string {
	return fmt.Sprintf("%s%020d.json", prefix, round)
}

// runChild plays one child's part: open the store, report "ready", wait for
// standard input to close (the start signal, given to all children at
// once), then call CreateIfAbsent on every round's key and report each
// outcome as "won", "exists" or "error <quoted message>".
func runChild(stdin io.Reader, stdout io.Writer) int {
	fatal := func(format string, args ...any) int {
		fmt.Fprintf(stdout, "%s fatal %s\n", lineTag, strconv.Quote(fmt.Sprintf(format, args...)))
		return 2
	}
	if mode := os.Getenv(envChild); mode != childMode {
		return fatal("unknown child mode %q", mode)
	}
	rounds, err := strconv.Atoi(os.Getenv(envRounds))
	if err != nil {
		return fatal("bad %s: %v", envRounds, err)
	}
	prefix, id := os.Getenv(envPrefix), os.Getenv(envID)
	ctx := context.Background()
	s, err := storage.Open(ctx, os.Getenv(envLocation))
	if err != nil {
		return fatal("%v", err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "%s ready\n", lineTag)
	if _, err := io.Copy(io.Discard, stdin); err != nil {
		return fatal("waiting for the start: %v", err)
	}
	for round := range rounds {
		outcome := "won"
		if err := s.CreateIfAbsent(ctx, roundKey(prefix, round), []byte(id)); errors.Is(err, storage.ErrExists) {
			outcome = "exists"
		} else if err != nil {
			outcome = "error " + strconv.Quote(err.Error())
		}
		fmt.Fprintf(stdout, "%s result %d %s\n", lineTag, round, outcome)
	}
	return 0
}

// child is one process started by RunCrossProcessCreate.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	ready  chan struct{} // closed once the child is ready or has exited
	done   chan struct{} // closed once its standard output is consumed
	lines  []string      // protocol lines after "ready", valid after done
	once   sync.Once
	err    error // from Wait, valid after finish
}

// read consumes the child's standard output.
func (c *child) read(r io.Reader) {
	defer close(c.done)
	ready := sync.OnceFunc(func() { close(c.ready) })
	defer ready()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), lineTag+" ")
		switch {
		case !ok:
		case rest == "ready":
			ready()
		default:
			c.lines = append(c.lines, rest)
		}
	}
	io.Copy(io.Discard, r) // never leave the child blocked on a full pipe
}

// finish starts the child if it is still waiting, and waits for its exit.
func (c *child) finish() {
	c.once.Do(func() {
		c.stdin.Close()
		<-c.done
		c.err = c.cmd.Wait()
	})
}

// runPattern returns a -test.run pattern matching exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// RunCrossProcessCreate checks that CreateIfAbsent is atomic across OS
// processes for the store at location (as given to storage.Open, whose
// driver the test binary must register).
//
// It starts procs copies of the running test binary (procs >= 2), restricted
// to the calling test, with the race described in environment variables.
// Each child, recognized by MaybeRunChild in TestMain, opens location and
// reports when ready; once all are, they are released together and call
// CreateIfAbsent, each with its own content, on the same sequence of 20
// fresh keys under a random prefix. For every key exactly one child must
// win, all others must get ErrExists, and the stored content must be the
// winner's. The keys are deleted when the test ends.
func RunCrossProcessCreate(t *testing.T, location string, procs int) {
	t.Helper()
	if os.Getenv(envChild) != "" {
		// A child whose TestMain lacks MaybeRunChild: play the child here.
		if runChild(os.Stdin, os.Stdout) != 0 {
			t.FailNow()
		}
		t.SkipNow()
	}
	if procs < 2 {
		t.Fatalf("RunCrossProcessCreate: procs = %d, need at least 2", procs)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	ctx := t.Context()
	s, err := storage.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prefix := fmt.Sprintf("storagetest-xproc-%016x/", rand.Uint64())
	t.Cleanup(func() {
		for round := range crossProcessRounds {
			err := s.Delete(context.Background(), roundKey(prefix, round))
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})

	children := make([]*child, 0, procs)
	t.Cleanup(func() {
		for _, c := range children {
			c.finish() // reap children left by a failed start
		}
	})
	for i := range procs {
		c := &child{ready: make(chan struct{}), done: make(chan struct{})}
		c.cmd = exec.CommandContext(ctx, exe, "-test.run="+runPattern(t.Name()), "-test.count=1")
		c.cmd.Env = append(os.Environ(),
			envChild+"="+childMode,
			envLocation+"="+location,
			envPrefix+"="+prefix,
			envRounds+"="+strconv.Itoa(crossProcessRounds),
			fmt.Sprintf("%s=process %d", envID, i),
		)
		c.cmd.Stderr = &c.stderr
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatalf("starting child %d: %v", i, err)
		}
		children = append(children, c)
		go c.read(stdout)
	}
	for _, c := range children {
		<-c.ready
	}
	for _, c := range children {
		c.stdin.Close() // the start signal
	}

	// outcomes[round][proc] is what child proc reported for round.
	outcomes := make([][]string, crossProcessRounds)
	for round := range outcomes {
		outcomes[round] = make([]string, procs)
	}
	for i, c := range children {
		c.finish()
		if c.err != nil {
			t.Errorf("child %d: %v; stderr:\n%s", i, c.err, c.stderr.Bytes())
		}
		for _, line := range c.lines {
			f := strings.SplitN(line, " ", 3)
			round, err := -1, error(nil)
			if len(f) == 3 && f[0] == "result" {
				round, err = strconv.Atoi(f[1])
			}
			if err != nil || round < 0 || round >= crossProcessRounds {
				t.Errorf("child %d: %s", i, line)
				continue
			}
			outcomes[round][i] = f[2]
		}
	}
	wins := make([]int, procs)
	for round, byProc := range outcomes {
		key := roundKey(prefix, round)
		winner := -1
		for i, outcome := range byProc {
			switch outcome {
			case "won":
				if winner >= 0 {
					t.Errorf("%s: processes %d and %d both won CreateIfAbsent", key, winner, i)
				}
				winner = i
			case "exists":
			case "":
				t.Errorf("%s: process %d reported no outcome", key, i)
			default:
				t.Errorf("%s: process %d: %s", key, i, outcome)
			}
		}
		if winner < 0 {
			t.Errorf("%s: no process won CreateIfAbsent", key)
			continue
		}
		wins[winner]++
		got, err := s.ReadAll(ctx, key)
		if err != nil {
			t.Errorf("reading the winner's content: %v", err)
		} else if want := fmt.Sprintf("process %d", winner); string(got) != want {
			t.Errorf("%s holds %q, want the winner's %q", key, got, want)
		}
	}
	t.Logf("%d processes raced on %d keys; wins by process: %v", procs, crossProcessRounds, wins)
}
