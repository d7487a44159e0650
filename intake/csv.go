package intake

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

// CSV limits: whatever the file, memory stays bounded.
const (
	MaxColumns     = 500
	MaxRecordBytes = 64 << 10
)

// Reader reads prospect rows from a CSV file: a header row (names matched
// case-insensitively with their aliases; other columns are custom fields),
// UTF-8 with or without a BOM, quoted fields with embedded newlines, LF or
// CRLF line ends.
type Reader struct {
	// SkipValues makes Next leave Row.Values nil: rows are then made
	// prospects with Prospect, from their Record.
	SkipValues bool

	csv      *csv.Reader
	cols     []string // the canonical column of each header column, "" for custom
	customs  int
	src      *boundedReader
	header   []string
	records  int
	lastLine int
}

// Row is one data row: its number as a spreadsheet shows it (the header
// is row 1, so the first data row is row 2), its line in the file (a quoted
// field spanning lines makes the two differ; a row counts from its first
// line) and its values by column name.
type Row struct {
	Row    int
	Line   int
	Record []string
	Values map[string]string
}

// RowError is a row that cannot be read as a prospect row at all (wrong
// number of fields, broken quoting): counted invalid, not fatal.
type RowError struct {
	Row    int
	Line   int
	Column string
	Reason string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d (line %d): %s", e.Row, e.Line, e.Reason)
}

// NewReader reads the header. A file without a phone column, with an empty
// or duplicate column name, or too many columns, is an EINVALID error
// naming "file": nothing of it can be ingested.
func NewReader(r io.Reader) (*Reader, error) {
	src := &boundedReader{r: r}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1 // checked per row, so a bad row is one invalid row
	cr.ReuseRecord = false
	rd := &Reader{csv: cr, src: src}
	src.reset()
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fileError("The file is empty: it needs a header row with a phone column.")
	} else if err != nil {
		return nil, fileError("The header row cannot be read: " + csvReason(err))
	}
	if len(head) > MaxColumns {
		return nil, fileError(fmt.Sprintf("The file has %d columns; at most %d are accepted.", len(head), MaxColumns))
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	seen := map[string]bool{}
	phone := false
	for i, h := range head {
		h = strings.TrimSpace(h)
		head[i] = h
		if h == "" || !utf8.ValidString(h) {
			return nil, fileError(fmt.Sprintf("Column %d has no name (or one that is not UTF-8).", i+1))
		}
		key := strings.ToLower(h)
		if c := dialerd.CanonicalColumn(h); c != "" {
			key = c
		}
		if seen[key] {
			return nil, fileError(fmt.Sprintf("Column %q appears twice.", h))
		}
		seen[key] = true
		if dialerd.CanonicalColumn(h) == dialerd.ColPhone {
			phone = true
		}
	}
	if !phone {
		return nil, fileError("The file has no phone column (primary_phone, phone or phone_number).")
	}
	rd.header = head
	rd.cols = make([]string, len(head))
	for i, h := range head {
		if rd.cols[i] = dialerd.CanonicalColumn(h); rd.cols[i] == "" {
			rd.customs++
		}
	}
	return rd, nil
}

// Prospect makes a prospect of a row this reader read, as Normalize does
// with the row's values, without building them: the header has no two
// names for one column (NewReader refuses those), so the order columns are
// taken in cannot matter — unless there are more custom columns than are
// kept, and then Normalize decides.
func (r *Reader) Prospect(row Row, parser *phone.Parser, loc *dialerd.Locale) (dialerd.Prospect, error) {
	if r.customs > MaxCustomField {
		values := make(map[string]string, len(row.Record))
		for i, v := range row.Record {
			values[r.header[i]] = v
		}
		return Normalize(values, parser, loc)
	}
	b := newBuilder(r.customs)
	for i, v := range row.Record {
		b.take(r.header[i], r.cols[i], v)
	}
	return b.finish(parser, loc)
}

// Offset is how many bytes of the file have been read into rows so far.
func (r *Reader) Offset() int64 { return r.csv.InputOffset() }

// Header returns the column names as given.
func (r *Reader) Header() []string { return r.header }

// Next returns the next row, a *RowError for a row that cannot be read, or
// io.EOF. Other errors (the file itself failed, a record over
// MaxRecordBytes) end the read.
func (r *Reader) Next() (Row, error) {
	r.src.reset()
	rec, err := r.csv.Read()
	if err == io.EOF {
		return Row{}, io.EOF
	}
	if errors.Is(err, errRecordTooLarge) {
		return Row{}, fmt.Errorf("after line %d: a record is longer than %d bytes", r.lastLine, MaxRecordBytes)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			r.records++
			return Row{}, &RowError{Row: r.records + 1, Line: pe.StartLine, Reason: csvReason(err)}
		}
		return Row{}, err
	}
	line, _ := r.csv.FieldPos(0)
	r.lastLine = line
	r.records++
	if len(rec) != len(r.header) {
		return Row{}, &RowError{Row: r.records + 1, Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(r.header))}
	}
	row := Row{Row: r.records + 1, Line: line, Record: rec}
	if !r.SkipValues {
		row.Values = make(map[string]string, len(rec))
		for i, v := range rec {
			row.Values[r.header[i]] = v
		}
	}
	return row, nil
}

func fileError(msg string) error {
	return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"file": {msg}}}
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

var errRecordTooLarge = errors.New("record too large")

// boundedReader fails once more than MaxRecordBytes (plus csv's read-ahead)
// are read while one record is read, so a 50 MB line, or a quoted field that
// never closes, cannot be buffered whole.
type boundedReader struct {
	r io.Reader
	n int
}

// readAhead is what encoding/csv's bufio.Reader may read past a record.
const readAhead = 4096

func (b *boundedReader) reset() { b.n = 0 }

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n > MaxRecordBytes+readAhead {
		return 0, errRecordTooLarge
	}
	n, err := b.r.Read(p)
	b.n += n
	return n, err
}
