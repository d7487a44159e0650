package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
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

	seq       uint64 // the last prospect id given
	seqLoaded bool
	dial      dialState    // the dialing index's counts
	phones    *phoneFilter // of ph/ keys, built on the first add
	uploads   uploads
}

func (g *listGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.uuid = m.Identity.Identity
		g.identity = KindList + "/" + g.uuid
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindList, 1)
		g.uploads.init(ctx)
	case *actor.Stopped:
		g.uploads.stopAll()
		if g.identity != "" {
			g.deps.OnGrain(KindList, -1)
		}
	case *batchDone:
		m.reply <- g.batchDone(m)
	case *loaderEnd:
		g.loaderEnd(m)
	case *pb.ListRequest:
		ctx.Respond(g.handle(m))
		if g.l == nil {
			// Lookups of unknown lists must not leave grains behind.
			ctx.Poison(ctx.Self())
		}
	}
}

func (g *listGrain) load() error {
	var l dialerd.ProspectList
	doc, err := loadDoc(g.deps.Store, g.identity, &l)
	if err != nil {
		return err
	}
	g.loaded = true
	g.l, g.doc = nil, nil
	if doc != nil {
		g.l, g.doc = &l, doc
	}
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
	case pb.ListOp_LIST_ADD_PROSPECTS:
		return reply(g.addProspects(m))
	case pb.ListOp_LIST_PROSPECTS:
		return reply(g.prospects(m.Status, m.Cursor, int(m.Limit)))
	case pb.ListOp_LIST_LEASE:
		return reply(g.lease(m.Body))
	case pb.ListOp_LIST_RESULTS:
		return reply(nil, g.results(m.Body))
	case pb.ListOp_LIST_DIAL_STATS:
		return reply(g.dialStats(m.Body))
	}
	if up, ok := g.uploadOp(m); ok {
		return up
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
	g.uploads.stopAll()
	active, err := g.activeUploads()
	if err != nil {
		return err
	}
	if err := g.releaseNumbers(); err != nil {
		return err
	}
	ops := []dialerd.Op{
		dialerd.DeleteAll(),
		dialerd.IndexDelete(indexListAll, g.uuid),
		dialerd.IndexDelete(indexListCampaign, g.l.Campaign+"\x00"+g.uuid),
	}
	if ws := g.l.WorkspaceID(); ws != "" {
		ops = append(ops, dialerd.IndexDelete(indexListWS, ws+"\x00"+g.uuid))
	}
	for _, id := range active {
		ops = append(ops, dialerd.IndexDelete(indexUploadActive, g.uuid+"\x00"+id))
	}
	if err := g.write(ops); err != nil {
		return err
	}
	g.l, g.doc = nil, nil
	g.seq, g.seqLoaded, g.phones = 0, false, nil
	g.dial = dialState{}
	g.uploads.forget()
	return nil
}

// releaseNumbers tells the campaign that the list's numbers are no longer
// in it, so they stop counting as duplicates. A list whose campaign is gone
// has nothing to release.
func (g *listGrain) releaseNumbers() error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var phones []string
	flush := func() error {
		if len(phones) == 0 {
			return nil
		}
		body, _ := json.Marshal(dialerd.PhoneClaim{Phones: phones, List: g.uuid})
		phones = phones[:0]
		res, err := g.deps.Request(ctx, KindCampaign, g.l.Campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_RELEASE_PHONES, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
		if err == nil {
			_, err = ReplyBody(res)
		}
		if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
			return nil
		}
		return err
	}
	err := g.deps.Store.Scan(ctx, g.identity, "ph/", func(key string, _ []byte) error {
		phones = append(phones, strings.TrimPrefix(key, "ph/"))
		if len(phones) == dialerd.UploadBatchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		g.log.Warn("could not release the list's numbers in its campaign; the list is kept", "err", err)
		return dialerd.Errorf(dialerd.EUNAVAILABLE, "Could not release the list's numbers in campaign %q; try again.", g.l.Campaign)
	}
	return nil
}

// wakeCampaign tells the list's campaign it has new prospects (or is
// new), off the grain's mailbox: the campaign may be asking this list for
// a lease at this moment.
func (g *listGrain) wakeCampaign() {
	if g.l == nil || g.deps.Request == nil {
		return
	}
	campaign, log := g.l.Campaign, g.log
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		res, err := g.deps.Request(ctx, KindCampaign, campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_WAKE, Scope: ScopeToPB(dialerd.Principal{Admin: true})})
		if err == nil {
			_, err = ReplyBody(res)
		}
		if err != nil && dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
			log.Debug("could not wake the campaign", "campaign", campaign, "err", err)
		}
	}()
}

func (g *listGrain) write(ops []dialerd.Op) error {
	return apply(g.deps.Store, g.log, g.identity, ops)
}

