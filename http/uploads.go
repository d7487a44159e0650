package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/intake"
)

// DefaultMaxUploadBytes bounds an uploaded file.
const DefaultMaxUploadBytes = 1 << 30

// uploadFraming is room for a multipart form's boundaries, part headers and
// its small fields around the file.
const uploadFraming = 64 << 10

// createUpload is POST /upload/{list}/: a multipart form with the CSV in
// part "file" and an optional "dedupe". The file is streamed in chunks into
// the list's storage (replicated with the list) and never held whole; the
// answer is 201 once the whole file is stored, and its rows are then
// ingested in the background (GET /upload/{uuid}/ shows how far).
func (s *Server) createUpload(r *request) error {
	// A rejected upload leaves its body unread: close the connection
	// rather than drain what may be a gigabyte.
	r.ctx.SetConnectionClose()
	list, camp, err := s.listAndCampaign(r, r.parts[1])
	if err != nil {
		return err
	}
	ct := string(r.ctx.Request.Header.ContentType())
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		return dialerd.Errorf(dialerd.EMEDIATYPE, "Unsupported media type %q: send multipart/form-data with the CSV in part \"file\".", ct)
	}
	if params["boundary"] == "" {
		return invalidField("file", "The multipart body has no boundary.")
	}
	// A body larger than the largest file plus a form's framing cannot
	// hold an acceptable file: refuse it before storing any of it.
	if cl := r.ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > s.cfg.MaxUploadBytes+uploadFraming {
		return dialerd.Errorf(dialerd.ETOOLARGE, "The file is larger than %d bytes.", s.cfg.MaxUploadBytes)
	}
	rc := &receiver{s: s, r: r, list: list, id: s.cfg.NewID(), dedupe: true}
	defer rc.abortUnlessCommitted()
	mr := multipart.NewReader(r.ctx.RequestBodyStream(), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return invalidField("file", "The request ended before its multipart form did: the upload was cut off.")
			}
			return invalidField("file", "The multipart body cannot be read: "+err.Error()+".")
		}
		switch part.FormName() {
		case "file":
			if rc.began {
				return invalidField("file", "Send one file per upload.")
			}
			err = rc.receive(part, camp.Slug, camp.LocaleName)
		case "dedupe":
			err = rc.readDedupe(part)
		default:
			err = invalidField(part.FormName(), "Unknown field: send \"file\" and, optionally, \"dedupe\".")
		}
		part.Close()
		if err != nil {
			return err
		}
	}
	if !rc.began {
		return invalidField("file", "No file was submitted.")
	}
	up, err := rc.commit()
	if err != nil {
		return err
	}
	r.ctx.Response.Header.ResetConnectionClose() // the body was read whole
	body, _ := json.Marshal(map[string]string{"message": "Uploaded successfully.", "uuid": up.UUID, "status": up.Status})
	writeJSON(r.ctx, fasthttp.StatusCreated, body)
	return nil
}

func invalidField(field, msg string) error {
	return &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.", Fields: map[string][]string{field: {msg}}}
}

// receiver stores one upload's file as it arrives.
type receiver struct {
	s         *Server
	r         *request
	list, id  string
	filename  string
	dedupe    bool
	began     bool
	committed bool
	chunks    int
	bytes     int64
}

func (rc *receiver) readDedupe(part *multipart.Part) error {
	v, err := io.ReadAll(io.LimitReader(part, 64))
	if err != nil {
		return invalidField("dedupe", "Cannot be read.")
	}
	b, err := strconv.ParseBool(strings.TrimSpace(string(v)))
	if err != nil {
		return invalidField("dedupe", "Must be a valid boolean.")
	}
	rc.dedupe = b
	return nil
}

// receive checks the file's header at once (a file that cannot be a
// prospect list is refused before anything is stored), then stores it
// chunk by chunk.
func (rc *receiver) receive(part *multipart.Part, campaign, locale string) error {
	buf := make([]byte, dialerd.UploadChunkBytes)
	n, err := io.ReadFull(part, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return invalidField("file", "The file could not be read: "+err.Error()+".")
	}
	if _, herr := intake.NewReader(bytes.NewReader(buf[:n])); herr != nil {
		return herr
	}
	rc.filename = cleanFilename(part.FileName())
	up, _ := json.Marshal(dialerd.Upload{UUID: rc.id, List: rc.list, Campaign: campaign, Locale: locale, Filename: rc.filename})
	if _, err := rc.s.registryCall(rc.r, actors.KindUpload, rc.id, pb.SlugOp_SLUG_RESERVE, rc.list); err != nil {
		return err
	}
	if err := rc.call(pb.ListOp_LIST_UPLOAD_BEGIN, 0, up); err != nil {
		return err
	}
	rc.began = true
	for n > 0 {
		if rc.bytes+int64(n) > rc.s.cfg.MaxUploadBytes {
			return dialerd.Errorf(dialerd.ETOOLARGE, "The file is larger than %d bytes.", rc.s.cfg.MaxUploadBytes)
		}
		if err := rc.call(pb.ListOp_LIST_UPLOAD_CHUNK, uint32(rc.chunks), buf[:n]); err != nil {
			return err
		}
		rc.chunks++
		rc.bytes += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		// A fresh buffer: the grain may still hold the last one.
		buf = make([]byte, dialerd.UploadChunkBytes)
		n, err = io.ReadFull(part, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return invalidField("file", "The upload was cut off before the end of the file.")
		}
	}
	return nil
}

