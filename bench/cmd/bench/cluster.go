package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench"
	"github.com/dialerd/dialerd/internal/nodetest"
)

type clusterResult struct {
	Command        string           `json:"command"`
	Machine        string           `json:"machine"`
	Date           string           `json:"date"`
	Rate           float64          `json:"rate"`
	Duration       string           `json:"duration"`
	ReadOwner      bench.RateResult `json:"read_owner"`
	ReadNonOwner   bench.RateResult `json:"read_non_owner"`
	WriteR3        bench.RateResult `json:"write_r3"`
	WriteR1        bench.RateResult `json:"write_r1"`
	KillToServing  time.Duration    `json:"kill_to_serving_ns"`
	JoinRebalance  time.Duration    `json:"join_rebalance_ns"`
	ShardsMoved    int              `json:"shards_moved"`
	CampaignsTotal int              `json:"campaigns"`
}

// where asks a node which node owns identity and returns its HTTP address.
func where(url, identity string) (string, error) {
	req, _ := http.NewRequest("GET", url+"/api/v/cluster/?identity="+identity, nil)
	req.Header.Set("Cookie", "access_token="+benchToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var info struct {
		Identity struct {
			OwnerHTTP string `json:"owner_http"`
		} `json:"identity"`
		Status struct {
			UnderReplicated int `json:"under_replicated"`
		} `json:"status"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return "", err
	}
	return info.Identity.OwnerHTTP, nil
}

func underReplicated(url string) (int, uint64, error) {
	req, _ := http.NewRequest("GET", url+"/api/v/cluster/", nil)
	req.Header.Set("Cookie", "access_token="+benchToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	var info struct {
		MapVersion uint64 `json:"map_version"`
		Status     struct {
			UnderReplicated int `json:"under_replicated"`
		} `json:"status"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	return info.Status.UnderReplicated, info.MapVersion, err
}

// runCluster measures a 3-node cluster: reads through the owner and
// through another node, writes with R=3 against a single node (R=1), the
// time from kill -9 of an owner to its campaign being served again, and
// how long a fourth node's join takes to settle.
func runCluster(ctx context.Context, h *harness, d time.Duration) (string, error) {
	var res clusterResult
	err := catch(func() error {
		first := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken})
		nodes := []*nodetest.Node{first}
		for i := 0; i < 2; i++ {
			nodes = append(nodes, nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Join: []string{first.Gossip}}))
		}
		if err := waitSettled(nodes[0].URL, 60*time.Second); err != nil {
			return err
		}
		const campaigns = 60
		for i := 0; i < campaigns; i++ {
			if _, err := call("POST", nodes[i%3].URL+"/api/v/campaign/", fmt.Sprintf(`{"name": "bench %d", "workspace": "ws_b"}`, i), 201); err != nil {
				return err
			}
		}
		res.CampaignsTotal = campaigns
		// A campaign owned by node 0.
		slug := ""
		for i := 0; i < campaigns && slug == ""; i++ {
			s := fmt.Sprintf("bench-%d", i)
			owner, err := where(nodes[0].URL, "campaign/"+s)
			if err != nil {
				return err
			}
			if owner == nodes[0].HTTP {
				slug = s
			}
		}
		if slug == "" {
			return fmt.Errorf("node 0 owns none of %d campaigns", campaigns)
		}
		hdr := map[string]string{"Cookie": "access_token=" + benchToken}
		rate := 2000.0
		res.Rate = rate
		var err error
		if res.ReadOwner, err = bench.FixedRate(ctx, bench.Request{Method: "GET", URL: nodes[0].URL + "/api/v/campaign/" + slug + "/", Header: hdr}, rate, d, 32); err != nil {
			return err
		}
		if res.ReadNonOwner, err = bench.FixedRate(ctx, bench.Request{Method: "GET", URL: nodes[1].URL + "/api/v/campaign/" + slug + "/", Header: hdr}, rate, d, 32); err != nil {
			return err
		}
		wh := map[string]string{"Cookie": "access_token=" + benchToken, "Content-Type": "application/json"}
		patch := []byte(`{"call_ratio": 1.5}`)
		writeRate := 300.0
		if res.WriteR3, err = bench.FixedRate(ctx, bench.Request{Method: "PATCH", URL: nodes[0].URL + "/api/v/campaign/" + slug + "/", Header: wh, Body: patch}, writeRate, d, 32); err != nil {
			return err
		}
		single := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Args: []string{"--replicas", "1"}})
		if _, err := call("POST", single.URL+"/api/v/campaign/", `{"name": "single"}`, 201); err != nil {
			return err
		}
		if res.WriteR1, err = bench.FixedRate(ctx, bench.Request{Method: "PATCH", URL: single.URL + "/api/v/campaign/single/", Header: wh, Body: patch}, writeRate, d, 32); err != nil {
			return err
		}
		single.Kill()

		// kill -9 of the owner: time until the campaign is served again.
		killed := dialerd.Stopwatch()
		nodes[0].Kill()
		// Poll with a short timeout: a request that waits on the dead owner
		// would otherwise hide when service came back.
		quick := &http.Client{Timeout: 250 * time.Millisecond}
		for {
			req, _ := http.NewRequest("GET", nodes[1].URL+"/api/v/campaign/"+slug+"/", nil)
			req.Header.Set("Cookie", "access_token="+benchToken)
			if res, err := quick.Do(req); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if time.Since(killed) > 60*time.Second {
				return fmt.Errorf("not served 60 s after kill -9")
			}
			time.Sleep(20 * time.Millisecond)
		}
		res.KillToServing = time.Since(killed)
		nodes[0].Restart()
		if err := waitSettled(nodes[1].URL, 60*time.Second); err != nil {
			return err
		}
		// A fourth node joins: time until every shard is established again.
		_, before, _ := underReplicated(nodes[1].URL)
		joined := dialerd.Stopwatch()
		nodes = append(nodes, nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Join: []string{nodes[1].Gossip}}))
		if err := waitSettled(nodes[1].URL, 120*time.Second); err != nil {
			return err
		}
		res.JoinRebalance = time.Since(joined)
		_, after, _ := underReplicated(nodes[1].URL)
		res.ShardsMoved = int(after - before)
		return nil
	})
	if err != nil {
		return "", err
	}
	res.Command = "make bench BENCHFLAGS='-scenario cluster -duration " + d.String() + "'"
	res.Machine, res.Date, res.Duration = machine(), dialerd.Stopwatch().UTC().Format(time.RFC3339), d.String()
	saveJSON("cluster", res)
	return renderCluster(res), nil
}

