package persistence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

var ctx = context.Background()

// kv is one key/value pair seen by a scan.
type kv struct {
	Key   string
	Value string
}

func apply(tb testing.TB, s dialerd.Store, identity string, ops ...dialerd.Op) {
	tb.Helper()
	if err := s.Apply(ctx, identity, ops); err != nil {
		tb.Fatalf("Apply(%q): %v", identity, err)
	}
}

func get(tb testing.TB, s dialerd.Store, identity, key string) []byte {
	tb.Helper()
	v, err := s.Get(ctx, identity, key)
	if err != nil {
		tb.Fatalf("Get(%q, %q): %v", identity, key, err)
	}
	return v
}

func scan(tb testing.TB, s dialerd.Store, identity, prefix string) []kv {
	tb.Helper()
	var out []kv
	err := s.Scan(ctx, identity, prefix, func(k string, v []byte) error {
		out = append(out, kv{k, string(v)})
		return nil
	})
	if err != nil {
		tb.Fatalf("Scan(%q, %q): %v", identity, prefix, err)
	}
	return out
}

func scanIndex(tb testing.TB, s dialerd.Store, index, prefix string) []kv {
	tb.Helper()
	var out []kv
	err := s.ScanIndex(ctx, index, prefix, func(k string, v []byte) error {
		out = append(out, kv{k, string(v)})
		return nil
	})
	if err != nil {
		tb.Fatalf("ScanIndex(%q, %q): %v", index, prefix, err)
	}
	return out
}

// sameShardExtension returns base+suffix for the shortest non-empty suffix
// (no 0x00) whose identity hashes to the same shard as base: an identity
// that shares both a string prefix and a shard with base, the hardest case
// for prefix boundaries.
func sameShardExtension(tb testing.TB, base string) string {
	tb.Helper()
	want := persistence.ShardOf(base)
	for c := 1; c < 256; c++ {
		if id := base + string([]byte{byte(c)}); persistence.ShardOf(id) == want {
			return id
		}
	}
	for c := 1; c < 256; c++ {
		for d := 1; d < 256; d++ {
			if id := base + string([]byte{byte(c), byte(d)}); persistence.ShardOf(id) == want {
				return id
			}
		}
	}
	tb.Fatalf("no same-shard extension of %q", base)
	return ""
}

// identityInShard returns an identity, unrelated to base by prefix, that
// hashes to shard (same == true) or to another shard (same == false).
func identityInShard(tb testing.TB, base string, same bool) string {
	tb.Helper()
	want := persistence.ShardOf(base)
	for i := 0; i < 100000; i++ {
		id := fmt.Sprintf("other/%d", i)
		if (persistence.ShardOf(id) == want) == same {
			return id
		}
	}
	tb.Fatalf("no identity found for shard %d", want)
	return ""
}

func TestOpen(t *testing.T) {
	t.Run("in-memory", func(t *testing.T) {
		s := persistence.MustOpenStore(t)
		apply(t, s, "campaign/a", dialerd.Set("k", []byte("v")))
		if got := get(t, s, "campaign/a", "k"); string(got) != "v" {
			t.Fatalf("Get = %q, want v", got)
		}
	})
	t.Run("on-disk", func(t *testing.T) {
		s := persistence.MustOpenDiskStore(t)
		apply(t, s, "campaign/a", dialerd.Set("k", []byte("v")))
		if got := get(t, s, "campaign/a", "k"); string(got) != "v" {
			t.Fatalf("Get = %q, want v", got)
		}
	})
	t.Run("no dir", func(t *testing.T) {
		s, err := persistence.Open(persistence.Options{})
		if err == nil {
			s.Close()
			t.Fatal("Open without Dir and without InMemory succeeded")
		}
	})
	t.Run("dir locked while open", func(t *testing.T) {
		dir := t.TempDir()
		persistence.MustOpen(t, persistence.Options{Dir: dir})
		s, err := persistence.Open(persistence.Options{Dir: dir})
		if err == nil {
			s.Close()
			t.Fatal("a second Open of a directory in use succeeded")
		}
	})
}

func TestGetAbsent(t *testing.T) {
	s := persistence.MustOpenStore(t)
	v, err := s.Get(ctx, "campaign/a", "nope")
	if v != nil || err != nil {
		t.Fatalf("Get of absent key = (%q, %v), want (nil, nil)", v, err)
	}
	// Absent in an identity that has other keys, and after a delete.
	apply(t, s, "campaign/a", dialerd.Set("k", []byte("v")), dialerd.Set("gone", []byte("x")))
	apply(t, s, "campaign/a", dialerd.Delete("gone"))
	for _, k := range []string{"nope", "gone", "k\x00", "", "K"} {
		if v, err := s.Get(ctx, "campaign/a", k); v != nil || err != nil {
			t.Errorf("Get(%q) = (%q, %v), want (nil, nil)", k, v, err)
		}
	}
}

