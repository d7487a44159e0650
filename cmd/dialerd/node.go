package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/cluster"
	dhttp "github.com/dialerd/dialerd/http"
	"github.com/dialerd/dialerd/persistence"
	"github.com/dialerd/dialerd/provider"
	"github.com/dialerd/dialerd/provider/sim"
	"github.com/dialerd/dialerd/provider/webhook"
)

// Node is a running dialerd: storage, membership and actors, HTTP.
type Node struct {
	log      *slog.Logger
	store    *persistence.Store
	node     *cluster.Node
	http     *dhttp.Server
	stopping atomic.Bool
	// stopResume ends the loops that resume interrupted uploads and wake
	// active campaigns.
	stopResume context.CancelFunc
	provider   provider.Provider
}

// startProvider makes the telephony provider. Its events go to their
// campaign's grain: sim's straight from its timers, webhook's through
// POST /call/{id}/event/ (the verifier returned).
func (n *Node) startProvider(cfg Config, clock dialerd.Clock, deps *actors.Deps, node *cluster.Node, nodeID string) (dhttp.EventVerifier, error) {
	base := cfg.EventsBase
	if base == "" {
		base = "http://" + cfg.HTTP
	}
	base = strings.TrimSuffix(base, "/")
	deps.EventsURL = func(call string) string { return base + "/api/v/call/" + url.PathEscape(call) + "/event/" }
	sink := actors.NewEventQueue(node.Request, n.log).Sink
	switch cfg.Provider {
	case "webhook":
		// The platform lives in real time whatever the node's clock.
		w, err := webhook.New(webhook.Config{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Sink: sink, Logger: n.log, Node: nodeID})
		if err != nil {
			return nil, err
		}
		n.provider, deps.Provider = w, w
		return webhookEvents{w}, nil
	default:
		p := sim.New(clock, cfg.SimSeed, sink)
		n.provider, deps.Provider = p, p
		return nil, nil
	}
}

// webhookEvents adapts the webhook provider's verifier to the front end.
type webhookEvents struct{ w *webhook.Webhook }

func (e webhookEvents) Verify(body []byte, sig string) (dhttp.ProviderEvent, error) {
	ev, err := e.w.Verify(body, sig)
	if err != nil {
		return dhttp.ProviderEvent{}, err
	}
	b, err := json.Marshal(ev)
	return dhttp.ProviderEvent{ID: ev.ID, Call: ev.Call, Body: b}, err
}

func (e webhookEvents) Forget(id string) { e.w.Forget(id) }

func newLogger(level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, opts))
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func newClock(cfg Config) dialerd.Clock {
	if cfg.Clock == "virtual" {
		start := cfg.ClockStart
		if start.IsZero() {
			start = dialerd.RealClock{}.Now()
		}
		if !cfg.ClockAnchor.IsZero() {
			return dialerd.NewScaledClockAt(start, cfg.ClockSpeed, cfg.ClockAnchor)
		}
		return dialerd.NewScaledClock(start, cfg.ClockSpeed)
	}
	return dialerd.RealClock{}
}

