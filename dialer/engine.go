package dialer

import (
	"math/rand/v2"
	"sort"
	"time"
)

// Outcomes of a call attempt.
const (
	OutcomeAnswered  = "answered"  // a person: joins the queue
	OutcomeNoAnswer  = "no_answer" // retried later
	OutcomeBusy      = "busy"
	OutcomeFailed    = "failed"
	OutcomeMachine   = "machine"
	OutcomeAbandoned = "abandoned" // answered, but no seat within max_wait_time
	OutcomeCompleted = "completed" // talked to a seat
)

// Dispositions a seat gives a call it talked.
const (
	DispositionCompleted = "completed"
	DispositionCallback  = "callback"
	DispositionDNC       = "do_not_call"
)

// Prospect is the engine's view of one prospect.
type Prospect struct {
	ID string
	Candidate
	// CallbackAt, when set, is the earliest time to call again (a
	// callback the seat asked for).
	CallbackAt time.Time
	InCall     bool
}

// eligibleFrom is when the prospect became (or becomes) eligible as far
// as its own history goes: "oldest eligible first" orders by it.
func (p *Prospect) eligibleFrom(s Settings) time.Time {
	t := p.Added
	if !p.LastAttempt.IsZero() {
		if n := p.LastAttempt.Add(s.MinBetween); n.After(t) {
			t = n
		}
	}
	if p.CallbackAt.After(t) {
		t = p.CallbackAt
	}
	return t
}

// Call is one attempt, kept for the call log.
type Call struct {
	ID        int64
	Prospect  string
	Placed    time.Time
	Answered  time.Time // zero unless answered
	Connected time.Time // zero unless a seat took it
	Ended     time.Time // zero while in progress
	Outcome   string    // "" while ringing or talking
	Seat      int       // position, 0 when none
}

// Engine is one campaign's dialing state: its seats, its prospects, its
// calls in progress and its queue of answered calls. Every method takes
// the time it happens at; the engine never reads a clock.
type Engine struct {
	S Settings
	// Ratio is the effective call ratio: call_ratio until the abandonment
	// governor (DESIGN §5) lowers it.
	Ratio float64
	Seats []Seat

	prospects map[string]*Prospect
	calls     map[int64]*Call
	queue     []int64 // answered calls waiting for a seat, oldest first
	cursor    Cursor
	rng       *rand.Rand
	nextID    int64
	ringing   int
	nextSweep time.Time
}

// NewEngine returns an engine with the given settings and seats.
func NewEngine(s Settings, seats []Seat, rng *rand.Rand) *Engine {
	return &Engine{S: s, Ratio: s.CallRatio, Seats: seats, prospects: map[string]*Prospect{}, calls: map[int64]*Call{}, rng: rng}
}

// Add gives the engine a prospect.
func (e *Engine) Add(p Prospect) { e.prospects[p.ID] = &p }

// Prospect returns a prospect by id.
func (e *Engine) Prospect(id string) *Prospect { return e.prospects[id] }

// Settings changes the campaign's settings; calls in progress go on.
func (e *Engine) Settings(s Settings) {
	e.S, e.Ratio = s, s.CallRatio
}

// InProgress counts calls placed and not ended.
func (e *Engine) InProgress() int { return len(e.calls) }

// Tick places the calls the pacing asks for, to the prospects eligible at
// now, oldest eligible first; it returns them. The caller records each
// attempt durably before placing it.
func (e *Engine) Tick(now time.Time) []*Call {
	e.Advance(now)
	want := CallsWanted(e.S, e.Ratio, FreeSeats(e.Seats, now, e.S.WrapUp)-len(e.queue), e.ringing, len(e.calls))
	// With nothing to place, look at the prospects only once a minute,
	// to resolve those done with (expired, out of attempts).
	if want == 0 && now.Before(e.nextSweep) {
		return nil
	}
	e.nextSweep = now.Add(time.Minute)
	var ready []*Prospect
	for _, p := range e.prospects {
		if p.InCall || p.Resolved {
			continue
		}
		switch Check(e.S, p.Candidate, now) {
		case Eligible:
			if !now.Before(p.CallbackAt) {
				ready = append(ready, p)
			}
		case ReasonExpired, ReasonAttempts:
			// Done with for good (max_number_calls may have been
			// lowered): resolved, so the campaign can complete.
			p.Resolved = true
		}
	}
	if want == 0 || len(ready) == 0 {
		return nil
	}
	sort.Slice(ready, func(i, j int) bool {
		a, b := ready[i].eligibleFrom(e.S), ready[j].eligibleFrom(e.S)
		if !a.Equal(b) {
			return a.Before(b)
		}
		return ready[i].ID < ready[j].ID
	})
	if len(ready) > want {
		ready = ready[:want]
	}
	placed := make([]*Call, 0, len(ready))
	for _, p := range ready {
		e.nextID++
		c := &Call{ID: e.nextID, Prospect: p.ID, Placed: now}
		e.calls[c.ID] = c
		e.ringing++
		p.InCall = true
		p.Attempts++
		p.LastAttempt = now
		placed = append(placed, c)
	}
	return placed
}

