package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
	"github.com/dialerd/dialerd/provider"
)

// dialingCluster is three nodes on one virtual timeline dialling campaign
// "ha" from an uploaded list. At ×120 min_time_between_calls (an hour) is
// longer than a take-over after a kill takes in virtual time (≈ 8 s of
// wall time, 16 min), so a prospect whose call was in flight at a node's
// death and is dialled again at the take-over breaks it.
type dialingCluster struct {
	nodes    []*nodetest.Node
	accepted int
	list     string
	start    time.Time // virtual time at anchor
	anchor   time.Time
	speed    float64
}

// virtual is the cluster's clock reading at wall time w.
func (dc *dialingCluster) virtual(w time.Time) time.Time {
	return dc.start.Add(time.Duration(float64(w.Sub(dc.anchor)) * dc.speed))
}

const (
	haMinBetween = 60 * time.Minute
	haMaxCalls   = 3
)

func startDialingCluster(t *testing.T, speed float64, rows int, extra ...string) *dialingCluster {
	t.Helper()
	dc := &dialingCluster{start: time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC), anchor: time.Now().UTC(), speed: speed}
	// Monday 2026-03-09 13:30 UTC: 09:30 in New York, before the window
	// opens in the west; the anchor puts every node, and every restart,
	// on the same timeline.
	args := append([]string{"--clock", "virtual", "--clock-speed", fmt.Sprint(speed), "--clock-start", dc.start.Format(time.RFC3339),
		"--clock-anchor", dc.anchor.Format(time.RFC3339Nano)}, extra...)
	nodes := nodetest.StartCluster(t, 3, nodetest.Options{BootstrapToken: boot, Args: args})
	admin := client{t: t, url: nodes[0].URL, token: boot}
	expect(t, admin.do("PUT", "/api/v/agent/ha-team/", `{"seats": 6}`), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "HA", "agent_id": "ha-team", "call_ratio": 2,
		"max_number_calls": %d, "min_time_between_calls": %d, "dialer_interval": 2, "paused": true,
		"earliest_prospect_time": "09:00", "latest_prospect_time": "20:00", "max_wait_time": 30, "wrap_up_time": 2}`,
		haMaxCalls, int(haMinBetween/time.Minute))), 201)
	r := admin.do("POST", "/api/v/list/", `{"name": "HA list", "campaign": "ha"}`)
	expect(t, r, 201)
	dc.nodes, dc.list = nodes, r.JSON(t)["uuid"].(string)
	var csv strings.Builder
	// Few enough that every prospect is dialled within the run: a
	// prospect put back too early at a take-over is dialled again.
	if _, err := prospectgen.Write(&csv, rows, 21); err != nil {
		t.Fatal(err)
	}
	up := waitUpload(t, admin, uploadCSV(t, admin, "ha-list", []byte(csv.String()), "true"))
	if up.Status != "completed" || up.Accepted == 0 {
		t.Fatalf("upload: %s", up.counts())
	}
	dc.accepted = up.Accepted
	expect(t, admin.do("PATCH", "/api/v/campaign/ha/", `{"paused": false}`), 200)
	return dc
}

// owner is the node that owns identity now.
func (dc *dialingCluster) owner(t *testing.T, via *nodetest.Node, identity string) *nodetest.Node {
	t.Helper()
	n, _ := dc.ownerID(t, via, identity)
	return n
}

// ownerID is the node that owns identity now, and its node ID.
func (dc *dialingCluster) ownerID(t *testing.T, via *nodetest.Node, identity string) (*nodetest.Node, string) {
	t.Helper()
	r := must(t, via, "GET", "/api/v/cluster/?identity="+identity, "", 200)
	var info struct {
		Identity struct {
			Owner     string `json:"owner"`
			OwnerHTTP string `json:"owner_http"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(r.Body, &info); err != nil {
		t.Fatal(err)
	}
	for _, n := range dc.nodes {
		if n.HTTP == info.Identity.OwnerHTTP {
			return n, info.Identity.Owner
		}
	}
	t.Fatalf("%s owned by %q, not a node of the cluster", identity, info.Identity.OwnerHTTP)
	return nil, ""
}

