package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/cluster/shardmap"
)

// nodeMeta is what every node gossips about itself (memberlist caps it at
// 512 bytes).
type nodeMeta struct {
	ID      string   `json:"id"` // actor system ID: unique per process run
	Gossip  string   `json:"gossip"`
	Node    string   `json:"node"`  // persistent node ID
	Actor   string   `json:"actor"` // actor transport host:port, exactly ActorSystem.Address()
	Raft    string   `json:"raft"`  // Raft transport host:port
	HTTP    string   `json:"http,omitempty"`
	Kinds   []string `json:"kinds"`
	Leaving bool     `json:"leaving,omitempty"`
}

// ProviderConfig configures membership.
type ProviderConfig struct {
	// Bind is the gossip host:port (TCP and UDP).
	Bind string
	// Advertise is the gossip host:port others reach; default Bind.
	Advertise string
	// Join lists seed gossip addresses; empty starts a new cluster.
	Join []string
	// HTTPAddr is gossiped so tooling can find every node's API.
	HTTPAddr string
	// Republish is the steady snapshot interval. Default 1 s.
	Republish time.Duration
	// NodeID is the persistent node ID; memberlist names the node by it.
	NodeID string
	// PeersFile keeps the gossip addresses of the last known members, so a
	// node restarted without --join finds its cluster again.
	PeersFile string
	// RaftAddr is gossiped so the Raft leader can add this node.
	RaftAddr string
	// OnPeers is called (from the provider's loop) with the live peers
	// after every snapshot.
	OnPeers func([]Peer)
	Logger  *slog.Logger
}

// Provider is a protoactor ClusterProvider backed by memberlist.
type Provider struct {
	cfg       ProviderConfig
	log       *slog.Logger
	ml        *memberlist.Memberlist
	c         *cluster.Cluster
	meta      []byte
	self      nodeMeta
	peers     atomic.Pointer[map[string]Peer] // by node ID
	notify    chan struct{}
	stop      chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	closed    bool
	lastSaved string

	// known are the gossip addresses of every peer seen, with when it was
	// last seen alive: memberlist forgets a dead node after a while, and
	// two sides of a healed partition that both gave the other up never
	// gossip again. Like serf's reconnect, the loop tries to join the
	// ones not alive now, until reconnectTimeout after they were last seen.
	known      map[string]time.Time
	rejoining  atomic.Bool
	lastRejoin time.Time
}

const (
	reconnectEvery   = 5 * time.Second
	reconnectTimeout = 24 * time.Hour
)

var _ cluster.ClusterProvider = (*Provider)(nil)

