package ctl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{usagef("x", "bad"), ExitUsage},
		{&APIError{Status: 401}, ExitAuth},
		{&APIError{Status: 403}, ExitAuth},
		{&APIError{Status: 404}, ExitNotFound},
		{&APIError{Status: 400}, ExitRefused},
		{&APIError{Status: 409}, ExitRefused},
		{&APIError{Status: 413}, ExitRefused},
		{&APIError{Status: 429}, ExitRefused},
		{&APIError{Status: 500}, ExitServer},
		{&APIError{Status: 503}, ExitServer},
		{&netError{url: "u", err: syscall.ECONNREFUSED}, ExitServer},
		{&netError{url: "u", timeout: time.Second}, ExitServer},
		{&failedError{msg: "upload failed"}, ExitServer},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 404}), ExitNotFound},
		{context.Canceled, ExitInterrupted},
		{errors.New("disk full"), ExitError},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&APIError{Status: 401, Detail: "Invalid token."}, "the token was refused (401: Invalid token.): check --token or DIALER_TOKEN"},
		{&APIError{Status: 401, Detail: "Authentication credentials were not provided.", NoToken: true}, "no token was given (401: Authentication credentials were not provided.): set --token or DIALER_TOKEN"},
		{&APIError{Status: 403, Detail: "Only admin tokens manage tokens."}, "permission denied (403): Only admin tokens manage tokens."},
		{&APIError{Status: 404, Detail: `Campaign "nope" not found.`, What: `campaign "nope"`}, `campaign "nope" not found`},
		{&APIError{Status: 404, Method: "GET", Path: "/api/v/x/"}, "not found (404): GET /api/v/x/"},
		{&APIError{Status: 400, Fields: map[string][]string{"name": {"This field is required."}, "call_ratio": {"Must be > 0.", "Bad."}}},
			"the request was refused (400 Bad Request):\n  call_ratio: Must be > 0. Bad.\n  name: This field is required."},
		{&APIError{Status: 409, Detail: "Upload is not failed."}, "the request was refused (409 Conflict): Upload is not failed."},
		{&APIError{Status: 503, Detail: "Not ready."}, "the node failed (503 Service Unavailable): Not ready."},
		{&APIError{Status: 502, Body: "<html>bad gateway</html>"}, "the node failed (502 Bad Gateway): <html>bad gateway</html>"},
		{&netError{url: "http://h:1", err: syscall.ECONNREFUSED}, "cannot reach the node at http://h:1 (connection refused): check --url or DIALER_URL"},
		{&netError{url: "http://h:1", timeout: 3 * time.Second}, "no answer from http://h:1 within 3s: raise --timeout, or check the node"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestAPIErrorParsesBodies(t *testing.T) {
	cl := call{method: "GET", path: "campaign/x/", what: `campaign "x"`}
	e := apiError(cl, 400, []byte(`{"dialer_interval": ["Must be between 2 and 15."]}`), false)
	if e.Fields["dialer_interval"][0] != "Must be between 2 and 15." || e.Detail != "" {
		t.Errorf("fields: %+v", e)
	}
	e = apiError(cl, 409, []byte(`{"success": false, "detail": "Not failed."}`), false)
	if e.Detail != "Not failed." {
		t.Errorf("detail beside other keys: %+v", e)
	}
	e = apiError(cl, 500, []byte("oops"), false)
	if e.Body != "oops" || e.Path != "/api/v/campaign/x/" {
		t.Errorf("raw body: %+v", e)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestProgressPlain: without a terminal, a line at each phase's start and
// end and at most one a second between, so logs show movement without
// drowning.
func TestProgressPlain(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := newProgress(&out, false, clk.now)
	const size = 10 << 20
	for i := 0; i <= 40; i++ { // 4 s at 100 ms a frame
		p.Bytes("sending", int64(i)*size/40, size, false)
		clk.advance(100 * time.Millisecond)
	}
	p.Bytes("sending", size, size, true)
	for i := 0; i <= 25; i++ {
		p.Rows("rows", i*100, int64(i)*size/25, size, false)
		clk.advance(100 * time.Millisecond)
	}
	p.Rows("rows", 2500, size, size, true)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"sending  [>                   ]   0%  0 B / 10.0 MiB",
		"sending  [=====>              ]  25%  2.5 MiB / 10.0 MiB  2.5 MiB/s  ETA 3.0s",
		"sending  [==========>         ]  50%  5.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 2.0s",
		"sending  [===============>    ]  75%  7.5 MiB / 10.0 MiB  2.5 MiB/s  ETA 1.0s",
		"sending  [====================] 100%  10.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 0ms",
		"sending  [====================] 100%  10.0 MiB / 10.0 MiB  2.4 MiB/s  in 4.1s",
		"rows     [>                   ]   0%  0 rows",
		"rows     [========>           ]  40%  1,000 rows  1,000 rows/s  ETA 1.5s",
		"rows     [================>   ]  80%  2,000 rows  1,000 rows/s  ETA 500ms",
		"rows     [====================] 100%  2,500 rows  962 rows/s  in 2.6s",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestProgressTerminal: on a terminal the line is redrawn in place (\r,
// padded over a longer previous one) and ended at the phase's end.
func TestProgressTerminal(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := newProgress(&out, true, clk.now)
	p.Bytes("sending", 0, 1000, false)
	clk.advance(50 * time.Millisecond)
	p.Bytes("sending", 500, 1000, false) // under 100 ms: not drawn
	clk.advance(100 * time.Millisecond)
	p.Bytes("sending", 600, 1000, false)
	clk.advance(100 * time.Millisecond)
	p.Bytes("sending", 1000, 1000, true)
	p.Rows("rows", 5, 1000, 1000, true)
	got := out.String()
	frames := strings.Split(got, "\r")
	if len(frames) != 5 || frames[0] != "" {
		t.Fatalf("want 4 frames, got %q", got)
	}
	if !strings.HasPrefix(frames[2], "sending  [============>       ]  60%  600 B / 1000 B") {
		t.Errorf("frame 2: %q", frames[2])
	}
	if !strings.HasSuffix(frames[3], "in 250ms\n") || !strings.HasSuffix(frames[4], "\n") {
		t.Errorf("phases do not end their lines: %q", got)
	}
	if strings.Count(got, "\n") != 2 {
		t.Errorf("want one line per phase: %q", got)
	}
}

func TestRenderLine(t *testing.T) {
	for _, c := range []struct {
		f       float64
		eta, el time.Duration
		final   bool
		want    string
	}{
		{0.5, 2 * time.Second, 2 * time.Second, false, "rows     [==========>         ]  50%  10 rows  5 rows/s  ETA 2.0s"},
		{-1, -1, 0, false, "rows     [                    ]  ...  10 rows  5 rows/s"},
		{1, -1, 90 * time.Second, true, "rows     [====================] 100%  10 rows  5 rows/s  in 1m30s"},
	} {
		if got := renderLine("rows", c.f, "10 rows", "5 rows/s", c.eta, c.el, c.final, 20); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestHumanUnits(t *testing.T) {
	for in, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1.5 * (1 << 20): "1.5 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 3200 * time.Millisecond: "3.2s", 42 * time.Second: "42s",
		245 * time.Second: "4m05s", 130 * time.Minute: "2h10m"} {
		if got := shortDuration(in); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := count(in); got != want {
			t.Errorf("count(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := newFlagSet("t")
	j := fs.Bool("json", false, "")
	n := fs.Int("limit", 0, "")
	pos, err := parseInterspersed(fs, []string{"a", "--json", "b", "--limit", "5", "--", "--not-a-flag"})
	if err != nil || !*j || *n != 5 || !reflect.DeepEqual(pos, []string{"a", "b", "--not-a-flag"}) {
		t.Errorf("pos %q json %v limit %d err %v", pos, *j, *n, err)
	}
	if _, err := parseInterspersed(fs, []string{"a", "--nope"}); err == nil {
		t.Error("an unknown flag after an argument passed")
	}
	if _, err := parseInterspersed(newFlagSet("t"), []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestFieldValue(t *testing.T) {
	kinds := campaignKinds()
	for _, c := range []struct{ key, text, want string }{
		{"name", "123", `"123"`}, // a string field stays a string
		{"call_ratio", "1.5", `1.5`},
		{"dupe_days", "-1", `-1`},
		{"paused", "true", `true`},
		{"agent_id", "null", `null`}, // nullable: cleared
		{"name", "null", `"null"`},
		{"earliest_prospect_time", "09:00", `"09:00"`},
		{"unknown_field", "7", `7`}, // the node names it
		{"unknown_field", "x y", `"x y"`},
	} {
		got, err := fieldValue(kinds, c.key, c.text)
		if err != nil || string(got) != c.want {
			t.Errorf("fieldValue(%s, %q) = %s, %v; want %s", c.key, c.text, got, err, c.want)
		}
	}
	for _, c := range []struct{ key, text string }{{"dialer_interval", "ten"}, {"paused", "maybe"}, {"call_ratio", "x"}} {
		if _, err := fieldValue(kinds, c.key, c.text); err == nil {
			t.Errorf("fieldValue(%s, %q) passed", c.key, c.text)
		}
	}
}

func TestRenderStatus(t *testing.T) {
	var out bytes.Buffer
	renderStatus(&out, dialerd.CampaignStatus{
		Slug: "feb", Status: "Stopped", Active: true, Paused: true,
		Calls:       dialerd.CallFigures{Ringing: 3, Connected: 2, Queued: 1},
		Seats:       dialerd.SeatFigures{Available: 4, Busy: 2, WrapUp: 1, Offline: 3},
		Prospects:   dialerd.ProspectCounts{Total: 12000, Unresolved: 9500, DialableNow: 20000, DialableCapped: true},
		Attempts30d: 1234, AbandonRate30d: 0.0125, EffectiveCallRatio: 1.5,
		Reasons: []dialerd.Reason{{Code: "paused", Message: "The campaign is paused."}, {Code: "legal_hours", Message: "12 prospects are outside legal hours."}},
	})
	want := `campaign   feb  Stopped  (active, paused)
calls      ringing 3   connected 2   queued 1
seats      available 4   busy 2   wrap-up 1   paused 0   offline 3
prospects  total 12,000   unresolved 9,500   dialable now 20,000+
30 days    attempts 1,234   abandon rate 1.2%   effective call ratio 1.50
held back  paused: The campaign is paused.
           legal_hours: 12 prospects are outside legal hours.
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNodeURL(t *testing.T) {
	for in, want := range map[string]string{"http://h:1/": "http://h:1", "h:8080": "http://h:8080", "https://n.example/": "https://n.example", "ftp://h": "", "http://": "", "http://h?x=1": ""} {
		got, err := nodeURL(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("nodeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	root := commands()
	for typed, want := range map[string]string{"campains": "campaigns", "camp": "campaigns", "list": "lists", "tokns": "tokens", "zzz": ""} {
		if got := suggest(root, typed); got != want && root.find(typed) == nil {
			t.Errorf("suggest(%q) = %q, want %q", typed, got, want)
		}
	}
}

// TestHelp: every command has help, with its examples, and help exits 0.
func TestHelp(t *testing.T) {
	var walk func(c *command, path []string)
	walk = func(c *command, path []string) {
		var out, errb bytes.Buffer
		args := append(append([]string{}, path...), "--help")
		code := Main(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
		if code != 0 || out.Len() == 0 || errb.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, out.Len(), errb.String())
		}
		if c.setup != nil && len(c.examples) == 0 {
			t.Errorf("%v has no example", path)
		}
		for _, e := range c.examples {
			if !strings.Contains(out.String(), e) {
				t.Errorf("%v --help lacks its example %q", path, e)
			}
		}
		for _, s := range c.subs {
			walk(s, append(append([]string{}, path...), s.name))
		}
	}
	walk(commands(), nil)
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"help", "campaigns", "status"}, func(string) string { return "" }, nil, &out, &out); code != 0 ||
		!strings.Contains(out.String(), "--watch") || !strings.Contains(out.String(), "--interval duration") {
		t.Errorf("help campaigns status: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := Main(context.Background(), nil, func(string) string { return "" }, nil, &out, &out); code != ExitUsage || !strings.Contains(out.String(), "Commands:") {
		t.Errorf("no arguments: exit %d\n%s", code, out.String())
	}
}
