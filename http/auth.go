package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

// authenticator resolves a request's token to a Principal. Records come from
// token grains and are cached for ttl; the bootstrap admin token is compared
// against its hash in memory.
type authenticator struct {
	bootstrap [32]byte
	hasBoot   bool
	grains    Grains
	clock     dialerd.Clock
	ttl       time.Duration

	mu    sync.RWMutex
	cache map[[32]byte]cached
}

type cached struct {
	p       dialerd.Principal
	expires time.Time
}

// maxCachedTokens bounds the cache; past it the cache starts over.
const maxCachedTokens = 10_000

func newAuthenticator(bootstrap string, g Grains, clock dialerd.Clock, ttl time.Duration) *authenticator {
	a := &authenticator{grains: g, clock: clock, ttl: ttl, cache: map[[32]byte]cached{}}
	if bootstrap != "" {
		a.bootstrap, a.hasBoot = sha256.Sum256([]byte(bootstrap)), true
	}
	return a
}

// tokenOf extracts the token: Cookie access_token, else Authorization Bearer.
func tokenOf(ctx *fasthttp.RequestCtx) []byte {
	if t := ctx.Request.Header.Cookie("access_token"); len(t) > 0 {
		return t
	}
	h := ctx.Request.Header.Peek("Authorization")
	if len(h) > 7 && bytes.EqualFold(h[:7], []byte("bearer ")) {
		return bytes.TrimSpace(h[7:])
	}
	return nil
}

func (a *authenticator) authenticate(c context.Context, ctx *fasthttp.RequestCtx) (dialerd.Principal, error) {
	tok := tokenOf(ctx)
	if len(tok) == 0 {
		return dialerd.Principal{}, dialerd.Errorf(dialerd.EUNAUTHORIZED, "Authentication credentials were not provided.")
	}
	if len(tok) > 256 {
		return dialerd.Principal{}, invalidToken()
	}
	sum := sha256.Sum256(tok)
	if a.hasBoot && subtle.ConstantTimeCompare(sum[:], a.bootstrap[:]) == 1 {
		return dialerd.Principal{TokenID: "bootstrap", Name: "bootstrap", Admin: true}, nil
	}
	now := a.clock.Now()
	a.mu.RLock()
	e, ok := a.cache[sum]
	a.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	p, err := a.lookup(c, sum)
	if err != nil {
		return dialerd.Principal{}, err
	}
	a.remember(sum, p)
	return p, nil
}

func (a *authenticator) lookup(c context.Context, sum [32]byte) (dialerd.Principal, error) {
	hash := hex.EncodeToString(sum[:])
	res, err := a.grains.Request(c, actors.KindToken, hash[:16], &pb.TokenRequest{Op: pb.TokenOp_TOKEN_GET})
	if err != nil {
		return dialerd.Principal{}, err
	}
	body, err := replyBody(res)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return dialerd.Principal{}, invalidToken()
	} else if err != nil {
		return dialerd.Principal{}, err
	}
	var rec actors.TokenRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return dialerd.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(hash)) != 1 {
		return dialerd.Principal{}, invalidToken()
	}
	return dialerd.Principal{TokenID: rec.ID, Name: rec.Name, Admin: rec.Admin, Workspaces: rec.Workspaces}, nil
}

func (a *authenticator) remember(sum [32]byte, p dialerd.Principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCachedTokens {
		a.cache = map[[32]byte]cached{}
	}
	a.cache[sum] = cached{p: p, expires: a.clock.Now().Add(a.ttl)}
}

// forget drops a revoked token from this node's cache at once.
func (a *authenticator) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.cache {
		if e.p.TokenID == id {
			delete(a.cache, k)
		}
	}
}

func invalidToken() error {
	return dialerd.Errorf(dialerd.EUNAUTHORIZED, "Invalid token.")
}

// replyBody unwraps a grain's reply into its body or its error.
func replyBody(res any) ([]byte, error) { return actors.ReplyBody(res) }
