package load

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Result is what a run measured. Its JSON field names are stable.
type Result struct {
	Name         string  `json:"name"`
	Model        string  `json:"model"` // "closed" or "open"
	Concurrency  int     `json:"concurrency"`
	Rate         float64 `json:"rate,omitempty"` // open loop: requests due per second
	Mix          string  `json:"mix"`
	Seed         uint64  `json:"seed"`
	Duration     float64 `json:"duration_s,omitempty"` // as configured
	RequestLimit int64   `json:"request_limit,omitempty"`
	Started      string  `json:"started"`   // RFC 3339, UTC
	Elapsed      float64 `json:"elapsed_s"` // first request to last answer
	// SentRate is the open loop's achieved rate: requests sent over the
	// length of the schedule. Below Rate, the generator or the
	// connections could not keep up (see SendLag and KindUnsent).
	SentRate float64 `json:"sent_rate,omitempty"`
	// SendLag is, in the open loop, how late requests went out after
	// they were due: large values mean every connection was busy (the
	// server is saturated at this rate) or the client starved of CPU.
	SendLag  *Latency   `json:"send_lag,omitempty"`
	Ops      []OpResult `json:"ops"` // in the mix's order
	Total    OpResult   `json:"total"`
	Timeline []Tick     `json:"timeline"`
	Samples  []Sample   `json:"samples,omitempty"`
}

// OpResult is one op's figures, or every op's ("total").
type OpResult struct {
	Op       string `json:"op"`
	Weight   int    `json:"weight,omitempty"`
	Requests int64  `json:"requests"` // OK + Errors
	OK       int64  `json:"ok"`
	Errors   int64  `json:"errors"`
	// ErrorKinds counts errors by kind: "status_NNN" for an unexpected
	// status, KindTimeout, KindConnection, KindNoFreeConn, KindUnsent,
	// KindOther.
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// Throughput is successful responses per second of Elapsed.
	Throughput float64 `json:"ok_per_s"`
	// Latency is of the successful responses only: a fast 500 or a 10 s
	// timeout would pull the percentiles towards what the server did not
	// do; errors are counted apart so they hide nothing.
	Latency Latency `json:"latency"`
	Clamped int64   `json:"clamped,omitempty"` // latencies over 60 s, counted as 60 s

	hist *Histogram
}

// Histogram is the op's merged histogram, for further percentiles; nil in
// a Result read back from JSON.
func (o *OpResult) Histogram() *Histogram { return o.hist }

// Tick is one second (about) of the run, as the monitor saw it.
type Tick struct {
	T        float64 `json:"t_s"`    // end of the tick, since the start
	Span     float64 `json:"span_s"` // its length
	Requests int64   `json:"requests"`
	OK       int64   `json:"ok"`
	Errors   int64   `json:"errors"`
	// P99 of the tick's successful responses, in µs, within 12.5 % (a
	// coarse histogram that can be read while workers write it).
	P99 int64 `json:"p99_us"`
}

// Sample is what Config.Sample reports about the server each second.
type Sample struct {
	T          float64            `json:"t_s"`
	CPUPercent float64            `json:"cpu_percent"` // of one core
	RSSKB      int64              `json:"rss_kb"`
	Values     map[string]float64 `json:"values,omitempty"` // anything else
	Err        string             `json:"error,omitempty"`
}

// Op returns the figures of op name, or nil.
func (r *Result) Op(name string) *OpResult {
	for i := range r.Ops {
		if r.Ops[i].Op == name {
			return &r.Ops[i]
		}
	}
	if name == "total" {
		return &r.Total
	}
	return nil
}

// JSON is r, indented.
func (r *Result) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Describe is one line on how the load was made.
func (r *Result) Describe() string {
	var b strings.Builder
	if r.Model == "open" {
		fmt.Fprintf(&b, "open loop at %g req/s (achieved %.0f), up to %d in flight", r.Rate, r.SentRate, r.Concurrency)
	} else {
		fmt.Fprintf(&b, "closed loop, %d workers", r.Concurrency)
	}
	fmt.Fprintf(&b, ", %.1f s, mix %s, seed %d", r.Elapsed, r.Mix, r.Seed)
	return b.String()
}

