package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerd/dialerd/internal/nodetest"
)

const boot = "test-bootstrap-secret"

// client talks to one node as one token.
type client struct {
	t     *testing.T
	url   string
	token string
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("status %d, body not a JSON object: %v: %s", r.Status, err, r.Body)
	}
	return m
}

func (r response) List(t *testing.T) []map[string]any {
	t.Helper()
	var m []map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("status %d, body not a JSON array: %v: %s", r.Status, err, r.Body)
	}
	return m
}

func (c client) raw(method, path, contentType string, body []byte, hdr map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Cookie", "access_token="+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: b, Header: res.Header}
}

func (c client) do(method, path, body string) response {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return c.raw(method, path, ct, []byte(body), nil)
}

func expect(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// referenceCreate is the create example of the API reference (its e-mail
// address was hidden by the captured page; any valid one stands in).
const referenceCreate = `{
    "name": "February Reminders",
    "agent_id": "agent_abc123",
    "workspace": "ws_001",
    "email": "owner@example.com",
    "locale_name": "USCA",
    "earliest_prospect_time": "09:00:00",
    "latest_prospect_time": "21:00:00",
    "call_ratio": 1.0,
    "max_number_calls": 10,
    "min_time_between_calls": 30,
    "dialer_interval": 10
  }`

// defaults of the reference's field table.
var referenceDefaults = map[string]any{
	"agent_id": nil, "workspace": nil, "email": nil, "locale_name": "USCA", "active": true,
	"call_ratio": 1.0, "dialer_interval": 10.0, "max_active_calls": 0.0, "max_number_calls": 10.0,
	"min_time_between_calls": 30.0, "dupe_days": 90.0, "expire_days": 90.0,
	"earliest_prospect_time": "09:00:00", "latest_prospect_time": "21:00:00", "ignore_states": "",
	"filter_holidays": true, "max_wait_time": 60.0, "queue_strategy": "longest-idle-agent",
	"wrap_up_time": 3.0, "paused": false, "max_abandon_rate": 3.0,
}

func startNode(t *testing.T) (*nodetest.Node, client) {
	t.Helper()
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: boot})
	return n, client{t: t, url: n.URL, token: boot}
}

