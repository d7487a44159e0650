// Package ctl is dialerctl, the command-line client of a dialerd node: a
// tree of resource-verb commands (campaigns, lists, upload, agents, seats,
// tokens, dnc, prospects, cluster) over a small net/http client of the REST
// API, with tables for people and the API's own JSON for scripts.
//
// Everything a command needs comes in through Main (arguments, environment,
// standard streams, a context that Ctrl-C cancels), so tests run the whole
// client in-process against a real node, and cmd/dialerctl only adds the
// process around it.
//
// Exit codes are part of the interface, for scripts: 0 ok, 1 any other
// failure (a local file that cannot be read half-way), 2 usage, 3 the token
// was refused (401/403), 4 not found (404), 5 the request was refused (any
// other 4xx), 6 the node failed or could not be reached (5xx, connection
// refused, timeout, an upload that ended failed), 130 interrupted.
package ctl
