//go:build !race

// The simulation runs on one goroutine: the race detector has nothing to
// find in it and makes 200 runs eight times slower, so make test runs it
// without -race.

package dialer

import (
	"container/heap"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

// The deterministic simulation of the pure core: seeded runs of simulated
// days — prospects across the US and Canadian time zones, a sim telephone
// (answer, no answer, busy, machine; ring and talk times), seats changing
// state, pauses and settings edits, numbers put on the do-not-call list
// (before the run, while their prospects are in calls, and by seats'
// do_not_call dispositions) — checked afterwards against the
// dialer's promises. A failure prints its seed; replay one with
//
//	go test ./dialer -run TestSimulation -sim.seed=N -v
var (
	simSeeds = flag.Int("sim.seeds", 200, "simulation runs")
	simSeed  = flag.Uint64("sim.seed", 0, "run only this seed")
	simDays  = flag.Int("sim.days", 2, "simulated days per run")
	simScale = flag.Int("sim.scale", 1, "prospects per run: 100–500 times this")
)

// zones of the US and Canada with a state of each, so every offset (and
// Arizona's and Saskatchewan's missing DST) is dialled.
var simZones = []struct{ state, zone string }{
	{"NY", "America/New_York"}, {"FL", "America/New_York"}, {"IL", "America/Chicago"}, {"TX", "America/Chicago"},
	{"CO", "America/Denver"}, {"AZ", "America/Phoenix"}, {"CA", "America/Los_Angeles"}, {"WA", "America/Los_Angeles"},
	{"AK", "America/Anchorage"}, {"HI", "Pacific/Honolulu"}, {"ON", "America/Toronto"}, {"QC", "America/Toronto"},
	{"MB", "America/Winnipeg"}, {"SK", "America/Regina"}, {"AB", "America/Edmonton"}, {"BC", "America/Vancouver"},
	{"NS", "America/Halifax"}, {"NL", "America/St_Johns"}, {"IN", "America/Indiana/Indianapolis"},
	// States with stricter hours, Sunday bans, holiday bans.
	{"AL", "America/Chicago"}, {"LA", "America/Chicago"}, {"MS", "America/Chicago"}, {"PA", "America/New_York"},
	{"RI", "America/New_York"}, {"UT", "America/Denver"}, {"KY", "America/New_York"}, {"WA", "America/Los_Angeles"},
	// States capping calls to a number (3 per 24 h).
	{"MD", "America/New_York"}, {"OK", "America/Chicago"}, {"FL", "America/New_York"},
}

// simStarts are the days a run may start on (UTC midnight, plus up to two
// days): the US spring DST change, Mardi Gras and Presidents' Day, Good
// Friday, July 4 on a Saturday (observed Friday in AL and UT, Monday in
// RI), the fall DST change and Election Day.
var simStarts = []time.Time{
	time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
}

var strategies = []string{LongestIdleAgent, RoundRobin, TopDown, AgentWithLeastTalkTime, AgentWithFewestCalls, SequentiallyByAgentOrder, Random}

type simEvent struct {
	at   time.Time
	seq  int
	kind int // evTick, evRing, evHangup, evChange, evDNC
	call int64
	out  string
}

const (
	evTick = iota
	evRing
	evHangup
	evChange
	evDNC
)

type events []simEvent

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *events) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simRun is one run's record: every attempt with the settings in force
// when it was placed, and every seat connection.
type simRun struct {
	seed       uint64
	start      time.Time
	calls      []*Call
	placedBy   map[int64]Settings
	inFlight   map[int64]int // calls in progress when each was placed, itself included
	prospects  map[string]Prospect
	engine     *Engine
	list       *memList
	violations []string // seen as they happened
	complete   bool
	changes    []change // settings over time, the first at the start
	// dnc is the workspace's do-not-call list: number → when it was added.
	dnc map[string]time.Time
}

// onDNC reports whether number is on the do-not-call list at now.
func (run *simRun) onDNC(number string, now time.Time) bool {
	at, ok := run.dnc[number]
	return ok && !at.After(now)
}

