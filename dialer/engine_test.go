package dialer

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

// One call's life through the engine: placed, answered, queued while the
// only seat wraps up, connected, hung up with a callback; then Reasons and
// Status say what the campaign is waiting for.
func TestEngineCallLife(t *testing.T) {
	now := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC) // 12:00 in New York
	s := settings(func(c *dialerd.Campaign) {
		c.WrapUpTime, c.MaxWaitTime, c.MinTimeBetweenCalls, c.MaxNumberCalls = 30, 60, 10, 3
	})
	seats := []Seat{{Position: 1, State: SeatAvailable, LastCallEnd: now.Add(-10 * time.Second)}}
	e := NewEngine(s, seats, rand.New(rand.NewPCG(1, 1)))
	ny := []string{"America/New_York"}
	e.Add(Prospect{ID: "a", Candidate: Candidate{State: "NY", Timezones: ny, Added: now.Add(-time.Hour)}})
	e.Add(Prospect{ID: "b", Candidate: Candidate{State: "NY", Timezones: ny, Added: now.Add(-2 * time.Hour)}})
	e.Add(Prospect{ID: "c", Candidate: Candidate{State: "CA", Timezones: []string{"America/Los_Angeles"}, Added: now}})

	// The seat is in wrap-up for 20 s more: nothing to place.
	if calls := e.Tick(now); len(calls) != 0 {
		t.Fatalf("placed %d calls with the only seat in wrap-up", len(calls))
	}
	now = now.Add(20 * time.Second)
	calls := e.Tick(now)
	if len(calls) != 1 || calls[0].Prospect != "b" {
		t.Fatalf("placed %+v, want one call to b (eligible longest)", calls)
	}
	if e.Status() != "Running" {
		t.Fatalf("status %s with a call ringing", e.Status())
	}
	id := calls[0].ID
	e.Ring(now.Add(5*time.Second), id, OutcomeAnswered)
	if e.Seats[0].Busy != true || e.calls[id].Seat != 1 {
		t.Fatalf("answered call not connected to the free seat")
	}
	e.Hangup(now.Add(65*time.Second), id, DispositionCallback, now.Add(2*time.Hour))
	if e.Seats[0].Busy || e.Seats[0].Calls != 1 || e.Seats[0].TalkTime != time.Minute {
		t.Fatalf("seat after the call: %+v", e.Seats[0])
	}
	later := now.Add(30 * time.Minute) // past min_time_between_calls, before the callback
	want := map[Reason]int{Eligible: 2, ReasonCallback: 1}
	if got := e.Reasons(later); !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %v, want %v", got, want)
	}
	if e.Status() != "Stopped" {
		t.Fatalf("status %s with nothing in progress", e.Status())
	}
	// An answered call with no seat free is abandoned after max_wait_time.
	e.Seats[0].Busy = true // on someone else's call
	calls = e.Tick(later)
	if len(calls) != 0 {
		t.Fatalf("placed %d with the seat busy", len(calls))
	}
	e.Seats[0].Busy = false
	calls = e.Tick(later)
	if len(calls) != 1 {
		t.Fatalf("placed %d, want 1", len(calls))
	}
	e.Seats[0].Busy = true
	e.Ring(later.Add(time.Second), calls[0].ID, OutcomeAnswered)
	e.Advance(later.Add(62 * time.Second))
	if c := calls[0]; c.Outcome != OutcomeAbandoned || !c.Connected.IsZero() {
		t.Fatalf("call waiting 61 s with max_wait_time 60: %+v", c)
	}
	if p := e.Prospect(calls[0].Prospect); p.Resolved || p.Attempts != 1 {
		t.Fatalf("abandoned prospect: %+v", p)
	}
}

// The sim telephone draws outcomes at its rates and times within bounds,
// the same for the same seed.
func TestSimPhone(t *testing.T) {
	a, b := NewSimPhone(42), NewSimPhone(42)
	counts := map[string]int{}
	const n = 100_000
	for i := 0; i < n; i++ {
		c := a.Place()
		if c != b.Place() {
			t.Fatal("same seed, different calls")
		}
		counts[c.Outcome]++
		if c.Ring < a.RingMin || c.Ring > a.RingMax || (c.Outcome == OutcomeAnswered) != (c.Talk > 0) || c.Talk > a.TalkMax {
			t.Fatalf("call %+v", c)
		}
	}
	for out, rate := range map[string]float64{OutcomeAnswered: 0.35, OutcomeMachine: 0.10, OutcomeBusy: 0.05, OutcomeFailed: 0.02, OutcomeNoAnswer: 0.48} {
		if got := float64(counts[out]) / n; got < rate-0.01 || got > rate+0.01 {
			t.Errorf("%s: %.3f of calls, want %.2f", out, got, rate)
		}
	}
}
