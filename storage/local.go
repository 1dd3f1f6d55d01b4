package storage

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

// tmpPrefix starts the name of every temporary file the local driver
// creates. List never reports such files, and keys whose last element starts
// with it are reserved: writing them fails with ErrInvalidKey and reading
// them gives ErrNotFound.
const tmpPrefix = ".tmp-"

// mkdirRetries bounds how often a write recreates its parent directory when
// a concurrent Delete (in this or another process) prunes it in between.
const mkdirRetries = 20

// listCheckEvery is how many listed entries pass between context checks.
const listCheckEvery = 256

func init() {
	Register("file", openLocalURL)
}

// NewLocal returns a store that keeps its objects as files under the local
// directory root, creating the directory if it is missing. The store is
// equivalent to Open(ctx, root).
func NewLocal(root string) (*Store, error) {
	drv, err := newLocalDriver(root)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", root, err)
	}
	return NewStore(root, drv), nil
}

// openLocalURL is the Opener for file URLs and plain paths.
func openLocalURL(ctx context.Context, u *url.URL) (Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("file URL with remote host %q (use file:///absolute/path)", u.Host)
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // file:///C:/dir
	}
	if p == "" {
		return nil, errors.New("file URL without a path")
	}
	return newLocalDriver(filepath.FromSlash(p))
}

// localDriver is the Driver over a local directory. root is absolute and
// clean.
type localDriver struct {
	root string
}

var _ LocalPather = (*localDriver)(nil)

