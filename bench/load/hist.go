package load

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Range of the histograms, in microseconds: 1 µs to 60 s, 3 significant
// digits (a value is reported within 0.1 % of what was recorded).
const (
	lowestMicros  = 1
	highestMicros = 60_000_000
	sigFigs       = 3
)

// Latency summarises a latency distribution. Times are in microseconds;
// the percentiles follow the nearest-rank definition (the p-th percentile
// is the smallest recorded value with at least p % of the values at or
// below it), reported as the top of its HDR bucket, so at most 0.1 % above
// the exact value and never above Max.
type Latency struct {
	Count int64   `json:"count"`
	Min   int64   `json:"min_us"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p999_us"`
	Max   int64   `json:"max_us"`
	Mean  float64 `json:"mean_us"`
}

// Histogram records latencies with HDR precision. It is not safe for
// concurrent use: each worker owns one per op and they are merged at the
// end, so recording takes no lock.
type Histogram struct {
	h        *hdrhistogram.Histogram
	min, max int64 // exact, in µs
	sum      int64 // exact, for the mean
	clamped  int64
}

// NewHistogram returns an empty histogram of 1 µs to 60 s, 3 significant
// digits.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(lowestMicros, highestMicros, sigFigs)}
}

// Record adds one latency. Latencies are kept in whole microseconds;
// anything under 1 µs counts as 1 µs and anything over 60 s as 60 s (and
// is counted in Clamped), so no sample is ever dropped.
func (h *Histogram) Record(d time.Duration) { h.RecordMicros(d.Microseconds()) }

// RecordMicros adds one latency given in microseconds.
func (h *Histogram) RecordMicros(us int64) {
	if us < lowestMicros {
		us = lowestMicros
	}
	if us > highestMicros {
		us = highestMicros
		h.clamped++
	}
	_ = h.h.RecordValue(us) // in range by construction
	if h.h.TotalCount() == 1 || us < h.min {
		h.min = us
	}
	if us > h.max {
		h.max = us
	}
	h.sum += us
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.h.TotalCount() == 0 {
		return
	}
	if h.h.TotalCount() == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.sum += o.sum
	h.clamped += o.clamped
	h.h.Merge(o.h)
}

// Count is the number of values recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Clamped is how many values were over 60 s and recorded as 60 s.
func (h *Histogram) Clamped() int64 { return h.clamped }

// Percentiles returns the nearest-rank percentiles qs (in percent, 0 < q
// ≤ 100) in µs, in one pass over the buckets.
func (h *Histogram) Percentiles(qs ...float64) []int64 {
	out := make([]int64, len(qs))
	n := h.h.TotalCount()
	if n == 0 {
		return out
	}
	ranks := make([]int64, len(qs))
	for i, q := range qs {
		ranks[i] = rank(q, n)
	}
	var seen int64
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		seen += b.Count
		for i, r := range ranks {
			if out[i] == 0 && seen >= r {
				// The bucket's top can lie past the largest value
				// recorded (and under the smallest); the true value
				// is within both bounds.
				out[i] = max(min(b.To, h.max), h.min)
			}
		}
	}
	return out
}

// rank is the 1-based nearest rank of the q-th percentile among n values:
// ceil(q/100·n). The small epsilon keeps 99 % of 100 at rank 99, where the
// float product is 99.00000000000001.
func rank(q float64, n int64) int64 {
	r := int64(math.Ceil(q/100*float64(n) - 1e-9))
	return min(max(r, 1), n)
}

// Summary reads the usual figures off h.
func (h *Histogram) Summary() Latency {
	n := h.h.TotalCount()
	if n == 0 {
		return Latency{}
	}
	p := h.Percentiles(50, 90, 99, 99.9)
	return Latency{
		Count: n, Min: h.min, P50: p[0], P90: p[1], P99: p[2], P999: p[3], Max: h.max,
		Mean: float64(h.sum) / float64(n),
	}
}

// coarse is a log-linear histogram of atomic counters (8 buckets per power
// of two, so a value is placed within 12.5 %) that a worker writes and the
// progress ticker reads at the same time without a lock. It serves the
// live p99 and the per-second p99 of the timeline; the report's
// percentiles come from the HDR histograms.
type coarse [coarseBuckets]atomic.Int64

const coarseBuckets = 8 * 24 // up to 2^26 µs > 60 s

func coarseIndex(us int64) int {
	if us < 8 {
		return int(max(us, 0))
	}
	us = min(us, highestMicros)
	e := bits.Len64(uint64(us)) - 1 // ≥ 3
	m := us >> (e - 3)              // 8..15
	return 8*(e-2) + int(m-8)
}

// coarseUpper is the largest value that falls into bucket i.
func coarseUpper(i int) int64 {
	if i < 8 {
		return int64(i)
	}
	e := i/8 + 2
	m := int64(i%8 + 8)
	return (m+1)<<(e-3) - 1
}

func (c *coarse) record(us int64) { c[coarseIndex(us)].Add(1) }

// snapshot copies the counters into s.
func (c *coarse) snapshot(s *[coarseBuckets]int64) {
	for i := range c {
		s[i] = c[i].Load()
	}
}

// coarsePercentile is the nearest-rank q-th percentile of the counts in s,
// as the top of its bucket; 0 when s is empty.
func coarsePercentile(s *[coarseBuckets]int64, q float64) int64 {
	var n int64
	for _, c := range s {
		n += c
	}
	if n == 0 {
		return 0
	}
	r := rank(q, n)
	var seen int64
	for i, c := range s {
		seen += c
		if seen >= r {
			return coarseUpper(i)
		}
	}
	return coarseUpper(coarseBuckets - 1)
}
