package http

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

func (s *Server) listLists(r *request) error {
	args := r.ctx.QueryArgs()
	c, cancel := context.WithTimeout(r.c, s.cfg.RequestTimeout)
	defer cancel()
	docs, err := s.cfg.Catalog.Lists(c, r.p, actors.ListFilter{
		Campaign:  string(args.Peek("campaign")),
		Workspace: string(args.Peek("workspace")),
	})
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, jsonArray(docs))
	return nil
}

func jsonArray(docs []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, d := range docs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(d)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func (s *Server) slugCall(r *request, slug string, op pb.SlugOp, uuid, expect string) ([]byte, error) {
	res, err := s.cfg.Grains.Request(r.c, actors.KindListSlug, slug, &pb.SlugRequest{Op: op, Uuid: uuid, Expect: expect})
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

func (s *Server) listCall(r *request, uuid string, op pb.ListOp, body []byte, scope dialerd.Principal) ([]byte, error) {
	res, err := s.cfg.Grains.Request(r.c, actors.KindList, uuid, &pb.ListRequest{Op: op, Scope: actors.ScopeToPB(scope), Body: body})
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

func (s *Server) createList(r *request) error {
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	in, err := dialerd.ParseListInput(body)
	if err != nil {
		return err
	}
	// The list belongs to the campaign's workspace; a campaign the caller
	// cannot see is a bad field, as if it did not exist.
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, in.Campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_GET, Scope: actors.ScopeToPB(r.p)})
	if err != nil {
		return err
	}
	doc, err := replyBody(res)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"campaign": {"Campaign not found."}}}
	} else if err != nil {
		return err
	}
	var camp dialerd.Campaign
	if err := json.Unmarshal(doc, &camp); err != nil {
		return err
	}
	l := dialerd.ProspectList{UUID: s.cfg.NewID(), Name: in.Name, Campaign: camp.Slug, Workspace: camp.Workspace}
	base := dialerd.Slugify(in.Name)
	admin := dialerd.Principal{Admin: true}
	for n := 1; n <= maxSlugAttempts; n++ {
		slug := base
		if n > 1 {
			slug = base + "-" + strconv.Itoa(n)
		}
		holder, err := s.slugCall(r, slug, pb.SlugOp_SLUG_RESERVE, l.UUID, "")
		if dialerd.ErrorCode(err) == dialerd.ECONFLICT {
			// A reservation whose list was never made (a failed create)
			// is taken over; a live one is not.
			if _, gerr := s.listCall(r, string(holder), pb.ListOp_LIST_GET, nil, admin); dialerd.ErrorCode(gerr) != dialerd.ENOTFOUND {
				continue
			}
			if _, err = s.slugCall(r, slug, pb.SlugOp_SLUG_RESERVE, l.UUID, string(holder)); dialerd.ErrorCode(err) == dialerd.ECONFLICT {
				continue
			}
		}
		if err != nil {
			return err
		}
		l.Slug = slug
		// The campaign learns of the list before it exists, so it never
		// misses it; a list that fails to be made is forgotten at its
		// first lease.
		if err := s.campaignLists(r, camp.Slug, actors.ListsChange{Added: l.UUID}); err != nil {
			_, _ = s.slugCall(r, slug, pb.SlugOp_SLUG_RELEASE, l.UUID, "")
			return err
		}
		rec, _ := json.Marshal(l)
		out, err := s.listCall(r, l.UUID, pb.ListOp_LIST_CREATE, rec, r.p)
		if err != nil {
			_, _ = s.slugCall(r, slug, pb.SlugOp_SLUG_RELEASE, l.UUID, "")
			return err
		}
		writeJSON(r.ctx, fasthttp.StatusCreated, out)
		return nil
	}
	return dialerd.Errorf(dialerd.EUNAVAILABLE, "Could not find a free slug for %q; try again.", base)
}

// resolveList turns a path's uuid-or-slug into a uuid.
func (s *Server) resolveList(r *request, id string) (string, error) {
	if dialerd.ValidUUID(id) {
		return id, nil
	}
	if !dialerd.ValidSlug(id) {
		return "", dialerd.Errorf(dialerd.ENOTFOUND, "List %q not found.", id)
	}
	uuid, err := s.slugCall(r, id, pb.SlugOp_SLUG_GET, "", "")
	if err != nil {
		if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
			return "", dialerd.Errorf(dialerd.ENOTFOUND, "List %q not found.", id)
		}
		return "", err
	}
	return string(uuid), nil
}

func (s *Server) getList(r *request) error {
	uuid, err := s.resolveList(r, r.parts[1])
	if err != nil {
		return err
	}
	doc, err := s.listCall(r, uuid, pb.ListOp_LIST_GET, nil, r.p)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}

func (s *Server) deleteList(r *request) error {
	uuid, err := s.resolveList(r, r.parts[1])
	if err != nil {
		return err
	}
	doc, err := s.listCall(r, uuid, pb.ListOp_LIST_GET, nil, r.p)
	if err != nil {
		return err
	}
	var l dialerd.ProspectList
	if err := json.Unmarshal(doc, &l); err != nil {
		return err
	}
	if _, err := s.listCall(r, uuid, pb.ListOp_LIST_DELETE, nil, r.p); err != nil {
		return err
	}
	if err := s.campaignLists(r, l.Campaign, actors.ListsChange{Removed: uuid}); err != nil && dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
		// The campaign forgets it at its next lease anyway.
		s.log.Debug("campaign not told of a deleted list", "campaign", l.Campaign, "list", uuid, "err", err)
	}
	if _, err := s.slugCall(r, l.Slug, pb.SlugOp_SLUG_RELEASE, uuid, ""); err != nil {
		s.log.Warn("slug not released; the next create takes it over", "slug", l.Slug, "err", err)
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// campaignLists tells a campaign a list was added or removed.
func (s *Server) campaignLists(r *request, campaign string, ch actors.ListsChange) error {
	body, _ := json.Marshal(ch)
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_WAKE, Scope: actors.ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
	if err == nil {
		_, err = replyBody(res)
	}
	return err
}
