package http

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// campaignStats is GET /campaign/{slug}/stats/?minutes=N: the campaign's
// figures minute by minute on its clock (dialerd.CampaignSeries), for the
// dashboard's charts. Whoever may read the status may read these.
func (s *Server) campaignStats(r *request) error {
	minutes := dialerd.DefaultSeriesMinutes
	if v := r.ctx.QueryArgs().Peek("minutes"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > dialerd.MaxSeriesMinutes {
			return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.",
				Fields: map[string][]string{"minutes": {"Must be between 1 and " + strconv.Itoa(dialerd.MaxSeriesMinutes) + "."}}}
		}
		minutes = n
	}
	doc, err := s.campaignRequest(r, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_STATS, Limit: uint32(minutes)})
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}
