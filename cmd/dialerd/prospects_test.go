package main

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func form(values map[string]string) []byte {
	v := url.Values{}
	for k, x := range values {
		v.Set(k, x)
	}
	return []byte(v.Encode())
}

func TestSingleProspectAdd(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Reminders", "workspace": "ws_p"}`), 201)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Nodupe", "workspace": "ws_p", "dupe_days": -1}`), 201)
	uuid := admin.do("POST", "/api/v/list/", `{"name": "A", "campaign": "reminders"}`).JSON(t)["uuid"].(string)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "B", "campaign": "reminders"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "C", "campaign": "nodupe"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "D", "campaign": "nodupe"}`), 201)
	formCT := "application/x-www-form-urlencoded"

	// The reference's example: form fields.
	r := admin.raw("POST", "/api/v/prospect/"+uuid+"/", formCT, form(map[string]string{
		"primary_phone": "+14155551234", "first_name": "John", "last_name": "Smith",
	}), nil)
	expect(t, r, 201)
	p := r.JSON(t)
	if p["primary_phone"] != "+14155551234" || p["first_name"] != "John" || p["last_name"] != "Smith" ||
		p["state"] != "CA" || p["status"] != "unresolved" || p["list"] != uuid {
		t.Fatalf("added prospect: %s", r.Body)
	}
	if tz, _ := p["timezones"].([]any); len(tz) != 1 || tz[0] != "America/Los_Angeles" {
		t.Fatalf("time zones of a 415 number: %v", p["timezones"])
	}
	// JSON, another format of the number, an alias, a custom field, and an
	// explicit state that wins over the number's.
	r = admin.do("POST", "/api/v/prospect/a/", `{"phone": "(212) 555-0199", "state": "nj", "fields": {"policy": "X-1"}}`)
	expect(t, r, 201)
	p = r.JSON(t)
	if p["primary_phone"] != "+12125550199" || p["state"] != "NJ" || !reflect.DeepEqual(p["fields"], map[string]any{"policy": "X-1"}) {
		t.Fatalf("JSON add: %s", r.Body)
	}
	// Bad phone: 400 naming the field; nothing added.
	for body, field := range map[string]string{
		`{"primary_phone": "not a phone"}`:                              "primary_phone",
		`{"primary_phone": "+44 20 7946 0958"}`:                         "primary_phone",
		`{"first_name": "No Phone"}`:                                    "primary_phone",
		`{"primary_phone": "+14155550100", "state": "ZZ"}`:              "state",
		`{"primary_phone": "+14155550100", "timezone": "Mars/Olympus"}`: "timezone",
		`{"primary_phone": "+14155550100", "dedupe": "maybe"}`:          "dedupe",
		`{"primary_phone": "+14155550100", "bogus": 1}`:                 "bogus",
	} {
		r := admin.do("POST", "/api/v/prospect/"+uuid+"/", body)
		expect(t, r, 400)
		if _, ok := r.JSON(t)[field]; !ok {
			t.Errorf("%s: 400 does not name %s: %s", body, field, r.Body)
		}
	}
	expect(t, admin.raw("POST", "/api/v/prospect/"+uuid+"/", "text/csv", []byte("x"), nil), 415)
	expect(t, admin.do("POST", "/api/v/prospect/no-such-list/", `{"primary_phone": "+14155550100"}`), 404)

	// Dedupe: the same number again in the list, or in another list of the
	// campaign, is a 409; with dedupe off it is added.
	expect(t, admin.raw("POST", "/api/v/prospect/"+uuid+"/", formCT, form(map[string]string{"primary_phone": "415-555-1234"}), nil), 409)
	expect(t, admin.do("POST", "/api/v/prospect/b/", `{"primary_phone": "+1 415 555 1234"}`), 409)
	expect(t, admin.do("POST", "/api/v/prospect/b/", `{"primary_phone": "+1 415 555 1234", "dedupe": false}`), 201)
	// dupe_days -1: no cross-list duplicate in that campaign.
	expect(t, admin.do("POST", "/api/v/prospect/c/", `{"primary_phone": "+14155559999"}`), 201)
	expect(t, admin.do("POST", "/api/v/prospect/d/", `{"primary_phone": "+14155559999"}`), 201)

	// Listing with cursor pagination: everything once, in order.
	var ids []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		r := admin.do("GET", fmt.Sprintf("/api/v/list/%s/prospects/?limit=1&cursor=%s", uuid, cursor), "")
		expect(t, r, 200)
		page := r.JSON(t)
		for _, x := range page["results"].([]any) {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(ids) != 2 || ids[0] >= ids[1] {
		t.Fatalf("prospects of list A: %v", ids)
	}
	if got := admin.do("GET", "/api/v/list/a/prospects/?status=resolved", "").JSON(t)["results"].([]any); len(got) != 0 {
		t.Fatalf("resolved prospects: %v", got)
	}
	expect(t, admin.do("GET", "/api/v/list/a/prospects/?limit=0", ""), 400)
	// Another workspace sees nothing.
	other := client{t: t, url: admin.url, token: mintToken(t, admin, `{"workspaces": ["ws_x"]}`)}
	expect(t, other.do("GET", "/api/v/list/a/prospects/", ""), 404)
	expect(t, other.do("POST", "/api/v/prospect/a/", `{"primary_phone": "+14155550123"}`), 404)
}

