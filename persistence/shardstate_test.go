package persistence_test

// Tests of the per-shard replication state and of whole-shard copies
// (shard.go). shard_test.go holds the tests of ShardOf.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

func shardState(tb testing.TB, s *persistence.Store, shard uint16) persistence.ShardState {
	tb.Helper()
	st, err := s.ShardState(shard)
	if err != nil {
		tb.Fatalf("ShardState(%d): %v", shard, err)
	}
	return st
}

// rawKey builds a raw key as doc.go lays it out.
func rawKey(shard uint16, ns byte, name, key string) []byte {
	b := binary.BigEndian.AppendUint16(nil, shard)
	b = append(b, ns)
	b = append(b, name...)
	b = append(b, 0)
	return append(b, key...)
}

// idsOfShard returns n identities "<base>/<i>" that hash to shard.
func idsOfShard(shard uint16, base string, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if id := fmt.Sprintf("%s/%d", base, i); persistence.ShardOf(id) == shard {
			out = append(out, id)
		}
	}
	return out
}

func TestShardStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := persistence.MustOpen(t, persistence.Options{Dir: dir})
	for shard := uint16(0); shard < persistence.NumShards; shard++ {
		if st := shardState(t, s, shard); st != (persistence.ShardState{}) {
			t.Fatalf("never-written shard %d has state %+v", shard, st)
		}
	}
	want := map[uint16]persistence.ShardState{
		0:   {Promised: 1},
		1:   {Promised: 3, Epoch: 2, Seq: 17},
		124: {Promised: math.MaxUint64, Epoch: math.MaxUint64, Seq: math.MaxUint64, Importing: true},
		255: {Importing: true},
		200: {Promised: 5, Epoch: 5, Seq: 1 << 40},
	}
	for shard, st := range want {
		if err := s.SetShardState(shard, persistence.ShardState{Promised: 99, Seq: 99}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetShardState(shard, st); err != nil { // overwrite
			t.Fatal(err)
		}
	}
	check := func(s *persistence.Store) {
		t.Helper()
		for shard := uint16(0); shard < persistence.NumShards; shard++ {
			if got := shardState(t, s, shard); got != want[shard] {
				t.Fatalf("shard %d: state %+v, want %+v", shard, got, want[shard])
			}
		}
	}
	check(s)
	// Meta keys are invisible to the dialerd.Store.
	for _, index := range []string{"m", "\xff"} {
		if got := scanIndex(t, s, index, ""); len(got) != 0 {
			t.Fatalf("ScanIndex(%q) sees meta keys: %q", index, got)
		}
	}
	persistence.CloseForTest(t, s)
	check(persistence.MustOpen(t, persistence.Options{Dir: dir}))

	for _, bad := range []uint16{persistence.NumShards, math.MaxUint16} {
		s := persistence.MustOpenStore(t)
		if _, err := s.ShardState(bad); err == nil {
			t.Errorf("ShardState(%d) succeeded", bad)
		}
		if err := s.SetShardState(bad, persistence.ShardState{Promised: 1}); err == nil {
			t.Errorf("SetShardState(%d) succeeded", bad)
		}
		if err := s.BeginImport(bad, 1); err == nil {
			t.Errorf("BeginImport(%d) succeeded", bad)
		}
		if err := s.ImportChunk(bad, nil); err == nil {
			t.Errorf("ImportChunk(%d) succeeded", bad)
		}
		if err := s.EndImport(bad, persistence.ShardState{}); err == nil {
			t.Errorf("EndImport(%d) succeeded", bad)
		}
		if _, _, err := s.ExportShard(bad, nil, 0, func(_, _ []byte) {}); err == nil {
			t.Errorf("ExportShard(%d) succeeded", bad)
		}
	}
}

