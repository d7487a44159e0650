package http

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

// EventVerifier checks a provider event's signature (the webhook
// provider); nil when the node's provider takes no events.
type EventVerifier interface {
	Verify(body []byte, signature string) (ProviderEvent, error)
	// Forget lets an event be sent again: it was verified but not taken.
	Forget(id string)
}

// ProviderEvent is what the front end reads of a verified event: its id and
// call; the whole event goes to the campaign.
type ProviderEvent struct {
	ID, Call string
	Body     []byte
}

// callsPage is GET /campaign/{slug}/calls/?limit=&cursor=: the call log,
// oldest first.
func (s *Server) callsPage(r *request) error {
	slug := r.parts[1]
	if !dialerd.ValidSlug(slug) {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Campaign %q not found.", slug)
	}
	args := r.ctx.QueryArgs()
	limit := 100
	if v := args.Peek("limit"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 1000 {
			return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"limit": {"Must be between 1 and 1000."}}}
		}
		limit = n
	}
	cursor := string(args.Peek("cursor"))
	if cursor != "" {
		if n, err := strconv.ParseInt(cursor, 10, 64); err != nil || n < 0 {
			return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"cursor": {"Not a cursor this API gave."}}}
		}
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, slug, &pb.CampaignRequest{
		Op: pb.CampaignOp_CAMPAIGN_CALLS, Scope: actors.ScopeToPB(r.p), Cursor: cursor, Limit: uint32(limit),
	})
	if err != nil {
		return err
	}
	doc, err := replyBody(res)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}

// callEvent is POST /call/{id}/event/: a provider's signed event. It is
// authenticated by its signature, not a token, and acknowledged (204) only
// once the campaign has recorded it.
func (s *Server) callEvent(r *request) error {
	if s.cfg.Events == nil {
		return dialerd.Errorf(dialerd.ENOTFOUND, "This node's provider takes no call events.")
	}
	body := r.ctx.PostBody()
	ev, err := s.cfg.Events.Verify(body, string(r.ctx.Request.Header.Peek("X-Dialerd-Signature")))
	if err != nil {
		return err
	}
	if ev.Call != r.parts[1] {
		s.cfg.Events.Forget(ev.ID)
		return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"call": {"Must be the call in the URL."}}}
	}
	campaign, _, ok := dialerd.ParseCallID(ev.Call)
	if !ok || !dialerd.ValidSlug(campaign) {
		s.cfg.Events.Forget(ev.ID)
		return dialerd.Errorf(dialerd.ENOTFOUND, "Call %q not found.", ev.Call)
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, campaign, &pb.CampaignRequest{
		Op: pb.CampaignOp_CAMPAIGN_EVENT, Scope: actors.ScopeToPB(dialerd.Principal{Admin: true}), Body: ev.Body, Durable: true,
	})
	if err == nil {
		_, err = replyBody(res)
	}
	if err != nil {
		// Not taken: the platform may send it again.
		s.cfg.Events.Forget(ev.ID)
		return err
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// callDisposition is POST /call/{id}/disposition/ {"disposition",
// "callback_at"}: the seat's verdict, which ends the call.
func (s *Server) callDisposition(r *request) error {
	id := r.parts[1]
	campaign, _, ok := dialerd.ParseCallID(id)
	if !ok || !dialerd.ValidSlug(campaign) {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Call %q not found.", id)
	}
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, campaign, &pb.CampaignRequest{
		Op: pb.CampaignOp_CAMPAIGN_DISPOSITION, Scope: actors.ScopeToPB(r.p), Body: body, Call: id,
	})
	if err != nil {
		return err
	}
	doc, err := replyBody(res)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}
