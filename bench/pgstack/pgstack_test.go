package pgstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/internal/pgserver"
)

// One server for the package, emptied by each test (newAPI): the tests do
// not run in parallel, and may run again (-count).
var (
	testPool *pgxpool.Pool
	skipWhy  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := pgserver.Bin(ctx, false, nil)
	if errors.Is(err, pgserver.ErrNotInstalled) {
		skipWhy = "PostgreSQL is not installed (no initdb on the PATH or under /usr/lib/postgresql/*/bin): apt-get install -y postgresql to run the pgstack tests"
		return m.Run()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "pgstack:", err)
		return 1
	}
	srv, err := pgserver.Start(ctx, bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgstack:", err)
		return 1
	}
	defer srv.Stop()
	pool, err := pgxpool.New(context.Background(), srv.DSN())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgstack:", err)
		return 1
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, Schema); err != nil {
		fmt.Fprintln(os.Stderr, "pgstack: schema:", err)
		return 1
	}
	// Twice: Schema must be safe to run on a database that has it.
	if _, err := pool.Exec(ctx, Schema); err != nil {
		fmt.Fprintln(os.Stderr, "pgstack: schema again:", err)
		return 1
	}
	testPool = pool
	return m.Run()
}

// api is the handler behind a real HTTP server, as a benchmark drives it.
type api struct {
	t    *testing.T
	pool *pgxpool.Pool
	url  string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	if testPool == nil {
		t.Skip(skipWhy)
	}
	if _, err := testPool.Exec(context.Background(), `TRUNCATE calls, prospects, lists, campaigns`); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(testPool))
	t.Cleanup(srv.Close)
	return &api{t: t, pool: testPool, url: srv.URL}
}

func (a *api) do(method, path, body string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return res.StatusCode, b
}

