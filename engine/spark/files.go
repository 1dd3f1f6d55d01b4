package spark

import (
	"net/url"
	"path"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// filePathSQL is the path of the file a row was read from, decoded:
// Spark's _metadata.file_path is the table's URL joined with the add
// action's path, percent-encoded; url_decode decodes form encoding, so a
// '+' is protected first.
const filePathSQL = "url_decode(replace(_metadata.file_path, '+', '%2B'))"

// addPath is an add action's path decoded: the file's path under the
// table's folder.
func addPath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// inFilesSQL is a condition true exactly for the rows of files. The file
// name prunes (_metadata.file_name is decoded), and the end of the decoded
// path tells apart files of one name in different partition folders:
// Spark names a write task's files alike in every partition it writes.
func inFilesSQL(files []*delta.Add) string {
	if len(files) == 0 {
		return "FALSE"
	}
	names := make([]string, 0, len(files))
	ends := make([]string, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		p := addPath(f.Path)
		if b := path.Base(p); !seen[b] {
			seen[b] = true
			names = append(names, sparkString(b))
		}
		ends = append(ends, "endswith("+filePathSQL+", "+sparkString("/"+p)+")")
	}
	return "(_metadata.file_name IN (" + strings.Join(names, ", ") + ") AND (" + strings.Join(ends, " OR ") + "))"
}

// filesByPath finds, for decoded file paths as filePathSQL gives them,
// the add actions among files they are.
type filesByPath map[string][]*delta.Add

func newFilesByPath(files []*delta.Add) filesByPath {
	m := make(filesByPath, len(files))
	for _, f := range files {
		b := path.Base(addPath(f.Path))
		m[b] = append(m[b], f)
	}
	return m
}

// lookup returns the add action whose path ends p, or nil.
func (m filesByPath) lookup(p string) *delta.Add {
	for _, f := range m[path.Base(p)] {
		if strings.HasSuffix(p, "/"+addPath(f.Path)) {
			return f
		}
	}
	return nil
}
