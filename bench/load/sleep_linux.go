package load

import (
	"syscall"
	"time"
)

// preciseSleep blocks the calling thread for d with the kernel's
// high-resolution timer. Go's timers wake an idle process through
// epoll_wait, whose timeout is in whole milliseconds: an open-loop
// schedule kept with them sends up to 1 ms late, and that lateness would
// be charged to the server. nanosleep parks only this thread (the runtime
// hands its P to another) and wakes within tens of microseconds.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	// A signal (the runtime preempts with SIGURG) cuts the sleep short and
	// leaves what remains in ts.
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
