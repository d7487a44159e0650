package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is the nearest-rank percentile of sorted values: the
// ceil(q/100·n)-th smallest, in integer arithmetic (q in tenths of a
// percent) so that no floating-point rounding is shared with the code
// under test.
func exactPercentile(sorted []int64, q float64) int64 {
	tenths := int64(math.Round(q * 10))
	r := (tenths*int64(len(sorted)) + 999) / 1000
	return sorted[min(max(r, 1), int64(len(sorted)))-1]
}

func TestPercentilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() int64{
		// Below 2048 µs HDR keeps single-microsecond buckets: exact.
		"uniform 1..1000 µs": func() int64 { return 1 + r.Int64N(1000) },
		"lognormal median 2 ms": func() int64 {
			return int64(2000 * math.Exp(r.NormFloat64()))
		},
		"exponential mean 5 ms": func() int64 { return int64(5000 * r.ExpFloat64()) },
		// A fast mode and a slow tail, as a cache miss or a GC pause
		// would make: p99 and p99.9 land in the tail.
		"bimodal 200 µs / 50 ms": func() int64 {
			if r.IntN(100) < 97 {
				return 150 + r.Int64N(100)
			}
			return 40_000 + r.Int64N(20_000)
		},
		"wide 1 µs..30 s": func() int64 { return int64(math.Exp(r.Float64() * math.Log(30e6))) },
	}
	qs := []float64{50, 90, 99, 99.9, 100}
	for name, draw := range dists {
		for _, n := range []int{1, 7, 100, 1000, 100_000} {
			h := NewHistogram()
			vals := make([]int64, n)
			var sum int64
			for i := range vals {
				v := max(draw(), 1)
				vals[i] = v
				sum += v
				h.RecordMicros(v)
			}
			slices.Sort(vals)
			got := h.Percentiles(qs...)
			for i, q := range qs {
				want := exactPercentile(vals, q)
				// The top of want's bucket: at most 1/1024 above it
				// (2048 sub-buckets per power of two), never below.
				if got[i] < want || float64(got[i]) > float64(want)*(1+1.0/1024) {
					t.Errorf("%s, n=%d: p%g = %d, exact %d (outside HDR precision)", name, n, q, got[i], want)
				}
				if want < 2048 && got[i] != want {
					t.Errorf("%s, n=%d: p%g = %d, exact %d (unit buckets below 2048 µs)", name, n, q, got[i], want)
				}
			}
			s := h.Summary()
			if s.Count != int64(n) || s.Min != vals[0] || s.Max != vals[n-1] {
				t.Errorf("%s, n=%d: count/min/max %d/%d/%d, want %d/%d/%d", name, n, s.Count, s.Min, s.Max, n, vals[0], vals[n-1])
			}
			if mean := float64(sum) / float64(n); math.Abs(s.Mean-mean) > 1e-9*mean {
				t.Errorf("%s, n=%d: mean %f, want %f", name, n, s.Mean, mean)
			}
			if s.P50 != got[0] || s.P90 != got[1] || s.P99 != got[2] || s.P999 != got[3] {
				t.Errorf("%s, n=%d: summary %+v disagrees with Percentiles %v", name, n, s, got)
			}
		}
	}
}

// TestPercentileRanks pins the rank rule on values small enough to be
// exact, where an off-by-one shows.
func TestPercentileRanks(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 100; v++ {
		h.RecordMicros(v)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{1, 1}, {50, 50}, {50.5, 51}, {90, 90}, {99, 99}, {99.9, 100}, {100, 100}} {
		if got := h.Percentiles(c.q)[0]; got != c.want {
			t.Errorf("p%g of 1..100 = %d, want %d", c.q, got, c.want)
		}
	}
	if got := NewHistogram().Percentiles(50)[0]; got != 0 {
		t.Errorf("p50 of nothing = %d, want 0", got)
	}
}

func TestMergeIsTheWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	whole := NewHistogram()
	parts := []*Histogram{NewHistogram(), NewHistogram(), NewHistogram()}
	for i := range 30_000 {
		d := time.Duration(r.ExpFloat64() * float64(3*time.Millisecond))
		whole.Record(d)
		parts[i%3].Record(d)
	}
	merged := NewHistogram()
	for _, p := range parts {
		merged.Merge(p)
	}
	merged.Merge(NewHistogram()) // an idle worker changes nothing
	if a, b := whole.Summary(), merged.Summary(); a != b {
		t.Fatalf("merged %+v, whole %+v", b, a)
	}
}

func TestHistogramClamps(t *testing.T) {
	h := NewHistogram()
	h.Record(0)
	h.Record(2 * time.Minute)
	s := h.Summary()
	if s.Count != 2 || s.Min != 1 || s.Max != 60_000_000 || h.Clamped() != 1 {
		t.Fatalf("summary %+v, clamped %d", s, h.Clamped())
	}
}

func TestCoarseBuckets(t *testing.T) {
	prevIdx := -1
	for v := int64(0); v <= highestMicros; v += 1 + v/64 {
		i := coarseIndex(v)
		if i < 0 || i >= coarseBuckets {
			t.Fatalf("value %d: bucket %d of %d", v, i, coarseBuckets)
		}
		if i < prevIdx {
			t.Fatalf("value %d: bucket %d after %d", v, i, prevIdx)
		}
		prevIdx = i
		up := coarseUpper(i)
		if up < v || (i > 0 && coarseUpper(i-1) >= v) {
			t.Fatalf("value %d in bucket %d whose range ends at %d (previous ends at %d)", v, i, up, coarseUpper(i-1))
		}
		if v > 0 && float64(up-v) > 0.125*float64(v) {
			t.Fatalf("value %d reported as %d: over 12.5 %%", v, up)
		}
	}
	var c coarse
	for v := int64(1); v <= 1000; v++ {
		c.record(v * 100)
	}
	var s [coarseBuckets]int64
	c.snapshot(&s)
	if p := coarsePercentile(&s, 99); p < 99_000 || p > 99_000*1.125 {
		t.Fatalf("coarse p99 of 100..100000 = %d", p)
	}
}