func TestReferenceCampaignExamples(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)

	// Create: 201 with the whole campaign, every default filled in.
	r := admin.do("POST", "/api/v/campaign/", referenceCreate)
	expect(t, r, 201)
	created := r.JSON(t)
	for k, want := range referenceDefaults {
		got, ok := created[k]
		if !ok {
			t.Errorf("created campaign lacks %q", k)
			continue
		}
		switch k {
		case "agent_id", "workspace", "email":
			continue // set by the example
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want default %v", k, got, want)
		}
	}
	if created["slug"] != "february-reminders" || created["agent_id"] != "agent_abc123" || created["workspace"] != "ws_001" {
		t.Fatalf("unexpected create answer: %s", r.Body)
	}
	for _, k := range []string{"id", "created_at", "updated_at"} {
		if s, _ := created[k].(string); s == "" {
			t.Errorf("created campaign has no %s", k)
		}
	}
	if _, err := time.Parse(time.RFC3339, created["created_at"].(string)); err != nil {
		t.Errorf("created_at not RFC 3339: %v", err)
	}

	// A minimal create gets every default, nulls included; the same name
	// gets the next slug.
	r = admin.do("POST", "/api/v/campaign/", `{"name": "February Reminders", "workspace": "ws_002", "email": "other@example.com"}`)
	expect(t, r, 201)
	second := r.JSON(t)
	if second["slug"] != "february-reminders-2" {
		t.Fatalf("second slug = %v, want february-reminders-2", second["slug"])
	}
	for k, want := range referenceDefaults {
		if k == "workspace" || k == "email" {
			continue
		}
		if !reflect.DeepEqual(second[k], want) {
			t.Errorf("minimal create: %s = %v, want default %v", k, second[k], want)
		}
	}

	// List, filtered by workspace and by email.
	r = admin.do("GET", "/api/v/campaign/?workspace=ws_001", "")
	expect(t, r, 200)
	if l := r.List(t); len(l) != 1 || l[0]["slug"] != "february-reminders" {
		t.Fatalf("list ws_001: %s", r.Body)
	}
	r = admin.do("GET", "/api/v/campaign/?email=other@example.com", "")
	expect(t, r, 200)
	if l := r.List(t); len(l) != 1 || l[0]["slug"] != "february-reminders-2" {
		t.Fatalf("list by email: %s", r.Body)
	}
	r = admin.do("GET", "/api/v/campaign/", "")
	if l := r.List(t); len(l) != 2 {
		t.Fatalf("list all: %s", r.Body)
	}
	r = admin.do("GET", "/api/v/campaign/?workspace=ws_none", "")
	if l := r.List(t); len(l) != 0 {
		t.Fatalf("list of an empty workspace: %s", r.Body)
	}

	// Get by slug, with and without the trailing slash.
	r = admin.do("GET", "/api/v/campaign/february-reminders/", "")
	expect(t, r, 200)
	if !reflect.DeepEqual(r.JSON(t), created) {
		t.Fatalf("get differs from create:\n%s", r.Body)
	}
	expect(t, admin.do("GET", "/api/v/campaign/february-reminders", ""), 200)

	// PATCH changes exactly the fields sent (and updated_at).
	r = admin.do("PATCH", "/api/v/campaign/february-reminders/", `{"call_ratio": 1.5, "max_active_calls": 20, "paused": false}`)
	expect(t, r, 200)
	patched := r.JSON(t)
	for k, v := range created {
		want := v
		switch k {
		case "call_ratio":
			want = 1.5
		case "max_active_calls":
			want = 20.0
		case "updated_at":
			if patched[k] == v {
				t.Errorf("updated_at did not change on PATCH")
			}
			continue
		}
		if !reflect.DeepEqual(patched[k], want) {
			t.Errorf("after PATCH %s = %v, want %v", k, patched[k], want)
		}
	}
	r = admin.do("GET", "/api/v/campaign/february-reminders/", "")
	if !reflect.DeepEqual(r.JSON(t), patched) {
		t.Fatalf("GET after PATCH is not the PATCH answer: %s", r.Body)
	}

	// PUT replaces: fields not sent return to their defaults; read-only
	// fields sent back are ignored.
	put := fmt.Sprintf(`{"name": "February Reminders v2", "workspace": "ws_001", "dialer_interval": 5, "id": "forged", "slug": "forged", "created_at": "2000-01-01T00:00:00Z", "updated_at": %q}`, patched["updated_at"])
	r = admin.do("PUT", "/api/v/campaign/february-reminders/", put)
	expect(t, r, 200)
	replaced := r.JSON(t)
	if replaced["name"] != "February Reminders v2" || replaced["dialer_interval"] != 5.0 ||
		replaced["call_ratio"] != 1.0 || replaced["max_active_calls"] != 0.0 || replaced["agent_id"] != nil || replaced["email"] != nil {
		t.Fatalf("PUT did not replace: %s", r.Body)
	}
	if replaced["id"] != created["id"] || replaced["slug"] != "february-reminders" || replaced["created_at"] != created["created_at"] {
		t.Fatalf("PUT changed read-only fields: %s", r.Body)
	}
	// The e-mail index follows the PUT: the old address no longer lists it.
	if l := admin.do("GET", "/api/v/campaign/?email=owner@example.com", "").List(t); len(l) != 0 {
		t.Fatalf("e-mail index kept a stale entry: %v", l)
	}

	// Status: no lists yet, so every prospect (none) is resolved.
	r = admin.do("GET", "/api/v/campaign/february-reminders/status/", "")
	expect(t, r, 200)
	if st := r.JSON(t); st["status"] != "Completed" {
		t.Fatalf("status: %s", r.Body)
	}
	admin.do("PATCH", "/api/v/campaign/february-reminders/", `{"active": false}`)
	if st := admin.do("GET", "/api/v/campaign/february-reminders/status/", "").JSON(t); st["status"] != "Inactive" {
		t.Fatalf("status of an inactive campaign: %v", st)
	}

	// DELETE: 204, then 404 everywhere, gone from the lists; the slug is
	// free again.
	r = admin.do("DELETE", "/api/v/campaign/february-reminders/", "")
	expect(t, r, 204)
	expect(t, admin.do("GET", "/api/v/campaign/february-reminders/", ""), 404)
	expect(t, admin.do("GET", "/api/v/campaign/february-reminders/status/", ""), 404)
	expect(t, admin.do("DELETE", "/api/v/campaign/february-reminders/", ""), 404)
	if l := admin.do("GET", "/api/v/campaign/?workspace=ws_001", "").List(t); len(l) != 0 {
		t.Fatalf("deleted campaign still listed: %v", l)
	}
	r = admin.do("POST", "/api/v/campaign/", `{"name": "February Reminders"}`)
	expect(t, r, 201)
	if r.JSON(t)["slug"] != "february-reminders" {
		t.Fatalf("freed slug not reused: %s", r.Body)
	}
}

