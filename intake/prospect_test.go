package intake

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
)

// BenchmarkReadNormalizeEncode is an upload's per-row work before storage:
// read a CSV row, normalize it, encode the prospect. Rows/s is the ceiling
// of one core's parsing stage.
func BenchmarkReadNormalizeEncode(b *testing.B) {
	var file bytes.Buffer
	const rows = 100_000
	if _, err := prospectgen.Write(&file, rows, 1); err != nil {
		b.Fatal(err)
	}
	parser, err := ParserFor("USCA")
	if err != nil {
		b.Fatal(err)
	}
	loc := dialerd.Locales["USCA"]
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		rd, err := NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		rd.SkipValues = true
		for {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			n++
			if err != nil {
				continue
			}
			if p, err := rd.Prospect(row, parser, loc); err == nil {
				p.ProspectData.AppendJSON(nil)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// Reader.Prospect takes a row's columns without building its values; it
// must give what Normalize gives for those values, row by row, on a
// generated file and on the upload tests' awkward fixture.
func TestReaderProspectMatchesNormalize(t *testing.T) {
	var gen bytes.Buffer
	if _, err := prospectgen.Write(&gen, 20_000, 3); err != nil {
		t.Fatal(err)
	}
	awkward, err := os.ReadFile("../cmd/dialerd/testdata/uploads/awkward.csv")
	if err != nil {
		t.Fatal(err)
	}
	parser, err := ParserFor("USCA")
	if err != nil {
		t.Fatal(err)
	}
	loc := dialerd.Locales["USCA"]
	for name, file := range map[string][]byte{"generated": gen.Bytes(), "awkward": awkward} {
		rd, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows := 0
		for {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			rows++
			got, gotErr := rd.Prospect(row, parser, loc)
			want, wantErr := Normalize(row.Values, parser, loc)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("%s row %d: Prospect = %+v, %v; Normalize = %+v, %v", name, row.Row, got, gotErr, want, wantErr)
			}
		}
		if rows == 0 {
			t.Fatalf("%s: no rows", name)
		}
	}
}
