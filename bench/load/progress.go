package load

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress writes the display the monitor gives it every second.
type progress struct {
	w        io.Writer
	redraw   bool
	every    int // ticks between lines, when not redrawing
	ticks    int
	name     string
	duration time.Duration
	limit    int64
	width    int // of the line last drawn, to blank what is left of it
}

func newProgress(cfg Config) *progress {
	p := &progress{w: cfg.Progress, every: 5, name: cfg.Name, duration: cfg.Duration, limit: cfg.Requests}
	switch cfg.ProgressMode {
	case ProgressRedraw:
		p.redraw = true
	case ProgressLines:
	default:
		p.redraw = isTerminal(cfg.Progress)
	}
	return p
}

// isTerminal reports whether w is a character device (a terminal), with
// no dependency: the display only needs to know whether "\r" redraws.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) show(elapsed time.Duration, cur, prev *tickState, final bool) {
	p.ticks++
	if !final && !p.redraw && p.ticks%p.every != 0 {
		return
	}
	var line strings.Builder
	if p.name != "" {
		line.WriteString(p.name + "  ")
	}
	line.WriteString(elapsed.Truncate(100 * time.Millisecond).String())
	if p.duration > 0 {
		line.WriteString("/" + p.duration.String())
	}
	fmt.Fprintf(&line, "  %d", cur.requests)
	if p.limit > 0 {
		fmt.Fprintf(&line, "/%d", p.limit)
	}
	line.WriteString(" req")
	if span := cur.at.Sub(prev.at).Seconds(); span > 0 && !final {
		fmt.Fprintf(&line, "  %.0f req/s", float64(cur.requests-prev.requests)/span)
	} else if final && elapsed > 0 {
		fmt.Fprintf(&line, "  %.0f req/s overall", float64(cur.requests)/elapsed.Seconds())
	}
	fmt.Fprintf(&line, "  %d errors  p99 %s ms", cur.errs, ms(coarsePercentile(&cur.lat, 99)))
	if final {
		line.WriteString("  done")
	}
	s := line.String()
	if !p.redraw {
		fmt.Fprintln(p.w, s)
		return
	}
	pad := ""
	if n := len(s); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	}
	p.width = len(s)
	if final {
		fmt.Fprint(p.w, "\r"+s+pad+"\n")
	} else {
		fmt.Fprint(p.w, "\r"+s+pad)
	}
}