// want calls do and fails unless the status is status; it decodes the
// answer into out when out is not nil.
func (a *api) want(status int, method, path, body string, out any) {
	a.t.Helper()
	got, b := a.do(method, path, body)
	if got != status {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, got, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func (a *api) seed(name string, lists int, perList int) (slug string, ids []string) {
	a.t.Helper()
	ctx := context.Background()
	slugs, err := SeedCampaigns(ctx, a.pool, name, 1)
	if err != nil {
		a.t.Fatal(err)
	}
	for range lists {
		id, err := SeedList(ctx, a.pool, slugs[0])
		if err != nil {
			a.t.Fatal(err)
		}
		if n, err := SeedProspects(ctx, a.pool, id, perList); err != nil || n != int64(perList) {
			a.t.Fatalf("SeedProspects: %d, %v; want %d", n, err, perList)
		}
		ids = append(ids, id)
	}
	return slugs[0], ids
}

func (a *api) scalar(sql string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		a.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestCampaignCreateGetPatch(t *testing.T) {
	a := newAPI(t)
	var created dialerd.Campaign
	a.want(201, "POST", "/campaign/", `{"name": "Round Trip", "call_ratio": 1.5, "dialer_interval": 5, "workspace": "acme", "earliest_prospect_time": "09:00"}`, &created)
	if created.Slug != "round-trip" || created.ID == "" || created.CallRatio != 1.5 || created.DialerInterval != 5 ||
		created.Workspace == nil || *created.Workspace != "acme" || created.EarliestProspectTime != "09:00:00" ||
		!created.Active || created.MaxNumberCalls != dialerd.DefaultMaxNumberCalls || created.CreatedAt.IsZero() {
		t.Fatalf("created %+v", created)
	}

	var got dialerd.Campaign
	a.want(200, "GET", "/campaign/round-trip/", "", &got)
	if !sameCampaign(got, created) {
		t.Fatalf("GET gave %+v, want what POST answered, %+v", got, created)
	}

	var patched dialerd.Campaign
	a.want(200, "PATCH", "/campaign/round-trip/", `{"paused": true, "call_ratio": 3, "slug": "ignored"}`, &patched)
	if !patched.Paused || patched.CallRatio != 3 || patched.Name != "Round Trip" || patched.DialerInterval != 5 ||
		patched.Slug != "round-trip" || patched.ID != created.ID || !patched.CreatedAt.Equal(created.CreatedAt) ||
		!patched.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("patched %+v, from %+v", patched, created)
	}
	a.want(200, "GET", "/campaign/round-trip/", "", &got)
	if !sameCampaign(got, patched) {
		t.Fatalf("GET after PATCH gave %+v, want %+v", got, patched)
	}
	// The columns follow the doc, for the queries that filter on them.
	var paused bool
	var ratio float64
	var updated time.Time
	if err := a.pool.QueryRow(context.Background(), `SELECT paused, call_ratio, updated_at FROM campaigns WHERE slug = 'round-trip'`).
		Scan(&paused, &ratio, &updated); err != nil {
		t.Fatal(err)
	}
	if !paused || ratio != 3 || !updated.Equal(patched.UpdatedAt) {
		t.Errorf("columns paused=%v call_ratio=%v updated_at=%v, want the doc's", paused, ratio, updated)
	}

	// A patch is validated as a whole and changes nothing when it fails.
	var fields map[string][]string
	a.want(400, "PATCH", "/campaign/round-trip/", `{"call_ratio": -1, "latest_prospect_time": "08:00"}`, &fields)
	if len(fields["call_ratio"]) == 0 || len(fields["earliest_prospect_time"]) == 0 {
		t.Errorf("400 named %v, want call_ratio and earliest_prospect_time", fields)
	}
	a.want(400, "PATCH", "/campaign/round-trip/", `{"no_such_field": 1}`, nil)
	a.want(200, "GET", "/campaign/round-trip/", "", &got)
	if !sameCampaign(got, patched) {
		t.Errorf("a refused PATCH changed the campaign: %+v", got)
	}

	a.want(400, "POST", "/campaign/", `{"call_ratio": 2}`, nil) // no name
	a.want(400, "POST", "/campaign/", `{"name": "x"`, nil)
	a.want(404, "GET", "/campaign/no-such/", "", nil)
	a.want(404, "GET", "/campaign/Not_A_Slug/", "", nil)
	a.want(404, "PATCH", "/campaign/no-such/", `{"paused": true}`, nil)
	a.want(404, "GET", "/campaign/no-such/status/", "", nil)
}

// sameCampaign compares what JSON carries: the times through PostgreSQL's
// jsonb come back as the same instants, not the same time.Time values.
func sameCampaign(a, b dialerd.Campaign) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestCampaignSlugsUnique(t *testing.T) {
	a := newAPI(t)
	for i, want := range []string{"summer-sale", "summer-sale-2", "summer-sale-3"} {
		var c dialerd.Campaign
		a.want(201, "POST", "/campaign/", `{"name": "Summer  Sale!"}`, &c)
		if c.Slug != want {
			t.Errorf("create %d: slug %q, want %q", i+1, c.Slug, want)
		}
	}
	// A name whose slug is another's prefix does not take that one's numbers.
	var c dialerd.Campaign
	a.want(201, "POST", "/campaign/", `{"name": "Summer"}`, &c)
	if c.Slug != "summer" {
		t.Errorf("slug %q, want summer", c.Slug)
	}

	const n = 12
	slugs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, b := a.do("POST", "/campaign/", `{"name": "Winter Sale"}`)
			var c dialerd.Campaign
			if status != 201 || json.Unmarshal(b, &c) != nil {
				t.Errorf("concurrent create: %d %s", status, b)
				return
			}
			slugs[i] = c.Slug
		}()
	}
	wg.Wait()
	sort.Strings(slugs)
	seen := map[string]bool{}
	for _, s := range slugs {
		if seen[s] {
			t.Errorf("slug %q given twice: %v", s, slugs)
		}
		seen[s] = true
	}
	if !seen["winter-sale"] || a.scalar(`SELECT count(*) FROM campaigns WHERE slug = 'winter-sale' OR slug LIKE 'winter-sale-%'`) != n {
		t.Errorf("concurrent creates gave %v", slugs)
	}
}

func TestAddProspect(t *testing.T) {
	a := newAPI(t)
	_, lists := a.seed("Add Prospect", 2, 0)
	var p Prospect
	a.want(201, "POST", "/prospect/"+lists[0]+"/", `{"phone": "(212) 772-0001", "state": "NY", "timezone": "America/New_York", "fields": {"first_name": "Ada"}}`, &p)
	if p.ID == 0 || p.List != lists[0] || p.Phone != "+12127720001" || p.State != "NY" || len(p.Timezones) != 1 ||
		p.Timezones[0] != "America/New_York" || p.Status != "unresolved" || p.Attempts != 0 || p.LastAttemptAt != nil ||
		p.NextCallAt.After(time.Now().Add(time.Minute)) || p.Fields["first_name"] != "Ada" {
		t.Fatalf("added %+v", p)
	}
	// The same number spelt otherwise is the same number.
	status, b := a.do("POST", "/prospect/"+lists[0]+"/", `{"phone": "+1 212 772 0001", "state": "NY"}`)
	if status != 409 || !strings.Contains(string(b), "+12127720001") {
		t.Errorf("duplicate: %d %s, want 409 naming the number", status, b)
	}
	a.want(201, "POST", "/prospect/"+lists[1]+"/", `{"phone": "+1 212 772 0001"}`, &p) // another list may have it
	if p.Timezones == nil || p.Fields == nil {
		t.Errorf("absent timezone and fields came back as %v and %v, want [] and {}", p.Timezones, p.Fields)
	}
	if n := a.scalar(`SELECT count(*) FROM prospects WHERE phone = '+12127720001'`); n != 2 {
		t.Errorf("%d rows of the number, want 2 (one per list)", n)
	}

	a.want(400, "POST", "/prospect/"+lists[0]+"/", `{"phone": "12"}`, nil)
	a.want(400, "POST", "/prospect/"+lists[0]+"/", `{"phone": "+12127720002", "zip": "10001"}`, nil)
	a.want(404, "POST", "/prospect/"+uuid.NewString()+"/", `{"phone": "+12127720002"}`, nil)
	a.want(404, "POST", "/prospect/not-a-uuid/", `{"phone": "+12127720002"}`, nil)
}