// addDNC puts number on the do-not-call list at now.
func (run *simRun) addDNC(number string, now time.Time) {
	if _, ok := run.dnc[number]; !ok {
		run.dnc[number] = now
	}
}

type change struct {
	at time.Time
	s  Settings
}

// settingsAt returns the settings in force at t.
func (run *simRun) settingsAt(t time.Time) Settings {
	s := run.changes[0].s
	for _, c := range run.changes {
		if c.at.After(t) {
			break
		}
		s = c.s
	}
	return s
}

func randomSettings(r *rand.Rand) Settings {
	c := dialerd.NewCampaign()
	c.Active = r.IntN(20) != 0
	c.Paused = r.IntN(10) == 0
	c.CallRatio = []float64{0.5, 1, 1.5, 2, 3}[r.IntN(5)]
	c.MaxActiveCalls = []int{0, 0, 1, 3, 8}[r.IntN(5)]
	c.MaxNumberCalls = 1 + r.IntN(4)
	c.MinTimeBetweenCalls = []int{1, 15, 60, 240}[r.IntN(4)]
	c.ExpireDays = []int{-1, 1, 3, 90}[r.IntN(4)]
	e, l := 7+r.IntN(4), 17+r.IntN(5)
	c.EarliestProspectTime, c.LatestProspectTime = fmt.Sprintf("%02d:%02d", e, 15*r.IntN(4)), fmt.Sprintf("%02d:00", l)
	c.IgnoreStates = []string{"", "", "TX", "CA,QC", "HI"}[r.IntN(5)]
	c.MaxWaitTime = []int{5, 30, 120}[r.IntN(3)]
	c.WrapUpTime = []int{0, 3, 30}[r.IntN(3)]
	c.QueueStrategy = strategies[r.IntN(len(strategies))]
	c.FilterHolidays = r.IntN(4) != 0
	c.DialerInterval = 2 + r.IntN(14)
	return SettingsOf(c)
}

// memList is the simulation's prospect list: what the list grain keeps in
// Pebble — each prospect's candidate, callback and due time, indexed by
// bucket — kept in memory, and leased through the same rules (Open, Oldest,
// Decide, Take, LeasedDue).
type memList struct {
	ps   map[string]*memProspect
	open int // unresolved
	// dnc says whether a number is on the do-not-call list now (the list
	// grain asks the workspace's DNC grain for the numbers it read).
	dnc func(number string, now time.Time) bool
}

type memProspect struct {
	Prospect
	phone    string
	bucket   string
	due      time.Time
	resolved string // resolution, "" while unresolved
}

func (m *memList) unresolved() int { return m.open }

func (m *memList) resolve(p *memProspect, resolution string) {
	if p.resolved == "" {
		m.open--
	}
	p.resolved = resolution
}

// lease takes up to n prospects due at now from the open buckets, oldest
// first, as the list grain does: a few rounds, since a round may resolve
// or requeue what it reads instead of leasing it.
func (m *memList) lease(s Settings, now time.Time, n int) []Prospect {
	var out []Prospect
	for round := 0; round < 3 && len(out) < n; round++ {
		byBucket := map[string][]Entry{}
		open := map[string]bool{}
		for _, p := range m.ps {
			if p.resolved != "" || p.due.After(now) {
				continue
			}
			o, ok := open[p.bucket]
			if !ok {
				o = s.Open(ParseBucket(p.bucket), now) == Eligible
				open[p.bucket] = o
			}
			if !o {
				continue
			}
			byBucket[p.bucket] = append(byBucket[p.bucket], Entry{Bucket: p.bucket, Due: p.due, ID: p.ID})
		}
		var per [][]Entry
		for _, es := range byBucket {
			sort.Slice(es, func(i, j int) bool { return earlier(es[i], es[j]) })
			per = append(per, es)
		}
		sort.Slice(per, func(i, j int) bool { return per[i][0].Bucket < per[j][0].Bucket })
		want := n - len(out)
		ds := Decide(s, Oldest(per, want), func(id string) (Candidate, time.Time, bool) {
			p := m.ps[id]
			c := p.Candidate
			c.DNC = m.dnc(p.phone, now)
			return c, p.CallbackAt, true
		}, now, want)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			p := m.ps[d.ID]
			switch d.Verdict {
			case Lease:
				Take(&p.Candidate, now)
				p.due = LeasedDue(s, now)
				out = append(out, p.Prospect)
			case Resolve:
				m.resolve(p, Resolution(d.Reason))
			case Requeue:
				p.due = d.Due
			}
		}
	}
	return out
}