// slugGrain is a name registry: listslug/<slug> holds the UUID of the list
// that has the slug, so list slugs are unique across the cluster;
// upload/<uuid> holds the UUID of the list an upload belongs to.
type slugGrain struct {
	deps     *Deps
	kind     string
	identity string
	log      *slog.Logger
	holder   string // the uuid, "" when free
	loaded   bool
}

func (g *slugGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.identity = g.kind + "/" + m.Identity.Identity
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
	if err := apply(g.deps.Store, g.log, g.identity, []dialerd.Op{op}); err != nil {
		return err
	}
	g.holder = uuid
	return nil
}

// Keys of a list's prospects: "p/<id>" the prospect, "ph/<e164>" a
// dialerd.ListEntry (its id, when and by which upload it was added; the
// last one added of a number), "seq" the last id given. Ids are zero-padded sequence numbers,
// so key order is insertion order and a cursor is just the last id seen.
const prospectIDWidth = 12

func prospectID(n uint64) string { return fmt.Sprintf("%0*d", prospectIDWidth, n) }

// AddResult answers one prospect of a LIST_ADD_PROSPECTS batch: its
// stored document, or that the list already holds its number.
type AddResult struct {
	Doc json.RawMessage `json:"doc,omitempty"`
	Dup bool            `json:"dup,omitempty"`
}

// addProspects stores a batch of single adds — the front end groups the
// adds to one list that arrive while the previous batch is being written,
// so that they share one dedupe read, one do-not-call check and one
// fsynced write instead of queueing for one each. Their numbers were
// claimed in the campaign first (dialerd.Duplicates); the list checks its
// own numbers too, so it never holds a duplicate whatever became of the
// campaign's records. An error fails the whole batch: nothing is written.
func (g *listGrain) addProspects(m *pb.ListRequest) ([]byte, error) {
	var in []dialerd.Prospect
	if err := json.Unmarshal(m.Body, &in); err != nil || len(in) == 0 {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Bad prospect records.")
	}
	ps := make([]encodedProspect, len(in))
	for i, p := range in {
		if p.Phone == "" {
			return nil, dialerd.Errorf(dialerd.EINVALID, "Bad prospect record.")
		}
		ps[i] = encodedProspect{phone: p.Phone, data: p.ProspectData.AppendJSON(nil), bucket: dialer.BucketKey(p.State, p.Timezones)}
	}
	dup, err := g.listDuplicates(ps, "", m.Dedupe, int(m.DupeDays))
	if err != nil {
		return nil, err
	}
	out := make([]AddResult, len(ps))
	keep := ps[:0:0]
	seen := map[string]bool{}
	for i, p := range ps {
		// A number twice in one batch: the second is a duplicate of the
		// first, as it would be had it come a moment later.
		if dup[i] || m.Dedupe && m.DupeDays >= 0 && seen[p.phone] {
			out[i].Dup = true
			continue
		}
		seen[p.phone] = true
		keep = append(keep, p)
	}
	if len(keep) > 0 {
		docs, ops, _, err := g.addOps(keep, "")
		if err != nil {
			return nil, err
		}
		if err := g.write(ops); err != nil {
			return nil, err
		}
		g.added(keep)
		j := 0
		for i := range out {
			if !out[i].Dup {
				out[i].Doc, j = docs[j], j+1
			}
		}
	}
	return json.Marshal(out)
}

// encodedProspect is a prospect's data, already encoded.
type encodedProspect struct {
	phone  string
	data   []byte // dialerd.ProspectData
	bucket string // dialer.BucketKey of its state and zones
}

// listDuplicates applies the dedupe rule to the numbers the list already
// holds (dialerd.DuplicateInList).
func (g *listGrain) listDuplicates(ps []encodedProspect, upload string, dedupe bool, dupeDays int) ([]bool, error) {
	dup := make([]bool, len(ps))
	if !dedupe || dupeDays < 0 {
		return dup, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := ensurePhoneFilter(ctx, &g.phones, g.deps.Store, g.identity, "ph/"); err != nil {
		return nil, storeErr(g.log, err)
	}
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = "ph/" + p.phone
	}
	vals, err := g.phones.lookup(ctx, g.deps.Store, g.identity, keys)
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	now := g.deps.Clock.Now().Unix()
	for i, v := range vals {
		dup[i] = v != nil && dialerd.DuplicateInList(dialerd.DecodeListEntry(v), upload, dedupe, dupeDays, now)
	}
	return dup, nil
}

