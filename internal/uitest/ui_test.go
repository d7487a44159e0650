package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

const adminToken = "ui-admin-token"

// TestDashboard signs in (a wrong token is refused on the page), sees the
// campaigns with why one is not dialled, uploads a list from the page and
// follows its progress, sees the campaign go Running and its chart move,
// pauses and resumes it from the page (the API agrees), sees the banner
// while the node is down and go once it is back, and signs out.
func TestDashboard(t *testing.T) {
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("DIALERD_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("chromium not on PATH and DIALERD_REQUIRE_CHROMIUM=1: %v", err)
		}
		t.Skipf("chromium not on PATH (%v): install the Debian package chromium to run the dashboard test", err)
	}
	t.Parallel()
	started := time.Now()

	// Monday 2026-03-09 16:00 UTC: noon in New York, 09:00 in Los Angeles.
	// 1 s of wall time is 2 virtual minutes: a call lasts seconds, and the
	// per-minute chart gains a bar every half second. The anchor keeps the
	// virtual clock going across the restart.
	node := nodetest.Start(t, nodetest.Options{BootstrapToken: adminToken, Args: []string{
		"--clock", "virtual", "--clock-speed", "120", "--clock-start", "2026-03-09T16:00:00Z",
		"--clock-anchor", started.UTC().Format(time.RFC3339Nano), "--sim-seed", "9"}})
	api := apiClient{t: t, url: node.URL}

	// A campaign that will dial once the page uploads its list, and one
	// that cannot (it has prospects but no agent).
	api.expect("PUT", "/api/v/agent/ui-team/", `{"workspace": "ws_ui", "seats": 4}`, 200)
	api.expect("POST", "/api/v/campaign/", `{"name": "Wallboard", "workspace": "ws_ui", "agent_id": "ui-team", "call_ratio": 2,
		"max_number_calls": 3, "min_time_between_calls": 20, "dialer_interval": 2, "earliest_prospect_time": "08:00",
		"latest_prospect_time": "21:00", "max_wait_time": 10, "wrap_up_time": 3}`, 201)
	var list struct{ UUID string }
	json.Unmarshal(api.expect("POST", "/api/v/list/", `{"name": "Wallboard list", "campaign": "wallboard"}`, 201), &list)
	api.expect("POST", "/api/v/campaign/", `{"name": "Idle", "workspace": "ws_ui"}`, 201)
	api.expect("POST", "/api/v/list/", `{"name": "Idle list", "campaign": "idle"}`, 201)
	api.upload("idle-list", csvRows(t, 20, 2))
	csvPath := filepath.Join(t.TempDir(), "wallboard.csv")
	if err := os.WriteFile(csvPath, csvRows(t, 600, 4), 0o644); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, chrome)

	// Sign in: a wrong token is refused on the page and not kept.
	b.do(chromedp.Navigate(node.URL + "/ui/"))
	b.wait("the sign-in form", `!document.getElementById("view-login").hidden`, 10*time.Second)
	b.shot("01-sign-in")
	b.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="token-input"]`), "not-a-token"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)))
	b.wait("the wrong token refused", `(() => { const e = document.querySelector('[data-testid="login-error"]');
		return !e.hidden && e.textContent.includes("refused") && e.textContent.includes("Invalid token") })()`, 10*time.Second)
	if kept := evalJS[bool](b, `sessionStorage.getItem("dialerd.token") !== null || !document.getElementById("view-campaigns").hidden`); kept {
		t.Fatal("a refused token signed in, or was kept")
	}
	b.shot("02-wrong-token")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="token-input"]').value = ""`),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="token-input"]`), adminToken),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)))

	// The list: both campaigns, and why Idle is not dialled.
	b.wait("both campaigns listed, Idle saying why it does not dial", `(() => {
		const idle = document.querySelector('tr[data-slug="idle"]');
		return !!document.querySelector('tr[data-slug="wallboard"] [data-testid="row-status"]')?.textContent &&
			idle?.querySelector('[data-testid="row-status"]').textContent === "Stopped" &&
			!!idle.querySelector('[data-testid="row-reasons"] li[data-code="no_agent"]') &&
			idle.querySelector('[data-testid="row-reasons"]').textContent.includes("no agent_id") })()`, 20*time.Second)
	b.shot("03-campaigns")

	// The campaign: no prospects yet; upload its list from the page.
	b.do(chromedp.Click(chromedp.CSS(`tr[data-slug="wallboard"] a[data-testid="campaign-link"]`)))
	fileInput := fmt.Sprintf(`tr[data-uuid="%s"] input[type=file]`, list.UUID)
	b.wait("the campaign view with its list", fmt.Sprintf(`!document.getElementById("view-campaign").hidden &&
		document.querySelector('[data-testid="campaign-name"]').textContent === "Wallboard" &&
		!!document.querySelector('%s') && !!document.querySelector('#reasons-list li[data-code="no_prospects"]')`, fileInput), 15*time.Second)
	b.shot("04-campaign-before-upload")
	b.do(chromedp.SetUploadFiles(chromedp.CSS(fileInput), []string{csvPath}),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-uuid="%s"] [data-testid="upload-submit"]`, list.UUID))))
	b.wait("the upload completed on the page", `(() => { const u = document.querySelector('[data-testid="upload"][data-status="completed"]');
		return !!u && parseInt(u.querySelector('[data-testid="upload-accepted"]').textContent.replace(/,/g, ""), 10) > 500 })()`, 20*time.Second)
	b.shot("05-uploaded")

	// Running, with calls and busy seats on the page.
	b.wait("the campaign Running", `document.querySelector('[data-testid="campaign-status"]').textContent === "Running" &&
		parseInt(document.querySelector('[data-testid="calls-ringing"]').textContent, 10) +
		parseInt(document.querySelector('[data-testid="calls-connected"]').textContent, 10) > 0`, 20*time.Second)
	b.shot("06-running")

	// The charts move: more attempts, a later last minute.
	type chart struct {
		Total, Points, Bars int
		Last                string
	}
	readChart := func() chart {
		return evalJS[chart](b, `(() => { const d = document.querySelector('[data-testid="chart-attempts"]').dataset;
			return {total: +d.total || 0, points: +d.points || 0, bars: +d.bars || 0, last: d.last || ""} })()`)
	}
	b.wait("the attempts chart drawn", `+document.querySelector('[data-testid="chart-attempts"]').dataset.total > 0`, 10*time.Second)
	first := readChart()
	if first.Points != 60 || first.Bars == 0 || first.Last == "" {
		t.Fatalf("attempts chart: %+v", first)
	}
	b.wait("the attempts chart moving", fmt.Sprintf(`(() => { const d = document.querySelector('[data-testid="chart-attempts"]').dataset;
		return +d.total > %d && d.last > %q })()`, first.Total, first.Last), 15*time.Second)
	second := readChart()
	if n := evalJS[int](b, `document.querySelectorAll('[data-testid="chart-attempts"] rect.bar').length`); n != second.Bars || n == 0 {
		t.Fatalf("the attempts chart says %d bars and draws %d", second.Bars, n)
	}
	if n := evalJS[int](b, `+document.querySelector('[data-testid="chart-abandon"]').dataset.points`); n != 60 {
		t.Fatalf("abandon chart: %d points", n)
	}
	t.Logf("attempts chart: %+v, then %+v", first, second)
	b.shot("07-charts")
	// A day's window: 1440 minutes, drawn in buckets.
	b.do(chromedp.SetValue(chromedp.CSS(`[data-testid="window-select"]`), "1440"))
	b.wait("the charts over 24 hours", `+document.querySelector('[data-testid="chart-attempts"]').dataset.points === 1440 &&
		+document.querySelector('[data-testid="chart-abandon"]').dataset.points === 1440`, 10*time.Second)
	if day := readChart(); day.Bars == 0 || day.Bars > 240 || day.Total < second.Total {
		t.Fatalf("attempts over 24 hours: %+v", day)
	}
	b.shot("08-charts-24h")

	// Pause from the page: the page and the API agree.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="pause-button"]`)))
	b.wait("the page showing the campaign paused", `document.getElementById("view-campaign").dataset.paused === "true" &&
		!document.querySelector('[data-testid="resume-button"]').hidden && document.querySelector('[data-testid="pause-button"]').hidden`, 10*time.Second)
	if !api.campaign("wallboard").Paused {
		t.Fatal("paused on the page, not in the API")
	}
	b.wait("the status Stopped, saying it is paused", `document.querySelector('[data-testid="campaign-status"]').textContent === "Stopped" &&
		!!document.querySelector('#reasons-list li[data-code="paused"]')`, 25*time.Second)
	if s := api.status("wallboard"); s.Status != "Stopped" || !s.has("paused") {
		t.Fatalf("API status after pausing on the page: %+v", s)
	}
	b.shot("09-paused")
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="resume-button"]`)))
	b.wait("the page showing the campaign resumed", `document.getElementById("view-campaign").dataset.paused === "false" &&
		!document.querySelector('[data-testid="pause-button"]').hidden`, 10*time.Second)
	if api.campaign("wallboard").Paused {
		t.Fatal("resumed on the page, still paused in the API")
	}

	// The node goes away: a banner says so and the age grows; it goes
	// once the node is back.
	node.Kill()
	b.wait("the unreachable banner", `(() => { const e = document.querySelector('[data-testid="offline-banner"]');
		return !e.hidden && e.textContent.includes("Cannot reach the node") &&
			+document.querySelector('[data-testid="updated"]').dataset.age >= 2 })()`, 15*time.Second)
	b.shot("10-node-unreachable")
	node.Restart()
	b.wait("the banner gone after the restart", `document.querySelector('[data-testid="offline-banner"]').hidden &&
		+document.querySelector('[data-testid="updated"]').dataset.age <= 2`, 30*time.Second)
	b.shot("11-node-back")

	// Sign out: the token is forgotten.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)))
	b.wait("signed out", `!document.getElementById("view-login").hidden && sessionStorage.getItem("dialerd.token") === null`, 10*time.Second)
	b.shot("12-signed-out")

	if p := b.problems(); len(p) > 0 {
		t.Fatalf("the page reported errors:\n%s", strings.Join(p, "\n"))
	}
	t.Logf("screenshots in %s; %v", b.dir, time.Since(started).Round(time.Millisecond))
}

// csvRows is a prospect file of n rows.
func csvRows(t *testing.T, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := prospectgen.Write(&buf, n, seed); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ---- the browser -----------------------------------------------------------

type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // where screenshots go
	mu   sync.Mutex
	errs []string
}

// startBrowser starts headless Chromium with a fresh profile; it is closed
// at the end of the test, after a screenshot of a failure.
func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	b := &browser{t: t, dir: artifactsDir(t)}
	os.Remove(filepath.Join(b.dir, "failure.png")) // of an earlier run
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() {
		if t.Failed() {
			b.shot("failure")
		}
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, bound to ctx (no timeout).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// listen keeps what the page reports as errors: uncaught exceptions,
// console.error, and browser log errors other than failed requests (a
// refused token and a node that is down are expected to fail some).
func (b *browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			msg = "console.error"
			for _, a := range ev.Args {
				msg += " " + string(a.Value) + a.Description
			}
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork {
			msg = fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.errs = append(b.errs, msg)
		b.mu.Unlock()
	}
}

func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds.
func (b *browser) wait(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			view, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText.slice(0, 3000) +
				"\nbanner: " + document.getElementById("banner").textContent`))
			b.t.Fatalf("waited %v for %s (last error %v); the page shows:\n%s", timeout, what, err, view)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shot saves a PNG of the whole page.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// artifactsDir is $DIALERD_ARTIFACTS, else test-artifacts/ui at the
