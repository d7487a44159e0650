package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// Uploads live in their list's identity, so a file, its progress and the
// prospects it made share one shard: one owner processes them, and they are
// replicated together. Keys:
//
//	u/<upload>             the dialerd.Upload
//	u/<upload>/c/<n>       chunk n of the file (deleted once completed)
//	u/<upload>/b/<n>       batch n is done: its dialerd.BatchResult
//	ua/<upload>            the upload is not finished (receiving or processing)
//
// and the index entry upload.active <list> 0x00 <upload>, which tells a node
// starting up (or taking over a shard) which lists to resume.
const indexUploadActive = "upload.active"

func uploadKey(id string) string         { return "u/" + id }
func chunkKey(id string, n int) string   { return fmt.Sprintf("u/%s/c/%06d", id, n) }
func batchKey(id string, n int) string   { return fmt.Sprintf("u/%s/b/%06d", id, n) }
func batchPrefix(id string) string       { return "u/" + id + "/b/" }
func activeKey(id string) string         { return "ua/" + id }
func activeEntry(list, id string) string { return list + "\x00" + id }
func uploadGone(id string) *dialerd.Error {
	return dialerd.Errorf(dialerd.ENOTFOUND, "Upload %q not found.", id)
}
func uploadBusy(id, st string) *dialerd.Error {
	return dialerd.Errorf(dialerd.ECONFLICT, "Upload %s is %s; only a failed upload can be retried.", id, st)
}

// uploads is a list grain's state of its uploads in this activation.
type uploads struct {
	root *actor.RootContext
	self *actor.PID
	byID map[string]*dialerd.Upload
	// receiving holds, per upload still being received here, the chunks
	// stored so far: an upload found receiving that is not in it was cut
	// off by a crash or a hand-over, and is dropped.
	receiving map[string]map[int]int
	// heard is when each upload being received last sent a chunk: one
	// silent for ReceiveIdle lost its sender (the node streaming it died)
	// and is dropped; the client, never answered, sends the file again.
	heard   map[string]time.Time
	running map[string]context.CancelFunc
}

// ReceiveIdle bounds the silence between two chunks of an upload being
// received, in wall time (it is about a network stream, not the node's
// possibly virtual clock): the front end stores a chunk per 256 KiB of
// body, so only a dead sender — or a client stalled this long, whose read
// timeout has ended it anyway — is this quiet.
const ReceiveIdle = 10 * time.Minute

func (u *uploads) init(ctx actor.Context) {
	u.root, u.self = ctx.ActorSystem().Root, ctx.Self()
	u.forget()
}

func (u *uploads) forget() {
	u.byID = map[string]*dialerd.Upload{}
	u.receiving = map[string]map[int]int{}
	u.heard = map[string]time.Time{}
	if u.running == nil {
		u.running = map[string]context.CancelFunc{}
	}
}

func (u *uploads) stopAll() {
	for id, cancel := range u.running {
		cancel()
		delete(u.running, id)
	}
}

// uploadOp serves the upload operations of a list request; ok is false for
// other operations.
func (g *listGrain) uploadOp(m *pb.ListRequest) (*pb.Reply, bool) {
	switch m.Op {
	case pb.ListOp_LIST_UPLOAD_BEGIN:
		return reply(nil, g.beginUpload(m.Body)), true
	case pb.ListOp_LIST_UPLOAD_CHUNK:
		return reply(nil, g.storeChunk(m.Upload, int(m.Index), m.Body)), true
	case pb.ListOp_LIST_UPLOAD_COMMIT:
		return reply(g.commitUpload(m.Upload, int(m.Index), m.Dedupe, m.Body)), true
	case pb.ListOp_LIST_UPLOAD_ABORT:
		return reply(nil, g.abortUpload(m.Upload)), true
	case pb.ListOp_LIST_UPLOAD_GET:
		up, err := g.upload(m.Upload)
		if err != nil {
			return reply(nil, err), true
		}
		return reply(json.Marshal(up)), true
	case pb.ListOp_LIST_UPLOAD_RETRY:
		return reply(nil, g.retryUpload(m.Upload)), true
	case pb.ListOp_LIST_RESUME:
		return reply(nil, g.resumeUploads()), true
	}
	return nil, false
}

