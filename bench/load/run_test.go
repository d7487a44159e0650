package load

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// fakeAPI is an in-process server for dialerd's campaign API under /api/v,
// and at the root for a baseline shaped like bench/pgstack (no list or
// upload routes, lists seeded directly, prospects as {"phone", "fields"}).
// It is strict enough that a wrong request from the harness is an error:
// auth, content types, known lists and campaigns, no duplicate number or
// campaign name.
type fakeAPI struct {
	token string
	// failPatch answers every PATCH with 500 when set.
	failPatch bool
	// stallFrom and stallTo (ns), when set, hold every request that
	// arrives between them (since the first request) until stallTo.
	stallFrom, stallTo atomic.Int64
	first              atomic.Int64 // unix ns of the first request

	requests atomic.Int64
	mu       sync.Mutex
	camps    map[string]bool
	lists    map[string]bool
	phones   map[string]bool
	dupNames int
	uploads  int
}

// stall holds the requests that arrive from..to after the next one.
func (f *fakeAPI) stall(from, to time.Duration) {
	f.stallFrom.Store(int64(from))
	f.stallTo.Store(int64(to))
	f.first.Store(0)
}

func startFake(t *testing.T, f *fakeAPI) string {
	t.Helper()
	f.camps, f.lists, f.phones = map[string]bool{}, map[string]bool{}, map[string]bool{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: f.handle}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func (f *fakeAPI) handle(ctx *fasthttp.RequestCtx) {
	f.requests.Add(1)
	now := time.Now().UnixNano()
	f.first.CompareAndSwap(0, now)
	if to := time.Duration(f.stallTo.Load()); to > 0 {
		since := time.Duration(now - f.first.Load())
		if since >= time.Duration(f.stallFrom.Load()) && since < to {
			time.Sleep(to - since)
		}
	}
	if string(ctx.Request.Header.Cookie("access_token")) != f.token && string(ctx.Request.Header.Peek("Authorization")) != "Bearer "+f.token {
		ctx.Error(`{"detail": "no token"}`, 401)
		return
	}
	path, dialerdPaths := strings.CutPrefix(string(ctx.Path()), "/api/v")
	if !strings.HasSuffix(path, "/") {
		ctx.Error("no trailing slash", 404)
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	method := string(ctx.Method())
	isJSON := string(ctx.Request.Header.ContentType()) == "application/json"
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, v any) {
		b, _ := json.Marshal(v)
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	}
	var in map[string]any
	if isJSON {
		if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
			reply(400, map[string]string{"detail": err.Error()})
			return
		}
	}
	switch {
	case len(parts) == 1 && parts[0] == "campaign" && method == "POST" && isJSON:
		name, _ := in["name"].(string)
		slug := dialerd.Slugify(name)
		if f.camps[slug] {
			f.dupNames++
			slug += "-2"
		}
		f.camps[slug] = true
		reply(201, map[string]string{"slug": slug, "name": name})
	case len(parts) == 2 && parts[0] == "campaign" && method == "GET":
		if !f.camps[parts[1]] {
			reply(404, nil)
			return
		}
		reply(200, map[string]string{"slug": parts[1]})
	case len(parts) == 2 && parts[0] == "campaign" && method == "PATCH" && isJSON:
		switch {
		case !f.camps[parts[1]]:
			reply(404, nil)
		case f.failPatch:
			reply(500, map[string]string{"detail": "boom"})
		case len(in) == 0:
			reply(400, map[string]string{"detail": "empty patch"})
		default:
			reply(200, map[string]string{"slug": parts[1]})
		}
	case len(parts) == 3 && parts[0] == "campaign" && parts[2] == "status" && method == "GET":
		if !f.camps[parts[1]] {
			reply(404, nil)
			return
		}
		reply(200, map[string]string{"status": "Inactive"})
	case !dialerdPaths && (parts[0] == "list" || parts[0] == "upload"):
		reply(404, map[string]string{"detail": "no such route on the baseline"})
	case len(parts) == 1 && parts[0] == "list" && method == "POST" && isJSON:
		camp, _ := in["campaign"].(string)
		name, _ := in["name"].(string)
		if !f.camps[camp] {
			reply(400, map[string]string{"campaign": "unknown"})
			return
		}
		f.lists[name] = true
		reply(201, map[string]string{"slug": name})
	case len(parts) == 2 && parts[0] == "list" && method == "GET":
		if !f.lists[parts[1]] {
			reply(404, nil)
			return
		}
		reply(200, map[string]string{"slug": parts[1]})
	case len(parts) == 2 && parts[0] == "prospect" && method == "POST" && isJSON:
		key := "primary_phone"
		if !dialerdPaths {
			key = "phone"
		}
		p, _ := in[key].(string)
		if _, wrong := in["primary_phone"]; wrong && !dialerdPaths {
			reply(400, map[string]string{"detail": "unknown field primary_phone"})
			return
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, p)
		switch {
		case !f.lists[parts[1]]:
			reply(404, nil)
		case len(digits) != 10 && !(len(digits) == 11 && digits[0] == '1'):
			reply(400, map[string]string{"primary_phone": p})
		case f.phones[digits[len(digits)-10:]]:
			reply(409, map[string]string{"detail": "duplicate " + p})
		default:
			f.phones[digits[len(digits)-10:]] = true
			reply(201, map[string]string{"primary_phone": p})
		}
	case len(parts) == 2 && parts[0] == "upload" && method == "POST":
		form, err := ctx.MultipartForm()
		switch {
		case !f.lists[parts[1]]:
			reply(404, nil)
		case err != nil || len(form.File["file"]) != 1 || form.Value["dedupe"][0] != "true":
			reply(400, map[string]string{"file": "missing"})
		default:
			f.uploads++
			reply(201, map[string]string{"message": "Uploaded successfully."})
		}
	default:
		reply(405, map[string]string{"detail": method + " " + path})
	}
}

