package dialer

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

// One call's life through the engine: placed, answered, queued while the
// only seat wraps up, connected, hung up with a callback; its Result says
// when to call again; an answered call with no seat is abandoned after
// max_wait_time; a prospect out of attempts is resolved as exhausted.
func TestEngineCallLife(t *testing.T) {
	now := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC) // 12:00 in New York
	s := settings(func(c *dialerd.Campaign) {
		c.WrapUpTime, c.MaxWaitTime, c.MinTimeBetweenCalls, c.MaxNumberCalls = 30, 60, 10, 2
	})
	seats := []Seat{{Position: 1, State: SeatAvailable, LastCallEnd: now.Add(-10 * time.Second)}}
	e := NewEngine(s, seats, rand.New(rand.NewPCG(1, 1)))
	ny := []string{"America/New_York"}
	b := Prospect{ID: "b", List: "l", Candidate: Candidate{State: "NY", Timezones: ny, Added: now.Add(-2 * time.Hour)}}

	// The seat is in wrap-up for 20 s more: nothing to place.
	if n := e.Want(now); n != 0 {
		t.Fatalf("wants %d calls with the only seat in wrap-up", n)
	}
	now = now.Add(20 * time.Second)
	if n := e.Want(now); n != 1 {
		t.Fatalf("wants %d calls with one seat free at ratio 1", n)
	}
	Take(&b.Candidate, now)
	c := e.Place(now, 7, b)
	if c == nil || c.ID != 7 || e.Ringing() != 1 || !e.InCall(b.Key()) {
		t.Fatalf("placed %+v", c)
	}
	if e.Place(now, 8, b) != nil {
		t.Fatal("a prospect in a call was placed again")
	}
	if n := e.Want(now); n != 0 {
		t.Fatalf("wants %d more with one seat and one call ringing", n)
	}
	e.Ring(now.Add(5*time.Second), c.ID, OutcomeAnswered)
	if !e.Seats[0].Busy || c.Seat != 1 || e.Connected() != 1 {
		t.Fatalf("answered call not connected to the free seat")
	}
	back := now.Add(2 * time.Hour)
	e.Hangup(now.Add(65*time.Second), c.ID, DispositionCallback, back)
	if e.Seats[0].Busy || e.Seats[0].Calls != 1 || e.Seats[0].TalkTime != time.Minute {
		t.Fatalf("seat after the call: %+v", e.Seats[0])
	}
	res := e.TakeResults()
	want := []Result{{Prospect: "b", List: "l", Call: 7, Outcome: OutcomeCompleted, Attempts: 1, LastAttempt: now, Due: back, CallbackAt: back}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("results %+v, want %+v", res, want)
	}
	if ch := e.TakeChanged(); len(ch) != 1 || ch[0] != c || c.Disposition != DispositionCallback || c.Outcome != OutcomeCompleted {
		t.Fatalf("changed %+v", ch)
	}
	if e.InProgress() != 0 || e.InCall(b.Key()) {
		t.Fatal("call still in progress")
	}

	// Its second and last attempt is answered with the seat on another
	// call: abandoned after max_wait_time, and exhausted.
	later := back
	e.Seats[0].Busy = true
	if n := e.Want(later); n != 0 {
		t.Fatalf("wants %d with the seat busy", n)
	}
	e.Seats[0].Busy = false
	Take(&b.Candidate, later)
	c = e.Place(later, 8, b)
	e.Seats[0].Busy = true
	e.Ring(later.Add(time.Second), c.ID, OutcomeAnswered)
	if e.Queued() != 1 || !e.NextDeadline().Equal(later.Add(61*time.Second+time.Nanosecond)) {
		t.Fatalf("queued %d, deadline %v", e.Queued(), e.NextDeadline())
	}
	e.Advance(later.Add(61 * time.Second)) // waited exactly max_wait_time: still waits
	if e.Queued() != 1 {
		t.Fatal("abandoned at exactly max_wait_time")
	}
	e.Advance(later.Add(62 * time.Second))
	if c.Outcome != OutcomeAbandoned || !c.Connected.IsZero() || e.Queued() != 0 {
		t.Fatalf("call waiting 61 s with max_wait_time 60: %+v", c)
	}
	if res := e.TakeResults(); len(res) != 1 || res[0].Resolution != ResolvedExhausted || res[0].Attempts != 2 {
		t.Fatalf("results %+v, want exhausted after 2 attempts", res)
	}
}

