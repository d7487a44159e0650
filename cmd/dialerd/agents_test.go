package main

import (
	"encoding/json"
	"testing"
)

// Agents: a seat pool per agent_id, created and resized with PUT, each
// seat's state set with PATCH; scoped like campaigns.
func TestAgents(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	type agent struct {
		ID        string  `json:"agent_id"`
		Workspace *string `json:"workspace"`
		Seats     []struct {
			Seat  int    `json:"seat"`
			State string `json:"state"`
		} `json:"seats"`
	}
	decode := func(r response) agent {
		t.Helper()
		var a agent
		if err := json.Unmarshal(r.Body, &a); err != nil {
			t.Fatalf("%s: %v", r.Body, err)
		}
		return a
	}
	states := func(a agent) []string {
		var out []string
		for i, s := range a.Seats {
			if s.Seat != i+1 {
				t.Fatalf("seat %d numbered %d", i+1, s.Seat)
			}
			out = append(out, s.State)
		}
		return out
	}

	expect(t, admin.do("GET", "/api/v/agent/sales/", ""), 404)
	r := admin.do("PUT", "/api/v/agent/sales/", `{"workspace": "ws_a", "seats": 3}`)
	expect(t, r, 200)
	a := decode(r)
	if a.ID != "sales" || a.Workspace == nil || *a.Workspace != "ws_a" || len(a.Seats) != 3 {
		t.Fatalf("created: %s", r.Body)
	}
	expect(t, admin.do("PATCH", "/api/v/agent/sales/seat/2/", `{"state": "paused"}`), 200)
	expect(t, admin.do("PATCH", "/api/v/agent/sales/seat/3/", `{"state": "offline"}`), 200)
	// Grown: seats kept keep their state; shrunk: the last go.
	a = decode(admin.do("PUT", "/api/v/agent/sales/", `{"workspace": "ws_a", "seats": 4}`))
	if got := states(a); len(got) != 4 || got[0] != "available" || got[1] != "paused" || got[2] != "offline" || got[3] != "available" {
		t.Fatalf("grown to 4: %v", got)
	}
	a = decode(admin.do("PUT", "/api/v/agent/sales/", `{"workspace": "ws_a", "seats": 2}`))
	if got := states(a); len(got) != 2 || got[1] != "paused" {
		t.Fatalf("shrunk to 2: %v", got)
	}
	// Bad input changes nothing.
	for _, c := range []struct{ method, path, body, field string }{
		{"PUT", "/api/v/agent/sales/", `{"seats": -1}`, "seats"},
		{"PUT", "/api/v/agent/sales/", `{"workspace": "ws_a"}`, "seats"},
		{"PUT", "/api/v/agent/sales/", `{"seats": 2, "name": "x"}`, "name"},
		{"PUT", "/api/v/agent/bad%20id/", `{"seats": 2}`, "agent_id"},
		{"PATCH", "/api/v/agent/sales/seat/1/", `{"state": "busy"}`, "state"},
		{"PATCH", "/api/v/agent/sales/seat/1/", `{}`, "state"},
	} {
		r := admin.do(c.method, c.path, c.body)
		expect(t, r, 400)
		if _, ok := r.JSON(t)[c.field]; !ok {
			t.Errorf("%s %s %s: 400 does not name %s: %s", c.method, c.path, c.body, c.field, r.Body)
		}
	}
	expect(t, admin.do("PATCH", "/api/v/agent/sales/seat/3/", `{"state": "paused"}`), 404)
	expect(t, admin.do("PATCH", "/api/v/agent/sales/seat/0/", `{"state": "paused"}`), 404)
	expect(t, admin.do("PATCH", "/api/v/agent/nobody/seat/1/", `{"state": "paused"}`), 404)
	if got := states(decode(admin.do("GET", "/api/v/agent/sales/", ""))); len(got) != 2 || got[0] != "available" || got[1] != "paused" {
		t.Fatalf("after rejected changes: %v", got)
	}

	// Scope: another workspace's token sees nothing and cannot take it
	// over; its own workspace works.
	other := client{t: t, url: admin.url, token: mintToken(t, admin, `{"name": "b", "workspaces": ["ws_b"]}`)}
	expect(t, other.do("GET", "/api/v/agent/sales/", ""), 404)
	expect(t, other.do("PUT", "/api/v/agent/sales/", `{"workspace": "ws_b", "seats": 9}`), 404)
	expect(t, other.do("PATCH", "/api/v/agent/sales/seat/1/", `{"state": "offline"}`), 404)
	expect(t, other.do("PUT", "/api/v/agent/b-team/", `{"workspace": "ws_a", "seats": 1}`), 403)
	expect(t, other.do("PUT", "/api/v/agent/b-team/", `{"workspace": "ws_b", "seats": 1}`), 200)

	// Durable across a restart.
	n.Kill()
	n.Restart()
	if got := states(decode(admin.do("GET", "/api/v/agent/sales/", ""))); len(got) != 2 || got[1] != "paused" {
		t.Fatalf("after kill -9: %v", got)
	}
}
