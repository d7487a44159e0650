package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/intake"
	"github.com/dialerd/dialerd/phone"
)

// loader runs one upload's batches, outside the list grain's mailbox so the
// list keeps answering while a large file is ingested. It reads the file
// from the store, turns rows into prospects, claims their numbers in the
// campaign (which decides duplicates) and hands each batch to the grain,
// which writes it atomically with its done marker. Rows are parsed one
// batch ahead of the batch being committed.
type loader struct {
	slots    chan struct{}
	store    dialerd.Store
	request  RequestFunc
	identity string
	list     string
	up       dialerd.Upload
	log      *slog.Logger
	send     func(msg any)
}

// RequestFunc sends a message to a grain anywhere in the cluster.
type RequestFunc func(ctx context.Context, kind, identity string, msg proto.Message) (any, error)

// Attempts at a batch's claim and commit before the run stops, and the
// pause before each retry: long enough to ride out a shard hand-over.
var batchBackoff = []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second}

// parsed is one batch of rows, read and normalized.
type parsed struct {
	index     int
	rows      int
	prospects []encodedProspect
	rowNums   []int // of prospects
	invalid   []dialerd.UploadRowError
	nInvalid  int
	end       int64 // file offset after the last row
}

func (l *loader) run(ctx context.Context) {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
			defer func() { <-l.slots }()
		case <-ctx.Done():
			// Stopped before its turn: the upload stays processing, and
			// the next owner (or activation) resumes it.
			return
		}
	}
	end := &loaderEnd{upload: l.up.UUID, total: -1}
	start := dialerd.Stopwatch()
	var claimT, writeT time.Duration
	defer func() {
		l.log.Info("upload run ended", "took", time.Since(start), "claiming", claimT, "writing", writeT, "batches", end.total, "reason", end.reason)
		l.send(end)
	}()
	done, err := l.doneBatches(ctx)
	if err != nil {
		end.reason = "Could not read the upload's progress: " + sentence(err)
		return
	}
	// Three stages, one goroutine each, so parsing, the campaign's claim
	// and the list's write of consecutive batches overlap.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	work := make(chan *parsed, 1)
	produced := make(chan produceResult, 1)
	go func() { produced <- l.produce(pctx, done, work) }()
	claimed := make(chan claimedBatch, 1)
	go func() {
		defer close(claimed)
		for b := range work {
			t := dialerd.Stopwatch()
			msg, err := l.claim(pctx, b)
			claimT += time.Since(t)
			select {
			case claimed <- claimedBatch{b, msg, err}:
			case <-pctx.Done():
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range claimed {
		err := c.err
		if err == nil {
			t := dialerd.Stopwatch()
			err = l.write(ctx, c.msg)
			writeT += time.Since(t)
		}
		if err != nil {
			stop()
			for range claimed {
			}
			for range work {
			}
			<-produced
			end.failed = 1
			end.reason = fmt.Sprintf("Batch %d (from row %d) failed: %s Retry the upload to run it and the batches after it.", c.b.index+1, firstRow(c.b), sentence(err))
			return
		}
	}
	res := <-produced
	end.total, end.reason = res.total, res.reason
}

// claimedBatch is a batch whose numbers the campaign has judged.
type claimedBatch struct {
	b   *parsed
	msg *batchDone
	err error
}

func firstRow(b *parsed) int {
	first := 0
	for _, r := range b.rowNums {
		if first == 0 || r < first {
			first = r
		}
	}
	for _, e := range b.invalid {
		if first == 0 || e.Row < first {
			first = e.Row
		}
	}
	return first
}

func (l *loader) doneBatches(ctx context.Context) (map[int]bool, error) {
	done := map[int]bool{}
	prefix := batchPrefix(l.up.UUID)
	err := l.store.Scan(ctx, l.identity, prefix, func(key string, _ []byte) error {
		var n int
		if _, err := fmt.Sscanf(strings.TrimPrefix(key, prefix), "%d", &n); err == nil {
			done[n] = true
		}
		return nil
	})
	return done, err
}

type produceResult struct {
	total  int // batches in the file; -1 when it could not be read to its end
	reason string
}

// produce reads the file and sends its batches that are not done yet. A
// file whose content ends the read (a record too long) still has the rows
// before it ingested; a store that fails mid-read ingests nothing more of
// the batch, so a retry finds it whole.
func (l *loader) produce(ctx context.Context, done map[int]bool, work chan<- *parsed) produceResult {
	defer close(work)
	src := &chunkReader{ctx: ctx, store: l.store, identity: l.identity, upload: l.up.UUID, chunks: l.up.Chunks}
	rd, err := intake.NewReader(src)
	if err != nil {
		return produceResult{total: -1, reason: "The file cannot be read: " + readReason(src, err)}
	}
	rd.SkipValues = true // rows are made prospects by rd.Prospect
	parser, err := intake.ParserFor(l.up.Locale)
	if err != nil {
		return produceResult{total: -1, reason: err.Error()}
	}
	loc := dialerd.Locales[l.up.Locale]
	index, rows := 0, 0
	b := &parsed{index: 0}
	emit := func() bool {
		b.end = rd.Offset()
		if b.rows > 0 && !done[b.index] {
			select {
			case work <- b:
			case <-ctx.Done():
				return false
			}
		}
		index++
		b = &parsed{index: index}
		return true
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var re *intake.RowError
		switch {
		case errors.As(err, &re):
			b.rows++
			if !done[b.index] {
				b.nInvalid++
				b.invalid = append(b.invalid, dialerd.UploadRowError{Row: re.Row, Line: re.Line, Column: re.Column, Reason: re.Reason})
			}
		case err != nil:
			if src.err != nil || ctx.Err() != nil {
				return produceResult{total: -1, reason: "The file could not be read from storage: " + readReason(src, err)}
			}
			// The rest of the file is unreadable; what came before stands.
			total := index
			if b.rows > 0 {
				total++
			}
			if !emit() {
				return produceResult{total: -1, reason: "stopped"}
			}
			return produceResult{total: total, reason: "The file cannot be read past this point: " + sentence(err)}
		default:
			b.rows++
			if !done[b.index] {
				l.normalize(b, rd, row, parser, loc)
			}
		}
		rows++
		if b.rows == dialerd.UploadBatchRows {
			if !emit() {
				return produceResult{total: -1, reason: "stopped"}
			}
		}
	}
	total := index
	if b.rows > 0 {
		total++
	}
	if !emit() {
		return produceResult{total: -1, reason: "stopped"}
	}
	return produceResult{total: total}
}

func readReason(src *chunkReader, err error) string {
	if src.err != nil {
		err = src.err
	}
	return sentence(err)
}

// sentence is an error's message for a person, ending with one full stop.
func sentence(err error) string {
	msg := err.Error()
	var de *dialerd.Error
	if errors.As(err, &de) {
		msg = de.Message
	}
	msg = strings.TrimSpace(msg)
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// normalize adds a row to its batch as a prospect, or as invalid with
// every field at fault.
func (l *loader) normalize(b *parsed, rd *intake.Reader, row intake.Row, parser *phone.Parser, loc *dialerd.Locale) {
	p, err := rd.Prospect(row, parser, loc)
	if err == nil {
		b.prospects = append(b.prospects, encodedProspect{phone: p.Phone, data: p.ProspectData.AppendJSON(make([]byte, 0, 384)), bucket: dialer.BucketKey(p.State, p.Timezones)})
		b.rowNums = append(b.rowNums, row.Row)
		return
	}
	b.nInvalid++
	var de *dialerd.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		b.invalid = append(b.invalid, dialerd.UploadRowError{Row: row.Row, Line: row.Line, Reason: err.Error()})
		return
	}
	cols := make([]string, 0, len(de.Fields))
	for c := range de.Fields {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		b.invalid = append(b.invalid, dialerd.UploadRowError{Row: row.Row, Line: row.Line, Column: c, Reason: strings.Join(de.Fields[c], " ")})
	}
}

// claim asks the campaign which of a batch's numbers are duplicates and
// returns the batch's write without them. Claims are keyed by upload and
// batch, and writes check the batch's done marker, so both can be made
// again after a failure or a crash without a row counted or stored twice.
func (l *loader) claim(ctx context.Context, b *parsed) (*batchDone, error) {
	phones := make([]string, len(b.prospects))
	for i, p := range b.prospects {
		phones[i] = p.phone
	}
	claim, err := json.Marshal(dialerd.PhoneClaim{Phones: phones, List: l.list, Key: dialerd.UploadClaimKey(l.up.UUID, b.index), Upload: l.up.UUID, Dedupe: l.up.Dedupe})
	if err != nil {
		return nil, err
	}
	var claimed dialerd.ClaimResult
	err = retry(ctx, func() error {
		res, err := l.request(ctx, KindCampaign, l.up.Campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_CLAIM_PHONES, Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: claim})
		if err != nil {
			return err
		}
		body, err := ReplyBody(res)
		if err != nil {
			return err
		}
		return json.Unmarshal(body, &claimed)
	})
	if err != nil {
		return nil, fmt.Errorf("claiming its numbers in campaign %q: %w", l.up.Campaign, err)
	}
	dups := claimed.Dups
	isDup := make([]bool, len(b.prospects))
	for _, i := range dups {
		if i >= 0 && i < len(isDup) {
			isDup[i] = true
		}
	}
	accepted := make([]encodedProspect, 0, len(b.prospects)-len(dups))
	for i, p := range b.prospects {
		if !isDup[i] {
			accepted = append(accepted, p)
		}
	}
	errs := b.invalid
	if len(errs) > dialerd.MaxUploadErrors {
		errs = errs[:dialerd.MaxUploadErrors]
	}
	result := dialerd.BatchResult{Rows: b.rows, Accepted: len(accepted), Duplicates: len(dups), Invalid: b.nInvalid, Errors: errs, End: b.end}
	return &batchDone{upload: l.up.UUID, index: b.index, prospects: accepted, result: result, dedupe: l.up.Dedupe, dupeDays: claimed.DupeDays}, nil
}

// write has the list grain store a claimed batch.
func (l *loader) write(ctx context.Context, m *batchDone) error {
	return retry(ctx, func() error {
		attempt := *m // a late answer to an earlier attempt must not race this one
		attempt.reply = make(chan error, 1)
		l.send(&attempt)
		select {
		case err := <-attempt.reply:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * storeTimeout):
			return errors.New("the list did not answer")
		}
	})
}

// retry calls fn until it succeeds, the backoff runs out or ctx ends. Not
// found and invalid answers are final.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for _, wait := range batchBackoff {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err = fn(); err == nil {
			return nil
		}
		switch dialerd.ErrorCode(err) {
		case dialerd.ENOTFOUND, dialerd.EINVALID, dialerd.ECONFLICT:
			return err
		}
	}
	return err
}

// chunkReader reads an upload's file from its chunks in the store, one
// chunk in memory at a time.
type chunkReader struct {
	ctx      context.Context
	store    dialerd.Store
	identity string
	upload   string
	chunks   int
	next     int
	buf      []byte
	err      error // a store failure, as opposed to the file's end
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.next == r.chunks {
			return 0, io.EOF
		}
		v, err := r.store.Get(r.ctx, r.identity, chunkKey(r.upload, r.next))
		if err == nil && v == nil {
			err = fmt.Errorf("chunk %d of the file is missing", r.next)
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		r.buf, r.next = v, r.next+1
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
