package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/dialer"
)

// A list's dialing state lives beside its prospects:
//
//	n/<bucket>\x00<due>\x00<id>  the index: each unresolved prospect, by
//	                             bucket then due time (dialer.IndexKey)
//	b/<bucket>                   how many entries the bucket has
//	cnt                          "<total> <resolved>"
//
// A prospect's record carries its attempts, last attempt, next call time
// and resolution, so the record alone says where its index entry is.
// Leases and results rewrite record, entry and counts in one batch.

// dialState is the list's counts, loaded once per activation.
type dialState struct {
	loaded          bool
	buckets         map[string]int64
	total, resolved int64
	pending         *dialDelta // counts written by the batch being applied
	// from is, by bucket, where its live entries begin, as ScanAfter's
	// after (every live entry's key, past the bucket's prefix, is greater
	// than it); absent: the bucket's start. In memory only: a new
	// activation walks past old tombstones once.
	from map[string]string
}

// keyRest is an entry's key past its bucket's prefix.
func keyRest(e dialer.Entry) string { return dialer.DueDigits(e.Due) + "\x00" + e.ID }

// indexed notes an entry written: a bucket's live entries may now begin
// earlier.
func (s *dialState) indexed(e dialer.Entry) {
	if f, ok := s.from[e.Bucket]; ok && keyRest(e) <= f {
		// The due digits alone sort before every key of that second.
		s.from[e.Bucket] = dialer.DueDigits(e.Due)
	}
}

// consumed moves the buckets' starts past the head entries a lease deleted:
// taken in due order, each bucket's deleted ones up to the first left in
// place.
func (s *dialState) consumed(entries []dialer.Entry, deleted map[string]bool) {
	if s.from == nil {
		s.from = map[string]string{}
	}
	stopped := map[string]bool{}
	for _, e := range entries {
		if stopped[e.Bucket] {
			continue
		}
		if !deleted[e.ID] {
			stopped[e.Bucket] = true
			continue
		}
		s.from[e.Bucket] = keyRest(e)
	}
}

// dialDelta is a change to the counts, applied once its batch is written.
type dialDelta struct {
	base            *dialState
	buckets         map[string]int64
	total, resolved int64
}

func (s *dialState) delta() *dialDelta { return &dialDelta{base: s, buckets: map[string]int64{}} }

func (d *dialDelta) add(bucket string, n int64) { d.buckets[bucket] += n }

// ops writes the new counts.
func (d *dialDelta) ops() []dialerd.Op {
	var ops []dialerd.Op
	for b, n := range d.buckets {
		if n == 0 {
			continue
		}
		v := d.base.buckets[b] + n
		if v <= 0 {
			ops = append(ops, dialerd.Delete("b/"+b))
		} else {
			ops = append(ops, dialerd.Set("b/"+b, []byte(strconv.FormatInt(v, 10))))
		}
	}
	if d.total != 0 || d.resolved != 0 {
		ops = append(ops, dialerd.Set("cnt", fmt.Appendf(nil, "%d %d", d.base.total+d.total, d.base.resolved+d.resolved)))
	}
	return ops
}

// commit adopts the pending delta, its batch written.
func (s *dialState) commit() {
	d := s.pending
	s.pending = nil
	if d == nil {
		return
	}
	for b, n := range d.buckets {
		if s.buckets[b] += n; s.buckets[b] <= 0 {
			delete(s.buckets, b)
		}
	}
	s.total += d.total
	s.resolved += d.resolved
}

func (g *listGrain) loadDial() error {
	if g.dial.loaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	s := dialState{buckets: map[string]int64{}}
	err := g.deps.Store.Scan(ctx, g.identity, "b/", func(key string, v []byte) error {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt count %s = %q", g.identity, key, v)
		}
		s.buckets[strings.TrimPrefix(key, "b/")] = n
		return nil
	})
	if err != nil {
		return storeErr(g.log, err)
	}
	v, err := g.deps.Store.Get(ctx, g.identity, "cnt")
	if err != nil {
		return storeErr(g.log, err)
	}
	if len(v) > 0 {
		if _, err := fmt.Sscanf(string(v), "%d %d", &s.total, &s.resolved); err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt counts %q", g.identity, v)
		}
	}
	s.loaded = true
	g.dial = s
	return nil
}

