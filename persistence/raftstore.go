package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// The system prefix 0xFF 0xFF sorts after every shard's keys (they start
// with a uint16 shard < NumShards, i.e. 0x00), so no shard range, scan,
// DeleteAll or shard copy can reach it.
//
//	0xFF 0xFF 'l' index uint64 BE -> encoded raft.Log
//	0xFF 0xFF 's' key              -> stable store value
const (
	sysPrefix0, sysPrefix1 = 0xFF, 0xFF
	nsRaftLog              = 'l'
	nsRaftStable           = 's'
)

var (
	raftLogLower = []byte{sysPrefix0, sysPrefix1, nsRaftLog}
	raftLogUpper = []byte{sysPrefix0, sysPrefix1, nsRaftLog + 1}
)

func raftLogKey(index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{sysPrefix0, sysPrefix1, nsRaftLog}, index)
}

func raftStableKey(key []byte) []byte {
	return append([]byte{sysPrefix0, sysPrefix1, nsRaftStable}, key...)
}

// RaftStore keeps hashicorp/raft's log and stable store in the node's Pebble
// database under the system prefix 0xFF 0xFF, outside every shard's range.
// Writes are committed with the Store's write options: synced unless the
// Store was opened with NoSync.
//
// Missing entries follow what hashicorp/raft expects: GetLog returns
// raft.ErrLogNotFound itself (raft compares with ==), Get returns a nil
// slice and a nil error, GetUint64 returns 0 and a nil error.
type RaftStore struct{ s *Store }

var (
	_ raft.LogStore    = (*RaftStore)(nil)
	_ raft.StableStore = (*RaftStore)(nil)
)

// Raft returns the raft log and stable store kept in s. It shares s's
// database and lifetime: closing s closes it.
func (s *Store) Raft() *RaftStore { return &RaftStore{s: s} }

// FirstIndex implements raft.LogStore: the lowest stored index, 0 when the
// log is empty.
func (r *RaftStore) FirstIndex() (uint64, error) {
	return r.edgeIndex(true)
}

// LastIndex implements raft.LogStore: the highest stored index, 0 when the
// log is empty.
func (r *RaftStore) LastIndex() (uint64, error) {
	return r.edgeIndex(false)
}

