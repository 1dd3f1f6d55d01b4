package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/storage"
)

const (
	logDir            = "_delta_log"
	lastCheckpointKey = logDir + "/_last_checkpoint"
)

// commitKey is the storage key of version v's commit file.
func commitKey(v int64) string { return fmt.Sprintf("%s/%020d.json", logDir, v) }

// checkpointKey is the key of version v's single-file checkpoint.
func checkpointKey(v int64) string { return fmt.Sprintf("%s/%020d.checkpoint.parquet", logDir, v) }

// logFile is one parsed entry of a _delta_log listing.
type logFile struct {
	key     string
	version int64
	size    int64
	modTime time.Time
	kind    logKind
	part    int // 1-based part number of a multi-part checkpoint
	parts   int // number of parts of a checkpoint (1 for single-file)
}

type logKind int

const (
	kindCommit logKind = iota + 1
	kindCheckpoint
	kindV2Checkpoint
	kindOther // crc, compacted commits, …: ignored by readers, cleaned up with their version
)

// LogFileName parses the name of a file in a table's _delta_log folder:
// its version and whether it is a commit (else a checkpoint file: single,
// a part of a multi-part one, or v2). ok is false for every other file.
func LogFileName(name string) (version int64, commit, ok bool) {
	lf, ok := parseLogName(logDir + "/" + name)
	if !ok || (lf.kind != kindCommit && lf.kind != kindCheckpoint && lf.kind != kindV2Checkpoint) {
		return 0, false, false
	}
	return lf.version, lf.kind == kindCommit, true
}

// parseLogName classifies one _delta_log key. ok is false for keys that are
// not log files of a version (_last_checkpoint, .tmp/, unrelated files).
func parseLogName(key string) (lf logFile, ok bool) {
	name, found := strings.CutPrefix(key, logDir+"/")
	if !found || strings.Contains(name, "/") || len(name) < 21 || name[20] != '.' {
		return lf, false
	}
	v, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil || v < 0 {
		return lf, false
	}
	lf = logFile{key: key, version: v, parts: 1, part: 1}
	rest := name[21:]
	switch {
	case rest == "json":
		lf.kind = kindCommit
	case rest == "checkpoint.parquet":
		lf.kind = kindCheckpoint
	case strings.HasPrefix(rest, "checkpoint."):
		f := strings.Split(rest, ".")
		// checkpoint.0000000001.0000000003.parquet
		if len(f) == 4 && f[3] == "parquet" && len(f[1]) == 10 && len(f[2]) == 10 {
			part, err1 := strconv.Atoi(f[1])
			parts, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil || part < 1 || parts < 1 || part > parts {
				return lf, false
			}
			lf.kind, lf.part, lf.parts = kindCheckpoint, part, parts
		} else if len(f) == 3 && (f[2] == "json" || f[2] == "parquet") {
			lf.kind = kindV2Checkpoint // checkpoint.<uuid>.json|parquet
		} else {
			return lf, false
		}
	default:
		lf.kind = kindOther // .crc, .compacted.json
	}
	return lf, true
}

// logListing is the _delta_log as listed once.
type logListing struct {
	commits     map[int64]logFile
	checkpoints map[int64][]logFile // complete checkpoints only, parts in order
	v2          map[int64]bool      // versions with a v2 (UUID-named) checkpoint
	others      []logFile
	maxCommit   int64 // -1 if none
}

func listLog(ctx context.Context, store *storage.Store) (*logListing, error) {
	return listLogFrom(ctx, store, 0)
}

