package dialer

import (
	"math/rand/v2"
	"time"
)

// SimPhone is the sim provider's telephone: for each call it draws, from
// its seeded generator, how the call turns out, how long it rings and, if
// a person answers, how long they talk. The provider plays these out on
// the node's clock, so under a virtual clock days pass in minutes.
type SimPhone struct {
	Answer, Machine, Busy, Failed float64 // rates; the rest is no answer
	RingMin, RingMax              time.Duration
	TalkMin, TalkMax              time.Duration
	rng                           *rand.Rand
}

// NewSimPhone returns the default telephone: 35% answered, 10% machine,
// 5% busy, 2% failed; rings of 3–40 s; talks of 20 s–10 min.
func NewSimPhone(seed uint64) *SimPhone {
	return &SimPhone{Answer: 0.35, Machine: 0.10, Busy: 0.05, Failed: 0.02,
		RingMin: 3 * time.Second, RingMax: 40 * time.Second, TalkMin: 20 * time.Second, TalkMax: 10 * time.Minute,
		rng: rand.New(rand.NewPCG(seed, 0x51a))}
}

// SimCall is how one simulated call goes.
type SimCall struct {
	Outcome string
	Ring    time.Duration // until answered or given up
	Talk    time.Duration // when answered: once a seat takes it
}

// Place draws a call.
func (p *SimPhone) Place() SimCall {
	c := SimCall{Outcome: OutcomeNoAnswer, Ring: p.between(p.RingMin, p.RingMax)}
	switch x := p.rng.Float64(); {
	case x < p.Answer:
		c.Outcome, c.Talk = OutcomeAnswered, p.between(p.TalkMin, p.TalkMax)
	case x < p.Answer+p.Machine:
		c.Outcome = OutcomeMachine
	case x < p.Answer+p.Machine+p.Busy:
		c.Outcome = OutcomeBusy
	case x < p.Answer+p.Machine+p.Busy+p.Failed:
		c.Outcome = OutcomeFailed
	default:
		// Nobody answers: the dialer lets it ring at least MinRing.
		c.Ring = p.between(max(p.RingMin, MinRing), max(p.RingMax, MinRing))
	}
	return c
}

func (p *SimPhone) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(p.rng.Int64N(int64(hi-lo)+1))
}
