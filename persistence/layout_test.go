package persistence

// White-box tests: the on-disk key layout that replication will rely on,
// and that Apply really syncs. They read the Pebble database directly.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dialerd/dialerd"
)

type rawEntry struct {
	shard uint16
	ns    byte
	name  string
	key   string
	value string
}

// decodeRaw splits a raw Pebble key into [shard]['d'|'i'] name 0x00 key.
func decodeRaw(t *testing.T, k, v []byte) rawEntry {
	t.Helper()
	if len(k) < 4 {
		t.Fatalf("raw key %q too short", k)
	}
	sep := bytes.IndexByte(k[3:], 0)
	if sep < 0 {
		t.Fatalf("raw key %q has no 0x00 after the name", k)
	}
	return rawEntry{
		shard: binary.BigEndian.Uint16(k),
		ns:    k[2],
		name:  string(k[3 : 3+sep]),
		key:   string(k[3+sep+1:]),
		value: string(v),
	}
}

func rawScan(t *testing.T, s *Store, lower, upper []byte) []rawEntry {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []rawEntry
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, decodeRaw(t, it.Key(), it.Value()))
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

func shardBounds(shard uint16) (lower, upper []byte) {
	return binary.BigEndian.AppendUint16(nil, shard), binary.BigEndian.AppendUint16(nil, shard+1)
}

// Every key an identity writes, data and index entries alike, lies in the
// contiguous key range [shard, shard+1) of ShardOf(identity), laid out as
// doc.go says; reading a shard's range yields exactly the data and index
// entries of the identities of that shard.
func TestKeyLayoutShardRanges(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	type written struct{ data, index int }
	byShard := map[uint16]*written{}
	writer := map[string]string{} // index key -> identity
	ids := []string{"campaign/a", "campaign/ab", "campaign/a\x01", "campaign/a\xff", "campaign/\xff\xff"}
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("campaign/c%03d", i), fmt.Sprintf("token/%d", i))
	}
	for _, id := range ids {
		ops := []dialerd.Op{
			dialerd.Set("doc", []byte(id)),
			dialerd.Set("", []byte(id)),
			dialerd.Set("\xff\xff\xff", []byte(id)),
			dialerd.Set("k\x00x", []byte(id)),
			dialerd.IndexSet("all", id, []byte(id)),
			dialerd.IndexSet("by\x01", "x\x00"+id, []byte(id)),
		}
		if err := s.Apply(ctx, id, ops); err != nil {
			t.Fatal(err)
		}
		writer[id], writer["x\x00"+id] = id, id
		w := byShard[ShardOf(id)]
		if w == nil {
			w = &written{}
			byShard[ShardOf(id)] = w
		}
		w.data += 4
		w.index += 2
	}
	// Half in sstables: flush, then overwrite some.
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:50] {
		if err := s.Apply(ctx, id, []dialerd.Op{dialerd.Set("doc", []byte(id))}); err != nil {
			t.Fatal(err)
		}
	}

	// The whole database decodes, and each key sits in its writer's shard.
	all := rawScan(t, s, nil, nil)
	if want := len(ids) * 6; len(all) != want {
		t.Fatalf("database holds %d keys, want %d", len(all), want)
	}
	for _, e := range all {
		if e.shard >= NumShards {
			t.Fatalf("key in shard %d >= NumShards", e.shard)
		}
		switch e.ns {
		case 'd':
			if e.shard != ShardOf(e.name) {
				t.Errorf("data key %q of %q in shard %d, want %d", e.key, e.name, e.shard, ShardOf(e.name))
			}
			if e.value != e.name {
				t.Errorf("data key %q of %q holds %q", e.key, e.name, e.value)
			}
		case 'i':
			w, ok := writer[e.key]
			if !ok {
				t.Fatalf("unexpected index entry %q of %q", e.key, e.name)
			}
			if e.shard != ShardOf(w) {
				t.Errorf("index entry %q of %q in shard %d, its writer %q is in %d", e.key, e.name, e.shard, w, ShardOf(w))
			}
		default:
			t.Fatalf("key with namespace %q", e.ns)
		}
	}

	// Each shard's range holds exactly its identities' keys.
	for shard := uint16(0); shard < NumShards; shard++ {
		lo, hi := shardBounds(shard)
		got := rawScan(t, s, lo, hi)
		w := byShard[shard]
		if w == nil {
			w = &written{}
		}
		var data, index int
		for _, e := range got {
			if e.shard != shard {
				t.Fatalf("range of shard %d holds a key of shard %d", shard, e.shard)
			}
			if e.ns == 'd' {
				data++
			} else {
				index++
			}
		}
		if data != w.data || index != w.index {
			t.Errorf("shard %d range: %d data and %d index keys, want %d and %d", shard, data, index, w.data, w.index)
		}
	}

	// DeleteAll's range deletion stays inside its identity: only its data
	// keys go.
	before := len(rawScan(t, s, nil, nil))
	if err := s.Apply(ctx, "campaign/a", []dialerd.Op{dialerd.DeleteAll()}); err != nil {
		t.Fatal(err)
	}
	if after := len(rawScan(t, s, nil, nil)); after != before-4 {
		t.Fatalf("DeleteAll removed %d raw keys, want 4", before-after)
	}
}

// Open syncs commits unless NoSync, and Apply returns only once its batch
// survives a crash: after a crash that keeps exactly what was synced, the
// data is there. With NoSync the same crash loses it, which shows the check
// can tell the difference.
func TestApplySyncsBeforeReturning(t *testing.T) {
	if s := MustOpen(t, Options{InMemory: true}); s.sync != pebble.Sync {
		t.Fatalf("Open without NoSync uses %+v, want pebble.Sync", s.sync)
	}
	if s := MustOpen(t, Options{InMemory: true, NoSync: true}); s.sync != pebble.NoSync {
		t.Fatalf("Open with NoSync uses %+v, want pebble.NoSync", s.sync)
	}
	logger := pebbleLogger{slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	for _, wo := range []*pebble.WriteOptions{pebble.Sync, pebble.NoSync} {
		t.Run(fmt.Sprintf("sync=%v", wo.Sync), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s := &Store{db: db, sync: wo}
			defer s.Close()
			ops := []dialerd.Op{dialerd.Set("doc", []byte("v")), dialerd.IndexSet("all", "a", []byte("v"))}
			if err := s.Apply(ctx, "campaign/a", ops); err != nil {
				t.Fatal(err)
			}
			crashed := fs.CrashClone(vfs.CrashCloneCfg{})
			db2, err := pebble.Open("db", &pebble.Options{FS: crashed, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s2 := &Store{db: db2, sync: pebble.Sync}
			defer s2.Close()
			v, err := s2.Get(ctx, "campaign/a", "doc")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := s2.ScanIndex(ctx, "all", "", func(string, []byte) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if wo.Sync && (string(v) != "v" || n != 1) {
				t.Fatalf("after a crash, an acknowledged synced Apply is lost: Get = %q, %d index entries", v, n)
			}
			if !wo.Sync && (v != nil || n != 0) {
				t.Fatalf("after a crash, an unsynced Apply survived (Get = %q): the crash simulation keeps unsynced data", v)
			}
		})
	}
}
