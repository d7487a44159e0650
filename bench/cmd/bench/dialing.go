package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// dialingClockStart is a Tuesday, 15:00 UTC: 11:00 in New York (daylight
// time began on the 8th), 05:00 in Honolulu. The campaign's window is the whole day, so where the clock is
// matters only for the minute 23:59–00:00, which at speed 600 lasts 0.1 s.
const dialingClockStart = "2026-03-10T15:00:00Z"

// dialingWarmup lets the seats fill before the window opens: at speed 600
// it is most of an hour of virtual time, several talk times over.
const dialingWarmup = 5 * time.Second

// Campaign settings of the dialing scenario (minutes, seconds as the API
// takes them).
const (
	dialMaxCalls   = 3
	dialMinBetween = 30 // minutes
	dialMaxWait    = 60
	dialWrapUp     = 0
	dialInterval   = 2
)

type dialingResult struct {
	Command   string            `json:"command"`
	Machine   string            `json:"machine"`
	Date      string            `json:"date"`
	LoadAvg   string            `json:"loadavg"`
	Rows      int               `json:"rows"`
	Speed     float64           `json:"speed"`
	Seats     int               `json:"seats"`
	CallRatio float64           `json:"call_ratio"`
	Duration  time.Duration     `json:"duration_ns"`
	File      prospectgen.Stats `json:"file"`
	Generate  time.Duration     `json:"generate_ns"`

	Upload       time.Duration `json:"upload_ns"` // first byte sent → "completed" seen
	UploadStatus uploadStatus  `json:"upload_status"`

	// The measured window: attempts_30d read at its two ends.
	Window         time.Duration `json:"window_ns"`
	Attempts0      int           `json:"attempts_t0"`
	Attempts1      int           `json:"attempts_t1"`
	AttemptsPerSec float64       `json:"attempts_per_s"`
	Samples        []dialSample  `json:"samples"`
	// Status reads in the window that failed.
	StatusErrors     int      `json:"status_errors"`
	StatusErrorFirst []string `json:"status_error_first"`
	CPUPercent       float64  `json:"cpu_percent"`   // of one core, over the window
	RSS              int64    `json:"rss_kb"`        // at t1
	HWM              int64    `json:"hwm_kb"`        // the peak of the process's life
	IdleRSS          int64    `json:"idle_rss_kb"`   // before the upload
	UploadRSS        int64    `json:"upload_rss_kb"` // after it

	// The check after pausing the campaign.
	Final    campaignStatus `json:"final_status"`
	Log      logCheck       `json:"log"`
	Warnings logLines       `json:"node_warnings"`
	Errors   logLines       `json:"node_errors"`
	Phases   []string       `json:"phases"`
	Error    string         `json:"error,omitempty"`
}

// dialSample is one status read during the window.
type dialSample struct {
	At        time.Duration `json:"at_ns"` // from t0
	Attempts  int           `json:"attempts"`
	Status    string        `json:"status"`
	Ringing   int           `json:"ringing"`
	Connected int           `json:"connected"`
	Queued    int           `json:"queued"`
	SeatsBusy int           `json:"seats_busy"`
	Dialable  int           `json:"dialable_now"` // prospects due now (the node counts at most 20,000 per list)
	Latency   time.Duration `json:"latency_ns"`   // of the status request
}

// campaignStatus is the part of GET /campaign/{slug}/status/ the scenarios read.
type campaignStatus struct {
	Status string `json:"status"`
	Paused bool   `json:"paused"`
	Calls  struct {
		Ringing   int `json:"ringing"`
		Connected int `json:"connected"`
		Queued    int `json:"queued"`
	} `json:"calls"`
	Seats struct {
		Available int `json:"available"`
		Busy      int `json:"busy"`
		WrapUp    int `json:"wrap_up"`
		Offline   int `json:"offline"`
	} `json:"seats"`
	Prospects struct {
		Total       int `json:"total"`
		Unresolved  int `json:"unresolved"`
		DialableNow int `json:"dialable_now"`
	} `json:"prospects"`
	Attempts30d    int     `json:"attempts_30d"`
	AbandonRate30d float64 `json:"abandon_rate_30d"`
	Reasons        []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
}

