package pipeline

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// The checks of the models are remembered across processes: the keys of
// the checks that passed are kept in the project's state directory. The
// pre-run check (validate.go, validationKey): a run whose models, input
// schemas, engine and binary are those of a check that passed before opens
// no engine session to check them again. The parse check of every session
// (checkModels, parseKey): a session of an engine whose parser read the
// same models as single queries before does not parse them again. A key
// digests everything its check depends on; a model edited, a schema
// changed, other engine settings or another binary make another key, and
// the check runs.

// passedChecksFile holds the keys, one a line, newest last, relative to
// the project directory.
const passedChecksFile = ".medallion/passed-checks"

// maxPassedChecks bounds the keys kept in passedChecksFile.
const maxPassedChecks = 32

// passedChecksPath is the project's file of passed checks, "" for a
// project without a directory.
func passedChecksPath(proj *Project) string {
	if proj.Dir == "" {
		return ""
	}
	return filepath.Join(proj.Dir, filepath.FromSlash(passedChecksFile))
}

// rememberable reports whether the project's checks may be remembered
// across processes: when its engine's parser and binder are part of this
// binary (engine.Capabilities.Embedded) and the binary can be told from
// another build of it.
func rememberable(proj *Project) bool {
	return proj.capabilities().Embedded && binaryIdentity() != ""
}

// persistable reports whether a pre-run check of these models may be
// remembered across processes (rememberable): not when a model reads a
// table's past (time travel, change feeds), whose check depends on the
// table's log, not its schema.
func persistable(proj *Project, order []*Model) bool {
	return rememberable(proj) && !slices.ContainsFunc(order, hasTimeTravel)
}

// passedBefore reports whether a check with key passed in this process or,
// for a check that can be remembered (persist), in an earlier one.
func passedBefore(proj *Project, key string, persist bool) bool {
	if passedChecks.has(key) {
		return true
	}
	path := passedChecksPath(proj)
	if path == "" || !persist {
		return false
	}
	if slices.Contains(readPassedChecks(path), key) {
		passedChecks.add(key)
		return true
	}
	return false
}

// rememberPassed records that a check with key passed: in this process,
// and in the project's state directory when it can be remembered
// (persist). Failing to write the file costs the next process a check,
// nothing else.
func rememberPassed(proj *Project, key string, persist bool) {
	passedChecks.add(key)
	path := passedChecksPath(proj)
	if path == "" || !persist {
		return
	}
	checksFileMu.Lock()
	defer checksFileMu.Unlock()
	keys := readPassedChecks(path)
	if slices.Contains(keys, key) {
		return
	}
	keys = append(keys, key)
	if len(keys) > maxPassedChecks {
		keys = keys[len(keys)-maxPassedChecks:]
	}
	_ = writeFileAtomic(path, []byte(strings.Join(keys, "\n")+"\n"))
}

// checksFileMu orders this process's writes of passedChecksFile (another
// process's write may replace one: that costs a check, nothing else).
var checksFileMu sync.Mutex

// readPassedChecks reads the keys of a passed-checks file; a missing or
// unreadable file has none.
func readPassedChecks(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// writeFileAtomic replaces path with data: a reader sees the old file or
// the new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("pipeline: %w", werr)
	}
	return nil
}

// binaryIdentity names the running binary: its build (module version, VCS
// revision, Go version) and its executable file's path, size and
// modification time, which differ for every build, modified source trees
// included. It is "" when the executable cannot be found.
var binaryIdentity = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, " %s %s %s", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
			}
		}
	}
	return b.String()
})
