// Package http is the front end and the only home of fasthttp. It parses,
// authenticates and validates a request, sends one message to the grain that
// owns it (wherever in the cluster that grain lives) and writes the reply.
//
// Errors: every handler returns a *dialerd.Error (or a plain error, which is
// internal), and Error in error.go is the one place that turns a code into a
// status and a body.
package http
