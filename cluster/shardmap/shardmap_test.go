package shardmap

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "replay TestPlanRandomized with this seed")

func ids(n int) []NodeID {
	out := make([]NodeID, n)
	for i := range out {
		out[i] = NodeID(fmt.Sprintf("node-%d", i))
	}
	return out
}

func TestInitial(t *testing.T) {
	m := Initial("a", 8)
	for i, s := range m.Shards {
		if s.Owner != "a" || len(s.Replicas) != 1 || !s.Established() || s.Epoch != 1 {
			t.Fatalf("shard %d: %+v", i, s)
		}
	}
}

func TestRankIsStableUnderRemoval(t *testing.T) {
	nodes := ids(6)
	for shard := 0; shard < 256; shard++ {
		full := Rank(shard, nodes)
		// Removing the last-ranked node keeps everyone else's order.
		part := Rank(shard, without(nodes, full[5]))
		for i := range part {
			if part[i] != full[i] {
				t.Fatalf("shard %d: order changed after removing the last-ranked node: %v vs %v", shard, full, part)
			}
		}
	}
}

func TestRankSpreadsOwnership(t *testing.T) {
	nodes := ids(4)
	count := map[NodeID]int{}
	for shard := 0; shard < 256; shard++ {
		count[Rank(shard, nodes)[0]]++
	}
	for _, n := range nodes {
		if c := count[n]; c < 40 || c > 90 {
			t.Fatalf("node %s owns %d of 256 shards: %v", n, c, count)
		}
	}
}

func TestPlanTable(t *testing.T) {
	a, b, c := NodeID("a"), NodeID("b"), NodeID("c")
	m := Initial(a, 16)
	// Same live set: nothing changes, version included.
	if p := Plan(m, []NodeID{a}, 3); p.Version != m.Version {
		t.Fatalf("no-op plan bumped the version")
	}
	// Growing to three nodes with r=3: every shard has all three, epoch 2,
	// Stable untouched.
	p := Plan(m, []NodeID{a, b, c}, 3)
	for i, s := range p.Shards {
		if len(s.Replicas) != 3 || s.Epoch != 2 || s.Owner != s.Replicas[0] || s.Established() || len(s.Stable) != 1 || s.Stable[0] != a {
			t.Fatalf("shard %d after growth: %+v", i, s)
		}
	}
	// r=1: one replica per shard.
	if s := Plan(m, []NodeID{a, b, c}, 1).Shards[0]; len(s.Replicas) != 1 {
		t.Fatalf("r=1: %+v", s)
	}
	// Establish.
	if !p.Establish(0, 2) || !p.Shards[0].Established() || len(p.Shards[0].Stable) != 3 {
		t.Fatalf("establish: %+v", p.Shards[0])
	}
	if p.Establish(1, 1) || p.Shards[1].Established() {
		t.Fatalf("establishing a past epoch succeeded")
	}
	// Losing the owner of shard 0 moves ownership to a surviving replica.
	owner := p.Shards[0].Owner
	q := Plan(p, without([]NodeID{a, b, c}, owner), 3)
	if s := q.Shards[0]; s.Owner == owner || !contains(p.Shards[0].Replicas, s.Owner) || s.Epoch != 3 {
		t.Fatalf("after losing the owner: %+v (was %+v)", s, p.Shards[0])
	}
}

// TestPlanRandomized runs seeded sequences of joins, crashes and
// establishments and checks Plan's invariants after every step.
func TestPlanRandomized(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./cluster/shardmap -run TestPlanRandomized -seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	all := ids(9)
	for run := 0; run < 50; run++ {
		r := 1 + rng.IntN(3)
		live := []NodeID{all[0]}
		m := Initial(all[0], 64)
		for step := 0; step < 60; step++ {
			prev := m.Clone()
			switch op := rng.IntN(3); {
			case op == 0 && len(live) < len(all):
				for _, n := range all {
					if !contains(live, n) {
						live = append(live, n)
						break
					}
				}
			case op == 1 && len(live) > 1:
				live = without(live, live[rng.IntN(len(live))])
			default:
				sh := rng.IntN(len(m.Shards))
				m.Establish(sh, m.Shards[sh].Epoch)
				prev = m.Clone()
			}
			m = Plan(m, live, r)
			checkPlan(t, seed, prev, m, live, r)
		}
	}
}

func checkPlan(t *testing.T, seed uint64, prev, m Map, live []NodeID, r int) {
	t.Helper()
	want := r
	if len(live) < want {
		want = len(live)
	}
	changed := false
	for i, s := range m.Shards {
		p := prev.Shards[i]
		fail := func(msg string) {
			t.Fatalf("seed %d shard %d: %s\nprev %+v\nnext %+v\nlive %v r %d", seed, i, msg, p, s, live, r)
		}
		if len(s.Replicas) != want {
			fail("wrong replica count")
		}
		if s.Owner != s.Replicas[0] {
			fail("owner is not the first replica")
		}
		for _, n := range s.Replicas {
			if !contains(live, n) {
				fail("a replica is not live")
			}
		}
		moved := p.Owner != s.Owner || !sameSet(p.Replicas, s.Replicas)
		if moved != (s.Epoch == p.Epoch+1) || (!moved && s.Epoch != p.Epoch) {
			fail("epoch does not follow the change")
		}
		changed = changed || moved
		if s.StableEpoch != p.StableEpoch || !sameSet(s.Stable, p.Stable) {
			fail("Plan changed the stable set")
		}
		// Minimal movement: a shard none of whose replicas left keeps its
		// owner unless a newcomer outranks it.
		if !moved {
			continue
		}
		lost := false
		for _, n := range p.Replicas {
			if !contains(live, n) {
				lost = true
			}
		}
		grew := len(p.Replicas) < want
		newcomer := false
		for _, n := range s.Replicas {
			if !contains(p.Replicas, n) {
				newcomer = true
			}
		}
		if !lost && !grew && !newcomer && len(p.Replicas) == want {
			fail("moved although nothing relevant changed")
		}
	}
	if changed != (m.Version == prev.Version+1) {
		t.Fatalf("seed %d: version %d → %d, changed %v", seed, prev.Version, m.Version, changed)
	}
}

func without(list []NodeID, x NodeID) []NodeID {
	var out []NodeID
	for _, n := range list {
		if n != x {
			out = append(out, n)
		}
	}
	return out
}

func contains(list []NodeID, x NodeID) bool {
	for _, n := range list {
		if n == x {
			return true
		}
	}
	return false
}
