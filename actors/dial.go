package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/provider"
)

// The campaign grain's dialer: a thin shell around dialer.Engine. Each
// tick it reads its agent's seats, asks the engine how many calls to
// place, leases that many prospects from its lists (their attempts are
// counted durably there), writes the calls to its log, and only then asks
// the provider to place them. Provider events and dispositions drive the
// engine between ticks; what they change is written at the next tick, or
// at once when the event's sender waits for it.
//
// Keys, beside the campaign's document:
//
//	c/<n>       call n's record (dialerd.CallRecord), n zero-padded
//	o/<n>       call n is in progress (closed as unknown on restart)
//	callseq     the last call number given
//	st/<day>    attempts, answered and abandoned on a UTC day
//	sm/<minute> the same by minute, for a day (stats.go)

const callNumWidth = 12

// tickTimeout bounds each request a tick makes to another grain: a tick
// holds the campaign's mailbox, and a list or agent that is moving between
// nodes is tried again at the next tick rather than waited for.
const tickTimeout = 2 * time.Second

// agentRetryTicks: after its agent was not found, a campaign asks again
// only every this many ticks.
const agentRetryTicks = 5

func callKey(n int64) string { return fmt.Sprintf("c/%0*d", callNumWidth, n) }
func openKey(n int64) string { return fmt.Sprintf("o/%0*d", callNumWidth, n) }

// Index of campaigns that dial: a node wakes them after a start or a
// take-over (WakeCampaigns).
const indexCampaignDialing = "campaign.dialing" // slug

// Messages a campaign sends itself from its timers.
type (
	tickMsg struct{ gen int }
	wakeMsg struct{ gen int }
)

// dialing is the campaign grain's dialing state.
type dialing struct {
	e       *dialer.Engine
	started bool // the open calls of a previous activation are closed
	gen     int  // timers of older generations are ignored
	tick    dialerd.Timer
	wake    dialerd.Timer
	wakeAt  time.Time
	seq     int64
	recs    map[int64]*dialerd.CallRecord // calls in progress
	dirty   map[int64]bool                // records to write
	results map[string][]dialer.Result    // by list, to send
	// dnc is the outbox of numbers seats marked do_not_call, by call:
	// written (dq/<n>) with the call's record, sent to the workspace's
	// list, then deleted. dncSaved marks those already written.
	dnc       map[int64]string
	dncSaved  map[int64]bool
	days      map[string]*dayStats
	dirtyDays map[string]bool
	// minutes are the figures by minute (stats.go); prunedAt is the
	// minute the stale ones were last looked for.
	minutes      map[string]*dayStats
	dirtyMinutes map[string]bool
	prunedAt     string

	lists      []string
	listsFresh bool
	nextList   int
	ticks      int
	drained    bool // every list said it has nothing unresolved

	agent      *dialerd.Agent
	agentHeld  string // the campaign holding the agent, when not this one
	agentErr   error
	agentRetry int                  // the tick to ask a missing agent again
	stats      map[string]DialStats // by list
	statsTick  int                  // the tick they were read at
}

type dayStats struct {
	Attempts  int `json:"attempts"`
	Answered  int `json:"answered"`
	Abandoned int `json:"abandoned"`
}

