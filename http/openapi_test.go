package http

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// loadOpenAPI loads and validates the embedded document: OpenAPI 3.1 rules,
// references, and (kin-openapi's default) every example against its schema.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	return doc
}

// TestOpenAPIRoutes holds the document to the route table, both ways: a
// route served and not documented, or documented and not served, fails.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, r := range Routes() {
		served[r.Method+" "+r.Path] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var undocumented, unserved []string
	for k := range served {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range documented {
		if !served[k] {
			unserved = append(unserved, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unserved)
	if len(undocumented) > 0 {
		t.Errorf("served (http.Routes) but missing from http/openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unserved) > 0 {
		t.Errorf("in http/openapi.json but not served (missing from http.Routes):\n  %s", strings.Join(unserved, "\n  "))
	}
}

// TestOpenAPIExamples checks what Validate leaves to convention: every
// operation is findable and has its examples (each request body's media
// types, each success response's, each path parameter), and every example
// — request, response, parameter — is valid against its schema under JSON
// Schema 2020-12.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	check := func(where string, schema *openapi3.SchemaRef, value any) {
		t.Helper()
		if schema == nil || schema.Value == nil {
			t.Errorf("%s: no schema", where)
			return
		}
		if err := schema.Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s: example does not match its schema: %v", where, err)
		}
	}
	examples := func(mt *openapi3.MediaType) map[string]any {
		out := map[string]any{}
		if mt.Example != nil {
			out["example"] = mt.Example
		}
		for name, ex := range mt.Examples {
			out[name] = ex.Value.Value
		}
		return out
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) != 1 {
				t.Errorf("%s: wants an operationId, a summary and one tag", name)
			}
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			for _, p := range params {
				if p.Value.Example == nil {
					if p.Value.In == "path" {
						t.Errorf("%s: path parameter %s has no example", name, p.Value.Name)
					}
					continue
				}
				check(fmt.Sprintf("%s parameter %s", name, p.Value.Name), p.Value.Schema, p.Value.Example)
			}
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					exs := examples(mt)
					if len(exs) == 0 {
						t.Errorf("%s: request body %s has no example", name, ct)
					}
					for ex, v := range exs {
						check(fmt.Sprintf("%s request %s example %q", name, ct, ex), mt.Schema, v)
					}
				}
			}
			success := 0
			for status, resp := range op.Responses.Map() {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("%s: response %q: want explicit statuses, no default or ranges", name, status)
					continue
				}
				for ct, mt := range resp.Value.Content {
					exs := examples(mt)
					if code/100 == 2 && len(exs) == 0 {
						t.Errorf("%s: response %d %s has no example", name, code, ct)
					}
					for ex, v := range exs {
						check(fmt.Sprintf("%s response %d %s example %q", name, code, ct, ex), mt.Schema, v)
					}
				}
				if code/100 == 2 {
					success++
				}
			}
			if success == 0 {
				t.Errorf("%s: no success response", name)
			}
		}
	}
	if ops == 0 {
		t.Fatal("no operations")
	}
}

// TestOpenAPIErrorCodes holds the document's error-code table to the one
// map from code to status (error.go).
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	raw, ok := doc.Extensions["x-error-codes"].([]any)
	if !ok {
		t.Fatalf("openapi.json has no x-error-codes array")
	}
	documented := map[string]int{}
	for _, e := range raw {
		m, _ := e.(map[string]any)
		code, _ := m["code"].(string)
		status, _ := m["status"].(float64)
		desc, _ := m["description"].(string)
		if code == "" || desc == "" {
			t.Errorf("x-error-codes entry %v wants a code and a description", e)
		}
		documented[code] = int(status)
	}
	for code, status := range codes {
		if documented[code] != status {
			t.Errorf("error code %q is %d in error.go, %d in openapi.json's x-error-codes", code, status, documented[code])
		}
	}
	for code := range documented {
		if _, ok := codes[code]; !ok {
			t.Errorf("openapi.json's x-error-codes has %q, which error.go does not map", code)
		}
	}
}