func (rc *receiver) call(op pb.ListOp, index uint32, body []byte) error {
	res, err := rc.s.cfg.Grains.Request(rc.r.c, actors.KindList, rc.list, &pb.ListRequest{Op: op, Scope: actors.ScopeToPB(rc.r.p), Upload: rc.id, Index: index, Body: body, Dedupe: rc.dedupe})
	if err != nil {
		return err
	}
	_, err = replyBody(res)
	return err
}

func (rc *receiver) commit() (dialerd.Upload, error) {
	res, err := rc.s.cfg.Grains.Request(rc.r.c, actors.KindList, rc.list, &pb.ListRequest{Op: pb.ListOp_LIST_UPLOAD_COMMIT, Scope: actors.ScopeToPB(rc.r.p),
		Upload: rc.id, Index: uint32(rc.chunks), Dedupe: rc.dedupe, Body: []byte(rc.filename)})
	var up dialerd.Upload
	if err != nil {
		return up, err
	}
	body, err := replyBody(res)
	if err != nil {
		return up, err
	}
	rc.committed = true
	return up, json.Unmarshal(body, &up)
}

// abortUnlessCommitted drops what was stored of an upload that failed.
func (rc *receiver) abortUnlessCommitted() {
	if !rc.began || rc.committed {
		return
	}
	if err := rc.call(pb.ListOp_LIST_UPLOAD_ABORT, 0, nil); err != nil {
		rc.s.log.Warn("could not drop an upload that failed; the list drops it when it next resumes", "upload", rc.id, "err", err)
		return
	}
	if _, err := rc.s.registryCall(rc.r, actors.KindUpload, rc.id, pb.SlugOp_SLUG_RELEASE, rc.list); err != nil {
		rc.s.log.Warn("could not release a dropped upload's name", "upload", rc.id, "err", err)
	}
}

func cleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	for utf8.RuneCountInString(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// registryCall asks a name registry grain (listslug, upload).
func (s *Server) registryCall(r *request, kind, name string, op pb.SlugOp, uuid string) ([]byte, error) {
	res, err := s.cfg.Grains.Request(r.c, kind, name, &pb.SlugRequest{Op: op, Uuid: uuid})
	if err != nil {
		return nil, err
	}
	return replyBody(res)
}

// uploadList finds the list an upload belongs to.
func (s *Server) uploadList(r *request, id string) (string, error) {
	if !dialerd.ValidUUID(id) {
		return "", dialerd.Errorf(dialerd.ENOTFOUND, "Upload %q not found.", id)
	}
	list, err := s.registryCall(r, actors.KindUpload, id, pb.SlugOp_SLUG_GET, "")
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return "", dialerd.Errorf(dialerd.ENOTFOUND, "Upload %q not found.", id)
	}
	return string(list), err
}

// getUpload is GET /upload/{uuid}/: the upload's progress and results.
func (s *Server) getUpload(r *request) error {
	list, err := s.uploadList(r, r.parts[1])
	if err != nil {
		return err
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_UPLOAD_GET, Scope: actors.ScopeToPB(r.p), Upload: r.parts[1]})
	if err != nil {
		return err
	}
	body, err := replyBody(res)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Upload %q not found.", r.parts[1])
	} else if err != nil {
		return err
	}
	writeJSON(r.ctx, fasthttp.StatusOK, body)
	return nil
}

// retryUpload is POST /upload/{uuid}/retry/: {"success": true} once a failed
// upload runs again; otherwise {"success": false, "detail": …} with the
// error's status.
func (s *Server) retryUpload(r *request) error {
	err := s.retry(r)
	body := map[string]any{"success": err == nil}
	status := fasthttp.StatusOK
	if err != nil {
		code := dialerd.ErrorCode(err)
		if code == dialerd.EINTERNAL {
			s.log.Error("internal error", "path", string(r.ctx.Path()), "err", err)
		}
		body["detail"] = dialerd.ErrorMessage(err)
		status = ErrorStatus(code)
	}
	out, _ := json.Marshal(body)
	writeJSON(r.ctx, status, out)
	return nil
}

func (s *Server) retry(r *request) error {
	list, err := s.uploadList(r, r.parts[1])
	if err != nil {
		return err
	}
	res, err := s.cfg.Grains.Request(r.c, actors.KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_UPLOAD_RETRY, Scope: actors.ScopeToPB(r.p), Upload: r.parts[1]})
	if err != nil {
		return err
	}
	_, err = replyBody(res)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return dialerd.Errorf(dialerd.ENOTFOUND, "Upload %q not found.", r.parts[1])
	}
	return err
}

// boundBody enforces the JSON and form body limit on every route but
// uploads: bodies are streamed (so an upload is never held whole), which
// means fasthttp no longer refuses large ones itself.
func (s *Server) boundBody(ctx *fasthttp.RequestCtx) error {
	limit := s.cfg.MaxJSONBody
	tooLarge := func() error {
		ctx.SetConnectionClose()
		return dialerd.Errorf(dialerd.ETOOLARGE, "Request body is larger than %d bytes.", limit)
	}
	switch cl := ctx.Request.Header.ContentLength(); {
	case cl > limit:
		return tooLarge()
	case cl == -1: // chunked: read at most one byte past the limit
		b, err := io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), int64(limit)+1))
		if err != nil {
			ctx.SetConnectionClose()
			return dialerd.Errorf(dialerd.EINVALID, "The request body cannot be read.")
		}
		if len(b) > limit {
			return tooLarge()
		}
		ctx.Request.SetBody(b)
	}
	return nil
}