// startDialing loads the dialing state once per activation: the call
// sequence, the daily figures, and the calls a previous activation left in
// progress, which are closed as unknown (their outcome will never reach
// this activation) so their prospects are called again after
// min_time_between_calls.
func (g *campaignGrain) startDialing(ctx actor.Context) error {
	d := &g.d
	if d.started {
		return nil
	}
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	store := g.deps.Store
	v, err := store.Get(c, g.identity, "callseq")
	if err != nil {
		return err
	}
	if len(v) > 0 {
		// A call number given twice would overwrite a call's record.
		if _, err := fmt.Sscanf(string(v), "%d", &d.seq); err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt call sequence %q", g.identity, v)
		}
	}
	if err := g.loadDays(); err != nil {
		return err
	}
	if err := g.loadMinutes(); err != nil {
		return err
	}
	d.dnc, d.dncSaved = map[int64]string{}, map[int64]bool{}
	err = store.Scan(c, g.identity, "dq/", func(key string, v []byte) error {
		n, err := strconv.ParseInt(strings.TrimPrefix(key, "dq/"), 10, 64)
		if err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt do-not-call outbox key %q", g.identity, key)
		}
		d.dnc[n], d.dncSaved[n] = string(v), true
		return nil
	})
	if err != nil {
		return err
	}
	var open []string
	err = store.Scan(c, g.identity, "o/", func(key string, _ []byte) error {
		open = append(open, "c/"+strings.TrimPrefix(key, "o/"))
		return nil
	})
	if err != nil {
		return err
	}
	s := dialer.SettingsOf(*g.c)
	d.e = dialer.NewEngine(s, nil, rand.New(rand.NewPCG(uint64(len(g.slug)), uint64(d.seq))))
	d.recs, d.dirty, d.results, d.dirtyDays, d.dirtyMinutes = map[int64]*dialerd.CallRecord{}, map[int64]bool{}, map[string][]dialer.Result{}, map[string]bool{}, map[string]bool{}
	if len(open) > 0 {
		vals, err := store.GetMany(c, g.identity, open)
		if err != nil {
			return err
		}
		now := g.deps.Clock.Now().UTC()
		for _, v := range vals {
			var r dialerd.CallRecord
			if v == nil || json.Unmarshal(v, &r) != nil {
				continue
			}
			_, n, _ := dialerd.ParseCallID(r.ID)
			t := now
			r.EndedAt, r.Outcome = &t, dialer.OutcomeUnknown
			d.recs[n], d.dirty[n] = &r, true
			d.results[r.List] = append(d.results[r.List], dialer.Result{Prospect: r.Prospect, List: r.List, Call: n,
				Outcome: dialer.OutcomeUnknown, Attempts: r.Attempt, LastAttempt: r.StartedAt,
				Due: maxTime(r.StartedAt.Add(s.MinBetween), now)})
		}
		g.log.Info("closed calls left in progress by a previous activation", "calls", len(open))
	}
	d.started = true
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// schedule sets the next tick after d (0: now, from the mailbox).
func (g *campaignGrain) schedule(ctx actor.Context, after time.Duration) {
	d := &g.d
	if d.tick != nil {
		d.tick.Stop()
	}
	d.gen++
	gen, pid, sys := d.gen, ctx.Self(), ctx.ActorSystem()
	d.tick = g.deps.Clock.AfterFunc(after, func() { sys.Root.Send(pid, &tickMsg{gen: gen}) })
}

// stopDialing stops the timers (the grain is stopping, or the campaign is
// inactive with nothing in progress).
func (g *campaignGrain) stopDialing() {
	d := &g.d
	d.gen++
	if d.tick != nil {
		d.tick.Stop()
		d.tick = nil
	}
	if d.wake != nil {
		d.wake.Stop()
		d.wake, d.wakeAt = nil, time.Time{}
	}
}

// onTick is one turn of the dialer.
func (g *campaignGrain) onTick(ctx actor.Context, m *tickMsg) {
	d := &g.d
	if m.gen != d.gen || g.c == nil {
		return
	}
	if err := g.startDialing(ctx); err != nil {
		g.log.Warn("could not start dialing; will try again", "err", err)
		g.schedule(ctx, time.Duration(g.c.DialerInterval)*time.Second)
		return
	}
	// An owner that cannot confirm with a majority that it still owns the
	// campaign (a node frozen past failure detection, on the minority
	// side of a partition) does nothing: another node may be dialling it.
	// It looks again next tick, or is stopped when it learns it lost it.
	if err := g.deps.Store.Serving(g.identity); err != nil {
		g.log.Warn("not ticking: ownership not confirmed", "err", err)
		g.schedule(ctx, time.Duration(g.c.DialerInterval)*time.Second)
		return
	}
	now := g.deps.Clock.Now()
	s := dialer.SettingsOf(*g.c)
	d.e.Settings(s)
	d.ticks++
	g.status = nil
	if !d.listsFresh {
		g.refreshLists()
	}
	g.attachAgent(now, s)
	d.e.Expire(now)
	d.e.Advance(now)
	g.after()
	if want := d.e.Want(now); want > 0 && !d.drained && d.agentErr == nil && d.agentHeld == "" {
		g.leaseAndPlace(ctx, now, s, want)
	}
	g.flush()
	if !s.Active && d.e.InProgress() == 0 {
		g.stopDialing()
		g.releaseAgent()
		return
	}
	g.schedule(ctx, time.Duration(g.c.DialerInterval)*time.Second)
}

// ListsChange tells a campaign a list was added to it or removed.
type ListsChange struct {
	Added   string `json:"added,omitempty"`
	Removed string `json:"removed,omitempty"`
}

// changeLists records a list added or removed (keys l/<uuid>): the
// campaign reads its lists from its own keys, never from a cluster-wide
// index scan on a tick.
func (g *campaignGrain) changeLists(body []byte) error {
	var ch ListsChange
	if err := json.Unmarshal(body, &ch); err != nil {
		return dialerd.Errorf(dialerd.EINVALID, "Bad lists change.")
	}
	var ops []dialerd.Op
	if ch.Added != "" {
		ops = append(ops, dialerd.Set("l/"+ch.Added, nil))
	}
	if ch.Removed != "" {
		ops = append(ops, dialerd.Delete("l/"+ch.Removed))
	}
	if len(ops) == 0 {
		return nil
	}
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return err
	}
	g.d.listsFresh = false
	return nil
}

