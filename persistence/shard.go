package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dialerd/dialerd"
)

// nsMeta is the namespace of a shard's meta key [shard]['m']: it lies in
// the shard's key range [shard, shard+1) but outside its data ('d') and
// index ('i') ranges, so scans, DeleteAll and shard copies never see it.
const nsMeta = 'm'

// ShardState is this node's replication state of one shard, kept in the
// shard's meta key [shard]['m'], written in the same atomic batch as the
// data it describes.
//
// The methods that write it do not read-check-write it atomically: the
// caller serializes the writes of one shard (its replication stream), and
// checks epochs against Promised before writing.
type ShardState struct {
	Promised  uint64 // highest epoch promised to a new owner: batches of older epochs are refused by the caller
	Epoch     uint64 // epoch of the last batch applied
	Seq       uint64 // sequence number of the last batch applied
	Importing bool   // a whole-shard copy is being received: the shard's data is incomplete
}

// KV is one raw key/value pair of a shard copy, as ExportShard emits it and
// ImportChunk takes it.
type KV struct{ Key, Value []byte }

// Encoding of a ShardState, version 1: version byte, flags byte (bit 0
// Importing), Promised, Epoch, Seq as uint64 BE.
const (
	shardStateVersion   = 1
	shardStateImporting = 1 << 0
	shardStateLen       = 2 + 3*8
)

func checkShard(shard uint16) error {
	if shard >= NumShards {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: shard %d out of range [0, %d)", shard, NumShards)
	}
	return nil
}

func metaKey(shard uint16) []byte {
	return append(binary.BigEndian.AppendUint16(nil, shard), nsMeta)
}

// nsBounds returns the range of every key of shard in namespace ns:
// [shard][ns] to [shard][ns+1].
func nsBounds(shard uint16, ns byte) (lower, upper []byte) {
	lower = append(binary.BigEndian.AppendUint16(nil, shard), ns)
	upper = append(binary.BigEndian.AppendUint16(nil, shard), ns+1)
	return lower, upper
}

func encodeShardState(st ShardState) []byte {
	b := make([]byte, 0, shardStateLen)
	var flags byte
	if st.Importing {
		flags |= shardStateImporting
	}
	b = append(b, shardStateVersion, flags)
	b = binary.BigEndian.AppendUint64(b, st.Promised)
	b = binary.BigEndian.AppendUint64(b, st.Epoch)
	return binary.BigEndian.AppendUint64(b, st.Seq)
}

func decodeShardState(b []byte) (ShardState, error) {
	if len(b) != shardStateLen || b[0] != shardStateVersion || b[1]&^shardStateImporting != 0 {
		return ShardState{}, fmt.Errorf("persistence: corrupt shard state %x", b)
	}
	return ShardState{
		Importing: b[1]&shardStateImporting != 0,
		Promised:  binary.BigEndian.Uint64(b[2:]),
		Epoch:     binary.BigEndian.Uint64(b[10:]),
		Seq:       binary.BigEndian.Uint64(b[18:]),
	}, nil
}

// ShardState returns this node's state of shard: the zero value when it was
// never written.
func (s *Store) ShardState(shard uint16) (ShardState, error) {
	if err := checkShard(shard); err != nil {
		return ShardState{}, err
	}
	v, closer, err := s.db.Get(metaKey(shard))
	if errors.Is(err, pebble.ErrNotFound) {
		return ShardState{}, nil
	} else if err != nil {
		return ShardState{}, fmt.Errorf("persistence: get shard state: %w", err)
	}
	defer closer.Close()
	st, err := decodeShardState(v)
	if err != nil {
		return ShardState{}, fmt.Errorf("shard %d: %w", shard, err)
	}
	return st, nil
}

// SetShardState sets the state of shard, synced.
func (s *Store) SetShardState(shard uint16, st ShardState) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	return s.commitState(shard, st, func(*pebble.Batch) error { return nil })
}

// commitState commits, in one batch with the Store's write options, what
// add puts in the batch and the state of shard.
func (s *Store) commitState(shard uint16, st ShardState, add func(*pebble.Batch) error) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := add(b); err != nil {
		return err
	}
	if err := b.Set(metaKey(shard), encodeShardState(st), nil); err != nil {
		return fmt.Errorf("persistence: batch: %w", err)
	}
	if err := b.Commit(s.sync); err != nil {
		return fmt.Errorf("persistence: commit: %w", err)
	}
	return nil
}

// ApplyReplicated applies ops for identity (same semantics as Apply: OpSet,
// OpDelete, OpDeleteAll, OpIndexSet, OpIndexDelete; atomic; validation
// errors write nothing) and sets the state of the identity's shard to st,
// in one synced batch.
func (s *Store) ApplyReplicated(identity string, ops []dialerd.Op, st ShardState) error {
	// addOps validates the identity before ShardOf is worth anything.
	if err := checkName("identity", identity); err != nil {
		return err
	}
	return s.commitState(ShardOf(identity), st, func(b *pebble.Batch) error {
		return addOps(b, identity, ops)
	})
}

