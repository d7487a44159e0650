package dialer

import "time"

// Explanation says whether a prospect can be called now and, if not, every
// reason and the first time it can be (zero: never, as things stand).
type Explanation struct {
	Eligible bool      `json:"eligible"`
	Reasons  []Reason  `json:"reasons"`
	Next     time.Time `json:"next_eligible_at,omitzero"`
}

// explainHorizon bounds the search for the next time a prospect can be
// called: two weeks cover any weekly calling-hours pattern and a holiday.
const explainHorizon = 14 * 24 * time.Hour

// Explain is Check with every reason, not only the first, and the next
// time the prospect can be called (to the minute), found by walking
// forward from now.
func Explain(s Settings, c Candidate, callback, now time.Time) Explanation {
	var out Explanation
	add := func(r Reason) { out.Reasons = append(out.Reasons, r) }
	never := false
	if !s.Active {
		add(ReasonInactive)
		never = true
	}
	if s.Paused {
		add(ReasonPaused)
		never = true
	}
	if c.Resolved {
		add(ReasonResolved)
		never = true
	}
	if c.DNC {
		add(ReasonDNC)
		never = true
	}
	if s.Expire > 0 && !now.Before(c.Added.Add(s.Expire)) {
		add(ReasonExpired)
		never = true
	}
	if c.Attempts >= s.MaxNumberCalls {
		add(ReasonAttempts)
		never = true
	}
	if !c.LastAttempt.IsZero() && now.Before(c.LastAttempt.Add(s.MinBetween)) {
		add(ReasonTooSoon)
	}
	if now.Before(CapDue(s, c)) {
		add(ReasonCap)
	}
	if now.Before(callback) {
		add(ReasonCallback)
	}
	if s.IgnoreStates[c.State] {
		add(ReasonIgnored)
		never = true
	}
	if len(c.Timezones) == 0 {
		add(ReasonNoZone)
		never = true
	}
	seen := map[Reason]bool{}
	for _, z := range c.Timezones {
		r := Legal(s, c.State, z, now)
		if r == Eligible && !InWindow(s, z, now) {
			r = ReasonOffWindow
		}
		if r != Eligible && !seen[r] {
			seen[r] = true
			add(r)
		}
		if r == ReasonNoZone {
			never = true
		}
	}
	if len(out.Reasons) == 0 {
		out.Eligible, out.Next = true, now
		return out
	}
	if never {
		return out
	}
	// Walk forward from the first moment its own history allows, minute
	// by minute, to the first the rules allow.
	t := Due(s, c, callback)
	if t.Before(now) {
		t = now
	}
	for end := now.Add(explainHorizon); !t.After(end); t = t.Truncate(time.Minute).Add(time.Minute) {
		if Check(s, c, t) == Eligible && !t.Before(callback) {
			out.Next = t
			break
		}
	}
	return out
}

// Text says what a reason means, for people.
func (r Reason) Text() string {
	switch r {
	case ReasonInactive:
		return "The campaign is not active."
	case ReasonPaused:
		return "The campaign is paused."
	case ReasonResolved:
		return "The prospect is resolved."
	case ReasonExpired:
		return "The prospect expired (expire_days)."
	case ReasonAttempts:
		return "The prospect has had max_number_calls attempts."
	case ReasonTooSoon:
		return "Its last attempt was less than min_time_between_calls ago."
	case ReasonCap:
		return "Its state's frequency cap on calls to one number is reached."
	case ReasonDNC:
		return "Its number is on the workspace's do-not-call list."
	case ReasonCallback:
		return "A seat asked to call back later."
	case ReasonIgnored:
		return "Its state is in ignore_states."
	case ReasonNoZone:
		return "Its time zone is unknown."
	case ReasonOffWindow:
		return "It is outside the campaign's calling window in its local time."
	case ReasonLegalHours:
		return "It is outside its state's legal calling hours in its local time."
	case ReasonLegalDay:
		return "Its state bans calls on this weekday."
	case ReasonHoliday:
		return "Its state bans calls today for a holiday (filter_holidays)."
	}
	return string(r)
}
