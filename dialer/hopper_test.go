package dialer

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
)

func TestBucketKeys(t *testing.T) {
	k := BucketKey("CA", []string{"America/Los_Angeles", "America/Denver"})
	if k != "CA|America/Denver,America/Los_Angeles" {
		t.Fatalf("key %q", k)
	}
	if b := ParseBucket(k); b.State != "CA" || !reflect.DeepEqual(b.Zones, []string{"America/Denver", "America/Los_Angeles"}) {
		t.Fatalf("parsed %+v", b)
	}
	if b := ParseBucket("|"); b.State != "" || b.Zones != nil {
		t.Fatalf("empty bucket %+v", b)
	}
}

func TestBucketOpenMatchesCheck(t *testing.T) {
	// What a bucket decides must be what Check decides for any prospect
	// in it with nothing else against it.
	s := settings(func(c *dialerd.Campaign) {
		c.IgnoreStates, c.EarliestProspectTime, c.LatestProspectTime = "TX", "09:00", "18:00"
	})
	start := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
	buckets := []Bucket{
		{"NY", []string{"America/New_York"}}, {"TX", []string{"America/Chicago"}}, {"AZ", []string{"America/Phoenix"}},
		{"BC", []string{"America/Vancouver", "America/Edmonton"}}, {"NL", []string{"America/St_Johns"}}, {"XX", nil},
	}
	for h := 0; h < 72; h++ {
		now := start.Add(time.Duration(h)*time.Hour + 17*time.Minute)
		for _, b := range buckets {
			c := Candidate{State: b.State, Timezones: b.Zones, Added: start.Add(-time.Hour)}
			if got, want := s.Open(b, now), Check(s, c, now); got != want {
				t.Fatalf("%v at %s: Open %q, Check %q", b, now, got, want)
			}
		}
	}
}

func TestIndexKeysSortByBucketThenDue(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	es := []Entry{
		{"NY|America/New_York", t0.Add(time.Hour), "000000000002"},
		{"NY|America/New_York", t0, "000000000009"},
		{"CA|America/Los_Angeles", t0.Add(-time.Hour), "000000000001"},
		{"NY|America/New_York", t0.Add(100 * 24 * time.Hour), "000000000003"},
	}
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = IndexKey(e)
		if back, ok := ParseIndexKey(keys[i]); !ok || back != (Entry{e.Bucket, e.Due.UTC(), e.ID}) {
			t.Fatalf("round trip of %+v: %+v %v", e, back, ok)
		}
	}
	sort.Strings(keys)
	var order []string
	for _, k := range keys {
		e, _ := ParseIndexKey(k)
		order = append(order, e.ID)
	}
	if want := []string{"000000000001", "000000000009", "000000000002", "000000000003"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	// BucketEnd bounds the entries due at or before now.
	end := BucketEnd("NY|America/New_York", t0)
	var due []string
	for _, k := range keys {
		if k >= "NY|America/New_York\x00" && k < end {
			e, _ := ParseIndexKey(k)
			due = append(due, e.ID)
		}
	}
	if !reflect.DeepEqual(due, []string{"000000000009"}) {
		t.Fatalf("due at t0: %v", due)
	}
	for _, bad := range []string{"x", "b\x00123\x00id", "b\x00abcdefghij\x00id"} {
		if _, ok := ParseIndexKey(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestOldestAndDue(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	got := Oldest([][]Entry{
		{{"a", t0, "3"}, {"a", t0.Add(time.Minute), "4"}},
		{{"b", t0.Add(-time.Minute), "9"}, {"b", t0, "1"}},
	}, 3)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if !reflect.DeepEqual(ids, []string{"9", "1", "3"}) {
		t.Fatalf("oldest: %v", ids)
	}
	s := settings(func(c *dialerd.Campaign) { c.MinTimeBetweenCalls = 30 })
	c := Candidate{Added: t0, Attempts: 1, LastAttempt: t0.Add(time.Hour)}
	if d := Due(s, c, time.Time{}); !d.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("due after an attempt: %s", d)
	}
	if d := Due(s, c, t0.Add(5*time.Hour)); !d.Equal(t0.Add(5 * time.Hour)) {
		t.Fatalf("due with a callback: %s", d)
	}
}

// Oldest walks bucket heads; it must keep exactly what sorting everything
// would.
func TestOldestMatchesSorting(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for round := 0; round < 500; round++ {
		var per [][]Entry
		var all []Entry
		for b := r.IntN(6); b >= 0; b-- {
			var es []Entry
			for i := r.IntN(8); i > 0; i-- {
				es = append(es, Entry{Bucket: fmt.Sprint(b), Due: t0.Add(time.Duration(r.IntN(5)) * time.Second), ID: fmt.Sprintf("%03d", r.IntN(1000))})
			}
			sort.Slice(es, func(i, j int) bool { return earlier(es[i], es[j]) })
			per = append(per, es)
			all = append(all, es...)
		}
		n := r.IntN(12)
		sort.SliceStable(all, func(i, j int) bool { return earlier(all[i], all[j]) })
		if len(all) > n {
			all = all[:n]
		}
		got := Oldest(per, n)
		if len(got) != len(all) {
			t.Fatalf("round %d: %d entries, want %d", round, len(got), len(all))
		}
		for i := range got {
			if !got[i].Due.Equal(all[i].Due) || got[i].ID != all[i].ID {
				t.Fatalf("round %d: entry %d is %+v, want %+v", round, i, got[i], all[i])
			}
		}
	}
}
