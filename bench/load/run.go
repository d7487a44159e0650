package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// Config is one run.
type Config struct {
	// Name labels the run in reports ("dialerd", "postgres").
	Name string
	Ops  map[string]Op
	Mix  Mix
	// Seed drives the op choices: the same seed picks the same ops.
	Seed uint64
	// Concurrency is the number of workers in the closed loop, each with
	// one request in flight; in the open loop, the most requests in
	// flight at once (and connections per host).
	Concurrency int
	// Rate, when > 0, selects the open loop: requests are due every
	// 1/Rate s whatever the server does.
	Rate float64
	// The run ends after Duration, or after Requests requests (in all),
	// whichever comes first; at least one must be set.
	Duration time.Duration
	Requests int64
	// Timeout bounds each request [10 s].
	Timeout time.Duration
	// Client, when nil, is a fasthttp.Client with Concurrency connections
	// per host that never retries.
	Client *fasthttp.Client
	// Progress receives the progress display; nil shows none.
	Progress     io.Writer
	ProgressMode ProgressMode
	// Sample, when set, is called every second (and at the end of a run
	// shorter than that), from one goroutine; the samples go into the
	// Result. ProcSampler reads a server process's CPU and memory.
	Sample func() Sample
}

// ProgressMode is how the progress display is written.
type ProgressMode int

const (
	// ProgressAuto redraws one line every second when Progress is a
	// terminal, and writes a line every 5 s otherwise (a log file or CI
	// output would fill with redraws).
	ProgressAuto ProgressMode = iota
	// ProgressRedraw rewrites one line ("\r") every second.
	ProgressRedraw
	// ProgressLines writes a line every 5 s.
	ProgressLines
)

const defaultTimeout = 10 * time.Second

// newClient is a client for load: enough connections that a worker never
// waits for one, and no retries, which would hide an error and count two
// round trips as one latency.
func newClient(conns int, timeout time.Duration) *fasthttp.Client {
	return &fasthttp.Client{
		Name:                      "dialerd-load",
		MaxConnsPerHost:           conns,
		MaxIdemponentCallAttempts: 1,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdleConnDuration:       time.Minute,
	}
}

// worker is what one goroutine counts. The atomics are read by the
// monitor every second; the rest only once the worker is done.
type worker struct {
	requests, ok, errs atomic.Int64
	lat                coarse
	hists              []*Histogram // per op of the mix, ok responses only
	counts             []opCount
	lag                *Histogram // open loop: send time − due time
	_                  [64]byte   // keeps neighbours' counters off this cache line
}

type opCount struct {
	requests, ok int64
	errs         map[string]int64
}

func newWorker(nops int) *worker {
	w := &worker{hists: make([]*Histogram, nops), counts: make([]opCount, nops), lag: NewHistogram()}
	for i := range w.hists {
		w.hists[i] = NewHistogram()
		w.counts[i].errs = map[string]int64{}
	}
	return w
}

func (w *worker) record(i int, op *Op, lat time.Duration, status int, err error) {
	c := &w.counts[i]
	c.requests++
	kind := ""
	switch {
	case err != nil:
		kind = errorKind(err)
	case !op.ok(status):
		kind = statusKind(status)
	}
	if kind == "" {
		c.ok++
		w.hists[i].Record(lat)
		w.lat.record(lat.Microseconds())
		w.ok.Add(1)
	} else {
		c.errs[kind]++
		w.errs.Add(1)
	}
	w.requests.Add(1)
}

// Error kinds besides "status_NNN".
const (
	KindTimeout    = "timeout"      // no answer within Timeout
	KindConnection = "connection"   // refused, reset, closed before answering
	KindNoFreeConn = "no_free_conn" // a caller's Client had too few connections
	KindUnsent     = "unsent"       // open loop: due in the window, never sent (every connection busy)
	KindOther      = "other"
)