// LeaseRequest asks a list for prospects to call: what the campaign's
// rules are and what time it is on its clock.
type LeaseRequest struct {
	Settings dialer.Settings `json:"settings"`
	Now      time.Time       `json:"now"`
	N        int             `json:"n"`
}

// LeaseReply carries the leased prospects' records (their attempt
// counted) and the list's counts.
type LeaseReply struct {
	Prospects  []json.RawMessage `json:"prospects"`
	Total      int64             `json:"total"`
	Unresolved int64             `json:"unresolved"`
}

func parseLease(body []byte) (LeaseRequest, error) {
	var r LeaseRequest
	if err := json.Unmarshal(body, &r); err != nil || r.N < 0 || r.Now.IsZero() {
		return r, dialerd.Errorf(dialerd.EINVALID, "Bad lease request.")
	}
	return r, nil
}

// lease takes up to N prospects due now in the buckets open now, oldest
// first (dialer.Decide): each one's attempt is counted and its entry moved
// past the call (dialer.LeasedDue) in the same batch, before the campaign
// places any call. Entries found done with (expired, out of attempts) are
// resolved on the way, and those due later than indexed are moved.
func (g *listGrain) lease(body []byte) ([]byte, error) {
	r, err := parseLease(body)
	if err != nil {
		return nil, err
	}
	out, err := g.leaseProspects(r)
	if err != nil {
		return nil, err
	}
	return out.encode(), nil
}

