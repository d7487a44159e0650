package cluster

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/dialerd/dialerd"
	pb "github.com/dialerd/dialerd/cluster/clusterpb"
	"github.com/dialerd/dialerd/cluster/shardmap"
	"github.com/dialerd/dialerd/persistence"
)

// replicaActorName is the well-known name of every node's endpoint for
// replication, reads at the owner, activation and forwarded commands.
const replicaActorName = "dialerd-replica"

// maxRemoteMessage bounds one gRPC message between nodes (a batch of actor
// messages).
const maxRemoteMessage = 256 << 20

// Config configures a node's membership, consensus and actor transport.
type Config struct {
	// Name of the cluster; nodes of different names never mix.
	Name string
	// NodeID is this node's persistent identity.
	NodeID string
	// Dir is where Raft keeps snapshots.
	Dir string
	// Remote is the actor transport host:port; port 0 picks a free one,
	// which membership advertises.
	Remote string
	// Raft is the consensus transport host:port; port 0 picks a free one.
	Raft string
	// Provider configures memberlist.
	Provider ProviderConfig
	// Local is this node's storage.
	Local interface {
		LocalStore
		Raft() *persistence.RaftStore
	}
	// Replicas is R, the copies of every shard. Default 3.
	Replicas int
	// Lease is the owner read lease. Default 2 s.
	Lease time.Duration
	// RequestTimeout bounds one request to a grain. Default 5 s.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// Node is a running cluster member.
type Node struct {
	cfg      Config
	System   *actor.ActorSystem
	Cluster  *cluster.Cluster
	ctl      *Control
	repl     *Replication
	store    *Store
	lookup   *lookup
	provider *Provider
	inbox    *inbox
	log      *slog.Logger
	reconc   chan []Peer
	stop     chan struct{}
	wg       sync.WaitGroup
}

// New prepares a node: Raft member and replication, not yet reachable.
// Store is usable by grains once Start returns.
func New(cfg Config) (*Node, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
	}
	n := &Node{cfg: cfg, log: cfg.Logger, reconc: make(chan []Peer, 1), stop: make(chan struct{})}
	repl, err := NewReplication(ReplicationConfig{Self: shardmap.NodeID(cfg.NodeID), Local: cfg.Local, Lease: cfg.Lease, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	n.repl = repl
	n.store = &Store{r: repl, net: n}
	return n, nil
}

// Store is the cluster's dialerd.Store for grains.
func (n *Node) Store() dialerd.Store { return n.store }

// Start starts consensus, the actor system and membership, and joins.
func (n *Node) Start(kinds []*cluster.Kind) error {
	cfg := n.cfg
	ctl, err := StartControl(ControlConfig{
		NodeID: shardmap.NodeID(cfg.NodeID), Bind: cfg.Raft, Dir: filepath.Join(cfg.Dir, "raft"),
		Logs: cfg.Local.Raft(), Stable: cfg.Local.Raft(), Bootstrap: len(cfg.Provider.Join) == 0,
		Replicas: cfg.Replicas, Shards: persistence.NumShards, Logger: cfg.Logger,
	})
	if err != nil {
		return err
	}
	n.ctl = ctl
	host, port, err := splitHostPort(cfg.Remote)
	if err != nil {
		ctl.Shutdown(false)
		return fmt.Errorf("cluster: --remote: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			ctl.Shutdown(false)
			return err
		}
	}
	actorLog := cfg.Logger.With("component", "actor")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// protoactor logs every dead letter and retry at Info/Warn; keep
		// them a level down so a node's log stays readable.
		return slog.New(demote{actorLog.Handler()})
	}))
	pc := cfg.Provider
	pc.NodeID, pc.RaftAddr = cfg.NodeID, ctl.Addr()
	pc.OnPeers = func(peers []Peer) {
		select {
		case <-n.reconc:
		default:
		}
		n.reconc <- peers
	}
	n.provider = NewProvider(pc)
	n.lookup = newLookup(shardmap.NodeID(cfg.NodeID), n.repl, n)
	c := cluster.New(system, cluster.Configure(cfg.Name, n.provider, n.lookup, remote.Configure(host, port,
		// protoactor sends up to 1000 queued messages in one gRPC message,
		// and upload chunks and their replication are 256 KiB each: gRPC's
		// default 4 MiB limit would refuse a busy batch.
		remote.WithServerOptions(grpc.MaxRecvMsgSize(maxRemoteMessage))),
		cluster.WithKinds(kinds...), cluster.WithRequestTimeout(cfg.RequestTimeout)))
	n.System, n.Cluster = system, c
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &endpoint{n: n} }), replicaActorName); err != nil {
		ctl.Shutdown(false)
		return err
	}
	if err := startMember(c); err != nil {
		ctl.Shutdown(false)
		return err
	}
	// Reply mailboxes carry this node's address, known only once remoting
	// runs: a PID made earlier would send replies to the receiver itself.
	n.inbox = newInbox(system, inboxSize)
	n.repl.start(n, n, n.lookup.stopShard)
	ctl.Watch(n.repl.OnMap)
	n.wg.Add(1)
	go n.reconcileLoop()
	return nil
}