// Drop ends a call in any state and frees what it held.
func TestEngineDrop(t *testing.T) {
	now := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC)
	s := settings(func(c *dialerd.Campaign) { c.MaxNumberCalls, c.MinTimeBetweenCalls, c.WrapUpTime = 3, 30, 0 })
	e := NewEngine(s, []Seat{{Position: 1, State: SeatAvailable}}, rand.New(rand.NewPCG(1, 1)))
	for i, id := range []string{"ringing", "talking", "queued"} {
		p := Prospect{ID: id, List: "l", Candidate: Candidate{Timezones: []string{"America/New_York"}, Added: now}}
		Take(&p.Candidate, now)
		e.Place(now, int64(i+1), p)
	}
	e.Ring(now, 2, OutcomeAnswered) // takes the seat
	e.Ring(now, 3, OutcomeAnswered) // waits
	if e.Ringing() != 1 || e.Connected() != 1 || e.Queued() != 1 {
		t.Fatalf("ringing %d connected %d queued %d", e.Ringing(), e.Connected(), e.Queued())
	}
	e.Drop(now.Add(time.Minute), 1, OutcomeUnknown)
	e.Drop(now.Add(time.Minute), 2, OutcomeUnknown) // frees the seat: the queued call takes it
	if e.Ringing() != 0 || e.Queued() != 0 || e.Connected() != 1 || e.Call(3).Seat != 1 {
		t.Fatalf("after drops: ringing %d queued %d connected %d", e.Ringing(), e.Queued(), e.Connected())
	}
	res := e.TakeResults()
	if len(res) != 2 || res[0].Prospect != "ringing" || res[1].Prospect != "talking" {
		t.Fatalf("results %+v, want the two dropped calls", res)
	}
	for _, r := range res {
		if r.Outcome != OutcomeUnknown || r.Resolution != "" || !r.Due.Equal(now.Add(30*time.Minute)) {
			t.Fatalf("dropped call's result %+v: want retried after min_time_between_calls", r)
		}
	}
}

// Calls whose provider never says what became of them are closed as
// unknown past their bound: unanswered after MaxRingWait, on a seat after
// MaxTalk (the seat freed); calls within their bounds are left alone.
func TestEngineExpire(t *testing.T) {
	now := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC)
	s := settings(func(c *dialerd.Campaign) {
		c.MaxNumberCalls, c.MinTimeBetweenCalls, c.WrapUpTime, c.MaxWaitTime = 3, 30, 0, 600
	})
	e := NewEngine(s, []Seat{{Position: 1, State: SeatAvailable}}, rand.New(rand.NewPCG(1, 1)))
	for i, id := range []string{"lost", "talking", "late"} {
		p := Prospect{ID: id, List: "l", Candidate: Candidate{Timezones: []string{"America/New_York"}, Added: now}}
		Take(&p.Candidate, now)
		e.Place(now.Add(time.Duration(i)*time.Minute), int64(i+1), p)
	}
	e.Ring(now, 2, OutcomeAnswered) // takes the seat
	e.Expire(now.Add(MaxRingWait))  // nothing is past its bound yet
	if e.InProgress() != 3 {
		t.Fatalf("expired early: %d in progress", e.InProgress())
	}
	e.Expire(now.Add(MaxRingWait + time.Second))
	if e.InProgress() != 2 || e.Call(1) != nil || e.Ringing() != 1 {
		t.Fatalf("after the ring bound: %d in progress, ringing %d", e.InProgress(), e.Ringing())
	}
	res := e.TakeResults()
	if len(res) != 1 || res[0].Prospect != "lost" || res[0].Outcome != OutcomeUnknown || !res[0].Due.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("result of the lost call: %+v", res)
	}
	e.Ring(now.Add(3*time.Minute), 3, OutcomeNoAnswer)
	e.Expire(now.Add(MaxTalk + time.Second))
	if e.InProgress() != 0 || e.Seats[0].Busy {
		t.Fatalf("after the talk bound: %d in progress, seat busy %v", e.InProgress(), e.Seats[0].Busy)
	}
	if res := e.TakeResults(); len(res) != 2 || res[1].Prospect != "talking" || res[1].Outcome != OutcomeUnknown {
		t.Fatalf("results: %+v", res)
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
