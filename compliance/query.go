package compliance

import (
	"sort"
	"time"
)

// Why a region's law closes a day or narrows it.
const (
	WhyHours   = "legal_hours"   // outside the region's calling hours
	WhyClosed  = "legal_day"     // no calls that weekday (a Sunday ban)
	WhyHoliday = "holiday"       // a holiday the region bans calls on
	WhyUnknown = "unknown_state" // the region is unknown: the strictest rules apply
)

// Day is what the law allows in a region on one local date.
type Day struct {
	Window  Window
	Why     string // when Closed: WhyClosed or WhyHoliday
	Holiday string // the holiday's name, when Why is WhyHoliday
}

// Legal returns the legal window of region on the local date of t (t in
// the prospect's zone). With holidays, a holiday the region bans closes
// the day — on the holiday itself and on its observed day. An unknown
// region gets the strictest window of any region that day, and no call
// on a day any region bans.
func (r *Rules) Legal(region string, t time.Time, holidays bool) Day {
	if _, ok := r.Locale.Regions[region]; !ok {
		return r.strictest(t, holidays)
	}
	h := r.hours[region]
	if h == nil {
		h = r.hours[r.Locale.Regions[region].Country]
	}
	w := h[t.Weekday()]
	if w.Closed() {
		return Day{Window: w, Why: WhyClosed}
	}
	if holidays {
		if name := r.bannedOn(region, t); name != "" {
			return Day{Window: Window{}, Why: WhyHoliday, Holiday: name}
		}
	}
	return Day{Window: w}
}

func (r *Rules) strictest(t time.Time, holidays bool) Day {
	d := Day{Window: Window{Start: 0, End: 24 * 3600}, Why: WhyUnknown}
	for code := range r.Locale.Regions {
		day := r.Legal(code, t, holidays)
		d.Window = d.Window.Intersect(day.Window)
		if day.Holiday != "" {
			d.Holiday = day.Holiday
		}
	}
	return d
}

// bannedOn returns the name of a holiday region bans on t's date, or "".
func (r *Rules) bannedOn(region string, t time.Time) string {
	if len(r.holidays[region]) == 0 {
		return ""
	}
	y, m, d := t.Date()
	return r.bannedIn(y)[region][time.Date(y, m, d, 0, 0, 0, 0, time.UTC)]
}

// bannedIn is every region's banned dates in year, computed once: a tick
// asks for every bucket it reads.
func (r *Rules) bannedIn(year int) map[string]map[time.Time]string {
	r.mu.RLock()
	m, ok := r.banned[year]
	r.mu.RUnlock()
	if ok {
		return m
	}
	m = map[string]map[time.Time]string{}
	for region := range r.holidays {
		days := map[time.Time]string{}
		for _, b := range r.BannedDays(region, year) {
			if _, dup := days[b.Date]; !dup {
				days[b.Date] = b.Holiday
			}
		}
		m[region] = days
	}
	r.mu.Lock()
	if r.banned == nil {
		r.banned = map[int]map[string]map[time.Time]string{}
	}
	r.banned[year] = m
	r.mu.Unlock()
	return m
}

// dates are the days a holiday bans in year: the day itself and, when it
// differs, the day it is observed on.
func (h holiday) dates(year int) []time.Time {
	if h.even && year%2 != 0 {
		return nil
	}
	actual, observed := h.h.Calc(year)
	if actual.IsZero() {
		return nil
	}
	norm := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	out := []time.Time{norm(actual)}
	if !observed.IsZero() && !norm(observed).Equal(out[0]) {
		out = append(out, norm(observed))
	}
	return out
}

// Cap returns region's frequency cap, if it has one.
func (r *Rules) Cap(region string) (Cap, bool) {
	c, ok := r.caps[region]
	return c, ok
}

// BannedDay is a date a region bans calls on, and why.
type BannedDay struct {
	Date    time.Time
	Holiday string
}

// BannedDays lists the dates of year on which region bans calls for a
// holiday (with filter_holidays), in order.
func (r *Rules) BannedDays(region string, year int) []BannedDay {
	var out []BannedDay
	for _, y := range []int{year - 1, year, year + 1} {
		for _, h := range r.holidays[region] {
			for _, d := range h.dates(y) {
				if d.Year() == year {
					out = append(out, BannedDay{Date: d, Holiday: h.h.Name})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.Before(out[j].Date)
		}
		return out[i].Holiday < out[j].Holiday
	})
	return out
}