// refreshLists reads which lists the campaign has.
func (g *campaignGrain) refreshLists() {
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var lists []string
	err := g.deps.Store.Scan(c, g.identity, "l/", func(key string, _ []byte) error {
		lists = append(lists, strings.TrimPrefix(key, "l/"))
		return nil
	})
	if err != nil {
		g.log.Warn("could not read the campaign's lists; will try again", "err", err)
		return
	}
	sort.Strings(lists)
	g.d.lists, g.d.listsFresh = lists, true
	for l := range g.d.stats {
		if i := sort.SearchStrings(lists, l); i == len(lists) || lists[i] != l {
			delete(g.d.stats, l)
		}
	}
}

// attachAgent renews the campaign's hold on its agent's seats and adopts
// their states; seats kept keep their live state (busy, wrap-up, figures).
func (g *campaignGrain) attachAgent(now time.Time, s dialer.Settings) {
	d := &g.d
	if g.c.AgentID == nil || *g.c.AgentID == "" {
		d.agent, d.agentErr, d.agentHeld = nil, nil, ""
		d.e.Seats = nil
		return
	}
	act := map[int]string{}
	for _, st := range d.e.Seats {
		switch {
		case st.Busy:
			act[st.Position] = "on_call"
		case !st.LastCallEnd.IsZero() && now.Before(st.LastCallEnd.Add(s.WrapUp)):
			act[st.Position] = "wrap_up"
		}
	}
	if d.agentErr != nil && d.ticks < d.agentRetry {
		return
	}
	until := now.Add(3 * time.Duration(g.c.DialerInterval) * time.Second)
	body, _ := json.Marshal(AttachRequest{Campaign: g.slug, Workspace: g.c.WorkspaceID(), Until: until, Activity: act})
	c, cancel := context.WithTimeout(context.Background(), tickTimeout)
	defer cancel()
	res, err := g.deps.Request(c, KindAgent, *g.c.AgentID, &pb.AgentRequest{Op: pb.AgentOp_AGENT_ATTACH, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
	if err == nil {
		body, err = ReplyBody(res)
	}
	var r AttachReply
	if err == nil {
		err = json.Unmarshal(body, &r)
	}
	d.agentErr = err
	if err != nil {
		d.agentRetry = d.ticks + agentRetryTicks
		d.e.Seats = nil
		if dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
			g.log.Warn("could not reach the campaign's agent", "agent", *g.c.AgentID, "err", err)
		}
		return
	}
	d.agent, d.agentHeld = r.Agent, ""
	if r.Holder != g.slug {
		d.agentHeld = r.Holder
	}
	seats := make([]dialer.Seat, len(r.Agent.Seats))
	old := map[int]dialer.Seat{}
	for _, st := range d.e.Seats {
		old[st.Position] = st
	}
	for i, as := range r.Agent.Seats {
		st, ok := old[as.Seat]
		if !ok {
			st = dialer.Seat{Position: as.Seat}
		}
		st.State = as.State
		if d.agentHeld != "" {
			st.State = dialer.SeatOffline // another campaign's seats
		}
		seats[i] = st
	}
	// Seats removed while on a call keep it until it ends.
	for _, st := range d.e.Seats {
		if st.Busy && st.Position > len(r.Agent.Seats) {
			st.State = dialer.SeatOffline
			seats = append(seats, st)
		}
	}
	d.e.Seats = seats
}

func (g *campaignGrain) agentID() string {
	if g.c == nil || g.c.AgentID == nil {
		return ""
	}
	return *g.c.AgentID
}

func (g *campaignGrain) releaseAgent() { g.releaseAgentID(g.agentID()) }

// releaseAgentID lets another campaign dial with the agent's seats.
func (g *campaignGrain) releaseAgentID(agent string) {
	if agent == "" || g.c == nil {
		return
	}
	body, _ := json.Marshal(AttachRequest{Campaign: g.slug, Workspace: g.c.WorkspaceID(), Release: true})
	request, log := g.deps.Request, g.log
	// Off the mailbox: the campaign must not wait on another grain to
	// answer its own caller.
	go func() {
		c, cancel := context.WithTimeout(context.Background(), tickTimeout)
		defer cancel()
		if _, err := request(c, KindAgent, agent, &pb.AgentRequest{Op: pb.AgentOp_AGENT_ATTACH, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body}); err != nil {
			log.Debug("could not release the agent; its hold lapses by itself", "agent", agent, "err", err)
		}
	}()
}

// hangUpAll ends the calls of a deleted campaign and forgets its dialing.
func (g *campaignGrain) hangUpAll() {
	d := &g.d
	g.stopDialing()
	if d.started {
		for _, r := range d.recs {
			if r.EndedAt == nil {
				g.deps.Provider.Hangup(g.slug, r.ID, "campaign deleted")
			}
		}
		g.releaseAgent()
	}
	g.d = dialing{}
}

// leaseAndPlace leases up to want prospects, the lists taking turns to go
// first, records the calls, then places them.
func (g *campaignGrain) leaseAndPlace(ctx actor.Context, now time.Time, s dialer.Settings, want int) {
	d := &g.d
	if len(d.lists) == 0 {
		return
	}
	req := LeaseRequest{Settings: s, Now: now}
	c, cancel := context.WithTimeout(context.Background(), tickTimeout)
	defer cancel()
	type placed struct {
		call *dialer.Call
		doc  json.RawMessage
	}
	var calls []placed
	drained := true
	start := d.nextList % len(d.lists)
	d.nextList++
	for i := 0; i < len(d.lists) && len(calls) < want; i++ {
		list := d.lists[(start+i)%len(d.lists)]
		req.N = want - len(calls)
		body, _ := json.Marshal(req)
		res, err := g.deps.Request(c, KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_LEASE, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
		if err == nil {
			body, err = ReplyBody(res)
		}
		var lr LeaseReply
		if err == nil {
			err = json.Unmarshal(body, &lr)
		}
		if err != nil {
			drained = false
			if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
				// Deleted (its delete tells the campaign), or still
				// being created: asked again next tick.
				continue
			}
			g.log.Warn("lease failed; will try again next tick", "list", list, "err", err)
			continue
		}
		if lr.Unresolved > 0 {
			drained = false
		}
		for _, doc := range lr.Prospects {
			var p dialerd.Prospect
			if err := json.Unmarshal(doc, &p); err != nil {
				g.log.Error("bad leased prospect", "list", list, "err", err)
				continue
			}
			dp := dialer.Prospect{ID: p.ID, List: list, Candidate: candidate(&p), CallbackAt: p.CallbackAt}
			d.seq++
			call := d.e.Place(now, d.seq, dp)
			if call == nil {
				// Leased while in a call (its lease hold ran out):
				// hand it back untouched but for the attempt.
				d.seq--
				d.results[list] = append(d.results[list], dialer.Result{Prospect: p.ID, List: list, Outcome: dialer.OutcomeUnknown,
					Attempts: p.Attempts, LastAttempt: p.LastAttemptAt, Due: dialer.Due(s, candidate(&p), p.CallbackAt)})
				continue
			}
			g.newRecord(call, &p, now)
			calls = append(calls, placed{call, doc})
		}
	}
	d.drained = drained
	if len(calls) == 0 {
		return
	}
	// The attempt is durable before the call is placed.
	if err := g.flushCalls(); err != nil {
		g.log.Error("could not record calls; not placing them", "calls", len(calls), "err", err)
		for _, p := range calls {
			d.e.Drop(now, p.call.ID, dialer.OutcomeFailed)
		}
		g.after()
		return
	}
	// The records are on a majority; this node must still own the
	// campaign (a majority acknowledged it within the read lease), or
	// another node may be dialling it already.
	fence := func() error { return g.deps.Store.Serving(g.identity) }
	if err := fence(); err != nil {
		g.log.Warn("no longer the campaign's owner; not placing", "calls", len(calls), "err", err)
		for _, p := range calls {
			d.e.Drop(now, p.call.ID, dialer.OutcomeUnknown)
		}
		g.after()
		return
	}
	var epoch uint64
	if e, ok := g.deps.Store.(interface{ Epoch(string) uint64 }); ok {
		epoch = e.Epoch(g.identity)
	}
	for _, p := range calls {
		rec := d.recs[p.call.ID]
		agent := ""
		if g.c.AgentID != nil {
			agent = *g.c.AgentID
		}
		g.deps.Provider.Place(provider.Call{ID: rec.ID, Campaign: g.slug, Agent: agent, Phone: rec.Phone, Prospect: p.doc, EventsURL: g.deps.EventsURL(rec.ID),
			MinRingSeconds: int(dialer.MinRing / time.Second), Fence: fence, Epoch: epoch})
	}
}

// newRecord starts a call's log record.
func (g *campaignGrain) newRecord(c *dialer.Call, p *dialerd.Prospect, now time.Time) {
	d := &g.d
	r := &dialerd.CallRecord{ID: dialerd.CallID(g.slug, c.ID), Campaign: g.slug, List: c.List, Prospect: p.ID, Phone: p.Phone,
		State: p.State, Timezones: p.Timezones, Attempt: p.Attempts, StartedAt: now.UTC()}
	if len(p.Timezones) > 0 {
		r.Timezone = p.Timezones[0]
		if loc, err := time.LoadLocation(r.Timezone); err == nil {
			r.LocalTime = now.In(loc).Format(time.RFC3339)
		}
	}
	d.recs[c.ID], d.dirty[c.ID] = r, true
	d.day(now).Attempts++
	d.minute(now).Attempts++
}

func (d *dialing) day(t time.Time) *dayStats {
	k := t.UTC().Format("2006-01-02")
	s := d.days[k]
	if s == nil {
		s = &dayStats{}
		d.days[k] = s
	}
	d.dirtyDays[k] = true
	return s
}

// after brings the records and the provider up to date with what the
// engine did: calls connected are put through to their seat, calls
// abandoned are hung up, ended calls' results are queued for their lists.
func (g *campaignGrain) after() {
	d := &g.d
	for _, c := range d.e.TakeChanged() {
		r := d.recs[c.ID]
		if r == nil {
			continue
		}
		d.dirty[c.ID] = true
		if !c.Answered.IsZero() && r.AnsweredAt == nil {
			t := c.Answered.UTC()
			r.AnsweredAt = &t
			d.day(c.Answered).Answered++
			d.minute(c.Answered).Answered++
		}
		if !c.Connected.IsZero() && r.ConnectedAt == nil {
			t := c.Connected.UTC()
			r.ConnectedAt, r.Seat = &t, c.Seat
			w := c.Connected.Sub(c.Answered).Seconds()
			r.WaitSeconds = &w
			g.deps.Provider.Connect(g.slug, r.ID, c.Seat)
		}
		if !c.Ended.IsZero() && r.EndedAt == nil {
			t := c.Ended.UTC()
			r.EndedAt, r.Outcome, r.Disposition = &t, c.Outcome, c.Disposition
			if c.Disposition == dialer.DispositionDNC {
				d.dnc[c.ID] = r.Phone
			}
			if c.Outcome == dialer.OutcomeAbandoned {
				w := c.Ended.Sub(c.Answered).Seconds()
				r.WaitSeconds = &w
				d.day(c.Ended).Abandoned++
				// In the minute it was answered (stats.go).
				at := c.Answered
				if at.IsZero() {
					at = c.Ended
				}
				d.minute(at).Abandoned++
				g.deps.Provider.Hangup(g.slug, r.ID, "abandoned")
			}
		}
	}
	for _, res := range d.e.TakeResults() {
		d.results[res.List] = append(d.results[res.List], res)
	}
	g.armWake()
}

// armWake wakes the campaign between ticks when a queued call would be
// abandoned, or a seat leaves wrap-up while calls wait.
func (g *campaignGrain) armWake() {
	d := &g.d
	at := d.e.NextWake()
	if at.IsZero() || (!d.wakeAt.IsZero() && !at.Before(d.wakeAt)) {
		return
	}
	if d.wake != nil {
		d.wake.Stop()
	}
	d.wakeAt = at
	gen, pid, sys := d.gen, g.pid, g.sys
	d.wake = g.deps.Clock.AfterFunc(at.Sub(g.deps.Clock.Now()), func() { sys.Root.Send(pid, &wakeMsg{gen: gen}) })
}

func (g *campaignGrain) onWake(ctx actor.Context, m *wakeMsg) {
	d := &g.d
	if m.gen != d.gen || !d.started {
		return
	}
	d.wake, d.wakeAt = nil, time.Time{}
	d.e.Advance(g.deps.Clock.Now())
	g.after()
}

// flush writes what changed: call records, daily figures, and results to
// the lists. What fails is kept and tried again.
func (g *campaignGrain) flush() {
	if err := g.flushCalls(); err != nil {
		g.log.Warn("could not write call records; will try again", "err", err)
	}
	d := &g.d
	g.flushDNC()
	for list, rs := range d.results {
		body, _ := json.Marshal(rs)
		c, cancel := context.WithTimeout(context.Background(), tickTimeout)
		res, err := g.deps.Request(c, KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_RESULTS, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
		cancel()
		if err == nil {
			_, err = ReplyBody(res)
		}
		if err != nil && dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
			g.log.Warn("could not send call results to the list; will try again", "list", list, "err", err)
			continue
		}
		delete(d.results, list)
		d.drained = false
	}
}

func dncOutKey(n int64) string { return "dq/" + strconv.FormatInt(n, 10) }

// flushDNC puts the numbers in the outbox on the workspace's do-not-call
// list, and empties the outbox once the list has them. Until then they
// stay in it (and in storage), tried again each tick.
func (g *campaignGrain) flushDNC() {
	d := &g.d
	var entries []dialerd.DNCEntry
	var sent []int64
	for n, number := range d.dnc {
		if d.dncSaved[n] {
			entries = append(entries, dialerd.DNCEntry{Number: number, Source: dialerd.DNCSourceDisposition, Campaign: g.slug, Call: dialerd.CallID(g.slug, n)})
			sent = append(sent, n)
		}
	}
	if len(entries) == 0 {
		return
	}
	body, _ := json.Marshal(entries)
	c, cancel := context.WithTimeout(context.Background(), tickTimeout)
	res, err := g.deps.Request(c, KindDNC, DNCIdentity(g.c.WorkspaceID()), &pb.DNCRequest{Op: pb.DNCOp_DNC_ADD, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
	cancel()
	if err == nil {
		_, err = ReplyBody(res)
	}
	if err != nil {
		g.log.Warn("could not add numbers to the do-not-call list; will try again", "numbers", len(entries), "err", err)
		return
	}
	ops := make([]dialerd.Op, len(sent))
	for i, n := range sent {
		ops[i] = dialerd.Delete(dncOutKey(n))
	}
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return // added again next tick: adding is idempotent
	}
	for _, n := range sent {
		delete(d.dnc, n)
		delete(d.dncSaved, n)
	}
}

// flushCalls writes changed call records (and the call sequence, and the
// daily and minute figures, deleting minutes past keeping) in one batch.
func (g *campaignGrain) flushCalls() error {
	d := &g.d
	now := g.deps.Clock.Now()
	var stale []string
	if k := minuteKey(now); k != d.prunedAt {
		if stale = staleMinutes(d.minutes, now); len(stale) == 0 {
			d.prunedAt = k
		}
	}
	if len(d.dirty) == 0 && len(d.dirtyDays) == 0 && len(d.dirtyMinutes) == 0 && len(stale) == 0 {
		return nil
	}
	ops := make([]dialerd.Op, 0, 2*len(d.dirty)+len(d.dirtyDays)+len(d.dirtyMinutes)+len(stale)+1)
	for n := range d.dirty {
		r := d.recs[n]
		doc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ops = append(ops, dialerd.Set(callKey(n), doc))
		if r.EndedAt == nil {
			ops = append(ops, dialerd.Set(openKey(n), nil))
		} else {
			ops = append(ops, dialerd.Delete(openKey(n)))
		}
	}
	for k := range d.dirtyDays {
		b, _ := json.Marshal(d.days[k])
		ops = append(ops, dialerd.Set("st/"+k, b))
	}
	for k := range d.dirtyMinutes {
		b, _ := json.Marshal(d.minutes[k])
		ops = append(ops, dialerd.Set("sm/"+k, b))
	}
	for _, k := range stale {
		ops = append(ops, dialerd.Delete("sm/"+k)) // after any Set of it
	}
	var saved []int64
	for n, number := range d.dnc {
		if !d.dncSaved[n] {
			ops = append(ops, dialerd.Set(dncOutKey(n), []byte(number)))
			saved = append(saved, n)
		}
	}
	ops = append(ops, dialerd.Set("callseq", fmt.Appendf(nil, "%d", d.seq)))
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return err
	}
	for _, n := range saved {
		d.dncSaved[n] = true
	}
	for n := range d.dirty {
		if d.recs[n].EndedAt != nil {
			delete(d.recs, n)
		}
	}
	clear(d.dirty)
	clear(d.dirtyDays)
	clear(d.dirtyMinutes)
	for _, k := range stale {
		delete(d.minutes, k)
	}
	if len(stale) > 0 {
		d.prunedAt = minuteKey(now)
	}
	return nil
}

// onEvent applies provider events to their calls: one event (a webhook
// post), or a batch (the node's EventQueue).
func (g *campaignGrain) onEvent(ctx actor.Context, m *pb.CampaignRequest) ([]byte, error) {
	var evs []provider.Event
	if len(m.Body) > 0 && m.Body[0] == '[' {
		if err := json.Unmarshal(m.Body, &evs); err != nil {
			return nil, dialerd.Errorf(dialerd.EINVALID, "Bad events.")
		}
	} else {
		var ev provider.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			return nil, dialerd.Errorf(dialerd.EINVALID, "Bad event.")
		}
		evs = append(evs, ev)
	}
	if err := g.startDialing(ctx); err != nil {
		return nil, storeErr(g.log, err)
	}
	var first error
	for _, ev := range evs {
		if err := g.applyEvent(ev); err != nil && first == nil {
			first = err
		}
	}
	g.after()
	if m.Durable {
		g.flush()
		if len(g.d.dirty) > 0 {
			return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The event could not be recorded; send it again.")
		}
	}
	if len(evs) == 1 {
		return nil, first
	}
	return nil, nil // a batch: what does not apply is dropped
}