// NewProvider returns a provider; StartMember starts it.
func NewProvider(cfg ProviderConfig) *Provider {
	if cfg.Republish <= 0 {
		cfg.Republish = time.Second
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Bind
	}
	return &Provider{cfg: cfg, log: cfg.Logger.With("component", "membership"),
		notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// StartMember joins the gossip cluster and starts publishing topology.
func (p *Provider) StartMember(c *cluster.Cluster) error {
	p.c = c
	p.self = nodeMeta{ID: c.ActorSystem.ID, Gossip: p.cfg.Advertise, Node: p.cfg.NodeID, Actor: c.ActorSystem.Address(), Raft: p.cfg.RaftAddr,
		HTTP: p.cfg.HTTPAddr, Kinds: c.GetClusterKinds()}
	if err := p.setMeta(); err != nil {
		return err
	}

	conf := memberlist.DefaultLANConfig()
	conf.Name = p.cfg.NodeID
	var err error
	if conf.BindAddr, conf.BindPort, err = splitHostPort(p.cfg.Bind); err != nil {
		return fmt.Errorf("cluster: --bind: %w", err)
	}
	if conf.AdvertiseAddr, conf.AdvertisePort, err = splitHostPort(p.cfg.Advertise); err != nil {
		return fmt.Errorf("cluster: --advertise: %w", err)
	}
	conf.Delegate = p
	conf.Events = p
	conf.Logger = nil
	conf.LogOutput = &logWriter{log: p.log}
	ml, err := memberlist.Create(conf)
	if err != nil {
		return fmt.Errorf("cluster: memberlist: %w", err)
	}
	p.ml = ml
	p.cfg.Join = append(p.cfg.Join, p.savedPeers()...)
	if len(p.cfg.Join) > 0 {
		if n, err := ml.Join(p.cfg.Join); err != nil {
			// Not fatal: the seeds may start later. The loop keeps trying.
			p.log.Warn("join failed; will retry", "seeds", p.cfg.Join, "err", err)
		} else {
			p.log.Info("joined", "contacted", n)
		}
	}
	p.publish()
	go p.loop()
	return nil
}

func (p *Provider) setMeta() error {
	meta, err := json.Marshal(p.self)
	if err != nil {
		return err
	}
	if len(meta) > memberlist.MetaMaxSize {
		return fmt.Errorf("cluster: node metadata is %d bytes, over memberlist's %d", len(meta), memberlist.MetaMaxSize)
	}
	p.mu.Lock()
	p.meta = meta
	p.mu.Unlock()
	return nil
}

// SetLeaving announces that this node hands its shards over before it
// stops (graceful leave).
func (p *Provider) SetLeaving() {
	p.self.Leaving = true
	if err := p.setMeta(); err == nil && p.ml != nil {
		_ = p.ml.UpdateNode(time.Second)
	}
	p.signal()
}

// Peer returns a live peer by node ID.
func (p *Provider) Peer(id string) (Peer, bool) {
	m := p.peers.Load()
	if m == nil {
		return Peer{}, false
	}
	peer, ok := (*m)[id]
	return peer, ok
}

// Peers returns the live peers, this node included.
func (p *Provider) Peers() []Peer {
	m := p.peers.Load()
	if m == nil {
		return nil
	}
	out := make([]Peer, 0, len(*m))
	for _, peer := range *m {
		out = append(out, peer)
	}
	return out
}

// StartClient is not supported: every dialerd node is a full member.
func (p *Provider) StartClient(*cluster.Cluster) error {
	return fmt.Errorf("cluster: client mode is not supported")
}

// Shutdown leaves the gossip cluster (announcing it when graceful) and stops.
func (p *Provider) Shutdown(graceful bool) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	if p.ml == nil {
		return nil
	}
	if graceful {
		if err := p.ml.Leave(2 * time.Second); err != nil {
			p.log.Warn("leave", "err", err)
		}
	}
	return p.ml.Shutdown()
}

// Members returns the number of live members as memberlist sees them.
func (p *Provider) Members() int {
	if p.ml == nil {
		return 0
	}
	return p.ml.NumMembers()
}

func (p *Provider) loop() {
	defer close(p.done)
	tick := time.NewTicker(p.cfg.Republish)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.notify:
			// Debounce: a join often arrives with its update events.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-p.stop:
				return
			}
			p.publish()
		case <-tick.C:
			if len(p.cfg.Join) > 0 && p.ml.NumMembers() <= 1 {
				if _, err := p.ml.Join(p.cfg.Join); err == nil {
					p.log.Info("joined on retry")
				}
			}
			p.publish()
			p.reconnect()
		}
	}
}

// publish pushes a full snapshot, self included, to protoactor.
func (p *Provider) publish() {
	var members []*cluster.Member
	peers := map[string]Peer{}
	for _, n := range p.ml.Members() {
		var m nodeMeta
		if err := json.Unmarshal(n.Meta, &m); err != nil {
			p.log.Warn("ignoring member with bad metadata", "node", n.Name, "err", err)
			continue
		}
		host, port, err := splitHostPort(m.Actor)
		if err != nil {
			continue
		}
		members = append(members, &cluster.Member{Id: m.ID, Host: host, Port: int32(port), Kinds: m.Kinds})
		if m.Gossip != "" && m.Gossip != p.cfg.Advertise {
			if p.known == nil {
				p.known = map[string]time.Time{}
			}
			p.known[m.Gossip] = dialerd.Stopwatch()
		}
		peers[m.Node] = Peer{ID: shardmap.NodeID(m.Node), RaftAddr: m.Raft, Actor: m.Actor, HTTP: m.HTTP, Leaving: m.Leaving}
	}
	p.peers.Store(&peers)
	p.savePeers(peers)
	p.c.MemberList.UpdateClusterTopology(members)
	if p.cfg.OnPeers != nil {
		p.cfg.OnPeers(p.Peers())
	}
}

