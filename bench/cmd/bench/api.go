package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/load"
	"github.com/dialerd/dialerd/bench/pgstack"
	"github.com/dialerd/dialerd/internal/nodetest"
)

// apiMix is one load of the api scenario: the same ops, dataset seed and
// closed-loop concurrency against each stack.
type apiMix struct {
	Name        string `json:"name"`
	Mix         string `json:"mix"`
	Concurrency int    `json:"concurrency"`
}

// apiMixes are what issue 8 compares: GET campaign and GET status each
// alone (in a closed loop a mix couples its ops' rates: every worker waits
// for whichever it sent), at a concurrency that saturates a 2-core
// machine, and writes (create, patch, single add), each of which waits for
// an fsync on both stacks.
var apiMixes = []apiMix{
	{Name: "get", Mix: "get=100", Concurrency: 64},
	{Name: "status", Mix: "status=100", Concurrency: 64},
	{Name: "writes", Mix: "create=30,patch=40,add=30", Concurrency: 16},
}

type apiResult struct {
	Command  string                    `json:"command"`
	Machine  string                    `json:"machine"`
	Date     string                    `json:"date"`
	LoadAvg  string                    `json:"loadavg"`
	Duration time.Duration             `json:"duration_ns"`
	PGVer    string                    `json:"postgres_version"`
	Runs     map[string][]*load.Result `json:"runs"` // mix name → [dialerd, postgres]
	Error    string                    `json:"error,omitempty"`
}

// runAPI drives the same request mixes, closed loop, against one dialerd
// node and against the stack a team would otherwise build — net/http and
// pgx over PostgreSQL (bench/pgstack) — one after the other, each alone on
// the machine but for the load generator.
func runAPI(ctx context.Context, h *harness, d time.Duration) (string, error) {
	res := apiResult{
		Command: fmt.Sprintf("make bench BENCHFLAGS='-scenario api -duration %s'", d),
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(),
		Duration: d, Runs: map[string][]*load.Result{},
	}
	err := catch(func() error {
		// dialerd: one node, default flags.
		node := nodetest.Start(h, nodetest.Options{BootstrapToken: benchToken})
		dapi := load.DialerdAPI(node.URL, benchToken)
		for i, m := range apiMixes {
			r, err := apiRun(ctx, dapi, m, uint64(10+i), d, load.ProcSampler(node.Pid()), func(ds *load.Dataset) error {
				return load.Setup(ctx, nil, dapi.Setup(ds), 16)
			})
			if err != nil {
				return fmt.Errorf("dialerd, %s: %w", m.Name, err)
			}
			r.Name = "dialerd"
			res.Runs[m.Name] = append(res.Runs[m.Name], r)
		}
		node.Kill()

		// The conventional stack.
		pg, ver, err := startPostgres(ctx, h)
		if err != nil {
			return err
		}
		res.PGVer = ver
		pool, err := pgxpool.New(ctx, pg.DSN())
		if err != nil {
			return err
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, pgstack.Schema); err != nil {
			return err
		}
		// Its HTTP server is a process of its own, measured like dialerd's
		// node: the server and PostgreSQL with its backends.
		stack, addr, err := startPGStack(ctx, h, pg.DSN())
		if err != nil {
			return err
		}
		defer stack.Process.Kill()
		pgPid, err := pg.Pid()
		if err != nil {
			return err
		}
		papi := load.API{Base: "http://" + addr, Prefix: "/api/v",
			AddBody: func(p load.Prospect) []byte {
				b, _ := json.Marshal(map[string]string{"phone": p.E164})
				return b
			}}
		for i, m := range apiMixes {
			r, err := apiRun(ctx, papi, m, uint64(10+i), d, load.TreeSampler(stack.Process.Pid, pgPid), func(ds *load.Dataset) error {
				if err := load.Setup(ctx, nil, []load.Step{papi.CampaignStep(ds)}, 16); err != nil {
					return err
				}
				list, err := pgstack.SeedList(ctx, pool, ds.Slugs[0])
				ds.AddList = list
				return err
			})
			if err != nil {
				return fmt.Errorf("postgres stack, %s: %w", m.Name, err)
			}
			r.Name = "net/http + PostgreSQL"
			res.Runs[m.Name] = append(res.Runs[m.Name], r)
		}
		return nil
	})
	if err != nil {
		res.Error = err.Error()
	}
	saveJSON("api", res)
	for name, rs := range res.Runs {
		for _, r := range rs {
			f, ferr := createChart(fmt.Sprintf("api-%s-%s.svg", name, stackName(r.Name)))
			if ferr == nil {
				r.SVG(f)
				f.Close()
			}
		}
	}
	if err != nil {
		return "", err
	}
	return renderAPI(res), nil
}