// repository root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DIALERD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts", "ui")
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	return dir
}

// ---- the API, for setting up and for checking what the page did ---------

type apiClient struct {
	t   *testing.T
	url string
}

func (c apiClient) call(method, path, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (c apiClient) expect(method, path, body string, status int) []byte {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	got, out := c.call(method, path, ct, []byte(body))
	if got != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, status, out)
	}
	return out
}

// upload sends a CSV to a list and waits until its rows are in.
func (c apiClient) upload(list string, csv []byte) {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	f, _ := w.CreateFormFile("file", list+".csv")
	f.Write(csv)
	w.Close()
	status, out := c.call("POST", "/api/v/upload/"+list+"/", w.FormDataContentType(), body.Bytes())
	if status != 201 {
		c.t.Fatalf("upload to %s: %d %s", list, status, out)
	}
	var up struct{ UUID, Status string }
	json.Unmarshal(out, &up)
	deadline := time.Now().Add(30 * time.Second)
	for up.Status != "completed" {
		if up.Status == "failed" || time.Now().After(deadline) {
			c.t.Fatalf("upload %s: %s", up.UUID, out)
		}
		time.Sleep(50 * time.Millisecond)
		json.Unmarshal(c.expect("GET", "/api/v/upload/"+up.UUID+"/", "", 200), &up)
	}
}

type campaignDoc struct {
	Paused bool `json:"paused"`
}

func (c apiClient) campaign(slug string) campaignDoc {
	c.t.Helper()
	var d campaignDoc
	json.Unmarshal(c.expect("GET", "/api/v/campaign/"+slug+"/", "", 200), &d)
	return d
}

type statusDoc struct {
	Status  string `json:"status"`
	Reasons []struct {
		Code string `json:"code"`
	} `json:"reasons"`
}

func (s statusDoc) has(code string) bool {
	for _, r := range s.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

func (c apiClient) status(slug string) statusDoc {
	c.t.Helper()
	var s statusDoc
	json.Unmarshal(c.expect("GET", "/api/v/campaign/"+slug+"/status/", "", 200), &s)
	return s
}
