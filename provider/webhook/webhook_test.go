package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

const testSecret = "whsec_test"

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// request is what the stand-in platform received.
type request struct {
	Path, Key, ContentType, Signature string
	Body                              []byte
	Attempt                           int // 1 for the first request with this Idempotency-Key
}

// platform is a stand-in voice-agent platform. It checks every request's
// signature with its own code, not the package's, and records it; answer
// decides the status and may block until the request is cancelled.
type platform struct {
	t      testing.TB
	srv    *httptest.Server
	answer func(r *http.Request, req request) int

	mu       sync.Mutex
	reqs     []request
	attempts map[string]int
	got      chan request
}

func newPlatform(t testing.TB, answer func(r *http.Request, req request) int) *platform {
	p := &platform{t: t, answer: answer, attempts: make(map[string]int), got: make(chan request, 10_000)}
	if p.answer == nil {
		p.answer = func(*http.Request, request) int { return http.StatusNoContent }
	}
	p.srv = httptest.NewUnstartedServer(p)
	return p
}

func (p *platform) start() *platform {
	p.srv.Start()
	p.t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the dialer gave up on this request
	}
	req := request{
		Path:        r.URL.EscapedPath(),
		Key:         r.Header.Get("Idempotency-Key"),
		ContentType: r.Header.Get("Content-Type"),
		Signature:   r.Header.Get("X-Dialerd-Signature"),
		Body:        body,
	}
	if r.Method != http.MethodPost || !checkSignature(testSecret, req.Signature, body) {
		p.t.Errorf("%s %s: bad method or signature %q", r.Method, req.Path, req.Signature)
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	p.attempts[req.Key]++
	req.Attempt = p.attempts[req.Key]
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	p.got <- req
	rw.WriteHeader(p.answer(r, req))
}

func (p *platform) requests() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]request(nil), p.reqs...)
}

// checkSignature verifies "t=…,v1=…" as a platform would, independently of
// Sign and Verify.
func checkSignature(secret, header string, body []byte) bool {
	var ts, sig string
	for _, kv := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(kv, "t="); ok {
			ts = v
		} else if v, ok := strings.CutPrefix(kv, "v1="); ok {
			sig = v
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s.%s", ts, body)
	got, err := hex.DecodeString(sig)
	return ts != "" && err == nil && hmac.Equal(got, m.Sum(nil))
}

// sink records reported events.
type sink struct {
	mu  sync.Mutex
	evs []provider.Event
	ch  chan provider.Event
}

func newSink() *sink { return &sink{ch: make(chan provider.Event, 10_000)} }

func (s *sink) report(campaign string, ev provider.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
	s.ch <- ev
}

func (s *sink) events() []provider.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]provider.Event(nil), s.evs...)
}

func (s *sink) next(t testing.TB, within time.Duration) provider.Event {
	t.Helper()
	select {
	case ev := <-s.ch:
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
		return provider.Event{}
	}
}

// mustNew returns a Webhook closed at the end of the test, before the
// platform (cleanups run last first).
func mustNew(t testing.TB, cfg Config) *Webhook {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// fast are tunables that make retries take milliseconds.
func fast(cfg Config) Config {
	cfg.MinBackoff = time.Millisecond
	cfg.MaxBackoff = 5 * time.Millisecond
	if cfg.GiveUp == 0 {
		cfg.GiveUp = 5 * time.Second
	}
	return cfg
}

func call(campaign, id string) provider.Call {
	return provider.Call{
		ID: id, Campaign: campaign, Agent: "ag-1", Phone: "+15145550100",
		Prospect:  json.RawMessage(`{"first_name":"Ada","zip":"H2X"}`),
		EventsURL: "https://dialer.example/api/v/call/" + id + "/event/",
	}
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %s: %s", within, what)
		}
	}
}

// idle reports whether w holds no campaign, hence no worker.
func idle(w *Webhook) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.campaigns) == 0
}