// apiRun sets a fresh dataset up on a stack and drives one mix against it.
func apiRun(ctx context.Context, api load.API, m apiMix, seed uint64, d time.Duration, sample func() load.Sample, setup func(*load.Dataset) error) (*load.Result, error) {
	ds, err := load.NewDataset(load.Spec{Seed: seed, Campaigns: 200})
	if err != nil {
		return nil, err
	}
	if err := setup(ds); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	ops := api.Ops(ds)
	mix, err := load.ParseMix(m.Mix, ops)
	if err != nil {
		return nil, err
	}
	return load.Run(ctx, load.Config{Name: m.Name, Ops: ops, Mix: mix, Seed: seed, Concurrency: m.Concurrency,
		Duration: d, Progress: os.Stderr, Sample: sample})
}

func renderAPI(r apiResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## API: dialerd against net/http + PostgreSQL, same requests\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- dialerd: one node, default flags (fsync on every write). Baseline: `bench/pgstack`, the stack a team would write — net/http, pgx's pool at its defaults, PostgreSQL %s at its defaults (fsync, synchronous commit), the same validation (dialerd.Campaign.ApplyJSON) and the same JSON documents; its HTTP server is a process of its own (bench/cmd/pgstack); its server figures are that process plus PostgreSQL and its backends.\n", r.PGVer)
	fmt.Fprintf(&b, "- load: `bench/load`, fasthttp client, closed loop, %s per mix and stack, one stack at a time; 200 fixture campaigns made first on each; every request's latency in an HDR histogram (µs, 3 digits). Status reads campaigns without prospects on both stacks. Charts (throughput over the run, latency percentiles per op) below each table, from bench/charts/.\n\n", r.Duration)
	for _, m := range apiMixes {
		rs := r.Runs[m.Name]
		fmt.Fprintf(&b, "### %s: `%s`, %d connections\n\n", m.Name, m.Mix, m.Concurrency)
		for _, x := range rs {
			fmt.Fprintf(&b, "%s\n", x.Markdown())
			fmt.Fprintf(&b, "![%s, %s](charts/api-%s-%s.svg)\n\n", m.Name, x.Name, m.Name, stackName(x.Name))
		}
		if len(rs) == 2 {
			fmt.Fprintf(&b, "%s\n", load.CompareMarkdown(rs[0], rs[1]))
		}
	}
	b.WriteString("### Targets (issue)\n\n")
	for _, op := range []string{"get", "status"} {
		if rs := r.Runs[op]; len(rs) == 2 {
			a, p := rs[0].Op(op), rs[1].Op(op)
			if a == nil || p == nil || p.Throughput == 0 {
				continue
			}
			ratio := a.Throughput / p.Throughput
			met := "met"
			if ratio < 4 || a.Latency.P99 >= p.Latency.P99 {
				met = "**missed**"
			}
			fmt.Fprintf(&b, "- GET %s: ≥ 4× the PostgreSQL stack's throughput with a lower p99: %.1f× (%.0f vs %.0f ok/s), p99 %.2f vs %.2f ms: %s\n",
				map[string]string{"get": "campaign", "status": "status"}[op], ratio, a.Throughput, p.Throughput, float64(a.Latency.P99)/1000, float64(p.Latency.P99)/1000, met)
		}
	}
	return b.String()
}

// startPGStack builds and starts bench/cmd/pgstack on dsn and returns the
// process and the address it listens on.
func startPGStack(ctx context.Context, h *harness, dsn string) (*exec.Cmd, string, error) {
	bin := buildTool(h, "./bench/cmd/pgstack")
	cmd := exec.CommandContext(ctx, bin, "-dsn", dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	h.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		return nil, "", fmt.Errorf("pgstack did not start: %q %v", line, err)
	}
	return cmd, addr, nil
}

// stackName names a stack's chart file.
func stackName(run string) string {
	if strings.HasPrefix(run, "dialerd") {
		return "dialerd"
	}
	return "postgres"
}
