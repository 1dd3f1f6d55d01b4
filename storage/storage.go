// Package storage is one interface over the places a lake can live: a local
// directory (the default), memory (for tests), and, through drivers registered
// by other packages, object stores such as ADLS Gen2, S3 and GCS.
//
// Users hold a *Store, a portable type that validates keys, wraps errors and
// maps them to a few sentinel values; backends implement the small Driver
// interface. Keys are slash-separated paths relative to the store's root,
// without a leading slash and without "." or ".." elements.
package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors. Drivers return them (possibly wrapped); Store keeps them
// reachable through errors.Is.
var (
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means CreateIfAbsent lost: the key already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalidKey means a key is empty, absolute, or has "." or ".." elements.
	ErrInvalidKey = errors.New("invalid key")
	// ErrUnsupportedScheme means no driver is registered for a URL's scheme.
	ErrUnsupportedScheme = errors.New("unsupported scheme")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	// Key is the object's key relative to the store's root.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is the last modification time as the backend reports it.
	ModTime time.Time
}

// Driver is what a backend implements. Store is the only caller: it has
// already validated keys, so drivers may assume clean relative keys.
//
// Every method must be safe for concurrent use by multiple goroutines.
// CreateIfAbsent must be atomic across OS processes and machines sharing the
// backend: of several concurrent calls for one key exactly one succeeds and
// every other returns an error satisfying errors.Is(err, ErrExists); a reader
// never observes a partially written object (for Write as well).
type Driver interface {
	// NewRangeReader reads length bytes from offset; length < 0 means to the
	// end of the object. A range running past the end is cut short, and an
	// offset at or past the end gives an empty reader, not an error. A
	// missing key gives ErrNotFound.
	NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Write stores the whole content of r under key, replacing any previous
	// object atomically.
	Write(ctx context.Context, key string, r io.Reader) error
	// CreateIfAbsent stores data under key only if the key does not exist.
	CreateIfAbsent(ctx context.Context, key string, data []byte) error
	// List returns every object whose key starts with prefix (recursively,
	// no delimiter), in any order.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Stat describes one object; a missing key gives ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes one object; a missing key gives ErrNotFound.
	Delete(ctx context.Context, key string) error
	// Close releases the driver's resources.
	Close() error
}

// LocalPather is an optional capability of drivers whose objects are plain
// files on the local file system (the local driver). Engines that read files
// directly, such as DuckDB, use it to skip a copy.
type LocalPather interface {
	// LocalPath returns the file-system path of key.
	LocalPath(key string) string
}

// FromLister is an optional capability of drivers that can skip keys sorting
// before a start key cheaply (S3's StartAfter, GCS's StartOffset, a local
// directory without a stat per skipped file).
type FromLister interface {
	// ListFrom is List restricted to keys >= start.
	ListFrom(ctx context.Context, prefix, start string) ([]ObjectInfo, error)
}

// Opener opens a driver for a URL of a registered scheme.
type Opener func(ctx context.Context, u *url.URL) (Driver, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a driver available for URLs of the given scheme. It is meant
// to be called from the init function of a driver package. Registering a
// scheme twice panics.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("storage: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Store is the portable handle to a lake root. Its methods validate keys and
// wrap driver errors as "storage: <op> <url>/<key>: <cause>".
type Store struct {
	url    string
	drv    Driver
	prefix string // "" or "dir/" inside the driver, for Sub stores
}

// NewStore wraps a driver. url is used in error messages only.
func NewStore(url string, drv Driver) *Store {
	return &Store{url: strings.TrimSuffix(url, "/"), drv: drv}
}

// Open opens the store for a location: a plain path or file:// URL (local
// disk), mem://name (memory), or a URL whose scheme a driver has registered.
func Open(ctx context.Context, location string) (*Store, error) {
	if location == "" {
		return nil, fmt.Errorf("storage: empty location")
	}
	scheme := "file"
	u := &url.URL{Scheme: "file", Path: location}
	if i := strings.Index(location, "://"); i > 0 {
		parsed, err := url.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("storage: parse %q: %w", location, err)
		}
		u, scheme = parsed, parsed.Scheme
	}
	registryMu.RLock()
	open, ok := registry[scheme]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("storage: open %s: %w %q (import its driver package)", location, ErrUnsupportedScheme, scheme)
	}
	drv, err := open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", location, err)
	}
	return NewStore(location, drv), nil
}

// URL returns the location the store was opened with.
func (s *Store) URL() string { return s.url }

// Driver returns the underlying driver, for capability checks by type
// assertion (for example LocalPather).
func (s *Store) Driver() Driver { return s.drv }

// LocalPath returns the local file path of key and true if the store keeps
// its objects as local files.
func (s *Store) LocalPath(key string) (string, bool) {
	lp, ok := s.drv.(LocalPather)
	if !ok {
		return "", false
	}
	return lp.LocalPath(s.prefix + key), true
}

