package http

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
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
	doc, err := s.campaignRequest(r, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_CALLS, Cursor: cursor, Limit: uint32(limit)})
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

// eligibility is GET /prospect/{list}/{id}/eligibility/: whether the
// prospect can be called now and, if not, every reason and the first time
// it can be — the campaign's rules and the law, on the node's clock.
func (s *Server) eligibility(r *request) error {
	uuid, err := s.resolveList(r, r.parts[1])
	if err != nil {
		return err
	}
	id := r.parts[2]
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 || len(id) != 12 {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Prospect %q not found.", id)
	}
	doc, err := s.listCall(r, uuid, pb.ListOp_LIST_GET, nil, r.p)
	if err != nil {
		return err
	}
	var l dialerd.ProspectList
	if err := json.Unmarshal(doc, &l); err != nil {
		return err
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindList, uuid, &pb.ListRequest{Op: pb.ListOp_LIST_PROSPECTS, Scope: actors.ScopeToPB(r.p),
		Cursor: fmt.Sprintf("%012d", n-1), Limit: 1})
	if err != nil {
		return err
	}
	body, err := replyBody(res)
	if err != nil {
		return err
	}
	var page struct {
		Results []dialerd.Prospect `json:"results"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return err
	}
	if len(page.Results) == 0 || page.Results[0].ID != id {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Prospect %q not found in list %s.", id, uuid)
	}
	p := page.Results[0]
	res, err = s.cfg.Grains.Request(r.c, actors.KindCampaign, l.Campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_GET, Scope: actors.ScopeToPB(r.p)})
	if err != nil {
		return err
	}
	if body, err = replyBody(res); err != nil {
		return err
	}
	var c dialerd.Campaign
	if err := json.Unmarshal(body, &c); err != nil {
		return err
	}
	now := s.cfg.Clock.Now().UTC()
	cand := dialer.Candidate{State: p.State, Timezones: p.Timezones, Resolved: p.Status == dialerd.ProspectResolved,
		Attempts: p.Attempts, LastAttempt: p.LastAttemptAt, Added: p.CreatedAt, Recent: p.RecentAttempts}
	if !cand.Resolved {
		res, err := s.cfg.Grains.Request(r.c, actors.KindDNC, actors.DNCIdentity(l.WorkspaceID()), &pb.DNCRequest{
			Op: pb.DNCOp_DNC_CHECK, Scope: actors.ScopeToPB(dialerd.Principal{Admin: true}), Numbers: []string{p.Phone}})
		if err != nil {
			return err
		}
		if body, err = replyBody(res); err != nil {
			return err
		}
		var listed []string
		if err := json.Unmarshal(body, &listed); err != nil {
			return err
		}
		cand.DNC = len(listed) > 0
	}
	e := dialer.Explain(dialer.SettingsOf(c), cand, p.CallbackAt, now)
	type reason struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	out := struct {
		Prospect string    `json:"prospect"`
		List     string    `json:"list"`
		Campaign string    `json:"campaign"`
		At       time.Time `json:"at"`
		Eligible bool      `json:"eligible"`
		Reasons  []reason  `json:"reasons"`
		Next     time.Time `json:"next_eligible_at,omitzero"`
	}{Prospect: id, List: uuid, Campaign: c.Slug, At: now, Eligible: e.Eligible, Reasons: []reason{}, Next: e.Next.UTC()}
	for _, rs := range e.Reasons {
		out.Reasons = append(out.Reasons, reason{string(rs), rs.Text()})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, b)
	return nil
}
