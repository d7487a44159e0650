package http

import (
	"bytes"
	_ "embed"

	"github.com/valyala/fasthttp"
)

// The OpenAPI document is written by hand, next to the handlers it
// describes; openapi_test.go holds it to the route table and runs its
// examples against a real node, so it cannot drift from the code.
const (
	openAPIPath = "/api/openapi.json"
	docsPath    = "/docs"
)

// openAPIDoc is the OpenAPI 3.1 document of the node's API.
//
//go:embed openapi.json
var openAPIDoc []byte

// The docs page is one HTML file with its style and script put inline, so
// the page is a single request and needs nothing from outside the node.
var (
	//go:embed docs/index.html
	docsHTML []byte
	//go:embed docs/docs.css
	docsCSS []byte
	//go:embed docs/docs.js
	docsJS []byte
)

// docsPage assembles the docs page: index.html with the style sheet and
// the script in place of its two markers.
func docsPage() []byte {
	page := bytes.Replace(docsHTML, []byte("/*DOCS_CSS*/"), docsCSS, 1)
	return bytes.Replace(page, []byte("/*DOCS_JS*/"), docsJS, 1)
}

// serveOpenAPI answers GET /api/openapi.json; no token is needed.
func (s *Server) serveOpenAPI(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBody(openAPIDoc)
}

// serveDocs answers GET /docs: a page that fetches the document and
// renders it.
func (s *Server) serveDocs(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	// The page runs only its own inline script and reaches only this node.
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
	ctx.SetBody(s.docs)
}