// upload returns an upload of this list, from memory or the store.
func (g *listGrain) upload(id string) (*dialerd.Upload, error) {
	if up, ok := g.uploads.byID[id]; ok {
		return up, nil
	}
	if !dialerd.ValidUUID(id) {
		return nil, uploadGone(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	v, err := g.deps.Store.Get(ctx, g.identity, uploadKey(id))
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	if v == nil {
		return nil, uploadGone(id)
	}
	var up dialerd.Upload
	if err := json.Unmarshal(v, &up); err != nil {
		return nil, dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt upload %s: %v", g.identity, id, err)
	}
	g.uploads.byID[id] = &up
	return &up, nil
}

// saveUpload writes up with extra ops in one batch, and keeps it in memory
// once written.
func (g *listGrain) saveUpload(up *dialerd.Upload, extra ...dialerd.Op) error {
	up.UpdatedAt = g.deps.Clock.Now().UTC().Truncate(time.Millisecond)
	doc, err := json.Marshal(up)
	if err != nil {
		return err
	}
	if err := g.write(append(extra, dialerd.Set(uploadKey(up.UUID), doc))); err != nil {
		return err
	}
	g.uploads.byID[up.UUID] = up
	return nil
}

func (g *listGrain) beginUpload(body []byte) error {
	var up dialerd.Upload
	if err := json.Unmarshal(body, &up); err != nil || !dialerd.ValidUUID(up.UUID) || up.List != g.uuid {
		return dialerd.Errorf(dialerd.EINVALID, "Bad upload record.")
	}
	switch _, err := g.upload(up.UUID); dialerd.ErrorCode(err) {
	case "":
		return dialerd.Errorf(dialerd.ECONFLICT, "Upload %s exists.", up.UUID)
	case dialerd.ENOTFOUND:
	default:
		return err
	}
	up.Status, up.Errors = dialerd.UploadReceiving, []dialerd.UploadRowError{}
	up.CreatedAt = g.deps.Clock.Now().UTC().Truncate(time.Millisecond)
	if err := g.saveUpload(&up,
		dialerd.Set(activeKey(up.UUID), nil),
		dialerd.IndexSet(indexUploadActive, activeEntry(g.uuid, up.UUID), nil)); err != nil {
		return err
	}
	g.uploads.receiving[up.UUID] = map[int]int{}
	g.uploads.heard[up.UUID] = dialerd.Stopwatch()
	return nil
}

// receivingUpload returns an upload this activation is receiving.
func (g *listGrain) receivingUpload(id string) (*dialerd.Upload, map[int]int, error) {
	chunks, ok := g.uploads.receiving[id]
	if !ok {
		// Began before a crash or on the shard's previous owner: its
		// stream is gone, so the client was never told it was received.
		return nil, nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "Upload %s was interrupted; upload the file again.", id)
	}
	up, err := g.upload(id)
	return up, chunks, err
}

func (g *listGrain) storeChunk(id string, n int, data []byte) error {
	_, chunks, err := g.receivingUpload(id)
	if err != nil {
		return err
	}
	if len(data) == 0 || len(data) > dialerd.UploadChunkBytes {
		return dialerd.Errorf(dialerd.EINVALID, "Bad chunk size %d.", len(data))
	}
	if err := g.write([]dialerd.Op{dialerd.Set(chunkKey(id, n), data)}); err != nil {
		return err
	}
	chunks[n] = len(data)
	g.uploads.heard[id] = dialerd.Stopwatch()
	return nil
}

// commitUpload is told the file is whole: from here it is processed, and
// the client is told it was received.
func (g *listGrain) commitUpload(id string, nChunks int, dedupe bool, body []byte) ([]byte, error) {
	up, chunks, err := g.receivingUpload(id)
	if err != nil {
		return nil, err
	}
	var total int64
	for n := 0; n < nChunks; n++ {
		size, ok := chunks[n]
		if !ok {
			return nil, dialerd.Errorf(dialerd.EINVALID, "Chunk %d of upload %s is missing.", n, id)
		}
		total += int64(size)
	}
	if len(chunks) != nChunks {
		return nil, dialerd.Errorf(dialerd.EINVALID, "Upload %s has %d chunks, not %d.", id, len(chunks), nChunks)
	}
	next := *up
	next.Chunks, next.Bytes, next.Dedupe = nChunks, total, dedupe
	if len(body) > 0 {
		next.Filename = string(body)
	}
	next.Status, next.Runs = dialerd.UploadProcessing, 1
	if err := g.saveUpload(&next); err != nil {
		return nil, err
	}
	delete(g.uploads.receiving, id)
	delete(g.uploads.heard, id)
	g.startLoader(&next)
	return json.Marshal(&next)
}

// abortUpload drops an upload the front end could not receive whole.
func (g *listGrain) abortUpload(id string) error {
	up, err := g.upload(id)
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if up.Status != dialerd.UploadReceiving {
		return dialerd.Errorf(dialerd.ECONFLICT, "Upload %s was received; it cannot be aborted.", id)
	}
	return g.dropUpload(id)
}

// dropUpload deletes an upload that was never acknowledged.
func (g *listGrain) dropUpload(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ops := []dialerd.Op{
		dialerd.Delete(uploadKey(id)),
		dialerd.Delete(activeKey(id)),
		dialerd.IndexDelete(indexUploadActive, activeEntry(g.uuid, id)),
	}
	err := g.deps.Store.Scan(ctx, g.identity, "u/"+id+"/", func(key string, _ []byte) error {
		ops = append(ops, dialerd.Delete(key))
		return nil
	})
	if err != nil {
		return storeErr(g.log, err)
	}
	if err := g.write(ops); err != nil {
		return err
	}
	delete(g.uploads.byID, id)
	delete(g.uploads.receiving, id)
	delete(g.uploads.heard, id)
	return nil
}

func (g *listGrain) retryUpload(id string) error {
	up, err := g.upload(id)
	if err != nil {
		return err
	}
	if up.Status != dialerd.UploadFailed {
		return uploadBusy(id, up.Status)
	}
	if err := g.campaignExists(up.Campaign); err != nil {
		return err
	}
	next := *up
	next.Status, next.Reason, next.BatchesFailed, next.FinishedAt = dialerd.UploadProcessing, "", 0, nil
	next.Runs++
	if err := g.saveUpload(&next,
		dialerd.Set(activeKey(id), nil),
		dialerd.IndexSet(indexUploadActive, activeEntry(g.uuid, id), nil)); err != nil {
		return err
	}
	g.startLoader(&next)
	return nil
}

// campaignExists refuses a retry that could only fail again: every batch
// claims its numbers in the campaign.
func (g *listGrain) campaignExists(slug string) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	res, err := g.deps.Request(ctx, KindCampaign, slug, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_GET, Scope: ScopeToPB(dialerd.Principal{Admin: true})})
	if err == nil {
		_, err = ReplyBody(res)
	}
	if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
		return dialerd.Errorf(dialerd.ECONFLICT, "The upload's campaign %q no longer exists: create it again, then retry.", slug)
	}
	return err
}