// logCheck is what reading the whole call log found.
type logCheck struct {
	Records        int            `json:"records"`
	Pages          int            `json:"pages"`
	Took           time.Duration  `json:"took_ns"`
	Prospects      int            `json:"prospects"`
	MaxPerProspect int            `json:"max_per_prospect"`
	Ended          int            `json:"ended"`
	Answered       int            `json:"answered"`
	Connected      int            `json:"connected"`
	Outcomes       map[string]int `json:"outcomes"`
	FirstStart     time.Time      `json:"first_started_at"`
	LastStart      time.Time      `json:"last_started_at"`
	Problems       []string       `json:"problems"` // empty when the log keeps every promise checked
}

// logLines are node log lines of one level: how many, in which phase of
// the scenario, and the first few.
type logLines struct {
	Count   int            `json:"count"`
	ByPhase map[string]int `json:"by_phase"`
	First   []string       `json:"first"`
}

// logMark is where a phase of a scenario begins in the node's log.
type logMark struct {
	Phase  string
	Offset int
}

func mark(marks *[]logMark, n *nodetest.Node, phase string) {
	*marks = append(*marks, logMark{phase, len(n.Log())})
}

// renderNodeLog says how many warnings and errors the node logged, and
// quotes the first ones after its start.
func renderNodeLog(b *strings.Builder, warn, errs logLines, phases []string) {
	fmt.Fprintf(b, "- node log: %d warnings%s, %d errors%s\n", warn.Count, warn.phases(phases), errs.Count, errs.phases(phases))
	for _, l := range append(append([]string{}, errs.First...), warn.First...) {
		fmt.Fprintf(b, "  - `%s`\n", strings.ReplaceAll(l, "`", "'"))
	}
}

// phases renders counts by phase in the order the phases ran.
func (l logLines) phases(marks []string) string {
	var parts []string
	for _, p := range append([]string{"start"}, marks...) {
		if n := l.ByPhase[p]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, p))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// apiClient talks to the node: a timeout so that a stalled node fails the
// scenario instead of hanging it, and enough idle connections that 32
// workers reuse theirs instead of running the loopback out of ports. Idle
// connections are closed before the node's 30 s read timeout, which
// answers a connection that never sent a request with a 400.
var apiClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	t.IdleConnTimeout = 20 * time.Second
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}()

func getStatus(nodeURL, slug string) (campaignStatus, error) {
	var s campaignStatus
	b, err := call("GET", nodeURL+"/api/v/campaign/"+slug+"/status/", "", 200)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("status of %s: %v: %s", slug, err, b)
	}
	return s, nil
}

// cpuTicks is the process's user + system time in clock ticks
// (/proc/<pid>/stat fields 14 and 15; USER_HZ is 100 on Linux).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return u + s, nil
}

const userHZ = 100

// cpuPercent is CPU time over wall time, as % of one core.
func cpuPercent(ticks int64, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * float64(ticks) / userHZ / wall.Seconds()
}

// nodeLog counts the node's WARN and ERROR lines (its log is JSON, one
// record a line, when not on a terminal), each under the phase of the
// scenario it was written in: marks are the log's lengths when each phase
// began. The start's are a node's usual (a single node elects itself) and
// are not quoted.
func nodeLog(n *nodetest.Node, marks []logMark) (warn, errs logLines) {
	return countLog(n.Log(), marks, map[string]bool{"start": true})
}