func TestSetGetRoundTrip(t *testing.T) {
	s := persistence.MustOpenStore(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	cases := map[string][]byte{
		"doc":        []byte(`{"slug":"spring-promo"}`),
		"":           []byte("empty key"),
		"k\x00x":     []byte("key with separator"),
		"\xff\xff":   []byte("high bytes"),
		"bin":        {0, 1, 2, 0xff, 0},
		"big":        big,
		"unicode/é∂": []byte("ü"),
	}
	var ops []dialerd.Op
	for k, v := range cases {
		ops = append(ops, dialerd.Set(k, v))
	}
	apply(t, s, "campaign/a", ops...)
	for k, want := range cases {
		if got := get(t, s, "campaign/a", k); !bytes.Equal(got, want) {
			t.Errorf("Get(%q) = %d bytes, want %d bytes %q", k, len(got), len(want), want[:min(len(want), 20)])
		}
	}
	// Overwrite.
	apply(t, s, "campaign/a", dialerd.Set("doc", []byte("v2")))
	if got := get(t, s, "campaign/a", "doc"); string(got) != "v2" {
		t.Fatalf("after overwrite Get = %q, want v2", got)
	}
	// Delete.
	apply(t, s, "campaign/a", dialerd.Delete("doc"))
	if got := get(t, s, "campaign/a", "doc"); got != nil {
		t.Fatalf("after delete Get = %q, want nil", got)
	}
	// Later ops of a batch win over earlier ones.
	apply(t, s, "campaign/a", dialerd.Set("x", []byte("1")), dialerd.Set("x", []byte("2")), dialerd.Delete("y"), dialerd.Set("y", []byte("3")))
	if got := get(t, s, "campaign/a", "x"); string(got) != "2" {
		t.Errorf("x = %q, want 2", got)
	}
	if got := get(t, s, "campaign/a", "y"); string(got) != "3" {
		t.Errorf("y = %q, want 3", got)
	}
	apply(t, s, "campaign/a", dialerd.Set("z", []byte("1")), dialerd.Delete("z"))
	if got := get(t, s, "campaign/a", "z"); got != nil {
		t.Errorf("z = %q, want nil (deleted later in the batch)", got)
	}
	// An empty batch is fine.
	apply(t, s, "campaign/a")
}

// An empty (or nil) value is stored: Scan visits the key with an empty value
// and Get returns an empty value with no error.
func TestEmptyValue(t *testing.T) {
	s := persistence.MustOpenStore(t)
	apply(t, s, "campaign/a", dialerd.Set("nil", nil), dialerd.Set("empty", []byte{}))
	got := scan(t, s, "campaign/a", "")
	want := []kv{{"empty", ""}, {"nil", ""}}
	if !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
	for _, k := range []string{"nil", "empty"} {
		v, err := s.Get(ctx, "campaign/a", k)
		if err != nil || len(v) != 0 {
			t.Errorf("Get(%q) = (%q, %v), want empty value", k, v, err)
		}
	}
}

func TestValuesAreCopies(t *testing.T) {
	s := persistence.MustOpenStore(t)
	in := []byte("original")
	apply(t, s, "campaign/a", dialerd.Set("k", in))
	// The caller may reuse the buffer it gave Apply.
	copy(in, "XXXXXXXX")
	v1 := get(t, s, "campaign/a", "k")
	if string(v1) != "original" {
		t.Fatalf("after mutating Apply's input, Get = %q, want original", v1)
	}
	// Mutating what Get returned does not change the store, nor what
	// another Get returned.
	v2 := get(t, s, "campaign/a", "k")
	for i := range v1 {
		v1[i] = '!'
	}
	if got := get(t, s, "campaign/a", "k"); string(got) != "original" {
		t.Fatalf("after mutating a Get result, Get = %q, want original", got)
	}
	if string(v2) != "original" {
		t.Fatalf("mutating one Get result changed another: %q", v2)
	}
	// Same after the value moved from the memtable to an sstable.
	if err := persistence.FlushForTest(s); err != nil {
		t.Fatal(err)
	}
	v3 := get(t, s, "campaign/a", "k")
	copy(v3, "ZZZZ")
	if got := get(t, s, "campaign/a", "k"); string(got) != "original" {
		t.Fatalf("after flush and mutating a Get result, Get = %q, want original", got)
	}
}

// scanFixture writes 50 keys and 50 index entries whose values are
// "value-000" and on, optionally flushed to an sstable.
func scanFixture(t *testing.T, flush bool) *persistence.Store {
	t.Helper()
	s := persistence.MustOpenStore(t)
	var ops []dialerd.Op
	for i := range 50 {
		v := []byte(fmt.Sprintf("value-%03d", i))
		ops = append(ops, dialerd.Set(fmt.Sprintf("k%03d", i), v), dialerd.IndexSet("idx", fmt.Sprintf("e%03d", i), v))
	}
	apply(t, s, "campaign/a", ops...)
	if flush {
		if err := persistence.FlushForTest(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A callback that keeps the values it is handed (appends them to a slice)
// still sees them intact after the scan.
func TestScanValuesCanBeKept(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushed=%v", flush), func(t *testing.T) {
			s := scanFixture(t, flush)
			var kept, keptIdx [][]byte
			keep := func(dst *[][]byte) func(string, []byte) error {
				return func(_ string, v []byte) error { *dst = append(*dst, v); return nil }
			}
			if err := s.Scan(ctx, "campaign/a", "", keep(&kept)); err != nil {
				t.Fatal(err)
			}
			if err := s.ScanIndex(ctx, "idx", "", keep(&keptIdx)); err != nil {
				t.Fatal(err)
			}
			if len(kept) != 50 || len(keptIdx) != 50 {
				t.Fatalf("kept %d and %d values, want 50 and 50", len(kept), len(keptIdx))
			}
			for i := range 50 {
				want := fmt.Sprintf("value-%03d", i)
				if string(kept[i]) != want || string(keptIdx[i]) != want {
					t.Fatalf("values kept from callbacks: %q and %q after the scan, want %q", kept[i], keptIdx[i], want)
				}
			}
		})
	}
}

// Values handed to a Scan/ScanIndex callback must not alias the store's own
// memory: a callback that edits a value in place (decodes, decrypts or
// lower-cases it) must not change what is stored. Get returns copies and
// the dialerd.Store contract says nothing that would let Scan differ.
func TestScanValuesAreCopies(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushed=%v", flush), func(t *testing.T) {
			s := scanFixture(t, flush)
			overwrite := func(_ string, v []byte) error {
				for i := range v {
					v[i] = '#'
				}
				return nil
			}
			if err := s.Scan(ctx, "campaign/a", "", overwrite); err != nil {
				t.Fatal(err)
			}
			if got := get(t, s, "campaign/a", "k007"); string(got) != "value-007" {
				t.Fatalf("after editing values in a Scan callback, Get = %q, want value-007", got)
			}
			if err := s.ScanIndex(ctx, "idx", "", overwrite); err != nil {
				t.Fatal(err)
			}
			if got := scanIndex(t, s, "idx", "e007"); len(got) != 1 || got[0].Value != "value-007" {
				t.Fatalf("after editing values in a ScanIndex callback, ScanIndex = %q, want value-007", got)
			}
		})
	}
}