func TestBadInputIsRejectedAndChangesNothing(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	expect(t, admin.do("POST", "/api/v/campaign/", `{"name": "Base", "workspace": "ws_a"}`), 201)
	before := admin.do("GET", "/api/v/campaign/base/", "").Body

	fieldCases := []struct{ body, field string }{
		{`{}`, "name"},
		{`{"name": "  "}`, "name"},
		{`{"name": "x", "dialer_interval": 1}`, "dialer_interval"},
		{`{"name": "x", "dialer_interval": 16}`, "dialer_interval"},
		{`{"name": "x", "dialer_interval": "10"}`, "dialer_interval"},
		{`{"name": "x", "call_ratio": 0}`, "call_ratio"},
		{`{"name": "x", "max_active_calls": -1}`, "max_active_calls"},
		{`{"name": "x", "max_number_calls": 0}`, "max_number_calls"},
		{`{"name": "x", "min_time_between_calls": -5}`, "min_time_between_calls"},
		{`{"name": "x", "dupe_days": -2}`, "dupe_days"},
		{`{"name": "x", "expire_days": 0}`, "expire_days"},
		{`{"name": "x", "earliest_prospect_time": "9am"}`, "earliest_prospect_time"},
		{`{"name": "x", "latest_prospect_time": "24:00"}`, "latest_prospect_time"},
		{`{"name": "x", "earliest_prospect_time": "22:00", "latest_prospect_time": "21:00"}`, "earliest_prospect_time"},
		{`{"name": "x", "ignore_states": "CA,ZZ"}`, "ignore_states"},
		{`{"name": "x", "queue_strategy": "ring-everyone"}`, "queue_strategy"},
		{`{"name": "x", "locale_name": "EU"}`, "locale_name"},
		{`{"name": "x", "email": "not-an-email"}`, "email"},
		{`{"name": "x", "active": "yes"}`, "active"},
		{`{"name": "x", "paused": null}`, "paused"},
		{`{"name": "x", "dial_ratio": 2}`, "dial_ratio"},
	}
	for _, c := range fieldCases {
		for _, call := range []struct{ method, path string }{{"POST", "/api/v/campaign/"}, {"PATCH", "/api/v/campaign/base/"}} {
			body := c.body
			if call.method == "PATCH" && c.field == "name" && body == "{}" {
				continue // an empty PATCH is valid
			}
			r := admin.do(call.method, call.path, body)
			if r.Status != 400 {
				t.Errorf("%s %s: status %d, want 400: %s", call.method, body, r.Status, r.Body)
				continue
			}
			if _, ok := r.JSON(t)[c.field]; !ok {
				t.Errorf("%s %s: 400 does not name %q: %s", call.method, body, c.field, r.Body)
			}
		}
	}
	for _, body := range []string{`{"name": `, `[1,2]`, `"x"`, `{"name":"a"} {"name":"b"}`, `{"name":"a","name":"b"}`, "\xff\xfe"} {
		r := admin.do("POST", "/api/v/campaign/", body)
		if r.Status != 400 {
			t.Errorf("malformed %q: status %d, want 400: %s", body, r.Status, r.Body)
		}
	}
	// Oversized body: 413 in the API's format.
	// The server answers before reading the body, so send the headers on a
	// raw connection and read the answer.
	r := oversized(t, admin, 1<<20)
	expect(t, r, 413)
	if _, ok := r.JSON(t)["detail"]; !ok {
		t.Errorf("413 without detail: %s", r.Body)
	}
	// Wrong or missing content type: 415.
	expect(t, admin.raw("POST", "/api/v/campaign/", "text/plain", []byte(`{"name":"x"}`), nil), 415)
	expect(t, admin.raw("PATCH", "/api/v/campaign/base/", "", []byte(`{"paused":true}`), nil), 415)
	expect(t, admin.raw("PATCH", "/api/v/campaign/base/", "application/x-www-form-urlencoded", []byte(`paused=true`), nil), 415)
	// Credentials.
	anon := client{t: t, url: admin.url}
	expect(t, anon.do("GET", "/api/v/campaign/", ""), 401)
	wrong := client{t: t, url: admin.url, token: "dlr_not-a-real-token"}
	expect(t, wrong.do("GET", "/api/v/campaign/base/", ""), 401)
	expect(t, anon.raw("GET", "/api/v/campaign/", "", nil, map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 1000)}), 401)
	// Headers past the read buffer: a 400 in the API's format, not a crash.
	r0 := rawHTTP(t, anon, "GET /api/v/campaign/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+strings.Repeat("x", 10000)+"\r\n\r\n")
	expect(t, r0, 400)
	if _, ok := r0.JSON(t)["detail"]; !ok {
		t.Errorf("oversized headers: %s", r0.Body)
	}
	// Unknown route and method.
	expect(t, admin.do("GET", "/api/v/nothing/", ""), 404)
	r = admin.do("POST", "/api/v/campaign/base/", `{}`)
	expect(t, r, 405)
	if r.Header.Get("Allow") == "" {
		t.Errorf("405 without Allow")
	}
	expect(t, admin.do("GET", "/api/v/campaign/NOT_A_SLUG/", ""), 404)

	// Workspace scope.
	scoped := client{t: t, url: admin.url, token: mintToken(t, admin, `{"name": "b-team", "workspaces": ["ws_b"]}`)}
	expect(t, scoped.do("GET", "/api/v/campaign/base/", ""), 404)
	expect(t, scoped.do("PATCH", "/api/v/campaign/base/", `{"paused": true}`), 404)
	expect(t, scoped.do("DELETE", "/api/v/campaign/base/", ""), 404)
	expect(t, scoped.do("GET", "/api/v/campaign/base/status/", ""), 404)
	expect(t, scoped.do("POST", "/api/v/campaign/", `{"name": "Sneaky", "workspace": "ws_a"}`), 403)
	expect(t, scoped.do("POST", "/api/v/campaign/", `{"name": "No workspace"}`), 403)
	if l := scoped.do("GET", "/api/v/campaign/", "").List(t); len(l) != 0 {
		t.Fatalf("scoped token sees another workspace: %v", l)
	}
	if l := scoped.do("GET", "/api/v/campaign/?workspace=ws_a", "").List(t); len(l) != 0 {
		t.Fatalf("scoped token lists another workspace: %v", l)
	}
	expect(t, scoped.do("GET", "/api/v/token/", ""), 403)
	r = scoped.do("POST", "/api/v/campaign/", `{"name": "Mine", "workspace": "ws_b"}`)
	expect(t, r, 201)
	// Moving one's own campaign into a workspace one doesn't cover: 403.
	expect(t, scoped.do("PATCH", "/api/v/campaign/mine/", `{"workspace": "ws_a"}`), 403)

	// Nothing changed, and the node is alive.
	if after := admin.do("GET", "/api/v/campaign/base/", "").Body; !bytes.Equal(before, after) {
		t.Fatalf("rejected requests changed the campaign:\n%s\n%s", before, after)
	}
	if l := admin.do("GET", "/api/v/campaign/", "").List(t); len(l) != 2 {
		t.Fatalf("rejected creates left campaigns behind: %d listed", len(l))
	}
	expect(t, anon.do("GET", "/healthz", ""), 200)
}

