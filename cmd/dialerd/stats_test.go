package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

func getSeries(t *testing.T, c client, slug, query string) dialerd.CampaignSeries {
	t.Helper()
	r := c.do("GET", "/api/v/campaign/"+slug+"/stats/"+query, "")
	expect(t, r, 200)
	var s dialerd.CampaignSeries
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatalf("stats: %v: %s", err, r.Body)
	}
	return s
}

// A campaign's figures by minute on a real node dialling on a virtual
// clock (1 s of wall time is 10 min) are the call log counted by minute:
// attempts by started_at, answered by answered_at, abandoned by the
// minute they were answered in; they survive a kill -9; the endpoint
// refuses bad input and hides campaigns as GET status does.
func TestCampaignStats(t *testing.T) {
	t.Parallel()
	// Monday 2026-03-09 16:00 UTC: noon in New York, 09:00 in Los Angeles.
	// The anchor keeps the virtual clock going on across the restart.
	anchor := time.Now().UTC().Format(time.RFC3339Nano)
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--clock", "virtual", "--clock-speed", "600", "--clock-start", "2026-03-09T16:00:00Z", "--clock-anchor", anchor, "--sim-seed", "3"}})
	admin := client{t: t, url: n.URL, token: boot}
	other := client{t: t, url: n.URL, token: mintToken(t, admin, `{"name": "other", "workspaces": ["ws_other"]}`)}

	expect(t, admin.do("PUT", "/api/v/agent/st-team/", `{"workspace": "ws_st", "seats": 3}`), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Stats", "workspace": "ws_st", "agent_id": "st-team", "call_ratio": 3,
		"max_number_calls": 3, "min_time_between_calls": 10, "dialer_interval": 2, "earliest_prospect_time": "08:00",
		"latest_prospect_time": "21:00", "max_wait_time": 5, "wrap_up_time": 5}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "Stats list", "campaign": "stats"}`), 201)
	var csv strings.Builder
	if _, err := prospectgen.Write(&csv, 400, 17); err != nil {
		t.Fatal(err)
	}
	if up := waitUpload(t, admin, uploadCSV(t, admin, "stats-list", []byte(csv.String()), "true")); up.Status != "completed" || up.Accepted == 0 {
		t.Fatalf("upload: %s", up.counts())
	}

	// Bad input, and who may not see it.
	for _, q := range []string{"?minutes=0", "?minutes=1441", "?minutes=x", "?minutes=-3"} {
		r := admin.do("GET", "/api/v/campaign/stats/stats/"+q, "")
		expect(t, r, 400)
		if _, ok := r.JSON(t)["minutes"]; !ok {
			t.Fatalf("%s: %s", q, r.Body)
		}
	}
	expect(t, other.do("GET", "/api/v/campaign/stats/stats/", ""), 404)
	expect(t, admin.do("GET", "/api/v/campaign/nope/stats/", ""), 404)
	expect(t, client{t: t, url: n.URL}.do("GET", "/api/v/campaign/stats/stats/", ""), 401)
	expect(t, client{t: t, url: n.URL, token: "wrong"}.do("GET", "/api/v/campaign/stats/stats/", ""), 401)
	if s := getSeries(t, admin, "stats", ""); len(s.Points) != dialerd.DefaultSeriesMinutes || s.Slug != "stats" {
		t.Fatalf("default series: %d points, slug %q", len(s.Points), s.Slug)
	}

	// Dial for a while, then pause and let every call end.
	deadline := time.Now().Add(40 * time.Second)
	for getStatus(t, admin, "stats").Attempts30d < 150 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 150 attempts after 40 s: %+v", getStatus(t, admin, "stats"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	expect(t, admin.do("PATCH", "/api/v/campaign/stats/", `{"paused": true}`), 200)
	for s := getStatus(t, admin, "stats"); s.Calls.Ringing+s.Calls.Connected+s.Calls.Queued > 0; s = getStatus(t, admin, "stats") {
		if time.Now().After(deadline) {
			t.Fatalf("calls still in progress 40 s on: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // 3 virtual minutes of ticks: every record written

	calls := allCalls(t, admin, "stats")
	type fig struct{ attempts, answered, abandoned int }
	want := map[time.Time]*fig{}
	at := func(ts time.Time) *fig {
		m := ts.UTC().Truncate(time.Minute)
		if want[m] == nil {
			want[m] = &fig{}
		}
		return want[m]
	}
	var total fig
	for _, c := range calls {
		at(c.StartedAt).attempts++
		total.attempts++
		if c.AnsweredAt != nil {
			at(*c.AnsweredAt).answered++
			total.answered++
			if c.Outcome == "abandoned" {
				at(*c.AnsweredAt).abandoned++
				total.abandoned++
			}
		}
	}
	if total.answered == 0 {
		t.Fatalf("no call answered in %d", len(calls))
	}
	check := func(when string, s dialerd.CampaignSeries) {
		t.Helper()
		got := map[time.Time]fig{}
		for i, p := range s.Points {
			if i > 0 && !p.Minute.Equal(s.Points[i-1].Minute.Add(time.Minute)) {
				t.Fatalf("%s: point %d at %v after %v", when, i, p.Minute, s.Points[i-1].Minute)
			}
			if p.Attempts+p.Answered+p.Abandoned > 0 {
				got[p.Minute] = fig{p.Attempts, p.Answered, p.Abandoned}
			}
			if p.Answered > 0 && p.AbandonRate != float64(p.Abandoned)/float64(p.Answered) {
				t.Fatalf("%s: %+v", when, p)
			}
		}
		last := s.Points[len(s.Points)-1].Minute
		if !last.Equal(s.Now.Truncate(time.Minute)) {
			t.Fatalf("%s: last point %v, now %v", when, last, s.Now)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d minutes with figures, the call log has %d", when, len(got), len(want))
		}
		for m, w := range want {
			if got[m] != *w {
				t.Fatalf("%s: minute %v: series %+v, call log %+v", when, m, got[m], *w)
			}
		}
	}
	before := getSeries(t, admin, "stats", "?minutes=1440")
	check("before the restart", before)

	n.Restart()
	after := getSeries(t, admin, "stats", "?minutes=1440")
	if !after.Now.After(before.Now) {
		t.Fatalf("the clock went back across the restart: %v, then %v", before.Now, after.Now)
	}
	check("after a kill -9", after)
	t.Logf("%d calls over %d minutes: %+v", len(calls), len(want), total)
}
