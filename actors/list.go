package actors

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// Index names of lists, written in the list's shard with its document.
const (
	indexListAll      = "list.all"      // uuid
	indexListCampaign = "list.campaign" // campaign 0x00 uuid
	indexListWS       = "list.ws"       // workspace 0x00 uuid
)

// listGrain is list/<uuid>: a prospect list, its prospects and their dial
// state, its uploads.
type listGrain struct {
	deps     *Deps
	uuid     string
	identity string
	log      *slog.Logger
	loaded   bool
	l        *dialerd.ProspectList
	doc      []byte
}

func (g *listGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.uuid = m.Identity.Identity
		g.identity = KindList + "/" + g.uuid
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindList, 1)
	case *actor.Stopped:
		if g.identity != "" {
			g.deps.OnGrain(KindList, -1)
		}
	case *pb.ListRequest:
		ctx.Respond(g.handle(m))
		if g.l == nil {
			// Lookups of unknown lists must not leave grains behind.
			ctx.Poison(ctx.Self())
		}
	}
}

func (g *listGrain) load() error {
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	doc, err := g.deps.Store.Get(c, g.identity, "doc")
	if err != nil {
		return err
	}
	g.loaded = true
	if doc == nil {
		g.l, g.doc = nil, nil
		return nil
	}
	var l dialerd.ProspectList
	if err := json.Unmarshal(doc, &l); err != nil {
		return dialerd.Errorf(dialerd.EINTERNAL, "list %s: corrupt record: %v", g.uuid, err)
	}
	g.l, g.doc = &l, doc
	return nil
}

func (g *listGrain) handle(m *pb.ListRequest) *pb.Reply {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return reply(nil, err)
	}
	if !g.loaded {
		if err := g.load(); err != nil {
			g.log.Error("load failed", "err", err)
			return reply(nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "List storage is unavailable; try again."))
		}
	}
	p := principal(m.Scope)
	if m.Op == pb.ListOp_LIST_CREATE {
		return reply(g.create(p, m.Body))
	}
	if g.l == nil || !p.Covers(g.l.WorkspaceID()) {
		return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "List %q not found.", g.uuid))
	}
	switch m.Op {
	case pb.ListOp_LIST_GET:
		return reply(g.doc, nil)
	case pb.ListOp_LIST_DELETE:
		return reply(nil, g.delete())
	}
	return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Unknown list operation %d.", m.Op))
}

func (g *listGrain) create(p dialerd.Principal, body []byte) ([]byte, error) {
	var l dialerd.ProspectList
	if err := json.Unmarshal(body, &l); err != nil || l.UUID != g.uuid || l.Slug == "" || l.Campaign == "" {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Bad list record.")
	}
	if g.l != nil {
		if g.l.Slug == l.Slug {
			return g.doc, nil // a retried create
		}
		return nil, dialerd.Errorf(dialerd.ECONFLICT, "List %s exists.", g.uuid)
	}
	if !p.Covers(l.WorkspaceID()) {
		return nil, forbiddenWorkspace(l.WorkspaceID())
	}
	now := g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	l.CreatedAt, l.UpdatedAt = now, now
	doc, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	ops := []dialerd.Op{
		dialerd.Set("doc", doc),
		dialerd.IndexSet(indexListAll, g.uuid, nil),
		dialerd.IndexSet(indexListCampaign, l.Campaign+"\x00"+g.uuid, nil),
	}
	if ws := l.WorkspaceID(); ws != "" {
		ops = append(ops, dialerd.IndexSet(indexListWS, ws+"\x00"+g.uuid, nil))
	}
	if err := g.write(ops); err != nil {
		return nil, err
	}
	g.l, g.doc = &l, doc
	return doc, nil
}

func (g *listGrain) delete() error {
	ops := []dialerd.Op{
		dialerd.DeleteAll(),
		dialerd.IndexDelete(indexListAll, g.uuid),
		dialerd.IndexDelete(indexListCampaign, g.l.Campaign+"\x00"+g.uuid),
	}
	if ws := g.l.WorkspaceID(); ws != "" {
		ops = append(ops, dialerd.IndexDelete(indexListWS, ws+"\x00"+g.uuid))
	}
	if err := g.write(ops); err != nil {
		return err
	}
	g.l, g.doc = nil, nil
	return nil
}

func (g *listGrain) write(ops []dialerd.Op) error {
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := g.deps.Store.Apply(c, g.identity, ops); err != nil {
		return storeErr(g.log, err)
	}
	return nil
}

// slugGrain is listslug/<slug>: it holds the UUID of the list that has the
// slug, so list slugs are unique across the cluster.
type slugGrain struct {
	deps     *Deps
	identity string
	log      *slog.Logger
	holder   string // the uuid, "" when free
	loaded   bool
}

func (g *slugGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.identity = KindListSlug + "/" + m.Identity.Identity
		g.log = g.deps.Logger.With("grain", g.identity)
	case *pb.SlugRequest:
		ctx.Respond(g.handle(m))
		if g.holder == "" {
			ctx.Poison(ctx.Self())
		}
	}
}

func (g *slugGrain) handle(m *pb.SlugRequest) *pb.Reply {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return reply(nil, err)
	}
	if !g.loaded {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		v, err := g.deps.Store.Get(c, g.identity, "uuid")
		cancel()
		if err != nil {
			return reply(nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "Slug registry unavailable; try again."))
		}
		g.holder, g.loaded = string(v), true
	}
	switch m.Op {
	case pb.SlugOp_SLUG_GET:
		if g.holder == "" {
			return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "List not found."))
		}
		return reply([]byte(g.holder), nil)
	case pb.SlugOp_SLUG_RESERVE:
		if g.holder != "" && g.holder != m.Uuid && g.holder != m.Expect {
			return reply([]byte(g.holder), dialerd.Errorf(dialerd.ECONFLICT, "Slug taken."))
		}
		return reply([]byte(m.Uuid), g.set(m.Uuid))
	case pb.SlugOp_SLUG_RELEASE:
		if g.holder != m.Uuid {
			return reply(nil, nil)
		}
		return reply(nil, g.set(""))
	}
	return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Unknown slug operation %d.", m.Op))
}

func (g *slugGrain) set(uuid string) error {
	op := dialerd.Set("uuid", []byte(uuid))
	if uuid == "" {
		op = dialerd.DeleteAll()
	}
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := g.deps.Store.Apply(c, g.identity, []dialerd.Op{op}); err != nil {
		return storeErr(g.log, err)
	}
	g.holder = uuid
	return nil
}
