package cluster

import (
	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// The replica's rules, pure so they can be tested on their own
// (fencing_test.go): the code that applies them only adds disk and locks.

// replicaVerdict decides what a replica in state st does with a batch
// (epoch, seq) that follows (prevEpoch, prevSeq), and the state it moves to
// when it applies it.
func replicaVerdict(st persistence.ShardState, epoch, seq, prevEpoch, prevSeq uint64) (pb.Status, persistence.ShardState) {
	switch {
	case epoch < st.Promised:
		return pb.Status_STATUS_FENCED, st // a deposed owner
	case st.Importing:
		return pb.Status_STATUS_GAP, st // our copy is incomplete
	case st.Epoch == epoch && st.Seq == seq:
		return pb.Status_STATUS_OK, st // a duplicate of the last batch
	case st.Epoch != prevEpoch || st.Seq != prevSeq:
		return pb.Status_STATUS_GAP, st // not the batch we hold before it
	}
	return pb.Status_STATUS_OK, persistence.ShardState{Promised: max(st.Promised, epoch), Epoch: epoch, Seq: seq}
}

// promiseVerdict decides whether a replica in state st promises epoch, and
// the state it moves to.
func promiseVerdict(st persistence.ShardState, epoch uint64) (bool, persistence.ShardState) {
	if epoch < st.Promised {
		return false, st
	}
	st.Promised = epoch
	return true, st
}

// newer reports whether (e1, s1) is newer than (e2, s2).
func newer(e1, s1, e2, s2 uint64) bool { return e1 > e2 || e1 == e2 && s1 > s2 }

// holder is a node's answer to a promise: what it holds of the shard.
type holder struct {
	id         shardmap.NodeID
	epoch, seq uint64
}

// pickNewest returns the holder with the newest (epoch, seq): by the
// contiguity of replica chains, it holds every batch any other holder of
// that majority acknowledged.
func pickNewest(hs []holder) holder {
	best := hs[0]
	for _, h := range hs[1:] {
		if newer(h.epoch, h.seq, best.epoch, best.seq) {
			best = h
		}
	}
	return best
}
