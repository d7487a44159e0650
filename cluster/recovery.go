package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dialerd/dialerd"
	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// copyChunk bounds one message of a whole-shard copy.
const copyChunk = 1 << 20

var errCanceled = errors.New("canceled")

// recover hands shard s over to this node at s.Epoch (docs/cluster.md,
// "Hand-over"): promises from a majority of the stable set, the newest copy
// among them, a barrier through a majority of the new replica set, the
// lease wait, then the established record. It retries until it succeeds or
// the map moves on (ctx is canceled).
func (r *Replication) recover(ctx context.Context, rt *shardRT, s shardmap.Shard) {
	defer r.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		err := r.handOver(ctx, rt, s)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Info("hand-over incomplete; retrying", "shard", rt.id, "epoch", s.Epoch, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func (r *Replication) handOver(ctx context.Context, rt *shardRT, s shardmap.Shard) error {
	e := s.Epoch
	// 1. Promises from a majority of the stable set; remember who holds
	// what. Importing holders don't count: their copy is incomplete.
	var holders []holder
	// Ask every member at once: one that is down but not yet declared dead
	// must not hold up the others for a whole request timeout.
	type answer struct {
		n      shardmap.NodeID
		st     persistence.ShardState
		ok     bool
		fenced bool
	}
	answers := make(chan answer, len(s.Stable))
	for _, n := range s.Stable {
		go func(n shardmap.NodeID) {
			if n == r.cfg.Self {
				st, err := r.promiseLocal(rt, e)
				answers <- answer{n: n, st: st, ok: err == nil, fenced: err != nil}
				return
			}
			res, err := r.net.call(n, &pb.PromiseRequest{Shard: uint32(rt.id), Epoch: e}, r.cfg.RequestTimeout)
			rep, isRep := res.(*pb.PromiseReply)
			switch {
			case err != nil || !isRep:
				answers <- answer{n: n}
			case rep.Status == pb.Status_STATUS_FENCED:
				answers <- answer{n: n, fenced: true}
			default:
				answers <- answer{n: n, ok: rep.Status == pb.Status_STATUS_OK,
					st: persistence.ShardState{Epoch: rep.Epoch, Seq: rep.Seq, Importing: rep.Importing}}
			}
		}(n)
	}
	fenced := false
	for range s.Stable {
		a := <-answers
		fenced = fenced || a.fenced
		if a.ok && !a.st.Importing {
			holders = append(holders, holder{a.n, a.st.Epoch, a.st.Seq})
		}
	}
	if fenced {
		return errors.New("a newer epoch was promised")
	}
	if ctx.Err() != nil {
		return errCanceled
	}
	if len(holders) < shardmap.Majority(len(s.Stable)) {
		return errors.New("no majority of the stable set answered")
	}
	// Every promise is now in force: an old owner's last lease renewal was
	// acknowledged by at least one of these nodes before it promised, so
	// that lease ends within Lease of this instant.
	promised := r.now()
	best := pickNewest(holders)
	reps := append([]shardmap.NodeID(nil), s.Replicas...)
	if err := func() error {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		// 2. Take the newest copy if another node holds it.
		if best.id != r.cfg.Self && (best.epoch != rt.state.Epoch || best.seq != rt.state.Seq) {
			if err := r.pull(ctx, rt, best.id, e, persistence.ShardState{Promised: e, Epoch: best.epoch, Seq: best.seq}); err != nil {
				return err
			}
		}
		// 3. A barrier at the new epoch through a majority of the new
		// replica set; replicas that lack history get a whole copy first.
		rt.replicas.Store(&reps)
		rt.epoch.Store(e)
		return r.barrierLocked(ctx, rt, reps, e)
	}(); err != nil {
		return err
	}
	// 4. Wait out any read lease the previous owner may still hold (none
	// can, when this node alone held the shard: its previous run is gone,
	// Pebble's lock saw to that).
	alone := len(s.Stable) == 1 && s.Stable[0] == r.cfg.Self
	if wait := time.Duration(promised + int64(r.cfg.Lease) - r.now()); wait > 0 && !alone {
		select {
		case <-ctx.Done():
			return errCanceled
		case <-time.After(wait):
		}
	}
	// 5. Record the epoch as established, then serve.
	if !s.Established() {
		if err := r.ctl.establish(int(rt.id), e); err != nil {
			return err
		}
		for {
			m := r.ctl.Map()
			if len(m.Shards) > int(rt.id) {
				cur := m.Shards[rt.id]
				if cur.Epoch != e {
					return errCanceled
				}
				if cur.Established() {
					break
				}
			}
			select {
			case <-ctx.Done():
				return errCanceled
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if ctx.Err() != nil {
		return errCanceled
	}
	rt.leaseUntil.Store(r.now() + int64(r.cfg.Lease))
	rt.serving.Store(true)
	r.mu.Lock()
	if rt.recovering == e {
		rt.recovering, rt.cancel = 0, nil
	}
	r.mu.Unlock()
	r.log.Debug("serving shard", "shard", rt.id, "epoch", e, "replicas", reps, "seq", rt.state.Seq)
	if fn := r.onServing.Load(); fn != nil {
		go (*fn)(rt.id)
	}
	return nil
}

func (r *Replication) promiseLocal(rt *shardRT, e uint64) (persistence.ShardState, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ok, next := promiseVerdict(rt.state, e)
	if !ok {
		return rt.state, errors.New("a newer epoch was promised here")
	}
	if next != rt.state {
		if err := r.local.SetShardState(rt.id, next); err != nil {
			return rt.state, err
		}
		rt.state = next
	}
	return next, nil
}

// barrierLocked writes an empty batch at epoch e through a majority of
// reps. rt.mu is held.
func (r *Replication) barrierLocked(ctx context.Context, rt *shardRT, reps []shardmap.NodeID, e uint64) error {
	prev := rt.state
	next := persistence.ShardState{Promised: max(prev.Promised, e), Epoch: e, Seq: prev.Seq + 1}
	if err := r.local.SetShardState(rt.id, next); err != nil {
		return err
	}
	rt.state = next
	rt.head.Store(next.Seq)
	if len(reps) == 1 {
		return nil
	}
	req := &pb.ReplicateRequest{Shard: uint32(rt.id), Epoch: e, Seq: next.Seq, PrevEpoch: prev.Epoch, PrevSeq: prev.Seq}
	var gaps []shardmap.NodeID
	acks, fenced := r.fanout(reps, len(reps), func(n shardmap.NodeID) (pb.Status, error) {
		res, err := r.net.call(n, req, r.cfg.RequestTimeout)
		if err != nil {
			r.log.Debug("barrier", "shard", rt.id, "to", n, "err", err)
			return 0, err
		}
		rep, ok := res.(*pb.ReplicateReply)
		if !ok {
			r.log.Debug("barrier: bad reply", "shard", rt.id, "to", n, "reply", fmt.Sprintf("%T", res))
			return 0, errors.New("bad reply")
		}
		return rep.Status, nil
	}, func(n shardmap.NodeID, st pb.Status, err error) {
		if err == nil && st == pb.Status_STATUS_GAP {
			gaps = append(gaps, n)
		} else if err == nil && st == pb.Status_STATUS_OK {
			rt.ackedUpTo(n, next.Seq)
		}
	})
	if fenced {
		return errors.New("fenced during the barrier")
	}
	for _, n := range gaps {
		if ctx.Err() != nil {
			return errCanceled
		}
		if err := r.pushLocked(rt, n, e); err != nil {
			r.log.Info("copy to replica failed", "shard", rt.id, "to", n, "err", err)
			continue
		}
		rt.ackedUpTo(n, rt.state.Seq)
		acks++
	}
	if acks+1 < shardmap.Majority(len(reps)) {
		return errors.New("no majority of the new replica set took the barrier")
	}
	return nil
}

// pull replaces this node's copy of the shard with from's. rt.mu is held.
func (r *Replication) pull(ctx context.Context, rt *shardRT, from shardmap.NodeID, e uint64, final persistence.ShardState) error {
	if err := r.local.BeginImport(rt.id, e); err != nil {
		return err
	}
	rt.state = persistence.ShardState{Promised: e, Importing: true}
	var after []byte
	for {
		if ctx.Err() != nil {
			return errCanceled
		}
		res, err := r.net.call(from, &pb.ExportRequest{Shard: uint32(rt.id), After: after, MaxBytes: copyChunk, Epoch: e}, 30*time.Second)
		if err != nil {
			return err
		}
		rep, ok := res.(*pb.ExportReply)
		if !ok || rep.Status != pb.Status_STATUS_OK {
			return errors.New("export refused")
		}
		kvs := make([]persistence.KV, len(rep.Kvs))
		for i, kv := range rep.Kvs {
			kvs[i] = persistence.KV{Key: kv.Key, Value: kv.Value}
		}
		if len(kvs) > 0 {
			if err := r.local.ImportChunk(rt.id, kvs); err != nil {
				return err
			}
		}
		if rep.Done {
			break
		}
		after = rep.Last
	}
	if err := r.local.EndImport(rt.id, final); err != nil {
		return err
	}
	rt.state = final
	r.log.Info("took shard copy", "shard", rt.id, "from", from, "epoch", final.Epoch, "seq", final.Seq)
	return nil
}

// pushLocked sends this node's whole copy of the shard to a replica.
// rt.mu is held, so the copy is consistent: no write runs meanwhile.
func (r *Replication) pushLocked(rt *shardRT, to shardmap.NodeID, e uint64) error {
	call := func(req *pb.ImportRequest) error {
		res, err := r.net.call(to, req, 30*time.Second)
		if err != nil {
			return err
		}
		if rep, ok := res.(*pb.ImportReply); !ok || rep.Status != pb.Status_STATUS_OK {
			return errors.New("import refused")
		}
		return nil
	}
	if err := call(&pb.ImportRequest{Shard: uint32(rt.id), Epoch: e, Phase: 0}); err != nil {
		return err
	}
	var after []byte
	for {
		var kvs []*pb.KV
		last, done, err := r.local.ExportShard(rt.id, after, copyChunk, func(k, v []byte) {
			kvs = append(kvs, &pb.KV{Key: k, Value: v})
		})
		if err != nil {
			return err
		}
		if len(kvs) > 0 {
			if err := call(&pb.ImportRequest{Shard: uint32(rt.id), Epoch: e, Phase: 1, Kvs: kvs}); err != nil {
				return err
			}
		}
		if done {
			break
		}
		after = last
	}
	return call(&pb.ImportRequest{Shard: uint32(rt.id), Epoch: e, Phase: 2, StateEpoch: rt.state.Epoch, StateSeq: rt.state.Seq})
}

// repair copies the shard to a replica that reported a gap, if this node
// still serves the shard at epoch e.
func (r *Replication) repair(rt *shardRT, to shardmap.NodeID, e uint64) {
	defer r.wg.Done()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.serving.Load() || rt.epoch.Load() != e {
		return
	}
	if err := r.pushLocked(rt, to, e); err != nil {
		r.log.Info("repair copy failed", "shard", rt.id, "to", to, "err", err)
		return
	}
	rt.ackedUpTo(to, rt.state.Seq)
	r.log.Info("repaired replica", "shard", rt.id, "to", to, "seq", rt.state.Seq)
}

// heartbeats renews read leases: every Lease/4, each peer is asked to
// confirm the shards it replicates for this node; a shard whose majority
// confirmed keeps serving reads, a fenced one is given up.
func (r *Replication) heartbeats() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Lease / 4)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		byPeer := map[shardmap.NodeID][]*pb.ShardEpoch{}
		for _, rt := range r.shards {
			if !rt.serving.Load() {
				continue
			}
			for _, n := range *rt.replicas.Load() {
				if n != r.cfg.Self {
					byPeer[n] = append(byPeer[n], &pb.ShardEpoch{Shard: uint32(rt.id), Epoch: rt.epoch.Load()})
				}
			}
		}
		if len(byPeer) == 0 {
			continue
		}
		start := r.now()
		type result struct {
			shards []*pb.ShardEpoch
			fenced map[uint32]bool
			ok     bool
		}
		ch := make(chan result, len(byPeer))
		for n, shards := range byPeer {
			go func(n shardmap.NodeID, shards []*pb.ShardEpoch) {
				res, err := r.net.call(n, &pb.HeartbeatRequest{Shards: shards}, r.cfg.Lease/2)
				rep, ok := res.(*pb.HeartbeatReply)
				if err != nil || !ok {
					ch <- result{shards: shards}
					return
				}
				f := map[uint32]bool{}
				for _, s := range rep.Fenced {
					f[s] = true
				}
				ch <- result{shards, f, true}
			}(n, shards)
		}
		acks := map[uint32]int{}
		for range byPeer {
			res := <-ch
			for _, s := range res.shards {
				if res.fenced[s.Shard] {
					r.demote(r.shards[s.Shard], "fenced (heartbeat)")
				} else if res.ok {
					acks[s.Shard]++
				}
			}
		}
		for sh, n := range acks {
			rt := r.shards[sh]
			if reps := rt.replicas.Load(); reps != nil && n+1 >= shardmap.Majority(len(*reps)) {
				rt.leaseUntil.Store(start + int64(r.cfg.Lease))
			}
		}
	}
}

// Handle answers a peer's request (replica side, and reads at this owner).
func (r *Replication) Handle(msg any) any {
	switch m := msg.(type) {
	case *pb.ReplicateRequest:
		return r.onReplicate(m)
	case *pb.PromiseRequest:
		return r.onPromise(m)
	case *pb.ExportRequest:
		return r.onExport(m)
	case *pb.ImportRequest:
		return r.onImport(m)
	case *pb.HeartbeatRequest:
		rep := &pb.HeartbeatReply{}
		for _, s := range m.Shards {
			if int(s.Shard) >= len(r.shards) {
				continue
			}
			rt := r.shards[s.Shard]
			rt.mu.Lock()
			if rt.state.Promised > s.Epoch {
				rep.Fenced = append(rep.Fenced, s.Shard)
			}
			rt.mu.Unlock()
		}
		return rep
	case *pb.ReadRequest:
		return r.onRead(m)
	}
	return nil
}

func (r *Replication) shard(id uint32) *shardRT {
	if int(id) >= len(r.shards) {
		return nil
	}
	return r.shards[id]
}

// seeEpoch gives up serving a shard when a peer shows a newer epoch.
func (r *Replication) seeEpoch(rt *shardRT, e uint64) {
	if rt.serving.Load() && e > rt.epoch.Load() {
		r.demote(rt, "a newer epoch was seen")
	}
}

func (r *Replication) onReplicate(m *pb.ReplicateRequest) *pb.ReplicateReply {
	rt := r.shard(m.Shard)
	if rt == nil {
		return &pb.ReplicateReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	r.seeEpoch(rt, m.Epoch)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := rt.state
	verdict, next := replicaVerdict(st, m.Epoch, m.Seq, m.PrevEpoch, m.PrevSeq)
	if verdict != pb.Status_STATUS_OK || next == st {
		return &pb.ReplicateReply{Status: verdict, Promised: st.Promised}
	}
	var err error
	if m.Identity == "" {
		err = r.local.SetShardState(rt.id, next)
	} else {
		err = r.local.ApplyReplicated(m.Identity, opsFromPB(m.Ops), next)
	}
	if err != nil {
		r.log.Error("replica write failed", "shard", rt.id, "err", err)
		return &pb.ReplicateReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	rt.state = next
	return &pb.ReplicateReply{Status: pb.Status_STATUS_OK}
}

func (r *Replication) onPromise(m *pb.PromiseRequest) *pb.PromiseReply {
	rt := r.shard(m.Shard)
	if rt == nil {
		return &pb.PromiseReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	r.seeEpoch(rt, m.Epoch)
	st, err := r.promiseLocal(rt, m.Epoch)
	if err != nil {
		return &pb.PromiseReply{Status: pb.Status_STATUS_FENCED, Promised: st.Promised}
	}
	return &pb.PromiseReply{Status: pb.Status_STATUS_OK, Promised: m.Epoch, Epoch: st.Epoch, Seq: st.Seq, Importing: st.Importing}
}

func (r *Replication) onExport(m *pb.ExportRequest) *pb.ExportReply {
	rt := r.shard(m.Shard)
	if rt == nil {
		return &pb.ExportReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	rt.mu.Lock()
	promised := rt.state.Promised
	rt.mu.Unlock()
	if promised > m.Epoch {
		return &pb.ExportReply{Status: pb.Status_STATUS_FENCED}
	}
	max := int(m.MaxBytes)
	if max <= 0 || max > copyChunk {
		max = copyChunk
	}
	rep := &pb.ExportReply{}
	last, done, err := r.local.ExportShard(rt.id, m.After, max, func(k, v []byte) {
		rep.Kvs = append(rep.Kvs, &pb.KV{Key: k, Value: v})
	})
	if err != nil {
		return &pb.ExportReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	rep.Last, rep.Done = last, done
	return rep
}

func (r *Replication) onImport(m *pb.ImportRequest) *pb.ImportReply {
	rt := r.shard(m.Shard)
	if rt == nil {
		return &pb.ImportReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	r.seeEpoch(rt, m.Epoch)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if m.Epoch < rt.state.Promised {
		return &pb.ImportReply{Status: pb.Status_STATUS_FENCED, Promised: rt.state.Promised}
	}
	var err error
	switch m.Phase {
	case 0:
		if err = r.local.BeginImport(rt.id, m.Epoch); err == nil {
			rt.state = persistence.ShardState{Promised: m.Epoch, Importing: true}
		}
	case 1:
		kvs := make([]persistence.KV, len(m.Kvs))
		for i, kv := range m.Kvs {
			kvs[i] = persistence.KV{Key: kv.Key, Value: kv.Value}
		}
		err = r.local.ImportChunk(rt.id, kvs)
	case 2:
		st := persistence.ShardState{Promised: m.Epoch, Epoch: m.StateEpoch, Seq: m.StateSeq}
		if err = r.local.EndImport(rt.id, st); err == nil {
			rt.state = st
		}
	}
	if err != nil {
		r.log.Error("import failed", "shard", rt.id, "phase", m.Phase, "err", err)
		return &pb.ImportReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	return &pb.ImportReply{Status: pb.Status_STATUS_OK}
}

func (r *Replication) onRead(m *pb.ReadRequest) *pb.ReadReply {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RequestTimeout)
	defer cancel()
	switch m.Kind {
	case pb.ReadKind_READ_GET:
		if err := r.Serving(m.Identity); err != nil {
			return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
		}
		v, err := r.local.Get(ctx, m.Identity, m.Key)
		if err != nil {
			return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: dialerd.ErrorMessage(err)}
		}
		return &pb.ReadReply{Value: v, Found: v != nil}
	case pb.ReadKind_READ_SCAN:
		if err := r.Serving(m.Identity); err != nil {
			return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
		}
		rep := &pb.ReadReply{}
		err := r.local.Scan(ctx, m.Identity, m.Key, func(k string, v []byte) error {
			rep.Kvs = append(rep.Kvs, &pb.KV{Key: []byte(k), Value: v})
			return nil
		})
		if err != nil {
			return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
		}
		return rep
	case pb.ReadKind_READ_SCAN_INDEX:
		rep := &pb.ReadReply{}
		for _, sh := range m.Shards {
			rt := r.shard(sh)
			if rt == nil || !rt.serving.Load() {
				return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
			}
		}
		err := r.local.ScanIndexShards(ctx, toShards(m.Shards), m.Index, m.Key, func(k string, v []byte) error {
			rep.Kvs = append(rep.Kvs, &pb.KV{Key: []byte(k), Value: v})
			return nil
		})
		if err != nil {
			return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
		}
		return rep
	}
	return &pb.ReadReply{Status: pb.Status_STATUS_UNAVAILABLE}
}

func toShards(s []uint32) []uint16 {
	out := make([]uint16, len(s))
	for i, x := range s {
		out[i] = uint16(x)
	}
	return out
}
