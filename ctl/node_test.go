package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// The client against a real node: one node for the whole test (a node
// takes seconds to start), each subtest with its own campaign.

const bootToken = "ctl-test-admin-token"

// result is one run of dialerctl.
type result struct {
	code           int
	stdout, stderr string
}

// ctlRun runs dialerctl in-process with env as its whole environment.
func ctlRun(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// must runs dialerctl and fails the test unless it exits 0.
func must(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := ctlRun(t, context.Background(), env, args...)
	if r.code != 0 {
		t.Fatalf("dialerctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// apiGet reads the API directly (not through dialerctl): what the tests
// check the client's effects against.
func apiGet(t *testing.T, base, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+bootToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m map[string]any
	if res.StatusCode == 200 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return res.StatusCode, m
}

func TestAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dialerd process")
	}
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: bootToken})
	env := map[string]string{"DIALER_URL": n.URL, "DIALER_TOKEN": bootToken}

	t.Run("upload", func(t *testing.T) { testUpload(t, n.URL, env) })
	t.Run("json", func(t *testing.T) { testJSON(t, env) })
	t.Run("errors", func(t *testing.T) { testErrors(t, n.URL, env) })
	t.Run("roundtrip", func(t *testing.T) { testRoundTrip(t, n.URL, env) })
	t.Run("watch", func(t *testing.T) { testWatch(t, env) })
	t.Run("binary", func(t *testing.T) { testBinary(t, n.URL) })
}

var summaryLine = regexp.MustCompile(`(?m)^\s+(rows|accepted|duplicates|invalid|do_not_call)\s+([\d,]+)$`)

// testUpload: a generated CSV (thousands of rows, some duplicates and
// invalid numbers) shows byte progress, then row progress, then a summary
// whose counts are the node's and the generator's.
func testUpload(t *testing.T, base string, env map[string]string) {
	must(t, env, "campaigns", "create", "--name", "Upload Test", "--workspace", "ws_u")
	must(t, env, "lists", "create", "--name", "Upload list", "--campaign", "upload-test")
	file := filepath.Join(t.TempDir(), "prospects.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := prospectgen.Write(f, 4000, 9)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Duplicates == 0 || stats.Invalid == 0 {
		t.Fatalf("the generated file has no duplicates or no invalid rows: %+v", stats)
	}
	r := must(t, env, "upload", file, "--list", "upload-list", "--poll", "100ms")
	t.Logf("stderr:\n%s\nstdout:\n%s", r.stderr, r.stdout)

	// Progress, on stderr, one line per frame (not a terminal): bytes
	// from 0% to 100% of the file's size, then rows to 100% with the
	// row count.
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	size := humanBytes(float64(stats.Bytes))
	firstRows, lastSend := -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "sending "):
			lastSend = i
			if firstRows >= 0 {
				t.Errorf("a sending line after the rows began: %q", l)
			}
		case strings.HasPrefix(l, "rows "):
			if firstRows < 0 {
				firstRows = i
			}
		default:
			t.Errorf("unexpected progress line %q", l)
		}
	}
	if lastSend < 1 || firstRows < 0 {
		t.Fatalf("want sending lines (start and end) then rows lines; got:\n%s", r.stderr)
	}
	if want := "/ " + size; !strings.Contains(lines[0], " 0%  0 B "+want) || !strings.Contains(lines[lastSend], "100%  "+size+" "+want) {
		t.Errorf("byte progress does not go from 0 to %s:\n%s", size, r.stderr)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "100%  "+count(stats.Rows)+" rows") {
		t.Errorf("the last progress line is not every row: %q", last)
	}

	// The summary's counts are the node's, and the generator's.
	got := map[string]int{}
	for _, m := range summaryLine.FindAllStringSubmatch(r.stdout, -1) {
		got[m[1]], _ = strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
	}
	uuid := regexp.MustCompile(`Upload ([0-9a-f-]{36}) `).FindStringSubmatch(r.stdout)
	if uuid == nil {
		t.Fatalf("no upload UUID in the summary:\n%s", r.stdout)
	}
	code, up := apiGet(t, base, "/api/v/upload/"+uuid[1]+"/")
	if code != 200 || up["status"] != "completed" {
		t.Fatalf("GET upload: %d %v", code, up)
	}
	for _, k := range []string{"accepted", "duplicates", "invalid", "do_not_call"} {
		if float64(got[k]) != up[k].(float64) {
			t.Errorf("summary %s = %d, the node says %v", k, got[k], up[k])
		}
	}
	if got["rows"] != int(up["rows_seen"].(float64)) {
		t.Errorf("summary rows = %d, the node says %v", got["rows"], up["rows_seen"])
	}
	want := map[string]int{"rows": stats.Rows, "accepted": stats.Accepted, "duplicates": stats.Duplicates, "invalid": stats.Invalid}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("summary %s = %d, the file has %d", k, got[k], v)
		}
	}
	// The first errors the node reports, as it reports them.
	errs := up["errors"].([]any)
	first := errs[0].(map[string]any)
	if !strings.Contains(r.stdout, "First row errors (10 of "+count(stats.Invalid)+")") ||
		!regexp.MustCompile(`(?m)^\s+`+strconv.Itoa(int(first["row"].(float64)))+`\s+\d+\s+`+first["column"].(string)+`\s+`+regexp.QuoteMeta(first["reason"].(string))+`$`).MatchString(r.stdout) {
		t.Errorf("the summary lacks the first errors (first: %v):\n%s", first, r.stdout)
	}

	// upload get shows the same; --json the node's document.
	g := must(t, env, "upload", "get", uuid[1])
	if !strings.Contains(g.stdout, "completed") || !strings.Contains(g.stdout, count(stats.Accepted)) {
		t.Errorf("upload get:\n%s", g.stdout)
	}
	// A completed upload cannot be retried: 409, request refused.
	rr := ctlRun(t, context.Background(), env, "upload", "retry", uuid[1])
	if rr.code != ExitRefused || !strings.Contains(rr.stderr, "409") {
		t.Errorf("retry of a completed upload: exit %d, %s", rr.code, rr.stderr)
	}
}

