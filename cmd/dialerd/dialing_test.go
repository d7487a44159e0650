package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// callRec is a call log record as the API gives it.
type callRec = dialerd.CallRecord

type statusDoc struct {
	Status string `json:"status"`
	Calls  struct {
		Ringing, Connected, Queued int
	} `json:"calls"`
	Prospects struct {
		Total       int `json:"total"`
		Unresolved  int `json:"unresolved"`
		DialableNow int `json:"dialable_now"`
	} `json:"prospects"`
	Attempts30d int `json:"attempts_30d"`
	Reasons     []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
}

func getStatus(t *testing.T, c client, slug string) statusDoc {
	t.Helper()
	r := c.do("GET", "/api/v/campaign/"+slug+"/status/", "")
	expect(t, r, 200)
	var s statusDoc
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatalf("status: %v: %s", err, r.Body)
	}
	return s
}

// allCalls reads a campaign's whole call log, page by page.
func allCalls(t *testing.T, c client, slug string) []callRec {
	t.Helper()
	var out []callRec
	cursor := ""
	for {
		r := c.do("GET", "/api/v/campaign/"+slug+"/calls/?limit=1000&cursor="+cursor, "")
		expect(t, r, 200)
		var page struct {
			Results []callRec `json:"results"`
			Next    string    `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("calls: %v", err)
		}
		out = append(out, page.Results...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// A real node on a virtual clock (1 s of wall time is 30 min) dials a
// campaign through the sim provider from an uploaded list: the status goes
// Stopped (before the calling window opens) → Running → Completed, a pause
// holds every call back, and the call log read over HTTP keeps every
// promise of DESIGN §4.
func TestDialingOnVirtualClock(t *testing.T) {
	t.Parallel()
	// Monday 2026-03-09 10:00 UTC: 06:00 in New York, hours before the
	// window opens (a node takes a second or two to start: an hour here).
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--clock", "virtual", "--clock-speed", "1800", "--clock-start", "2026-03-09T10:00:00Z", "--sim-seed", "5"}})
	admin := client{t: t, url: n.URL, token: boot}

	const (
		seats, maxActive, maxCalls = 4, 5, 2
		minBetween                 = 30 * time.Minute
		maxWait, wrapUp            = 20 * time.Second, 5 * time.Second
	)
	expect(t, admin.do("PUT", "/api/v/agent/team/", fmt.Sprintf(`{"seats": %d}`, seats)), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "Dial", "agent_id": "team", "call_ratio": 2,
		"max_active_calls": %d, "max_number_calls": %d, "min_time_between_calls": 30, "dialer_interval": 2,
		"earliest_prospect_time": "09:00", "latest_prospect_time": "20:00", "max_wait_time": 20, "wrap_up_time": 5,
		"queue_strategy": "round-robin"}`, maxActive, maxCalls)), 201)
	r := admin.do("POST", "/api/v/list/", `{"name": "Dial list", "campaign": "dial"}`)
	expect(t, r, 201)
	list := r.JSON(t)["uuid"].(string)
	var csv strings.Builder
	if _, err := prospectgen.Write(&csv, 150, 11); err != nil {
		t.Fatal(err)
	}
	up := waitUpload(t, admin, uploadCSV(t, admin, "dial-list", []byte(csv.String()), "true"))
	if up.Status != "completed" || up.Accepted == 0 {
		t.Fatalf("upload: %s", up.counts())
	}

	// Before 09:00 anywhere: Stopped, and the status says why.
	s := getStatus(t, admin, "dial")
	if s.Status != "Stopped" || s.Prospects.Total != up.Accepted || s.Prospects.Unresolved != up.Accepted || !hasReason(s, "outside_calling_window") {
		t.Fatalf("before the window: %+v", s)
	}

	seen := []string{s.Status}
	var pausedFrom, pausedTo time.Time
	deadline := time.Now().Add(90 * time.Second)
	for s.Status != "Completed" {
		if time.Now().After(deadline) {
			t.Fatalf("not Completed after 90 s (%d virtual hours): %+v", 90*1800/3600, s)
		}
		time.Sleep(20 * time.Millisecond)
		s = getStatus(t, admin, "dial")
		if s.Status != seen[len(seen)-1] {
			seen = append(seen, s.Status)
		}
		// Once it runs, pause it for a while: nothing may be placed
		// between the two updates.
		if s.Status == "Running" && pausedFrom.IsZero() && s.Attempts30d > 20 {
			pausedFrom = updatedAt(t, admin.do("PATCH", "/api/v/campaign/dial/", `{"paused": true}`))
			time.Sleep(time.Second) // 30 virtual minutes
			if st := getStatus(t, admin, "dial"); st.Status == "Stopped" && !hasReason(st, "paused") {
				t.Fatalf("paused and Stopped without saying so: %+v", st)
			}
			pausedTo = updatedAt(t, admin.do("PATCH", "/api/v/campaign/dial/", `{"paused": false}`))
		}
	}
	if strings.Join(seen, ",") == "" || seen[0] != "Stopped" || !contains(seen, "Running") || seen[len(seen)-1] != "Completed" {
		t.Fatalf("statuses seen: %v", seen)
	}
	if pausedFrom.IsZero() {
		t.Fatal("the campaign was never paused")
	}

	calls := allCalls(t, admin, "dial")
	if len(calls) < up.Accepted {
		t.Fatalf("%d calls for %d prospects", len(calls), up.Accepted)
	}
	checkCallLog(t, calls, callRules{window: [2]int{9 * 3600, 20 * 3600}, minBetween: minBetween, maxCalls: maxCalls,
		maxActive: maxActive, maxWait: maxWait, wrapUp: wrapUp, paused: [2]time.Time{pausedFrom, pausedTo}})

	// Every prospect is resolved, and its record says how.
	r = admin.do("GET", "/api/v/list/"+list+"/prospects/?status=unresolved", "")
	expect(t, r, 200)
	if res := r.JSON(t)["results"].([]any); len(res) != 0 {
		t.Fatalf("Completed with %d unresolved prospects: %v", len(res), res[0])
	}
	r = admin.do("GET", "/api/v/list/"+list+"/prospects/?limit=1000", "")
	byID := map[string][]callRec{}
	for _, c := range calls {
		byID[c.Prospect] = append(byID[c.Prospect], c)
	}
	for _, p := range r.JSON(t)["results"].([]any) {
		p := p.(map[string]any)
		id, res := p["id"].(string), p["resolution"]
		cs := byID[id]
		last := cs[len(cs)-1]
		switch res {
		case "completed", "do_not_call":
			if last.Outcome != "completed" || last.Disposition != res {
				t.Fatalf("prospect %s resolved %v after %+v", id, res, last)
			}
		case "exhausted":
			if len(cs) != maxCalls || p["attempts"].(float64) != maxCalls {
				t.Fatalf("prospect %s exhausted after %d calls", id, len(cs))
			}
		default:
			t.Fatalf("prospect %s: resolution %v", id, res)
		}
	}
	t.Logf("statuses %v; %d calls; paused %s–%s", seen, len(calls), pausedFrom.Format(time.TimeOnly), pausedTo.Format(time.TimeOnly))
}