// Markdown is a table of r: one row per op and the total.
func (r *Result) Markdown() string {
	var b strings.Builder
	name := r.Name
	if name == "" {
		name = "load"
	}
	fmt.Fprintf(&b, "**%s**: %s.\n\n", name, r.Describe())
	b.WriteString("| op | requests | ok/s | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|\n")
	row := func(o *OpResult, bold bool) {
		l := o.Latency
		cells := []string{
			o.Op, fmt.Sprint(o.Requests), fmt.Sprintf("%.0f", o.Throughput), errorCell(o),
			ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max),
		}
		if bold {
			for i, c := range cells {
				cells[i] = "**" + c + "**"
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for i := range r.Ops {
		row(&r.Ops[i], false)
	}
	row(&r.Total, true)
	b.WriteString("\nLatencies are of successful responses")
	if r.Model == "open" {
		b.WriteString(", from when each request was due (coordinated omission corrected)")
		if r.SendLag != nil && r.SendLag.Count > 0 {
			fmt.Fprintf(&b, "; requests went out %s ms late at p99 (max %s ms)", ms(r.SendLag.P99), ms(r.SendLag.Max))
		}
	} else {
		b.WriteString(", each from its send")
	}
	b.WriteString(".\n")
	if s := samplesLine(r.Samples); s != "" {
		b.WriteString(s)
	}
	return b.String()
}

func samplesLine(ss []Sample) string {
	var cpuSum, cpuMax float64
	var rssMax int64
	n := 0
	for _, s := range ss {
		if s.Err != "" {
			continue
		}
		n++
		cpuSum += s.CPUPercent
		cpuMax = math.Max(cpuMax, s.CPUPercent)
		rssMax = max(rssMax, s.RSSKB)
	}
	if n == 0 {
		return ""
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("Server: CPU %.0f %% of a core on average (max %.0f %%), RSS up to %.0f MB (%d sample%s, one a second).\n",
		cpuSum/float64(n), cpuMax, float64(rssMax)/1024, n, plural)
}

func errorCell(o *OpResult) string {
	if o.Errors == 0 {
		return "0"
	}
	kinds := make([]string, 0, len(o.ErrorKinds))
	for k := range o.ErrorKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for i, k := range kinds {
		kinds[i] = fmt.Sprintf("%s %d", k, o.ErrorKinds[k])
	}
	return fmt.Sprintf("%d (%s)", o.Errors, strings.Join(kinds, ", "))
}

// ms formats microseconds as milliseconds with three significant digits
// or more.
func ms(us int64) string {
	v := float64(us) / 1000
	switch {
	case us == 0:
		return "–"
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// CompareMarkdown sets two runs side by side, op by op (the ops of a, then
// those only b has, then the total): throughput and p99 of each, and the
// ratios a/b, as issue 8 reports them.
func CompareMarkdown(a, b *Result) string {
	an, bn := a.Name, b.Name
	if an == "" {
		an = "A"
	}
	if bn == "" {
		bn = "B"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "**%s** (%s) vs **%s** (%s).\n\n", an, a.Describe(), bn, b.Describe())
	fmt.Fprintf(&s, "| op | %s ok/s | %s ok/s | ok/s %s ÷ %s | %s p99 ms | %s p99 ms | p99 %s ÷ %s | %s errors | %s errors |\n",
		an, bn, an, bn, an, bn, an, bn, an, bn)
	s.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var names []string
	seen := map[string]bool{}
	for _, r := range []*Result{a, b} {
		for _, o := range r.Ops {
			if !seen[o.Op] {
				seen[o.Op] = true
				names = append(names, o.Op)
			}
		}
	}
	names = append(names, "total")
	for _, n := range names {
		oa, ob := a.Op(n), b.Op(n)
		cell := func(o *OpResult, f func(*OpResult) string) string {
			if o == nil {
				return "–"
			}
			return f(o)
		}
		tput := func(o *OpResult) string { return fmt.Sprintf("%.0f", o.Throughput) }
		p99 := func(o *OpResult) string { return ms(o.Latency.P99) }
		errs := func(o *OpResult) string { return fmt.Sprint(o.Errors) }
		tr, pr := "–", "–"
		if oa != nil && ob != nil {
			tr = ratio(oa.Throughput, ob.Throughput)
			pr = ratio(float64(oa.Latency.P99), float64(ob.Latency.P99))
		}
		label := n
		if n == "total" {
			label = "**total**"
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
			cell(oa, tput), cell(ob, tput), tr, cell(oa, p99), cell(ob, p99), pr, cell(oa, errs), cell(ob, errs))
	}
	return s.String()
}

func ratio(x, y float64) string {
	if y == 0 || x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", x/y)
}
