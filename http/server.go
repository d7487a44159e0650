package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
)

// Grains sends a message to the grain kind/identity wherever it lives.
type Grains interface {
	Request(ctx context.Context, kind, identity string, msg proto.Message) (any, error)
}

// CampaignReads gives the documents of the campaign grains active on this
// node, while it serves them (actors.Reads).
type CampaignReads interface {
	Campaign(slug string) (doc []byte, workspace string, ok bool)
}

// Catalog answers listing questions without asking each grain.
type Catalog interface {
	Campaigns(ctx context.Context, p dialerd.Principal, f actors.CampaignFilter) ([]json.RawMessage, error)
	TakenSlugs(ctx context.Context, base string) (map[string]bool, error)
	Lists(ctx context.Context, p dialerd.Principal, f actors.ListFilter) ([]json.RawMessage, error)
	Tokens(ctx context.Context) ([]dialerd.Token, error)
}

// Body size limits by kind of route.
const (
	DefaultMaxJSONBody = 64 << 10
)

// Config configures the front end.
type Config struct {
	// Addr is the listen address, host:port.
	Addr string
	// BootstrapToken, when set, is an admin token that needs no record.
	BootstrapToken string
	// MaxJSONBody bounds request bodies other than uploads. Default
	// DefaultMaxJSONBody.
	MaxJSONBody int
	// MaxUploadBytes bounds an uploaded file. Default DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// UploadReadTimeout bounds the reading of an upload's request. Default
	// 30 minutes.
	UploadReadTimeout time.Duration
	// RequestTimeout bounds a listing (an index scan). Default 10 s.
	RequestTimeout time.Duration
	// AuthCacheTTL is how long a resolved token is trusted before it is
	// looked up again: the delay after which a revocation made on another
	// node takes effect here. Default 5 s.
	AuthCacheTTL time.Duration
	Grains       Grains
	Catalog      Catalog
	// Reads lets a read of a campaign this node serves skip the grain's
	// mailbox: its grain publishes its document there (nil: every read
	// asks the grain).
	Reads CampaignReads
	// NewID returns a fresh unique ID (a UUID).
	NewID   func() string
	Clock   dialerd.Clock
	Metrics *Metrics
	// Ready reports whether the node serves requests (nil: ready).
	Ready func() error
	// Cluster describes membership and placement for GET /api/v/cluster/
	// (admins only); identity, when given, asks where that identity lives.
	Cluster func(identity string) any
	// Events verifies provider events (nil: the provider takes none).
	Events EventVerifier
	Logger *slog.Logger
}

// Server is the HTTP front end.
type Server struct {
	cfg  Config
	log  *slog.Logger
	auth *authenticator
	srv  *fasthttp.Server
	docs []byte // the /docs page
	ln   net.Listener
	done chan error
	adds addGroups
	// uiAssets are the dashboard's files by name (ui.go).
	uiAssets map[string]uiAsset
}

// New returns a server; Start listens.
func New(cfg Config) *Server {
	if cfg.MaxJSONBody <= 0 {
		cfg.MaxJSONBody = DefaultMaxJSONBody
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.UploadReadTimeout <= 0 {
		cfg.UploadReadTimeout = 30 * time.Minute
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.AuthCacheTTL <= 0 {
		cfg.AuthCacheTTL = 5 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "http"), uiAssets: loadUI(), docs: docsPage()}
	s.auth = newAuthenticator(cfg.BootstrapToken, cfg.Grains, cfg.Clock, cfg.AuthCacheTTL)
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		Name:                  "dialerd",
		MaxRequestBodySize:    cfg.MaxJSONBody,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: false,
		NoDefaultDate:         true,
		ErrorHandler:          s.errorHandler,
		// Bodies are streamed so an upload is never held whole; boundBody
		// enforces MaxJSONBody on the other routes, and fasthttp must not
		// parse multipart forms (to temporary files) before the handler.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		HeaderReceived:               s.headerReceived,
		Logger:                       fasthttpLogger{s.log},
	}
	return s
}

// Start listens on cfg.Addr and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting, lets requests in flight finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.ShutdownWithContext(ctx)
	<-s.done
	return err
}

