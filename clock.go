package dialerd

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the only source of time for the dialer. Real wall time in
// production, a scaled clock under --clock virtual, a manual clock in tests.
// This file is the only place in non-test code that reads the wall clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d of this clock's time has
	// passed. The returned Timer stops it.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; it reports whether it did.
	Stop() bool
}

// RealClock is wall time.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ScaledClock runs Speed times faster than wall time from Start: a day of
// dialing in 144 s at speed 600. Timers are real timers of d/Speed.
type ScaledClock struct {
	Start time.Time // the clock's time at creation
	Speed float64   // > 0
	wall  time.Time
}

// NewScaledClock returns a clock that reads start now and advances speed×.
func NewScaledClock(start time.Time, speed float64) *ScaledClock {
	return NewScaledClockAt(start, speed, time.Now())
}

// NewScaledClockAt returns a clock that read start at wall time anchor and
// advances speed×: processes given the same start and anchor read the same
// time, whenever each of them started.
func NewScaledClockAt(start time.Time, speed float64, anchor time.Time) *ScaledClock {
	return &ScaledClock{Start: start, Speed: speed, wall: anchor}
}

func (c *ScaledClock) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.wall)) * c.Speed))
}

func (c *ScaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(time.Duration(float64(d)/c.Speed), f)
}

// ManualClock only moves when told to: deterministic simulations and tests.
// Advance fires due timers in time order, each on the caller's goroutine, so
// a test that advances knows every effect has happened when it returns.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{clock: c, at: c.now.Add(d), seq: c.seq, f: f, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d, running every timer that falls due,
// in order, with Now reading each timer's due time while it runs.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].at.After(end) {
		t := heap.Pop(&c.timers).(*manualTimer)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

type manualTimer struct {
	clock *ManualClock
	at    time.Time
	seq   uint64
	f     func()
	index int
}

func (t *manualTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.clock.timers, t.index)
	return true
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// Stopwatch returns wall time for measuring how long something took (request
// latency), never for a decision of the dialer, which reads its Clock.
func Stopwatch() time.Time { return time.Now() }