// apply records a call's result, as the list grain does.
func (m *memList) apply(r Result) {
	p := m.ps[r.Prospect]
	if r.Resolution != "" {
		m.resolve(p, r.Resolution)
		return
	}
	p.CallbackAt = r.CallbackAt
	p.due = r.Due
}

func simulate(seed uint64, days int) *simRun {
	r := rand.New(rand.NewPCG(seed, 0xd1a1))
	start := simStarts[r.IntN(len(simStarts))].Add(time.Duration(r.IntN(48)) * time.Hour)
	s := randomSettings(r)
	interval := time.Duration(2+r.IntN(14)) * time.Second
	var seats []Seat
	for i := 1; i <= 1+r.IntN(6); i++ {
		seats = append(seats, Seat{Position: i, State: SeatAvailable})
	}
	e := NewEngine(s, seats, rand.New(rand.NewPCG(seed, 2)))
	list := &memList{ps: map[string]*memProspect{}}
	run := &simRun{seed: seed, start: start, placedBy: map[int64]Settings{}, inFlight: map[int64]int{}, prospects: map[string]Prospect{}, engine: e, list: list,
		changes: []change{{start, s}}, dnc: map[string]time.Time{}}
	list.dnc = run.onDNC
	n := (100 + r.IntN(400)) * *simScale
	for i := 0; i < n; i++ {
		z := simZones[r.IntN(len(simZones))]
		p := Prospect{ID: fmt.Sprintf("p%05d", i), List: "l", Candidate: Candidate{State: z.state, Timezones: []string{z.zone}, Added: start.Add(-time.Duration(r.IntN(72)) * time.Hour)}}
		if r.IntN(10) == 0 { // a split area code: two zones
			p.Timezones = append(p.Timezones, simZones[r.IntN(len(simZones))].zone)
		}
		// A number of its own, or now and then one an earlier prospect has.
		number := fmt.Sprintf("+1555%07d", i)
		if i > 0 && r.IntN(20) == 0 {
			number = list.ps[fmt.Sprintf("p%05d", r.IntN(i))].phone
		}
		if r.IntN(30) == 0 {
			run.addDNC(number, start.Add(-time.Hour)) // on the list before the run
		}
		list.ps[p.ID] = &memProspect{Prospect: p, phone: number, bucket: BucketKey(p.State, p.Timezones), due: p.Added}
		list.open++
		run.prospects[p.ID] = p
	}
	phone := NewSimPhone(seed)
	phone.Answer, phone.Machine, phone.Busy = 0.3+0.4*r.Float64(), 0.1*r.Float64(), 0.1*r.Float64()
	talks := map[int64]time.Duration{}

	var q events
	seq := 0
	push := func(ev simEvent) {
		seq++
		ev.seq = seq
		heap.Push(&q, ev)
	}
	connect := func(now time.Time, cs []*Call) {
		for _, c := range cs {
			push(simEvent{at: now.Add(talks[c.ID]), kind: evHangup, call: c.ID})
		}
	}
	var nextID int64
	push(simEvent{at: start, kind: evTick})
	push(simEvent{at: start.Add(time.Duration(r.IntN(3600)) * time.Second), kind: evChange})
	push(simEvent{at: start.Add(time.Duration(r.IntN(7200)) * time.Second), kind: evDNC})
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	for q.Len() > 0 {
		ev := heap.Pop(&q).(simEvent)
		if ev.at.After(end) {
			break
		}
		now := ev.at
		switch ev.kind {
		case evTick:
			before := connected(e)
			e.Expire(now)
			if want := e.Want(now); want > 0 {
				for _, p := range list.lease(e.S, now, want) {
					nextID++
					c := e.Place(now, nextID, p)
					if c == nil {
						run.violations = append(run.violations, fmt.Sprintf("%s leased at %s while in a call", p.ID, now))
						continue
					}
					run.calls = append(run.calls, c)
					run.placedBy[c.ID] = e.S
					run.inFlight[c.ID] = e.InProgress()
					sc := phone.Place()
					talks[c.ID] = sc.Talk
					push(simEvent{at: now.Add(sc.Ring), kind: evRing, call: c.ID, out: sc.Outcome})
				}
			}
			connect(now, newlyConnected(e, before))
			if !run.completeNow() {
				push(simEvent{at: now.Add(interval), kind: evTick})
			}
		case evRing:
			before := connected(e)
			e.Ring(now, ev.call, ev.out)
			connect(now, newlyConnected(e, before))
		case evHangup:
			before := connected(e)
			disp := DispositionCompleted
			var back time.Time
			switch x := r.IntN(10); {
			case x == 0:
				disp, back = DispositionCallback, now.Add(time.Duration(1+r.IntN(48))*time.Hour)
			case x == 1:
				disp = DispositionDNC
				// The seat's verdict puts the number on the list.
				if c := e.Call(ev.call); c != nil {
					run.addDNC(list.ps[c.Prospect].phone, now)
				}
			}
			e.Hangup(now, ev.call, disp, back)
			connect(now, newlyConnected(e, before))
		case evChange:
			// A seat changes state, or the campaign is paused, resumed
			// or edited.
			switch r.IntN(4) {
			case 0, 1:
				st := []string{SeatAvailable, SeatAvailable, SeatPaused, SeatOffline}[r.IntN(4)]
				e.Seats[r.IntN(len(e.Seats))].State = st
			case 2:
				next := e.S
				next.Paused = !next.Paused
				e.Settings(next)
				run.changes = append(run.changes, change{now, e.S})
			case 3:
				next := randomSettings(r)
				next.Active = true
				e.Settings(next)
				run.changes = append(run.changes, change{now, e.S})
			}
			connect(now, e.Advance(now))
			push(simEvent{at: now.Add(time.Duration(600+r.IntN(7200)) * time.Second), kind: evChange})
		case evDNC:
			// A number is put on the list through the API: often one whose
			// prospect is in a call now (leased), else any.
			var inCall []string
			for _, c := range e.calls {
				inCall = append(inCall, list.ps[c.Prospect].phone)
			}
			sort.Strings(inCall)
			if len(inCall) > 0 && r.IntN(2) == 0 {
				run.addDNC(inCall[r.IntN(len(inCall))], now)
			} else {
				run.addDNC(list.ps[fmt.Sprintf("p%05d", r.IntN(len(list.ps)))].phone, now)
			}
			push(simEvent{at: now.Add(time.Duration(1800+r.IntN(4*3600)) * time.Second), kind: evDNC})
		}
		for _, res := range e.TakeResults() {
			list.apply(res)
		}
		e.TakeChanged()
		if run.completeNow() {
			run.complete = true
		}
	}
	return run
}

