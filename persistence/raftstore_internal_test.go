package persistence

// White-box tests of the raft store: the log encoding, the raw key layout
// and that its writes are synced.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

func fullRaftLog() *raft.Log {
	return &raft.Log{
		Index:      300,
		Term:       7,
		Type:       raft.LogConfiguration,
		Data:       []byte("some data"),
		Extensions: []byte("ext"),
		AppendedAt: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
	}
}

// raftLogSeeds are the seed inputs of FuzzDecodeRaftLog, valid and not;
// testdata/fuzz/FuzzDecodeRaftLog holds the same and a few more.
func raftLogSeeds() [][]byte {
	full := appendRaftLog(nil, fullRaftLog())
	return [][]byte{
		full,
		appendRaftLog(nil, &raft.Log{}),
		appendRaftLog(nil, &raft.Log{Index: math.MaxUint64, Term: math.MaxUint64, Type: 255, Data: []byte{}, Extensions: []byte{}, AppendedAt: time.Unix(-1, 999999999)}),
		full[:len(full)-1],
		append(full, 0),
		{},
		{raftLogVersion},
		{2, 0, 0, 0, 0},
		{raftLogVersion, raftLogHasData, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
}

// The encoding round-trips every field, tells nil from empty, and rejects
// every truncation, trailing bytes and malformed fields with an error.
func TestRaftLogEncoding(t *testing.T) {
	l := fullRaftLog()
	b := appendRaftLog(nil, l)
	got, err := decodeRaftLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Index != l.Index || got.Term != l.Term || got.Type != l.Type || string(got.Data) != string(l.Data) ||
		string(got.Extensions) != string(l.Extensions) || !got.AppendedAt.Equal(l.AppendedAt) {
		t.Fatalf("decoded %+v, want %+v", got, l)
	}
	// Appending to a decoded field must not overwrite the next one.
	_ = append(got.Data, "XXXX"...)
	if string(got.Extensions) != "ext" {
		t.Fatalf("appending to Data overwrote Extensions: %q", got.Extensions)
	}
	zero, err := decodeRaftLog(appendRaftLog(nil, &raft.Log{}))
	if err != nil {
		t.Fatal(err)
	}
	if zero.Data != nil || zero.Extensions != nil || zero.AppendedAt != (time.Time{}) {
		t.Fatalf("zero log decoded as %+v", zero)
	}
	if n := len(appendRaftLog(nil, &raft.Log{Index: 1, Term: 1, Data: []byte("x")})); n > 8 {
		t.Errorf("a 1-byte command encodes into %d bytes: not compact", n)
	}

	for i := range b {
		if _, err := decodeRaftLog(b[:i]); !errors.Is(err, errRaftLogCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v", i, len(b), err)
		}
	}
	bad := map[string][]byte{
		"trailing byte":        append(bytes.Clone(b), 0),
		"version 0":            append([]byte{0}, b[1:]...),
		"version 2":            append([]byte{2}, b[1:]...),
		"unknown flag":         append([]byte{raftLogVersion, 1 << 3}, b[2:]...),
		"overlong uvarint":     {raftLogVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
		"data longer than all": {raftLogVersion, raftLogHasData, 0, 1, 1, 5, 'a', 'b'},
		"data length 2^64-1":   {raftLogVersion, raftLogHasData, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"nanoseconds 1e9":      binaryTime(0, 1e9),
		"seconds overflow":     binaryTime(math.MaxInt64, 0),
		"zero time with flag":  binaryTime(time.Time{}.Unix(), 0),
	}
	for name, in := range bad {
		if l, err := decodeRaftLog(in); !errors.Is(err, errRaftLogCorrupt) {
			t.Errorf("%s: decoded %+v, err %v", name, l, err)
		}
	}
}

func binaryTime(sec int64, nsec uint64) []byte {
	b := []byte{raftLogVersion, raftLogHasTime, 0, 1, 1}
	b = binary.AppendVarint(b, sec)
	return binary.AppendUvarint(b, nsec)
}

// FuzzDecodeRaftLog: the decoder never panics, fails only with
// errRaftLogCorrupt, and what it accepts re-encodes to a canonical form
// (no longer than the input) that decodes to the same log.
func FuzzDecodeRaftLog(f *testing.F) {
	for _, s := range raftLogSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := decodeRaftLog(in)
		if err != nil {
			if !errors.Is(err, errRaftLogCorrupt) {
				t.Fatalf("error not errRaftLogCorrupt: %v", err)
			}
			return
		}
		re := appendRaftLog(nil, &l)
		if len(re) > len(in) {
			t.Fatalf("re-encoding of %x is longer: %x", in, re)
		}
		l2, err := decodeRaftLog(re)
		if err != nil {
			t.Fatalf("re-encoding %x of %x does not decode: %v", re, in, err)
		}
		if l2.Index != l.Index || l2.Term != l.Term || l2.Type != l.Type ||
			!bytes.Equal(l2.Data, l.Data) || (l2.Data == nil) != (l.Data == nil) ||
			!bytes.Equal(l2.Extensions, l.Extensions) || (l2.Extensions == nil) != (l.Extensions == nil) ||
			!l2.AppendedAt.Equal(l.AppendedAt) || l2.AppendedAt.IsZero() != l.AppendedAt.IsZero() {
			t.Fatalf("%x decodes to %+v, its re-encoding to %+v", in, l, l2)
		}
		if re2 := appendRaftLog(nil, &l2); !bytes.Equal(re, re2) {
			t.Fatalf("encoding not canonical: %x then %x", re, re2)
		}
	})
}

// Raft's keys are 0xFF 0xFF 'l' index / 0xFF 0xFF 's' key, all outside
// the shard key space [0x00 0x00, 0x01 0x00) that CompactForTest and every
// shard range cover.
func TestRaftRawKeys(t *testing.T) {
	s := MustOpenStore(t)
	rs := s.Raft()
	if err := rs.StoreLogs([]*raft.Log{{Index: 0x0102030405060708, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := rs.Set([]byte("key"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := rs.SetUint64([]byte("n"), 0x1122); err != nil {
		t.Fatal(err)
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var keys []string
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
	}
	want := []string{
		"ffff6c0102030405060708=" + fmt.Sprintf("%x", appendRaftLog(nil, &raft.Log{Index: 0x0102030405060708, Data: []byte("x")})),
		"ffff736b6579=76",
		"ffff736e=0000000000001122",
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("raw keys %q, want %q", keys, want)
	}
	if got := rawScan(t, s, []byte{0}, []byte{1}); len(got) != 0 {
		t.Fatalf("the shard key space holds %d raft keys", len(got))
	}
	for shard := uint16(0); shard < NumShards; shard++ {
		lo, hi := shardBounds(shard)
		if bytes.Compare(hi, raftLogLower) > 0 || bytes.Compare(lo, raftLogLower) > 0 {
			t.Fatalf("shard %d's range [%x, %x) reaches the raft prefix", shard, lo, hi)
		}
	}
}

// Raft's writes are durable when they return: after a crash that keeps
// only synced data, right after each kind of write, the write is there.
// With NoSync the same crash loses it, which shows the check can tell.
func TestRaftStoreSyncs(t *testing.T) {
	logger := pebbleLogger{slog.New(slog.DiscardHandler)}
	type state struct {
		first, last, term uint64
		vote              string
	}
	steps := []struct {
		name  string
		write func(*RaftStore) error
		want  state
	}{
		{"StoreLogs", func(rs *RaftStore) error {
			return rs.StoreLogs([]*raft.Log{{Index: 1, Term: 1}, {Index: 2, Term: 1}, {Index: 3, Term: 1}})
		}, state{1, 3, 0, ""}},
		{"StoreLog", func(rs *RaftStore) error { return rs.StoreLog(&raft.Log{Index: 4, Term: 1}) }, state{1, 4, 0, ""}},
		{"DeleteRange", func(rs *RaftStore) error { return rs.DeleteRange(1, 2) }, state{3, 4, 0, ""}},
		{"SetUint64", func(rs *RaftStore) error { return rs.SetUint64([]byte("CurrentTerm"), 3) }, state{3, 4, 3, ""}},
		{"Set", func(rs *RaftStore) error { return rs.Set([]byte("LastVoteCand"), []byte("n1")) }, state{3, 4, 3, "n1"}},
	}
	for _, wo := range []*pebble.WriteOptions{pebble.Sync, pebble.NoSync} {
		t.Run(fmt.Sprintf("sync=%v", wo.Sync), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s := &Store{db: db, sync: wo}
			defer s.Close()
			rs := s.Raft()
			var prev state
			for _, step := range steps {
				if err := step.write(rs); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				db2, err := pebble.Open("db", &pebble.Options{FS: fs.CrashClone(vfs.CrashCloneCfg{}), Logger: logger})
				if err != nil {
					t.Fatal(err)
				}
				rs2 := (&Store{db: db2, sync: pebble.Sync}).Raft()
				var got state
				got.first, _ = rs2.FirstIndex()
				got.last, _ = rs2.LastIndex()
				got.term, _ = rs2.GetUint64([]byte("CurrentTerm"))
				v, _ := rs2.Get([]byte("LastVoteCand"))
				got.vote = string(v)
				db2.Close()
				if wo.Sync && got != step.want {
					t.Fatalf("after %s and a crash: %+v, want %+v", step.name, got, step.want)
				}
				if !wo.Sync && got == step.want && got != prev {
					t.Fatalf("after an unsynced %s and a crash its write survived: the crash simulation keeps unsynced data", step.name)
				}
				prev = step.want
			}
		})
	}
}
