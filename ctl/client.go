package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds an answer read into memory (a page of 1000 calls is
// well under it).
const maxAnswer = 64 << 20

// client is a small client of the node's REST API.
type client struct {
	base    string // http://host:port, no trailing slash
	token   string
	timeout time.Duration // per request, unless a call is long
	http    *http.Client
}

// call is one request.
type call struct {
	method, path string // path from /api/v/ on, query included
	body         io.Reader
	size         int64 // the body's length; -1 unknown
	ctype        string
	what         string // the resource, for a 404 people can read
	// long: the request is not bounded by --timeout (an upload); its
	// caller bounds it.
	long bool
}

// send makes the request and returns the answer's body when it is 2xx,
// else an *APIError, a *netError, or the context's error when the caller
// gave up.
func (c *client) send(ctx context.Context, cl call) ([]byte, error) {
	full := c.base + "/api/v/" + strings.TrimPrefix(cl.path, "/")
	rctx := ctx
	if !cl.long && c.timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(rctx, cl.method, full, cl.body)
	if err != nil {
		return nil, usagef("", "bad --url %q: %v", c.base, err)
	}
	if cl.body != nil && cl.size >= 0 {
		req.ContentLength = cl.size
	}
	if cl.ctype != "" {
		req.Header.Set("Content-Type", cl.ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "dialerctl")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.netErr(ctx, rctx, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, c.netErr(ctx, rctx, err)
	}
	if res.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, apiError(cl, res.StatusCode, data, c.token == "")
}

// netErr says why a request got no answer: the user gave up (ctx), the
// --timeout ran out (rctx), or the network failed.
func (c *client) netErr(ctx, rctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		return ctx.Err()
	}
	if rctx.Err() != nil {
		return &netError{url: c.base, timeout: c.timeout, err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &netError{url: c.base, err: err}
}

func apiError(cl call, status int, body []byte, noToken bool) *APIError {
	e := &APIError{Method: cl.method, Path: "/api/v/" + strings.TrimPrefix(cl.path, "/"), Status: status, What: cl.what, NoToken: noToken}
	var detail struct {
		Detail *string `json:"detail"`
	}
	if json.Unmarshal(body, &detail) == nil && detail.Detail != nil {
		e.Detail = *detail.Detail
		return e
	}
	var fields map[string][]string
	if json.Unmarshal(body, &fields) == nil && len(fields) > 0 {
		e.Fields = fields
		return e
	}
	e.Body = string(body)
	return e
}

// get is GET path.
func (c *client) get(ctx context.Context, path, what string) ([]byte, error) {
	return c.send(ctx, call{method: "GET", path: path, what: what})
}

// sendJSON sends body (raw JSON) with method.
func (c *client) sendJSON(ctx context.Context, method, path string, body []byte, what string) ([]byte, error) {
	return c.send(ctx, call{method: method, path: path, body: bytes.NewReader(body), size: int64(len(body)), ctype: "application/json", what: what})
}

// marshal is json.Marshal for values that always encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ctl: encode %T: %v", v, err))
	}
	return b
}

// seg escapes one path segment. '+' is escaped too: a phone number's
// leading + must reach the node as itself.
func seg(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// decode parses an answer the node gave; a body that is not what the API
// documents is the node's fault.
func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return &failedError{msg: fmt.Sprintf("the node's answer could not be read (%v)", err)}
	}
	return nil
}

// withQuery is path with the query of the pairs kv (name, value, …) whose
// value is not empty.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// getMany GETs a listing. With --json it prints the answer as it is and
// reports printed; otherwise it decodes the items.
func getMany[T any](ctx context.Context, x *cli, path string) (items []T, printed bool, err error) {
	data, err := x.api.get(ctx, path, "")
	if err != nil {
		return nil, false, err
	}
	return decodeAnswer[[]T](x, data)
}

// decodeAnswer decodes the node's answer into a T, or with --json prints it
// as it is and reports printed.
func decodeAnswer[T any](x *cli, data []byte) (v T, printed bool, err error) {
	if x.g.json {
		return v, true, x.printJSON(data)
	}
	return v, false, decode(data, &v)
}