// addOps gives prospects the next ids and returns their documents and the
// writes that store them; once they are written, added moves the list on.
// A number on the workspace's do-not-call list is stored resolved as
// do_not_call, never indexed for dialing; dnc counts them.
func (g *listGrain) addOps(ps []encodedProspect, upload string) (docs [][]byte, ops []dialerd.Op, dnc int, err error) {
	if err := g.loadSeq(); err != nil {
		return nil, nil, 0, err
	}
	if err := g.loadDial(); err != nil {
		return nil, nil, 0, err
	}
	numbers := make([]string, len(ps))
	for i, p := range ps {
		numbers[i] = p.phone
	}
	listed, err := g.dncListed(numbers)
	if err != nil {
		return nil, nil, 0, err
	}
	d := g.dial.delta()
	now := g.deps.Clock.Now().UTC().Truncate(time.Second)
	docs = make([][]byte, len(ps))
	ops = make([]dialerd.Op, 0, 2*len(ps)+1)
	for i, p := range ps {
		id := prospectID(g.seq + uint64(i) + 1)
		docs[i] = dialerd.EncodeProspect(id, g.uuid, now, p.data)
		entry := dialerd.ListEntry{ID: id, Added: now.Unix(), Upload: upload}
		d.total++
		if listed[p.phone] {
			var rec dialerd.Prospect
			if err := json.Unmarshal(docs[i], &rec); err != nil {
				return nil, nil, 0, dialerd.Errorf(dialerd.EINTERNAL, "encode prospect: %v", err)
			}
			rec.Status, rec.Resolution = dialerd.ProspectResolved, dialer.ResolvedDNC
			docs[i] = rec.AppendJSON(nil)
			ops = append(ops, dialerd.Set("p/"+id, docs[i]), dialerd.Set("ph/"+p.phone, entry.Encode()))
			d.resolved++
			dnc++
			continue
		}
		ops = append(ops, dialerd.Set("p/"+id, docs[i]), dialerd.Set("ph/"+p.phone, entry.Encode()),
			dialerd.Set(indexPrefix+dialer.IndexKey(dialer.Entry{Bucket: p.bucket, Due: now, ID: id}), nil))
		d.add(p.bucket, 1)
		g.dial.indexed(dialer.Entry{Bucket: p.bucket, Due: now, ID: id})
	}
	ops = append(ops, dialerd.Set("seq", []byte(strconv.FormatUint(g.seq+uint64(len(ps)), 10))))
	ops = append(ops, d.ops()...)
	g.dial.pending = d
	return docs, ops, dnc, nil
}

// dncListed asks the workspace's do-not-call list which of the numbers it
// holds. When it cannot be asked, nothing is added or leased: a number
// must never be dialled because its list was out of reach.
func (g *listGrain) dncListed(numbers []string) (map[string]bool, error) {
	listed := map[string]bool{}
	if len(numbers) == 0 {
		return listed, nil
	}
	ws := ""
	if g.l != nil {
		ws = g.l.WorkspaceID()
	}
	got, err := dncCheck(g.deps.Request, ws, numbers)
	if err != nil {
		g.log.Warn("do-not-call list unavailable", "err", err)
		return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "The do-not-call list could not be read; nothing was changed. Try again.")
	}
	for _, n := range got {
		listed[n] = true
	}
	return listed, nil
}

// added records prospects written by addOps' writes.
func (g *listGrain) added(ps []encodedProspect) {
	g.seq += uint64(len(ps))
	g.dial.commit()
	g.wakeCampaign()
	if g.phones != nil {
		for _, p := range ps {
			g.phones.add("ph/" + p.phone)
		}
	}
}

// loadSeq reads the last prospect id given, once per activation.
func (g *listGrain) loadSeq() error {
	if g.seqLoaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	v, err := g.deps.Store.Get(ctx, g.identity, "seq")
	if err != nil {
		return storeErr(g.log, err)
	}
	if len(v) > 0 {
		if g.seq, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt sequence %q", g.identity, v)
		}
	}
	g.seqLoaded = true
	return nil
}

// ProspectPage is one page of a list's prospects.
type ProspectPage struct {
	Results []json.RawMessage `json:"results"`
	Next    string            `json:"next_cursor"` // "" on the last page
	lastID  string
}

// prospects pages through the list in insertion order, after cursor,
// keeping those with status (all when empty).
func (g *listGrain) prospects(status, cursor string, limit int) ([]byte, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	page := ProspectPage{Results: []json.RawMessage{}}
	errStop := fmt.Errorf("stop")
	scanned := 0
	err := g.deps.Store.ScanAfter(ctx, g.identity, "p/", cursor, func(key string, v []byte) error {
		id := strings.TrimPrefix(key, "p/")
		if len(page.Results) == limit {
			page.Next = page.lastID
			return errStop
		}
		// A filter that matches little must not walk a million prospects
		// in one request: past maxScanned, the page ends early (maybe
		// empty) and its cursor goes on from there.
		if scanned == maxScanned {
			page.Next = page.lastID
			return errStop
		}
		scanned++
		page.lastID = id
		if status != "" {
			var head struct {
				Status string `json:"status"`
			}
			if json.Unmarshal(v, &head) != nil || head.Status != status {
				return nil
			}
		}
		page.Results = append(page.Results, v)
		return nil
	})
	if err != nil && err != errStop {
		return nil, storeErr(g.log, err)
	}
	return json.Marshal(page)
}

// maxScanned bounds the prospects one page request reads.
const maxScanned = 10000
