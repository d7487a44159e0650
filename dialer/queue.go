package dialer

import (
	"math/rand/v2"
	"time"

	"github.com/dialerd/dialerd"
)

// Seat states an operator sets.
const (
	SeatAvailable = dialerd.SeatAvailable
	SeatPaused    = dialerd.SeatPaused
	SeatOffline   = dialerd.SeatOffline
)

// Seat is one seat of an agent's pool, as the queue sees it.
type Seat struct {
	Position    int // 1-based, the agent's order
	State       string
	Busy        bool      // on a call
	LastCallEnd time.Time // zero: has not had a call
	TalkTime    time.Duration
	Calls       int // calls answered
}

// Free reports whether the seat may take a call at now: available, not
// on a call, and past its wrap-up.
func (s Seat) Free(now time.Time, wrapUp time.Duration) bool {
	return s.State == SeatAvailable && !s.Busy && (s.LastCallEnd.IsZero() || !now.Before(s.LastCallEnd.Add(wrapUp)))
}

// FreeSeats counts the seats that may take a call at now.
func FreeSeats(seats []Seat, now time.Time, wrapUp time.Duration) int {
	n := 0
	for _, s := range seats {
		if s.Free(now, wrapUp) {
			n++
		}
	}
	return n
}

// Queue strategies: mod_callcenter's meanings (reference/dialers.md).
const (
	LongestIdleAgent         = "longest-idle-agent"
	RoundRobin               = "round-robin"
	TopDown                  = "top-down"
	AgentWithLeastTalkTime   = "agent-with-least-talk-time"
	AgentWithFewestCalls     = "agent-with-fewest-calls"
	SequentiallyByAgentOrder = "sequentially-by-agent-order"
	Random                   = "random"
)

// Cursor is a queue's memory between calls: the position last offered a
// call (round-robin starts after it).
type Cursor struct {
	Last int
}

// PickSeat chooses the seat for an answered call among those free at now;
// it returns the seat's index in seats, or -1 when none is free. Ties go
// to the lower position. A seat here takes the call it is offered, so
// top-down (each call tried from the top) and sequentially-by-agent-order
// choose alike; in mod_callcenter they differ only when an offered agent
// does not answer.
func PickSeat(strategy string, seats []Seat, now time.Time, wrapUp time.Duration, cur *Cursor, rng *rand.Rand) int {
	best, last := -1, 0
	if cur != nil {
		last = cur.Last
	}
	better := func(i int) bool {
		if best < 0 {
			return true
		}
		a, b := seats[i], seats[best]
		switch strategy {
		case AgentWithLeastTalkTime:
			if a.TalkTime != b.TalkTime {
				return a.TalkTime < b.TalkTime
			}
		case AgentWithFewestCalls:
			if a.Calls != b.Calls {
				return a.Calls < b.Calls
			}
		case LongestIdleAgent:
			if !a.LastCallEnd.Equal(b.LastCallEnd) {
				return a.LastCallEnd.Before(b.LastCallEnd) // never called: the zero time, idle longest
			}
		case RoundRobin:
			// After the last offered, in position order, then wrap.
			ra, rb := a.Position <= last, b.Position <= last
			if ra != rb {
				return !ra
			}
		}
		return a.Position < b.Position
	}
	free := 0
	for i, s := range seats {
		if !s.Free(now, wrapUp) {
			continue
		}
		free++
		if strategy == Random {
			// Reservoir sampling: each free seat equally likely.
			if rng.IntN(free) == 0 {
				best = i
			}
			continue
		}
		if better(i) {
			best = i
		}
	}
	if best >= 0 && cur != nil {
		cur.Last = seats[best].Position
	}
	return best
}