// Sub returns a store rooted at prefix inside s (for example one Delta table
// inside a lake). Keys given to the result are relative to prefix.
func (s *Store) Sub(prefix string) (*Store, error) {
	if err := ValidateKey(prefix); err != nil {
		return nil, s.wrap("sub", prefix, err)
	}
	return &Store{url: s.url + "/" + prefix, drv: s.drv, prefix: s.prefix + prefix + "/"}, nil
}

func (s *Store) wrap(op, key string, err error) error {
	return fmt.Errorf("storage: %s %s/%s: %w", op, s.url, key, err)
}

// ValidateKey reports whether key is a clean relative slash-separated key.
func ValidateKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w %q", ErrInvalidKey, key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%w %q", ErrInvalidKey, key)
		}
	}
	if path.Clean(key) != key {
		return fmt.Errorf("%w %q", ErrInvalidKey, key)
	}
	return nil
}

// validatePrefix accepts the prefixes that valid keys can start with: the
// part up to the last slash must be a valid key (whole elements); the part
// after it may be any start of an element, such as "0000" or "..".
func validatePrefix(prefix string) error {
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "\\") || strings.ContainsRune(prefix, 0) {
		return fmt.Errorf("%w prefix %q", ErrInvalidKey, prefix)
	}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if ValidateKey(prefix[:i]) != nil {
			return fmt.Errorf("%w prefix %q", ErrInvalidKey, prefix)
		}
	}
	return nil
}

// ReadAll returns the whole content of key.
func (s *Store) ReadAll(ctx context.Context, key string) ([]byte, error) {
	return s.ReadRange(ctx, key, 0, -1)
}

// ReadRange returns length bytes of key starting at offset; length < 0 reads
// to the end.
func (s *Store) ReadRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	rc, err := s.NewRangeReader(ctx, key, offset, length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, s.wrap("read", key, err)
	}
	return b, nil
}

// NewRangeReader opens a reader over a byte range of key; length < 0 reads to
// the end. The caller closes it.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, s.wrap("read", key, err)
	}
	if offset < 0 {
		return nil, s.wrap("read", key, fmt.Errorf("negative offset %d", offset))
	}
	rc, err := s.drv.NewRangeReader(ctx, s.prefix+key, offset, length)
	if err != nil {
		return nil, s.wrap("read", key, err)
	}
	return rc, nil
}

// Write stores data under key, replacing any existing object atomically.
func (s *Store) Write(ctx context.Context, key string, data []byte) error {
	return s.WriteFrom(ctx, key, bytes.NewReader(data))
}

// WriteFrom stores everything read from r under key, replacing any existing
// object atomically.
func (s *Store) WriteFrom(ctx context.Context, key string, r io.Reader) error {
	if err := ValidateKey(key); err != nil {
		return s.wrap("write", key, err)
	}
	if err := s.drv.Write(ctx, s.prefix+key, r); err != nil {
		return s.wrap("write", key, err)
	}
	return nil
}

// CreateIfAbsent stores data under key only if no object has that key. It is
// atomic across processes; the loser gets an error satisfying
// errors.Is(err, ErrExists).
func (s *Store) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return s.wrap("create", key, err)
	}
	if err := s.drv.CreateIfAbsent(ctx, s.prefix+key, data); err != nil {
		return s.wrap("create", key, err)
	}
	return nil
}

// List returns the objects whose keys start with prefix, sorted by key. An
// empty prefix lists everything.
func (s *Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, s.wrap("list", prefix, err)
	}
	objs, err := s.drv.List(ctx, s.prefix+prefix)
	if err != nil {
		return nil, s.wrap("list", prefix, err)
	}
	for i := range objs {
		objs[i].Key = strings.TrimPrefix(objs[i].Key, s.prefix)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// ListFrom is List restricted to keys that sort at or after start. Drivers
// that implement FromLister do it without touching the skipped keys.
func (s *Store) ListFrom(ctx context.Context, prefix, start string) ([]ObjectInfo, error) {
	fl, ok := s.drv.(FromLister)
	if !ok {
		objs, err := s.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		i := sort.Search(len(objs), func(i int) bool { return objs[i].Key >= start })
		return objs[i:], nil
	}
	if err := validatePrefix(prefix); err != nil {
		return nil, s.wrap("list", prefix, err)
	}
	objs, err := fl.ListFrom(ctx, s.prefix+prefix, s.prefix+start)
	if err != nil {
		return nil, s.wrap("list", prefix, err)
	}
	for i := range objs {
		objs[i].Key = strings.TrimPrefix(objs[i].Key, s.prefix)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// Stat describes key.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, s.wrap("stat", key, err)
	}
	oi, err := s.drv.Stat(ctx, s.prefix+key)
	if err != nil {
		return ObjectInfo{}, s.wrap("stat", key, err)
	}
	oi.Key = strings.TrimPrefix(oi.Key, s.prefix)
	return oi, nil
}

// Delete removes key. Deleting a missing key gives ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return s.wrap("delete", key, err)
	}
	if err := s.drv.Delete(ctx, s.prefix+key); err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

// Close releases the store's driver. Stores made by Sub share their parent's
// driver; closing one closes it for all.
func (s *Store) Close() error { return s.drv.Close() }
