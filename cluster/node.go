package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/dialerd/dialerd"
)

// Config configures a node's membership and actor transport.
type Config struct {
	// Name of the cluster; nodes of different names never mix.
	Name string
	// Remote is the actor transport host:port; port 0 picks a free one,
	// which membership advertises.
	Remote string
	// Provider configures memberlist.
	Provider ProviderConfig
	// Kinds are the grain kinds this node hosts.
	Kinds []*cluster.Kind
	// RequestTimeout bounds one request to a grain. Default 5 s.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// Node is a running cluster member.
type Node struct {
	System   *actor.ActorSystem
	Cluster  *cluster.Cluster
	provider *Provider
	inbox    *inbox
	timeout  time.Duration
	log      *slog.Logger
}

// Start creates the actor system, starts remoting and joins the cluster.
func Start(cfg Config) (*Node, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	host, port, err := splitHostPort(cfg.Remote)
	if err != nil {
		return nil, fmt.Errorf("cluster: --remote: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	actorLog := cfg.Logger.With("component", "actor")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// protoactor logs every dead letter and retry at Info/Warn; keep
		// them a level down so a node's log stays readable.
		return slog.New(demote{actorLog.Handler()})
	}))
	provider := NewProvider(cfg.Provider)
	rc := remote.Configure(host, port)
	cc := cluster.Configure(cfg.Name, provider, disthash.New(), rc,
		cluster.WithKinds(cfg.Kinds...), cluster.WithRequestTimeout(cfg.RequestTimeout))
	c := cluster.New(system, cc)
	if err := startMember(c); err != nil {
		return nil, err
	}
	return &Node{System: system, Cluster: c, provider: provider, inbox: newInbox(system, inboxSize),
		timeout: cfg.RequestTimeout, log: cfg.Logger}, nil
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

// Address is this node's actor transport address.
func (n *Node) Address() string { return n.System.Address() }

// Request sends msg to the grain kind/identity wherever it lives and returns
// its reply. A stale cached location is dropped and retried once; a timeout
// is EUNAVAILABLE, since the grain may still act on the request.
func (n *Node) Request(ctx context.Context, kind, identity string, msg proto.Message) (any, error) {
	timeout := n.timeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		pid, _ := n.Cluster.PidCache.Get(identity, kind)
		if pid == nil {
			pid = n.Cluster.Get(identity, kind)
			if pid == nil {
				if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
					break
				}
				continue
			}
			n.Cluster.PidCache.Set(identity, kind, pid)
		}
		res, err := n.inbox.request(pid, msg, timeout)
		if err == nil {
			return res, nil
		}
		n.Cluster.PidCache.Remove(identity, kind)
		if errors.Is(err, actor.ErrTimeout) || errors.Is(err, remote.ErrTimeout) {
			return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The %s did not answer in time; try again.", kind)
		}
		// Dead letter: the grain stopped or moved; look it up again.
	}
	return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The %s is not reachable right now; try again.", kind)
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

// Stop leaves the cluster. Graceful announces the leave so peers react at
// once; otherwise peers detect the loss by failure detection.
func (n *Node) Stop(graceful bool) {
	n.Cluster.Shutdown(graceful)
	if !graceful {
		_ = n.provider.Shutdown(false)
	}
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
