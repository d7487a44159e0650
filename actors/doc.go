// Package actors holds the grains — one virtual actor per identity — and the
// read-only catalog that lists them through their index entries.
//
// Grains are thin shells: they load their state from a dialerd.Store when
// activated, run the pure rules of the root package on each message, write
// the result through the store in one atomic batch, then reply. They never
// touch Pebble, memberlist or the network themselves.
package actors