func TestRequestsArriveSignedInOrder(t *testing.T) {
	p := newPlatform(t, nil).start()
	s := newSink()
	clock := dialerd.NewManualClock(t0)
	w := mustNew(t, Config{URL: p.srv.URL + "/v1/", Sink: s.report, Clock: clock})

	c := call("camp", "c/1 x")
	w.Place(c)
	<-p.got
	// The two may be sent concurrently only if nothing orders a call's
	// requests.
	w.Connect("camp", c.ID, 3)
	w.Hangup("camp", c.ID, "abandoned")
	waitFor(t, 2*time.Second, "three requests", func() bool { return len(p.requests()) == 3 })

	place, _ := json.Marshal(c)
	want := []request{
		{Path: "/v1/calls", Key: "c%2F1%20x/place", Body: place},
		{Path: "/v1/calls/c%2F1%20x/connect", Key: "c%2F1%20x/connect", Body: []byte(`{"seat":3}`)},
		{Path: "/v1/calls/c%2F1%20x/hangup", Key: "c%2F1%20x/hangup", Body: []byte(`{"reason":"abandoned"}`)},
	}
	for i, got := range p.requests() {
		w := want[i]
		if got.Path != w.Path || got.Key != w.Key || !bytes.Equal(got.Body, w.Body) {
			t.Errorf("request %d: %s key %s %s; want %s key %s %s", i, got.Path, got.Key, got.Body, w.Path, w.Key, w.Body)
		}
		if got.ContentType != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, got.ContentType)
		}
		if wantSig := Sign(testSecret, t0, got.Body); got.Signature != wantSig {
			t.Errorf("request %d: signature %q, want %q (stamped with the clock)", i, got.Signature, wantSig)
		}
	}
	var back provider.Call
	if err := json.Unmarshal(p.requests()[0].Body, &back); err != nil || back.Phone != c.Phone || string(back.Prospect) != string(c.Prospect) || back.EventsURL != c.EventsURL {
		t.Errorf("place body %s decodes to %+v, %v", p.requests()[0].Body, back, err)
	}
	waitFor(t, time.Second, "the idle campaign to be forgotten", func() bool { return idle(w) })
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v, want none", evs)
	}
}

func TestRetriesUntilThePlatformRecovers(t *testing.T) {
	p := newPlatform(t, func(_ *http.Request, r request) int {
		if r.Attempt <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusCreated
	}).start()
	s := newSink()
	w := mustNew(t, fast(Config{URL: p.srv.URL, Sink: s.report}))

	w.Place(call("camp", "c1"))
	waitFor(t, 2*time.Second, "the fourth attempt", func() bool { return len(p.requests()) == 4 })
	waitFor(t, time.Second, "the worker to finish", func() bool { return idle(w) })
	reqs := p.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests after a success, want 4", len(reqs))
	}
	for _, r := range reqs {
		if r.Key != "c1/place" || !bytes.Equal(r.Body, reqs[0].Body) {
			t.Errorf("retry %d: key %q body %s; want the same request", r.Attempt, r.Key, r.Body)
		}
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v, want none: the call was placed", evs)
	}
}

func TestRetriesUntilConnectionsAreAccepted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused until the platform starts
	s := newSink()
	w := mustNew(t, fast(Config{URL: "http://" + addr, Sink: s.report}))
	w.Place(call("camp", "c1"))
	time.Sleep(50 * time.Millisecond) // several refused attempts

	p := newPlatform(t, nil)
	if p.srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	p.start()
	req := <-p.got
	if req.Path != "/calls" || req.Key != "c1/place" {
		t.Errorf("got %s %s", req.Path, req.Key)
	}
	waitFor(t, time.Second, "the worker to finish", func() bool { return idle(w) })
	if n := len(p.requests()); n != 1 {
		t.Errorf("%d requests arrived, want 1", n)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v, want none", evs)
	}
}

// armedClock tells the test each time a timer is set, so that it advances
// exactly when the webhook waits.
type armedClock struct {
	*dialerd.ManualClock
	armed chan time.Duration
}

func (c armedClock) AfterFunc(d time.Duration, f func()) dialerd.Timer {
	t := c.ManualClock.AfterFunc(d, f)
	c.armed <- d
	return t
}