func TestBadNames(t *testing.T) {
	s := persistence.MustOpenStore(t)
	noop := func(string, []byte) error { t.Error("callback called"); return nil }
	isStoreError := func(t *testing.T, what string, err error) {
		t.Helper()
		var de *dialerd.Error
		if err == nil {
			t.Errorf("%s: no error", what)
		} else if !errors.As(err, &de) {
			t.Errorf("%s: error %v is not a *dialerd.Error", what, err)
		}
	}
	for _, id := range []string{"", "\x00", "campaign/a\x00", "campaign\x00/a", "\x00campaign/a"} {
		_, err := s.Get(ctx, id, "k")
		isStoreError(t, fmt.Sprintf("Get(identity %q)", id), err)
		isStoreError(t, fmt.Sprintf("Scan(identity %q)", id), s.Scan(ctx, id, "", noop))
		isStoreError(t, fmt.Sprintf("Apply(identity %q)", id), s.Apply(ctx, id, []dialerd.Op{dialerd.Set("k", []byte("v"))}))
	}
	for _, index := range []string{"", "\x00", "idx\x00", "i\x00dx"} {
		isStoreError(t, fmt.Sprintf("ScanIndex(index %q)", index), s.ScanIndex(ctx, index, "", noop))
		isStoreError(t, fmt.Sprintf("Apply(IndexSet %q)", index), s.Apply(ctx, "campaign/a", []dialerd.Op{dialerd.IndexSet(index, "k", nil)}))
		isStoreError(t, fmt.Sprintf("Apply(IndexDelete %q)", index), s.Apply(ctx, "campaign/a", []dialerd.Op{dialerd.IndexDelete(index, "k")}))
	}
	// Nothing at all was written by the rejected calls: identity "campaign/a"
	// (the prefix of "campaign/a\x00") and index "idx" are empty.
	if got := scan(t, s, "campaign/a", ""); len(got) != 0 {
		t.Errorf("rejected writes left data: %q", got)
	}
	for _, index := range []string{"idx", "i", "k"} {
		if got := scanIndex(t, s, index, ""); len(got) != 0 {
			t.Errorf("rejected writes left index entries in %q: %q", index, got)
		}
	}
}

