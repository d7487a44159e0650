package main

import (
	"encoding/json"
	"testing"
)

func TestProspectLists(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Spring", "workspace": "ws_l"}`), 201)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Other", "workspace": "ws_o"}`), 201)

	r := admin.do("POST", "/api/v/list/", `{"name": "February List", "campaign": "spring"}`)
	expect(t, r, 201)
	l := r.JSON(t)
	uuid, _ := l["uuid"].(string)
	if len(uuid) != 36 || l["slug"] != "february-list" || l["campaign"] != "spring" || l["workspace"] != "ws_l" || l["name"] != "February List" {
		t.Fatalf("create list: %s", r.Body)
	}
	r = admin.do("POST", "/api/v/list/", `{"name": "February List", "campaign": "spring"}`)
	expect(t, r, 201)
	if r.JSON(t)["slug"] != "february-list-2" {
		t.Fatalf("second list with the same name: %s", r.Body)
	}
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "Elsewhere", "campaign": "other"}`), 201)

	// Get by uuid and by slug: the same document.
	byUUID := admin.do("GET", "/api/v/list/"+uuid+"/", "")
	expect(t, byUUID, 200)
	bySlug := admin.do("GET", "/api/v/list/february-list", "")
	expect(t, bySlug, 200)
	if string(byUUID.Body) != string(bySlug.Body) {
		t.Fatalf("by uuid %s, by slug %s", byUUID.Body, bySlug.Body)
	}
	if got := admin.do("GET", "/api/v/list/?campaign=spring", "").List(t); len(got) != 2 {
		t.Fatalf("lists of campaign spring: %v", got)
	}
	if got := admin.do("GET", "/api/v/list/?workspace=ws_o", "").List(t); len(got) != 1 || got[0]["name"] != "Elsewhere" {
		t.Fatalf("lists of ws_o: %v", got)
	}

	// Bad input names the field; nothing is created.
	for body, field := range map[string]string{
		`{"campaign": "spring"}`:                         "name",
		`{"name": "x"}`:                                  "campaign",
		`{"name": "x", "campaign": "nope"}`:              "campaign",
		`{"name": "x", "campaign": "spring", "size": 3}`: "size",
		`{"name": 5, "campaign": "spring"}`:              "name",
	} {
		r := admin.do("POST", "/api/v/list/", body)
		expect(t, r, 400)
		if _, ok := r.JSON(t)[field]; !ok {
			t.Errorf("%s: 400 does not name %s: %s", body, field, r.Body)
		}
	}
	expect(t, admin.raw("POST", "/api/v/list/", "text/plain", []byte(`{}`), nil), 415)
	if got := admin.do("GET", "/api/v/list/", "").List(t); len(got) != 3 {
		t.Fatalf("after rejected creates: %d lists", len(got))
	}

	// Another workspace's token sees nothing and cannot attach to the
	// campaign.
	other := client{t: t, url: admin.url, token: mintToken(t, admin, `{"workspaces": ["ws_o"]}`)}
	expect(t, other.do("GET", "/api/v/list/"+uuid+"/", ""), 404)
	expect(t, other.do("GET", "/api/v/list/february-list/", ""), 404)
	expect(t, other.do("DELETE", "/api/v/list/february-list/", ""), 404)
	if r := other.do("POST", "/api/v/list/", `{"name": "Sneaky", "campaign": "spring"}`); r.Status != 400 {
		t.Fatalf("creating a list on another workspace's campaign: %d %s", r.Status, r.Body)
	}
	if got := other.do("GET", "/api/v/list/", "").List(t); len(got) != 1 {
		t.Fatalf("ws_o token lists %d lists", len(got))
	}

	// Delete: 204, then gone by uuid and by slug; the slug is free again.
	expect(t, admin.do("DELETE", "/api/v/list/february-list/", ""), 204)
	expect(t, admin.do("GET", "/api/v/list/"+uuid+"/", ""), 404)
	expect(t, admin.do("GET", "/api/v/list/february-list/", ""), 404)
	r = admin.do("POST", "/api/v/list/", `{"name": "February List", "campaign": "spring"}`)
	expect(t, r, 201)
	if r.JSON(t)["slug"] != "february-list" {
		t.Fatalf("freed slug not reused: %s", r.Body)
	}
	expect(t, admin.do("GET", "/api/v/list/not-a-list/", ""), 404)
	expect(t, admin.do("GET", "/api/v/list/00000000-0000-0000-0000-000000000000/", ""), 404)
}

// A page reads at most 10,000 prospects: a status filter that matches
// nothing in a large list answers quickly with an empty page and a cursor
// to go on from, and following the cursors visits every prospect once.
func TestProspectPagesAreBounded(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	list := newList(t, admin, `{"name": "Paging", "workspace": "ws_pg"}`, "paging", "Big")
	file, stats := genCSV(t, 14_000, testSeed(t))
	if u := waitUpload(t, admin, uploadCSV(t, admin, list, file, "true")); u.Status != "completed" {
		t.Fatalf("upload: %s", u.counts())
	}
	page := func(query string) (int, string) {
		r := admin.do("GET", "/api/v/list/"+list+"/prospects/?"+query, "")
		expect(t, r, 200)
		var p struct {
			Results []json.RawMessage `json:"results"`
			Next    string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		return len(p.Results), p.Next
	}
	n, next := page("status=resolved&limit=10")
	if n != 0 || next == "" {
		t.Fatalf("first page of a filter matching nothing: %d results, cursor %q", n, next)
	}
	pages := 1
	for next != "" {
		n, next = page("status=resolved&limit=10&cursor=" + next)
		if n != 0 {
			t.Fatalf("%d resolved prospects in a fresh list", n)
		}
		pages++
	}
	if pages != 2 {
		t.Fatalf("%d pages to walk %d prospects, want 2", pages, stats.Accepted)
	}
	total, cursor := 0, ""
	for {
		n, next := page("status=unresolved&limit=1000&cursor=" + cursor)
		total += n
		if next == "" {
			break
		}
		cursor = next
	}
	if total != stats.Accepted {
		t.Fatalf("paged %d unresolved prospects, want %d", total, stats.Accepted)
	}
}
