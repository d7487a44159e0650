package http

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// The dashboard (docs/ui.md): static files embedded in the binary, served
// at /ui/ without authentication; the page asks the API for everything
// with the token its user gives it. No CDN, no build step: what is in
// http/ui/ is what the browser runs.
//
//go:embed ui
var uiFiles embed.FS

const uiPrefix = "/ui/"

// uiCSP keeps the page to its own files and its own node: no inline
// script or style, nothing fetched from elsewhere, not framed.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

type uiAsset struct {
	body  []byte
	ctype string
	etag  string
}

// loadUI reads the embedded files once, with their types and ETags.
func loadUI() map[string]uiAsset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	out := map[string]uiAsset{}
	err := fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := types[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "ui/")] = uiAsset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("dialerd: embedded dashboard unreadable: " + err.Error()) // a broken build, not a runtime condition
	}
	return out
}

// ui serves GET /ui/…; /ui/ is the page itself.
// serveUI serves /ui and everything under /ui/ (fixedPaths).
func (s *Server) serveUI(ctx *fasthttp.RequestCtx) { s.ui(ctx, string(ctx.Path())) }

func (s *Server) ui(ctx *fasthttp.RequestCtx, p string) {
	if p == "/ui" {
		// A relative Location: right behind any proxy or host name.
		ctx.Response.Header.Set("Location", uiPrefix)
		ctx.SetStatusCode(fasthttp.StatusMovedPermanently)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		writeError(ctx, s.log, dialerd.Errorf(dialerd.EMETHOD, "Method %q not allowed.", ctx.Method()))
		return
	}
	name := strings.TrimPrefix(p, uiPrefix)
	if name == "" {
		name = "index.html"
	}
	a, ok := s.uiAssets[name]
	if !ok {
		writeError(ctx, s.log, dialerd.Errorf(dialerd.ENOTFOUND, "Not found."))
		return
	}
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// Revalidated every time: a node upgraded in place serves its new
	// page at once, and an unchanged one answers 304.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if string(ctx.Request.Header.Peek("If-None-Match")) == a.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(a.ctype)
	ctx.SetBody(a.body)
}