func TestApplyIsAtomic(t *testing.T) {
	bad := map[string]dialerd.Op{
		"IndexSet empty index":    dialerd.IndexSet("", "k", []byte("v")),
		"IndexDelete empty index": dialerd.IndexDelete("", "k"),
		"IndexSet index with NUL": dialerd.IndexSet("idx\x00", "k", []byte("v")),
		"zero Op":                 {},
		"unknown OpKind":          {Kind: 99, Key: "k", Value: []byte("v")},
		"OpKind after last":       {Kind: dialerd.OpIndexDelete + 1, Key: "k"},
	}
	for name, badOp := range bad {
		t.Run(name, func(t *testing.T) {
			s := persistence.MustOpenStore(t)
			const id = "campaign/a"
			apply(t, s, id,
				dialerd.Set("old", []byte("old")),
				dialerd.Set("keep", []byte("keep")),
				dialerd.IndexSet("idx", "old", []byte("old")))
			before := scan(t, s, id, "")
			beforeIdx := scanIndex(t, s, "idx", "")

			for _, pos := range []string{"first", "middle", "last"} {
				good := []dialerd.Op{
					dialerd.Set("new", []byte("new")),
					dialerd.Set("old", []byte("changed")),
					dialerd.Delete("keep"),
					dialerd.IndexSet("idx", "new", []byte("new")),
					dialerd.IndexDelete("idx", "old"),
					dialerd.DeleteAll(),
					dialerd.Set("after-delete-all", []byte("x")),
				}
				var ops []dialerd.Op
				switch pos {
				case "first":
					ops = append([]dialerd.Op{badOp}, good...)
				case "middle":
					ops = append(append(slices.Clone(good[:3]), badOp), good[3:]...)
				case "last":
					ops = append(good, badOp)
				}
				if err := s.Apply(ctx, id, ops); err == nil {
					t.Fatalf("%s: Apply with a bad op succeeded", pos)
				}
				if got := scan(t, s, id, ""); !slices.Equal(got, before) {
					t.Fatalf("%s: a failed Apply changed the data: %q, want %q", pos, got, before)
				}
				if got := scanIndex(t, s, "idx", ""); !slices.Equal(got, beforeIdx) {
					t.Fatalf("%s: a failed Apply changed the index: %q, want %q", pos, got, beforeIdx)
				}
			}
			// And the store still works.
			apply(t, s, id, dialerd.Set("new", []byte("new")))
			if got := get(t, s, id, "new"); string(got) != "new" {
				t.Fatalf("after failed Applies, Get = %q", got)
			}
		})
	}
}