func (g *campaignGrain) applyEvent(ev provider.Event) error {
	slug, n, ok := dialerd.ParseCallID(ev.Call)
	d := &g.d
	call := d.e.Call(n)
	if !ok || slug != g.slug || call == nil {
		if ok && slug == g.slug && n <= d.seq {
			return nil // a call already ended: a late or repeated event
		}
		return dialerd.Errorf(dialerd.ENOTFOUND, "Call %q not found.", ev.Call)
	}
	now := g.deps.Clock.Now()
	switch ev.Type {
	case provider.EventAnswered, provider.EventNoAnswer, provider.EventBusy, provider.EventFailed, provider.EventMachine:
		d.e.Ring(now, n, ev.Type)
	case provider.EventEnded:
		switch {
		case !call.Connected.IsZero():
			d.e.Hangup(now, n, ev.Disposition, ev.CallbackAt)
		case !call.Answered.IsZero():
			d.e.Drop(now, n, dialer.OutcomeAbandoned) // hung up while waiting
		default:
			d.e.Ring(now, n, dialer.OutcomeNoAnswer)
		}
	default:
		return dialerd.Errorf(dialerd.EINVALID, "Unknown event type %q.", ev.Type)
	}
	return nil
}

// onDisposition ends a connected call with the seat's verdict.
func (g *campaignGrain) onDisposition(ctx actor.Context, m *pb.CampaignRequest) ([]byte, error) {
	disp, err := dialerd.ParseDisposition(m.Body, g.deps.Clock.Now())
	if err != nil {
		return nil, err
	}
	if err := g.startDialing(ctx); err != nil {
		return nil, storeErr(g.log, err)
	}
	_, n, _ := dialerd.ParseCallID(m.Call)
	d := &g.d
	call := d.e.Call(n)
	if call == nil {
		if n > 0 && n <= d.seq {
			return nil, dialerd.Errorf(dialerd.ECONFLICT, "Call %s has ended; a disposition is given while the call is connected.", m.Call)
		}
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Call %q not found.", m.Call)
	}
	if call.Connected.IsZero() {
		return nil, dialerd.Errorf(dialerd.ECONFLICT, "Call %s is not connected to a seat.", m.Call)
	}
	d.e.Hangup(g.deps.Clock.Now(), n, disp.Disposition, disp.CallbackAt)
	rec := d.recs[n]
	g.after()
	g.deps.Provider.Hangup(g.slug, m.Call, "disposition")
	g.flush()
	if len(d.dirty) > 0 {
		return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The disposition could not be recorded; send it again.")
	}
	return json.Marshal(rec)
}

