package persistence_test

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

func TestShardOfDeterministicAndInRange(t *testing.T) {
	// Pinned values: ShardOf is part of the data format (every key starts
	// with it), so it must never change between builds or releases.
	pinned := map[string]uint16{
		"campaign/spring-promo": 124,
		"token/0":               236,
		"campaign/a":            108,
		"campaign/ab":           87,
		"a":                     179,
	}
	for id, want := range pinned {
		for range 3 {
			if got := persistence.ShardOf(id); got != want {
				t.Fatalf("ShardOf(%q) = %d, want %d (the key format changed)", id, got, want)
			}
		}
		if got := uint16(fmix32(fnv1a32(id)) % persistence.NumShards); got != want {
			t.Fatalf("reference FNV-1a+fmix32 of %q mod NumShards = %d, want %d", id, got, want)
		}
	}
	if persistence.NumShards != 256 {
		t.Fatalf("NumShards = %d: changing it re-homes every key of every existing store", persistence.NumShards)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		if s := persistence.ShardOf(string(b)); s >= persistence.NumShards {
			t.Fatalf("ShardOf(%q) = %d, out of [0, %d)", b, s, persistence.NumShards)
		}
	}
}

// fnv1a32 is an independent FNV-1a, to pin the shard function.
func fnv1a32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// shardCounts returns, for n identities from gen, how many fall into each
// shard.
func shardCounts(n int, gen func(i int) string) []int {
	counts := make([]int, persistence.NumShards)
	for i := range n {
		counts[persistence.ShardOf(gen(i))]++
	}
	return counts
}