func (g *listGrain) leaseProspects(r LeaseRequest) (LeaseReply, error) {
	if err := g.loadDial(); err != nil {
		return LeaseReply{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	out := LeaseReply{Prospects: []json.RawMessage{}}
	for round := 0; round < 3 && len(out.Prospects) < r.N; round++ {
		want := r.N - len(out.Prospects)
		entries, err := dueEntries(ctx, g.deps.Store, g.identity, r.Settings, g.bucketList(), r.Now, want, g.dial.from)
		if err != nil {
			return LeaseReply{}, storeErr(g.log, err)
		}
		if len(entries) == 0 {
			break
		}
		ps, err := g.readProspects(ctx, entryIDs(entries))
		if err != nil {
			return LeaseReply{}, err
		}
		// The do-not-call list is asked in the lease itself, a tick's
		// milliseconds before the calls are placed: a number added since
		// the prospect was uploaded, or while its last call was in
		// progress, is resolved here instead of dialled.
		numbers := make([]string, 0, len(ps))
		for _, p := range ps {
			numbers = append(numbers, p.Phone)
		}
		listed, err := g.dncListed(numbers)
		if err != nil {
			return LeaseReply{}, err
		}
		ds := dialer.Decide(r.Settings, entries, func(id string) (dialer.Candidate, time.Time, bool) {
			p := ps[id]
			if p == nil {
				return dialer.Candidate{}, time.Time{}, false
			}
			c := candidate(p)
			c.DNC = listed[p.Phone]
			return c, p.CallbackAt, true
		}, r.Now, want)
		if len(ds) == 0 {
			break
		}
		d := g.dial.delta()
		var ops []dialerd.Op
		var leased []json.RawMessage
		deleted := make(map[string]bool, len(ds))
		for _, dec := range ds {
			p := ps[dec.ID]
			deleted[dec.ID] = true
			ops = append(ops, dialerd.Delete(indexPrefix+dialer.IndexKey(dec.Entry)))
			switch dec.Verdict {
			case dialer.Lease:
				c := candidate(p)
				dialer.Take(&c, r.Now)
				p.Attempts, p.LastAttemptAt, p.RecentAttempts = c.Attempts, c.LastAttempt, c.Recent
				p.NextCallAt = dialer.LeasedDue(r.Settings, r.Now)
				ops = append(ops, g.indexSet(p))
			case dialer.Resolve:
				g.resolve(p, dialer.Resolution(dec.Reason), d)
			case dialer.Requeue:
				p.NextCallAt = dec.Due
				ops = append(ops, g.indexSet(p))
			}
			doc := p.AppendJSON(make([]byte, 0, 512))
			ops = append(ops, dialerd.Set("p/"+p.ID, doc))
			if dec.Verdict == dialer.Lease {
				leased = append(leased, doc)
			}
		}
		g.dial.pending = d
		if err := g.write(append(ops, d.ops()...)); err != nil {
			return LeaseReply{}, err
		}
		g.dial.commit()
		g.dial.consumed(entries, deleted)
		for _, dec := range ds {
			if p := ps[dec.ID]; dec.Verdict != dialer.Resolve {
				g.dial.indexed(entryOf(p))
			}
		}
		out.Prospects = append(out.Prospects, leased...)
	}
	out.Total, out.Unresolved = g.dial.total, g.dial.total-g.dial.resolved
	return out, nil
}

// encode is json.Marshal(r) without re-validating the records it carries,
// which the list has just encoded itself.
func (r *LeaseReply) encode() []byte {
	n := 64
	for _, p := range r.Prospects {
		n += len(p) + 1
	}
	b := append(make([]byte, 0, n), `{"prospects":[`...)
	for i, p := range r.Prospects {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return fmt.Appendf(b, `],"total":%d,"unresolved":%d}`, r.Total, r.Unresolved)
}

// results records how calls to the list's prospects ended: resolved, or
// indexed again at their next due time. A result for an attempt the
// prospect no longer is at (it was leased again since) is stale and kept
// out.
func (g *listGrain) results(body []byte) error {
	var rs []dialer.Result
	if err := json.Unmarshal(body, &rs); err != nil {
		return dialerd.Errorf(dialerd.EINVALID, "Bad call results.")
	}
	if len(rs) == 0 {
		return nil
	}
	if err := g.loadDial(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.Prospect
	}
	ps, err := g.readProspects(ctx, ids)
	if err != nil {
		return err
	}
	d := g.dial.delta()
	var ops []dialerd.Op
	for _, r := range rs {
		p := ps[r.Prospect]
		if p == nil || p.Status == dialerd.ProspectResolved || p.Attempts != r.Attempts {
			continue
		}
		ops = append(ops, dialerd.Delete(indexPrefix+dialer.IndexKey(entryOf(p))))
		p.LastOutcome = r.Outcome
		if r.Resolution != "" {
			g.resolve(p, r.Resolution, d)
		} else {
			p.NextCallAt, p.CallbackAt = r.Due, r.CallbackAt
			ops = append(ops, g.indexSet(p))
		}
		ops = append(ops, dialerd.Set("p/"+p.ID, p.AppendJSON(make([]byte, 0, 512))))
	}
	if len(ops) == 0 {
		return nil
	}
	g.dial.pending = d
	if err := g.write(append(ops, d.ops()...)); err != nil {
		return err
	}
	g.dial.commit()
	for _, r := range rs {
		if p := ps[r.Prospect]; p != nil && p.Status != dialerd.ProspectResolved {
			g.dial.indexed(entryOf(p))
		}
	}
	return nil
}

// resolve marks a prospect done with; its index entry is already deleted.
func (g *listGrain) resolve(p *dialerd.Prospect, resolution string, d *dialDelta) {
	p.Status, p.Resolution = dialerd.ProspectResolved, resolution
	p.NextCallAt, p.CallbackAt = time.Time{}, time.Time{}
	d.add(bucketOf(p), -1)
	d.resolved++
}

func (g *listGrain) indexSet(p *dialerd.Prospect) dialerd.Op {
	return dialerd.Set(indexPrefix+dialer.IndexKey(entryOf(p)), nil)
}

func bucketOf(p *dialerd.Prospect) string { return dialer.BucketKey(p.State, p.Timezones) }

func entryOf(p *dialerd.Prospect) dialer.Entry {
	return dialer.Entry{Bucket: bucketOf(p), Due: p.Due(), ID: p.ID}
}

// candidate is what the rules read of a prospect.
func candidate(p *dialerd.Prospect) dialer.Candidate {
	return dialer.Candidate{State: p.State, Timezones: p.Timezones, Resolved: p.Status == dialerd.ProspectResolved,
		Attempts: p.Attempts, LastAttempt: p.LastAttemptAt, Added: p.CreatedAt, Recent: p.RecentAttempts}
}

func entryIDs(es []dialer.Entry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// readProspects reads prospects by id (absent ones are left out).
func (g *listGrain) readProspects(ctx context.Context, ids []string) (map[string]*dialerd.Prospect, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "p/" + id
	}
	vals, err := g.deps.Store.GetMany(ctx, g.identity, keys)
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	out := make(map[string]*dialerd.Prospect, len(ids))
	for i, v := range vals {
		if v == nil {
			continue
		}
		var p dialerd.Prospect
		if err := json.Unmarshal(v, &p); err != nil {
			g.log.Error("corrupt prospect record", "id", ids[i], "err", err)
			continue
		}
		out[ids[i]] = &p
	}
	return out, nil
}

// bucketList is the list's buckets with entries, in key order.
func (g *listGrain) bucketList() []string {
	bs := make([]string, 0, len(g.dial.buckets))
	for b := range g.dial.buckets {
		bs = append(bs, b)
	}
	sort.Strings(bs)
	return bs
}

// DialStats is what a list tells its campaign's status: its counts, how
// many are dialable now, and why the others are not.
type DialStats struct {
	Total       int64 `json:"total"`
	Unresolved  int64 `json:"unresolved"`
	DialableNow int64 `json:"dialable_now"`
	// Capped: past maxStatsScan due entries the count stopped; the
	// rest counted as dialable.
	Capped  bool                    `json:"capped"`
	Reasons map[dialer.Reason]int64 `json:"reasons"`
}

// maxStatsScan bounds the index entries one stats request reads.
const maxStatsScan = 20000

// ReasonNotDue: waiting for the next call time — a retry interval, a
// callback, or a call in progress.
const ReasonNotDue dialer.Reason = "not_due"

func (g *listGrain) dialStats(body []byte) ([]byte, error) {
	r, err := parseLease(body)
	if err != nil {
		return nil, err
	}
	if err := g.loadDial(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st := DialStats{Total: g.dial.total, Unresolved: g.dial.total - g.dial.resolved, Reasons: map[dialer.Reason]int64{}}
	budget := maxStatsScan
	for _, b := range g.bucketList() {
		n := g.dial.buckets[b]
		if reason := r.Settings.Open(dialer.ParseBucket(b), r.Now); reason != dialer.Eligible {
			st.Reasons[reason] += n
			continue
		}
		if budget == 0 {
			st.Capped = true
			st.DialableNow += n
			continue
		}
		end := indexPrefix + dialer.BucketEnd(b, r.Now)
		var due int64
		err := g.deps.Store.ScanAfter(ctx, g.identity, indexPrefix+b+"\x00", g.dial.from[b], func(key string, _ []byte) error {
			if key >= end {
				return errEnough
			}
			if budget == 0 {
				st.Capped = true
				due = n // the rest counted as dialable
				return errEnough
			}
			budget--
			due++
			return nil
		})
		if err != nil && err != errEnough {
			return nil, storeErr(g.log, err)
		}
		st.DialableNow += due
		if n > due {
			st.Reasons[ReasonNotDue] += n - due
		}
	}
	return json.Marshal(st)
}
