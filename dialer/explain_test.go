package dialer

import (
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

// Explain names every reason and the next time a prospect can be called.
func TestExplain(t *testing.T) {
	s := settings(func(c *dialerd.Campaign) {
		c.EarliestProspectTime, c.LatestProspectTime, c.MinTimeBetweenCalls, c.ExpireDays, c.MaxNumberCalls = "09:00", "20:00", 60, -1, 5
	})
	at := func(v string) time.Time {
		t, err := time.Parse("2006-01-02 15:04", v)
		if err != nil {
			panic(err)
		}
		return t
	}
	ny := Candidate{State: "NY", Timezones: []string{"America/New_York"}, Added: at("2026-03-01 00:00")}
	// Saturday 2026-03-14 23:30 UTC is 19:30 in New York: eligible.
	if e := Explain(s, ny, time.Time{}, at("2026-03-14 23:30")); !e.Eligible || len(e.Reasons) != 0 || !e.Next.Equal(at("2026-03-14 23:30")) {
		t.Fatalf("eligible: %+v", e)
	}
	// Called at 23:45 UTC: too soon, and at 00:45 UTC the window is
	// closed; next is Sunday 09:00 in New York (13:00 UTC, after DST).
	called := ny
	called.Attempts, called.LastAttempt = 1, at("2026-03-14 23:45")
	e := Explain(s, called, time.Time{}, at("2026-03-15 00:10"))
	if e.Eligible || len(e.Reasons) != 2 || e.Reasons[0] != ReasonTooSoon || e.Reasons[1] != ReasonOffWindow || !e.Next.Equal(at("2026-03-15 13:00")) {
		t.Fatalf("too soon and off window: %+v", e)
	}
	// Alabama on a Sunday: banned all day; next is Monday 09:00 CDT.
	al := Candidate{State: "AL", Timezones: []string{"America/Chicago"}, Added: at("2026-03-01 00:00")}
	e = Explain(s, al, time.Time{}, at("2026-03-15 17:00"))
	if e.Eligible || len(e.Reasons) != 1 || e.Reasons[0] != ReasonLegalDay || !e.Next.Equal(at("2026-03-16 14:00")) {
		t.Fatalf("AL Sunday: %+v", e)
	}
	// Never, as things stand: paused, and ignored.
	paused := s
	paused.Paused = true
	if e := Explain(paused, ny, time.Time{}, at("2026-03-14 23:30")); e.Eligible || !e.Next.IsZero() || e.Reasons[0] != ReasonPaused {
		t.Fatalf("paused: %+v", e)
	}
	// On the do-not-call list: never, however eligible otherwise.
	dnc := ny
	dnc.DNC = true
	if e := Explain(s, dnc, time.Time{}, at("2026-03-14 23:30")); e.Eligible || !e.Next.IsZero() || len(e.Reasons) != 1 || e.Reasons[0] != ReasonDNC {
		t.Fatalf("dnc: %+v", e)
	}
	// A callback later than everything else decides.
	e = Explain(s, ny, at("2026-03-16 15:30"), at("2026-03-14 23:30"))
	if e.Eligible || e.Reasons[0] != ReasonCallback || !e.Next.Equal(at("2026-03-16 15:30")) {
		t.Fatalf("callback: %+v", e)
	}
}
