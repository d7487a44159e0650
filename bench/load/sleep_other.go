//go:build !linux

package load

import "time"

// preciseSleep falls back to the runtime's timer away from Linux.
func preciseSleep(d time.Duration) { time.Sleep(d) }
