package actors

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
)

// Index names and the shape of their keys. Every entry lives in the shard of
// the campaign that wrote it, in the same batch as the campaign itself.
const (
	indexCampaignAll   = "campaign.all"   // slug
	indexCampaignWS    = "campaign.ws"    // workspace 0x00 slug
	indexCampaignEmail = "campaign.email" // lower(email) 0x00 slug
)

const storeTimeout = 10 * time.Second

// campaignGrain is the virtual actor campaign/<slug>: the campaign's settings
// now, its dialer tick and live state as they arrive.
type campaignGrain struct {
	deps     *Deps
	slug     string
	identity string
	log      *slog.Logger

	loaded bool
	c      *dialerd.Campaign // nil: no campaign under this slug
	doc    []byte            // c encoded, what GET answers
	status []byte            // the status encoded; nil when it must be recomputed
	phones *phoneFilter      // built on the first claim

	pid *actor.PID
	sys *actor.ActorSystem
	d   dialing
}

func (g *campaignGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.slug = m.Identity.Identity
		g.identity = KindCampaign + "/" + g.slug
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindCampaign, 1)
		g.pid, g.sys = ctx.Self(), ctx.ActorSystem()
		if err := g.load(); err != nil {
			g.log.Error("load failed; will retry on next request", "err", err)
		}
		g.dial(ctx)
	case *actor.Stopped:
		g.deps.Reads.withdraw(g)
		g.stopDialing()
		if g.identity != "" {
			g.deps.OnGrain(KindCampaign, -1)
		}
	case *tickMsg:
		if g.deps.Store.Serving(g.identity) == nil {
			g.onTick(ctx, m)
		}
	case *wakeMsg:
		g.onWake(ctx, m)
	case *pb.CampaignRequest:
		ctx.Respond(g.handle(ctx, m))
	}
}

// dial starts ticking if the campaign is active (or has calls to finish).
// The first tick loads what dialing needs: not here, since a grain is
// activated on the goroutine of the node endpoint that asked for it, which
// must not wait on storage.
func (g *campaignGrain) dial(ctx actor.Context) {
	if g.c == nil || !g.c.Active && !g.d.started {
		return
	}
	if g.d.tick == nil {
		// Campaigns woken together (a node's start, a take-over) spread
		// their ticks over an interval instead of all ticking at once.
		g.schedule(ctx, rand.N(time.Duration(g.c.DialerInterval)*time.Second))
	}
}

func (g *campaignGrain) load() error {
	var c dialerd.Campaign
	doc, err := loadDoc(g.deps.Store, g.identity, &c)
	if err != nil {
		return err
	}
	g.loaded = true
	g.c, g.doc = nil, nil
	if doc != nil {
		g.c, g.doc = &c, doc
	}
	g.deps.Reads.publish(g)
	return nil
}

func (g *campaignGrain) handle(ctx actor.Context, m *pb.CampaignRequest) *pb.Reply {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return reply(nil, err)
	}
	if !g.loaded {
		if err := g.load(); err != nil {
			g.log.Error("load failed", "err", err)
			return reply(nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "Campaign storage is unavailable; try again."))
		}
	}
	p := principal(m.Scope)
	if m.Op == pb.CampaignOp_CAMPAIGN_CREATE {
		doc, err := g.create(p, m.Body)
		if err == nil {
			g.dial(ctx)
		}
		return reply(doc, err)
	}
	// Outside the caller's scope looks exactly like absent.
	if g.c == nil || !p.Covers(g.c.WorkspaceID()) {
		return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "Campaign %q not found.", g.slug))
	}
	switch m.Op {
	case pb.CampaignOp_CAMPAIGN_GET:
		g.deps.Reads.refresh(g)
		return reply(g.doc, nil)
	case pb.CampaignOp_CAMPAIGN_REPLACE, pb.CampaignOp_CAMPAIGN_PATCH:
		next := *g.c
		if m.Op == pb.CampaignOp_CAMPAIGN_REPLACE {
			next = dialerd.NewCampaign()
		}
		oldAgent := g.agentID()
		doc, err := g.update(p, next, m.Body)
		if err == nil {
			if oldAgent != g.agentID() && g.d.started {
				g.releaseAgentID(oldAgent)
			}
			g.d.drained = false
			if g.d.started {
				g.d.e.Settings(dialer.SettingsOf(*g.c))
			}
			g.dial(ctx)
		}
		return reply(doc, err)
	case pb.CampaignOp_CAMPAIGN_DELETE:
		return reply(nil, g.delete())
	case pb.CampaignOp_CAMPAIGN_CLAIM_PHONES:
		return reply(g.claimPhones(m.Body))
	case pb.CampaignOp_CAMPAIGN_RELEASE_PHONES:
		return reply(nil, g.releasePhones(m.Body))
	case pb.CampaignOp_CAMPAIGN_STATUS:
		if g.status == nil {
			b, err := json.Marshal(g.computeStatus())
			if err != nil {
				return reply(nil, err)
			}
			g.status = b
		}
		return reply(g.status, nil)
	case pb.CampaignOp_CAMPAIGN_CALLS:
		return reply(g.callsPage(m.Cursor, int(m.Limit)))
	case pb.CampaignOp_CAMPAIGN_STATS:
		return reply(g.seriesDoc(int(m.Limit)))
	case pb.CampaignOp_CAMPAIGN_EVENT:
		return reply(g.onEvent(ctx, m))
	case pb.CampaignOp_CAMPAIGN_DISPOSITION:
		return reply(g.onDisposition(ctx, m))
	case pb.CampaignOp_CAMPAIGN_WAKE:
		if len(m.Body) > 0 {
			if err := g.changeLists(m.Body); err != nil {
				return reply(nil, err)
			}
		}
		g.d.drained, g.status = false, nil
		g.dial(ctx)
		return reply(nil, nil)
	}
	return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Unknown campaign operation %d.", m.Op))
}

