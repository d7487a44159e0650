package persistence

// White-box tests of shard.go: where the meta key lives, that an import
// touches nothing outside its shard's data and index ranges, that
// ApplyReplicated writes exactly Apply's keys, and what survives a crash
// during an import.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/dialerd/dialerd"
)

type rawKV struct{ k, v string }

func rawAll(t *testing.T, s *Store) []rawKV {
	t.Helper()
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []rawKV
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, rawKV{string(it.Key()), string(it.Value())})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// inDataOrIndex reports whether raw key k lies in shard's data or index
// range, written out independently of the code under test.
func inDataOrIndex(shard uint16, k string) bool {
	return len(k) >= 3 && k[0] == byte(shard>>8) && k[1] == byte(shard) && (k[2] == 'd' || k[2] == 'i')
}

// The meta key is [shard]['m'], 3 bytes, inside the shard's range but
// outside its data and index ranges.
func TestShardMetaKey(t *testing.T) {
	s := MustOpenStore(t)
	if err := s.SetShardState(0x00AB, ShardState{Promised: 1, Epoch: 2, Seq: 3, Importing: true}); err != nil {
		t.Fatal(err)
	}
	got := rawAll(t, s)
	want := []rawKV{{"\x00\xabm", "\x01\x01" +
		"\x00\x00\x00\x00\x00\x00\x00\x01" + "\x00\x00\x00\x00\x00\x00\x00\x02" + "\x00\x00\x00\x00\x00\x00\x00\x03"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("raw %q, want %q", got, want)
	}
	// A corrupt state is an error, not a zero value.
	if err := s.db.Set(metaKey(0x00AB), []byte{1, 0, 0}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ShardState(0x00AB); err == nil {
		t.Fatal("ShardState of a corrupt meta value succeeded")
	}
}

// fillAllShards writes, for every shard, data and index entries of an
// identity, the shard's state, and raft's log and stable keys.
func fillAllShards(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	found := 0
	seen := make([]bool, NumShards)
	for i := 0; found < NumShards; i++ {
		id := fmt.Sprintf("campaign/%d", i)
		sh := ShardOf(id)
		if err := s.Apply(ctx, id, []dialerd.Op{dialerd.Set("doc", []byte(id)), dialerd.IndexSet("all", id, []byte(id))}); err != nil {
			t.Fatal(err)
		}
		if !seen[sh] {
			seen[sh] = true
			found++
			if err := s.SetShardState(sh, ShardState{Promised: 5, Epoch: 5, Seq: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rs := s.Raft()
	if err := rs.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Data: []byte("a")}, {Index: 2, Term: 1, Data: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	if err := rs.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		t.Fatal(err)
	}
}

// BeginImport, ImportChunk and EndImport of a shard change its data and
// index ranges and its meta key, and not one other raw key: not the other
// shards, not raft's prefix. Checked on the edge shards and one inside.
func TestImportTouchesOnlyItsShard(t *testing.T) {
	for _, shard := range []uint16{0, 124, NumShards - 1} {
		t.Run(fmt.Sprint(shard), func(t *testing.T) {
			s := MustOpenStore(t)
			fillAllShards(t, s)
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			var outside []rawKV
			inside := 0
			for _, e := range rawAll(t, s) {
				if inDataOrIndex(shard, e.k) {
					inside++
				} else if e.k != string(metaKey(shard)) {
					outside = append(outside, e)
				}
			}
			if inside == 0 {
				t.Fatalf("fixture has no keys in shard %d", shard)
			}
			if err := s.BeginImport(shard, 6); err != nil {
				t.Fatal(err)
			}
			imported := []KV{
				{Key: []byte(string(prefix(shard, nsIndex, "all")) + "x"), Value: []byte("imported")},
				{Key: []byte(string(prefix(shard, nsIndex, "\xff\xff")) + "\xff"), Value: []byte("imported")},
			}
			if err := s.ImportChunk(shard, imported); err != nil {
				t.Fatal(err)
			}
			if err := s.EndImport(shard, ShardState{Promised: 6, Epoch: 6, Seq: 1}); err != nil {
				t.Fatal(err)
			}
			var after []rawKV
			var in []string
			for _, e := range rawAll(t, s) {
				if inDataOrIndex(shard, e.k) {
					in = append(in, e.k)
				} else if e.k != string(metaKey(shard)) {
					after = append(after, e)
				}
			}
			if fmt.Sprint(after) != fmt.Sprint(outside) {
				t.Fatalf("keys outside shard %d's ranges changed: %d before, %d after", shard, len(outside), len(after))
			}
			if len(in) != 2 || in[0] != string(imported[0].Key) || in[1] != string(imported[1].Key) {
				t.Fatalf("shard %d holds %q after the import", shard, in)
			}
		})
	}
}

// ApplyReplicated writes the same raw keys as Apply, plus the meta key.
func TestApplyReplicatedSameKeysAsApply(t *testing.T) {
	a, r := MustOpenStore(t), MustOpenStore(t)
	ctx := context.Background()
	batches := [][]dialerd.Op{
		{dialerd.Set("doc", []byte("1")), dialerd.Set("", nil), dialerd.IndexSet("idx", "k", []byte("v")), dialerd.IndexSet("i2", "", nil)},
		{dialerd.Set("x", []byte("2")), dialerd.Delete("doc"), dialerd.IndexDelete("idx", "k")},
		{dialerd.DeleteAll(), dialerd.Set("after", []byte("3"))},
	}
	const id = "campaign/a"
	for i, ops := range batches {
		if err := a.Apply(ctx, id, ops); err != nil {
			t.Fatal(err)
		}
		if err := r.ApplyReplicated(id, ops, ShardState{Epoch: 1, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
		var rk []rawKV
		for _, e := range rawAll(t, r) {
			if e.k != string(metaKey(ShardOf(id))) {
				rk = append(rk, e)
			}
		}
		if ak := rawAll(t, a); fmt.Sprint(rk) != fmt.Sprint(ak) {
			t.Fatalf("batch %d: ApplyReplicated wrote %q, Apply %q", i, rk, ak)
		}
	}
}

// Crashes during an import, with only synced data surviving: BeginImport
// is durable when it returns (a crash after it leaves the shard Importing),
// and EndImport's sync makes the unsynced ImportChunk batches before it
// durable, across a memtable flush (a new write-ahead log) too.
func TestImportCrash(t *testing.T) {
	logger := pebbleLogger{slog.New(slog.DiscardHandler)}
	const id = "campaign/a"
	shard := ShardOf(id)
	chunk := func(i int) []KV {
		return []KV{{Key: dataKey(id, fmt.Sprintf("k%02d", i)), Value: bytes.Repeat([]byte{byte(i)}, 100)}}
	}
	for _, end := range []bool{false, true} {
		t.Run(fmt.Sprintf("EndImport=%v", end), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s := &Store{db: db, sync: pebble.Sync}
			defer s.Close()
			if err := s.Apply(context.Background(), id, []dialerd.Op{dialerd.Set("old", []byte("old"))}); err != nil {
				t.Fatal(err)
			}
			if err := s.BeginImport(shard, 4); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if err := s.ImportChunk(shard, chunk(i)); err != nil {
					t.Fatal(err)
				}
				if i == 9 {
					if err := db.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			final := ShardState{Promised: 4, Epoch: 4, Seq: 9}
			if end {
				if err := s.EndImport(shard, final); err != nil {
					t.Fatal(err)
				}
			}
			db2, err := pebble.Open("db", &pebble.Options{FS: fs.CrashClone(vfs.CrashCloneCfg{}), Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s2 := &Store{db: db2, sync: pebble.Sync}
			defer s2.Close()
			st, err := s2.ShardState(shard)
			if err != nil {
				t.Fatal(err)
			}
			if old, _ := s2.Get(context.Background(), id, "old"); old != nil {
				t.Fatalf("after a crash, data deleted by BeginImport is back")
			}
			if !end {
				if st != (ShardState{Promised: 4, Importing: true}) {
					t.Fatalf("after a crash mid-import the state is %+v, want Importing", st)
				}
				return
			}
			if st != final {
				t.Fatalf("after a crash past EndImport the state is %+v, want %+v", st, final)
			}
			for i := range 20 {
				v, err := s2.Get(context.Background(), id, fmt.Sprintf("k%02d", i))
				if err != nil || !bytes.Equal(v, chunk(i)[0].Value) {
					t.Fatalf("after a crash past EndImport chunk %d is lost: %v", i, err)
				}
			}
		})
	}
}