// Ring reports how a ringing call turned out. Answered calls join the
// queue and go to a free seat at once if there is one.
func (e *Engine) Ring(now time.Time, id int64, outcome string) {
	c := e.calls[id]
	if c == nil || !c.Answered.IsZero() {
		return
	}
	e.ringing--
	if outcome != OutcomeAnswered {
		e.end(now, c, outcome)
		return
	}
	c.Answered = now
	e.queue = append(e.queue, id)
	e.Advance(now)
}

// Hangup ends a connected call with the seat's disposition: completed and
// do-not-call resolve the prospect, callback calls it again at callback.
func (e *Engine) Hangup(now time.Time, id int64, disposition string, callback time.Time) {
	c := e.calls[id]
	if c == nil || c.Connected.IsZero() {
		return
	}
	for i := range e.Seats {
		if s := &e.Seats[i]; s.Position == c.Seat {
			s.Busy = false
			s.LastCallEnd = now
			s.TalkTime += now.Sub(c.Connected)
			s.Calls++
		}
	}
	p := e.prospects[c.Prospect]
	switch disposition {
	case DispositionCallback:
		// A callback is another attempt: past max_number_calls it
		// cannot be made, and the prospect is resolved as exhausted.
		p.CallbackAt = callback
	default: // completed, do-not-call
		p.Resolved = true
	}
	e.end(now, c, OutcomeCompleted)
	e.Advance(now)
}

// Advance abandons answered calls that waited longer than max_wait_time
// and gives waiting calls to seats that became free.
func (e *Engine) Advance(now time.Time) {
	kept := e.queue[:0]
	for _, id := range e.queue {
		c := e.calls[id]
		if now.Sub(c.Answered) > e.S.MaxWait {
			e.end(now, c, OutcomeAbandoned)
			continue
		}
		kept = append(kept, id)
	}
	e.queue = kept
	for len(e.queue) > 0 {
		i := PickSeat(e.S.Strategy, e.Seats, now, e.S.WrapUp, &e.cursor, e.rng)
		if i < 0 {
			break
		}
		c := e.calls[e.queue[0]]
		e.queue = e.queue[1:]
		e.Seats[i].Busy = true
		c.Connected, c.Seat = now, e.Seats[i].Position
	}
}

// end closes a call: a prospect not resolved is retried later, or
// resolved once it has had max_number_calls attempts.
func (e *Engine) end(now time.Time, c *Call, outcome string) {
	c.Ended, c.Outcome = now, outcome
	delete(e.calls, c.ID)
	p := e.prospects[c.Prospect]
	p.InCall = false
	if !p.Resolved && p.Attempts >= e.S.MaxNumberCalls {
		p.Resolved = true // exhausted
	}
}

// Queued counts answered calls waiting for a seat.
func (e *Engine) Queued() int { return len(e.queue) }

// Unresolved counts prospects not yet resolved.
func (e *Engine) Unresolved() int {
	n := 0
	for _, p := range e.prospects {
		if !p.Resolved {
			n++
		}
	}
	return n
}

// Status is the reference's campaign status.
func (e *Engine) Status() string {
	switch {
	case !e.S.Active:
		return "Inactive"
	case e.Unresolved() == 0 && len(e.calls) == 0:
		return "Completed"
	case len(e.calls) > 0:
		return "Running"
	}
	return "Stopped"
}

// Reasons counts, over the unresolved prospects not in a call, why each
// is not dialable at now (Eligible counts those that are): what a Stopped
// campaign's status shows, so an empty hopper is never a mystery.
func (e *Engine) Reasons(now time.Time) map[Reason]int {
	out := map[Reason]int{}
	for _, p := range e.prospects {
		if p.Resolved || p.InCall {
			continue
		}
		r := Check(e.S, p.Candidate, now)
		if r == Eligible && now.Before(p.CallbackAt) {
			r = ReasonCallback
		}
		out[r]++
	}
	return out
}