func (r *RaftStore) edgeIndex(first bool) (uint64, error) {
	it, err := r.s.db.NewIter(&pebble.IterOptions{LowerBound: raftLogLower, UpperBound: raftLogUpper})
	if err != nil {
		return 0, fmt.Errorf("persistence: raft iter: %w", err)
	}
	var ok bool
	if first {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	var idx uint64
	if ok {
		k := it.Key()
		if len(k) != len(raftLogLower)+8 {
			it.Close()
			return 0, fmt.Errorf("persistence: raft log key %x malformed", k)
		}
		idx = binary.BigEndian.Uint64(k[len(raftLogLower):])
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("persistence: raft iter: %w", err)
	}
	return idx, nil
}

// GetLog implements raft.LogStore. A missing index returns exactly
// raft.ErrLogNotFound.
func (r *RaftStore) GetLog(index uint64, log *raft.Log) error {
	v, closer, err := r.s.db.Get(raftLogKey(index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	} else if err != nil {
		return fmt.Errorf("persistence: raft get log %d: %w", index, err)
	}
	// One copy that the decoded Data and Extensions alias: Pebble's buffer
	// is only valid until the closer runs.
	buf := append([]byte(nil), v...)
	closer.Close()
	l, err := decodeRaftLog(buf)
	if err != nil {
		return fmt.Errorf("persistence: raft log %d: %w", index, err)
	}
	if l.Index != index {
		return fmt.Errorf("persistence: raft log under index %d holds index %d", index, l.Index)
	}
	*log = l
	return nil
}

// StoreLog implements raft.LogStore.
func (r *RaftStore) StoreLog(log *raft.Log) error {
	return r.StoreLogs([]*raft.Log{log})
}

// StoreLogs implements raft.LogStore: one atomic batch, committed before it
// returns.
func (r *RaftStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	b := r.s.db.NewBatch()
	defer b.Close()
	var buf []byte
	for _, l := range logs {
		buf = appendRaftLog(buf[:0], l)
		// Set copies key and value into the batch.
		if err := b.Set(raftLogKey(l.Index), buf, nil); err != nil {
			return fmt.Errorf("persistence: raft batch: %w", err)
		}
	}
	if err := b.Commit(r.s.sync); err != nil {
		return fmt.Errorf("persistence: raft commit: %w", err)
	}
	return nil
}

// DeleteRange implements raft.LogStore: deletes indexes min to max
// inclusive with one range deletion.
func (r *RaftStore) DeleteRange(min, max uint64) error {
	if min > max {
		return nil
	}
	end := raftLogUpper
	if max < math.MaxUint64 {
		end = raftLogKey(max + 1)
	}
	b := r.s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(raftLogKey(min), end, nil); err != nil {
		return fmt.Errorf("persistence: raft batch: %w", err)
	}
	if err := b.Commit(r.s.sync); err != nil {
		return fmt.Errorf("persistence: raft commit: %w", err)
	}
	return nil
}

// Set implements raft.StableStore.
func (r *RaftStore) Set(key, val []byte) error {
	if err := r.s.db.Set(raftStableKey(key), val, r.s.sync); err != nil {
		return fmt.Errorf("persistence: raft stable set: %w", err)
	}
	return nil
}

// Get implements raft.StableStore: the value of key, or a nil slice and a
// nil error when key was never set. A value set empty comes back as an
// empty non-nil slice.
func (r *RaftStore) Get(key []byte) ([]byte, error) {
	v, closer, err := r.s.db.Get(raftStableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("persistence: raft stable get: %w", err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	closer.Close()
	return out, nil
}

// SetUint64 implements raft.StableStore: val is stored as 8 bytes, big
// endian.
func (r *RaftStore) SetUint64(key []byte, val uint64) error {
	return r.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore: 0 and a nil error when key was
// never set.
func (r *RaftStore) GetUint64(key []byte) (uint64, error) {
	v, err := r.Get(key)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("persistence: raft stable key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Encoding of a raft.Log, version 1:
//
//	version byte (1)
//	flags byte: bit 0 AppendedAt set, bit 1 Data non-nil, bit 2 Extensions non-nil
//	type byte
//	uvarint Index, uvarint Term
//	if bit 0: varint Unix seconds, uvarint nanoseconds (< 1e9)
//	if bit 1: uvarint length, Data
//	if bit 2: uvarint length, Extensions
//
// and nothing after. Nil and empty Data (or Extensions) are told apart, and
// a zero AppendedAt decodes to the zero time.Time.
const (
	raftLogVersion  = 1
	raftLogHasTime  = 1 << 0
	raftLogHasData  = 1 << 1
	raftLogHasExt   = 1 << 2
	raftLogAllFlags = raftLogHasTime | raftLogHasData | raftLogHasExt

	// maxUnixSec is the largest Unix second time.Unix represents without
	// overflowing its internal seconds since year 1.
	maxUnixSec = math.MaxInt64 - 62135596800
)

var errRaftLogCorrupt = errors.New("corrupt raft log entry")

func appendRaftLog(b []byte, l *raft.Log) []byte {
	var flags byte
	if !l.AppendedAt.IsZero() {
		flags |= raftLogHasTime
	}
	if l.Data != nil {
		flags |= raftLogHasData
	}
	if l.Extensions != nil {
		flags |= raftLogHasExt
	}
	b = append(b, raftLogVersion, flags, byte(l.Type))
	b = binary.AppendUvarint(b, l.Index)
	b = binary.AppendUvarint(b, l.Term)
	if flags&raftLogHasTime != 0 {
		b = binary.AppendVarint(b, l.AppendedAt.Unix())
		b = binary.AppendUvarint(b, uint64(l.AppendedAt.Nanosecond()))
	}
	if flags&raftLogHasData != 0 {
		b = binary.AppendUvarint(b, uint64(len(l.Data)))
		b = append(b, l.Data...)
	}
	if flags&raftLogHasExt != 0 {
		b = binary.AppendUvarint(b, uint64(len(l.Extensions)))
		b = append(b, l.Extensions...)
	}
	return b
}

// decodeRaftLog decodes what appendRaftLog wrote. The returned Data and
// Extensions alias b. Truncated, oversized or otherwise malformed input is
// an error wrapping errRaftLogCorrupt.
func decodeRaftLog(b []byte) (raft.Log, error) {
	var l raft.Log
	corrupt := func(what string) (raft.Log, error) {
		return raft.Log{}, fmt.Errorf("%w: %s", errRaftLogCorrupt, what)
	}
	if len(b) < 3 {
		return corrupt("truncated header")
	}
	if b[0] != raftLogVersion {
		return corrupt(fmt.Sprintf("unknown version %d", b[0]))
	}
	flags := b[1]
	if flags&^raftLogAllFlags != 0 {
		return corrupt(fmt.Sprintf("unknown flags %#x", flags))
	}
	l.Type = raft.LogType(b[2])
	b = b[3:]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	bytesField := func() ([]byte, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(b)) {
			return nil, false
		}
		f := b[:n:n]
		b = b[n:]
		return f, true
	}
	var ok bool
	if l.Index, ok = uvarint(); !ok {
		return corrupt("index")
	}
	if l.Term, ok = uvarint(); !ok {
		return corrupt("term")
	}
	if flags&raftLogHasTime != 0 {
		sec, n := binary.Varint(b)
		if n <= 0 || sec > maxUnixSec {
			return corrupt("appended-at seconds")
		}
		b = b[n:]
		nsec, ok := uvarint()
		if !ok || nsec >= 1e9 {
			return corrupt("appended-at nanoseconds")
		}
		l.AppendedAt = time.Unix(sec, int64(nsec)).UTC()
		if l.AppendedAt.IsZero() {
			// The zero time is encoded by a clear flag, never as a value.
			return corrupt("appended-at is the zero time")
		}
	}
	if flags&raftLogHasData != 0 {
		if l.Data, ok = bytesField(); !ok {
			return corrupt("data")
		}
	}
	if flags&raftLogHasExt != 0 {
		if l.Extensions, ok = bytesField(); !ok {
			return corrupt("extensions")
		}
	}
	if len(b) != 0 {
		return corrupt(fmt.Sprintf("%d trailing bytes", len(b)))
	}
	return l, nil
}
