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
	// OutcomeUnknown closes a call whose outcome never arrived (its
	// campaign restarted, or moved, while it was in progress).
	OutcomeUnknown = "unknown"
)

// MinRing is how long an unanswered call rings before the dialer gives up
// on it (TCPA practice: 15 s or four rings; reference/compliance.md). A
// provider reporting no_answer sooner is the carrier's doing, not ours.
const MinRing = 15 * time.Second

// Bounds on a call whose provider never reports what became of it (its
// events were lost, or the platform forgot it): past them the call is
// closed as unknown, its seat freed, and its prospect is due again
// min_time_between_calls after the attempt. A call still ringing after
// MaxRingWait (far beyond any carrier's no-answer timeout), or still
// talking after MaxTalk.
const (
	MaxRingWait = 3 * time.Minute
	MaxTalk     = 4 * time.Hour
)

// Dispositions a seat gives a call it talked.
const (
	DispositionCompleted = "completed"
	DispositionCallback  = "callback"
	DispositionDNC       = "do_not_call"
)

// Resolutions: why a prospect is done with.
const (
	ResolvedCompleted = "completed"
	ResolvedDNC       = "do_not_call"
	ResolvedExhausted = "exhausted" // max_number_calls attempts made
	ResolvedExpired   = "expired"   // expire_days passed
)

// Prospect is the engine's view of one prospect, as leased from its list:
// the attempt being made is already counted (Take).
type Prospect struct {
	ID   string
	List string
	Candidate
	// CallbackAt, when set, is the earliest time to call again (a
	// callback the seat asked for).
	CallbackAt time.Time
}

// Key identifies a prospect across a campaign's lists.
func (p *Prospect) Key() string { return p.List + "/" + p.ID }

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
	if c := CapDue(s, p.Candidate); c.After(t) {
		t = c
	}
	return t
}

// Take counts an attempt made at now: the list does it when it leases the
// prospect, durably, before the call is placed.
func Take(c *Candidate, now time.Time) {
	c.Attempts++
	c.LastAttempt = now
	// A fresh slice: the list and the engine each keep a copy of the
	// candidate.
	recent := append(append(make([]time.Time, 0, len(c.Recent)+1), c.Recent...), now)
	c.Recent = recent[max(0, len(recent)-KeepRecent):]
}

// Verdict is what a lease decides for one due prospect.
type Verdict int

const (
	Skip    Verdict = iota // not now, and nothing to change
	Lease                  // call it now
	Resolve                // done with for good: see the reason
	Requeue                // due later than its index says: move it
)

// Judge decides, for a prospect the index says is due in an open bucket,
// whether to call it now. Settings may have changed since it was indexed:
// a lowered max_number_calls or a passed expiry resolves it, a raised
// min_time_between_calls requeues it at its new due time.
func Judge(s Settings, c Candidate, callback, now time.Time) (Verdict, Reason, time.Time) {
	switch r := Check(s, c, now); r {
	case Eligible:
		if now.Before(callback) {
			return Requeue, ReasonCallback, callback
		}
		return Lease, Eligible, time.Time{}
	case ReasonExpired, ReasonAttempts, ReasonDNC:
		return Resolve, r, time.Time{}
	case ReasonTooSoon, ReasonCap:
		return Requeue, r, Due(s, c, callback)
	default:
		return Skip, r, time.Time{}
	}
}

// Resolution names a prospect resolved for reason r.
func Resolution(r Reason) string {
	switch r {
	case ReasonExpired:
		return ResolvedExpired
	case ReasonDNC:
		return ResolvedDNC
	}
	return ResolvedExhausted
}

// Call is one attempt, kept for the call log.
type Call struct {
	ID        int64
	Prospect  string
	List      string
	Placed    time.Time
	Answered  time.Time // zero unless answered
	Connected time.Time // zero unless a seat took it
	Ended     time.Time // zero while in progress
	Outcome   string    // "" while ringing or talking
	Seat      int       // position, 0 when none
	// Disposition is the seat's verdict on a completed call.
	Disposition string
}

// Result is what a call's end means for its prospect; the campaign sends
// it to the prospect's list.
type Result struct {
	Prospect, List string
	Call           int64
	Outcome        string
	Attempts       int
	LastAttempt    time.Time
	// Resolution is set when the prospect is done with; otherwise Due is
	// when it may be called again.
	Resolution string
	Due        time.Time
	CallbackAt time.Time
}

