package cluster

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// inbox is a pool of reply mailboxes registered once in the process
// registry. protoactor's RequestFuture registers and removes a process and
// starts a timer for every request; on the hot path (every API call is a
// grain request) that is most of the request path's own cost. A slot is
// used by one request at a time; a slot whose request timed out is retired,
// so a late reply can never be read as the answer to a later request.
type inbox struct {
	system *actor.ActorSystem
	free   chan *slot
	next   atomic.Uint64
}

type slot struct {
	pid   *actor.PID
	ch    chan any
	timer *time.Timer
}

// replyProcess is the actor.Process behind a slot: it hands the reply to
// the waiting request.
type replyProcess struct{ ch chan any }

func (p *replyProcess) SendUserMessage(_ *actor.PID, message any) {
	if env, ok := message.(*actor.MessageEnvelope); ok {
		message = env.Message
	}
	select {
	case p.ch <- message:
	default: // a duplicate; the slot holds one reply at most
	}
}
func (p *replyProcess) SendSystemMessage(*actor.PID, any) {}
func (p *replyProcess) Stop(*actor.PID)                   {}

func newInbox(system *actor.ActorSystem, size int) *inbox {
	in := &inbox{system: system, free: make(chan *slot, size)}
	for i := 0; i < size; i++ {
		in.free <- in.newSlot()
	}
	return in
}

func (in *inbox) newSlot() *slot {
	ch := make(chan any, 1)
	id := "$reply-" + strconv.FormatUint(in.next.Add(1), 10)
	pid, _ := in.system.ProcessRegistry.Add(&replyProcess{ch: ch}, id)
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &slot{pid: pid, ch: ch, timer: t}
}

// request sends msg to pid and waits up to timeout for the reply. It
// returns actor.ErrTimeout or actor.ErrDeadLetter like a future would.
func (in *inbox) request(pid *actor.PID, msg any, timeout time.Duration) (any, error) {
	s := <-in.free
	in.system.Root.RequestWithCustomSender(pid, msg, s.pid)
	s.timer.Reset(timeout)
	select {
	case res := <-s.ch:
		if !s.timer.Stop() {
			select {
			case <-s.timer.C:
			default:
			}
		}
		in.free <- s
		if _, dead := res.(*actor.DeadLetterResponse); dead {
			return nil, actor.ErrDeadLetter
		}
		return res, nil
	case <-s.timer.C:
		// The reply may still come: retire this slot, put a fresh one in
		// its place.
		in.system.ProcessRegistry.Remove(s.pid)
		in.free <- in.newSlot()
		return nil, actor.ErrTimeout
	}
}