// callsPage answers a page of the call log, oldest first; calls in
// progress show their state now.
func (g *campaignGrain) callsPage(cursor string, limit int) ([]byte, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	after := ""
	if cursor != "" {
		var n int64
		if _, err := fmt.Sscanf(cursor, "%d", &n); err != nil || n < 0 {
			return nil, dialerd.Errorf(dialerd.EINVALID, "Bad cursor %q.", cursor)
		}
		after = strings.TrimPrefix(callKey(n), "c/")
	}
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	page := dialerd.CallPage{Results: []dialerd.CallRecord{}}
	var last int64
	err := g.deps.Store.ScanAfter(c, g.identity, "c/", after, func(key string, v []byte) error {
		if len(page.Results) == limit {
			page.Next = fmt.Sprint(last)
			return errEnough
		}
		fmt.Sscanf(strings.TrimPrefix(key, "c/"), "%d", &last)
		if r := g.d.recs[last]; r != nil {
			page.Results = append(page.Results, *r)
			return nil
		}
		var r dialerd.CallRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		page.Results = append(page.Results, r)
		return nil
	})
	if err != nil && err != errEnough {
		return nil, storeErr(g.log, err)
	}
	return json.Marshal(page)
}

// refreshStats asks each list for its counts and why its prospects are not
// dialable now.
func (g *campaignGrain) refreshStats(now time.Time, s dialer.Settings) {
	d := &g.d
	old := d.stats
	d.stats = map[string]DialStats{}
	body, _ := json.Marshal(LeaseRequest{Settings: s, Now: now})
	for _, list := range d.lists {
		c, cancel := context.WithTimeout(context.Background(), tickTimeout)
		res, err := g.deps.Request(c, KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_DIAL_STATS, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
		cancel()
		var b []byte
		if err == nil {
			b, err = ReplyBody(res)
		}
		var st DialStats
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			g.log.Debug("list stats unavailable; showing the last known", "list", list, "err", err)
			if st, ok := old[list]; ok {
				d.stats[list] = st
			}
			continue
		}
		d.stats[list] = st
	}
	d.statsTick = d.ticks
}

