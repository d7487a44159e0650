package dialer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

func settings(mod func(*dialerd.Campaign)) Settings {
	c := dialerd.NewCampaign()
	c.Active = true
	if mod != nil {
		mod(&c)
	}
	return SettingsOf(c)
}

func TestSettingsOf(t *testing.T) {
	s := settings(func(c *dialerd.Campaign) {
		c.EarliestProspectTime, c.LatestProspectTime = "08:30", "20:15:30"
		c.IgnoreStates, c.ExpireDays, c.MinTimeBetweenCalls = "ca, tx,NY", 7, 45
	})
	if s.Earliest != 8*3600+30*60 || s.Latest != 20*3600+15*60+30 {
		t.Fatalf("window %d–%d", s.Earliest, s.Latest)
	}
	if !s.IgnoreStates["CA"] || !s.IgnoreStates["TX"] || !s.IgnoreStates["NY"] || len(s.IgnoreStates) != 3 {
		t.Fatalf("ignore states %v", s.IgnoreStates)
	}
	if s.Expire != 7*24*time.Hour || s.MinBetween != 45*time.Minute {
		t.Fatalf("expire %v, min between %v", s.Expire, s.MinBetween)
	}
	if never := settings(func(c *dialerd.Campaign) { c.ExpireDays = -1 }); never.Expire != 0 {
		t.Fatalf("expire_days -1 gave %v", never.Expire)
	}
}

func TestCallsWanted(t *testing.T) {
	for _, c := range []struct {
		name                         string
		mod                          func(*dialerd.Campaign)
		ratio                        float64
		free, ringing, inProgress, w int
	}{
		{"one seat, ratio 1", nil, 1, 1, 0, 0, 1},
		{"ratio rounds up", nil, 1.5, 3, 0, 0, 5},
		{"ringing calls count", nil, 2, 3, 4, 4, 2},
		{"more ringing than wanted", nil, 1, 2, 5, 5, 0},
		{"no free seat", nil, 3, 0, 0, 0, 0},
		{"capped by max_active_calls", func(c *dialerd.Campaign) { c.MaxActiveCalls = 4 }, 3, 5, 0, 1, 3},
		{"cap reached", func(c *dialerd.Campaign) { c.MaxActiveCalls = 4 }, 3, 5, 0, 4, 0},
		{"cap 0 means none", func(c *dialerd.Campaign) { c.MaxActiveCalls = 0 }, 1, 50, 0, 1000, 50},
		{"exact product is not rounded up", nil, 0.5, 4, 0, 0, 2},
		{"paused", func(c *dialerd.Campaign) { c.Paused = true }, 1, 5, 0, 0, 0},
		{"inactive", func(c *dialerd.Campaign) { c.Active = false }, 1, 5, 0, 0, 0},
	} {
		if got := CallsWanted(settings(c.mod), c.ratio, c.free, c.ringing, c.inProgress); got != c.w {
			t.Errorf("%s: %d, want %d", c.name, got, c.w)
		}
	}
}

