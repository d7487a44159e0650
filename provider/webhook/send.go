package webhook

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// send delivers t, retrying what may succeed later until GiveUp has passed
// since it was asked for.
func (w *Webhook) send(t *task) {
	target := w.base + "/calls"
	if t.op != opPlace {
		target += "/" + url.PathEscape(t.call) + "/" + t.op.String()
	}
	deadline := t.at.Add(w.cfg.GiveUp)
	// A place that waited out GiveUp in the queue is stale for the dialer
	// too; failing it at once is what drains a backlog after an outage.
	if t.op == opPlace && !w.cfg.Clock.Now().Before(deadline) {
		w.fail(t, fmt.Sprintf("not sent within %s: platform backlog", w.cfg.GiveUp), nil)
		return
	}
	for attempt := 1; ; attempt++ {
		if t.op == opPlace && t.fence != nil {
			if err := t.fence(); err != nil {
				w.log.Warn("not placing a call its campaign no longer owns", "campaign", t.campaign, "call", t.call, "err", err)
				return
			}
		}
		status, err := w.post(t, target)
		if w.ctx.Err() != nil {
			return
		}
		what := describe(status, err)
		switch {
		case err == nil && status/100 == 2:
			return
		case err == nil && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && status < 500:
			w.fail(t, "platform refused it: "+what, err)
			return
		}
		if w.isStopped(t) {
			return
		}
		now := w.cfg.Clock.Now()
		if !now.Before(deadline) {
			w.fail(t, fmt.Sprintf("platform unavailable for %s: %s", w.cfg.GiveUp, what), err)
			return
		}
		d := min(w.backoff(t, attempt), deadline.Sub(now))
		w.log.Debug("retrying", "op", t.op, "campaign", t.campaign, "call", t.call, "attempt", attempt, "after", d, "failure", what, "err", err)
		if !w.sleep(d) {
			return
		}
	}
}

// post makes one attempt: the status, or the error of a request that got
// no response.
func (w *Webhook) post(t *task, target string) (int, error) {
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	timer := w.cfg.Clock.AfterFunc(w.cfg.RequestTimeout, cancel)
	defer timer.Stop()
	var body io.Reader = bytes.NewReader(t.body)
	if t.op == opPlace && t.fence != nil {
		// Asked again as the body goes out, once the connection is
		// there: a node frozen while it connected must not send the
		// place when it thaws. Cut off here, the request is incomplete,
		// and its signature covers the whole body: no platform can take
		// it for a place.
		body = &fencedBody{r: bytes.NewReader(t.body), fence: t.fence}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(len(t.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Dialerd-Signature", Sign(w.cfg.Secret, w.cfg.Clock.Now(), t.body))
	req.Header.Set("Idempotency-Key", url.PathEscape(t.call)+"/"+t.op.String())
	if w.cfg.Node != "" {
		req.Header.Set("X-Dialerd-Node", w.cfg.Node)
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil && w.ctx.Err() == nil {
			return 0, fmt.Errorf("no response within %s", w.cfg.RequestTimeout)
		}
		return 0, err
	}
	// Read a little of the body so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// describe says briefly how an attempt failed, for the failed event's
// reason: the error itself, which names the platform's URL, goes to the log.
func describe(status int, err error) string {
	if err != nil {
		return "no response"
	}
	return fmt.Sprintf("HTTP %d", status)
}

// fail gives up on t: a place is reported failed, unless the dialer hung
// it up meanwhile; a connect or hangup is the platform's to sort out.
func (w *Webhook) fail(t *task, reason string, err error) {
	w.log.Warn("gave up on a request to the platform", "op", t.op, "campaign", t.campaign, "call", t.call, "reason", reason, "err", err)
	if t.op == opPlace && !w.isStopped(t) {
		w.report(t.campaign, t.call, reason)
	}
}

func (w *Webhook) isStopped(t *task) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return t.stopped
}

// backoff is the wait after t's attempt-th failure: MinBackoff doubled per
// failure up to MaxBackoff, then jittered between half and all of it. The
// jitter depends only on Seed, the request and the attempt, so a run
// replays exactly from its seed.
func (w *Webhook) backoff(t *task, attempt int) time.Duration {
	d := w.cfg.MinBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	h := fnv.New64a()
	h.Write([]byte(t.call))
	h.Write([]byte{0, byte(t.op)})
	r := rand.New(rand.NewPCG(w.cfg.Seed, h.Sum64()^uint64(attempt)))
	return d/2 + time.Duration(r.Int64N(int64(d/2)+1))
}

// sleep waits d on the clock; false when Close came first.
func (w *Webhook) sleep(d time.Duration) bool {
	done := make(chan struct{})
	timer := w.cfg.Clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-w.ctx.Done():
		timer.Stop()
		return false
	}
}

// fencedBody is a place's body that asks its fence before its first byte
// is read.
type fencedBody struct {
	r       *bytes.Reader
	fence   func() error
	checked bool
}

func (b *fencedBody) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		if err := b.fence(); err != nil {
			return 0, fmt.Errorf("fenced: %w", err)
		}
	}
	return b.r.Read(p)
}
