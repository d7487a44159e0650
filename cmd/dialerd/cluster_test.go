package main

// Multi-node tests: real dialerd processes on loopback, joined into one
// cluster (internal/nodetest), spoken to over HTTP only. They show the
// promises of the cluster issue: every node serves everything with
// read-your-writes, acknowledged writes survive kill -9, a frozen owner is
// fenced, a join and a rolling restart under load lose nothing, and a
// graceful leave hands over quickly.
//
// The tests run one after the other: each starts three or four nodes, and
// the machines this runs on have few cores.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dialerd/dialerd/internal/nodetest"
)

// clusterHTTP keeps connections to every node; each request carries its
// own short deadline (send), so a frozen or dead node cannot hang a test.
var clusterHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

// send makes one request as the bootstrap admin (or as token) and reports
// a transport error instead of failing the test, so polls and goroutines
// can use it.
func send(n *nodetest.Node, token, method, path, body string, timeout time.Duration) (response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.URL+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if token == "" {
		token = boot
	}
	req.Header.Set("Cookie", "access_token="+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := clusterHTTP.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: res.StatusCode, Body: b, Header: res.Header}, nil
}

// try is send as the bootstrap admin with a 3 s timeout.
func try(n *nodetest.Node, method, path, body string) (response, error) {
	return send(n, "", method, path, body, 3*time.Second)
}

// must sends one request and fails the test unless it answers status.
func must(t *testing.T, n *nodetest.Node, method, path, body string, status int) response {
	t.Helper()
	r, err := try(n, method, path, body)
	if err != nil {
		t.Fatalf("%s %s through %s: %v", method, path, n.HTTP, err)
	}
	if r.Status != status {
		t.Fatalf("%s %s through %s: status %d, want %d; body: %s", method, path, n.HTTP, r.Status, status, r.Body)
	}
	return r
}

func campaignPath(slug string) string { return "/api/v/campaign/" + slug + "/" }

