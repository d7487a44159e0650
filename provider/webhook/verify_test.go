package webhook

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

// verifier returns a Webhook whose clock reads t0; it sends nothing.
func verifier(t testing.TB, cfg Config) (*Webhook, *dialerd.ManualClock) {
	clock := dialerd.NewManualClock(t0)
	cfg.URL, cfg.Sink, cfg.Clock = "https://platform.invalid", func(string, provider.Event) {}, clock
	return mustNew(t, cfg), clock
}

func TestVerify(t *testing.T) {
	const answered = `{"id":"ev-1","call":"c-1","type":"answered"}`
	signed := func(body string) string { return Sign(testSecret, t0, []byte(body)) }
	good := signed(answered)
	for _, tc := range []struct {
		name, body, sig string
		code, msg       string // msg: part of the error message
	}{
		{name: "good", body: answered, sig: good},
		{name: "spaces and a new scheme", body: answered, sig: " " + strings.ReplaceAll(good, ",", " , ") + ",v2=zz"},
		{name: "rotated secret", body: answered, sig: good + ",v1=" + strings.Repeat("ab", 32)},
		{name: "rotated secret second", body: answered, sig: "t=1735732800,v1=" + strings.Repeat("ab", 32) + "," + good[len("t=1735732800,"):]},
		{name: "tolerance past", body: answered, sig: Sign(testSecret, t0.Add(-DefaultTolerance), []byte(answered))},
		{name: "tolerance future", body: answered, sig: Sign(testSecret, t0.Add(DefaultTolerance), []byte(answered))},
		{name: "ended with callback", body: `{"id":"ev-1","call":"c-1","type":"ended","disposition":"callback","callback_at":"2025-01-02T09:30:00-05:00"}`,
			sig: signed(`{"id":"ev-1","call":"c-1","type":"ended","disposition":"callback","callback_at":"2025-01-02T09:30:00-05:00"}`)},

		{name: "missing", body: answered, sig: "", code: dialerd.EUNAUTHORIZED, msg: "missing signature"},
		{name: "bad", body: answered, sig: "t=1735732800,v1=" + strings.Repeat("00", 32), code: dialerd.EUNAUTHORIZED, msg: "bad signature"},
		{name: "wrong secret", body: answered, sig: Sign("other", t0, []byte(answered)), code: dialerd.EUNAUTHORIZED, msg: "bad signature"},
		{name: "tampered body", body: strings.Replace(answered, "c-1", "c-2", 1), sig: good, code: dialerd.EUNAUTHORIZED, msg: "bad signature"},
		{name: "timestamp changed", body: answered, sig: strings.Replace(good, "t=1735732800", "t=1735732801", 1), code: dialerd.EUNAUTHORIZED, msg: "bad signature"},
		{name: "stale", body: answered, sig: Sign(testSecret, t0.Add(-DefaultTolerance-time.Second), []byte(answered)), code: dialerd.EUNAUTHORIZED, msg: "stale timestamp"},
		{name: "future", body: answered, sig: Sign(testSecret, t0.Add(DefaultTolerance+time.Second), []byte(answered)), code: dialerd.EUNAUTHORIZED, msg: "future"},
		{name: "garbage header", body: answered, sig: "garbage", code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "no timestamp", body: answered, sig: good[len("t=1735732800,"):], code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "no v1", body: answered, sig: "t=1735732800", code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "two timestamps", body: answered, sig: "t=1735732800," + good, code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "timestamp not decimal", body: answered, sig: strings.Replace(good, "t=", "t=+", 1), code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "v1 not hex", body: answered, sig: "t=1735732800,v1=" + strings.Repeat("zz", 32), code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "v1 short", body: answered, sig: "t=1735732800,v1=abcd", code: dialerd.EUNAUTHORIZED, msg: "malformed"},
		{name: "huge header", body: answered, sig: good + strings.Repeat(",x=1", 1000), code: dialerd.EUNAUTHORIZED, msg: "malformed"},

		{name: "unknown type", body: `{"id":"e","call":"c","type":"ringing"}`, code: dialerd.EINVALID},
		{name: "unknown field", body: `{"id":"e","call":"c","type":"busy","extra":1}`, code: dialerd.EINVALID},
		{name: "field case", body: `{"ID":"e","call":"c","type":"busy"}`, code: dialerd.EINVALID},
		{name: "duplicate field", body: `{"id":"e","call":"c","type":"busy","type":"ended"}`, code: dialerd.EINVALID},
		{name: "no id", body: `{"call":"c","type":"busy"}`, code: dialerd.EINVALID},
		{name: "no call", body: `{"id":"e","type":"busy"}`, code: dialerd.EINVALID},
		{name: "null id", body: `{"id":null,"call":"c","type":"busy"}`, code: dialerd.EINVALID},
		{name: "number call", body: `{"id":"e","call":7,"type":"busy"}`, code: dialerd.EINVALID},
		{name: "long id", body: `{"id":"` + strings.Repeat("e", 257) + `","call":"c","type":"busy"}`, code: dialerd.EINVALID},
		{name: "trailing data", body: `{"id":"e","call":"c","type":"busy"}{}`, code: dialerd.EINVALID},
		{name: "array", body: `[]`, code: dialerd.EINVALID},
		{name: "empty", body: ``, code: dialerd.EINVALID},
		{name: "not utf-8", body: "{\"id\":\"e\xff\",\"call\":\"c\",\"type\":\"busy\"}", code: dialerd.EINVALID},
		{name: "disposition on answered", body: `{"id":"e","call":"c","type":"answered","disposition":"completed"}`, code: dialerd.EINVALID},
		{name: "unknown disposition", body: `{"id":"e","call":"c","type":"ended","disposition":"sold"}`, code: dialerd.EINVALID},
		{name: "callback_at not rfc 3339", body: `{"id":"e","call":"c","type":"ended","disposition":"callback","callback_at":"2025-01-02 09:30"}`, code: dialerd.EINVALID},
		{name: "callback_at unix", body: `{"id":"e","call":"c","type":"ended","disposition":"callback","callback_at":"1735810200"}`, code: dialerd.EINVALID},
		{name: "callback_at without callback", body: `{"id":"e","call":"c","type":"ended","callback_at":"2025-01-02T09:30:00Z"}`, code: dialerd.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := verifier(t, Config{Secret: testSecret})
			sig := tc.sig
			if sig == "" && tc.code == dialerd.EINVALID {
				sig = signed(tc.body)
			}
			ev, err := w.Verify([]byte(tc.body), sig)
			if dialerd.ErrorCode(err) != tc.code || !strings.Contains(dialerd.ErrorMessage(err), tc.msg) {
				t.Fatalf("Verify: %v (%q), want code %q with %q", err, dialerd.ErrorMessage(err), tc.code, tc.msg)
			}
			var de *dialerd.Error
			if err != nil && !errors.As(err, &de) {
				t.Errorf("%T is not a *dialerd.Error", err)
			}
			if err == nil && (ev.ID != "ev-1" || ev.Call != "c-1") {
				t.Errorf("event %+v", ev)
			}
		})
	}
}

