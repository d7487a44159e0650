package actors

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
	"github.com/dialerd/dialerd/provider"
)

// EventQueue delivers a provider's events to their campaigns in batches:
// each campaign's events are queued, and one goroutine per campaign with
// events sends everything queued in one message. A campaign placing
// thousands of calls a second then gets tens of messages, not thousands of
// goroutines each waiting on it.
type EventQueue struct {
	request RequestFunc
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string][]provider.Event
	running map[string]bool
}

// NewEventQueue returns a queue sending through request.
func NewEventQueue(request RequestFunc, log *slog.Logger) *EventQueue {
	return &EventQueue{request: request, log: log, pending: map[string][]provider.Event{}, running: map[string]bool{}}
}

// Sink is the provider.Sink that queues an event.
func (q *EventQueue) Sink(campaign string, ev provider.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending[campaign] = append(q.pending[campaign], ev)
	if !q.running[campaign] {
		q.running[campaign] = true
		go q.drain(campaign)
	}
}

// eventAttempts bounds the deliveries of one batch: a campaign moving to
// another node answers unavailable for a moment.
const eventAttempts = 5

func (q *EventQueue) drain(campaign string) {
	for {
		q.mu.Lock()
		evs := q.pending[campaign]
		delete(q.pending, campaign)
		if len(evs) == 0 {
			delete(q.running, campaign)
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		body, _ := json.Marshal(evs)
		var err error
		for attempt := 1; attempt <= eventAttempts; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			var res any
			res, err = q.request(ctx, KindCampaign, campaign, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_EVENT,
				Scope: ScopeToPB(dialerd.Principal{Admin: true}), Body: body})
			cancel()
			if err == nil {
				_, err = ReplyBody(res)
			}
			if err == nil || dialerd.ErrorCode(err) != dialerd.EUNAVAILABLE {
				break
			}
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		if err != nil {
			// Its calls are closed as unknown when the campaign starts
			// again; one that goes on will never hear of them.
			q.log.Warn("call events not delivered", "campaign", campaign, "events", len(evs), "err", err)
		}
	}
}
