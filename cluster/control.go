package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dialerd/dialerd/cluster/shardmap"
)

// Peer is a live node as membership sees it.
type Peer struct {
	ID       shardmap.NodeID `json:"id"`
	RaftAddr string          `json:"raft"`
	Actor    string          `json:"actor"` // actor transport address of its current run
	HTTP     string          `json:"http"`
	Leaving  bool            `json:"leaving,omitempty"` // asked to hand its shards over (graceful leave)
}

// ControlConfig configures the Raft group that holds the shard map.
type ControlConfig struct {
	NodeID shardmap.NodeID
	// Bind is the Raft transport address; port 0 picks a free port.
	Bind string
	// Dir holds Raft snapshots.
	Dir    string
	Logs   raft.LogStore
	Stable raft.StableStore
	// Bootstrap starts a new cluster (this node its only voter) when there
	// is no Raft state yet. Nodes started with --join never bootstrap: the
	// leader adds them.
	Bootstrap bool
	// Replicas is R, the copies of each shard (fewer while fewer nodes).
	Replicas int
	// Shards is the number of shards.
	Shards int
	// Voters is the size of the Raft group; other nodes follow as
	// non-voters. Default 3.
	Voters int
	Logger *slog.Logger
}

// Control is this node's member of the Raft group: it always knows the
// newest committed shard map, and while it leads, it turns membership into
// Raft configuration and shard placement.
type Control struct {
	cfg  ControlConfig
	log  *slog.Logger
	raft *raft.Raft
	fsm  *mapFSM
	addr string
	tr   *raft.NetworkTransport
}

// command is one entry of the Raft log.
type command struct {
	Op    string            `json:"op"` // init | plan | establish
	Node  shardmap.NodeID   `json:"node,omitempty"`
	Live  []shardmap.NodeID `json:"live,omitempty"`
	R     int               `json:"r,omitempty"`
	Shard int               `json:"shard,omitempty"`
	Epoch uint64            `json:"epoch,omitempty"`
}

// mapFSM applies commands to the shard map. Apply is deterministic: Plan is
// pure, and its inputs travel in the command.
type mapFSM struct {
	shards   int
	cur      atomic.Pointer[shardmap.Map]
	mu       sync.Mutex
	watchers []func(shardmap.Map)
}

func (f *mapFSM) Apply(l *raft.Log) any {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return err
	}
	m := f.Map()
	switch c.Op {
	case "init":
		if len(m.Shards) != 0 {
			return nil
		}
		m = shardmap.Initial(c.Node, f.shards)
	case "plan":
		if len(m.Shards) == 0 {
			return errors.New("plan before init")
		}
		m = shardmap.Plan(m, c.Live, c.R)
	case "establish":
		m = m.Clone()
		if !m.Establish(c.Shard, c.Epoch) {
			return fmt.Errorf("shard %d is not at epoch %d", c.Shard, c.Epoch)
		}
	default:
		return fmt.Errorf("unknown command %q", c.Op)
	}
	f.set(m)
	return nil
}

func (f *mapFSM) set(m shardmap.Map) {
	f.cur.Store(&m)
	f.mu.Lock()
	ws := f.watchers
	f.mu.Unlock()
	for _, w := range ws {
		w(m)
	}
}

// Map returns the current map (do not modify it; Clone first).
func (f *mapFSM) Map() shardmap.Map {
	if p := f.cur.Load(); p != nil {
		return *p
	}
	return shardmap.Map{}
}

func (f *mapFSM) Snapshot() (raft.FSMSnapshot, error) {
	b, err := json.Marshal(f.Map())
	return mapSnapshot(b), err
}

func (f *mapFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var m shardmap.Map
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		return err
	}
	f.set(m)
	return nil
}

type mapSnapshot []byte

func (s mapSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}
func (mapSnapshot) Release() {}

// StartControl starts this node's Raft member.
func StartControl(cfg ControlConfig) (*Control, error) {
	if cfg.Voters <= 0 {
		cfg.Voters = 3
	}
	log := cfg.Logger.With("component", "raft")
	host, port, err := splitHostPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("raft: bind: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(host, fmt.Sprint(port))
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	out := &logWriter{log: log}
	tr, err := raft.NewTCPTransport(addr, tcpAddr, 4, 5*time.Second, out)
	if err != nil {
		return nil, fmt.Errorf("raft: transport: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(cfg.Dir), 2, out)
	if err != nil {
		return nil, err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.LogOutput = out
	rc.LogLevel = "INFO"
	rc.SnapshotThreshold = 1024
	fsm := &mapFSM{shards: cfg.Shards}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(cfg.Logs, cfg.Stable, snaps)
		if err != nil {
			return nil, err
		}
		if !has {
			if err := raft.BootstrapCluster(rc, cfg.Logs, cfg.Stable, snaps, tr, raft.Configuration{
				Servers: []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: tr.LocalAddr()}},
			}); err != nil {
				return nil, fmt.Errorf("raft: bootstrap: %w", err)
			}
			log.Info("bootstrapped a new cluster")
		}
	}
	r, err := raft.NewRaft(rc, fsm, cfg.Logs, cfg.Stable, snaps, tr)
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("raft: %w", err)
	}
	return &Control{cfg: cfg, log: log, raft: r, fsm: fsm, addr: string(tr.LocalAddr()), tr: tr}, nil
}

// Addr is the Raft transport address this node advertises.
func (c *Control) Addr() string { return c.addr }

// Map is the newest shard map this node has applied.
func (c *Control) Map() shardmap.Map { return c.fsm.Map() }

