package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/intake"
	"github.com/dialerd/dialerd/phone"
)

// The do-not-call API: a workspace's list of numbers none of its campaigns
// may dial. The workspace is the one the request names ("workspace" in
// the body or the query), else the token's only one; an admin naming none
// reaches the list of campaigns without a workspace.

// dncWorkspace reads ?workspace= and decides the list.
func dncWorkspace(r *request) (string, error) {
	var named *string
	if v := r.ctx.QueryArgs().Peek("workspace"); v != nil {
		ws := string(v)
		named = &ws
	}
	return dialerd.DNCWorkspace(r.p, named)
}

func (s *Server) dncCall(r *request, ws string, m *pb.DNCRequest) ([]byte, error) {
	m.Scope = actors.ScopeToPB(r.p)
	res, err := s.cfg.Grains.Request(r.c, actors.KindDNC, actors.DNCIdentity(ws), m)
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

// dncParser reads numbers as the USCA locale does: the only locale, and
// the one every campaign dials in.
func dncParser() (*phone.Parser, error) { return intake.ParserFor(dialerd.DefaultLocale) }

// addDNC is POST /dnc/ {"phone_number" | "phone_numbers", "reason"?,
// "workspace"?}: 201 with how many were added and each entry as the list
// holds it (a number already there keeps its first entry). One number that
// is not valid refuses the whole request.
func (s *Server) addDNC(r *request) error {
	body, err := jsonBody(r.ctx)
	if err != nil {
		return err
	}
	in, err := dialerd.ParseDNCInput(body)
	if err != nil {
		return err
	}
	ws, err := dialerd.DNCWorkspace(r.p, in.Workspace)
	if err != nil {
		return err
	}
	parser, err := dncParser()
	if err != nil {
		return err
	}
	fe := dialerd.FieldErrors{}
	entries := make([]dialerd.DNCEntry, len(in.Numbers))
	for i, raw := range in.Numbers {
		n, err := parser.Parse(raw)
		if err != nil {
			field := "phone_number"
			if in.Batch {
				field = fmt.Sprintf("phone_numbers[%d]", i)
			}
			fe.Add(field, err.Error())
			continue
		}
		entries[i] = dialerd.DNCEntry{Number: n.E164, Source: dialerd.DNCSourceAPI, Reason: in.Reason}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	doc, _ := json.Marshal(entries)
	out, err := s.dncCall(r, ws, &pb.DNCRequest{Op: pb.DNCOp_DNC_ADD, Body: doc})
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusCreated, out)
	return nil
}

// listDNC is GET /dnc/?workspace=&cursor=&limit=: the list in number order.
func (s *Server) listDNC(r *request) error {
	ws, err := dncWorkspace(r)
	if err != nil {
		return err
	}
	args := r.ctx.QueryArgs()
	limit := 100
	if v := args.Peek("limit"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 1000 {
			return invalidField("limit", "Must be between 1 and 1000.")
		}
		limit = n
	}
	cursor := string(args.Peek("cursor"))
	if strings.Trim(cursor, "0123456789") != "" || len(cursor) > 20 {
		return invalidField("cursor", "Not a cursor this API gave.")
	}
	out, err := s.dncCall(r, ws, &pb.DNCRequest{Op: pb.DNCOp_DNC_PAGE, Cursor: cursor, Limit: uint32(limit)})
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, out)
	return nil
}

// dncNumber reads the number in /dnc/{number}/, written any way a person
// writes it ("+12125550100", "212-555-0100", URL-escaped).
func dncNumber(r *request) (string, error) {
	parser, err := dncParser()
	if err != nil {
		return "", err
	}
	n, err := parser.Parse(r.parts[1])
	if err != nil {
		return "", dialerd.Errorf(dialerd.ENOTFOUND, "%q is not a phone number (%s).", r.parts[1], err)
	}
	return n.E164, nil
}

// getDNC is GET /dnc/{number}/: the entry, or 404 when the number is not
// on the list.
func (s *Server) getDNC(r *request) error {
	out, err := s.dncOne(r, pb.DNCOp_DNC_GET)
	if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, out)
	return nil
}

// dncOne asks the list of the request's workspace op about the number in
// the path.
func (s *Server) dncOne(r *request, op pb.DNCOp) ([]byte, error) {
	ws, err := dncWorkspace(r)
	if err != nil {
		return nil, err
	}
	number, err := dncNumber(r)
	if err != nil {
		return nil, err
	}
	return s.dncCall(r, ws, &pb.DNCRequest{Op: op, Number: number})
}

