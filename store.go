package dialerd

import (
	"context"
	"errors"
)

// Store is the storage contract of actor code. Every key belongs to one
// identity ("campaign/spring-promo"); a write is a list of operations on one
// identity applied atomically and durably. Index entries are secondary keys
// kept in the same shard as the identity that writes them, so an entity and
// its index entries change in one atomic batch; reading an index visits
// every shard.
//
// persistence.Store implements it on Pebble for one node; the replicated
// store of the cluster implements the same contract, so actors do not
// change when data is replicated.
type Store interface {
	// Get returns the value of key under identity, or nil when absent.
	Get(ctx context.Context, identity, key string) ([]byte, error)
	// GetMany returns the values of keys under identity (nil where
	// absent), in the order of keys: one pass over the identity's range,
	// far cheaper than a Get per key when there are thousands.
	GetMany(ctx context.Context, identity string, keys []string) ([][]byte, error)
	// Scan calls fn for every key under identity that starts with prefix,
	// in key order, until fn returns an error.
	Scan(ctx context.Context, identity, prefix string, fn func(key string, value []byte) error) error
	// Apply writes ops for identity atomically; it returns once they are
	// durable.
	Apply(ctx context.Context, identity string, ops []Op) error
	// ScanAfter is Scan starting past prefix+after: a page that resumes
	// from a cursor does not walk the keys before it.
	ScanAfter(ctx context.Context, identity, prefix, after string, fn func(key string, value []byte) error) error
	// ScanRanges scans several ranges of identity's keys in one pass of
	// one iterator: for each range i in turn, the keys k with
	// ranges[i].Lower ≤ k < ranges[i].Upper, in key order. fn returning
	// ErrNextRange moves on to the next range; any other error stops the
	// scan and is returned. A tick reads a dozen buckets' heads this way
	// instead of opening a dozen iterators.
	ScanRanges(ctx context.Context, identity string, ranges []KeyRange, fn func(i int, key string, value []byte) error) error
	// ScanIndex calls fn for every entry of index whose key starts with
	// prefix. Entries of one shard come in key order; shards in turn.
	ScanIndex(ctx context.Context, index, prefix string, fn func(key string, value []byte) error) error
	// Serving reports whether this node may answer for identity right now:
	// in a cluster, it owns the identity's shard at an established epoch
	// and holds a read lease. A grain checks it before answering from
	// memory, so a stale owner cannot serve old state as current.
	Serving(identity string) error
}

// KeyRange is a range of an identity's keys: Lower ≤ key < Upper.
type KeyRange struct{ Lower, Upper string }

// ErrNextRange, returned by a ScanRanges callback, ends the current range.
var ErrNextRange = errors.New("dialerd: next range")

// OpKind says what an Op does.
type OpKind uint8

const (
	OpSet         OpKind = iota + 1 // set Key to Value
	OpDelete                        // delete Key
	OpDeleteAll                     // delete every key of the identity (not its index entries)
	OpIndexSet                      // set entry Key of index Index to Value
	OpIndexDelete                   // delete entry Key of index Index
)

// Op is one write of a batch.
type Op struct {
	Kind  OpKind
	Index string
	Key   string
	Value []byte
}

// Set is an OpSet.
func Set(key string, value []byte) Op { return Op{Kind: OpSet, Key: key, Value: value} }

// Delete is an OpDelete.
func Delete(key string) Op { return Op{Kind: OpDelete, Key: key} }

// DeleteAll is an OpDeleteAll.
func DeleteAll() Op { return Op{Kind: OpDeleteAll} }

// IndexSet is an OpIndexSet.
func IndexSet(index, key string, value []byte) Op {
	return Op{Kind: OpIndexSet, Index: index, Key: key, Value: value}
}

// IndexDelete is an OpIndexDelete.
func IndexDelete(index, key string) Op { return Op{Kind: OpIndexDelete, Index: index, Key: key} }
