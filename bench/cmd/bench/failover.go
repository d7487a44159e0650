package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// Polling a campaign's status after its owner's kill -9: every 20 ms, each
// read given up after failoverReadTimeout (a read waiting on the dead owner
// would otherwise hide when service came back), for at most failoverWithin.
const (
	failoverPoll        = 20 * time.Millisecond
	failoverReadTimeout = time.Second
	failoverWithin      = 2 * time.Minute
)

// failoverClient reads status while a node is down: a short timeout, its
// own connections.
var failoverClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 16, 16
	t.IdleConnTimeout = 20 * time.Second
	return &http.Client{Timeout: failoverReadTimeout, Transport: t}
}()

type failoverResult struct {
	Command   string            `json:"command"`
	Machine   string            `json:"machine"`
	Date      string            `json:"date"`
	LoadAvg   string            `json:"loadavg"`
	Rows      int               `json:"rows"`
	Speed     float64           `json:"speed"`
	Seats     int               `json:"seats"`
	CallRatio float64           `json:"call_ratio"`
	Duration  time.Duration     `json:"duration_ns"`
	Kills     int               `json:"kills"`
	File      prospectgen.Stats `json:"file"`
	Generate  time.Duration     `json:"generate_ns"`

	Runs []*failoverRun `json:"runs"` // R = 3, then R = 1
	// Ratio is attempts/s with R = 3 over attempts/s with R = 1 (0 when
	// either run did not finish its window).
	Ratio    float64        `json:"ratio_r3_r1"`
	KillRuns []failoverKill `json:"kill_runs"` // in the R = 3 cluster, after its window
	// LeaveRuns are graceful leaves (SIGTERM) of the owner, after the kills.
	Leaves    int             `json:"leaves"`
	LeaveRuns []failoverLeave `json:"leave_runs"`
	Median    time.Duration   `json:"median_resumed_ns"`
	Error     string          `json:"error,omitempty"`
}

// failoverRun is one cluster's dialling window.
type failoverRun struct {
	Replicas     int           `json:"replicas"`
	Nodes        []string      `json:"nodes"`  // HTTP addresses, node 0 first
	Anchor       string        `json:"anchor"` // --clock-anchor of every node of the cluster
	Start        time.Duration `json:"start_ns"`
	Upload       time.Duration `json:"upload_ns"` // first byte sent → "completed" seen
	UploadStatus uploadStatus  `json:"upload_status"`
	Owner        int           `json:"owner"` // node owning the campaign at the window's start (-1 unknown)

	Window           time.Duration `json:"window_ns"`
	Attempts0        int           `json:"attempts_t0"`
	Attempts1        int           `json:"attempts_t1"`
	AttemptsPerSec   float64       `json:"attempts_per_s"`
	Samples          []dialSample  `json:"samples"`
	Via              []int         `json:"samples_via"` // node each sample was read through
	StatusReads      int           `json:"status_reads"`
	StatusErrors     int           `json:"status_errors"`
	StatusErrorFirst []string      `json:"status_error_first"`
	CPUPercent       float64       `json:"cpu_percent"`      // the three nodes summed, of one core, over the window
	NodeCPU          []float64     `json:"node_cpu_percent"` // each node's

	Warnings logLines `json:"node_warnings"` // all nodes, every run of each
	Errors   logLines `json:"node_errors"`
	Phases   []string `json:"phases"`
	Error    string   `json:"error,omitempty"`
}

// failoverKill is one kill -9 of the campaign's owner.
type failoverKill struct {
	Victim         int    `json:"victim"`
	VictimHTTP     string `json:"victim_http"`
	Via            int    `json:"via"` // the survivor status was read through
	AttemptsBefore int    `json:"attempts_before"`
	DialableBefore int    `json:"dialable_before"`
	// From the SIGKILL: the first status answered through the survivor,
	// and the first whose attempts_30d exceeds AttemptsBefore.
	Served          time.Duration `json:"served_ns"`
	AttemptsServed  int           `json:"attempts_served"`
	Resumed         time.Duration `json:"resumed_ns"`
	AttemptsResumed int           `json:"attempts_resumed"`
	ReadLatency     time.Duration `json:"read_latency_ns"` // of the read that saw dialling resumed
	FailedReads     int           `json:"failed_reads"`    // status reads that failed meanwhile
	FailedFirst     []string      `json:"failed_first"`
	NewOwner        int           `json:"new_owner"` // -1 unknown
	// The killed node restarted on its data: until every node is ready
	// (nodetest.WaitReady), then until attempts rise again.
	BackReady time.Duration `json:"back_ready_ns"`
	Rising    time.Duration `json:"rising_ns"`
}

// failoverLeave is one SIGTERM of the campaign's owner: it hands its
// shards over, then stops. Dialling should not stop for more than a tick
// or two; Stall is the longest time attempts_30d did not rise, read every
// failoverPoll through a survivor from the SIGTERM until the node exited
// and dialling was seen rising for a second more.
type failoverLeave struct {
	Victim      int           `json:"victim"`
	Via         int           `json:"via"`
	Exited      time.Duration `json:"exited_ns"` // SIGTERM → process gone
	Stall       time.Duration `json:"stall_ns"`
	Baseline    time.Duration `json:"baseline_ns"` // the longest stall over as long just before the SIGTERM
	FailedReads int           `json:"failed_reads"`
	NewOwner    int           `json:"new_owner"`
}