// field returns a top-level field of a JSON object ("" if absent or not a
// string).
func field(body []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

var grainsRE = regexp.MustCompile(`(?m)^dialerd_grains_active\{kind="campaign"\} (\S+)$`)

// campaignGrains is the number of campaign grains active on a node, from
// its /metrics.
func campaignGrains(n *nodetest.Node) (int, error) {
	r, err := send(n, "", "GET", "/metrics", "", 3*time.Second)
	if err != nil {
		return 0, err
	}
	if r.Status != 200 {
		return 0, fmt.Errorf("/metrics: %d", r.Status)
	}
	m := grainsRE.FindSubmatch(r.Body)
	if m == nil {
		return 0, nil // no campaign grain ever ran there
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return int(v), err
}

func grainCounts(t *testing.T, nodes []*nodetest.Node) []int {
	t.Helper()
	out := make([]int, len(nodes))
	for i, n := range nodes {
		c, err := campaignGrains(n)
		if err != nil {
			t.Fatalf("metrics of %s: %v", n.HTTP, err)
		}
		out[i] = c
	}
	return out
}

func argmax(xs []int) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func without(nodes []*nodetest.Node, skip *nodetest.Node) []*nodetest.Node {
	var out []*nodetest.Node
	for _, n := range nodes {
		if n != skip {
			out = append(out, n)
		}
	}
	return out
}

// waitServed polls GET slug through n until it answers 200 with exactly
// want. A 200 with anything else is a stale or lost write and fails at
// once; errors and other statuses are retried until timeout.
func waitServed(t *testing.T, n *nodetest.Node, slug string, want []byte, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		r, err := send(n, "", "GET", campaignPath(slug), "", 2*time.Second)
		switch {
		case err != nil:
			last = err.Error()
		case r.Status == 200 && bytes.Equal(r.Body, want):
			return
		case r.Status == 200:
			t.Fatalf("GET %s through %s answers a different campaign than the last acknowledged write:\ngot  %s\nwant %s", slug, n.HTTP, r.Body, want)
		default:
			last = fmt.Sprintf("status %d: %s", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s through %s not served within %v; last answer: %s", slug, n.HTTP, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listSlugs lists a workspace through n and returns slug → document.
func listSlugs(t *testing.T, n *nodetest.Node, token, query string) map[string][]byte {
	t.Helper()
	r, err := send(n, token, "GET", "/api/v/campaign/"+query, "", 5*time.Second)
	if err != nil {
		t.Fatalf("list %s through %s: %v", query, n.HTTP, err)
	}
	if r.Status != 200 {
		t.Fatalf("list %s through %s: status %d: %s", query, n.HTTP, r.Status, r.Body)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(r.Body, &docs); err != nil {
		t.Fatalf("list %s through %s: %v: %s", query, n.HTTP, err, r.Body)
	}
	out := map[string][]byte{}
	for _, d := range docs {
		slug := field(d, "slug")
		if _, dup := out[slug]; dup {
			t.Fatalf("list %s through %s names %s twice", query, n.HTTP, slug)
		}
		out[slug] = d
	}
	return out
}

// checkListing fails unless listing query through n gives exactly want
// (slug → document, byte for byte).
func checkListing(t *testing.T, n *nodetest.Node, query string, want map[string][]byte) {
	t.Helper()
	got := listSlugs(t, n, "", query)
	if len(got) != len(want) {
		t.Fatalf("list %s through %s: %d campaigns, want %d", query, n.HTTP, len(got), len(want))
	}
	for slug, doc := range want {
		if !bytes.Equal(got[slug], doc) {
			t.Fatalf("list %s through %s: %s is\n%s\nwant\n%s", query, n.HTTP, slug, got[slug], doc)
		}
	}
}

// createCampaigns creates count campaigns named prefix-i in workspace ws,
// through the nodes in turn, and returns slug → acknowledged document and
// the slugs in order.
func createCampaigns(t *testing.T, nodes []*nodetest.Node, prefix, ws string, count int) (map[string][]byte, []string) {
	t.Helper()
	docs := map[string][]byte{}
	var slugs []string
	for i := 0; i < count; i++ {
		r := must(t, nodes[i%len(nodes)], "POST", "/api/v/campaign/",
			fmt.Sprintf(`{"name": "%s %d", "workspace": %q, "email": "%s%d@example.com"}`, prefix, i, ws, prefix, i), 201)
		slug := fmt.Sprintf("%s-%d", strings.ToLower(prefix), i)
		if got := field(r.Body, "slug"); got != slug {
			t.Fatalf("created slug %q, want %q", got, slug)
		}
		docs[slug] = r.Body
		slugs = append(slugs, slug)
	}
	return docs, slugs
}

func durationStats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("first %v, median %v, last %v", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}

// 1. Three nodes: campaigns spread over them, every request works through
// every node, a PATCH through one node is what the others answer next,
// listing through any node sees everything, and each campaign runs as one
// grain on exactly one node.
func TestClusterEveryNodeServesEverything(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	const count = 30
	latest, slugs := createCampaigns(t, nodes, "Spread", "ws_spread", count)

	// Every GET works through every node, with the acknowledged bytes.
	for _, slug := range slugs {
		for _, n := range nodes {
			if r := must(t, n, "GET", campaignPath(slug), "", 200); !bytes.Equal(r.Body, latest[slug]) {
				t.Fatalf("GET %s through %s:\n%s\nwant the create answer\n%s", slug, n.HTTP, r.Body, latest[slug])
			}
		}
	}

	// Read-your-writes through every node: a PATCH answered by one node is
	// what the other two answer next.
	for i, slug := range slugs {
		w := nodes[(i+1)%len(nodes)]
		r := must(t, w, "PATCH", campaignPath(slug), fmt.Sprintf(`{"agent_id": "agent_%d", "max_number_calls": %d}`, i, i+1), 200)
		if field(r.Body, "agent_id") != fmt.Sprintf("agent_%d", i) {
			t.Fatalf("PATCH %s answered %s", slug, r.Body)
		}
		latest[slug] = r.Body
		for _, n := range without(nodes, w) {
			if got := must(t, n, "GET", campaignPath(slug), "", 200); !bytes.Equal(got.Body, r.Body) {
				t.Fatalf("PATCH %s through %s, then GET through %s:\n%s\nwant the PATCH answer\n%s", slug, w.HTTP, n.HTTP, got.Body, r.Body)
			}
		}
	}

	// Listing through any node sees all of them, as last written.
	for _, n := range nodes {
		checkListing(t, n, "?workspace=ws_spread", latest)
		checkListing(t, n, "?email=spread7@example.com", map[string][]byte{"spread-7": latest["spread-7"]})
	}

	// A token minted through one node works through the others (token
	// records are cluster state too), within its workspaces only.
	must(t, nodes[0], "POST", "/api/v/campaign/", `{"name": "Elsewhere", "workspace": "ws_other"}`, 201)
	tok := ""
	{
		r := must(t, nodes[0], "POST", "/api/v/token/", `{"name": "spread", "workspaces": ["ws_spread"]}`, 201)
		tok = field(r.Body, "token")
	}
	for _, n := range nodes[1:] {
		if got := listSlugs(t, n, tok, "?workspace=ws_spread"); len(got) != count {
			t.Fatalf("scoped list through %s: %d campaigns, want %d", n.HTTP, len(got), count)
		}
		r, err := send(n, tok, "GET", campaignPath("elsewhere"), "", 3*time.Second)
		if err != nil || r.Status != 404 {
			t.Fatalf("scoped GET of another workspace through %s: %v %d %s", n.HTTP, err, r.Status, r.Body)
		}
	}

	// Spread, and one activation per campaign: every campaign grain runs on
	// exactly one node, and more than one node hosts some.
	counts := grainCounts(t, nodes)
	sum, hosting := 0, 0
	for _, c := range counts {
		sum += c
		if c > 0 {
			hosting++
		}
	}
	t.Logf("campaign grains per node: %v", counts)
	if sum != count+1 {
		t.Fatalf("%d campaign grains active over the cluster (%v), want %d: one activation per campaign", sum, counts, count+1)
	}
	if hosting < 2 {
		t.Fatalf("campaigns are not spread: grains per node %v", counts)
	}
}

// 2. kill -9 of the node hosting the most campaigns: the survivors serve
// every acknowledged write again, byte for byte, within a measured recovery
// time; writes work through them; the killed node comes back on its data
// and serves everything.
func TestClusterSurvivesKill9(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	const count = 24
	latest, slugs := createCampaigns(t, nodes, "Durable", "ws_durable", count)
	for i, slug := range slugs {
		r := must(t, nodes[(i+2)%3], "PATCH", campaignPath(slug), fmt.Sprintf(`{"agent_id": "before_kill_%d"}`, i), 200)
		latest[slug] = r.Body
	}
	// A token that no survivor has seen yet (nor cached): it must come
	// from the replicated token record after the kill.
	tok := field(must(t, nodes[0], "POST", "/api/v/token/", `{"name": "durable", "workspaces": ["ws_durable"]}`, 201).Body, "token")

	counts := grainCounts(t, nodes)
	victim := nodes[argmax(counts)]
	survivors := without(nodes, victim)
	t.Logf("campaign grains per node %v; killing %s (pid %d)", counts, victim.HTTP, victim.Pid())

	start := time.Now()
	victim.Kill()

	// Poll every campaign through both survivors, in parallel, until each
	// answers the last acknowledged write.
	const bound = 30 * time.Second
	var (
		mu     sync.Mutex
		served []time.Duration
		stale  []string
		wg     sync.WaitGroup
	)
	for _, slug := range slugs {
		for _, n := range survivors {
			wg.Add(1)
			go func(slug string, n *nodetest.Node) {
				defer wg.Done()
				deadline := start.Add(bound + 5*time.Second)
				for time.Now().Before(deadline) {
					r, err := send(n, "", "GET", campaignPath(slug), "", 2*time.Second)
					if err == nil && r.Status == 200 {
						mu.Lock()
						if bytes.Equal(r.Body, latest[slug]) {
							served = append(served, time.Since(start))
							mu.Unlock()
							return
						}
						stale = append(stale, fmt.Sprintf("%s through %s:\n got %s\nwant %s", slug, n.HTTP, r.Body, latest[slug]))
						mu.Unlock()
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}(slug, n)
		}
	}
	wg.Wait()
	recovery := time.Since(start)
	if len(stale) > 0 {
		t.Fatalf("after kill -9, survivors answered %d campaigns with something other than the last acknowledged write:\n%s", len(stale), strings.Join(stale, "\n"))
	}
	t.Logf("kill -9 recovery: %d/%d (campaign, survivor) pairs served again; %s; all within %v",
		len(served), count*len(survivors), durationStats(served), recovery.Round(time.Millisecond))
	if len(served) != count*len(survivors) {
		t.Fatalf("after kill -9, only %d of %d (campaign, survivor) pairs were served within %v", len(served), count*len(survivors), bound+5*time.Second)
	}
	if recovery > bound {
		t.Fatalf("recovery after kill -9 took %v, over %v", recovery, bound)
	}

	// Listing asks every shard's owner, so it answers 503 until every shard
	// (with campaigns or not) is handed over: wait for the survivors to
	// settle, then it must list everything.
	settle := time.Now()
	nodetest.WaitReady(t, survivors, 30*time.Second)
	t.Logf("survivors settled %v after every campaign was back", time.Since(settle).Round(time.Millisecond))
	// Listing and the token work through the survivors.
	for _, n := range survivors {
		checkListing(t, n, "?workspace=ws_durable", latest)
		r, err := send(n, tok, "GET", campaignPath(slugs[0]), "", 3*time.Second)
		if err != nil || r.Status != 200 || !bytes.Equal(r.Body, latest[slugs[0]]) {
			t.Fatalf("token minted before the kill, used through %s: %v %d %s", n.HTTP, err, r.Status, r.Body)
		}
	}

	// Writes through the survivors work and are read back through the
	// other one.
	for i, slug := range slugs {
		w, other := survivors[i%2], survivors[(i+1)%2]
		r := must(t, w, "PATCH", campaignPath(slug), fmt.Sprintf(`{"agent_id": "after_kill_%d"}`, i), 200)
		latest[slug] = r.Body
		if got := must(t, other, "GET", campaignPath(slug), "", 200); !bytes.Equal(got.Body, r.Body) {
			t.Fatalf("PATCH %s through %s, GET through %s:\n%s\nwant\n%s", slug, w.HTTP, other.HTTP, got.Body, r.Body)
		}
	}

	// The killed node comes back on its data directory and serves all.
	back := time.Now()
	// Same flags as before: were it the first node, it has no --join and
	// finds the others through the peers its previous run saved.
	victim.Restart()
	nodetest.WaitReady(t, nodes, 60*time.Second)
	t.Logf("killed node back and cluster settled in %v", time.Since(back).Round(time.Millisecond))
	for _, slug := range slugs {
		waitServed(t, victim, slug, latest[slug], 15*time.Second)
	}
	checkListing(t, victim, "?workspace=ws_durable", latest)
}

// createLocated creates a campaign through via and returns its answer and
// the index of the node whose campaign grain count rose: its owner. It
// fails unless exactly one node gained exactly one grain.
func createLocated(t *testing.T, nodes []*nodetest.Node, via *nodetest.Node, body string) (response, int) {
	t.Helper()
	before := grainCounts(t, nodes)
	r := must(t, via, "POST", "/api/v/campaign/", body, 201)
	after := grainCounts(t, nodes)
	owner := -1
	for i := range nodes {
		switch d := after[i] - before[i]; {
		case d == 0:
		case d == 1 && owner < 0:
			owner = i
		default:
			t.Fatalf("creating one campaign changed campaign grains per node from %v to %v", before, after)
		}
	}
	if owner < 0 {
		t.Fatalf("creating a campaign activated no grain (%v → %v)", before, after)
	}
	return r, owner
}

// 3. SIGSTOP of a campaign's owner past failure detection, a write through
// the others, then SIGCONT: the old owner never answers the pre-pause value
// as current nor writes on top of it, rejoins, and serves and takes writes
// again.
func TestClusterStaleOwnerIsFenced(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	owners := make([]int, 0, 9)
	perNode := make([]int, len(nodes))
	for i := 0; i < 9; i++ {
		_, o := createLocated(t, nodes, nodes[i%3], fmt.Sprintf(`{"name": "Fence %d", "workspace": "ws_fence"}`, i))
		owners = append(owners, o)
		perNode[o]++
	}
	vi := argmax(perNode)
	victim := nodes[vi]
	survivors := without(nodes, victim)
	slug := ""
	for i, o := range owners {
		if o == vi {
			slug = fmt.Sprintf("fence-%d", i)
			break
		}
	}
	path := campaignPath(slug)
	t.Logf("owners of fence-0..8: %v; pausing %s, owner of %s", owners, victim.HTTP, slug)

	// The owner's grain holds the pre-pause value.
	stale := must(t, victim, "PATCH", path, `{"agent_id": "before_pause"}`, 200)
	must(t, victim, "GET", path, "", 200)

	victim.Pause() // Cleanup's SIGKILL ends it even if paused
	paused := time.Now()

	// Past failure detection, the survivors take writes again.
	for k := 0; ; k++ {
		r, err := send(survivors[k%2], "", "PATCH", path, fmt.Sprintf(`{"agent_id": "probe_%d"}`, k), 3*time.Second)
		if err == nil && r.Status == 200 {
			break
		}
		if err == nil && r.Status != 503 {
			t.Fatalf("PATCH through survivor %s while the owner is frozen: %d %s", survivors[k%2].HTTP, r.Status, r.Body)
		}
		if time.Since(paused) > 30*time.Second {
			t.Fatalf("no survivor took a write within 30 s of SIGSTOP of the owner; last: %v %d %s", err, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("survivors took writes %v after SIGSTOP of the owner", time.Since(paused).Round(time.Millisecond))
	fresh := must(t, survivors[0], "PATCH", path, `{"agent_id": "after_pause"}`, 200)
	if got := must(t, survivors[1], "GET", path, "", 200); !bytes.Equal(got.Body, fresh.Body) {
		t.Fatalf("survivors disagree: %s vs %s", got.Body, fresh.Body)
	}

	victim.Resume()
	resumedAt := time.Now()

	// At once: a write through the old owner must not land on the stale
	// state it still holds in memory.
	w, werr := send(victim, "", "PATCH", path, `{"max_number_calls": 7}`, 5*time.Second)
	switch {
	case werr != nil:
		t.Logf("PATCH through the old owner right after SIGCONT: %v", werr)
	case w.Status == 200:
		if field(w.Body, "agent_id") != "after_pause" {
			t.Fatalf("the old owner applied a PATCH on its stale state: answered %s\n(newest acknowledged state %s)", w.Body, fresh.Body)
		}
	case w.Status != 503:
		t.Fatalf("PATCH through the old owner right after SIGCONT: %d %s", w.Status, w.Body)
	default:
		t.Logf("PATCH through the old owner right after SIGCONT: 503 %s", w.Body)
	}

	// For 5 s from SIGCONT, GETs and listings through the old owner
	// answer the newest value or 503, never the pre-pause value.
	var ok200, unavailable, transport, lists int
	for k := 0; time.Since(resumedAt) < 5*time.Second; k++ {
		what, p := "GET", path
		if k%2 == 1 {
			what, p = "list", "/api/v/campaign/?workspace=ws_fence"
		}
		r, err := send(victim, "", "GET", p, "", 2*time.Second)
		at := time.Since(resumedAt).Round(time.Millisecond)
		switch {
		case err != nil:
			transport++
		case r.Status == 200:
			doc := r.Body
			if what == "list" {
				var docs []json.RawMessage
				if err := json.Unmarshal(r.Body, &docs); err != nil {
					t.Fatalf("list through the old owner: %v: %s", err, r.Body)
				}
				doc = nil
				for _, d := range docs {
					if field(d, "slug") == slug {
						doc = d
					}
				}
				if len(docs) != 9 || doc == nil {
					t.Fatalf("%v after SIGCONT, listing through the old owner gave %d campaigns (want 9, %s among them): %s", at, len(docs), slug, r.Body)
				}
				lists++
			}
			if agent := field(doc, "agent_id"); agent != "after_pause" {
				t.Fatalf("%v after SIGCONT the old owner answered (%s) agent_id %q as current (pre-pause %q, newest %q):\n%s\npre-pause answer: %s",
					at, what, agent, field(stale.Body, "agent_id"), "after_pause", doc, stale.Body)
			}
			ok200++
		case r.Status == 503:
			unavailable++
		default:
			t.Fatalf("%s through the old owner %v after SIGCONT: %d %s", what, at, r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("GETs and listings through the old owner in the 5 s after SIGCONT: %d × 200 with the newest value (%d of them listings), %d × 503, %d transport errors",
		ok200, lists, unavailable, transport)

	// The survivors still hold the newest state: the old owner overwrote
	// nothing.
	cur := must(t, survivors[0], "GET", path, "", 200)
	if field(cur.Body, "agent_id") != "after_pause" {
		t.Fatalf("after SIGCONT of the old owner, the campaign is %s; newest acknowledged was %s", cur.Body, fresh.Body)
	}
	if w.Status == 200 && !bytes.Equal(cur.Body, w.Body) {
		t.Fatalf("the old owner acknowledged %s but the survivors answer %s", w.Body, cur.Body)
	}

	// It rejoins and serves the newest value, then takes writes.
	nodetest.WaitReady(t, nodes, 30*time.Second)
	t.Logf("old owner rejoined and cluster settled %v after SIGCONT", time.Since(resumedAt).Round(time.Millisecond))
	cur = must(t, survivors[1], "GET", path, "", 200)
	waitServed(t, victim, slug, cur.Body, 10*time.Second)
	var final response
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := try(victim, "PATCH", path, `{"agent_id": "final"}`)
		if err == nil && r.Status == 200 {
			final = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PATCH through the rejoined old owner: %v %d %s", err, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if field(final.Body, "agent_id") != "final" {
		t.Fatalf("final PATCH answered %s", final.Body)
	}
	for _, n := range nodes {
		if r := must(t, n, "GET", path, "", 200); !bytes.Equal(r.Body, final.Body) {
			t.Fatalf("after the final PATCH through the old owner, %s answers\n%s\nwant\n%s", n.HTTP, r.Body, final.Body)
		}
	}
}

// loadWriter writes through random nodes until stopped: each goroutine
// creates a campaign, then PATCHes it again and again. A write that fails
// without a definite answer (transport error, 5xx) may or may not have
// happened, so the goroutine leaves that campaign alone afterwards and
// creates another: each campaign's state must then be its last
// acknowledged write or that one trailing unconfirmed write.
type loadWriter struct {
	mu    sync.Mutex
	urls  []*nodetest.Node
	camps map[string]*loaded
	acks  int
	errs  map[string]int    // by phase, method and kind
	ex    map[string]string // an answer of each kind
	bad   []string          // definite rejections nothing should cause
	phase atomic.Value      // string
	stop  chan struct{}
	wg    sync.WaitGroup
}

type loaded struct {
	last    []byte // the last acknowledged answer
	trailer string // agent_id of a trailing unconfirmed PATCH, if any
}

// startLoad starts writers goroutines; initial (acknowledged creates,
// slug → answer) are dealt out to them to PATCH.
func startLoad(nodes []*nodetest.Node, writers int, initial map[string][]byte) *loadWriter {
	l := &loadWriter{urls: append([]*nodetest.Node(nil), nodes...), camps: map[string]*loaded{}, errs: map[string]int{}, ex: map[string]string{}, stop: make(chan struct{})}
	l.phase.Store("start")
	slugs := make([]string, 0, len(initial))
	for s, doc := range initial {
		l.camps[s] = &loaded{last: doc}
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	for g := 0; g < writers; g++ {
		var mine []string
		for i := g; i < len(slugs); i += writers {
			mine = append(mine, slugs[i])
		}
		l.wg.Add(1)
		go l.run(g, mine)
	}
	return l
}

func (l *loadWriter) add(n *nodetest.Node) {
	l.mu.Lock()
	l.urls = append(l.urls, n)
	l.mu.Unlock()
}

func (l *loadWriter) pick(rng *rand.Rand) *nodetest.Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.urls[rng.Intn(len(l.urls))]
}

func (l *loadWriter) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// run is one writer: it PATCHes its campaigns in turn, and every 20th
// operation (or when it has none left) creates another.
func (l *loadWriter) run(g int, mine []string) {
	defer l.wg.Done()
	rng := rand.New(rand.NewSource(int64(g) + time.Now().UnixNano()))
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		n := l.pick(rng)
		if k%20 == 0 || len(mine) == 0 {
			slug := fmt.Sprintf("load-%d-%d", g, k)
			r, err := send(n, "", "POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "Load %d %d", "workspace": "ws_load"}`, g, k), 2*time.Second)
			l.mu.Lock()
			switch {
			case err != nil || r.Status >= 500:
				// Maybe created, maybe not: never used, never checked.
				l.errs[l.errKey("POST", r, err)]++
			case r.Status == 201 && field(r.Body, "slug") == slug:
				l.acks++
				l.camps[slug] = &loaded{last: r.Body}
				mine = append(mine, slug)
			default:
				l.bad = append(l.bad, fmt.Sprintf("POST %s through %s: %d %s", slug, n.HTTP, r.Status, r.Body))
			}
			l.mu.Unlock()
			continue
		}
		i := k % len(mine)
		cur := mine[i]
		agent := fmt.Sprintf("agent_%d_%d", g, k)
		r, err := send(n, "", "PATCH", campaignPath(cur), fmt.Sprintf(`{"agent_id": %q}`, agent), 2*time.Second)
		l.mu.Lock()
		switch {
		case refused(err):
			// Never sent: the node is down. Nothing to doubt.
			l.errs[l.errKey("PATCH", r, err)]++
		case err != nil || r.Status >= 500:
			// Maybe applied, maybe not (now or later): leave this
			// campaign alone from now on.
			l.errs[l.errKey("PATCH", r, err)]++
			l.camps[cur].trailer = agent
			mine = append(mine[:i], mine[i+1:]...)
		case r.Status == 200 && field(r.Body, "agent_id") == agent:
			l.acks++
			l.camps[cur].last = r.Body
		default:
			l.bad = append(l.bad, fmt.Sprintf("PATCH %s through %s: %d %s", cur, n.HTTP, r.Status, r.Body))
			mine = append(mine[:i], mine[i+1:]...)
		}
		l.mu.Unlock()
	}
}

// refused reports a request that never reached a node.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// errKey names a client error for the tally: phase, method and kind.
func (l *loadWriter) errKey(method string, r response, err error) string {
	kind := ""
	switch {
	case refused(err):
		kind = "refused"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case err != nil:
		kind = "transport"
	default:
		kind = strconv.Itoa(r.Status)
		if _, ok := l.ex[method+" "+kind]; !ok {
			l.ex[method+" "+kind] = string(r.Body)
		}
	}
	return l.phase.Load().(string) + " " + method + " " + kind
}

func (l *loadWriter) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// 4. A fourth node joins under write load, then every node restarts in
// turn (SIGTERM, start again on its data) under write load: no
// acknowledged write is lost, and every node answers the same.
func TestClusterJoinAndRollingRestartUnderLoad(t *testing.T) {
	opts := nodetest.Options{BootstrapToken: boot}
	nodes := nodetest.StartCluster(t, 3, opts)
	initial, _ := createCampaigns(t, nodes, "Load", "ws_load", 40)
	load := startLoad(nodes, 4, initial)
	defer load.halt()
	waitAcks := func(n int, within time.Duration) {
		t.Helper()
		target := load.acked() + n
		deadline := time.Now().Add(within)
		for load.acked() < target {
			if time.Now().After(deadline) {
				t.Fatalf("writer made fewer than %d acknowledged writes in %v (at %d)", n, within, load.acked())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitAcks(100, 20*time.Second)

	// A fourth node joins.
	load.phase.Store("join")
	began := time.Now()
	fourth := nodetest.Start(t, nodetest.Options{BootstrapToken: boot, Join: []string{nodes[0].Gossip}})
	nodes = append(nodes, fourth)
	load.add(fourth)
	nodetest.WaitReady(t, nodes, 60*time.Second)
	t.Logf("4th node joined and cluster settled in %v", time.Since(began).Round(time.Millisecond))
	waitAcks(50, 20*time.Second)

	// Rolling restart: SIGTERM, start again, wait for the whole cluster.
	for i, n := range nodes {
		load.phase.Store(fmt.Sprintf("restart %d", i))
		began := time.Now()
		if err := n.Stop(); err != nil {
			t.Fatalf("SIGTERM of %s: %v", n.HTTP, err)
		}
		if !strings.Contains(n.Log(), `"msg":"stopped"`) {
			t.Fatalf("%s did not stop cleanly", n.HTTP)
		}
		stopped := time.Since(began)
		n.Restart() // same flags: node 0 has no --join (saved peers)
		nodetest.WaitReady(t, nodes, 60*time.Second)
		t.Logf("restart of node %d (%s): stopped in %v, cluster settled again after %v", i, n.HTTP, stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
		waitAcks(30, 20*time.Second)
	}
	load.phase.Store("end")
	load.halt()

	load.mu.Lock()
	defer load.mu.Unlock()
	total := 0
	var tally []string
	for k, v := range load.errs {
		total += v
		tally = append(tally, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(tally)
	t.Logf("writes under load: %d acknowledged, %d client errors, %d campaigns; errors by phase, method, kind:\n  %s", load.acks, total, len(load.camps), strings.Join(tally, "\n  "))
	for k, v := range load.ex {
		t.Logf("example answer of %s: %s", k, v)
	}
	if len(load.bad) > 0 {
		t.Fatalf("%d writes got a definite rejection:\n%s", len(load.bad), strings.Join(load.bad, "\n"))
	}

	// Every acknowledged write is there, through every node. One pass
	// that retries only unavailability, bounded.
	slugs := make([]string, 0, len(load.camps))
	for s := range load.camps {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	deadline := time.Now().Add(30 * time.Second)
	trailers := 0
	for _, slug := range slugs {
		c := load.camps[slug]
		var seen []byte
		for _, n := range nodes {
			for {
				r, err := send(n, "", "GET", campaignPath(slug), "", 2*time.Second)
				if err == nil && r.Status == 200 {
					switch {
					case bytes.Equal(r.Body, c.last):
					case c.trailer != "" && field(r.Body, "agent_id") == c.trailer:
						if seen == nil {
							trailers++
						}
					default:
						t.Fatalf("acknowledged write lost: GET %s through %s answers\n%s\nlast acknowledged\n%s\n(unconfirmed trailing write: agent_id %q)", slug, n.HTTP, r.Body, c.last, c.trailer)
					}
					if seen != nil && !bytes.Equal(seen, r.Body) {
						t.Fatalf("nodes disagree on %s:\n%s\n%s", slug, seen, r.Body)
					}
					seen = r.Body
					break
				}
				if err == nil && r.Status != 503 {
					t.Fatalf("acknowledged campaign lost: GET %s through %s: %d %s", slug, n.HTTP, r.Status, r.Body)
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s through %s still failing after the load stopped: %v %d %s", slug, n.HTTP, err, r.Status, r.Body)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	t.Logf("checked %d campaigns through %d nodes; %d hold their unconfirmed trailing write", len(slugs), len(nodes), trailers)
	got := listSlugs(t, nodes[len(nodes)-1], "", "?workspace=ws_load")
	for _, slug := range slugs {
		if _, ok := got[slug]; !ok {
			t.Fatalf("listing lacks acknowledged campaign %s", slug)
		}
	}
}

// 5. SIGTERM hands ownership over before the node exits: it exits cleanly,
// and the others serve every campaign well within failure detection time.
func TestClusterGracefulLeaveHandsOver(t *testing.T) {
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot})
	const count = 18
	latest, slugs := createCampaigns(t, nodes, "Leave", "ws_leave", count)
	counts := grainCounts(t, nodes)
	victim := nodes[argmax(counts)]
	survivors := without(nodes, victim)
	t.Logf("campaign grains per node %v; SIGTERM to %s", counts, victim.HTTP)

	// Reads through the survivors during the leave, to count how long they
	// are unavailable.
	// Reads through the survivors during the leave measure how long they
	// see the campaigns unavailable (an error, or no answer within 1 s).
	var (
		mu           sync.Mutex
		stale        []string
		reads, bad   int
		firstBad     time.Time
		lastBad      time.Time
		slowest      time.Duration
		stopReads    = make(chan struct{})
		wg           sync.WaitGroup
		stopReadsNow = func() {
			select {
			case <-stopReads:
			default:
				close(stopReads)
			}
			wg.Wait()
		}
	)
	defer stopReadsNow()
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stopReads:
					return
				default:
				}
				slug := slugs[(k*2+g)%len(slugs)]
				began := time.Now()
				r, err := send(survivors[g], "", "GET", campaignPath(slug), "", 2*time.Second)
				took := time.Since(began)
				mu.Lock()
				reads++
				slowest = max(slowest, took)
				switch {
				case err != nil || r.Status != 200 || took > time.Second:
					bad++
					if firstBad.IsZero() {
						firstBad = began
					}
					lastBad = time.Now()
				case !bytes.Equal(r.Body, latest[slug]):
					stale = append(stale, fmt.Sprintf("%s through %s: %s", slug, survivors[g].HTTP, r.Body))
				}
				mu.Unlock()
				if err != nil || r.Status != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(g)
	}
	time.Sleep(300 * time.Millisecond) // reads before the SIGTERM as a baseline

	start := time.Now()
	err := victim.Stop()
	stopTook := time.Since(start)
	if err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if !strings.Contains(victim.Log(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log of %s", victim.HTTP)
	}
	var served []time.Duration
	for _, slug := range slugs {
		for _, n := range survivors {
			waitServed(t, n, slug, latest[slug], 15*time.Second-time.Since(start))
			served = append(served, time.Since(start))
		}
	}
	all := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	stopReadsNow()
	mu.Lock()
	defer mu.Unlock()
	window := "none"
	if !firstBad.IsZero() {
		window = fmt.Sprintf("from %v to %v after SIGTERM", firstBad.Sub(start).Round(time.Millisecond), lastBad.Sub(start).Round(time.Millisecond))
	}
	t.Logf("graceful leave: process exited %v after SIGTERM; every campaign served through both survivors %v after SIGTERM (%s); "+
		"reads through survivors meanwhile: %d, %d failed or slower than 1 s (%s), slowest %v",
		stopTook.Round(time.Millisecond), all.Round(time.Millisecond), durationStats(served), reads, bad, window, slowest.Round(time.Millisecond))
	if len(stale) > 0 {
		t.Fatalf("survivors answered stale campaigns during the leave:\n%s", strings.Join(stale, "\n"))
	}
	if all > 15*time.Second {
		t.Fatalf("campaigns served again only %v after SIGTERM, over 15 s", all)
	}
	for _, n := range survivors {
		checkListing(t, n, "?workspace=ws_leave", latest)
	}
}
