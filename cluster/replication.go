package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerd/dialerd"
	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// LocalStore is this node's Pebble store, with the shard-level operations
// replication needs.
type LocalStore interface {
	dialerd.Store
	ShardState(shard uint16) (persistence.ShardState, error)
	SetShardState(shard uint16, st persistence.ShardState) error
	ApplyReplicated(identity string, ops []dialerd.Op, st persistence.ShardState) error
	ExportShard(shard uint16, after []byte, maxBytes int, fn func(key, value []byte)) ([]byte, bool, error)
	BeginImport(shard uint16, promised uint64) error
	ImportChunk(shard uint16, kvs []persistence.KV) error
	EndImport(shard uint16, st persistence.ShardState) error
	ScanIndexShards(ctx context.Context, shards []uint16, index, prefix string, fn func(string, []byte) error) error
}

// ReplicationConfig configures the data plane.
type ReplicationConfig struct {
	Self  shardmap.NodeID
	Local LocalStore
	// Lease is how long a majority's acknowledgement lets an owner answer
	// reads without asking again; a new owner waits it out before serving.
	Lease time.Duration
	// RequestTimeout bounds one request to a peer.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// transport sends a message to the replica endpoint of a node.
type transport interface {
	call(node shardmap.NodeID, msg any, timeout time.Duration) (any, error)
}

// Replication is the data plane: it owns, for every shard, this node's
// role (owner serving an epoch, or replica), writes batches through a
// majority of the replica set, recovers a shard when this node becomes its
// owner, answers other owners as a replica, and keeps owner read leases.
type Replication struct {
	cfg    ReplicationConfig
	log    *slog.Logger
	local  LocalStore
	net    transport
	ctl    establisher
	base   time.Time
	shards [persistence.NumShards]*shardRT
	// onLost is told when this node stops serving a shard, so its grains
	// stop at once.
	onLost func(shard uint16)
	// onServing is told when this node starts serving a shard (after a
	// start, a takeover or a hand-over to it), so work the shard holds can
	// be picked up at once.
	onServing atomic.Pointer[func(shard uint16)]

	mu      sync.Mutex
	current shardmap.Map                 // guarded by mu
	snap    atomic.Pointer[shardmap.Map] // the same map, read without mu on the request path
	stop    chan struct{}
	wg      sync.WaitGroup
}

// establisher records an epoch as established (forwarding to the Raft
// leader when needed) and reports the newest map.
type establisher interface {
	establish(shard int, epoch uint64) error
	Map() shardmap.Map
}

// shardRT is one shard's runtime state on this node.
type shardRT struct {
	id uint16
	mu sync.Mutex // serialises writes, replica applies and copies of this shard

	state persistence.ShardState // as persisted; guarded by mu

	// Owner side.
	serving    atomic.Bool
	epoch      atomic.Uint64 // the epoch served (valid when serving)
	leaseUntil atomic.Int64  // ns since base
	replicas   atomic.Pointer[[]shardmap.NodeID]
	acked      sync.Map           // NodeID → *atomic.Uint64: highest seq each replica acknowledged
	head       atomic.Uint64      // seq of the last batch written here as owner
	recovering uint64             // epoch a recovery runs for; guarded by Replication.mu
	cancel     context.CancelFunc // of that recovery
}

// NewReplication loads every shard's state.
func NewReplication(cfg ReplicationConfig) (*Replication, error) {
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 3 * time.Second
	}
	r := &Replication{cfg: cfg, log: cfg.Logger.With("component", "replication"), local: cfg.Local,
		base: dialerd.Stopwatch(), stop: make(chan struct{}), onLost: func(uint16) {}}
	for i := range r.shards {
		st, err := cfg.Local.ShardState(uint16(i))
		if err != nil {
			return nil, err
		}
		r.shards[i] = &shardRT{id: uint16(i), state: st}
	}
	return r, nil
}

func (r *Replication) now() int64 { return int64(time.Since(r.base)) }

func (r *Replication) start(net transport, ctl establisher, onLost func(uint16)) {
	r.net, r.ctl, r.onLost = net, ctl, onLost
	r.wg.Add(1)
	go r.heartbeats()
}

// OnServing sets the function told when this node starts serving a
// shard; it runs on its own goroutine.
func (r *Replication) OnServing(fn func(shard uint16)) { r.onServing.Store(&fn) }