func TestGivesUpOnADeadPlatformOnce(t *testing.T) {
	p := newPlatform(t, func(*http.Request, request) int { return http.StatusBadGateway }).start()
	s := newSink()
	clock := armedClock{dialerd.NewManualClock(t0), make(chan time.Duration, 1000)}
	const timeout = 7 * time.Second // unlike any backoff
	w := mustNew(t, Config{URL: p.srv.URL, Sink: s.report, Clock: clock, RequestTimeout: timeout})

	w.Place(call("camp", "c1"))
	var ev provider.Event
	var at time.Time
	for ev.ID == "" {
		select {
		case d := <-clock.armed:
			if d != timeout {
				clock.Advance(d)
			}
		case ev = <-s.ch:
			at = clock.Now()
		case <-time.After(5 * time.Second):
			t.Fatalf("no event after %d attempts", len(p.requests()))
		}
	}
	want := provider.Event{ID: "local-c1-failed", Call: "c1", Type: provider.EventFailed}
	if ev.ID != want.ID || ev.Call != want.Call || ev.Type != want.Type || !strings.Contains(ev.Reason, "502") {
		t.Errorf("event %+v, want %+v with the status in the reason", ev, want)
	}
	if got := at.Sub(t0); got != DefaultGiveUp {
		t.Errorf("gave up after %s, want %s", got, DefaultGiveUp)
	}
	// 100 ms doubling to 5 s, jittered down to half: at least 9 attempts in 30 s.
	n := len(p.requests())
	if n < 9 {
		t.Errorf("%d attempts in %s", n, DefaultGiveUp)
	}
	waitFor(t, time.Second, "the worker to finish", func() bool { return idle(w) })
	if len(p.requests()) != n || len(s.events()) != 1 {
		t.Errorf("%d requests and %d events after giving up; want %d and 1", len(p.requests()), len(s.events()), n)
	}
}

func TestRetriesOnlyWhatMaySucceedLater(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, 408, 429, 400, 401, 403, 404, 409, 422, 301} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			p := newPlatform(t, func(_ *http.Request, r request) int {
				if r.Attempt == 1 {
					return status
				}
				return http.StatusOK
			}).start()
			s := newSink()
			w := mustNew(t, fast(Config{URL: p.srv.URL, Sink: s.report}))
			w.Place(call("camp", "c1"))
			w.Connect("camp", "c2", 1)
			waitFor(t, 2*time.Second, "the worker to finish", func() bool { return idle(w) })

			retried := status >= 500 || status == 408 || status == 429
			wantReqs, wantEvs := 2, 1
			if retried {
				wantReqs, wantEvs = 4, 0
			}
			if n := len(p.requests()); n != wantReqs {
				t.Errorf("%d requests, want %d", n, wantReqs)
			}
			evs := s.events()
			if len(evs) != wantEvs {
				t.Fatalf("events %+v, want %d (a connect that fails reports nothing)", evs, wantEvs)
			}
			if wantEvs == 1 && (evs[0].Call != "c1" || evs[0].Type != provider.EventFailed || !strings.Contains(evs[0].Reason, strconv.Itoa(status))) {
				t.Errorf("event %+v", evs[0])
			}
		})
	}
}

