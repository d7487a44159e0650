package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	tag := fmt.Sprintf("%d", os.Getpid()%10000)
	subnet := fmt.Sprintf("10.77.%d", os.Getpid()%200+20)
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

func startInNetns(t *testing.T, ns, ip string, join []string) *netnsHost {
	t.Helper()
	h := &netnsHost{t: t, ns: ns, ip: ip, log: &bytes.Buffer{}, done: make(chan struct{})}
	args := []string{"netns", "exec", ns, nodetest.Binary(t),
		"--http", ip + ":8080", "--bind", ip + ":7946", "--remote", ip + ":0", "--raft", ip + ":0",
		"--data", filepath.Join(t.TempDir(), "data"), "--bootstrap-token", boot}
	for _, j := range join {
		args = append(args, "--join", j)
	}
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
	minority, majority := hs[2], hs[:2]
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
