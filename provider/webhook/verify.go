package webhook

import (
	"bytes"
	"container/heap"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

// Sign returns the X-Dialerd-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", Stripe's
// scheme. The timestamp is signed with the body, so a captured request
// cannot be replayed later with a fresh one.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Limits on what an unauthenticated sender can make Verify do.
const (
	maxSignatureLen = 1024
	maxSignatures   = 8 // v1 entries: rotation needs two
	maxIDLen        = 256
)

// Verify authenticates an event the platform posted, with signature the
// X-Dialerd-Signature header, and returns the event. A missing, malformed,
// wrong, stale or future signature, or an event ID already accepted within
// the tolerance, is EUNAUTHORIZED; an authentic body that is not a valid
// event is EINVALID; a full replay memory is EUNAVAILABLE. An event is
// remembered only once it is accepted; see Forget.
func (w *Webhook) Verify(body []byte, signature string) (provider.Event, error) {
	if signature == "" {
		return provider.Event{}, rejected("missing signature")
	}
	ts, t, macs, ok := parseSignature(signature)
	if !ok {
		return provider.Event{}, rejected("malformed signature header")
	}
	want := mac(w.cfg.Secret, ts, body)
	match := false
	for _, m := range macs {
		match = hmac.Equal(m, want) || match
	}
	if !match {
		return provider.Event{}, rejected("bad signature")
	}
	now := w.cfg.Clock.Now()
	at := time.Unix(t, 0)
	if now.Sub(at) > w.cfg.Tolerance {
		return provider.Event{}, rejected("stale timestamp")
	} else if at.Sub(now) > w.cfg.Tolerance {
		return provider.Event{}, rejected("timestamp in the future")
	}
	ev, err := parseEvent(body)
	if err != nil {
		return provider.Event{}, err
	}
	// Past t+Tolerance the same signed body is stale, so the ID need not
	// be remembered longer.
	until := t + int64((w.cfg.Tolerance+time.Second-1)/time.Second)
	if err := w.seen.add(ev.ID, until, now.Unix()); err != nil {
		return provider.Event{}, err
	}
	return ev, nil
}

func rejected(what string) error {
	return dialerd.Errorf(dialerd.EUNAUTHORIZED, "Rejected event: %s.", what)
}

// parseSignature reads "t=<unix seconds>,v1=<hex>[,v1=<hex>…]". Entries of
// other schemes are ignored, so that one can be added later.
func parseSignature(h string) (ts string, t int64, macs [][]byte, ok bool) {
	if len(h) > maxSignatureLen {
		return "", 0, nil, false
	}
	for part := range strings.SplitSeq(h, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return "", 0, nil, false
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			// One canonical spelling: the signed string is the header's.
			if ts != "" || err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
				return "", 0, nil, false
			}
			ts, t = v, n
		case "v1":
			m, err := hex.DecodeString(v)
			if err != nil || len(m) != sha256.Size || len(macs) == maxSignatures {
				return "", 0, nil, false
			}
			macs = append(macs, m)
		}
	}
	return ts, t, macs, ts != "" && len(macs) > 0
}

var eventTypes = map[string]bool{
	provider.EventAnswered: true,
	provider.EventNoAnswer: true,
	provider.EventBusy:     true,
	provider.EventFailed:   true,
	provider.EventMachine:  true,
	provider.EventEnded:    true,
}

var dispositions = map[string]bool{"completed": true, "callback": true, "do_not_call": true}

// parseEvent reads an event strictly: exact field names, each at most
// once, strings only, nothing after the object. encoding/json alone would
// match names case-insensitively and let a duplicate override.
func parseEvent(body []byte) (provider.Event, error) {
	var ev provider.Event
	bad := func(field, msg string) (provider.Event, error) {
		return provider.Event{}, &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid event.", Fields: map[string][]string{field: {msg}}}
	}
	if !utf8.Valid(body) {
		return bad("body", "Not UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("body", "Send one JSON object.")
	}
	seen := make(map[string]bool)
	var callbackAt string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("body", "Malformed JSON.")
		}
		key, _ := tok.(string)
		var dst *string
		switch key {
		case "id":
			dst = &ev.ID
		case "call":
			dst = &ev.Call
		case "type":
			dst = &ev.Type
		case "disposition":
			dst = &ev.Disposition
		case "reason":
			dst = &ev.Reason
		case "callback_at":
			dst = &callbackAt
		default:
			return bad(key, "Unknown field.")
		}
		if seen[key] {
			return bad(key, "Given more than once.")
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad("body", "Malformed JSON.")
		}
		if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
			return bad(key, "Must be a string.")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return bad("body", "Malformed JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("body", "Data after the event.")
	}

	fe := dialerd.FieldErrors{}
	for field, v := range map[string]string{"id": ev.ID, "call": ev.Call} {
		if v == "" {
			fe.Add(field, "Required.")
		} else if len(v) > maxIDLen {
			fe.Add(field, "At most 256 bytes.")
		}
	}
	if !eventTypes[ev.Type] {
		fe.Add("type", "Use answered, no_answer, busy, failed, machine or ended.")
	}
	if ev.Disposition != "" {
		if ev.Type != provider.EventEnded {
			fe.Add("disposition", "Only with type ended.")
		} else if !dispositions[ev.Disposition] {
			fe.Add("disposition", "Use completed, callback or do_not_call.")
		}
	}
	if seen["callback_at"] {
		at, err := time.Parse(time.RFC3339, callbackAt)
		if at = at.UTC(); err != nil || at.Year() < 1 || at.Year() > 9999 {
			fe.Add("callback_at", "Use RFC 3339, e.g. 2025-01-02T15:04:05Z.")
		} else if ev.Disposition != "callback" {
			fe.Add("callback_at", "Only with disposition callback.")
		}
		ev.CallbackAt = at
	}
	if err := fe.Err(); err != nil {
		return provider.Event{}, err
	}
	return ev, nil
}

// Forget lets the event id be accepted again: for a caller that could not
// act on an event Verify accepted and answers the platform "retry later".
func (w *Webhook) Forget(id string) {
	w.seen.forget(id)
}

// replays remembers accepted event IDs until their signature goes stale.
// IDs are kept as 128-bit hashes: memory per entry does not depend on what
// the platform sends.
type replays struct {
	mu    sync.Mutex
	max   int
	ids   map[[16]byte]int64 // until when
	until untilHeap          // may hold forgotten IDs: it bounds memory
}

func newReplays(max int) *replays {
	return &replays{max: max, ids: make(map[[16]byte]int64)}
}

func replayKey(id string) [16]byte {
	sum := sha256.Sum256([]byte(id))
	return [16]byte(sum[:16])
}

// add accepts id unless it is remembered, remembering it until the unix
// second until; now is the current unix second.
func (r *replays) add(id string, until, now int64) error {
	key := replayKey(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.until) > 0 && r.until[0].until < now {
		e := heap.Pop(&r.until).(seenID)
		if r.ids[e.key] == e.until { // not forgotten and accepted again since
			delete(r.ids, e.key)
		}
	}
	if _, ok := r.ids[key]; ok {
		return rejected("replayed event")
	}
	if len(r.until) >= r.max {
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "Too many recent events; retry later.")
	}
	r.ids[key] = until
	heap.Push(&r.until, seenID{until: until, key: key})
	return nil
}

func (r *replays) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ids, replayKey(id))
}

type seenID struct {
	until int64
	key   [16]byte
}

type untilHeap []seenID

func (h untilHeap) Len() int           { return len(h) }
func (h untilHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h untilHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *untilHeap) Push(x any)        { *h = append(*h, x.(seenID)) }
func (h *untilHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
