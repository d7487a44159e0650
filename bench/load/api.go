package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Names of the ready-made ops.
const (
	OpCreate = "create" // POST {prefix}/campaign/
	OpGet    = "get"    // GET {prefix}/campaign/{slug}/
	OpPatch  = "patch"  // PATCH {prefix}/campaign/{slug}/
	OpStatus = "status" // GET {prefix}/campaign/{slug}/status/
	OpAdd    = "add"    // POST {prefix}/prospect/{list}/, JSON
	OpUpload = "upload" // POST {prefix}/upload/{list}/, multipart
)

// DefaultMix reads mostly, as a dashboard and an integration would.
const DefaultMix = "get=50,status=30,patch=10,create=5,add=4,upload=1"

// API is a server that speaks dialerd's campaign API, at Base+Prefix:
// dialerd itself (Prefix "/api/v"), or a baseline built to compare with
// it (a net/http + PostgreSQL stack serving /campaign/{slug}/ and so on,
// Prefix ""). Both get the same bodies from the same Dataset, so their
// results compare request for request.
type API struct {
	Base   string // scheme://host:port
	Prefix string
	// Header is sent with every request (authentication).
	Header map[string]string
	// Expect overrides, per op name, the statuses that count as success
	// (dialerd's by default: 201 for create, add and upload, 200 else).
	Expect map[string][]int
	// AddBody encodes a single add for a server whose prospect body is
	// not dialerd's (DialerdProspectJSON when nil); it is sent as JSON.
	AddBody func(p Prospect) []byte
}

// DialerdAPI is dialerd at base (e.g. "http://127.0.0.1:8080") with the
// access token token.
func DialerdAPI(base, token string) API {
	return API{Base: base, Prefix: "/api/v", Header: map[string]string{"Cookie": "access_token=" + token}}
}

// DialerdOps are the ready-made ops against dialerd: create, get, patch,
// status, add and upload. Run Setup with DialerdSetup first.
//
// Request k of a run adds number ds.Phone(k): a second run with the same
// seed against a server that kept the first one's data adds the same
// numbers, which dedupe refuses (status_409). Give each run against a
// long-lived server its own seed, or start the server afresh.
func DialerdOps(base, token string, ds *Dataset) map[string]Op {
	return DialerdAPI(base, token).Ops(ds)
}

// DialerdSetup are the steps that create ds's fixtures on dialerd.
func DialerdSetup(base, token string, ds *Dataset) []Step {
	return DialerdAPI(base, token).Setup(ds)
}

func (a API) url(path ...string) string {
	n := len(a.Base) + len(a.Prefix) + 1
	for _, p := range path {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, a.Base...)
	b = append(b, a.Prefix...)
	for _, p := range path {
		b = append(b, '/')
		b = append(b, p...)
	}
	return string(append(b, '/'))
}

func (a API) prepare(req *fasthttp.Request, method, uri, contentType string, body []byte) {
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for k, v := range a.Header {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.SetContentType(contentType)
		req.SetBodyRaw(body)
	}
}

func (a API) expect(op string, def ...int) []int {
	if s, ok := a.Expect[op]; ok {
		return s
	}
	return def
}

// Ops are the six ops against a, with ds's data. A server without some
// of the routes (a baseline with no uploads) is driven with a mix that
// leaves those ops out.
func (a API) Ops(ds *Dataset) map[string]Op {
	const js = "application/json"
	addBody := a.AddBody
	if addBody == nil {
		addBody = DialerdProspectJSON
	}
	ops := []Op{
		{Name: OpCreate, Expect: a.expect(OpCreate, 201), Build: func(req *fasthttp.Request, c Call) {
			a.prepare(req, "POST", a.url("campaign"), js, ds.CreateBody(c.Unique()))
		}},
		{Name: OpGet, Expect: a.expect(OpGet, 200), Build: func(req *fasthttp.Request, c Call) {
			a.prepare(req, "GET", a.url("campaign", ds.Slug(c.Unique())), "", nil)
		}},
		{Name: OpPatch, Expect: a.expect(OpPatch, 200), Build: func(req *fasthttp.Request, c Call) {
			k := c.Unique()
			a.prepare(req, "PATCH", a.url("campaign", ds.Slug(k)), js, ds.PatchBody(k))
		}},
		{Name: OpStatus, Expect: a.expect(OpStatus, 200), Build: func(req *fasthttp.Request, c Call) {
			a.prepare(req, "GET", a.url("campaign", ds.Slug(c.Unique()), "status"), "", nil)
		}},
		{Name: OpAdd, Expect: a.expect(OpAdd, 201), Build: func(req *fasthttp.Request, c Call) {
			a.prepare(req, "POST", a.url("prospect", ds.AddList), js, addBody(ds.Prospect(c.Unique())))
		}},
		{Name: OpUpload, Expect: a.expect(OpUpload, 201), Build: func(req *fasthttp.Request, c Call) {
			u := ds.Upload(c.Unique())
			a.prepare(req, "POST", a.url("upload", ds.UploadList), u.ContentType, u.Body)
		}},
	}
	m := make(map[string]Op, len(ops))
	for _, op := range ops {
		m[op.Name] = op
	}
	return m
}

// Setup are the steps that create ds's fixtures on a: CampaignStep, then
// ListStep.
func (a API) Setup(ds *Dataset) []Step { return []Step{a.CampaignStep(ds), a.ListStep(ds)} }