func uuidLike(r *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Identities spread over the shards evenly enough for replication to
// balance shards, not identities: with 100k identities of the kinds the
// grains use, every shard holds within ±30% of the mean.
func TestShardOfUniform(t *testing.T) {
	words := []string{"spring", "summer", "autumn", "winter", "promo", "sale", "launch", "survey", "renewal", "reminder", "welcome", "followup", "vip", "retention", "outreach", "q1", "q2", "q3", "q4", "east"}
	families := map[string]func(r *rand.Rand) func(i int) string{
		"campaign/<n>": func(*rand.Rand) func(int) string {
			return func(i int) string { return fmt.Sprintf("campaign/%d", i) }
		},
		"campaign/<n 6 digits>": func(*rand.Rand) func(int) string {
			return func(i int) string { return fmt.Sprintf("campaign/%06d", i) }
		},
		"campaign/<word>-<word>-<n>": func(*rand.Rand) func(int) string {
			return func(i int) string {
				return fmt.Sprintf("campaign/%s-%s-%d", words[i%len(words)], words[(i/len(words))%len(words)], i/(len(words)*len(words)))
			}
		},
		"token/<uuid>": func(r *rand.Rand) func(int) string {
			return func(int) string { return "token/" + uuidLike(r) }
		},
		"campaign/<random slug>": func(r *rand.Rand) func(int) string {
			return func(int) string {
				b := make([]byte, 4+r.IntN(20))
				for i := range b {
					b[i] = "abcdefghijklmnopqrstuvwxyz0123456789-"[r.IntN(37)]
				}
				return "campaign/" + string(b)
			}
		},
	}
	const n = 100000
	mean := float64(n) / persistence.NumShards
	for name, family := range families {
		t.Run(name, func(t *testing.T) {
			counts := shardCounts(n, family(rand.New(rand.NewPCG(42, 7))))
			lo, hi := slices.Min(counts), slices.Max(counts)
			t.Logf("min %d (%+.0f%%), max %d (%+.0f%%), mean %.0f", lo, (float64(lo)/mean-1)*100, hi, (float64(hi)/mean-1)*100, mean)
			for shard, c := range counts {
				if float64(c) < 0.7*mean || float64(c) > 1.3*mean {
					t.Errorf("shard %d holds %d identities, outside ±30%% of the mean %.0f", shard, c, mean)
				}
			}
		})
	}
}

// ShardOf must mix the whole identity into the shard. FNV-1a's low byte
// alone depends only on the low byte of the previous state (16777619 ≡ 0x93
// mod 256), so h % 256 without a finalizer is an 8-bit hash: two identities
// in the same shard would stay together whatever common suffix is appended,
// and sequential identities would clump.
func TestShardOfMixesWholeHash(t *testing.T) {
	// Colliding pairs keep colliding with a common suffix.
	bySh := map[uint16]string{}
	pairs, still := 0, 0
	for i := 0; pairs < 2000; i++ {
		id := fmt.Sprintf("campaign/%d", i)
		sh := persistence.ShardOf(id)
		other, ok := bySh[sh]
		if !ok {
			bySh[sh] = id
			continue
		}
		pairs++
		if persistence.ShardOf(other+"/x") == persistence.ShardOf(id+"/x") {
			still++
		}
	}
	if frac := float64(still) / float64(pairs); frac > 0.05 {
		t.Errorf("%.0f%% of same-shard pairs stay in one shard after appending \"/x\" (a mixing hash: ~0.4%%)", frac*100)
	}
	// Sequential identities of another kind.
	counts := shardCounts(100000, func(i int) string { return fmt.Sprintf("contact/%d", i) })
	mean := 100000.0 / persistence.NumShards
	if lo, hi := slices.Min(counts), slices.Max(counts); float64(lo) < 0.7*mean || float64(hi) > 1.3*mean {
		t.Errorf("contact/<n>: shards hold %d to %d identities, mean %.0f: beyond ±30%%", lo, hi, mean)
	}
	// 400 sequential identities cover few shards.
	seen := map[uint16]bool{}
	for i := range 400 {
		seen[persistence.ShardOf(fmt.Sprintf("campaign/c%04d", i))] = true
	}
	if len(seen) < 180 {
		t.Errorf("400 identities cover %d shards (a uniform hash: ~202)", len(seen))
	}
}

// The data of two identities in different shards (and in the same shard)
// is written and deleted independently: DeleteAll of one identity is a
// range deletion confined to its own shard's key range.
func TestShardsAreIndependent(t *testing.T) {
	s := persistence.MustOpenStore(t)
	// One identity per shard, plus a second identity in shard 0's.
	byShard := make([]string, persistence.NumShards)
	found := 0
	for i := 0; found < persistence.NumShards; i++ {
		id := fmt.Sprintf("campaign/s%d", i)
		if sh := persistence.ShardOf(id); byShard[sh] == "" {
			byShard[sh] = id
			found++
		}
	}
	for sh, id := range byShard {
		apply(t, s, id, dialerd.Set("doc", []byte(id)), dialerd.Set("\xff\xff", []byte(id)), dialerd.IndexSet("all", id, []byte{byte(sh)}))
	}
	// Delete the data of every other shard.
	for sh, id := range byShard {
		if sh%2 == 0 {
			apply(t, s, id, dialerd.DeleteAll())
		}
	}
	for sh, id := range byShard {
		n := len(scan(t, s, id, ""))
		if sh%2 == 0 && n != 0 {
			t.Errorf("shard %d: %q still has %d keys after DeleteAll", sh, id, n)
		} else if sh%2 == 1 && n != 2 {
			t.Errorf("shard %d: %q has %d keys, want 2: a DeleteAll in a neighbouring shard reached it", sh, id, n)
		}
	}
	// ScanIndex visits the shards in order and all of them.
	var order []byte
	if err := s.ScanIndex(ctx, "all", "", func(_ string, v []byte) error { order = append(order, v[0]); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(order) != persistence.NumShards {
		t.Fatalf("ScanIndex visited %d entries, want one per shard (%d)", len(order), persistence.NumShards)
	}
	for i, sh := range order {
		if int(sh) != i {
			t.Fatalf("ScanIndex visited shard %d at position %d: shards not in turn", sh, i)
		}
	}
}

// fmix32 is murmur3's finalizer, written out independently of the code
// under test.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