func newLocalDriver(root string) (*localDriver, error) {
	if root == "" {
		return nil, errors.New("empty directory path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o777); err != nil {
		return nil, err
	}
	return &localDriver{root: abs}, nil
}

// LocalPath returns the file path of key under the driver's root.
func (d *localDriver) LocalPath(key string) string {
	return filepath.Join(d.root, filepath.FromSlash(key))
}

// reserved reports whether key names a temporary file.
func reserved(key string) bool {
	return strings.HasPrefix(path.Base(key), tmpPrefix)
}

func errReserved(key string) error {
	return fmt.Errorf("%w %q: names starting with %q are reserved for temporary files", ErrInvalidKey, key, tmpPrefix)
}

// isNotFound reports whether a file-system error means the file is missing,
// including the case where a parent element is a regular file.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// NewRangeReader implements Driver.
func (d *localDriver) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if reserved(key) {
		return nil, ErrNotFound
	}
	f, err := os.Open(d.LocalPath(key))
	if err != nil {
		if isNotFound(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	var r io.Reader = f
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return &fileReader{Reader: r, f: f}, nil
}

// fileReader reads a range of an open file and closes the file.
type fileReader struct {
	io.Reader
	f *os.File
}

func (r *fileReader) Close() error { return r.f.Close() }

// Write implements Driver: the content goes to a temporary file in the
// target's directory, is synced, and is renamed over the target.
func (d *localDriver) Write(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if reserved(key) {
		return errReserved(key)
	}
	final := d.LocalPath(key)
	dir := filepath.Dir(final)
	tmp, err := writeTemp(ctx, dir, r)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// CreateIfAbsent implements Driver. The content is written to a synced
// temporary file that is then hard-linked to the target name; link(2) fails
// if the name exists, which makes the creation atomic across processes
// without a check-then-act window.
func (d *localDriver) CreateIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if reserved(key) {
		return errReserved(key)
	}
	final := d.LocalPath(key)
	dir := filepath.Dir(final)
	tmp, err := writeTemp(ctx, dir, bytes.NewReader(data))
	if err != nil {
		return err
	}
	linkErr := os.Link(tmp, final)
	// The object is created (or not) by now; a temporary file that cannot
	// be removed is harmless since List never reports it.
	os.Remove(tmp)
	if linkErr != nil {
		if errors.Is(linkErr, fs.ErrExist) {
			return ErrExists
		}
		return fmt.Errorf("atomic create by hard link: %w", linkErr)
	}
	return syncDir(dir)
}

// writeTemp copies r into a new synced temporary file in dir, creating dir
// if needed, and returns the file's path. On error nothing is left behind.
func writeTemp(ctx context.Context, dir string, r io.Reader) (string, error) {
	var (
		f   *os.File
		err error
	)
	for attempt := 0; ; attempt++ {
		if err = os.MkdirAll(dir, 0o777); err == nil {
			if f, err = createTemp(dir); err == nil {
				break
			}
		}
		// A concurrent Delete may remove an empty parent directory between
		// MkdirAll and the creation of the file: try again.
		if !errors.Is(err, fs.ErrNotExist) || attempt >= mkdirRetries {
			return "", err
		}
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if _, err := io.Copy(f, blobutil.ContextReader(ctx, r)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// createTemp creates a new empty file named tmpPrefix+random in dir. Unlike
// os.CreateTemp it uses mode 0666 (before umask), the mode final objects
// should have.
func createTemp(dir string) (*os.File, error) {
	var buf [12]byte
	for {
		for i := 0; i < len(buf); i += 4 {
			v := rand.Uint32()
			buf[i], buf[i+1], buf[i+2], buf[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		name := filepath.Join(dir, tmpPrefix+hex.EncodeToString(buf[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
}

// syncDir makes the directory entries of dir durable. Windows cannot sync
// directories (and does not need to), so it is a no-op there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// List implements Driver. Only the directory holding the prefix's last
// slash is read, and below it only the entries whose names start with the
// rest of the prefix are descended into.
func (d *localDriver) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	return d.ListFrom(ctx, prefix, "")
}

// ListFrom implements FromLister: like List, but files whose keys sort
// before start are skipped without a stat, which keeps listing a long Delta
// log from a checkpoint cheap.
func (d *localDriver) ListFrom(ctx context.Context, prefix, start string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dirKey, partial := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey, partial = prefix[:i], prefix[i+1:]
		// A valid key starting with prefix starts with dirKey+"/", so dirKey
		// is made of whole valid elements; otherwise nothing can match.
		if ValidateKey(dirKey) != nil {
			return nil, nil
		}
	}
	l := &lister{ctx: ctx, start: start}
	dir := d.root
	if dirKey != "" {
		dir = d.LocalPath(dirKey)
		dirKey += "/"
	}
	if err := l.walk(dir, dirKey, partial); err != nil {
		return nil, err
	}
	return l.objs, nil
}

// lister collects the objects of a directory tree.
type lister struct {
	ctx   context.Context
	objs  []ObjectInfo
	seen  int
	start string // skip keys that sort before this
}

// walk adds the files under dir whose names start with partial (and
// everything below matching subdirectories); keyPrefix is dir's key plus
// "/", or "" for the root.
func (l *lister) walk(dir, keyPrefix, partial string) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	entries, err := l.readDir(dir, keyPrefix, partial)
	if err != nil {
		if isNotFound(err) {
			return nil // missing, or removed while listing
		}
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if runtime.GOOS != "windows" && strings.ContainsRune(name, '\\') {
			continue // not expressible as a key
		}
		if l.seen++; l.seen%listCheckEvery == 0 {
			if err := l.ctx.Err(); err != nil {
				return err
			}
		}
		full := filepath.Join(dir, name)
		if e.IsDir() {
			sub := keyPrefix + name + "/"
			if sub < l.start && !strings.HasPrefix(l.start, sub) {
				continue // every key below sorts before start
			}
			if err := l.walk(full, sub, ""); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(name, tmpPrefix) || keyPrefix+name < l.start {
			continue
		}
		fi, err := e.Info()
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(full)
		}
		if err != nil {
			if isNotFound(err) {
				continue // deleted while listing, or a dangling link
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			continue // symlinked directories, devices, sockets
		}
		l.objs = append(l.objs, ObjectInfo{Key: keyPrefix + name, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return nil
}

// readDir returns dir's entries whose names start with partial and that
// can hold keys at or after l.start, sorted by name. Entries are filtered
// before they are sorted, so that listing a long Delta log from a
// checkpoint sorts only the few names after it.
func (l *lister) readDir(dir, keyPrefix, partial string) ([]fs.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	// Names only: the entries skipped (before l.start, say the 10,000
	// commits of a Delta log before its checkpoint) cost no allocation
	// beyond their name, and those kept are lstat'ed once here (walk asks
	// for their info anyway).
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	kept := make([]fs.DirEntry, 0, min(len(names), 64))
	for _, name := range names {
		if !strings.HasPrefix(name, partial) {
			continue
		}
		key := keyPrefix + name
		// A name sorting before start can still be a directory holding
		// keys at or after it only when start begins with the name.
		if l.start != "" && key < l.start && !strings.HasPrefix(l.start, key) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			if isNotFound(err) {
				continue // removed while listing
			}
			return nil, err
		}
		if l.start != "" && key < l.start && (!fi.IsDir() || key+"/" < l.start && !strings.HasPrefix(l.start, key+"/")) {
			continue
		}
		kept = append(kept, fs.FileInfoToDirEntry(fi))
	}
	slices.SortFunc(kept, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return kept, nil
}

// Stat implements Driver.
func (d *localDriver) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	if reserved(key) {
		return ObjectInfo{}, ErrNotFound
	}
	fi, err := os.Stat(d.LocalPath(key))
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, ErrNotFound
		}
		return ObjectInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, ErrNotFound
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements Driver. Directories left empty are removed, up to but
// excluding the root.
func (d *localDriver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if reserved(key) {
		return ErrNotFound
	}
	p := d.LocalPath(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotFound(err) {
			return ErrNotFound
		}
		return err
	}
	if fi.IsDir() {
		return ErrNotFound
	}
	if err := os.Remove(p); err != nil {
		if isNotFound(err) {
			return ErrNotFound
		}
		return err
	}
	d.pruneDirs(filepath.Dir(p))
	return nil
}

// pruneDirs removes dir and its ancestors below the root while they are
// empty. Failures (typically "directory not empty") end the walk silently.
func (d *localDriver) pruneDirs(dir string) {
	for dir != d.root && strings.HasPrefix(dir, d.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Close implements Driver; the local driver holds no resources.
func (d *localDriver) Close() error { return nil }
