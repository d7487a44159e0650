package actors

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/dialer"
)

// Keys of a list's dialing index: "n/" + dialer.IndexKey for each
// prospect waiting to be dialled.
const indexPrefix = "n/"

var errEnough = errors.New("enough")

// dueEntries reads, from each bucket the rules leave open at now, up to n
// entries due at or before now, and returns the n due longest. It reads
// only open buckets' due entries: its cost follows the buckets and n, not
// the number of prospects.
//
// from, when it has a bucket, is where the bucket's live entries begin
// (dialer.DueDigits of a due time): the entries a list leases are deleted
// from the head of their bucket, and an LSM tree keeps their tombstones
// there until a compaction; a scan from the bucket's start would walk them
// all, and a tick would slow down as it dials.
func dueEntries(ctx context.Context, store dialerd.Store, identity string, s dialer.Settings, buckets []string, now time.Time, n int, from map[string]string) ([]dialer.Entry, error) {
	var per [][]dialer.Entry
	for _, b := range buckets {
		if s.Open(dialer.ParseBucket(b), now) != dialer.Eligible {
			continue
		}
		end := indexPrefix + dialer.BucketEnd(b, now)
		var es []dialer.Entry
		err := store.ScanAfter(ctx, identity, indexPrefix+b+"\x00", from[b], func(key string, _ []byte) error {
			if key >= end || len(es) == n {
				return errEnough
			}
			if e, ok := dialer.ParseIndexKey(strings.TrimPrefix(key, indexPrefix)); ok {
				es = append(es, e)
			}
			return nil
		})
		if err != nil && err != errEnough {
			return nil, err
		}
		if len(es) > 0 {
			per = append(per, es)
		}
	}
	return dialer.Oldest(per, n), nil
}
