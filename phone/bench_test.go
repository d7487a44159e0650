package phone

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchMix returns n inputs like those of a prospect list, from a fixed
// seed: valid numbers of the locale spread over exchanges (sizes drawn from
// [1, exchanges] of the library's valid exchanges), written in the formats of
// nanpFormats, with 2% invalid ones (bad area code, exchange or length) and
// 1% toll-free.
func benchMix(b *testing.B, n, exchanges int) []string {
	b.Helper()
	p := mustParser()
	r := rand.New(rand.NewPCG(1, 2))
	var valid [][2]int
	for len(valid) < exchanges {
		npa, nxx := 200+r.IntN(800), 200+r.IntN(800)
		if _, err := p.parseSlow(fmt.Sprintf("%03d%03d1234", npa, nxx)); err == nil {
			valid = append(valid, [2]int{npa, nxx})
		}
	}
	out := make([]string, n)
	for i := range out {
		switch x := r.IntN(100); {
		case x < 1:
			out[i] = formatNANP(r, 800, 200+r.IntN(800), r.IntN(10000))
		case x < 2:
			out[i] = formatNANP(r, 211, 200+r.IntN(800), r.IntN(10000)) // N11 area code
		case x < 3:
			out[i] = fmt.Sprintf("%03d-%04d", 200+r.IntN(800), r.IntN(10000)) // no area code
		default:
			ex := valid[r.IntN(len(valid))]
			out[i] = formatNANP(r, ex[0], ex[1], r.IntN(10000))
		}
	}
	return out
}

func reportNumbers(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "numbers/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/number")
}

// BenchmarkParseLibrary is the library alone (phonenumbers.Parse,
// IsValidNumber, region, geocoding, time zones) on the typical mix.
func BenchmarkParseLibrary(b *testing.B) {
	mix := benchMix(b, 10_000, 5_000)
	p := mustParser()
	i := 0
	for b.Loop() {
		p.parseSlow(mix[i%len(mix)])
		i++
	}
	reportNumbers(b)
}

// BenchmarkParseFast is Parse on the same mix, once the parser knows the
// mix's exchanges: the steady state of a long upload.
func BenchmarkParseFast(b *testing.B) {
	mix := benchMix(b, 10_000, 5_000)
	p, err := NewParser("USCA")
	if err != nil {
		b.Fatal(err)
	}
	for _, raw := range mix {
		p.Parse(raw)
	}
	i := 0
	for b.Loop() {
		p.Parse(mix[i%len(mix)])
		i++
	}
	reportNumbers(b)
}

// BenchmarkParseFastWellFormed is BenchmarkParseFast without the inputs
// that are not for the fast path (the 1% without an area code): what a
// well-formed number costs once its exchange is known.
func BenchmarkParseFastWellFormed(b *testing.B) {
	var mix []string
	for _, raw := range benchMix(b, 10_000, 5_000) {
		if _, ok := nanpNational(raw); ok {
			mix = append(mix, raw)
		}
	}
	p, err := NewParser("USCA")
	if err != nil {
		b.Fatal(err)
	}
	for _, raw := range mix {
		p.Parse(raw)
	}
	i := 0
	for b.Loop() {
		p.Parse(mix[i%len(mix)])
		i++
	}
	reportNumbers(b)
}

// BenchmarkParseFastCold is Parse of a million numbers by a new parser,
// spread over 100,000 exchanges (about a quarter of the valid ones), so
// about one number in ten teaches the parser an exchange: closer to the
// first upload after a start.
func BenchmarkParseFastCold(b *testing.B) {
	const n = 1_000_000
	mix := benchMix(b, n, 100_000)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p, err := NewParser("USCA")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, raw := range mix {
			p.Parse(raw)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "numbers/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/number")
}
