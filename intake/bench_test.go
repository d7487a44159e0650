package intake

import (
	"bytes"
	"io"
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
		rd.ReuseValues = true
		for {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			n++
			if err != nil {
				continue
			}
			if p, err := Normalize(row.Values, parser, loc); err == nil {
				p.ProspectData.AppendJSON(nil)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
