package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
)

// RejectLines sets the Line of each reject by finding its record in its
// file, for readers that report rejected records without their line
// numbers: each file holding rejects is read once more and the k-th
// reject whose first line has a given (trimmed) text gets the k-th line of
// the file with that text. local maps a reject's File to the local file to
// read (nil: File is a local path).
func RejectLines(ctx context.Context, rejects []Reject, local func(file string) (string, error)) error {
	byFile := map[string]map[string][]int{}
	for i, rj := range rejects {
		if byFile[rj.File] == nil {
			byFile[rj.File] = map[string][]int{}
		}
		first, _, _ := strings.Cut(rj.Raw, "\n")
		k := strings.TrimSpace(first)
		byFile[rj.File][k] = append(byFile[rj.File][k], i)
	}
	for file, want := range byFile {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := file
		if local != nil {
			var err error
			if path, err = local(file); err != nil {
				return err
			}
		}
		if err := matchLines(path, rejects, want); err != nil {
			return fmt.Errorf("engine: lines of rejects in %s: %w", file, err)
		}
	}
	return nil
}

// matchLines reads path and gives the rejects waiting for each text (want,
// by trimmed text) the numbers of the lines holding it, in order.
func matchLines(path string, rejects []Reject, want map[string][]int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd := bufio.NewReaderSize(f, 1<<20)
	var n int64
	for len(want) > 0 {
		line, err := rd.ReadString('\n')
		if line != "" {
			n++
			k := strings.TrimSpace(line)
			if q := want[k]; len(q) > 0 {
				rejects[q[0]].Line = n
				if len(q) == 1 {
					delete(want, k)
				} else {
					want[k] = q[1:]
				}
			}
		}
		if err != nil {
			break
		}
	}
	return nil
}
