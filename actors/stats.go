package actors

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
)

// The campaign's figures minute by minute, for wallboards: the daily
// figures (st/<day>) at a finer grain, kept for a day. Keys:
//
//	sm/<minute>  attempts, answered and abandoned in a UTC minute
//	             (minuteLayout), written in the batch of the call records
//	             they count, so a restart finds them as the call log
//	             says; deleted once older than a day.
//
// A minute's attempts are the calls placed in it, its answered those
// answered in it, and its abandoned those of its answered that were
// abandoned, whenever that happened: its abandon rate is then a share of
// its own answered calls, never above 1.

const minuteLayout = "2006-01-02T15:04"

// minuteKeep is how far back minutes are kept: the longest series asked.
const minuteKeep = dialerd.MaxSeriesMinutes * time.Minute

func minuteKey(t time.Time) string { return t.UTC().Format(minuteLayout) }

// minute returns t's minute figures, to be written at the next flush.
func (d *dialing) minute(t time.Time) *dayStats {
	k := minuteKey(t)
	s := d.minutes[k]
	if s == nil {
		s = &dayStats{}
		d.minutes[k] = s
	}
	d.dirtyMinutes[k] = true
	return s
}

// series is the n minutes ending with now's, oldest first, zero-filled,
// from minute figures keyed by minuteKey.
func series(minutes map[string]*dayStats, now time.Time, n int) []dialerd.MinutePoint {
	end := now.UTC().Truncate(time.Minute)
	pts := make([]dialerd.MinutePoint, n)
	for i := range pts {
		m := end.Add(time.Duration(i-n+1) * time.Minute)
		p := dialerd.MinutePoint{Minute: m}
		if s := minutes[minuteKey(m)]; s != nil {
			p.Attempts, p.Answered, p.Abandoned = s.Attempts, s.Answered, s.Abandoned
			if s.Answered > 0 {
				p.AbandonRate = float64(s.Abandoned) / float64(s.Answered)
			}
		}
		pts[i] = p
	}
	return pts
}

// staleMinutes returns the keys of minutes older than minuteKeep before
// now, in order.
func staleMinutes(minutes map[string]*dayStats, now time.Time) []string {
	cut := minuteKey(now.Add(-minuteKeep))
	var out []string
	for k := range minutes {
		if k < cut {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (g *campaignGrain) loadMinutes() error {
	c, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	minutes := map[string]*dayStats{}
	err := g.deps.Store.Scan(c, g.identity, "sm/", func(key string, v []byte) error {
		var s dayStats
		if json.Unmarshal(v, &s) == nil {
			minutes[strings.TrimPrefix(key, "sm/")] = &s
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.d.minutes, g.d.prunedAt = minutes, ""
	return nil
}

// seriesDoc answers GET …/stats/: the last minutes minutes, as of the
// campaign's clock now, with what is not yet written.
func (g *campaignGrain) seriesDoc(minutes int) ([]byte, error) {
	if minutes <= 0 || minutes > dialerd.MaxSeriesMinutes {
		minutes = dialerd.DefaultSeriesMinutes
	}
	if g.d.minutes == nil {
		if err := g.loadMinutes(); err != nil {
			return nil, storeErr(g.log, err)
		}
	}
	now := g.deps.Clock.Now()
	return json.Marshal(dialerd.CampaignSeries{Slug: g.slug, Now: now.UTC().Truncate(time.Second), Points: series(g.d.minutes, now, minutes)})
}
