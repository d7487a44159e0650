package actors

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

const indexTokenAll = "token.all" // token id

// TokenRecord is a token as stored: the public record plus the secret's hash.
type TokenRecord struct {
	dialerd.Token
	Hash string `json:"hash"`
}

// tokenGrain is token/<id>. A lookup of an unknown token (every guessed
// secret lands on a fresh identity) stops its grain right after answering,
// so guessing cannot fill memory with empty grains.
type tokenGrain struct {
	deps     *Deps
	identity string
	log      *slog.Logger
	rec      []byte // stored record, nil when absent
	loadErr  error  // the record could not be read
}

func (g *tokenGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.identity = KindToken + "/" + m.Identity.Identity
		g.log = g.deps.Logger.With("grain", g.identity)
		g.deps.OnGrain(KindToken, 1)
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		rec, err := g.deps.Store.Get(c, g.identity, "rec")
		cancel()
		if err != nil {
			// Answer the pending request with the failure (not as an unknown
			// token); the grain then stops and the next request loads again.
			g.log.Error("load failed", "err", err)
			g.loadErr = err
			return
		}
		g.rec = rec
	case *actor.Stopped:
		if g.identity != "" {
			g.deps.OnGrain(KindToken, -1)
		}
	case *pb.TokenRequest:
		ctx.Respond(g.handle(m))
		if g.rec == nil {
			ctx.Poison(ctx.Self())
		}
	}
}

func (g *tokenGrain) handle(m *pb.TokenRequest) *pb.Reply {
	if err := g.deps.Store.Serving(g.identity); err != nil {
		return reply(nil, err)
	}
	if g.loadErr != nil {
		return reply(nil, storeErr(g.log, g.loadErr))
	}
	switch m.Op {
	case pb.TokenOp_TOKEN_GET:
		if g.rec == nil {
			return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "Token not found."))
		}
		return reply(g.rec, nil)
	case pb.TokenOp_TOKEN_CREATE:
		if g.rec != nil {
			return reply(nil, dialerd.Errorf(dialerd.ECONFLICT, "Token exists."))
		}
		var rec TokenRecord
		if err := json.Unmarshal(m.Body, &rec); err != nil || rec.ID == "" || rec.Hash == "" {
			return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Bad token record."))
		}
		return reply(m.Body, g.write([]dialerd.Op{dialerd.Set("rec", m.Body), dialerd.IndexSet(indexTokenAll, rec.ID, nil)}, m.Body))
	case pb.TokenOp_TOKEN_DELETE:
		if g.rec == nil {
			return reply(nil, dialerd.Errorf(dialerd.ENOTFOUND, "Token not found."))
		}
		var rec TokenRecord
		_ = json.Unmarshal(g.rec, &rec)
		return reply(nil, g.write([]dialerd.Op{dialerd.DeleteAll(), dialerd.IndexDelete(indexTokenAll, rec.ID)}, nil))
	}
	return reply(nil, dialerd.Errorf(dialerd.EINVALID, "Unknown token operation %d.", m.Op))
}

func (g *tokenGrain) write(ops []dialerd.Op, rec []byte) error {
	if err := apply(g.deps.Store, g.log, g.identity, ops); err != nil {
		return err
	}
	g.rec = rec
	return nil
}
