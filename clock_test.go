package dialerd

import (
	"math/rand"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var clockStart = time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)

// Interface checks: all three clocks are Clocks.
var (
	_ Clock = RealClock{}
	_ Clock = (*ScaledClock)(nil)
	_ Clock = (*ManualClock)(nil)
)

type firing struct {
	name string
	now  time.Duration // the clock's Now during the call, as an offset from clockStart
}

func TestManualClockNowOnlyMovesWhenAdvanced(t *testing.T) {
	c := NewManualClock(clockStart)
	if !c.Now().Equal(clockStart) {
		t.Fatalf("Now() = %v, want %v", c.Now(), clockStart)
	}
	time.Sleep(5 * time.Millisecond)
	if !c.Now().Equal(clockStart) {
		t.Fatalf("Now() moved without Advance: %v", c.Now())
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(clockStart); got != 90*time.Second {
		t.Errorf("after Advance(90s): Now() = start+%v, want start+90s", got)
	}
	c.Advance(0)
	if got := c.Now().Sub(clockStart); got != 90*time.Second {
		t.Errorf("after Advance(0): Now() = start+%v, want start+90s", got)
	}
}

func TestManualClockAdvanceFiresInOrder(t *testing.T) {
	c := NewManualClock(clockStart)
	var got []firing
	at := func(name string, d time.Duration) {
		c.AfterFunc(d, func() { got = append(got, firing{name, c.Now().Sub(clockStart)}) })
	}
	// Scheduled out of order; two pairs due at the same instant fire in the
	// order they were scheduled.
	at("c", 3*time.Second)
	at("a", 1*time.Second)
	at("e", 5*time.Second)
	at("b1", 2*time.Second)
	at("b2", 2*time.Second)
	at("d", 4*time.Second)
	at("b3", 2*time.Second)
	at("late", 10*time.Second)

	c.Advance(5 * time.Second)
	want := []firing{
		{"a", 1 * time.Second},
		{"b1", 2 * time.Second},
		{"b2", 2 * time.Second},
		{"b3", 2 * time.Second},
		{"c", 3 * time.Second},
		{"d", 4 * time.Second},
		{"e", 5 * time.Second}, // due exactly at the end of the Advance: fires
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if d := c.Now().Sub(clockStart); d != 5*time.Second {
		t.Errorf("after Advance: Now() = start+%v, want start+5s", d)
	}

	// Not due yet: nothing fires until the clock reaches it.
	got = nil
	c.Advance(4*time.Second + 999*time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("fired %v before its time", got)
	}
	c.Advance(time.Millisecond)
	if want := []firing{{"late", 10 * time.Second}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	// Fired timers do not fire again.
	got = nil
	c.Advance(time.Hour)
	if len(got) != 0 {
		t.Fatalf("fired again: %v", got)
	}
}

func TestManualClockNowDuringTimerIsItsDueTime(t *testing.T) {
	c := NewManualClock(clockStart)
	var seen []time.Time
	for _, d := range []time.Duration{1500 * time.Millisecond, 7 * time.Second, 59 * time.Second} {
		d := d
		c.AfterFunc(d, func() { seen = append(seen, c.Now()) })
	}
	c.Advance(time.Minute)
	want := []time.Time{clockStart.Add(1500 * time.Millisecond), clockStart.Add(7 * time.Second), clockStart.Add(59 * time.Second)}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Now() during the timers = %v, want %v", seen, want)
	}
	if !c.Now().Equal(clockStart.Add(time.Minute)) {
		t.Errorf("after Advance: Now() = %v, want %v", c.Now(), clockStart.Add(time.Minute))
	}
}

func TestManualClockZeroAndPastTimers(t *testing.T) {
	c := NewManualClock(clockStart)
	c.Advance(10 * time.Second)
	var seen []firing
	c.AfterFunc(0, func() { seen = append(seen, firing{"zero", c.Now().Sub(clockStart)}) })
	c.AfterFunc(-5*time.Second, func() { seen = append(seen, firing{"past", c.Now().Sub(clockStart)}) })
	if len(seen) != 0 {
		t.Fatalf("AfterFunc ran its function before any Advance")
	}
	c.Advance(0)
	// Both are due, the one in the past first; the clock never goes back.
	if want := []firing{{"past", 10 * time.Second}, {"zero", 10 * time.Second}}; !reflect.DeepEqual(seen, want) {
		t.Errorf("fired %v, want %v", seen, want)
	}
}

func TestManualClockStop(t *testing.T) {
	c := NewManualClock(clockStart)
	var fired []string
	mk := func(name string, d time.Duration) Timer {
		return c.AfterFunc(d, func() { fired = append(fired, name) })
	}
	a := mk("a", time.Second)
	b := mk("b", 2*time.Second)
	cc := mk("c", 3*time.Second)

	if !b.Stop() {
		t.Errorf("Stop() of a pending timer = false, want true")
	}
	if b.Stop() {
		t.Errorf("second Stop() = true, want false")
	}
	c.Advance(5 * time.Second)
	if want := []string{"a", "c"}; !reflect.DeepEqual(fired, want) {
		t.Errorf("fired %v, want %v: a stopped timer must not fire", fired, want)
	}
	if a.Stop() || cc.Stop() {
		t.Errorf("Stop() of a fired timer = true, want false")
	}
	c.Advance(time.Hour)
	if len(fired) != 2 {
		t.Errorf("fired %v after another Advance", fired)
	}
}

// TestManualClockStopManyKeepsOrder stops timers from the middle of the
// heap, which only works if every timer's heap index is kept right.
func TestManualClockStopManyKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	c := NewManualClock(clockStart)
	var fired []int
	timers := make([]Timer, 500)
	dues := make([]time.Duration, 500)
	for i := range timers {
		i := i
		dues[i] = time.Duration(rng.Intn(100)) * time.Second
		timers[i] = c.AfterFunc(dues[i], func() { fired = append(fired, i) })
	}
	stopped := map[int]bool{}
	for _, i := range rng.Perm(500)[:200] {
		if !timers[i].Stop() {
			t.Fatalf("Stop() of pending timer %d = false", i)
		}
		stopped[i] = true
	}
	c.Advance(50 * time.Second)
	// Stop some more between Advances.
	for i := range timers {
		if i%7 == 0 && !stopped[i] && dues[i] > 50*time.Second {
			if !timers[i].Stop() {
				t.Fatalf("Stop() of pending timer %d = false", i)
			}
			stopped[i] = true
		}
	}
	c.Advance(50 * time.Second)

	var want []int
	for i := range timers {
		if !stopped[i] {
			want = append(want, i)
		}
	}
	sort.SliceStable(want, func(a, b int) bool { return dues[want[a]] < dues[want[b]] })
	if !reflect.DeepEqual(fired, want) {
		t.Errorf("fired %d timers %v,\nwant %d %v", len(fired), fired, len(want), want)
	}
}

func TestManualClockTimerScheduledFromTimer(t *testing.T) {
	c := NewManualClock(clockStart)
	var got []firing
	record := func(name string) func() {
		return func() { got = append(got, firing{name, c.Now().Sub(clockStart)}) }
	}
	c.AfterFunc(1*time.Second, func() {
		record("first")()
		// Due within this Advance: fires in it, at its own due time, and
		// before the timer already due at 3s.
		c.AfterFunc(1*time.Second, func() {
			record("child")()
			c.AfterFunc(0, record("grandchild"))
		})
		// Due after the end of this Advance: waits for the next.
		c.AfterFunc(9*time.Second, record("beyond"))
	})
	c.AfterFunc(3*time.Second, record("third"))

	c.Advance(5 * time.Second)
	want := []firing{
		{"first", 1 * time.Second},
		{"child", 2 * time.Second},
		{"grandchild", 2 * time.Second},
		{"third", 3 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	got = nil
	c.Advance(5 * time.Second)
	if want := []firing{{"beyond", 10 * time.Second}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}

// TestManualClockTimerStopsAnother: a timer may stop one due in the same
// Advance, which then does not fire.
func TestManualClockTimerStopsAnother(t *testing.T) {
	c := NewManualClock(clockStart)
	var fired []string
	var victim Timer
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "killer")
		if !victim.Stop() {
			t.Errorf("Stop() from a timer = false, want true")
		}
	})
	victim = c.AfterFunc(2*time.Second, func() { fired = append(fired, "victim") })
	c.Advance(time.Minute)
	if want := []string{"killer"}; !reflect.DeepEqual(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
}

// TestManualClockConcurrentUse is for the race detector: AfterFunc, Stop
// and Now from other goroutines while Advance runs timers.
func TestManualClockConcurrentUse(t *testing.T) {
	c := NewManualClock(clockStart)
	var count atomic.Int64
	var wg sync.WaitGroup
	const workers, each = 4, 200
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tm := c.AfterFunc(time.Duration(i%10)*time.Millisecond, func() { count.Add(1) })
				if i%5 == 0 {
					tm.Stop()
				}
				_ = c.Now()
			}
		}()
	}
	done, advanced := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(advanced)
		for {
			select {
			case <-done:
				return
			default:
				c.Advance(time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(done)
	// An Advance runs the timers it takes off the heap after it lets go of
	// the lock: wait for the last one to finish before counting.
	<-advanced
	c.Advance(time.Hour)
	// Every timer either was stopped in time or fired exactly once.
	if n := count.Load(); n < workers*each*4/5 || n > workers*each {
		t.Errorf("%d timers fired, want between %d and %d", n, workers*each*4/5, workers*each)
	}
}

func TestScaledClockNowAdvancesSpeedTimes(t *testing.T) {
	const speed = 1000.0
	before := time.Now()
	c := NewScaledClock(clockStart, speed)
	if c.Start != clockStart || c.Speed != speed {
		t.Fatalf("Start, Speed = %v, %v", c.Start, c.Speed)
	}
	if d := c.Now().Sub(clockStart); d < 0 {
		t.Fatalf("Now() before Start: %v", d)
	}
	const nap = 20 * time.Millisecond
	time.Sleep(nap)
	got := c.Now().Sub(clockStart)
	wall := time.Since(before)
	// The clock was created after `before` and read before `wall` was
	// measured, so, whatever the scheduler did, speed×nap ≤ elapsed ≤
	// speed×wall. (1 µs of slack for float rounding.)
	if lo := time.Duration(speed * float64(nap)); got < lo {
		t.Errorf("after %v of wall time the clock moved %v, want at least %v", nap, got, lo)
	}
	if hi := time.Duration(speed*float64(wall)) + time.Microsecond; got > hi {
		t.Errorf("after %v of wall time the clock moved %v, want at most %v", wall, got, hi)
	}
	// And it keeps moving forward.
	n1 := c.Now()
	time.Sleep(time.Millisecond)
	if n2 := c.Now(); !n2.After(n1) {
		t.Errorf("Now() did not advance: %v then %v", n1, n2)
	}
}

func TestScaledClockAfterFunc(t *testing.T) {
	const speed = 600.0
	c := NewScaledClock(clockStart, speed)
	const d = 6 * time.Second // 10 ms of wall time
	scheduled := time.Now()
	type result struct {
		wall time.Duration
		now  time.Time
	}
	ch := make(chan result, 1)
	c.AfterFunc(d, func() { ch <- result{time.Since(scheduled), c.Now()} })
	select {
	case r := <-ch:
		if min := time.Duration(float64(d) / speed); r.wall < min {
			t.Errorf("fired after %v of wall time, want at least %v", r.wall, min)
		}
		// By the clock's own reading, at least d has passed since it was
		// scheduled (1 µs of slack for float rounding).
		if r.now.Before(clockStart.Add(d - time.Microsecond)) {
			t.Errorf("Now() when it fired = start+%v, want at least start+%v", r.now.Sub(clockStart), d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc(6s) at speed 600 did not fire within 10 s of wall time")
	}
}

func TestScaledClockStop(t *testing.T) {
	c := NewScaledClock(clockStart, 1000)
	var fired atomic.Bool
	tm := c.AfterFunc(time.Hour, func() { fired.Store(true) }) // 3.6 s of wall time
	if !tm.Stop() {
		t.Fatal("Stop() of a pending timer = false")
	}
	time.Sleep(10 * time.Millisecond)
	if fired.Load() {
		t.Error("a stopped timer fired")
	}
	if tm.Stop() {
		t.Error("second Stop() = true")
	}
}

func TestRealClock(t *testing.T) {
	var c RealClock
	before := time.Now()
	now := c.Now()
	if now.Before(before) || now.Sub(before) > time.Minute {
		t.Errorf("RealClock.Now() = %v, wall time %v", now, before)
	}
	ch := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(ch) })
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("RealClock.AfterFunc did not fire")
	}
}

// Two processes given the same start and anchor read the same time, however
// far apart they started: a cluster on a virtual clock shares one timeline,
// and a node restarted keeps it.
func TestScaledClockAt(t *testing.T) {
	start := time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)
	anchor := time.Now().Add(-10 * time.Second) // the first node started 10 s ago
	a := NewScaledClockAt(start, 600, anchor)
	b := NewScaledClockAt(start, 600, anchor)
	ta, tb := a.Now(), b.Now()
	if d := tb.Sub(ta); d < 0 || d > time.Minute { // b read later: ≤ 0.1 s of wall time
		t.Fatalf("clocks differ by %v", d)
	}
	if d := ta.Sub(start); d < 100*time.Minute || d > 110*time.Minute {
		t.Fatalf("10 s after the anchor at ×600 the clock reads start + %v, want ≈ 100 min", d)
	}
}
