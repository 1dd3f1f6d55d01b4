package datagen

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// csvOut is one CSV file being written. It is written under a hidden
// temporary name in the same folder and renamed on close, so a watcher of
// the landing zone never sees a half-written file (Spark and most readers
// skip names starting with "." or "_").
type csvOut struct {
	rel   string // slash-separated path relative to the output dir
	final string
	tmp   string
	f     *os.File
	w     *bufio.Writer
	rows  int
}

func createCSV(outDir, rel string, header []string, quoteHeader bool) (*csvOut, error) {
	final := filepath.Join(outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	o := &csvOut{rel: rel, final: final, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 256<<10)}
	var b []byte
	for i, h := range header {
		if i > 0 {
			b = append(b, ',')
		}
		if quoteHeader {
			b = append(b, '"')
			b = append(b, h...)
			b = append(b, '"')
		} else {
			b = append(b, h...)
		}
	}
	b = append(b, '\n')
	o.w.Write(b) // errors are sticky in bufio and reported by close
	return o, nil
}

// line writes one data row (without its newline) and counts it.
func (o *csvOut) line(b []byte) {
	o.w.Write(b)
	o.w.WriteByte('\n')
	o.rows++
}

// close flushes, closes and renames the file into place.
func (o *csvOut) close() error {
	err := o.w.Flush()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.tmp)
		return err
	}
	return os.Rename(o.tmp, o.final)
}

// abort closes and removes the temporary file.
func (o *csvOut) abort() {
	o.f.Close()
	os.Remove(o.tmp)
}

// row builds one CSV record in place and remembers where each field starts,
// so that dirty variants (null key, truncated copy, ...) can be cut from it.
type row struct {
	b      []byte
	starts []int
}

func (r *row) reset() {
	r.b = r.b[:0]
	r.starts = r.starts[:0]
}

func (r *row) sep() {
	if len(r.starts) > 0 {
		r.b = append(r.b, ',')
	}
	r.starts = append(r.starts, len(r.b))
}

// str appends a text field, quoting it when it holds a comma, quote or newline.
func (r *row) str(s string) {
	r.sep()
	if !strings.ContainsAny(s, ",\"\r\n") {
		r.b = append(r.b, s...)
		return
	}
	r.b = append(r.b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			r.b = append(r.b, '"')
		}
		r.b = append(r.b, s[i])
	}
	r.b = append(r.b, '"')
}

func (r *row) empty() { r.sep() }

func (r *row) id(id [2]uint64) {
	r.sep()
	r.b = appendID(r.b, id)
}

func (r *row) int(v int) {
	r.sep()
	r.b = strconv.AppendInt(r.b, int64(v), 10)
}

// money appends cents as a decimal with two places: 5890 → 58.90.
func (r *row) money(cents int) {
	r.sep()
	if cents < 0 {
		r.b = append(r.b, '-')
		cents = -cents
	}
	r.b = strconv.AppendInt(r.b, int64(cents/100), 10)
	c := cents % 100
	r.b = append(r.b, '.', byte('0'+c/10), byte('0'+c%10))
}

// ts appends a timestamp "2017-10-02 10:56:33", or an empty field for
// noTime.
func (r *row) ts(sec int64) {
	r.sep()
	if sec != noTime {
		r.b = appendTS(r.b, sec)
	}
}

// coord appends a coordinate held in units of 1e-14 degree with 14 decimals.
func (r *row) coord(v int64) {
	r.sep()
	if v < 0 {
		r.b = append(r.b, '-')
		v = -v
	}
	const scale = 100_000_000_000_000
	r.b = strconv.AppendInt(r.b, v/scale, 10)
	r.b = append(r.b, '.')
	frac := v % scale
	var buf [14]byte
	for i := 13; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 14
	for n > 1 && buf[n-1] == '0' {
		n--
	}
	r.b = append(r.b, buf[:n]...)
}

// noTime marks a missing timestamp (written as an empty field).
const noTime int64 = -1 << 62

const day = 86400

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

func floorDay(sec int64) int64 {
	d := sec / day
	if sec < 0 && sec%day != 0 {
		d--
	}
	return d
}

func appendTS(b []byte, sec int64) []byte {
	dd := floorDay(sec)
	y, m, d := civil(dd)
	s := int(sec - dd*day)
	hh, mi, ss := s/3600, s/60%60, s%60
	b = append(b,
		byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), ' ',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
	return b
}
