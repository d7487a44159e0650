package actors

import (
	"container/heap"
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/dialer"
)

// Keys of a list's dialing index: "n/" + dialer.IndexKey for each
// prospect waiting to be dialled.
const indexPrefix = "n/"

var errEnough = errors.New("enough")

// dueEntries returns the n entries due longest at now (ties by id) in the
// buckets the rules leave open. It reads the buckets through one iterator,
// each only while its entries still beat the n-th best found so far: about
// n entries plus a few per bucket, not n per bucket, and never the entries
// not yet due. Its cost follows the buckets and n, not the number of
// prospects.
//
// from, when it has a bucket, is where the bucket's live entries begin
// (past that key): the entries a list leases are deleted from the head of
// their bucket, and an LSM tree keeps their tombstones there until a
// compaction; a scan from the bucket's start would walk them all, and a
// tick would slow down as it dials.
func dueEntries(ctx context.Context, store dialerd.Store, identity string, s dialer.Settings, buckets []string, now time.Time, n int, from map[string]string) ([]dialer.Entry, error) {
	if n <= 0 {
		return nil, nil
	}
	// rangeOf is a bucket's due entries: from where its live entries
	// begin up to the last due at now.
	rangeOf := func(b string) dialerd.KeyRange {
		return dialerd.KeyRange{Lower: indexPrefix + b + "\x00" + from[b] + "\x00", Upper: indexPrefix + dialer.BucketEnd(b, now)}
	}
	var ranges []dialerd.KeyRange
	for _, b := range buckets {
		if s.Open(dialer.ParseBucket(b), now) == dialer.Eligible {
			ranges = append(ranges, rangeOf(b))
		}
	}
	// One seek per bucket, one iterator for all; each bucket is read while
	// its entries beat the n-th best so far.
	best := &entryHeap{}
	err := store.ScanRanges(ctx, identity, ranges, func(_ int, key string, _ []byte) error {
		e, ok := dialer.ParseIndexKey(strings.TrimPrefix(key, indexPrefix))
		if !ok {
			return nil
		}
		if best.Len() == n {
			if !dialer.Earlier(e, (*best)[0]) {
				return dialerd.ErrNextRange
			}
			heap.Pop(best)
		}
		heap.Push(best, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []dialer.Entry(*best)
	sort.Slice(out, func(i, j int) bool { return dialer.Earlier(out[i], out[j]) })
	return out, nil
}

// entryHeap keeps the best entries with the worst (latest due) on top.
type entryHeap []dialer.Entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return dialer.Earlier(h[j], h[i]) }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)        { *h = append(*h, x.(dialer.Entry)) }
func (h *entryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
