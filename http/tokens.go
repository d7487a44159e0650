package http

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

func requireAdmin(r *request) error {
	if !r.p.Admin {
		return dialerd.Errorf(dialerd.EFORBIDDEN, "Only admin tokens manage tokens.")
	}
	return nil
}

// tokenInput is the body of POST /api/v/token/.
type tokenInput struct {
	Name       string   `json:"name"`
	Workspaces []string `json:"workspaces"`
	Admin      bool     `json:"admin"`
}

func parseTokenInput(body []byte) (tokenInput, error) {
	m, err := dialerd.DecodeObject(body)
	if err != nil {
		return tokenInput{}, err
	}
	var in tokenInput
	fe := dialerd.FieldErrors{}
	for k, raw := range m {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(raw, &in.Name)
		case "workspaces":
			err = json.Unmarshal(raw, &in.Workspaces)
		case "admin":
			err = json.Unmarshal(raw, &in.Admin)
		default:
			fe.Add(k, "Unknown field.")
			continue
		}
		if err != nil {
			fe.Add(k, "Wrong type.")
		}
	}
	if len(in.Name) > 200 {
		fe.Add("name", "Ensure this field has no more than 200 characters.")
	}
	for _, w := range in.Workspaces {
		if strings.TrimSpace(w) == "" || len(w) > 128 {
			fe.Add("workspaces", "Each workspace must be a non-blank ID of at most 128 characters.")
			break
		}
	}
	if !in.Admin && len(in.Workspaces) == 0 {
		fe.Add("workspaces", "Give at least one workspace, or \"admin\": true.")
	}
	if in.Admin && len(in.Workspaces) > 0 {
		fe.Add("workspaces", "An admin token covers every workspace; leave this empty.")
	}
	return in, fe.Err()
}

func (s *Server) createToken(r *request) error {
	if err := requireAdmin(r); err != nil {
		return err
	}
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	in, err := parseTokenInput(body)
	if err != nil {
		return err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	secret := dialerd.TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	hash, id := dialerd.HashToken(secret)
	ws := in.Workspaces
	if ws == nil {
		ws = []string{}
	}
	rec := actors.TokenRecord{
		Token: dialerd.Token{ID: id, Name: in.Name, Admin: in.Admin, Workspaces: ws,
			CreatedAt: s.cfg.Clock.Now().UTC().Truncate(time.Second)},
		Hash: hash,
	}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindToken, id, &pb.TokenRequest{Op: pb.TokenOp_TOKEN_CREATE, Body: recJSON})
	if err != nil {
		return err
	}
	if _, err := replyBody(res); err != nil {
		return err
	}
	out, _ := json.Marshal(struct {
		dialerd.Token
		Secret string `json:"token"`
	}{rec.Token, secret})
	writeJSON(r.ctx, fasthttp.StatusCreated, out)
	return nil
}

func (s *Server) listTokens(r *request) error {
	if err := requireAdmin(r); err != nil {
		return err
	}
	c, cancel := context.WithTimeout(r.c, s.cfg.RequestTimeout)
	defer cancel()
	toks, err := s.cfg.Catalog.Tokens(c)
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []dialerd.Token{}
	}
	out, _ := json.Marshal(toks)
	writeJSON(r.ctx, fasthttp.StatusOK, out)
	return nil
}

func (s *Server) tokenCall(r *request, op pb.TokenOp) ([]byte, error) {
	if err := requireAdmin(r); err != nil {
		return nil, err
	}
	id := r.parts[1]
	if !dialerd.ValidTokenID(id) {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Token not found.")
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindToken, id, &pb.TokenRequest{Op: op})
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

func (s *Server) getToken(r *request) error {
	body, err := s.tokenCall(r, pb.TokenOp_TOKEN_GET)
	if err != nil {
		return err
	}
	var rec actors.TokenRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return err
	}
	out, _ := json.Marshal(rec.Token)
	writeJSON(r.ctx, fasthttp.StatusOK, out)
	return nil
}

func (s *Server) deleteToken(r *request) error {
	if _, err := s.tokenCall(r, pb.TokenOp_TOKEN_DELETE); err != nil {
		return err
	}
	s.auth.forget(r.parts[1])
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