// Engine is one campaign's dialing state: its seats, its calls in
// progress and its queue of answered calls. The prospects come leased from
// the campaign's lists and go back to them as Results. Every method takes
// the time it happens at; the engine never reads a clock.
type Engine struct {
	S Settings
	// Ratio is the effective call ratio: at most call_ratio, lowered by
	// the abandonment governor (DESIGN §5) to keep abandons under
	// max_abandon_rate.
	Ratio float64
	Gov   Governor
	Seats []Seat

	calls   map[int64]*Call
	inCall  map[string]*Prospect // by Prospect.Key
	queue   []int64              // answered calls waiting for a seat, oldest first
	cursor  Cursor
	rng     *rand.Rand
	ringing int
	results []Result
	changed []*Call // calls whose record changed since TakeChanged
}

// NewEngine returns an engine with the given settings and seats.
func NewEngine(s Settings, seats []Seat, rng *rand.Rand) *Engine {
	return &Engine{S: s, Ratio: min(1, s.CallRatio), Seats: seats, calls: map[int64]*Call{}, inCall: map[string]*Prospect{}, rng: rng}
}

// Settings changes the campaign's settings; calls in progress go on.
func (e *Engine) Settings(s Settings) {
	e.S, e.Ratio = s, min(e.Ratio, s.CallRatio)
}

// InProgress counts calls placed and not ended.
func (e *Engine) InProgress() int { return len(e.calls) }

// Ringing counts calls placed and not yet answered.
func (e *Engine) Ringing() int { return e.ringing }

// Queued counts answered calls waiting for a seat.
func (e *Engine) Queued() int { return len(e.queue) }

// Connected counts calls talking to a seat.
func (e *Engine) Connected() int { return len(e.calls) - e.ringing - len(e.queue) }

// InCall reports whether the prospect (by Key) is in a call.
func (e *Engine) InCall(key string) bool { return e.inCall[key] != nil }

// Call returns a call in progress, or nil.
func (e *Engine) Call(id int64) *Call { return e.calls[id] }

// Want is DESIGN §4's pacing at now: how many calls to place. Seats that
// will take the calls already queued are not free for new ones.
func (e *Engine) Want(now time.Time) int {
	e.Advance(now)
	if e.S.MaxAbandonRate > 0 {
		e.Ratio = e.Gov.Ratio(e.Ratio, e.S.CallRatio, e.S.MaxAbandonRate)
	} else {
		e.Ratio = e.S.CallRatio // no governor asked for
	}
	return CallsWanted(e.S, e.Ratio, FreeSeats(e.Seats, now, e.S.WrapUp)-len(e.queue), e.ringing, len(e.calls))
}

// Place records a call to a leased prospect, id given by the caller (the
// campaign's call sequence). A prospect already in a call is refused (nil).
func (e *Engine) Place(now time.Time, id int64, p Prospect) *Call {
	if e.inCall[p.Key()] != nil || e.calls[id] != nil {
		return nil
	}
	c := &Call{ID: id, Prospect: p.ID, List: p.List, Placed: now}
	e.calls[id] = c
	e.inCall[p.Key()] = &p
	e.ringing++
	e.changed = append(e.changed, c)
	return c
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
		e.end(now, c, outcome, "", time.Time{})
		return
	}
	c.Answered = now
	e.changed = append(e.changed, c)
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
	e.freeSeat(now, c)
	if disposition == "" {
		disposition = DispositionCompleted
	}
	e.end(now, c, OutcomeCompleted, disposition, callback)
	e.Advance(now)
}

// Drop ends a call whatever its state with outcome (OutcomeUnknown when its
// fate is unknown, OutcomeFailed when it could not be placed).
func (e *Engine) Drop(now time.Time, id int64, outcome string) {
	c := e.calls[id]
	if c == nil {
		return
	}
	switch {
	case c.Answered.IsZero():
		e.ringing--
	case c.Connected.IsZero():
		for i, q := range e.queue {
			if q == id {
				e.queue = append(e.queue[:i], e.queue[i+1:]...)
				break
			}
		}
		if outcome == OutcomeAbandoned {
			e.Gov.Observe(true) // the person hung up waiting
		}
	default:
		e.freeSeat(now, c)
	}
	e.end(now, c, outcome, "", time.Time{})
	e.Advance(now)
}

func (e *Engine) freeSeat(now time.Time, c *Call) {
	for i := range e.Seats {
		if s := &e.Seats[i]; s.Position == c.Seat && s.Busy {
			s.Busy = false
			s.LastCallEnd = now
			s.TalkTime += now.Sub(c.Connected)
			s.Calls++
		}
	}
}

