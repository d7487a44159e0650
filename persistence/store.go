package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dialerd/dialerd"
)

// NumShards is the fixed number of shards identities hash into. Changing it
// re-homes every key, so it is a constant of the data format.
const NumShards = 256

const (
	nsData  = 'd'
	nsIndex = 'i'
)

// ShardOf returns the shard of an identity: FNV-1a, then murmur3's
// finalizer, because FNV-1a's low byte depends only on the low bytes before
// it (names sharing a suffix would share shards), then modulo NumShards.
func ShardOf(identity string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(identity))
	x := h.Sum32()
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return uint16(x % NumShards)
}

// Options configure a Store.
type Options struct {
	// Dir is the data directory. Ignored when InMemory.
	Dir string
	// InMemory keeps everything in memory: tests only.
	InMemory bool
	// NoSync skips fsync on commit: benchmarks of the ceiling only. A
	// crash may lose acknowledged writes.
	NoSync bool
	// Logger receives Pebble's own log lines. Defaults to slog.Default().
	Logger *slog.Logger
}

// Store is a dialerd.Store on one Pebble database.
type Store struct {
	db   *pebble.DB
	sync *pebble.WriteOptions
}

var _ dialerd.Store = (*Store)(nil)

// PebbleOptions are the options the store opens Pebble with (the bench's
// raw Pebble baseline uses them too, so it measures the same engine).
func PebbleOptions() *pebble.Options {
	po := &pebble.Options{
		// Most reads are point reads of keys that are often absent (is
		// this number already in the campaign?): bloom filters answer
		// those without reading a block, and a larger cache and memtable
		// keep an upload's working set off the disk. Together they bound
		// memory at roughly CacheSize + 2 × MemTableSize.
		CacheSize:    128 << 20,
		MemTableSize: 64 << 20,
		// Uploads write in bursts: let L0 hold more files before it is
		// compacted (reads stay cheap through the filters), and keep the
		// tree shallow, so a burst is rewritten fewer times.
		L0CompactionThreshold: 8,
		L0StopWritesThreshold: 32,
		LBaseMaxBytes:         256 << 20,
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return po
}

// Open opens (creating if needed) the store.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	po := PebbleOptions()
	po.Logger = pebbleLogger{opts.Logger.With("component", "pebble")}
	dir := opts.Dir
	if opts.InMemory {
		po.FS = vfs.NewMem()
		dir = ""
	} else if dir == "" {
		return nil, errors.New("persistence: no data directory")
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("persistence: open %s: %w", dir, err)
	}
	wo := pebble.Sync
	if opts.NoSync {
		wo = pebble.NoSync
	}
	return &Store{db: db, sync: wo}, nil
}

// Close flushes and closes the database.
func (s *Store) Close() error { return s.db.Close() }

func checkName(what, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: bad %s %q", what, s)
	}
	return nil
}

// prefix returns [shard][ns]name 0x00.
func prefix(shard uint16, ns byte, name string) []byte {
	b := make([]byte, 0, 4+len(name))
	b = binary.BigEndian.AppendUint16(b, shard)
	b = append(b, ns)
	b = append(b, name...)
	return append(b, 0)
}

func dataKey(identity, key string) []byte {
	return append(prefix(ShardOf(identity), nsData, identity), key...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// Get implements dialerd.Store.
func (s *Store) Get(_ context.Context, identity, key string) ([]byte, error) {
	if err := checkName("identity", identity); err != nil {
		return nil, err
	}
	v, closer, err := s.db.Get(dataKey(identity, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("persistence: get: %w", err)
	}
	// A copy, and non-nil even when empty: nil means absent.
	out := make([]byte, len(v))
	copy(out, v)
	closer.Close()
	return out, nil
}

// GetMany implements dialerd.Store: the keys are visited in key order by
// one iterator, so each block and filter is read once per call rather than
// once per key.
func (s *Store) GetMany(_ context.Context, identity string, keys []string) ([][]byte, error) {
	if err := checkName("identity", identity); err != nil {
		return nil, err
	}
	base := prefix(ShardOf(identity), nsData, identity)
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return nil, fmt.Errorf("persistence: iter: %w", err)
	}
	defer it.Close()
	out := make([][]byte, len(keys))
	k := base[:len(base):len(base)]
	for _, i := range order {
		k = append(k[:len(base)], keys[i]...)
		if !it.SeekGE(k) || !bytes.Equal(it.Key(), k) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("persistence: get: %w", err)
		}
		out[i] = append(make([]byte, 0, len(v)), v...)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("persistence: get: %w", err)
	}
	return out, nil
}

// Scan implements dialerd.Store.
func (s *Store) Scan(_ context.Context, identity, keyPrefix string, fn func(string, []byte) error) error {
	if err := checkName("identity", identity); err != nil {
		return err
	}
	base := prefix(ShardOf(identity), nsData, identity)
	return s.scan(append(base, keyPrefix...), len(base), fn)
}

// ScanIndex implements dialerd.Store.
func (s *Store) ScanIndex(ctx context.Context, index, keyPrefix string, fn func(string, []byte) error) error {
	return s.ScanIndexShards(ctx, allShards, index, keyPrefix, fn)
}

// allShards lists every shard, in order.
var allShards = func() []uint16 {
	out := make([]uint16, NumShards)
	for i := range out {
		out[i] = uint16(i)
	}
	return out
}()

// ScanAfter implements dialerd.Store.
func (s *Store) ScanAfter(_ context.Context, identity, keyPrefix, after string, fn func(string, []byte) error) error {
	if err := checkName("identity", identity); err != nil {
		return err
	}
	base := prefix(ShardOf(identity), nsData, identity)
	within := append(base, keyPrefix...)
	// The first key past prefix+after is prefix+after+0x00.
	lower := append(append(append([]byte(nil), within...), after...), 0)
	return s.scanRange(lower, prefixEnd(within), len(base), fn)
}

// ScanRanges implements dialerd.Store.
func (s *Store) ScanRanges(_ context.Context, identity string, ranges []dialerd.KeyRange, fn func(int, string, []byte) error) error {
	if err := checkName("identity", identity); err != nil {
		return err
	}
	base := prefix(ShardOf(identity), nsData, identity)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return fmt.Errorf("persistence: iter: %w", err)
	}
	defer it.Close()
	key := func(k string) []byte { return append(append(make([]byte, 0, len(base)+len(k)), base...), k...) }
	for i, r := range ranges {
		upper := key(r.Upper)
		for ok := it.SeekGE(key(r.Lower)); ok && bytes.Compare(it.Key(), upper) < 0; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return fmt.Errorf("persistence: scan: %w", err)
			}
			err = fn(i, string(it.Key()[len(base):]), append([]byte(nil), v...))
			if err == dialerd.ErrNextRange {
				break
			}
			if err != nil {
				return err
			}
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("persistence: scan: %w", err)
		}
	}
	return nil
}