// countLog counts a log's WARN and ERROR lines by phase and quotes the
// first few of the phases not in unquoted.
func countLog(log string, marks []logMark, unquoted map[string]bool) (warn, errs logLines) {
	warn.ByPhase, errs.ByPhase = map[string]int{}, map[string]int{}
	for off := 0; off < len(log); {
		line := log[off:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		phase := "start"
		for _, m := range marks {
			if off >= m.Offset {
				phase = m.Phase
			}
		}
		off += len(line) + 1
		var rec struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		var l *logLines
		switch rec.Level {
		case "WARN":
			l = &warn
		case "ERROR":
			l = &errs
		default:
			continue
		}
		l.Count++
		l.ByPhase[phase]++
		if !unquoted[phase] && len(l.First) < 5 {
			if len(line) > 400 {
				line = line[:400] + "…"
			}
			l.First = append(l.First, line)
		}
	}
	return warn, errs
}

// saveLog keeps the node's log beside the JSON figures.
func saveLog(name string, n *nodetest.Node) {
	_ = os.MkdirAll("bench/out", 0o755)
	_ = os.WriteFile(filepath.Join("bench/out", name+"-node.log"), []byte(n.Log()), 0o644)
}

func loadAvg() string {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			return strings.Join(f[:3], " ")
		}
	}
	return "unknown"
}

// runDialing measures sustained call attempts per second on one node: the
// sim provider on a virtual clock running speed× wall time, one campaign
// whose agent has seats seats, dialing a list of rows uploaded prospects.
// The campaign is paused through the upload, then dials for a warm-up and
// the measured window; it is paused again and its call log read through:
// every attempt the status counted must be in the log (the node writes an
// attempt before it places the call).
func runDialing(ctx context.Context, h *harness, rows int, d time.Duration, speed float64, seats int, ratio float64) (string, error) {
	res := dialingResult{
		Command: fmt.Sprintf("make bench BENCHFLAGS='-scenario dialing -rows %d -duration %s -speed %g -seats %d -call-ratio %g'", rows, d, speed, seats, ratio),
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(),
		Rows: rows, Speed: speed, Seats: seats, CallRatio: ratio, Duration: d,
	}
	if err := checkDialingFlags(rows, d, speed, seats, ratio); err != nil {
		return "", err
	}
	path := filepath.Join(h.dir, "bench.csv")
	err := catch(func() error {
		var err error
		res.File, res.Generate, err = generateCSV(path, rows)
		if err != nil {
			return err
		}
		h.Logf("generated %d rows (%d to accept) in %s", res.File.Rows, res.File.Accepted, res.Generate.Round(time.Millisecond))
		node := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken, Args: []string{
			"--clock", "virtual", "--clock-speed", strconv.FormatFloat(speed, 'g', -1, 64), "--clock-start", dialingClockStart,
			"--provider", "sim", "--sim-seed", "1"}})
		defer node.Kill()
		var marks []logMark
		err = dialThrough(ctx, h, node, path, &res, &marks)
		res.Warnings, res.Errors = nodeLog(node, marks)
		saveLog("dialing", node)
		for _, m := range marks {
			res.Phases = append(res.Phases, m.Phase)
		}
		return err
	})
	if err != nil {
		res.Error = err.Error()
	}
	problems := res.problems()
	saveJSON("dialing", res)
	section := renderDialing(res)
	if len(problems) > 0 {
		h.Logf("%s", section)
		return "", fmt.Errorf("dialing scenario failed (node log in bench/out/dialing-node.log): %s", strings.Join(problems, "; "))
	}
	return section, nil
}

// problems are the reasons the scenario failed (the target is not one).
func (r *dialingResult) problems() []string {
	var p []string
	if r.Error != "" {
		p = append(p, r.Error)
	}
	if r.Log.Pages > 0 {
		if r.Log.Records != r.Final.Attempts30d {
			p = append(p, fmt.Sprintf("call log has %d records, status counts %d attempts", r.Log.Records, r.Final.Attempts30d))
		}
		if len(r.Log.Problems) > 0 {
			p = append(p, fmt.Sprintf("call log: %d problems, first: %s", len(r.Log.Problems), r.Log.Problems[0]))
		}
	}
	if r.StatusErrors > 0 {
		p = append(p, fmt.Sprintf("%d status reads in the window failed, first %s", r.StatusErrors, r.StatusErrorFirst[0]))
	}
	if r.Errors.Count > 0 {
		p = append(p, fmt.Sprintf("node logged %d errors, first: %s", r.Errors.Count, firstOf(r.Errors.First...)))
	}
	return p
}

