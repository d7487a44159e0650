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
)

// dncGrain is dnc/<workspace key>: a workspace's do-not-call list.
//
//	d/<E.164>  the entry (dialerd.DNCEntry)
//	cnt        how many numbers the list holds
//
// Lists ask it, before each lease, which of the numbers they are about to
// hand out are on it; campaigns add the numbers their seats marked
// do_not_call. A Bloom filter of the numbers it holds answers most checks
// without a read.
type dncGrain struct {
	deps      *Deps
	key       string // the cluster identity: DNCIdentity(workspace)
	identity  string
	workspace string
	log       *slog.Logger
	filter    *phoneFilter
	count     int64
	loaded    bool
}

// DNCIdentity is the identity of the grain holding workspace ws's list;
// campaigns without a workspace share one.
func DNCIdentity(ws string) string {
	if ws == "" {
		return "none"
	}
	return "w:" + ws
}

func workspaceOfDNC(key string) string { return strings.TrimPrefix(key, "w:") }

// DNCAddReply says how many numbers an add put on the list and how many
// were there already, with each entry as the list now holds it.
type DNCAddReply struct {
	Added   int                `json:"added"`
	Already int                `json:"already"`
	Entries []dialerd.DNCEntry `json:"entries"`
}

// DNCPage is one page of a list, in number order.
type DNCPage struct {
	Count   int64             `json:"count"`
	Results []json.RawMessage `json:"results"`
	Next    string            `json:"next_cursor"` // "" on the last page
}

func dncKey(number string) string { return "d/" + number }

// dncCheck asks workspace ws's list which of numbers it holds.
func dncCheck(request RequestFunc, ws string, numbers []string) ([]string, error) {
	if request == nil {
		return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "not in a cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	res, err := request(ctx, KindDNC, DNCIdentity(ws), &pb.DNCRequest{Op: pb.DNCOp_DNC_CHECK, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Numbers: numbers})
	if err != nil {
		return nil, err
	}
	body, err := ReplyBody(res)
	if err != nil {
		return nil, err
	}
	var listed []string
	if err := json.Unmarshal(body, &listed); err != nil {
		return nil, err
	}
	return listed, nil
}

func (g *dncGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.key = m.Identity.Identity
		g.identity = KindDNC + "/" + g.key
		g.workspace = workspaceOfDNC(g.key)
		if g.key == "none" {
			g.workspace = ""
		}
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindDNC, 1)
	case *actor.Stopped:
		if g.identity != "" {
			g.deps.OnGrain(KindDNC, -1)
		}
	case *pb.DNCRequest:
		ctx.Respond(reply(g.handle(m)))
	}
}

func (g *dncGrain) handle(m *pb.DNCRequest) ([]byte, error) {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return nil, err
	}
	if !principal(m.Scope).Covers(g.workspace) {
		return nil, forbiddenWorkspace(g.workspace)
	}
	if err := g.load(); err != nil {
		return nil, err
	}
	switch m.Op {
	case pb.DNCOp_DNC_ADD:
		return g.add(m.Body)
	case pb.DNCOp_DNC_CHECK:
		return g.check(m.Numbers)
	case pb.DNCOp_DNC_GET:
		return g.get(m.Number)
	case pb.DNCOp_DNC_DELETE:
		return g.remove(m.Number)
	case pb.DNCOp_DNC_PAGE:
		return g.page(m.Cursor, int(m.Limit))
	}
	return nil, dialerd.Errorf(dialerd.EINVALID, "Unknown DNC operation %d.", m.Op)
}

func (g *dncGrain) load() error {
	if g.loaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := ensurePhoneFilter(ctx, &g.filter, g.deps.Store, g.identity, "d/"); err != nil {
		return storeErr(g.log, err)
	}
	v, err := g.deps.Store.Get(ctx, g.identity, "cnt")
	if err != nil {
		return storeErr(g.log, err)
	}
	if len(v) > 0 {
		if g.count, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt count %q", g.identity, v)
		}
	}
	g.loaded = true
	return nil
}

