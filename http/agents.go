package http

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
)

func (s *Server) agentCall(r *request, op pb.AgentOp, body []byte, seat uint32) error {
	id := r.parts[1]
	if !dialerd.ValidAgentID(id) {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Agent %q not found.", id)
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindAgent, id, &pb.AgentRequest{Op: op, Scope: actors.ScopeToPB(r.p), Body: body, Seat: seat})
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

// getAgent is GET /agent/{id}/: the pool and each seat's state.
func (s *Server) getAgent(r *request) error { return s.agentCall(r, pb.AgentOp_AGENT_GET, nil, 0) }

// putAgent is PUT /agent/{id}/ {"workspace", "seats"}: creates the pool or
// resizes it (seats kept keep their state).
func (s *Server) putAgent(r *request) error {
	if !dialerd.ValidAgentID(r.parts[1]) {
		return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{"agent_id": {"Use 1 to 128 letters, digits, '-', '_' or '.'."}}}
	}
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	return s.agentCall(r, pb.AgentOp_AGENT_PUT, body, 0)
}

// patchSeat is PATCH /agent/{id}/seat/{n}/ {"state"}.
func (s *Server) patchSeat(r *request) error {
	n, err := strconv.ParseUint(r.parts[3], 10, 32)
	if err != nil || n == 0 {
		return dialerd.Errorf(dialerd.ENOTFOUND, "No seat %q.", r.parts[3])
	}
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	return s.agentCall(r, pb.AgentOp_AGENT_SEAT, body, uint32(n))
}
