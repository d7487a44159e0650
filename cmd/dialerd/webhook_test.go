package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
	"github.com/dialerd/dialerd/provider"
	"github.com/dialerd/dialerd/provider/webhook"
)

// signWebhook is docs/webhook.md's signature, written from the document
// rather than taken from the provider, so a test of one checks the other.
func signWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// webhookAuthentic checks a signature header as the document tells a
// platform to: the MAC of any v1 entry over "<t>.<body>", t within 5 min.
func webhookAuthentic(secret, header string, body []byte, now time.Time) error {
	var ts string
	var macs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			macs = append(macs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(macs) == 0 {
		return fmt.Errorf("malformed signature %q", header)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, v := range macs {
		got, err := hex.DecodeString(v)
		ok = ok || err == nil && hmac.Equal(got, want)
	}
	if !ok {
		return fmt.Errorf("bad signature %q", header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("signature %q is %v off", header, d)
	}
	return nil
}

// platformEvent is an event as a platform posts it.
type platformEvent struct {
	ID          string `json:"id"`
	Call        string `json:"call"`
	Type        string `json:"type"`
	Disposition string `json:"disposition,omitempty"`
}

// platform stands in for a voice-agent platform: it checks what the dialer
// sends against docs/webhook.md, draws each call's fate from its seed and
// the call's ID, and posts the call's events back from goroutines of its
// own, in real time while the node runs on its virtual clock.
type platform struct {
	t      *testing.T
	secret string
	seed   uint64
	outage int // the first /calls requests answered 503
	ctx    context.Context
	client *http.Client
	wg     sync.WaitGroup
	evSeq  atomic.Int64

	mu        sync.Mutex
	requests  int                      // /calls requests
	refused   map[string]int           // Idempotency-Key → 503s answered
	bodies    map[string][]byte        // Idempotency-Key → first body
	placed    map[string]int           // call → places answered 2xx
	calls     map[string]provider.Call // as placed
	connects  map[string]int           // call → seat
	hangups   map[string]string        // call → reason
	sent      map[string][]string      // call → event types the node took
	pending   int                      // events being posted
	sentCount int
}

// fate is what becomes of a call: its ring outcome, how long it rings and
// how long an answered one talks once connected.
func (p *platform) fate(call string) (outcome string, ring, talk time.Duration) {
	h := fnv.New64a()
	h.Write([]byte(call))
	rng := rand.New(rand.NewPCG(p.seed, h.Sum64()))
	switch x := rng.IntN(100); {
	case x < 50:
		outcome = provider.EventAnswered
	case x < 70:
		outcome = provider.EventNoAnswer
	case x < 85:
		outcome = provider.EventBusy
	case x < 95:
		outcome = provider.EventMachine
	default:
		outcome = provider.EventFailed
	}
	return outcome, time.Duration(5+rng.IntN(25)) * time.Millisecond, time.Duration(20+rng.IntN(40)) * time.Millisecond
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.t.Errorf("platform: reading %s: %v", r.URL, err)
		return
	}
	if err := webhookAuthentic(p.secret, r.Header.Get("X-Dialerd-Signature"), body, time.Now()); err != nil {
		p.t.Errorf("platform: %s %s: %v", r.Method, r.URL, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		p.t.Errorf("platform: %s %s with Content-Type %q", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	key := r.Header.Get("Idempotency-Key")
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/platform/")
	parts := strings.Split(rest, "/")
	switch {
	case ok && rest == "calls":
		p.place(w, key, body)
	case ok && len(parts) == 3 && parts[0] == "calls" && (parts[2] == "connect" || parts[2] == "hangup"):
		id, err := url.PathUnescape(parts[1])
		if err != nil || key != parts[1]+"/"+parts[2] {
			p.t.Errorf("platform: %s with Idempotency-Key %q", r.URL, key)
		}
		if parts[2] == "connect" {
			p.connect(w, id, body)
		} else {
			p.hangup(w, id, body)
		}
	default:
		p.t.Errorf("platform: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (p *platform) place(w http.ResponseWriter, key string, body []byte) {
	var c provider.Call
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.ID == "" || c.EventsURL == "" || c.MinRingSeconds != 15 {
		p.t.Errorf("platform: bad place %s: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if key != url.PathEscape(c.ID)+"/place" {
		p.t.Errorf("platform: place of %s with Idempotency-Key %q", c.ID, key)
	}
	p.mu.Lock()
	p.requests++
	if first, ok := p.bodies[key]; !ok {
		p.bodies[key] = body
	} else if !bytes.Equal(first, body) {
		p.t.Errorf("platform: retry of %s changed its body:\n  %s\n  %s", key, first, body)
	}
	if p.requests <= p.outage {
		p.refused[key]++
		p.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p.placed[c.ID]++
	if p.placed[c.ID] > 1 {
		// Handled already: the contract says answer 2xx, do nothing.
		p.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	p.calls[c.ID] = c
	outcome, ring, _ := p.fate(c.ID)
	p.postLocked(c.EventsURL, ring, platformEvent{Call: c.ID, Type: outcome})
	p.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (p *platform) connect(w http.ResponseWriter, id string, body []byte) {
	var b struct {
		Seat int `json:"seat"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Seat < 1 {
		p.t.Errorf("platform: bad connect of %s: %s", id, body)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, placed := p.calls[id]
	outcome, _, talk := p.fate(id)
	switch _, again := p.connects[id]; {
	case !placed || outcome != provider.EventAnswered:
		p.t.Errorf("platform: connect of %s, which was not placed and answered", id)
	case again:
		p.t.Errorf("platform: %s connected twice", id)
	default:
		p.connects[id] = b.Seat
		p.postLocked(c.EventsURL, talk, platformEvent{Call: id, Type: provider.EventEnded, Disposition: "completed"})
	}
	w.WriteHeader(http.StatusOK)
}

func (p *platform) hangup(w http.ResponseWriter, id string, body []byte) {
	var b struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Reason == "" {
		p.t.Errorf("platform: bad hangup of %s: %s", id, body)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.calls[id]; !ok {
		p.t.Errorf("platform: hangup of %s, never placed", id)
	}
	p.hangups[id] = b.Reason
	w.WriteHeader(http.StatusOK)
}

// snapshot copies what the platform recorded, so a test can read it
// without holding the lock (a Fatal holding it would deadlock the
// cleanups, which wait for the handlers).
func (p *platform) snapshot() *platform {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &platform{seed: p.seed, outage: p.outage, requests: p.requests, refused: maps.Clone(p.refused),
		placed: maps.Clone(p.placed), calls: maps.Clone(p.calls), connects: maps.Clone(p.connects),
		hangups: maps.Clone(p.hangups), sent: maps.Clone(p.sent), pending: p.pending, sentCount: p.sentCount}
}

// postLocked posts ev with a fresh ID to eventsURL after delay.
func (p *platform) postLocked(eventsURL string, delay time.Duration, ev platformEvent) {
	ev.ID = fmt.Sprintf("ev_%d_%d", p.seed, p.evSeq.Add(1))
	p.pending++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			p.pending--
			p.mu.Unlock()
		}()
		select {
		case <-time.After(delay):
		case <-p.ctx.Done():
			return
		}
		body, _ := json.Marshal(ev)
		req, _ := http.NewRequestWithContext(p.ctx, "POST", eventsURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Dialerd-Signature", signWebhook(p.secret, time.Now(), body))
		res, err := p.client.Do(req)
		if p.ctx.Err() != nil {
			return // the test is over
		}
		if err != nil {
			p.t.Errorf("platform: posting %s: %v", body, err)
			return
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			p.t.Errorf("platform: event %s answered %d %s", body, res.StatusCode, answer)
			return
		}
		p.mu.Lock()
		p.sent[ev.Call] = append(p.sent[ev.Call], ev.Type)
		p.sentCount++
		p.mu.Unlock()
	}()
}

// A real node on a virtual clock (600×) places its calls through the
// webhook provider with a platform that is down for its first requests and
// posts each call's events back; every call ends as the platform said, and
// the event endpoint refuses what is unsigned, forged, stale, replayed,
// malformed or for an unknown call without touching the call log.
func TestWebhookProvider(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test_0123456789abcdef0123456789abcdef"

	// The document's worked example holds for this test's signer and the
	// provider's.
	exBody := []byte(`{"id":"ev_7Qm2","call":"c_42","type":"answered"}`)
	const exSig = "t=1735732800,v1=eaa9ddc49d0fdd61feb80637eee63842f6c8c5de2029ca092112ffa68a6baf56"
	if got := signWebhook("whsec_5f2b8c1e9a7d4306", time.Unix(1735732800, 0), exBody); got != exSig {
		t.Fatalf("docs/webhook.md example: test signer gives %s", got)
	}
	if got := webhook.Sign("whsec_5f2b8c1e9a7d4306", time.Unix(1735732800, 0), exBody); got != exSig {
		t.Fatalf("docs/webhook.md example: webhook.Sign gives %s", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	p := &platform{t: t, secret: secret, seed: 7, outage: 3, ctx: ctx,
		client:  &http.Client{Timeout: 10 * time.Second},
		refused: map[string]int{}, bodies: map[string][]byte{}, placed: map[string]int{},
		calls: map[string]provider.Call{}, connects: map[string]int{}, hangups: map[string]string{}, sent: map[string][]string{}}
	// Cleanups run last first: stop posting events, kill the node, close
	// the platform (waiting for its handlers), then wait for the posters.
	t.Cleanup(p.wg.Wait)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)

	// Monday 2026-03-09 16:00 UTC, noon in New York; the window is the
	// whole day, so every prospect is callable from the start.
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--provider", "webhook", "--webhook-url", srv.URL + "/platform/", "--webhook-secret", secret,
		"--clock", "virtual", "--clock-speed", "600", "--clock-start", "2026-03-09T16:00:00Z"}})
	t.Cleanup(cancel)
	admin := client{t: t, url: n.URL, token: boot}
	began := time.Now()

	const (
		seats, maxCalls = 4, 1
		maxWait, wrapUp = 120 * time.Second, 5 * time.Second
	)
	expect(t, admin.do("PUT", "/api/v/agent/team/", fmt.Sprintf(`{"seats": %d}`, seats)), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "Dial", "agent_id": "team", "call_ratio": 1,
		"max_number_calls": %d, "dialer_interval": 2, "earliest_prospect_time": "00:00", "latest_prospect_time": "23:59",
		"max_wait_time": %d, "wrap_up_time": %d}`, maxCalls, int(maxWait/time.Second), int(wrapUp/time.Second))), 201)
	r := admin.do("POST", "/api/v/list/", `{"name": "Dial list", "campaign": "dial"}`)
	expect(t, r, 201)
	list := r.JSON(t)["uuid"].(string)
	var csv strings.Builder
	gen, err := prospectgen.Write(&csv, 30, 3)
	if err != nil {
		t.Fatal(err)
	}
	up := waitUpload(t, admin, uploadCSV(t, admin, "dial-list", []byte(csv.String()), "true"))
	if up.Status != "completed" || up.Accepted == 0 || up.Accepted != gen.Accepted {
		t.Fatalf("upload: %s; prospectgen says %d accepted", up.counts(), gen.Accepted)
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		s := getStatus(t, admin, "dial")
		if s.Status == "Completed" && s.Prospects.Total == up.Accepted && s.Prospects.Unresolved == 0 {
			break
		}
		if time.Now().After(deadline) {
			q := p.snapshot()
			t.Fatalf("not Completed after 60 s: %+v; platform saw %d place requests, placed %d calls, %d connects, %d hangups, %d events taken",
				s, q.requests, len(q.calls), len(q.connects), len(q.hangups), q.sentCount)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dialed := time.Since(began)
	// The node ended every call, so every event was taken; wait for the
	// posters to record it.
	for {
		p.mu.Lock()
		pending := p.pending
		p.mu.Unlock()
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still being posted after 60 s", pending)
		}
		time.Sleep(10 * time.Millisecond)
	}

	calls := allCalls(t, admin, "dial")
	q := p.snapshot()

	// The outage: the refused places were retried and went through once.
	refusedTotal := 0
	for key, k := range q.refused {
		refusedTotal += k
		id := strings.TrimSuffix(key, "/place")
		if q.placed[id] != 1 {
			t.Errorf("%s was refused %d times, then placed %d times", key, k, q.placed[id])
		}
	}
	if refusedTotal != q.outage {
		t.Errorf("platform refused %d places, want %d", refusedTotal, q.outage)
	}
	for id, k := range q.placed {
		if k != 1 {
			t.Errorf("platform took the place of %s %d times", id, k)
		}
	}

	if len(calls) != up.Accepted || len(q.calls) != len(calls) {
		t.Fatalf("%d calls in the log, %d placed with the platform, for %d prospects", len(calls), len(q.calls), up.Accepted)
	}
	checkCallLog(t, calls, callRules{window: [2]int{0, 23*3600 + 59*60}, maxCalls: maxCalls, maxActive: 1000,
		maxWait: maxWait, wrapUp: wrapUp})

	outcomes := map[string]int{}
	resolutionWanted := map[string]string{}
	for _, rec := range calls {
		c, ok := q.calls[rec.ID]
		if !ok {
			t.Errorf("%s is in the log but was never placed", rec.ID)
			continue
		}
		var doc struct {
			ID    string `json:"id"`
			Phone string `json:"primary_phone"`
		}
		if err := json.Unmarshal(c.Prospect, &doc); err != nil || doc.ID != rec.Prospect || doc.Phone != rec.Phone {
			t.Errorf("%s placed with prospect %s, log says %s %s", rec.ID, c.Prospect, rec.Prospect, rec.Phone)
		}
		if c.Campaign != "dial" || c.Agent != "team" || c.Phone != rec.Phone || !strings.HasPrefix(c.Phone, "+1") ||
			c.EventsURL != n.URL+"/api/v/call/"+url.PathEscape(rec.ID)+"/event/" {
			t.Errorf("%s placed as %+v", rec.ID, c)
		}
		outcome, _, _ := q.fate(rec.ID)
		seat, connected := q.connects[rec.ID]
		reason, hungUp := q.hangups[rec.ID]
		sent := q.sent[rec.ID]
		switch {
		case outcome == provider.EventAnswered && hungUp:
			// No seat within max_wait_time: possible, never at call_ratio 1
			// with seats free, but then it must be told right.
			if reason != "abandoned" || connected || rec.Outcome != "abandoned" || rec.AnsweredAt == nil || rec.ConnectedAt != nil ||
				!slices.Equal(sent, []string{"answered"}) {
				t.Errorf("%s answered and hung up (%q), connected %v, sent %v: log %+v", rec.ID, reason, connected, sent, rec)
			}
			resolutionWanted[rec.Prospect] = "exhausted"
		case outcome == provider.EventAnswered:
			if !connected || rec.Outcome != "completed" || rec.Disposition != "completed" || rec.AnsweredAt == nil ||
				rec.ConnectedAt == nil || rec.Seat != seat || seat > seats || !slices.Equal(sent, []string{"answered", "ended"}) {
				t.Errorf("%s answered, connected to seat %d (%v), sent %v: log %+v", rec.ID, seat, connected, sent, rec)
			}
			resolutionWanted[rec.Prospect] = "completed"
		default:
			if connected || hungUp || rec.Outcome != outcome || rec.AnsweredAt != nil || rec.ConnectedAt != nil ||
				!slices.Equal(sent, []string{outcome}) {
				t.Errorf("%s: platform said %s, sent %v, connected %v, hung up %v: log %+v", rec.ID, outcome, sent, connected, hungUp, rec)
			}
			resolutionWanted[rec.Prospect] = "exhausted"
		}
		outcomes[rec.Outcome]++
	}

	r = admin.do("GET", "/api/v/list/"+list+"/prospects/?limit=1000", "")
	expect(t, r, 200)
	prospects := r.JSON(t)["results"].([]any)
	if len(prospects) != up.Accepted {
		t.Fatalf("%d prospects listed, %d accepted", len(prospects), up.Accepted)
	}
	for _, pr := range prospects {
		pr := pr.(map[string]any)
		if id := pr["id"].(string); pr["resolution"] != resolutionWanted[id] {
			t.Errorf("prospect %s resolved %v, want %q", id, pr["resolution"], resolutionWanted[id])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The event endpoint, straight: what it refuses changes nothing.
	before := allCalls(t, admin, "dial")
	anon := client{t: t, url: n.URL}
	existing, other := calls[0].ID, calls[1].ID
	post := func(call string, body []byte, sig string) response {
		t.Helper()
		h := map[string]string{}
		if sig != "" {
			h["X-Dialerd-Signature"] = sig
		}
		return anon.raw("POST", "/api/v/call/"+url.PathEscape(call)+"/event/", "application/json", body, h)
	}
	event := func(id, call, typ string) []byte {
		b, _ := json.Marshal(platformEvent{ID: id, Call: call, Type: typ})
		return b
	}
	detail := func(r response, status int, want string) {
		t.Helper()
		expect(t, r, status)
		if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, want) {
			t.Errorf("detail %q, want it to mention %q", d, want)
		}
	}
	late := event("sec-1", existing, "no_answer")
	now := time.Now()
	detail(post(existing, late, ""), 401, "missing signature")
	detail(post(existing, late, signWebhook("not the secret", now, late)), 401, "bad signature")
	detail(post(existing, late, "t=abc,v1=00"), 401, "malformed")
	detail(post(existing, late, signWebhook(secret, now, []byte(`{"id":"sec-1","call":"`+existing+`","type":"busy"}`))), 401, "bad signature")
	detail(post(existing, late, signWebhook(secret, now.Add(-10*time.Minute), late)), 401, "stale")
	detail(post(existing, late, signWebhook(secret, now.Add(10*time.Minute), late)), 401, "future")
	// Refused, so not remembered: the same id is taken now (a late event
	// for an ended call, acknowledged and ignored), and then is a replay,
	// as is or re-signed.
	sig := signWebhook(secret, now, late)
	expect(t, post(existing, late, sig), 204)
	detail(post(existing, late, sig), 401, "replayed event")
	detail(post(existing, late, signWebhook(secret, now.Add(time.Second), late)), 401, "replayed event")

	// Authentic but invalid: 400 naming the field, and a fixed copy with
	// the same id is taken.
	bad := []byte(`{"id":"sec-2","call":"` + existing + `","type":"ringing"}`)
	r = post(existing, bad, signWebhook(secret, now, bad))
	expect(t, r, 400)
	if _, ok := r.JSON(t)["type"]; !ok {
		t.Errorf("400 for an unknown type without a type field: %s", r.Body)
	}
	mismatch := event("sec-2", other, "busy")
	r = post(existing, mismatch, signWebhook(secret, now, mismatch))
	expect(t, r, 400)
	if _, ok := r.JSON(t)["call"]; !ok {
		t.Errorf("400 for a call other than the URL's without a call field: %s", r.Body)
	}
	fixed := event("sec-2", existing, "busy")
	expect(t, post(existing, fixed, signWebhook(secret, now, fixed)), 204)

	// Unknown calls: 404, and not remembered either.
	for _, call := range []string{"dial.999999", "nosuch.1"} {
		ev := event("sec-3-"+call, call, "answered")
		expect(t, post(call, ev, signWebhook(secret, now, ev)), 404)
		expect(t, post(call, ev, signWebhook(secret, now, ev)), 404)
	}

	if after := allCalls(t, admin, "dial"); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused and late events changed the call log:\nbefore %+v\nafter  %+v", before, after)
	}
	t.Logf("%d prospects set up and dialled in %v (outcomes %v); %d places refused then retried (%v), %d connects, %d hangups, %d events",
		up.Accepted, dialed.Round(time.Millisecond), outcomes, q.outage, q.refused, len(q.connects), len(q.hangups), q.sentCount)
}