// rawHTTP sends req on its own connection, ignoring write errors (the server
// may answer and close before reading everything), and reads the answer.
func rawHTTP(t *testing.T, c client, req string) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go conn.Write([]byte(req))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: b, Header: res.Header}
}

// oversized posts a create whose declared body is size bytes.
func oversized(t *testing.T, c client, size int) response {
	return rawHTTP(t, c, fmt.Sprintf("POST /api/v/campaign/ HTTP/1.1\r\nHost: x\r\nCookie: access_token=%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"name\": \"", c.token, size))
}

func mintToken(t *testing.T, admin client, body string) string {
	t.Helper()
	r := admin.do("POST", "/api/v/token/", body)
	expect(t, r, 201)
	tok, _ := r.JSON(t)["token"].(string)
	if !strings.HasPrefix(tok, "dlr_") {
		t.Fatalf("minted token: %s", r.Body)
	}
	return tok
}

func TestKill9RightAfterCreateKeepsTheCampaign(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	var created [][]byte
	for i := 0; i < 5; i++ {
		r := admin.do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "Durable %d", "workspace": "ws_d"}`, i))
		expect(t, r, 201)
		created = append(created, r.Body)
	}
	n.Kill() // SIGKILL straight after the last 201
	n.Restart()
	for i, want := range created {
		r := admin.do("GET", fmt.Sprintf("/api/v/campaign/durable-%d/", i), "")
		expect(t, r, 200)
		if !bytes.Equal(r.Body, want) {
			t.Fatalf("after kill -9 campaign %d differs:\nbefore %s\nafter  %s", i, want, r.Body)
		}
	}
	if l := admin.do("GET", "/api/v/campaign/?workspace=ws_d", "").List(t); len(l) != 5 {
		t.Fatalf("listing after restart: %d campaigns", len(l))
	}
}

func TestSIGTERMShutsDownCleanlyAndKeepsData(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	r := admin.do("POST", "/api/v/campaign/", `{"name": "Graceful"}`)
	expect(t, r, 201)
	if err := n.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, n.Log())
	}
	if !strings.Contains(n.Log(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", n.Log())
	}
	n.Restart()
	got := admin.do("GET", "/api/v/campaign/graceful/", "")
	expect(t, got, 200)
	if !bytes.Equal(got.Body, r.Body) {
		t.Fatalf("after restart: %s", got.Body)
	}
}

func TestTokensLifecycle(t *testing.T) {
	t.Parallel()
	n, admin := startNode(t)
	tok := mintToken(t, admin, `{"name": "ops", "workspaces": ["ws_1", "ws_2"]}`)
	scoped := client{t: t, url: admin.url, token: tok}
	// Bearer works as well as the cookie.
	r := scoped.raw("POST", "/api/v/campaign/", "application/json", []byte(`{"name": "Scoped", "workspace": "ws_2"}`),
		map[string]string{"Cookie": "", "Authorization": "Bearer " + tok})
	expect(t, r, 201)
	expect(t, scoped.do("GET", "/api/v/campaign/scoped/", ""), 200)

	list := admin.do("GET", "/api/v/token/", "")
	expect(t, list, 200)
	toks := list.List(t)
	if len(toks) != 1 || toks[0]["name"] != "ops" {
		t.Fatalf("token list: %s", list.Body)
	}
	if strings.Contains(string(list.Body), tok) || strings.Contains(string(list.Body), "hash") {
		t.Fatalf("token list leaks the secret or its hash: %s", list.Body)
	}
	id := toks[0]["id"].(string)
	expect(t, admin.do("GET", "/api/v/token/"+id+"/", ""), 200)
	for _, bad := range []string{`{"workspaces": []}`, `{"workspaces": ["a"], "admin": true}`, `{"workspaces": ["a"], "scope": "x"}`, `{"workspaces": "a"}`} {
		expect(t, admin.do("POST", "/api/v/token/", bad), 400)
	}

	// The token survives a restart (it is stored, as a hash).
	n.Restart()
	expect(t, scoped.do("GET", "/api/v/campaign/scoped/", ""), 200)

	// Revoke: 204, then the token is refused at once on this node.
	expect(t, admin.do("DELETE", "/api/v/token/"+id+"/", ""), 204)
	expect(t, scoped.do("GET", "/api/v/campaign/scoped/", ""), 401)
	expect(t, admin.do("DELETE", "/api/v/token/"+id+"/", ""), 404)
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t)
	env := func(k string) string {
		switch k {
		case "DIALER_URL":
			return n.URL
		case "DIALER_TOKEN":
			return boot
		}
		return ""
	}
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"token", "create", "--name", "cli", "--workspace", "ws_cli", "--json"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var made map[string]any
	if err := json.Unmarshal(out.Bytes(), &made); err != nil {
		t.Fatalf("create --json: %v: %s", err, out.Bytes())
	}
	id := made["id"].(string)
	secret := made["token"].(string)
	c := client{t: t, url: n.URL, token: secret}
	expect(t, c.do("POST", "/api/v/campaign/", `{"name": "From CLI", "workspace": "ws_cli"}`), 201)

	out.Reset()
	if err := run(ctx, []string{"token", "list"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "cli") {
		t.Fatalf("token list output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"token", "revoke", id}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	expect(t, c.do("GET", "/api/v/campaign/from-cli/", ""), 401)
	// Errors are clear and non-zero.
	err := run(ctx, []string{"token", "revoke", id}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("revoking twice: %v", err)
	}
	noTok := func(k string) string {
		if k == "DIALER_URL" {
			return n.URL
		}
		return ""
	}
	if err := run(ctx, []string{"token", "list"}, noTok, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Fatalf("no token: %v (exit %d)", err, exitCode(err))
	}
}

func TestConcurrentCreatesOfOneNameGetDistinctSlugs(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	const n = 12
	slugs := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := admin.do("POST", "/api/v/campaign/", `{"name": "Same Name"}`)
			if r.Status == 201 {
				var m map[string]any
				json.Unmarshal(r.Body, &m)
				slugs[i], _ = m["slug"].(string)
			} else {
				t.Errorf("create %d: %d %s", i, r.Status, r.Body)
			}
		}(i)
	}
	wg.Wait()
	sort.Strings(slugs)
	want := []string{"same-name"}
	for i := 2; i <= n; i++ {
		want = append(want, fmt.Sprintf("same-name-%d", i))
	}
	sort.Strings(want)
	if !reflect.DeepEqual(slugs, want) {
		t.Fatalf("slugs %v, want %v", slugs, want)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	_, admin := startNode(t)
	anon := client{t: t, url: admin.url}
	expect(t, anon.do("GET", "/healthz", ""), 200)
	expect(t, anon.do("GET", "/readyz", ""), 200)
	admin.do("POST", "/api/v/campaign/", `{"name": "Metered"}`)
	admin.do("GET", "/api/v/campaign/metered/", "")
	r := anon.do("GET", "/metrics", "")
	expect(t, r, 200)
	for _, want := range []string{
		`dialerd_http_requests_total{method="POST",route="/api/v/campaign/",status="201"} 1`,
		`dialerd_http_requests_total{method="GET",route="/api/v/campaign/{slug}/",status="200"} 1`,
		`dialerd_http_request_duration_seconds_bucket{route="/api/v/campaign/{slug}/"`,
		`dialerd_grains_active{kind="campaign"} 1`,
		`dialerd_cluster_members 1`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