// testJSON: --json writes one document that parses, for each kind.
func testJSON(t *testing.T, env map[string]string) {
	must(t, env, "campaigns", "create", "--name", "Json Test", "--workspace", "ws_j")
	must(t, env, "lists", "create", "--name", "Json list", "--campaign", "json-test")
	file := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(file, []byte("phone,first_name\n2125550123,Ann\n2125550124,Bob\nnope,Bad\n"), 0o644)
	var up map[string]any
	for _, c := range []struct {
		args  []string
		array bool
		into  *map[string]any
	}{
		{[]string{"campaigns", "list"}, true, nil},
		{[]string{"campaigns", "get", "json-test"}, false, nil},
		{[]string{"campaigns", "status", "json-test"}, false, nil},
		{[]string{"lists", "list", "--campaign", "json-test"}, true, nil},
		{[]string{"lists", "get", "json-list"}, false, nil},
		{[]string{"lists", "prospects", "json-list"}, false, nil},
		{[]string{"upload", file, "--list", "json-list", "--quiet"}, false, &up},
		{[]string{"tokens", "create", "--name", "j", "--workspace", "ws_j"}, false, nil},
		{[]string{"tokens", "list"}, true, nil},
		{[]string{"campaigns", "calls", "json-test"}, false, nil},
		{[]string{"dnc", "list"}, false, nil},
	} {
		// --json anywhere on the line: first, or after the arguments.
		for i, args := range [][]string{append([]string{"--json"}, c.args...), append(append([]string{}, c.args...), "--json")} {
			r := must(t, env, args...)
			var v any
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Errorf("%v: not JSON (%v):\n%s", args, err, r.stdout)
				continue
			}
			if _, isArray := v.([]any); isArray != c.array {
				t.Errorf("%v: array %v, want %v: %s", args, isArray, c.array, r.stdout)
			}
			if c.into != nil && i == 0 { // the second upload finds duplicates
				*c.into, _ = v.(map[string]any)
			}
		}
	}
	if up["status"] != "completed" || up["accepted"] != 2.0 || up["invalid"] != 1.0 {
		t.Errorf("upload --json: %v", up)
	}
}

