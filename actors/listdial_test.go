package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/persistence"
)

// newTestList is a list grain outside an actor system, over store; its
// requests reach a do-not-call grain (of campaigns without a workspace)
// over the same store.
func newTestList(store dialerd.Store, clock dialerd.Clock) *listGrain {
	g, _ := newTestListDNC(store, clock)
	return g
}

// newTestListDNC is newTestList and the do-not-call grain it asks.
func newTestListDNC(store dialerd.Store, clock dialerd.Clock) (*listGrain, *dncGrain) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dnc := newTestDNC(store, clock)
	request := func(_ context.Context, kind, identity string, msg proto.Message) (any, error) {
		m, ok := msg.(*pb.DNCRequest)
		if kind != KindDNC || identity != DNCIdentity("") || !ok {
			return nil, fmt.Errorf("test list: no grain %s/%s", kind, identity)
		}
		return reply(dnc.handle(m)), nil
	}
	g := &listGrain{deps: &Deps{Store: store, Clock: clock, Logger: log, Request: request}, uuid: "l1", identity: "list/l1", log: log,
		l: &dialerd.ProspectList{UUID: "l1", Campaign: "c1"}, loaded: true}
	return g, dnc
}

// newTestDNC is the do-not-call grain of campaigns without a workspace,
// outside an actor system.
func newTestDNC(store dialerd.Store, clock dialerd.Clock) *dncGrain {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &dncGrain{deps: &Deps{Store: store, Clock: clock, Logger: log}, key: DNCIdentity(""), identity: KindDNC + "/" + DNCIdentity(""), log: log}
}

// addTestProspects adds n prospects through the ingest path, spread over
// the zones.
func addTestProspects(tb testing.TB, g *listGrain, n int) {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 3))
	for done := 0; done < n; {
		batch := min(dialerd.UploadBatchRows, n-done)
		ps := make([]encodedProspect, batch)
		for i := range ps {
			z := hopperZones[r.IntN(len(hopperZones))]
			d := dialerd.ProspectData{Phone: fmt.Sprintf("+1555%07d", done+i), State: z.state, Timezones: []string{z.zone}, Status: dialerd.ProspectUnresolved}
			ps[i] = encodedProspect{phone: d.Phone, data: d.AppendJSON(nil), bucket: dialer.BucketKey(d.State, d.Timezones)}
		}
		_, ops, _, err := g.addOps(ps, "")
		if err != nil {
			tb.Fatal(err)
		}
		if err := g.write(ops); err != nil {
			tb.Fatal(err)
		}
		g.added(ps)
		done += batch
	}
}

