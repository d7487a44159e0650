package dialer

import "math"

// Governor keeps a campaign's abandon rate (answered calls abandoned for
// want of a seat, over answered calls) under max_abandon_rate by lowering
// the effective call ratio, never above call_ratio (DESIGN §5). It steers
// on a short memory of recent answered calls — the 30-day figure moves too
// slowly to steer by — and aims below the target, so the 30-day rate the
// law measures stays under it: over-dialing is cut multiplicatively as soon
// as the recent rate nears the aim, and raised back in small steps while
// it is well under.
type Governor struct {
	// recent is an exponentially weighted abandon fraction of the last
	// ~Memory answered calls; n counts those seen (up to Memory).
	recent float64
	n      int
}

const (
	// GovernorMemory is how many answered calls the recent rate weighs.
	GovernorMemory = 200
	// governorAim is the share of the target the governor steers to.
	governorAim = 0.5
	// governorWarmup: before this many answered calls the ratio stays at
	// or under 1 (no over-dialing without evidence it is safe).
	governorWarmup = 30
)

// Observe records an answered call's fate: abandoned or given a seat.
func (g *Governor) Observe(abandoned bool) {
	x := 0.0
	if abandoned {
		x = 1
	}
	if g.n < GovernorMemory {
		g.n++
	}
	g.recent += (x - g.recent) / float64(g.n)
}

// Ratio is the next effective ratio from the current one: target is
// max_abandon_rate as a fraction (0.03), callRatio the campaign's ceiling.
func (g *Governor) Ratio(current, callRatio, target float64) float64 {
	floor := math.Min(1, callRatio)
	if g.n < governorWarmup {
		return floor
	}
	aim := target * governorAim
	switch {
	case g.recent > aim:
		current *= 0.8
	case g.recent < aim/2:
		current += 0.02
	}
	return math.Max(floor, math.Min(callRatio, current))
}