func TestCheck(t *testing.T) {
	// 2026-07-15 18:00 UTC: 14:00 in New York (EDT), 11:00 in Los
	// Angeles, 11:00 in Phoenix (no DST), 08:00 in Honolulu, 07:00 Adak.
	now := time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC)
	ny := []string{"America/New_York"}
	base := Candidate{State: "NY", Timezones: ny, Added: now.Add(-24 * time.Hour)}
	with := func(mod func(*Candidate)) Candidate {
		c := base
		mod(&c)
		return c
	}
	for _, c := range []struct {
		name string
		s    Settings
		c    Candidate
		at   time.Time
		want Reason
	}{
		{"eligible", settings(nil), base, now, Eligible},
		{"inactive", settings(func(c *dialerd.Campaign) { c.Active = false }), base, now, ReasonInactive},
		{"paused", settings(func(c *dialerd.Campaign) { c.Paused = true }), base, now, ReasonPaused},
		{"resolved", settings(nil), with(func(c *Candidate) { c.Resolved = true }), now, ReasonResolved},
		{"do not call", settings(nil), with(func(c *Candidate) { c.DNC = true }), now, ReasonDNC},
		{"expired", settings(func(c *dialerd.Campaign) { c.ExpireDays = 1 }), base, now, ReasonExpired},
		{"not yet expired", settings(func(c *dialerd.Campaign) { c.ExpireDays = 2 }), base, now, Eligible},
		{"never expires", settings(func(c *dialerd.Campaign) { c.ExpireDays = -1 }), with(func(c *Candidate) { c.Added = now.AddDate(-5, 0, 0) }), now, Eligible},
		{"max attempts", settings(func(c *dialerd.Campaign) { c.MaxNumberCalls = 3 }), with(func(c *Candidate) { c.Attempts = 3 }), now, ReasonAttempts},
		{"too soon", settings(func(c *dialerd.Campaign) { c.MinTimeBetweenCalls = 30 }), with(func(c *Candidate) { c.Attempts, c.LastAttempt = 1, now.Add(-29*time.Minute) }), now, ReasonTooSoon},
		{"exactly min time later", settings(func(c *dialerd.Campaign) { c.MinTimeBetweenCalls = 30 }), with(func(c *Candidate) { c.Attempts, c.LastAttempt = 1, now.Add(-30*time.Minute) }), now, Eligible},
		{"ignored state", settings(func(c *dialerd.Campaign) { c.IgnoreStates = "NY" }), base, now, ReasonIgnored},
		{"no zone", settings(nil), with(func(c *Candidate) { c.Timezones = nil }), now, ReasonNoZone},
		{"unknown zone", settings(nil), with(func(c *Candidate) { c.Timezones = []string{"Mars/Olympus"} }), now, ReasonNoZone},
		{"before the window locally", settings(func(c *dialerd.Campaign) { c.EarliestProspectTime = "15:00" }), base, now, ReasonOffWindow},
		{"at latest is outside", settings(func(c *dialerd.Campaign) { c.LatestProspectTime = "14:00" }), base, now, ReasonOffWindow},
		{"at earliest is inside", settings(func(c *dialerd.Campaign) { c.EarliestProspectTime = "14:00" }), base, now, Eligible},
		{"every candidate zone must allow it", settings(func(c *dialerd.Campaign) { c.EarliestProspectTime = "09:00" }),
			with(func(c *Candidate) { c.Timezones = []string{"America/New_York", "Pacific/Honolulu"} }), now, ReasonOffWindow},
		{"all zones inside", settings(func(c *dialerd.Campaign) { c.EarliestProspectTime = "09:00" }),
			with(func(c *Candidate) { c.Timezones = []string{"America/New_York", "America/Phoenix"} }), now, Eligible},
		// Arizona keeps standard time: 20:30 in Denver (MDT) is 19:30 in
		// Phoenix in July.
		{"Phoenix has no DST", settings(func(c *dialerd.Campaign) { c.LatestProspectTime = "20:00" }),
			with(func(c *Candidate) { c.Timezones = []string{"America/Phoenix"} }), time.Date(2026, 7, 16, 2, 30, 0, 0, time.UTC), Eligible},
		{"Denver has", settings(func(c *dialerd.Campaign) { c.LatestProspectTime = "20:00" }),
			with(func(c *Candidate) { c.Timezones = []string{"America/Denver"} }), time.Date(2026, 7, 16, 2, 30, 0, 0, time.UTC), ReasonOffWindow},
	} {
		if got := Check(c.s, c.c, c.at); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The law narrows the campaign's window (DESIGN §5): each state's hours by
// weekday, Sunday bans, holiday bans with filter_holidays, DST changes,
// Arizona, a split area code — in every candidate zone. The campaign's own
// window is all day here, so what is refused is refused by the law.
func TestCheckLegal(t *testing.T) {
	allDay := func(mod func(*dialerd.Campaign)) Settings {
		return settings(func(c *dialerd.Campaign) {
			c.EarliestProspectTime, c.LatestProspectTime, c.ExpireDays = "00:00", "23:59:59", -1
			if mod != nil {
				mod(c)
			}
		})
	}
	noHolidays := allDay(func(c *dialerd.Campaign) { c.FilterHolidays = false })
	cand := func(state string, zones ...string) Candidate {
		return Candidate{State: state, Timezones: zones, Added: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	utc := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	capped := func(state string, attempts ...string) Candidate {
		c := cand(state, "America/New_York")
		for _, a := range attempts {
			t, _ := time.Parse("2006-01-02 15:04", a)
			c.Recent = append(c.Recent, t)
		}
		c.Attempts, c.LastAttempt = len(c.Recent), c.Recent[len(c.Recent)-1]
		return c
	}
	const ny, chi, den, phx, la, tor = "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Toronto"
	for _, c := range []struct {
		name string
		s    Settings
		c    Candidate
		at   string // UTC
		want Reason
	}{
		{"NY weekday 08:00 (federal opens)", allDay(nil), cand("NY", ny), "2026-03-10 12:00", Eligible},
		{"NY weekday 07:59", allDay(nil), cand("NY", ny), "2026-03-10 11:59", ReasonLegalHours},
		{"NY 21:00 closes", allDay(nil), cand("NY", ny), "2026-03-11 01:00", ReasonLegalHours},
		{"FL 20:30 is past its 20:00", allDay(nil), cand("FL", ny), "2026-03-11 00:30", ReasonLegalHours},
		{"TX Saturday 09:30", allDay(nil), cand("TX", chi), "2026-03-14 14:30", Eligible},
		{"TX Sunday 10:00: noon at the earliest", allDay(nil), cand("TX", chi), "2026-03-15 15:00", ReasonLegalHours},
		{"TX Sunday 12:30", allDay(nil), cand("TX", chi), "2026-03-15 17:30", Eligible},
		{"AL Sunday", allDay(nil), cand("AL", chi), "2026-03-15 17:00", ReasonLegalDay},
		{"RI Saturday 17:30 (10–17)", allDay(nil), cand("RI", ny), "2026-03-14 21:30", ReasonLegalHours},
		{"ON weekday 21:15 (to 21:30)", allDay(nil), cand("ON", tor), "2026-03-11 01:15", Eligible},
		{"ON Saturday 18:30 (to 18:00)", allDay(nil), cand("ON", tor), "2026-03-14 22:30", ReasonLegalHours},
		{"PA Good Friday", allDay(nil), cand("PA", ny), "2026-04-03 15:00", ReasonHoliday},
		{"PA Good Friday without filter_holidays", noHolidays, cand("PA", ny), "2026-04-03 15:00", Eligible},
		{"AL July 4 observed on Friday the 3rd", allDay(nil), cand("AL", chi), "2026-07-03 15:00", ReasonHoliday},
		{"RI July 4 observed Monday the 6th", allDay(nil), cand("RI", ny), "2026-07-06 15:00", ReasonHoliday},
		// DST: 2026-03-08 (spring) and 2026-11-01 (fall) in the US.
		{"Saturday before spring DST: 12:30Z is 07:30 EST", allDay(nil), cand("NY", ny), "2026-03-07 12:30", ReasonLegalHours},
		{"Monday after: 12:30Z is 08:30 EDT", allDay(nil), cand("NY", ny), "2026-03-09 12:30", Eligible},
		{"Saturday before fall DST: 12:30Z is 08:30 EDT", allDay(nil), cand("NY", ny), "2026-10-31 12:30", Eligible},
		{"Monday after: 12:30Z is 07:30 EST", allDay(nil), cand("NY", ny), "2026-11-02 12:30", ReasonLegalHours},
		// Arizona keeps MST: 15:00Z in March is 08:00 in Phoenix, 09:00 in Denver.
		{"Arizona 08:00 MST", allDay(nil), cand("AZ", phx), "2026-03-10 15:00", Eligible},
		{"Arizona 07:30 MST while Denver is at 08:30", allDay(nil), cand("AZ", phx), "2026-03-10 14:30", ReasonLegalHours},
		{"Colorado 08:30 MDT", allDay(nil), cand("CO", den), "2026-03-10 14:30", Eligible},
		// A split area code: Indiana in Eastern and Central time. At 01:15Z
		// it is 21:15 in Indianapolis: too late there, whatever Chicago says.
		{"split zones: one too late", allDay(nil), cand("IN", "America/Indiana/Indianapolis", chi), "2026-03-11 01:15", ReasonLegalHours},
		{"split zones: both open", allDay(nil), cand("IN", "America/Indiana/Indianapolis", chi), "2026-03-10 20:00", Eligible},
		{"unknown state: the strictest rules", allDay(nil), cand("", la), "2026-03-10 16:30", ReasonLegalHours}, // 09:30 PDT: KY opens at 10
		{"unknown state on a Sunday", allDay(nil), cand("", la), "2026-03-15 20:00", ReasonLegalDay},
		// Frequency caps: FL allows 3 calls to a number in 24 h.
		{"FL, third call in a day", allDay(nil), capped("FL", "2026-03-10 01:00", "2026-03-10 13:00"), "2026-03-10 17:00", Eligible},
		{"FL, fourth within 24 h", allDay(nil), capped("FL", "2026-03-09 18:00", "2026-03-10 01:00", "2026-03-10 13:00"), "2026-03-10 17:00", ReasonCap},
		{"FL, 24 h after the third-latest", allDay(nil), capped("FL", "2026-03-09 17:00", "2026-03-10 01:00", "2026-03-10 13:00"), "2026-03-10 17:00", Eligible},
		{"NY has no cap", allDay(nil), capped("NY", "2026-03-09 18:00", "2026-03-10 01:00", "2026-03-10 13:00"), "2026-03-10 17:00", Eligible},
		{"the campaign's window still applies", settings(func(c *dialerd.Campaign) { c.EarliestProspectTime = "10:00" }), cand("NY", ny), "2026-03-10 13:30", ReasonOffWindow},
	} {
		if got := Check(c.s, c.c, utc(c.at)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSeatFreeAndWrapUp(t *testing.T) {
	now := time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		s    Seat
		want bool
	}{
		{"available, never called", Seat{State: SeatAvailable}, true},
		{"busy", Seat{State: SeatAvailable, Busy: true}, false},
		{"paused", Seat{State: SeatPaused}, false},
		{"offline", Seat{State: SeatOffline}, false},
		{"in wrap-up", Seat{State: SeatAvailable, LastCallEnd: now.Add(-2 * time.Second)}, false},
		{"wrap-up just over", Seat{State: SeatAvailable, LastCallEnd: now.Add(-3 * time.Second)}, true},
	} {
		if got := c.s.Free(now, 3*time.Second); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPickSeat(t *testing.T) {
	now := time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)
	ago := func(s int) time.Time { return now.Add(-time.Duration(s) * time.Second) }
	seats := []Seat{
		{Position: 1, State: SeatAvailable, LastCallEnd: ago(100), TalkTime: 50 * time.Minute, Calls: 9},
		{Position: 2, State: SeatAvailable, LastCallEnd: ago(400), TalkTime: 10 * time.Minute, Calls: 12},
		{Position: 3, State: SeatAvailable, LastCallEnd: ago(300), TalkTime: 30 * time.Minute, Calls: 4},
		{Position: 4, State: SeatAvailable, Busy: true, LastCallEnd: ago(900)}, // on a call
		{Position: 5, State: SeatPaused, LastCallEnd: ago(1000)},               // paused
		{Position: 6, State: SeatAvailable, LastCallEnd: ago(1), TalkTime: 0},  // in wrap-up
	}
	for _, c := range []struct {
		strategy string
		last     int
		want     int // position
	}{
		{LongestIdleAgent, 0, 2},
		{AgentWithLeastTalkTime, 0, 2},
		{AgentWithFewestCalls, 0, 3},
		{SequentiallyByAgentOrder, 0, 1},
		{TopDown, 2, 1},
		{RoundRobin, 0, 1},
		{RoundRobin, 1, 2},
		{RoundRobin, 2, 3},
		{RoundRobin, 3, 1}, // wraps past the busy, paused and wrapping-up seats
	} {
		cur := &Cursor{Last: c.last}
		i := PickSeat(c.strategy, seats, now, 3*time.Second, cur, nil)
		if i < 0 || seats[i].Position != c.want {
			t.Errorf("%s after %d: picked index %d, want position %d", c.strategy, c.last, i, c.want)
			continue
		}
		if cur.Last != c.want {
			t.Errorf("%s: cursor %d after picking %d", c.strategy, cur.Last, c.want)
		}
	}
	// Never called beats everyone for longest idle.
	fresh := append([]Seat{{Position: 9, State: SeatAvailable}}, seats...)
	if i := PickSeat(LongestIdleAgent, fresh, now, 3*time.Second, &Cursor{}, nil); fresh[i].Position != 9 {
		t.Errorf("longest idle picked %d, want the never-called seat", fresh[i].Position)
	}
	// None free.
	if i := PickSeat(LongestIdleAgent, seats[3:], now, 3*time.Second, &Cursor{}, nil); i != -1 {
		t.Errorf("picked %d with no free seat", i)
	}
	// Random: only free seats, each about equally often.
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[int]int{}
	for i := 0; i < 30000; i++ {
		counts[seats[PickSeat(Random, seats, now, 3*time.Second, &Cursor{}, rng)].Position]++
	}
	if len(counts) != 3 {
		t.Fatalf("random picked %v", counts)
	}
	for pos, n := range counts {
		if n < 9000 || n > 11000 {
			t.Errorf("random picked position %d %d times of 30000", pos, n)
		}
	}
}