func TestSeedProspects(t *testing.T) {
	a := newAPI(t)
	_, lists := a.seed("Seed", 1, 1000)
	if n := a.scalar(`SELECT count(DISTINCT phone) FROM prospects WHERE list = $1`, lists[0]); n != 1000 {
		t.Errorf("%d distinct phones, want 1000", n)
	}
	if n := a.scalar(`SELECT count(*) FROM prospects WHERE list = $1 AND next_call_at <= now()`, lists[0]); n != 900 {
		t.Errorf("%d due, want 900", n)
	}
	if n := a.scalar(`SELECT count(*) FROM prospects WHERE list = $1 AND next_call_at > now() + interval '24 hours'`, lists[0]); n != 0 {
		t.Errorf("%d due in more than 24 hours, want none", n)
	}
	slugs, err := SeedCampaigns(context.Background(), a.pool, "Seed Many", 50)
	if err != nil || len(slugs) != 50 || slugs[49] != "seed-many-50" {
		t.Fatalf("SeedCampaigns: %v, %v", slugs, err)
	}
	var c dialerd.Campaign
	a.want(200, "GET", "/campaign/seed-many-50/", "", &c)
	if c.Name != "Seed Many 50" || c.Slug != "seed-many-50" || c.EarliestProspectTime != dialerd.NewCampaign().EarliestProspectTime {
		t.Errorf("seeded campaign %+v", c)
	}
}

