// Package shardmap is the pure core of placement: who owns each shard, who
// replicates it, at which epoch, and how that changes when nodes come and
// go. The Raft group of package cluster holds a Map; its leader computes the
// next one with Plan. Nothing here does I/O.
//
// Safety rests on three rules, argued in docs/cluster.md:
//   - every change of a shard's owner or replica set bumps its epoch;
//   - a new epoch's owner first gathers the newest state from a majority of
//     the shard's Stable set (the replica set of the last established epoch),
//     brings a majority of its own replica set up to it, and only then asks
//     for its epoch to be established (Stable := Replicas);
//   - replicas refuse writes from epochs older than the newest they promised.
package shardmap

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
)

// NodeID is a node's persistent identity (kept in its data directory).
type NodeID string

// Shard is one shard's placement.
type Shard struct {
	Epoch    uint64   `json:"e"`
	Owner    NodeID   `json:"o"`
	Replicas []NodeID `json:"r"` // the owner first
	// StableEpoch and Stable are the last established epoch and its replica
	// set: the nodes known to hold every acknowledged write.
	StableEpoch uint64   `json:"se"`
	Stable      []NodeID `json:"s"`
}

// Map is the whole placement.
type Map struct {
	Version uint64  `json:"v"`
	Shards  []Shard `json:"shards"`
}

// Initial is the map of a new cluster whose first node is id: it owns
// every shard, established, with nothing to recover.
func Initial(id NodeID, shards int) Map {
	m := Map{Version: 1, Shards: make([]Shard, shards)}
	for i := range m.Shards {
		m.Shards[i] = Shard{Epoch: 1, Owner: id, Replicas: []NodeID{id}, StableEpoch: 1, Stable: []NodeID{id}}
	}
	return m
}

// Clone returns a deep copy.
func (m Map) Clone() Map {
	c := Map{Version: m.Version, Shards: make([]Shard, len(m.Shards))}
	for i, s := range m.Shards {
		c.Shards[i] = s
		c.Shards[i].Replicas = append([]NodeID(nil), s.Replicas...)
		c.Shards[i].Stable = append([]NodeID(nil), s.Stable...)
	}
	return c
}

// Rank orders nodes for a shard by rendezvous hashing: removing a node only
// changes the shards it ranked high in, adding one only takes the shards it
// outranks everyone in.
func Rank(shard int, nodes []NodeID) []NodeID {
	type scored struct {
		id    NodeID
		score uint64
	}
	s := make([]scored, len(nodes))
	var buf [2]byte
	binary.BigEndian.PutUint16(buf[:], uint16(shard))
	for i, n := range nodes {
		h := fnv.New64a()
		h.Write(buf[:])
		h.Write([]byte(n))
		s[i] = scored{n, mix64(h.Sum64())}
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].score != s[j].score {
			return s[i].score > s[j].score
		}
		return s[i].id < s[j].id
	})
	out := make([]NodeID, len(s))
	for i := range s {
		out[i] = s[i].id
	}
	return out
}

// mix64 is the murmur3 64-bit finalizer: FNV alone mixes trailing bytes
// poorly.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// Plan returns the placement for the live nodes: for each shard the top
// min(r, live) nodes by rank, the first of them owning it. A shard whose
// owner or replica set changes gets the next epoch; Stable is never changed
// here (only Establish does). With no live node nothing changes.
func Plan(cur Map, live []NodeID, r int) Map {
	next := cur.Clone()
	if len(live) == 0 || r < 1 {
		return next
	}
	n := r
	if len(live) < n {
		n = len(live)
	}
	changed := false
	for i := range next.Shards {
		want := Rank(i, live)[:n]
		s := &next.Shards[i]
		if s.Owner == want[0] && sameSet(s.Replicas, want) {
			continue
		}
		s.Epoch++
		s.Owner = want[0]
		s.Replicas = want
		changed = true
	}
	if changed {
		next.Version++
	}
	return next
}

// Establish records that shard's owner at epoch finished its hand-over: its
// replica set becomes the stable set. It reports false (and changes
// nothing) when the shard has moved on to another epoch.
func (m *Map) Establish(shard int, epoch uint64) bool {
	if shard < 0 || shard >= len(m.Shards) {
		return false
	}
	s := &m.Shards[shard]
	if s.Epoch != epoch {
		return false
	}
	if s.StableEpoch == epoch {
		return true
	}
	s.StableEpoch = epoch
	s.Stable = append([]NodeID(nil), s.Replicas...)
	m.Version++
	return true
}

// Majority is the number of nodes of a set of n that form a majority.
func Majority(n int) int { return n/2 + 1 }

// Established reports whether the shard's current epoch has finished its
// hand-over, so its owner may serve.
func (s Shard) Established() bool { return s.StableEpoch == s.Epoch }

// Has reports whether id is among the shard's replicas.
func (s Shard) Has(id NodeID) bool {
	for _, r := range s.Replicas {
		if r == id {
			return true
		}
	}
	return false
}

func sameSet(a, b []NodeID) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[NodeID]bool, len(a))
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}