// testErrors: each kind of failure has its exit code and a message that
// says what to do.
func testErrors(t *testing.T, base string, env map[string]string) {
	bad := map[string]string{"DIALER_URL": base, "DIALER_TOKEN": "not-a-token"}
	scoped := map[string]string{"DIALER_URL": base}
	tok := must(t, env, "--json", "tokens", "create", "--name", "scoped", "--workspace", "ws_e")
	var minted struct{ Token string }
	json.Unmarshal([]byte(tok.stdout), &minted)
	scoped["DIALER_TOKEN"] = minted.Token

	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"wrong token", bad, []string{"campaigns", "list"}, ExitAuth, "dialerctl: the token was refused (401: Invalid token.): check --token or DIALER_TOKEN"},
		{"no token", map[string]string{"DIALER_URL": base}, []string{"campaigns", "list"}, ExitAuth, "no token was given (401"},
		{"--token wins over the env", bad, []string{"campaigns", "list", "--token", bootToken}, ExitOK, ""},
		{"not admin", scoped, []string{"tokens", "list"}, ExitAuth, "dialerctl: permission denied (403): Only admin tokens manage tokens."},
		{"unknown campaign", env, []string{"campaigns", "get", "nope"}, ExitNotFound, `dialerctl: campaign "nope" not found`},
		{"unknown campaign status", env, []string{"campaigns", "status", "nope"}, ExitNotFound, `dialerctl: campaign "nope" not found`},
		{"another workspace's campaign", scoped, []string{"campaigns", "get", "json-test"}, ExitNotFound, `campaign "json-test" not found`},
		{"unknown list", env, []string{"upload", "node_test.go", "--list", "nope"}, ExitNotFound, `dialerctl: list "nope" not found`},
		{"validation", env, []string{"campaigns", "create", "--name", "V", "--dialer-interval", "99"}, ExitRefused, "the request was refused (400 Bad Request):\n  dialer_interval: Must be between 2 and 15."},
		{"bad flag", env, []string{"campaigns", "list", "--bogus"}, ExitUsage, "dialerctl: unknown flag --bogus\nRun 'dialerctl campaigns list --help' for usage."},
		{"bad flag value", env, []string{"campaigns", "create", "--dialer-interval", "ten"}, ExitUsage, "--dialer-interval dialer_interval=ten: want a whole number"},
		{"missing argument", env, []string{"campaigns", "get"}, ExitUsage, "dialerctl: campaigns get needs SLUG\nRun 'dialerctl campaigns get --help' for usage."},
		{"bad url", env, []string{"campaigns", "list", "--url", "ftp://x"}, ExitUsage, `--url "ftp://x" is not a node's URL`},
		{"unknown command", env, []string{"campains", "list"}, ExitUsage, `unknown command "campains" for "dialerctl"; did you mean "campaigns"?`},
		{"bad --timeout", env, []string{"campaigns", "list", "--timeout", "soon"}, ExitUsage, "invalid value"},
		{"no such file", env, []string{"upload", "/nonexistent.csv", "--list", "json-list"}, ExitUsage, "no such file"},
		{"node down", map[string]string{"DIALER_URL": "http://127.0.0.1:" + strconv.Itoa(closedPort(t)), "DIALER_TOKEN": bootToken},
			[]string{"campaigns", "list"}, ExitServer, "cannot reach the node at http://127.0.0.1:"},
	} {
		r := ctlRun(t, context.Background(), c.env, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: exit %d, want %d; stderr %q, want it to contain %q", c.name, r.code, c.code, r.stderr, c.msg)
		}
	}
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) int {
	return nodetest.FreePort(t)
}