// activeUploads lists the list's unfinished uploads.
func (g *listGrain) activeUploads() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var ids []string
	err := g.deps.Store.Scan(ctx, g.identity, "ua/", func(key string, _ []byte) error {
		ids = append(ids, strings.TrimPrefix(key, "ua/"))
		return nil
	})
	if err != nil {
		return nil, storeErr(g.log, err)
	}
	return ids, nil
}

// resumeUploads picks up what a crash or a shard hand-over interrupted:
// processing uploads run again from their first unfinished batch; uploads
// cut off while being received are dropped (their client got an error).
func (g *listGrain) resumeUploads() error {
	ids, err := g.activeUploads()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, running := g.uploads.running[id]; running {
			continue
		}
		if _, ok := g.uploads.receiving[id]; ok {
			if silent := time.Since(g.uploads.heard[id]); silent > ReceiveIdle {
				g.log.Info("dropping an upload whose sender went silent", "upload", id, "silent", silent)
				if err := g.dropUpload(id); err != nil {
					return err
				}
			}
			continue
		}
		up, err := g.upload(id)
		if dialerd.ErrorCode(err) == dialerd.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		switch up.Status {
		case dialerd.UploadReceiving:
			g.log.Info("dropping an upload interrupted while it was received", "upload", id)
			if err := g.dropUpload(id); err != nil {
				return err
			}
		case dialerd.UploadProcessing:
			next := *up
			next.Runs++
			if err := g.saveUpload(&next); err != nil {
				return err
			}
			g.log.Info("resuming an interrupted upload", "upload", id, "batches_done", up.BatchesDone)
			g.startLoader(&next)
		}
	}
	return nil
}

