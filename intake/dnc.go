package intake

import (
	"errors"
	"io"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

// DNCFileResult is what a do-not-call file held: its data rows, the
// numbers read, and the rows that held none, with the first
// dialerd.MaxUploadErrors of them.
type DNCFileResult struct {
	Rows    int                      `json:"rows"`
	Numbers int                      `json:"numbers"`
	Invalid int                      `json:"invalid"`
	Errors  []dialerd.UploadRowError `json:"errors"`
}

// ReadDNCFile reads a do-not-call file: a CSV file whose header names a
// phone column (primary_phone, phone or phone_number; other columns are
// ignored), as prospect files are read. The numbers, in E.164, go to add
// in batches of at most batch. A file without a phone column is an
// EINVALID error naming "file" before add is called; an error from add
// ends the read and is returned.
func ReadDNCFile(r io.Reader, parser *phone.Parser, batch int, add func(numbers []string) error) (DNCFileResult, error) {
	res := DNCFileResult{Errors: []dialerd.UploadRowError{}}
	rd, err := NewReader(r)
	if err != nil {
		return res, err
	}
	rd.SkipValues = true
	col := -1
	for i, c := range rd.cols {
		if c == dialerd.ColPhone {
			col = i
		}
	}
	bad := func(row, line int, column, reason string) {
		res.Invalid++
		if len(res.Errors) < dialerd.MaxUploadErrors {
			res.Errors = append(res.Errors, dialerd.UploadRowError{Row: row, Line: line, Column: column, Reason: reason})
		}
	}
	numbers := make([]string, 0, batch)
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			res.Rows++
			bad(re.Row, re.Line, re.Column, re.Reason)
			continue
		}
		if err != nil {
			return res, dialerd.Errorf(dialerd.EINVALID, "The file cannot be read %s.", err)
		}
		res.Rows++
		n, err := parser.Parse(row.Record[col])
		if err != nil {
			bad(row.Row, row.Line, rd.header[col], err.Error())
			continue
		}
		numbers = append(numbers, n.E164)
		if len(numbers) == batch {
			if err := add(numbers); err != nil {
				return res, err
			}
			res.Numbers += len(numbers)
			numbers = numbers[:0]
		}
	}
	if len(numbers) > 0 {
		if err := add(numbers); err != nil {
			return res, err
		}
		res.Numbers += len(numbers)
	}
	return res, nil
}