// Start brings a node up in order — Pebble, membership and actors, HTTP —
// undoing what started if a later step fails.
func Start(ctx context.Context, cfg Config, logOut io.Writer) (*Node, error) {
	log := newLogger(cfg.LogLevel, logOut)
	clock := newClock(cfg)
	n := &Node{log: log}

	store, err := persistence.Open(persistence.Options{Dir: cfg.Data, Logger: log})
	if err != nil {
		return nil, err
	}
	n.store = store

	nodeID, err := loadNodeID(cfg.Data)
	if err != nil {
		store.Close()
		return nil, err
	}
	metrics := dhttp.NewMetrics(func() int {
		if n.node == nil {
			return 0
		}
		return n.node.Members()
	})
	node, err := cluster.New(cluster.Config{
		Name: "dialerd", NodeID: nodeID, Dir: cfg.Data, Remote: cfg.Remote, Raft: cfg.Raft,
		Provider: cluster.ProviderConfig{Bind: cfg.Bind, Advertise: cfg.Advertise, Join: cfg.Join, HTTPAddr: cfg.HTTP,
			PeersFile: filepath.Join(cfg.Data, "peers"), Logger: log},
		Local: store, Replicas: cfg.Replicas, Logger: log,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	deps := &actors.Deps{Store: node.Store(), Clock: clock, Logger: log, NewID: uuid.NewString, OnGrain: metrics.OnGrain, Request: node.Request,
		Loaders: make(chan struct{}, concurrentUploads), Reads: actors.NewReads(node.Store())}
	events, err := n.startProvider(cfg, clock, deps, node, nodeID)
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := node.Start(actors.Kinds(deps)); err != nil {
		n.provider.Close()
		store.Close()
		return nil, err
	}
	n.node = node
	metrics.RegisterCluster(func() dhttp.ClusterFigures {
		st := node.Status()
		return dhttp.ClusterFigures{Leader: st.Leader == nodeID, MapVersion: st.MapVersion, ShardsOwned: st.ShardsOwned,
			ShardsServing: st.ShardsServing, UnderReplicated: st.UnderReplicated, MaxReplicaLag: st.MaxLag}
	})

	n.http = dhttp.New(dhttp.Config{
		Addr:           cfg.HTTP,
		BootstrapToken: cfg.BootstrapToken,
		MaxUploadBytes: cfg.MaxUploadBytes,
		Grains:         node,
		Reads:          deps.Reads,
		Catalog:        &actors.Catalog{Store: node.Store()},
		NewID:          uuid.NewString,
		Clock:          clock,
		Metrics:        metrics,
		Ready:          n.ready,
		Cluster:        func(identity string) any { return node.Info(identity) },
		Events:         events,
		Logger:         log,
	})
	if err := n.http.Start(); err != nil {
		node.Stop(false)
		n.provider.Close()
		store.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	rctx, stopResume := context.WithCancel(context.Background())
	n.stopResume = stopResume
	kickUploads, kickCampaigns := make(chan struct{}, 1), make(chan struct{}, 1)
	node.OnShardServing(func(uint16) {
		for _, k := range []chan struct{}{kickUploads, kickCampaigns} {
			select {
			case k <- struct{}{}:
			default:
			}
		}
	})
	go actors.ResumeUploads(rctx, node.Store(), node.Request, 10*time.Second, kickUploads, log)
	go actors.WakeCampaigns(rctx, node.Store(), node.Request, 30*time.Second, kickCampaigns, log)
	if cfg.Pprof != "" {
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(cfg.Pprof, nil)) }()
	}
	log.Info("dialerd started", "node", nodeID, "http", n.http.Addr(), "gossip", cfg.Bind, "actors", node.Address(),
		"data", cfg.Data, "clock", cfg.Clock, "join", cfg.Join)
	return n, nil
}

// concurrentUploads is how many uploads a node ingests at once: one
// upload already keeps this machine's two cores busy.
const concurrentUploads = 2

func (n *Node) ready() error {
	if n.stopping.Load() {
		return errors.New("shutting down")
	}
	if n.node.Members() < 1 {
		return errors.New("not a cluster member yet")
	}
	return n.node.Ready()
}

// loadNodeID reads the node's persistent ID from the data directory,
// creating it on first start.
func loadNodeID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !os.IsNotExist(err) {
		return "", err
	}
	id := "n-" + uuid.NewString()[:8]
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", err
	}
	return id, nil
}

// Close shuts down in reverse order, each step bounded: stop taking
// requests and let those in flight finish, leave the cluster (stopping the
// grains), close Pebble.
func (n *Node) Close() error {
	n.stopping.Store(true)
	n.log.Info("shutting down")
	n.stopResume()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	// Hand shards over while still answering (requests for them are
	// forwarded to their new owners), then stop taking requests.
	n.node.Leave(10 * time.Second)
	if err := n.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http: %w", err))
	}
	n.node.Stop(true)
	n.provider.Close()
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	n.log.Info("stopped")
	return errors.Join(errs...)
}
