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
// buckets the rules leave open. It reads each open bucket's head, then the
// buckets in the order of their heads, each only while its entries still
// beat the n-th best found so far: about n entries plus one per bucket, not
// n per bucket, and never the entries not yet due. Its cost follows the
// buckets and n, not the number of prospects.
//
// from, when it has a bucket, is where the bucket's live entries begin
// (ScanAfter's after): the entries a list leases are deleted from the head
// of their bucket, and an LSM tree keeps their tombstones there until a
// compaction; a scan from the bucket's start would walk them all, and a
// tick would slow down as it dials.
func dueEntries(ctx context.Context, store dialerd.Store, identity string, s dialer.Settings, buckets []string, now time.Time, n int, from map[string]string) ([]dialer.Entry, error) {
	if n <= 0 {
		return nil, nil
	}
	// scan calls fn with the bucket's due entries in order until it
	// returns false.
	scan := func(b string, fn func(dialer.Entry) bool) error {
		end := indexPrefix + dialer.BucketEnd(b, now)
		err := store.ScanAfter(ctx, identity, indexPrefix+b+"\x00", from[b], func(key string, _ []byte) error {
			if key >= end {
				return errEnough
			}
			if e, ok := dialer.ParseIndexKey(strings.TrimPrefix(key, indexPrefix)); ok && !fn(e) {
				return errEnough
			}
			return nil
		})
		if err == errEnough {
			err = nil
		}
		return err
	}
	var heads []dialer.Entry
	for _, b := range buckets {
		if s.Open(dialer.ParseBucket(b), now) != dialer.Eligible {
			continue
		}
		if err := scan(b, func(e dialer.Entry) bool { heads = append(heads, e); return false }); err != nil {
			return nil, err
		}
	}
	sort.Slice(heads, func(i, j int) bool { return dialer.Earlier(heads[i], heads[j]) })
	best := &entryHeap{}
	for _, h := range heads {
		if best.Len() == n && !dialer.Earlier(h, (*best)[0]) {
			break // the heads come in order: no later bucket can do better
		}
		err := scan(h.Bucket, func(e dialer.Entry) bool {
			if best.Len() == n {
				if !dialer.Earlier(e, (*best)[0]) {
					return false
				}
				heap.Pop(best)
			}
			heap.Push(best, e)
			return true
		})
		if err != nil {
			return nil, err
		}
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
