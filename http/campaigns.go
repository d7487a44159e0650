package http

import (
	"context"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

func (s *Server) listCampaigns(r *request) error {
	args := r.ctx.QueryArgs()
	c, cancel := context.WithTimeout(r.c, s.cfg.RequestTimeout)
	defer cancel()
	docs, err := s.cfg.Catalog.Campaigns(c, r.p, actors.CampaignFilter{
		Workspace: string(args.Peek("workspace")),
		Email:     string(args.Peek("email")),
	})
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, jsonArray(docs))
	return nil
}

// maxSlugAttempts bounds the search for a free slug when creates race.
const maxSlugAttempts = 20

func (s *Server) createCampaign(r *request) error {
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	// Validate here too, so a bad body is a 400 before any grain is asked
	// and the slug can be derived from the name. The grain validates again.
	c := dialerd.NewCampaign()
	if err := c.ApplyJSON(body); err != nil {
		return err
	}
	if !r.p.Covers(c.WorkspaceID()) {
		if c.WorkspaceID() == "" {
			return dialerd.Errorf(dialerd.EFORBIDDEN, "This token may only create campaigns in its workspaces: set \"workspace\".")
		}
		return dialerd.Errorf(dialerd.EFORBIDDEN, "This token does not cover workspace %q.", c.WorkspaceID())
	}
	base := dialerd.Slugify(c.Name)
	// The name's own slug is tried first: most names are new, and reading
	// which slugs are taken is a scan of every shard's index. Once it is
	// taken, the index saves probes; when part of it is unavailable (a
	// shard moving), the grains still arbitrate every slug.
	var taken map[string]bool
	n := 1
	for attempt := 0; attempt < maxSlugAttempts; attempt++ {
		slug := base
		for ; ; n++ {
			if n > 1 {
				slug = base + "-" + strconv.Itoa(n)
			}
			if !taken[slug] {
				break
			}
		}
		res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, slug, &pb.CampaignRequest{
			Op: pb.CampaignOp_CAMPAIGN_CREATE, Scope: actors.ScopeToPB(r.p), Body: body,
		})
		if err != nil {
			return err
		}
		doc, err := replyBody(res)
		if dialerd.ErrorCode(err) == dialerd.ECONFLICT {
			if taken == nil {
				if taken, err = s.cfg.Catalog.TakenSlugs(r.c, base); err != nil {
					taken = map[string]bool{}
				}
			}
			taken[slug] = true // lost a race for it; try the next
			continue
		} else if err != nil {
			return err
		}
		writeJSON(r.ctx, fasthttp.StatusCreated, doc)
		return nil
	}
	return dialerd.Errorf(dialerd.EUNAVAILABLE, "Could not find a free slug for %q; try again.", base)
}

// campaignCall sends op to the campaign named in the path.
func (s *Server) campaignCall(r *request, op pb.CampaignOp, body []byte) ([]byte, error) {
	return s.campaignRequest(r, &pb.CampaignRequest{Op: op, Body: body})
}

// campaignRequest sends m, in the caller's scope, to the campaign named in
// the path and returns the answer's body.
func (s *Server) campaignRequest(r *request, m *pb.CampaignRequest) ([]byte, error) {
	slug := r.parts[1]
	if !dialerd.ValidSlug(slug) {
		return nil, dialerd.Errorf(dialerd.ENOTFOUND, "Campaign %q not found.", slug)
	}
	m.Scope = actors.ScopeToPB(r.p)
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, slug, m)
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

func (s *Server) getCampaign(r *request) error {
	if doc, ok := s.ownedCampaign(r); ok {
		writeJSON(r.ctx, fasthttp.StatusOK, doc)
		return nil
	}
	return s.answer(r, pb.CampaignOp_CAMPAIGN_GET, nil)
}

// ownedCampaign answers a read of a campaign whose grain is active on this
// node, while this node serves it, from the document the grain published
// (actors.Reads). Anything else — not active here, another node's, outside
// the caller's workspaces — goes to the grain, which has the one answer.
func (s *Server) ownedCampaign(r *request) ([]byte, bool) {
	if s.cfg.Reads == nil {
		return nil, false
	}
	doc, ws, ok := s.cfg.Reads.Campaign(r.parts[1])
	if !ok || !r.p.Covers(ws) {
		return nil, false
	}
	return doc, true
}

func (s *Server) campaignStatus(r *request) error {
	return s.answer(r, pb.CampaignOp_CAMPAIGN_STATUS, nil)
}

func (s *Server) replaceCampaign(r *request) error {
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	return s.answer(r, pb.CampaignOp_CAMPAIGN_REPLACE, body)
}

func (s *Server) patchCampaign(r *request) error {
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	return s.answer(r, pb.CampaignOp_CAMPAIGN_PATCH, body)
}

func (s *Server) deleteCampaign(r *request) error {
	if _, err := s.campaignCall(r, pb.CampaignOp_CAMPAIGN_DELETE, nil); err != nil {
		return err
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

func (s *Server) answer(r *request, op pb.CampaignOp, body []byte) error {
	doc, err := s.campaignCall(r, op, body)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}
