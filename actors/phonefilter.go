package actors

import (
	"context"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/dialerd/dialerd"
)

// phoneFilter is a grain's in-memory summary of the numbers it holds: a
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

// loadPhoneFilter builds the filter from the keys under prefix (a
// campaign's dup/ records, a list's ph/ entries), sized for
// four times as many numbers as it holds (or atLeast), so rebuilding it as
// the campaign grows costs a constant factor of its writes.
func loadPhoneFilter(ctx context.Context, store dialerd.Store, identity, prefix string, atLeast uint) (*phoneFilter, error) {
	var keys []string
	err := store.Scan(ctx, identity, prefix, func(key string, _ []byte) error {
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

// lookup returns the values of the keys the filter may hold (nil for the
// others), reading only those: for most numbers of an upload, nothing.
func (pf *phoneFilter) lookup(ctx context.Context, store dialerd.Store, identity string, keys []string) ([][]byte, error) {
	var maybe []string
	var at []int
	for i, k := range keys {
		if pf.mayHave(k) {
			maybe, at = append(maybe, k), append(at, i)
		}
	}
	out := make([][]byte, len(keys))
	if len(maybe) == 0 {
		return out, nil
	}
	vals, err := store.GetMany(ctx, identity, maybe)
	if err != nil {
		return nil, err
	}
	for j, v := range vals {
		out[at[j]] = v
	}
	return out, nil
}

// ensurePhoneFilter builds *pf when missing, or again larger when full.
func ensurePhoneFilter(ctx context.Context, pf **phoneFilter, store dialerd.Store, identity, prefix string) error {
	if *pf != nil && !(*pf).full() {
		return nil
	}
	var atLeast uint
	if *pf != nil {
		atLeast = (*pf).n
	}
	next, err := loadPhoneFilter(ctx, store, identity, prefix, atLeast)
	if err != nil {
		return err
	}
	*pf = next
	return nil
}
