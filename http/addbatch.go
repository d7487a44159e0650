package http

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

// maxAddBatch bounds the single adds written together: a batch's claim and
// write stay small next to an upload's.
const maxAddBatch = 500

// addGroups is group commit for single adds. A list grain writes one batch
// at a time, each waiting for its fsync (and the campaign's claim for its
// own), so adds to one list queued behind each other one fsync apiece:
// ~500 a second however many clients sent them. Here the adds to a list
// that arrive while its previous batch is being written wait together and
// go as the next batch — one claim, one do-not-call check, one write —
// with no added wait when nothing else is in flight. Each request still
// gets its own answer.
type addGroups struct {
	mu     sync.Mutex
	queues map[addKey]*addQueue
}

// addKey: adds are grouped per list and dedupe flag, which a batch shares.
type addKey struct {
	list   string
	dedupe bool
}

type addQueue struct {
	busy bool       // a batch is being written
	next []*addItem // waiting for it to finish
}

type addItem struct {
	camp dialerd.Campaign
	p    dialerd.Prospect
	doc  []byte
	err  error
	lead bool          // woken to write the next batch, not with a result
	wake chan struct{} // buffered(1): a result, or the lead
}

// add stores p in the list through a batch and returns its document.
func (s *Server) add(key addKey, camp dialerd.Campaign, p dialerd.Prospect) ([]byte, error) {
	it := &addItem{camp: camp, p: p, wake: make(chan struct{}, 1)}
	g := &s.adds
	g.mu.Lock()
	if g.queues == nil {
		g.queues = map[addKey]*addQueue{}
	}
	q := g.queues[key]
	if q == nil {
		q = &addQueue{}
		g.queues[key] = q
	}
	q.next = append(q.next, it)
	lead := !q.busy
	q.busy = true
	g.mu.Unlock()
	if !lead {
		<-it.wake
		if !it.lead {
			return it.doc, it.err
		}
	}
	// Lead: write what is waiting, this add among it, then hand the lead
	// to the first add that came meanwhile, so no request answers late
	// for writing others' batches.
	g.mu.Lock()
	n := min(len(q.next), maxAddBatch)
	batch := q.next[:n:n]
	q.next = q.next[n:]
	g.mu.Unlock()
	s.writeAdds(key, batch)
	g.mu.Lock()
	if len(q.next) == 0 {
		q.busy = false
		delete(g.queues, key)
	} else {
		heir := q.next[0]
		heir.lead = true
		heir.wake <- struct{}{}
	}
	g.mu.Unlock()
	return it.doc, it.err
}

// writeAdds claims the batch's numbers in the campaign, which decides
// duplicates across all its lists, then adds the rest to the list, and
// releases the claims of those the list refused or could not add.
func (s *Server) writeAdds(key addKey, batch []*addItem) {
	done := func(it *addItem, doc []byte, err error) {
		it.doc, it.err = doc, err
		it.wake <- struct{}{}
	}
	fail := func(items []*addItem, err error) {
		for _, it := range items {
			done(it, nil, err)
		}
	}
	ctx := context.Background() // grain requests carry their own timeout
	camp := batch[0].camp
	admin := actors.ScopeToPB(dialerd.Principal{Admin: true})
	claim := dialerd.PhoneClaim{Phones: make([]string, len(batch)), List: key.list, Key: "a:" + s.cfg.NewID(), Dedupe: key.dedupe}
	for i, it := range batch {
		claim.Phones[i] = it.p.Phone
	}
	body, _ := json.Marshal(claim)
	res, err := s.cfg.Grains.Request(ctx, actors.KindCampaign, camp.Slug, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_CLAIM_PHONES, Scope: admin, Body: body})
	var reply []byte
	if err == nil {
		reply, err = replyBody(res)
	}
	var claimed dialerd.ClaimResult
	if err == nil {
		err = json.Unmarshal(reply, &claimed)
	}
	if err != nil {
		fail(batch, err)
		return
	}
	isDup := make([]bool, len(batch))
	for _, i := range claimed.Dups {
		if i >= 0 && i < len(batch) {
			isDup[i] = true
		}
	}
	var rest []*addItem
	for i, it := range batch {
		if isDup[i] {
			done(it, nil, dialerd.Errorf(dialerd.ECONFLICT, "%s is already in campaign %q (added less than dupe_days = %d days ago).", it.p.Phone, camp.Slug, camp.DupeDays))
			continue
		}
		rest = append(rest, it)
	}
	if len(rest) == 0 {
		return
	}
	ps := make([]dialerd.Prospect, len(rest))
	for i, it := range rest {
		ps[i] = it.p
	}
	recs, _ := json.Marshal(ps)
	// Every add was checked against the list in its caller's scope
	// (listAndCampaign) before it joined the batch.
	res, err = s.cfg.Grains.Request(ctx, actors.KindList, key.list, &pb.ListRequest{Op: pb.ListOp_LIST_ADD_PROSPECTS, Scope: admin, Body: recs,
		Dedupe: key.dedupe, DupeDays: int32(claimed.DupeDays)})
	if err == nil {
		reply, err = replyBody(res)
	}
	var added []actors.AddResult
	if err == nil {
		if err = json.Unmarshal(reply, &added); err == nil && len(added) != len(rest) {
			err = dialerd.Errorf(dialerd.EINTERNAL, "The list answered %d results for %d prospects.", len(added), len(rest))
		}
	}
	var release []string
	for i, it := range rest {
		switch {
		case err != nil:
			release = append(release, it.p.Phone)
			done(it, nil, err)
		case added[i].Dup:
			release = append(release, it.p.Phone)
			done(it, nil, dialerd.Errorf(dialerd.ECONFLICT, "%s is already in this list (added less than dupe_days = %d days ago).", it.p.Phone, claimed.DupeDays))
		default:
			done(it, added[i].Doc, nil)
		}
	}
	if len(release) > 0 {
		claim.Phones = release
		body, _ := json.Marshal(claim)
		if _, rerr := s.cfg.Grains.Request(ctx, actors.KindCampaign, camp.Slug, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_RELEASE_PHONES, Scope: admin, Body: body}); rerr != nil {
			s.log.Error("could not release claimed numbers", "campaign", camp.Slug, "phones", len(release), "err", rerr)
		}
	}
}
