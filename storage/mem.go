package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
)

func init() {
	Register("mem", openMemURL)
}

// namedMem holds the memory drivers opened by name, for the life of the
// process, so that every Open of mem://name sees the same objects.
var namedMem = struct {
	sync.Mutex
	m map[string]*memDriver
}{m: map[string]*memDriver{}}

// openMemURL is the Opener for mem://name URLs.
func openMemURL(ctx context.Context, u *url.URL) (Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(u.Host+u.Path, "/")
	if name == "" {
		return nil, errors.New("mem URL without a name (use mem://name)")
	}
	namedMem.Lock()
	defer namedMem.Unlock()
	d, ok := namedMem.m[name]
	if !ok {
		d = newMemDriver()
		namedMem.m[name] = d
	}
	return d, nil
}

// NewMemory returns a new, empty in-memory store that no other store shares.
func NewMemory() *Store {
	return NewStore("mem://(private)", newMemDriver())
}

// memObject is one stored object. data is never modified after it is
// stored, so readers may share it.
type memObject struct {
	data    []byte
	modTime time.Time
}

// memDriver is the Driver keeping objects in a map.
type memDriver struct {
	mu   sync.RWMutex
	objs map[string]memObject
}

func newMemDriver() *memDriver {
	return &memDriver{objs: map[string]memObject{}}
}

// NewRangeReader implements Driver.
func (d *memDriver) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.RLock()
	o, ok := d.objs[key]
	d.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	data := o.data
	if offset >= int64(len(data)) {
		data = nil
	} else {
		data = data[offset:]
	}
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Write implements Driver. The content is read completely before it
// replaces the previous object, so a failing reader changes nothing.
func (d *memDriver) Write(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	d.objs[key] = memObject{data: data, modTime: time.Now()}
	d.mu.Unlock()
	return nil
}

// CreateIfAbsent implements Driver.
func (d *memDriver) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data = bytes.Clone(data)
	if data == nil {
		data = []byte{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.objs[key]; ok {
		return ErrExists
	}
	d.objs[key] = memObject{data: data, modTime: time.Now()}
	return nil
}

// List implements Driver.
func (d *memDriver) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	var objs []ObjectInfo
	for k, o := range d.objs {
		if strings.HasPrefix(k, prefix) {
			objs = append(objs, ObjectInfo{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
		}
	}
	return objs, nil
}

// Stat implements Driver.
func (d *memDriver) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	d.mu.RLock()
	o, ok := d.objs[key]
	d.mu.RUnlock()
	if !ok {
		return ObjectInfo{}, ErrNotFound
	}
	return ObjectInfo{Key: key, Size: int64(len(o.data)), ModTime: o.modTime}, nil
}

// Delete implements Driver.
func (d *memDriver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.objs[key]; !ok {
		return ErrNotFound
	}
	delete(d.objs, key)
	return nil
}

// Close implements Driver. Objects stay available: other stores opened with
// the same mem:// name share them.
func (d *memDriver) Close() error { return nil }