// CampaignStep creates ds's fixture campaigns through POST /campaign/,
// and writes the slugs the server gives back into ds.Slugs. A campaign
// that GET /campaign/{slug}/ finds is kept, so Setup can run again against
// the same server.
//
// A server that makes its fixtures some other way (a baseline seeded
// straight into its database) skips the step and sets ds.Slugs itself.
func (a API) CampaignStep(ds *Dataset) Step {
	names := make([]string, len(ds.Slugs))
	copy(names, ds.Slugs)
	return Step{
		Name: "campaigns", Count: len(ds.Slugs), Expect: a.expect(OpCreate, 201),
		Exists: func(req *fasthttp.Request, j int) { a.prepare(req, "GET", a.url("campaign", names[j]), "", nil) },
		Create: func(req *fasthttp.Request, j int) {
			a.prepare(req, "POST", a.url("campaign"), "application/json", ds.FixtureBody(j))
		},
		Created: func(j int, body []byte) (err error) {
			ds.Slugs[j], err = slugOf(body)
			return err
		},
	}
}

// ListStep creates the list for adds (in the first fixture campaign) and
// the list for uploads (in the second, or the first when there is one)
// through POST /list/, and writes their slugs into ds.AddList and
// ds.UploadList. A list that GET /list/{slug}/ finds is kept. It must run
// after CampaignStep; a server without list routes skips it and sets
// ds.AddList (and ds.UploadList) itself.
func (a API) ListStep(ds *Dataset) Step {
	lists := [2]*string{&ds.AddList, &ds.UploadList}
	names := [2]string{ds.AddList, ds.UploadList}
	return Step{
		Name: "lists", Count: 2, Expect: a.expect("list", 201),
		Exists: func(req *fasthttp.Request, j int) { a.prepare(req, "GET", a.url("list", names[j]), "", nil) },
		Create: func(req *fasthttp.Request, j int) {
			camp := ds.Slugs[min(j, len(ds.Slugs)-1)]
			a.prepare(req, "POST", a.url("list"), "application/json", ds.ListBody(j, camp))
		},
		Created: func(j int, body []byte) (err error) {
			*lists[j], err = slugOf(body)
			return err
		},
	}
}

func slugOf(body []byte) (string, error) {
	var v struct {
		Slug string `json:"slug"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Slug == "" {
		return "", fmt.Errorf("no slug in %.200q", body)
	}
	return v.Slug, nil
}

// Step is one kind of object Setup makes before a run, Count of them
// (numbered j = 0..Count-1).
type Step struct {
	Name  string
	Count int
	// Exists, when set, builds a request whose 2xx answer means object j
	// is already there, and Create is skipped for it.
	Exists func(req *fasthttp.Request, j int)
	// Create builds the request that makes object j.
	Create func(req *fasthttp.Request, j int)
	// Expect lists Create's success statuses; empty means any 2xx.
	Expect []int
	// Created, when set, reads the body of Create's answer: the place to
	// note the slug or id the server chose. Calls for different j may run
	// at once.
	Created func(j int, body []byte) error
}

// Setup runs steps in order, each with up to workers requests at once,
// and stops at the first failure. A nil client gets a default one.
func Setup(ctx context.Context, client *fasthttp.Client, steps []Step, workers int) error {
	if client == nil {
		client = newClient(max(workers, 1), 30*time.Second)
	}
	workers = max(workers, 1)
	for _, st := range steps {
		if err := setupStep(ctx, client, st, workers); err != nil {
			return fmt.Errorf("setup %s: %w", st.Name, err)
		}
	}
	return nil
}

func setupStep(ctx context.Context, client *fasthttp.Client, st Step, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, st.Count); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for j := range jobs {
				if err := setupOne(client, st, j, req, resp); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for j := 0; j < st.Count; j++ {
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return ctx.Err()
}

func setupOne(client *fasthttp.Client, st Step, j int, req *fasthttp.Request, resp *fasthttp.Response) error {
	if st.Exists != nil {
		req.Reset()
		resp.Reset()
		st.Exists(req, j)
		if err := client.DoTimeout(req, resp, 30*time.Second); err != nil {
			return fmt.Errorf("%d: %w", j, err)
		}
		if s := resp.StatusCode(); s >= 200 && s < 300 {
			if st.Created != nil {
				return st.Created(j, resp.Body())
			}
			return nil
		}
	}
	req.Reset()
	resp.Reset()
	st.Create(req, j)
	if err := client.DoTimeout(req, resp, 30*time.Second); err != nil {
		return fmt.Errorf("%d: %s %s: %w", j, req.Header.Method(), req.URI().FullURI(), err)
	}
	op := Op{Expect: st.Expect}
	if !op.ok(resp.StatusCode()) {
		return fmt.Errorf("%d: %s %s: %d %s", j, req.Header.Method(), req.URI().FullURI(), resp.StatusCode(), bytes.TrimSpace(resp.Body()))
	}
	if st.Created != nil {
		return st.Created(j, resp.Body())
	}
	return nil
}

// Spread sends each op to one of several servers in turn — the nodes of a
// cluster, each with its own API — by the request's Call.Unique, so the
// same seed sends the same request to the same node. Every node gets
// every op: ops missing from one of them are left out of the result.
func Spread(perNode ...map[string]Op) map[string]Op {
	if len(perNode) == 1 {
		return perNode[0]
	}
	out := map[string]Op{}
	for name, op := range perNode[0] {
		builds := make([]func(*fasthttp.Request, Call), 0, len(perNode))
		for _, ops := range perNode {
			o, ok := ops[name]
			if !ok {
				break
			}
			builds = append(builds, o.Build)
		}
		if len(builds) < len(perNode) {
			continue
		}
		n := uint64(len(builds))
		out[name] = Op{Name: name, Expect: op.Expect, Build: func(req *fasthttp.Request, c Call) {
			// Hashed, so that the node does not follow the data the op
			// derives from the same number (a campaign always through one
			// node).
			builds[(&rng{uint64(c.Unique())}).next()%n](req, c)
		}}
	}
	return out
}