func leaseFrom(tb testing.TB, g *listGrain, s dialer.Settings, now time.Time, n int) []dialerd.Prospect {
	tb.Helper()
	body, _ := json.Marshal(LeaseRequest{Settings: s, Now: now, N: n})
	out, err := g.lease(body)
	if err != nil {
		tb.Fatal(err)
	}
	var r LeaseReply
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatal(err)
	}
	ps := make([]dialerd.Prospect, len(r.Prospects))
	for i, doc := range r.Prospects {
		if err := json.Unmarshal(doc, &ps[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return ps
}

func stats(tb testing.TB, g *listGrain, s dialer.Settings, now time.Time) DialStats {
	tb.Helper()
	body, _ := json.Marshal(LeaseRequest{Settings: s, Now: now})
	out, err := g.dialStats(body)
	if err != nil {
		tb.Fatal(err)
	}
	var st DialStats
	json.Unmarshal(out, &st)
	return st
}

// A lease counts each prospect's attempt and moves it out of reach until
// its result comes; results resolve it or put it back at its next due
// time; the counts follow; a stale result is ignored.
func TestListLeaseAndResults(t *testing.T) {
	store, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	added := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC) // noon in New York
	clock := dialerd.NewManualClock(added)
	g := newTestList(store, clock)
	addTestProspects(t, g, 10)
	c := dialerd.NewCampaign()
	c.EarliestProspectTime, c.LatestProspectTime, c.MaxNumberCalls, c.MinTimeBetweenCalls = "00:00", "23:59", 2, 30
	s := dialer.SettingsOf(c)
	now := added.Add(time.Hour)

	if st := stats(t, g, s, now); st.Total != 10 || st.Unresolved != 10 || st.DialableNow != 10 {
		t.Fatalf("stats before: %+v", st)
	}
	first := leaseFrom(t, g, s, now, 4)
	if len(first) != 4 {
		t.Fatalf("leased %d, want 4", len(first))
	}
	for _, p := range first {
		if p.Attempts != 1 || !p.LastAttemptAt.Equal(now) || !p.NextCallAt.Equal(dialer.LeasedDue(s, now)) {
			t.Fatalf("leased prospect %+v", p)
		}
	}
	second := leaseFrom(t, g, s, now, 100)
	if len(second) != 6 {
		t.Fatalf("second lease took %d, want the other 6", len(second))
	}
	for _, p := range second {
		for _, q := range first {
			if p.ID == q.ID {
				t.Fatalf("%s leased twice", p.ID)
			}
		}
	}
	if st := stats(t, g, s, now); st.DialableNow != 0 || st.Reasons[ReasonNotDue] != 10 {
		t.Fatalf("stats with all leased: %+v", st)
	}

	ended := now.Add(time.Minute)
	rs := []dialer.Result{
		{Prospect: first[0].ID, Outcome: dialer.OutcomeCompleted, Attempts: 1, Resolution: dialer.ResolvedCompleted},
		{Prospect: first[1].ID, Outcome: dialer.OutcomeNoAnswer, Attempts: 1, Due: now.Add(30 * time.Minute)},
		{Prospect: first[2].ID, Outcome: dialer.OutcomeNoAnswer, Attempts: 7, Due: now}, // stale
	}
	body, _ := json.Marshal(rs)
	if err := g.results(body); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, g, s, ended); st.Unresolved != 9 || st.DialableNow != 0 {
		t.Fatalf("stats after results: %+v", st)
	}
	if got := leaseFrom(t, g, s, now.Add(29*time.Minute), 10); len(got) != 0 {
		t.Fatalf("leased %d before min_time_between_calls", len(got))
	}
	again := leaseFrom(t, g, s, now.Add(30*time.Minute), 10)
	if len(again) != 1 || again[0].ID != first[1].ID || again[0].Attempts != 2 || again[0].LastOutcome != dialer.OutcomeNoAnswer {
		t.Fatalf("after the retry interval: %+v", again)
	}
	// The lease hold runs out for calls whose results never came: back,
	// and past max_number_calls, resolved as exhausted on the way.
	later := now.Add(dialer.LeaseHold + time.Hour)
	back := leaseFrom(t, g, s, later, 100)
	if len(back) != 8 { // 10 − the completed one − the exhausted one
		t.Fatalf("after the lease hold: %d leased, want 8", len(back))
	}
	if st := stats(t, g, s, later); st.Unresolved != 8 || st.Total != 10 {
		t.Fatalf("stats at the end: %+v", st)
	}
	page, _ := g.prospects(dialerd.ProspectResolved, "", 100)
	var pp ProspectPage
	json.Unmarshal(page, &pp)
	if len(pp.Results) != 2 {
		t.Fatalf("resolved prospects: %s", page)
	}
}

// BenchmarkLease: a tick leasing 100 prospects from a list of 10,000 and of
// 1,000,000 — choosing them (oldest due first in the open buckets),
// reading them, counting their attempts and moving their index entries in
// one fsynced batch. Issue 5: ≤ 0.5 ms, and the larger list no more than
// 1.5× the smaller.
func BenchmarkLease(b *testing.B) {
	c := dialerd.NewCampaign()
	c.EarliestProspectTime, c.LatestProspectTime, c.MaxNumberCalls = "00:00", "23:59:59", 1_000_000
	s := dialer.SettingsOf(c)
	for _, tc := range []struct {
		n      int
		noSync bool // the same without fsync: what the lease costs but for the disk
	}{{10_000, false}, {1_000_000, false}, {10_000, true}, {1_000_000, true}} {
		name := fmt.Sprintf("list=%d", tc.n)
		if tc.noSync {
			name += "/nosync"
		}
		n := tc.n
		b.Run(name, func(b *testing.B) {
			store, err := persistence.Open(persistence.Options{Dir: b.TempDir(), NoSync: tc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			added := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC)
			g := newTestList(store, dialerd.NewManualClock(added))
			addTestProspects(b, g, n)
			req := LeaseRequest{Settings: s, Now: added.Add(time.Hour), N: 100}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := g.leaseProspects(req)
				if err != nil {
					b.Fatal(err)
				}
				r.encode() // the answer the campaign gets
				if len(r.Prospects) < 100 {
					// Every prospect is leased: a day later their lease
					// holds have run out.
					req.Now = req.Now.Add(dialer.LeaseHold + time.Second)
				}
			}
		})
	}
}

// BenchmarkLeaseCommitFloor is the floor under BenchmarkLease: one fsynced
// batch of the same shape (100 index deletes and sets, 100 records) with
// nothing chosen or read.
func BenchmarkLeaseCommitFloor(b *testing.B) {
	store, err := persistence.Open(persistence.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	doc := make([]byte, 300)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops := make([]dialerd.Op, 0, 300)
		for j := 0; j < 100; j++ {
			k := fmt.Sprintf("%d/%d", i, j)
			ops = append(ops, dialerd.Delete("n/x"+k), dialerd.Set("n/y"+k, nil), dialerd.Set("p/"+k, doc))
		}
		if err := store.Apply(context.Background(), "list/floor", ops); err != nil {
			b.Fatal(err)
		}
	}
}
