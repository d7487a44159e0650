// Package sim is the default provider: a simulated carrier and simulated
// agents. Each call's fate is drawn from a seeded dialer.SimPhone (answer,
// no answer, busy, machine, failed; ring and talk times) and played out on
// the node's clock, so under --clock virtual a day of dialing passes in
// minutes.
package sim

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/dialer"
	"github.com/dialerd/dialerd/provider"
)

// Provider is the sim provider.
type Provider struct {
	clock dialerd.Clock
	sink  provider.Sink

	mu     sync.Mutex
	phone  *dialer.SimPhone
	rng    *rand.Rand
	calls  map[string]*call
	closed bool
}

type call struct {
	campaign string
	sim      dialer.SimCall
	timer    dialerd.Timer
}

// Dispositions the simulated seats give, out of 100: the rest completed.
const (
	callbackPer100 = 10
	dncPer100      = 3
)

// New returns a sim provider drawing from seed.
func New(clock dialerd.Clock, seed uint64, sink provider.Sink) *Provider {
	return &Provider{clock: clock, sink: sink, phone: dialer.NewSimPhone(seed),
		rng: rand.New(rand.NewPCG(seed, 0xd15)), calls: map[string]*call{}}
}

// Place draws the call and reports its outcome when its ring time is over.
func (p *Provider) Place(c provider.Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	sc := p.phone.Place()
	cl := &call{campaign: c.Campaign, sim: sc}
	p.calls[c.ID] = cl
	id := c.ID
	cl.timer = p.clock.AfterFunc(sc.Ring, func() {
		p.mu.Lock()
		if p.calls[id] != cl {
			p.mu.Unlock()
			return
		}
		if sc.Outcome != dialer.OutcomeAnswered {
			delete(p.calls, id)
		}
		cl.timer = nil
		p.mu.Unlock()
		p.sink(cl.campaign, provider.Event{ID: "sim-" + id + "-" + sc.Outcome, Call: id, Type: sc.Outcome})
	})
}

// Connect puts the call through to a seat, which talks for the call's
// talk time and gives a disposition.
func (p *Provider) Connect(campaign, id string, seat int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cl := p.calls[id]
	if cl == nil || p.closed {
		return
	}
	ev := provider.Event{ID: "sim-" + id + "-ended", Call: id, Type: provider.EventEnded, Disposition: dialer.DispositionCompleted}
	switch x := p.rng.IntN(100); {
	case x < callbackPer100:
		ev.Disposition = dialer.DispositionCallback
		// "Call me back in an hour or so": 30 min to 4 h after the call.
		ev.CallbackAt = p.clock.Now().Add(cl.sim.Talk + time.Duration(30+p.rng.IntN(211))*time.Minute).UTC()
	case x < callbackPer100+dncPer100:
		ev.Disposition = dialer.DispositionDNC
	}
	cl.timer = p.clock.AfterFunc(cl.sim.Talk, func() {
		p.mu.Lock()
		if p.calls[id] != cl {
			p.mu.Unlock()
			return
		}
		delete(p.calls, id)
		p.mu.Unlock()
		p.sink(campaign, ev)
	})
}

// Hangup forgets the call: nothing more is reported for it.
func (p *Provider) Hangup(_, id, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cl := p.calls[id]; cl != nil {
		if cl.timer != nil {
			cl.timer.Stop()
		}
		delete(p.calls, id)
	}
}

// Close stops every call's timer.
func (p *Provider) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for id, cl := range p.calls {
		if cl.timer != nil {
			cl.timer.Stop()
		}
		delete(p.calls, id)
	}
}
