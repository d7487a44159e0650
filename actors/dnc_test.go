package actors

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/persistence"
)

func dncDo(tb testing.TB, g *dncGrain, m *pb.DNCRequest) []byte {
	tb.Helper()
	if m.Scope == nil {
		m.Scope = ScopeToPB(dialerd.Principal{Admin: true})
	}
	out, err := g.handle(m)
	if err != nil {
		tb.Fatalf("dnc %v: %v", m.Op, err)
	}
	return out
}

func dncAdd(tb testing.TB, g *dncGrain, source string, numbers ...string) DNCAddReply {
	tb.Helper()
	var in []dialerd.DNCEntry
	for _, n := range numbers {
		in = append(in, dialerd.DNCEntry{Number: n, Source: source})
	}
	body, _ := json.Marshal(in)
	var r DNCAddReply
	if err := json.Unmarshal(dncDo(tb, g, &pb.DNCRequest{Op: pb.DNCOp_DNC_ADD, Body: body}), &r); err != nil {
		tb.Fatal(err)
	}
	return r
}

func dncChecked(tb testing.TB, g *dncGrain, numbers ...string) []string {
	tb.Helper()
	var listed []string
	json.Unmarshal(dncDo(tb, g, &pb.DNCRequest{Op: pb.DNCOp_DNC_CHECK, Numbers: numbers}), &listed)
	return listed
}

// The list itself: adds are idempotent and keep the first entry, checks
// answer exactly the numbers held, delete takes one off, pages walk it in
// number order, and it all survives a new activation.
func TestDNCGrain(t *testing.T) {
	store, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC)
	clock := dialerd.NewManualClock(t0)
	g := newTestDNC(store, clock)

	if got := dncChecked(t, g, "+12125550100"); len(got) != 0 {
		t.Fatalf("empty list holds %v", got)
	}
	r := dncAdd(t, g, dialerd.DNCSourceAPI, "+12125550100", "+12125550101", "+12125550100")
	if r.Added != 2 || r.Already != 1 || len(r.Entries) != 3 || !r.Entries[0].AddedAt.Equal(t0) {
		t.Fatalf("first add: %+v", r)
	}
	clock.Advance(time.Hour)
	r = dncAdd(t, g, dialerd.DNCSourceDisposition, "+12125550101", "+12125550102")
	if r.Added != 1 || r.Already != 1 || r.Entries[0].Source != dialerd.DNCSourceAPI || !r.Entries[0].AddedAt.Equal(t0) {
		t.Fatalf("second add keeps the first entry: %+v", r)
	}
	if got := dncChecked(t, g, "+12125550199", "+12125550102", "+12125550100"); fmt.Sprint(got) != "[+12125550102 +12125550100]" {
		t.Fatalf("check: %v", got)
	}
	if _, err := g.handle(&pb.DNCRequest{Op: pb.DNCOp_DNC_GET, Number: "+12125550199", Scope: ScopeToPB(dialerd.Principal{Admin: true})}); dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
		t.Fatalf("get of a number not listed: %v", err)
	}
	dncDo(t, g, &pb.DNCRequest{Op: pb.DNCOp_DNC_DELETE, Number: "+12125550100"})
	if _, err := g.handle(&pb.DNCRequest{Op: pb.DNCOp_DNC_DELETE, Number: "+12125550100", Scope: ScopeToPB(dialerd.Principal{Admin: true})}); dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
	// Another workspace's token reaches nothing.
	if _, err := g.handle(&pb.DNCRequest{Op: pb.DNCOp_DNC_CHECK, Scope: ScopeToPB(dialerd.Principal{Workspaces: []string{"acme"}})}); dialerd.ErrorCode(err) != dialerd.EFORBIDDEN {
		t.Fatalf("foreign token: %v", err)
	}

	// A new activation reads the same list.
	g = newTestDNC(store, clock)
	if got := dncChecked(t, g, "+12125550100", "+12125550101", "+12125550102"); fmt.Sprint(got) != "[+12125550101 +12125550102]" {
		t.Fatalf("after reactivation: %v", got)
	}
	var page DNCPage
	json.Unmarshal(dncDo(t, g, &pb.DNCRequest{Op: pb.DNCOp_DNC_PAGE, Limit: 1}), &page)
	if page.Count != 2 || len(page.Results) != 1 || page.Next != "12125550101" {
		t.Fatalf("page 1: %+v", page)
	}
	json.Unmarshal(dncDo(t, g, &pb.DNCRequest{Op: pb.DNCOp_DNC_PAGE, Limit: 1, Cursor: page.Next}), &page)
	var e dialerd.DNCEntry
	if len(page.Results) != 1 || page.Next != "" || json.Unmarshal(page.Results[0], &e) != nil || e.Number != "+12125550102" || e.Source != dialerd.DNCSourceDisposition {
		t.Fatalf("page 2: %+v", page)
	}
}

