//go:build race

package persistence_test

// raceEnabled: the race detector slows Pebble iterators ~50-fold, so the
// model test takes fewer steps.
const raceEnabled = true