// ApplyReplicated has Apply's semantics (checked against Apply on a second
// store) and sets the state of the identity's shard, and only of it.
func TestApplyReplicated(t *testing.T) {
	rep, ref := persistence.MustOpenStore(t), persistence.MustOpenStore(t)
	const id = "campaign/a"
	sib := sameShardExtension(t, id) // same shard, a string extension of id
	other := identityInShard(t, id, false)
	batches := []struct {
		identity string
		ops      []dialerd.Op
	}{
		{id, []dialerd.Op{dialerd.Set("doc", []byte("v1")), dialerd.Set("k1", []byte("x")), dialerd.Set("empty", []byte{}), dialerd.IndexSet("idx", "a", []byte("a1")), dialerd.IndexSet("idx", "b", nil)}},
		{sib, []dialerd.Op{dialerd.Set("doc", []byte("sib")), dialerd.IndexSet("idx", "sib", []byte("s"))}},
		{other, []dialerd.Op{dialerd.Set("doc", []byte("other")), dialerd.IndexSet("idx", "other", []byte("o"))}},
		{id, []dialerd.Op{dialerd.Delete("k1"), dialerd.IndexDelete("idx", "b"), dialerd.Set("doc", []byte("v2"))}},
		{id, []dialerd.Op{dialerd.DeleteAll(), dialerd.Set("after", []byte("y")), dialerd.IndexSet("idx2", "c", []byte("c"))}},
		{id, nil},
	}
	shard := persistence.ShardOf(id)
	for i, b := range batches {
		st := persistence.ShardState{Promised: 2, Epoch: 2, Seq: uint64(i + 1)}
		before := shardState(t, rep, persistence.ShardOf(other))
		if err := rep.ApplyReplicated(b.identity, b.ops, st); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		apply(t, ref, b.identity, b.ops...)
		if got := shardState(t, rep, persistence.ShardOf(b.identity)); got != st {
			t.Fatalf("batch %d: state %+v, want %+v", i, got, st)
		}
		if b.identity != other {
			if got := shardState(t, rep, persistence.ShardOf(other)); got != before {
				t.Fatalf("batch %d on shard %d changed the state of shard %d", i, shard, persistence.ShardOf(other))
			}
		}
		for _, who := range []string{id, sib, other} {
			if got, want := scan(t, rep, who, ""), scan(t, ref, who, ""); !slices.Equal(got, want) {
				t.Fatalf("batch %d: Scan(%q) = %q, Apply gives %q", i, who, got, want)
			}
		}
		for _, index := range []string{"idx", "idx2"} {
			if got, want := scanIndex(t, rep, index, ""), scanIndex(t, ref, index, ""); !slices.Equal(got, want) {
				t.Fatalf("batch %d: ScanIndex(%q) = %q, Apply gives %q", i, index, got, want)
			}
		}
	}
	if v := get(t, rep, id, "after"); string(v) != "y" {
		t.Fatalf("Get = %q", v)
	}
}

