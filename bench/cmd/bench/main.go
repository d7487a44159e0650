// Command bench is the load harness (make bench). It starts real processes
// on loopback, measures them side by side with their baselines and rewrites
// its section of bench/RESULTS.md.
//
//	go run ./bench/cmd/bench [-scenario standard]   (make bench: every scenario below at sizes that fit ~10 min)
//	go run ./bench/cmd/bench -scenario http-path [-duration 10s] [-out bench/RESULTS.md]
//	go run ./bench/cmd/bench -scenario upload [-rows 1000000]
//	go run ./bench/cmd/bench -scenario dialing [-rows 1000000] [-duration 60s] [-speed 600] [-seats 3000] [-call-ratio 2]
//	go run ./bench/cmd/bench -scenario campaigns [-campaigns 10000] [-duration 60s]
//	go run ./bench/cmd/bench -scenario api [-duration 10s]
//	go run ./bench/cmd/bench -scenario load [-nodes 3 | -targets http://a:8080,http://b:8080 -token T] [-mix get=50,…] [-concurrency 64] [-rate 0] [-duration 10s]
//	go run ./bench/cmd/bench -scenario hopper [-rows 1000000] [-duration 10s]
//	go run ./bench/cmd/bench -scenario failover [-rows 200000] [-duration 30s] [-speed 600] [-seats 1000] [-call-ratio 2] [-kills 3] [-leaves 3]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/internal/pgserver"
	"github.com/dialerd/dialerd/bench/load"
)

func main() {
	scenario := flag.String("scenario", "standard", "scenario to run: standard (the suite), http-path, cluster, upload, dialing, campaigns, failover, api, load, hopper")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured run (dialing and campaigns: 60s, failover: 30s unless given)")
	rounds := flag.Int("rounds", 2, "measured rounds per target (best is reported, for every target alike)")
	rows := flag.Int("rows", 1_000_000, "rows of the CSV file the upload, dialing and failover scenarios send (failover: 200000 unless given)")
	speed := flag.Float64("speed", 600, "dialing, failover: virtual clock speed (× wall time)")
	seats := flag.Int("seats", 3000, "dialing, failover: seats of the campaign's agent (failover: 1000 unless given)")
	ratio := flag.Float64("call-ratio", 2, "dialing, failover: the campaign's call_ratio")
	campaigns := flag.Int("campaigns", 10_000, "campaigns: active campaigns on the node")
	kills := flag.Int("kills", 3, "failover: kill -9s of the campaign's owner in the R = 3 cluster")
	leaves := flag.Int("leaves", 3, "failover: graceful leaves (SIGTERM) of the campaign's owner in the R = 3 cluster")
	nodes := flag.Int("nodes", 1, "load: nodes to start (a cluster when > 1)")
	targets := flag.String("targets", "", "load: comma-separated base URLs of running nodes to drive instead of starting any")
	nodeArgs := flag.String("node-args", "", "load: extra flags for the nodes it starts, space-separated (e.g. '--pprof 127.0.0.1:6060')")
	token := flag.String("token", os.Getenv("DIALER_TOKEN"), "load: access token for -targets (env DIALER_TOKEN)")
	mixSpec := flag.String("mix", load.DefaultMix, "load: weighted op mix (create, get, patch, status, add, upload)")
	conc := flag.Int("concurrency", 64, "load: connections (closed loop) or most requests in flight (open loop)")
	rate := flag.Float64("rate", 0, "load: requests per second (open loop); 0 = closed loop")
	seed := flag.Uint64("seed", 1, "load: seed of the dataset and the op draws")
	out := flag.String("out", "bench/RESULTS.md", "results file whose scenario section is rewritten ('' = stdout only)")
	flag.Parse()
	if *out != "bench/RESULTS.md" {
		chartsDir = filepath.Join("bench", "out")
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["duration"] && (*scenario == "dialing" || *scenario == "campaigns") {
		*duration = 60 * time.Second
	}
	if *scenario == "failover" {
		// Three nodes share the machine's cores (-speed 600 and
		// -call-ratio 2 are the defaults already).
		if !set["rows"] {
			*rows = 200_000
		}
		if !set["duration"] {
			*duration = 30 * time.Second
		}
		if !set["seats"] {
			*seats = 1000
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	h := newHarness()
	defer h.close()
	var section string
	var err error
	if *scenario == "standard" {
		if err := runStandard(ctx, *out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			h.close()
			os.Exit(1)
		}
		return
	}
	switch *scenario {
	case "http-path":
		section, err = runHTTPPath(ctx, h, *duration, *rounds)
	case "cluster":
		section, err = runCluster(ctx, h, *duration)
	case "upload":
		section, err = runUpload(ctx, h, *rows)
	case "dialing":
		section, err = runDialing(ctx, h, *rows, *duration, *speed, *seats, *ratio)
	case "campaigns":
		section, err = runCampaigns(ctx, h, *campaigns, *duration)
	case "api":
		section, err = runAPI(ctx, h, *duration)
	case "hopper":
		section, err = runHopper(ctx, h, *rows, *duration)
	case "load":
		sp := loadSpec{Nodes: *nodes, NodeArgs: strings.Fields(*nodeArgs), Token: benchToken, Mix: *mixSpec, Concurrency: *conc,
			Rate: *rate, Duration: *duration, Seed: *seed, Command: "make bench BENCHFLAGS='" + strings.Join(os.Args[1:], " ") + "'"}
		if *targets != "" {
			sp.Targets, sp.Token, sp.Nodes = strings.Split(*targets, ","), *token, 0
		}
		section, err = runLoad(ctx, h, sp)
	case "failover":
		section, err = runFailover(ctx, h, *rows, *duration, *speed, *seats, *ratio, *kills, *leaves)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		h.close()
		os.Exit(1)
	}
	fmt.Println(section)
	if *out != "" {
		if err := writeSection(*out, *scenario, section); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote section %q of %s\n", *scenario, *out)
	}
}

// harness implements nodetest.TB for a command: Fatal panics with a
// harnessError that main turns into an exit.
type harness struct {
	dir      string
	cleanups []func()
	failed   bool
}

type harnessError struct{ msg string }

func newHarness() *harness {
	dir, err := os.MkdirTemp("", "dialerd-bench-")
	if err != nil {
		panic(err)
	}
	return &harness{dir: dir}
}

func (h *harness) Helper()                         {}
func (h *harness) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (h *harness) Fatal(args ...any)               { h.failed = true; panic(harnessError{fmt.Sprint(args...)}) }
func (h *harness) Fatalf(format string, args ...any) {
	h.failed = true
	panic(harnessError{fmt.Sprintf(format, args...)})
}
func (h *harness) Cleanup(f func()) { h.cleanups = append(h.cleanups, f) }
func (h *harness) Failed() bool     { return h.failed }
func (h *harness) TempDir() string {
	d, err := os.MkdirTemp(h.dir, "t")
	if err != nil {
		h.Fatal(err)
	}
	return d
}

func (h *harness) close() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
	os.RemoveAll(h.dir)
}

// catch turns a harness Fatal inside f into an error.
func catch(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if he, ok := r.(harnessError); ok {
				err = fmt.Errorf("%s", he.msg)
				return
			}
			panic(r)
		}
	}()
	return f()
}