func TestVerifyEndedEvent(t *testing.T) {
	w, _ := verifier(t, Config{Secret: testSecret})
	body := []byte(`{"id":"ev-9","call":"c-9","type":"ended","disposition":"callback","callback_at":"2025-01-02T09:30:00-05:00","reason":"asked to call back"}`)
	ev, err := w.Verify(body, Sign(testSecret, t0, body))
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Event{ID: "ev-9", Call: "c-9", Type: provider.EventEnded, Disposition: "callback",
		CallbackAt: time.Date(2025, 1, 2, 14, 30, 0, 0, time.UTC), Reason: "asked to call back"}
	if ev != want {
		t.Errorf("event %+v, want %+v (callback_at in UTC)", ev, want)
	}
}

func TestVerifyRejectsReplays(t *testing.T) {
	w, clock := verifier(t, Config{Secret: testSecret})
	body := []byte(`{"id":"ev-1","call":"c-1","type":"no_answer"}`)
	sig := Sign(testSecret, t0, body)
	if _, err := w.Verify(body, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Verify(body, sig); dialerd.ErrorCode(err) != dialerd.EUNAUTHORIZED || !strings.Contains(dialerd.ErrorMessage(err), "replayed event") {
		t.Fatalf("replay: %v", err)
	}
	// The same ID signed anew within the window is still the same event.
	clock.Advance(time.Minute)
	if _, err := w.Verify(body, Sign(testSecret, clock.Now(), body)); !strings.Contains(dialerd.ErrorMessage(err), "replayed event") {
		t.Fatalf("re-signed replay: %v", err)
	}
	// An event the dialer could not act on is retried by the platform.
	w.Forget("ev-1")
	if _, err := w.Verify(body, Sign(testSecret, clock.Now(), body)); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
	// An invalid event is not remembered: the platform may fix and resend it.
	bad := []byte(`{"id":"ev-2","call":"c-1","type":"hello"}`)
	fixed := []byte(`{"id":"ev-2","call":"c-1","type":"busy"}`)
	if _, err := w.Verify(bad, Sign(testSecret, clock.Now(), bad)); dialerd.ErrorCode(err) != dialerd.EINVALID {
		t.Fatalf("bad event: %v", err)
	}
	if _, err := w.Verify(fixed, Sign(testSecret, clock.Now(), fixed)); err != nil {
		t.Fatalf("fixed event: %v", err)
	}
	// Past the window the captured request is stale, not forgotten.
	clock.Advance(DefaultTolerance)
	if _, err := w.Verify(body, sig); !strings.Contains(dialerd.ErrorMessage(err), "stale timestamp") {
		t.Fatalf("old replay: %v", err)
	}
}

func TestVerifyReplayMemoryIsBounded(t *testing.T) {
	w, clock := verifier(t, Config{Secret: testSecret, MaxSeen: 3})
	verify := func(id string) error {
		body := fmt.Appendf(nil, `{"id":%q,"call":"c-1","type":"busy"}`, id)
		_, err := w.Verify(body, Sign(testSecret, clock.Now(), body))
		return err
	}
	for i := range 3 {
		if err := verify(fmt.Sprint("ev-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := verify("ev-3"); dialerd.ErrorCode(err) != dialerd.EUNAVAILABLE {
		t.Fatalf("over the bound: %v, want EUNAVAILABLE", err)
	}
	if err := verify("ev-0"); !strings.Contains(dialerd.ErrorMessage(err), "replayed event") {
		t.Fatalf("a full memory forgot ev-0: %v", err)
	}
	clock.Advance(DefaultTolerance + time.Second)
	if err := verify("ev-3"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if n := len(w.seen.ids); n != 1 {
		t.Errorf("%d IDs remembered, want 1: the others went stale", n)
	}
}

func TestVerifyConcurrentReplaysAcceptOne(t *testing.T) {
	w, _ := verifier(t, Config{Secret: testSecret})
	body := []byte(`{"id":"ev-1","call":"c-1","type":"machine"}`)
	sig := Sign(testSecret, t0, body)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 32 {
		wg.Go(func() {
			if _, err := w.Verify(body, sig); err == nil {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("%d of 32 identical posts accepted, want 1", accepted)
	}
}

// TestDocExample holds docs/webhook.md's worked example to the code.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/webhook.md")
	if err != nil {
		t.Fatal(err)
	}
	const (
		secret = "whsec_5f2b8c1e9a7d4306"
		body   = `{"id":"ev_7Qm2","call":"c_42","type":"answered"}`
	)
	at := time.Unix(1735732800, 0)
	for _, want := range []string{secret, "1735732800", body, Sign(secret, at, []byte(body))} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/webhook.md lacks %q", want)
		}
	}
	w, _ := verifier(t, Config{Secret: secret})
	if _, err := w.Verify([]byte(body), Sign(secret, at, []byte(body))); err != nil {
		t.Errorf("the example does not verify: %v", err)
	}
}
