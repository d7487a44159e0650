// Package dialer holds the dialer's rules — pacing, eligibility, the choice
// of a seat for an answered call — as pure functions over plain data and a
// time value. The campaign grain is a thin shell around them: it keeps the
// state, asks the rules, and does what they say. Nothing here reads a clock
// or does I/O, so a simulation can run days of dialing in a test.
package dialer

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/compliance"
)

// Settings are what the rules read of a campaign, parsed once.
type Settings struct {
	Active, Paused bool
	CallRatio      float64
	MaxActiveCalls int // 0: no cap
	MaxNumberCalls int
	MinBetween     time.Duration
	// Expire is how long a prospect stays dialable after it was added;
	// 0: forever (expire_days −1).
	Expire time.Duration
	// Earliest and Latest bound the prospect's local time of day, in
	// seconds since midnight: calls from Earliest up to, not including,
	// Latest.
	Earliest, Latest int
	IgnoreStates     map[string]bool
	MaxWait, WrapUp  time.Duration
	Strategy         string
	// Locale names the legal rules that apply (compliance data);
	// FilterHolidays applies the holiday bans among them.
	Locale         string
	FilterHolidays bool
	// MaxAbandonRate is max_abandon_rate as a fraction (0.03).
	MaxAbandonRate float64
}

// SettingsOf reads a campaign's settings. The campaign was validated when
// it was written, so its times parse.
func SettingsOf(c dialerd.Campaign) Settings {
	s := Settings{
		Active: c.Active, Paused: c.Paused, CallRatio: c.CallRatio,
		MaxActiveCalls: c.MaxActiveCalls, MaxNumberCalls: c.MaxNumberCalls,
		MinBetween: time.Duration(c.MinTimeBetweenCalls) * time.Minute,
		MaxWait:    time.Duration(c.MaxWaitTime) * time.Second,
		WrapUp:     time.Duration(c.WrapUpTime) * time.Second,
		Strategy:   c.QueueStrategy,
		Locale:     c.LocaleName, FilterHolidays: c.FilterHolidays,
		MaxAbandonRate: c.MaxAbandonRate / 100,
	}
	if c.ExpireDays >= 0 {
		s.Expire = time.Duration(c.ExpireDays) * 24 * time.Hour
	}
	s.Earliest, _ = dialerd.ParseTimeOfDay(c.EarliestProspectTime)
	s.Latest, _ = dialerd.ParseTimeOfDay(c.LatestProspectTime)
	for _, st := range strings.FieldsFunc(c.IgnoreStates, func(r rune) bool { return r == ',' || r == ' ' }) {
		if s.IgnoreStates == nil {
			s.IgnoreStates = map[string]bool{}
		}
		s.IgnoreStates[strings.ToUpper(st)] = true
	}
	return s
}

// CallsWanted is DESIGN §4's pacing: ⌈seats free × ratio⌉ − calls already
// ringing, never more than max_active_calls − calls in progress (when
// there is a cap), never below zero. ratio is the effective call ratio
// (at most call_ratio; the abandonment governor may lower it).
func CallsWanted(s Settings, ratio float64, seatsFree, ringing, inProgress int) int {
	if !s.Active || s.Paused || seatsFree <= 0 {
		return 0
	}
	want := int(math.Ceil(float64(seatsFree)*ratio-1e-9)) - ringing
	if s.MaxActiveCalls > 0 {
		want = min(want, s.MaxActiveCalls-inProgress)
	}
	return max(want, 0)
}

// Candidate is what eligibility reads of a prospect.
type Candidate struct {
	State     string
	Timezones []string
	Resolved  bool
	// DNC: its number is on the workspace's do-not-call list, as the
	// list grain learnt when it read the prospect to lease it.
	DNC         bool
	Attempts    int
	LastAttempt time.Time // zero: never called
	Added       time.Time
	// Recent are the latest attempts, oldest first (at most KeepRecent):
	// what a state's frequency cap counts.
	Recent []time.Time
}

// KeepRecent is how many of its latest attempts a prospect remembers:
// enough for any cap of the rules (3 per 24 h in USCA).
const KeepRecent = 8

