package prospectgen

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/dialerd/dialerd/phone"
)

func write(t testing.TB, rows int, seed uint64) ([]byte, Stats) {
	t.Helper()
	var b bytes.Buffer
	s, err := Write(&b, rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), s
}

func TestDeterministic(t *testing.T) {
	a, sa := write(t, 5000, 7)
	b, sb := write(t, 5000, 7)
	if !bytes.Equal(a, b) || sa != sb {
		t.Fatal("same seed, different output")
	}
	c, _ := write(t, 5000, 8)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
	if sa.Bytes != int64(len(a)) {
		t.Fatalf("Stats.Bytes %d, wrote %d", sa.Bytes, len(a))
	}
}

// TestRecount reads a file back as the server would — encoding/csv, the
// phone package, dedupe on E.164 — and checks Write's stats against it,
// row by row: a generator replaying the same seed says which rows it meant
// to be invalid.
func TestRecount(t *testing.T) {
	const rows = 20_000
	data, want := write(t, rows, 42)
	p, err := phone.NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	replay, _ := newGen(rows, 42)
	r := csv.NewReader(bytes.NewReader(data))
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != Header {
		t.Fatalf("header %q, %v", head, err)
	}
	var got Stats
	seen := map[string]bool{}
	states := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got.Rows++
		before := replay.stats.Invalid
		replay.row()
		meantInvalid := replay.stats.Invalid > before
		n, err := p.Parse(rec[0])
		switch {
		case err != nil && !meantInvalid:
			t.Errorf("row %d: %q meant valid: %v", got.Rows, rec[0], err)
		case err == nil && meantInvalid:
			t.Errorf("row %d: %q meant invalid, parses as %s", got.Rows, rec[0], n.E164)
		}
		if err != nil {
			got.Invalid++
			continue
		}
		if seen[n.E164] {
			got.Duplicates++
		}
		seen[n.E164] = true
		if rec[4] != "" {
			states++
			if rec[4] != n.State {
				t.Errorf("row %d: state %q, the number says %q", got.Rows, rec[4], n.State)
			}
		}
	}
	got.Accepted = got.Rows - got.Invalid - got.Duplicates
	got.Bytes = int64(len(data))
	if got != want {
		t.Fatalf("recount %+v, Write said %+v", got, want)
	}
	// The shares the package promises, loosely.
	share := func(n int) float64 { return float64(n) / rows }
	if s := share(want.Invalid); s < 0.015 || s > 0.025 {
		t.Errorf("invalid share %.3f", s)
	}
	if s := share(want.Duplicates); s < 0.04 || s > 0.06 {
		t.Errorf("duplicate share %.3f", s)
	}
	if s := float64(states) / float64(rows-want.Invalid); s < 0.55 || s > 0.65 {
		t.Errorf("state share %.3f", s)
	}
}

// TestQuoting: notes and company names need quoting, and some span lines;
// every record still has the header's columns.
func TestQuoting(t *testing.T) {
	data, s := write(t, 2000, 3)
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 9
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != s.Rows+1 {
		t.Fatalf("%d records for %d rows", len(recs), s.Rows)
	}
	var comma, quote, newline, noZip bool
	for _, rec := range recs[1:] {
		notes := rec[8]
		comma = comma || strings.Contains(notes, ",")
		quote = quote || strings.Contains(notes, `"`)
		newline = newline || strings.Contains(notes, "\n")
		noZip = noZip || rec[5] == ""
	}
	if !comma || !quote || !newline || !noZip {
		t.Fatalf("comma %v quote %v newline %v empty zip %v", comma, quote, newline, noZip)
	}
}

// TestSpread: both countries, and most area codes of the table, appear in a
// modest file.
func TestSpread(t *testing.T) {
	g, _ := newGen(20_000, 1)
	npas := map[uint16]bool{}
	countries := map[string]int{}
	for i := uint64(0); i < 20_000; i++ {
		ex, _ := g.number(i)
		npas[ex.npa] = true
		countries[ex.area.country]++
	}
	if len(npas) < len(areas)*9/10 || countries["US"] == 0 || countries["CA"] == 0 {
		t.Fatalf("%d of %d area codes, by country %v", len(npas), len(areas), countries)
	}
}

func BenchmarkWrite(b *testing.B) {
	const rows = 1_000_000
	for b.Loop() {
		if _, err := Write(io.Discard, rows, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1M-rows")
}

// TestTable: every exchange of the table is valid at both ends of its line
// range, in the country and state the table says — what the library says
// today, should its data move on after table.go was generated.
func TestTable(t *testing.T) {
	p, err := phone.NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exchanges {
		for _, line := range []int{0, 9999} {
			raw := string(appendPhone(nil, 3, int(ex.npa), int(ex.nxx), line))
			n, err := p.Parse(raw)
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if n.Region != ex.area.country || (ex.area.state != "" && n.State != ex.area.state) {
				t.Fatalf("%s: %s %s, the table says %s %s", raw, n.Region, n.State, ex.area.country, ex.area.state)
			}
		}
	}
}