func (g *campaignGrain) create(p dialerd.Principal, body []byte) ([]byte, error) {
	if g.c != nil {
		return nil, dialerd.Errorf(dialerd.ECONFLICT, "Slug %q is taken.", g.slug)
	}
	c := dialerd.NewCampaign()
	if err := c.ApplyJSON(body); err != nil {
		return nil, err
	}
	if !p.Covers(c.WorkspaceID()) {
		return nil, forbiddenWorkspace(c.WorkspaceID())
	}
	now := g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	c.ID, c.Slug, c.CreatedAt, c.UpdatedAt = g.deps.NewID(), g.slug, now, now
	return g.persist(&c)
}

func (g *campaignGrain) update(p dialerd.Principal, next dialerd.Campaign, body []byte) ([]byte, error) {
	if err := next.ApplyJSON(body); err != nil {
		return nil, err
	}
	if !p.Covers(next.WorkspaceID()) {
		return nil, forbiddenWorkspace(next.WorkspaceID())
	}
	next.ID, next.Slug, next.CreatedAt = g.c.ID, g.c.Slug, g.c.CreatedAt
	next.UpdatedAt = g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	if !next.UpdatedAt.After(g.c.UpdatedAt) {
		// Keep updated_at strictly increasing even if the clock is not.
		next.UpdatedAt = g.c.UpdatedAt.Add(time.Microsecond)
	}
	return g.persist(&next)
}

func forbiddenWorkspace(ws string) error {
	if ws == "" {
		return dialerd.Errorf(dialerd.EFORBIDDEN, "This token may only create campaigns in its workspaces: set \"workspace\".")
	}
	return dialerd.Errorf(dialerd.EFORBIDDEN, "This token does not cover workspace %q.", ws)
}

// persist writes next and its index entries in one batch, then adopts it.
func (g *campaignGrain) persist(next *dialerd.Campaign) ([]byte, error) {
	doc, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	ops := []dialerd.Op{dialerd.Set("doc", doc), dialerd.IndexSet(indexCampaignAll, g.slug, nil)}
	if next.Active {
		ops = append(ops, dialerd.IndexSet(indexCampaignDialing, g.slug, nil))
	} else {
		ops = append(ops, dialerd.IndexDelete(indexCampaignDialing, g.slug))
	}
	ops = append(ops, g.indexOps(g.c, next)...)
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return nil, err
	}
	g.c, g.doc, g.status = next, doc, nil
	g.deps.Reads.publish(g)
	return doc, nil
}

// indexOps moves the workspace and e-mail entries from old to next (either
// may be nil).
func (g *campaignGrain) indexOps(old, next *dialerd.Campaign) []dialerd.Op {
	var ops []dialerd.Op
	key := func(v string) string { return v + "\x00" + g.slug }
	move := func(index, from, to string) {
		if from == to {
			return
		}
		if from != "" {
			ops = append(ops, dialerd.IndexDelete(index, key(from)))
		}
		if to != "" {
			ops = append(ops, dialerd.IndexSet(index, key(to), nil))
		}
	}
	var oldWS, oldEmail, newWS, newEmail string
	if old != nil {
		oldWS, oldEmail = old.WorkspaceID(), strings.ToLower(old.EmailAddr())
	}
	if next != nil {
		newWS, newEmail = next.WorkspaceID(), strings.ToLower(next.EmailAddr())
	}
	move(indexCampaignWS, oldWS, newWS)
	move(indexCampaignEmail, oldEmail, newEmail)
	return ops
}