// reconcileLoop hands membership snapshots to the Raft leader's work,
// newest first, without blocking membership's own loop.
func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last []Peer
	for {
		select {
		case <-n.stop:
			return
		case last = <-n.reconc:
		case <-tick.C:
		}
		if last != nil {
			n.ctl.Reconcile(last)
		}
	}
}

// startMember turns protoactor's panics on start-up failures (a taken port)
// into errors.
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cluster: start: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("cluster: no free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// inboxSize bounds the grain requests in flight from this node; more wait
// for a free slot.
const inboxSize = 4096

// Members is the live member count as membership sees it.
func (n *Node) Members() int { return n.provider.Members() }

// OnShardServing sets the function told when this node starts serving a
// shard (on its own goroutine).
func (n *Node) OnShardServing(fn func(shard uint16)) { n.repl.OnServing(fn) }

// Address is this node's actor transport address.
func (n *Node) Address() string { return n.System.Address() }

// Status summarises membership, consensus and ownership for /readyz and
// metrics.
type Status struct {
	Members         int    `json:"members"`
	Leader          string `json:"leader"`
	Voters          int    `json:"voters"`
	MapVersion      uint64 `json:"map_version"`
	ShardsOwned     int    `json:"shards_owned"`
	ShardsServing   int    `json:"shards_serving"`
	UnderReplicated int    `json:"under_replicated"` // shards whose replica set is short of R or not established
	// MaxLag is how many batches the furthest-behind replica of any shard
	// this node serves lacks, as far as it knows.
	MaxLag uint64 `json:"max_replica_lag"`
}

// Status reports this node's view.
func (n *Node) Status() Status {
	m := n.ctl.Map()
	st := Status{Members: n.Members(), Leader: string(n.ctl.Leader()), Voters: len(n.ctl.Voters()), MapVersion: m.Version}
	want := n.cfg.Replicas
	if st.Members < want {
		want = st.Members
	}
	for i, s := range m.Shards {
		if s.Owner == shardmap.NodeID(n.cfg.NodeID) {
			st.ShardsOwned++
			if rt := n.repl.shards[i]; rt.serving.Load() {
				st.ShardsServing++
				if l := rt.lag(shardmap.NodeID(n.cfg.NodeID), rt.head.Load()); l > st.MaxLag {
					st.MaxLag = l
				}
			}
		}
		if len(s.Replicas) < want || !s.Established() {
			st.UnderReplicated++
		}
	}
	return st
}

// Ready says whether this node can serve: it knows a Raft leader and a
// shard map.
func (n *Node) Ready() error {
	if n.ctl == nil {
		return errors.New("starting")
	}
	if n.ctl.Leader() == "" {
		return errors.New("no raft leader known (no quorum?)")
	}
	if len(n.ctl.Map().Shards) == 0 {
		return errors.New("no shard map yet")
	}
	if st := n.Status(); st.ShardsServing < st.ShardsOwned {
		return fmt.Errorf("taking over %d of its %d shards", st.ShardsOwned-st.ShardsServing, st.ShardsOwned)
	}
	return nil
}

// call sends msg to node's endpoint (transport).
func (n *Node) call(node shardmap.NodeID, msg any, timeout time.Duration) (any, error) {
	if node == shardmap.NodeID(n.cfg.NodeID) {
		return (&endpoint{n: n}).answer(msg), nil
	}
	p, ok := n.provider.Peer(string(node))
	if !ok {
		return nil, fmt.Errorf("node %s is not a live member", node)
	}
	return n.inbox.request(actor.NewPID(p.Actor, replicaActorName), msg, timeout)
}

// establish records an established epoch through the Raft leader.
func (n *Node) establish(shard int, epoch uint64) error {
	err := n.ctl.Establish(shard, epoch)
	if !errors.Is(err, raft.ErrNotLeader) {
		return err
	}
	leader := n.ctl.Leader()
	if leader == "" {
		return errors.New("no raft leader")
	}
	res, err := n.call(leader, &pb.EstablishRequest{Shard: uint32(shard), Epoch: epoch}, 10*time.Second)
	if err != nil {
		return err
	}
	if rep, ok := res.(*pb.EstablishReply); !ok || rep.Status != pb.Status_STATUS_OK {
		return fmt.Errorf("establish refused by the leader")
	}
	return nil
}

// Map is the newest shard map (establisher).
func (n *Node) Map() shardmap.Map { return n.ctl.Map() }

// Request sends msg to the grain kind/identity wherever it lives and returns
// its reply. On the owner it goes straight to the local activation; from
// another node it goes to the owner's endpoint, which delivers it there. A
// dead letter (the grain stopped or moved) is retried after a new lookup; a
// timeout is EUNAVAILABLE, since the grain may still act on the request.
func (n *Node) Request(ctx context.Context, kind, identity string, msg proto.Message) (any, error) {
	timeout := n.cfg.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	key := kind + "/" + identity
	var last error = dialerd.Errorf(dialerd.EUNAVAILABLE, "The %s is not reachable right now (moving between nodes?); try again.", kind)
	for attempt := 0; attempt < 6; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, time.Duration(10<<attempt)*time.Millisecond); err != nil {
				break
			}
		}
		owner, _ := n.repl.Owner(key)
		if owner == "" {
			continue
		}
		var res any
		var err error
		if owner == shardmap.NodeID(n.cfg.NodeID) {
			res, err = n.requestLocal(kind, identity, msg, timeout)
		} else {
			res, err = n.requestRemote(owner, kind, identity, msg, timeout)
		}
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, actor.ErrTimeout):
			return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The %s did not answer in time; try again.", kind)
		case errors.Is(err, errRetry) || errors.Is(err, actor.ErrDeadLetter):
			continue // moving, stopping or not yet served: look again
		default:
			last = err
		}
	}
	return nil, last
}

