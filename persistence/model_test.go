package persistence_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

var seedFlag = flag.Uint64("seed", 0, "seed of TestModel (default: $DIALERD_SEED, else the time)")

// modelSeed returns the seed to replay (from -seed or DIALERD_SEED) or a
// fresh one.
func modelSeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if env := os.Getenv("DIALERD_SEED"); env != "" {
		seed, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			t.Fatalf("DIALERD_SEED=%q: %v", env, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// model is what the store should hold.
type model struct {
	data  map[string]map[string]string                // identity -> key -> value
	index map[string]map[string]struct{ w, v string } // index -> key -> writer, value
}

func (m *model) apply(identity string, ops []dialerd.Op) {
	for _, op := range ops {
		switch op.Kind {
		case dialerd.OpSet:
			if m.data[identity] == nil {
				m.data[identity] = map[string]string{}
			}
			m.data[identity][op.Key] = string(op.Value)
		case dialerd.OpDelete:
			delete(m.data[identity], op.Key)
		case dialerd.OpDeleteAll:
			delete(m.data, identity)
		case dialerd.OpIndexSet:
			if m.index[op.Index] == nil {
				m.index[op.Index] = map[string]struct{ w, v string }{}
			}
			m.index[op.Index][op.Key] = struct{ w, v string }{identity, string(op.Value)}
		case dialerd.OpIndexDelete:
			delete(m.index[op.Index], op.Key)
		}
	}
}

func fmtOps(ops []dialerd.Op) string {
	var b strings.Builder
	for _, op := range ops {
		switch op.Kind {
		case dialerd.OpSet:
			fmt.Fprintf(&b, "Set(%q,%q) ", op.Key, op.Value)
		case dialerd.OpDelete:
			fmt.Fprintf(&b, "Delete(%q) ", op.Key)
		case dialerd.OpDeleteAll:
			b.WriteString("DeleteAll() ")
		case dialerd.OpIndexSet:
			fmt.Fprintf(&b, "IndexSet(%q,%q,%q) ", op.Index, op.Key, op.Value)
		case dialerd.OpIndexDelete:
			fmt.Fprintf(&b, "IndexDelete(%q,%q) ", op.Index, op.Key)
		default:
			fmt.Fprintf(&b, "%+v ", op)
		}
	}
	return b.String()
}

// TestModel applies a seeded random sequence of batches over a handful of
// identities (sharing string prefixes and shards) and, after each, checks
// Get, Scan and ScanIndex against a map model. Now and then it flushes,
// compacts or closes and reopens the on-disk store. Replay a failure with
// go test ./persistence -run TestModel -seed=N (or DIALERD_SEED=N).
func TestModel(t *testing.T) {
	seeds := []uint64{1, modelSeed(t)}
	if *seedFlag != 0 || os.Getenv("DIALERD_SEED") != "" {
		seeds = seeds[1:]
	}
	steps := 400
	if testing.Short() || raceEnabled {
		steps = 120
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d: replay with -seed=%d or DIALERD_SEED=%d", seed, seed, seed)
			runModel(t, seed, steps)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ids := []string{
		"campaign/a", "campaign/ab", "campaign/a\x01", "campaign/b",
		sameShardExtension(t, "campaign/a"),
		identityInShard(t, "campaign/a", true),
		identityInShard(t, "campaign/a", false),
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	indexes := []string{"idx", "idx2", "id"}
	// Keys of up to 3 bytes over an alphabet with the boundary bytes.
	randKey := func() string {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = "ab\x00\xff"[r.IntN(4)]
		}
		return string(b)
	}
	randValue := func() []byte {
		if r.IntN(10) == 0 {
			return nil
		}
		return []byte(fmt.Sprintf("v%d", r.IntN(1000)))
	}

	dir := t.TempDir()
	opts := persistence.Options{Dir: dir, NoSync: true}
	s := persistence.MustOpen(t, opts)
	m := &model{data: map[string]map[string]string{}, index: map[string]map[string]struct{ w, v string }{}}

	for step := range steps {
		idi := r.IntN(len(ids))
		id := ids[idi]
		// Index keys carry the writer, as grains' keys do (they embed the
		// slug), so entries of different identities never collide.
		indexKey := func() string { return randKey() + "#" + strconv.Itoa(idi) }
		var ops []dialerd.Op
		for range 1 + r.IntN(4) {
			switch p := r.IntN(100); {
			case p < 40:
				ops = append(ops, dialerd.Set(randKey(), randValue()))
			case p < 55:
				ops = append(ops, dialerd.Delete(randKey()))
			case p < 60:
				ops = append(ops, dialerd.DeleteAll())
			case p < 85:
				ops = append(ops, dialerd.IndexSet(indexes[r.IntN(len(indexes))], indexKey(), randValue()))
			default:
				// Mostly delete an entry that exists.
				index := indexes[r.IntN(len(indexes))]
				k := indexKey()
				var own []string
				for ek, e := range m.index[index] {
					if e.w == id {
						own = append(own, ek)
					}
				}
				if len(own) > 0 && r.IntN(4) != 0 {
					slices.Sort(own) // replayable: not map order
					k = own[r.IntN(len(own))]
				}
				ops = append(ops, dialerd.IndexDelete(index, k))
			}
		}
		invalid := r.IntN(20) == 0
		if invalid {
			bad := []dialerd.Op{dialerd.IndexSet("", "k", nil), dialerd.IndexDelete("x\x00", "k"), {Kind: 42}}[r.IntN(3)]
			ops = slices.Insert(ops, r.IntN(len(ops)+1), bad)
		}
		err := s.Apply(ctx, id, ops)
		if invalid && err == nil {
			t.Fatalf("step %d: Apply(%q, %s) with an invalid op succeeded", step, id, fmtOps(ops))
		} else if !invalid && err != nil {
			t.Fatalf("step %d: Apply(%q, %s): %v", step, id, fmtOps(ops), err)
		}
		if !invalid {
			m.apply(id, ops)
		}

		switch p := r.IntN(100); {
		case p < 3:
			if err := persistence.FlushForTest(s); err != nil {
				t.Fatal(err)
			}
		case p < 4:
			if err := persistence.CompactForTest(s); err != nil {
				t.Fatal(err)
			}
		case p < 6:
			persistence.CloseForTest(t, s)
			s = persistence.MustOpen(t, opts)
		}

		// ScanIndex reads 256 shards: check the indexes this batch wrote
		// after every step, all of them every 10 steps.
		check := indexes
		if step%10 != 9 && step != steps-1 {
			check = nil
			for _, op := range ops {
				if op.Index != "" && slices.Contains(indexes, op.Index) && !slices.Contains(check, op.Index) {
					check = append(check, op.Index)
				}
			}
		}
		if msg := checkModel(t, s, m, ids, check, randKey); msg != "" {
			t.Fatalf("seed %d step %d after Apply(%q, %s) (invalid=%v):\n%s", seed, step, id, fmtOps(ops), invalid, msg)
		}
	}
}

// checkModel compares the store with the model (all identities, the given
// indexes); it returns what differs.
func checkModel(t *testing.T, s dialerd.Store, m *model, ids, indexes []string, randKey func() string) string {
	t.Helper()
	for _, id := range ids {
		want := m.data[id]
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		})
		for _, p := range []string{"", randKey(), randKey()} {
			var exp []kv
			for _, k := range keys {
				if strings.HasPrefix(k, p) {
					exp = append(exp, kv{k, want[k]})
				}
			}
			if got := scan(t, s, id, p); !slices.Equal(got, exp) {
				return fmt.Sprintf("Scan(%q, %q) =\n  %q\nwant\n  %q", id, p, got, exp)
			}
		}
		for _, k := range append(keys, randKey(), randKey()) {
			got := get(t, s, id, k)
			w, ok := want[k]
			if !bytes.Equal(got, []byte(w)) || (!ok && got != nil) {
				return fmt.Sprintf("Get(%q, %q) = %q, want %q (present %v)", id, k, got, w, ok)
			}
		}
	}
	for _, index := range indexes {
		var entries []indexEntry
		for k, e := range m.index[index] {
			entries = append(entries, indexEntry{key: k, value: e.v, writer: e.w})
		}
		for _, p := range []string{"", randKey(), randKey()} {
			exp := wantIndexScan(entries, p)
			if got := scanIndex(t, s, index, p); !slices.Equal(got, exp) {
				return fmt.Sprintf("ScanIndex(%q, %q) =\n  %q\nwant\n  %q", index, p, got, exp)
			}
		}
	}
	return ""
}