// Advance abandons answered calls that waited longer than max_wait_time
// and gives waiting calls to seats that became free. It returns the calls
// it connected.
func (e *Engine) Advance(now time.Time) []*Call {
	kept := e.queue[:0]
	for _, id := range e.queue {
		c := e.calls[id]
		if now.Sub(c.Answered) > e.S.MaxWait {
			e.Gov.Observe(true)
			e.end(now, c, OutcomeAbandoned, "", time.Time{})
			continue
		}
		kept = append(kept, id)
	}
	e.queue = kept
	var connected []*Call
	for len(e.queue) > 0 {
		i := PickSeat(e.S.Strategy, e.Seats, now, e.S.WrapUp, &e.cursor, e.rng)
		if i < 0 {
			break
		}
		c := e.calls[e.queue[0]]
		e.queue = e.queue[1:]
		e.Seats[i].Busy = true
		e.Gov.Observe(false)
		c.Connected, c.Seat = now, e.Seats[i].Position
		e.changed = append(e.changed, c)
		connected = append(connected, c)
	}
	return connected
}

// Expire closes, as unknown, the calls past MaxRingWait without an answer
// and past MaxTalk on a seat. It walks every call in progress: the
// campaign runs it once a tick, not on every event.
func (e *Engine) Expire(now time.Time) {
	var stale []int64
	for id, c := range e.calls {
		switch {
		case c.Answered.IsZero() && now.Sub(c.Placed) > MaxRingWait:
			stale = append(stale, id)
		case !c.Connected.IsZero() && now.Sub(c.Connected) > MaxTalk:
			stale = append(stale, id)
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i] < stale[j] })
	for _, id := range stale {
		e.Drop(now, id, OutcomeUnknown)
	}
}

// NextDeadline is when the first queued call will be abandoned (zero when
// none waits): the campaign wakes then even between ticks.
func (e *Engine) NextDeadline() time.Time {
	if len(e.queue) == 0 {
		return time.Time{}
	}
	return e.calls[e.queue[0]].Answered.Add(e.S.MaxWait + time.Nanosecond)
}

// NextWake is when the campaign should look at its queue again between
// ticks (zero when no call waits): the first queued call's abandonment, or
// a seat leaving wrap-up, whichever is first.
func (e *Engine) NextWake() time.Time {
	t := e.NextDeadline()
	if t.IsZero() {
		return t
	}
	for _, s := range e.Seats {
		if s.State == SeatAvailable && !s.Busy && !s.LastCallEnd.IsZero() {
			if end := s.LastCallEnd.Add(e.S.WrapUp); end.Before(t) && end.After(e.calls[e.queue[0]].Answered) {
				t = end
			}
		}
	}
	return t
}

// end closes a call and says what it means for its prospect: resolved
// (completed, do-not-call, or out of attempts) or due again after
// min_time_between_calls or at its callback.
func (e *Engine) end(now time.Time, c *Call, outcome, disposition string, callback time.Time) {
	c.Ended, c.Outcome, c.Disposition = now, outcome, disposition
	delete(e.calls, c.ID)
	e.changed = append(e.changed, c)
	key := c.List + "/" + c.Prospect
	p := e.inCall[key]
	delete(e.inCall, key)
	if p == nil {
		return
	}
	r := Result{Prospect: p.ID, List: p.List, Call: c.ID, Outcome: outcome, Attempts: p.Attempts, LastAttempt: p.LastAttempt}
	switch {
	case disposition == DispositionDNC:
		r.Resolution = ResolvedDNC
	case outcome == OutcomeCompleted && disposition != DispositionCallback:
		r.Resolution = ResolvedCompleted
	case p.Attempts >= e.S.MaxNumberCalls:
		// A callback is another attempt: past max_number_calls it
		// cannot be made, and the prospect is resolved as exhausted.
		r.Resolution = ResolvedExhausted
	default:
		if disposition == DispositionCallback {
			p.CallbackAt = callback
			r.CallbackAt = callback
		}
		r.Due = p.eligibleFrom(e.S)
	}
	e.results = append(e.results, r)
}

// TakeResults returns the results since the last call and forgets them.
func (e *Engine) TakeResults() []Result {
	r := e.results
	e.results = nil
	return r
}

// TakeChanged returns the calls whose record changed since the last call
// (each once, in the order of their first change) and forgets them.
func (e *Engine) TakeChanged() []*Call {
	out := e.changed[:0:0]
	seen := make(map[int64]bool, len(e.changed))
	for _, c := range e.changed {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	e.changed = e.changed[:0]
	return out
}