// Identities that share a string prefix, including ones in the same shard,
// never see one another's keys.
func TestIdentitiesAreIsolated(t *testing.T) {
	s := persistence.MustOpenStore(t)
	ids := []string{
		"campaign/a",
		"campaign/ab",
		"campaign/a\x01",
		"campaign/a\x01\x01",
		"campaign/a\xff",
		"campaign/",
		"campaign",
		"c",
		sameShardExtension(t, "campaign/a"),
		sameShardExtension(t, "campaign/ab"),
		sameShardExtension(t, "campaign"),
		identityInShard(t, "campaign/a", true),
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	// Keys that, glued after an identity and the separator, look like the
	// start of another identity's keys.
	keys := []string{"", "k", "k\x00", "\x00", "\x00k", "\x01", "\x01\x00k", "\x01k", "b", "b\x00k", "\xff", "\xff\xff\xff\xff"}
	value := func(id, k string) []byte { return []byte(fmt.Sprintf("%q=%q", id, k)) }
	for _, id := range ids {
		var ops []dialerd.Op
		for _, k := range keys {
			ops = append(ops, dialerd.Set(k, value(id, k)))
		}
		ops = append(ops, dialerd.Set("own:"+id, value(id, "own:"+id)))
		apply(t, s, id, ops...)
	}
	for _, id := range ids {
		var want []kv
		for _, k := range append(slices.Clone(keys), "own:"+id) {
			want = append(want, kv{k, string(value(id, k))})
		}
		sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
		if got := scan(t, s, id, ""); !slices.Equal(got, want) {
			t.Errorf("Scan(%q) =\n%q\nwant\n%q", id, got, want)
		}
		for _, k := range keys {
			if got := get(t, s, id, k); !bytes.Equal(got, value(id, k)) {
				t.Errorf("Get(%q, %q) = %q, want %q", id, k, got, value(id, k))
			}
		}
		for _, other := range ids {
			if other == id {
				continue
			}
			if got := get(t, s, id, "own:"+other); got != nil {
				t.Errorf("Get(%q, own key of %q) = %q, want nil", id, other, got)
			}
			// A key equal to the rest of a longer identity's name.
			if rest, ok := strings.CutPrefix(other, id); ok {
				for _, k := range []string{rest, rest + "\x00", rest + "\x00k"} {
					if slices.Contains(keys, k) {
						continue
					}
					if got := get(t, s, id, k); got != nil {
						t.Errorf("Get(%q, %q) = %q: leaks %q", id, k, got, other)
					}
				}
			}
		}
	}
	// Prefix scans stay inside the identity too.
	for _, id := range ids {
		for _, p := range []string{"\x00", "\x01", "\xff", "own:"} {
			for _, e := range scan(t, s, id, p) {
				if !strings.HasPrefix(e.Value, fmt.Sprintf("%q=", id)) {
					t.Errorf("Scan(%q, %q) returned %q from another identity", id, p, e)
				}
			}
		}
	}
}

func TestScan(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const id = "campaign/a"
	keys := []string{"a", "ab", "abc", "abd", "ac", "b", "a\x00", "a\x00b", "a\xff", "a\xff\xff", "\xff", "\xff\xff", "", "\x00", "B", "aa"}
	var ops []dialerd.Op
	for _, k := range keys {
		ops = append(ops, dialerd.Set(k, []byte("v:"+k)))
	}
	apply(t, s, id, ops...)
	// Noise: other identities with the same keys, some sharing a prefix
	// and a shard with id.
	for _, other := range []string{"campaign/ab", "campaign/", sameShardExtension(t, id), identityInShard(t, id, true)} {
		var ops []dialerd.Op
		for _, k := range keys {
			ops = append(ops, dialerd.Set(k, []byte("other")), dialerd.Set("a-other", []byte("other")))
		}
		apply(t, s, other, ops...)
	}
	sorted := slices.Sorted(slices.Values(keys))
	for _, p := range []string{"", "a", "ab", "abc", "abcd", "a\x00", "a\xff", "a\xff\xff", "a\xff\xff\xff", "\xff", "\x00", "b", "z", "A", "B"} {
		var want []kv
		for _, k := range sorted {
			if strings.HasPrefix(k, p) {
				want = append(want, kv{k, "v:" + k})
			}
		}
		if got := scan(t, s, id, p); !slices.Equal(got, want) {
			t.Errorf("Scan(%q) =\n%q\nwant\n%q", p, got, want)
		}
	}

	// The callback's error stops the scan and is returned as is.
	errStop := errors.New("stop")
	n := 0
	err := s.Scan(ctx, id, "", func(string, []byte) error {
		n++
		if n == 3 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("Scan returned %v, want the callback's error", err)
	}
	if n != 3 {
		t.Fatalf("Scan called fn %d times after it failed at 3", n)
	}
	// Scan of an identity with no data.
	if got := scan(t, s, "campaign/empty", ""); len(got) != 0 {
		t.Fatalf("Scan of an empty identity = %q", got)
	}
}

func TestDeleteAll(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const target = "campaign/a"
	others := []string{
		"campaign/ab",                      // string prefix
		"campaign/",                        // target extends it
		"campaign/a\x01",                   // right after the separator
		sameShardExtension(t, target),      // same shard and string prefix
		identityInShard(t, target, true),   // same shard
		identityInShard(t, target, false),  // another shard
		sameShardExtension(t, "campaign/"), // same shard as "campaign/"
	}
	others = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(others))), func(id string) bool { return id == target })
	keys := []string{"", "doc", "k\x00", "\x00", "\xff\xff\xff\xff", "z"}
	write := func(id string) {
		var ops []dialerd.Op
		for _, k := range keys {
			ops = append(ops, dialerd.Set(k, []byte(id)))
		}
		ops = append(ops, dialerd.IndexSet("campaign.all", id, []byte(id)), dialerd.IndexSet("campaign/a", id, []byte(id)))
		apply(t, s, id, ops...)
	}
	write(target)
	for _, o := range others {
		write(o)
	}
	for _, flush := range []bool{false, true} {
		if flush {
			// Deleting data that already sits in an sstable.
			write(target)
			if err := persistence.FlushForTest(s); err != nil {
				t.Fatal(err)
			}
		}
		apply(t, s, target, dialerd.DeleteAll())
		if got := scan(t, s, target, ""); len(got) != 0 {
			t.Fatalf("after DeleteAll, Scan = %q", got)
		}
		for _, k := range keys {
			if got := get(t, s, target, k); got != nil {
				t.Fatalf("after DeleteAll, Get(%q) = %q", k, got)
			}
		}
		for _, o := range others {
			if got := scan(t, s, o, ""); len(got) != len(keys) {
				t.Fatalf("DeleteAll of %q removed data of %q: %q", target, o, got)
			}
			for _, k := range keys {
				if got := get(t, s, o, k); string(got) != o {
					t.Fatalf("DeleteAll of %q: Get(%q, %q) = %q", target, o, k, got)
				}
			}
		}
		// Index entries, its own included, are untouched; so is an index
		// named like the identity.
		for _, index := range []string{"campaign.all", "campaign/a"} {
			if got := scanIndex(t, s, index, ""); len(got) != len(others)+1 {
				t.Fatalf("DeleteAll touched index %q: %d entries, want %d", index, len(got), len(others)+1)
			}
		}
	}
	if err := persistence.CompactForTest(s); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, s, target, ""); len(got) != 0 {
		t.Fatalf("after compaction, deleted data is back: %q", got)
	}

	// In one batch, ops after DeleteAll survive it, those before do not.
	apply(t, s, target, dialerd.Set("before", []byte("1")), dialerd.DeleteAll(), dialerd.Set("after", []byte("2")))
	if got, want := scan(t, s, target, ""), []kv{{"after", "2"}}; !slices.Equal(got, want) {
		t.Fatalf("Set, DeleteAll, Set in a batch: Scan = %q, want %q", got, want)
	}
	// DeleteAll of an identity with nothing is fine.
	apply(t, s, "campaign/never-written", dialerd.DeleteAll())
}