// A list never hands out a number on the do-not-call list: one listed
// before it was added is stored resolved as do_not_call; one listed after
// it was leased is resolved at its next lease instead of being leased.
func TestListDNC(t *testing.T) {
	store, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	added := time.Date(2026, 7, 15, 16, 0, 0, 0, time.UTC)
	clock := dialerd.NewManualClock(added)
	g, dnc := newTestListDNC(store, clock)
	// addTestProspects numbers them +1555000000i.
	dncAdd(t, dnc, dialerd.DNCSourceAPI, "+15550000001", "+15550000003")
	addTestProspects(t, g, 6)
	c := dialerd.NewCampaign()
	c.EarliestProspectTime, c.LatestProspectTime, c.MaxNumberCalls, c.MinTimeBetweenCalls = "00:00", "23:59", 5, 30
	s := dialer.SettingsOf(c)
	now := added.Add(time.Hour)

	if st := stats(t, g, s, now); st.Total != 6 || st.Unresolved != 4 {
		t.Fatalf("stats: %+v", st)
	}
	page, _ := g.prospects(dialerd.ProspectResolved, "", 100)
	var pp ProspectPage
	json.Unmarshal(page, &pp)
	for _, doc := range pp.Results {
		var p dialerd.Prospect
		json.Unmarshal(doc, &p)
		if p.Resolution != dialer.ResolvedDNC || p.Attempts != 0 || (p.Phone != "+15550000001" && p.Phone != "+15550000003") {
			t.Fatalf("resolved at ingest: %s", doc)
		}
	}
	if len(pp.Results) != 2 {
		t.Fatalf("%d resolved at ingest, want 2", len(pp.Results))
	}

	leased := leaseFrom(t, g, s, now, 2)
	if len(leased) != 2 {
		t.Fatalf("leased %d", len(leased))
	}
	// Its number goes on the list while the call is in progress; the call
	// ends unanswered and the prospect is due again, but never leased.
	dncAdd(t, dnc, dialerd.DNCSourceAPI, leased[0].Phone)
	rs := []dialer.Result{{Prospect: leased[0].ID, Outcome: dialer.OutcomeNoAnswer, Attempts: 1, Due: now.Add(30 * time.Minute)}}
	body, _ := json.Marshal(rs)
	if err := g.results(body); err != nil {
		t.Fatal(err)
	}
	later := now.Add(31 * time.Minute)
	for _, p := range leaseFrom(t, g, s, later, 100) {
		if p.Phone == leased[0].Phone {
			t.Fatalf("%s leased after its number went on the do-not-call list", p.ID)
		}
	}
	var p dialerd.Prospect
	doc, _ := store.Get(t.Context(), g.identity, "p/"+leased[0].ID)
	json.Unmarshal(doc, &p)
	if p.Status != dialerd.ProspectResolved || p.Resolution != dialer.ResolvedDNC || p.Attempts != 1 {
		t.Fatalf("after its lease: %s", doc)
	}

	// The list out of reach: nothing is leased, nothing is added. (A new
	// activation of the list over the same store, whose requests fail:
	// g's own deps are read by the campaign wake-ups it started.)
	cut := newTestList(store, clock)
	cut.deps.Request = nil
	body, _ = json.Marshal(LeaseRequest{Settings: s, Now: later.Add(24 * time.Hour), N: 10})
	if _, err := cut.lease(body); dialerd.ErrorCode(err) != dialerd.EUNAVAILABLE {
		t.Fatalf("lease without the list: %v", err)
	}
	ps := []encodedProspect{{phone: "+15559999999", data: []byte(`{}`), bucket: "NY"}}
	if _, _, _, err := cut.addOps(ps, ""); dialerd.ErrorCode(err) != dialerd.EUNAVAILABLE {
		t.Fatalf("add without the list: %v", err)
	}
}
