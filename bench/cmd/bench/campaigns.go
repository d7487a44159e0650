package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// campaignExchanges are area code and exchange pairs of bench/prospectgen's
// table (generated from libphonenumber): every line number 0000–9999 of
// each is a valid number. Spread over the time zones, so the campaigns
// call into all of them.
var campaignExchanges = []struct {
	npa, nxx int
	state    string
}{
	{212, 772, "NY"}, {213, 903, "CA"}, {214, 234, "TX"}, {206, 786, "WA"},
	{205, 655, "AL"}, {208, 248, "ID"}, {201, 931, "NJ"}, {215, 365, "PA"},
}

const (
	prospectsPerCampaign = 3
	setupWorkers         = 32
	checkWorkers         = 16
)

type campaignsResult struct {
	Command   string        `json:"command"`
	Machine   string        `json:"machine"`
	Date      string        `json:"date"`
	LoadAvg   string        `json:"loadavg"`
	Campaigns int           `json:"campaigns"`
	Duration  time.Duration `json:"duration_ns"`

	Setup         time.Duration `json:"setup_ns"`
	SetupRequests int           `json:"setup_requests"`
	IdleRSS       int64         `json:"idle_rss_kb"`  // before the setup
	SetupRSS      int64         `json:"setup_rss_kb"` // after it
	SetupSlowest  time.Duration `json:"setup_slowest_ns"`
	SetupOver1s   int           `json:"setup_over_1s"` // requests that took over a second

	Window           time.Duration `json:"window_ns"`
	CPUPercent       float64       `json:"cpu_percent"` // of one core, over the window
	RSS              int64         `json:"rss_kb"`      // at the end of the window
	HWM              int64         `json:"hwm_kb"`      // peak of the process's life, setup included
	Goroutines0      int           `json:"goroutines_t0"`
	Goroutines1      int           `json:"goroutines_t1"`
	CampaignGrains   int           `json:"campaign_grains"`
	CPUPerTickMicros float64       `json:"cpu_per_tick_us"` // CPU over the window / the ticks due in it

	Checked    int            `json:"checked"`
	Check      time.Duration  `json:"check_ns"`
	Statuses   map[string]int `json:"statuses"`
	Attempts   int            `json:"attempts"`      // sum of attempts_30d, since each campaign's creation
	ByAttempts map[int]int    `json:"by_attempts"`   // campaigns by attempts_30d
	NotTicking []string       `json:"not_ticking"`   // campaigns with no attempt and not Completed with their 3 prospects resolved (first few)
	NotCount   int            `json:"not_ticking_n"` // how many
	Warnings   logLines       `json:"node_warnings"`
	Errors     logLines       `json:"node_errors"`
	Phases     []string       `json:"phases"`
	Error      string         `json:"error,omitempty"`
}

// runCampaigns measures what n active campaigns cost a node when each ticks
// every 2 s (real clock, sim provider): every campaign has its own agent
// with one seat and a list of three prospects. The setup runs through the
// API with 32 workers and is timed; then the node is left to tick for d, and
// at the end every campaign must have dialed (or be Completed).
// campaignsClockStart is a Tuesday, 19:00 UTC: 15:00 in New York, 09:00
// in Honolulu, 16:30 in St. John's — inside the legal hours of every zone
// the campaigns' prospects are in, for longer than the scenario runs.
const campaignsClockStart = "2026-03-10T19:00:00Z"

func runCampaigns(ctx context.Context, h *harness, n int, d time.Duration) (string, error) {
	res := campaignsResult{
		Command: fmt.Sprintf("make bench BENCHFLAGS='-scenario campaigns -campaigns %d -duration %s'", n, d),
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(),
		Campaigns: n, Duration: d,
	}
	if most := len(campaignExchanges) * 10000 / prospectsPerCampaign; n < 1 || n > most {
		return "", fmt.Errorf("-campaigns %d: want 1 to %d", n, most)
	}
	if d <= 0 {
		return "", fmt.Errorf("-duration %s: want a positive duration", d)
	}
	err := catch(func() error {
		// A virtual clock at real speed, set where every US and Canadian zone
		// is inside its legal calling hours (campaignsClockStart): on the
		// real clock the scenario's result depended on the time of day.
		node := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Args: []string{"--provider", "sim", "--sim-seed", "1",
			"--clock", "virtual", "--clock-speed", "1", "--clock-start", campaignsClockStart}})
		defer node.Kill()
		var marks []logMark
		err := tickCampaigns(ctx, h, node, &res, &marks)
		res.Warnings, res.Errors = nodeLog(node, marks)
		saveLog("campaigns", node)
		for _, m := range marks {
			res.Phases = append(res.Phases, m.Phase)
		}
		return err
	})
	if err != nil {
		res.Error = err.Error()
	}
	var problems []string
	if res.Error != "" {
		problems = append(problems, res.Error)
	}
	if res.NotCount > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d campaigns checked never dialed, first: %s", res.NotCount, res.Checked, res.NotTicking[0]))
	}
	if res.Errors.Count > 0 {
		problems = append(problems, fmt.Sprintf("node logged %d errors, first: %s", res.Errors.Count, firstOf(res.Errors.First...)))
	}
	saveJSON("campaigns", res)
	section := renderCampaigns(res)
	if len(problems) > 0 {
		h.Logf("%s", section)
		return "", fmt.Errorf("campaigns scenario failed (node log in bench/out/campaigns-node.log): %s", strings.Join(problems, "; "))
	}
	return section, nil
}