// attempts reads attempts_30d through n; -1 while it does not answer.
func attempts(n *nodetest.Node) int {
	r, err := send(n, boot, "GET", "/api/v/campaign/ha/status/", "", 2*time.Second)
	if err != nil || r.Status != 200 {
		return -1
	}
	var s statusDoc
	if json.Unmarshal(r.Body, &s) != nil {
		return -1
	}
	return s.Attempts30d
}

// waitAttempts waits until campaign ha has made more than n attempts,
// asking through via; it returns the count and the wall time it took.
func waitAttempts(t *testing.T, via *nodetest.Node, n int, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		if a := attempts(via); a > n {
			return a, time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("campaign ha not past %d attempts within %v (now %d)", n, within, attempts(via))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkHALog holds the call log to what a node's death must not break: no
// prospect called again within min_time_between_calls or while its call
// was in progress, none outside the window in any of its zones, at most
// max_number_calls each, attempt numbers rising (a lease whose campaign
// died before recording its call leaves a gap), every call ended.
func checkHALog(t *testing.T, calls []callRec) {
	t.Helper()
	var bad []string
	fail := func(format string, args ...any) {
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	by := map[string][]callRec{}
	for _, c := range calls {
		if c.EndedAt == nil {
			fail("%s never ended", c.ID)
			continue
		}
		by[c.List+"/"+c.Prospect] = append(by[c.List+"/"+c.Prospect], c)
		for _, z := range c.Timezones {
			loc, err := time.LoadLocation(z)
			if err != nil {
				fail("%s: zone %q", c.ID, z)
				continue
			}
			h, m, s := c.StartedAt.In(loc).Clock()
			if sec := h*3600 + m*60 + s; sec < 9*3600 || sec >= 20*3600 {
				fail("%s placed at %s local (%s)", c.ID, c.StartedAt.In(loc).Format(time.TimeOnly), z)
			}
		}
	}
	for key, cs := range by {
		sort.Slice(cs, func(i, j int) bool { return cs[i].StartedAt.Before(cs[j].StartedAt) })
		if len(cs) > haMaxCalls {
			fail("%s called %d times", key, len(cs))
		}
		for i := 1; i < len(cs); i++ {
			if gap := cs[i].StartedAt.Sub(cs[i-1].StartedAt); gap < haMinBetween {
				fail("%s called at %s (%s) and %s (%s): %v apart", key, cs[i-1].StartedAt, cs[i-1].ID, cs[i].StartedAt, cs[i].ID, gap)
			}
			if cs[i].StartedAt.Before(*cs[i-1].EndedAt) {
				fail("%s: %s placed while %s was in progress", key, cs[i].ID, cs[i-1].ID)
			}
			if cs[i].Attempt <= cs[i-1].Attempt {
				fail("%s: attempt %d after attempt %d", key, cs[i].Attempt, cs[i-1].Attempt)
			}
		}
	}
	if len(bad) > 0 {
		t.Fatalf("call log breaks the rules:\n  %s", strings.Join(bad, "\n  "))
	}
}

// checkProspects: every prospect the upload acknowledged is still in the
// list, once.
func (dc *dialingCluster) checkProspects(t *testing.T, via *nodetest.Node) {
	t.Helper()
	c := client{t: t, url: via.URL, token: boot}
	seen := map[string]bool{}
	cursor := ""
	for {
		r := c.do("GET", "/api/v/list/"+dc.list+"/prospects/?limit=1000&cursor="+cursor, "")
		expect(t, r, 200)
		var page struct {
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Results {
			if seen[p.ID] {
				t.Fatalf("prospect %s listed twice", p.ID)
			}
			seen[p.ID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != dc.accepted {
		t.Fatalf("%d prospects in the list, the upload acknowledged %d", len(seen), dc.accepted)
	}
}

// kill -9 of the node that owns a dialling campaign: another node takes
// the campaign over and dials on; the calls in flight at the kill are
// closed as unknown and their prospects wait min_time_between_calls; the
// call log read afterwards keeps every rule, and every prospect is there.
func TestClusterDialingSurvivesOwnerKill9(t *testing.T) {
	dc := startDialingCluster(t, 120, 80)
	owner := dc.owner(t, dc.nodes[0], "campaign/ha")
	survivors := without(dc.nodes, owner)
	before, _ := waitAttempts(t, survivors[0], 30, 60*time.Second)

	owner.Kill()
	killed := time.Now()
	// Dialling resumed: attempts rise past what they were at the kill, as
	// read through a survivor (the new owner's first status may lag the
	// calls it placed by a tick).
	after, took := waitAttempts(t, survivors[0], before+10, 60*time.Second)
	t.Logf("campaign owned by %s, killed at %d attempts; %d attempts %v after the kill (new owner %s)",
		owner.HTTP, before, after, took.Round(time.Millisecond), dc.owner(t, survivors[0], "campaign/ha").HTTP)
	// Dial on for a while (forty minutes of virtual time).
	time.Sleep(20 * time.Second)
	via := client{t: t, url: survivors[0].URL, token: boot}
	expect(t, via.do("PATCH", "/api/v/campaign/ha/", `{"paused": true}`), 200)
	time.Sleep(6 * time.Second) // calls in progress end (rings ≤ 40 s, talks ≤ 10 min: 5 s at ×120)
	calls := allCalls(t, via, "ha")
	unknown := 0
	for _, c := range calls {
		if c.Outcome == "unknown" {
			unknown++
		}
	}
	if len(calls) < after {
		t.Fatalf("call log has %d calls, status said %d attempts", len(calls), after)
	}
	checkHALog(t, calls)
	dc.checkProspects(t, survivors[0])
	t.Logf("%d calls in the log, %d closed as unknown (in flight at the kill); %v from the kill to the end of the run",
		len(calls), unknown, time.Since(killed).Round(time.Millisecond))
}

// fencePlatform stands in for a voice platform in the SIGSTOP test: it
// records every place it receives (which node sent it, when, at what
// epoch), refuses one whose epoch is below the highest it has seen (as
// docs/webhook.md asks platforms to), and posts each accepted call's
// outcome (never answered: no seat is involved) to a node that is running.
type fencePlatform struct {
	t      *testing.T
	secret string
	ctx    context.Context
	client *http.Client
	wg     sync.WaitGroup
	seq    atomic.Int64
	live   atomic.Pointer[[]string] // node URLs events may go to

	mu       sync.Mutex
	places   []placeSeen
	maxEpoch uint64
}

type placeSeen struct {
	call, node string
	at         time.Time
	epoch      uint64
	stale      bool // below an epoch seen before it
}

func (p *fencePlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // cut off before its body was whole: not a request at all
	}
	if err := webhookAuthentic(p.secret, r.Header.Get("X-Dialerd-Signature"), body, time.Now()); err != nil {
		p.t.Errorf("platform: %s: %v", r.URL, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/calls" {
		w.WriteHeader(http.StatusOK) // hangups of calls the node gave up on
		return
	}
	var c provider.Call
	if err := json.Unmarshal(body, &c); err != nil {
		p.t.Errorf("platform: bad place %s", body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	stale := c.Epoch < p.maxEpoch
	p.maxEpoch = max(p.maxEpoch, c.Epoch)
	p.places = append(p.places, placeSeen{call: c.ID, node: r.Header.Get("X-Dialerd-Node"), at: time.Now(), epoch: c.Epoch, stale: stale})
	p.mu.Unlock()
	if stale {
		w.WriteHeader(http.StatusConflict)
		return
	}
	// A slow platform: each place takes a while to accept, so a node
	// always has places queued — the ones a frozen owner holds when it
	// is thawed.
	time.Sleep(100 * time.Millisecond)
	w.WriteHeader(http.StatusCreated)
	outcome := []string{provider.EventNoAnswer, provider.EventBusy, provider.EventMachine, provider.EventFailed}[p.seq.Add(1)%4]
	p.wg.Add(1)
	go p.post(c.ID, outcome)
}

// post sends a call's outcome to a running node, trying others while the
// campaign moves (503) for a few seconds; an outcome that never lands is
// the dialer's to close as unknown.
func (p *fencePlatform) post(call, outcome string) {
	defer p.wg.Done()
	body, _ := json.Marshal(platformEvent{ID: fmt.Sprintf("ev_%d", p.seq.Add(1)), Call: call, Type: outcome})
	for i := 0; i < 50; i++ {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-p.ctx.Done():
			return
		}
		urls := *p.live.Load()
		req, _ := http.NewRequestWithContext(p.ctx, "POST", urls[i%len(urls)]+"/api/v/call/"+url.PathEscape(call)+"/event/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Dialerd-Signature", signWebhook(p.secret, time.Now(), body))
		res, err := p.client.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotFound {
			return // recorded, or a call already closed
		}
	}
}

func (p *fencePlatform) seen() []placeSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]placeSeen(nil), p.places...)
}

// SIGSTOP of the node dialling a campaign, past failure detection: another
// node takes the campaign over and dials on; SIGCONT: the old owner,
// frozen in the middle of its work, places no call from then on — shown
// from the platform's own record of the places it received and which node
// sent each.
func TestClusterFrozenOwnerPlacesNothing(t *testing.T) {
	const secret = "whsec_fence_0123456789abcdef0123456789abcdef"
	ctx, cancel := context.WithCancel(context.Background())
	p := &fencePlatform{t: t, secret: secret, ctx: ctx, client: &http.Client{Timeout: 2 * time.Second}}
	t.Cleanup(p.wg.Wait)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(cancel)

	dc := startDialingCluster(t, 120, 80, "--provider", "webhook", "--webhook-url", srv.URL, "--webhook-secret", secret)
	urls := []string{}
	for _, n := range dc.nodes {
		urls = append(urls, n.URL)
	}
	p.live.Store(&urls)
	old, oldID := dc.ownerID(t, dc.nodes[0], "campaign/ha")
	survivors := without(dc.nodes, old)
	before, _ := waitAttempts(t, survivors[0], 30, 60*time.Second)

	// Freeze the owner mid-work; events go to the others from now on.
	live := []string{survivors[0].URL, survivors[1].URL}
	p.live.Store(&live)
	old.Pause()
	frozen := time.Now()
	after, took := waitAttempts(t, survivors[0], before+10, 60*time.Second)
	newOwner, newID := dc.ownerID(t, survivors[0], "campaign/ha")
	if newID == oldID {
		t.Fatalf("campaign still owned by the frozen node %s", oldID)
	}
	// The old owner wakes up believing it owns the campaign, with its
	// timers overdue: let it run a while.
	old.Resume()
	resumed := time.Now()
	time.Sleep(6 * time.Second)
	waitAttempts(t, survivors[0], after, 30*time.Second)

	// From the platform's record: the old owner sent nothing at its old
	// epoch once the new owner's epoch had reached the platform (it may
	// own the campaign again later, at a newer epoch: the map moves
	// shards back to a node that rejoins).
	places := p.seen()
	var epochs []uint64
	byOld, stale := 0, 0
	for _, pl := range places {
		if len(epochs) == 0 || epochs[len(epochs)-1] != pl.epoch {
			epochs = append(epochs, pl.epoch)
		}
		if pl.node == oldID {
			byOld++
		}
		if pl.stale {
			stale++
			t.Errorf("%s placed %s at %s at epoch %d, after a place at a higher epoch", pl.node, pl.call, pl.at.Format(time.StampMicro), pl.epoch)
		}
	}
	if len(epochs) < 2 {
		t.Fatalf("places all at epochs %v: the campaign never moved", epochs)
	}
	t.Logf("%d places, %d by the frozen node %s; epochs in arrival order %v; dialling resumed through %s %v after the freeze; thawed at +%v",
		len(places), byOld, oldID, epochs, newID, took.Round(time.Millisecond), resumed.Sub(frozen).Round(time.Millisecond))

	// The log keeps the rules across the hand-over and the thaw.
	via := client{t: t, url: newOwner.URL, token: boot}
	expect(t, via.do("PATCH", "/api/v/campaign/ha/", `{"paused": true}`), 200)
	time.Sleep(2 * time.Second)
	checkHALog(t, allCalls(t, via, "ha"))
}

// waitIdle waits until campaign ha has no call in progress.
func waitIdle(t *testing.T, via *nodetest.Node, within time.Duration) {
	t.Helper()
	c := client{t: t, url: via.URL, token: boot}
	deadline := time.Now().Add(within)
	for {
		s := getStatus(t, c, "ha")
		if s.Calls.Ringing+s.Calls.Connected+s.Calls.Queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still in progress after %v: %+v", within, s.Calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Every node restarted in turn (SIGTERM, then started again on its data)
// while the campaign dials (×30: a tick of 2 s is 67 ms of wall time):
// dialling goes on through each restart, the owner's graceful leave hands
// the campaign over, and the call log keeps every rule.
func TestClusterRollingRestartWhileDialing(t *testing.T) {
	dc := startDialingCluster(t, 30, 400)
	n0 := dc.nodes[0]
	count, _ := waitAttempts(t, n0, 15, 60*time.Second)
	type stop struct {
		at       time.Time
		owner    bool
		took     time.Duration
		restarts time.Duration
	}
	var stops []stop
	for i, n := range dc.nodes {
		other := dc.nodes[(i+1)%len(dc.nodes)]
		owned := dc.owner(t, other, "campaign/ha") == n
		began := time.Now()
		if err := n.Stop(); err != nil {
			t.Fatalf("SIGTERM %s: %v", n.HTTP, err)
		}
		took := time.Since(began)
		n.Restart()
		nodetest.WaitReady(t, dc.nodes, 60*time.Second)
		stops = append(stops, stop{at: began, owner: owned, took: took, restarts: time.Since(began)})
		count, _ = waitAttempts(t, other, count+5, 60*time.Second)
	}
	via := client{t: t, url: n0.URL, token: boot}
	expect(t, via.do("PATCH", "/api/v/campaign/ha/", `{"paused": true}`), 200)
	waitIdle(t, n0, 60*time.Second)
	calls := allCalls(t, via, "ha")
	checkHALog(t, calls)
	dc.checkProspects(t, n0)

	// The longest pause in placing around each SIGTERM, from the log (an
	// upper bound on the hand-over's: six seats talking also pause it).
	starts := make([]time.Time, len(calls))
	for i, c := range calls {
		starts[i] = c.StartedAt
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	for i, st := range stops {
		from, to := dc.virtual(st.at), dc.virtual(st.at.Add(st.restarts))
		var gap time.Duration
		for k := 1; k < len(starts); k++ {
			if starts[k].After(from) && starts[k-1].Before(to) {
				gap = max(gap, starts[k].Sub(starts[k-1]))
			}
		}
		t.Logf("node %d: SIGTERM took %v, back and settled after %v, owned the campaign: %v; longest pause in placing meanwhile %v virtual = %v of wall time",
			i, st.took.Round(time.Millisecond), st.restarts.Round(time.Millisecond), st.owner, gap.Round(time.Second), (time.Duration(float64(gap) / dc.speed)).Round(time.Millisecond))
	}
	t.Logf("%d calls in the log", len(calls))
}