func (r *Replication) close() {
	close(r.stop)
	r.mu.Lock()
	for _, rt := range r.shards {
		if rt.cancel != nil {
			rt.cancel()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// OnMap reacts to a new shard map: start recovering shards this node now
// owns, stop serving shards it no longer owns.
func (r *Replication) OnMap(m shardmap.Map) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Version < r.current.Version {
		return
	}
	r.current = m
	r.snap.Store(&m)
	for i, s := range m.Shards {
		rt := r.shards[i]
		if s.Owner != r.cfg.Self {
			if rt.recovering != 0 {
				rt.cancel()
				rt.recovering, rt.cancel = 0, nil
			}
			r.demote(rt, "owner moved to "+string(s.Owner))
			continue
		}
		if rt.serving.Load() && rt.epoch.Load() == s.Epoch {
			continue
		}
		if rt.recovering == s.Epoch {
			continue
		}
		if rt.recovering != 0 {
			rt.cancel()
		}
		r.demote(rt, "new epoch")
		ctx, cancel := context.WithCancel(context.Background())
		rt.recovering, rt.cancel = s.Epoch, cancel
		r.wg.Add(1)
		go r.recover(ctx, rt, s)
	}
}

// demote stops serving a shard (if it was served).
func (r *Replication) demote(rt *shardRT, why string) {
	if rt.serving.Swap(false) {
		r.log.Info("stopped serving shard", "shard", rt.id, "epoch", rt.epoch.Load(), "why", why)
		r.onLost(rt.id)
	}
}

// Serving reports whether this node may answer for identity now: it owns
// the shard at an established epoch and holds a read lease.
func (r *Replication) Serving(identity string) error {
	rt := r.shards[persistence.ShardOf(identity)]
	if !rt.serving.Load() {
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "This node does not serve %s right now; try again.", identity)
	}
	if reps := rt.replicas.Load(); reps != nil && len(*reps) > 1 && r.now() > rt.leaseUntil.Load() {
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "Cannot confirm ownership of %s with a majority; try again.", identity)
	}
	return nil
}

// Epoch returns the epoch at which this node serves identity's shard (0
// when it does not serve it): the fencing token of what it does for the
// identity, rising with every change of owner.
func (r *Replication) Epoch(identity string) uint64 {
	rt := r.shards[persistence.ShardOf(identity)]
	if !rt.serving.Load() {
		return 0
	}
	return rt.epoch.Load()
}

// Owner returns the owner of identity's shard in the newest map.
func (r *Replication) Owner(identity string) (shardmap.NodeID, uint16) {
	sh := persistence.ShardOf(identity)
	return r.ownerOfShard(sh), sh
}

// ownerOfShard returns the owner of a shard in the newest map.
func (r *Replication) ownerOfShard(sh uint16) shardmap.NodeID {
	m := r.snap.Load()
	if m == nil || len(m.Shards) <= int(sh) {
		return ""
	}
	return m.Shards[sh].Owner
}

// write applies ops for identity at this owner and replicates them; it
// returns once a majority of the replica set holds them on disk.
func (r *Replication) write(identity string, ops []dialerd.Op) error {
	rt := r.shards[persistence.ShardOf(identity)]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.serving.Load() {
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "This node does not own %s right now; try again.", identity)
	}
	return r.replicateLocked(rt, identity, ops)
}

// replicateLocked writes one batch (ops may be empty: a barrier) at the
// served epoch. rt.mu is held.
func (r *Replication) replicateLocked(rt *shardRT, identity string, ops []dialerd.Op) error {
	epoch := rt.epoch.Load()
	prev := rt.state
	next := persistence.ShardState{Promised: max(prev.Promised, epoch), Epoch: epoch, Seq: prev.Seq + 1}
	var err error
	if identity == "" {
		err = r.local.SetShardState(rt.id, next)
	} else {
		err = r.local.ApplyReplicated(identity, ops, next)
	}
	if err != nil {
		if dialerd.ErrorCode(err) == dialerd.EINTERNAL {
			r.log.Error("local write failed", "shard", rt.id, "err", err)
			return dialerd.Errorf(dialerd.EUNAVAILABLE, "Storage failed; nothing was acknowledged. Try again.")
		}
		return err // a validation error of the ops: nothing written
	}
	rt.state = next
	rt.head.Store(next.Seq)
	reps := *rt.replicas.Load()
	if len(reps) == 1 {
		return nil
	}
	req := &pb.ReplicateRequest{Shard: uint32(rt.id), Epoch: epoch, Seq: next.Seq, PrevEpoch: prev.Epoch, PrevSeq: prev.Seq,
		Identity: identity, Ops: opsToPB(ops)}
	sent := r.now()
	acks, fenced := r.fanout(reps, shardmap.Majority(len(reps))-1, func(n shardmap.NodeID) (pb.Status, error) {
		res, err := r.net.call(n, req, r.cfg.RequestTimeout)
		if err != nil {
			return 0, err
		}
		rep, ok := res.(*pb.ReplicateReply)
		if !ok {
			return 0, fmt.Errorf("unexpected reply %T", res)
		}
		return rep.Status, nil
	}, func(n shardmap.NodeID, st pb.Status, err error) {
		switch {
		case err != nil:
		case st == pb.Status_STATUS_OK:
			rt.ackedUpTo(n, next.Seq)
		case st == pb.Status_STATUS_GAP:
			r.wg.Add(1)
			go r.repair(rt, n, epoch)
		}
	})
	if fenced {
		r.demote(rt, "fenced by a replica")
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "Ownership moved while writing; try again.")
	}
	if acks+1 < shardmap.Majority(len(reps)) {
		// Not acknowledged. The batch is on this node and maybe on some
		// replicas; it is neither promised nor denied to the client. Stop
		// serving until a majority answers again.
		r.demote(rt, "no majority")
		r.resume(rt)
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "No majority of replicas answered; the write is not acknowledged. Try again.")
	}
	rt.leaseUntil.Store(sent + int64(r.cfg.Lease))
	return nil
}

