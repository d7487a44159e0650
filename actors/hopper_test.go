package actors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/persistence"
)

var hopperZones = []struct{ state, zone string }{
	{"NY", "America/New_York"}, {"FL", "America/New_York"}, {"IL", "America/Chicago"}, {"TX", "America/Chicago"},
	{"CO", "America/Denver"}, {"AZ", "America/Phoenix"}, {"CA", "America/Los_Angeles"}, {"WA", "America/Los_Angeles"},
	{"ON", "America/Toronto"}, {"BC", "America/Vancouver"}, {"AB", "America/Edmonton"}, {"NS", "America/Halifax"},
}

// fillHopper writes n prospects' index entries into a list, spread over
// the buckets, due over the past day.
func fillHopper(tb testing.TB, store dialerd.Store, identity string, n int, now time.Time) []string {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 9))
	seen := map[string]bool{}
	var buckets []string
	ops := make([]dialerd.Op, 0, 10000)
	flush := func() {
		if err := store.Apply(context.Background(), identity, ops); err != nil {
			tb.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := 0; i < n; i++ {
		z := hopperZones[r.IntN(len(hopperZones))]
		b := dialer.BucketKey(z.state, []string{z.zone})
		if !seen[b] {
			seen[b] = true
			buckets = append(buckets, b)
		}
		e := dialer.Entry{Bucket: b, Due: now.Add(-time.Duration(r.IntN(86400)) * time.Second), ID: fmt.Sprintf("%012d", i+1)}
		ops = append(ops, dialerd.Set(indexPrefix+dialer.IndexKey(e), nil))
		if len(ops) == cap(ops) {
			flush()
		}
	}
	flush()
	return buckets
}

func TestDueEntriesTakesTheOldestDueInOpenBuckets(t *testing.T) {
	store, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC) // 14:00 New York, 11:00 Los Angeles
	c := dialerd.NewCampaign()
	c.Active, c.IgnoreStates, c.EarliestProspectTime = true, "TX", "12:00"
	s := dialer.SettingsOf(c)
	ny, tx, ca := dialer.BucketKey("NY", []string{"America/New_York"}), dialer.BucketKey("TX", []string{"America/Chicago"}), dialer.BucketKey("CA", []string{"America/Los_Angeles"})
	for _, e := range []dialer.Entry{
		{Bucket: ny, Due: now.Add(-time.Hour), ID: "1"}, {Bucket: ny, Due: now.Add(-3 * time.Hour), ID: "2"}, {Bucket: ny, Due: now.Add(time.Minute), ID: "3"}, // 3 not yet due
		{Bucket: tx, Due: now.Add(-5 * time.Hour), ID: "4"}, // ignored state
		{Bucket: ca, Due: now.Add(-9 * time.Hour), ID: "5"}, // 11:00 there: before the window
		{Bucket: ny, Due: now, ID: "6"},                     // due exactly now
	} {
		if err := store.Apply(context.Background(), "list/x", []dialerd.Op{dialerd.Set(indexPrefix+dialer.IndexKey(e), nil)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := dueEntries(context.Background(), store, "list/x", s, []string{ny, tx, ca}, now, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[2 1 6]" {
		t.Fatalf("due entries %v, want [2 1 6]", ids)
	}
	if got, _ := dueEntries(context.Background(), store, "list/x", s, []string{ny, tx, ca}, now, 2, nil); len(got) != 2 || got[0].ID != "2" {
		t.Fatalf("n=2: %+v", got)
	}
}

// BenchmarkDueEntries: choosing the 100 prospects a tick dials, from lists
// of 10,000 and 1,000,000 (issue 5: ≤ 0.5 ms, and the larger list no more
// than 1.5× the smaller).
func BenchmarkDueEntries(b *testing.B) {
	now := time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC)
	c := dialerd.NewCampaign()
	c.Active, c.EarliestProspectTime, c.LatestProspectTime = true, "08:00", "21:00"
	s := dialer.SettingsOf(c)
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("list=%d", n), func(b *testing.B) {
			store, err := persistence.Open(persistence.Options{Dir: b.TempDir(), NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			buckets := fillHopper(b, store, "list/bench", n, now)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				es, err := dueEntries(context.Background(), store, "list/bench", s, buckets, now, 100, nil)
				if err != nil || len(es) != 100 {
					b.Fatalf("%d entries, %v", len(es), err)
				}
			}
		})
	}
}

// dueEntries reads little, but returns exactly what sorting every due
// entry of the open buckets would: held to that on random indexes.
func TestDueEntriesMatchesSorting(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 4))
	now := time.Date(2026, 7, 15, 18, 0, 0, 0, time.UTC)
	c := dialerd.NewCampaign()
	c.Active, c.EarliestProspectTime, c.LatestProspectTime, c.IgnoreStates = true, "09:00", "17:00", "TX,WA"
	s := dialer.SettingsOf(c)
	for round := 0; round < 20; round++ {
		store, err := persistence.Open(persistence.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		var all []dialer.Entry
		buckets := map[string]bool{}
		var ops []dialerd.Op
		for i := 0; i < 1+r.IntN(3000); i++ {
			z := hopperZones[r.IntN(len(hopperZones))]
			e := dialer.Entry{Bucket: dialer.BucketKey(z.state, []string{z.zone}), ID: fmt.Sprintf("%012d", r.IntN(1e6)),
				Due: now.Add(time.Duration(r.IntN(3*86400)-2*86400) * time.Second)}
			if r.IntN(20) == 0 {
				e.Due = now // due exactly now
			}
			buckets[e.Bucket] = true
			all = append(all, e)
			ops = append(ops, dialerd.Set(indexPrefix+dialer.IndexKey(e), nil))
		}
		if err := store.Apply(context.Background(), "list/x", ops); err != nil {
			t.Fatal(err)
		}
		var bs []string
		for b := range buckets {
			bs = append(bs, b)
		}
		sort.Strings(bs)
		var want []dialer.Entry
		seen := map[string]bool{}
		for _, e := range all {
			key := dialer.IndexKey(e)
			if seen[key] || e.Due.After(now) || s.Open(dialer.ParseBucket(e.Bucket), now) != dialer.Eligible {
				continue
			}
			seen[key] = true
			want = append(want, e)
		}
		sort.Slice(want, func(i, j int) bool { return dialer.Earlier(want[i], want[j]) })
		for _, n := range []int{1, 7, 100, 5000} {
			got, err := dueEntries(context.Background(), store, "list/x", s, bs, now, n, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := want[:min(n, len(want))]
			if len(got) != len(w) {
				t.Fatalf("round %d, n %d: %d entries, want %d", round, n, len(got), len(w))
			}
			for i := range w {
				if dialer.IndexKey(got[i]) != dialer.IndexKey(w[i]) {
					t.Fatalf("round %d, n %d: entry %d is %+v, want %+v", round, n, i, got[i], w[i])
				}
			}
		}
		store.Close()
	}
}