// waitSettled waits until the map has no under-replicated or unestablished
// shard, as node url sees it, twice in a row.
func waitSettled(url string, within time.Duration) error {
	deadline := dialerd.Stopwatch().Add(within)
	calm := 0
	for dialerd.Stopwatch().Before(deadline) {
		n, _, err := underReplicated(url)
		if err == nil && n == 0 {
			calm++
			if calm == 2 {
				return nil
			}
		} else {
			calm = 0
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("cluster did not settle within %s", within)
}

func renderCluster(r clusterResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Cluster: 3 nodes on loopback, R = 3\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n", r.Command, r.Machine, r.Date)
	fmt.Fprintf(&b, "- open-loop fixed rate, %s per run, 32 connections; every process shares the 2 cores.\n\n", r.Duration)
	b.WriteString("| measure | rate/s | achieved/s | p50 µs | p99 µs | errors |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(name string, x bench.RateResult) {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %d |\n", name, x.Rate, x.Achieved, x.Latency.P50, x.Latency.P99, x.Errors)
	}
	row("GET campaign through its owner", r.ReadOwner)
	row("GET campaign through another node (one extra hop)", r.ReadNonOwner)
	row("PATCH campaign, R = 3 (majority of 3 fsynced)", r.WriteR3)
	row("PATCH campaign, single node, R = 1", r.WriteR1)
	fmt.Fprintf(&b, "\n- extra hop: p50 +%.0f µs, p99 ×%.2f\n", r.ReadNonOwner.Latency.P50-r.ReadOwner.Latency.P50, r.ReadNonOwner.Latency.P99/r.ReadOwner.Latency.P99)
	fmt.Fprintf(&b, "- write R = 3 vs R = 1: p50 ×%.2f, p99 ×%.2f\n", r.WriteR3.Latency.P50/r.WriteR1.Latency.P50, r.WriteR3.Latency.P99/r.WriteR1.Latency.P99)
	fmt.Fprintf(&b, "- `kill -9` of a campaign's owner → the campaign served again through a survivor: **%.1f s** (failure detection, re-plan, hand-over incl. the 2 s lease wait)\n", r.KillToServing.Seconds())
	fmt.Fprintf(&b, "- a 4th node joins (60 campaigns): every shard re-established after **%.1f s**; map versions advanced by %d (each placement change or establishment is one)\n", r.JoinRebalance.Seconds(), r.ShardsMoved)
	return b.String()
}
