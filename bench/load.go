package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// Latency summarises a latency distribution in microseconds.
type Latency struct {
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
}

// Summarise reads percentiles off h (values in microseconds).
func Summarise(h *hdrhistogram.Histogram) Latency {
	return Latency{
		P50:  float64(h.ValueAtQuantile(50)),
		P90:  float64(h.ValueAtQuantile(90)),
		P99:  float64(h.ValueAtQuantile(99)),
		P999: float64(h.ValueAtQuantile(99.9)),
		Max:  float64(h.Max()),
	}
}

// NewHistogram records 1 µs to 60 s with 3 significant digits.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// RateResult is the outcome of a fixed-rate run.
type RateResult struct {
	Rate     float64 `json:"rate"`     // requested per second
	Achieved float64 `json:"achieved"` // completed per second
	Requests int64   `json:"requests"` // completed
	Errors   int64   `json:"errors"`   // transport errors and non-2xx
	Latency  Latency `json:"latency"`  // from the moment each request was due
}

// Request describes one HTTP request to repeat.
type Request struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte
}

// FixedRate sends req at rate per second for d (open loop: requests are due
// on a fixed schedule whether or not earlier ones finished) with up to
// conns concurrent connections, and measures each request's latency from
// its due time.
func FixedRate(ctx context.Context, req Request, rate float64, d time.Duration, conns int) (RateResult, error) {
	if rate <= 0 || conns <= 0 {
		return RateResult{}, errors.New("bench: rate and conns must be > 0")
	}
	uri := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(uri)
	if err := uri.Parse(nil, []byte(req.URL)); err != nil {
		return RateResult{}, err
	}
	hc := &fasthttp.HostClient{Addr: string(uri.Host()), MaxConns: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	due := make(chan time.Time, conns*4)
	var mu sync.Mutex
	h := NewHistogram()
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := NewHistogram()
			rq, rs := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(rq)
			defer fasthttp.ReleaseResponse(rs)
			for at := range due {
				rq.Reset()
				rq.SetRequestURI(req.URL)
				rq.Header.SetMethod(req.Method)
				for k, v := range req.Header {
					rq.Header.Set(k, v)
				}
				if req.Body != nil {
					rq.SetBody(req.Body)
				}
				err := hc.Do(rq, rs)
				lat := time.Since(at).Microseconds()
				if lat < 1 {
					lat = 1
				}
				_ = local.RecordValue(lat)
				done.Add(1)
				if err != nil || rs.StatusCode()/100 != 2 {
					failed.Add(1)
				}
			}
			mu.Lock()
			h.Merge(local)
			mu.Unlock()
		}()
	}
	start := dialerd.Stopwatch()
	interval := time.Duration(float64(time.Second) / rate)
	n := int64(float64(d) / float64(interval))
	for i := int64(0); i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 200*time.Microsecond {
			time.Sleep(w)
		}
		select {
		case due <- at:
		case <-ctx.Done():
			i = n
		}
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	return RateResult{
		Rate: rate, Achieved: float64(done.Load()) / elapsed.Seconds(),
		Requests: done.Load(), Errors: failed.Load(), Latency: Summarise(h),
	}, nil
}

// WrkResult is what wrk reports for a saturation run.
type WrkResult struct {
	RPS      float64 `json:"rps"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"` // socket errors and non-2xx/3xx
	Latency  Latency `json:"latency"`
}

// Wrk runs wrk against url with a header and returns its figures.
func Wrk(ctx context.Context, url string, header string, threads, conns int, d time.Duration) (WrkResult, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())), "--latency"}
	if header != "" {
		args = append(args, "-H", header)
	}
	out, err := exec.CommandContext(ctx, "wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return WrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return ParseWrk(string(out))
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkPercent = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// ParseWrk reads wrk --latency output.
func ParseWrk(out string) (WrkResult, error) {
	var r WrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk: no Requests/sec in output: %q", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m = wrkTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m = wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += n
	}
	if m = wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	for _, m := range wrkPercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		switch m[1] {
		case "50":
			r.Latency.P50 = v
		case "90":
			r.Latency.P90 = v
		case "99":
			r.Latency.P99 = v
		}
	}
	if !strings.Contains(out, "Latency Distribution") {
		return r, errors.New("wrk: run without --latency")
	}
	return r, nil
}