// errRetry means the grain is not available at this moment on the node
// asked, though it may be an instant later.
var errRetry = errors.New("cluster: not available here now")

// requestLocal delivers msg to the local activation of the grain.
func (n *Node) requestLocal(kind, identity string, msg any, timeout time.Duration) (any, error) {
	pid := n.lookup.activate(cluster.NewClusterIdentity(identity, kind))
	if pid == nil {
		return nil, errRetry
	}
	return n.inbox.request(pid, msg, timeout)
}

// requestRemote asks the owner's endpoint to deliver msg.
func (n *Node) requestRemote(owner shardmap.NodeID, kind, identity string, msg proto.Message, timeout time.Duration) (any, error) {
	payload, err := anypb.New(msg)
	if err != nil {
		return nil, err
	}
	res, err := n.call(owner, &pb.GrainRequest{Kind: kind, Identity: identity, Message: payload}, timeout)
	if err != nil {
		if errors.Is(err, actor.ErrTimeout) {
			return nil, err
		}
		return nil, errRetry // the owner is not reachable (yet): the map may move
	}
	rep, ok := res.(*pb.GrainReply)
	if !ok {
		return nil, fmt.Errorf("cluster: unexpected reply %T", res)
	}
	if rep.Status != pb.Status_STATUS_OK {
		return nil, errRetry
	}
	return rep.Reply.UnmarshalNew()
}

// serveGrainRequest is the owner's side of requestRemote.
func (n *Node) serveGrainRequest(m *pb.GrainRequest) *pb.GrainReply {
	msg, err := m.Message.UnmarshalNew()
	if err != nil {
		return &pb.GrainReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: err.Error()}
	}
	if owner, _ := n.repl.Owner(m.Kind + "/" + m.Identity); owner != shardmap.NodeID(n.cfg.NodeID) {
		return &pb.GrainReply{Status: pb.Status_STATUS_UNAVAILABLE}
	}
	res, err := n.requestLocal(m.Kind, m.Identity, msg, n.cfg.RequestTimeout)
	if err != nil {
		return &pb.GrainReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: err.Error()}
	}
	pm, ok := res.(proto.Message)
	if !ok {
		return &pb.GrainReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: fmt.Sprintf("reply %T is not protobuf", res)}
	}
	payload, err := anypb.New(pm)
	if err != nil {
		return &pb.GrainReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: err.Error()}
	}
	return &pb.GrainReply{Reply: payload}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Leave hands this node's shards to others before it stops (SIGTERM):