func setupFake(t *testing.T, api API, ds *Dataset) {
	t.Helper()
	if err := Setup(context.Background(), nil, api.Setup(ds), 4); err != nil {
		t.Fatal(err)
	}
}

// TestClosedLoopEndToEnd drives the dialerd ops in a mix for ~1.1 s with
// PATCH failing, and checks the counts add up everywhere.
func TestClosedLoopEndToEnd(t *testing.T) {
	f := &fakeAPI{token: "tok", failPatch: true}
	base := startFake(t, f)
	ds, err := NewDataset(Spec{Seed: 1, Campaigns: 8, People: 300, Uploads: 2, UploadRows: 20})
	if err != nil {
		t.Fatal(err)
	}
	api := DialerdAPI(base, "tok")
	setupFake(t, api, ds)
	if len(f.camps) != 8 || len(f.lists) != 2 {
		t.Fatalf("setup made %d campaigns and %d lists", len(f.camps), len(f.lists))
	}
	setupFake(t, api, ds) // again: it finds its fixtures and makes nothing
	if len(f.camps) != 8 || len(f.lists) != 2 || f.dupNames != 0 {
		t.Fatalf("second setup: %d campaigns, %d lists, %d names taken twice", len(f.camps), len(f.lists), f.dupNames)
	}
	f.requests.Store(0)

	ops := DialerdOps(base, "tok", ds)
	mix, err := ParseMix("get=40,status=25,patch=15,create=10,add=7,upload=3", ops)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Name: "fake dialerd", Ops: ops, Mix: mix, Seed: 1, Concurrency: 4, Duration: 1100 * time.Millisecond,
		Progress: &progress, // not a terminal: a line every 5 s, and the last
		Sample:   ProcSampler(os.Getpid()),
	})
	if err != nil {
		t.Fatal(err)
	}

	if res.Total.Requests < 100 {
		t.Fatalf("only %d requests in 1.1 s", res.Total.Requests)
	}
	if got := f.requests.Load(); got != res.Total.Requests {
		t.Errorf("server saw %d requests, result counts %d", got, res.Total.Requests)
	}
	var sum, ok, errs int64
	for _, o := range res.Ops {
		sum += o.Requests
		ok += o.OK
		errs += o.Errors
		if o.Requests != o.OK+o.Errors || o.Latency.Count != o.OK {
			t.Errorf("%s: %d requests, %d ok, %d errors, %d latencies", o.Op, o.Requests, o.OK, o.Errors, o.Latency.Count)
		}
		var kinds int64
		for _, n := range o.ErrorKinds {
			kinds += n
		}
		if kinds != o.Errors {
			t.Errorf("%s: error kinds %v add up to %d, not %d", o.Op, o.ErrorKinds, kinds, o.Errors)
		}
		if o.Op == OpPatch {
			if o.OK != 0 || o.Errors == 0 || o.ErrorKinds["status_500"] != o.Errors {
				t.Errorf("patch (500 every time): %+v", o)
			}
			continue
		}
		if o.Errors != 0 {
			t.Errorf("%s: %d errors %v", o.Op, o.Errors, o.ErrorKinds)
		}
		l := o.Latency
		if !(l.Min > 0 && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) || o.Throughput <= 0 {
			t.Errorf("%s: latency %+v, %.0f ok/s", o.Op, l, o.Throughput)
		}
		// Each op's share of the requests follows its weight.
		if share, want := float64(o.Requests)/float64(res.Total.Requests), float64(o.Weight)/100; share < want*0.6-0.01 || share > want*1.4+0.01 {
			t.Errorf("%s: %.3f of the requests, weight %.2f", o.Op, share, want)
		}
	}
	if sum != res.Total.Requests || ok != res.Total.OK || errs != res.Total.Errors || res.Total.ErrorKinds["status_500"] != errs {
		t.Errorf("total %+v, ops add up to %d/%d/%d", res.Total, sum, ok, errs)
	}
	if f.dupNames != 0 || f.uploads != int(res.Op(OpUpload).OK) || len(f.phones) != int(res.Op(OpAdd).OK) {
		t.Errorf("server: %d names taken twice, %d uploads, %d numbers; result: %d uploads, %d adds",
			f.dupNames, f.uploads, len(f.phones), res.Op(OpUpload).OK, res.Op(OpAdd).OK)
	}
	if res.Elapsed < 1.1 || res.Elapsed > 2.5 {
		t.Errorf("elapsed %.2f s for a 1.1 s run", res.Elapsed)
	}
	if want := float64(res.Total.OK) / res.Elapsed; res.Total.Throughput < want*0.999 || res.Total.Throughput > want*1.001 {
		t.Errorf("throughput %.1f, ok/elapsed %.1f", res.Total.Throughput, want)
	}

	// The timeline is the same run, second by second.
	var tr, tok, terr int64
	var span float64
	for _, tk := range res.Timeline {
		tr += tk.Requests
		tok += tk.OK
		terr += tk.Errors
		span += tk.Span
		if tk.Span < 0.5 || tk.Span > 1.5 || tk.P99 <= 0 {
			t.Errorf("tick %+v", tk)
		}
	}
	if tr != res.Total.Requests || tok != res.Total.OK || terr != res.Total.Errors {
		t.Errorf("timeline %d ticks, %d/%d/%d; total %d/%d/%d", len(res.Timeline), tr, tok, terr, res.Total.Requests, res.Total.OK, res.Total.Errors)
	}
	if last := res.Timeline[len(res.Timeline)-1]; math.Abs(span-last.T) > 1e-6 || math.Abs(last.T-res.Elapsed) > 0.05 {
		t.Errorf("ticks cover %.3f s, end at %.3f s; elapsed %.3f s", span, last.T, res.Elapsed)
	}
	if len(res.Samples) < 1 || res.Samples[0].RSSKB <= 0 || res.Samples[0].Err != "" {
		t.Errorf("samples %+v", res.Samples)
	}

	// Progress to a non-terminal: no redraws, one final line.
	if p := progress.String(); strings.Contains(p, "\r") || strings.Count(p, "\n") != 1 || !strings.Contains(p, "done") || !strings.Contains(p, "fake dialerd") {
		t.Errorf("progress %q", p)
	}

	checkReports(t, res)
}

