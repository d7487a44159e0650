package http_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/dialerd/dialerd/internal/nodetest"
)

const (
	bootToken     = "openapi-test-bootstrap"
	webhookSecret = "whsec_openapi_test_0123456789abcdef"
)

// TestOpenAPIExamplesOnNode runs the document's examples against a real
// node, in the order a person would (token, agent, campaign, list,
// prospects, upload, a call answered and disposed of through the webhook
// provider, do-not-call, updates, deletes), putting in the ids the node
// chose where an example cannot know them. Every request is validated
// against the document before it is sent, and every answer must have a
// status the operation declares and a body its schema accepts; every
// operation of the document must have run.
func TestOpenAPIExamplesOnNode(t *testing.T) {
	t.Parallel()
	pf := newPlatform(t)
	// Monday 2026-03-09 18:00 UTC: 11:00 in California, 13:00 in Illinois,
	// inside the campaign's window and every state's legal hours.
	n := nodetest.Start(t, nodetest.Options{BootstrapToken: bootToken, Args: []string{
		"--provider", "webhook", "--webhook-url", pf.srv.URL, "--webhook-secret", webhookSecret,
		"--clock", "virtual", "--clock-speed", "5", "--clock-start", "2026-03-09T18:00:00Z"}})
	r := newRunner(t, n.URL)

	// The node serves the document in the repository, and its page.
	r.run("openapi")
	if onDisk, err := os.ReadFile("openapi.json"); err != nil || !bytes.Equal(onDisk, r.raw) {
		t.Fatalf("the node's /api/openapi.json is not http/openapi.json (%v)", err)
	}
	r.run("docs")
	r.run("healthz")
	r.run("readyz")
	r.run("metrics")
	r.run("dashboard")

	token := r.run("createToken", want(201)).(map[string]any)
	tokenID := token["id"].(string)
	r.run("listTokens")
	r.run("getToken", path("id", tokenID))
	r.run("getCluster", query("identity=campaign/february-reminders"))

	// Two seats, one paused: one call at a time.
	r.run("putAgent")
	r.run("setSeatState")
	r.run("createCampaign", want(201))
	r.run("listCampaigns", query("workspace=ws_001&email=ops@example.com"))
	r.run("getCampaign")
	listUUID := r.run("createList", want(201)).(map[string]any)["uuid"].(string)
	r.run("listLists", query("campaign=february-reminders"))
	r.run("getList", path("id", listUUID))
	r.run("addProspect", want(201)) // every media type's example

	// The first call: the platform takes it, the test answers it with the
	// event example, the dialer connects it to the seat, and the seat's
	// disposition example ends it.
	call := pf.next(t, &pf.placed, "place")
	r.run("postCallEvent", path("id", call), rewrite(func(v any) any {
		ev := v.(map[string]any)
		ev["call"] = call
		return ev
	}), want(204))
	if got := pf.next(t, &pf.connected, "connect"); got != call {
		t.Fatalf("the platform was asked to connect %s, want %s", got, call)
	}
	r.run("postDisposition", path("id", call), want(200))
	r.run("listCalls", query("limit=100"))
	r.run("getAgent")

	up := r.run("createUpload", want(201)).(map[string]any)["uuid"].(string)
	for deadline := time.Now().Add(20 * time.Second); ; {
		doc := r.run("getUpload", path("id", up)).(map[string]any)
		if doc["status"] == "completed" {
			if doc["accepted"] != 1.0 || doc["invalid"] != 1.0 {
				t.Fatalf("the upload example: %v", doc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload still %v after 20 s", doc["status"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.run("retryUpload", path("uuid", up), want(409)) // a completed upload
	r.run("listProspects", query("status=unresolved&limit=100"))
	r.run("getEligibility")
	r.run("getCampaignStatus")
	// The call placed above is in the figures by minute.
	attempts := 0.0
	for _, pt := range r.run("getCampaignStats", query("minutes=60")).(map[string]any)["points"].([]any) {
		attempts += pt.(map[string]any)["attempts"].(float64)
	}
	if attempts < 1 {
		t.Errorf("the stats of the last hour count %v attempts, want the call placed", attempts)
	}

	r.run("addDNC", want(201))
	r.run("uploadDNC", query("workspace=ws_001&reason=complaints"), want(200))
	r.run("listDNC", query("workspace=ws_001&limit=100"))
	r.run("getDNC", query("workspace=ws_001"))
	r.run("deleteDNC", query("workspace=ws_001"), want(204))
	r.run("getDNC", query("workspace=ws_001"), want(404))

	r.run("updateCampaign")
	r.run("replaceCampaign")
	r.run("deleteList", path("id", listUUID), want(204))
	r.run("revokeToken", path("id", tokenID), want(204))
	r.run("deleteCampaign", want(204))
	r.run("getCampaign", want(404))

	for _, o := range r.ops {
		if !r.ran[o.op.OperationID] {
			t.Errorf("%s %s (%s) was not run against the node: add it to this test", o.method, o.path, o.op.OperationID)
		}
	}
}

// operation is one operation of the document.
type operation struct {
	method, path string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// runner sends the document's examples to a node and checks the answers.
type runner struct {
	t    *testing.T
	base string
	doc  *openapi3.T
	ops  map[string]operation // by operationId
	ran  map[string]bool
	raw  []byte // the last answer's body
}

func newRunner(t *testing.T, base string) *runner {
	res, err := http.Get(base + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("the node's document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the node's document is not valid: %v", err)
	}
	r := &runner{t: t, base: base, doc: doc, ops: map[string]operation{}, ran: map[string]bool{}}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			r.ops[op.OperationID] = operation{method: m, path: p, item: item, op: op}
		}
	}
	// The docs page is HTML: read it as text, as text/plain is.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	return r
}

// call is how one run differs from the document's examples.
type call struct {
	params  map[string]string
	query   string
	rewrite func(any) any
	want    int
}

type option func(*call)

// path sets a path parameter the node chose (the example's is used
// otherwise).
func path(name, value string) option {
	return func(c *call) { c.params[name] = value }
}

func query(q string) option { return func(c *call) { c.query = q } }

// rewrite changes each request example before it is sent.
func rewrite(f func(any) any) option { return func(c *call) { c.rewrite = f } }

// want is the status expected (default: any 2xx the document declares).
func want(status int) option { return func(c *call) { c.want = status } }

// run sends the operation's request examples (every media type's, every
// example's, in name order; one bodiless request when it takes no body)
// and returns the last answer, decoded.
func (r *runner) run(id string, opts ...option) any {
	r.t.Helper()
	o, ok := r.ops[id]
	if !ok {
		r.t.Fatalf("no operation %q in the document", id)
	}
	c := call{params: map[string]string{}}
	for _, opt := range opts {
		opt(&c)
	}
	r.ran[id] = true

	// The URL: each path parameter from the run, else its example.
	params := map[string]string{}
	u := o.path
	for _, p := range append(append(openapi3.Parameters{}, o.item.Parameters...), o.op.Parameters...) {
		if p.Value.In != "path" {
			continue
		}
		v, ok := c.params[p.Value.Name]
		if !ok {
			v = fmt.Sprint(p.Value.Example)
		}
		params[p.Value.Name] = v
		u = strings.ReplaceAll(u, "{"+p.Value.Name+"}", url.PathEscape(v))
	}
	if c.query != "" {
		u += "?" + c.query
	}

	type sample struct {
		ct, name string
		value    any
	}
	var samples []sample
	if o.op.RequestBody != nil {
		for ct, mt := range o.op.RequestBody.Value.Content {
			for name, ex := range mt.Examples {
				samples = append(samples, sample{ct, name, ex.Value.Value})
			}
		}
		sort.Slice(samples, func(i, j int) bool {
			return samples[i].ct+" "+samples[i].name < samples[j].ct+" "+samples[j].name
		})
	} else {
		samples = append(samples, sample{})
	}
	var out any
	for _, s := range samples {
		if c.rewrite != nil {
			s.value = c.rewrite(s.value)
		}
		body, ct := encode(r.t, s.ct, s.value)
		label := fmt.Sprintf("%s (%s %s) %s", id, o.method, u, s.name)
		out = r.send(label, o, params, u, ct, body, c.want)
	}
	return out
}

// send validates the request against the document, sends it, and checks
// the answer's status and body.
func (r *runner) send(label string, o operation, params map[string]string, u, ct string, body []byte, wantStatus int) any {
	r.t.Helper()
	newRequest := func() *http.Request {
		req, err := http.NewRequest(o.method, r.base+u, bytes.NewReader(body))
		if err != nil {
			r.t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		switch {
		case o.op.Security != nil && len(*o.op.Security) == 0:
			// No authentication.
		case o.op.Security != nil && len(*o.op.Security) > 0 && (*o.op.Security)[0]["webhookSignature"] != nil:
			req.Header.Set("X-Dialerd-Signature", sign(webhookSecret, time.Now(), body))
		default:
			req.Header.Set("Authorization", "Bearer "+bootToken)
		}
		return req
	}
	route := &routers.Route{Spec: r.doc, Path: o.path, PathItem: o.item, Method: o.method, Operation: o.op}
	in := &openapi3filter.RequestValidationInput{Request: newRequest(), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		r.t.Fatalf("%s: the example request does not match the document: %v", label, err)
	}

	res, err := http.DefaultClient.Do(newRequest())
	if err != nil {
		r.t.Fatalf("%s: %v", label, err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		r.t.Fatalf("%s: reading the answer: %v", label, err)
	}
	r.raw = raw
	r.t.Logf("%s: %d", label, res.StatusCode)
	if o.op.Responses.Status(res.StatusCode) == nil {
		r.t.Fatalf("%s: status %d, which the document does not declare: %s", label, res.StatusCode, raw)
	}
	if wantStatus != 0 && res.StatusCode != wantStatus || wantStatus == 0 && res.StatusCode/100 != 2 {
		r.t.Fatalf("%s: status %d, want %d: %s", label, res.StatusCode, wantStatus, raw)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	rin.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		r.t.Fatalf("%s: the answer does not match the document: %v\nanswer: %s", label, err, raw)
	}
	var out any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			r.t.Fatalf("%s: %v", label, err)
		}
	}
	return out
}

// encode writes an example as a body of its media type.
func encode(t *testing.T, ct string, v any) ([]byte, string) {
	t.Helper()
	switch ct {
	case "":
		return nil, ""
	case "application/json":
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b, ct
	case "application/x-www-form-urlencoded":
		form := url.Values{}
		for k, x := range v.(map[string]any) {
			form.Set(k, fmt.Sprint(x))
		}
		return []byte(form.Encode()), ct
	case "multipart/form-data":
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fields := v.(map[string]any)
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if k == "file" {
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", `form-data; name="file"; filename="example.csv"`)
				h.Set("Content-Type", "text/csv")
				part, err := w.CreatePart(h)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(part, fields[k].(string))
				continue
			}
			w.WriteField(k, fmt.Sprint(fields[k]))
		}
		w.Close()
		return b.Bytes(), w.FormDataContentType()
	default: // a file as the body
		return []byte(v.(string)), ct
	}
}

// sign is docs/webhook.md's signature: HMAC-SHA256 over "<t>.<body>".
func sign(secret string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// platform stands in for a voice-agent platform: it takes every request
// the webhook provider sends and tells the test which calls were placed
// and connected.
type platform struct {
	srv       *httptest.Server
	mu        sync.Mutex
	placed    []string
	connected []string
}

func newPlatform(t *testing.T) *platform {
	p := &platform{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		p.mu.Lock()
		defer p.mu.Unlock()
		switch rest := strings.TrimPrefix(req.URL.EscapedPath(), "/"); {
		case rest == "calls":
			var c struct {
				ID string `json:"id"`
			}
			json.Unmarshal(body, &c)
			p.placed = append(p.placed, c.ID)
		case strings.HasPrefix(rest, "calls/") && strings.HasSuffix(rest, "/connect"):
			id, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(rest, "calls/"), "/connect"))
			p.connected = append(p.connected, id)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// next waits for the first call of a list (placed or connected).
func (p *platform) next(t *testing.T, list *[]string, what string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		if len(*list) > 0 {
			id := (*list)[0]
			p.mu.Unlock()
			return id
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the platform got no %s request in 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
