// Package webhook is the provider for a voice-agent platform reached over
// signed HTTP. docs/webhook.md is the contract a platform implements.
//
// Requests to the platform go through one FIFO queue per campaign, each
// with its own few workers: a platform that hangs on one campaign's calls
// costs that campaign its queue, never another campaign its turn. Workers
// start with a campaign's first request and exit when its queue drains, so
// an idle campaign holds no goroutine. The requests of one call are sent in
// order, one at a time, so a hangup never overtakes its call's place.
package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

// Defaults of the Config tunables.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultGiveUp         = 30 * time.Second
	DefaultQueueSize      = 10_000
	DefaultConcurrency    = 16
	DefaultTolerance      = 5 * time.Minute
	DefaultMaxSeen        = 1_000_000
)

// Config configures a Webhook. Zero tunables take their Default.
type Config struct {
	// URL is the platform's base URL, http or https; requests go to
	// URL/calls and URL/calls/{id}/connect|hangup.
	URL string
	// Secret is the shared HMAC key that signs requests both ways.
	Secret string
	// Sink receives the failed event of a call that could not be placed.
	// Required. It is never called from inside Place, nor after Close.
	Sink provider.Sink
	// Clock stamps signatures and times backoff, timeouts and the
	// signature tolerance. It must read wall time (nil: RealClock) even
	// when the dialer runs on a virtual clock: the platform lives in real
	// time.
	Clock dialerd.Clock
	// Logger receives failed requests; nil discards.
	Logger *slog.Logger
	// Node names the sending node (header X-Dialerd-Node): a platform's
	// logs then say which node of a cluster placed a call.
	Node string
	// Client sends the requests; nil: one that does not follow redirects
	// and times out after RequestTimeout.
	Client *http.Client

	// RequestTimeout bounds one attempt of a request.
	RequestTimeout time.Duration
	// MinBackoff is the wait after a request's first failed attempt; it
	// doubles with each failure up to MaxBackoff. Each wait is jittered
	// between half and all of it, deterministically from Seed and the
	// request, so calls that failed together do not retry together.
	MinBackoff, MaxBackoff time.Duration
	Seed                   uint64
	// GiveUp bounds how long after Place the call is still attempted:
	// past it, the call is reported failed. Connects and hangups are
	// retried as long, then dropped with a warning.
	GiveUp time.Duration
	// QueueSize bounds a campaign's places not yet sent: a place past it
	// is reported failed at once. Connects and hangups are not bounded
	// (at most one of each per placed call).
	QueueSize int
	// Concurrency bounds a campaign's requests in flight.
	Concurrency int

	// Tolerance is how far an inbound event's signature timestamp may be
	// from Clock.Now, either way. Event IDs are remembered as long.
	Tolerance time.Duration
	// MaxSeen bounds the event IDs remembered against replay; while it is
	// full, new events are refused with EUNAVAILABLE (the platform retries)
	// rather than an ID forgotten early.
	MaxSeen int
}

// Webhook is a provider.Provider for a platform over signed HTTP. Its
// methods are safe for concurrent use.
type Webhook struct {
	cfg    Config
	base   string // URL without its trailing slash
	log    *slog.Logger
	ctx    context.Context // cancelled by Close: stops requests and waits
	cancel context.CancelFunc
	wg     sync.WaitGroup // workers and reports; Close waits for them
	seen   *replays

	mu        sync.Mutex
	closed    bool
	campaigns map[string]*queue // only campaigns with requests to send
}

var _ provider.Provider = (*Webhook)(nil)

