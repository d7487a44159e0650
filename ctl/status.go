package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dialerd/dialerd"
)

func campaignsStatus(fs *flag.FlagSet) runFunc {
	watch := fs.Bool("watch", false, "redraw every --interval until Ctrl-C")
	interval := fs.Duration("interval", 2*time.Second, "time between two views with --watch")
	return func(ctx context.Context, x *cli, args []string) error {
		if *interval <= 0 {
			return usagef(x.path, "--interval must be positive")
		}
		if !*watch {
			data, err := x.api.get(ctx, campaignPath(args[0])+"status/", campaignWhat(args[0]))
			if err != nil {
				return err
			}
			st, printed, err := decodeAnswer[dialerd.CampaignStatus](x, data)
			if err != nil || printed {
				return err
			}
			return renderStatus(x.stdout, st)
		}
		return x.watchStatus(ctx, args[0], *interval)
	}
}

// watchStatus shows the status every interval until ctx ends (Ctrl-C: a
// normal end, exit 0). On a terminal the view is redrawn in place;
// otherwise each view is a block headed by its time. A node that fails to
// answer for a moment is reported and asked again; an answer that will not
// change by asking again (401, 404) ends the watch.
func (x *cli) watchStatus(ctx context.Context, slug string, interval time.Duration) error {
	for n := 0; ; n++ {
		data, err := x.api.get(ctx, campaignPath(slug)+"status/", campaignWhat(slug))
		if ctx.Err() != nil {
			return nil
		}
		var block bytes.Buffer
		switch {
		case err != nil && !transient(err):
			return err
		case err != nil:
			fmt.Fprintf(&block, "(%s; asking again in %s)\n", err, shortDuration(interval))
		case x.g.json:
			var c bytes.Buffer
			if err := json.Compact(&c, data); err != nil {
				return &failedError{msg: fmt.Sprintf("the node's answer is not JSON (%v)", err)}
			}
			c.WriteByte('\n')
			if _, err := x.stdout.Write(c.Bytes()); err != nil {
				return err
			}
		default:
			var st dialerd.CampaignStatus
			if err := decode(data, &st); err != nil {
				return err
			}
			renderStatus(&block, st)
		}
		if block.Len() > 0 {
			at := x.clock.Now().Format("15:04:05")
			if x.stdoutTTY {
				// Home, clear the screen, draw: a view that stays put.
				fmt.Fprintf(x.stdout, "\x1b[H\x1b[2J%s  every %s  (Ctrl-C to stop)\n\n%s", at, shortDuration(interval), block.Bytes())
			} else {
				if n > 0 {
					fmt.Fprintln(x.stdout)
				}
				fmt.Fprintf(x.stdout, "--- %s %s\n%s", at, slug, block.Bytes())
			}
		}
		if err := x.sleep(ctx, interval); err != nil {
			return nil
		}
	}
}

// transient reports whether asking again may succeed: the node failed or
// could not be reached.
func transient(err error) bool {
	var ae *APIError
	var ne *netError
	return errors.As(err, &ne) || (errors.As(err, &ae) && ae.Status >= 500)
}

// renderStatus writes the compact status view:
//
//	campaign   february-reminders  Stopped  (active)
//	calls      ringing 0   connected 0   queued 0
//	seats      available 0   busy 0   wrap-up 0   paused 0   offline 0
//	prospects  total 5,000   unresolved 4,800   dialable now 0
//	30 days    attempts 812   abandon rate 1.2%   effective call ratio 1.50
//	held back  no_seat: No seat of the agent is available.
func renderStatus(w io.Writer, st dialerd.CampaignStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	settings := "active"
	switch {
	case !st.Active:
		settings = "inactive"
	case st.Paused:
		settings = "active, paused"
	}
	fmt.Fprintf(tw, "campaign\t%s  %s  (%s)\n", st.Slug, st.Status, settings)
	fmt.Fprintf(tw, "calls\tringing %d   connected %d   queued %d\n", st.Calls.Ringing, st.Calls.Connected, st.Calls.Queued)
	fmt.Fprintf(tw, "seats\tavailable %d   busy %d   wrap-up %d   paused %d   offline %d\n",
		st.Seats.Available, st.Seats.Busy, st.Seats.WrapUp, st.Seats.Paused, st.Seats.Offline)
	dialable := count(st.Prospects.DialableNow)
	if st.Prospects.DialableCapped {
		dialable += "+"
	}
	fmt.Fprintf(tw, "prospects\ttotal %s   unresolved %s   dialable now %s\n", count(st.Prospects.Total), count(st.Prospects.Unresolved), dialable)
	fmt.Fprintf(tw, "30 days\tattempts %s   abandon rate %.1f%%   effective call ratio %.2f\n", count(st.Attempts30d), st.AbandonRate30d*100, st.EffectiveCallRatio)
	for i, r := range st.Reasons {
		label := ""
		if i == 0 {
			label = "held back"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, r.Code, strings.TrimSpace(r.Message))
	}
	return tw.Flush()
}