// A batch with a bad op, or a bad identity, writes neither its data nor
// the shard state.
func TestApplyReplicatedIsAtomic(t *testing.T) {
	bad := map[string]dialerd.Op{
		"IndexSet empty index":    dialerd.IndexSet("", "k", []byte("v")),
		"IndexDelete index w/NUL": dialerd.IndexDelete("i\x00", "k"),
		"zero Op":                 {},
		"unknown OpKind":          {Kind: 99, Key: "k"},
	}
	const id = "campaign/a"
	for name, badOp := range bad {
		t.Run(name, func(t *testing.T) {
			s := persistence.MustOpenStore(t)
			old := persistence.ShardState{Promised: 1, Epoch: 1, Seq: 1}
			if err := s.ApplyReplicated(id, []dialerd.Op{dialerd.Set("old", []byte("old")), dialerd.IndexSet("idx", "old", nil)}, old); err != nil {
				t.Fatal(err)
			}
			good := []dialerd.Op{dialerd.Set("new", []byte("new")), dialerd.Delete("old"), dialerd.IndexSet("idx", "new", nil), dialerd.IndexDelete("idx", "old"), dialerd.DeleteAll()}
			for pos := range len(good) + 1 {
				ops := slices.Insert(slices.Clone(good), pos, badOp)
				if err := s.ApplyReplicated(id, ops, persistence.ShardState{Promised: 2, Epoch: 2, Seq: 9}); err == nil {
					t.Fatalf("bad op at %d: ApplyReplicated succeeded", pos)
				}
				if got := shardState(t, s, persistence.ShardOf(id)); got != old {
					t.Fatalf("bad op at %d: the state changed to %+v", pos, got)
				}
				if got := scan(t, s, id, ""); !slices.Equal(got, []kv{{"old", "old"}}) {
					t.Fatalf("bad op at %d: the data changed: %q", pos, got)
				}
				if got := scanIndex(t, s, "idx", ""); !slices.Equal(got, []kv{{"old", ""}}) {
					t.Fatalf("bad op at %d: the index changed: %q", pos, got)
				}
			}
		})
	}
	t.Run("bad identity", func(t *testing.T) {
		s := persistence.MustOpenStore(t)
		for _, badID := range []string{"", "a\x00b"} {
			if err := s.ApplyReplicated(badID, []dialerd.Op{dialerd.IndexSet("idx", "k", nil)}, persistence.ShardState{Promised: 1}); err == nil {
				t.Fatalf("ApplyReplicated(%q) succeeded", badID)
			}
		}
		for shard := uint16(0); shard < persistence.NumShards; shard++ {
			if st := shardState(t, s, shard); st != (persistence.ShardState{}) {
				t.Fatalf("a rejected batch wrote the state of shard %d: %+v", shard, st)
			}
		}
		if got := scanIndex(t, s, "idx", ""); len(got) != 0 {
			t.Fatalf("a rejected batch wrote %q", got)
		}
	})
}