func tickCampaigns(ctx context.Context, h *harness, node *nodetest.Node, res *campaignsResult, marks *[]logMark) error {
	url := node.URL
	mark(marks, node, "setup")
	res.IdleRSS, _ = procStatusKB(node.Pid(), "VmRSS")
	slugs := make([]string, res.Campaigns)
	var done, requests, slowest, over1s atomic.Int64
	took := func(d time.Duration) {
		if d > time.Second {
			over1s.Add(1)
		}
		for s := slowest.Load(); int64(d) > s && !slowest.CompareAndSwap(s, int64(d)); s = slowest.Load() {
		}
	}
	start := dialerd.Stopwatch()
	err := parallel(ctx, res.Campaigns, setupWorkers, func(i int) error {
		slug, n, err := setupCampaign(url, i, took)
		requests.Add(int64(n))
		slugs[i] = slug
		done.Add(1)
		return err
	}, func() {
		h.Logf("setup: %d of %d campaigns in %s", done.Load(), res.Campaigns, time.Since(start).Round(time.Second))
	})
	res.Setup, res.SetupRequests = time.Since(start), int(requests.Load())
	res.SetupSlowest, res.SetupOver1s = time.Duration(slowest.Load()), int(over1s.Load())
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	h.Logf("setup: %d campaigns, %d requests in %s", res.Campaigns, res.SetupRequests, res.Setup.Round(time.Millisecond))

	// The window.
	mark(marks, node, "window")
	res.SetupRSS, _ = procStatusKB(node.Pid(), "VmRSS")
	g0, _, err := nodeMetrics(url)
	if err != nil {
		return err
	}
	c0, err := cpuTicks(node.Pid())
	if err != nil {
		return err
	}
	t0 := dialerd.Stopwatch()
	res.Goroutines0 = g0
	for time.Since(t0) < res.Duration {
		if err := sleepCtx(ctx, min(time.Second, res.Duration-time.Since(t0))); err != nil {
			return err
		}
		if node.Exited() {
			return fmt.Errorf("dialerd exited %s into the window", time.Since(t0).Round(time.Second))
		}
	}
	c1, err := cpuTicks(node.Pid())
	if err != nil {
		return err
	}
	res.Window = time.Since(t0)
	res.CPUPercent = cpuPercent(c1-c0, res.Window)
	res.RSS, _ = procStatusKB(node.Pid(), "VmRSS")
	res.HWM, _ = procStatusKB(node.Pid(), "VmHWM")
	if res.Goroutines1, res.CampaignGrains, err = nodeMetrics(url); err != nil {
		return err
	}
	ticks := float64(res.Campaigns) * res.Window.Seconds() / dialInterval
	res.CPUPerTickMicros = float64(c1-c0) / userHZ / ticks * 1e6
	h.Logf("window %s: CPU %.0f %% of a core, RSS %d MB, %d goroutines", res.Window.Round(time.Millisecond), res.CPUPercent, res.RSS/1024, res.Goroutines1)

	mark(marks, node, "check")
	// Every campaign dialed: its status counts attempts, or it has called
	// every prospect to a resolution.
	res.Statuses, res.ByAttempts = map[string]int{}, map[int]int{}
	var mu sync.Mutex
	var checked atomic.Int64
	start = dialerd.Stopwatch()
	err = parallel(ctx, len(slugs), checkWorkers, func(i int) error {
		s, err := getStatus(url, slugs[i])
		if err != nil {
			return err
		}
		checked.Add(1)
		mu.Lock()
		defer mu.Unlock()
		res.Checked++
		res.Statuses[s.Status]++
		res.Attempts += s.Attempts30d
		res.ByAttempts[s.Attempts30d]++
		// Completed counts only when the campaign knows its three
		// prospects and has resolved them; with no attempt that cannot be.
		done := s.Status == dialerd.StatusCompleted && s.Prospects.Total == prospectsPerCampaign && s.Prospects.Unresolved == 0
		if s.Attempts30d == 0 && !done {
			res.NotCount++
			if len(res.NotTicking) < 5 {
				reasons := make([]string, len(s.Reasons))
				for j, r := range s.Reasons {
					reasons[j] = r.Code
				}
				res.NotTicking = append(res.NotTicking, fmt.Sprintf("%s: %s, 0 attempts, prospects %d total %d unresolved %d dialable now, %d ringing, seats %d available %d busy, reasons [%s]",
					slugs[i], s.Status, s.Prospects.Total, s.Prospects.Unresolved, s.Prospects.DialableNow, s.Calls.Ringing,
					s.Seats.Available, s.Seats.Busy, strings.Join(reasons, " ")))
			}
		}
		return nil
	}, func() {
		h.Logf("check: %d of %d statuses in %s", checked.Load(), len(slugs), time.Since(start).Round(time.Second))
	})
	res.Check = time.Since(start)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if node.Exited() {
		return fmt.Errorf("dialerd exited during the check")
	}
	return nil
}

