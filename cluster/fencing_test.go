package cluster

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/persistence"
)

var fenceSeed = flag.Uint64("fence-seed", 0, "replay TestFencingRandomized with this seed")

type st = persistence.ShardState

func TestReplicaVerdict(t *testing.T) {
	ok, fenced, gap := pb.Status_STATUS_OK, pb.Status_STATUS_FENCED, pb.Status_STATUS_GAP
	cases := []struct {
		name               string
		in                 st
		epoch, seq, pe, ps uint64
		want               pb.Status
		next               st
	}{
		{"next batch of the same epoch", st{Promised: 2, Epoch: 2, Seq: 5}, 2, 6, 2, 5, ok, st{Promised: 2, Epoch: 2, Seq: 6}},
		{"first batch of a new epoch", st{Promised: 2, Epoch: 2, Seq: 5}, 3, 6, 2, 5, ok, st{Promised: 3, Epoch: 3, Seq: 6}},
		{"older epoch than promised", st{Promised: 3, Epoch: 2, Seq: 5}, 2, 6, 2, 5, fenced, st{Promised: 3, Epoch: 2, Seq: 5}},
		{"duplicate of the last batch", st{Promised: 2, Epoch: 2, Seq: 6}, 2, 6, 2, 5, ok, st{Promised: 2, Epoch: 2, Seq: 6}},
		{"missed a batch", st{Promised: 2, Epoch: 2, Seq: 4}, 2, 6, 2, 5, gap, st{Promised: 2, Epoch: 2, Seq: 4}},
		{"diverged tail of an old epoch", st{Promised: 2, Epoch: 2, Seq: 6}, 3, 6, 2, 5, gap, st{Promised: 2, Epoch: 2, Seq: 6}},
		{"copy in progress", st{Promised: 3, Importing: true}, 3, 1, 0, 0, gap, st{Promised: 3, Importing: true}},
		{"empty replica, first batch", st{}, 1, 1, 0, 0, ok, st{Promised: 1, Epoch: 1, Seq: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, next := replicaVerdict(c.in, c.epoch, c.seq, c.pe, c.ps)
			if got != c.want || next != c.next {
				t.Fatalf("replicaVerdict(%+v, e%d s%d after e%d s%d) = %v %+v, want %v %+v", c.in, c.epoch, c.seq, c.pe, c.ps, got, next, c.want, c.next)
			}
		})
	}
	if ok, _ := promiseVerdict(st{Promised: 4}, 3); ok {
		t.Fatal("promised an older epoch")
	}
	if ok, next := promiseVerdict(st{Promised: 3, Epoch: 3, Seq: 9}, 4); !ok || next != (st{Promised: 4, Epoch: 3, Seq: 9}) {
		t.Fatalf("promise of a newer epoch: %v %+v", ok, next)
	}
}

func TestPickNewest(t *testing.T) {
	hs := []holder{{"a", 3, 7}, {"b", 3, 9}, {"c", 2, 40}}
	if got := pickNewest(hs); got.id != "b" {
		t.Fatalf("newest of %v = %v, want b (same epoch, higher seq beats an older epoch's higher seq)", hs, got)
	}
	hs = []holder{{"a", 2, 40}, {"b", 4, 1}}
	if got := pickNewest(hs); got.id != "b" {
		t.Fatalf("newest of %v = %v, want b (newer epoch)", hs, got)
	}
}

// simReplica is a replica in the simulation: its state and the chain of
// batch IDs it holds, in order.
type simReplica struct {
	state st
	chain []string
}