func TestIndex(t *testing.T) {
	s := persistence.MustOpenStore(t)
	apply(t, s, "campaign/a",
		dialerd.Set("doc", []byte("data")),
		dialerd.IndexSet("idx", "k1", []byte("v1")),
		dialerd.IndexSet("idx", "k2", []byte("v2")),
		dialerd.IndexSet("idx2", "k1", []byte("other index")),
		dialerd.IndexSet("id", "k1", []byte("shorter index")),
		dialerd.IndexSet("idx\x01", "k1", []byte("index right after")),
		dialerd.IndexSet("campaign/a", "k1", []byte("index named like an identity")),
	)
	if got, want := scanIndex(t, s, "idx", ""), []kv{{"k1", "v1"}, {"k2", "v2"}}; !slices.Equal(got, want) {
		t.Fatalf("ScanIndex(idx) = %q, want %q", got, want)
	}
	for index, want := range map[string]string{"idx2": "other index", "id": "shorter index", "idx\x01": "index right after", "campaign/a": "index named like an identity"} {
		if got := scanIndex(t, s, index, ""); !slices.Equal(got, []kv{{"k1", want}}) {
			t.Errorf("ScanIndex(%q) = %q, want k1=%q", index, got, want)
		}
	}
	// Index entries are not data and data is not index entries.
	if got, want := scan(t, s, "campaign/a", ""), []kv{{"doc", "data"}}; !slices.Equal(got, want) {
		t.Errorf("Scan(campaign/a) = %q, want only its data %q", got, want)
	}
	if got := get(t, s, "campaign/a", "k1"); got != nil {
		t.Errorf("Get sees an index entry: %q", got)
	}
	if got := scanIndex(t, s, "doc", ""); len(got) != 0 {
		t.Errorf("ScanIndex(doc) sees data: %q", got)
	}
	// Overwrite and delete.
	apply(t, s, "campaign/a", dialerd.IndexSet("idx", "k1", []byte("v1b")), dialerd.IndexDelete("idx", "k2"), dialerd.IndexDelete("idx", "absent"))
	if got, want := scanIndex(t, s, "idx", ""), []kv{{"k1", "v1b"}}; !slices.Equal(got, want) {
		t.Fatalf("after IndexSet/IndexDelete, ScanIndex(idx) = %q, want %q", got, want)
	}
	// The same entry set and deleted in one batch: the last op wins.
	apply(t, s, "campaign/a", dialerd.IndexSet("idx", "t", nil), dialerd.IndexDelete("idx", "t"))
	apply(t, s, "campaign/a", dialerd.IndexDelete("idx", "u"), dialerd.IndexSet("idx", "u", []byte("u")))
	if got, want := scanIndex(t, s, "idx", ""), []kv{{"k1", "v1b"}, {"u", "u"}}; !slices.Equal(got, want) {
		t.Fatalf("ScanIndex(idx) = %q, want %q", got, want)
	}
	// Index entries of "idx" written through other indexes are untouched.
	if got := scanIndex(t, s, "idx2", ""); len(got) != 1 {
		t.Fatalf("ScanIndex(idx2) = %q", got)
	}
}

// indexFixture writes, from n identities spread over many shards, entries
// of index "all" (key: slug) and "ws" (key: workspace 0x00 slug), the
// layout campaign grains use.
type indexEntry struct {
	key, value, writer string
}