// longestStall polls attempts through via for d and returns the longest
// time they did not rise, and the reads that failed.
func longestStall(ctx context.Context, via *nodetest.Node, slug string, d time.Duration, until func() bool) (time.Duration, int, error) {
	start := dialerd.Stopwatch()
	last, lastRise := -1, start
	var stall time.Duration
	failed := 0
	for {
		s, err := quickStatus(via.URL, slug)
		now := dialerd.Stopwatch()
		switch {
		case err != nil:
			failed++
		case last < 0:
			last, lastRise = s.Attempts30d, now
		case s.Attempts30d > last:
			stall = max(stall, now.Sub(lastRise))
			last, lastRise = s.Attempts30d, now
		}
		stall = max(stall, now.Sub(lastRise))
		if now.Sub(start) > d && (until == nil || until()) {
			return stall, failed, nil
		}
		if now.Sub(start) > failoverWithin {
			return stall, failed, fmt.Errorf("dialling not seen rising within %s", failoverWithin)
		}
		if err := sleepCtx(ctx, failoverPoll); err != nil {
			return stall, failed, err
		}
	}
}

// leaveOwner sends SIGTERM to the campaign's owner and measures the
// longest pause in dialling while it hands over and stops, against the
// longest over as long before it; then restarts it.
func leaveOwner(ctx context.Context, h *harness, nodes []*nodetest.Node, slug string, logs *clusterLog) (failoverLeave, error) {
	l := failoverLeave{Victim: -1, Via: -1, NewOwner: -1}
	victim, err := ownerOf(nodes, nodes[0], slug)
	if err != nil {
		return l, err
	}
	l.Victim, l.Via = victim, (victim+1)%len(nodes)
	via := nodes[l.Via]
	if l.Baseline, _, err = longestStall(ctx, via, slug, 3*time.Second, nil); err != nil {
		return l, fmt.Errorf("before the SIGTERM: %w", err)
	}
	sent := dialerd.Stopwatch()
	done := make(chan struct{})
	go func() {
		nodes[victim].Stop()
		l.Exited = time.Since(sent)
		close(done)
	}()
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	var exitedAt time.Time
	l.Stall, l.FailedReads, err = longestStall(ctx, via, slug, time.Second, func() bool {
		if exited() && exitedAt.IsZero() {
			exitedAt = dialerd.Stopwatch()
		}
		return !exitedAt.IsZero() && time.Since(exitedAt) > time.Second
	})
	<-done
	if err != nil {
		return l, err
	}
	if o, err := ownerOf(nodes, via, slug); err == nil {
		l.NewOwner = o
	}
	logs.restarting(victim)
	restartOnSurvivors(h, nodes, victim)
	if _, _, err := longestStall(ctx, via, slug, time.Second, nil); err != nil {
		return l, fmt.Errorf("after the restart: %w", err)
	}
	return l, nil
}

// clusterLog follows the logs of a cluster's nodes across restarts: a
// node's log holds its current run only, so the earlier runs' are kept
// here, and phase marks are offsets into the concatenation.
type clusterLog struct {
	nodes  []*nodetest.Node
	done   []string
	marks  [][]logMark
	phases []string
}

func newClusterLog(nodes []*nodetest.Node) *clusterLog {
	return &clusterLog{nodes: nodes, done: make([]string, len(nodes)), marks: make([][]logMark, len(nodes))}
}

func (c *clusterLog) mark(phase string) {
	for i, n := range c.nodes {
		c.marks[i] = append(c.marks[i], logMark{phase, len(c.done[i]) + len(n.Log())})
	}
	c.phases = append(c.phases, phase)
}

// restarting keeps node i's log of the run that just ended (call it after
// the process exited, before Restart).
func (c *clusterLog) restarting(i int) {
	c.done[i] += c.nodes[i].Log() + "----- restart -----\n"
}

func (c *clusterLog) text(i int) string { return c.done[i] + c.nodes[i].Log() }

// count sums the WARN and ERROR lines of every node, by phase; the first
// quoted lines name their node.
func (c *clusterLog) count() (warn, errs logLines) {
	warn.ByPhase, errs.ByPhase = map[string]int{}, map[string]int{}
	for i := range c.nodes {
		// The start's are a cluster's usual; the kills', leaves' and the
		// stop's are the nodes noticing a peer gone.
		w, e := countLog(c.text(i), c.marks[i], map[string]bool{"start": true, "kills": true, "leaves": true, "stop": true})
		for _, p := range []struct{ into, from *logLines }{{&warn, &w}, {&errs, &e}} {
			p.into.Count += p.from.Count
			for k, v := range p.from.ByPhase {
				p.into.ByPhase[k] += v
			}
			for _, l := range p.from.First {
				if len(p.into.First) < 5 {
					p.into.First = append(p.into.First, fmt.Sprintf("node %d: %s", i, l))
				}
			}
		}
	}
	return warn, errs
}

func (c *clusterLog) save(name string) {
	_ = os.MkdirAll("bench/out", 0o755)
	for i := range c.nodes {
		_ = os.WriteFile(filepath.Join("bench/out", fmt.Sprintf("%s-node%d.log", name, i)), []byte(c.text(i)), 0o644)
	}
}