func errorKind(err error) string {
	var ne net.Error
	var oe *net.OpError
	switch {
	case err == errUnsent:
		return KindUnsent
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return KindNoFreeConn
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &oe):
		return KindConnection
	}
	return KindOther
}

var statusKinds = func() (k [600]string) {
	for i := range k {
		k[i] = "status_" + strconv.Itoa(i)
	}
	return k
}()

func statusKind(s int) string {
	if s >= 0 && s < len(statusKinds) {
		return statusKinds[s]
	}
	return "status_" + strconv.Itoa(s)
}

type runner struct {
	cfg     Config
	ops     []Op // in the mix's order
	client  *fasthttp.Client
	timeout time.Duration
	workers []*worker
	start   time.Time
	stop    atomic.Bool

	// The monitor's own state.
	timeline []Tick
	samples  []Sample
	prev     tickState // at the last tick
	prevTick tickState // at the one before
	progress *progress
}

type tickState struct {
	at                 time.Time
	requests, ok, errs int64
	lat                [coarseBuckets]int64
}

// Run drives cfg's load and reports it. It returns an error only when the
// configuration is wrong; failed requests are counted in the Result.
// Cancelling ctx ends the run early, with what was measured so far.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, client: cfg.Client, timeout: cfg.Timeout}
	if r.timeout <= 0 {
		r.timeout = defaultTimeout
	}
	if r.client == nil {
		r.client = newClient(cfg.Concurrency, r.timeout)
	}
	for _, n := range cfg.Mix.Names {
		r.ops = append(r.ops, cfg.Ops[n])
	}
	nw := cfg.Concurrency
	if cfg.Rate > 0 {
		nw++ // the scheduler counts the requests it could not send
	}
	for range nw {
		r.workers = append(r.workers, newWorker(len(r.ops)))
	}
	if cfg.Progress != nil {
		r.progress = newProgress(cfg)
	}

	r.start = dialerd.Stopwatch()
	r.prev.at, r.prevTick.at = r.start, r.start
	done := make(chan struct{})
	monitored := make(chan struct{})
	go func() {
		defer close(monitored)
		r.monitor(ctx, done)
	}()
	if cfg.Rate > 0 {
		r.openLoop(ctx)
	} else {
		r.closedLoop()
	}
	end := dialerd.Stopwatch()
	close(done)
	<-monitored
	return r.result(end), nil
}

func (cfg *Config) check() error {
	switch {
	case len(cfg.Mix.Names) == 0 || len(cfg.Mix.Names) != len(cfg.Mix.Weights):
		return errors.New("load: empty mix; use ParseMix")
	case cfg.Concurrency <= 0:
		return fmt.Errorf("load: concurrency %d; want > 0", cfg.Concurrency)
	case cfg.Duration <= 0 && cfg.Requests <= 0:
		return errors.New("load: set a duration or a number of requests")
	case cfg.Rate < 0:
		return fmt.Errorf("load: rate %g; want > 0 (open loop) or 0 (closed loop)", cfg.Rate)
	}
	for i, n := range cfg.Mix.Names {
		op, ok := cfg.Ops[n]
		if !ok || op.Build == nil {
			return fmt.Errorf("load: mix names %q, which has no op (known: %v)", n, opNames(cfg.Ops))
		}
		if cfg.Mix.Weights[i] <= 0 {
			return fmt.Errorf("load: weight of %s is %d; want > 0", n, cfg.Mix.Weights[i])
		}
	}
	cfg.Mix.init() // a Mix built by hand has no cumulative weights yet
	return nil
}