func dialThrough(ctx context.Context, h *harness, node *nodetest.Node, path string, res *dialingResult, marks *[]logMark) error {
	url := node.URL
	mark(marks, node, "setup")
	if _, err := call("PUT", url+"/api/v/agent/bench/", fmt.Sprintf(`{"seats": %d}`, res.Seats), 200); err != nil {
		return err
	}
	create := fmt.Sprintf(`{"name": "Bench Dialing", "agent_id": "bench", "call_ratio": %g, "dialer_interval": %d,
		"max_active_calls": 0, "max_number_calls": %d, "min_time_between_calls": %d, "wrap_up_time": %d, "max_wait_time": %d,
		"earliest_prospect_time": "00:00", "latest_prospect_time": "23:59", "paused": true}`,
		res.CallRatio, dialInterval, dialMaxCalls, dialMinBetween, dialWrapUp, dialMaxWait)
	body, err := call("POST", url+"/api/v/campaign/", create, 201)
	if err != nil {
		return err
	}
	var camp struct{ Slug string }
	if err := json.Unmarshal(body, &camp); err != nil || camp.Slug == "" {
		return fmt.Errorf("create campaign: %s", body)
	}
	slug := camp.Slug
	body, err = call("POST", url+"/api/v/list/", `{"name": "bench", "campaign": "`+slug+`"}`, 201)
	if err != nil {
		return err
	}
	var list struct{ Slug string }
	if err := json.Unmarshal(body, &list); err != nil || list.Slug == "" {
		return fmt.Errorf("create list: %s", body)
	}
	res.IdleRSS, _ = procStatusKB(node.Pid(), "VmRSS")

	// The upload, with the campaign paused: it does not compete with dialing.
	t, uuid, err := postUpload(ctx, url+"/api/v/upload/"+list.Slug+"/", path)
	if err != nil {
		return err
	}
	st, done, err := pollUpload(ctx, h, url+"/api/v/upload/"+uuid+"/")
	res.UploadStatus = st
	if err != nil {
		return err
	}
	res.Upload = done.Sub(t.first)
	if st.Status != "completed" || st.Accepted != res.File.Accepted {
		return fmt.Errorf("upload ended %q with %d accepted, want %d: %s", st.Status, st.Accepted, res.File.Accepted, st.Errors)
	}
	h.Logf("upload completed in %s: %d accepted", res.Upload.Round(time.Millisecond), st.Accepted)

	res.UploadRSS, _ = procStatusKB(node.Pid(), "VmRSS")
	mark(marks, node, "warm-up")
	if _, err := call("PATCH", url+"/api/v/campaign/"+slug+"/", `{"paused": false}`, 200); err != nil {
		return fmt.Errorf("unpause the campaign: %w", err)
	}
	if err := sleepCtx(ctx, dialingWarmup); err != nil {
		return err
	}
	if node.Exited() {
		return fmt.Errorf("dialerd exited during the warm-up")
	}

	// The window.
	mark(marks, node, "window")
	s0, err := getStatus(url, slug)
	if err != nil {
		return err
	}
	c0, err := cpuTicks(node.Pid())
	if err != nil {
		return err
	}
	t0 := dialerd.Stopwatch()
	res.Attempts0 = s0.Attempts30d
	if s0.Attempts30d == 0 {
		return fmt.Errorf("no attempt after a %s warm-up: status %s, reasons %+v", dialingWarmup, s0.Status, s0.Reasons)
	}
	last := t0
	// A sample every whole second of the window; one that took longer
	// than a second skips the seconds it overran.
	end := t0.Add(res.Duration)
	for next := t0.Add(time.Second); next.Before(end); next = nextSecond(next) {
		if err := sleepCtx(ctx, time.Until(next)); err != nil {
			return err
		}
		if node.Exited() {
			return fmt.Errorf("dialerd exited %s into the window", time.Since(t0).Round(time.Second))
		}
		before := dialerd.Stopwatch()
		s, err := getStatus(url, slug)
		now := dialerd.Stopwatch()
		if err != nil {
			// Not fatal yet: how long the campaign stays unavailable is
			// worth knowing. The scenario fails at the end.
			res.StatusErrors++
			if len(res.StatusErrorFirst) < 5 {
				res.StatusErrorFirst = append(res.StatusErrorFirst, fmt.Sprintf("%.1f s into the window, after %.1f s: %v", now.Sub(t0).Seconds(), now.Sub(before).Seconds(), err))
			}
			h.Logf("%s: %v", now.Sub(t0).Round(time.Second), err)
			continue
		}
		res.Samples = append(res.Samples, dialSample{At: now.Sub(t0), Attempts: s.Attempts30d, Status: s.Status,
			Ringing: s.Calls.Ringing, Connected: s.Calls.Connected, Queued: s.Calls.Queued, SeatsBusy: s.Seats.Busy,
			Dialable: s.Prospects.DialableNow, Latency: now.Sub(before)})
		if now.Sub(last) >= 10*time.Second {
			h.Logf("%s: %d attempts, %d ringing, %d connected, %d queued, %d seats busy", now.Sub(t0).Round(time.Second),
				s.Attempts30d-res.Attempts0, s.Calls.Ringing, s.Calls.Connected, s.Calls.Queued, s.Seats.Busy)
			last = now
		}
	}
	if err := sleepCtx(ctx, time.Until(t0.Add(res.Duration))); err != nil {
		return err
	}
	s1, err := getStatus(url, slug)
	if err != nil {
		return err
	}
	c1, err := cpuTicks(node.Pid())
	if err != nil {
		return err
	}
	res.Window = dialerd.Stopwatch().Sub(t0)
	res.Attempts1 = s1.Attempts30d
	res.AttemptsPerSec = float64(res.Attempts1-res.Attempts0) / res.Window.Seconds()
	res.CPUPercent = cpuPercent(c1-c0, res.Window)
	res.RSS, _ = procStatusKB(node.Pid(), "VmRSS")
	res.HWM, _ = procStatusKB(node.Pid(), "VmHWM")
	h.Logf("window %s: %d attempts, %.0f/s; CPU %.0f %% of a core; RSS %d MB", res.Window.Round(time.Millisecond),
		res.Attempts1-res.Attempts0, res.AttemptsPerSec, res.CPUPercent, res.RSS/1024)

	mark(marks, node, "check")
	// Paused, the campaign places nothing more (the reply comes from the
	// grain once it adopted the change): its attempts are final and every
	// one must be in the log.
	body, err = call("PATCH", url+"/api/v/campaign/"+slug+"/", `{"paused": true}`, 200)
	if err != nil {
		return fmt.Errorf("pause the campaign after the window: %w", err)
	}
	var paused struct {
		UpdatedAt time.Time `json:"updated_at"`
	}
	if err := json.Unmarshal(body, &paused); err != nil {
		return fmt.Errorf("pause: %s", body)
	}
	if res.Final, err = getStatus(url, slug); err != nil {
		return err
	}
	res.Log, err = checkLog(ctx, h, url, slug, paused.UpdatedAt)
	if err != nil {
		return err
	}
	if again, err := getStatus(url, slug); err != nil {
		return err
	} else if again.Attempts30d != res.Final.Attempts30d {
		res.Log.Problems = append(res.Log.Problems, fmt.Sprintf("attempts_30d moved from %d to %d while paused", res.Final.Attempts30d, again.Attempts30d))
	}
	if node.Exited() {
		return fmt.Errorf("dialerd exited during the log check")
	}
	return nil
}