// setupCampaign creates campaign i: agent a<i> with one seat, the campaign
// dialing every 2 s all day, a list and three prospects added one by one.
// It returns the campaign's slug and how many requests it made; took is
// told how long each one took.
func setupCampaign(url string, i int, took func(time.Duration)) (string, int, error) {
	timed := func(method, url, body string, want int) ([]byte, error) {
		start := dialerd.Stopwatch()
		b, err := call(method, url, body, want)
		took(time.Since(start))
		return b, err
	}
	agent := "a" + strconv.Itoa(i)
	if _, err := timed("PUT", url+"/api/v/agent/"+agent+"/", `{"seats": 1}`, 200); err != nil {
		return "", 1, err
	}
	body, err := timed("POST", url+"/api/v/campaign/", fmt.Sprintf(`{"name": "Bench %d", "agent_id": %q, "dialer_interval": %d,
		"earliest_prospect_time": "00:00", "latest_prospect_time": "23:59"}`, i, agent, dialInterval), 201)
	if err != nil {
		return "", 2, err
	}
	var camp struct{ Slug string }
	if err := json.Unmarshal(body, &camp); err != nil || camp.Slug == "" {
		return "", 2, fmt.Errorf("create campaign %d: %s", i, body)
	}
	body, err = timed("POST", url+"/api/v/list/", fmt.Sprintf(`{"name": "List %d", "campaign": %q}`, i, camp.Slug), 201)
	if err != nil {
		return camp.Slug, 3, err
	}
	var list struct{ UUID string }
	if err := json.Unmarshal(body, &list); err != nil || list.UUID == "" {
		return camp.Slug, 3, fmt.Errorf("create list %d: %s", i, body)
	}
	for j := 0; j < prospectsPerCampaign; j++ {
		k := i*prospectsPerCampaign + j
		ex := campaignExchanges[k%len(campaignExchanges)]
		phone := fmt.Sprintf("+1%03d%03d%04d", ex.npa, ex.nxx, k/len(campaignExchanges))
		if _, err := timed("POST", url+"/api/v/prospect/"+list.UUID+"/", fmt.Sprintf(`{"primary_phone": %q, "state": %q}`, phone, ex.state), 201); err != nil {
			return camp.Slug, 4 + j, err
		}
	}
	return camp.Slug, 3 + prospectsPerCampaign, nil
}

