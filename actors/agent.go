package actors

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// agentGrain is agent/<id>: a seat pool and the state its operator set
// for each seat. Campaigns read it to know how many seats they may fill.
type agentGrain struct {
	deps     *Deps
	id       string
	identity string
	log      *slog.Logger
	loaded   bool
	a        *dialerd.Agent
	doc      []byte
}

func (g *agentGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.id = m.Identity.Identity
		g.identity = KindAgent + "/" + g.id
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindAgent, 1)
	case *actor.Stopped:
		if g.identity != "" {
			g.deps.OnGrain(KindAgent, -1)
		}
	case *pb.AgentRequest:
		ctx.Respond(g.handle(m))
		if g.a == nil {
			ctx.Poison(ctx.Self())
		}
	}
}

func (g *agentGrain) handle(m *pb.AgentRequest) *pb.Reply {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return reply(nil, err)
	}
	if !g.loaded {
		var a dialerd.Agent
		doc, err := loadDoc(g.deps.Store, g.identity, &a)
		if err != nil {
			g.log.Error("load failed", "err", err)
			return reply(nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "Agent storage is unavailable; try again."))
		}
		g.loaded = true
		if doc != nil {
			g.a, g.doc = &a, doc
		}
	}
	p := principal(m.Scope)
	if g.a != nil && !p.Covers(g.a.WorkspaceID()) {
		return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q not found.", g.id))
	}
	switch m.Op {
	case pb.AgentOp_AGENT_GET:
		if g.a == nil {
			return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q not found.", g.id))
		}
		return reply(g.doc, nil)
	case pb.AgentOp_AGENT_PUT:
		return reply(g.put(p, m.Body))
	case pb.AgentOp_AGENT_SEAT:
		return reply(g.setSeat(int(m.Seat), m.Body))
	}
	return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Unknown agent operation %d.", m.Op))
}

// put creates the agent or sets its workspace and pool size; seats kept
// keep their state.
func (g *agentGrain) put(p dialerd.Principal, body []byte) ([]byte, error) {
	in, err := dialerd.ParseAgentInput(body)
	if err != nil {
		return nil, err
	}
	ws := ""
	if in.Workspace != nil {
		ws = *in.Workspace
	}
	if !p.Covers(ws) {
		return nil, forbiddenWorkspace(ws)
	}
	now := g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	next := dialerd.Agent{ID: g.id, CreatedAt: now}
	if g.a != nil {
		next = *g.a
		next.Seats = append([]dialerd.AgentSeat(nil), g.a.Seats...)
	}
	next.Workspace, next.UpdatedAt = in.Workspace, now
	next.Resize(in.Seats)
	return g.save(&next)
}

func (g *agentGrain) setSeat(seat int, body []byte) ([]byte, error) {
	if g.a == nil {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q not found.", g.id)
	}
	if seat < 1 || seat > len(g.a.Seats) {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q has no seat %d (it has %d).", g.id, seat, len(g.a.Seats))
	}
	state, err := dialerd.ParseSeatState(body)
	if err != nil {
		return nil, err
	}
	next := *g.a
	next.Seats = append([]dialerd.AgentSeat(nil), g.a.Seats...)
	next.Seats[seat-1].State = state
	next.UpdatedAt = g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	return g.save(&next)
}

func (g *agentGrain) save(a *dialerd.Agent) ([]byte, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	if err := apply(g.deps.Store, g.log, g.identity, []dialerd.Op{dialerd.Set("doc", doc)}); err != nil {
		return nil, err
	}
	g.a, g.doc = a, doc
	return doc, nil
}