func (g *campaignGrain) delete() error {
	ops := append([]dialerd.Op{dialerd.DeleteAll(), dialerd.IndexDelete(indexCampaignAll, g.slug), dialerd.IndexDelete(indexCampaignDialing, g.slug)}, g.indexOps(g.c, nil)...)
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return err
	}
	g.hangUpAll()
	g.c, g.doc, g.status = nil, nil, nil
	g.deps.Reads.withdraw(g)
	return nil
}

// storeErr keeps client-facing codes, and turns anything else into
// EUNAVAILABLE after logging it: the write did not happen, a retry may work.
func storeErr(log *slog.Logger, err error) error {
	if c := dialerd.ErrorCode(err); c != dialerd.EINTERNAL {
		return err
	}
	log.Error("store write failed", "err", err)
	return dialerd.Errorf(dialerd.EUNAVAILABLE, "Storage is unavailable; nothing was written. Try again.")
}

// claimPhones records a claim's numbers as in the campaign now and answers
// the positions that are duplicates (dialerd.Duplicates), which are not
// recorded: their first addition keeps counting. The answer carries
// dupe_days, which the list applies to the numbers it holds.
func (g *campaignGrain) claimPhones(body []byte) ([]byte, error) {
	var c dialerd.PhoneClaim
	if err := json.Unmarshal(body, &c); err != nil || c.List == "" || c.Key == "" {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Bad phone claim.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	prev, err := g.phoneRecords(ctx, c.Phones)
	if err != nil {
		return nil, err
	}
	now := g.deps.Clock.Now().Unix()
	dups := dialerd.Duplicates(c, prev, g.c.DupeDays, now)
	isDup := make([]bool, len(c.Phones))
	for _, i := range dups {
		isDup[i] = true
	}
	rec, _ := json.Marshal(dialerd.PhoneRecord{List: c.List, Key: c.Key, Added: now})
	ops := make([]dialerd.Op, 0, len(c.Phones))
	for i, ph := range c.Phones {
		if !isDup[i] && (prev[i] == nil || prev[i].Key != c.Key) {
			ops = append(ops, dialerd.Set("dup/"+ph, rec))
		}
	}
	if len(ops) > 0 {
		if err := g.deps.Store.Apply(ctx, g.identity, ops); err != nil {
			return nil, storeErr(g.log, err)
		}
		for _, op := range ops {
			g.phones.add(op.Key)
		}
	}
	return json.Marshal(dialerd.ClaimResult{Dups: dups, DupeDays: g.c.DupeDays})
}

// phoneRecords reads the campaign's records of phones (nil where none).
func (g *campaignGrain) phoneRecords(ctx context.Context, phones []string) ([]*dialerd.PhoneRecord, error) {
	if err := ensurePhoneFilter(ctx, &g.phones, g.deps.Store, g.identity, "dup/"); err != nil {
		return nil, storeErr(g.log, err)
	}
	keys := make([]string, len(phones))
	for i, ph := range phones {
		keys[i] = "dup/" + ph
	}
	vals, err := g.phones.lookup(ctx, g.deps.Store, g.identity, keys)
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	prev := make([]*dialerd.PhoneRecord, len(phones))
	for i, v := range vals {
		if v != nil {
			var r dialerd.PhoneRecord
			if json.Unmarshal(v, &r) == nil {
				prev[i] = &r
			}
		}
	}
	return prev, nil
}

// releasePhones forgets numbers the campaign no longer holds: those of a
// claim whose prospects were not added after all (by key), or those of a
// deleted list (no key), where that claim or list still holds them.
func (g *campaignGrain) releasePhones(body []byte) error {
	var c dialerd.PhoneClaim
	if err := json.Unmarshal(body, &c); err != nil || (c.Key == "" && c.List == "") {
		return dialerd.Errorf(dialerd.EINVALID, "Bad phone release.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	prev, err := g.phoneRecords(ctx, c.Phones)
	if err != nil {
		return err
	}
	var ops []dialerd.Op
	for i, ph := range c.Phones {
		// By claim (an add that failed), or by list (a list deleted).
		if p := prev[i]; p != nil && (c.Key != "" && p.Key == c.Key || c.Key == "" && p.List == c.List) {
			ops = append(ops, dialerd.Delete("dup/"+ph))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if err := g.deps.Store.Apply(ctx, g.identity, ops); err != nil {
		return storeErr(g.log, err)
	}
	return nil
}
