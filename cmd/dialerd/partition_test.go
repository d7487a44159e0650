package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// netnsHost is a dialerd process in its own network namespace: a host of
// the test's own network on a bridge, so the test can cut it off.
type netnsHost struct {
	t    *testing.T
	ns   string
	ip   string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
}

func (h *netnsHost) url() string { return "http://" + h.ip + ":8080" }

func (h *netnsHost) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

type lockedBuf struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var netnsCalls atomic.Int64

// setupNetns makes n namespaces dn<pid>-<i> with addresses 10.77.<k>.i on a
// bridge that also carries the test host's 10.77.<k>.254. Everything is
// removed at cleanup.
func setupNetns(t *testing.T, n int) (names, ips []string) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed")
	}
	// Unique per call: a namespace's deletion, and its veth's, finish in
	// the background, so the next test must not reuse the names.
	k := netnsCalls.Add(1)
	tag := fmt.Sprintf("%d%d", os.Getpid()%1000, k)
	subnet := fmt.Sprintf("10.77.%d", (os.Getpid()+int(k)*37)%200+20)
	br := "brd" + tag
	sh(t, "ip", "link", "add", br, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", br).Run() })
	sh(t, "ip", "addr", "add", subnet+".254/24", "dev", br)
	sh(t, "ip", "link", "set", br, "up")
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("dn%s-%d", tag, i)
		veth := fmt.Sprintf("vd%s-%d", tag, i)
		ip := fmt.Sprintf("%s.%d", subnet, i)
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		sh(t, "ip", "link", "set", veth, "master", br, "up")
		sh(t, "ip", "netns", "exec", ns, "ip", "addr", "add", ip+"/24", "dev", "eth0")
		sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
		sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
		names, ips = append(names, ns), append(ips, ip)
	}
	return names, ips
}

func startInNetns(t *testing.T, ns, ip string, join []string, extra ...string) *netnsHost {
	t.Helper()
	h := &netnsHost{t: t, ns: ns, ip: ip, log: &bytes.Buffer{}, done: make(chan struct{})}
	args := []string{"netns", "exec", ns, nodetest.Binary(t),
		"--http", ip + ":8080", "--bind", ip + ":7946", "--remote", ip + ":0", "--raft", ip + ":0",
		"--data", filepath.Join(t.TempDir(), "data"), "--bootstrap-token", boot}
	for _, j := range join {
		args = append(args, "--join", j)
	}
	args = append(args, extra...)
	h.cmd = exec.Command("ip", args...)
	w := lockedBuf{&h.mu, h.log}
	h.cmd.Stdout, h.cmd.Stderr = w, w
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.done
		if t.Failed() {
			t.Logf("log of %s:\n%s", ns, h.Log())
		}
	})
	return h
}