// headerReceived gives uploads the time a large file needs. For other
// routes, a body declared larger than allowed must be refused without
// waiting for it: with streamed bodies fasthttp first reads up to 8 KiB of
// it, so the read-ahead is cut to one byte and boundBody answers 413.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.IsPost() && (bytes.HasPrefix(h.RequestURI(), []byte(apiPrefix+"upload/")) || bytes.HasPrefix(h.RequestURI(), []byte(apiPrefix+"dnc/upload/"))) {
		return fasthttp.RequestConfig{ReadTimeout: s.cfg.UploadReadTimeout}
	}
	if h.ContentLength() > s.cfg.MaxJSONBody {
		return fasthttp.RequestConfig{MaxRequestBodySize: 1}
	}
	return fasthttp.RequestConfig{}
}

// errorHandler answers requests fasthttp rejects before the handler runs
// (an oversized body, a malformed request) in the API's error format.
func (s *Server) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, s.log, dialerd.Errorf(dialerd.ETOOLARGE, "Request body is larger than %d bytes.", s.cfg.MaxJSONBody))
	case errors.As(err, &ne) && ne.Timeout():
		// A connection opened and never used (or a request too slow to
		// arrive): 408, not a 400 for a request that was never sent.
		ctx.SetConnectionClose()
		ctx.Error(`{"detail":"Request timeout."}`, fasthttp.StatusRequestTimeout)
		ctx.SetContentType("application/json")
	default:
		writeError(ctx, s.log, dialerd.Errorf(dialerd.EINVALID, "Malformed HTTP request, or headers too large."))
	}
	s.cfg.Metrics.requests.WithLabelValues("other", string(ctx.Method()), strconv.Itoa(ctx.Response.StatusCode())).Inc()
}

// request is one API call on its way through the handlers.
type request struct {
	ctx   *fasthttp.RequestCtx
	c     context.Context
	p     dialerd.Principal
	parts []string // path segments after /api/v/
}

type handler func(s *Server, r *request) error

// route is one API path pattern and its handlers by method.
type route struct {
	name    string // pattern, the metrics label
	methods map[string]handler
}

// match finds the route for the segments after /api/v/.
func match(parts []string) *route {
	switch {
	case len(parts) == 1 && parts[0] == "campaign":
		return routeCampaigns
	case len(parts) == 2 && parts[0] == "campaign":
		return routeCampaign
	case len(parts) == 3 && parts[0] == "campaign" && parts[2] == "status":
		return routeCampaignStatus
	case len(parts) == 3 && parts[0] == "campaign" && parts[2] == "stats":
		return routeCampaignStats
	case len(parts) == 1 && parts[0] == "token":
		return routeTokens
	case len(parts) == 1 && parts[0] == "cluster":
		return routeCluster
	case len(parts) == 1 && parts[0] == "list":
		return routeLists
	case len(parts) == 2 && parts[0] == "list":
		return routeList
	case len(parts) == 3 && parts[0] == "list" && parts[2] == "prospects":
		return routeListProspects
	case len(parts) == 2 && parts[0] == "prospect":
		return routeProspectAdd
	case len(parts) == 2 && parts[0] == "token":
		return routeToken
	case len(parts) == 2 && parts[0] == "agent":
		return routeAgent
	case len(parts) == 4 && parts[0] == "agent" && parts[2] == "seat":
		return routeAgentSeat
	case len(parts) == 2 && parts[0] == "upload":
		return routeUpload
	case len(parts) == 3 && parts[0] == "upload" && parts[2] == "retry":
		return routeUploadRetry
	case len(parts) == 4 && parts[0] == "prospect" && parts[3] == "eligibility":
		return routeEligibility
	case len(parts) == 3 && parts[0] == "campaign" && parts[2] == "calls":
		return routeCampaignCalls
	case len(parts) == 3 && parts[0] == "call" && parts[2] == "event":
		return routeCallEvent
	case len(parts) == 3 && parts[0] == "call" && parts[2] == "disposition":
		return routeCallDisposition
	case len(parts) == 1 && parts[0] == "dnc":
		return routeDNCs
	case len(parts) == 2 && parts[0] == "dnc" && parts[1] == "upload":
		return routeDNCUpload
	case len(parts) == 2 && parts[0] == "dnc":
		return routeDNC
	}
	return nil
}