// parallel runs f(0..n-1) on workers goroutines, stopping at the first
// error; progress is called every 5 s.
func parallel(ctx context.Context, n, workers int, f func(i int) error, progress func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := f(i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
feed:
	for i := 0; i < n; i++ {
		for {
			select {
			case jobs <- i:
				continue feed
			case <-tick.C:
				progress()
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// nodeMetrics reads go_goroutines and the active campaign grains from
// /metrics.
func nodeMetrics(url string) (goroutines, campaigns int, err error) {
	body, err := call("GET", url+"/metrics", "", 200)
	if err != nil {
		return 0, 0, err
	}
	var gOK bool
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		x, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if perr != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			goroutines, gOK = int(x), true
		case `dialerd_grains_active{kind="campaign"}`:
			campaigns = int(x)
		}
	}
	if !gOK {
		return 0, 0, fmt.Errorf("/metrics has no go_goroutines")
	}
	return goroutines, campaigns, nil
}

func renderCampaigns(r campaignsResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Campaigns: %d active campaigns ticking every %d s on one node\n\n", r.Campaigns, dialInterval)
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- node: one, default flags but `--provider sim --sim-seed 1 --clock virtual --clock-speed 1 --clock-start %s` (real-time speed, at an hour when every zone of the prospects is inside its legal calling hours).\n", campaignsClockStart)
	fmt.Fprintf(&b, "- each campaign: its own agent with 1 seat, dialer_interval %d s, window 00:00–23:59 local, other settings default (call_ratio 1, min_time_between_calls 30 min); a list of %d prospects added one by one (POST /prospect/{list}/), valid US numbers over %d area codes.\n",
		dialInterval, prospectsPerCampaign, len(campaignExchanges))
	fmt.Fprintf(&b, "- setup through the API, %d workers; then the node is left alone for the measured window of %s; then every campaign's status is read (%d workers).\n\n", setupWorkers, r.Duration, checkWorkers)
	if r.Error != "" {
		fmt.Fprintf(&b, "- **failed**: %s\n\n", r.Error)
	}
	if r.Setup > 0 {
		fmt.Fprintf(&b, "- setup: **%.1f s** for %d requests (%.0f/s: agent PUT, campaign POST, list POST, %d prospect POSTs per campaign); slowest request %.2f s, %d over 1 s; RSS %.0f MB before it, %.0f MB after\n",
			r.Setup.Seconds(), r.SetupRequests, float64(r.SetupRequests)/r.Setup.Seconds(), prospectsPerCampaign,
			r.SetupSlowest.Seconds(), r.SetupOver1s, float64(r.IdleRSS)/1024, float64(r.SetupRSS)/1024)
	}
	if r.Window > 0 {
		fmt.Fprintf(&b, "- window %.1f s: node CPU **%.0f %% of one core** (utime+stime), ≈ %.0f µs of CPU per tick due (%d campaigns / %d s)\n",
			r.Window.Seconds(), r.CPUPercent, r.CPUPerTickMicros, r.Campaigns, dialInterval)
		fmt.Fprintf(&b, "- memory: RSS at the end **%.0f MB**, peak (VmHWM, setup included) %.0f MB\n", float64(r.RSS)/1024, float64(r.HWM)/1024)
		fmt.Fprintf(&b, "- goroutines: %d at the start of the window, %d at its end; campaign grains active: %d\n", r.Goroutines0, r.Goroutines1, r.CampaignGrains)
	}
	if r.Checked > 0 {
		fmt.Fprintf(&b, "- check: %d statuses read in %.1f s: %s; %d attempts in all since creation (%s)\n",
			r.Checked, r.Check.Seconds(), statusCounts(r.Statuses), r.Attempts, attemptCounts(r.ByAttempts))
		if r.NotCount == 0 {
			fmt.Fprintf(&b, "- every campaign dialed (attempts > 0) or is Completed with its %d prospects resolved: ok\n", prospectsPerCampaign)
		} else {
			fmt.Fprintf(&b, "- **%d campaigns never dialed** (0 attempts, and not Completed with %d prospects resolved), e.g.:\n", r.NotCount, prospectsPerCampaign)
			for _, s := range r.NotTicking {
				fmt.Fprintf(&b, "  - %s\n", s)
			}
		}
	}
	renderNodeLog(&b, r.Warnings, r.Errors, r.Phases)
	b.WriteString("\n### Targets (issue)\n\n")
	if r.Window > 0 && r.Error == "" {
		fmt.Fprintf(&b, "- RSS < 1 GB with %d campaigns ticking: %.0f MB at the end (peak %.0f MB), %s\n",
			r.Campaigns, float64(r.RSS)/1024, float64(r.HWM)/1024, verdict(r.RSS < 1<<20 && r.HWM < 1<<20))
	} else {
		b.WriteString("- not assessed: the scenario failed. Target: RSS < 1 GB.\n")
	}
	return b.String()
}

func statusCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func attemptCounts(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d with %d", m[k], k)
	}
	return "campaigns by attempts: " + strings.Join(parts, ", ")
}
