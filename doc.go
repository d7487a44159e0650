// Package dialerd holds the domain of the dialer: campaigns and their
// validation, the error type every layer speaks, the injected clock, and the
// storage contract that actor code writes through.
//
// It imports only the standard library. Every other package depends on it:
// actors/ (protoactor grains), cluster/ (membership and placement),
// persistence/ (Pebble), http/ (fasthttp front end) and cmd/ (binaries).
package dialerd
