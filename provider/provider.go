// Package provider is the dialer's telephony: it places calls, connects
// answered ones to seats and hangs up, and reports what happened to each
// call as events. Two implementations: sim (a seeded simulated carrier and
// agents on the node's clock) and webhook (a voice-agent platform over
// signed HTTP; see docs/webhook.md).
//
// Every method returns at once: a slow or dead platform must never stall
// the campaign grain that called it, nor any other campaign.
package provider

import (
	"encoding/json"
	"time"
)

// Event types a provider reports for a call.
const (
	EventAnswered = "answered"  // a person answered: the call joins the queue
	EventNoAnswer = "no_answer" // rang out
	EventBusy     = "busy"
	EventFailed   = "failed"  // could not be placed (bad number, platform down)
	EventMachine  = "machine" // an answering machine
	// EventEnded: a connected call ended. Disposition says how the seat
	// judged it ("" when it gave none: completed).
	EventEnded = "ended"
)

// Call is a call to place.
type Call struct {
	ID        string          `json:"id"`
	Campaign  string          `json:"campaign"`
	Agent     string          `json:"agent"`
	Phone     string          `json:"phone"`    // E.164
	Prospect  json.RawMessage `json:"prospect"` // the prospect's record, fields included
	EventsURL string          `json:"events_url"`
	// MinRingSeconds is how long an unanswered call must ring before it is
	// given up as no_answer (dialer.MinRing).
	MinRingSeconds int `json:"min_ring_seconds"`
	// Epoch is a fencing token: it rises each time the campaign moves to
	// another node. A place carrying a lower epoch than one already seen
	// for its campaign comes from a node that lost the campaign (frozen,
	// cut off) and must be refused (0 when the store has no epochs).
	Epoch uint64 `json:"epoch"`
	// Fence, when set, says whether the campaign placing the call still
	// owns it: a provider that sends the place later (a queue, retries)
	// asks it right before each send, and drops the call when it answers
	// an error — its campaign moved to another node, which closes the
	// call as unknown; a fenced owner must place nothing.
	Fence func() error `json:"-"`
}

// Event is something that happened to a call.
type Event struct {
	// ID identifies the event, so a replay is recognised.
	ID   string `json:"id"`
	Call string `json:"call"`
	Type string `json:"type"`
	// Disposition and CallbackAt come with EventEnded.
	Disposition string    `json:"disposition,omitempty"`
	CallbackAt  time.Time `json:"callback_at,omitzero"`
	// Reason says why a call failed.
	Reason string `json:"reason,omitempty"`
}

// Sink receives a provider's events. It must not block for long; it is
// called from the provider's goroutines.
type Sink func(campaign string, ev Event)

// Provider places calls. Calls are identified by Call.ID; a provider may
// see Connect and Hangup for calls it has already reported ended, and
// ignores them.
type Provider interface {
	// Place starts a call; its outcome arrives as an event.
	Place(c Call)
	// Connect bridges an answered call to a seat (1-based position).
	Connect(campaign, call string, seat int)
	// Hangup ends a call the dialer gives up on (abandoned after
	// max_wait_time, campaign deleted); reason says why.
	Hangup(campaign, call string, reason string)
	// Close stops the provider's goroutines and timers.
	Close()
}