// checkReports renders r every way and checks each parses.
func checkReports(t *testing.T, r *Result) {
	t.Helper()
	md := r.Markdown()
	for _, want := range []string{"| op | requests | ok/s | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |", "| **total** |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, o := range r.Ops {
		if !strings.Contains(md, "| "+o.Op+" | ") {
			t.Errorf("markdown lacks a row for %s:\n%s", o.Op, md)
		}
	}
	if r.Total.Errors > 0 && !strings.Contains(md, "status_") && !strings.Contains(md, "unsent") {
		t.Errorf("markdown does not name the errors:\n%s", md)
	}

	var svg bytes.Buffer
	if err := r.SVG(&svg); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	var root string
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Space + " " + se.Name.Local
			}
			elems[se.Name.Local]++
		}
	}
	if root != "http://www.w3.org/2000/svg svg" || elems["polyline"] == 0 || elems["rect"] < 1+4*len(r.Ops) {
		t.Errorf("SVG root %q, elements %v", root, elems)
	}

	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"ok_per_s"`, `"p99_us"`, `"p999_us"`, `"timeline"`, `"error_kinds"`, `"model"`} {
		if !bytes.Contains(js, []byte(field)) && (field != `"error_kinds"` || r.Total.Errors > 0) {
			t.Errorf("JSON lacks %s", field)
		}
	}
	var back Result
	if err := json.Unmarshal(js, &back); err != nil || back.Total.Requests != r.Total.Requests || back.Total.Latency != r.Total.Latency {
		t.Errorf("JSON round trip: %v, %+v", err, back.Total)
	}

	// Keep the files for a person to look at: LOAD_REPORT_DIR=dir.
	dir := os.Getenv("LOAD_REPORT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	name := strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	for ext, b := range map[string][]byte{".svg": svg.Bytes(), ".md": []byte(md), ".json": js} {
		if err := os.WriteFile(filepath.Join(dir, name+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("reports in %s/%s.{svg,md,json}", dir, name)
}

// TestOpenLoopRate sends at a fixed rate with the server stalling for
// 300 ms: the rate holds, and the requests that waited behind the stall
// are charged the wait (coordinated omission corrected).
func TestOpenLoopRate(t *testing.T) {
	f := &fakeAPI{token: "tok"}
	base := startFake(t, f)
	ds, err := NewDataset(Spec{Seed: 2, Campaigns: 4, People: 200, Uploads: 1, UploadRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	api := DialerdAPI(base, "tok")
	setupFake(t, api, ds)
	f.stall(400*time.Millisecond, 700*time.Millisecond)
	ops := api.Ops(ds)
	mix, err := ParseMix("get=6,status=3,add=1", ops)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	const rate = 200
	res, err := Run(context.Background(), Config{
		Name: "open", Ops: ops, Mix: mix, Seed: 2, Concurrency: 4, Rate: rate, Duration: time.Second,
		Progress: &progress, ProgressMode: ProgressRedraw,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Due at 0, 5 ms, … 995 ms: exactly 200, all sent once the stall ends.
	if res.Total.Requests != rate || res.Total.Errors != 0 || res.Model != "open" {
		t.Fatalf("total %+v", res.Total)
	}
	if res.SentRate < rate*0.95 || res.SentRate > rate*1.05 {
		t.Errorf("sent %.1f req/s, target %d", res.SentRate, rate)
	}
	if res.Elapsed < 0.99 || res.Elapsed > 2 {
		t.Errorf("elapsed %.2f s", res.Elapsed)
	}
	// ~60 requests fall due during the stall and wait up to 300 ms: p90
	// (the 180th of 200) is one of them. Timed from the send, only the 4
	// in flight would have been slow, and p90 would be a fraction of a
	// millisecond.
	if l := res.Total.Latency; l.P90 < 100_000 || l.Max < 250_000 || l.Max > 1_000_000 {
		t.Errorf("latency %+v: the stall is not charged to the requests that waited", l)
	}
	if res.SendLag == nil || res.SendLag.Count != rate || res.SendLag.Max < 200_000 {
		t.Errorf("send lag %+v", res.SendLag)
	}
	if p := progress.String(); !strings.Contains(p, "\r") || !strings.HasSuffix(p, "done\n") || !strings.Contains(p, "req/s") {
		t.Errorf("progress %q", p)
	}
	checkReports(t, res)
}

// TestOpenLoopUnsent: a server that holds every request past the window
// leaves requests that were due never sent; they count as errors.
func TestOpenLoopUnsent(t *testing.T) {
	f := &fakeAPI{token: "tok"}
	base := startFake(t, f)
	ds, err := NewDataset(Spec{Seed: 4, Campaigns: 2, People: 100})
	if err != nil {
		t.Fatal(err)
	}
	api := DialerdAPI(base, "tok")
	setupFake(t, api, ds)
	f.stall(0, 400*time.Millisecond)
	ops := api.Ops(ds)
	mix, _ := ParseMix("get=1", ops)
	res, err := Run(context.Background(), Config{Ops: ops, Mix: mix, Concurrency: 2, Rate: 100, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 30 due; 2 in flight and 2 queued when the window closes at 300 ms.
	u := res.Total.ErrorKinds[KindUnsent]
	if res.Total.Requests != 30 || u < 20 || res.Total.OK+u != 30 {
		t.Fatalf("total %+v", res.Total)
	}
	checkReports(t, res)
}

// TestCompareTwoStacks drives dialerd's paths and a baseline's shaped like
// bench/pgstack (no prefix, no list routes, its own prospect body) with
// the same engine and datasets of the same shape, then sets the results
// side by side.
func TestCompareTwoStacks(t *testing.T) {
	f := &fakeAPI{token: "tok"}
	base := startFake(t, f)
	results := map[string]*Result{}
	for _, name := range []string{"dialerd", "baseline"} {
		// Fixture names are per seed: the second stack on the same
		// fake server gets its own.
		seed := uint64(len(results) + 10)
		ds, err := NewDataset(Spec{Seed: seed, Campaigns: 4, People: 200, Uploads: 1, UploadRows: 10})
		if err != nil {
			t.Fatal(err)
		}
		api := DialerdAPI(base, "tok")
		steps := api.Setup(ds)
		if name == "baseline" {
			api = API{
				Base: base, Header: map[string]string{"Authorization": "Bearer tok"},
				AddBody: func(p Prospect) []byte {
					b, _ := json.Marshal(map[string]any{"phone": p.Phone, "fields": p.Fields})
					return b
				},
			}
			steps = []Step{api.CampaignStep(ds)}
		}
		if err := Setup(context.Background(), nil, steps, 4); err != nil {
			t.Fatal(err)
		}
		if name == "baseline" {
			// As pgstack.SeedList would, straight into the store.
			f.mu.Lock()
			f.lists["seeded-list"] = true
			f.mu.Unlock()
			ds.AddList = "seeded-list"
		}
		ops := api.Ops(ds)
		mix, err := ParseMix("get=5,status=3,patch=1,add=1", ops)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), Config{Name: name, Ops: ops, Mix: mix, Seed: seed, Concurrency: 3, Requests: 300})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total.Requests != 300 || res.Total.Errors != 0 || res.Op(OpAdd).OK == 0 {
			t.Fatalf("%s: %+v", name, res.Total)
		}
		results[name] = res
	}
	md := CompareMarkdown(results["dialerd"], results["baseline"])
	for _, want := range []string{"| op | dialerd ok/s | baseline ok/s | ok/s dialerd ÷ baseline | dialerd p99 ms | baseline p99 ms |", "| get |", "| **total** |", "×"} {
		if !strings.Contains(md, want) {
			t.Errorf("comparison lacks %q:\n%s", want, md)
		}
	}
	t.Logf("\n%s", md)
}

func TestRunStopsWhenCancelled(t *testing.T) {
	f := &fakeAPI{token: "tok"}
	base := startFake(t, f)
	ds, err := NewDataset(Spec{Seed: 6, Campaigns: 2, People: 100})
	if err != nil {
		t.Fatal(err)
	}
	api := DialerdAPI(base, "tok")
	setupFake(t, api, ds)
	ops := api.Ops(ds)
	mix, _ := ParseMix("get=1", ops)
	for _, rate := range []float64{0, 100} {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		start := time.Now()
		res, err := Run(ctx, Config{Ops: ops, Mix: mix, Concurrency: 2, Rate: rate, Duration: time.Minute})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second || res.Total.Requests == 0 || res.Total.Errors != 0 {
			t.Fatalf("rate %g: cancelled after 150 ms, returned after %s with %+v", rate, d, res.Total)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ops := testOps("get")
	mix, _ := ParseMix("get=1", ops)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Ops: ops, Concurrency: 1, Duration: time.Second}, "empty mix"},
		{Config{Ops: ops, Mix: mix, Duration: time.Second}, "concurrency 0"},
		{Config{Ops: ops, Mix: mix, Concurrency: 1}, "duration or a number of requests"},
		{Config{Ops: ops, Mix: mix, Concurrency: 1, Duration: time.Second, Rate: -1}, "rate -1"},
		{Config{Ops: testOps("status"), Mix: mix, Concurrency: 1, Duration: time.Second}, `mix names "get"`},
	} {
		if _, err := Run(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestSetupReportsFailures(t *testing.T) {
	f := &fakeAPI{token: "tok"}
	base := startFake(t, f)
	ds, err := NewDataset(Spec{Seed: 1, Campaigns: 3, People: 100})
	if err != nil {
		t.Fatal(err)
	}
	err = Setup(context.Background(), nil, DialerdSetup(base, "wrong", ds), 2)
	if err == nil || !strings.Contains(err.Error(), "setup campaigns") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("setup with a wrong token: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	// Nothing listens on a port just closed: a connection error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ops := map[string]Op{"get": {Name: "get", Build: func(req *fasthttp.Request, c Call) { req.SetRequestURI("http://" + addr + "/") }}}
	mix, _ := ParseMix("get=1", ops)
	res, err := Run(context.Background(), Config{Ops: ops, Mix: mix, Concurrency: 1, Requests: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.ErrorKinds[KindConnection] != 3 {
		t.Errorf("refused connections: %v", res.Total.ErrorKinds)
	}

	// A server slower than the timeout.
	f := &fakeAPI{token: "tok"}
	f.stall(0, 300*time.Millisecond)
	base := startFake(t, f)
	ops = map[string]Op{"get": {Name: "get", Build: func(req *fasthttp.Request, c Call) { req.SetRequestURI(base + "/campaign/x/") }}}
	res, err = Run(context.Background(), Config{Ops: ops, Mix: mix, Concurrency: 1, Requests: 1, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.ErrorKinds[KindTimeout] != 1 {
		t.Errorf("timeout: %v", res.Total.ErrorKinds)
	}
}