// reconnect tries, in the background, to join the peers seen before that
// are not alive now (a healed partition, a node restarted elsewhere).
func (p *Provider) reconnect() {
	// Wall time: gossip liveness, not the node's possibly virtual clock.
	now := dialerd.Stopwatch()
	if now.Sub(p.lastRejoin) < reconnectEvery || p.rejoining.Load() {
		return
	}
	p.lastRejoin = now
	alive := map[string]bool{}
	for _, n := range p.ml.Members() {
		var m nodeMeta
		if json.Unmarshal(n.Meta, &m) == nil {
			alive[m.Gossip] = true
		}
	}
	var lost []string
	for addr, seen := range p.known {
		switch {
		case alive[addr]:
		case now.Sub(seen) > reconnectTimeout:
			delete(p.known, addr)
		default:
			lost = append(lost, addr)
		}
	}
	if len(lost) == 0 {
		return
	}
	sort.Strings(lost)
	p.rejoining.Store(true)
	go func() {
		defer p.rejoining.Store(false)
		if n, err := p.ml.Join(lost); err == nil && n > 0 {
			p.log.Info("reconnected to peers", "contacted", n, "tried", lost)
		}
	}()
}

func (p *Provider) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// memberlist.Delegate. Only NodeMeta matters; the rest is unused.

func (p *Provider) NodeMeta(int) []byte             { return p.meta }
func (p *Provider) NotifyMsg([]byte)                {}
func (p *Provider) GetBroadcasts(int, int) [][]byte { return nil }
func (p *Provider) LocalState(bool) []byte          { return nil }
func (p *Provider) MergeRemoteState([]byte, bool)   {}
func (p *Provider) NotifyJoin(*memberlist.Node)     { p.signal() }
func (p *Provider) NotifyLeave(*memberlist.Node)    { p.signal() }
func (p *Provider) NotifyUpdate(*memberlist.Node)   { p.signal() }

func splitHostPort(s string) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return host, port, nil
}

// logWriter turns memberlist's "[LEVEL] memberlist: msg" lines into slog
// records at the matching level.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(b []byte) (int, error) {
	line := string(bytes.TrimSpace(b))
	level := slog.LevelDebug
	for tag, l := range map[string]slog.Level{"[ERR]": slog.LevelError, "[ERROR]": slog.LevelError, "[WARN]": slog.LevelWarn, "[INFO]": slog.LevelDebug} {
		if i := bytes.Index(b, []byte(tag)); i >= 0 {
			level = l
			line = string(bytes.TrimSpace(b[i+len(tag):]))
			break
		}
	}
	w.log.Log(context.Background(), level, line)
	return len(b), nil
}

// savedPeers reads the gossip addresses saved by a previous run.
func (p *Provider) savedPeers() []string {
	if p.cfg.PeersFile == "" {
		return nil
	}
	b, err := os.ReadFile(p.cfg.PeersFile)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range strings.Fields(string(b)) {
		if a != p.cfg.Advertise {
			out = append(out, a)
		}
	}
	return out
}

// savePeers records the other members' gossip addresses when they change.
func (p *Provider) savePeers(peers map[string]Peer) {
	if p.cfg.PeersFile == "" {
		return
	}
	var addrs []string
	for _, n := range p.ml.Members() {
		var m nodeMeta
		if json.Unmarshal(n.Meta, &m) == nil && m.Gossip != "" && m.Gossip != p.cfg.Advertise {
			addrs = append(addrs, m.Gossip)
		}
	}
	if len(addrs) == 0 {
		return // alone: keep what the last cluster looked like
	}
	sort.Strings(addrs)
	text := strings.Join(addrs, "\n") + "\n"
	if text == p.lastSaved {
		return
	}
	tmp := p.cfg.PeersFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err == nil && os.Rename(tmp, p.cfg.PeersFile) == nil {
		p.lastSaved = text
	}
}