// add puts numbers on the list, durably before it answers. A number
// already there keeps its first entry: when and why it was added first.
func (g *dncGrain) add(body []byte) ([]byte, error) {
	var in []dialerd.DNCEntry
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Bad DNC entries.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	keys := make([]string, len(in))
	for i, e := range in {
		if !strings.HasPrefix(e.Number, "+") {
			return nil, dialerd.Errorf(dialerd.EINVALID, "DNC number %q is not in E.164.", e.Number)
		}
		keys[i] = dncKey(e.Number)
	}
	have, err := g.filter.lookup(ctx, g.deps.Store, g.identity, keys)
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	now := g.deps.Clock.Now().UTC().Truncate(time.Microsecond)
	out := DNCAddReply{Entries: make([]dialerd.DNCEntry, 0, len(in))}
	batch := map[string]int{} // number → its entry in out, for repeats within the batch
	var ops []dialerd.Op
	for i, e := range in {
		if j, ok := batch[e.Number]; ok {
			out.Already++
			out.Entries = append(out.Entries, out.Entries[j])
			continue
		}
		if have[i] != nil {
			var old dialerd.DNCEntry
			if json.Unmarshal(have[i], &old) == nil {
				out.Already++
				batch[e.Number] = len(out.Entries)
				out.Entries = append(out.Entries, old)
				continue
			}
		}
		e.AddedAt = now
		if g.workspace != "" {
			ws := g.workspace
			e.Workspace = &ws
		} else {
			e.Workspace = nil
		}
		doc, _ := json.Marshal(e)
		ops = append(ops, dialerd.Set(keys[i], doc))
		out.Added++
		batch[e.Number] = len(out.Entries)
		out.Entries = append(out.Entries, e)
	}
	if len(ops) > 0 {
		ops = append(ops, dialerd.Set("cnt", strconv.AppendInt(nil, g.count+int64(out.Added), 10)))
		if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
			return nil, err
		}
		g.count += int64(out.Added)
		for _, op := range ops[:len(ops)-1] {
			g.filter.add(op.Key)
		}
	}
	return json.Marshal(out)
}

// check answers which of the numbers are on the list.
func (g *dncGrain) check(numbers []string) ([]byte, error) {
	listed := []string{}
	if g.count > 0 {
		keys := make([]string, len(numbers))
		for i, n := range numbers {
			keys[i] = dncKey(n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		have, err := g.filter.lookup(ctx, g.deps.Store, g.identity, keys)
		if err != nil {
			return nil, storeErr(g.log, err)
		}
		for i, v := range have {
			if v != nil {
				listed = append(listed, numbers[i])
			}
		}
	}
	return json.Marshal(listed)
}

func (g *dncGrain) get(number string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	v, err := g.deps.Store.Get(ctx, g.identity, dncKey(number))
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	if v == nil {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "%s is not on the do-not-call list.", number)
	}
	return v, nil
}

// remove takes a number off the list (entered by mistake). Prospects it
// already resolved stay resolved.
func (g *dncGrain) remove(number string) ([]byte, error) {
	if _, err := g.get(number); err != nil {
		return nil, err
	}
	ops := []dialerd.Op{dialerd.Delete(dncKey(number)), dialerd.Set("cnt", strconv.AppendInt(nil, g.count-1, 10))}
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return nil, err
	}
	g.count--
	return nil, nil
}

func (g *dncGrain) page(cursor string, limit int) ([]byte, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	page := DNCPage{Count: g.count, Results: []json.RawMessage{}}
	errStop := fmt.Errorf("stop")
	last := ""
	// The cursor is the last number's digits, without the "+" that a
	// query string would read as a space.
	if cursor != "" {
		cursor = "+" + cursor
	}
	err := g.deps.Store.ScanAfter(ctx, g.identity, "d/", cursor, func(key string, v []byte) error {
		if len(page.Results) == limit {
			page.Next = strings.TrimPrefix(last, "+")
			return errStop
		}
		last = strings.TrimPrefix(key, "d/")
		page.Results = append(page.Results, v)
		return nil
	})
	if err != nil && err != errStop {
		return nil, storeErr(g.log, err)
	}
	return json.Marshal(page)
}