// nextSecond is the first of prev + 1 s, prev + 2 s, … still to come.
func nextSecond(prev time.Time) time.Time {
	next := prev.Add(time.Second)
	for now := dialerd.Stopwatch(); !next.After(now); {
		next = next.Add(time.Second)
	}
	return next
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// callRecord is the part of a call log record the check reads.
type callRecord struct {
	ID          string     `json:"id"`
	List        string     `json:"list"`
	Prospect    string     `json:"prospect"`
	Attempt     int        `json:"attempt"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at"`
	ConnectedAt *time.Time `json:"connected_at"`
	EndedAt     *time.Time `json:"ended_at"`
	Outcome     string     `json:"outcome"`
}

// checkLog reads the whole call log, oldest first, and checks what the
// scenario's settings promise: call numbers 1, 2, 3, … without a gap (each
// number given is a record written), no prospect called more than
// max_number_calls times or twice within min_time_between_calls, nothing
// placed after the pause.
func checkLog(ctx context.Context, h *harness, url, slug string, pausedAt time.Time) (logCheck, error) {
	lc := logCheck{Outcomes: map[string]int{}, Problems: []string{}}
	problem := func(format string, args ...any) {
		if len(lc.Problems) < 20 {
			lc.Problems = append(lc.Problems, fmt.Sprintf(format, args...))
		}
	}
	type seen struct {
		n    int
		last time.Time
	}
	byProspect := map[string]*seen{}
	start := dialerd.Stopwatch()
	lastLog := start
	cursor := ""
	var want int64 = 1
	for {
		if err := ctx.Err(); err != nil {
			return lc, err
		}
		body, err := call("GET", url+"/api/v/campaign/"+slug+"/calls/?limit=1000&cursor="+cursor, "", 200)
		if err != nil {
			return lc, err
		}
		var page struct {
			Results []callRecord `json:"results"`
			Next    string       `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return lc, fmt.Errorf("call log page after %q: %v", cursor, err)
		}
		lc.Pages++
		for _, c := range page.Results {
			lc.Records++
			_, n, ok := dialerd.ParseCallID(c.ID)
			switch {
			case !ok:
				problem("record %d has id %q", lc.Records, c.ID)
			case n != want:
				problem("record %d is call %d, want %d (a gap or a repeat)", lc.Records, n, want)
			}
			want = n + 1
			if lc.FirstStart.IsZero() || c.StartedAt.Before(lc.FirstStart) {
				lc.FirstStart = c.StartedAt
			}
			if c.StartedAt.After(lc.LastStart) {
				lc.LastStart = c.StartedAt
			}
			if c.StartedAt.After(pausedAt) {
				problem("%s placed at %s, after the pause at %s", c.ID, c.StartedAt.Format(time.RFC3339Nano), pausedAt.Format(time.RFC3339Nano))
			}
			if c.EndedAt != nil {
				lc.Ended++
				lc.Outcomes[c.Outcome]++
			}
			if c.AnsweredAt != nil {
				lc.Answered++
			}
			if c.ConnectedAt != nil {
				lc.Connected++
			}
			key := c.List + "/" + c.Prospect
			s := byProspect[key]
			if s == nil {
				s = &seen{}
				byProspect[key] = s
			} else if gap := c.StartedAt.Sub(s.last); gap < dialMinBetween*time.Minute {
				problem("%s: prospect %s called again %s after its previous call (min_time_between_calls %d min)", c.ID, c.Prospect, gap, dialMinBetween)
			}
			s.n++
			s.last = c.StartedAt
			if s.n > dialMaxCalls {
				problem("%s: prospect %s called %d times (max_number_calls %d)", c.ID, c.Prospect, s.n, dialMaxCalls)
			}
			lc.MaxPerProspect = max(lc.MaxPerProspect, s.n)
		}
		if now := dialerd.Stopwatch(); now.Sub(lastLog) > 5*time.Second {
			h.Logf("call log: %d records read in %s", lc.Records, now.Sub(start).Round(time.Millisecond))
			lastLog = now
		}
		if page.Next == "" {
			break
		}
		if page.Next == cursor {
			return lc, fmt.Errorf("call log: cursor %q repeats", cursor)
		}
		cursor = page.Next
	}
	lc.Took = time.Since(start)
	lc.Prospects = len(byProspect)
	return lc, nil
}

func renderDialing(r dialingResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Dialing: sustained call attempts on one node (sim provider, virtual clock ×%g)\n\n", r.Speed)
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- node: one, default flags but `--clock virtual --clock-speed %g --clock-start %s --provider sim --sim-seed 1`; the sim plays each call on the node's clock (rings 3–40 s, 35 %% answered, talks 20 s–10 min).\n", r.Speed, dialingClockStart)
	fmt.Fprintf(&b, "- campaign: agent with %d seats, call_ratio %g, dialer_interval %d s, max_active_calls 0, max_number_calls %d, min_time_between_calls %d min, wrap_up_time %d s, max_wait_time %d s, window 00:00–23:59 local.\n",
		r.Seats, r.CallRatio, dialInterval, dialMaxCalls, dialMinBetween, dialWrapUp, dialMaxWait)
	fmt.Fprintf(&b, "- list: %d rows uploaded (bench/prospectgen, seed %d, %d to accept) while the campaign is paused; then unpaused, %s of warm-up, then the measured window of %s. attempts/s = Δ`attempts_30d` (status) over the window, in wall time.\n\n",
		r.File.Rows, uploadSeed, r.File.Accepted, dialingWarmup, r.Duration)
	if r.Error != "" {
		fmt.Fprintf(&b, "- **failed**: %s\n\n", r.Error)
	}
	if r.Upload > 0 {
		fmt.Fprintf(&b, "- upload: **%.2f s** from the first byte sent to `completed` (%d accepted, %d duplicates, %d invalid)\n",
			r.Upload.Seconds(), r.UploadStatus.Accepted, r.UploadStatus.Duplicates, r.UploadStatus.Invalid)
	}
	if r.Window > 0 {
		fmt.Fprintf(&b, "- window: %.2f s wall (≈ %.0f virtual min); attempts %d → %d: **%d attempts, %.0f attempts/s** (%.1f per virtual second)\n",
			r.Window.Seconds(), r.Window.Minutes()*r.Speed, r.Attempts0, r.Attempts1, r.Attempts1-r.Attempts0, r.AttemptsPerSec, r.AttemptsPerSec/r.Speed)
		fmt.Fprintf(&b, "- node CPU over the window: **%.0f %% of one core** (utime+stime); RSS at the end %.0f MB, peak (VmHWM, whole life incl. the upload) %.0f MB; %.0f MB before the upload, %.0f MB after it\n",
			r.CPUPercent, float64(r.RSS)/1024, float64(r.HWM)/1024, float64(r.IdleRSS)/1024, float64(r.UploadRSS)/1024)
	}
	if r.StatusErrors > 0 {
		fmt.Fprintf(&b, "- **%d status reads in the window failed**:\n", r.StatusErrors)
		for _, e := range r.StatusErrorFirst {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	if len(r.Samples) > 0 {
		b.WriteString("\n| per 1 s status sample | min | median | max |\n|---|---:|---:|---:|\n")
		col := func(name, format string, f func(i int, s dialSample) float64) {
			xs := make([]float64, len(r.Samples))
			for i, s := range r.Samples {
				xs[i] = f(i, s)
			}
			sort.Float64s(xs)
			fmt.Fprintf(&b, "| %s | "+format+" | "+format+" | "+format+" |\n", name, xs[0], xs[len(xs)/2], xs[len(xs)-1])
		}
		col("attempts/s since the previous sample", "%.0f", func(i int, s dialSample) float64 {
			prev, prevAt := r.Attempts0, time.Duration(0)
			if i > 0 {
				prev, prevAt = r.Samples[i-1].Attempts, r.Samples[i-1].At
			}
			return float64(s.Attempts-prev) / (s.At - prevAt).Seconds()
		})
		col("calls ringing", "%.0f", func(_ int, s dialSample) float64 { return float64(s.Ringing) })
		col("calls connected", "%.0f", func(_ int, s dialSample) float64 { return float64(s.Connected) })
		col("calls queued (answered, waiting for a seat)", "%.0f", func(_ int, s dialSample) float64 { return float64(s.Queued) })
		col("seats busy", "%.0f", func(_ int, s dialSample) float64 { return float64(s.SeatsBusy) })
		col("prospects dialable now (capped at 20,000 a list)", "%.0f", func(_ int, s dialSample) float64 { return float64(s.Dialable) })
		col("status request latency, ms", "%.1f", func(_ int, s dialSample) float64 { return float64(s.Latency) / 1e6 })
		b.WriteString("\n")
		short := 0
		for _, s := range r.Samples {
			if s.Dialable == 0 {
				short++
			}
		}
		if short > 0 {
			fmt.Fprintf(&b, "- **the list ran out of prospects due now in %d of %d samples**: the rate is bounded by the list, not the node (more -rows)\n", short, len(r.Samples))
		}
	}
	if r.Log.Pages > 0 {
		lc := r.Log
		match := "equal"
		if lc.Records != r.Final.Attempts30d {
			match = "**differ**"
		}
		fmt.Fprintf(&b, "- durability: campaign paused after the window, then its whole call log read (%d pages of 1000, %.1f s): **%d records, `attempts_30d` %d: %s**\n",
			lc.Pages, lc.Took.Seconds(), lc.Records, r.Final.Attempts30d, match)
		fmt.Fprintf(&b, "- call log: %d prospects called (at most %d times each), %d calls ended (%s), %d answered, %d connected to a seat; placed from %s to %s virtual time\n",
			lc.Prospects, lc.MaxPerProspect, lc.Ended, outcomes(lc.Outcomes), lc.Answered, lc.Connected,
			lc.FirstStart.Format(time.DateTime), lc.LastStart.Format(time.DateTime))
		if len(lc.Problems) == 0 {
			b.WriteString("- call numbers contiguous from 1, no prospect over max_number_calls or called again within min_time_between_calls, nothing placed after the pause: ok\n")
		} else {
			fmt.Fprintf(&b, "- **call log problems** (%d, first ones):\n", len(lc.Problems))
			for _, p := range lc.Problems[:min(5, len(lc.Problems))] {
				fmt.Fprintf(&b, "  - %s\n", p)
			}
		}
	}
	renderNodeLog(&b, r.Warnings, r.Errors, r.Phases)
	b.WriteString("\n### Targets (issue)\n\n")
	if r.Window > 0 && r.Error == "" {
		fmt.Fprintf(&b, "- ≥ 5,000 attempts/s, each recorded before it is placed: %.0f attempts/s, %s; every attempt in the log: %s\n",
			r.AttemptsPerSec, verdict(r.AttemptsPerSec >= 5000), verdict(r.Log.Records == r.Final.Attempts30d && len(r.Log.Problems) == 0))
	} else {
		b.WriteString("- not assessed: the scenario failed. Target: ≥ 5,000 attempts/s, each recorded before it is placed.\n")
	}
	return b.String()
}

func outcomes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// checkDialingFlags refuses the flags of a dialing run (the dialing and
// failover scenarios) that cannot make one.
func checkDialingFlags(rows int, d time.Duration, speed float64, seats int, ratio float64) error {
	switch {
	case rows <= 0:
		return fmt.Errorf("-rows %d: want at least one row", rows)
	case d <= 0:
		return fmt.Errorf("-duration %s: want a positive duration", d)
	case !(speed > 0) || speed > 1e6:
		return fmt.Errorf("-speed %g: want > 0 and ≤ 1e6", speed)
	case seats < 1 || seats > 10000:
		return fmt.Errorf("-seats %d: want 1 to 10000", seats)
	case !(ratio > 0) || ratio > 100:
		return fmt.Errorf("-call-ratio %g: want > 0 and ≤ 100", ratio)
	}
	return nil
}