// closedLoop runs Concurrency workers, each sending its next request as
// soon as the previous one is answered. Latency is each request's own
// round trip: the load adapts to the server, so the figures describe the
// server at the throughput it sustained, not at a chosen rate.
func (r *runner) closedLoop() {
	cfg := &r.cfg
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = r.start.Add(cfg.Duration)
	}
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := r.workers[w]
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)+1))
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for n := int64(0); !r.stop.Load(); n++ {
				if cfg.Requests > 0 && claimed.Add(1) > cfg.Requests {
					return
				}
				i := cfg.Mix.Pick(rng)
				req.Reset()
				resp.Reset()
				r.ops[i].Build(req, Call{Worker: w, Workers: cfg.Concurrency, N: n})
				t0 := dialerd.Stopwatch()
				if !deadline.IsZero() && !t0.Before(deadline) {
					return
				}
				err := r.client.DoTimeout(req, resp, r.timeout)
				st.record(i, &r.ops[i], time.Since(t0), resp.StatusCode(), err)
			}
		}()
	}
	wg.Wait()
}

type due struct {
	n  int64
	op int
	at time.Time
}

// openLoop sends requests on a fixed schedule, the n-th due at start +
// n/Rate, with up to Concurrency in flight. A request's latency runs from
// when it was due, not from when it was sent: when the server stalls and
// every connection is busy, the requests that pile up are charged the
// wait, as the users who sent them would be. Timing from the send would
// record only the few requests that went out during the stall and hide it
// (coordinated omission).
func (r *runner) openLoop(ctx context.Context) {
	cfg := &r.cfg
	queue := make(chan due, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := r.workers[w]
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for d := range queue {
				req.Reset()
				resp.Reset()
				r.ops[d.op].Build(req, Call{Worker: 0, Workers: 1, N: d.n})
				sent := dialerd.Stopwatch()
				st.lag.Record(sent.Sub(d.at))
				err := r.client.DoTimeout(req, resp, r.timeout)
				st.record(d.op, &r.ops[d.op], time.Since(d.at), resp.StatusCode(), err)
			}
		}()
	}

	sched := r.workers[cfg.Concurrency]
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	var windowEnd <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		windowEnd = t.C
	}
	late := false // past the window: what is still due is never sent
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for n := int64(0); ; n++ {
		off := time.Duration(float64(n) * float64(time.Second) / cfg.Rate)
		if (cfg.Duration > 0 && off >= cfg.Duration) || (cfg.Requests > 0 && n >= cfg.Requests) {
			break
		}
		d := due{n: n, op: cfg.Mix.Pick(rng), at: r.start.Add(off)}
		if late {
			sched.record(d.op, &r.ops[d.op], 0, 0, errUnsent)
			continue
		}
		// The runtime's timer for the long waits, so cancelling is
		// noticed; the kernel's for the last millisecond, which the
		// runtime's cannot resolve (see preciseSleep).
		wait := time.Until(d.at)
		if wait > 2*time.Millisecond {
			timer.Reset(wait - time.Millisecond)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
			wait = time.Until(d.at)
		}
		if wait > 0 && ctx.Err() == nil {
			preciseSleep(wait)
		}
		if r.stop.Load() {
			break
		}
		select {
		case queue <- d:
		default:
			// Every sender is busy: wait for one, but not past the
			// window (a free sender wins over the window's end,
			// which the first select leaves no room for).
			select {
			case queue <- d:
			case <-windowEnd:
				late = true
				sched.record(d.op, &r.ops[d.op], 0, 0, errUnsent)
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(queue)
	wg.Wait()
}

var errUnsent = errors.New("load: due in the window, never sent")

// monitor ticks every second: the timeline, the samples and the progress
// display. It also turns ctx's cancellation into the workers' stop flag,
// which they read without taking the context's lock on every request.
func (r *runner) monitor(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.tick(false)
		case <-ctx.Done():
			r.stop.Store(true)
			ctx = context.Background()
		case <-done:
			r.tick(true)
			return
		}
	}
}