// copyFixture writes, on src, identities of every shard and more of the
// shards under test, with data and index entries; index keys start with
// their writer identity so that tests can tell the shard of an entry.
func copyFixture(t *testing.T, src *persistence.Store, shards []uint16) (ids []string) {
	t.Helper()
	for i := range 600 {
		ids = append(ids, fmt.Sprintf("campaign/c%d", i))
	}
	for _, sh := range shards {
		ids = append(ids, idsOfShard(sh, "token", 25)...)
	}
	ids = append(ids, sameShardExtension(t, ids[0]), "campaign/\xff\xff")
	for i, id := range ids {
		ops := []dialerd.Op{
			dialerd.Set("doc", bytes.Repeat([]byte{byte(i)}, i%300)),
			dialerd.Set("", []byte("empty key")),
			dialerd.Set("empty value", []byte{}),
			dialerd.Set("\xff\xff", []byte(id)),
			dialerd.IndexSet("all", id, []byte(id)),
			dialerd.IndexSet("by\x01kind", id+"\x00k", nil),
		}
		for j := range i % 7 {
			ops = append(ops, dialerd.Set(fmt.Sprintf("item/%03d", j), []byte(id)))
		}
		apply(t, src, id, ops...)
		if i == len(ids)/2 {
			// Half in sstables.
			if err := persistence.FlushForTest(src); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Deletions in the exported range: a point, a DeleteAll, an index entry.
	apply(t, src, ids[1], dialerd.DeleteAll())
	apply(t, src, ids[2], dialerd.Delete("doc"), dialerd.IndexDelete("all", ids[2]))
	return ids
}

// exportAll exports shard from src in chunks of maxBytes and checks the
// chunking: keys in strictly increasing order, each chunk stopping at the
// first key that reaches maxBytes, and done only at the end.
func exportAll(t *testing.T, src *persistence.Store, shard uint16, maxBytes int) (chunks [][]persistence.KV) {
	t.Helper()
	var after []byte
	for {
		var chunk []persistence.KV
		size := 0
		last, done, err := src.ExportShard(shard, after, maxBytes, func(k, v []byte) {
			if maxBytes > 0 && size >= maxBytes {
				t.Fatalf("ExportShard went on after %d >= %d bytes", size, maxBytes)
			}
			size += len(k) + len(v)
			chunk = append(chunk, persistence.KV{Key: k, Value: v})
		})
		if err != nil {
			t.Fatalf("ExportShard(%d, %x): %v", shard, after, err)
		}
		for _, kv := range chunk {
			if after != nil && bytes.Compare(kv.Key, after) <= 0 {
				t.Fatalf("ExportShard emitted %x after %x", kv.Key, after)
			}
			after = kv.Key
		}
		if len(chunk) > 0 && !bytes.Equal(last, chunk[len(chunk)-1].Key) {
			t.Fatalf("ExportShard returned last %x, emitted last %x", last, chunk[len(chunk)-1].Key)
		}
		if !done && size < maxBytes {
			t.Fatalf("ExportShard stopped after %d < %d bytes without done", size, maxBytes)
		}
		if len(chunk) > 0 {
			chunks = append(chunks, chunk)
		}
		if done {
			// Asking again from the end yields nothing and done.
			n := 0
			last2, done2, err := src.ExportShard(shard, last, maxBytes, func(_, _ []byte) { n++ })
			if err != nil || !done2 || n != 0 || !bytes.Equal(last2, last) {
				t.Fatalf("ExportShard after the end = %x, %v, %v, %d keys", last2, done2, err, n)
			}
			return chunks
		}
		after = last
	}
}

// A shard exported from one store in many small chunks and imported into
// another gives byte-identical reads for the identities of that shard, and
// nothing of the other shards; the target's other shards are untouched,
// and its stale data in the shard is gone.
func TestExportImportShard(t *testing.T) {
	const id0 = "campaign/c0"
	shards := []uint16{0, persistence.ShardOf(id0), persistence.NumShards - 1}
	src := persistence.MustOpenStore(t)
	ids := copyFixture(t, src, shards)
	// State of src, which the copy does not carry.
	for _, sh := range shards {
		if err := src.SetShardState(sh, persistence.ShardState{Promised: 7, Epoch: 7, Seq: 123}); err != nil {
			t.Fatal(err)
		}
	}
	srcRaft := src.Raft()
	if err := srcRaft.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}

	for _, shard := range shards {
		for _, maxBytes := range []int{1, 100, 1 << 10, 0} {
			t.Run(fmt.Sprintf("shard=%d/maxBytes=%d", shard, maxBytes), func(t *testing.T) {
				dst := persistence.MustOpenStore(t)
				// The target holds other identities in every shard, stale
				// data of the shard's own identities, and raft state.
				var dstIDs []string
				for i := range 600 {
					dstIDs = append(dstIDs, fmt.Sprintf("dst/%d", i))
				}
				for _, id := range dstIDs {
					apply(t, dst, id, dialerd.Set("doc", []byte("dst")), dialerd.IndexSet("all", id, []byte("dst")))
				}
				for _, id := range ids {
					if persistence.ShardOf(id) == shard {
						apply(t, dst, id, dialerd.Set("stale", []byte("x")), dialerd.IndexSet("all", id+"\x00stale", nil))
					}
				}
				otherState := persistence.ShardState{Promised: 4, Epoch: 4, Seq: 4}
				for sh := uint16(0); sh < persistence.NumShards; sh++ {
					if sh != shard {
						if err := dst.SetShardState(sh, otherState); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := dst.Raft().SetUint64([]byte("CurrentTerm"), 9); err != nil {
					t.Fatal(err)
				}
				dstBefore := map[string][]kv{}
				for _, id := range dstIDs {
					dstBefore[id] = scan(t, dst, id, "")
				}

				chunks := exportAll(t, src, shard, maxBytes)
				switch {
				case maxBytes == 0 && len(chunks) != 1:
					t.Fatalf("maxBytes 0 gave %d chunks, want 1", len(chunks))
				case maxBytes == 1 && len(chunks) < 100:
					t.Fatalf("maxBytes 1 gave only %d chunks", len(chunks))
				}
				if err := dst.BeginImport(shard, 8); err != nil {
					t.Fatal(err)
				}
				if st := shardState(t, dst, shard); st != (persistence.ShardState{Promised: 8, Importing: true}) {
					t.Fatalf("after BeginImport state %+v", st)
				}
				for _, c := range chunks {
					if err := dst.ImportChunk(shard, c); err != nil {
						t.Fatal(err)
					}
				}
				final := persistence.ShardState{Promised: 8, Epoch: 7, Seq: 123}
				if err := dst.EndImport(shard, final); err != nil {
					t.Fatal(err)
				}
				if st := shardState(t, dst, shard); st != final {
					t.Fatalf("after EndImport state %+v, want %+v", st, final)
				}

				// The shard's identities read exactly as on src.
				inShard := 0
				for _, id := range ids {
					got, want := scan(t, dst, id, ""), scan(t, src, id, "")
					if persistence.ShardOf(id) != shard {
						if len(got) != 0 {
							t.Fatalf("%q of shard %d was copied: %q", id, persistence.ShardOf(id), got)
						}
						continue
					}
					inShard++
					if !slices.Equal(got, want) {
						t.Fatalf("Scan(%q) = %q, want %q", id, got, want)
					}
					for _, k := range []string{"doc", "", "empty value", "\xff\xff", "stale", "absent"} {
						g, w := get(t, dst, id, k), get(t, src, id, k)
						if !bytes.Equal(g, w) || (g == nil) != (w == nil) {
							t.Fatalf("Get(%q, %q) = %q, want %q", id, k, g, w)
						}
					}
				}
				if inShard < 25 {
					t.Fatalf("only %d identities in shard %d", inShard, shard)
				}
				// Index entries: the shard's from src, and dst's own elsewhere.
				var wantAll []kv
				for _, e := range scanIndex(t, src, "all", "") {
					if persistence.ShardOf(e.Key) == shard {
						wantAll = append(wantAll, e)
					}
				}
				dstOwn := 0
				for _, e := range scanIndex(t, dst, "all", "") {
					switch {
					case strings.HasSuffix(e.Key, "\x00stale"):
						t.Fatalf("BeginImport left the stale index entry %q", e.Key)
					case e.Value == "dst" && persistence.ShardOf(e.Key) == shard:
						t.Fatalf("BeginImport left dst's index entry %q of the shard", e.Key)
					case e.Value == "dst":
						dstOwn++
					case persistence.ShardOf(e.Key) != shard:
						t.Fatalf("index entry %q of shard %d reached dst", e.Key, persistence.ShardOf(e.Key))
					}
				}
				wantOwn := 0
				for _, id := range dstIDs {
					if persistence.ShardOf(id) != shard {
						wantOwn++
					}
				}
				if dstOwn != wantOwn {
					t.Fatalf("dst keeps %d of its own index entries in other shards, want %d", dstOwn, wantOwn)
				}
				var gotAll []kv
				for _, e := range scanIndex(t, dst, "all", "") {
					if persistence.ShardOf(e.Key) == shard && e.Value != "dst" {
						gotAll = append(gotAll, e)
					}
				}
				if !slices.Equal(gotAll, wantAll) {
					t.Fatalf("ScanIndex(all) of shard %d = %q, want %q", shard, gotAll, wantAll)
				}
				var wantBy []kv
				for _, e := range scanIndex(t, src, "by\x01kind", "") {
					if persistence.ShardOf(e.Key[:len(e.Key)-2]) == shard {
						wantBy = append(wantBy, e)
					}
				}
				if got := scanIndex(t, dst, "by\x01kind", ""); !slices.Equal(got, wantBy) {
					t.Fatalf("ScanIndex(by kind) = %q, want %q", got, wantBy)
				}
				// dst's other shards, other states and raft state untouched.
				for _, id := range dstIDs {
					if persistence.ShardOf(id) == shard {
						if got := scan(t, dst, id, ""); len(got) != 0 {
							t.Fatalf("BeginImport left %q of the shard: %q", id, got)
						}
						continue
					}
					if got := scan(t, dst, id, ""); !slices.Equal(got, dstBefore[id]) {
						t.Fatalf("the import changed %q of shard %d: %q", id, persistence.ShardOf(id), got)
					}
				}
				for sh := uint16(0); sh < persistence.NumShards; sh++ {
					if st := shardState(t, dst, sh); sh != shard && st != otherState {
						t.Fatalf("the import changed the state of shard %d: %+v", sh, st)
					}
				}
				if term, err := dst.Raft().GetUint64([]byte("CurrentTerm")); err != nil || term != 9 {
					t.Fatalf("the import changed raft's CurrentTerm: %d, %v", term, err)
				}
			})
		}
	}
}

// Export starts strictly after `after`, which must be a key of the shard's
// data or index ranges; an empty shard is done at once.
func TestExportShardBounds(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const id = "campaign/a"
	shard := persistence.ShardOf(id)
	n := 0
	last, done, err := s.ExportShard(shard, nil, 10, func(_, _ []byte) { n++ })
	if err != nil || !done || last != nil || n != 0 {
		t.Fatalf("export of an empty shard = %x, %v, %v, %d keys", last, done, err, n)
	}
	apply(t, s, id, dialerd.Set("a", []byte("1")), dialerd.Set("b", []byte("2")), dialerd.IndexSet("idx", "x", []byte("3")))
	if err := s.SetShardState(shard, persistence.ShardState{Promised: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Raft().Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	keys := func(after []byte) (out []string) {
		t.Helper()
		_, done, err := s.ExportShard(shard, after, 0, func(k, _ []byte) { out = append(out, string(k)) })
		if err != nil || !done {
			t.Fatalf("ExportShard after %x: %v, done %v", after, err, done)
		}
		return out
	}
	ka, kb, kx := rawKey(shard, 'd', id, "a"), rawKey(shard, 'd', id, "b"), rawKey(shard, 'i', "idx", "x")
	all := []string{string(ka), string(kb), string(kx)}
	if got := keys(nil); !slices.Equal(got, all) {
		t.Fatalf("export = %q, want %q (never the meta key)", got, all)
	}
	if got := keys(ka); !slices.Equal(got, all[1:]) {
		t.Fatalf("export after a = %q", got)
	}
	// A key between b and x that is not stored: from x on.
	if got := keys(rawKey(shard, 'd', id, "c")); !slices.Equal(got, all[2:]) {
		t.Fatalf("export after c = %q", got)
	}
	if got := keys(kx); len(got) != 0 {
		t.Fatalf("export after the last key = %q", got)
	}
	// Values are copies the callback may keep.
	var kept [][]byte
	if _, _, err := s.ExportShard(shard, nil, 0, func(k, v []byte) { kept = append(kept, k, v) }); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{ka, []byte("1"), kb, []byte("2"), kx, []byte("3")}
	for i := range want {
		if !bytes.Equal(kept[i], want[i]) {
			t.Fatalf("kept export[%d] = %q, want %q", i, kept[i], want[i])
		}
	}
	// Bad starting keys: another shard, the meta key, raft's prefix.
	for _, after := range [][]byte{
		rawKey(shard+1, 'd', id, "a"),
		append(binary.BigEndian.AppendUint16(nil, shard), 'm'),
		{0xff, 0xff, 's', 'k'},
		{},
	} {
		if _, _, err := s.ExportShard(shard, after, 0, func(_, _ []byte) {}); err == nil {
			t.Errorf("ExportShard after %x succeeded", after)
		}
	}
}

func TestImportChunkRejects(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const id = "campaign/a"
	shard := persistence.ShardOf(id)
	other := identityInShard(t, id, false)
	good := persistence.KV{Key: rawKey(shard, 'd', id, "k"), Value: []byte("v")}
	if err := s.ImportChunk(shard, []persistence.KV{good}); err == nil {
		t.Fatal("ImportChunk into a shard that is not importing succeeded")
	}
	if err := s.BeginImport(shard, 3); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"data key of another shard":         rawKey(persistence.ShardOf(other), 'd', other, "k"),
		"index key of another shard":        rawKey(shard+1, 'i', "idx", "k"),
		"data key of an identity elsewhere": rawKey(shard, 'd', other, "k"),
		"meta key":                          append(binary.BigEndian.AppendUint16(nil, shard), 'm'),
		"other namespace":                   rawKey(shard, 'e', id, "k"),
		"raft log":                          {0xff, 0xff, 'l', 0, 0, 0, 0, 0, 0, 0, 1},
		"raft stable":                       {0xff, 0xff, 's', 'C', 'u', 'r', 'r', 'e', 'n', 't', 'T', 'e', 'r', 'm'},
		"shard only":                        binary.BigEndian.AppendUint16(nil, shard),
		"no name":                           append(binary.BigEndian.AppendUint16(nil, shard), 'd'),
		"empty name":                        rawKey(shard, 'd', "", "k"),
		"no separator":                      append(append(binary.BigEndian.AppendUint16(nil, shard), 'i'), "idx"...),
		"empty key":                         {},
		"nil key":                           nil,
	}
	for name, key := range bad {
		chunk := []persistence.KV{good, {Key: key, Value: []byte("bad")}, {Key: rawKey(shard, 'i', "idx", "k"), Value: nil}}
		if err := s.ImportChunk(shard, chunk); err == nil {
			t.Errorf("%s: ImportChunk of %x succeeded", name, key)
		}
		if got := scan(t, s, id, ""); len(got) != 0 {
			t.Fatalf("%s: a rejected chunk wrote %q", name, got)
		}
		if got := scanIndex(t, s, "idx", ""); len(got) != 0 {
			t.Fatalf("%s: a rejected chunk wrote %q", name, got)
		}
	}
	if v, _ := s.Raft().Get([]byte("CurrentTerm")); v != nil {
		t.Fatalf("raft key written: %q", v)
	}
	if st := shardState(t, s, shard); st != (persistence.ShardState{Promised: 3, Importing: true}) {
		t.Fatalf("state after rejected chunks %+v", st)
	}
	if err := s.ImportChunk(shard, []persistence.KV{good}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndImport(shard, persistence.ShardState{Promised: 3, Importing: true}); err == nil {
		t.Fatal("EndImport with Importing still set succeeded")
	}
	if err := s.EndImport(shard, persistence.ShardState{Promised: 3, Epoch: 3, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportChunk(shard, []persistence.KV{good}); err == nil {
		t.Fatal("ImportChunk after EndImport succeeded")
	}
	// EndImport may be retried.
	if err := s.EndImport(shard, persistence.ShardState{Promised: 3, Epoch: 3, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, id, "k"); string(got) != "v" {
		t.Fatalf("Get = %q", got)
	}
}

// A node that stops between BeginImport and EndImport comes back with the
// shard still Importing (its partial data is not to be served), and a new
// BeginImport starts the copy over from nothing.
func TestImportInterruptedStaysImporting(t *testing.T) {
	dir := t.TempDir()
	src := persistence.MustOpenStore(t)
	const id = "campaign/a"
	shard := persistence.ShardOf(id)
	ids := append(idsOfShard(shard, "token", 20), id)
	for _, x := range ids {
		apply(t, src, x, dialerd.Set("doc", []byte(x)), dialerd.IndexSet("all", x, nil))
	}
	chunks := exportAll(t, src, shard, 100)
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}

	dst := persistence.MustOpen(t, persistence.Options{Dir: dir})
	apply(t, dst, id, dialerd.Set("old", []byte("old")))
	if err := dst.SetShardState(shard, persistence.ShardState{Promised: 1, Epoch: 1, Seq: 50}); err != nil {
		t.Fatal(err)
	}
	if err := dst.BeginImport(shard, 2); err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks[:len(chunks)/2] {
		if err := dst.ImportChunk(shard, c); err != nil {
			t.Fatal(err)
		}
	}
	persistence.CloseForTest(t, dst) // no EndImport

	dst = persistence.MustOpen(t, persistence.Options{Dir: dir})
	if st := shardState(t, dst, shard); st != (persistence.ShardState{Promised: 2, Importing: true}) {
		t.Fatalf("after a restart mid-import the state is %+v, want Importing with Promised 2", st)
	}
	if got := get(t, dst, id, "old"); got != nil {
		t.Fatalf("data from before BeginImport is back: %q", got)
	}
	if err := dst.BeginImport(shard, 2); err != nil {
		t.Fatal(err)
	}
	if got := scanIndex(t, dst, "all", ""); len(got) != 0 {
		t.Fatalf("a new BeginImport kept %d entries of the interrupted copy", len(got))
	}
	for _, c := range chunks {
		if err := dst.ImportChunk(shard, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.EndImport(shard, persistence.ShardState{Promised: 2, Epoch: 2, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	persistence.CloseForTest(t, dst)
	dst = persistence.MustOpen(t, persistence.Options{Dir: dir})
	if st := shardState(t, dst, shard); st != (persistence.ShardState{Promised: 2, Epoch: 2, Seq: 1}) {
		t.Fatalf("after EndImport and a restart the state is %+v", st)
	}
	if got, want := scanIndex(t, dst, "all", ""), scanIndex(t, src, "all", ""); !slices.Equal(got, want) {
		t.Fatalf("after the copy ScanIndex = %q, want %q", got, want)
	}
}

// BenchmarkExportImportShard copies a shard of 10k keys of ~200 B (1000
// identities x 10 documents, plus one index entry each) between two on-disk
// stores, in chunks of 64 KiB: BeginImport, export+import, EndImport.
func BenchmarkExportImportShard(b *testing.B) {
	const shard = 42
	src := persistence.MustOpen(b, persistence.Options{Dir: b.TempDir(), NoSync: true})
	ids := idsOfShard(shard, "campaign", 1000)
	doc := bytes.Repeat([]byte("x"), 170)
	total := 0
	for _, id := range ids {
		ops := []dialerd.Op{dialerd.IndexSet("campaign.all", id, nil)}
		for j := range 10 {
			ops = append(ops, dialerd.Set(fmt.Sprintf("doc/%d", j), doc))
		}
		apply(b, src, id, ops...)
	}
	if err := persistence.FlushForTest(src); err != nil {
		b.Fatal(err)
	}
	if _, _, err := src.ExportShard(shard, nil, 0, func(k, v []byte) { total += len(k) + len(v) }); err != nil {
		b.Fatal(err)
	}
	dst := persistence.MustOpenDiskStore(b)
	const maxBytes = 64 << 10
	b.SetBytes(int64(total))
	b.ReportAllocs()
	keys := 0
	for b.Loop() {
		if err := dst.BeginImport(shard, 1); err != nil {
			b.Fatal(err)
		}
		var after []byte
		keys = 0
		for {
			var chunk []persistence.KV
			last, done, err := src.ExportShard(shard, after, maxBytes, func(k, v []byte) {
				chunk = append(chunk, persistence.KV{Key: k, Value: v})
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := dst.ImportChunk(shard, chunk); err != nil {
				b.Fatal(err)
			}
			keys += len(chunk)
			if done {
				break
			}
			after = last
		}
		if err := dst.EndImport(shard, persistence.ShardState{Promised: 1, Epoch: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if keys != 11000 {
		b.Fatalf("copied %d keys, want 11000", keys)
	}
	b.ReportMetric(float64(keys), "keys/op")
}
