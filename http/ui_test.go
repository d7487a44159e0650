package http

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func uiGet(s *Server, method, uri string, hdr map[string]string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for k, v := range hdr {
		ctx.Request.Header.Set(k, v)
	}
	s.handle(&ctx)
	return &ctx
}

// The dashboard's files are served from the binary with their types, a
// policy that keeps the page to its own node, and revalidation.
func TestUIServing(t *testing.T) {
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(func() int { return 1 })})

	if c := uiGet(s, "GET", "/ui", nil); c.Response.StatusCode() != 301 || string(c.Response.Header.Peek("Location")) != "/ui/" {
		t.Fatalf("/ui: %d %q", c.Response.StatusCode(), c.Response.Header.Peek("Location"))
	}
	for uri, ct := range map[string]string{
		"/ui/":           "text/html; charset=utf-8",
		"/ui/index.html": "text/html; charset=utf-8",
		"/ui/app.js":     "text/javascript; charset=utf-8",
		"/ui/app.css":    "text/css; charset=utf-8",
		"/ui/icon.svg":   "image/svg+xml",
	} {
		c := uiGet(s, "GET", uri, nil)
		h := &c.Response.Header
		if c.Response.StatusCode() != 200 || string(h.ContentType()) != ct || len(c.Response.Body()) == 0 {
			t.Fatalf("%s: %d %q, %d bytes", uri, c.Response.StatusCode(), h.ContentType(), len(c.Response.Body()))
		}
		if csp := string(h.Peek("Content-Security-Policy")); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") ||
			string(h.Peek("X-Content-Type-Options")) != "nosniff" || string(h.Peek("Cache-Control")) != "no-cache" {
			t.Fatalf("%s: headers %s", uri, h.String())
		}
		etag := string(h.Peek("ETag"))
		if c := uiGet(s, "GET", uri, map[string]string{"If-None-Match": etag}); etag == "" || c.Response.StatusCode() != 304 || len(c.Response.Body()) != 0 {
			t.Fatalf("%s with its ETag %q: %d", uri, etag, c.Response.StatusCode())
		}
	}
	for _, uri := range []string{"/ui/nope.js", "/ui/../http/ui.go", "/ui/ui/app.js", "/uix"} {
		if c := uiGet(s, "GET", uri, nil); c.Response.StatusCode() != 404 {
			t.Fatalf("%s: %d", uri, c.Response.StatusCode())
		}
	}
	if c := uiGet(s, "POST", "/ui/", nil); c.Response.StatusCode() != 405 || string(c.Response.Header.Peek("Allow")) != "GET, HEAD" {
		t.Fatalf("POST /ui/: %d", c.Response.StatusCode())
	}
}

// Nothing the page loads comes from anywhere but its node, and everything
// index.html names is embedded.
func TestUIAssetsSelfContained(t *testing.T) {
	assets := loadUI()
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for name, a := range assets {
		for _, m := range external.FindAllString(string(a.body), -1) {
			if m != "http://www.w3.org" { // the SVG namespace, never fetched
				t.Errorf("%s refers to %s: the dashboard must load nothing from elsewhere", name, m)
			}
		}
	}
	ref := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	for _, m := range ref.FindAllStringSubmatch(string(assets["index.html"].body), -1) {
		if _, ok := assets[m[1]]; !ok {
			t.Errorf("index.html refers to %s, which is not embedded", m[1])
		}
	}
}
