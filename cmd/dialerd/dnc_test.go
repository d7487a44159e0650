package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// dncNumbers are the test's prospects' numbers: fictional 555-01xx lines
// in area codes of six zones.
func dncNumbers(n int) []string {
	areas := []string{"212", "312", "415", "206", "713", "303"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1%s55501%02d", areas[i%len(areas)], i/len(areas))
	}
	return out
}

type dncAddReply struct {
	Added   int                `json:"added"`
	Already int                `json:"already"`
	Entries []dialerd.DNCEntry `json:"entries"`
}

// The workspace's do-not-call list on a real node dialling on a virtual
// clock: numbers listed before an upload are stored resolved as
// do_not_call; numbers listed while the campaign dials (some of them in a
// call that moment) are never dialled after the list took them; seats'
// do_not_call dispositions put their numbers on the list; the API reads,
// pages, deletes, scopes by workspace and refuses bad input without
// changing anything.
func TestDNC(t *testing.T) {
	t.Parallel()
	// Monday 2026-03-09 13:30 UTC: 09:30 in New York.
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--clock", "virtual", "--clock-speed", "1800", "--clock-start", "2026-03-09T13:30:00Z", "--sim-seed", "7"}})
	admin := client{t: t, url: n.URL, token: boot}
	ws := client{t: t, url: n.URL, token: mintToken(t, admin, `{"name": "dnc", "workspaces": ["ws_d"]}`)}
	other := client{t: t, url: n.URL, token: mintToken(t, admin, `{"name": "other", "workspaces": ["ws_other"]}`)}

	expect(t, admin.do("PUT", "/api/v/agent/dnc-team/", `{"workspace": "ws_d", "seats": 3}`), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "DNC", "workspace": "ws_d", "agent_id": "dnc-team", "call_ratio": 2,
		"max_number_calls": 3, "min_time_between_calls": 30, "dialer_interval": 2, "earliest_prospect_time": "09:00",
		"latest_prospect_time": "20:00", "max_wait_time": 20, "wrap_up_time": 2}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "DNC list", "campaign": "dnc"}`), 201)
	numbers := dncNumbers(60)

	// Before the upload: 0–4 through the API (written as people write
	// them), 5–9 in a file, with a bad row.
	var pretty []string
	for _, num := range numbers[:5] {
		pretty = append(pretty, fmt.Sprintf(`"(%s) %s-%s"`, num[2:5], num[5:8], num[8:]))
	}
	r := ws.do("POST", "/api/v/dnc/", `{"phone_numbers": [`+strings.Join(pretty, ",")+`], "reason": "asked us to stop"}`)
	expect(t, r, 201)
	var added dncAddReply
	json.Unmarshal(r.Body, &added)
	if added.Added != 5 || added.Entries[0].Number != numbers[0] || added.Entries[0].Source != "api" || added.Entries[0].Reason != "asked us to stop" ||
		added.Entries[0].Workspace == nil || *added.Entries[0].Workspace != "ws_d" {
		t.Fatalf("add: %s", r.Body)
	}
	file := "name,phone\n"
	for i, num := range numbers[5:10] {
		file += fmt.Sprintf("p%d,%s\n", i, num)
	}
	file += "bad,12345\n" + "again," + numbers[0] + "\n"
	r = ws.raw("POST", "/api/v/dnc/upload/?reason=complaints", "text/csv", []byte(file), nil)
	expect(t, r, 200)
	var up struct {
		Rows, Numbers, Invalid, Added, Already int
		Errors                                 []rowError
	}
	json.Unmarshal(r.Body, &up)
	if up.Rows != 7 || up.Numbers != 6 || up.Invalid != 1 || up.Added != 5 || up.Already != 1 || len(up.Errors) != 1 || up.Errors[0].Row != 7 {
		t.Fatalf("file: %s", r.Body)
	}

	// Bad input: a 4xx, and the list unchanged.
	count := func(c client, query string) int {
		t.Helper()
		r := c.do("GET", "/api/v/dnc/"+query, "")
		expect(t, r, 200)
		return int(r.JSON(t)["count"].(float64))
	}
	for _, bad := range []struct {
		c      client
		method string
		path   string
		ct     string
		body   string
		status int
	}{
		{ws, "POST", "/api/v/dnc/", "application/json", `{"phone_numbers": ["2125550199", "12345"]}`, 400}, // one bad: none added
		{ws, "POST", "/api/v/dnc/", "application/json", `{"phone_number": "2125550199", "extra": 1}`, 400},
		{ws, "POST", "/api/v/dnc/", "application/json", `{"phone_number": "2125550199"`, 400},
		{ws, "POST", "/api/v/dnc/", "text/plain", `2125550199`, 415},
		{ws, "POST", "/api/v/dnc/", "application/json", `{"phone_number": "2125550199", "workspace": "ws_other"}`, 403},
		{ws, "POST", "/api/v/dnc/upload/", "text/csv", "name,email\na,b\n", 400},
		{ws, "POST", "/api/v/dnc/upload/", "application/json", `{}`, 415},
		{ws, "GET", "/api/v/dnc/?limit=0", "", "", 400},
		{ws, "GET", "/api/v/dnc/?cursor=abc", "", "", 400},
		{ws, "GET", "/api/v/dnc/not-a-number/", "", "", 404},
		{other, "GET", "/api/v/dnc/?workspace=ws_d", "", "", 403},
		{client{t: t, url: n.URL}, "GET", "/api/v/dnc/", "", "", 401},
	} {
		r := bad.c.raw(bad.method, bad.path, bad.ct, []byte(bad.body), nil)
		if r.Status != bad.status {
			t.Fatalf("%s %s %q: %d, want %d: %s", bad.method, bad.path, bad.body, r.Status, bad.status, r.Body)
		}
	}
	if c := count(ws, ""); c != 10 {
		t.Fatalf("%d numbers on the list after bad input, want 10", c)
	}
	if c := count(other, ""); c != 0 {
		t.Fatalf("another workspace's list has %d numbers", c)
	}
	expect(t, other.do("GET", "/api/v/dnc/"+numbers[0]+"/", ""), 404)
	expect(t, admin.do("GET", "/api/v/dnc/"+numbers[0]+"/", ""), 404) // the list of campaigns without a workspace
	r = admin.do("GET", "/api/v/dnc/"+numbers[0]+"/?workspace=ws_d", "")
	expect(t, r, 200)

	// The upload: the ten listed numbers are stored resolved.
	var csv strings.Builder
	csv.WriteString("phone,first_name\n")
	for i, num := range numbers {
		fmt.Fprintf(&csv, "%s,P%d\n", num, i)
	}
	u := waitUpload(t, admin, uploadCSV(t, admin, "dnc-list", []byte(csv.String()), "true"))
	if u.Status != "completed" || u.Accepted != 60 || u.DoNotCall != 10 {
		t.Fatalf("upload: %s, do_not_call %d", u.counts(), u.DoNotCall)
	}
	// A single add of a listed number is stored resolved too.
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "DNC single", "campaign": "dnc"}`), 201)
	expect(t, ws.do("POST", "/api/v/dnc/", `{"phone_number": "+1 212 555 0188"}`), 201)
	r = admin.do("POST", "/api/v/prospect/dnc-single/", `{"phone": "+1 212 555 0188"}`)
	expect(t, r, 201)
	if p := r.JSON(t); p["status"] != "resolved" || p["resolution"] != "do_not_call" {
		t.Fatalf("single add of a listed number: %s", r.Body)
	}

	// While it dials, 10–19 go on the list, a few calls in.
	listedAt := map[string]time.Time{}
	for i := 0; i < 10; i++ {
		listedAt[numbers[i]] = time.Time{} // before any call
	}
	deadline := time.Now().Add(90 * time.Second)
	s := getStatus(t, admin, "dnc")
	for s.Attempts30d < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("no calls: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
		s = getStatus(t, admin, "dnc")
	}
	var mid []string
	for _, num := range numbers[10:20] {
		mid = append(mid, `"`+num+`"`)
	}
	r = ws.do("POST", "/api/v/dnc/", `{"phone_numbers": [`+strings.Join(mid, ",")+`]}`)
	expect(t, r, 201)
	json.Unmarshal(r.Body, &added)
	for _, e := range added.Entries {
		listedAt[e.Number] = e.AddedAt
	}
	for s.Status != "Completed" {
		if time.Now().After(deadline) {
			t.Fatalf("not Completed after 90 s: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
		s = getStatus(t, admin, "dnc")
	}

	// No call to a number after it was listed; the listed prospects are
	// resolved as do_not_call unless done with before.
	calls := allCalls(t, admin, "dnc")
	inCall := 0
	last := map[string]callRec{}
	for _, c := range calls {
		if at, ok := listedAt[c.Phone]; ok && !c.StartedAt.Before(at) {
			t.Fatalf("call %s to %s at %s: listed at %s", c.ID, c.Phone, c.StartedAt, at)
		}
		if at, ok := listedAt[c.Phone]; ok && c.StartedAt.Before(at) && c.EndedAt.After(at) {
			inCall++
		}
		last[c.Phone] = c
	}
	r = admin.do("GET", "/api/v/list/dnc-list/prospects/?limit=1000", "")
	expect(t, r, 200)
	for _, p := range r.JSON(t)["results"].([]any) {
		p := p.(map[string]any)
		phone, res := p["primary_phone"].(string), p["resolution"]
		at, listed := listedAt[phone]
		switch {
		case listed && at.IsZero():
			if res != "do_not_call" || p["attempts"].(float64) != 0 {
				t.Fatalf("%s listed before the upload: %v", phone, p)
			}
		case listed:
			if c, called := last[phone]; res != "do_not_call" && (!called || !(res == "completed" || res == "exhausted") || c.EndedAt.After(at)) {
				t.Fatalf("%s listed at %s: resolution %v, last call %+v", phone, at, res, c)
			}
		}
	}
	// Seats' do_not_call verdicts are on the list, with their call.
	disp := 0
	for _, c := range calls {
		if c.Disposition != "do_not_call" {
			continue
		}
		disp++
		r := ws.do("GET", "/api/v/dnc/"+c.Phone+"/", "")
		expect(t, r, 200)
		var e dialerd.DNCEntry
		json.Unmarshal(r.Body, &e)
		if _, listed := listedAt[c.Phone]; !listed && (e.Source != "disposition" || e.Call != c.ID || e.Campaign != "dnc") {
			t.Fatalf("disposition of %s: entry %s", c.ID, r.Body)
		}
	}

	// Paging walks the whole list once, in number order.
	total := count(ws, "")
	seen, cursor, prev := 0, "", ""
	for {
		r := ws.do("GET", "/api/v/dnc/?limit=7&cursor="+cursor, "")
		expect(t, r, 200)
		var page struct {
			Results []dialerd.DNCEntry `json:"results"`
			Next    string             `json:"next_cursor"`
		}
		json.Unmarshal(r.Body, &page)
		for _, e := range page.Results {
			if e.Number <= prev {
				t.Fatalf("page order: %s after %s", e.Number, prev)
			}
			prev = e.Number
			seen++
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if seen != total || total < 21 { // 10 before the upload, 10 while dialling, 1 before a single add

		t.Fatalf("paged %d of %d", seen, total)
	}

	// Eligibility names the list (of a prospect added while the campaign
	// is paused, so that it is not dialled first); delete takes a number
	// off the list.
	expect(t, admin.do("PATCH", "/api/v/campaign/dnc/", `{"paused": true}`), 200)
	r = admin.do("POST", "/api/v/prospect/dnc-single/", `{"phone": "+1 212 555 0177"}`)
	expect(t, r, 201)
	id := r.JSON(t)["id"].(string)
	expect(t, ws.do("POST", "/api/v/dnc/", `{"phone_number": "+1 212 555 0177"}`), 201)
	r = admin.do("GET", "/api/v/prospect/dnc-single/"+id+"/eligibility/", "")
	expect(t, r, 200)
	if !strings.Contains(string(r.Body), `"do_not_call"`) || r.JSON(t)["eligible"] != false || r.JSON(t)["next_eligible_at"] != nil {
		t.Fatalf("eligibility of a listed number: %s", r.Body)
	}
	expect(t, ws.do("DELETE", "/api/v/dnc/%2B12125550177/", ""), 204)
	expect(t, ws.do("GET", "/api/v/dnc/2125550177/", ""), 404)
	expect(t, ws.do("DELETE", "/api/v/dnc/2125550177/", ""), 404)
	if c := count(ws, ""); c != total {
		t.Fatalf("after delete: %d, want %d", c, total)
	}
	t.Logf("%d calls; %d listed numbers were in a call when listed; %d do_not_call dispositions; %d numbers on the list", len(calls), inCall, disp, total)
}

// A seat's do_not_call verdict through POST /call/{id}/disposition/ puts
// the number on the workspace's list before the answer, and no campaign of
// the workspace dials it again: here another campaign whose list holds the
// same number, resumed afterwards, resolves it without a call.
func TestDispositionDNC(t *testing.T) {
	t.Parallel()
	// Monday 2026-03-09 15:00 UTC: 11:00 in New York; 1 s is 30 s.
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Args: []string{
		"--clock", "virtual", "--clock-speed", "30", "--clock-start", "2026-03-09T15:00:00Z", "--sim-seed", "3"}})
	admin := client{t: t, url: n.URL, token: boot}
	expect(t, admin.do("PUT", "/api/v/agent/seats-x/", `{"workspace": "ws_x", "seats": 2}`), 200)
	expect(t, admin.do("PUT", "/api/v/agent/seats-y/", `{"workspace": "ws_x", "seats": 2}`), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "First", "workspace": "ws_x", "agent_id": "seats-x", "max_number_calls": 20,
		"min_time_between_calls": 1, "dialer_interval": 2, "max_wait_time": 600, "earliest_prospect_time": "09:00", "latest_prospect_time": "20:00"}`), 201)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Second", "workspace": "ws_x", "agent_id": "seats-y", "paused": true, "max_number_calls": 1,
		"earliest_prospect_time": "09:00", "latest_prospect_time": "20:00"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "First list", "campaign": "first"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "Second list", "campaign": "second"}`), 201)
	numbers := []string{"+12125550140", "+12125550141", "+12125550142", "+12125550143"}
	for _, num := range numbers {
		expect(t, admin.do("POST", "/api/v/prospect/first-list/", `{"phone": "`+num+`"}`), 201)
		expect(t, admin.do("POST", "/api/v/prospect/second-list/", `{"phone": "`+num+`"}`), 201)
	}

	// A call connected to a seat: the seat says do not call.
	var marked callRec
	deadline := time.Now().Add(60 * time.Second)
	for marked.ID == "" {
		if time.Now().After(deadline) {
			t.Fatal("no call connected to a seat in 60 s")
		}
		time.Sleep(20 * time.Millisecond)
		for _, c := range allCalls(t, admin, "first") {
			if c.ConnectedAt == nil || c.EndedAt != nil {
				continue
			}
			r := admin.do("POST", "/api/v/call/"+c.ID+"/disposition/", `{"disposition": "do_not_call"}`)
			if r.Status == 409 { // it ended meanwhile
				continue
			}
			expect(t, r, 200)
			marked = c
			break
		}
	}
	r := admin.do("GET", "/api/v/dnc/"+marked.Phone+"/?workspace=ws_x", "")
	expect(t, r, 200)
	var e dialerd.DNCEntry
	json.Unmarshal(r.Body, &e)
	if e.Source != "disposition" || e.Call != marked.ID || e.Campaign != "first" || e.Workspace == nil || *e.Workspace != "ws_x" {
		t.Fatalf("entry for %s: %s", marked.ID, r.Body)
	}
	// Not in the list of campaigns without a workspace.
	expect(t, admin.do("GET", "/api/v/dnc/"+marked.Phone+"/", ""), 404)

	// The other campaign dials its list: never that number.
	expect(t, admin.do("PATCH", "/api/v/campaign/second/", `{"paused": false}`), 200)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("second campaign not Completed: %+v", getStatus(t, admin, "second"))
		}
		if getStatus(t, admin, "second").Status == "Completed" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range allCalls(t, admin, "second") {
		if c.Phone == marked.Phone {
			t.Fatalf("second campaign called %s (%s), marked do_not_call by %s", c.Phone, c.ID, marked.ID)
		}
	}
	r = admin.do("GET", "/api/v/list/second-list/prospects/?limit=100", "")
	expect(t, r, 200)
	for _, p := range r.JSON(t)["results"].([]any) {
		p := p.(map[string]any)
		if p["primary_phone"] == marked.Phone && (p["resolution"] != "do_not_call" || p["attempts"].(float64) != 0) {
			t.Fatalf("the marked number in the second list: %v", p)
		}
	}
}