var (
	routeCampaigns      = &route{"/api/v/campaign/", map[string]handler{"GET": (*Server).listCampaigns, "POST": (*Server).createCampaign}}
	routeCampaign       = &route{"/api/v/campaign/{slug}/", map[string]handler{"GET": (*Server).getCampaign, "PUT": (*Server).replaceCampaign, "PATCH": (*Server).patchCampaign, "DELETE": (*Server).deleteCampaign}}
	routeCampaignStatus = &route{"/api/v/campaign/{slug}/status/", map[string]handler{"GET": (*Server).campaignStatus}}
	routeCampaignStats  = &route{"/api/v/campaign/{slug}/stats/", map[string]handler{"GET": (*Server).campaignStats}}
	routeTokens         = &route{"/api/v/token/", map[string]handler{"GET": (*Server).listTokens, "POST": (*Server).createToken}}
	routeLists          = &route{"/api/v/list/", map[string]handler{"GET": (*Server).listLists, "POST": (*Server).createList}}
	routeList           = &route{"/api/v/list/{id}/", map[string]handler{"GET": (*Server).getList, "DELETE": (*Server).deleteList}}
	routeListProspects  = &route{"/api/v/list/{id}/prospects/", map[string]handler{"GET": (*Server).listProspects}}
	routeProspectAdd    = &route{"/api/v/prospect/{list}/", map[string]handler{"POST": (*Server).addProspect}}
	routeCluster        = &route{"/api/v/cluster/", map[string]handler{"GET": (*Server).clusterInfo}}
	routeToken          = &route{"/api/v/token/{id}/", map[string]handler{"GET": (*Server).getToken, "DELETE": (*Server).deleteToken}}
	// POST names a list (by slug or uuid) to upload to; GET names an upload.
	routeUpload      = &route{"/api/v/upload/{id}/", map[string]handler{"GET": (*Server).getUpload, "POST": (*Server).createUpload}}
	routeUploadRetry = &route{"/api/v/upload/{uuid}/retry/", map[string]handler{"POST": (*Server).retryUpload}}
	routeAgent       = &route{"/api/v/agent/{id}/", map[string]handler{"GET": (*Server).getAgent, "PUT": (*Server).putAgent}}
	routeAgentSeat   = &route{"/api/v/agent/{id}/seat/{seat}/", map[string]handler{"PATCH": (*Server).patchSeat}}

	routeEligibility     = &route{"/api/v/prospect/{list}/{id}/eligibility/", map[string]handler{"GET": (*Server).eligibility}}
	routeCampaignCalls   = &route{"/api/v/campaign/{slug}/calls/", map[string]handler{"GET": (*Server).callsPage}}
	routeCallEvent       = &route{"/api/v/call/{id}/event/", map[string]handler{"POST": (*Server).callEvent}}
	routeCallDisposition = &route{"/api/v/call/{id}/disposition/", map[string]handler{"POST": (*Server).callDisposition}}

	routeDNCs      = &route{"/api/v/dnc/", map[string]handler{"GET": (*Server).listDNC, "POST": (*Server).addDNC}}
	routeDNCUpload = &route{"/api/v/dnc/upload/", map[string]handler{"POST": (*Server).uploadDNC}}
	routeDNC       = &route{"/api/v/dnc/{number}/", map[string]handler{"GET": (*Server).getDNC, "DELETE": (*Server).deleteDNC}}
)

// routes lists every route match can return, for Routes (and so for the
// OpenAPI document's tests); TestRouteTable fails when match returns one
// that is not here.
var routes = []*route{
	routeCampaigns, routeCampaign, routeCampaignStatus, routeCampaignStats, routeCampaignCalls,
	routeTokens, routeToken, routeCluster,
	routeLists, routeList, routeListProspects, routeProspectAdd, routeEligibility,
	routeUpload, routeUploadRetry,
	routeAgent, routeAgentSeat,
	routeCallEvent, routeCallDisposition,
	routeDNCs, routeDNCUpload, routeDNC,
}

// fixedPath is a path outside /api/v/, served whatever the method (probes
// and scrapers send what they send); it is documented as a GET.
type fixedPath struct {
	path  string // exact, also the metrics label
	serve func(s *Server, ctx *fasthttp.RequestCtx)
	// tree: path ends in "/" and serves every path under it, and path
	// without its slash (the dashboard's files).
	tree bool
}

// fixedPaths are the node's paths outside the API's route table.
var fixedPaths = []fixedPath{
	{"/healthz", (*Server).healthz, false},
	{"/readyz", (*Server).readyz, false},
	{"/metrics", (*Server).metrics, false},
	{openAPIPath, (*Server).serveOpenAPI, false},
	{docsPath, (*Server).serveDocs, false},
	{uiPrefix, (*Server).serveUI, true},
}

