//go:build !race

package dialer

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

// The governor against the case it exists for (issue 6): call_ratio 3, few
// seats, a high answer rate, long talks, and the TCPA's 2 seconds to reach
// a person — 30 simulated days of 12-hour shifts. After the first day, the
// abandon rate must stay under max_abandon_rate (3 %); without the governor
// the same campaign abandons far more. The ratio it settles at is
// reported. Runs with TestSimulation (make test, without -race).
func TestSimulationGovernor(t *testing.T) {
	run := func(governed bool, answer float64, nSeats int) (rate, ratio float64, answered int) {
		c := dialerd.NewCampaign()
		c.CallRatio, c.MaxWaitTime, c.WrapUpTime, c.MaxNumberCalls = 3, 2, 5, 1000
		c.EarliestProspectTime, c.LatestProspectTime, c.LocaleName = "00:00", "23:59:59", "none"
		c.ExpireDays, c.MinTimeBetweenCalls = -1, 0
		s := SettingsOf(c)
		if !governed {
			s.MaxAbandonRate = 0
		}
		var seats []Seat
		for i := 1; i <= nSeats; i++ {
			seats = append(seats, Seat{Position: i, State: SeatAvailable})
		}
		e := NewEngine(s, seats, rand.New(rand.NewPCG(7, 7)))
		phone := NewSimPhone(7)
		phone.Answer, phone.Machine, phone.Busy, phone.Failed = answer, 0.05, 0.05, 0
		phone.TalkMin, phone.TalkMax = time.Minute, 4*time.Minute
		var q events
		seq := 0
		push := func(ev simEvent) { seq++; ev.seq = seq; heap.Push(&q, ev) }
		talks := map[int64]time.Duration{}
		start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		end := start.Add(30 * 24 * time.Hour)
		warm := start.Add(24 * time.Hour)
		var n int64
		ab, ans := 0, 0
		count := func(now time.Time) {
			for _, r := range e.TakeResults() {
				_ = r
			}
			for _, ch := range e.TakeChanged() {
				if !now.After(warm) || ch.Answered.IsZero() {
					continue
				}
				switch {
				case ch.Outcome == OutcomeAbandoned && ch.Ended.Equal(now):
					ab++
					ans++
				case !ch.Connected.IsZero() && ch.Connected.Equal(now):
					ans++
				}
			}
		}
		for day := 0; day < 30; day++ {
			push(simEvent{at: start.Add(time.Duration(day) * 24 * time.Hour), kind: evTick})
		}
		for q.Len() > 0 {
			ev := heap.Pop(&q).(simEvent)
			now := ev.at
			if now.After(end) {
				break
			}
			before := connected(e)
			switch ev.kind {
			case evTick:
				for i := e.Want(now); i > 0; i-- {
					n++
					p := Prospect{ID: "p", List: "l", Candidate: Candidate{State: "NY", Timezones: []string{"America/New_York"}, Added: start}}
					p.ID = p.ID + string(rune('a'+n%26)) + time.Duration(n).String()
					Take(&p.Candidate, now)
					call := e.Place(now, n, p)
					sc := phone.Place()
					talks[call.ID] = sc.Talk
					push(simEvent{at: now.Add(sc.Ring), kind: evRing, call: call.ID, out: sc.Outcome})
				}
				// 12-hour shifts: tick every 5 s until the shift ends.
				if next := now.Add(5 * time.Second); next.Sub(now.Truncate(24*time.Hour)) < 21*time.Hour {
					push(simEvent{at: next, kind: evTick})
				}
			case evRing:
				e.Ring(now, ev.call, ev.out)
			case evHangup:
				e.Hangup(now, ev.call, DispositionCompleted, time.Time{})
			}
			for _, c := range newlyConnected(e, before) {
				push(simEvent{at: now.Add(talks[c.ID]), kind: evHangup, call: c.ID})
			}
			// Abandonments happen on the wait deadline, between ticks too.
			if at := e.NextWake(); !at.IsZero() {
				push(simEvent{at: at, kind: evChange})
			}
			if ev.kind == evChange {
				for _, c := range e.Advance(now) {
					push(simEvent{at: now.Add(talks[c.ID]), kind: evHangup, call: c.ID})
				}
			}
			count(now)
		}
		return float64(ab) / float64(max(ans, 1)), e.Ratio, ans
	}
	rate, ratio, answered := run(true, 0.7, 4)
	t.Logf("governed: abandon rate %.2f %% of %d answered calls after the first day; effective ratio settled at %.2f (call_ratio 3)", 100*rate, answered, ratio)
	if answered < 1000 {
		t.Fatalf("only %d answered calls: the simulation barely dialled", answered)
	}
	if rate > 0.03 {
		t.Errorf("abandon rate %.2f %% over 30 days, max_abandon_rate 3 %%", 100*rate)
	}
	if ratio >= 3 {
		t.Errorf("the governor never lowered the ratio (%.2f)", ratio)
	}
	free, _, _ := run(false, 0.7, 4)
	t.Logf("ungoverned (ratio 3 throughout): abandon rate %.2f %%", 100*free)
	if free <= 0.03 {
		t.Errorf("without the governor the abandon rate is %.2f %%: this simulation does not test the governor", 100*free)
	}
	// Where over-dialing is safe (few answers, more seats) the governor
	// raises the ratio above 1 and still keeps under the rate.
	rate, ratio, answered = run(true, 0.2, 12)
	t.Logf("low answer rate, 12 seats: abandon rate %.2f %% of %d answered; ratio settled at %.2f", 100*rate, answered, ratio)
	if rate > 0.03 || ratio <= 1.2 {
		t.Errorf("low answer rate: abandon %.2f %%, ratio %.2f: want ≤ 3 %% at a ratio above 1.2", 100*rate, ratio)
	}
}