// it announces it is leaving and waits, up to timeout, until the map gives
// it no shard to own.
func (n *Node) Leave(timeout time.Duration) {
	if n.provider == nil || n.Members() <= 1 {
		return
	}
	// Hand Raft leadership over first: new owners must reach the leader to
	// establish their epochs, and this node is about to leave gossip.
	if n.ctl.IsLeader() {
		if err := n.ctl.raft.LeadershipTransfer().Error(); err != nil {
			n.log.Warn("leadership transfer", "err", err)
		}
	}
	n.provider.SetLeaving()
	deadline := time.After(timeout)
	for {
		owned := 0
		for _, s := range n.ctl.Map().Shards {
			if s.Owner == shardmap.NodeID(n.cfg.NodeID) {
				owned++
			}
		}
		if owned == 0 {
			return
		}
		select {
		case <-deadline:
			n.log.Warn("leaving with shards still owned", "shards", owned)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop leaves the cluster. Graceful announces the leave so peers react at
// once; otherwise peers detect the loss by failure detection.
func (n *Node) Stop(graceful bool) {
	close(n.stop)
	n.wg.Wait()
	n.repl.close()
	n.Cluster.Shutdown(graceful)
	if !graceful {
		_ = n.provider.Shutdown(false)
	}
	n.ctl.Shutdown(graceful)
}

// endpoint is the replica actor: it answers peers. Slow work (disk,
// network) runs in its own goroutine so one shard's copy never holds up
// another shard's heartbeat.
type endpoint struct{ n *Node }

func (e *endpoint) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.ActivateRequest:
		ctx.Respond(e.answer(m))
	case *pb.GrainRequest, *pb.EstablishRequest, *pb.ReplicateRequest, *pb.PromiseRequest, *pb.ExportRequest,
		*pb.ImportRequest, *pb.HeartbeatRequest, *pb.ReadRequest:
		sender, root := ctx.Sender(), ctx.ActorSystem().Root
		go func() { root.Send(sender, e.answer(m)) }()
	}
}

func (e *endpoint) answer(msg any) any {
	switch m := msg.(type) {
	case *pb.ActivateRequest:
		pid := e.n.lookup.activate(cluster.NewClusterIdentity(m.Identity, m.Kind))
		if pid == nil {
			return &pb.ActivateReply{Status: pb.Status_STATUS_UNAVAILABLE}
		}
		return &pb.ActivateReply{Address: pid.Address, Id: pid.Id}
	case *pb.GrainRequest:
		return e.n.serveGrainRequest(m)
	case *pb.EstablishRequest:
		if err := e.n.ctl.Establish(int(m.Shard), m.Epoch); err != nil {
			return &pb.EstablishReply{Status: pb.Status_STATUS_UNAVAILABLE, Error: err.Error()}
		}
		return &pb.EstablishReply{}
	}
	return e.n.repl.Handle(msg)
}

// demote lowers protoactor's Info and Warn records by one level.
type demote struct{ slog.Handler }

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Level >= slog.LevelError:
	case r.Level >= slog.LevelWarn:
		r.Level = slog.LevelInfo
	default:
		r.Level = slog.LevelDebug
	}
	if !d.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return d.Handler.Handle(ctx, r)
}

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	return d.Handler.Enabled(ctx, slog.LevelDebug) || l >= slog.LevelWarn
}

func (d demote) WithAttrs(a []slog.Attr) slog.Handler { return demote{d.Handler.WithAttrs(a)} }
func (d demote) WithGroup(n string) slog.Handler      { return demote{d.Handler.WithGroup(n)} }

// Info is the cluster as this node sees it, for operators.
type Info struct {
	Node       string       `json:"node"`
	Leader     string       `json:"leader"`
	Voters     []string     `json:"voters"`
	Members    []Peer       `json:"members"`
	MapVersion uint64       `json:"map_version"`
	Status     Status       `json:"status"`
	Identity   *IdentityLoc `json:"identity,omitempty"`
}

// IdentityLoc says where an identity lives.
type IdentityLoc struct {
	Identity    string   `json:"identity"`
	Shard       int      `json:"shard"`
	Epoch       uint64   `json:"epoch"`
	Owner       string   `json:"owner"`
	OwnerHTTP   string   `json:"owner_http,omitempty"`
	Replicas    []string `json:"replicas"`
	Established bool     `json:"established"`
}

// Info describes the cluster; identity (kind/id), when not empty, is
// located.
func (n *Node) Info(identity string) Info {
	m := n.ctl.Map()
	in := Info{Node: n.cfg.NodeID, Leader: string(n.ctl.Leader()), Members: n.provider.Peers(), MapVersion: m.Version, Status: n.Status()}
	for _, v := range n.ctl.Voters() {
		in.Voters = append(in.Voters, string(v))
	}
	if identity != "" && len(m.Shards) > 0 {
		sh := int(persistence.ShardOf(identity))
		s := m.Shards[sh]
		loc := &IdentityLoc{Identity: identity, Shard: sh, Epoch: s.Epoch, Owner: string(s.Owner), Established: s.Established()}
		for _, r := range s.Replicas {
			loc.Replicas = append(loc.Replicas, string(r))
		}
		if p, ok := n.provider.Peer(string(s.Owner)); ok {
			loc.OwnerHTTP = p.HTTP
		}
		in.Identity = loc
	}
	return in
}