// ExportShard walks the raw keys of the shard's data and index ranges
// (never its meta key, never other shards, never the raft prefix) in key
// order, starting strictly after `after` (nil: from the start), calling fn
// with each raw key and value (copies fn may keep), and stops once at least
// maxBytes of keys+values were emitted (maxBytes <= 0: no limit). It
// returns the last raw key emitted (after itself when it emitted nothing)
// and done=true when the shard has no more keys. It reads from one Pebble
// snapshot per call: successive calls of one copy see the shard at
// different moments, so a copy of a shard that is written meanwhile is not
// a consistent cut by itself.
//
// A non-nil after must be a key of the shard's data or index range.
func (s *Store) ExportShard(shard uint16, after []byte, maxBytes int, fn func(key, value []byte)) (last []byte, done bool, err error) {
	if err := checkShard(shard); err != nil {
		return nil, false, err
	}
	var start []byte // inclusive
	if after != nil {
		if !inShardRanges(shard, after) {
			return nil, false, dialerd.Errorf(dialerd.EINTERNAL, "persistence: export of shard %d after key %x outside its data and index ranges", shard, after)
		}
		start = append(append(make([]byte, 0, len(after)+1), after...), 0)
	}
	last = after
	snap := s.db.NewSnapshot()
	defer snap.Close()
	emitted := 0
	for _, ns := range []byte{nsData, nsIndex} {
		lower, upper := nsBounds(shard, ns)
		if start != nil {
			if bytes.Compare(start, upper) >= 0 {
				continue
			}
			if bytes.Compare(start, lower) > 0 {
				lower = start
			}
		}
		more, err := func() (bool, error) {
			it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
			if err != nil {
				return false, fmt.Errorf("persistence: export iter: %w", err)
			}
			defer it.Close()
			for ok := it.First(); ok; ok = it.Next() {
				if maxBytes > 0 && emitted >= maxBytes {
					return true, nil
				}
				v, err := it.ValueAndErr()
				if err != nil {
					return false, fmt.Errorf("persistence: export: %w", err)
				}
				k := append([]byte(nil), it.Key()...)
				last = k
				emitted += len(k) + len(v)
				fn(k, append([]byte(nil), v...))
			}
			if err := it.Error(); err != nil {
				return false, fmt.Errorf("persistence: export: %w", err)
			}
			return false, nil
		}()
		if err != nil {
			return nil, false, err
		}
		if more {
			return last, false, nil
		}
	}
	return last, true, nil
}

// inShardRanges reports whether key lies in the data or index range of
// shard.
func inShardRanges(shard uint16, key []byte) bool {
	return len(key) >= 3 && binary.BigEndian.Uint16(key) == shard && (key[2] == nsData || key[2] == nsIndex)
}

// checkImportKey checks that key is a well-formed data or index key of
// shard: [shard]['d'|'i'] name 0x00 key with a non-empty name, and for a
// data key a name (identity) that hashes to shard.
func checkImportKey(shard uint16, key []byte) error {
	if !inShardRanges(shard, key) {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: import into shard %d of key %x outside its data and index ranges", shard, key)
	}
	sep := bytes.IndexByte(key[3:], 0)
	if sep <= 0 {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: import into shard %d of malformed key %x", shard, key)
	}
	if key[2] == nsData {
		if id := string(key[3 : 3+sep]); ShardOf(id) != shard {
			return dialerd.Errorf(dialerd.EINTERNAL, "persistence: import into shard %d of a key of identity %q of shard %d", shard, id, ShardOf(id))
		}
	}
	return nil
}

// BeginImport deletes the shard's data and index ranges and sets its state
// to {Promised: promised, Importing: true}, in one synced batch.
func (s *Store) BeginImport(shard uint16, promised uint64) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	return s.commitState(shard, ShardState{Promised: promised, Importing: true}, func(b *pebble.Batch) error {
		for _, ns := range []byte{nsData, nsIndex} {
			lower, upper := nsBounds(shard, ns)
			if err := b.DeleteRange(lower, upper, nil); err != nil {
				return fmt.Errorf("persistence: batch: %w", err)
			}
		}
		return nil
	})
}

// ImportChunk writes raw key/value pairs exported from another node's same
// shard, in one batch. Every key must lie in that shard's data or index
// range; otherwise it returns an error and writes nothing. The shard's state
// must be Importing (else error).
//
// The batch is not synced on its own: the data of an import counts only
// once EndImport's synced batch, which follows it in the write-ahead log and
// so makes it durable too, clears Importing; after a crash before that, the
// shard is still Importing and its copy starts over.
func (s *Store) ImportChunk(shard uint16, kvs []KV) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := checkImportKey(shard, kv.Key); err != nil {
			return err
		}
	}
	st, err := s.ShardState(shard)
	if err != nil {
		return err
	}
	if !st.Importing {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: import chunk into shard %d, which is not importing", shard)
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, kv := range kvs {
		if err := b.Set(kv.Key, kv.Value, nil); err != nil {
			return fmt.Errorf("persistence: batch: %w", err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("persistence: commit: %w", err)
	}
	return nil
}

// EndImport sets the shard's state to st (Importing must be false in st),
// synced. It does not require the shard to be Importing, so that it can be
// retried.
func (s *Store) EndImport(shard uint16, st ShardState) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	if st.Importing {
		return dialerd.Errorf(dialerd.EINTERNAL, "persistence: EndImport of shard %d with a state still Importing", shard)
	}
	return s.commitState(shard, st, func(*pebble.Batch) error { return nil })
}
