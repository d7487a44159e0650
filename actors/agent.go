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

	// The campaign dialing with the pool now, until when, and what it
	// last said its seats are doing: seats are not shared between
	// campaigns, or two would put calls on one seat.
	holder      string
	holderUntil time.Time
	activity    map[int]string
}

// AttachRequest is a campaign's claim on an agent's seats until a time on
// the node's clock, renewed each tick, with what its seats are doing.
type AttachRequest struct {
	Campaign  string         `json:"campaign"`
	Workspace string         `json:"workspace"`
	Until     time.Time      `json:"until"`
	Activity  map[int]string `json:"activity"` // seat → on_call | wrap_up
	Release   bool           `json:"release"`  // the campaign stops dialing
}

// AttachReply is the agent as it is, and the campaign holding it (the
// asker, or another one).
type AttachReply struct {
	Agent  *dialerd.Agent `json:"agent"`
	Holder string         `json:"holder"`
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
		return reply(g.live())
	case pb.AgentOp_AGENT_ATTACH:
		return reply(g.attach(m.Body))
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

// attach gives the pool to the asking campaign unless another holds it
// and has renewed its claim in time.
func (g *agentGrain) attach(body []byte) ([]byte, error) {
	var r AttachRequest
	if err := json.Unmarshal(body, &r); err != nil || r.Campaign == "" {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Bad attach request.")
	}
	if g.a == nil || g.a.WorkspaceID() != r.Workspace {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q not found in the campaign's workspace.", g.id)
	}
	now := g.deps.Clock.Now()
	switch {
	case r.Release:
		if g.holder == r.Campaign {
			g.holder, g.activity = "", nil
		}
	case g.holder == "" || g.holder == r.Campaign || !now.Before(g.holderUntil):
		g.holder, g.holderUntil, g.activity = r.Campaign, r.Until, r.Activity
	}
	return json.Marshal(AttachReply{Agent: g.a, Holder: g.holder})
}

// live is the agent with what each seat is doing, as its campaign last
// said: idle, on_call or wrap_up.
func (g *agentGrain) live() ([]byte, error) {
	type seat struct {
		dialerd.AgentSeat
		Activity string `json:"activity"`
	}
	out := struct {
		*dialerd.Agent
		Seats    []seat `json:"seats"`
		Campaign string `json:"campaign"`
	}{Agent: g.a, Seats: make([]seat, len(g.a.Seats))}
	held := g.holder != "" && g.deps.Clock.Now().Before(g.holderUntil)
	if held {
		out.Campaign = g.holder
	}
	for i, s := range g.a.Seats {
		out.Seats[i] = seat{AgentSeat: s, Activity: "idle"}
		if a := g.activity[s.Seat]; held && a != "" {
			out.Seats[i].Activity = a
		}
	}
	return json.Marshal(out)
}
