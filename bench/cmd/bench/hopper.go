package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/pgstack"
)

// hopperBatch is the prospects one lease takes on both sides: a tick's
// lease in dialerd (BenchmarkLease), the LIMIT of the SQL hopper.
const hopperBatch = 100

type hopperPG struct {
	Workers   int           `json:"workers"`
	Leases    int64         `json:"leases"`
	Prospects int64         `json:"prospects"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Errors    int64         `json:"errors"`
}

func (r hopperPG) perSecond() float64 { return float64(r.Leases) / r.Elapsed.Seconds() }

type hopperDialerd struct {
	Name    string  `json:"name"` // the benchmark's name
	N       int     `json:"n"`
	NsPerOp float64 `json:"ns_per_op"`
}

type hopperResult struct {
	Command  string          `json:"command"`
	Machine  string          `json:"machine"`
	Date     string          `json:"date"`
	LoadAvg  string          `json:"loadavg"`
	Rows     int             `json:"rows"`
	PGVer    string          `json:"postgres_version"`
	PGSeed   time.Duration   `json:"pg_seed_ns"`
	PG       []hopperPG      `json:"postgres"`
	Dialerd  []hopperDialerd `json:"dialerd"`
	BenchCmd string          `json:"dialerd_command"`
	Error    string          `json:"error,omitempty"`
}

// hopperWorkers are the SKIP LOCKED hopper's concurrencies: one dialer, and
// several on one list (what SKIP LOCKED is for); the best is compared.
var hopperWorkers = []int{1, 4, 16}

// runHopper compares choosing the next prospects to call at 1,000,000 rows:
// dialerd's list lease (BenchmarkLease: choose 100 due in the open buckets,
// read and judge them, count the attempts and move their index entries in
// one fsynced batch) against the SQL hopper a team would write — SELECT …
// ORDER BY next_call_at LIMIT 100 FOR UPDATE SKIP LOCKED over a partial
// index, UPDATE, INSERT of the calls, one transaction (pgstack.Lease). Both
// run in-process, without HTTP, one after the other.
func runHopper(ctx context.Context, h *harness, rows int, d time.Duration) (string, error) {
	res := hopperResult{
		Command: fmt.Sprintf("make bench BENCHFLAGS='-scenario hopper -duration %s'", d),
		Machine: machine(), Date: dialerd.Stopwatch().UTC().Format(time.RFC3339), LoadAvg: loadAvg(), Rows: rows,
	}
	err := catch(func() error {
		// dialerd: the lease benchmark at 1M, as go test runs it.
		pattern := "Benchmark(Lease|DueEntries)/list=1000000$"
		res.BenchCmd = "go test -run '^$' -bench '" + pattern + "' -benchtime 2000x ./actors/"
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern, "-benchtime", "2000x", "./actors/")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		fmt.Fprintln(os.Stderr, "bench: hopper: dialerd's lease benchmark (fills a 1M list first)")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w\n%s", res.BenchCmd, err, out.String())
		}
		res.Dialerd = parseGoBench(out.String())
		if len(res.Dialerd) == 0 {
			return fmt.Errorf("no benchmark lines in:\n%s", out.String())
		}

		// The SQL hopper.
		pg, ver, err := startPostgres(ctx, h)
		if err != nil {
			return err
		}
		res.PGVer = ver
		pool, err := pgxpool.New(ctx, pg.DSN()+" pool_max_conns=16")
		if err != nil {
			return err
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, pgstack.Schema); err != nil {
			return err
		}
		slugs, err := pgstack.SeedCampaigns(ctx, pool, "Hopper", 1)
		if err != nil {
			return err
		}
		list, err := pgstack.SeedList(ctx, pool, slugs[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: hopper: seeding %d prospects into PostgreSQL\n", rows)
		t := dialerd.Stopwatch()
		if _, err := pgstack.SeedProspects(ctx, pool, list, rows); err != nil {
			return err
		}
		res.PGSeed = time.Since(t)
		for i, w := range hopperWorkers {
			if i > 0 {
				// Each run starts from the same table: the previous run's
				// leases are made due again (or the last run would find
				// the list leased dry), and vacuumed, as autovacuum would
				// have in service.
				if _, err := pool.Exec(ctx, `UPDATE prospects SET attempts = 0, last_attempt_at = NULL,
					next_call_at = now() - (id % 86400 + 1) * interval '1 second' WHERE last_attempt_at IS NOT NULL`); err != nil {
					return err
				}
				if _, err := pool.Exec(ctx, "VACUUM ANALYZE prospects"); err != nil {
					return err
				}
			}
			r, err := pgHopper(ctx, pool, list, w, d)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench: hopper: PostgreSQL, %d workers: %.0f leases/s, p99 %s\n", w, r.perSecond(), r.P99)
			res.PG = append(res.PG, r)
		}
		return nil
	})
	if err != nil {
		res.Error = err.Error()
	}
	saveJSON("hopper", res)
	if err != nil {
		return "", err
	}
	return renderHopper(res), nil
}

// pgHopper runs workers goroutines, each leasing hopperBatch prospects in a
// loop for d.
func pgHopper(ctx context.Context, pool *pgxpool.Pool, list string, workers int, d time.Duration) (hopperPG, error) {
	r := hopperPG{Workers: workers}
	var leases, prospects, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var first error
	stop := dialerd.Stopwatch().Add(d)
	start := dialerd.Stopwatch()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil && dialerd.Stopwatch().Before(stop) {
				t := dialerd.Stopwatch()
				got, err := pgstack.Lease(ctx, pool, list, hopperBatch)
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						first = err
						mu.Unlock()
					}
					continue
				}
				mine = append(mine, time.Since(t))
				leases.Add(1)
				prospects.Add(int64(len(got)))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.Leases, r.Prospects, r.Errors = leases.Load(), prospects.Load(), errs.Load()
	if r.Errors > 0 {
		// A failed transaction is not a lease: counting only the others
		// would flatter neither side honestly.
		return r, fmt.Errorf("%d of %d leases failed, first: %v", r.Errors, r.Errors+r.Leases, first)
	}
	if r.Prospects < r.Leases*hopperBatch {
		return r, fmt.Errorf("leases came back short: %d prospects in %d leases: the list ran dry; give -rows more or -duration less", r.Prospects, r.Leases)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return r, nil
}

// parseGoBench reads "BenchmarkX/sub-2   2000   1850123 ns/op" lines.
func parseGoBench(out string) []hopperDialerd {
	var rs []hopperDialerd
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		n, err1 := strconv.Atoi(f[1])
		ns, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		rs = append(rs, hopperDialerd{Name: name, N: n, NsPerOp: ns})
	}
	return rs
}

func renderHopper(r hopperResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Hopper: choosing the next %d prospects to call in a list of %d\n\n", hopperBatch, r.Rows)
	fmt.Fprintf(&b, "- command: `%s`\n- machine: %s\n- date: %s\n- load average before the run: %s\n", r.Command, r.Machine, r.Date, r.LoadAvg)
	fmt.Fprintf(&b, "- dialerd: `%s` — the list grain's lease: choose the %d oldest due in the buckets the calling rules leave open, read and judge each record, count the attempts and move their index entries in one fsynced Pebble batch, encode the answer. One list, leases one after another (a list grain serves one lease at a time; different lists lease in parallel).\n", r.BenchCmd, hopperBatch)
	fmt.Fprintf(&b, "- PostgreSQL %s at its defaults (fsync, synchronous commit), table seeded with COPY in %.1f s then ANALYZE, nine in ten rows due; between runs the leased rows are made due again and the table vacuumed: `pgstack.Lease` — `SELECT id … WHERE list = $1 AND status = 'unresolved' AND next_call_at <= now() ORDER BY next_call_at LIMIT %d FOR UPDATE SKIP LOCKED` over a partial index on (list, next_call_at), `UPDATE … RETURNING`, `INSERT` of the calls, one transaction; through pgx's pool, in-process, %d, %d and %d workers on the one list for each run's length.\n\n",
		r.PGVer, r.PGSeed.Seconds(), hopperBatch, hopperWorkers[0], hopperWorkers[1], hopperWorkers[2])
	b.WriteString("| system | workers | leases/s | prospects/s | ms per lease (p50) | p99 ms |\n|---|---:|---:|---:|---:|---:|\n")
	var durable float64
	for _, d := range r.Dialerd {
		rate := 1e9 / d.NsPerOp
		var label string
		switch {
		case strings.HasPrefix(d.Name, "BenchmarkDueEntries"):
			label = "dialerd choosing alone (`dueEntries`: no read, no write; not like for like)"
		case strings.HasSuffix(d.Name, "/nosync"):
			label = "dialerd lease, no fsync (for scale)"
		default:
			label = "dialerd lease (fsynced)"
			durable = rate
		}
		fmt.Fprintf(&b, "| %s | 1 | %.0f | %.0f | %.2f (mean of %d) | |\n", label, rate, rate*hopperBatch, d.NsPerOp/1e6, d.N)
	}
	var best hopperPG
	for _, p := range r.PG {
		fmt.Fprintf(&b, "| PostgreSQL SKIP LOCKED | %d | %.0f | %.0f | %.2f | %.2f |\n", p.Workers, p.perSecond(), float64(p.Prospects)/p.Elapsed.Seconds(), float64(p.P50)/1e6, float64(p.P99)/1e6)
		if p.perSecond() > best.perSecond() || best.Leases == 0 {
			best = p
		}
	}
	b.WriteString("\n### Target (issue)\n\n")
	if durable > 0 && best.Leases > 0 {
		ratio := durable / best.perSecond()
		met := "met"
		if ratio < 50 {
			met = "**missed**"
		}
		fmt.Fprintf(&b, "- hopper selection at %d prospects ≥ 50× the SKIP LOCKED transaction rate: dialerd %.0f leases/s on one list against PostgreSQL's best, %.0f/s with %d workers: **%.1f×**, %s\n",
			r.Rows, durable, best.perSecond(), best.Workers, ratio, met)
	}
	return b.String()
}
