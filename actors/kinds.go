package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

// Grain kinds. A grain's storage identity is kind + "/" + its cluster
// identity, e.g. "campaign/spring-promo".
const (
	KindCampaign = "campaign"
	KindToken    = "token"
	KindList     = "list"
	KindListSlug = "listslug"
	// KindUpload is upload/<uuid>: which list an upload belongs to.
	KindUpload = "upload"
	// KindAgent is agent/<id>: a seat pool.
	KindAgent = "agent"
	// KindDNC is dnc/<DNCIdentity(workspace)>: a do-not-call list.
	KindDNC = "dnc"
)

// Deps is what grains are given; main wires it.
type Deps struct {
	Store  dialerd.Store
	Clock  dialerd.Clock
	Logger *slog.Logger
	// NewID returns a fresh unique ID (a UUID in production).
	NewID func() string
	// OnGrain is told when a grain of a kind starts (+1) or stops (-1).
	OnGrain func(kind string, delta int)
	// Request sends a message to another grain (an upload's list asks its
	// campaign to claim numbers). Set once the cluster runs.
	Request RequestFunc
	// Provider places the calls campaigns dial.
	Provider provider.Provider
	// EventsURL is where a provider posts a call's events.
	EventsURL func(call string) string
	// Loaders bounds how many uploads a node ingests at once (each holds a
	// few batches in memory and keeps a core busy); the others wait their
	// turn, processing with nothing done yet. Nil: no bound.
	Loaders chan struct{}
	// Reads receives the campaign documents of this node's grains (nil:
	// none kept).
	Reads *Reads
}

// Kinds returns the cluster kinds this node hosts.
func Kinds(d *Deps) []*cluster.Kind {
	if d.OnGrain == nil {
		d.OnGrain = func(string, int) {}
	}
	return []*cluster.Kind{
		// Campaign grains run on their own goroutine (protoactor's default
		// dispatcher), not the caller's: a dialing campaign's mailbox is
		// never empty, and a caller that found it idle would run it for
		// good. See docs/ARCHITECTURE.md, "The hot path".
		cluster.NewKind(KindCampaign, actor.PropsFromProducer(func() actor.Actor { return &campaignGrain{deps: d} })),
		cluster.NewKind(KindToken, actor.PropsFromProducer(func() actor.Actor { return &tokenGrain{deps: d} })),
		cluster.NewKind(KindList, actor.PropsFromProducer(func() actor.Actor { return &listGrain{deps: d} })),
		cluster.NewKind(KindListSlug, actor.PropsFromProducer(func() actor.Actor { return &slugGrain{deps: d, kind: KindListSlug} })),
		cluster.NewKind(KindUpload, actor.PropsFromProducer(func() actor.Actor { return &slugGrain{deps: d, kind: KindUpload} })),
		cluster.NewKind(KindAgent, actor.PropsFromProducer(func() actor.Actor { return &agentGrain{deps: d} })),
		cluster.NewKind(KindDNC, actor.PropsFromProducer(func() actor.Actor { return &dncGrain{deps: d} })),
	}
}