func TestStatusCounts(t *testing.T) {
	a := newAPI(t)
	slug, lists := a.seed("Status", 2, 100) // 90 due of 100 in each
	ctx := context.Background()
	// Five due prospects resolved, and a call too old to count.
	if _, err := a.pool.Exec(ctx, `UPDATE prospects SET status = 'resolved' WHERE id IN (
		SELECT id FROM prospects WHERE list = $1 AND next_call_at <= now() LIMIT 5)`, lists[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `INSERT INTO calls (campaign, prospect, started_at)
		SELECT $1, min(id), now() - interval '31 days' FROM prospects WHERE list = $2`, slug, lists[0]); err != nil {
		t.Fatal(err)
	}
	other, _ := a.seed("Status Other", 1, 10) // counted for its own campaign only
	a.want(200, "POST", "/list/"+lists[1]+"/lease?n=7", "", nil)

	var st dialerd.CampaignStatus
	a.want(200, "GET", "/campaign/"+slug+"/status/", "", &st)
	want := dialerd.ProspectCounts{Total: 200, Unresolved: 195, DialableNow: 180 - 5 - 7}
	if st.Prospects != want || st.Attempts30d != 7 || st.Slug != slug || st.Status != dialerd.StatusStopped || !st.Active {
		t.Errorf("status %+v, want prospects %+v, 7 attempts, Stopped", st, want)
	}

	a.want(200, "PATCH", "/campaign/"+slug+"/", `{"active": false}`, nil)
	a.want(200, "GET", "/campaign/"+slug+"/status/", "", &st)
	if st.Status != dialerd.StatusInactive {
		t.Errorf("inactive campaign's status %q", st.Status)
	}
	a.want(200, "GET", "/campaign/"+other+"/status/", "", &st)
	if st.Prospects.Total != 10 || st.Attempts30d != 0 {
		t.Errorf("other campaign's status %+v", st)
	}
	var empty dialerd.Campaign
	a.want(201, "POST", "/campaign/", `{"name": "Status Empty"}`, &empty)
	a.want(200, "GET", "/campaign/"+empty.Slug+"/status/", "", &st)
	if st.Status != dialerd.StatusCompleted || st.Prospects != (dialerd.ProspectCounts{}) || len(st.Reasons) != 1 || st.Reasons[0].Code != "no_prospects" {
		t.Errorf("empty campaign's status %+v", st)
	}
}

func TestLeaseSkipsLockedRows(t *testing.T) {
	a := newAPI(t)
	_, lists := a.seed("Lease Locked", 1, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Another hopper in the middle of its lease holds the ten most overdue.
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	rows, _ := tx.Query(ctx, `SELECT id FROM prospects WHERE list = $1 AND status = 'unresolved' AND next_call_at <= now()
		ORDER BY next_call_at LIMIT 10 FOR UPDATE`, lists[0])
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(held) != 10 {
		t.Fatalf("locking ten: %v, %v", held, err)
	}
	done := make(chan []Prospect, 1)
	go func() {
		var got []Prospect
		a.want(200, "POST", "/list/"+lists[0]+"/lease?n=20", "", &got)
		done <- got
	}()
	var got []Prospect
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a lease waited for rows another transaction holds")
	}
	if len(got) != 20 {
		t.Fatalf("leased %d, want 20", len(got))
	}
	for _, p := range got {
		for _, id := range held {
			if p.ID == id {
				t.Errorf("leased %d, which another transaction holds", id)
			}
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Released, the ten are leased next: the most overdue first.
	a.want(200, "POST", "/list/"+lists[0]+"/lease?n=10", "", &got)
	ids := map[int64]bool{}
	for _, p := range got {
		ids[p.ID] = true
	}
	for _, id := range held {
		if !ids[id] {
			t.Errorf("held prospect %d not leased once released (got %d rows)", id, len(got))
		}
	}
}

func TestLeaseConcurrent(t *testing.T) {
	a := newAPI(t)
	slug, lists := a.seed("Lease Concurrent", 1, 2000) // 1800 due
	list := lists[0]
	start := time.Now()

	const hoppers = 4
	var (
		mu     sync.Mutex
		leased = map[int64]Prospect{}
		wg     sync.WaitGroup
	)
	for range hoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				status, b := a.do("POST", "/list/"+list+"/lease?n=37", "")
				var got []Prospect
				if status != 200 || json.Unmarshal(b, &got) != nil {
					t.Errorf("lease: %d %s", status, b)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, p := range got {
					if _, dup := leased[p.ID]; dup {
						t.Errorf("prospect %d leased twice", p.ID)
					}
					leased[p.ID] = p
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(leased) != 1800 {
		t.Fatalf("leased %d prospects, want the 1800 due", len(leased))
	}
	for _, p := range leased {
		if p.Attempts != 1 || p.LastAttemptAt == nil || p.LastAttemptAt.Before(start.Add(-time.Second)) ||
			p.NextCallAt.Before(start.Add(23*time.Hour)) || p.List != list || p.Status != "unresolved" {
			t.Fatalf("leased row %+v", p)
		}
	}
	// Leased ones are not due again, and nothing else became due.
	var again []Prospect
	a.want(200, "POST", "/list/"+list+"/lease", "", &again)
	if len(again) != 0 {
		t.Errorf("a lease after the list was drained gave %d rows", len(again))
	}
	if n := a.scalar(`SELECT count(*) FROM prospects WHERE list = $1 AND attempts = 1 AND next_call_at > now() + interval '23 hours'`, list); n != 1800 {
		t.Errorf("%d prospects attempted once and not due for a day, want 1800", n)
	}
	if n := a.scalar(`SELECT count(*) FROM prospects WHERE list = $1 AND attempts = 0`, list); n != 200 {
		t.Errorf("%d prospects never attempted, want the 200 not due", n)
	}
	if n := a.scalar(`SELECT count(*) FROM calls WHERE campaign = $1`, slug); n != 1800 {
		t.Errorf("%d calls rows, want 1800", n)
	}
	if n := a.scalar(`SELECT count(DISTINCT c.prospect) FROM calls c JOIN prospects p ON p.id = c.prospect
		WHERE c.campaign = $1 AND p.list = $2 AND p.attempts = 1`, slug, list); n != 1800 {
		t.Errorf("calls for %d distinct leased prospects, want 1800", n)
	}

	a.want(400, "POST", "/list/"+list+"/lease?n=0", "", nil)
	a.want(400, "POST", "/list/"+list+"/lease?n=1001", "", nil)
	a.want(400, "POST", "/list/"+list+"/lease?n=x", "", nil)
	a.want(404, "POST", "/list/nope/lease", "", nil)
	a.want(200, "POST", "/list/"+uuid.NewString()+"/lease", "", &again)
	if len(again) != 0 {
		t.Errorf("unknown list leased %d", len(again))
	}
}
