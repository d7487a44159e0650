package ctl

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws the progress of a long operation, phase by phase (bytes
// sent, then rows processed). On a terminal it redraws one line in place
// (\r) up to ten times a second; elsewhere (CI logs, tests) it prints a
// line at most once per `every` and at each phase's start and end, so a log
// shows the operation moving without drowning in lines.
type progress struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	width int           // of the bar, in characters
	every time.Duration // between lines when not a terminal

	phase      string
	phaseStart time.Time
	lastDraw   time.Time
	fresh      bool // the phase has drawn nothing yet
	open       bool // terminal: a line is drawn without its newline
	lastLen    int
}

func newProgress(w io.Writer, tty bool, now func() time.Time) *progress {
	return &progress{w: w, tty: tty, now: now, width: 20, every: time.Second}
}

// begin starts phase label unless it is the current one.
func (p *progress) begin(label string) {
	if label == p.phase {
		return
	}
	p.end()
	p.phase, p.phaseStart, p.fresh = label, p.now(), true
}

// end closes a line left open on a terminal.
func (p *progress) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open, p.lastLen = false, 0
	}
}

// Bytes shows done of total bytes sent; final marks the phase's end.
func (p *progress) Bytes(label string, done, total int64, final bool) {
	p.begin(label)
	el := p.now().Sub(p.phaseStart)
	f := fraction(done, total, final)
	amount := humanBytes(float64(done)) + " / " + humanBytes(float64(total))
	p.draw(renderLine(label, f, amount, rate(float64(done), el, humanBytes), remaining(f, el, final), el, final, p.width), final)
}

// Rows shows rows processed; how far through the file they are (bytes
// done of total) gives the fraction, since the number of rows is not known
// until the file has been read whole.
func (p *progress) Rows(label string, rows int, done, total int64, final bool) {
	p.begin(label)
	el := p.now().Sub(p.phaseStart)
	f := fraction(done, total, final)
	perSec := func(v float64) string { return count(int64(math.Round(v))) + " rows" }
	p.draw(renderLine(label, f, count(rows)+" rows", rate(float64(rows), el, perSec), remaining(f, el, final), el, final, p.width), final)
}

func (p *progress) draw(line string, final bool) {
	now := p.now()
	if p.tty {
		if !final && !p.fresh && now.Sub(p.lastDraw) < 100*time.Millisecond {
			return
		}
		out := "\r" + line
		if pad := p.lastLen - len(line); pad > 0 {
			out += strings.Repeat(" ", pad)
		}
		io.WriteString(p.w, out)
		p.open, p.lastLen = true, len(line)
		if final {
			p.end()
		}
	} else {
		if !final && !p.fresh && now.Sub(p.lastDraw) < p.every {
			return
		}
		fmt.Fprintln(p.w, line)
	}
	p.lastDraw, p.fresh = now, false
	if final {
		p.phase = "" // a phase that ends and starts again draws afresh
	}
}

// fraction is done/total in [0, 1]; -1 when unknown. A final phase is whole.
func fraction(done, total int64, final bool) float64 {
	switch {
	case final:
		return 1
	case total <= 0:
		return -1
	}
	return math.Min(1, math.Max(0, float64(done)/float64(total)))
}

// rate is amount per second over el, formatted; "" when too early to say.
func rate(amount float64, el time.Duration, format func(float64) string) string {
	if el < 200*time.Millisecond {
		return ""
	}
	return format(amount/el.Seconds()) + "/s"
}

// remaining estimates the time left from the fraction done in el; -1 when
// it cannot be told.
func remaining(f float64, el time.Duration, final bool) time.Duration {
	if final || f <= 0 || el < 200*time.Millisecond {
		return -1
	}
	return time.Duration(float64(el) * (1 - f) / f).Round(100 * time.Millisecond)
}

// renderLine is one line of progress:
//
//	sending  [==========>           ]  45%  4.5 MiB / 10.0 MiB  2.1 MiB/s  ETA 3s
//	rows     [======================] 100%  5,000 rows  3,120 rows/s  in 1.6s
func renderLine(label string, f float64, amount, rate string, eta, el time.Duration, final bool, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s ", label)
	if f >= 0 {
		filled := int(f * float64(width))
		bar := strings.Repeat("=", filled)
		if filled < width {
			bar += ">" + strings.Repeat(" ", width-filled-1)
		}
		fmt.Fprintf(&b, "[%s] %3d%%", bar, int(f*100))
	} else {
		fmt.Fprintf(&b, "[%s]  ...", strings.Repeat(" ", width))
	}
	b.WriteString("  " + amount)
	if rate != "" {
		b.WriteString("  " + rate)
	}
	switch {
	case final:
		b.WriteString("  in " + shortDuration(el))
	case eta >= 0:
		b.WriteString("  ETA " + shortDuration(eta))
	}
	return b.String()
}

// humanBytes writes a size in IEC units: 512 B, 4.5 KiB, 10.0 MiB.
func humanBytes(n float64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	exp, v := 0, n/unit
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[exp])
}

// shortDuration writes a duration for people: 850ms, 3.2s, 4m05s, 2h10m.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// countingReader counts the bytes read through it: what an upload has
// sent, read by the progress loop while the HTTP transport reads the file.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