// computeStatus is the reference's status with the live figures, and when
// nothing is dialled, why. List figures are as of the last tick; the first
// status of an activation asks the lists at once.
func (g *campaignGrain) computeStatus() dialerd.CampaignStatus {
	d := &g.d
	now := g.deps.Clock.Now()
	s := dialer.SettingsOf(*g.c)
	if !d.listsFresh {
		g.refreshLists()
	}
	// At most once a tick (the status document is cached until the next);
	// a campaign that does not tick reads them each time its status is
	// recomputed (a wake — new prospects, a list — clears it).
	if d.stats == nil || d.statsTick != d.ticks || !d.started {
		g.refreshStats(now, s)
	}
	var in dialerd.StatusInput
	ratio := g.c.CallRatio
	if d.started {
		e := d.e
		ratio = e.Ratio
		in.Calls = dialerd.CallFigures{Ringing: e.Ringing(), Connected: e.Connected(), Queued: e.Queued()}
		for _, st := range e.Seats {
			switch {
			case st.Busy:
				in.Seats.Busy++
			case st.State == dialer.SeatPaused:
				in.Seats.Paused++
			case st.State == dialer.SeatOffline:
				in.Seats.Offline++
			case !st.LastCallEnd.IsZero() && now.Before(st.LastCallEnd.Add(s.WrapUp)):
				in.Seats.WrapUp++
			default:
				in.Seats.Available++
			}
		}
	}
	reasons := map[dialer.Reason]int64{}
	capped := false
	for _, st := range d.stats {
		in.Prospects.Total += int(st.Total)
		in.Prospects.Unresolved += int(st.Unresolved)
		in.Prospects.DialableNow += int(st.DialableNow)
		capped = capped || st.Capped
		for r, n := range st.Reasons {
			reasons[r] += n
		}
	}
	in.Prospects.DialableCapped = capped
	in.Reasons = g.reasons(s, in, reasons)
	out := dialerd.ComputeStatus(g.c, in)
	out.EffectiveCallRatio = ratio
	if d.days == nil {
		if err := g.loadDays(); err != nil {
			g.log.Debug("daily figures unavailable", "err", err)
		}
	}
	var answered, abandoned int
	from := now.UTC().AddDate(0, 0, -30).Format("2006-01-02")
	for day, st := range d.days {
		if day > from {
			out.Attempts30d += st.Attempts
			answered += st.Answered
			abandoned += st.Abandoned
		}
	}
	if answered > 0 {
		out.AbandonRate30d = float64(abandoned) / float64(answered)
	}
	return out
}