// runFailover measures a 3-node cluster dialling one campaign (sim
// provider, one virtual timeline per cluster): attempts per second with
// R = 3, then on a fresh cluster with R = 1; and in the R = 3 cluster,
// after its window, the time from kill -9 of the campaign's owner to
// dialling resumed, kills times.
func runFailover(ctx context.Context, h *harness, rows int, d time.Duration, speed float64, seats int, ratio float64, kills, leaves int) (string, error) {
	res := failoverResult{
		Command: fmt.Sprintf("make bench BENCHFLAGS='-scenario failover -rows %d -duration %s -speed %g -seats %d -call-ratio %g -kills %d -leaves %d'", rows, d, speed, seats, ratio, kills, leaves),
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(),
		Rows: rows, Speed: speed, Seats: seats, CallRatio: ratio, Duration: d, Kills: kills, Leaves: leaves,
	}
	if err := checkDialingFlags(rows, d, speed, seats, ratio); err != nil {
		return "", err
	}
	switch {
	case kills < 0 || kills > 20:
		return "", fmt.Errorf("-kills %d: want 0 to 20", kills)
	case leaves < 0 || leaves > 20:
		return "", fmt.Errorf("-leaves %d: want 0 to 20", leaves)
	}
	path := filepath.Join(h.dir, "bench.csv")
	err := catch(func() error {
		var err error
		res.File, res.Generate, err = generateCSV(path, rows)
		if err != nil {
			return err
		}
		h.Logf("generated %d rows (%d to accept) in %s", res.File.Rows, res.File.Accepted, res.Generate.Round(time.Millisecond))
		return nil
	})
	for _, r := range []int{3, 1} {
		if err != nil {
			break
		}
		run := &failoverRun{Replicas: r, Owner: -1}
		res.Runs = append(res.Runs, run)
		n := 0
		if r == 3 {
			n = kills
		}
		err = catch(func() error { return failoverCluster(ctx, h, path, &res, run, n) })
		if err != nil {
			run.Error = err.Error()
			err = fmt.Errorf("the cluster with R = %d: %w", r, err)
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	if len(res.Runs) == 2 && res.Runs[0].Window > 0 && res.Runs[1].Window > 0 && res.Runs[1].AttemptsPerSec > 0 {
		res.Ratio = res.Runs[0].AttemptsPerSec / res.Runs[1].AttemptsPerSec
	}
	res.Median = medianResumed(res.KillRuns)
	saveJSON("failover", res)
	section := renderFailover(res)
	if res.Error != "" {
		h.Logf("%s", section)
		return "", fmt.Errorf("failover scenario failed (node logs in bench/out/failover-r*-node*.log): %s", res.Error)
	}
	return section, nil
}

// failoverCluster starts a 3-node cluster with run.Replicas, sets the
// dialing scenario's campaign up through node 0, measures its window, then
// kills its owner kills times; its nodes are gone, ports free, when it
// returns.
func failoverCluster(ctx context.Context, h *harness, path string, res *failoverResult, run *failoverRun, kills int) error {
	// Every node of the cluster, and a node restarted, reads the virtual
	// clock on this one timeline.
	anchor := dialerd.Stopwatch().UTC()
	run.Anchor = anchor.Format(time.RFC3339Nano)
	args := []string{"--replicas", strconv.Itoa(run.Replicas),
		"--clock", "virtual", "--clock-speed", strconv.FormatFloat(res.Speed, 'g', -1, 64), "--clock-start", dialingClockStart,
		"--clock-anchor", run.Anchor, "--provider", "sim", "--sim-seed", "1"}
	h.Logf("R = %d: starting 3 nodes", run.Replicas)
	nodes := nodetest.StartCluster(h, 3, nodetest.Options{BootstrapToken: benchToken, Args: args})
	run.Start = time.Since(anchor)
	logs := newClusterLog(nodes)
	defer func() {
		for _, n := range nodes {
			n.Kill()
		}
		run.Warnings, run.Errors = logs.count()
		run.Phases = logs.phases
		logs.save(fmt.Sprintf("failover-r%d", run.Replicas))
	}()
	for _, n := range nodes {
		run.Nodes = append(run.Nodes, n.HTTP)
	}
	h.Logf("R = %d: nodes %s ready after %s", run.Replicas, strings.Join(run.Nodes, ", "), run.Start.Round(time.Millisecond))

	logs.mark("setup")
	slug, err := failoverSetup(ctx, h, nodes[0], path, res, run)
	if err != nil {
		return err
	}
	logs.mark("warm-up")
	if _, err := call("PATCH", nodes[0].URL+"/api/v/campaign/"+slug+"/", `{"paused": false}`, 200); err != nil {
		return fmt.Errorf("unpause the campaign: %w", err)
	}
	if err := sleepCtx(ctx, dialingWarmup); err != nil {
		return err
	}
	if err := exited(nodes); err != nil {
		return fmt.Errorf("during the warm-up: %w", err)
	}
	logs.mark("window")
	if err := failoverWindow(ctx, h, nodes, slug, run, res.Duration); err != nil {
		return err
	}
	if kills > 0 {
		logs.mark("kills")
		for i := 1; i <= kills; i++ {
			k, err := killOwner(ctx, h, nodes, slug, logs)
			res.KillRuns = append(res.KillRuns, k)
			if err != nil {
				return fmt.Errorf("kill %d: %w", i, err)
			}
			h.Logf("kill %d: node %d killed at %d attempts; served again after %s, dialling resumed after %s (%d attempts, %d failed reads); back and ready after %s, rising after %s more",
				i, k.Victim, k.AttemptsBefore, k.Served.Round(time.Millisecond), k.Resumed.Round(time.Millisecond), k.AttemptsResumed,
				k.FailedReads, k.BackReady.Round(time.Millisecond), k.Rising.Round(time.Millisecond))
		}
	}
	if run.Replicas == 3 && res.Leaves > 0 {
		logs.mark("leaves")
		for i := 1; i <= res.Leaves; i++ {
			l, err := leaveOwner(ctx, h, nodes, slug, logs)
			res.LeaveRuns = append(res.LeaveRuns, l)
			if err != nil {
				return fmt.Errorf("leave %d: %w", i, err)
			}
			h.Logf("leave %d: node %d SIGTERM, exited after %s; longest pause in dialling %s (%s before it)", i, l.Victim,
				l.Exited.Round(time.Millisecond), l.Stall.Round(time.Millisecond), l.Baseline.Round(time.Millisecond))
		}
	}
	logs.mark("stop")
	for _, n := range nodes {
		n.Kill()
	}
	return gone(nodes, 15*time.Second)
}

// failoverSetup makes the dialing scenario's agent, paused campaign and
// list through node, uploads the file and waits for the upload's end; it
// returns the campaign's slug.
func failoverSetup(ctx context.Context, h *harness, node *nodetest.Node, path string, res *failoverResult, run *failoverRun) (string, error) {
	url := node.URL
	if _, err := call("PUT", url+"/api/v/agent/bench/", fmt.Sprintf(`{"seats": %d}`, res.Seats), 200); err != nil {
		return "", err
	}
	create := fmt.Sprintf(`{"name": "Bench Failover", "agent_id": "bench", "call_ratio": %g, "dialer_interval": %d,
		"max_active_calls": 0, "max_number_calls": %d, "min_time_between_calls": %d, "wrap_up_time": %d, "max_wait_time": %d,
		"earliest_prospect_time": "00:00", "latest_prospect_time": "23:59", "paused": true}`,
		res.CallRatio, dialInterval, dialMaxCalls, dialMinBetween, dialWrapUp, dialMaxWait)
	body, err := call("POST", url+"/api/v/campaign/", create, 201)
	if err != nil {
		return "", err
	}
	var camp struct{ Slug string }
	if err := json.Unmarshal(body, &camp); err != nil || camp.Slug == "" {
		return "", fmt.Errorf("create campaign: %s", body)
	}
	body, err = call("POST", url+"/api/v/list/", `{"name": "bench", "campaign": "`+camp.Slug+`"}`, 201)
	if err != nil {
		return "", err
	}
	var list struct{ Slug string }
	if err := json.Unmarshal(body, &list); err != nil || list.Slug == "" {
		return "", fmt.Errorf("create list: %s", body)
	}
	t, uuid, err := postUpload(ctx, url+"/api/v/upload/"+list.Slug+"/", path)
	if err != nil {
		return "", err
	}
	st, done, err := pollUpload(ctx, h, url+"/api/v/upload/"+uuid+"/")
	run.UploadStatus = st
	if err != nil {
		return "", err
	}
	run.Upload = done.Sub(t.first)
	if st.Status != "completed" || st.Accepted != res.File.Accepted {
		return "", fmt.Errorf("upload ended %q with %d accepted, want %d: %s", st.Status, st.Accepted, res.File.Accepted, st.Errors)
	}
	h.Logf("R = %d: upload completed in %s: %d accepted", run.Replicas, run.Upload.Round(time.Millisecond), st.Accepted)
	return camp.Slug, nil
}

// failoverWindow measures attempts/s over d: attempts_30d at both ends
// (through node 0), a status sample every whole second in turn through
// each node, and the three nodes' CPU.
func failoverWindow(ctx context.Context, h *harness, nodes []*nodetest.Node, slug string, run *failoverRun, d time.Duration) error {
	if o, err := ownerOf(nodes, nodes[0], slug); err == nil {
		run.Owner = o
	} else {
		h.Logf("R = %d: owner of the campaign: %v", run.Replicas, err)
	}
	s0, err := getStatus(nodes[0].URL, slug)
	if err != nil {
		return err
	}
	c0 := make([]int64, len(nodes))
	for i, n := range nodes {
		if c0[i], err = cpuTicks(n.Pid()); err != nil {
			return err
		}
	}
	t0 := dialerd.Stopwatch()
	run.Attempts0 = s0.Attempts30d
	if s0.Attempts30d == 0 {
		return fmt.Errorf("no attempt after a %s warm-up: status %s, reasons %+v", dialingWarmup, s0.Status, s0.Reasons)
	}
	last := t0
	end := t0.Add(d)
	k := 0
	for next := t0.Add(time.Second); next.Before(end); next = nextSecond(next) {
		if err := sleepCtx(ctx, time.Until(next)); err != nil {
			return err
		}
		if err := exited(nodes); err != nil {
			return fmt.Errorf("%s into the window: %w", time.Since(t0).Round(time.Second), err)
		}
		via := k % len(nodes)
		k++
		before := dialerd.Stopwatch()
		s, err := getStatus(nodes[via].URL, slug)
		now := dialerd.Stopwatch()
		run.StatusReads++
		if err != nil {
			// Counted and reported, not fatal: how long the campaign
			// stays unavailable is worth knowing.
			run.StatusErrors++
			if len(run.StatusErrorFirst) < 5 {
				run.StatusErrorFirst = append(run.StatusErrorFirst, fmt.Sprintf("%.1f s into the window, through node %d, after %.1f s: %v",
					now.Sub(t0).Seconds(), via, now.Sub(before).Seconds(), err))
			}
			h.Logf("R = %d: %s: %v", run.Replicas, now.Sub(t0).Round(time.Second), err)
			continue
		}
		run.Samples = append(run.Samples, dialSample{At: now.Sub(t0), Attempts: s.Attempts30d, Status: s.Status,
			Ringing: s.Calls.Ringing, Connected: s.Calls.Connected, Queued: s.Calls.Queued, SeatsBusy: s.Seats.Busy,
			Dialable: s.Prospects.DialableNow, Latency: now.Sub(before)})
		run.Via = append(run.Via, via)
		if now.Sub(last) >= 10*time.Second {
			h.Logf("R = %d: %s: %d attempts, %d ringing, %d connected, %d seats busy", run.Replicas, now.Sub(t0).Round(time.Second),
				s.Attempts30d-run.Attempts0, s.Calls.Ringing, s.Calls.Connected, s.Seats.Busy)
			last = now
		}
	}
	if err := sleepCtx(ctx, time.Until(end)); err != nil {
		return err
	}
	s1, err := getStatus(nodes[0].URL, slug)
	if err != nil {
		return err
	}
	c1 := make([]int64, len(nodes))
	for i, n := range nodes {
		if c1[i], err = cpuTicks(n.Pid()); err != nil {
			return err
		}
	}
	run.Window = dialerd.Stopwatch().Sub(t0)
	run.Attempts1 = s1.Attempts30d
	run.AttemptsPerSec = float64(run.Attempts1-run.Attempts0) / run.Window.Seconds()
	var sum int64
	for i := range nodes {
		sum += c1[i] - c0[i]
		run.NodeCPU = append(run.NodeCPU, cpuPercent(c1[i]-c0[i], run.Window))
	}
	run.CPUPercent = cpuPercent(sum, run.Window)
	h.Logf("R = %d: window %s: %d attempts, %.0f/s; CPU of the 3 nodes %.0f %% of a core", run.Replicas, run.Window.Round(time.Millisecond),
		run.Attempts1-run.Attempts0, run.AttemptsPerSec, run.CPUPercent)
	return nil
}

// killOwner kills the campaign's owner (kill -9) and polls its status
// through a survivor until attempts_30d exceeds the count read just before
// the kill; then restarts the node on its data, waits until every node is
// ready and attempts rise again.
func killOwner(ctx context.Context, h *harness, nodes []*nodetest.Node, slug string, logs *clusterLog) (failoverKill, error) {
	k := failoverKill{Victim: -1, Via: -1, NewOwner: -1}
	victim, err := ownerOf(nodes, nodes[0], slug)
	if err != nil {
		return k, err
	}
	k.Victim, k.VictimHTTP = victim, nodes[victim].HTTP
	k.Via = (victim + 1) % len(nodes)
	via := nodes[k.Via]
	s, err := getStatus(via.URL, slug)
	if err != nil {
		return k, err
	}
	k.AttemptsBefore, k.DialableBefore = s.Attempts30d, s.Prospects.DialableNow
	if s.Prospects.DialableNow == 0 {
		return k, fmt.Errorf("no prospect dialable now before the kill: the list ran out (more -rows)")
	}
	killed := dialerd.Stopwatch()
	nodes[victim].Kill()
	for {
		before := dialerd.Stopwatch()
		s, err := quickStatus(via.URL, slug)
		now := dialerd.Stopwatch()
		if err != nil {
			k.FailedReads++
			if len(k.FailedFirst) < 3 {
				k.FailedFirst = append(k.FailedFirst, fmt.Sprintf("%.2f s after the kill: %v", now.Sub(killed).Seconds(), err))
			}
		} else {
			if k.Served == 0 {
				k.Served, k.AttemptsServed = now.Sub(killed), s.Attempts30d
			}
			if s.Attempts30d > k.AttemptsBefore {
				k.Resumed, k.AttemptsResumed, k.ReadLatency = now.Sub(killed), s.Attempts30d, now.Sub(before)
				break
			}
		}
		if now.Sub(killed) > failoverWithin {
			return k, fmt.Errorf("dialling not resumed %s after kill -9 of node %d (%d failed status reads, first %q)",
				failoverWithin, victim, k.FailedReads, firstOf(k.FailedFirst...))
		}
		if via.Exited() {
			return k, fmt.Errorf("node %d, the survivor read through, exited", k.Via)
		}
		if err := sleepCtx(ctx, failoverPoll); err != nil {
			return k, err
		}
	}
	if o, err := ownerOf(nodes, via, slug); err == nil {
		k.NewOwner = o
	}

	// Back on its data.
	logs.restarting(victim)
	t := dialerd.Stopwatch()
	restartOnSurvivors(h, nodes, victim)
	k.BackReady = time.Since(t)
	t = dialerd.Stopwatch()
	a0 := -1
	for {
		if s, err := quickStatus(via.URL, slug); err == nil {
			if a0 < 0 {
				a0 = s.Attempts30d
			} else if s.Attempts30d > a0 {
				break
			}
		}
		if time.Since(t) > failoverWithin {
			return k, fmt.Errorf("attempts not rising %s after the restart of node %d was ready (stuck at %d)", failoverWithin, victim, a0)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return k, err
		}
	}
	k.Rising = time.Since(t)
	return k, nil
}

// quickStatus reads the campaign's status with failoverClient.
func quickStatus(url, slug string) (campaignStatus, error) {
	var s campaignStatus
	req, err := http.NewRequest("GET", url+"/api/v/campaign/"+slug+"/status/", nil)
	if err != nil {
		return s, err
	}
	req.Header.Set("Cookie", "access_token="+benchToken)
	res, err := failoverClient.Do(req)
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return s, fmt.Errorf("GET status of %s: %d %s", slug, res.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("status of %s: %w", slug, err)
	}
	return s, nil
}

// ownerOf is the index of the node that owns the campaign, as via sees it.
func ownerOf(nodes []*nodetest.Node, via *nodetest.Node, slug string) (int, error) {
	owner, err := where(via.URL, "campaign/"+slug)
	if err != nil {
		return -1, fmt.Errorf("owner of campaign/%s: %w", slug, err)
	}
	for i, n := range nodes {
		if n.HTTP == owner {
			return i, nil
		}
	}
	return -1, fmt.Errorf("campaign/%s owned by %q, not a node of the cluster", slug, owner)
}

// exited names a node of the cluster whose process ended.
func exited(nodes []*nodetest.Node) error {
	for i, n := range nodes {
		if n.Exited() {
			return fmt.Errorf("node %d (%s) exited", i, n.HTTP)
		}
	}
	return nil
}

// gone waits until every node's process has ended and its HTTP (TCP) and
// gossip (TCP and UDP) ports can be bound again.
func gone(nodes []*nodetest.Node, within time.Duration) error {
	deadline := dialerd.Stopwatch().Add(within)
	for i, n := range nodes {
		for {
			var err error
			switch {
			case !n.Exited():
				err = errors.New("still running")
			default:
				if err = bindable("tcp", n.HTTP); err == nil {
					if err = bindable("tcp", n.Gossip); err == nil {
						err = bindable("udp", n.Gossip)
					}
				}
			}
			if err == nil {
				break
			}
			if dialerd.Stopwatch().After(deadline) {
				return fmt.Errorf("node %d (%s) not gone %s after its kill: %v", i, n.HTTP, within, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func bindable(network, addr string) error {
	if network == "udp" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// medianResumed is the median time to dialling resumed of the kills that
// saw it.
func medianResumed(kills []failoverKill) time.Duration {
	var xs []time.Duration
	for _, k := range kills {
		if k.Resumed > 0 {
			xs = append(xs, k.Resumed)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func renderFailover(r failoverResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Failover: 3 nodes dialling, R = 3 vs R = 1, kill -9 of the campaign's owner (sim provider, virtual clock ×%g)\n\n", r.Speed)
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- cluster: 3 dialerd processes on loopback (nodetest: fresh ports and data directories), every one with `--replicas R --clock virtual --clock-speed %g --clock-start %s --clock-anchor <the cluster's start> --provider sim --sim-seed 1`: one anchor per cluster, so its nodes, and a node restarted, share one virtual timeline. The three nodes and the harness share the machine's %d cores.\n",
		r.Speed, dialingClockStart, runtime.NumCPU())
	fmt.Fprintf(&b, "- campaign (created through node 0, as in the dialing scenario): agent with %d seats, call_ratio %g, dialer_interval %d s, max_active_calls 0, max_number_calls %d, min_time_between_calls %d min, wrap_up_time %d s, max_wait_time %d s, window 00:00–23:59 local.\n",
		r.Seats, r.CallRatio, dialInterval, dialMaxCalls, dialMinBetween, dialWrapUp, dialMaxWait)
	fmt.Fprintf(&b, "- list: %d rows uploaded through node 0 (bench/prospectgen, seed %d, %d to accept) while the campaign is paused; then unpaused, %s of warm-up, then the measured window of %s. attempts/s = Δ`attempts_30d` (status, read through node 0 at both ends) over the window, in wall time; a status sample every second in between, in turn through each node.\n",
		r.File.Rows, uploadSeed, r.File.Accepted, dialingWarmup, r.Duration)
	fmt.Fprintf(&b, "- R = 3 runs first (its window, then the kills), then its nodes are killed, their ports seen free, and R = 1 runs on a fresh cluster the same way (no kills).\n\n")
	if r.Error != "" {
		fmt.Fprintf(&b, "- **failed**: %s\n\n", r.Error)
	}
	if len(r.Runs) > 0 {
		b.WriteString("| | " + joinRuns(r.Runs, func(x *failoverRun) string { return fmt.Sprintf("R = %d", x.Replicas) }) + " |\n")
		b.WriteString("|---|" + strings.Repeat("---:|", len(r.Runs)) + "\n")
		row := func(name string, f func(x *failoverRun) string) {
			fmt.Fprintf(&b, "| %s | %s |\n", name, joinRuns(r.Runs, f))
		}
		windowed := func(f func(x *failoverRun) string) func(x *failoverRun) string {
			return func(x *failoverRun) string {
				if x.Window == 0 {
					return "–"
				}
				return f(x)
			}
		}
		row("upload, first byte sent → `completed`", func(x *failoverRun) string {
			if x.Upload == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f s", x.Upload.Seconds())
		})
		row("window, wall", windowed(func(x *failoverRun) string { return fmt.Sprintf("%.2f s", x.Window.Seconds()) }))
		row("attempts in the window", windowed(func(x *failoverRun) string {
			return fmt.Sprintf("%d (%d → %d)", x.Attempts1-x.Attempts0, x.Attempts0, x.Attempts1)
		}))
		row("**attempts/s**", windowed(func(x *failoverRun) string { return fmt.Sprintf("**%.0f**", x.AttemptsPerSec) }))
		row("attempts/s between 1 s samples, min / median / max", windowed(func(x *failoverRun) string {
			xs := sampleRates(x)
			if len(xs) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f / %.0f / %.0f", xs[0], xs[len(xs)/2], xs[len(xs)-1])
		}))
		row("CPU of the three nodes over the window, % of one core (utime+stime, summed)", windowed(func(x *failoverRun) string {
			return fmt.Sprintf("%.0f %%", x.CPUPercent)
		}))
		row("… node 0 / 1 / 2 (* owns the campaign)", windowed(func(x *failoverRun) string {
			parts := make([]string, len(x.NodeCPU))
			for i, c := range x.NodeCPU {
				parts[i] = fmt.Sprintf("%.0f", c)
				if i == x.Owner {
					parts[i] += "*"
				}
			}
			return strings.Join(parts, " / ")
		}))
		row("status request latency, ms, median / max", windowed(func(x *failoverRun) string {
			if len(x.Samples) == 0 {
				return "–"
			}
			ls := make([]float64, len(x.Samples))
			for i, s := range x.Samples {
				ls[i] = float64(s.Latency) / 1e6
			}
			sort.Float64s(ls)
			return fmt.Sprintf("%.1f / %.1f", ls[len(ls)/2], ls[len(ls)-1])
		}))
		row("status reads in the window that failed", windowed(func(x *failoverRun) string {
			return fmt.Sprintf("%d of %d", x.StatusErrors, x.StatusReads)
		}))
		b.WriteString("\n")
		for _, x := range r.Runs {
			for _, e := range x.StatusErrorFirst {
				fmt.Fprintf(&b, "- R = %d, failed status read: %s\n", x.Replicas, e)
			}
			short := 0
			for _, s := range x.Samples {
				if s.Dialable == 0 {
					short++
				}
			}
			if short > 0 {
				fmt.Fprintf(&b, "- **R = %d: the list ran out of prospects due now in %d of %d samples**: there the rate is bounded by the list, not the cluster (more -rows)\n", x.Replicas, short, len(x.Samples))
			}
		}
		if r.Ratio > 0 {
			fmt.Fprintf(&b, "- attempts/s R = 3 / R = 1: **%.2f** (%.0f / %.0f)%s\n", r.Ratio, r.Runs[0].AttemptsPerSec, r.Runs[1].AttemptsPerSec, listBound(r.Runs))
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(&b, "### kill -9 of the campaign's owner (R = 3)\n\n")
	tick := time.Duration(float64(dialInterval*time.Second) / r.Speed)
	fmt.Fprintf(&b, "After the R = 3 window, %s: the owner found with `GET /api/v/cluster/?identity=campaign/<slug>`, `attempts_30d` read through a survivor, the owner killed (SIGKILL), then the status polled through that survivor every %d ms (each read given up after %g s). *Served again*: the first status answered. *Dialling resumed*: the first read whose `attempts_30d` exceeds the count read just before the kill, timed from the SIGKILL. It is an upper bound: it includes that read's latency and up to a tick (dialer_interval %d s virtual = %.1f ms wall); attempts the old owner recorded between that read and the kill, if any, would count too (compare the attempts columns). Then the killed node is restarted on its data, all three nodes waited ready (`nodetest.WaitReady`) and attempts seen rising before the next kill.\n\n",
		times(r.Kills), failoverPoll.Milliseconds(), failoverReadTimeout.Seconds(), dialInterval, float64(tick)/1e6)
	if len(r.KillRuns) == 0 {
		b.WriteString("- not measured\n")
	} else {
		b.WriteString("| kill | victim | attempts before | served again | **dialling resumed** | attempts then | its read took | failed reads meanwhile | new owner | restart → all ready | ready → attempts rising |\n|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
		node := func(i int) string {
			if i < 0 {
				return "?"
			}
			return fmt.Sprintf("node %d", i)
		}
		secs := func(d time.Duration) string {
			if d == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f s", d.Seconds())
		}
		for i, k := range r.KillRuns {
			resumed := "–"
			if k.Resumed > 0 {
				resumed = fmt.Sprintf("**%.2f s**", k.Resumed.Seconds())
			}
			fmt.Fprintf(&b, "| %d | %s (%s) | %d | %s | %s | %d | %.0f ms | %d | %s | %s | %s |\n",
				i+1, node(k.Victim), k.VictimHTTP, k.AttemptsBefore, secs(k.Served), resumed, k.AttemptsResumed,
				float64(k.ReadLatency)/1e6, k.FailedReads, node(k.NewOwner), secs(k.BackReady), secs(k.Rising))
		}
		b.WriteString("\n")
		for i, k := range r.KillRuns {
			if k.Served > 0 && k.Resumed == k.Served {
				fmt.Fprintf(&b, "- kill %d: the first status answered after the kill already counted more attempts (%d) than before it (%d)\n", i+1, k.AttemptsServed, k.AttemptsBefore)
			}
			for _, e := range k.FailedFirst {
				fmt.Fprintf(&b, "- kill %d, failed read: %s\n", i+1, e)
			}
		}
		if r.Median > 0 {
			fmt.Fprintf(&b, "- median time from kill -9 to dialling resumed: **%.2f s** over %s\n", r.Median.Seconds(), plural(countResumed(r.KillRuns), "kill"))
		}
	}

	fmt.Fprintf(&b, "\n### Graceful leave (SIGTERM) of the campaign's owner (R = 3)\n\n")
	fmt.Fprintf(&b, "After the kills, %s: attempts_30d polled through a survivor every %d ms for 3 s (the *baseline*: the longest time attempts did not rise while nothing happened — seats talking, a tick), then SIGTERM to the owner, which hands its shards over and stops; polled on until it exited and a second more. *Longest pause*: the longest time attempts did not rise in that span; the issue asks for no gap longer than a tick or two (dialer_interval %d s virtual = %.1f ms of wall time here; at ×1 a tick is %d s of wall time).\n\n",
		times(r.Leaves), failoverPoll.Milliseconds(), dialInterval, float64(time.Duration(float64(dialInterval*time.Second)/r.Speed))/1e6, dialInterval)
	if len(r.LeaveRuns) == 0 {
		b.WriteString("- not measured\n")
	} else {
		b.WriteString("| leave | victim | SIGTERM → exited | **longest pause in dialling** | baseline before | failed reads | new owner |\n|---:|---|---:|---:|---:|---:|---|\n")
		for i, l := range r.LeaveRuns {
			fmt.Fprintf(&b, "| %d | node %d | %.2f s | **%.0f ms** | %.0f ms | %d | node %d |\n", i+1, l.Victim, l.Exited.Seconds(),
				float64(l.Stall)/1e6, float64(l.Baseline)/1e6, l.FailedReads, l.NewOwner)
		}
	}

	if len(r.Runs) > 0 {
		fmt.Fprintf(&b, "\n### Node logs\n\nWARN and ERROR lines of the three nodes (every run of each), by phase; quoted: the first of the setup, warm-up and window (those of the kills and the final stop are the nodes noticing a peer gone; the logs are kept in bench/out/failover-r3-node*.log and failover-r1-node*.log).\n\n")
		for _, x := range r.Runs {
			fmt.Fprintf(&b, "- R = %d, ", x.Replicas)
			var sb strings.Builder
			renderNodeLog(&sb, x.Warnings, x.Errors, x.Phases)
			b.WriteString(strings.TrimPrefix(sb.String(), "- "))
		}
	}

	b.WriteString("\n### Targets (issue)\n\n")
	if r.Median > 0 {
		fmt.Fprintf(&b, "- time from kill -9 to dialling resumed: %.2f s, median of %s (no numeric target)\n", r.Median.Seconds(), plural(countResumed(r.KillRuns), "kill"))
	} else {
		b.WriteString("- time from kill -9 to dialling resumed: not measured (no numeric target)\n")
	}
	if len(r.LeaveRuns) > 0 {
		var worst time.Duration
		for _, l := range r.LeaveRuns {
			worst = max(worst, l.Stall)
		}
		fmt.Fprintf(&b, "- graceful leave without a gap longer than a tick or two: longest pause %.0f ms of wall time over %s (a tick is %d s at ×1)\n", float64(worst)/1e6, plural(len(r.LeaveRuns), "leave"), dialInterval)
	}
	if r.Ratio > 0 {
		fmt.Fprintf(&b, "- attempts/s R = 3 vs R = 1: %.2f (%.0f vs %.0f attempts/s)%s\n", r.Ratio, r.Runs[0].AttemptsPerSec, r.Runs[1].AttemptsPerSec, listBound(r.Runs))
	} else {
		b.WriteString("- attempts/s R = 3 vs R = 1: not measured\n")
	}
	return b.String()
}

func joinRuns(runs []*failoverRun, f func(x *failoverRun) string) string {
	parts := make([]string, len(runs))
	for i, x := range runs {
		parts[i] = f(x)
	}
	return strings.Join(parts, " | ")
}

// sampleRates are the attempts/s between consecutive status samples of the
// window (the first from its start), sorted.
func sampleRates(x *failoverRun) []float64 {
	var xs []float64
	prev, prevAt := x.Attempts0, time.Duration(0)
	for _, s := range x.Samples {
		if s.At > prevAt {
			xs = append(xs, float64(s.Attempts-prev)/(s.At-prevAt).Seconds())
		}
		prev, prevAt = s.Attempts, s.At
	}
	sort.Float64s(xs)
	return xs
}

func countResumed(kills []failoverKill) int {
	n := 0
	for _, k := range kills {
		if k.Resumed > 0 {
			n++
		}
	}
	return n
}

// listBound warns that a ratio compares rates the list bounded at times.
func listBound(runs []*failoverRun) string {
	for _, x := range runs {
		for _, s := range x.Samples {
			if s.Dialable == 0 {
				return "; the list ran out of prospects due now in some samples, so the ratio is not the cluster's alone"
			}
		}
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// restartOnSurvivors restarts node victim on its data, joining through the
// other nodes (a node started without --join, node 0, needs seeds to find
// them again), and waits until every node is ready.
func restartOnSurvivors(h *harness, nodes []*nodetest.Node, victim int) {
	var seeds []string
	for i, n := range nodes {
		if i != victim {
			seeds = append(seeds, n.Gossip)
		}
	}
	nodes[victim].SetJoin(seeds)
	nodes[victim].Restart()
	nodetest.WaitReady(h, nodes, failoverWithin)
}