func hasReason(s statusDoc, code string) bool {
	for _, r := range s.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func updatedAt(t *testing.T, r response) time.Time {
	t.Helper()
	expect(t, r, 200)
	at, err := time.Parse(time.RFC3339Nano, r.JSON(t)["updated_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

type callRules struct {
	window          [2]int // local seconds of day: [earliest, latest)
	minBetween      time.Duration
	maxCalls        int
	maxActive       int
	maxWait, wrapUp time.Duration
	paused          [2]time.Time
}

// checkCallLog holds a call log to DESIGN §4's promises.
func checkCallLog(t *testing.T, calls []callRec, rules callRules) {
	t.Helper()
	var bad []string
	fail := func(format string, args ...any) {
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	byProspect := map[string][]callRec{}
	bySeat := map[int][]callRec{}
	for _, c := range calls {
		if c.EndedAt == nil || c.Outcome == "" {
			fail("%s never ended", c.ID)
			continue
		}
		key := c.List + "/" + c.Prospect
		byProspect[key] = append(byProspect[key], c)
		for _, z := range c.Timezones {
			loc, err := time.LoadLocation(z)
			if err != nil {
				fail("%s: zone %q: %v", c.ID, z, err)
				continue
			}
			h, m, s := c.StartedAt.In(loc).Clock()
			if sec := h*3600 + m*60 + s; sec < rules.window[0] || sec >= rules.window[1] {
				fail("%s placed at %s local (%s), outside the window", c.ID, c.StartedAt.In(loc).Format(time.TimeOnly), z)
			}
		}
		if c.StartedAt.After(rules.paused[0]) && c.StartedAt.Before(rules.paused[1]) {
			fail("%s placed at %s while paused (%s–%s)", c.ID, c.StartedAt, rules.paused[0], rules.paused[1])
		}
		if c.AnsweredAt != nil {
			switch {
			case c.ConnectedAt != nil:
				if w := c.ConnectedAt.Sub(*c.AnsweredAt); w > rules.maxWait {
					fail("%s waited %v for a seat", c.ID, w)
				}
				bySeat[c.Seat] = append(bySeat[c.Seat], c)
			case c.Outcome != "abandoned":
				fail("%s answered, never connected, ended %q", c.ID, c.Outcome)
			case c.EndedAt.Sub(*c.AnsweredAt) < rules.maxWait:
				fail("%s abandoned after %v, before max_wait_time", c.ID, c.EndedAt.Sub(*c.AnsweredAt))
			}
		}
		// Calls in progress when this one was placed, itself included.
		active := 0
		for _, o := range calls {
			if !o.StartedAt.After(c.StartedAt) && (o.EndedAt == nil || o.EndedAt.After(c.StartedAt)) {
				active++
			}
		}
		if active > rules.maxActive {
			fail("%s placed with %d calls in progress, max_active_calls %d", c.ID, active, rules.maxActive)
		}
	}
	for key, cs := range byProspect {
		if len(cs) > rules.maxCalls {
			fail("%s called %d times", key, len(cs))
		}
		for i, c := range cs {
			if c.Attempt != i+1 {
				fail("%s: call %s is attempt %d, want %d", key, c.ID, c.Attempt, i+1)
			}
			if i > 0 {
				if gap := c.StartedAt.Sub(cs[i-1].StartedAt); gap < rules.minBetween {
					fail("%s called at %s and %s: %v apart", key, cs[i-1].StartedAt, c.StartedAt, gap)
				}
				if c.StartedAt.Before(*cs[i-1].EndedAt) {
					fail("%s called while its call %s was in progress", key, cs[i-1].ID)
				}
			}
		}
	}
	for seat, cs := range bySeat {
		sort.Slice(cs, func(i, j int) bool { return cs[i].ConnectedAt.Before(*cs[j].ConnectedAt) })
		for i := 1; i < len(cs); i++ {
			if gap := cs[i].ConnectedAt.Sub(*cs[i-1].EndedAt); gap < rules.wrapUp {
				fail("seat %d took %s %v after %s ended (wrap_up_time %v)", seat, cs[i].ID, gap, cs[i-1].ID, rules.wrapUp)
			}
		}
	}
	if len(bad) > 0 {
		t.Fatalf("call log breaks the rules:\n  %s", strings.Join(bad, "\n  "))
	}
}

// GET /prospect/{list}/{id}/eligibility/ says whether a prospect can be
// called now and, if not, every reason and the next time it can be: here
// a Texas prospect on a Sunday morning (the law: not before noon) and a
// paused campaign (never, as things stand).
func TestEligibility(t *testing.T) {
	t.Parallel()
	// Sunday 2026-03-15 14:00 UTC: 09:00 in Texas (CDT).
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--clock", "virtual", "--clock-speed", "1", "--clock-start", "2026-03-15T14:00:00Z"}})
	admin := client{t: t, url: n.URL, token: boot}
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Explain", "workspace": "ws_e", "earliest_prospect_time": "08:00"}`), 201)
	r := admin.do("POST", "/api/v/list/", `{"name": "Explain list", "campaign": "explain"}`)
	expect(t, r, 201)
	list := r.JSON(t)["uuid"].(string)
	r = admin.do("POST", "/api/v/prospect/"+list+"/", `{"phone": "+1 512 555 0142", "state": "TX", "timezone": "America/Chicago"}`)
	expect(t, r, 201)
	id := r.JSON(t)["id"].(string)

	type answer struct {
		Eligible bool `json:"eligible"`
		Reasons  []struct {
			Code, Message string
		} `json:"reasons"`
		Next *time.Time `json:"next_eligible_at"`
	}
	get := func() answer {
		t.Helper()
		r := admin.do("GET", "/api/v/prospect/explain-list/"+id+"/eligibility/", "")
		expect(t, r, 200)
		var a answer
		if err := json.Unmarshal(r.Body, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := get()
	if a.Eligible || len(a.Reasons) != 1 || a.Reasons[0].Code != "legal_hours" || a.Reasons[0].Message == "" ||
		a.Next == nil || !a.Next.Equal(time.Date(2026, 3, 15, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("Texas, Sunday 09:00: %+v (next %v), want legal_hours until 12:00 CDT", a, a.Next)
	}
	expect(t, admin.do("PATCH", "/api/v/campaign/explain/", `{"paused": true}`), 200)
	if a = get(); a.Eligible || a.Next != nil || a.Reasons[0].Code != "paused" {
		t.Fatalf("paused: %+v", a)
	}
	expect(t, admin.do("GET", "/api/v/prospect/"+list+"/000000000099/eligibility/", ""), 404)
	expect(t, admin.do("GET", "/api/v/prospect/"+list+"/x/eligibility/", ""), 404)
	other := client{t: t, url: n.URL, token: mintToken(t, admin, `{"name": "other", "workspaces": ["ws_other"]}`)}
	expect(t, other.do("GET", "/api/v/prospect/"+list+"/"+id+"/eligibility/", ""), 404)

	// A campaign that does not tick (inactive) still counts prospects
	// added after its status was first read.
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Idle", "workspace": "ws_e", "active": false}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "Idle list", "campaign": "idle"}`), 201)
	if s := getStatus(t, admin, "idle"); s.Status != "Inactive" || s.Prospects.Total != 0 {
		t.Fatalf("idle before: %+v", s)
	}
	expect(t, admin.do("POST", "/api/v/prospect/idle-list/", `{"phone": "+1 512 555 0143", "state": "TX"}`), 201)
	deadline := time.Now().Add(5 * time.Second)
	for s := getStatus(t, admin, "idle"); s.Prospects.Total != 1 || s.Prospects.Unresolved != 1; s = getStatus(t, admin, "idle") {
		if time.Now().After(deadline) {
			t.Fatalf("an inactive campaign's status does not count a prospect added after it was read: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
