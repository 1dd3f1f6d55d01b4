package landing

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Scan is what one pass over a landing file (or over the part of it past
// what was already ingested) found, before the engine reads it.
type Scan struct {
	// Header is a CSV file's column names (from its first line).
	Header []string
	// Cut is where the bytes to ingest end: the file's size, or for an
	// append_new source the end of the last complete line.
	Cut int64
	// Lines is the number of physical lines in [0, Cut).
	Lines int64
	// Records is the number of non-blank records in the scanned range
	// (CSV: data records, the header not counted).
	Records int64
	// Bad says why the file is set aside; BadLine is the line (1-based,
	// in the whole file) where the problem is, 0 when not about a line.
	Bad     string
	BadLine int64
}

// errNotUTF8Header marks a header line that is not text.
var errNotUTF8Header = errors.New("not text")

// ScanFile reads a landing file from offset (lineBase lines precede
// offset) and checks what would stop the engine reading it: an empty or
// binary file, a duplicate column in a CSV header, invalid UTF-8 in JSON
// lines, a CSV quote that is never closed. With completeLines only the
// complete lines are taken (cut at the last newline outside quotes), so a
// line still being written waits for the next run.
func ScanFile(ctx context.Context, path string, s Spec, offset, lineBase int64, completeLines bool) (Scan, error) {
	var sc Scan
	f, err := os.Open(path)
	if err != nil {
		return sc, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sc, err
	}
	size := st.Size()
	if size == 0 {
		sc.Bad = "empty file (0 bytes)"
		return sc, nil
	}
	if s.Format == "parquet" {
		return scanParquet(f, size)
	}
	if s.Format == "csv" {
		hdr, n, err := ReadFirstLine(f)
		if err != nil {
			return sc, err
		}
		if len(bytes.TrimSpace(bytes.TrimPrefix(hdr, []byte("\ufeff")))) == 0 {
			sc.Bad = "empty file (no header line)"
			if n < size {
				sc.Bad, sc.BadLine = "no header: line 1 is blank", 1
			}
			return sc, nil
		}
		names, err := parseHeader(hdr, s.CSV)
		switch {
		case errors.Is(err, errNotUTF8Header):
			sc.Bad, sc.BadLine = "binary content: the header (line 1) is not text", 1
			return sc, nil
		case err != nil:
			sc.Bad, sc.BadLine = err.Error(), 1
			return sc, nil
		}
		sc.Header = names
		if offset == 0 {
			// The header is part of the range: skip it.
			offset, lineBase = n, 1
			if !s.CSV.NoHeader {
				sc.Cut, sc.Lines = n, 1
			} else {
				offset, lineBase = 0, 0
			}
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return sc, err
	}
	if sc.Cut < offset {
		sc.Cut, sc.Lines = offset, lineBase
	}
	quote, escape := byte(0), byte(0)
	if s.Format == "csv" {
		q, e := or(s.CSV.Quote, `"`), or(s.CSV.Escape, `"`) // as the engine reads them
		quote, escape = q[0], e[0]
	}
	delim := byte(',')
	if s.CSV.Delimiter != "" {
		delim = s.CSV.Delimiter[0]
	}
	const (
		fieldStart = iota
		unquoted
		inQuote
		quoteSeen // a quote inside a quoted field: closes it unless doubled
	)
	state := fieldStart
	var quoteLine int64
	rd := bufio.NewReaderSize(f, 1<<20)
	pos, line := offset, lineBase
	var lineBuf []byte
	blankJSON := true
	for {
		chunk, err := rd.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lineBuf = append(lineBuf, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return sc, err
		}
		full := chunk
		if len(lineBuf) > 0 {
			full = append(lineBuf, chunk...)
			lineBuf = lineBuf[:0]
		}
		if len(full) == 0 {
			break
		}
		line++
		pos += int64(len(full))
		if line%100000 == 0 && ctx.Err() != nil {
			return sc, ctx.Err()
		}
		ended := full[len(full)-1] == '\n'
		if bytes.IndexByte(full, 0) >= 0 {
			sc.Bad, sc.BadLine = fmt.Sprintf("binary content (a NUL byte) at line %d", line), line
			return sc, nil
		}
		if s.Format == "json" {
			if !utf8.Valid(full) {
				sc.Bad, sc.BadLine = fmt.Sprintf("invalid UTF-8 at line %d", line), line
				return sc, nil
			}
			if len(bytes.TrimSpace(full)) > 0 {
				blankJSON = false
				if ended || !completeLines {
					sc.Records++
				}
			}
			if ended || !completeLines {
				sc.Cut, sc.Lines = pos, line
			}
		} else {
			n := len(full)
			if state == fieldStart && (quote == 0 || bytes.IndexByte(full, quote) < 0) {
				n = 0 // no quote on a line that starts a record: nothing to track
			}
			for i := 0; i < n; i++ {
				c := full[i]
				switch state {
				case quoteSeen:
					if c == quote && escape == quote {
						state = inQuote // a doubled quote is a literal quote
						continue
					}
					state = unquoted
					fallthrough
				case fieldStart, unquoted:
					switch {
					case c == delim:
						state = fieldStart
					case c == '\n':
						state = fieldStart
					case c == quote && state == fieldStart:
						state, quoteLine = inQuote, line
					case c != '\r':
						state = unquoted
					}
				case inQuote:
					switch {
					case c == escape && escape != quote:
						i++ // the escaped character
					case c == quote:
						state = quoteSeen
					}
				}
			}
			if state != inQuote && (ended || !completeLines) {
				if len(bytes.TrimSpace(full)) > 0 || state != fieldStart {
					sc.Records++
				}
				sc.Cut, sc.Lines = pos, line
			}
			if ended && state == quoteSeen {
				state = fieldStart
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if s.Format == "json" && blankJSON && offset == 0 {
		sc.Bad = "empty file (only blank lines)"
		return sc, nil
	}
	if state == inQuote && !completeLines {
		sc.Bad, sc.BadLine = fmt.Sprintf("unclosed quote: the quote opened at line %d is never closed before the end of the file", quoteLine), quoteLine
		if n := line - quoteLine; n > 0 {
			sc.Bad = fmt.Sprintf("unclosed quote: the quote opened at line %d is never closed and swallows the %d records after it (lines %d-%d)", quoteLine, n, quoteLine+1, line)
		}
		return sc, nil
	}
	return sc, nil
}

// ReadFirstLine returns a file's first line (without its line end) and the
// offset just past it.
func ReadFirstLine(f *os.File) ([]byte, int64, error) {
	rd := bufio.NewReaderSize(f, 64<<10)
	var out []byte
	for {
		chunk, err := rd.ReadSlice('\n')
		out = append(out, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		break
	}
	n := int64(len(out))
	out = bytes.TrimRight(out, "\r\n")
	return out, n, nil
}

// parseHeader reads a CSV header line into column names, as the engine
// names them; a duplicate name (case-insensitive) is an error naming it.
func parseHeader(line []byte, o CSV) ([]string, error) {
	line = bytes.TrimPrefix(line, []byte("\ufeff"))
	if bytes.IndexByte(line, 0) >= 0 || !utf8.Valid(line) {
		return nil, errNotUTF8Header
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.Comma = ','
	if o.Delimiter != "" {
		r.Comma = []rune(o.Delimiter)[0]
	}
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	names, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header line 1: %v", err)
	}
	seen := map[string]int{}
	for i, n := range names {
		n = strings.TrimSpace(n)
		if o.NoHeader || n == "" {
			n = fmt.Sprintf("column%d", i)
		}
		names[i] = n
		if j, dup := seen[strings.ToLower(n)]; dup {
			return nil, fmt.Errorf("duplicate column %q in the header (line 1, columns %d and %d)", n, j+1, i+1)
		}
		seen[strings.ToLower(n)] = i
	}
	return names, nil
}

// scanParquet checks a Parquet file's magic bytes at both ends.
func scanParquet(f *os.File, size int64) (Scan, error) {
	sc := Scan{Cut: size}
	if size < 12 {
		sc.Bad = fmt.Sprintf("not a Parquet file (%d bytes)", size)
		return sc, nil
	}
	head, tail := make([]byte, 4), make([]byte, 4)
	if _, err := f.ReadAt(head, 0); err != nil {
		return sc, err
	}
	if _, err := f.ReadAt(tail, size-4); err != nil {
		return sc, err
	}
	if string(head) != "PAR1" || string(tail) != "PAR1" {
		sc.Bad = "not a Parquet file (no PAR1 magic bytes)"
	}
	return sc, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
