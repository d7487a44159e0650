package persistence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"

	"github.com/cockroachdb/pebble/v2"
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

// Open opens (creating if needed) the store.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	po := &pebble.Options{Logger: pebbleLogger{opts.Logger.With("component", "pebble")}}
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

func (s *Store) scan(lower []byte, strip int, fn func(string, []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("persistence: iter: %w", err)
	}
	defer it.Close()
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
	for _, op := range ops {
		var err error
		switch op.Kind {
		case dialerd.OpSet:
			err = b.Set(dataKey(identity, op.Key), op.Value, nil)
		case dialerd.OpDelete:
			err = b.Delete(dataKey(identity, op.Key), nil)
		case dialerd.OpDeleteAll:
			p := prefix(shard, nsData, identity)
			err = b.DeleteRange(p, prefixEnd(p), nil)
		case dialerd.OpIndexSet, dialerd.OpIndexDelete:
			if err = checkName("index", op.Index); err != nil {
				return err
			}
			k := append(prefix(shard, nsIndex, op.Index), op.Key...)
			if op.Kind == dialerd.OpIndexSet {
				err = b.Set(k, op.Value, nil)
			} else {
				err = b.Delete(k, nil)
			}
		default:
			return dialerd.Errorf(dialerd.EINTERNAL, "persistence: unknown op %d", op.Kind)
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
