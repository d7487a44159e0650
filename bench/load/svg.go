package load

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// The chart's geometry, in SVG user units (pixels at 100 %).
const (
	svgWidth   = 960
	panelH     = 300
	marginL    = 70
	marginR    = 70
	marginTop  = 56
	panelGap   = 70
	axisBottom = 40
)

var (
	colOK     = "#1f77b4"
	colErr    = "#d62728"
	colP99    = "#ff7f0e"
	colTarget = "#7f7f7f"
	// p50, p90, p99, p99.9: light to dark, so the eye reads the tail
	// as the heavier bar.
	colPct = [4]string{"#c6dbef", "#6baed6", "#2171b5", "#08306b"}
)

// SVG writes a chart of r: throughput per second over the run (successful
// and failed responses, and in the open loop the target rate) with the
// p99 of each second on a second axis, then each op's latency
// percentiles as bars on a log scale. It is plain SVG 1.1 with no script
// or external reference, for a browser or a Markdown viewer.
func (r *Result) SVG(w io.Writer) error {
	var b bytes.Buffer
	height := marginTop + panelH + axisBottom + panelGap + panelH + axisBottom + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	title := r.Name
	if title == "" {
		title = "load"
	}
	text(&b, svgWidth/2, 22, "middle", 16, "bold", title)
	text(&b, svgWidth/2, 40, "middle", 12, "", r.Describe())
	top := marginTop
	r.throughputPanel(&b, top)
	r.latencyPanel(&b, top+panelH+axisBottom+panelGap)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Result) throughputPanel(b *bytes.Buffer, top int) {
	x0, x1 := float64(marginL), float64(svgWidth-marginR)
	y0, y1 := float64(top+panelH), float64(top+20) // y grows downwards
	text(b, marginL, top+8, "start", 13, "bold", "Responses per second")

	tEnd := r.Elapsed
	for _, t := range r.Timeline {
		tEnd = math.Max(tEnd, t.T)
	}
	tEnd = math.Max(tEnd, 1)
	var peak float64
	var p99Peak int64
	for _, t := range r.Timeline {
		if t.Span > 0 {
			peak = math.Max(peak, float64(t.OK+t.Errors)/t.Span)
		}
		p99Peak = max(p99Peak, t.P99)
	}
	peak = math.Max(peak, r.Rate)
	yMax, yStep := niceScale(peak)
	// The time axis ends with the run, its ticks at round steps.
	xMax := tEnd
	_, xStep := niceScale(tEnd)
	px := func(t float64) float64 { return x0 + (x1-x0)*t/xMax }
	py := func(v float64) float64 { return y0 - (y0-y1)*v/yMax }

	// Grid and axes.
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		y := py(v)
		line(b, x0, y, x1, y, "#e5e5e5", 1, "")
		text(b, int(x0)-6, int(y)+4, "end", 11, "", compact(v))
	}
	for t := 0.0; t <= xMax*1.0001; t += xStep {
		x := px(t)
		line(b, x, y0, x, y0+4, "#333", 1, "")
		text(b, int(x), int(y0)+17, "middle", 11, "", compact(t))
	}
	line(b, x0, y0, x1, y0, "#333", 1, "")
	line(b, x0, y0, x0, y1, "#333", 1, "")
	text(b, int((x0+x1)/2), int(y0)+34, "middle", 11, "", "seconds since start")
	vtext(b, 16, int((y0+y1)/2), "responses/s")

	if r.Rate > 0 {
		line(b, x0, py(r.Rate), x1, py(r.Rate), colTarget, 1.5, "6 4")
	}
	// Each tick is a step over the time it covers: its rate held from
	// its start to its end, which is what was measured (a line from
	// tick to tick would invent a ramp between them).
	var okPts, errPts []string
	for _, t := range r.Timeline {
		if t.Span <= 0 {
			continue
		}
		okv, errv := py(float64(t.OK)/t.Span), py(float64(t.Errors)/t.Span)
		okPts = append(okPts, point(px(t.T-t.Span), okv), point(px(t.T), okv))
		errPts = append(errPts, point(px(t.T-t.Span), errv), point(px(t.T), errv))
	}
	polyline(b, okPts, colOK, 2, "")
	if r.Total.Errors > 0 {
		polyline(b, errPts, colErr, 2, "")
	}

	// p99 per second, on its own axis at the right.
	if p99Peak > 0 {
		pMax, pStep := niceScale(float64(p99Peak) / 1000)
		pp := func(msv float64) float64 { return y0 - (y0-y1)*msv/pMax }
		for v := 0.0; v <= pMax+pStep/2; v += pStep {
			text(b, int(x1)+6, int(pp(v))+4, "start", 11, "", compact(v))
		}
		line(b, x1, y0, x1, y1, colP99, 1, "")
		vtext(b, svgWidth-14, int((y0+y1)/2), "p99 ms (per second)")
		var pts []string
		for _, t := range r.Timeline {
			if t.P99 > 0 && t.Span > 0 {
				y := pp(float64(t.P99) / 1000)
				pts = append(pts, point(px(t.T-t.Span), y), point(px(t.T), y))
			}
		}
		polyline(b, pts, colP99, 1.5, "4 3")
	}

	items := []legendItem{{colOK, "ok/s", ""}}
	if r.Total.Errors > 0 {
		items = append(items, legendItem{colErr, "errors/s", ""})
	}
	if r.Rate > 0 {
		items = append(items, legendItem{colTarget, fmt.Sprintf("target %g/s", r.Rate), "6 4"})
	}
	if p99Peak > 0 {
		items = append(items, legendItem{colP99, "p99 ms (right axis)", "4 3"})
	}
	legend(b, x1, float64(top+4), items, false)
}