// deleteDNC is DELETE /dnc/{number}/: takes a number off the list (one put
// there by mistake). Prospects already resolved as do_not_call stay so.
func (s *Server) deleteDNC(r *request) error {
	if _, err := s.dncOne(r, pb.DNCOp_DNC_DELETE); err != nil {
		return err
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// dncUploadBatch is how many numbers one write to the list carries.
const dncUploadBatch = 1000

// DNCUploadResult is the answer to a DNC file upload.
type DNCUploadResult struct {
	intake.DNCFileResult
	Added   int `json:"added"`
	Already int `json:"already"`
}

// uploadDNC is POST /dnc/upload/?workspace=&reason=: a CSV file with a
// phone column, as multipart/form-data (part "file") or as the text/csv
// body. It is read as it arrives and its numbers are added in batches;
// the answer (200) comes once every number is on the list, with counts
// and the first rows that held no valid number. A file cut off or refused
// half-way leaves the numbers before the cut on the list: sending it again
// is safe, since adding a number twice changes nothing.
func (s *Server) uploadDNC(r *request) error {
	r.ctx.SetConnectionClose() // a refused body is not drained
	ws, err := dncWorkspace(r)
	if err != nil {
		return err
	}
	reason := string(r.ctx.QueryArgs().Peek("reason"))
	if len(reason) > dialerd.MaxDNCReasonLen {
		return invalidField("reason", fmt.Sprintf("Ensure this field has no more than %d characters.", dialerd.MaxDNCReasonLen))
	}
	if cl := r.ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > s.cfg.MaxUploadBytes+uploadFraming {
		return dialerd.Errorf(dialerd.ETOOLARGE, "The file is larger than %d bytes.", s.cfg.MaxUploadBytes)
	}
	var file io.Reader
	ct := string(r.ctx.Request.Header.ContentType())
	mt, params, _ := mime.ParseMediaType(ct)
	switch mt {
	case "text/csv":
		file = r.ctx.RequestBodyStream()
	case "multipart/form-data":
		if params["boundary"] == "" {
			return invalidField("file", "The multipart body has no boundary.")
		}
		mr := multipart.NewReader(r.ctx.RequestBodyStream(), params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			return invalidField("file", "No file was submitted.")
		}
		defer part.Close()
		if part.FormName() != "file" {
			return invalidField(part.FormName(), "Unknown field: send the CSV in part \"file\".")
		}
		file = part
	default:
		return dialerd.Errorf(dialerd.EMEDIATYPE, "Unsupported media type %q: send text/csv, or multipart/form-data with the CSV in part \"file\".", ct)
	}
	parser, err := dncParser()
	if err != nil {
		return err
	}
	limited := &io.LimitedReader{R: file, N: s.cfg.MaxUploadBytes + 1}
	var out DNCUploadResult
	res, err := intake.ReadDNCFile(limited, parser, dncUploadBatch, func(numbers []string) error {
		entries := make([]dialerd.DNCEntry, len(numbers))
		for i, n := range numbers {
			entries[i] = dialerd.DNCEntry{Number: n, Source: dialerd.DNCSourceUpload, Reason: reason}
		}
		doc, _ := json.Marshal(entries)
		body, err := s.dncCall(r, ws, &pb.DNCRequest{Op: pb.DNCOp_DNC_ADD, Body: doc})
		if err != nil {
			return err
		}
		var rep actors.DNCAddReply
		if err := json.Unmarshal(body, &rep); err != nil {
			return err
		}
		out.Added += rep.Added
		out.Already += rep.Already
		return nil
	})
	if limited.N <= 0 {
		return dialerd.Errorf(dialerd.ETOOLARGE, "The file is larger than %d bytes; the numbers before the cut (%d) are on the list.", s.cfg.MaxUploadBytes, out.Added+out.Already)
	}
	if err != nil {
		var de *dialerd.Error
		if errors.As(err, &de) && de.Code == dialerd.EINVALID && out.Added+out.Already > 0 {
			de.Message += fmt.Sprintf(" The %d numbers before it are on the list.", out.Added+out.Already)
		}
		return err
	}
	out.DNCFileResult = res
	r.ctx.Response.Header.ResetConnectionClose()
	doc, _ := json.Marshal(out)
	writeJSON(r.ctx, fasthttp.StatusOK, doc)
	return nil
}
