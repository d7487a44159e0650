package cluster

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// lookup is the project's protoactor IdentityLookup: a grain is activated
// only on the owner of its shard in the current map, and only while that
// owner serves the shard. protoactor's disthash would activate a grain on
// whichever node is asked (two live copies during membership changes).
type lookup struct {
	self shardmap.NodeID
	r    *Replication
	net  transport
	c    *cluster.Cluster

	mu     sync.RWMutex
	local  map[string]*actor.PID // "kind/identity" → activation on this node
	byShrd map[uint16]map[string]bool
}

var _ cluster.IdentityLookup = (*lookup)(nil)

func newLookup(self shardmap.NodeID, r *Replication, net transport) *lookup {
	return &lookup{self: self, r: r, net: net, local: map[string]*actor.PID{}, byShrd: map[uint16]map[string]bool{}}
}

func (l *lookup) Setup(c *cluster.Cluster, _ []string, _ bool) {
	l.c = c
	c.ActorSystem.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ActivationTerminating); ok && t.ClusterIdentity != nil {
			l.RemovePid(t.ClusterIdentity, t.Pid)
		}
	})
}

func (l *lookup) Shutdown() {}

// Get returns the PID of the grain on its owner, activating it there.
func (l *lookup) Get(ci *cluster.ClusterIdentity) *actor.PID {
	key := ci.Kind + "/" + ci.Identity
	owner, _ := l.r.Owner(key)
	switch owner {
	case "":
		return nil
	case l.self:
		return l.activate(ci)
	}
	res, err := l.net.call(owner, &pb.ActivateRequest{Kind: ci.Kind, Identity: ci.Identity}, 2*time.Second)
	if err != nil {
		return nil
	}
	rep, ok := res.(*pb.ActivateReply)
	if !ok || rep.Status != pb.Status_STATUS_OK {
		return nil
	}
	return actor.NewPID(rep.Address, rep.Id)
}

// activate returns the local activation, spawning it if this node serves
// the grain's shard.
func (l *lookup) activate(ci *cluster.ClusterIdentity) *actor.PID {
	key := ci.Kind + "/" + ci.Identity
	if l.r.Serving(key) != nil {
		return nil
	}
	l.mu.RLock()
	pid, ok := l.local[key]
	l.mu.RUnlock()
	if ok {
		return pid
	}
	kind, ok := l.c.TryGetClusterKind(ci.Kind)
	if !ok {
		return nil
	}
	// Spawn outside the lock: grains on the synchronized dispatcher run
	// their first messages on this goroutine, and a grain that asks
	// another grain there would wait for this very lock. Two activations
	// racing for one name: the loser gets an error, and the caller retries
	// (as for an activation still stopping, which holds the name too).
	pid, err := l.c.ActorSystem.Root.SpawnNamed(cluster.WithClusterIdentity(kind.Props, ci), "g$"+key)
	if err != nil {
		l.mu.RLock()
		pid, ok := l.local[key]
		l.mu.RUnlock()
		if ok {
			return pid
		}
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r.Serving(key) != nil {
		// The shard was lost while spawning: stopShard has run, or will
		// not see this grain.
		l.c.ActorSystem.Root.Stop(pid)
		return nil
	}
	l.local[key] = pid
	sh := persistence.ShardOf(key)
	if l.byShrd[sh] == nil {
		l.byShrd[sh] = map[string]bool{}
	}
	l.byShrd[sh][key] = true
	return pid
}

func (l *lookup) RemovePid(ci *cluster.ClusterIdentity, pid *actor.PID) {
	key := ci.Kind + "/" + ci.Identity
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.local[key]; ok && (pid == nil || cur.Equal(pid)) {
		delete(l.local, key)
		if m := l.byShrd[persistence.ShardOf(key)]; m != nil {
			delete(m, key)
		}
	}
}

// stopShard stops every local grain of a shard this node no longer serves.
// Stop is a system message: it runs before any queued user message.
func (l *lookup) stopShard(sh uint16) {
	l.mu.Lock()
	var pids []*actor.PID
	for key := range l.byShrd[sh] {
		if pid, ok := l.local[key]; ok {
			pids = append(pids, pid)
			delete(l.local, key)
		}
	}
	delete(l.byShrd, sh)
	l.mu.Unlock()
	for _, pid := range pids {
		l.c.ActorSystem.Root.Stop(pid)
	}
}