// A deleted list's numbers are no longer in the campaign: adding them to
// another list is not a duplicate. The numbers of a list still there are.
func TestDeletedListReleasesNumbers(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Release", "workspace": "ws_r"}`), 201)
	for _, name := range []string{"old", "kept", "new"} {
		expect(t, admin.do("POST", "/api/v/list/", `{"name": "`+name+`", "campaign": "release"}`), 201)
	}
	expect(t, admin.do("POST", "/api/v/prospect/old/", `{"primary_phone": "+14155550101"}`), 201)
	expect(t, admin.do("POST", "/api/v/prospect/kept/", `{"primary_phone": "+14155550102"}`), 201)
	expect(t, admin.do("POST", "/api/v/prospect/new/", `{"primary_phone": "+14155550101"}`), 409)
	expect(t, admin.do("DELETE", "/api/v/list/old/", ""), 204)
	expect(t, admin.do("POST", "/api/v/prospect/new/", `{"primary_phone": "+14155550101"}`), 201)
	expect(t, admin.do("POST", "/api/v/prospect/new/", `{"primary_phone": "+14155550102"}`), 409)
}

// Concurrent single adds to one list are written in batches (group
// commit): each request still gets its own answer. 40 numbers are sent
// three times each, 120 requests at once over two lists of a campaign,
// some with dedupe off: every number is added exactly once with dedupe on,
// the rest are 409s naming it, the dedupe-off sends are all added, and the
// lists hold exactly what the 201s said.
func TestConcurrentSingleAdds(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Burst", "workspace": "ws_b"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "One", "campaign": "burst"}`), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "Two", "campaign": "burst"}`), 201)
	type send struct {
		list, phone string
		dedupe      bool
	}
	var sends []send
	for i := 0; i < 40; i++ {
		phone := fmt.Sprintf("+1415555%04d", 2000+i)
		sends = append(sends, send{"one", phone, true}, send{"one", phone, true}, send{"two", phone, true})
	}
	for i := 0; i < 10; i++ {
		sends = append(sends, send{"two", fmt.Sprintf("+1415555%04d", 3000+i%5), false})
	}
	codes := make([]int, len(sends))
	ids := make([]string, len(sends))
	var wg sync.WaitGroup
	for i, s := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"primary_phone": %q, "dedupe": %t}`, s.phone, s.dedupe)
			r := admin.do("POST", "/api/v/prospect/"+s.list+"/", body)
			codes[i] = r.Status
			switch r.Status {
			case 201:
				p := r.JSON(t)
				if p["primary_phone"] != s.phone {
					t.Errorf("send %d (%s) answered with %s", i, s.phone, r.Body)
				}
				ids[i] = p["id"].(string)
			case 409:
				if !strings.Contains(string(r.Body), s.phone) {
					t.Errorf("409 for %s does not name it: %s", s.phone, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	added := map[string]int{}
	want := map[string][]string{}
	for i, s := range sends {
		switch {
		case codes[i] == 201:
			added[s.phone]++
			want[s.list] = append(want[s.list], ids[i])
		case codes[i] != 409 || !s.dedupe:
			t.Fatalf("send %d (%s to %s, dedupe %t): %d", i, s.phone, s.list, s.dedupe, codes[i])
		}
	}
	for i := 0; i < 40; i++ {
		if n := added[fmt.Sprintf("+1415555%04d", 2000+i)]; n != 1 {
			t.Errorf("+1415555%04d added %d times, want once", 2000+i, n)
		}
	}
	for i := 0; i < 5; i++ {
		if n := added[fmt.Sprintf("+1415555%04d", 3000+i)]; n != 2 {
			t.Errorf("dedupe off: +1415555%04d added %d times, want 2", 3000+i, n)
		}
	}
	for _, list := range []string{"one", "two"} {
		r := admin.do("GET", "/api/v/list/"+list+"/prospects/?limit=500", "")
		expect(t, r, 200)
		var got []string
		for _, x := range r.JSON(t)["results"].([]any) {
			got = append(got, x.(map[string]any)["id"].(string))
		}
		sort.Strings(got)
		sort.Strings(want[list])
		if !reflect.DeepEqual(got, want[list]) {
			t.Errorf("list %s holds %v, the 201s said %v", list, got, want[list])
		}
	}
}
