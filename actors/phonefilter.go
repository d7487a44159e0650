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
// a read. It grows by layers (a full layer is kept and a layer four times
// larger added), so a growing campaign never rescans its numbers.
type phoneFilter struct {
	layers   []*bloom.BloomFilter
	n, limit uint // numbers added, and what the layers are sized for
}

const (
	// Small to start: a node holds thousands of campaigns and lists with
	// a few numbers each; the layers grow fourfold as numbers come.
	phoneFilterMin = 1 << 10
	phoneFilterFP  = 0.005
)

// loadPhoneFilter builds the filter from the keys under prefix (a
// campaign's dup/ records, a list's ph/ entries).
func loadPhoneFilter(ctx context.Context, store dialerd.Store, identity, prefix string) (*phoneFilter, error) {
	var keys []string
	err := store.Scan(ctx, identity, prefix, func(key string, _ []byte) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pf := &phoneFilter{}
	pf.grow(max(4*uint(len(keys)), phoneFilterMin))
	for _, k := range keys {
		pf.add(k)
	}
	return pf, nil
}

func (pf *phoneFilter) grow(size uint) {
	pf.layers = append(pf.layers, bloom.NewWithEstimates(size, phoneFilterFP))
	pf.limit += size
}

func (pf *phoneFilter) add(key string) {
	if pf.n >= pf.limit {
		pf.grow(4 * pf.limit)
	}
	pf.layers[len(pf.layers)-1].AddString(key)
	pf.n++
}

func (pf *phoneFilter) mayHave(key string) bool {
	for _, l := range pf.layers {
		if l.TestString(key) {
			return true
		}
	}
	return false
}

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

// ensurePhoneFilter builds *pf on first use.
func ensurePhoneFilter(ctx context.Context, pf **phoneFilter, store dialerd.Store, identity, prefix string) error {
	if *pf != nil {
		return nil
	}
	next, err := loadPhoneFilter(ctx, store, identity, prefix)
	if err != nil {
		return err
	}
	*pf = next
	return nil
}