// Route is one method on one path the node serves, the path written as
// the OpenAPI document writes it ("/api/v/campaign/{slug}/").
type Route struct {
	Method, Path string
}

// Routes lists every method of every route of the API, then the fixed
// paths: what the OpenAPI document must describe, no more and no less.
func Routes() []Route {
	var out []Route
	for _, rt := range routes {
		for _, m := range strings.Split(allow(rt), ", ") {
			out = append(out, Route{Method: m, Path: rt.name})
		}
	}
	for _, f := range fixedPaths {
		out = append(out, Route{Method: "GET", Path: f.path})
	}
	return out
}

const apiPrefix = "/api/v/"

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := dialerd.Stopwatch()
	path := string(ctx.Path())
	var name string
	if f := fixedPathOf(path); f != nil {
		name = f.path
		f.serve(s, ctx)
	} else {
		name = s.api(ctx, path)
	}
	s.cfg.Metrics.requests.WithLabelValues(name, string(ctx.Method()), strconv.Itoa(ctx.Response.StatusCode())).Inc()
	s.cfg.Metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

func fixedPathOf(path string) *fixedPath {
	for i := range fixedPaths {
		f := &fixedPaths[i]
		if f.path == path || f.tree && (strings.HasPrefix(path, f.path) || path == strings.TrimSuffix(f.path, "/")) {
			return f
		}
	}
	return nil
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ok"}`)
}

func (s *Server) metrics(ctx *fasthttp.RequestCtx) { s.cfg.Metrics.handler(ctx) }

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			writeError(ctx, s.log, dialerd.Errorf(dialerd.EUNAVAILABLE, "Not ready: %s", err))
			return
		}
	}
	ctx.SetBodyString(`{"status":"ready"}`)
}

// api serves /api/v/…; it returns the route name for metrics.
func (s *Server) api(ctx *fasthttp.RequestCtx, path string) string {
	if !strings.HasPrefix(path, apiPrefix) {
		writeError(ctx, s.log, dialerd.Errorf(dialerd.ENOTFOUND, "Not found."))
		return "other"
	}
	parts := splitPath(strings.TrimPrefix(path, apiPrefix))
	rt := match(parts)
	if rt == nil {
		writeError(ctx, s.log, dialerd.Errorf(dialerd.ENOTFOUND, "Not found."))
		return "other"
	}
	h, ok := rt.methods[string(ctx.Method())]
	if !ok {
		ctx.Response.Header.Set("Allow", allow(rt))
		writeError(ctx, s.log, dialerd.Errorf(dialerd.EMETHOD, "Method %q not allowed.", ctx.Method()))
		return rt.name
	}
	// Grain requests carry their own timeout (cluster.Config.RequestTimeout);
	// handlers that scan bound themselves with cfg.RequestTimeout. A context
	// with a deadline per request would cost a timer on the hot path.
	c := context.Background()
	var err error
	if (rt != routeUpload && rt != routeDNCUpload) || !ctx.IsPost() {
		err = s.boundBody(ctx)
	}
	var p dialerd.Principal
	if err == nil && rt != routeCallEvent { // events carry a signature instead
		p, err = s.auth.authenticate(c, ctx)
	}
	if err == nil {
		err = h(s, &request{ctx: ctx, c: c, p: p, parts: parts})
	}
	if err != nil {
		writeError(ctx, s.log, err)
	}
	return rt.name
}

func allow(rt *route) string {
	var ms []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if _, ok := rt.methods[m]; ok {
			ms = append(ms, m)
		}
	}
	return strings.Join(ms, ", ")
}

// splitPath splits on '/', dropping empty segments: the trailing slash is
// optional and doubled slashes are harmless.
func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// jsonBody returns the body of a request that must carry JSON.
func jsonBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	ct := string(ctx.Request.Header.ContentType())
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, dialerd.Errorf(dialerd.EMEDIATYPE, "Unsupported media type %q: send application/json.", ct)
	}
	return ctx.PostBody(), nil
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "msg", strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// clusterInfo shows membership, the Raft leader and shard placement, and
// with ?identity=kind/id, which shard and nodes hold that identity.
func (s *Server) clusterInfo(r *request) error {
	if err := requireAdmin(r); err != nil {
		return err
	}
	if s.cfg.Cluster == nil {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Not found.")
	}
	body, err := json.Marshal(s.cfg.Cluster(string(r.ctx.QueryArgs().Peek("identity"))))
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, body)
	return nil
}
