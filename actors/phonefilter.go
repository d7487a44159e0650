package actors

import (
	"context"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/dialerd/dialerd"
)

// phoneFilter is a campaign's in-memory summary of the numbers it holds: a
// Bloom filter, so most numbers of an upload, which are new, are known to
// be new without a read (a million reads of absent keys cost most of an
// upload's time). The grain is its identity's only writer, so the filter
// sees every number written; numbers released stay in it, which costs only
// a read.
type phoneFilter struct {
	f        *bloom.BloomFilter
	n, limit uint
}

const (
	phoneFilterMin = 1 << 17
	phoneFilterFP  = 0.01
)

// loadPhoneFilter builds the filter from the campaign's records, sized for
// four times as many numbers as it holds (or atLeast), so rebuilding it as
// the campaign grows costs a constant factor of its writes.
func loadPhoneFilter(ctx context.Context, store dialerd.Store, identity string, atLeast uint) (*phoneFilter, error) {
	var keys []string
	err := store.Scan(ctx, identity, "dup/", func(key string, _ []byte) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	limit := max(4*uint(len(keys)), 4*atLeast, phoneFilterMin)
	pf := &phoneFilter{f: bloom.NewWithEstimates(limit, phoneFilterFP), limit: limit}
	for _, k := range keys {
		pf.add(k)
	}
	return pf, nil
}

func (pf *phoneFilter) add(key string) {
	pf.f.AddString(key)
	pf.n++
}

func (pf *phoneFilter) mayHave(key string) bool { return pf.f.TestString(key) }

// full reports that the filter holds more than it was sized for, so its
// false positives grow: time to rebuild it larger.
func (pf *phoneFilter) full() bool { return pf.n > pf.limit }
