package actors

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

// series: n points, oldest first, one a minute ending with now's minute,
// zero-filled, each with its own minute's figures and rate; figures
// outside the window are left out.
func TestSeries(t *testing.T) {
	now := time.Date(2026, 3, 9, 16, 4, 59, 999, time.UTC)
	minutes := map[string]*dayStats{
		"2026-03-09T16:04": {Attempts: 7, Answered: 4, Abandoned: 1},
		"2026-03-09T16:02": {Attempts: 3},
		"2026-03-09T15:59": {Attempts: 2, Answered: 2, Abandoned: 2}, // the first of six
		"2026-03-09T15:58": {Attempts: 100},                          // before the window
		"2026-03-09T16:05": {Attempts: 100},                          // after it
	}
	pts := series(minutes, now, 6)
	if len(pts) != 6 {
		t.Fatalf("%d points, want 6", len(pts))
	}
	want := []struct {
		minute                        string
		attempts, answered, abandoned int
		rate                          float64
	}{
		{"15:59", 2, 2, 2, 1},
		{"16:00", 0, 0, 0, 0},
		{"16:01", 0, 0, 0, 0},
		{"16:02", 3, 0, 0, 0},
		{"16:03", 0, 0, 0, 0},
		{"16:04", 7, 4, 1, 0.25},
	}
	for i, w := range want {
		p := pts[i]
		if p.Minute.Format("15:04") != w.minute || p.Minute.Second() != 0 || p.Minute.Nanosecond() != 0 || p.Minute.Location() != time.UTC ||
			p.Attempts != w.attempts || p.Answered != w.answered || p.Abandoned != w.abandoned || p.AbandonRate != w.rate {
			t.Errorf("point %d: %+v, want %+v", i, p, w)
		}
	}
	// A zone east of UTC reads the same minutes.
	if got := series(minutes, now.In(time.FixedZone("X", 5*3600+1800)), 6); got[5].Attempts != 7 || got[0].Minute != pts[0].Minute {
		t.Errorf("now in another zone: %+v", got)
	}
	// The whole day the API allows.
	if pts := series(minutes, now, dialerd.MaxSeriesMinutes); len(pts) != 1440 || !pts[0].Minute.Equal(now.Truncate(time.Minute).Add(-1439*time.Minute)) {
		t.Errorf("a day: %d points from %v", len(pts), pts[0].Minute)
	}
}

func TestStaleMinutes(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 30, 10, 0, time.UTC)
	minutes := map[string]*dayStats{
		"2026-03-09T12:28": {}, "2026-03-09T12:29": {}, "2026-03-09T12:30": {}, "2026-03-10T12:30": {}, "2026-03-01T00:00": {},
	}
	got := staleMinutes(minutes, now)
	if len(got) != 3 || got[0] != "2026-03-01T00:00" || got[1] != "2026-03-09T12:28" || got[2] != "2026-03-09T12:29" {
		t.Fatalf("stale: %v", got)
	}
}

// The grain writes its minutes with the call records, a new activation
// reads them back, and those past a day are deleted from storage.
func TestMinutesPersist(t *testing.T) {
	store, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 3, 9, 16, 0, 30, 0, time.UTC)
	clock := dialerd.NewManualClock(t0)
	grain := func() *campaignGrain {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		c := dialerd.NewCampaign()
		c.Slug = "stats"
		return &campaignGrain{deps: &Deps{Store: store, Clock: clock, Logger: log}, slug: "stats", identity: KindCampaign + "/stats", log: log, c: &c}
	}
	g := grain()
	if err := g.startDialing(nil); err != nil {
		t.Fatal(err)
	}
	d := &g.d
	d.minute(t0).Attempts += 3
	d.minute(t0).Answered += 2
	d.minute(t0.Add(time.Minute)).Attempts++
	d.minute(t0.Add(time.Minute)).Abandoned++
	if err := g.flushCalls(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	read := func(g *campaignGrain) dialerd.CampaignSeries {
		t.Helper()
		b, err := g.seriesDoc(5)
		if err != nil {
			t.Fatal(err)
		}
		var s dialerd.CampaignSeries
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := read(g)
	// A new activation that has not dialled yet reads them from storage.
	after := read(grain())
	if len(after.Points) != 5 || after.Points[2].Attempts != 3 || after.Points[2].Answered != 2 || after.Points[3].Abandoned != 1 ||
		after.Slug != "stats" || !after.Now.Equal(t0.Add(2*time.Minute).Truncate(time.Second)) {
		t.Fatalf("after a new activation: %+v", after)
	}
	for i := range before.Points {
		if before.Points[i] != after.Points[i] {
			t.Fatalf("point %d: %+v before, %+v after", i, before.Points[i], after.Points[i])
		}
	}

	// A day later, the next write deletes them.
	clock.Advance(24 * time.Hour)
	d.minute(clock.Now()).Attempts++
	if err := g.flushCalls(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	store.Scan(context.Background(), g.identity, "sm/", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if len(keys) != 1 || keys[0] != "sm/"+minuteKey(clock.Now()) || len(d.minutes) != 1 {
		t.Fatalf("after a day: stored %v, held %d", keys, len(d.minutes))
	}
}
