package http

import (
	"encoding/json"
	"mime"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/intake"
)

// prospectValues reads a single prospect from form data (as in the API
// reference) or a JSON object of strings (custom fields under "fields"), and
// the dedupe flag (default true).
func prospectValues(ctx *fasthttp.RequestCtx) (map[string]string, bool, error) {
	ct := string(ctx.Request.Header.ContentType())
	mt, _, _ := mime.ParseMediaType(ct)
	values := map[string]string{}
	dedupe := "true"
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if mt == "multipart/form-data" {
			form, err := ctx.MultipartForm()
			if err != nil {
				return nil, false, dialerd.Errorf(dialerd.EINVALID, "Malformed form data.")
			}
			for k, vs := range form.Value {
				if len(vs) > 0 {
					values[k] = vs[0]
				}
			}
		} else {
			for k, v := range ctx.PostArgs().All() {
				values[string(k)] = string(v)
			}
		}
		if v, ok := values["dedupe"]; ok {
			dedupe = v
			delete(values, "dedupe")
		}
	case "application/json":
		m, err := dialerd.DecodeObject(ctx.PostBody())
		if err != nil {
			return nil, false, err
		}
		fe := dialerd.FieldErrors{}
		for k, raw := range m {
			switch {
			case k == "dedupe":
				var b bool
				if json.Unmarshal(raw, &b) != nil {
					fe.Add(k, "Must be a valid boolean.")
				}
				dedupe = strconv.FormatBool(b)
			case k == "fields":
				var custom map[string]string
				if json.Unmarshal(raw, &custom) != nil {
					fe.Add(k, "Must be an object of strings.")
				}
				for ck, cv := range custom {
					if dialerd.CanonicalColumn(ck) != "" {
						fe.Add(k, "Custom field "+strconv.Quote(ck)+" names a standard field: set it at the top level.")
						continue
					}
					values[ck] = cv
				}
			case dialerd.CanonicalColumn(k) != "":
				var v string
				if json.Unmarshal(raw, &v) != nil {
					fe.Add(k, "Not a valid string.")
				}
				values[k] = v
			default:
				fe.Add(k, `Unknown field (custom fields go in "fields").`)
			}
		}
		if err := fe.Err(); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, dialerd.Errorf(dialerd.EMEDIATYPE, "Unsupported media type %q: send form data or application/json.", ct)
	}
	d, err := strconv.ParseBool(strings.TrimSpace(dedupe))
	if err != nil {
		return nil, false, &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"dedupe": {"Must be a valid boolean."}}}
	}
	return values, d, nil
}

// addProspect is POST /prospect/{list}/.
func (s *Server) addProspect(r *request) error {
	uuid, camp, err := s.listAndCampaign(r, r.parts[1])
	if err != nil {
		return err
	}
	values, dedupe, err := prospectValues(r.ctx)
	if err != nil {
		return err
	}
	parser, err := intake.ParserFor(camp.LocaleName)
	if err != nil {
		return err
	}
	p, err := intake.Normalize(values, parser, dialerd.Locales[camp.LocaleName])
	if err != nil {
		return err
	}
	// The campaign decides duplicates across all its lists: the number is
	// claimed there before the list adds it, and released if that fails;
	// concurrent adds to the list share both steps (addGroups).
	added, err := s.add(addKey{list: uuid, dedupe: dedupe}, camp, p)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusCreated, added)
	return nil
}

// listAndCampaign resolves a list (uuid or slug) in the caller's scope and
// reads its campaign.
func (s *Server) listAndCampaign(r *request, id string) (string, dialerd.Campaign, error) {
	uuid, err := s.resolveList(r, id)
	if err != nil {
		return "", dialerd.Campaign{}, err
	}
	doc, err := s.listCall(r, uuid, pb.ListOp_LIST_GET, nil, r.p)
	if err != nil {
		return "", dialerd.Campaign{}, err
	}
	var l dialerd.ProspectList
	if err := json.Unmarshal(doc, &l); err != nil {
		return "", dialerd.Campaign{}, err
	}
	camp, err := s.campaignOf(r, l.Campaign)
	return uuid, camp, err
}

// campaignOf reads a list's campaign (the list's scope was checked).
func (s *Server) campaignOf(r *request, slug string) (dialerd.Campaign, error) {
	res, err := s.cfg.Grains.Request(r.c, actors.KindCampaign, slug, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_GET, Scope: actors.ScopeToPB(dialerd.Principal{Admin: true})})
	if err != nil {
		return dialerd.Campaign{}, err
	}
	doc, err := replyBody(res)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return dialerd.Campaign{}, dialerd.Errorf(dialerd.ECONFLICT, "The list's campaign %q no longer exists.", slug)
	} else if err != nil {
		return dialerd.Campaign{}, err
	}
	var c dialerd.Campaign
	err = json.Unmarshal(doc, &c)
	return c, err
}

// listProspects is GET /list/{id}/prospects/?status=&limit=&cursor=.
func (s *Server) listProspects(r *request) error {
	uuid, err := s.resolveList(r, r.parts[1])
	if err != nil {
		return err
	}
	args := r.ctx.QueryArgs()
	status := string(args.Peek("status"))
	if status != "" && status != dialerd.ProspectUnresolved && status != dialerd.ProspectResolved {
		return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"status": {"Must be unresolved or resolved."}}}
	}
	limit := 100
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 1000 {
			return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"limit": {"Must be between 1 and 1000."}}}
		}
		limit = n
	}
	cursor := string(args.Peek("cursor"))
	res, err := s.cfg.Grains.Request(r.c, actors.KindList, uuid, &pb.ListRequest{Op: pb.ListOp_LIST_PROSPECTS, Scope: actors.ScopeToPB(r.p),
		Status: status, Cursor: cursor, Limit: uint32(limit)})
	if err != nil {
		return err
	}
	body, err := replyBody(res)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, body)
	return nil
}