// machine describes where the figures were taken.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s, %s/%s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// writeSection replaces (or appends) the scenario's section of the results
// file, between marker comments, leaving the others as they are.
func writeSection(path, scenario, section string) error {
	begin := "<!-- BEGIN " + scenario + " -->"
	end := "<!-- END " + scenario + " -->"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	if text == "" {
		text = "# Benchmark results\n\nEvery figure here was written by `make bench` (bench/cmd/bench); each section names its command, machine and date. Baselines run in the same invocation as what they are compared with.\n"
	}
	block := begin + "\n" + section + "\n" + end
	if i, j := strings.Index(text, begin), strings.Index(text, end); i >= 0 && j > i {
		text = text[:i] + block + text[j+len(end):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// saveJSON keeps the raw figures beside the markdown.
func saveJSON(name string, v any) {
	_ = os.MkdirAll("bench/out", 0o755)
	b, _ := json.MarshalIndent(v, "", "  ")
	_ = os.WriteFile(filepath.Join("bench/out", name+".json"), b, 0o644)
}

// startPostgres starts a throwaway PostgreSQL server (installing it with
// apt-get when missing), stopped with the harness, and returns it with its
// version ("15.18").
func startPostgres(ctx context.Context, h *harness) (*pgserver.Server, string, error) {
	bin, err := pgserver.Bin(ctx, true, h.Logf)
	if err != nil {
		return nil, "", err
	}
	pg, err := pgserver.Start(ctx, bin)
	if err != nil {
		return nil, "", err
	}
	h.Cleanup(pg.Stop)
	ver, _ := pg.Query(ctx, "show server_version")
	if i := strings.IndexByte(ver, ' '); i > 0 {
		ver = ver[:i]
	}
	return pg, ver, nil
}

// chartsDir is where charts go: bench/charts, kept in the repository
// beside the results that link to it, when a run rewrites RESULTS.md;
// bench/out otherwise, so that a trial run leaves them alone.
var chartsDir = filepath.Join("bench", "charts")

// createChart creates a chart image in chartsDir.
func createChart(name string) (*os.File, error) {
	if err := os.MkdirAll(chartsDir, 0o755); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(chartsDir, name))
}

// buildTool builds a command of this module into the harness's directory.
func buildTool(h *harness, pkg string) string {
	out := filepath.Join(h.dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		h.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// standardSuite is what make bench runs: every scenario, at sizes that fit
// about ten minutes on a 2-core machine; heavier runs are the scenarios'
// own defaults (-scenario dialing, -scenario failover, …).
var standardSuite = []struct {
	scenario string
	run      func(ctx context.Context, h *harness) (string, error)
}{
	{"http-path", func(ctx context.Context, h *harness) (string, error) { return runHTTPPath(ctx, h, 5*time.Second, 1) }},
	{"api", func(ctx context.Context, h *harness) (string, error) { return runAPI(ctx, h, 10*time.Second) }},
	{"upload", func(ctx context.Context, h *harness) (string, error) { return runUpload(ctx, h, 1_000_000) }},
	{"dialing", func(ctx context.Context, h *harness) (string, error) {
		return runDialing(ctx, h, 1_000_000, 30*time.Second, 600, 3000, 2)
	}},
	{"campaigns", func(ctx context.Context, h *harness) (string, error) {
		return runCampaigns(ctx, h, 10_000, 30*time.Second)
	}},
	{"hopper", func(ctx context.Context, h *harness) (string, error) {
		return runHopper(ctx, h, 1_000_000, 10*time.Second)
	}},
	{"load", func(ctx context.Context, h *harness) (string, error) {
		return runLoad(ctx, h, loadSpec{Nodes: 3, Token: benchToken, Mix: load.DefaultMix, Concurrency: 64, Duration: 10 * time.Second, Seed: 1,
			Command: "make bench BENCHFLAGS='-scenario load -nodes 3 -duration 10s'"})
	}},
	{"failover", func(ctx context.Context, h *harness) (string, error) {
		return runFailover(ctx, h, 200_000, 20*time.Second, 600, 1000, 2, 2, 2)
	}},
}

// runStandard runs the suite, each scenario in a harness of its own (its
// processes and files gone before the next starts), rewrites each one's
// section, and a summary section with the suite's times.
func runStandard(ctx context.Context, out string) error {
	start := dialerd.Stopwatch()
	var b strings.Builder
	var failed []string
	fmt.Fprintf(&b, "## Standard suite (make bench)\n\n- command: `make bench` (`-scenario standard`)\n- machine: %s\n- date: %s\n- load average before the run: %s\n\n| scenario | took | result |\n|---|---:|---|\n",
		machine(), start.UTC().Format(time.RFC3339), loadAvg())
	for _, sc := range standardSuite {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "bench: standard suite: %s\n", sc.scenario)
		t := dialerd.Stopwatch()
		h := newHarness()
		var section string
		err := catch(func() error {
			var err error
			section, err = sc.run(ctx, h)
			return err
		})
		h.close()
		took := time.Since(t)
		result := "section rewritten"
		switch {
		case err != nil:
			result = "**failed**: " + err.Error()
			failed = append(failed, sc.scenario)
		case out != "":
			err = writeSection(out, sc.scenario, section)
			if err != nil {
				return err
			}
		default:
			fmt.Println(section)
		}
		fmt.Fprintf(&b, "| %s | %.0f s | %s |\n", sc.scenario, took.Seconds(), result)
	}
	fmt.Fprintf(&b, "\n- whole suite: **%.1f min** (target ≤ 10 min)\n", time.Since(start).Minutes())
	if out != "" {
		if err := writeSection(out, "standard", b.String()); err != nil {
			return err
		}
	} else {
		fmt.Println(b.String())
	}
	if len(failed) > 0 {
		return fmt.Errorf("standard suite: %s failed", strings.Join(failed, ", "))
	}
	return nil
}