func TestSlowCampaignDoesNotStallOthers(t *testing.T) {
	release := make(chan struct{})
	p := newPlatform(t, func(r *http.Request, req request) int {
		if strings.HasPrefix(req.Key, "a-") {
			select { // hang until the dialer gives up or the test ends
			case <-r.Context().Done():
			case <-release:
			}
		}
		return http.StatusNoContent
	}).start()
	defer close(release)
	s := newSink()
	w := mustNew(t, Config{URL: p.srv.URL, Sink: s.report, RequestTimeout: time.Minute})

	for i := range 3 * DefaultConcurrency {
		w.Place(call("a", fmt.Sprintf("a-%d", i)))
	}
	for range DefaultConcurrency {
		select {
		case <-p.got:
		case <-time.After(2 * time.Second):
			t.Fatal("campaign a does not fill its workers")
		}
	}
	start := time.Now()
	for i := range 5 {
		w.Place(call("b", fmt.Sprintf("b-%d", i)))
	}
	b := 0
	for b < 5 {
		select {
		case r := <-p.got:
			if strings.HasPrefix(r.Key, "b-") {
				b++
			} else {
				t.Errorf("campaign a got past its concurrency: %s", r.Key)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("campaign b: %d of 5 calls delivered while a hangs", b)
		}
	}
	t.Logf("campaign b delivered in %s while a hangs", time.Since(start))

	closed := make(chan struct{})
	go func() {
		w.Close()
		w.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waits for hanging requests instead of cancelling them")
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v; Close reports nothing", evs)
	}
	w.Place(call("a", "after-close"))
	w.Hangup("a", "a-0", "late")
	if !idle(w) {
		t.Error("requests queued after Close")
	}
}

func TestFullQueueFailsAtOnce(t *testing.T) {
	p := newPlatform(t, func(r *http.Request, _ request) int {
		<-r.Context().Done()
		return http.StatusServiceUnavailable
	}).start()
	s := newSink()
	w := mustNew(t, Config{URL: p.srv.URL, Sink: s.report, QueueSize: 3, Concurrency: 1, RequestTimeout: time.Minute})

	w.Place(call("f", "f-0"))
	<-p.got // in flight: no longer queued
	placed := make(chan struct{})
	go func() {
		for i := 1; i <= 5; i++ {
			w.Place(call("f", fmt.Sprintf("f-%d", i)))
		}
		close(placed)
	}()
	select {
	case <-placed:
	case <-time.After(time.Second):
		t.Fatal("Place blocks on a full queue")
	}
	got := map[string]bool{}
	for range 2 {
		ev := s.next(t, time.Second)
		if ev.Type != provider.EventFailed || ev.ID != "local-"+ev.Call+"-failed" || ev.Reason != "platform backlog full" {
			t.Errorf("event %+v", ev)
		}
		got[ev.Call] = true
	}
	if !got["f-4"] || !got["f-5"] {
		t.Errorf("failed %v, want f-4 and f-5: f-1..f-3 fit the queue", got)
	}
	// A Connect is not bounded: it belongs to a call already placed.
	w.Connect("f", "f-0", 1)
	w.mu.Lock()
	places, tasks := w.campaigns["f"].places, len(w.campaigns["f"].tasks)
	w.mu.Unlock()
	if places != 3 || tasks != 4 {
		t.Errorf("%d places and %d requests queued, want 3 and 4", places, tasks)
	}
}

func TestPlaceTooLongInQueueFails(t *testing.T) {
	release := make(chan struct{})
	p := newPlatform(t, func(*http.Request, request) int {
		<-release
		return http.StatusOK
	}).start()
	s := newSink()
	clock := dialerd.NewManualClock(t0)
	w := mustNew(t, Config{URL: p.srv.URL, Sink: s.report, Clock: clock, Concurrency: 1, RequestTimeout: time.Hour})
	w.Place(call("q", "q-0"))
	<-p.got
	w.Place(call("q", "q-1"))
	clock.Advance(DefaultGiveUp)
	close(release)
	ev := s.next(t, time.Second)
	if ev.Call != "q-1" || !strings.Contains(ev.Reason, "not sent within") {
		t.Errorf("event %+v, want q-1 failed unsent", ev)
	}
	waitFor(t, time.Second, "the worker to finish", func() bool { return idle(w) })
	for _, r := range p.requests() {
		if r.Key == "q-1/place" {
			t.Error("q-1 was sent after its bound")
		}
	}
}

func TestHangupBeforePlaceIsSentSendsNeither(t *testing.T) {
	release := make(chan struct{})
	p := newPlatform(t, func(_ *http.Request, r request) int {
		if r.Key == "x/place" {
			<-release
		}
		return http.StatusOK
	}).start()
	s := newSink()
	w := mustNew(t, Config{URL: p.srv.URL, Sink: s.report, Concurrency: 1})
	w.Place(call("h", "x"))
	<-p.got
	w.Place(call("h", "y"))
	w.Hangup("h", "y", "campaign deleted")
	w.Place(call("h", "z"))
	close(release)
	waitFor(t, 2*time.Second, "the worker to finish", func() bool { return idle(w) })
	var keys []string
	for _, r := range p.requests() {
		keys = append(keys, r.Key)
	}
	if strings.Join(keys, " ") != "x/place z/place" {
		t.Errorf("platform got %v, want x/place z/place", keys)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v, want none", evs)
	}
}

func TestHangupStopsRetryingItsPlace(t *testing.T) {
	hungUp := make(chan struct{})
	p := newPlatform(t, func(_ *http.Request, r request) int {
		if r.Key == "r/place" {
			<-hungUp // the hangup comes while the place is in flight
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}).start()
	s := newSink()
	w := mustNew(t, fast(Config{URL: p.srv.URL, Sink: s.report}))
	w.Place(call("h", "r"))
	<-p.got
	w.Hangup("h", "r", "abandoned")
	close(hungUp)
	waitFor(t, 2*time.Second, "the worker to finish", func() bool { return idle(w) })
	reqs := p.requests()
	last := reqs[len(reqs)-1]
	if last.Key != "r/hangup" || len(reqs) != 2 {
		t.Errorf("platform got %d requests ending with %s, want the place in flight, then the hangup", len(reqs), last.Key)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v, want none: the dialer hung up", evs)
	}
}

func TestIdleCampaignsHoldNothing(t *testing.T) {
	p := newPlatform(t, nil).start()
	w := mustNew(t, Config{URL: p.srv.URL, Sink: newSink().report})
	const n = 500
	for i := range n {
		w.Place(call(fmt.Sprintf("camp-%d", i), fmt.Sprintf("c-%d", i)))
	}
	waitFor(t, 5*time.Second, "every call delivered", func() bool { return len(p.requests()) == n })
	waitFor(t, time.Second, "every campaign forgotten", func() bool { return idle(w) })
}

func TestBackoffIsBoundedAndSeeded(t *testing.T) {
	w := mustNew(t, Config{URL: "http://platform.invalid", Sink: newSink().report, Seed: 7})
	again := mustNew(t, Config{URL: "http://platform.invalid", Sink: newSink().report, Seed: 7})
	other := mustNew(t, Config{URL: "http://platform.invalid", Sink: newSink().report, Seed: 8})
	tk := &task{op: opPlace, call: "c1"}
	differs := false
	for attempt := 1; attempt <= 12; attempt++ {
		full := min(DefaultMinBackoff<<(attempt-1), DefaultMaxBackoff)
		d := w.backoff(tk, attempt)
		if d < full/2 || d > full {
			t.Errorf("attempt %d: %s, want within [%s, %s]", attempt, d, full/2, full)
		}
		if again.backoff(tk, attempt) != d {
			t.Errorf("attempt %d: the same seed gave another wait", attempt)
		}
		differs = differs || other.backoff(tk, attempt) != d
	}
	if !differs {
		t.Error("another seed gave the same waits")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := Config{URL: "https://platform.example/api", Secret: "s", Sink: newSink().report}
	for name, edit := range map[string]func(*Config){
		"no url":         func(c *Config) { c.URL = "" },
		"ftp":            func(c *Config) { c.URL = "ftp://platform.example" },
		"no host":        func(c *Config) { c.URL = "http:///calls" },
		"relative":       func(c *Config) { c.URL = "platform.example/api" },
		"query":          func(c *Config) { c.URL = "https://platform.example/api?x=1" },
		"no secret":      func(c *Config) { c.Secret = "" },
		"no sink":        func(c *Config) { c.Sink = nil },
		"negative queue": func(c *Config) { c.QueueSize = -1 },
	} {
		cfg := ok
		edit(&cfg)
		if _, err := New(cfg); dialerd.ErrorCode(err) != dialerd.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	w, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.base != "https://platform.example/api" || w.cfg.GiveUp != DefaultGiveUp || w.cfg.QueueSize != DefaultQueueSize {
		t.Errorf("defaults not applied: %+v", w.cfg)
	}
}

// A place whose campaign lost ownership while it waited (queued, or
// between retries) is never sent: a fenced owner places nothing.
func TestFencedPlaceIsNotSent(t *testing.T) {
	var owner atomic.Bool
	owner.Store(true)
	p := newPlatform(t, func(_ *http.Request, r request) int {
		if r.Attempt == 1 {
			owner.Store(false) // the campaign moved while the platform was down
			return http.StatusServiceUnavailable
		}
		return http.StatusCreated
	}).start()
	s := newSink()
	w := mustNew(t, fast(Config{URL: p.srv.URL, Sink: s.report}))
	fenced := call("camp", "c1")
	fenced.Fence = func() error {
		if owner.Load() {
			return nil
		}
		return errors.New("fenced")
	}
	w.Place(fenced)
	waitFor(t, 2*time.Second, "the worker to finish", func() bool { return idle(w) })
	if reqs := p.requests(); len(reqs) != 1 {
		t.Fatalf("%d requests, want the first attempt only", len(reqs))
	}
	// Not owned from the start: nothing is sent at all.
	w.Place(fenced)
	waitFor(t, 2*time.Second, "the worker to finish", func() bool { return idle(w) })
	if reqs := p.requests(); len(reqs) != 1 {
		t.Fatalf("%d requests, want none more", len(reqs))
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("events %+v: a fenced call is the new owner's to close", evs)
	}
}