// CapDue is when the state's frequency cap (compliance data) lets the
// prospect be called again: zero when it has no cap or is under it.
func CapDue(s Settings, c Candidate) time.Time {
	rules := rulesOf(s.Locale)
	if rules == nil {
		return time.Time{}
	}
	capped, ok := rules.Cap(c.State)
	if !ok || len(c.Recent) < capped.Calls {
		return time.Time{}
	}
	// The Calls-th latest attempt leaves the window Per after it was made.
	return c.Recent[len(c.Recent)-capped.Calls].Add(capped.Per)
}

// Reason says why a prospect is not dialable now; "" when it is.
type Reason string

const (
	Eligible        Reason = ""
	ReasonInactive  Reason = "inactive"
	ReasonPaused    Reason = "paused"
	ReasonResolved  Reason = "resolved"
	ReasonExpired   Reason = "expired"
	ReasonAttempts  Reason = "max_number_calls"
	ReasonTooSoon   Reason = "min_time_between_calls"
	ReasonIgnored   Reason = "ignore_states"
	ReasonNoZone    Reason = "no_time_zone"
	ReasonOffWindow Reason = "outside_calling_window"
	ReasonCallback  Reason = "callback_later" // a seat asked to call back later
	ReasonCap       Reason = "frequency_cap"  // the state's calls-per-day cap on a number
	ReasonDNC       Reason = "do_not_call"    // the number is on the workspace's DNC list
	// The law, not the campaign: outside the state's calling hours, a
	// weekday the state bans (Sundays), a holiday it bans.
	ReasonLegalHours Reason = "legal_hours"
	ReasonLegalDay   Reason = "legal_day"
	ReasonHoliday    Reason = "holiday"
)

// Check says whether the campaign may call the prospect at now, and if
// not, the first reason why. The local time must be inside the window in
// every zone the prospect may be in.
func Check(s Settings, c Candidate, now time.Time) Reason {
	switch {
	case !s.Active:
		return ReasonInactive
	case s.Paused:
		return ReasonPaused
	case c.Resolved:
		return ReasonResolved
	case c.DNC:
		return ReasonDNC
	case s.Expire > 0 && !now.Before(c.Added.Add(s.Expire)):
		return ReasonExpired
	case c.Attempts >= s.MaxNumberCalls:
		return ReasonAttempts
	case !c.LastAttempt.IsZero() && now.Before(c.LastAttempt.Add(s.MinBetween)):
		return ReasonTooSoon
	case now.Before(CapDue(s, c)):
		return ReasonCap
	}
	// The rest is decided by the prospect's bucket: state and zones.
	return s.Open(Bucket{State: c.State, Zones: c.Timezones}, now)
}

// Legal says whether the law of state lets a call be placed at now in
// zone: the locale's calling hours for that local weekday, its Sunday
// bans, and with filter_holidays its holiday bans (compliance data). An
// unknown zone is never allowed.
func Legal(s Settings, state, zone string, now time.Time) Reason {
	loc := location(zone)
	if loc == nil {
		return ReasonNoZone
	}
	rules := rulesOf(s.Locale)
	if rules == nil {
		return Eligible
	}
	local := now.In(loc)
	day := rules.Legal(state, local, s.FilterHolidays)
	switch {
	case day.Window.Closed() && day.Holiday != "":
		return ReasonHoliday
	case day.Window.Closed():
		return ReasonLegalDay
	}
	h, m, sec := local.Clock()
	if !day.Window.Contains(h*3600 + m*60 + sec) {
		return ReasonLegalHours
	}
	return Eligible
}

var rulesByLocale sync.Map // locale → *compliance.Rules (nil when it has none)

func rulesOf(locale string) *compliance.Rules {
	if r, ok := rulesByLocale.Load(locale); ok {
		return r.(*compliance.Rules)
	}
	r, err := compliance.Load(locale)
	if err != nil {
		r = nil
	}
	rulesByLocale.Store(locale, r)
	return r
}

// InWindow reports whether now, in zone, is inside the campaign's window.
// An unknown zone is never inside.
func InWindow(s Settings, zone string, now time.Time) bool {
	loc := location(zone)
	if loc == nil {
		return false
	}
	h, m, sec := now.In(loc).Clock()
	t := h*3600 + m*60 + sec
	return t >= s.Earliest && t < s.Latest
}

var locations sync.Map // zone name → *time.Location (nil when unknown)

func location(zone string) *time.Location {
	if l, ok := locations.Load(zone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(zone)
	if err != nil {
		l = nil
	}
	locations.Store(zone, l)
	return l
}
