package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/load"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// loadSpec is the load scenario's configuration: what to drive, and
// where — nodes it starts (Nodes) or nodes already running (Targets).
type loadSpec struct {
	Targets     []string // base URLs of running nodes; empty: start Nodes
	Nodes       int
	NodeArgs    []string // extra flags for the nodes it starts
	Token       string
	Mix         string
	Concurrency int
	Rate        float64 // > 0: open loop at this rate
	Duration    time.Duration
	Seed        uint64
	Command     string
}

type loadResult struct {
	Command string       `json:"command"`
	Machine string       `json:"machine"`
	Date    string       `json:"date"`
	LoadAvg string       `json:"loadavg"`
	Spec    loadSpec     `json:"spec"`
	Result  *load.Result `json:"result"`
	Error   string       `json:"error,omitempty"`
}

// runLoad drives a request mix against one node or a cluster — nodes it
// starts, or nodes already running (sizing a deployment) — spreading the
// requests over every node, and reports throughput, latency percentiles,
// errors and, for the nodes it started, their summed CPU and memory.
func runLoad(ctx context.Context, h *harness, sp loadSpec) (string, error) {
	res := loadResult{Command: sp.Command, Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(), Spec: sp}
	err := catch(func() error {
		urls := sp.Targets
		var samplers []func() load.Sample
		if len(urls) == 0 {
			nodes := startCluster(h, sp.Nodes, sp.NodeArgs)
			for _, n := range nodes {
				urls = append(urls, n.URL)
			}
			if len(nodes) > 1 {
				if err := waitSettled(urls[0], 60*time.Second); err != nil {
					return err
				}
			}
			// Each node's sampler starts now, so its first CPU figure
			// covers the run, not the node's start.
			for _, n := range nodes {
				samplers = append(samplers, load.ProcSampler(n.Pid()))
			}
		}
		ds, err := load.NewDataset(load.Spec{Seed: sp.Seed, Campaigns: 200})
		if err != nil {
			return err
		}
		first := load.DialerdAPI(urls[0], sp.Token)
		if err := load.Setup(ctx, nil, first.Setup(ds), 16); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		perNode := make([]map[string]load.Op, len(urls))
		for i, u := range urls {
			perNode[i] = load.DialerdAPI(u, sp.Token).Ops(ds)
		}
		ops := load.Spread(perNode...)
		mix, err := load.ParseMix(sp.Mix, ops)
		if err != nil {
			return err
		}
		var sample func() load.Sample
		if len(samplers) > 0 {
			sample = load.SumSamplers(samplers...)
		}
		res.Result, err = load.Run(ctx, load.Config{Name: fmt.Sprintf("dialerd ×%d", len(urls)), Ops: ops, Mix: mix, Seed: sp.Seed,
			Concurrency: sp.Concurrency, Rate: sp.Rate, Duration: sp.Duration, Progress: os.Stderr, Sample: sample})
		return err
	})
	if err != nil {
		res.Error = err.Error()
	}
	saveJSON("load", res)
	if res.Result != nil {
		if f, ferr := createChart("load.svg"); ferr == nil {
			res.Result.SVG(f)
			f.Close()
		}
	}
	if err != nil {
		return "", err
	}
	return renderLoad(res), nil
}

// startCluster starts n nodes, the others joining the first (R is the
// nodes' default: min(3, n)).
func startCluster(h *harness, n int, args []string) []*nodetest.Node {
	first := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Args: args})
	nodes := []*nodetest.Node{first}
	for i := 1; i < n; i++ {
		nodes = append(nodes, nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Args: args, Join: []string{first.Gossip}}))
	}
	return nodes
}

func renderLoad(r loadResult) string {
	var b strings.Builder
	where := fmt.Sprintf("%d node(s) started by the harness, default flags (R = min(3, nodes), fsync on every write), on loopback, sharing the machine's cores with the load generator", r.Spec.Nodes)
	if len(r.Spec.Targets) > 0 {
		where = fmt.Sprintf("running nodes %s (not started by the harness: no CPU/RSS figures)", strings.Join(r.Spec.Targets, ", "))
	}
	loop := fmt.Sprintf("closed loop, %d connections", r.Spec.Concurrency)
	if r.Spec.Rate > 0 {
		loop = fmt.Sprintf("open loop at %.0f req/s (latency from each request's scheduled send), at most %d in flight", r.Spec.Rate, r.Spec.Concurrency)
	}
	fmt.Fprintf(&b, "## Load: a request mix against dialerd\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- target: %s; requests spread over the nodes (each request to a node drawn from its number, so a seed replays).\n", where)
	fmt.Fprintf(&b, "- load: `bench/load`, fasthttp client, %s, mix `%s`, %s; 200 fixture campaigns and two lists made first. JSON: bench/out/load.json.\n\n", loop, r.Spec.Mix, r.Spec.Duration)
	b.WriteString(r.Result.Markdown())
	b.WriteString("\n![throughput and latency of the load run](charts/load.svg)\n")
	return b.String()
}
