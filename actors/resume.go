package actors

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// ResumeUploads finds the lists with unfinished uploads and asks each to
// resume them: every interval, and shortly after each kick (a shard newly
// served here), until ctx ends. After a crash nothing else would wake
// those lists' grains; after a shard hand-over the new owner's grain starts
// only when asked. Asking a list that is already working is harmless: it
// resumes only uploads nothing is running.
func ResumeUploads(ctx context.Context, store dialerd.Store, request RequestFunc, interval time.Duration, kick <-chan struct{}, log *slog.Logger) {
	every(ctx, interval, kick, func() { resumeOnce(ctx, store, request, log) })
}

// every runs f a second after the start, then every interval, and shortly
// after each kick, until ctx ends.
func every(ctx context.Context, interval time.Duration, kick <-chan struct{}, f func()) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
			// Shards are taken over in bursts: one pass for the burst.
			select {
			case <-ctx.Done():
				return
			case <-time.After(resumeDebounce):
			}
		}
		f()
		t.Reset(interval)
	}
}

const resumeDebounce = 300 * time.Millisecond

func resumeOnce(ctx context.Context, store dialerd.Store, request RequestFunc, log *slog.Logger) {
	c, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	lists := map[string]bool{}
	err := store.ScanIndex(c, indexUploadActive, "", func(key string, _ []byte) error {
		if list, _, ok := strings.Cut(key, "\x00"); ok {
			lists[list] = true
		}
		return nil
	})
	if err != nil {
		log.Debug("listing unfinished uploads failed; will try again", "err", err)
		return
	}
	for list := range lists {
		res, err := request(c, KindList, list, &pb.ListRequest{Op: pb.ListOp_LIST_RESUME, Scope: ScopeToPB(dialerd.Principal{Admin: true})})
		if err == nil {
			_, err = ReplyBody(res)
		}
		if err != nil {
			log.Warn("could not resume a list's uploads; will try again", "list", list, "err", err)
		}
	}
}

// WakeCampaigns asks every active campaign's grain to dial: every
// interval, and shortly after each kick (a shard newly served here). A
// campaign grain ticks once started, but after a restart or a take-over
// nothing else would start it. Waking a ticking campaign is harmless.
func WakeCampaigns(ctx context.Context, store dialerd.Store, request RequestFunc, interval time.Duration, kick <-chan struct{}, log *slog.Logger) {
	every(ctx, interval, kick, func() { wakeOnce(ctx, store, request, log) })
}

func wakeOnce(ctx context.Context, store dialerd.Store, request RequestFunc, log *slog.Logger) {
	c, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var slugs []string
	err := store.ScanIndex(c, indexCampaignDialing, "", func(key string, _ []byte) error {
		slugs = append(slugs, key)
		return nil
	})
	if err != nil {
		log.Debug("listing active campaigns failed; will try again", "err", err)
		return
	}
	for _, slug := range slugs {
		// Each node wakes the campaigns it serves: a wake is then local,
		// and a cluster is not asked n times over.
		if store.Serving(KindCampaign+"/"+slug) != nil {
			continue
		}
		res, err := request(c, KindCampaign, slug, &pb.CampaignRequest{Op: pb.CampaignOp_CAMPAIGN_WAKE, Scope: ScopeToPB(dialerd.Principal{Admin: true})})
		if err == nil {
			_, err = ReplyBody(res)
		}
		if err != nil && dialerd.ErrorCode(err) != dialerd.ENOTFOUND {
			log.Warn("could not wake a campaign; will try again", "campaign", slug, "err", err)
		}
	}
}