func (r *runner) tick(final bool) {
	now := dialerd.Stopwatch()
	var cur tickState
	cur.at = now
	var lat [coarseBuckets]int64
	for _, w := range r.workers {
		cur.requests += w.requests.Load()
		cur.ok += w.ok.Load()
		cur.errs += w.errs.Load()
		w.lat.snapshot(&lat)
		for i := range lat {
			cur.lat[i] += lat[i]
		}
	}
	from := &r.prev
	if final && now.Sub(r.prev.at) < 500*time.Millisecond && len(r.timeline) > 0 {
		// The stub after the last whole second (the answers still in
		// flight when the run ended) joins that second: on its own,
		// a few responses over a few milliseconds make a rate that
		// means nothing.
		r.timeline = r.timeline[:len(r.timeline)-1]
		from = &r.prevTick
	}
	var diff [coarseBuckets]int64
	for i := range diff {
		diff[i] = cur.lat[i] - from.lat[i]
	}
	r.timeline = append(r.timeline, Tick{
		T: now.Sub(r.start).Seconds(), Span: now.Sub(from.at).Seconds(),
		Requests: cur.requests - from.requests, OK: cur.ok - from.ok, Errors: cur.errs - from.errs,
		P99: coarsePercentile(&diff, 99),
	})
	// Every second, and at the end of a run too short to have had one.
	if r.cfg.Sample != nil && (!final || len(r.samples) == 0) {
		s := r.cfg.Sample()
		s.T = now.Sub(r.start).Seconds()
		r.samples = append(r.samples, s)
	}
	if r.progress != nil {
		r.progress.show(now.Sub(r.start), &cur, &r.prev, final)
	}
	r.prevTick, r.prev = r.prev, cur
}

func (r *runner) result(end time.Time) *Result {
	cfg := &r.cfg
	elapsed := end.Sub(r.start)
	res := &Result{
		Name: cfg.Name, Model: "closed", Concurrency: cfg.Concurrency, Mix: cfg.Mix.String(), Seed: cfg.Seed,
		Duration: cfg.Duration.Seconds(), RequestLimit: cfg.Requests,
		Started: r.start.UTC().Format(time.RFC3339), Elapsed: elapsed.Seconds(),
		Timeline: r.timeline, Samples: r.samples,
	}
	if cfg.Rate > 0 {
		res.Model, res.Rate = "open", cfg.Rate
	}
	total := NewHistogram()
	lag := NewHistogram()
	res.Total = OpResult{Op: "total", ErrorKinds: map[string]int64{}}
	for i, name := range cfg.Mix.Names {
		h := NewHistogram()
		o := OpResult{Op: name, Weight: cfg.Mix.Weights[i], ErrorKinds: map[string]int64{}}
		for _, w := range r.workers {
			h.Merge(w.hists[i])
			c := &w.counts[i]
			o.Requests += c.requests
			o.OK += c.ok
			for k, v := range c.errs {
				o.ErrorKinds[k] += v
				o.Errors += v
				res.Total.ErrorKinds[k] += v
			}
		}
		o.finish(h, elapsed)
		total.Merge(h)
		res.Total.Requests += o.Requests
		res.Total.OK += o.OK
		res.Total.Errors += o.Errors
		res.Ops = append(res.Ops, o)
	}
	res.Total.finish(total, elapsed)
	if cfg.Rate > 0 {
		for _, w := range r.workers {
			lag.Merge(w.lag)
		}
		l := lag.Summary()
		res.SendLag = &l
		window := cfg.Duration
		if cfg.Requests > 0 {
			if w := time.Duration(float64(cfg.Requests) * float64(time.Second) / cfg.Rate); window <= 0 || w < window {
				window = w
			}
		}
		res.SentRate = float64(lag.Count()) / window.Seconds()
	}
	return res
}

func (o *OpResult) finish(h *Histogram, elapsed time.Duration) {
	o.Latency = h.Summary()
	o.Clamped = h.Clamped()
	if elapsed > 0 {
		o.Throughput = float64(o.OK) / elapsed.Seconds()
	}
	if len(o.ErrorKinds) == 0 {
		o.ErrorKinds = nil
	}
	o.hist = h
}