// New returns a Webhook for cfg. It fails with EINVALID on a URL that is
// not http(s), an empty secret, a nil sink or a negative tunable.
func New(cfg Config) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, dialerd.Errorf(dialerd.EINVALID, "Webhook URL %q is not an http(s) URL.", cfg.URL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, dialerd.Errorf(dialerd.EINVALID, "Webhook URL %q must have no query or fragment: paths are appended to it.", cfg.URL)
	case cfg.Secret == "":
		return nil, dialerd.Errorf(dialerd.EINVALID, "Webhook secret is required.")
	case cfg.Sink == nil:
		return nil, dialerd.Errorf(dialerd.EINVALID, "Webhook sink is required.")
	case cfg.RequestTimeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.GiveUp < 0 ||
		cfg.QueueSize < 0 || cfg.Concurrency < 0 || cfg.Tolerance < 0 || cfg.MaxSeen < 0:
		return nil, dialerd.Errorf(dialerd.EINVALID, "Webhook tunables must not be negative.")
	}
	setDefault(&cfg.RequestTimeout, DefaultRequestTimeout)
	setDefault(&cfg.MinBackoff, DefaultMinBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.GiveUp, DefaultGiveUp)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.Tolerance, DefaultTolerance)
	setDefault(&cfg.MaxSeen, DefaultMaxSeen)
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Clock == nil {
		cfg.Clock = dialerd.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Every campaign may have Concurrency requests to the one host:
		// the default of 2 idle connections would reconnect constantly.
		tr.MaxIdleConnsPerHost = 256
		cfg.Client = &http.Client{
			Transport: tr,
			Timeout:   cfg.RequestTimeout,
			// A redirect would resend a signed request somewhere the
			// integrator did not configure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Webhook{
		cfg:       cfg,
		base:      strings.TrimRight(cfg.URL, "/"),
		log:       cfg.Logger.With("provider", "webhook"),
		ctx:       ctx,
		cancel:    cancel,
		seen:      newReplays(cfg.MaxSeen),
		campaigns: make(map[string]*queue),
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// op is what a request asks of the platform.
type op int

const (
	opPlace op = iota
	opConnect
	opHangup
)

func (o op) String() string {
	return [...]string{"place", "connect", "hangup"}[o]
}

// task is one request to send. Its flags are guarded by Webhook.mu.
type task struct {
	op       op
	campaign string
	call     string
	body     []byte
	at       time.Time // when asked: GiveUp counts from here
	fence    func() error
	started  bool
	dropped  bool // a hangup came before this place was sent: send neither
	stopped  bool // a hangup came while this place was retried: stop
}

// queue is a campaign's requests. It exists while it has requests to send.
type queue struct {
	name    string
	tasks   []*task // FIFO
	places  int     // places not yet started: the bounded ones
	workers int
	calls   map[string]*callState
}

// callState orders the requests of one call: one at a time, in order.
type callState struct {
	busy    bool    // a worker is sending one of its requests
	waiting []*task // its later requests, queued behind that one
	place   *task   // its place, until finished
}

// Place queues c's place request. A full queue, or a call that does not
// marshal, is reported failed at once (from another goroutine).
func (w *Webhook) Place(c provider.Call) {
	body, err := json.Marshal(c)
	now := w.cfg.Clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if err != nil {
		w.reportLocked(c.Campaign, c.ID, "invalid call: "+err.Error())
		return
	}
	q := w.queueLocked(c.Campaign)
	if q.places >= w.cfg.QueueSize {
		w.log.Warn("platform backlog full", "campaign", c.Campaign, "call", c.ID, "queued", q.places)
		w.reportLocked(c.Campaign, c.ID, "platform backlog full")
		w.forgetIfIdleLocked(q)
		return
	}
	t := &task{op: opPlace, campaign: c.Campaign, call: c.ID, body: body, at: now, fence: c.Fence}
	q.places++
	q.call(c.ID).place = t
	w.pushLocked(q, t)
}

// Connect queues the request that bridges call to seat.
func (w *Webhook) Connect(campaign, call string, seat int) {
	body, _ := json.Marshal(struct {
		Seat int `json:"seat"`
	}{seat})
	w.enqueue(opConnect, campaign, call, body)
}

// Hangup queues the request that ends call. A call whose place has not
// been sent yet is simply not placed; one whose place is being retried is
// retried no more.
func (w *Webhook) Hangup(campaign, call string, reason string) {
	w.mu.Lock()
	if q := w.campaigns[campaign]; q != nil {
		if cs := q.calls[call]; cs != nil && cs.place != nil {
			p := cs.place
			if !p.started {
				p.dropped = true
				q.places--
				cs.place = nil
				if !cs.busy && len(cs.waiting) == 0 {
					delete(q.calls, call)
				}
				w.mu.Unlock()
				return
			}
			p.stopped = true
		}
	}
	w.mu.Unlock()
	body, _ := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	w.enqueue(opHangup, campaign, call, body)
}

func (w *Webhook) enqueue(o op, campaign, call string, body []byte) {
	now := w.cfg.Clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.pushLocked(w.queueLocked(campaign), &task{op: o, campaign: campaign, call: call, body: body, at: now})
}

// Close cancels requests in flight, drops queued ones and waits for the
// workers; no event is reported after it returns. Later calls do nothing.
func (w *Webhook) Close() {
	w.mu.Lock()
	w.closed = true
	w.cancel()
	clear(w.campaigns)
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *Webhook) queueLocked(campaign string) *queue {
	q := w.campaigns[campaign]
	if q == nil {
		q = &queue{name: campaign, calls: make(map[string]*callState)}
		w.campaigns[campaign] = q
	}
	return q
}

func (q *queue) call(id string) *callState {
	cs := q.calls[id]
	if cs == nil {
		cs = &callState{}
		q.calls[id] = cs
	}
	return cs
}

func (w *Webhook) pushLocked(q *queue, t *task) {
	q.tasks = append(q.tasks, t)
	if q.workers < w.cfg.Concurrency {
		q.workers++
		w.wg.Add(1)
		go w.work(q)
	}
}

// forgetIfIdleLocked drops q once nothing needs it, so that idle campaigns
// cost no memory either.
func (w *Webhook) forgetIfIdleLocked(q *queue) {
	if q.workers == 0 && len(q.tasks) == 0 && len(q.calls) == 0 && w.campaigns[q.name] == q {
		delete(w.campaigns, q.name)
	}
}

// work sends q's requests until there are none left.
func (w *Webhook) work(q *queue) {
	defer w.wg.Done()
	var t *task
	for {
		w.mu.Lock()
		if t != nil {
			t = w.finishLocked(q, t)
		}
		if t == nil {
			t = w.nextLocked(q)
		}
		if t == nil || w.closed {
			q.workers--
			w.forgetIfIdleLocked(q)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.send(t)
	}
}

// nextLocked takes q's next request whose call has none in flight; the
// others wait behind their call's request in flight.
func (w *Webhook) nextLocked(q *queue) *task {
	for len(q.tasks) > 0 {
		t := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		if t.dropped {
			continue
		}
		cs := q.call(t.call)
		if cs.busy {
			cs.waiting = append(cs.waiting, t)
			continue
		}
		cs.busy = true
		w.startLocked(q, t)
		return t
	}
	q.tasks = nil // let the backing array go
	return nil
}

// finishLocked records that t was sent and returns the request of its
// call that waited for it, if any.
func (w *Webhook) finishLocked(q *queue, t *task) *task {
	cs := q.calls[t.call]
	if cs.place == t {
		cs.place = nil
	}
	for len(cs.waiting) > 0 {
		n := cs.waiting[0]
		cs.waiting = cs.waiting[1:]
		if !n.dropped {
			w.startLocked(q, n)
			return n
		}
	}
	cs.busy = false
	if cs.place == nil {
		delete(q.calls, t.call)
	}
	return nil
}

func (w *Webhook) startLocked(q *queue, t *task) {
	if t.op == opPlace {
		q.places--
	}
	t.started = true
}

// reportLocked reports call failed from a goroutine of its own: Place's
// caller may be the very grain the sink delivers to.
func (w *Webhook) reportLocked(campaign, call, reason string) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.report(campaign, call, reason)
	}()
}

func (w *Webhook) report(campaign, call, reason string) {
	if w.ctx.Err() != nil {
		return
	}
	w.cfg.Sink(campaign, provider.Event{
		ID:     "local-" + call + "-failed",
		Call:   call,
		Type:   provider.EventFailed,
		Reason: reason,
	})
}