type legendItem struct{ color, label, dash string }

// legend draws items in a row that ends at x, on the panel's title line.
func legend(b *bytes.Buffer, x, y float64, items []legendItem, boxes bool) {
	width := func(it legendItem) float64 { return 32 + 6.5*float64(len(it.label)) + 14 }
	for _, it := range items {
		x -= width(it)
	}
	for _, it := range items {
		if boxes {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", x+10, y-6, it.color)
		} else {
			line(b, x, y, x+22, y, it.color, 2, it.dash)
		}
		text(b, int(x)+27, int(y)+4, "start", 11, "", it.label)
		x += width(it)
	}
}

func (r *Result) latencyPanel(b *bytes.Buffer, top int) {
	x0, x1 := float64(marginL), float64(svgWidth-marginR)
	y0, y1 := float64(top+panelH), float64(top+20)
	text(b, marginL, top+8, "start", 13, "bold", "Latency of successful responses by op (log scale)")

	ops := append(append([]OpResult(nil), r.Ops...), r.Total)
	lo, hi := math.Inf(1), 0.0
	for _, o := range ops {
		l := o.Latency
		for _, v := range []int64{l.P50, l.P90, l.P99, l.P999} {
			if v > 0 {
				lo = math.Min(lo, float64(v)/1000)
				hi = math.Max(hi, float64(v)/1000)
			}
		}
	}
	if hi == 0 {
		text(b, int((x0+x1)/2), int((y0+y1)/2), "middle", 13, "", "no successful response")
		return
	}
	// Whole decades around the values, at least two.
	// The smallest bar stands at least a third of a decade tall.
	dLo := math.Floor(math.Log10(lo / 2))
	dHi := math.Max(math.Ceil(math.Log10(hi)), dLo+2)
	py := func(msv float64) float64 {
		return y0 - (y0-y1)*(math.Log10(msv)-dLo)/(dHi-dLo)
	}
	for d := dLo; d <= dHi; d++ {
		y := py(math.Pow(10, d))
		line(b, x0, y, x1, y, "#d9d9d9", 1, "")
		text(b, int(x0)-6, int(y)+4, "end", 11, "", compact(math.Pow(10, d)))
		for k := 2.0; k < 10 && d < dHi; k++ {
			y := py(k * math.Pow(10, d))
			line(b, x0, y, x0+5, y, "#999", 1, "")
		}
	}
	line(b, x0, y0, x1, y0, "#333", 1, "")
	line(b, x0, y0, x0, y1, "#333", 1, "")
	vtext(b, 16, int((y0+y1)/2), "milliseconds")

	group := (x1 - x0) / float64(len(ops))
	bar := math.Min(28, group*0.8/4)
	for i, o := range ops {
		l := o.Latency
		gx := x0 + group*float64(i) + (group-4*bar)/2
		for k, v := range []int64{l.P50, l.P90, l.P99, l.P999} {
			if v <= 0 {
				continue
			}
			y := py(float64(v) / 1000)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s p%s: %s ms</title></rect>`+"\n",
				gx+float64(k)*bar, y, bar-2, y0-y, colPct[k], html.EscapeString(o.Op), []string{"50", "90", "99", "99.9"}[k], ms(v))
			if k == 2 {
				text(b, int(gx+float64(k)*bar+bar/2-1), int(y)-4, "middle", 10, "", ms(v))
			}
		}
		weight := "bold"
		if o.Op != "total" {
			weight = ""
		}
		text(b, int(x0+group*float64(i)+group/2), int(y0)+16, "middle", 12, weight, o.Op)
		sub := fmt.Sprintf("%.0f ok/s", o.Throughput)
		if o.Errors > 0 {
			sub += fmt.Sprintf(", %d err", o.Errors)
		}
		text(b, int(x0+group*float64(i)+group/2), int(y0)+30, "middle", 10, "", sub)
		if o.OK == 0 {
			text(b, int(x0+group*float64(i)+group/2), int(y0)-8, "middle", 11, "", "no ok response")
		}
	}
	var items []legendItem
	for k, name := range []string{"p50", "p90", "p99", "p99.9"} {
		items = append(items, legendItem{colPct[k], name, ""})
	}
	legend(b, x1, float64(top+4), items, true)
}

// niceScale returns an axis maximum ≥ v and a step of 1, 2 or 5 × 10^k
// giving four to ten gridlines.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return math.Ceil(v/step) * step, step
}

// compact formats an axis label: 1200 → 1.2k, 0.05 → 0.05.
func compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZeros(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 1 || a == 0:
		return trimZeros(fmt.Sprintf("%.1f", v))
	}
	return trimZeros(fmt.Sprintf("%.3f", v))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func point(x, y float64) string { return fmt.Sprintf("%.1f,%.1f", x, y) }

func polyline(b *bytes.Buffer, pts []string, color string, width float64, dash string) {
	if len(pts) < 2 {
		return
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="%g"%s points="%s"/>`+"\n", color, width, dashAttr(dash), strings.Join(pts, " "))
}

func line(b *bytes.Buffer, xa, ya, xb, yb float64, color string, width float64, dash string) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%g"%s/>`+"\n", xa, ya, xb, yb, color, width, dashAttr(dash))
}

func dashAttr(dash string) string {
	if dash == "" {
		return ""
	}
	return ` stroke-dasharray="` + dash + `"`
}

func text(b *bytes.Buffer, x, y int, anchor string, size int, weight, s string) {
	w := ""
	if weight != "" {
		w = ` font-weight="` + weight + `"`
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" font-size="%d"%s>%s</text>`+"\n", x, y, anchor, size, w, html.EscapeString(s))
}

// vtext is a label written upwards along a vertical axis.
func vtext(b *bytes.Buffer, x, y int, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="11" transform="rotate(-90 %d %d)">%s</text>`+"\n", x, y, x, y, html.EscapeString(s))
}