// testRoundTrip: create, patch, pause, resume and delete, each checked
// through the API.
func testRoundTrip(t *testing.T, base string, env map[string]string) {
	r := must(t, env, "campaigns", "create", "--name", "Round Trip", "--workspace", "ws_r", "--call-ratio", "1.5",
		"--earliest", "10:00", "--set", "dupe_days=-1", "--set", "filter_holidays=false")
	if !strings.Contains(r.stdout, "slug round-trip") {
		t.Errorf("create: %s", r.stdout)
	}
	_, c := apiGet(t, base, "/api/v/campaign/round-trip/")
	if c["call_ratio"] != 1.5 || c["earliest_prospect_time"] != "10:00:00" || c["dupe_days"] != -1.0 || c["filter_holidays"] != false || c["workspace"] != "ws_r" {
		t.Errorf("created: %v", c)
	}
	// -f FILE, with flags over it.
	file := filepath.Join(t.TempDir(), "patch.json")
	os.WriteFile(file, []byte(`{"max_active_calls": 20, "call_ratio": 3}`), 0o644)
	r = must(t, env, "campaigns", "patch", "round-trip", "-f", file, "--call-ratio", "2")
	if !strings.Contains(r.stdout, "call_ratio=2, max_active_calls=20") {
		t.Errorf("patch: %s", r.stdout)
	}
	_, c = apiGet(t, base, "/api/v/campaign/round-trip/")
	if c["call_ratio"] != 2.0 || c["max_active_calls"] != 20.0 {
		t.Errorf("patched: %v", c)
	}
	must(t, env, "campaigns", "pause", "round-trip")
	if _, c = apiGet(t, base, "/api/v/campaign/round-trip/"); c["paused"] != true {
		t.Errorf("after pause: paused = %v", c["paused"])
	}
	if _, st := apiGet(t, base, "/api/v/campaign/round-trip/status/"); st["paused"] != true {
		t.Errorf("after pause: status %v", st)
	}
	must(t, env, "campaigns", "resume", "round-trip")
	if _, c = apiGet(t, base, "/api/v/campaign/round-trip/"); c["paused"] != false {
		t.Errorf("after resume: paused = %v", c["paused"])
	}
	r = must(t, env, "campaigns", "delete", "round-trip")
	if code, _ := apiGet(t, base, "/api/v/campaign/round-trip/"); code != 404 {
		t.Errorf("after delete: GET is %d", code)
	}
	if !strings.Contains(r.stdout, "Deleted campaign round-trip") {
		t.Errorf("delete: %s", r.stdout)
	}
}

// testWatch: status --watch prints a block per interval until cancelled,
// and a cancel is a normal end.
func testWatch(t *testing.T, env map[string]string) {
	must(t, env, "campaigns", "create", "--name", "Watch Test", "--workspace", "ws_w")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	r := ctlRun(t, ctx, env, "campaigns", "status", "watch-test", "--watch", "--interval", "300ms")
	if r.code != 0 {
		t.Fatalf("watch: exit %d: %s", r.code, r.stderr)
	}
	blocks := strings.Count(r.stdout, "--- ")
	if blocks < 2 || strings.Count(r.stdout, "campaign   watch-test  ") != blocks {
		t.Fatalf("watch printed %d blocks:\n%s", blocks, r.stdout)
	}
	for _, want := range []string{"calls      ringing 0   connected 0   queued 0", "seats      available", "prospects  total 0", "held back  "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the view lacks %q:\n%s", want, r.stdout)
		}
	}
	// --json: one document per line.
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r = ctlRun(t, ctx, env, "campaigns", "status", "watch-test", "--watch", "--interval", "300ms", "--json")
	docs := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(docs) < 2 {
		t.Fatalf("watch --json: %d lines", len(docs))
	}
	for _, d := range docs {
		var st map[string]any
		if err := json.Unmarshal([]byte(d), &st); err != nil || st["slug"] != "watch-test" {
			t.Errorf("watch --json line %q: %v", d, err)
		}
	}
}

// testBinary builds the real binary and runs it with the environment as
// its only configuration: the env and the exit codes work through main.
func testBinary(t *testing.T, base string) {
	bin := filepath.Join(t.TempDir(), "dialerctl")
	build := exec.Command("go", "build", "-o", bin, "github.com/dialerd/dialerd/cmd/dialerctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(token string, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"DIALER_URL=" + base, "DIALER_TOKEN=" + token, "PATH=" + os.Getenv("PATH")}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	code, out, _ := run(bootToken, "campaigns", "list", "--json")
	var cs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &cs) != nil || len(cs) == 0 {
		t.Errorf("campaigns list --json: exit %d: %s", code, out)
	}
	if code, _, errs := run("wrong", "campaigns", "list"); code != ExitAuth || !strings.Contains(errs, "the token was refused (401") {
		t.Errorf("wrong token: exit %d: %s", code, errs)
	}
	if code, _, errs := run(bootToken, "campaigns", "get", "nope"); code != ExitNotFound || !strings.Contains(errs, `campaign "nope" not found`) {
		t.Errorf("unknown campaign: exit %d: %s", code, errs)
	}
	if code, _, _ := run(bootToken, "campaigns", "list", "--bogus"); code != ExitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
	if code, out, _ := run(bootToken, "help"); code != 0 || !strings.Contains(out, "Exit codes:") {
		t.Errorf("help: exit %d: %s", code, out)
	}
}
