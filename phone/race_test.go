//go:build race

package phone

// raceEnabled: the race detector slows the library about tenfold, so the
// randomized tests use smaller samples under it.
const raceEnabled = true