func writeIndexFixture(t *testing.T, s dialerd.Store, from, to int) (all, ws []indexEntry) {
	t.Helper()
	for i := from; i < to; i++ {
		slug := fmt.Sprintf("c%04d", i)
		id := "campaign/" + slug
		w := fmt.Sprintf("ws%d", i%3)
		apply(t, s, id,
			dialerd.Set("doc", []byte(slug)),
			dialerd.IndexSet("all", slug, []byte(id)),
			dialerd.IndexSet("ws", w+"\x00"+slug, []byte(id)),
		)
		all = append(all, indexEntry{slug, id, id})
		ws = append(ws, indexEntry{w + "\x00" + slug, id, id})
	}
	return all, ws
}

// wantIndexScan is what ScanIndex must return: entries of one shard in key
// order, shards in turn.
func wantIndexScan(entries []indexEntry, prefix string) []kv {
	var sel []indexEntry
	for _, e := range entries {
		if strings.HasPrefix(e.key, prefix) {
			sel = append(sel, e)
		}
	}
	sort.Slice(sel, func(i, j int) bool {
		si, sj := persistence.ShardOf(sel[i].writer), persistence.ShardOf(sel[j].writer)
		if si != sj {
			return si < sj
		}
		return sel[i].key < sel[j].key
	})
	out := make([]kv, len(sel))
	for i, e := range sel {
		out[i] = kv{e.key, e.value}
	}
	return out
}

func TestScanIndexAcrossShards(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const n = 400
	// Half of the entries in sstables, half in the memtable.
	all, ws := writeIndexFixture(t, s, 0, n/2)
	if err := persistence.FlushForTest(s); err != nil {
		t.Fatal(err)
	}
	all2, ws2 := writeIndexFixture(t, s, n/2, n)
	all, ws = append(all, all2...), append(ws, ws2...)
	shards := map[uint16]bool{}
	for _, e := range all {
		shards[persistence.ShardOf(e.writer)] = true
	}
	// A uniform hash would spread 400 identities over ~202 of 256 shards.
	t.Logf("%d identities write index entries from %d shards", n, len(shards))
	if len(shards) < 100 {
		t.Fatalf("fixture covers only %d shards", len(shards))
	}

	got := scanIndex(t, s, "all", "")
	if len(got) != n {
		t.Fatalf("ScanIndex(all) returned %d entries, want %d", len(got), n)
	}
	seen := map[string]int{}
	for _, e := range got {
		seen[e.Key]++
	}
	for _, e := range all {
		if seen[e.key] != 1 {
			t.Errorf("entry %q seen %d times", e.key, seen[e.key])
		}
	}
	if want := wantIndexScan(all, ""); !slices.Equal(got, want) {
		t.Fatalf("ScanIndex(all) is not in shard-then-key order")
	}
	for _, p := range []string{"c01", "c0", "c039", "c0399", "c04", "x", "\x00"} {
		if got, want := scanIndex(t, s, "all", p), wantIndexScan(all, p); !slices.Equal(got, want) {
			t.Errorf("ScanIndex(all, %q) = %d entries %q\nwant %d entries %q", p, len(got), got, len(want), want)
		}
	}
	for _, p := range []string{"ws1\x00", "ws1", "ws2\x00c00", "ws", "ws3"} {
		if got, want := scanIndex(t, s, "ws", p), wantIndexScan(ws, p); !slices.Equal(got, want) {
			t.Errorf("ScanIndex(ws, %q) = %d entries, want %d", p, len(got), len(want))
		}
	}
	if got := scanIndex(t, s, "ws1", ""); len(got) != 0 {
		t.Errorf("ScanIndex(ws1) sees entries of index ws: %q", got)
	}

	// Deleting entries from a few identities removes exactly those.
	var left []indexEntry
	for i, e := range all {
		if i%7 == 0 {
			apply(t, s, e.writer, dialerd.IndexDelete("all", e.key))
		} else {
			left = append(left, e)
		}
	}
	if got, want := scanIndex(t, s, "all", ""), wantIndexScan(left, ""); !slices.Equal(got, want) {
		t.Fatalf("after deletes, ScanIndex(all) = %d entries, want %d", len(got), len(want))
	}

	// The callback's error stops the scan and is returned as is.
	errStop := errors.New("stop")
	calls := 0
	err := s.ScanIndex(ctx, "all", "", func(string, []byte) error {
		calls++
		if calls == 5 {
			return errStop
		}
		return nil
	})
	if err != errStop || calls != 5 {
		t.Fatalf("ScanIndex with failing callback = (%v, %d calls), want (stop, 5)", err, calls)
	}
}