// listLogFrom lists the log files of versions >= from (and whatever sorts
// after them), skipping older ones cheaply where the store can.
func listLogFrom(ctx context.Context, store *storage.Store, from int64) (*logListing, error) {
	start := ""
	if from > 0 {
		start = fmt.Sprintf("%s/%020d", logDir, from)
	}
	objs, err := store.ListFrom(ctx, logDir+"/", start)
	if err != nil {
		return nil, fmt.Errorf("delta: list log: %w", err)
	}
	l := &logListing{commits: map[int64]logFile{}, checkpoints: map[int64][]logFile{}, v2: map[int64]bool{}, maxCommit: -1}
	parts := map[int64]map[int]map[int]logFile{} // version → parts → part → file
	v2 := map[int64]logFile{}
	for _, o := range objs {
		lf, ok := parseLogName(o.Key)
		if !ok {
			continue
		}
		lf.size, lf.modTime = o.Size, o.ModTime
		switch lf.kind {
		case kindCommit:
			l.commits[lf.version] = lf
			l.maxCommit = max(l.maxCommit, lf.version)
		case kindCheckpoint:
			if parts[lf.version] == nil {
				parts[lf.version] = map[int]map[int]logFile{}
			}
			if parts[lf.version][lf.parts] == nil {
				parts[lf.version][lf.parts] = map[int]logFile{}
			}
			parts[lf.version][lf.parts][lf.part] = lf
		case kindV2Checkpoint:
			l.v2[lf.version] = true
			// A v2 checkpoint is one file (plus the sidecars it names).
			if _, ok := v2[lf.version]; !ok {
				v2[lf.version] = lf
			}
		default:
			l.others = append(l.others, lf)
		}
	}
	for v, lf := range v2 {
		if _, ok := parts[v]; !ok {
			l.checkpoints[v] = []logFile{lf}
		}
	}
	// A checkpoint counts only when all its parts exist.
	for v, byParts := range parts {
		for n, got := range byParts {
			if len(got) != n {
				continue
			}
			files := make([]logFile, n)
			for i := 1; i <= n; i++ {
				files[i-1] = got[i]
			}
			l.checkpoints[v] = files
			break
		}
	}
	return l, nil
}

// latestVersion is the newest version the listing can show: the newest commit
// or, when commits were cleaned up past it, the newest checkpoint.
func (l *logListing) latestVersion() int64 {
	v := l.maxCommit
	for cv := range l.checkpoints {
		v = max(v, cv)
	}
	return v
}

// checkpointAtOrBefore returns the newest complete checkpoint ≤ v.
func (l *logListing) checkpointAtOrBefore(v int64) (int64, []logFile, bool) {
	best := int64(-1)
	for cv := range l.checkpoints {
		if cv <= v && cv > best {
			best = cv
		}
	}
	if best < 0 {
		return 0, nil, false
	}
	return best, l.checkpoints[best], true
}

// lastCheckpoint is the content of _delta_log/_last_checkpoint.
type lastCheckpoint struct {
	Version       int64  `json:"version"`
	Size          int64  `json:"size"`
	Parts         *int   `json:"parts,omitempty"`
	SizeInBytes   *int64 `json:"sizeInBytes,omitempty"`
	NumOfAddFiles *int64 `json:"numOfAddFiles,omitempty"`
}

// readLastCheckpoint returns the version _last_checkpoint names, or -1 when
// the file is missing or unreadable (it is only a hint).
func readLastCheckpoint(ctx context.Context, store *storage.Store) int64 {
	b, err := store.ReadAll(ctx, lastCheckpointKey)
	if err != nil {
		return -1
	}
	var lc lastCheckpoint
	if json.Unmarshal(b, &lc) != nil || lc.Version < 0 {
		return -1
	}
	return lc.Version
}

func writeLastCheckpoint(ctx context.Context, store *storage.Store, lc lastCheckpoint) error {
	// Never move _last_checkpoint backwards when writers race.
	if b, err := store.ReadAll(ctx, lastCheckpointKey); err == nil {
		var cur lastCheckpoint
		if json.Unmarshal(b, &cur) == nil && cur.Version > lc.Version {
			return nil
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delta: read _last_checkpoint: %w", err)
	}
	b, err := json.Marshal(lc)
	if err != nil {
		return fmt.Errorf("delta: marshal _last_checkpoint: %w", err)
	}
	if err := store.Write(ctx, lastCheckpointKey, b); err != nil {
		return fmt.Errorf("delta: write _last_checkpoint: %w", err)
	}
	return nil
}