// startLoader runs the upload's unfinished batches in the background.
func (g *listGrain) startLoader(up *dialerd.Upload) {
	ctx, cancel := context.WithCancel(context.Background())
	g.uploads.running[up.UUID] = cancel
	l := &loader{
		slots:    g.deps.Loaders,
		store:    g.deps.Store,
		request:  g.deps.Request,
		identity: g.identity,
		list:     g.uuid,
		up:       *up,
		log:      g.log.With("upload", up.UUID),
		send:     func(msg any) { g.uploads.root.Send(g.uploads.self, msg) },
	}
	go l.run(ctx)
}

// batchDone is a loader's batch to commit; the grain writes it, so ids are
// given in one place.
type batchDone struct {
	upload    string
	index     int
	prospects []encodedProspect
	result    dialerd.BatchResult
	dedupe    bool
	dupeDays  int // the campaign's, from its answer to the claim
	reply     chan error
}

// batchDone writes a batch's prospects, its done marker and the upload's
// new counts in one atomic write. A batch already done (a retry after a
// reply was lost) is not written again.
func (g *listGrain) batchDone(m *batchDone) error {
	up, err := g.upload(m.upload)
	if err != nil {
		return err
	}
	if up.Status != dialerd.UploadProcessing {
		return dialerd.Errorf(dialerd.ECONFLICT, "Upload %s is %s.", m.upload, up.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if v, err := g.deps.Store.Get(ctx, g.identity, batchKey(m.upload, m.index)); err != nil {
		return storeErr(g.log, err)
	} else if v != nil {
		return nil
	}
	// The campaign judged the numbers against its records; the list
	// judges them against its own, which survive the campaign being
	// deleted and created again.
	dup, err := g.listDuplicates(m.prospects, m.upload, m.dedupe, m.dupeDays)
	if err != nil {
		return err
	}
	result := m.result
	ps := m.prospects[:0:0]
	for i, p := range m.prospects {
		if dup[i] {
			result.Accepted--
			result.Duplicates++
			continue
		}
		ps = append(ps, p)
	}
	_, ops, dnc, err := g.addOps(ps, m.upload)
	if err != nil {
		return err
	}
	result.DoNotCall = dnc
	res, err := json.Marshal(result)
	if err != nil {
		return err
	}
	next := *up
	next.AddBatch(result)
	if err := g.saveUpload(&next, append(ops, dialerd.Set(batchKey(m.upload, m.index), res))...); err != nil {
		return err
	}
	g.added(ps)
	return nil
}

// loaderEnd is a loader's last word: how many batches the file has (-1
// when it could not be read to its end) and, when the run stopped early,
// why.
type loaderEnd struct {
	upload string
	total  int
	failed int
	reason string
}

// loaderEnd finishes a run: completed when every batch is done (the file is
// then deleted), failed with the reason otherwise.
func (g *listGrain) loaderEnd(m *loaderEnd) {
	delete(g.uploads.running, m.upload)
	up, err := g.upload(m.upload)
	if err != nil {
		if dialerd.ErrorCode(err) != dialerd.ENOTFOUND { // gone: the list or upload was deleted
			g.log.Error("could not read an upload to record its end; it resumes later", "upload", m.upload, "err", err)
		}
		return
	}
	if up.Status != dialerd.UploadProcessing {
		return
	}
	next := *up
	if m.total >= 0 {
		total := m.total
		next.BatchesTotal = &total
	}
	now := g.deps.Clock.Now().UTC().Truncate(time.Millisecond)
	next.FinishedAt = &now
	ops := []dialerd.Op{
		dialerd.Delete(activeKey(m.upload)),
		dialerd.IndexDelete(indexUploadActive, activeEntry(g.uuid, m.upload)),
	}
	if m.reason == "" && m.total >= 0 && next.BatchesDone == m.total {
		next.Status = dialerd.UploadCompleted
		for n := 0; n < next.Chunks; n++ {
			ops = append(ops, dialerd.Delete(chunkKey(m.upload, n)))
		}
	} else {
		next.Status, next.Reason, next.BatchesFailed = dialerd.UploadFailed, m.reason, m.failed
		if next.Reason == "" {
			next.Reason = "The run ended before every batch was done."
		}
	}
	if err := g.saveUpload(&next, ops...); err != nil {
		// The upload stays processing in the store: the next resume
		// runs it again, and its done batches are skipped.
		g.log.Error("could not record the end of an upload", "upload", m.upload, "err", err)
	}
}