// Watch calls fn with every new map, from Raft's apply goroutine: fn must
// not block. It is also called at once with the current map if there is one.
func (c *Control) Watch(fn func(shardmap.Map)) {
	c.fsm.mu.Lock()
	c.fsm.watchers = append(c.fsm.watchers, fn)
	c.fsm.mu.Unlock()
	if m := c.fsm.Map(); len(m.Shards) > 0 {
		fn(m)
	}
}

// IsLeader reports whether this node leads the Raft group.
func (c *Control) IsLeader() bool { return c.raft.State() == raft.Leader }

// Leader returns the leader's node ID, "" when unknown.
func (c *Control) Leader() shardmap.NodeID {
	_, id := c.raft.LeaderWithID()
	return shardmap.NodeID(id)
}

// HasQuorum reports whether this node is in contact with a Raft leader.
func (c *Control) HasQuorum() bool { return c.Leader() != "" }

// Voters returns the current voter IDs.
func (c *Control) Voters() []shardmap.NodeID {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var out []shardmap.NodeID
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			out = append(out, shardmap.NodeID(s.ID))
		}
	}
	return out
}

// Apply commits cmd through Raft; only the leader may call it.
func (c *Control) apply(cmd command) error {
	b, _ := json.Marshal(cmd)
	f := c.raft.Apply(b, 5*time.Second)
	if err := f.Error(); err != nil {
		return err
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

// Establish asks to record shard's epoch as established. On a follower it
// returns raft.ErrNotLeader: the caller forwards it to the leader.
func (c *Control) Establish(shard int, epoch uint64) error {
	if !c.IsLeader() {
		return raft.ErrNotLeader
	}
	return c.apply(command{Op: "establish", Shard: shard, Epoch: epoch})
}

// Reconcile is the leader's work, called on every membership snapshot:
// create the map, keep the Raft configuration equal to the live nodes
// (Voters voters, the rest non-voters), and place shards on the live nodes
// that are not leaving. Followers return at once.
func (c *Control) Reconcile(live []Peer) {
	if !c.IsLeader() {
		return
	}
	if len(c.Map().Shards) == 0 {
		if err := c.apply(command{Op: "init", Node: c.cfg.NodeID}); err != nil {
			c.log.Warn("init map", "err", err)
			return
		}
	}
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return
	}
	servers := map[raft.ServerID]raft.Server{}
	voters := 0
	for _, s := range f.Configuration().Servers {
		servers[s.ID] = s
	}
	alive := map[raft.ServerID]Peer{}
	for _, p := range live {
		alive[raft.ServerID(p.ID)] = p
	}
	// Drop servers that are gone (never this node).
	for id := range servers {
		if _, ok := alive[id]; !ok && id != raft.ServerID(c.cfg.NodeID) {
			if err := c.raft.RemoveServer(id, 0, 5*time.Second).Error(); err != nil {
				c.log.Warn("remove server", "id", id, "err", err)
				return
			}
			c.log.Info("removed from raft", "id", id)
			delete(servers, id)
		}
	}
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	target := c.cfg.Voters
	if len(alive) < target {
		target = len(alive)
	}
	// Add newcomers, fix moved addresses, promote while short of voters;
	// in a stable order so every leader makes the same choices.
	ids := make([]string, 0, len(alive))
	for id := range alive {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, sid := range ids {
		id := raft.ServerID(sid)
		p := alive[id]
		if p.RaftAddr == "" || p.Leaving {
			continue
		}
		s, known := servers[id]
		addr := raft.ServerAddress(p.RaftAddr)
		var err error
		switch {
		case known && s.Suffrage == raft.Voter && s.Address != addr:
			err = c.raft.AddVoter(id, addr, 0, 5*time.Second).Error()
		case known && s.Suffrage != raft.Voter && voters < target:
			err = c.raft.AddVoter(id, addr, 0, 5*time.Second).Error()
			voters++
		case known && s.Address != addr:
			err = c.raft.AddNonvoter(id, addr, 0, 5*time.Second).Error()
		case !known && voters < target:
			err = c.raft.AddVoter(id, addr, 0, 5*time.Second).Error()
			voters++
		case !known:
			err = c.raft.AddNonvoter(id, addr, 0, 5*time.Second).Error()
		}
		if err != nil {
			c.log.Warn("raft membership change", "id", id, "err", err)
			return
		}
		if !known {
			c.log.Info("added to raft", "id", id, "addr", addr)
		}
	}
	// Place shards on live, non-leaving members of the Raft group.
	var place []shardmap.NodeID
	for _, sid := range ids {
		p := alive[raft.ServerID(sid)]
		if !p.Leaving && p.RaftAddr != "" {
			place = append(place, p.ID)
		}
	}
	if len(place) == 0 {
		return
	}
	m := c.Map()
	if next := shardmap.Plan(m, place, c.cfg.Replicas); next.Version != m.Version {
		if err := c.apply(command{Op: "plan", Live: place, R: c.cfg.Replicas}); err != nil {
			c.log.Warn("plan", "err", err)
			return
		}
		c.log.Info("new shard map", "version", c.Map().Version, "nodes", place)
	}
}

// Shutdown stops this Raft member. A leader that is leaving hands
// leadership over first so the group does not wait for an election.
func (c *Control) Shutdown(transfer bool) {
	if transfer && c.IsLeader() {
		_ = c.raft.LeadershipTransfer().Error()
	}
	_ = c.raft.Shutdown().Error()
	_ = c.tr.Close()
}