func TestScanIndexContext(t *testing.T) {
	s := persistence.MustOpenStore(t)
	all, _ := writeIndexFixture(t, s, 0, 300)

	// Already cancelled: no entry is visited.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls := 0
	err := s.ScanIndex(cctx, "all", "", func(string, []byte) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Fatalf("ScanIndex with cancelled ctx = (%v, %d calls), want (context.Canceled, 0)", err, calls)
	}
	dctx, cancel2 := context.WithTimeout(ctx, -1)
	defer cancel2()
	if err := s.ScanIndex(dctx, "all", "", func(string, []byte) error { calls++; return nil }); !errors.Is(err, context.DeadlineExceeded) || calls != 0 {
		t.Fatalf("ScanIndex with expired ctx = (%v, %d calls), want (context.DeadlineExceeded, 0)", err, calls)
	}

	// Cancelled during the scan: it stops at the latest at the end of the
	// shard being read.
	perShard := map[uint16]int{}
	for _, e := range all {
		perShard[persistence.ShardOf(e.writer)]++
	}
	cctx, cancel = context.WithCancel(ctx)
	defer cancel()
	calls = 0
	var firstShard uint16
	err = s.ScanIndex(cctx, "all", "", func(k string, _ []byte) error {
		if calls == 0 {
			firstShard = persistence.ShardOf("campaign/" + k)
			cancel()
		}
		calls++
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanIndex cancelled midway returned %v, want context.Canceled", err)
	}
	if calls > perShard[firstShard] || calls >= len(all) {
		t.Fatalf("ScanIndex went on for %d entries after cancel (first shard holds %d, total %d)", calls, perShard[firstShard], len(all))
	}
}

func TestDurability(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSync=%v", noSync), func(t *testing.T) {
			dir := t.TempDir()
			opts := persistence.Options{Dir: dir, NoSync: noSync}
			s := persistence.MustOpen(t, opts)
			all, _ := writeIndexFixture(t, s, 0, 50)
			apply(t, s, "campaign/x", dialerd.Set("doc", []byte("x")), dialerd.Set("gone", []byte("x")), dialerd.IndexSet("idx", "x", []byte("x")))
			apply(t, s, "campaign/x", dialerd.Delete("gone"))
			persistence.CloseForTest(t, s)

			s = persistence.MustOpen(t, opts)
			if got := get(t, s, "campaign/x", "doc"); string(got) != "x" {
				t.Fatalf("after reopen Get = %q, want x", got)
			}
			if got := get(t, s, "campaign/x", "gone"); got != nil {
				t.Fatalf("after reopen a deleted key is back: %q", got)
			}
			if got, want := scanIndex(t, s, "all", ""), wantIndexScan(all, ""); !slices.Equal(got, want) {
				t.Fatalf("after reopen ScanIndex(all) = %d entries, want %d", len(got), len(want))
			}
			for _, e := range all {
				if got := get(t, s, e.writer, "doc"); string(got) != e.key {
					t.Fatalf("after reopen Get(%q) = %q", e.writer, got)
				}
			}
			// Deletes are durable too: range deletion and index deletion.
			apply(t, s, "campaign/x", dialerd.DeleteAll(), dialerd.IndexDelete("idx", "x"))
			persistence.CloseForTest(t, s)

			s = persistence.MustOpen(t, opts)
			if got := scan(t, s, "campaign/x", ""); len(got) != 0 {
				t.Fatalf("after reopen DeleteAll is undone: %q", got)
			}
			if got := scanIndex(t, s, "idx", ""); len(got) != 0 {
				t.Fatalf("after reopen IndexDelete is undone: %q", got)
			}
			if got := scanIndex(t, s, "all", ""); len(got) != len(all) {
				t.Fatalf("after reopen ScanIndex(all) = %d entries", len(got))
			}
		})
	}
}

// Concurrent writers on distinct identities and concurrent readers: run
// with -race.
func TestConcurrent(t *testing.T) {
	s := persistence.MustOpenStore(t)
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("campaign/w%d", w)
			for i := range perWriter {
				k := fmt.Sprintf("k%03d", i)
				ops := []dialerd.Op{dialerd.Set(k, []byte(k)), dialerd.IndexSet("all", id+"\x00"+k, nil)}
				if err := s.Apply(ctx, id, ops); err != nil {
					errs <- err
					return
				}
				if v, err := s.Get(ctx, id, k); err != nil || string(v) != k {
					errs <- fmt.Errorf("Get(%q, %q) = (%q, %v) right after Apply", id, k, v, err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.ScanIndex(ctx, "all", "", func(string, []byte) error { return nil }); err != nil {
				errs <- err
				return
			}
			if err := s.Scan(ctx, "campaign/w0", "", func(string, []byte) error { return nil }); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := scanIndex(t, s, "all", ""); len(got) != writers*perWriter {
		t.Fatalf("ScanIndex(all) = %d entries, want %d", len(got), writers*perWriter)
	}
	for w := range writers {
		if got := scan(t, s, fmt.Sprintf("campaign/w%d", w), ""); len(got) != perWriter {
			t.Fatalf("writer %d: %d keys, want %d", w, len(got), perWriter)
		}
	}
}