func waitReady(t *testing.T, hs []*netnsHost, within time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	for _, h := range hs {
		for {
			res, err := c.Get(h.url() + "/readyz")
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready within %s", h.ns, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// cut makes ns unreachable from (and unable to reach) the other hosts,
// but still reachable from the test host: blackhole routes both ways.
func cut(t *testing.T, hs []*netnsHost, minority *netnsHost, on bool) {
	verb := "add"
	if !on {
		verb = "del"
	}
	for _, h := range hs {
		if h == minority {
			continue
		}
		sh(t, "ip", "netns", "exec", minority.ns, "ip", "route", verb, "blackhole", h.ip+"/32")
		sh(t, "ip", "netns", "exec", h.ns, "ip", "route", verb, "blackhole", minority.ip+"/32")
	}
}

// TestPartitionMinorityRefusesWrites cuts one node of three off from the
// other two: through it, no write is acknowledged and no old value is
// served as current; the majority side keeps working; after healing every
// node agrees on the majority's values.
func TestPartitionMinorityRefusesWrites(t *testing.T) {
	names, ips := setupNetns(t, 3)
	var hs []*netnsHost
	hs = append(hs, startInNetns(t, names[0], ips[0], nil))
	waitReady(t, hs, 30*time.Second)
	for i := 1; i < 3; i++ {
		hs = append(hs, startInNetns(t, names[i], ips[i], []string{ips[0] + ":7946"}))
	}
	waitReady(t, hs, 60*time.Second)
	cl := func(h *netnsHost) client { return client{t: t, url: h.url(), token: boot} }

	const n = 24
	for i := 0; i < n; i++ {
		r := cl(hs[i%3]).do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "part %d", "workspace": "ws_p"}`, i))
		expect(t, r, 201)
	}
	// The first node: the Raft leader, and the one started without
	// --join. Healed, it must find the others again by itself (it once
	// never did: both sides had given the other up).
	minority, majority := hs[0], hs[1:]
	cut(t, hs, minority, true)
	cutAt := time.Now()

	// The minority acknowledges nothing from the moment it is cut off.
	quick := &http.Client{Timeout: 3 * time.Second}
	patch := func(h *netnsHost, slug string, ratio float64) (int, []byte) {
		req, _ := http.NewRequest("PATCH", h.url()+"/api/v/campaign/"+slug+"/", strings.NewReader(fmt.Sprintf(`{"call_ratio": %g}`, ratio)))
		req.Header.Set("Cookie", "access_token="+boot)
		req.Header.Set("Content-Type", "application/json")
		res, err := quick.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	acked := map[string]float64{}
	for i := 0; i < n; i++ {
		slug := fmt.Sprintf("part-%d", i)
		if code, body := patch(minority, slug, 9.5); code/100 == 2 {
			t.Fatalf("the minority acknowledged a write to %s after the cut: %s", slug, body)
		}
	}
	// The majority side takes over the minority's shards and acknowledges.
	deadline := time.Now().Add(45 * time.Second)
	for i := 0; i < n; i++ {
		slug := fmt.Sprintf("part-%d", i)
		ratio := 2 + float64(i)/100
		for {
			if code, _ := patch(majority[i%2], slug, ratio); code == 200 {
				acked[slug] = ratio
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("majority side could not write %s within 45 s of the cut", slug)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("majority side acknowledged all %d writes %.1f s after the cut", n, time.Since(cutAt).Seconds())
	// Still nothing acknowledged, and nothing stale served, by the minority.
	for i := 0; i < n; i++ {
		slug := fmt.Sprintf("part-%d", i)
		if code, body := patch(minority, slug, 9.5); code/100 == 2 {
			t.Fatalf("the minority acknowledged a write to %s: %s", slug, body)
		}
		r := cl(minority).do("GET", "/api/v/campaign/"+slug+"/", "")
		if r.Status == 200 {
			var c map[string]any
			json.Unmarshal(r.Body, &c)
			if c["call_ratio"] != acked[slug] {
				t.Fatalf("the minority served a stale %s as current: call_ratio %v, acknowledged %v", slug, c["call_ratio"], acked[slug])
			}
		}
	}

	cut(t, hs, minority, false)
	waitReady(t, hs, 60*time.Second)
	for _, h := range hs {
		for slug, want := range acked {
			deadline := time.Now().Add(30 * time.Second)
			for {
				r := cl(h).do("GET", "/api/v/campaign/"+slug+"/", "")
				var c map[string]any
				json.Unmarshal(r.Body, &c)
				if r.Status == 200 && c["call_ratio"] == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after healing %s serves %s as %d %s, want call_ratio %v", h.ns, slug, r.Status, r.Body, want)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
}

// A partition cuts the node dialling a campaign off from the other two:
// the majority side takes the campaign over and dials on; the cut-off
// node stops placing calls within its read lease (2 s) and, from the
// platform's record, sends nothing at its old epoch once the new owner's
// epoch arrived; after healing, the call log keeps every rule.
func TestPartitionMinorityStopsDialling(t *testing.T) {
	names, ips := setupNetns(t, 3)
	const secret = "whsec_part_0123456789abcdef0123456789abcdef"
	ctx, cancel := context.WithCancel(context.Background())
	p := &fencePlatform{t: t, secret: secret, ctx: ctx, client: &http.Client{Timeout: 2 * time.Second}}
	t.Cleanup(p.wg.Wait)
	host := ips[0][:strings.LastIndex(ips[0], ".")] + ".254"
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p}}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(cancel)

	start, anchor := "2026-03-09T13:30:00Z", time.Now().UTC().Format(time.RFC3339Nano)
	extra := []string{"--clock", "virtual", "--clock-speed", "120", "--clock-start", start, "--clock-anchor", anchor,
		"--provider", "webhook", "--webhook-url", srv.URL, "--webhook-secret", secret}
	var hs []*netnsHost
	hs = append(hs, startInNetns(t, names[0], ips[0], nil, extra...))
	waitReady(t, hs, 30*time.Second)
	for i := 1; i < 3; i++ {
		hs = append(hs, startInNetns(t, names[i], ips[i], []string{ips[0] + ":7946"}, extra...))
	}
	waitReady(t, hs, 60*time.Second)
	urls := []string{hs[0].url(), hs[1].url(), hs[2].url()}
	p.live.Store(&urls)
	admin := client{t: t, url: hs[0].url(), token: boot}
	expect(t, admin.do("PUT", "/api/v/agent/ha-team/", `{"seats": 6}`), 200)
	expect(t, admin.do("POST", "/api/v/campaign/", fmt.Sprintf(`{"name": "HA", "agent_id": "ha-team", "call_ratio": 2,
		"max_number_calls": %d, "min_time_between_calls": %d, "dialer_interval": 2,
		"earliest_prospect_time": "09:00", "latest_prospect_time": "20:00", "max_wait_time": 30, "wrap_up_time": 2}`,
		haMaxCalls, int(haMinBetween/time.Minute))), 201)
	expect(t, admin.do("POST", "/api/v/list/", `{"name": "HA list", "campaign": "ha"}`), 201)
	var csv strings.Builder
	if _, err := prospectgen.Write(&csv, 200, 21); err != nil {
		t.Fatal(err)
	}
	if up := waitUpload(t, admin, uploadCSV(t, admin, "ha-list", []byte(csv.String()), "true")); up.Status != "completed" {
		t.Fatalf("upload: %s", up.counts())
	}

	// Who dials it; wait for some calls.
	r := admin.do("GET", "/api/v/cluster/?identity=campaign/ha", "")
	expect(t, r, 200)
	var info struct {
		Identity struct {
			Owner     string `json:"owner"`
			OwnerHTTP string `json:"owner_http"`
		} `json:"identity"`
	}
	json.Unmarshal(r.Body, &info)
	var minority *netnsHost
	var majority []*netnsHost
	for _, h := range hs {
		if h.ip+":8080" == info.Identity.OwnerHTTP {
			minority = h
		} else {
			majority = append(majority, h)
		}
	}
	if minority == nil {
		t.Fatalf("campaign/ha owned by %s", info.Identity.OwnerHTTP)
	}
	status := func(h *netnsHost) int {
		c := &http.Client{Timeout: 2 * time.Second}
		req, _ := http.NewRequest("GET", h.url()+"/api/v/campaign/ha/status/", nil)
		req.Header.Set("Cookie", "access_token="+boot)
		res, err := c.Do(req)
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		var s statusDoc
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&s) != nil {
			return -1
		}
		return s.Attempts30d
	}
	waitFor := func(h *netnsHost, n int, within time.Duration) int {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			if a := status(h); a > n {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempts not past %d through %s within %v", n, h.ns, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	before := waitFor(majority[0], 20, 60*time.Second)

	live := []string{majority[0].url(), majority[1].url()}
	p.live.Store(&live)
	cut(t, hs, minority, true)
	cutAt := time.Now()
	waitFor(majority[0], before+10, 60*time.Second)
	tookOver := time.Since(cutAt)
	time.Sleep(5 * time.Second) // the cut-off node, believing itself the owner, has time to try
	cut(t, hs, minority, false)
	healed := time.Now()
	p.live.Store(&urls)
	waitReady(t, hs, 60*time.Second)

	places := p.seen()
	var epochs []uint64
	cutOff := 0
	for _, pl := range places {
		if len(epochs) == 0 || epochs[len(epochs)-1] != pl.epoch {
			epochs = append(epochs, pl.epoch)
		}
		if pl.stale {
			t.Errorf("%s placed %s at epoch %d after a place at a higher epoch", pl.node, pl.call, pl.epoch)
		}
		if pl.node == info.Identity.Owner && pl.at.After(cutAt.Add(3*time.Second)) && pl.at.Before(healed) {
			cutOff++
			t.Errorf("the cut-off node placed %s %v after the cut", pl.call, pl.at.Sub(cutAt).Round(time.Millisecond))
		}
	}
	if len(epochs) < 2 {
		t.Fatalf("places all at epochs %v: the campaign never moved", epochs)
	}
	t.Logf("%d places; epochs in arrival order %v; majority dialling %v after the cut; %d places by the cut-off node while cut (after its lease)",
		len(places), epochs, tookOver.Round(time.Millisecond), cutOff)

	// Pause (retried while the campaign moves back after the heal).
	via := client{t: t, url: majority[0].url(), token: boot}
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := via.do("PATCH", "/api/v/campaign/ha/", `{"paused": true}`)
		if r.Status == 200 {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			expect(t, r, 200)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	checkHALog(t, allCalls(t, via, "ha"))
}