// reasons says why nothing is dialled, most fundamental first.
func (g *campaignGrain) reasons(s dialer.Settings, in dialerd.StatusInput, byRule map[dialer.Reason]int64) []dialerd.Reason {
	d := &g.d
	var out []dialerd.Reason
	add := func(code, format string, args ...any) {
		out = append(out, dialerd.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case g.agentID() == "":
		add("no_agent", "The campaign has no agent_id: no seat can take its calls.")
	case d.agentErr != nil && dialerd.ErrorCode(d.agentErr) == dialerd.ENOTFOUND:
		add("agent_not_found", "Agent %q does not exist in the campaign's workspace.", g.agentID())
	case d.agentErr != nil:
		add("agent_unavailable", "Agent %q could not be reached; trying again every tick.", g.agentID())
	case d.agentHeld != "":
		add("agent_in_use", "Agent %q's seats are dialing for campaign %q.", g.agentID(), d.agentHeld)
	case d.started && in.Seats.Available == 0:
		add("no_seats_available", "No seat is available: %d on a call, %d in wrap-up, %d paused, %d offline.",
			in.Seats.Busy, in.Seats.WrapUp, in.Seats.Paused, in.Seats.Offline)
	}
	msgs := []struct {
		r    dialer.Reason
		text string
	}{
		{dialer.ReasonOffWindow, fmt.Sprintf("%%d prospects are outside the calling window (%s–%s local time) now.", g.c.EarliestProspectTime, g.c.LatestProspectTime)},
		{dialer.ReasonHoliday, "%d prospects are in states that ban calls today for a holiday (filter_holidays)."},
		{dialer.ReasonLegalDay, "%d prospects are in states that ban calls on this weekday (Sunday bans)."},
		{dialer.ReasonLegalHours, "%d prospects are outside their state's legal calling hours now."},
		{dialer.ReasonIgnored, "%d prospects are in ignore_states."},
		{dialer.ReasonNoZone, "%d prospects have no known time zone."},
		{ReasonNotDue, "%d prospects wait for their next call time (min_time_between_calls, a callback, their state's frequency cap, or a call in progress)."},
	}
	for _, m := range msgs {
		if n := byRule[m.r]; n > 0 {
			add(string(m.r), m.text, n)
		}
	}
	return out
}

func (g *campaignGrain) loadDays() error {
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	days := map[string]*dayStats{}
	err := g.deps.Store.Scan(c, g.identity, "st/", func(key string, v []byte) error {
		var s dayStats
		if json.Unmarshal(v, &s) == nil {
			days[strings.TrimPrefix(key, "st/")] = &s
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.d.days = days
	return nil
}
