package dialer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A list keeps its dialable prospects in an index ordered by bucket, then
// by the time each becomes due. A bucket groups prospects the calling
// rules treat alike — same state, same candidate zones — so the window and
// ignore_states are decided once per bucket, and a tick reads only the
// open buckets' due entries: its cost follows the buckets and the calls
// it places, not the size of the list.

// Bucket is a state and the zones a prospect there may be in.
type Bucket struct {
	State string
	Zones []string
}

// BucketKey names a bucket: "STATE|zone,zone" with the zones sorted.
func BucketKey(state string, zones []string) string {
	z := append([]string(nil), zones...)
	sort.Strings(z)
	return state + "|" + strings.Join(z, ",")
}

// ParseBucket reads a bucket's key.
func ParseBucket(key string) Bucket {
	state, zones, _ := strings.Cut(key, "|")
	b := Bucket{State: state}
	if zones != "" {
		b.Zones = strings.Split(zones, ",")
	}
	return b
}

// Open says whether the bucket's prospects may be dialled at now as far as
// the bucket decides (Eligible), or why not.
func (s Settings) Open(b Bucket, now time.Time) Reason {
	switch {
	case !s.Active:
		return ReasonInactive
	case s.Paused:
		return ReasonPaused
	case s.IgnoreStates[b.State]:
		return ReasonIgnored
	case len(b.Zones) == 0:
		return ReasonNoZone
	}
	// A day the law closes (a holiday, a Sunday ban) is named first; then
	// the campaign's own window; then the law's hours where they are
	// narrower than the campaign's — the reason says which one holds the
	// call back.
	var legal Reason
	off := false
	for _, z := range b.Zones {
		switch r := Legal(s, b.State, z, now); r {
		case ReasonHoliday, ReasonLegalDay, ReasonNoZone:
			return r
		case ReasonLegalHours:
			legal = r
		}
		off = off || !InWindow(s, z, now)
	}
	switch {
	case off:
		return ReasonOffWindow
	case legal != Eligible:
		return legal
	}
	return Eligible
}

// Due is when a prospect's own history lets it be dialled: when it was
// added, min_time_between_calls after its last attempt, or its callback,
// whichever is latest. The index orders a bucket's prospects by it; a
// tick takes those due, oldest first.
func Due(s Settings, c Candidate, callback time.Time) time.Time {
	p := Prospect{Candidate: c, CallbackAt: callback}
	return p.eligibleFrom(s)
}

// Entry is one prospect in the index.
type Entry struct {
	Bucket string
	Due    time.Time
	ID     string
}

// dueWidth digits of Unix seconds keep keys in time order until 2286.
const dueWidth = 10

// IndexKey is an entry's key: bucket, due time, id, so a bucket's entries
// sort by due time. The due time is rounded up to the second, so an entry
// is never read as due before it is; times before 1970 count as 1970.
func IndexKey(e Entry) string {
	return e.Bucket + "\x00" + DueDigits(e.Due) + "\x00" + e.ID
}

// DueDigits is the due part of the keys of entries due at t (rounded up to
// the second, as IndexKey does): a bucket's entries due at or after t sort
// at or after bucket 0x00 DueDigits(t).
func DueDigits(t time.Time) string {
	due := t.Unix()
	if t.Nanosecond() > 0 {
		due++
	}
	return fmt.Sprintf("%0*d", dueWidth, max(due, 0))
}

// ParseIndexKey reads an entry's key.
func ParseIndexKey(key string) (Entry, bool) {
	bucket, rest, ok := strings.Cut(key, "\x00")
	if !ok {
		return Entry{}, false
	}
	due, id, ok := strings.Cut(rest, "\x00")
	n, err := strconv.ParseInt(due, 10, 64)
	if !ok || err != nil || len(due) != dueWidth {
		return Entry{}, false
	}
	return Entry{Bucket: bucket, Due: time.Unix(n, 0).UTC(), ID: id}, true
}

// BucketEnd is the smallest key past every entry of bucket due at or
// before now: a tick scans [bucket 0x00, BucketEnd) in each open bucket.
func BucketEnd(bucket string, now time.Time) string {
	return bucket + "\x00" + fmt.Sprintf("%0*d", dueWidth, max(now.Unix(), 0)) + "\x01"
}

// Oldest merges the due entries read from each open bucket (each in key
// order, so in due order) and keeps the n due longest, oldest first; ties
// go by id. It walks the buckets' heads, so it touches about n entries,
// not all it was given.
func Oldest(perBucket [][]Entry, n int) []Entry {
	heads := make([]int, len(perBucket))
	out := make([]Entry, 0, n)
	for len(out) < n {
		best := -1
		for b, es := range perBucket {
			if heads[b] == len(es) {
				continue
			}
			if best < 0 || earlier(es[heads[b]], perBucket[best][heads[best]]) {
				best = b
			}
		}
		if best < 0 {
			break
		}
		out = append(out, perBucket[best][heads[best]])
		heads[best]++
	}
	return out
}

// Earlier orders entries: due first, then id.
func Earlier(a, b Entry) bool { return earlier(a, b) }

func earlier(a, b Entry) bool {
	if !a.Due.Equal(b.Due) {
		return a.Due.Before(b.Due)
	}
	return a.ID < b.ID
}

// Decision is what a lease does with one due entry.
type Decision struct {
	Entry
	Verdict Verdict
	Reason  Reason    // why resolved or requeued
	Due     time.Time // Requeue: the new due time
}

// Decide judges due entries (oldest first, as Oldest returns them) until n
// are leased; get reads an entry's prospect (false: gone, skipped). Entries
// skipped are left out.
func Decide(s Settings, es []Entry, get func(id string) (c Candidate, callback time.Time, ok bool), now time.Time, n int) []Decision {
	var out []Decision
	leased := 0
	for _, e := range es {
		if leased == n {
			break
		}
		c, cb, ok := get(e.ID)
		if !ok {
			continue
		}
		v, r, due := Judge(s, c, cb, now)
		if v == Skip {
			continue
		}
		if v == Lease {
			leased++
		}
		out = append(out, Decision{Entry: e, Verdict: v, Reason: r, Due: due})
	}
	return out
}

// LeaseHold is how long a leased prospect stays out of its index while its
// call is in progress: the call's result puts it back (or resolves it)
// long before; if the result is lost with its campaign, the prospect comes
// back after this, and never sooner than min_time_between_calls.
const LeaseHold = 24 * time.Hour

// LeasedDue is the due time a leased prospect is indexed at.
func LeasedDue(s Settings, now time.Time) time.Time {
	return now.Add(max(LeaseHold, s.MinBetween))
}
