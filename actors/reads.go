package actors

import (
	"sync"

	"github.com/dialerd/dialerd"
)

// Reads holds the documents of this node's campaign grains, published by
// each grain as it changes them, so the front end can answer a read of a
// campaign this node owns without a trip through the grain's mailbox (a
// goroutine hand-off each way: the campaign grain runs on its own
// dispatcher). An entry is trusted only as the grain trusts its memory:
// while this node serves the campaign (Store.Serving), and only at the
// shard epoch it was published at — a grain stopped because its shard left
// withdraws its entry, but asynchronously, and an entry left from before
// the shard went and came back is from an older epoch.
type Reads struct {
	store     dialerd.Store
	epoch     func(identity string) uint64 // nil: a single node's store, always 0
	campaigns sync.Map                     // slug → *readEntry
}

// NewReads returns an empty set over the node's store.
func NewReads(store dialerd.Store) *Reads {
	r := &Reads{store: store}
	if e, ok := store.(interface{ Epoch(string) uint64 }); ok {
		r.epoch = e.Epoch
	}
	return r
}

type readEntry struct {
	doc       []byte
	workspace string
	epoch     uint64
	owner     *campaignGrain
}

func (r *Reads) epochOf(identity string) uint64 {
	if r.epoch == nil {
		return 0
	}
	return r.epoch(identity)
}

// Campaign returns the document of campaign slug and its workspace, when
// its grain is active on this node and this node serves it now.
func (r *Reads) Campaign(slug string) (doc []byte, workspace string, ok bool) {
	if r == nil {
		return nil, "", false
	}
	v, ok := r.campaigns.Load(slug)
	if !ok {
		return nil, "", false
	}
	e := v.(*readEntry)
	id := KindCampaign + "/" + slug
	if r.store.Serving(id) != nil || r.epochOf(id) != e.epoch {
		return nil, "", false
	}
	return e.doc, e.workspace, true
}

// publish records g's document, or its absence.
func (r *Reads) publish(g *campaignGrain) {
	if r == nil {
		return
	}
	if g.c == nil || g.doc == nil {
		r.withdraw(g)
		return
	}
	r.campaigns.Store(g.slug, &readEntry{doc: g.doc, workspace: g.c.WorkspaceID(), epoch: r.epochOf(g.identity), owner: g})
}

// refresh publishes g's document again when its entry is missing or from
// an older shard epoch: a re-plan that keeps this node the owner still
// moves the epoch, and the campaign's next read through the grain puts the
// fast path back.
func (r *Reads) refresh(g *campaignGrain) {
	if r == nil || g.c == nil {
		return
	}
	if v, ok := r.campaigns.Load(g.slug); ok {
		if e := v.(*readEntry); e.owner == g && e.epoch == r.epochOf(g.identity) {
			return
		}
	}
	r.publish(g)
}

// withdraw removes g's entry, unless a newer activation of the same
// campaign has published since.
func (r *Reads) withdraw(g *campaignGrain) {
	if r == nil {
		return
	}
	if v, ok := r.campaigns.Load(g.slug); ok && v.(*readEntry).owner == g {
		r.campaigns.CompareAndDelete(g.slug, v)
	}
}