// fanout calls f on every replica but this node in parallel and returns
// as soon as need of them acknowledged (or all answered): a write waits
// for a majority, not for a replica that is down but not yet declared dead.
// onResult sees every answer, late ones included (from another goroutine
// after fanout returned), to record progress and schedule repairs.
func (r *Replication) fanout(reps []shardmap.NodeID, need int, f func(shardmap.NodeID) (pb.Status, error),
	onResult func(shardmap.NodeID, pb.Status, error)) (acks int, fenced bool) {
	type res struct {
		n   shardmap.NodeID
		st  pb.Status
		err error
	}
	ch := make(chan res, len(reps))
	n := 0
	for _, id := range reps {
		if id == r.cfg.Self {
			continue
		}
		n++
		go func(id shardmap.NodeID) {
			st, err := f(id)
			ch <- res{id, st, err}
		}(id)
	}
	got := 0
	for got < n && acks < need {
		x := <-ch
		got++
		onResult(x.n, x.st, x.err)
		switch {
		case x.err != nil:
		case x.st == pb.Status_STATUS_OK:
			acks++
		case x.st == pb.Status_STATUS_FENCED:
			fenced = true
		}
		if fenced {
			break
		}
	}
	if rest := n - got; rest > 0 {
		go func() {
			for i := 0; i < rest; i++ {
				x := <-ch
				onResult(x.n, x.st, x.err)
			}
		}()
	}
	return acks, fenced
}

// acked records that replica n holds the shard up to seq (for lag).
func (rt *shardRT) ackedUpTo(n shardmap.NodeID, seq uint64) {
	v, _ := rt.acked.LoadOrStore(n, new(atomic.Uint64))
	a := v.(*atomic.Uint64)
	for {
		cur := a.Load()
		if seq <= cur || a.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// lag is how many batches the furthest-behind replica of a served shard
// lacks, as far as this owner knows.
func (rt *shardRT) lag(self shardmap.NodeID, head uint64) uint64 {
	reps := rt.replicas.Load()
	if reps == nil {
		return 0
	}
	var worst uint64
	for _, n := range *reps {
		if n == self {
			continue
		}
		var at uint64
		if v, ok := rt.acked.Load(n); ok {
			at = v.(*atomic.Uint64).Load()
		}
		if head > at && head-at > worst {
			worst = head - at
		}
	}
	return worst
}

// resume re-runs the hand-over at the current epoch after a failure, if
// this node still owns the shard.
func (r *Replication) resume(rt *shardRT) {
	go func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.current.Shards) == 0 {
			return
		}
		s := r.current.Shards[rt.id]
		if s.Owner != r.cfg.Self || rt.recovering == s.Epoch {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		rt.recovering, rt.cancel = s.Epoch, cancel
		r.wg.Add(1)
		go r.recover(ctx, rt, s)
	}()
}

func opsToPB(ops []dialerd.Op) []*pb.Op {
	out := make([]*pb.Op, len(ops))
	for i, o := range ops {
		out[i] = &pb.Op{Kind: uint32(o.Kind), Index: o.Index, Key: o.Key, Value: o.Value}
	}
	return out
}

func opsFromPB(ops []*pb.Op) []dialerd.Op {
	out := make([]dialerd.Op, len(ops))
	for i, o := range ops {
		out[i] = dialerd.Op{Kind: dialerd.OpKind(o.Kind), Index: o.Index, Key: o.Key, Value: o.Value}
	}
	return out
}
