package intake

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/dialerd/dialerd"
)

func readAll(t *testing.T, data string) (rows []Row, bad []*RowError, err error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, bad, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			bad = append(bad, re)
			continue
		}
		if err != nil {
			return rows, bad, err
		}
		rows = append(rows, row)
	}
}

func TestCSVAwkwardCases(t *testing.T) {
	data := "\ufeffPhone Number,FirstName,Policy\r\n" +
		"\"(415) 555-1234\",\"Ann \"\"Jr\"\"\",\"line one\nline two\"\r\n" +
		"212-555-0199,Bob,X\n" +
		"bad row with,too,many,fields\n" +
		"+1 310 555 0100,,\n"
	rows, bad, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || len(bad) != 1 {
		t.Fatalf("rows %d, bad %d", len(rows), len(bad))
	}
	if rows[0].Values["Phone Number"] != "(415) 555-1234" || rows[0].Values["FirstName"] != `Ann "Jr"` || rows[0].Values["Policy"] != "line one\nline two" {
		t.Fatalf("row 1: %+v", rows[0])
	}
	if rows[0].Line != 2 || rows[1].Line != 4 || bad[0].Line != 5 || rows[2].Line != 6 {
		t.Fatalf("line numbers: %d %d %d %d", rows[0].Line, rows[1].Line, bad[0].Line, rows[2].Line)
	}
}

func TestCSVFileErrors(t *testing.T) {
	for name, data := range map[string]string{
		"empty":            "",
		"no phone column":  "first_name,last_name\nAnn,Lee\n",
		"duplicate column": "phone,Phone\n1,2\n",
		"alias twice":      "phone,phone_number\n1,2\n",
		"unnamed column":   "phone,,x\n1,2,3\n",
		"too many columns": "phone" + strings.Repeat(",c", MaxColumns) + "\n",
	} {
		_, _, err := readAll(t, data)
		de, ok := err.(*dialerd.Error)
		if !ok || de.Code != dialerd.EINVALID || de.Fields["file"] == nil {
			t.Errorf("%s: error %v, want EINVALID naming file", name, err)
		}
	}
}

func TestCSVBoundsALongRecord(t *testing.T) {
	// A 50 MB single line must fail without being read whole.
	src := io.MultiReader(strings.NewReader("phone,notes\n1,"), &repeat{b: 'x', n: 50 << 20})
	r, err := NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("50 MB record: %v", err)
	}
	var re *RowError
	if errors.As(err, &re) {
		t.Fatalf("a too-long record must end the read, not count as one bad row")
	}
}

func TestCSVBinaryGarbage(t *testing.T) {
	_, _, err := readAll(t, string(bytes.Repeat([]byte{0, 0xff, 0x13, '"'}, 1000)))
	if err == nil {
		t.Fatal("binary garbage read as a CSV with a phone column")
	}
}

type repeat struct {
	b byte
	n int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b
	}
	r.n -= len(p)
	return len(p), nil
}

// FuzzCSVReader: no input panics the reader or makes it loop; rows it
// returns have one value per header column.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"phone\n4155551234\n",
		"\ufeffPhone,first_name\r\n\"(415) 555-1234\",\"A\nB\"\r\n",
		"phone,x\n1,2,3\n\"unterminated\n",
		"first_name\nann\n",
		"phone,phone\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 100000; i++ {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			var re *RowError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				return
			}
			if len(row.Values) != len(r.Header()) {
				t.Fatalf("row has %d values, header %d", len(row.Values), len(r.Header()))
			}
		}
		t.Fatal("no end after 100000 rows")
	})
}
