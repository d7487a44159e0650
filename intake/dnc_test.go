package intake

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

func TestReadDNCFile(t *testing.T) {
	parser, err := phone.NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	file := "name,Phone Number\n" + // aliases and case as prospect files
		"a,(212) 555-0100\n" +
		"b,not a number\n" +
		"c,+1 604 555 0199\n" +
		"d,\"212\n555 0101\"\n" + // a quoted field across lines
		"e,1,extra\n" + // wrong number of fields
		"f,+44 20 7946 0958\n" + // outside the locale
		"g,2125550102\n"
	var batches [][]string
	res, err := ReadDNCFile(strings.NewReader(file), parser, 2, func(ns []string) error {
		batches = append(batches, append([]string(nil), ns...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(batches); got != "[[+12125550100 +16045550199] [+12125550102]]" {
		t.Fatalf("batches %s", got)
	}
	if res.Rows != 7 || res.Numbers != 3 || res.Invalid != 4 || len(res.Errors) != 4 {
		t.Fatalf("result %+v", res)
	}
	// Rows numbered as a spreadsheet numbers them; lines as the file has them.
	want := []struct {
		row, line int
		col       string
	}{{3, 3, "Phone Number"}, {5, 5, "Phone Number"}, {6, 7, ""}, {7, 8, "Phone Number"}}
	for i, w := range want {
		e := res.Errors[i]
		if e.Row != w.row || e.Line != w.line || e.Column != w.col || e.Reason == "" {
			t.Errorf("error %d = %+v, want row %d line %d column %q", i, e, w.row, w.line, w.col)
		}
	}

	// No phone column: refused before anything is added.
	called := false
	_, err = ReadDNCFile(strings.NewReader("name,email\na,b\n"), parser, 10, func([]string) error { called = true; return nil })
	var de *dialerd.Error
	if !errors.As(err, &de) || de.Code != dialerd.EINVALID || de.Fields["file"] == nil || called {
		t.Fatalf("no phone column: %v (add called: %v)", err, called)
	}
	// An error from add ends the read.
	stop := errors.New("stop")
	if _, err := ReadDNCFile(strings.NewReader(file), parser, 1, func([]string) error { return stop }); err != stop {
		t.Fatalf("add's error: %v", err)
	}
}

// FuzzReadDNCFile: any bytes are read without a panic; every row is a
// number or an invalid row; every number is NANP E.164.
func FuzzReadDNCFile(f *testing.F) {
	for _, s := range []string{
		"phone\n2125550100\n",
		"phone_number,x\n\"+1 (212) 555-0100\",1\n\"unterminated\n",
		"\ufeffPrimary_Phone\r\n604-555-0199\r\n\r\n",
		"a,b\n1,2\n",
		"",
		"phone\n" + strings.Repeat("9", 70000) + "\n",
	} {
		f.Add([]byte(s))
	}
	parser, err := phone.NewParser("USCA")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := 0
		res, err := ReadDNCFile(strings.NewReader(string(data)), parser, 3, func(ns []string) error {
			if len(ns) == 0 || len(ns) > 3 {
				t.Fatalf("batch of %d", len(ns))
			}
			for _, n := range ns {
				if !strings.HasPrefix(n, "+1") || len(n) != 12 || strings.Trim(n[1:], "0123456789") != "" {
					t.Fatalf("number %q is not NANP E.164", n)
				}
			}
			got += len(ns)
			return nil
		})
		if err != nil {
			var de *dialerd.Error
			if !errors.As(err, &de) || de.Code != dialerd.EINVALID {
				t.Fatalf("error is not EINVALID: %#v", err)
			}
			return
		}
		if got != res.Numbers || res.Numbers+res.Invalid != res.Rows || len(res.Errors) > dialerd.MaxUploadErrors {
			t.Fatalf("counts: %+v, %d numbers added", res, got)
		}
	})
}
