package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench"
	"github.com/dialerd/dialerd/internal/nodetest"
)

const benchToken = "bench-admin-token"

type target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Auth bool   `json:"auth"`
}

type httpPathResult struct {
	Command    string                       `json:"command"`
	Machine    string                       `json:"machine"`
	Date       string                       `json:"date"`
	Duration   string                       `json:"duration"`
	BodySizes  map[string]int               `json:"body_sizes"`
	Saturation map[string][]bench.WrkResult `json:"saturation"` // per target, per round
	Best       map[string]bench.WrkResult   `json:"best"`
	FixedRate  map[string]bench.RateResult  `json:"fixed_rate"`
}

// runHTTPPath measures GET campaign and GET status through the whole stack
// (HTTP → auth → cluster → grain → reply) against a bare fasthttp handler
// answering bodies of the same sizes: saturation with wrk, then a fixed
// rate of half the bare handler's throughput.
func runHTTPPath(ctx context.Context, h *harness, d time.Duration, rounds int) (string, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return "", fmt.Errorf("wrk not found: apt-get install -y wrk")
	}
	var res httpPathResult
	err := catch(func() error {
		node := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken})
		create := `{"name": "February Reminders", "agent_id": "agent_abc123", "workspace": "ws_001", "email": "owner@example.com", "locale_name": "USCA", "earliest_prospect_time": "09:00:00", "latest_prospect_time": "21:00:00", "call_ratio": 1.0, "max_number_calls": 10, "min_time_between_calls": 30, "dialer_interval": 10}`
		getBody, err := call("POST", node.URL+"/api/v/campaign/", create, 201)
		if err != nil {
			return err
		}
		statusBody, err := call("GET", node.URL+"/api/v/campaign/february-reminders/status/", "", 200)
		if err != nil {
			return err
		}
		bareBin := buildTool(h, "./bench/cmd/bare")
		bareAddr := "127.0.0.1:" + strconv.Itoa(nodetest.FreePort(h))
		bare := exec.Command(bareBin, "-addr", bareAddr, "-get-size", strconv.Itoa(len(getBody)), "-status-size", strconv.Itoa(len(statusBody)))
		if err := bare.Start(); err != nil {
			return err
		}
		h.Cleanup(func() { bare.Process.Kill(); bare.Wait() })
		if err := waitPort(bareAddr); err != nil {
			return err
		}
		targets := []target{
			{"bare GET (campaign-sized)", "http://" + bareAddr + "/get", false},
			{"dialerd GET /campaign/{slug}/", node.URL + "/api/v/campaign/february-reminders/", true},
			{"bare GET (status-sized)", "http://" + bareAddr + "/status", false},
			{"dialerd GET /campaign/{slug}/status/", node.URL + "/api/v/campaign/february-reminders/status/", true},
		}
		res = httpPathResult{
			Command: "make bench BENCHFLAGS='-scenario http-path -duration " + d.String() + "'", Machine: machine(),
			Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), Duration: d.String(),
			BodySizes:  map[string]int{"campaign": len(getBody), "status": len(statusBody)},
			Saturation: map[string][]bench.WrkResult{}, Best: map[string]bench.WrkResult{}, FixedRate: map[string]bench.RateResult{},
		}
		hdr := "Cookie: access_token=" + benchToken
		for _, t := range targets { // warm-up
			if _, err := bench.Wrk(ctx, t.URL, hdr, 2, 64, 3*time.Second); err != nil {
				return err
			}
		}
		for r := 0; r < rounds; r++ {
			for _, t := range targets {
				w, err := bench.Wrk(ctx, t.URL, hdr, 2, 64, d)
				if err != nil {
					return err
				}
				h.Logf("round %d %-40s %8.0f req/s p99 %6.0f µs errors %d", r+1, t.Name, w.RPS, w.Latency.P99, w.Errors)
				res.Saturation[t.Name] = append(res.Saturation[t.Name], w)
				if w.RPS > res.Best[t.Name].RPS {
					res.Best[t.Name] = w
				}
			}
		}
		rate := res.Best[targets[0].Name].RPS / 2
		for _, t := range targets {
			fr, err := bench.FixedRate(ctx, bench.Request{Method: "GET", URL: t.URL, Header: map[string]string{"Cookie": "access_token=" + benchToken}}, rate, d, 64)
			if err != nil {
				return err
			}
			h.Logf("fixed %.0f/s %-40s p50 %6.0f µs p99 %6.0f µs errors %d", rate, t.Name, fr.Latency.P50, fr.Latency.P99, fr.Errors)
			res.FixedRate[t.Name] = fr
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	saveJSON("http-path", res)
	return renderHTTPPath(res), nil
}

func renderHTTPPath(r httpPathResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Request path: HTTP → cluster → grain, against a bare fasthttp handler\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n", r.Command, r.Machine, r.Date)
	fmt.Fprintf(&b, "- load: wrk `-t2 -c64`, %s per run, best of %d rounds for every target alike, after a 3 s warm-up; wrk, the servers and the harness share the cores.\n", r.Duration, len(r.Saturation["bare GET (campaign-sized)"]))
	fmt.Fprintf(&b, "- bodies: campaign %d B, status %d B; the bare handler answers bodies of exactly those sizes.\n\n", r.BodySizes["campaign"], r.BodySizes["status"])
	b.WriteString("### Saturation\n\n| target | req/s | p50 µs | p99 µs | errors | vs bare |\n|---|---:|---:|---:|---:|---:|\n")
	pairs := [][2]string{{"bare GET (campaign-sized)", "dialerd GET /campaign/{slug}/"}, {"bare GET (status-sized)", "dialerd GET /campaign/{slug}/status/"}}
	for _, p := range pairs {
		bare, full := r.Best[p[0]], r.Best[p[1]]
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %d | |\n", p[0], bare.RPS, bare.Latency.P50, bare.Latency.P99, bare.Errors)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %d | %.1f %% |\n", p[1], full.RPS, full.Latency.P50, full.Latency.P99, full.Errors, 100*full.RPS/bare.RPS)
	}
	rate := r.FixedRate["bare GET (campaign-sized)"].Rate
	fmt.Fprintf(&b, "\n### Fixed rate: %.0f req/s (half the bare handler's saturation), open loop, 64 connections\n\n", rate)
	b.WriteString("| target | achieved/s | p50 µs | p99 µs | p99.9 µs | errors | p99 vs bare |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range pairs {
		bare, full := r.FixedRate[p[0]], r.FixedRate[p[1]]
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %d | |\n", p[0], bare.Achieved, bare.Latency.P50, bare.Latency.P99, bare.Latency.P999, bare.Errors)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %d | %.2f× |\n", p[1], full.Achieved, full.Latency.P50, full.Latency.P99, full.Latency.P999, full.Errors, full.Latency.P99/bare.Latency.P99)
	}
	b.WriteString("\n### Targets (issue 2)\n\n")
	for _, p := range pairs {
		ratio := r.Best[p[1]].RPS / r.Best[p[0]].RPS
		p99 := r.FixedRate[p[1]].Latency.P99 / r.FixedRate[p[0]].Latency.P99
		fmt.Fprintf(&b, "- %s: throughput %.1f %% of bare (target ≥ 75 %%: %s); p99 at half rate %.2f× bare (target ≤ 2×: %s)\n",
			p[1], 100*ratio, verdict(ratio >= 0.75), p99, verdict(p99 <= 2))
	}
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func call(method, url, body string, want int) ([]byte, error) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Cookie", "access_token="+benchToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := apiClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

func waitPort(addr string) error {
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s did not open", addr)
}