// TestRouteTable keeps Routes honest: every route match can return is in
// routes (read from server.go's syntax, so a route added to match but not
// to the list fails here), and each route's name, with its parameters
// filled in, is matched back to that route.
func TestRouteTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	returned := map[string]bool{}
	listed := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Name.Name == "match" {
				ast.Inspect(n.Body, func(n ast.Node) bool {
					if r, ok := n.(*ast.ReturnStmt); ok {
						for _, e := range r.Results {
							if id, ok := e.(*ast.Ident); ok && id.Name != "nil" {
								returned[id.Name] = true
							}
						}
					}
					return true
				})
			}
		case *ast.ValueSpec:
			if len(n.Names) == 1 && n.Names[0].Name == "routes" {
				for _, e := range n.Values[0].(*ast.CompositeLit).Elts {
					listed[e.(*ast.Ident).Name] = true
				}
			}
		}
		return true
	})
	if len(returned) == 0 {
		t.Fatal("found no route returned by match in server.go")
	}
	for name := range returned {
		if !listed[name] {
			t.Errorf("match returns %s, which is not in routes (so not in Routes())", name)
		}
	}
	for name := range listed {
		if !returned[name] {
			t.Errorf("routes lists %s, which match never returns", name)
		}
	}
	for _, rt := range routes {
		filled := strings.NewReplacer("{slug}", "february-reminders", "{id}", "x1", "{uuid}", "x2", "{list}", "x3", "{seat}", "2", "{number}", "2125550100").Replace(rt.name)
		if got := match(splitPath(strings.TrimPrefix(filled, apiPrefix))); got != rt {
			t.Errorf("%s (as %s) is not matched to its own route", rt.name, filled)
		}
		if strings.ContainsAny(filled, "{}") {
			t.Errorf("%s: a path parameter this test does not fill", rt.name)
		}
	}
}

// serve runs one request through the server's handler, in process.
func serve(t *testing.T, s *Server, method, uri string) *fasthttp.Response {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	s.handle(&ctx)
	var res fasthttp.Response
	ctx.Response.CopyTo(&res)
	return &res
}

func testServer() *Server {
	return New(Config{Metrics: NewMetrics(func() int { return 1 }), Clock: dialerd.RealClock{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// TestServeOpenAPI: the document and the docs page are served without a
// token, and the page is whole and self-contained.
func TestServeOpenAPI(t *testing.T) {
	s := testServer()
	res := serve(t, s, "GET", "/api/openapi.json")
	if res.StatusCode() != 200 || string(res.Header.ContentType()) != "application/json" || !bytes.Equal(res.Body(), openAPIDoc) {
		t.Fatalf("GET /api/openapi.json: %d %s, %d bytes", res.StatusCode(), res.Header.ContentType(), len(res.Body()))
	}
	res = serve(t, s, "GET", "/docs")
	page := string(res.Body())
	if res.StatusCode() != 200 || !strings.HasPrefix(string(res.Header.ContentType()), "text/html") {
		t.Fatalf("GET /docs: %d %s", res.StatusCode(), res.Header.ContentType())
	}
	for _, want := range []string{string(docsCSS), string(docsJS), `fetch("/api/openapi.json"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the docs page lacks %.60q…", want)
		}
	}
	for _, bad := range []string{"/*DOCS_CSS*/", "/*DOCS_JS*/", "<script src", "<link", "@import", "url(http", "//cdn", "fonts.g"} {
		if strings.Contains(page, bad) {
			t.Errorf("the docs page holds %q: it must be whole and load nothing from outside", bad)
		}
	}
	// The fixed paths are outside the API's authentication.
	for _, r := range Routes() {
		if strings.HasPrefix(r.Path, apiPrefix) {
			continue
		}
		if res := serve(t, s, r.Method, r.Path); res.StatusCode() == http.StatusNotFound || res.StatusCode() == http.StatusUnauthorized {
			t.Errorf("%s %s: %d", r.Method, r.Path, res.StatusCode())
		}
	}
	if res := serve(t, s, "GET", "/api/v/campaign/"); res.StatusCode() != http.StatusUnauthorized {
		t.Errorf("GET /api/v/campaign/ without a token: %d, want 401", res.StatusCode())
	}
}

// TestOpenAPICampaignFields: the campaign's fields are the most likely to
// grow. The schema of a campaign read and of a campaign written each name
// exactly the JSON fields of dialerd.Campaign (a field the node writes but
// the document lacks also fails the node test; a writable one would not).
func TestOpenAPICampaignFields(t *testing.T) {
	doc := loadOpenAPI(t)
	var want []string
	typ := reflect.TypeOf(dialerd.Campaign{})
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		want = append(want, name)
	}
	sort.Strings(want)
	for _, schema := range []string{"Campaign", "CampaignWrite"} {
		var got []string
		for name := range doc.Components.Schemas[schema].Value.Properties {
			got = append(got, name)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has the fields\n  %v\ndialerd.Campaign has\n  %v", schema, got, want)
		}
	}
}