// completeNow is the reference's Completed: active, every prospect
// resolved, no call in progress.
func (run *simRun) completeNow() bool {
	return run.engine.S.Active && run.list.unresolved() == 0 && run.engine.InProgress() == 0
}

// connected returns the calls connected to a seat now.
func connected(e *Engine) map[int64]bool {
	m := map[int64]bool{}
	for id, c := range e.calls {
		if !c.Connected.IsZero() {
			m[id] = true
		}
	}
	return m
}

// newlyConnected returns the calls connected since before.
func newlyConnected(e *Engine, before map[int64]bool) []*Call {
	var out []*Call
	for id, c := range e.calls {
		if !c.Connected.IsZero() && !before[id] {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// check verifies a run's call log against the dialer's promises.
func (run *simRun) check() []string {
	bad := append([]string(nil), run.violations[:min(len(run.violations), 10)]...)
	fail := func(format string, args ...any) {
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	last := map[string]time.Time{}
	attempts := map[string]int{}
	type seatUse struct{ from, to time.Time }
	bySeat := map[int][]seatUse{}
	for _, c := range run.calls {
		s := run.placedBy[c.ID]
		p := run.prospects[c.Prospect]
		if !s.Active || s.Paused {
			fail("call %d placed while inactive or paused", c.ID)
		}
		for _, z := range p.Timezones {
			if !InWindow(s, z, c.Placed) {
				fail("call %d to %s at %s (%s local) is outside %d–%d", c.ID, c.Prospect, c.Placed, c.Placed.In(location(z)).Format("15:04:05 MST"), s.Earliest, s.Latest)
			}
			// The law, checked straight against the compliance data: hours
			// of the state that weekday, Sunday and holiday bans.
			local := c.Placed.In(location(z))
			day := rulesOf(s.Locale).Legal(p.State, local, s.FilterHolidays)
			h, m, sec := local.Clock()
			if !day.Window.Contains(h*3600 + m*60 + sec) {
				fail("call %d to %s (%s) at %s local is not legal there: %+v", c.ID, c.Prospect, p.State, local.Format("Mon 2006-01-02 15:04:05 MST"), day)
			}
		}
		if c.Outcome == OutcomeNoAnswer && c.Ended.Sub(c.Placed) < MinRing {
			fail("call %d gave up after %v, before %v of ringing", c.ID, c.Ended.Sub(c.Placed), MinRing)
		}
		if s.IgnoreStates[p.State] {
			fail("call %d to %s in ignored state %s", c.ID, c.Prospect, p.State)
		}
		if number := run.list.ps[c.Prospect].phone; run.onDNC(number, c.Placed) {
			fail("call %d to %s at %s: %s is on the do-not-call list since %s", c.ID, c.Prospect, c.Placed, number, run.dnc[number])
		}
		if prev, ok := last[c.Prospect]; ok && c.Placed.Sub(prev) < s.MinBetween {
			fail("calls to %s at %s and %s: closer than %v", c.Prospect, prev, c.Placed, s.MinBetween)
		}
		last[c.Prospect] = c.Placed
		attempts[c.Prospect]++
		if attempts[c.Prospect] > s.MaxNumberCalls {
			fail("%s called %d times, max_number_calls %d", c.Prospect, attempts[c.Prospect], s.MaxNumberCalls)
		}
		if s.Expire > 0 && !c.Placed.Before(p.Added.Add(s.Expire)) {
			fail("call %d to %s after it expired", c.ID, c.Prospect)
		}
		if s.MaxActiveCalls > 0 && run.inFlight[c.ID] > s.MaxActiveCalls {
			fail("call %d placed with %d in progress, max_active_calls %d", c.ID, run.inFlight[c.ID], s.MaxActiveCalls)
		}
		if !c.Answered.IsZero() && !c.Ended.IsZero() {
			switch {
			case !c.Connected.IsZero():
				if wait := c.Connected.Sub(c.Answered); wait > run.settingsAt(c.Connected).MaxWait {
					fail("call %d waited %v for a seat", c.ID, c.Connected.Sub(c.Answered))
				}
				bySeat[c.Seat] = append(bySeat[c.Seat], seatUse{c.Connected, c.Ended})
			case c.Outcome != OutcomeAbandoned:
				fail("answered call %d ended %q without a seat", c.ID, c.Outcome)
			}
		}
	}
	// A seat takes one call at a time, and not before its wrap-up (in
	// force when it takes the next call) is over.
	for seat, uses := range bySeat {
		sort.Slice(uses, func(i, j int) bool { return uses[i].from.Before(uses[j].from) })
		for i := 1; i < len(uses); i++ {
			if uses[i].from.Before(uses[i-1].to) {
				fail("seat %d took a call at %s while on one until %s", seat, uses[i].from, uses[i-1].to)
			}
			if wrap := run.settingsAt(uses[i].from).WrapUp; uses[i].from.Sub(uses[i-1].to) < wrap {
				fail("seat %d took a call at %s, %v after its last ended: wrap_up_time %v", seat, uses[i].from, uses[i].from.Sub(uses[i-1].to), wrap)
			}
		}
	}
	// A prospect is in one call at a time, and its resolution follows from
	// its calls: completed and do-not-call after a call a seat talked,
	// exhausted after max_number_calls attempts (at the settings then).
	byProspect := map[string][]*Call{}
	for _, c := range run.calls {
		byProspect[c.Prospect] = append(byProspect[c.Prospect], c)
	}
	for id, cs := range byProspect {
		// A state's frequency cap: never more than Calls attempts in a
		// window of Per.
		if capped, ok := rulesOf(run.engine.S.Locale).Cap(run.prospects[id].State); ok {
			for i := capped.Calls; i < len(cs); i++ {
				if cs[i].Placed.Sub(cs[i-capped.Calls].Placed) < capped.Per {
					fail("%s (%s) called %d times within %v, ending %s", id, run.prospects[id].State, capped.Calls+1, capped.Per, cs[i].Placed)
				}
			}
		}
		for i := 1; i < len(cs); i++ {
			if !cs[i-1].Ended.IsZero() && cs[i].Placed.Before(cs[i-1].Ended) || cs[i-1].Ended.IsZero() {
				fail("%s: call %d placed at %s while call %d was in progress", id, cs[i].ID, cs[i].Placed, cs[i-1].ID)
			}
		}
		last := cs[len(cs)-1]
		switch res := run.list.ps[id].resolved; res {
		case ResolvedDNC:
			// A seat's verdict, or the list: the number was on it.
			if _, listed := run.dnc[run.list.ps[id].phone]; last.Outcome != OutcomeCompleted && !listed {
				fail("%s resolved %s, but its last call ended %q and its number was not on the list", id, res, last.Outcome)
			}
		case ResolvedCompleted:
			if last.Outcome != OutcomeCompleted {
				fail("%s resolved %s, but its last call ended %q", id, res, last.Outcome)
			}
		case ResolvedExhausted:
			// max_number_calls may have been lowered since the last call.
			least := run.settingsAt(last.Placed).MaxNumberCalls
			for _, ch := range run.changes {
				if ch.at.After(last.Placed) {
					least = min(least, ch.s.MaxNumberCalls)
				}
			}
			if len(cs) < least {
				fail("%s exhausted after %d calls", id, len(cs))
			}
		}
	}
	for id, p := range run.list.ps {
		if _, listed := run.dnc[p.phone]; p.resolved == ResolvedDNC && len(byProspect[id]) == 0 && !listed {
			fail("%s resolved %s without a call, and its number is not on the list", id, p.resolved)
		}
	}
	if run.completeNow() && !run.complete {
		fail("every prospect resolved but the campaign never reported Completed")
	}
	return bad
}

func TestSimulation(t *testing.T) {
	seeds := make([]uint64, 0, *simSeeds)
	if *simSeed != 0 {
		seeds = append(seeds, *simSeed)
	} else {
		base := uint64(time.Now().UnixNano())
		for i := 0; i < *simSeeds; i++ {
			seeds = append(seeds, base+uint64(i))
		}
	}
	days := *simDays
	if testing.Short() {
		days = 1
	}
	calls, answered := 0, 0
	for _, seed := range seeds {
		run := simulate(seed, days)
		if bad := run.check(); len(bad) > 0 {
			t.Fatalf("seed %d (replay: go test ./dialer -run TestSimulation -sim.seed=%d -v):\n%s", seed, seed, joinLines(bad))
		}
		calls += len(run.calls)
		for _, c := range run.calls {
			if !c.Answered.IsZero() {
				answered++
			}
		}
	}
	t.Logf("%d runs of %d days: %d calls, %d answered; first seed %d", len(seeds), days, calls, answered, seeds[0])
	if calls == 0 {
		t.Fatal("no calls at all: the simulation dials nothing")
	}
}

func joinLines(xs []string) string {
	out := ""
	for _, x := range xs {
		out += "  " + x + "\n"
	}
	return out
}