func (s *Store) scan(lower []byte, strip int, fn func(string, []byte) error) error {
	return s.scanRange(lower, prefixEnd(lower), strip, fn)
}

func (s *Store) scanRange(lower, upper []byte, strip int, fn func(string, []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("persistence: iter: %w", err)
	}
	defer it.Close()
	return each(it, strip, fn)
}

// each hands fn every key (without its first strip bytes) and value of it
// within its bounds.
func each(it *pebble.Iterator, strip int, fn func(string, []byte) error) error {
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("persistence: scan: %w", err)
		}
		// Pebble's buffers are only valid until the iterator moves: hand
		// the callback a copy it may keep.
		if err := fn(string(it.Key()[strip:]), append([]byte(nil), v...)); err != nil {
			return err
		}
	}
	return it.Error()
}

// Apply implements dialerd.Store: one Pebble batch, synced before it
// returns.
func (s *Store) Apply(_ context.Context, identity string, ops []dialerd.Op) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := addOps(b, identity, ops); err != nil {
		return err
	}
	if err := b.Commit(s.sync); err != nil {
		return fmt.Errorf("persistence: commit: %w", err)
	}
	return nil
}

// addOps validates identity and ops and adds the ops to b. It is the one
// encoding of the Op semantics, shared by Apply and ApplyReplicated. On a
// validation error b may hold part of the ops: the caller must not commit
// it.
func addOps(b *pebble.Batch, identity string, ops []dialerd.Op) error {
	if err := checkName("identity", identity); err != nil {
		return err
	}
	shard := ShardOf(identity)
	type rec struct {
		key, value  []byte
		del, ranged bool
		at          int // position in ops: equal keys keep their order
	}
	recs := make([]rec, 0, len(ops))
	ranged := false
	for i, op := range ops {
		switch op.Kind {
		case dialerd.OpSet:
			recs = append(recs, rec{key: dataKey(identity, op.Key), value: op.Value, at: i})
		case dialerd.OpDelete:
			recs = append(recs, rec{key: dataKey(identity, op.Key), del: true, at: i})
		case dialerd.OpDeleteAll:
			ranged = true
			recs = append(recs, rec{key: prefix(shard, nsData, identity), ranged: true})
		case dialerd.OpIndexSet, dialerd.OpIndexDelete:
			if err := checkName("index", op.Index); err != nil {
				return err
			}
			k := append(prefix(shard, nsIndex, op.Index), op.Key...)
			recs = append(recs, rec{key: k, value: op.Value, del: op.Kind == dialerd.OpIndexDelete, at: i})
		default:
			return dialerd.Errorf(dialerd.EINTERNAL, "persistence: unknown op %d", op.Kind)
		}
	}
	// A memtable inserts keys that come in order far faster (it resumes
	// from where the last insert landed), and a batch of prospects
	// interleaves two key ranges. The order within a batch matters only
	// for one key written twice (ties keep their order: the last still
	// wins) and around a range delete (then nothing is reordered).
	if !ranged {
		slices.SortFunc(recs, func(a, b rec) int {
			if c := bytes.Compare(a.key, b.key); c != 0 {
				return c
			}
			return a.at - b.at
		})
	}
	for _, r := range recs {
		var err error
		switch {
		case r.ranged:
			err = b.DeleteRange(r.key, prefixEnd(r.key), nil)
		case r.del:
			err = b.Delete(r.key, nil)
		default:
			err = b.Set(r.key, r.value, nil)
		}
		if err != nil {
			return fmt.Errorf("persistence: batch: %w", err)
		}
	}
	return nil
}

// pebbleLogger routes Pebble's log through slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