// TestFencingRandomized drives the replica rules with owners that come and
// go (new epochs), lost messages and deposed owners that keep writing, and
// checks the safety property after every hand-over: every acknowledged
// batch is in the new owner's copy, and no deposed owner gets a batch
// acknowledged after the promises of a newer epoch.
func TestFencingRandomized(t *testing.T) {
	seed := *fenceSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./cluster -run TestFencingRandomized -fence-seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for run := 0; run < 2000; run++ {
		const n = 3
		reps := make([]*simReplica, n)
		for i := range reps {
			reps[i] = &simReplica{state: st{Promised: 1, Epoch: 1}}
		}
		type owner struct {
			id    int
			epoch uint64
			state st
			chain []string
		}
		cur := &owner{id: 0, epoch: 1, state: reps[0].state}
		var old []*owner // deposed owners that may still try to write
		acked := map[string]bool{}
		epoch := uint64(1)
		reach := func() bool { return rng.IntN(3) != 0 } // a message gets through 2 times in 3

		write := func(o *owner) {
			id := fmt.Sprintf("e%d-s%d-%d", o.epoch, o.state.Seq+1, rng.IntN(1000))
			prev := o.state
			next := st{Promised: max(prev.Promised, o.epoch), Epoch: o.epoch, Seq: prev.Seq + 1}
			// The owner applies locally first (its own replica).
			self := reps[o.id]
			if v, s := replicaVerdict(self.state, next.Epoch, next.Seq, prev.Epoch, prev.Seq); v == pb.Status_STATUS_OK {
				self.state, self.chain = s, append(append([]string(nil), o.chain...), id)
			} else if v == pb.Status_STATUS_FENCED {
				return // the owner learns it was deposed
			}
			o.state, o.chain = next, append(append([]string(nil), o.chain...), id)
			acks := 1
			for i, r := range reps {
				if i == o.id || !reach() {
					continue
				}
				v, s := replicaVerdict(r.state, next.Epoch, next.Seq, prev.Epoch, prev.Seq)
				if v == pb.Status_STATUS_OK && s != r.state {
					r.state, r.chain = s, append(append([]string(nil), r.chain...), id)
				}
				if v == pb.Status_STATUS_OK {
					acks++
				}
				if v == pb.Status_STATUS_GAP && reach() { // the owner repairs it with a whole copy
					r.state, r.chain = st{Promised: max(r.state.Promised, o.epoch), Epoch: next.Epoch, Seq: next.Seq}, append([]string(nil), o.chain...)
					acks++
				}
			}
			if acks >= 2 {
				acked[id] = true
			}
		}

		for step := 0; step < 80; step++ {
			switch rng.IntN(5) {
			case 0: // a new epoch: hand-over to a random node
				epoch++
				newID := rng.IntN(n)
				// Promises from whoever is reached, retried until a majority.
				var holders []int
				for len(holders) < 2 {
					holders = holders[:0]
					for i, r := range reps {
						if i == newID || reach() {
							if ok, s := promiseVerdict(r.state, epoch); ok {
								r.state = s
								holders = append(holders, i)
							}
						}
					}
				}
				best := holders[0]
				for _, h := range holders[1:] {
					if newer(reps[h].state.Epoch, reps[h].state.Seq, reps[best].state.Epoch, reps[best].state.Seq) {
						best = h
					}
				}
				o := &owner{id: newID, epoch: epoch, state: reps[best].state, chain: append([]string(nil), reps[best].chain...)}
				o.state.Promised = epoch
				self := reps[newID]
				self.state, self.chain = o.state, append([]string(nil), o.chain...)
				for id := range acked {
					found := false
					for _, c := range o.chain {
						if c == id {
							found = true
						}
					}
					if !found {
						t.Fatalf("seed %d run %d step %d: acknowledged batch %s missing from the new owner's copy at epoch %d (holders %v)", seed, run, step, id, epoch, holders)
					}
				}
				// Barrier through a majority (copying where needed).
				for done := 1; done < 2; {
					for i, r := range reps {
						if i == newID || !reach() {
							continue
						}
						v, s := replicaVerdict(r.state, epoch, o.state.Seq+1, o.state.Epoch, o.state.Seq)
						if v == pb.Status_STATUS_GAP {
							r.state, r.chain, v = o.state, append([]string(nil), o.chain...), pb.Status_STATUS_OK
							_, s = replicaVerdict(r.state, epoch, o.state.Seq+1, o.state.Epoch, o.state.Seq)
						}
						if v == pb.Status_STATUS_OK {
							r.state = s
							done++
						}
					}
				}
				o.state = st{Promised: epoch, Epoch: epoch, Seq: o.state.Seq + 1}
				self.state = o.state
				old = append(old, cur)
				cur = o
			case 1: // a deposed owner tries to write
				if len(old) > 0 {
					o := old[rng.IntN(len(old))]
					before := len(acked)
					write(o)
					if len(acked) != before {
						t.Fatalf("seed %d run %d step %d: a deposed owner (epoch %d) got a write acknowledged after epoch %d's promises", seed, run, step, o.epoch, epoch)
					}
				}
			default:
				write(cur)
			}
		}
	}
}
